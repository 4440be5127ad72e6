/* SPDX-License-Identifier: Apache-2.0 */
/* uad-ops-private.h: vector helpers shared by the operator files (uad-ops.c, uad-conv.c).
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

/* exp(x) for float x: Cephes' expf reduction and polynomial (relative error about 2e-7 on the
 * range that does not overflow), branch-free so it vectorises. Underflows to exactly 0 below
 * -87 (so exp(-inf) is 0, as softmax over masked entries needs) and saturates at exp(88). */
UAD_ALWAYS_INLINE float
uad_exp (float x)
{
  float xc = x > -87.0f ? x : -87.0f;
  xc = xc < 88.0f ? xc : 88.0f;
  /* n = round(x / ln 2) with the 1.5 * 2^23 trick: t's low mantissa bits hold n. */
  float t = xc * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  float r = xc - n * 0.693359375f + n * 2.12194440e-4f; /* x - n ln 2, in two parts */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t tb;
  memcpy (&tb, &t, sizeof tb);
  uint32_t eb = (tb - 0x4B400000u + 127u) << 23; /* 2^n as float bits */
  float scale;
  memcpy (&scale, &eb, sizeof scale);
  return x > -87.0f ? p * scale : 0.0f;
}

/* 1 / (1 + exp(-v)) without a division (vector division is slow): with e = exp(-|v|) the
 * denominator d = 1 + e lies in (1, 2], where a linear first guess of 1/d (relative error
 * at most 1/17) and three Newton steps give full float precision. */
UAD_ALWAYS_INLINE float
uad_sigmoid (float v)
{
  float e = uad_exp (-__builtin_fabsf (v));
  float d = 1.0f + e;
  float r = 1.41176471f - 0.470588235f * d;
  r = r + r * (1.0f - d * r);
  r = r + r * (1.0f - d * r);
  r = r + r * (1.0f - d * r);
  return v >= 0.0f ? r : e * r;
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
