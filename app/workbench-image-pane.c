/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-image-pane.h"

#include <math.h>

#define MAX_ZOOM 64.0
/* Wheel notches per zoom step, and screen pixels of touchpad scrolling per notch. */
#define ZOOM_STEP 1.2
#define PIXELS_PER_NOTCH 10.0

struct _WorkbenchImagePane {
  GtkWidget parent_instance;

  int content_width, content_height;
  GdkTexture *base, *overlay;
  double overlay_opacity;
  WorkbenchContours *contours[WORKBENCH_PANE_N_CONTOURS];

  /* The view outside fit mode; in fit mode it is derived from the size. */
  gboolean fit;
  double zoom, center_x, center_y;
  double last_fit_zoom; /* to tell the viewer when a resize changes the fitted zoom */
  guint resize_idle;    /* ... after the layout pass, which must not be disturbed */

  double pointer_x, pointer_y; /* last pointer position over the pane; -1 when outside */
  double drag_x, drag_y;       /* drag offset already applied */
  double pinch_zoom;           /* zoom when the pinch began */
};

G_DEFINE_FINAL_TYPE (WorkbenchImagePane, workbench_image_pane, GTK_TYPE_WIDGET)

enum { VIEW_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Contour colours, drawn over a dark halo that keeps them visible on any image and colour
 * map. */
static GdkRGBA contour_colors[WORKBENCH_PANE_N_CONTOURS];

static gboolean
has_content (WorkbenchImagePane *self)
{
  return self->content_width > 0 && self->content_height > 0;
}

static double
fit_zoom (WorkbenchImagePane *self)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  if (!has_content (self) || w <= 0 || h <= 0)
    return 1.0;
  return MIN ((double) w / self->content_width, (double) h / self->content_height);
}

static void
get_view (WorkbenchImagePane *self, double *zoom, double *cx, double *cy)
{
  if (self->fit)
    {
      *zoom = fit_zoom (self);
      *cx = self->content_width / 2.0;
      *cy = self->content_height / 2.0;
    }
  else
    {
      *zoom = self->zoom;
      *cx = self->center_x;
      *cy = self->center_y;
    }
}

/* Leaves fit mode, keeping what is shown. */
static void
unfit (WorkbenchImagePane *self)
{
  get_view (self, &self->zoom, &self->center_x, &self->center_y);
  self->fit = FALSE;
}

static double
clamp_zoom (WorkbenchImagePane *self, double zoom)
{
  return CLAMP (zoom, MIN (fit_zoom (self), 1.0) / 2, MAX_ZOOM);
}

static void
clamp_view (WorkbenchImagePane *self)
{
  self->zoom = clamp_zoom (self, self->zoom);
  self->center_x = CLAMP (self->center_x, 0, self->content_width);
  self->center_y = CLAMP (self->center_y, 0, self->content_height);
}

static void
view_changed (WorkbenchImagePane *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
}

void
workbench_image_pane_zoom_fit (WorkbenchImagePane *self)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));

  self->fit = TRUE;
  self->last_fit_zoom = fit_zoom (self);
  view_changed (self);
}

void
workbench_image_pane_zoom_to (WorkbenchImagePane *self, double zoom)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));
  g_return_if_fail (zoom > 0);

  unfit (self);
  self->zoom = zoom;
  clamp_view (self);
  view_changed (self);
}

void
workbench_image_pane_zoom_at (WorkbenchImagePane *self, double factor, double x, double y)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));
  g_return_if_fail (factor > 0);

  unfit (self);
  double half_w = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
  double half_h = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
  /* The content point under (x, y) before and after. */
  double px = self->center_x + (x - half_w) / self->zoom;
  double py = self->center_y + (y - half_h) / self->zoom;
  self->zoom = clamp_zoom (self, self->zoom * factor);
  self->center_x = px - (x - half_w) / self->zoom;
  self->center_y = py - (y - half_h) / self->zoom;
  clamp_view (self);
  view_changed (self);
}

void
workbench_image_pane_pan (WorkbenchImagePane *self, double dx, double dy)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));

  unfit (self);
  self->center_x -= dx / self->zoom;
  self->center_y -= dy / self->zoom;
  clamp_view (self);
  view_changed (self);
}

void
workbench_image_pane_copy_view (WorkbenchImagePane *self, WorkbenchImagePane *from)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self) && WORKBENCH_IS_IMAGE_PANE (from));

  self->fit = from->fit;
  self->zoom = from->zoom;
  self->center_x = from->center_x;
  self->center_y = from->center_y;
  self->last_fit_zoom = from->last_fit_zoom;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
workbench_image_pane_get_zoom (WorkbenchImagePane *self)
{
  g_return_val_if_fail (WORKBENCH_IS_IMAGE_PANE (self), 1.0);

  double zoom, cx, cy;
  get_view (self, &zoom, &cx, &cy);
  return zoom;
}

void
workbench_image_pane_get_center (WorkbenchImagePane *self, double *x, double *y)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));

  double zoom;
  get_view (self, &zoom, x, y);
}

gboolean
workbench_image_pane_get_fit (WorkbenchImagePane *self)
{
  g_return_val_if_fail (WORKBENCH_IS_IMAGE_PANE (self), FALSE);

  return self->fit;
}

void
workbench_image_pane_set_content_size (WorkbenchImagePane *self, int width, int height)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));
  g_return_if_fail (width >= 0 && height >= 0);

  if (width == self->content_width && height == self->content_height)
    return;
  self->content_width = width;
  self->content_height = height;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), has_content (self) ? "grab" : NULL);
  workbench_image_pane_zoom_fit (self);
}

static void
set_texture (WorkbenchImagePane *self, GdkTexture **slot, GdkTexture *texture)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));
  g_return_if_fail (texture == NULL || GDK_IS_TEXTURE (texture));

  if (g_set_object (slot, texture))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
workbench_image_pane_set_base (WorkbenchImagePane *self, GdkTexture *base)
{
  set_texture (self, &self->base, base);
}

void
workbench_image_pane_set_overlay (WorkbenchImagePane *self, GdkTexture *overlay)
{
  set_texture (self, &self->overlay, overlay);
}

void
workbench_image_pane_set_overlay_opacity (WorkbenchImagePane *self, double opacity)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));

  self->overlay_opacity = CLAMP (opacity, 0.0, 1.0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
workbench_image_pane_set_contours (WorkbenchImagePane *self, WorkbenchPaneContours slot,
                                   WorkbenchContours *contours)
{
  g_return_if_fail (WORKBENCH_IS_IMAGE_PANE (self));
  g_return_if_fail (slot < WORKBENCH_PANE_N_CONTOURS);

  workbench_contours_free (self->contours[slot]);
  self->contours[slot] = contours;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The contour paths in screen pixels, so the lines keep their width at any zoom. */
static void
draw_contours (WorkbenchImagePane *self, cairo_t *cr, double zoom, double origin_x,
               double origin_y)
{
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (int slot = WORKBENCH_PANE_N_CONTOURS - 1; slot >= 0; slot--)
    {
      const WorkbenchContours *c = self->contours[slot];
      if (c == NULL || c->n_contours == 0)
        continue;
      double sx = zoom * self->content_width / c->width;
      double sy = zoom * self->content_height / c->height;
      cairo_new_path (cr);
      workbench_contours_append_path (c, cr, origin_x, origin_y, sx, sy);
      cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
      cairo_set_line_width (cr, 4.0);
      cairo_stroke_preserve (cr);
      gdk_cairo_set_source_rgba (cr, &contour_colors[slot]);
      cairo_set_line_width (cr, 2.0);
      cairo_stroke (cr);
    }
}

static void
workbench_image_pane_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  WorkbenchImagePane *self = WORKBENCH_IMAGE_PANE (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  if (!has_content (self) || w <= 0 || h <= 0)
    return;

  double zoom, cx, cy;
  get_view (self, &zoom, &cx, &cy);
  double origin_x = w / 2.0 - cx * zoom, origin_y = h / 2.0 - cy * zoom;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, w, h);
  graphene_rect_t content = GRAPHENE_RECT_INIT (0, 0, self->content_width, self->content_height);

  gtk_snapshot_push_clip (snapshot, &bounds);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (origin_x, origin_y));
  gtk_snapshot_scale (snapshot, zoom, zoom);
  if (self->base != NULL)
    gtk_snapshot_append_texture (snapshot, self->base, &content);
  if (self->overlay != NULL && self->overlay_opacity > 0)
    {
      gtk_snapshot_push_opacity (snapshot, self->overlay_opacity);
      gtk_snapshot_append_texture (snapshot, self->overlay, &content);
      gtk_snapshot_pop (snapshot);
    }
  gtk_snapshot_restore (snapshot);

  if (self->contours[WORKBENCH_PANE_DEFECTS] != NULL || self->contours[WORKBENCH_PANE_TRUTH] != NULL)
    {
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);
      draw_contours (self, cr, zoom, origin_x, origin_y);
      cairo_destroy (cr);
    }
  gtk_snapshot_pop (snapshot);
}

static void
workbench_image_pane_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                              int *minimum, int *natural, int *minimum_baseline,
                              int *natural_baseline)
{
  /* Images of any size fit in any space: the pane only asks for a comfortable size. */
  *minimum = 64;
  *natural = 360;
}

static gboolean
emit_resized (gpointer data)
{
  WorkbenchImagePane *self = data;

  self->resize_idle = 0;
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
workbench_image_pane_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  WorkbenchImagePane *self = WORKBENCH_IMAGE_PANE (widget);

  if (self->fit)
    {
      double zoom = fit_zoom (self);
      /* A handler changing the zoom label would queue a resize in the middle of the layout
       * pass: tell them right after it. */
      if (zoom != self->last_fit_zoom && self->resize_idle == 0)
        self->resize_idle = g_idle_add_full (G_PRIORITY_HIGH_IDLE, emit_resized, self, NULL);
      self->last_fit_zoom = zoom;
    }
  else
    clamp_view (self);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, WorkbenchImagePane *self)
{
  if (!has_content (self))
    return FALSE;

  GdkModifierType state
    = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;
  if (wheel || (state & GDK_CONTROL_MASK))
    {
      double notches = wheel ? dy : dy / PIXELS_PER_NOTCH;
      double x = self->pointer_x, y = self->pointer_y;
      if (x < 0)
        {
          x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
          y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
        }
      workbench_image_pane_zoom_at (self, pow (ZOOM_STEP, -notches), x, y);
    }
  else
    workbench_image_pane_pan (self, -dx, -dy);
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, WorkbenchImagePane *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
}

static void
on_leave (GtkEventControllerMotion *controller, WorkbenchImagePane *self)
{
  self->pointer_x = self->pointer_y = -1;
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, WorkbenchImagePane *self)
{
  if (!has_content (self))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  self->drag_x = self->drag_y = 0;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, WorkbenchImagePane *self)
{
  workbench_image_pane_pan (self, dx - self->drag_x, dy - self->drag_y);
  self->drag_x = dx;
  self->drag_y = dy;
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, WorkbenchImagePane *self)
{
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), has_content (self) ? "grab" : NULL);
}

static void
on_pinch_begin (GtkGesture *gesture, GdkEventSequence *sequence, WorkbenchImagePane *self)
{
  self->pinch_zoom = workbench_image_pane_get_zoom (self);
}

static void
on_pinch_scale (GtkGestureZoom *gesture, double scale, WorkbenchImagePane *self)
{
  double x, y;
  if (!has_content (self) || !gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  workbench_image_pane_zoom_at (self, self->pinch_zoom * scale / workbench_image_pane_get_zoom (self),
                                x, y);
}

static void
workbench_image_pane_dispose (GObject *object)
{
  WorkbenchImagePane *self = WORKBENCH_IMAGE_PANE (object);

  g_clear_handle_id (&self->resize_idle, g_source_remove);
  g_clear_object (&self->base);
  g_clear_object (&self->overlay);
  for (int i = 0; i < WORKBENCH_PANE_N_CONTOURS; i++)
    g_clear_pointer (&self->contours[i], workbench_contours_free);
  G_OBJECT_CLASS (workbench_image_pane_parent_class)->dispose (object);
}

static void
workbench_image_pane_class_init (WorkbenchImagePaneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = workbench_image_pane_dispose;
  widget_class->snapshot = workbench_image_pane_snapshot;
  widget_class->measure = workbench_image_pane_measure;
  widget_class->size_allocate = workbench_image_pane_size_allocate;

  /* The view (zoom, centre or fit mode) changed through this pane. */
  signals[VIEW_CHANGED] = g_signal_new ("view-changed", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "workbench-image-pane");
  gdk_rgba_parse (&contour_colors[WORKBENCH_PANE_DEFECTS], WORKBENCH_PANE_DEFECTS_COLOR);
  gdk_rgba_parse (&contour_colors[WORKBENCH_PANE_TRUTH], WORKBENCH_PANE_TRUTH_COLOR);
}

static void
workbench_image_pane_init (WorkbenchImagePane *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->fit = TRUE;
  self->zoom = self->last_fit_zoom = 1.0;
  self->overlay_opacity = 1.0;
  self->pointer_x = self->pointer_y = -1;
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_focus_on_click (widget, TRUE);

  GtkEventController *scroll
    = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (widget, scroll);

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, motion);

  GtkGesture *drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));

  GtkGesture *pinch = gtk_gesture_zoom_new ();
  g_signal_connect (pinch, "begin", G_CALLBACK (on_pinch_begin), self);
  g_signal_connect (pinch, "scale-changed", G_CALLBACK (on_pinch_scale), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (pinch));
}

GtkWidget *
workbench_image_pane_new (void)
{
  return g_object_new (WORKBENCH_TYPE_IMAGE_PANE, NULL);
}
