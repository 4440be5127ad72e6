/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-threshold-studio.h: the threshold studio, a window for choosing one class's
 * thresholds from the inspected images of the current run.
 *
 * For the class chosen, the images inspected as that class are labelled by their ground truth
 * where the MVTec layout gives it (test/good: good; another defect folder: defective), else by
 * the operator's verdict (pass: good, fail: defective), else not at all (left out). From their
 * scores (uad-calibration.h) it draws the histogram, ROC and precision-recall curves with their
 * areas, and the pass and fail thresholds on them, redrawn as the two sliders move; it shows
 * the false-reject, escape and review rates and F1 of the thresholds and their normalised
 * values beside the raw ones, and suggests thresholds from a target false-reject rate (good
 * images alone suffice), a target escape rate, or the best F1. The sliders are the studio's
 * own until "Apply": that sets the class's thresholds as the sidebar's sliders do, so the
 * session records them in the history with the operator's name and the time. The data are
 * gathered again when the class changes and when an inspection ends. */
#pragma once

#include <adwaita.h>

#include "uad-calibration.h"
#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_THRESHOLD_STUDIO (workbench_threshold_studio_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchThresholdStudio, workbench_threshold_studio, WORKBENCH,
                      THRESHOLD_STUDIO, AdwWindow)

WorkbenchThresholdStudio *workbench_threshold_studio_new (GtkWindow *parent,
                                                          WorkbenchSession *session);

/* The calibration data of the class shown (never NULL while a class is shown). */
const UadCalibration *workbench_threshold_studio_get_calibration (WorkbenchThresholdStudio *self);

G_END_DECLS
