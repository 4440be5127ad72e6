/* SPDX-License-Identifier: Apache-2.0 */
/* uad-metrics.h: detection and segmentation metrics of anomaly detection.
 *
 * All metrics are exact: scores are sorted (an in-place radix sort on order-preserving integer
 * keys of the floats, O(n)) and the curves are walked over every distinct score, so ties are
 * handled like the reference implementations, and no threshold grid is involved. Labels and
 * mask pixels are 0 for normal and anything else for anomalous. A metric that is undefined for
 * its input (one class missing, an empty input, a NaN score) is NaN; callers show it as "-".
 * Nothing is ever flipped: an AUROC below 0.5 is reported as measured. */
#pragma once

#include <glib.h>
#include <stddef.h>

typedef struct {
  /* Area under the ROC curve: the trapezoid over distinct thresholds, which equals the
   * Mann-Whitney statistic P(s_pos > s_neg) + P(s_pos = s_neg) / 2. NaN without positives or
   * without negatives. */
  double auroc;
  /* Average precision as sklearn's average_precision_score: sum over distinct thresholds,
   * from the highest down, of (R_n - R_{n-1}) P_n. NaN without positives (1 without
   * negatives). */
  double average_precision;
  /* Maximum over distinct thresholds of F1 = 2 P R / (P + R) = 2 tp / (tp + fp + positives),
   * as anomalib's F1Max. NaN without positives. */
  double f1_max;
  /* The score at which F1 is f1_max (positive: score >= it; the highest on ties). NaN
   * without positives. */
  double f1_threshold;
} UadRankMetrics;

/* AUROC, average precision and F1-max of n scores with binary labels, from one sort. Image
 * metrics take one score per image; pixel metrics take every pixel of every test image
 * (maps and masks laid end to end). Temporary memory: 4 bytes per score. n < 2^32. */
void uad_rank_metrics (const float *scores, const guint8 *labels, size_t n, UadRankMetrics *out);

/* Default upper false positive rate of the AUPRO integral (as the MVTec AD benchmark). */
#define UAD_AUPRO_FPR_LIMIT 0.3

/* Area under the per-region-overlap curve up to fpr_limit (0 < fpr_limit <= 1), normalised by
 * fpr_limit, as MVTec AD's reference evaluation (pro_curve_util.py) computes it, exactly:
 * regions are the 8-connected components (as scipy.ndimage.label with a 3x3 structure, or
 * cv2.connectedComponents) of each image's mask; at every distinct threshold t (from the
 * highest down), PRO(t) = mean over all regions of all images of the fraction of the region's
 * pixels scoring >= t, and FPR(t) = fraction of the normal pixels of all images scoring >= t.
 * PRO is integrated over FPR with the trapezoid rule from (0, 0), interpolating linearly at
 * fpr_limit. maps and masks are n_images x h x w. NaN without regions or without normal
 * pixels. Temporary memory: about 4 bytes per normal pixel and 8 per anomalous pixel. */
double uad_aupro (const float *maps, const guint8 *masks, int n_images, int h, int w,
                  double fpr_limit);

/* ---- Reconstruction pictures (the image decoder's, uad_detector_decode) ---- */

/* Peak signal-to-noise ratio 10 log10 (255^2 / MSE) of two 8-bit pictures of n bytes each (the
 * same layout); +inf when they are equal. */
double uad_psnr (const guint8 *a, const guint8 *b, size_t n);

/* How a reconstruction differs from its reference inside a defect mask compared with outside
 * it: sums over the pixels of |reconstruction - reference| (the mean over the channels), and of
 * the anomaly map for comparison, with the pixel counts. Start from all zeros. */
typedef struct {
  double inside, outside;
  double map_inside, map_outside;
  gint64 n_inside, n_outside;
} UadMaskContrast;

/* Adds one image: reference and reconstruction [3, hw] (planar floats), map and mask [hw]
 * (mask non-zero inside a defect). */
void uad_mask_contrast_add (UadMaskContrast *c, const float *reference,
                            const float *reconstruction, const float *map, const guint8 *mask,
                            size_t hw);
