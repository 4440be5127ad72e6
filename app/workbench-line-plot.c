/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-line-plot.h"

#include <glib/gi18n.h>
#include <math.h>

#define PAD_LEFT 52.0
#define PAD_RIGHT 10.0
#define PAD_TOP 8.0
#define PAD_BOTTOM 18.0

typedef struct {
  double score, pass_below, fail_above;
  UadVerdict verdict;
} Point;

struct _WorkbenchLinePlot
{
  GtkDrawingArea parent_instance;
  GArray *points;             /* Point, oldest first */
};

G_DEFINE_FINAL_TYPE (WorkbenchLinePlot, workbench_line_plot, GTK_TYPE_DRAWING_AREA)

/* The verdict colours of the rest of the workbench (resources/style.css). */
static void
verdict_rgb (UadVerdict v, double rgb[3])
{
  static const double pass[3] = { 0.18, 0.76, 0.49 }, review[3] = { 0.96, 0.63, 0.0 },
                      fail[3] = { 0.88, 0.11, 0.14 }, none[3] = { 0.5, 0.5, 0.5 };
  const double *c = v == UAD_VERDICT_PASS ? pass : v == UAD_VERDICT_REVIEW ? review
                    : v == UAD_VERDICT_FAIL ? fail : none;
  for (int i = 0; i < 3; i++)
    rgb[i] = c[i];
}

static void
source_verdict (cairo_t *cr, UadVerdict v, double alpha)
{
  double c[3];
  verdict_rgb (v, c);
  cairo_set_source_rgba (cr, c[0], c[1], c[2], alpha);
}

/* The score range shown: every score and threshold with a tenth of their span to spare on
 * either side (scores far from zero would otherwise be squeezed into a line). */
static void
value_range (GArray *points, double *lo, double *hi)
{
  *lo = G_MAXDOUBLE;
  *hi = -G_MAXDOUBLE;
  for (guint i = 0; i < points->len; i++)
    {
      const Point *p = &g_array_index (points, Point, i);
      *lo = MIN (*lo, MIN (p->score, p->pass_below));
      *hi = MAX (*hi, MAX (p->score, p->fail_above));
    }
  if (points->len == 0)
    {
      *lo = 0;
      *hi = 1;
    }
  double spare = (*hi - *lo) * 0.1;
  if (spare <= 0)
    spare = MAX (fabs (*hi) * 0.1, 1e-6);
  *lo -= spare;
  *hi += spare;
}

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  WorkbenchLinePlot *self = WORKBENCH_LINE_PLOT (area);
  GdkRGBA fg;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  double x0 = PAD_LEFT, y0 = PAD_TOP;
  double w = MAX (width - PAD_LEFT - PAD_RIGHT, 1), h = MAX (height - PAD_TOP - PAD_BOTTOM, 1);
  double lo, hi;
  value_range (self->points, &lo, &hi);
  /* Slots for a full plot, so that points do not move apart while it fills. */
  double dx = w / WORKBENCH_LINE_PLOT_POINTS;
#define Y(v) (y0 + h - ((v) - lo) / (hi - lo) * h)

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 10);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
  g_autofree char *top = g_strdup_printf ("%.4g", hi);
  g_autofree char *bottom = g_strdup_printf ("%.4g", lo);
  cairo_move_to (cr, 4, y0 + 9);
  cairo_show_text (cr, top);
  cairo_move_to (cr, 4, y0 + h);
  cairo_show_text (cr, bottom);
  cairo_move_to (cr, x0, height - 4);
  /* Translators: under line mode's plot of the latest scores */
  g_autofree char *caption = g_strdup_printf (_("Scores of the last %u images, newest on the right"),
                                              self->points->len);
  cairo_show_text (cr, caption);

  guint n = self->points->len;
  /* Bands, each image's own: fail above its fail threshold, review between, pass below. */
  for (guint i = 0; i < n; i++)
    {
      const Point *p = &g_array_index (self->points, Point, i);
      double x = x0 + i * dx;
      double yf = CLAMP (Y (p->fail_above), y0, y0 + h), yp = CLAMP (Y (p->pass_below), y0, y0 + h);
      source_verdict (cr, UAD_VERDICT_FAIL, 0.10);
      cairo_rectangle (cr, x, y0, dx, yf - y0);
      cairo_fill (cr);
      source_verdict (cr, UAD_VERDICT_REVIEW, 0.12);
      cairo_rectangle (cr, x, yf, dx, yp - yf);
      cairo_fill (cr);
      source_verdict (cr, UAD_VERDICT_PASS, 0.08);
      cairo_rectangle (cr, x, yp, dx, y0 + h - yp);
      cairo_fill (cr);
    }
  /* The thresholds as steps. */
  cairo_set_line_width (cr, 1.5);
  for (int t = 0; t < 2; t++)
    {
      for (guint i = 0; i < n; i++)
        {
          const Point *p = &g_array_index (self->points, Point, i);
          double y = Y (t ? p->fail_above : p->pass_below);
          if (i == 0)
            cairo_move_to (cr, x0, y);
          else
            cairo_line_to (cr, x0 + i * dx, y);
          cairo_line_to (cr, x0 + (i + 1) * dx, y);
        }
      source_verdict (cr, t ? UAD_VERDICT_FAIL : UAD_VERDICT_PASS, 0.9);
      cairo_stroke (cr);
    }
  /* The scores: a thin line through dots in their verdicts' colours. */
  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
  for (guint i = 0; i < n; i++)
    {
      const Point *p = &g_array_index (self->points, Point, i);
      if (i == 0)
        cairo_move_to (cr, x0 + (i + 0.5) * dx, Y (p->score));
      else
        cairo_line_to (cr, x0 + (i + 0.5) * dx, Y (p->score));
    }
  cairo_stroke (cr);
  for (guint i = 0; i < n; i++)
    {
      const Point *p = &g_array_index (self->points, Point, i);
      source_verdict (cr, p->verdict, 1);
      cairo_arc (cr, x0 + (i + 0.5) * dx, Y (p->score), MIN (3.5, MAX (dx / 2, 2)), 0, 2 * G_PI);
      cairo_fill (cr);
    }
  /* The thresholds now, named at the right end of their lines. */
  if (n > 0)
    {
      const Point *last = &g_array_index (self->points, Point, n - 1);
      /* Translators: labels of the threshold lines of line mode's plot */
      g_autofree char *fail = g_strdup_printf (_("fail above %.4g"), last->fail_above);
      g_autofree char *pass = g_strdup_printf (_("pass below %.4g"), last->pass_below);
      cairo_text_extents_t e;
      cairo_text_extents (cr, fail, &e);
      source_verdict (cr, UAD_VERDICT_FAIL, 1);
      cairo_move_to (cr, x0 + w - 4 - e.x_advance, Y (last->fail_above) - 4);
      cairo_show_text (cr, fail);
      cairo_text_extents (cr, pass, &e);
      source_verdict (cr, UAD_VERDICT_PASS, 1);
      cairo_move_to (cr, x0 + w - 4 - e.x_advance, Y (last->pass_below) + 12);
      cairo_show_text (cr, pass);
    }
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.3);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, w - 1, h - 1);
  cairo_stroke (cr);
#undef Y
}

static void
workbench_line_plot_finalize (GObject *object)
{
  g_array_unref (WORKBENCH_LINE_PLOT (object)->points);
  G_OBJECT_CLASS (workbench_line_plot_parent_class)->finalize (object);
}

static void
workbench_line_plot_class_init (WorkbenchLinePlotClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = workbench_line_plot_finalize;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "line-plot");
}

static void
workbench_line_plot_init (WorkbenchLinePlot *self)
{
  self->points = g_array_new (FALSE, FALSE, sizeof (Point));
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self), 150);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw, NULL, NULL);
}

GtkWidget *
workbench_line_plot_new (void)
{
  return g_object_new (WORKBENCH_TYPE_LINE_PLOT, NULL);
}

void
workbench_line_plot_add (WorkbenchLinePlot *self, double score, const UadVerdictThresholds *th,
                         UadVerdict verdict)
{
  Point p = { score, th->pass_below, th->fail_above, verdict };
  if (self->points->len == WORKBENCH_LINE_PLOT_POINTS)
    g_array_remove_index (self->points, 0);
  g_array_append_val (self->points, p);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
workbench_line_plot_clear (WorkbenchLinePlot *self)
{
  g_array_set_size (self->points, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
workbench_line_plot_get_n_points (WorkbenchLinePlot *self)
{
  return self->points->len;
}
