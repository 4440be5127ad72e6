/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-loss-plot.h: a training run's loss curves, drawn with Cairo as points arrive: the
 * loss (log scale) against the run's time, one curve per series (the transformer, then the
 * image decoder), over an x axis that spans the time budget, so the curve's length shows how
 * much of the budget is spent. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  WORKBENCH_LOSS_TRANSFORMER,
  WORKBENCH_LOSS_DECODER,
  WORKBENCH_LOSS_N_SERIES,
} WorkbenchLossSeries;

#define WORKBENCH_TYPE_LOSS_PLOT (workbench_loss_plot_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchLossPlot, workbench_loss_plot, WORKBENCH, LOSS_PLOT,
                      GtkDrawingArea)

GtkWidget *workbench_loss_plot_new (void);
/* Forgets every point; the x axis spans seconds (at least: it grows with late points). */
void workbench_loss_plot_reset (WorkbenchLossPlot *self, double seconds);
/* A point of a series at `seconds` into the run; losses <= 0 or NaN are left out. */
void workbench_loss_plot_add (WorkbenchLossPlot *self, WorkbenchLossSeries series,
                              double seconds, double loss);
/* Points in a series so far. */
guint workbench_loss_plot_get_n_points (WorkbenchLossPlot *self, WorkbenchLossSeries series);

G_END_DECLS
