/* SPDX-License-Identifier: Apache-2.0 */
/* uad-feature-scorer.h: a model's path from backbone features to anomaly maps and image
 * scores, without the backbone (so cached features can be scored too).
 *
 * Features [n, C, 14, 14] are standardised as the model says (uad_model_standardize_features),
 * then a UniAD model reconstructs them (its transformer for each image's class when separate)
 * and the map is their distance (the L2 norm of the residual, or its Mahalanobis distance
 * under the model's residual Gaussians: those of the image's class when class_index gives
 * it, else those fitted on every class); a PaDiM model's map is the Mahalanobis distance to its
 * Gaussians. Either map is upsampled to UAD_ANOMALY_MAP_SIZE^2 and scored with the model's
 * score kind. The scorer borrows the model and owns the workspaces for batches of up to
 * max_batch images (transformer workspaces made on first use), so running allocates nothing
 * per image. It keeps nothing derived from the model's weights between runs: a model in
 * training can be scored between steps. One scorer serves one caller at a time. */
#pragma once

#include "uad-model.h"

typedef struct UadFeatureScorer UadFeatureScorer;

UadFeatureScorer *uad_feature_scorer_new (UadModel *model, int max_batch);
void uad_feature_scorer_free (UadFeatureScorer *scorer);

/* Scores features [n <= max_batch, C, 14, 14] (left as they are) into scores[n]. class_index[n]
 * picks each image's transformer or Gaussians in separate mode, and its residual Gaussians
 * when the model has them per class (may be NULL when unified; -1 for an unknown class).
 * Optional outputs (NULL when not wanted): maps [n, 224, 224]; model_features [n, C, 14, 14],
 * the features as the model sees them (standardised); recs [n, C, 14, 14], their
 * reconstruction, which only UniAD models have (recs must be NULL for PaDiM). */
void uad_feature_scorer_run (UadFeatureScorer *scorer, const float *features, int n,
                             const int *class_index, double *scores, float *maps,
                             float *model_features, float *recs);

/* Scores residuals [n <= max_batch, C, 14, 14] (standardised features minus their
 * reconstruction, as a UniAD model with residual Gaussians measures them) into scores[n]: the
 * second half of uad_feature_scorer_run, for a caller that has the residuals already. */
void uad_feature_scorer_run_residuals (UadFeatureScorer *scorer, const float *residuals, int n,
                                       const int *class_index, double *scores);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadFeatureScorer, uad_feature_scorer_free)
