/* SPDX-License-Identifier: Apache-2.0 */
/* uad-ops-private.h: vector helpers shared by the operator files (uad-ops.c, uad-conv.c,
 * uad-conv-avx512.c).
 *
 * The build targets baseline x86-64, so hot loops are compiled several times with
 * UAD_VECTOR_CLONES (AVX-512, AVX2+FMA, baseline) and the loader picks the best one for the CPU.
 * The helpers below are always inlined so each clone gets a copy vectorised for its ISA; they
 * avoid libm calls (not vectorisable without -ffast-math) and branches in their loops. */
#pragma once

#include "uad-ops.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define UAD_VECTOR_CLONES \
  __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define UAD_VECTOR_CLONES
#endif

#define UAD_ALWAYS_INLINE static inline __attribute__ ((always_inline))

/* AVX-512 kernels (uad-conv-avx512.c, uad-attention-avx512.c), used instead of the portable
 * code when the CPU has AVX-512F and DQ. */
gboolean uad_avx512_available (void);
/* Tests turn the kernels off to check the portable code too. */
void uad_avx512_set_enabled (gboolean enabled);
/* dst[i] = act(src[i] + bias) for i < n; dst may equal src. */
void uad_avx512_bias_act (float *dst, const float *src, int64_t n, float bias, UadActivation act);
#define UAD_AVX512_DW_MAX_KERNEL 7
/* One plane of a depthwise convolution, stride s (1 or 2), kernel kh x kw (at most 7 x 7),
 * zero padding pad_top / pad_left before the input (and whatever else the output size ho x wo
 * implies after it): out = act(conv + bias); the plane's mean of out in *mean (mean may be
 * NULL). */
void uad_avx512_depthwise_plane (const float *in, int h, int w, const float *k, int kh, int kw,
                                 int s, int pad_top, int pad_left, float bias,
                                 UadActivation act, float *out, int ho, int wo, float *mean);
/* x = softmax(x + add) over one row of n (add may be NULL); a row of all -inf gives 0. */
void uad_avx512_softmax_row (float *x, const float *add, int64_t n);
/* The head dimension uad_avx512_attention_head handles. */
#define UAD_AVX512_HEAD_DIM 32
/* Floats of 64-byte aligned scratch uad_avx512_attention_head needs for tk keys. */
size_t uad_avx512_attention_scratch_floats (int tk);
/* One attention head without dropout: ctx[i] = softmax_j(scale q[i].k[j] + mask[i, j]) v[j]
 * for i < tq, j < tk. Rows of q, k, v and ctx (UAD_AVX512_HEAD_DIM floats each) are ld floats
 * apart; mask [tq, tk] may be NULL; a fully masked row gives 0. */
void uad_avx512_attention_head (const float *q, const float *k, const float *v, int ld, int tq,
                                int tk, float scale, const float *mask, float *ctx,
                                float *scratch);
/* C[m, n] = act((W[m, k] diag(gate)) B[k, n] + bias[m]) + add[m, n] on the thread pool
 * (row-major, ldb = ldc = n; gate, bias and add may be NULL); FALSE (nothing done) for shapes
 * OpenBLAS handles better. */
gboolean uad_avx512_gemm_act (const float *w, const float *gate, const float *b,
                              const float *bias, const float *add, float *c, int m, int n,
                              int k, UadActivation act);

/* exp(x) for x in [-87, 88] (outside that range the result is not a normal float): Cody-Waite
 * reduction x = n ln 2 + r and a degree-5 minimax polynomial for exp(r) (relative error
 * below 2.5e-7 after rounding), branch-free so it vectorises. */
UAD_ALWAYS_INLINE float
uad_exp_finite (float x)
{
  /* n = round(x / ln 2) by adding 1.5 * 2^23 + 127: t's low mantissa bits then hold n + 127,
   * which shifted into the exponent field is 2^n. */
  float t = x * 1.44269504088896341f + 12583039.0f;
  float n = t - 12583039.0f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* x - n ln 2, ln 2 in two parts */
  float p = 8.3691509825e-3f;
  p = p * r + 4.1917529688e-2f;
  p = p * r + 1.6666523181e-1f;
  p = p * r + 4.9998994883e-1f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t bits;
  memcpy (&bits, &t, sizeof bits);
  bits <<= 23;
  float scale;
  memcpy (&scale, &bits, sizeof scale);
  return p * scale;
}

/* exp(x) for any x: 0 below -87 (so exp(-inf) is 0, as softmax over masked entries needs),
 * exp(88) above 88. */
UAD_ALWAYS_INLINE float
uad_exp (float x)
{
  float xc = x > -87.0f ? x : -87.0f;
  xc = xc < 88.0f ? xc : 88.0f;
  float e = uad_exp_finite (xc);
  return x > -87.0f ? e : 0.0f;
}

/* 1 / (1 + exp(-v)) without a division (vector division is slow): with v clamped to
 * [-87, 87] the denominator d is a normal float in [1, 2^126); a first guess of 1/d from its
 * bits (relative error below 5.1%) and three Newton steps give full float precision. Beyond
 * the clamp the result is off by less than 2e-38. */
UAD_ALWAYS_INLINE float
uad_sigmoid (float v)
{
  float c = v > -87.0f ? v : -87.0f;
  c = c < 87.0f ? c : 87.0f;
  float d = 1.0f + uad_exp_finite (-c);
  uint32_t bits;
  memcpy (&bits, &d, sizeof bits);
  bits = 0x7EF311C3u - bits;
  float r;
  memcpy (&r, &bits, sizeof r);
  r = r + r * (1.0f - d * r);
  r = r + r * (1.0f - d * r);
  r = r + r * (1.0f - d * r);
  return r;
}

/* Mean of n floats: 64 running float sums (several vector registers, so the additions do not
 * wait on each other), folded to 16 and combined in double. */
UAD_ALWAYS_INLINE float
uad_mean (const float *x, int64_t n)
{
  float acc[64] = { 0 };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 64; j++)
      acc[j] += x[i + j];
  for (int j = 0; j < 16; j++)
    acc[j] += (acc[j + 16] + acc[j + 32]) + acc[j + 48];
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++)
      acc[j] += x[i + j];
  double s = 0;
  for (int j = 0; j < 16; j++)
    s += acc[j];
  for (; i < n; i++)
    s += x[i];
  return n > 0 ? (float) (s / (double) n) : 0.0f;
}

/* dst[i] = act(src[i] + bias) for i < n; dst may equal src. */
UAD_ALWAYS_INLINE void
uad_bias_act_row (float *dst, const float *src, int64_t n, float bias, UadActivation act)
{
  switch (act)
    {
    case UAD_ACT_NONE:
      for (int64_t i = 0; i < n; i++)
        dst[i] = src[i] + bias;
      break;
    case UAD_ACT_RELU:
      for (int64_t i = 0; i < n; i++)
        {
          float v = src[i] + bias;
          dst[i] = v > 0.0f ? v : 0.0f;
        }
      break;
    case UAD_ACT_RELU6:
      for (int64_t i = 0; i < n; i++)
        {
          float v = src[i] + bias;
          v = v > 0.0f ? v : 0.0f;
          dst[i] = v < 6.0f ? v : 6.0f;
        }
      break;
    case UAD_ACT_SWISH:
      for (int64_t i = 0; i < n; i++)
        {
          float v = src[i] + bias;
          dst[i] = v * uad_sigmoid (v);
        }
      break;
    case UAD_ACT_SIGMOID:
      for (int64_t i = 0; i < n; i++)
        dst[i] = uad_sigmoid (src[i] + bias);
      break;
    }
}
