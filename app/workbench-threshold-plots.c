/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-threshold-plots.c: histogram, ROC and precision-recall plots of one class. */
#include "workbench-threshold-plots.h"

#include <glib/gi18n.h>
#include <math.h>

#define N_BINS 40
#define MARGIN_LEFT 44.0
#define MARGIN_RIGHT 12.0
#define MARGIN_TOP 26.0
#define MARGIN_BOTTOM 30.0

static const GdkRGBA good_colour = { 0.18, 0.76, 0.49, 1 };   /* pass green */
static const GdkRGBA bad_colour = { 0.88, 0.11, 0.14, 1 };    /* fail red */
static const GdkRGBA review_colour = { 0.96, 0.63, 0.0, 1 };  /* review amber */

typedef WorkbenchPlotFrame Frame;

void
workbench_plot_set_colour (cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha * alpha);
}

void
workbench_plot_text (cairo_t *cr, double x, double y, double align, const char *text)
{
  cairo_text_extents_t e;
  cairo_text_extents (cr, text, &e);
  cairo_move_to (cr, x - align * e.x_advance, y);
  cairo_show_text (cr, text);
}

Frame
workbench_plot_frame (cairo_t *cr, int width, int height, const GdkRGBA *fg, const char *title,
                      const char *x_label, const char *x_lo, const char *x_hi, const char *y_lo,
                      const char *y_hi)
{
  Frame f = { MARGIN_LEFT, MARGIN_TOP, MAX (width - MARGIN_LEFT - MARGIN_RIGHT, 1),
              MAX (height - MARGIN_TOP - MARGIN_BOTTOM, 1) };
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 12);
  workbench_plot_set_colour (cr, fg, 1);
  workbench_plot_text (cr, f.x, 16, 0, title);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 10);
  workbench_plot_text (cr, f.x, f.y + f.h + 13, 0, x_lo);
  workbench_plot_text (cr, f.x + f.w, f.y + f.h + 13, 1, x_hi);
  workbench_plot_text (cr, f.x + f.w / 2, f.y + f.h + 26, 0.5, x_label);
  workbench_plot_text (cr, f.x - 4, f.y + f.h, 1, y_lo);
  workbench_plot_text (cr, f.x - 4, f.y + 8, 1, y_hi);
  workbench_plot_set_colour (cr, fg, 0.35);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, f.x + 0.5, f.y + 0.5, f.w - 1, f.h - 1);
  cairo_stroke (cr);
  return f;
}

/* The score range the histogram spans: the scores and both thresholds, with 8% of that span
 * to spare on either side. */
static void
score_range (const UadCalibration *cal, double pass_below, double fail_above, double *lo,
             double *hi)
{
  *lo = MIN (pass_below, fail_above);
  *hi = MAX (pass_below, fail_above);
  if (cal->n_good)
    {
      *lo = MIN (*lo, cal->good[0]);
      *hi = MAX (*hi, cal->good[cal->n_good - 1]);
    }
  if (cal->n_defective)
    {
      *lo = MIN (*lo, cal->defective[0]);
      *hi = MAX (*hi, cal->defective[cal->n_defective - 1]);
    }
  double pad = *hi > *lo ? 0.08 * (*hi - *lo) : 1;
  *lo -= pad;
  *hi += pad;
}

static void
count_bins (const double *scores, int n, double lo, double hi, int bins[N_BINS])
{
  for (int i = 0; i < n; i++)
    {
      int b = (int) floor ((scores[i] - lo) / (hi - lo) * N_BINS);
      bins[CLAMP (b, 0, N_BINS - 1)]++;
    }
}

static void
draw_bars (cairo_t *cr, const Frame *f, const int bins[N_BINS], int top, const GdkRGBA *c)
{
  double bw = f->w / N_BINS;
  workbench_plot_set_colour (cr, c, 0.55);
  for (int b = 0; b < N_BINS; b++)
    if (bins[b] > 0)
      {
        double bh = f->h * bins[b] / top;
        cairo_rectangle (cr, f->x + b * bw + 1, f->y + f->h - bh, bw - 2, bh);
      }
  cairo_fill (cr);
}

/* A vertical threshold line at score t with its value (and normalised value) on top. */
static void
draw_score_line (cairo_t *cr, const Frame *f, double lo, double hi, double t, double fail_above,
                 const GdkRGBA *c)
{
  if (!(t >= lo && t <= hi))
    return;
  double x = f->x + (t - lo) / (hi - lo) * f->w;
  workbench_plot_set_colour (cr, c, 1);
  cairo_set_line_width (cr, 2);
  cairo_move_to (cr, x, f->y);
  cairo_line_to (cr, x, f->y + f->h);
  cairo_stroke (cr);
  g_autofree char *text = g_strdup_printf ("%.4g (%.2f)", t,
                                           uad_calibration_normalize (t, fail_above));
  /* On a pale box, so that it reads over the bars; kept inside the frame. */
  cairo_text_extents_t e;
  cairo_text_extents (cr, text, &e);
  double tx = MIN (x + 3, f->x + f->w - e.x_advance - 3);
  double ty = f->y + 13 + (t == fail_above ? 0 : 15);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
  cairo_rectangle (cr, tx - 2, ty - 11, e.x_advance + 4, 14);
  cairo_fill (cr);
  workbench_plot_set_colour (cr, c, 1);
  workbench_plot_text (cr, tx, ty, 0, text);
}

void
workbench_plot_histogram (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                          const UadCalibration *cal, double pass_below, double fail_above)
{
  double lo, hi;
  score_range (cal, pass_below, fail_above, &lo, &hi);
  int good[N_BINS] = { 0 }, bad[N_BINS] = { 0 }, top = 1;
  count_bins (cal->good, cal->n_good, lo, hi, good);
  count_bins (cal->defective, cal->n_defective, lo, hi, bad);
  for (int b = 0; b < N_BINS; b++)
    top = MAX (top, MAX (good[b], bad[b]));
  g_autofree char *x_lo = g_strdup_printf ("%.4g", lo);
  g_autofree char *x_hi = g_strdup_printf ("%.4g", hi);
  g_autofree char *y_hi = g_strdup_printf ("%d", top);
  /* Translators: title of the histogram of image scores, then how many good and defective */
  g_autofree char *title = g_strdup_printf (_("Scores: %d good, %d defective"), cal->n_good,
                                            cal->n_defective);
  Frame f = workbench_plot_frame (cr, width, height, fg, title,
                                  _("image score; at the thresholds: raw (normalised)"), x_lo,
                                  x_hi, "0", y_hi);
  /* The review band between the two thresholds. */
  double x0 = f.x + CLAMP ((pass_below - lo) / (hi - lo), 0, 1) * f.w;
  double x1 = f.x + CLAMP ((fail_above - lo) / (hi - lo), 0, 1) * f.w;
  workbench_plot_set_colour (cr, &review_colour, 0.15);
  cairo_rectangle (cr, x0, f.y, x1 - x0, f.h);
  cairo_fill (cr);
  draw_bars (cr, &f, good, top, &good_colour);
  draw_bars (cr, &f, bad, top, &bad_colour);
  cairo_set_font_size (cr, 10);
  draw_score_line (cr, &f, lo, hi, pass_below, fail_above, &good_colour);
  draw_score_line (cr, &f, lo, hi, fail_above, fail_above, &bad_colour);
}

/* The last curve point (from the highest threshold down) whose images all count as positive
 * for the threshold: score > t (strict, the fail rule) or score >= t; -1 when none. */
static int
point_at (const UadCalibration *cal, double t, gboolean strict)
{
  int last = -1;
  for (int i = 0; i < cal->n_points; i++)
    if (strict ? cal->points[i].threshold > t : cal->points[i].threshold >= t)
      last = i;
  return last;
}

static void
plot_xy (const Frame *f, double x, double y, double *px, double *py)
{
  *px = f->x + x * f->w;
  *py = f->y + (1 - y) * f->h;
}

static void
draw_marker (cairo_t *cr, const Frame *f, double x, double y, const GdkRGBA *c)
{
  double px, py;
  if (isnan (x) || isnan (y))
    return;
  plot_xy (f, x, y, &px, &py);
  workbench_plot_set_colour (cr, c, 1);
  cairo_arc (cr, px, py, 5, 0, 2 * G_PI);
  cairo_fill (cr);
}

static void
no_curve (cairo_t *cr, const Frame *f, const GdkRGBA *fg)
{
  workbench_plot_set_colour (cr, fg, 0.7);
  workbench_plot_text (cr, f->x + f->w / 2, f->y + f->h / 2, 0.5,
           _("needs good and defective images"));
}

static char *
percent_title (const char *name, double v)
{
  if (isnan (v))
    return g_strdup_printf ("%s —", name);
  return g_strdup_printf ("%s %.1f%%", name, 100 * v);
}

void
workbench_plot_roc (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                    const UadCalibration *cal, double pass_below, double fail_above)
{
  g_autofree char *title = percent_title (_("ROC: AUROC"), cal->metrics.auroc);
  Frame f = workbench_plot_frame (cr, width, height, fg, title, _("false-positive rate (good)"),
                                  "0", "1", "0", "1");
  if (isnan (cal->metrics.auroc))
    {
      no_curve (cr, &f, fg);
      return;
    }
  double px, py;
  workbench_plot_set_colour (cr, fg, 0.25);
  cairo_move_to (cr, f.x, f.y + f.h);
  cairo_line_to (cr, f.x + f.w, f.y);
  cairo_stroke (cr);
  workbench_plot_set_colour (cr, fg, 1);
  cairo_set_line_width (cr, 2);
  plot_xy (&f, 0, 0, &px, &py);
  cairo_move_to (cr, px, py);
  for (int i = 0; i < cal->n_points; i++)
    {
      plot_xy (&f, cal->points[i].fpr, cal->points[i].tpr, &px, &py);
      cairo_line_to (cr, px, py);
    }
  cairo_stroke (cr);
  int p = point_at (cal, pass_below, FALSE), q = point_at (cal, fail_above, TRUE);
  draw_marker (cr, &f, p < 0 ? 0 : cal->points[p].fpr, p < 0 ? 0 : cal->points[p].tpr,
               &good_colour);
  draw_marker (cr, &f, q < 0 ? 0 : cal->points[q].fpr, q < 0 ? 0 : cal->points[q].tpr,
               &bad_colour);
}

void
workbench_plot_pr (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                   const UadCalibration *cal, double pass_below, double fail_above)
{
  g_autofree char *title = percent_title (_("Precision–recall: AP"),
                                          cal->metrics.average_precision);
  Frame f = workbench_plot_frame (cr, width, height, fg, title, _("recall (defective)"), "0",
                                  "1", "0", "1");
  if (isnan (cal->metrics.auroc))
    {
      no_curve (cr, &f, fg);
      return;
    }
  double px, py;
  workbench_plot_set_colour (cr, fg, 1);
  cairo_set_line_width (cr, 2);
  for (int i = 0; i < cal->n_points; i++)
    {
      plot_xy (&f, cal->points[i].tpr, cal->points[i].precision, &px, &py);
      if (i == 0)
        cairo_move_to (cr, px, py);
      else
        cairo_line_to (cr, px, py);
    }
  cairo_stroke (cr);
  int p = point_at (cal, pass_below, FALSE), q = point_at (cal, fail_above, TRUE);
  if (p >= 0)
    draw_marker (cr, &f, cal->points[p].tpr, cal->points[p].precision, &good_colour);
  if (q >= 0)
    draw_marker (cr, &f, cal->points[q].tpr, cal->points[q].precision, &bad_colour);
}
