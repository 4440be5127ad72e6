/* SPDX-License-Identifier: Apache-2.0 */
/* uad-calibration.h: choosing a class's thresholds from the image scores of labelled images.
 *
 * The input is one class's image scores, each labelled good, defective or unknown (unknown
 * images, and NaN scores, are left out). The verdict rules are those of uad-verdict.h: an
 * image fails when its score is above fail_above, passes when below pass_below. So:
 *
 * - the false-reject rate (FRR) is the fraction of good images that fail (score > fail_above);
 * - the escape rate is the fraction of defective images that pass (score < pass_below);
 * - F1 is that of the fail decision (defective = positive): 2 tp / (tp + fp + defective).
 *
 * Suggestions are scores of the input images, so that they are exact on it:
 * - for a target FRR r (0..1), with n good images, fail_above is the (k+1)-th highest good
 *   score, k = floor(r n): exactly k good images score above it (fewer when scores tie), so
 *   the FRR never exceeds the target and is within one image of it. Needs good images only.
 * - for a target escape rate e, with m defective images, pass_below is the (k+1)-th lowest
 *   defective score, k = floor(e m): at most k defective images score below it.
 * - F1-optimal: the fail_above, among the scores of the labelled images, with the highest F1
 *   (the highest such score on ties). Needs both kinds.
 * The two levels come from two targets: FRR (or F1) sets fail_above, escape sets pass_below;
 * uad_calibration_combine keeps pass_below <= fail_above by lowering pass_below, which only
 * lets fewer defects escape, so both targets still hold.
 *
 * Normalised scores: per class, score / (2 fail_above) clamped to 0..1, so that the fail
 * threshold is 0.5, 0 is a score of 0, and 1 is twice the fail threshold: the scale of the
 * heatmaps (uad_verdict_heatmap_max). */
#pragma once

#include <glib.h>

#include "uad-metrics.h"
#include "uad-verdict.h"

typedef enum {
  UAD_LABEL_GOOD,
  UAD_LABEL_DEFECTIVE,
  UAD_LABEL_UNKNOWN,
} UadLabel;

/* One point of the curves, at a threshold t where an image counts as positive (defective)
 * when its score >= t: false and true positive rates (ROC; NaN without good, respectively
 * defective, images), precision and recall (= tpr). */
typedef struct {
  double threshold;
  double fpr, tpr, precision;
} UadCurvePoint;

typedef struct {
  int n_good, n_defective;
  double *good, *defective;  /* their scores, ascending */
  UadRankMetrics metrics;    /* AUROC, AP (the PR curve's area) and F1-max; NaN as there */
  /* One point per distinct score, from the highest down (so something is always positive and
   * precision is defined). The ROC curve starts at (0, 0) before the first point. */
  int n_points;
  UadCurvePoint *points;
} UadCalibration;

/* The calibration data of n images (scores[n], labels[n] as UadLabel). */
UadCalibration *uad_calibration_new (const double *scores, const guint8 *labels, int n);
void uad_calibration_free (UadCalibration *cal);

/* Suggested thresholds (see above). UAD_ERROR_INVALID when the target is not in 0..1 or the
 * images needed are missing. */
gboolean uad_calibration_for_frr (const UadCalibration *cal, double target, double *fail_above,
                                  GError **error);
gboolean uad_calibration_for_escape (const UadCalibration *cal, double target,
                                     double *pass_below, GError **error);
gboolean uad_calibration_for_f1 (const UadCalibration *cal, double *fail_above, GError **error);

/* What thresholds do to the labelled images: FRR, escape rate and F1 as defined above (NaN
 * when the images they need are missing), and the fraction of all labelled images that go
 * to review. */
typedef struct {
  double frr, escape, f1, review;
} UadCalibrationRates;

void uad_calibration_rates (const UadCalibration *cal, double pass_below, double fail_above,
                            UadCalibrationRates *out);

/* current with fail_above and pass_below replaced where they are not NaN, then pass_below
 * lowered to fail_above if above it; pixel is kept. */
UadVerdictThresholds uad_calibration_combine (const UadVerdictThresholds *current,
                                              double pass_below, double fail_above);

/* The normalised score (see above); NaN when fail_above is not positive or score is NaN. */
double uad_calibration_normalize (double score, double fail_above);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadCalibration, uad_calibration_free)
