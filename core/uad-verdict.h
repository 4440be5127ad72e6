/* SPDX-License-Identifier: Apache-2.0 */
/* uad-verdict.h: the one home of the rules that turn an image score into a verdict.
 *
 * A class has three thresholds: an image scoring below pass_below passes, above fail_above
 * fails, and in between (both ends included) goes to review; pixel marks the anomaly map's
 * defect regions. Their defaults come from the class's training scores (mean + 3 and
 * mean + 6 standard deviations; pixel = pass_below). An image whose class is unknown is judged
 * by the lowest thresholds of all classes, so that doubt leads to a closer look. Heatmaps use a
 * fixed scale per class: 0 is the bottom of the colour map and twice fail_above is its top.
 *
 * `uniad infer`, the workbench (worker, session, viewer), the history and the reports all
 * decide and draw through these functions, so that they agree on every image. */
#pragma once

#include <glib.h>

typedef enum {
  UAD_VERDICT_NONE,   /* no verdict (not inspected, or an operator who has not looked yet) */
  UAD_VERDICT_PASS,
  UAD_VERDICT_REVIEW,
  UAD_VERDICT_FAIL,
} UadVerdict;

#define UAD_N_VERDICTS 4

/* How many standard deviations of the training scores above their mean the default
 * thresholds lie. */
#define UAD_VERDICT_PASS_SIGMAS 3.0
#define UAD_VERDICT_FAIL_SIGMAS 6.0

typedef struct {
  double pass_below;  /* image score below this: pass */
  double fail_above;  /* image score above this: fail (between the two: review) */
  double pixel;       /* anomaly-map value above which a pixel is marked */
} UadVerdictThresholds;

/* "pass", "review", "fail"; NULL for UAD_VERDICT_NONE. */
const char *uad_verdict_to_string (UadVerdict verdict);
/* Parses "pass", "review" or "fail" (NULL -> NONE); anything else is UAD_ERROR_INVALID. */
gboolean uad_verdict_from_string (const char *text, UadVerdict *verdict, GError **error);

/* The model's verdict: score < pass_below -> PASS, score > fail_above -> FAIL, otherwise
 * (pass_below <= score <= fail_above) REVIEW. */
UadVerdict uad_verdict_from_score (double score, double pass_below, double fail_above);

/* The default thresholds of a class whose training images scored score_mean +- score_std. */
UadVerdictThresholds uad_verdict_default_thresholds (double score_mean, double score_std);

/* Thresholds that can decide verdicts: finite, with pass_below <= fail_above (else
 * UAD_ERROR_INVALID, naming class_name when given). */
gboolean uad_verdict_check_thresholds (const UadVerdictThresholds *th, const char *class_name,
                                       GError **error);

/* The thresholds for an image of class class_index among n_classes (>= 1) classes'
 * per_class; class_index < 0 (unknown) gives the lowest of every class, each threshold on its
 * own. */
UadVerdictThresholds uad_verdict_thresholds_for (const UadVerdictThresholds *per_class,
                                                 int n_classes, int class_index);

/* The map value drawn at the top of the colour map for a class with this fail threshold:
 * 2 * fail_above. 0 when that is not positive (a model whose scores are not positive): the
 * caller then scales each map to its own maximum. */
float uad_verdict_heatmap_max (double fail_above);
