/* SPDX-License-Identifier: Apache-2.0 */
/* uad-anomaly-map.h: UniAD's anomaly map and image scores (uniad-spec.md section 5).
 *
 * The map is the per-position L2 distance between the features and their reconstruction,
 * upsampled to the input resolution with bilinear interpolation (align_corners = true, no blur).
 * Sums are accumulated in double. Shapes are checked with g_return_if_fail (programming errors,
 * as in uad-ops.h). */
#pragma once

#include "uad-tensor.h"

/* Side of the full-resolution map, and of the average-pool window of the "max" score. */
#define UAD_ANOMALY_MAP_SIZE 224
#define UAD_SCORE_WINDOW 16

typedef enum {
  UAD_SCORE_MAX,  /* maximum of the 16x16 stride-1 unpadded average pool of the map (MVTec) */
  UAD_SCORE_MEAN, /* mean of the map (semantic / CIFAR-10 protocol) */
  UAD_SCORE_STD,  /* population standard deviation of the map */
} UadScoreKind;

/* map_small[B,1,h,w] = sqrt(sum_c (rec - feat)^2) for feat and rec [B,C,h,w]; then map
 * [B,1,H,W] (normally 224 x 224) = map_small upsampled (uad_anomaly_map_upsample). */
void uad_anomaly_map_compute (const UadTensor *feat, const UadTensor *rec, UadTensor *map_small,
                              UadTensor *map);

/* map [B,1,H,W] = map_small [B,1,h,w] resized with bilinear interpolation, align_corners =
 * true, no blur: how every method's feature-grid map becomes a full-resolution one. */
void uad_anomaly_map_upsample (const UadTensor *map_small, UadTensor *map);

/* The score of one h x w map (h, w >= UAD_SCORE_WINDOW for UAD_SCORE_MAX). */
double uad_anomaly_score (const float *map, int h, int w, UadScoreKind kind);

/* The 16x16 stride-1 unpadded average pool of an h x w map into out
 * [(h - 15) x (w - 15)], whose maximum is the "max" score. O(h w) with running sums. */
void uad_anomaly_map_avg_pool (const float *map, int h, int w, float *out);

/* "max", "mean", "std". */
const char *uad_score_kind_name (UadScoreKind kind);
/* Parses a name above; UAD_ERROR_INVALID listing the valid names otherwise. */
gboolean uad_score_kind_parse (const char *name, UadScoreKind *kind, GError **error);
