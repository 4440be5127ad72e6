/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-line-plot.h: line mode's running plot (Cairo): the scores of the last
 * WORKBENCH_LINE_PLOT_POINTS images, oldest on the left, each a dot coloured by its model
 * verdict, over the pass and fail thresholds that judged it (drawn as steps, so that a change
 * of thresholds shows where it happened) and bands tinted pass/review/fail between them. */
#pragma once

#include <gtk/gtk.h>

#include "uad-verdict.h"

G_BEGIN_DECLS

#define WORKBENCH_LINE_PLOT_POINTS 120

#define WORKBENCH_TYPE_LINE_PLOT (workbench_line_plot_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchLinePlot, workbench_line_plot, WORKBENCH, LINE_PLOT,
                      GtkDrawingArea)

GtkWidget *workbench_line_plot_new (void);
/* Adds an image's score with the thresholds that judged it and its verdict (the oldest point
 * goes when there are WORKBENCH_LINE_PLOT_POINTS). */
void workbench_line_plot_add (WorkbenchLinePlot *self, double score,
                              const UadVerdictThresholds *th, UadVerdict verdict);
void workbench_line_plot_clear (WorkbenchLinePlot *self);
guint workbench_line_plot_get_n_points (WorkbenchLinePlot *self);

G_END_DECLS
