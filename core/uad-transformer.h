/* SPDX-License-Identifier: Apache-2.0 */
/* uad-transformer.h: UniAD's reconstruction transformer (spec section 4) with training support.
 *
 * Feature maps [B, C, H, W] in, reconstructed maps of the same shape out; inside, tokens are
 * (T, B, D) with token t = h*W + w. All parameters live in one contiguous float buffer (and
 * their gradients in a parallel one) described by a table of names, offsets and shapes; names
 * follow the original checkpoint (e.g. "transformer.encoder.layers.0.linear1.weight") and are
 * prefixed when loading or saving ("reconstruction." in UniAD's checkpoints).
 *
 * A model is shared read-only by forward passes; each caller owns a UadTransformerWorkspace
 * created once for a maximum batch size, which holds every intermediate buffer so that a
 * forward pass or a training step allocates nothing. */
#pragma once

#include "uad-layers.h"
#include "uad-safetensors.h"
#include "uad-tensor.h"

#include <glib.h>

typedef struct {
  int channels;          /* C: 272 (EfficientNet-b4), 168 (MobileNetV2) */
  int hidden;            /* D: 256 */
  int heads;             /* 8 */
  int ffn;               /* 1024 */
  int encoder_layers;    /* 4 */
  int decoder_layers;    /* 4 */
  int grid_h, grid_w;    /* 14 x 14 */
  int neighbour_h, neighbour_w; /* 7 x 7 (odd; 0 x 0 disables the mask) */
  gboolean layer_queries; /* TRUE: every decoder layer attends from its own learned query
                           * (UniAD); FALSE, the paper's ablation: only the first layer has a
                           * learned query, every later one attends from the previous layer's
                           * output (a plain transformer decoder) */
  float dropout;         /* 0.1, training only */
  float jitter_scale;    /* 20, training only */
  float jitter_prob;     /* 1.0: probability that a training batch is jittered */
  float layernorm_eps;   /* 1e-5 */
} UadTransformerConfig;

/* UniAD's MVTec-AD configuration for the given channel count. */
void uad_transformer_config_default (UadTransformerConfig *cfg, int channels);

typedef struct _UadTransformer UadTransformer;
typedef struct _UadTransformerWorkspace UadTransformerWorkspace;

/* How many parameters (floats) a model of this configuration has, without building it: a
 * loader compares it with what a file can hold before allocating anything. */
double uad_transformer_config_params (const UadTransformerConfig *cfg);

/* A model with every parameter zero (load or initialise it next). Fails on an inconsistent
 * configuration, e.g. a neighbour window that masks every key of some query. */
UadTransformer *uad_transformer_new (const UadTransformerConfig *cfg, GError **error);
void uad_transformer_free (UadTransformer *model);
const UadTransformerConfig *uad_transformer_get_config (const UadTransformer *model);

/* UniAD's initialisation: xavier-uniform for every linear weight (the packed [3D, D] attention
 * projection as one matrix, as torch.nn.MultiheadAttention does), zero biases, LayerNorm weight
 * 1 and bias 0; the positional row/column embeddings U[0, 1) (PositionEmbeddingLearned.
 * reset_parameters) and the decoder query embeddings N(0, 1) (nn.Embedding's default, which
 * UniAD's xavier initialiser leaves alone, as it only visits Linear/Conv layers). */
void uad_transformer_init (UadTransformer *model, UadRng *rng);

/* ---- Parameter table --------------------------------------------------------------------- */

typedef struct {
  const char *name; /* without prefix */
  size_t offset;    /* in floats, into the parameter (and gradient) buffer */
  int ndim;
  int64_t shape[2];
} UadParamInfo;

int uad_transformer_n_params (const UadTransformer *model);
const UadParamInfo *uad_transformer_param_info (const UadTransformer *model, int index);
/* The contiguous buffers: n floats each (includes alignment padding, which stays zero). */
float *uad_transformer_params (UadTransformer *model, size_t *n);
float *uad_transformer_grads (UadTransformer *model, size_t *n);
/* Number of real parameters (without padding): 7.72 M for C = 272. */
size_t uad_transformer_count_params (const UadTransformer *model);

/* Loads every parameter from the tensor prefix + name of st (F32, F16 or BF16; the shape
 * must match exactly). On failure the error names the file and tensor; the parameters may then
 * be partly loaded. */
gboolean uad_transformer_load (UadTransformer *model, UadSafetensors *st, const char *prefix,
                               GError **error);
/* Adds every parameter to w as prefix + name, in the original state-dict order. */
void uad_transformer_save (UadTransformer *model, UadSafetensorsWriter *w, const char *prefix);

/* ---- Running ----------------------------------------------------------------------------- */

/* Workspace for batches of up to max_batch; training workspaces also keep what the backward
 * pass needs. */
UadTransformerWorkspace *uad_transformer_workspace_new (UadTransformer *model, int max_batch,
                                                        gboolean training);
void uad_transformer_workspace_free (UadTransformerWorkspace *ws);

/* Optional observer of intermediate tensors, for tests and debugging: called during forward
 * passes with names "tokens_proj" (T,B,D), "pos_embed" (T,D), "mask" (T,T), "encN.self_attn",
 * "encN.norm1", "encN", "decN.self_attn", "decN.norm1", "decN.multihead_attn", "decN.norm2",
 * "decN", "dec_norm" (all (T,B,D)) and "feature_rec" (B,C,H,W). NULL turns it off. */
typedef void (*UadTraceFunc) (const char *name, const float *data, int ndim,
                              const int64_t *shape, gpointer user_data);
void uad_transformer_workspace_set_trace (UadTransformerWorkspace *ws, UadTraceFunc func,
                                          gpointer user_data);

/* Inference (no jitter, no dropout): features [batch, C, H, W] -> rec [batch, C, H, W]. */
void uad_transformer_forward (UadTransformer *model, UadTransformerWorkspace *ws,
                              const float *features, int batch, float *rec);

/* One training forward and backward pass: zeroes the gradients, jitters the tokens and applies
 * dropout as UniAD does in training (drawing from rng), reconstructs, and leaves in the
 * gradient buffer d loss / d parameters for loss = mean((rec - features)^2), which it returns.
 * ws must be a training workspace. */
double uad_transformer_train_step (UadTransformer *model, UadTransformerWorkspace *ws,
                                   const float *features, int batch, UadRng *rng);
