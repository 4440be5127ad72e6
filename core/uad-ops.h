/* SPDX-License-Identifier: Apache-2.0 */
/* uad-ops.h: the numerical operators of the CNN backbones and the neck.
 *
 * All tensors are contiguous float32 NCHW (see uad-tensor.h); outputs are allocated by the
 * caller with the right shape and are fully overwritten. Operators run on the core's thread
 * pool (uad-parallel.h); they do not allocate except where a scratch size function says so.
 * Shapes are checked with g_return_if_fail: a wrong shape is a programming error here, the
 * loaders (safetensors, backbones) are where user input is validated. */
#pragma once

#include "uad-tensor.h"

typedef enum {
  UAD_ACT_NONE,
  UAD_ACT_RELU,
  UAD_ACT_RELU6,
  UAD_ACT_SWISH,   /* x * sigmoid(x) */
  UAD_ACT_SIGMOID,
} UadActivation;

/* Kernel size, stride and explicit per-side zero padding of a 2-D convolution. */
typedef struct {
  int kh, kw;
  int stride;
  int pad_top, pad_bottom, pad_left, pad_right;
} UadConvGeom;

/* Output height/width for an input of h x w. */
int uad_conv_out_h (const UadConvGeom *g, int h);
int uad_conv_out_w (const UadConvGeom *g, int w);

/* TensorFlow "SAME" padding for one axis: total = max((ceil(in/s)-1)*s + k - in, 0), the
 * smaller half before. */
void uad_same_padding (int in, int k, int stride, int *pad_before, int *pad_after);

/* Floats of scratch uad_conv2d needs for this input (0 for 1x1 stride-1 unpadded: one GEMM). */
size_t uad_conv2d_scratch_floats (const UadConvGeom *g, int cin, int h, int w);

/* out[N,Cout,Ho,Wo] = act(conv(in[N,Cin,H,W], weight[Cout,Cin,kh,kw]) + bias[Cout]).
 * bias may be NULL. 1x1 stride-1 is a single GEMM; otherwise im2col into scratch + GEMM. */
void uad_conv2d (const UadTensor *in, const UadTensor *weight, const float *bias,
                 const UadConvGeom *g, UadActivation act, UadTensor *out, float *scratch);

/* Depthwise: out[N,C,Ho,Wo] = act(dwconv(in[N,C,H,W], weight[C,1,kh,kw]) + bias[C]).
 * Kernels up to 32x32, strides 1 to 4. */
void uad_depthwise_conv2d (const UadTensor *in, const UadTensor *weight, const float *bias,
                           const UadConvGeom *g, UadActivation act, UadTensor *out);

/* The same, also writing each output plane's mean to means[N*C] while the plane is still in
 * cache: the squeeze of a following squeeze-excite (uad_se_gates) without another pass. */
void uad_depthwise_conv2d_mean (const UadTensor *in, const UadTensor *weight, const float *bias,
                                const UadConvGeom *g, UadActivation act, UadTensor *out,
                                float *means);

/* Floats of scratch uad_conv2d_pointwise_gated needs: the per-image scaled weights. */
size_t uad_conv2d_pointwise_gated_scratch_floats (const UadTensor *weight);

/* 1x1 stride-1 convolution of a channel-scaled input, plus a residual:
 * out[n] = act(weight (gate[n,:] * in[n]) + bias) + residual[n], computed as
 * (weight * gate[n,:]) in[n] with the residual added as each result is written. Folds a
 * squeeze-excite multiply and a skip connection into the projection of an inverted-residual
 * block, so neither the expanded tensor nor the output takes another pass. gate, bias and
 * residual (shaped as out) may be NULL; scratch may be NULL when gate is. in is unchanged. */
void uad_conv2d_pointwise_gated (const UadTensor *in, const UadTensor *weight, const float *gate,
                                 const float *bias, UadActivation act, const UadTensor *residual,
                                 UadTensor *out, float *scratch);

/* Fold inference batch-norm into the preceding convolution, in place:
 * w[o,...] *= gamma[o]/sqrt(var[o]+eps); bias[o] = beta[o] + (bias[o] - mean[o]) * that factor.
 * bias holds the convolution's own bias on entry (zeros if it had none). */
void uad_fold_batchnorm (float *weight, int64_t out_channels, int64_t per_channel, float *bias,
                         const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps);

/* Elementwise, in place, over n floats. */
void uad_activate (float *x, int64_t n, UadActivation act);
/* y[i] += x[i] */
void uad_add_inplace (float *y, const float *x, int64_t n);

/* out[N,C] = mean over H,W of in[N,C,H,W]. */
void uad_global_avg_pool (const UadTensor *in, UadTensor *out);

/* The gates of squeeze-excite, g = sigmoid(w_expand swish(w_reduce s + b_reduce) + b_expand),
 * from the channel means s[n, C] of n images (uad_depthwise_conv2d_mean): w_reduce [R,C],
 * w_expand [C,R], trailing 1x1 dimensions allowed. gates may equal means. The multiply by the
 * gates is folded into the next projection (uad_conv2d_pointwise_gated). */
void uad_se_gates (const float *means, int64_t n, const UadTensor *w_reduce,
                   const float *b_reduce, const UadTensor *w_expand, const float *b_expand,
                   float *gates);

/* Bilinear resize with align_corners = true (source coordinate i*(in-1)/(out-1), no
 * antialiasing) of in[N,C,H,W] to out[N,C,Ho,Wo]. */
void uad_resize_bilinear_align_corners (const UadTensor *in, UadTensor *out);

/* Concatenate n tensors [N,Ci,H,W] along channels into out[N,sum Ci,H,W]. */
void uad_concat_channels (const UadTensor *const *ins, int n, UadTensor *out);

/* y[M,N] = x[M,K] w[N,K]^T + b[N] (PyTorch Linear layout); b may be NULL. */
void uad_linear (const float *x, int64_t m, int64_t k, const float *w, const float *b,
                 int64_t n, float *y);

/* Softmax over each row of x[rows, cols], in place, max-subtracted; rows of all -inf give 0. */
void uad_softmax_rows (float *x, int64_t rows, int64_t cols);
/* The same of x + add (add [rows, cols], e.g. an attention mask of 0 and -inf; NULL for none),
 * the sum made as each row is read. */
void uad_softmax_rows_add (float *x, const float *add, int64_t rows, int64_t cols);
