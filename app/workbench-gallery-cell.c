/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-gallery-cell.h"

#include <glib/gi18n.h>
#include <math.h>

struct _WorkbenchGalleryCell
{
  AdwBin parent_instance;

  GtkPicture *picture;
  GtkLabel *score_badge;
  GtkImage *operator_icon;
  GtkLabel *name_label;

  WorkbenchItem *item;
  guint update_source;  /* a coalesced update of the badges is due */
};

G_DEFINE_FINAL_TYPE (WorkbenchGalleryCell, workbench_gallery_cell, ADW_TYPE_BIN)

static const char *const verdict_classes[] = {
  "verdict-none", "verdict-pass", "verdict-review", "verdict-fail",
};

char *
workbench_format_score (double score)
{
  double a = fabs (score);
  int decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return g_strdup_printf ("%.*f", decimals, score);
}

static void
set_verdict_class (GtkWidget *widget, UadVerdict verdict)
{
  for (guint v = 0; v < G_N_ELEMENTS (verdict_classes); v++)
    gtk_widget_remove_css_class (widget, verdict_classes[v]);
  gtk_widget_add_css_class (widget, workbench_verdict_css_class (verdict));
}

static void
update_thumbnail (WorkbenchGalleryCell *self)
{
  gtk_picture_set_paintable (self->picture, workbench_item_get_thumbnail (self->item));
}

static void
update_result (WorkbenchGalleryCell *self)
{
  WorkbenchItem *item = self->item;
  const char *error = workbench_item_get_error (item);
  UadVerdict verdict = workbench_item_get_model_verdict (item);
  set_verdict_class (GTK_WIDGET (self), verdict);
  set_verdict_class (GTK_WIDGET (self->score_badge), verdict);
  if (error)
    {
      gtk_label_set_text (self->score_badge, "!");
      gtk_widget_add_css_class (GTK_WIDGET (self->score_badge), "error");
    }
  else
    {
      g_autofree char *score = workbench_format_score (workbench_item_get_score (item));
      gtk_label_set_text (self->score_badge, score);
      gtk_widget_remove_css_class (GTK_WIDGET (self->score_badge), "error");
    }
  gtk_widget_set_visible (GTK_WIDGET (self->score_badge),
                          error != NULL || workbench_item_get_inspected (item));

  UadVerdict op = workbench_item_get_operator_verdict (item);
  static const char *const icons[] = {
    NULL, "object-select-symbolic", "dialog-warning-symbolic", "process-stop-symbolic",
  };
  gtk_widget_set_visible (GTK_WIDGET (self->operator_icon), op != UAD_VERDICT_NONE);
  if (op != UAD_VERDICT_NONE)
    gtk_image_set_from_icon_name (self->operator_icon, icons[op]);
  set_verdict_class (GTK_WIDGET (self->operator_icon), op);
}

static gboolean
run_update (gpointer data)
{
  WorkbenchGalleryCell *self = data;
  self->update_source = 0;
  update_result (self);
  return G_SOURCE_REMOVE;
}

/* An item changes several properties at once (a new run resets score, verdicts and error):
 * the cell follows once, before the next frame. */
static void
schedule_update (WorkbenchGalleryCell *self)
{
  if (self->update_source == 0)
    self->update_source = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 10, run_update, self, NULL);
}

/* Made when the pointer rests on the cell, not on every change. */
static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                  WorkbenchGalleryCell *self)
{
  WorkbenchItem *item = self->item;
  if (item == NULL)
    return FALSE;
  /* The name in its folder first: that is how the image is known on screen. */
  g_autoptr (GString) tip = g_string_new (workbench_item_get_name (item));
  g_string_append_printf (tip, "\n%s", workbench_item_get_path (item));
  const char *class_name = workbench_item_get_class_name (item);
  const char *error = workbench_item_get_error (item);
  if (class_name)
    g_string_append_printf (tip, "\n%s: %s", _("Class"), class_name);
  if (error)
    g_string_append_printf (tip, "\n%s", error);
  else if (workbench_item_get_inspected (item))
    {
      g_autofree char *score = workbench_format_score (workbench_item_get_score (item));
      g_string_append_printf (tip, "\n%s: %s (%s)", _("Score"), score,
                              workbench_verdict_label (workbench_item_get_model_verdict (item)));
    }
  UadVerdict op = workbench_item_get_operator_verdict (item);
  if (op != UAD_VERDICT_NONE)
    g_string_append_printf (tip, "\n%s: %s", _("Operator"), workbench_verdict_label (op));
  gtk_tooltip_set_text (tooltip, tip->str);
  return TRUE;
}

void
workbench_gallery_cell_set_item (WorkbenchGalleryCell *self, WorkbenchItem *item)
{
  if (self->item == item)
    return;
  if (self->item)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_handle_id (&self->update_source, g_source_remove);
  g_set_object (&self->item, item);
  if (item == NULL)
    {
      gtk_picture_set_paintable (self->picture, NULL);
      return;
    }
  gtk_label_set_text (self->name_label, workbench_item_get_name (item));
  update_thumbnail (self);
  update_result (self);
  g_signal_connect_swapped (item, "notify::thumbnail", G_CALLBACK (update_thumbnail), self);
  g_signal_connect_swapped (item, "notify::score", G_CALLBACK (schedule_update), self);
  g_signal_connect_swapped (item, "notify::error", G_CALLBACK (schedule_update), self);
  g_signal_connect_swapped (item, "notify::model-verdict", G_CALLBACK (schedule_update), self);
  g_signal_connect_swapped (item, "notify::operator-verdict", G_CALLBACK (schedule_update), self);
}

WorkbenchItem *
workbench_gallery_cell_get_item (WorkbenchGalleryCell *self)
{
  return self->item;
}

static void
workbench_gallery_cell_dispose (GObject *object)
{
  WorkbenchGalleryCell *self = WORKBENCH_GALLERY_CELL (object);
  workbench_gallery_cell_set_item (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_GALLERY_CELL);
  G_OBJECT_CLASS (workbench_gallery_cell_parent_class)->dispose (object);
}

static void
workbench_gallery_cell_class_init (WorkbenchGalleryCellClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_gallery_cell_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-gallery-cell.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGalleryCell, picture);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGalleryCell, score_badge);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGalleryCell, operator_icon);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGalleryCell, name_label);
  gtk_widget_class_set_css_name (widget_class, "gallerycell");
}

static void
workbench_gallery_cell_init (WorkbenchGalleryCell *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), self);
}

GtkWidget *
workbench_gallery_cell_new (void)
{
  return g_object_new (WORKBENCH_TYPE_GALLERY_CELL, NULL);
}
