/* SPDX-License-Identifier: Apache-2.0 */
/* uad-layers.h: transformer building blocks with forward and backward passes.
 *
 * Activations are row-major matrices [rows, features]; a token tensor (T, B, D) is the matrix
 * [T*B, D] (row t*B + b). Weights follow PyTorch's layouts (Linear weight [out, in]).
 * Every matrix product goes through uad_sgemm and elementwise loops run on the core's pool.
 *
 * Backward contract: gradients are *added* to the gradient buffers passed in (parameter and
 * input gradients alike), so an input used twice (q and k of a self-attention, a residual
 * branch) simply receives both contributions; callers zero what must start at zero. Nothing
 * here allocates: buffers and scratch come from the caller, sized by the functions below.
 *
 * Randomness (dropout, feature jitter, initialisation) comes from UadRng, a counter-based
 * generator: value i of a draw depends only on (seed, counter + i), so draws fill in parallel
 * yet are identical for any thread count, and the whole state is two integers that can be saved
 * and restored to resume training bit for bit. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

/* ---- Random numbers ---------------------------------------------------------------------- */

/* SplitMix64 evaluated at an index: the n-th output of the stream is
 * mix64(seed + (counter + n + 1) * golden_gamma). Every draw of n values advances counter by n. */
typedef struct {
  guint64 seed;
  guint64 counter;
} UadRng;

void uad_rng_init (UadRng *rng, guint64 seed);
/* One 64-bit value. */
guint64 uad_rng_next (UadRng *rng);
/* n floats uniform in [lo, hi) (24-bit resolution). */
void uad_rng_uniform (UadRng *rng, float *out, int64_t n, float lo, float hi);
/* n standard normal floats (Box-Muller on the two 32-bit halves of one draw). */
void uad_rng_normal (UadRng *rng, float *out, int64_t n);

/* ---- Linear: y[n, out] = x[n, in] w[out, in]^T + b[out] (forward: uad_linear, uad-ops.h) -- */

/* dx += dy w (skipped when dx is NULL); dw += dy^T x; db += column sums of dy (db may be NULL). */
void uad_linear_backward (const float *x, const float *dy, int n, int in, const float *w, int out,
                          float *dx, float *dw, float *db);

/* ---- Layer normalisation over the last dimension ------------------------------------------ */

typedef struct {
  float *weight; /* [d] */
  float *bias;   /* [d] */
} UadLayerNormParams;

/* y = (x - mean) / sqrt(var + eps) * weight + bias, statistics in double per row. y may equal x.
 * mean and rstd ([n] each) receive the row statistics for the backward pass, or may be NULL. */
void uad_layernorm_forward (const UadLayerNormParams *p, const float *x, int n, int d, float eps,
                            float *y, float *mean, float *rstd);
/* x is the forward input, mean/rstd what the forward stored. dx += ...; grad->weight/bias += ...
 * (grad may be NULL when only dx is wanted). */
void uad_layernorm_backward (const UadLayerNormParams *p, const UadLayerNormParams *grad,
                             const float *x, const float *mean, const float *rstd,
                             const float *dy, int n, int d, float *dx);

/* ---- Dropout ------------------------------------------------------------------------------ */

/* In place: each element is kept with probability 1 - p and scaled by 1/(1-p), else zeroed
 * (torch.nn.Dropout in training); keep[i] records the decision. Decisions come four to a draw
 * (16 bits each, so p is resolved to 1/65536): n elements advance the counter by n/4 rounded
 * up. p = 0 leaves x alone, sets keep to all ones and draws nothing. */
void uad_dropout_forward (UadRng *rng, float p, float *x, guint8 *keep, int64_t n);
/* dx[i] = keep[i] ? dx[i] / (1-p) : 0, in place. */
void uad_dropout_backward (float p, const guint8 *keep, float *dx, int64_t n);

/* ---- Feed-forward: y = linear2(dropout(relu(linear1(x)))) ---------------------------------- */

typedef struct {
  float *w1, *b1; /* [f, d], [f] */
  float *w2, *b2; /* [d, f], [d] */
} UadFfnParams;

/* x [n, d] -> y [n, d]; hidden [n, f] keeps the activation after ReLU and dropout for the
 * backward pass. rng may be NULL when dropout is 0. */
void uad_ffn_forward (const UadFfnParams *p, const float *x, int n, int d, int f, float dropout,
                      UadRng *rng, float *hidden, float *y);
/* dhidden [n, f] is scratch. dx += ...; grad += ... */
void uad_ffn_backward (const UadFfnParams *p, const UadFfnParams *grad, const float *x,
                       const float *hidden, int n, int d, int f, float dropout, const float *dy,
                       float *dhidden, float *dx);

/* ---- Multi-head attention (torch.nn.MultiheadAttention, sequence-first) -------------------- */

typedef struct {
  float *in_w, *in_b;   /* packed q/k/v projection [3d, d], [3d] */
  float *out_w, *out_b; /* [d, d], [d] */
} UadMhaParams;

/* What a state is for: inference keeps no attention probabilities (each head's live only
 * while it is computed), training keeps them for the backward pass, with or without the
 * attention-dropout decisions. */
typedef enum {
  UAD_MHA_INFERENCE,
  UAD_MHA_TRAINING,
  UAD_MHA_TRAINING_DROPOUT,
} UadMhaUse;

/* What one attention call keeps for its backward pass (or reuses across calls in inference).
 * Sized for at most `batch` sequences of tq queries and tk keys. */
typedef struct {
  int tq, tk, batch, dim, heads;
  float *q, *k, *v; /* projections [tq*B, d], [tk*B, d], [tk*B, d] */
  float *ctx;       /* concatenated head outputs [tq*B, d] */
  float *probs;     /* softmax output [B*heads, tq, tk], before attention dropout; training */
  guint8 *keep;     /* attention-dropout decisions like probs, or NULL without dropout */
} UadMhaState;

UadMhaState *uad_mha_state_new (int tq, int tk, int batch, int dim, int heads, UadMhaUse use);
void uad_mha_state_free (UadMhaState *st);
/* Floats of scratch uad_mha_forward/backward need for this state (0 for inference). */
size_t uad_mha_scratch_floats (const UadMhaState *st);

/* out [tq*B, d] = MHA(query = q_in [tq*B, d], key = k_in [tk*B, d], value = v_in [tk*B, d]).
 * mask [tq, tk] is added to the scaled scores (0 or -inf; NULL for none); a row must keep at
 * least one finite entry. dropout > 0 (needs rng and a state with keep) drops attention
 * probabilities as torch does in training. batch <= st->batch. scratch may be NULL when
 * uad_mha_scratch_floats is 0. */
void uad_mha_forward (const UadMhaParams *p, UadMhaState *st, int batch, const float *q_in,
                      const float *k_in, const float *v_in, const float *mask, float dropout,
                      UadRng *rng, float *scratch, float *out);
/* Given dout, adds the input gradients to dq_in, dk_in, dv_in (each may be NULL or alias
 * another) and the parameter gradients to grad. st (a training state) holds what
 * uad_mha_forward stored. */
void uad_mha_backward (const UadMhaParams *p, const UadMhaParams *grad, UadMhaState *st,
                       int batch, const float *q_in, const float *k_in, const float *v_in,
                       float dropout, const float *dout, float *scratch, float *dq_in,
                       float *dk_in, float *dv_in);

/* ---- Mean squared error ------------------------------------------------------------------ */

/* mean((pred - target)^2) over n floats, accumulated in double; grad (may be NULL) receives
 * d loss / d pred = 2 (pred - target) / n. */
double uad_mse_loss (const float *pred, const float *target, int64_t n, float *grad);

/* ---- Small helpers shared by the model ---------------------------------------------------- */

/* y[t*B + b, :] = x[t*B + b, :] + pos[t, :] for t < tokens, b < batch (y may equal x; x NULL
 * means zero, i.e. broadcast pos over the batch). */
void uad_add_broadcast (const float *x, const float *pos, int tokens, int batch, int d, float *y);
/* dpos[t, :] += sum over b of dy[t*B + b, :]. */
void uad_reduce_broadcast (const float *dy, int tokens, int batch, int d, float *dpos);
