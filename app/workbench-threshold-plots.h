/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-threshold-plots.h: the threshold studio's three plots of one class's calibration
 * data (uad-calibration.h), drawn with Cairo into a width x height area: a histogram of the
 * good and defective images' scores, the ROC curve and the precision-recall curve. Each shows
 * the pass and fail thresholds: vertical lines on the histogram, and on the curves the points
 * where images stop passing (pass_below) and start failing (fail_above). Colours follow the
 * verdicts (pass green, review amber, fail red); text uses the widget's foreground colour. */
#pragma once

#include <cairo.h>
#include <gdk/gdk.h>

#include "uad-calibration.h"

/* What every workbench plot shares (also workbench-loss-plot.c). */
typedef struct {
  double x, y, w, h;
} WorkbenchPlotFrame; /* the plotting area inside the margins */
/* Title, frame and the axis range labels; returns the plotting area. */
WorkbenchPlotFrame workbench_plot_frame (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                                         const char *title, const char *x_label,
                                         const char *x_lo, const char *x_hi, const char *y_lo,
                                         const char *y_hi);
/* Text whose anchor is at x: its left (align 0), middle (0.5) or right end (1). */
void workbench_plot_text (cairo_t *cr, double x, double y, double align, const char *text);
void workbench_plot_set_colour (cairo_t *cr, const GdkRGBA *c, double alpha);

void workbench_plot_histogram (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                               const UadCalibration *cal, double pass_below, double fail_above);
void workbench_plot_roc (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                         const UadCalibration *cal, double pass_below, double fail_above);
void workbench_plot_pr (cairo_t *cr, int width, int height, const GdkRGBA *fg,
                        const UadCalibration *cal, double pass_below, double fail_above);
