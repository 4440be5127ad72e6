/* SPDX-License-Identifier: Apache-2.0 */
/* uad-avx512-math.h: AVX-512 vector helpers shared by the AVX-512 kernel files.
 *
 * Include it after `#pragma GCC target ("avx512f,avx512dq,fma")` and <immintrin.h>: the
 * functions are static inline so that each kernel file compiles them for its own target. */
#pragma once

#include <stdint.h>

/* The first min(count, 16) lanes. */
static inline __mmask16
tail_mask (int64_t count)
{
  return count >= 16 ? (__mmask16) 0xFFFF : count <= 0 ? 0 : (__mmask16) ((1u << count) - 1u);
}

/* exp(x) for x in [-87, 87]: Cody-Waite reduction x = n ln 2 + r, the degree-5 polynomial of
 * uad_exp_finite, and vscalefps for 2^n. */
static inline __m512
exp16_finite (__m512 x)
{
  __m512 n = _mm512_roundscale_ps (_mm512_mul_ps (x, _mm512_set1_ps (1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* r = x - n ln 2, with ln 2 in two parts */
  __m512 r = _mm512_fnmadd_ps (n, _mm512_set1_ps (0.693359375f), x);
  r = _mm512_fmadd_ps (n, _mm512_set1_ps (2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps (8.3691509825e-3f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.1917529688e-2f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.6666523181e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.9998994883e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));
  return _mm512_scalef_ps (p, n);
}

/* exp(v) for v <= 0 (softmax after its maximum is subtracted), exactly 0 at or below -87, so
 * masked (-inf) entries give 0. */
static inline __m512
exp16_nonpositive (__m512 v)
{
  __mmask16 live = _mm512_cmp_ps_mask (v, _mm512_set1_ps (-87.0f), _CMP_GT_OQ);
  return _mm512_maskz_mov_ps (live, exp16_finite (_mm512_max_ps (v, _mm512_set1_ps (-87.0f))));
}
