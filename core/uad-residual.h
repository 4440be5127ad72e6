/* SPDX-License-Identifier: Apache-2.0 */
/* uad-residual.h: fitting Gaussians to UniAD's reconstruction residuals.
 *
 * The paper's map is the L2 norm of the residual r = features - reconstruction at each
 * position: every channel counts alike, although on good images some channels are always
 * reconstructed less well than others, and differently at the border than in the middle.
 * Fitting, at each position, the mean and covariance of the training images' residuals
 * (uad-padim.h, same ridge) and measuring a residual by its Mahalanobis distance to them
 * scores what the transformer fails to reconstruct *beyond* its usual error. The transformer,
 * and so what UniAD learns, is unchanged; only the distance is. */
#pragma once

#include "uad-model.h"

typedef enum {
  UAD_RESIDUAL_L2,             /* the paper's L2 norm: no Gaussians */
  UAD_RESIDUAL_GAUSSIAN,       /* Gaussians fitted on every class's residuals together */
  UAD_RESIDUAL_CLASS_GAUSSIAN, /* those, and one set per class, used when the class is known */
} UadResidualDistance;

/* Reconstructs features [n, C, 14, 14] (raw, as the model's scorer takes them; class_of[n])
 * with the model's transformers and fits the residual Gaussians `distance` asks for into the
 * model (UAD_RESIDUAL_L2 removes any). Fails (UAD_ERROR_INVALID) when a class has no images
 * or a covariance cannot be factored (see uad_padim_fit); the model is then unchanged. */
gboolean uad_residual_fit (UadModel *model, const UadTensor *features, const int *class_of,
                           UadResidualDistance distance, GError **error);
/* The same, and when scores is not NULL (and the distance is not L2) each image's score under
 * the fitted distance into scores[n], from the residuals the fit measured: a model's class
 * statistics without reconstructing its training images a second time. */
gboolean uad_residual_fit_scored (UadModel *model, const UadTensor *features, const int *class_of,
                                  UadResidualDistance distance, double *scores, GError **error);

/* The distance a model uses. */
UadResidualDistance uad_residual_distance_of (const UadModel *model);

/* "l2", "mahalanobis", "class-mahalanobis"; and back (UAD_ERROR_INVALID naming the names). */
const char *uad_residual_distance_name (UadResidualDistance distance);
gboolean uad_residual_distance_parse (const char *name, UadResidualDistance *distance,
                                      GError **error);
