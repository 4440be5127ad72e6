/* SPDX-License-Identifier: Apache-2.0 */
/* uad-padim.h: PaDiM's per-position Gaussians, the training-free baseline of
 * ../shared/reference/baselines.md.
 *
 * At every position of the feature grid (14 x 14 = 196), the mean mu and covariance Sigma of
 * the training images' C-dimensional feature vectors, with a ridge on the diagonal; an image's
 * distance at a position is the Mahalanobis distance sqrt((x - mu)^T (Sigma + ridge I)^-1
 * (x - mu)). Fitting runs in double precision (two-pass mean and covariance, Cholesky
 * factor L of Sigma + ridge I); what is kept is mu [P, C] in float32 and the lower-triangular
 * W = L^-1 [P, C, C] rounded to half precision (see uad_padim_save), so that the distance is
 * |W (x - mu)|: a sum of squares, which rounding can never make negative as it can a quadratic
 * form with Sigma^-1.
 * Distances of a batch run one triangular matrix product per position (OpenBLAS), the
 * positions spread over the core's thread pool. */
#pragma once

#include "uad-safetensors.h"
#include "uad-tensor.h"

/* The ridge added to every covariance (baselines.md). */
#define UAD_PADIM_RIDGE 0.01

typedef struct UadPadim UadPadim;

/* Gaussians of `channels`-dimensional features at `positions` positions, all zero (fit or
 * load them next). */
UadPadim *uad_padim_new (int channels, int positions);
void uad_padim_free (UadPadim *g);
int uad_padim_get_channels (const UadPadim *g);

/* Fits the Gaussians to the images images[0..n_images) of features [N, C, h, w] (h w =
 * positions). Fails (UAD_ERROR_INVALID) without images, or when a covariance is not positive
 * definite even with the ridge (only non-finite features do that). */
gboolean uad_padim_fit (UadPadim *g, const UadTensor *features, const int *images, int n_images,
                        double ridge, GError **error);

/* Floats of scratch that uad_padim_distance needs for a batch of n. */
size_t uad_padim_scratch_size (const UadPadim *g, int n);
/* dist [n, positions] = the distance of each image of features [n, C, positions] at each
 * position. scratch: uad_padim_scratch_size (g, n) floats. */
void uad_padim_distance (const UadPadim *g, const float *features, int n, float *scratch,
                         float *dist);

/* Tensors prefix + "mean" [P, C] (F32) and prefix + "cholesky_inverse_packed" [P, C (C + 1) / 2]
 * (F16): W's lower triangle row by row, a quarter of the full matrix in float32 (22 MB a set
 * for MobileNetV2's 168 channels, 5.6 MB packed). Fitting already rounds W to half precision. */
void uad_padim_save (const UadPadim *g, UadSafetensorsWriter *w, const char *prefix);
/* Parameters (F16 or wider) the saved tensors hold, for checking a file's claims. */
int64_t uad_padim_stored_params (int channels, int positions);
/* Reads what uad_padim_save writes, or the full prefix + "cholesky_inverse" [P, C, C] of files
 * written before format 4. Fails, naming the file and tensor, when a tensor is missing, of
 * another shape, not finite, or not the inverse of a Cholesky factor (a positive diagonal,
 * zeros above it). */
gboolean uad_padim_load (UadPadim *g, UadSafetensors *st, const char *prefix, GError **error);
