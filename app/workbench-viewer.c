/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-viewer.h"

#include <glib/gi18n.h>
#include <math.h>

#include "uad-anomaly-map.h"
#include "workbench-contours.h"
#include "workbench-image-pane.h"
#include "workbench-texture.h"
#include "workbench-verdict.h"

#define MAP_SIZE UAD_ANOMALY_MAP_SIZE
#define ZOOM_STEP 1.25

enum { PANE_ORIGINAL, PANE_RECONSTRUCTION, N_PANES };

struct _WorkbenchViewer {
  GtkWidget parent_instance;

  WorkbenchImagePane *panes[N_PANES];
  GtkWidget *cards[N_PANES];
  GtkStack *stacks[N_PANES];
  GtkLabel *placeholders[N_PANES];
  GtkWidget *placeholder_icons[N_PANES];
  GtkSpinner *render_spinner;
  GtkLabel *original_title;
  GtkButton *zoom_button;
  GtkAdjustment *opacity_adjustment;
  GtkScale *opacity_scale;
  GSimpleActionGroup *actions; /* "viewer": the zoom actions */
  GtkDropDown *colormap_dropdown;
  GtkWidget *legend_bar;
  GtkLabel *legend_lo, *legend_hi, *legend_key;
  GtkLabel *verdict_badge;
  GtkFlowBox *facts_box;
  GtkLabel *facts_placeholder;

  GdkTexture *original;
  WorkbenchReconstructionState reconstruction_state;
  GdkTexture *decoded_input, *reconstruction;
  gboolean show_decoded; /* "viewer.decoded-input" */
  float *map;    /* MAP_SIZE^2, or NULL */
  guint8 *mask;  /* MAP_SIZE^2, or NULL */
  float threshold;
  float range_lo, range_hi; /* as set; hi <= lo: each map's own range */
  float lo, hi;             /* the range in use */
  double opacity;
  UadColormap colormap;
};

G_DEFINE_FINAL_TYPE (WorkbenchViewer, workbench_viewer, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_HEATMAP_OPACITY, PROP_COLORMAP, PROP_ZOOM, N_PROPS };
static GParamSpec *props[N_PROPS];

GType
workbench_colormap_get_type (void)
{
  static gsize type = 0;
  if (g_once_init_enter (&type))
    {
      static const GEnumValue values[] = {
        { UAD_COLORMAP_JET, "UAD_COLORMAP_JET", "jet" },
        { UAD_COLORMAP_INFERNO, "UAD_COLORMAP_INFERNO", "inferno" },
        { UAD_COLORMAP_GRAY, "UAD_COLORMAP_GRAY", "gray" },
        { 0, NULL, NULL },
      };
      g_once_init_leave (&type, g_enum_register_static (g_intern_static_string ("WorkbenchColormap"),
                                                        values));
    }
  return type;
}

/* ---- Derived state: heatmap texture, contours, legend, zoom label ---- */

static void
update_range (WorkbenchViewer *self)
{
  self->lo = self->range_lo;
  self->hi = self->range_hi;
  if (self->hi > self->lo || self->map == NULL)
    return;
  self->lo = INFINITY;
  self->hi = -INFINITY;
  for (int i = 0; i < MAP_SIZE * MAP_SIZE; i++)
    if (isfinite (self->map[i]))
      {
        self->lo = MIN (self->lo, self->map[i]);
        self->hi = MAX (self->hi, self->map[i]);
      }
}

static void
update_legend (WorkbenchViewer *self)
{
  gboolean have_map = self->map != NULL && self->hi >= self->lo;
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  g_snprintf (text, sizeof text, "%.4g", have_map ? self->lo : 0.0);
  gtk_label_set_label (self->legend_lo, have_map ? text : "–");
  g_snprintf (text, sizeof text, "%.4g", have_map ? self->hi : 1.0);
  gtk_label_set_label (self->legend_hi, have_map ? text : "–");

  GString *key = g_string_new (NULL);
  if (isfinite (self->threshold))
    {
      g_autofree char *defect = g_strdup_printf (_("Defect (map > %.4g)"), self->threshold);
      g_autofree char *escaped = g_markup_escape_text (defect, -1);
      g_string_append_printf (key, "<span foreground=\"" WORKBENCH_PANE_DEFECTS_COLOR
                                   "\" weight=\"bold\">━━</span> %s", escaped);
    }
  else
    g_string_append (key, _("No pixel threshold"));
  if (self->mask != NULL)
    g_string_append_printf (key, "    <span foreground=\"" WORKBENCH_PANE_TRUTH_COLOR
                                 "\" weight=\"bold\">━━</span> %s", _("Ground truth"));
  gtk_label_set_markup (self->legend_key, key->str);
  g_string_free (key, TRUE);
  gtk_widget_queue_draw (self->legend_bar);
}

static void
update_heatmap (WorkbenchViewer *self)
{
  g_autoptr (GdkTexture) texture = NULL;
  if (self->map != NULL)
    texture = workbench_texture_new_heatmap (self->map, MAP_SIZE, MAP_SIZE, self->lo, self->hi,
                                             self->colormap);
  workbench_image_pane_set_overlay (self->panes[PANE_ORIGINAL], texture);
  update_legend (self);
}

static void
update_defects (WorkbenchViewer *self)
{
  WorkbenchContours *contours = NULL;
  if (self->map != NULL && isfinite (self->threshold))
    contours = workbench_contours_trace (self->map, MAP_SIZE, MAP_SIZE, self->threshold);
  workbench_image_pane_set_contours (self->panes[PANE_ORIGINAL], WORKBENCH_PANE_DEFECTS,
                                     contours);
  update_legend (self);
}

static void
update_zoom_label (WorkbenchViewer *self)
{
  char text[32];
  g_snprintf (text, sizeof text, "%.0f %%", 100 * workbench_viewer_get_zoom (self));
  gtk_button_set_label (self->zoom_button, self->original != NULL ? text : "–");
}

static void
draw_legend_bar (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  WorkbenchViewer *self = data;

  cairo_pattern_t *gradient = cairo_pattern_create_linear (0, 0, width, 0);
  for (int i = 0; i <= 32; i++)
    {
      guint8 rgb[3];
      uad_colormap_rgb (self->colormap, i / 32.0f, rgb);
      cairo_pattern_add_color_stop_rgb (gradient, i / 32.0, rgb[0] / 255.0, rgb[1] / 255.0,
                                        rgb[2] / 255.0);
    }
  cairo_set_source (cr, gradient);
  cairo_paint (cr);
  cairo_pattern_destroy (gradient);

  /* The pixel threshold's place on the scale. */
  if (self->map != NULL && isfinite (self->threshold) && self->hi > self->lo)
    {
      double x = round (width * CLAMP ((self->threshold - self->lo) / (self->hi - self->lo), 0, 1));
      x = CLAMP (x, 2, width - 2);
      cairo_rectangle (cr, x - 2, 0, 4, height);
      cairo_set_source_rgba (cr, 0, 0, 0, 0.7);
      cairo_fill (cr);
      cairo_rectangle (cr, x - 1, 0, 2, height);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill (cr);
    }
}

/* ---- Zoom ---- */

static void
on_view_changed (WorkbenchImagePane *pane, WorkbenchViewer *self)
{
  WorkbenchImagePane *other = self->panes[pane == self->panes[0] ? 1 : 0];
  workbench_image_pane_copy_view (other, pane);
  update_zoom_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ZOOM]);
}

static void
zoom_action (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  WorkbenchViewer *self = data;
  const char *name = g_action_get_name (G_ACTION (action));
  WorkbenchImagePane *pane = self->panes[PANE_ORIGINAL];
  double cx = gtk_widget_get_width (GTK_WIDGET (pane)) / 2.0;
  double cy = gtk_widget_get_height (GTK_WIDGET (pane)) / 2.0;

  if (g_str_equal (name, "zoom-fit"))
    workbench_image_pane_zoom_fit (pane);
  else if (g_str_equal (name, "zoom-100"))
    workbench_image_pane_zoom_to (pane, 1.0);
  else if (g_str_equal (name, "zoom-in"))
    workbench_image_pane_zoom_at (pane, ZOOM_STEP, cx, cy);
  else
    workbench_image_pane_zoom_at (pane, 1 / ZOOM_STEP, cx, cy);
}

/* ---- The left pane's picture: the photograph or the decoded input ---- */

static GdkTexture *
decoded_input_shown (WorkbenchViewer *self)
{
  return self->show_decoded && self->original != NULL ? self->decoded_input : NULL;
}

static void
update_original_pane (WorkbenchViewer *self)
{
  GdkTexture *decoded = decoded_input_shown (self);
  workbench_image_pane_set_base (self->panes[PANE_ORIGINAL],
                                 decoded != NULL ? decoded : self->original);
  gtk_label_set_label (self->original_title,
                       decoded != NULL ? _("Decoded input · heatmap") : _("Input · heatmap"));
}

static void
decoded_input_changed (GSimpleAction *action, GVariant *state, gpointer data)
{
  WorkbenchViewer *self = data;
  g_simple_action_set_state (action, state);
  self->show_decoded = g_variant_get_boolean (state);
  update_original_pane (self);
}

/* The "viewer" action group, as the window's actions: GActionEntry. */
static const GActionEntry actions[] = {
  { .name = "zoom-fit", .activate = zoom_action },
  { .name = "zoom-100", .activate = zoom_action },
  { .name = "zoom-in", .activate = zoom_action },
  { .name = "zoom-out", .activate = zoom_action },
  { .name = "decoded-input", .state = "false", .change_state = decoded_input_changed },
};

static void
update_actions (WorkbenchViewer *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self->actions), actions[i].name);
      gboolean decoded = g_str_equal (actions[i].name, "decoded-input");
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                                   self->original != NULL
                                     && (!decoded || self->decoded_input != NULL));
    }
}

/* ---- Public API ---- */

GtkWidget *
workbench_viewer_new (void)
{
  return g_object_new (WORKBENCH_TYPE_VIEWER, NULL);
}

/* The reconstruction pane: the picture, or what keeps it away. */
static void
update_reconstruction_pane (WorkbenchViewer *self)
{
  GdkTexture *shown = self->original != NULL ? self->reconstruction : NULL;
  workbench_image_pane_set_base (self->panes[PANE_RECONSTRUCTION], shown);
  gtk_stack_set_visible_child_name (self->stacks[PANE_RECONSTRUCTION],
                                    shown != NULL ? "image" : "placeholder");

  /* Without an image, the left pane alone says so. */
  const char *text = "";
  gboolean pending = FALSE;
  if (self->original != NULL)
    switch (self->reconstruction_state)
      {
      case WORKBENCH_RECONSTRUCTION_NO_MODEL:
        text = _("No model is open");
        break;
      case WORKBENCH_RECONSTRUCTION_NO_DECODER:
        text = _("This model has no image decoder");
        break;
      case WORKBENCH_RECONSTRUCTION_PENDING:
        text = _("Rendering reconstruction…");
        pending = TRUE;
        break;
      case WORKBENCH_RECONSTRUCTION_FAILED:
        text = _("The reconstruction could not be drawn");
        break;
      case WORKBENCH_RECONSTRUCTION_READY:
        break;
      }
  gtk_label_set_label (self->placeholders[PANE_RECONSTRUCTION], text);
  gtk_widget_set_visible (self->placeholder_icons[PANE_RECONSTRUCTION], *text && !pending);
  gtk_widget_set_visible (GTK_WIDGET (self->render_spinner), pending);
  gtk_spinner_set_spinning (self->render_spinner, pending);
}

void
workbench_viewer_set_image (WorkbenchViewer *self, GdkTexture *original, const float *map,
                            const guint8 *mask)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));
  g_return_if_fail (original == NULL || GDK_IS_TEXTURE (original));

  g_set_object (&self->original, original);
  g_clear_pointer (&self->map, g_free);
  g_clear_pointer (&self->mask, g_free);
  if (original != NULL && map != NULL)
    self->map = g_memdup2 (map, sizeof (float) * MAP_SIZE * MAP_SIZE);
  if (original != NULL && mask != NULL)
    self->mask = g_memdup2 (mask, MAP_SIZE * MAP_SIZE);

  int w = original != NULL ? gdk_texture_get_width (original) : 0;
  int h = original != NULL ? gdk_texture_get_height (original) : 0;
  workbench_image_pane_set_content_size (self->panes[PANE_ORIGINAL], w, h);
  workbench_image_pane_set_content_size (self->panes[PANE_RECONSTRUCTION], w, h);
  update_original_pane (self);
  gtk_stack_set_visible_child_name (self->stacks[PANE_ORIGINAL],
                                    original != NULL ? "image" : "placeholder");
  update_reconstruction_pane (self);

  workbench_image_pane_set_contours (self->panes[PANE_ORIGINAL], WORKBENCH_PANE_TRUTH,
                                     self->mask != NULL
                                       ? workbench_contours_trace_mask (self->mask, MAP_SIZE, MAP_SIZE)
                                       : NULL);
  update_range (self);
  update_heatmap (self);
  update_defects (self);
  update_actions (self);
  update_zoom_label (self);
}

void
workbench_viewer_set_reconstruction (WorkbenchViewer *self, WorkbenchReconstructionState state,
                                     GdkTexture *decoded_input, GdkTexture *reconstruction)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));
  g_return_if_fail (state <= WORKBENCH_RECONSTRUCTION_READY);
  g_return_if_fail ((state == WORKBENCH_RECONSTRUCTION_READY) == GDK_IS_TEXTURE (reconstruction));
  g_return_if_fail (decoded_input == NULL
                    || (state == WORKBENCH_RECONSTRUCTION_READY && GDK_IS_TEXTURE (decoded_input)));

  self->reconstruction_state = state;
  g_set_object (&self->decoded_input, decoded_input);
  g_set_object (&self->reconstruction, reconstruction);
  update_reconstruction_pane (self);
  update_original_pane (self);
  update_actions (self);
}

void
workbench_viewer_set_reconstruction_shown (WorkbenchViewer *self, gboolean shown)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));
  gtk_widget_set_visible (self->cards[PANE_RECONSTRUCTION], shown);
}

void
workbench_viewer_set_pixel_threshold (WorkbenchViewer *self, float threshold)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));

  if (threshold == self->threshold)
    return;
  self->threshold = threshold;
  update_defects (self);
}

float
workbench_viewer_get_pixel_threshold (WorkbenchViewer *self)
{
  g_return_val_if_fail (WORKBENCH_IS_VIEWER (self), INFINITY);

  return self->threshold;
}

void
workbench_viewer_set_map_range (WorkbenchViewer *self, float lo, float hi)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));

  self->range_lo = lo;
  self->range_hi = hi;
  update_range (self);
  update_heatmap (self);
}

void
workbench_viewer_set_heatmap_opacity (WorkbenchViewer *self, double opacity)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));

  opacity = CLAMP (opacity, 0.0, 1.0);
  if (fabs (opacity - self->opacity) < 1e-9)
    return;
  self->opacity = opacity;
  workbench_image_pane_set_overlay_opacity (self->panes[PANE_ORIGINAL], opacity);
  gtk_adjustment_set_value (self->opacity_adjustment, round (100 * opacity));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HEATMAP_OPACITY]);
}

double
workbench_viewer_get_heatmap_opacity (WorkbenchViewer *self)
{
  g_return_val_if_fail (WORKBENCH_IS_VIEWER (self), 0.0);

  return self->opacity;
}

void
workbench_viewer_set_colormap (WorkbenchViewer *self, UadColormap colormap)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));
  g_return_if_fail (colormap <= UAD_COLORMAP_GRAY);

  if (colormap == self->colormap)
    return;
  self->colormap = colormap;
  gtk_drop_down_set_selected (self->colormap_dropdown, colormap);
  update_heatmap (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_COLORMAP]);
}

UadColormap
workbench_viewer_get_colormap (WorkbenchViewer *self)
{
  g_return_val_if_fail (WORKBENCH_IS_VIEWER (self), UAD_COLORMAP_JET);

  return self->colormap;
}

double
workbench_viewer_get_zoom (WorkbenchViewer *self)
{
  g_return_val_if_fail (WORKBENCH_IS_VIEWER (self), 1.0);

  return workbench_image_pane_get_zoom (self->panes[PANE_ORIGINAL]);
}

void
workbench_viewer_set_facts (WorkbenchViewer *self, const char *const *facts)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));

  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->facts_box))) != NULL)
    gtk_flow_box_remove (self->facts_box, child);

  for (int i = 0; facts != NULL && facts[i] != NULL && facts[i + 1] != NULL; i += 2)
    {
      GtkWidget *name = gtk_label_new (facts[i]);
      gtk_widget_add_css_class (name, "caption");
      gtk_widget_add_css_class (name, "dim-label");
      gtk_label_set_xalign (GTK_LABEL (name), 0);

      GtkWidget *value = gtk_label_new (facts[i + 1]);
      gtk_widget_add_css_class (value, "heading");
      gtk_label_set_xalign (GTK_LABEL (value), 0);
      gtk_label_set_selectable (GTK_LABEL (value), TRUE);
      /* Narrow enough for several facts per line; the whole value in the tooltip. */
      gtk_label_set_ellipsize (GTK_LABEL (value), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (value), 24);
      gtk_widget_set_tooltip_text (value, facts[i + 1]);

      GtkWidget *fact = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      gtk_box_append (GTK_BOX (fact), name);
      gtk_box_append (GTK_BOX (fact), value);
      gtk_flow_box_append (self->facts_box, fact);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->facts_placeholder),
                          gtk_widget_get_first_child (GTK_WIDGET (self->facts_box)) == NULL);
}

void
workbench_viewer_set_verdict (WorkbenchViewer *self, UadVerdict verdict)
{
  g_return_if_fail (WORKBENCH_IS_VIEWER (self));

  GtkWidget *badge = GTK_WIDGET (self->verdict_badge);
  gtk_widget_set_visible (badge, verdict != UAD_VERDICT_NONE);
  for (int v = UAD_VERDICT_PASS; v < UAD_N_VERDICTS; v++)
    gtk_widget_remove_css_class (badge, workbench_verdict_css_class ((UadVerdict) v));
  if (verdict != UAD_VERDICT_NONE)
    {
      gtk_label_set_label (self->verdict_badge, workbench_verdict_label (verdict));
      gtk_widget_add_css_class (badge, workbench_verdict_css_class (verdict));
    }
}

/* ---- Construction ---- */

static void
on_opacity_changed (GtkAdjustment *adjustment, WorkbenchViewer *self)
{
  workbench_viewer_set_heatmap_opacity (self, gtk_adjustment_get_value (adjustment) / 100);
}

static void
on_colormap_selected (GtkDropDown *dropdown, GParamSpec *pspec, WorkbenchViewer *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  if (selected <= UAD_COLORMAP_GRAY)
    workbench_viewer_set_colormap (self, (UadColormap) selected);
}

static char *
format_percent (GtkScale *scale, double value, gpointer data)
{
  return g_strdup_printf ("%.0f %%", value);
}

static void
workbench_viewer_init (WorkbenchViewer *self)
{
  self->threshold = INFINITY;
  self->opacity = 0.5;
  self->colormap = UAD_COLORMAP_JET;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->actions = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), actions, G_N_ELEMENTS (actions),
                                   self);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "viewer", G_ACTION_GROUP (self->actions));

  /* The button's own label, so that the zoom's text can change without resizing it. */
  gtk_label_set_width_chars (GTK_LABEL (gtk_button_get_child (self->zoom_button)), 6);
  gtk_adjustment_set_value (self->opacity_adjustment, 100 * self->opacity);
  gtk_scale_set_format_value_func (self->opacity_scale, format_percent, NULL, NULL);
  gtk_drop_down_set_selected (self->colormap_dropdown, self->colormap);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->legend_bar), draw_legend_bar, self,
                                  NULL);
  workbench_image_pane_set_overlay_opacity (self->panes[PANE_ORIGINAL], self->opacity);

  update_legend (self);
  update_actions (self);
  update_zoom_label (self);
}

static void
workbench_viewer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WorkbenchViewer *self = WORKBENCH_VIEWER (object);

  switch (prop_id)
    {
    case PROP_HEATMAP_OPACITY:
      g_value_set_double (value, self->opacity);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, workbench_viewer_get_zoom (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_viewer_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  WorkbenchViewer *self = WORKBENCH_VIEWER (object);

  switch (prop_id)
    {
    case PROP_HEATMAP_OPACITY:
      workbench_viewer_set_heatmap_opacity (self, g_value_get_double (value));
      break;
    case PROP_COLORMAP:
      workbench_viewer_set_colormap (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_viewer_dispose (GObject *object)
{
  WorkbenchViewer *self = WORKBENCH_VIEWER (object);

  /* A plain GtkWidget does not unparent its children itself. */
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_VIEWER);
  g_clear_object (&self->actions);
  g_clear_object (&self->original);
  g_clear_object (&self->decoded_input);
  g_clear_object (&self->reconstruction);
  g_clear_pointer (&self->map, g_free);
  g_clear_pointer (&self->mask, g_free);
  G_OBJECT_CLASS (workbench_viewer_parent_class)->dispose (object);
}

static void
workbench_viewer_class_init (WorkbenchViewerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = workbench_viewer_get_property;
  object_class->set_property = workbench_viewer_set_property;
  object_class->dispose = workbench_viewer_dispose;

  props[PROP_HEATMAP_OPACITY]
    = g_param_spec_double ("heatmap-opacity", NULL, NULL, 0.0, 1.0, 0.5,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_COLORMAP]
    = g_param_spec_enum ("colormap", NULL, NULL, WORKBENCH_TYPE_COLORMAP, UAD_COLORMAP_JET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, 0.0, G_MAXDOUBLE, 1.0,
                                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK,
                                       "viewer.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_CONTROL_MASK,
                                       "viewer.zoom-100", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK,
                                       "viewer.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK,
                                       "viewer.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK,
                                       "viewer.zoom-out", NULL);

  g_type_ensure (WORKBENCH_TYPE_IMAGE_PANE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-viewer.ui");
#define BIND(name, field) \
  gtk_widget_class_bind_template_child_full (widget_class, name, FALSE, \
                                             G_STRUCT_OFFSET (WorkbenchViewer, field))
  BIND ("pane_original", panes[PANE_ORIGINAL]);
  BIND ("pane_reconstruction", panes[PANE_RECONSTRUCTION]);
  BIND ("card_original", cards[PANE_ORIGINAL]);
  BIND ("card_reconstruction", cards[PANE_RECONSTRUCTION]);
  BIND ("stack_original", stacks[PANE_ORIGINAL]);
  BIND ("stack_reconstruction", stacks[PANE_RECONSTRUCTION]);
  BIND ("placeholder_original", placeholders[PANE_ORIGINAL]);
  BIND ("placeholder_reconstruction", placeholders[PANE_RECONSTRUCTION]);
  BIND ("placeholder_icon_original", placeholder_icons[PANE_ORIGINAL]);
  BIND ("placeholder_icon_reconstruction", placeholder_icons[PANE_RECONSTRUCTION]);
#undef BIND
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, render_spinner);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, original_title);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, zoom_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, opacity_scale);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, colormap_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, legend_bar);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, legend_lo);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, legend_hi);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, legend_key);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, verdict_badge);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, facts_box);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchViewer, facts_placeholder);
  gtk_widget_class_bind_template_callback (widget_class, on_view_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_opacity_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_colormap_selected);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "workbench-viewer");
}
