/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-loss-plot.h"

#include <glib/gi18n.h>
#include <math.h>

#include "workbench-threshold-plots.h"

typedef struct {
  double seconds, loss;
} Point;

struct _WorkbenchLossPlot
{
  GtkDrawingArea parent_instance;

  GArray *points[WORKBENCH_LOSS_N_SERIES]; /* of Point, in time order */
  double span;                             /* seconds the x axis spans */
};

G_DEFINE_FINAL_TYPE (WorkbenchLossPlot, workbench_loss_plot, GTK_TYPE_DRAWING_AREA)

static const GdkRGBA series_colour[WORKBENCH_LOSS_N_SERIES] = {
  { 0.21, 0.52, 0.89, 1 }, /* transformer: blue */
  { 0.90, 0.38, 0.0, 1 },  /* decoder: orange */
};

/* The range of the losses as log10, [*lo, *hi] with lo < hi and a little room on both sides. */
static gboolean
loss_range (WorkbenchLossPlot *self, double *lo, double *hi)
{
  *lo = INFINITY, *hi = -INFINITY;
  for (int s = 0; s < WORKBENCH_LOSS_N_SERIES; s++)
    for (guint i = 0; i < self->points[s]->len; i++)
      {
        double l = log10 (g_array_index (self->points[s], Point, i).loss);
        *lo = MIN (*lo, l), *hi = MAX (*hi, l);
      }
  if (!isfinite (*lo))
    return FALSE;
  double room = MAX ((*hi - *lo) * 0.05, 0.02);
  *lo -= room, *hi += room;
  return TRUE;
}

/* Where a point goes in the frame, with log10 losses lo..hi from bottom to top. */
static void
place (WorkbenchLossPlot *self, const WorkbenchPlotFrame *f, double lo, double hi,
       const Point *p, double *x, double *y)
{
  *x = f->x + CLAMP (p->seconds / self->span, 0, 1) * f->w;
  *y = f->y + f->h - (log10 (p->loss) - lo) / (hi - lo) * f->h;
}

static char *
format_minutes (double seconds)
{
  double minutes = seconds / 60;
  int digits = minutes >= 10 ? 0 : minutes >= 1 ? 1 : 2; /* 0.25 min is not 0.2 */
  /* Translators: a time on the loss plot's axis, in minutes */
  return g_strdup_printf (_("%.*f min"), digits, minutes);
}

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  WorkbenchLossPlot *self = WORKBENCH_LOSS_PLOT (area);
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  double lo = 0, hi = 1;
  gboolean any = loss_range (self, &lo, &hi);
  g_autofree char *x_hi = format_minutes (self->span);
  g_autofree char *y_lo = g_strdup_printf ("%.3g", pow (10, lo));
  g_autofree char *y_hi = g_strdup_printf ("%.3g", pow (10, hi));
  WorkbenchPlotFrame f = workbench_plot_frame (cr, width, height, &fg, _("Training loss"),
                                               _("time"), "0", x_hi, any ? y_lo : "",
                                               any ? y_hi : "");
  static const char *names[WORKBENCH_LOSS_N_SERIES] = { N_("transformer"), N_("image decoder") };
  double legend_x = f.x + f.w;
  for (int s = WORKBENCH_LOSS_N_SERIES - 1; s >= 0; s--)
    {
      cairo_text_extents_t e;
      cairo_text_extents (cr, _(names[s]), &e);
      workbench_plot_set_colour (cr, &series_colour[s], 1);
      workbench_plot_text (cr, legend_x, 16, 1, _(names[s]));
      legend_x -= e.x_advance + 16;
    }
  cairo_set_line_width (cr, 1.5);
  for (int s = 0; s < WORKBENCH_LOSS_N_SERIES; s++)
    {
      GArray *pts = self->points[s];
      workbench_plot_set_colour (cr, &series_colour[s], 1);
      for (guint i = 0; i < pts->len; i++)
        {
          double x, y;
          place (self, &f, lo, hi, &g_array_index (pts, Point, i), &x, &y);
          if (i == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
        }
      cairo_stroke (cr);
      /* Each point marked: a short run has few, and a single one is no line. */
      for (guint i = 0; i < pts->len; i++)
        {
          double x, y;
          place (self, &f, lo, hi, &g_array_index (pts, Point, i), &x, &y);
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, 2.5, 0, 2 * G_PI);
        }
      cairo_fill (cr);
    }
}

static void
workbench_loss_plot_finalize (GObject *object)
{
  WorkbenchLossPlot *self = WORKBENCH_LOSS_PLOT (object);
  for (int s = 0; s < WORKBENCH_LOSS_N_SERIES; s++)
    g_array_unref (self->points[s]);
  G_OBJECT_CLASS (workbench_loss_plot_parent_class)->finalize (object);
}

static void
workbench_loss_plot_class_init (WorkbenchLossPlotClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = workbench_loss_plot_finalize;
}

static void
workbench_loss_plot_init (WorkbenchLossPlot *self)
{
  for (int s = 0; s < WORKBENCH_LOSS_N_SERIES; s++)
    self->points[s] = g_array_new (FALSE, FALSE, sizeof (Point));
  self->span = 60;
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self), 220);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw, NULL, NULL);
}

GtkWidget *
workbench_loss_plot_new (void)
{
  return g_object_new (WORKBENCH_TYPE_LOSS_PLOT, NULL);
}

void
workbench_loss_plot_reset (WorkbenchLossPlot *self, double seconds)
{
  for (int s = 0; s < WORKBENCH_LOSS_N_SERIES; s++)
    g_array_set_size (self->points[s], 0);
  self->span = MAX (seconds, 1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
workbench_loss_plot_add (WorkbenchLossPlot *self, WorkbenchLossSeries series, double seconds,
                         double loss)
{
  if (!(loss > 0) || !isfinite (loss))
    return;
  Point p = { seconds, loss };
  g_array_append_val (self->points[series], p);
  self->span = MAX (self->span, seconds);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
workbench_loss_plot_get_n_points (WorkbenchLossPlot *self, WorkbenchLossSeries series)
{
  return self->points[series]->len;
}
