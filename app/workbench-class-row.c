/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-class-row.h"

#include <glib/gi18n.h>

struct _WorkbenchClassRow
{
  AdwBin parent_instance;

  GtkLabel *name_label;
  GtkLabel *fail_count;
  GtkLabel *review_count;
  GtkLabel *pass_count;
  GtkAdjustment *pass_adjustment;
  GtkAdjustment *fail_adjustment;
  GtkAdjustment *pixel_adjustment;
  GtkLabel *changed_label;

  WorkbenchClass *klass;
};

G_DEFINE_FINAL_TYPE (WorkbenchClassRow, workbench_class_row, ADW_TYPE_BIN)

static void
set_count (GtkLabel *label, int count)
{
  g_autofree char *text = g_strdup_printf ("%d", count);
  gtk_label_set_text (label, text);
}

static void
update_counts (WorkbenchClassRow *self)
{
  set_count (self->fail_count, workbench_class_get_count (self->klass, UAD_VERDICT_FAIL));
  set_count (self->review_count, workbench_class_get_count (self->klass, UAD_VERDICT_REVIEW));
  set_count (self->pass_count, workbench_class_get_count (self->klass, UAD_VERDICT_PASS));
}

static void
update_changed (WorkbenchClassRow *self)
{
  const char *who = workbench_class_get_changed_by (self->klass);
  gint64 when = workbench_class_get_changed_at (self->klass);
  const WorkbenchClassStats *st = workbench_class_get_stats (self->klass);
  g_autoptr (GString) text = g_string_new (NULL);
  /* Translators: statistics of the model's training images of a class */
  g_string_append_printf (text, _("Trained on %d images: score %.3g ± %.2g, at most %.3g"),
                          st->n_train, st->mean, st->std, st->max);
  if (who && when > 0)
    {
      g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (when / G_USEC_PER_SEC);
      g_autofree char *date = g_date_time_format (t, "%x %X");
      g_string_append_c (text, '\n');
      if (g_strcmp0 (who, "default") == 0)
        /* Translators: %s is a date and time */
        g_string_append_printf (text, _("Default thresholds since %s"), date);
      else if (g_strcmp0 (who, "model file") == 0)
        /* Translators: %s is a date and time; the thresholds are those written in the model
         * file (by uniad calibrate) */
        g_string_append_printf (text, _("Thresholds of the model file since %s"), date);
      else
        /* Translators: the thresholds were set by an operator (first %s) at a time (second %s) */
        g_string_append_printf (text, _("Set by %s on %s"), who, date);
    }
  gtk_label_set_text (self->changed_label, text->str);
}

/* Slider steps follow the range: 1/200 of it per arrow key, 1/20 per page. */
static void
update_steps (GtkAdjustment *adjustment)
{
  double range = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_lower (adjustment);
  gtk_adjustment_set_step_increment (adjustment, range / 200);
  gtk_adjustment_set_page_increment (adjustment, range / 20);
}

static void
bind_slider (WorkbenchClassRow *self, GtkAdjustment *adjustment, const char *property)
{
  g_object_bind_property (self->klass, "scale-max", adjustment, "upper", G_BINDING_SYNC_CREATE);
  g_signal_connect (adjustment, "notify::upper", G_CALLBACK (update_steps), NULL);
  update_steps (adjustment);
  g_object_bind_property (self->klass, property, adjustment, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

static void
workbench_class_row_dispose (GObject *object)
{
  WorkbenchClassRow *self = WORKBENCH_CLASS_ROW (object);
  if (self->klass)
    g_signal_handlers_disconnect_by_data (self->klass, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_CLASS_ROW);
  g_clear_object (&self->klass);
  G_OBJECT_CLASS (workbench_class_row_parent_class)->dispose (object);
}

static void
workbench_class_row_class_init (WorkbenchClassRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_class_row_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-class-row.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, fail_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, review_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, pass_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, pass_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, fail_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, pixel_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchClassRow, changed_label);
}

static void
workbench_class_row_init (WorkbenchClassRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
workbench_class_row_new (WorkbenchClass *klass)
{
  WorkbenchClassRow *self = g_object_new (WORKBENCH_TYPE_CLASS_ROW, NULL);
  self->klass = g_object_ref (klass);
  gtk_widget_set_name (GTK_WIDGET (self), workbench_class_get_name (klass));
  gtk_label_set_text (self->name_label, workbench_class_get_name (klass));
  bind_slider (self, self->pass_adjustment, "pass-below");
  bind_slider (self, self->fail_adjustment, "fail-above");
  bind_slider (self, self->pixel_adjustment, "pixel");
  g_signal_connect_swapped (klass, "notify::n-fail", G_CALLBACK (update_counts), self);
  g_signal_connect_swapped (klass, "notify::n-review", G_CALLBACK (update_counts), self);
  g_signal_connect_swapped (klass, "notify::n-pass", G_CALLBACK (update_counts), self);
  g_signal_connect_swapped (klass, "notify::changed-at", G_CALLBACK (update_changed), self);
  g_signal_connect_swapped (klass, "notify::changed-by", G_CALLBACK (update_changed), self);
  update_counts (self);
  update_changed (self);
  return GTK_WIDGET (self);
}
