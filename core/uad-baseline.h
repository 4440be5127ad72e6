/* SPDX-License-Identifier: Apache-2.0 */
/* uad-baseline.h: the reconstruction baselines of the paper's identical-shortcut comparison.
 *
 * Like UniAD's transformer they reconstruct backbone feature maps [B, C, G, G] and are trained
 * with the mean squared error, but without its defences against copying the input:
 *   UAD_BASELINE_MLP: every position alone, Linear C -> H, ReLU, Linear H -> C;
 *   UAD_BASELINE_CNN: a convolutional autoencoder on the grid, 3x3 convolution C -> H (zero
 *     padding), ReLU, 3x3 convolution H -> C.
 * Parameters live in one float buffer and their gradients in another (for AdamW); the
 * initialisation is xavier-uniform for weights (fan in and out counting the 3x3 taps, as
 * torch does) and zero biases. A baseline owns its buffers for batches of up to max_batch, so
 * running allocates nothing; it serves one caller at a time. */
#pragma once

#include "uad-layers.h"

typedef enum {
  UAD_BASELINE_MLP,
  UAD_BASELINE_CNN,
} UadBaselineKind;

typedef struct UadBaseline UadBaseline;

/* "MLP", "CNN". */
const char *uad_baseline_kind_name (UadBaselineKind kind);

/* A baseline for channels C, hidden width H, a grid x grid map, batches up to max_batch, with
 * every parameter zero (initialise it next). */
UadBaseline *uad_baseline_new (UadBaselineKind kind, int channels, int hidden, int grid,
                               int max_batch);
void uad_baseline_free (UadBaseline *b);
void uad_baseline_init (UadBaseline *b, UadRng *rng);

/* The contiguous buffers, n floats each. */
float *uad_baseline_params (UadBaseline *b, size_t *n);
float *uad_baseline_grads (UadBaseline *b, size_t *n);

/* features [batch, C, G, G] -> rec of the same shape. */
void uad_baseline_forward (UadBaseline *b, const float *features, int batch, float *rec);

/* One forward and backward pass: leaves d loss / d parameters in the gradient buffer (zeroed
 * first) for loss = mean((rec - features)^2), which it returns. */
double uad_baseline_train_step (UadBaseline *b, const float *features, int batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadBaseline, uad_baseline_free)
