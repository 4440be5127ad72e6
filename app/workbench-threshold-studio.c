/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-threshold-studio.h"

#include <glib/gi18n.h>
#include <math.h>

#include "workbench-class.h"
#include "workbench-item.h"
#include "workbench-threshold-plots.h"

struct _WorkbenchThresholdStudio
{
  AdwWindow parent_instance;

  GtkDropDown *class_dropdown;
  GtkLabel *summary_label;
  GtkDrawingArea *histogram_area;
  GtkDrawingArea *roc_area;
  GtkDrawingArea *pr_area;
  GtkAdjustment *pass_adjustment;
  GtkAdjustment *fail_adjustment;
  GtkLabel *pass_value;
  GtkLabel *fail_value;
  GtkLabel *rates_label;
  GtkSpinButton *frr_spin;
  GtkSpinButton *escape_spin;
  GtkLabel *status_label;

  WorkbenchSession *session;
  WorkbenchClass *klass;  /* the class shown, or NULL */
  UadCalibration *cal;    /* its data */
  int n_unlabelled;       /* its inspected images without ground truth or verdict */
  gboolean adjusting;     /* keeping pass <= fail: the second change is not handled again */
};

G_DEFINE_FINAL_TYPE (WorkbenchThresholdStudio, workbench_threshold_studio, ADW_TYPE_WINDOW)

/* Ground truth from the MVTec layout, else the operator's verdict, else unknown. */
static UadLabel
label_of (WorkbenchItem *item)
{
  const char *defect = workbench_item_get_defect (item);
  if (defect)
    return g_strcmp0 (defect, "good") == 0 ? UAD_LABEL_GOOD : UAD_LABEL_DEFECTIVE;
  switch (workbench_item_get_operator_verdict (item))
    {
    case UAD_VERDICT_PASS:
      return UAD_LABEL_GOOD;
    case UAD_VERDICT_FAIL:
      return UAD_LABEL_DEFECTIVE;
    default:
      return UAD_LABEL_UNKNOWN;
    }
}

static char *
percent (double v)
{
  return isnan (v) ? g_strdup ("—") : g_strdup_printf ("%.1f%%", 100 * v);
}

static void
show_value (GtkLabel *label, double raw, double fail_above)
{
  double norm = uad_calibration_normalize (raw, fail_above);
  /* Translators: a threshold's score and the same on the class's 0-1 scale (fail at 0.5) */
  g_autofree char *text = isnan (norm) ? g_strdup_printf ("%.4g", raw)
                                       : g_strdup_printf (_("%.4g (normalised %.2f)"), raw, norm);
  gtk_label_set_text (label, text);
}

/* Labels and plots for the sliders' thresholds. */
static void
update_thresholds (WorkbenchThresholdStudio *self)
{
  double pass_below = gtk_adjustment_get_value (self->pass_adjustment);
  double fail_above = gtk_adjustment_get_value (self->fail_adjustment);
  show_value (self->pass_value, pass_below, fail_above);
  show_value (self->fail_value, fail_above, fail_above);
  UadCalibrationRates r;
  uad_calibration_rates (self->cal, pass_below, fail_above, &r);
  g_autofree char *frr = percent (r.frr), *escape = percent (r.escape);
  g_autofree char *review = percent (r.review);
  g_autofree char *f1 = isnan (r.f1) ? g_strdup ("—") : g_strdup_printf ("%.3f", r.f1);
  /* Translators: what the thresholds do to the labelled images: good images failed,
   * defective images passed, images sent to review, and the F1 score of failing */
  g_autofree char *text = g_strdup_printf (_("False rejects %s · escapes %s · review %s · F1 %s"),
                                           frr, escape, review, f1);
  gtk_label_set_text (self->rates_label, text);
  gtk_widget_queue_draw (GTK_WIDGET (self->histogram_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->roc_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->pr_area));
}

/* Sets both sliders (growing their range to cover the values). */
static void
set_thresholds (WorkbenchThresholdStudio *self, double pass_below, double fail_above)
{
  double upper = MAX (gtk_adjustment_get_upper (self->fail_adjustment), 1.2 * fail_above);
  gtk_adjustment_set_upper (self->pass_adjustment, upper);
  gtk_adjustment_set_upper (self->fail_adjustment, upper);
  self->adjusting = TRUE;
  gtk_adjustment_set_value (self->fail_adjustment, fail_above);
  gtk_adjustment_set_value (self->pass_adjustment, pass_below);
  self->adjusting = FALSE;
  update_thresholds (self);
}

/* The class's inspected images as calibration data. */
static void
gather (WorkbenchThresholdStudio *self)
{
  g_clear_pointer (&self->cal, uad_calibration_free);
  self->n_unlabelled = 0;
  GListModel *items = workbench_session_get_items (self->session);
  guint n = g_list_model_get_n_items (items);
  g_autofree double *scores = g_new (double, MAX (n, 1));
  g_autofree guint8 *labels = g_new (guint8, MAX (n, 1));
  int m = 0;
  int index = self->klass ? workbench_class_get_index (self->klass) : -1;
  for (guint i = 0; i < n && index >= 0; i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if (!workbench_item_get_inspected (item) || workbench_item_get_class_index (item) != index)
        continue;
      scores[m] = workbench_item_get_score (item);
      labels[m] = label_of (item);
      self->n_unlabelled += labels[m] == UAD_LABEL_UNKNOWN;
      m++;
    }
  self->cal = uad_calibration_new (scores, labels, m);
  /* Translators: the images the studio works from */
  g_autofree char *text = g_strdup_printf (_("%d inspected images: %d good, %d defective, %d "
                                             "without ground truth or verdict (left out)"),
                                           m, self->cal->n_good, self->cal->n_defective,
                                           self->n_unlabelled);
  gtk_label_set_text (self->summary_label, text);
}

static void
show_class (WorkbenchThresholdStudio *self)
{
  g_set_object (&self->klass, gtk_drop_down_get_selected_item (self->class_dropdown));
  gather (self);
  gtk_label_set_text (self->status_label, "");
  if (self->klass == NULL)
    return;
  double upper = workbench_class_get_scale_max (self->klass);
  gtk_adjustment_set_upper (self->pass_adjustment, upper);
  gtk_adjustment_set_upper (self->fail_adjustment, upper);
  set_thresholds (self, workbench_class_get_pass_below (self->klass),
                  workbench_class_get_fail_above (self->klass));
}

static void
on_inspecting (WorkbenchSession *session, GParamSpec *pspec, WorkbenchThresholdStudio *self)
{
  gboolean inspecting;
  g_object_get (session, "inspecting", &inspecting, NULL);
  if (!inspecting)
    {
      gather (self);
      update_thresholds (self);
    }
}

/* Keeps pass below <= fail above, moving the other slider. */
static void
on_slider (GtkAdjustment *adjustment, WorkbenchThresholdStudio *self)
{
  if (self->adjusting)
    return;
  double pass_below = gtk_adjustment_get_value (self->pass_adjustment);
  double fail_above = gtk_adjustment_get_value (self->fail_adjustment);
  self->adjusting = TRUE;
  if (pass_below > fail_above && adjustment == self->pass_adjustment)
    gtk_adjustment_set_value (self->fail_adjustment, pass_below);
  else if (pass_below > fail_above)
    gtk_adjustment_set_value (self->pass_adjustment, fail_above);
  self->adjusting = FALSE;
  update_thresholds (self);
}

/* Applies a suggestion (NAN: that level unchanged) or says why there is none. */
static void
suggest (WorkbenchThresholdStudio *self, gboolean ok, double pass_below, double fail_above,
         GError *error)
{
  if (!ok)
    {
      gtk_label_set_text (self->status_label, error->message);
      g_error_free (error);
      return;
    }
  UadVerdictThresholds now = { gtk_adjustment_get_value (self->pass_adjustment),
                               gtk_adjustment_get_value (self->fail_adjustment), 0 };
  UadVerdictThresholds th = uad_calibration_combine (&now, pass_below, fail_above);
  set_thresholds (self, th.pass_below, th.fail_above);
  gtk_label_set_text (self->status_label, "");
}

static void
suggest_frr (WorkbenchThresholdStudio *self)
{
  GError *error = NULL;
  double v = 0;
  gboolean ok = uad_calibration_for_frr (self->cal, gtk_spin_button_get_value (self->frr_spin) / 100,
                                         &v, &error);
  suggest (self, ok, NAN, v, error);
}

static void
suggest_escape (WorkbenchThresholdStudio *self)
{
  GError *error = NULL;
  double v = 0;
  gboolean ok = uad_calibration_for_escape (self->cal,
                                            gtk_spin_button_get_value (self->escape_spin) / 100,
                                            &v, &error);
  suggest (self, ok, v, NAN, error);
}

static void
suggest_f1 (WorkbenchThresholdStudio *self)
{
  GError *error = NULL;
  double v = 0;
  gboolean ok = uad_calibration_for_f1 (self->cal, &v, &error);
  suggest (self, ok, NAN, v, error);
}

/* Through the class's properties, as the sidebar's sliders: the session relabels the images
 * and records the change with the operator and the time. Fail first, so that a pass threshold
 * above the old fail threshold is not clamped. */
static void
apply (WorkbenchThresholdStudio *self)
{
  if (self->klass == NULL)
    return;
  g_object_set (self->klass, "fail-above", gtk_adjustment_get_value (self->fail_adjustment), NULL);
  g_object_set (self->klass, "pass-below", gtk_adjustment_get_value (self->pass_adjustment), NULL);
  /* Translators: the studio's thresholds were given to the class */
  gtk_label_set_text (self->status_label, _("Applied"));
}

typedef void (*PlotFunc) (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                          const UadCalibration *cal, double pass_below, double fail_above);

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  WorkbenchThresholdStudio *self = g_object_get_data (G_OBJECT (area), "studio");
  if (self->cal == NULL)
    return;
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  ((PlotFunc) data) (cr, width, height, &fg, self->cal,
                     gtk_adjustment_get_value (self->pass_adjustment),
                     gtk_adjustment_get_value (self->fail_adjustment));
}

static void
set_plot (WorkbenchThresholdStudio *self, GtkDrawingArea *area, PlotFunc func)
{
  g_object_set_data (G_OBJECT (area), "studio", self);
  gtk_drawing_area_set_draw_func (area, draw, (gpointer) func, NULL);
}

static void
workbench_threshold_studio_dispose (GObject *object)
{
  WorkbenchThresholdStudio *self = WORKBENCH_THRESHOLD_STUDIO (object);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_THRESHOLD_STUDIO);
  g_clear_object (&self->session);
  g_clear_object (&self->klass);
  g_clear_pointer (&self->cal, uad_calibration_free);
  G_OBJECT_CLASS (workbench_threshold_studio_parent_class)->dispose (object);
}

static void
workbench_threshold_studio_class_init (WorkbenchThresholdStudioClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_threshold_studio_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-threshold-studio.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, WorkbenchThresholdStudio, name)
  CHILD (class_dropdown);
  CHILD (summary_label);
  CHILD (histogram_area);
  CHILD (roc_area);
  CHILD (pr_area);
  CHILD (pass_adjustment);
  CHILD (fail_adjustment);
  CHILD (pass_value);
  CHILD (fail_value);
  CHILD (rates_label);
  CHILD (frr_spin);
  CHILD (escape_spin);
  CHILD (status_label);
#undef CHILD
  gtk_widget_class_bind_template_callback (widget_class, suggest_frr);
  gtk_widget_class_bind_template_callback (widget_class, suggest_escape);
  gtk_widget_class_bind_template_callback (widget_class, suggest_f1);
  gtk_widget_class_bind_template_callback (widget_class, apply);
  gtk_widget_class_bind_template_callback (widget_class, on_slider);
  gtk_widget_class_bind_template_callback (widget_class, show_class);
}

static void
workbench_threshold_studio_init (WorkbenchThresholdStudio *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  set_plot (self, self->histogram_area, workbench_plot_histogram);
  set_plot (self, self->roc_area, workbench_plot_roc);
  set_plot (self, self->pr_area, workbench_plot_pr);
}

WorkbenchThresholdStudio *
workbench_threshold_studio_new (GtkWindow *parent, WorkbenchSession *session)
{
  WorkbenchThresholdStudio *self = g_object_new (WORKBENCH_TYPE_THRESHOLD_STUDIO,
                                                 "transient-for", parent, NULL);
  self->session = g_object_ref (session);
  g_signal_connect (session, "notify::inspecting", G_CALLBACK (on_inspecting), self);
  GtkExpression *name = gtk_property_expression_new (WORKBENCH_TYPE_CLASS, NULL, "name");
  gtk_drop_down_set_expression (self->class_dropdown, name);
  gtk_expression_unref (name);
  gtk_drop_down_set_model (self->class_dropdown, workbench_session_get_classes (session));
  show_class (self);
  return self;
}

const UadCalibration *
workbench_threshold_studio_get_calibration (WorkbenchThresholdStudio *self)
{
  return self->cal;
}
