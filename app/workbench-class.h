/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-class.h: one class of the open model as the workbench shows it: its training score
 * statistics, its three thresholds (pass below, fail above, pixel), who set them and when, the
 * range the sliders span, and how many of the open images fall under each verdict.
 *
 * The thresholds are read-write properties so that sliders can bind to them; setting one keeps
 * pass-below <= fail-above by moving the other. The session listens to "notify" to relabel the
 * images and store the change. */
#pragma once

#include <glib-object.h>

#include "workbench-history.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_CLASS (workbench_class_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchClass, workbench_class, WORKBENCH, CLASS, GObject)

/* The image-score statistics of the class's training images. */
typedef struct {
  int n_train;
  double mean, std, max;
} WorkbenchClassStats;

WorkbenchClass *workbench_class_new (int index, const char *name, const WorkbenchClassStats *stats);

int workbench_class_get_index (WorkbenchClass *self);
const char *workbench_class_get_name (WorkbenchClass *self);
const WorkbenchClassStats *workbench_class_get_stats (WorkbenchClass *self);

double workbench_class_get_pass_below (WorkbenchClass *self);
double workbench_class_get_fail_above (WorkbenchClass *self);
double workbench_class_get_pixel (WorkbenchClass *self);
/* Sets all three at once (as loaded or stored), with who set them and when (0: unknown). */
void workbench_class_set_thresholds (WorkbenchClass *self, double pass_below, double fail_above,
                                     double pixel, const char *changed_by, gint64 changed_at);
void workbench_class_set_changed (WorkbenchClass *self, const char *changed_by, gint64 changed_at);
const char *workbench_class_get_changed_by (WorkbenchClass *self);
gint64 workbench_class_get_changed_at (WorkbenchClass *self);

/* Upper end of the sliders: grows to cover every score seen and twice the fail threshold. */
double workbench_class_get_scale_max (WorkbenchClass *self);
void workbench_class_cover_score (WorkbenchClass *self, double score);

/* The verdict of a score under the class's image thresholds. */
UadVerdict workbench_class_verdict (WorkbenchClass *self, double score);

/* Images of this class per model verdict (UAD_VERDICT_NONE: not inspected yet). */
int workbench_class_get_count (WorkbenchClass *self, UadVerdict verdict);
void workbench_class_set_counts (WorkbenchClass *self, const int counts[UAD_N_VERDICTS]);

G_END_DECLS
