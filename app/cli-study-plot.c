/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-plot.h"

#include "uad-error.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>

#define PANEL_W 540
#define MARGIN_L 60
#define PANELS 3 /* image AUROC, pixel AUROC, training loss */
#define WIDTH (PANELS * (MARGIN_L + PANEL_W) + 30)
#define HEIGHT 520
#define MARGIN_T 50
#define PLOT_H 360

static const double palette[][3] = {
  { 0.12, 0.47, 0.71 }, { 0.84, 0.15, 0.16 }, { 0.17, 0.63, 0.17 }, { 1.00, 0.50, 0.05 },
  { 0.58, 0.40, 0.74 }, { 0.55, 0.34, 0.29 }, { 0.89, 0.47, 0.76 }, { 0.50, 0.50, 0.50 },
};

CliStudySeries *
cli_study_series_new (const char *name)
{
  CliStudySeries *s = g_new0 (CliStudySeries, 1);
  s->name = g_strdup (name);
  s->minutes = g_array_new (FALSE, FALSE, sizeof (double));
  s->image = g_array_new (FALSE, FALSE, sizeof (double));
  s->pixel = g_array_new (FALSE, FALSE, sizeof (double));
  s->loss = g_array_new (FALSE, FALSE, sizeof (double));
  return s;
}

void
cli_study_series_add (CliStudySeries *s, double minutes, double image_auroc, double pixel_auroc,
                      double loss)
{
  g_array_append_val (s->minutes, minutes);
  g_array_append_val (s->image, image_auroc);
  g_array_append_val (s->pixel, pixel_auroc);
  g_array_append_val (s->loss, loss);
}

void
cli_study_series_free (CliStudySeries *s)
{
  if (s == NULL)
    return;
  g_free (s->name);
  g_array_unref (s->minutes);
  g_array_unref (s->image);
  g_array_unref (s->pixel);
  g_array_unref (s->loss);
  g_free (s);
}

typedef struct {
  double x0, y0;         /* top left of the plot area */
  double minutes;        /* x range 0..minutes */
  double lo, hi, step;   /* y range and grid spacing (powers of ten when log) */
  gboolean log;          /* y is log10 of the value */
} Axes;

/* A spacing of 1, 2 or 5 times a power of ten that cuts range into about five steps. */
static double
nice_step (double range)
{
  double raw = range / 5, power = pow (10, floor (log10 (raw)));
  return raw / power > 5 ? 10 * power : raw / power > 2 ? 5 * power : raw / power > 1 ? 2 * power : power;
}

static double
px (const Axes *ax, double minutes)
{
  return ax->x0 + PANEL_W * minutes / ax->minutes;
}

static double
py (const Axes *ax, double value)
{
  if (ax->log)
    value = log10 (value);
  return ax->y0 + PLOT_H * (ax->hi - value) / (ax->hi - ax->lo);
}

static void
draw_axes (cairo_t *cr, const Axes *ax, const char *title, const char *x_label)
{
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_font_size (cr, 15);
  cairo_move_to (cr, ax->x0, ax->y0 - 14);
  cairo_show_text (cr, title);
  cairo_set_font_size (cr, 11);
  cairo_set_line_width (cr, 1);
  for (double grid = ax->lo; grid <= ax->hi + 1e-9 * ax->step; grid += ax->step)
    {
      double v = ax->log ? pow (10, grid) : grid;
      cairo_set_source_rgb (cr, 0.88, 0.88, 0.88);
      cairo_move_to (cr, ax->x0, py (ax, v));
      cairo_line_to (cr, ax->x0 + PANEL_W, py (ax, v));
      cairo_stroke (cr);
      g_autofree char *label = g_strdup_printf ("%g", v);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, label, &ext);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_move_to (cr, ax->x0 - 8 - ext.x_advance, py (ax, v) + 4);
      cairo_show_text (cr, label);
    }
  double step = nice_step (ax->minutes);
  for (double m = 0; m <= ax->minutes + 1e-9; m += step)
    {
      g_autofree char *label = g_strdup_printf ("%g", m);
      cairo_move_to (cr, px (ax, m) - 4, ax->y0 + PLOT_H + 16);
      cairo_show_text (cr, label);
    }
  cairo_move_to (cr, ax->x0 + PANEL_W / 2 - 60, ax->y0 + PLOT_H + 34);
  cairo_show_text (cr, x_label);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_rectangle (cr, ax->x0, ax->y0, PANEL_W, PLOT_H);
  cairo_stroke (cr);
}

static const char *const panel_titles[PANELS + 1] = {
  "Image AUROC, mean over classes (%)", "Pixel AUROC, mean over classes (%)", "Training loss",
  "Training loss (log scale)",
};

static const GArray *
panel_values (const CliStudySeries *s, int which)
{
  return which == 0 ? s->image : which == 1 ? s->pixel : s->loss;
}

/* One panel: which = 0 image AUROC, 1 pixel AUROC (with the references), 2 training loss. */
static void
draw_panel (cairo_t *cr, const Axes *ax, CliStudySeries **series, int n_series,
            const CliStudyReference *refs, int n_refs, int which, const char *x_label)
{
  draw_axes (cr, ax, panel_titles[which == 2 && ax->log ? PANELS : which], x_label);
  cairo_save (cr);
  cairo_rectangle (cr, ax->x0, ax->y0, PANEL_W, PLOT_H);
  cairo_clip (cr);
  for (int r = 0; r < n_refs && which < 2; r++)
    {
      double v = which == 0 ? refs[r].image_auroc : refs[r].pixel_auroc;
      if (isnan (v))
        continue;
      double dash[] = { 6, 4 };
      cairo_set_dash (cr, dash, 2, 0);
      cairo_set_source_rgb (cr, 0.25 + 0.3 * r, 0.25 + 0.3 * r, 0.25 + 0.3 * r);
      cairo_set_line_width (cr, 1.5);
      cairo_move_to (cr, ax->x0, py (ax, v));
      cairo_line_to (cr, ax->x0 + PANEL_W, py (ax, v));
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      /* Labels alternate above left and below right, so that close lines keep them apart. */
      g_autofree char *label = g_strdup_printf ("%s %.1f", refs[r].name, v);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, label, &ext);
      if (r % 2 == 0)
        cairo_move_to (cr, ax->x0 + 6, py (ax, v) - 4);
      else
        cairo_move_to (cr, ax->x0 + PANEL_W - 6 - ext.x_advance, py (ax, v) + 13);
      cairo_show_text (cr, label);
    }
  for (int s = 0; s < n_series; s++)
    {
      const double *c = palette[s % G_N_ELEMENTS (palette)];
      const GArray *ys = panel_values (series[s], which);
      cairo_set_source_rgb (cr, c[0], c[1], c[2]);
      cairo_set_line_width (cr, 2);
      gboolean started = FALSE;
      for (guint i = 0; i < ys->len; i++)
        {
          double y = g_array_index (ys, double, i);
          if (isnan (y) || (ax->log && !(y > 0)))
            continue;
          double x = g_array_index (series[s]->minutes, double, i);
          if (started)
            cairo_line_to (cr, px (ax, x), py (ax, y));
          else
            cairo_move_to (cr, px (ax, x), py (ax, y));
          started = TRUE;
        }
      cairo_stroke (cr);
      for (guint i = 0; i < ys->len; i++)
        {
          double y = g_array_index (ys, double, i);
          if (isnan (y) || (ax->log && !(y > 0)))
            continue;
          cairo_arc (cr, px (ax, g_array_index (series[s]->minutes, double, i)), py (ax, y), 3, 0, 2 * G_PI);
          cairo_fill (cr);
        }
    }
  cairo_restore (cr);
}

/* The loss panel's y axis: from 0 to above the largest loss, or decades when the networks'
 * losses lie more than a factor 20 apart (the shortcut study's MLP ends near 1e-3 while UniAD
 * stays above 1), so that every curve's fall can be read. */
static void
loss_axis (CliStudySeries **series, int n_series, Axes *ax)
{
  double max = 0, min = INFINITY;
  for (int s = 0; s < n_series; s++)
    for (guint i = 0; i < series[s]->loss->len; i++)
      {
        double v = g_array_index (series[s]->loss, double, i);
        if (isfinite (v) && v > 0)
          max = MAX (max, v), min = MIN (min, v);
      }
  ax->log = max > 20 * min;
  if (ax->log)
    {
      ax->lo = floor (log10 (min));
      ax->hi = ceil (log10 (max));
      ax->step = 1;
      return;
    }
  if (!(max > 0))
    max = 1;
  ax->lo = 0;
  ax->step = nice_step (max);
  ax->hi = ceil (max / ax->step) * ax->step;
}

/* The AUROC panels' y range: 5-point steps around every value shown. */
static void
value_range (CliStudySeries **series, int n_series, const CliStudyReference *refs, int n_refs,
             double *lo, double *hi)
{
  double min = INFINITY, max = -INFINITY;
  for (int s = 0; s < n_series; s++)
    for (guint i = 0; i < series[s]->image->len; i++)
      for (int w = 0; w < 2; w++)
        {
          double v = g_array_index (w ? series[s]->pixel : series[s]->image, double, i);
          if (!isnan (v))
            min = MIN (min, v), max = MAX (max, v);
        }
  for (int r = 0; r < n_refs; r++)
    for (int w = 0; w < 2; w++)
      {
        double v = w ? refs[r].pixel_auroc : refs[r].image_auroc;
        if (!isnan (v))
          min = MIN (min, v), max = MAX (max, v);
      }
  if (!isfinite (min))
    min = 50, max = 100;
  *lo = MAX (0, floor (min / 5) * 5);
  *hi = MIN (100, ceil (max / 5) * 5);
  if (*hi - *lo < 10)
    *hi = MIN (100, *lo + 10), *lo = *hi - 10;
}

static void
draw (cairo_t *cr, CliStudySeries **series, int n_series, const CliStudyReference *refs,
      int n_refs, double minutes, const char *x_label)
{
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  /* The x axis ends on a grid line at or past the last point. */
  double x_step = nice_step (minutes);
  Axes ax = { MARGIN_L, MARGIN_T, ceil (minutes / x_step - 1e-9) * x_step, 0, 100, 5, FALSE };
  value_range (series, n_series, refs, n_refs, &ax.lo, &ax.hi);
  for (int which = 0; which < PANELS; which++)
    {
      ax.x0 = MARGIN_L + which * (PANEL_W + MARGIN_L);
      if (which == 2)
        loss_axis (series, n_series, &ax);
      draw_panel (cr, &ax, series, n_series, refs, n_refs, which, x_label);
    }
  /* Legend under the panels. */
  cairo_set_font_size (cr, 13);
  double x = MARGIN_L, y = MARGIN_T + PLOT_H + 64;
  for (int s = 0; s < n_series; s++)
    {
      const double *c = palette[s % G_N_ELEMENTS (palette)];
      cairo_set_source_rgb (cr, c[0], c[1], c[2]);
      cairo_rectangle (cr, x, y - 10, 24, 4);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_move_to (cr, x + 30, y - 4);
      cairo_show_text (cr, series[s]->name);
      cairo_text_extents_t ext;
      cairo_text_extents (cr, series[s]->name, &ext);
      x += 50 + ext.x_advance;
    }
}

static gboolean
check_surface (cairo_surface_t *surface, const char *path, GError **error)
{
  cairo_status_t status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", path, cairo_status_to_string (status));
  return FALSE;
}

gboolean
cli_study_plot (const char *png_path, const char *svg_path, CliStudySeries **series,
                int n_series, const CliStudyReference *refs, int n_refs, double minutes,
                const char *x_label, GError **error)
{
  cairo_surface_t *png = cairo_image_surface_create (CAIRO_FORMAT_RGB24, WIDTH, HEIGHT);
  cairo_t *cr = cairo_create (png);
  draw (cr, series, n_series, refs, n_refs, minutes, x_label);
  cairo_destroy (cr);
  cairo_status_t status = cairo_surface_write_to_png (png, png_path);
  cairo_surface_destroy (png);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", png_path, cairo_status_to_string (status));
      return FALSE;
    }
  cairo_surface_t *svg = cairo_svg_surface_create (svg_path, WIDTH, HEIGHT);
  if (!check_surface (svg, svg_path, error))
    {
      cairo_surface_destroy (svg);
      return FALSE;
    }
  cr = cairo_create (svg);
  draw (cr, series, n_series, refs, n_refs, minutes, x_label);
  cairo_destroy (cr);
  cairo_surface_finish (svg);
  gboolean ok = check_surface (svg, svg_path, error);
  cairo_surface_destroy (svg);
  return ok;
}
