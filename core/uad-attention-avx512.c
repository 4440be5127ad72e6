/* SPDX-License-Identifier: Apache-2.0 */
/* uad-attention-avx512.c: AVX-512 kernels for attention: softmax rows, and one whole head of
 * inference attention (scores, masked softmax and the weighted sum of values, fused).
 *
 * With head dimension 32 and ~200 keys, OpenBLAS runs the two products of a head at about
 * half of its large-matrix speed: it zeroes the score matrix, packs both operands of each
 * small product, and its register blocks do not fit K = 32. The fused head packs the keys
 * once, computes 8 query rows of scores at a time into a buffer that stays in L1, takes
 * their softmax there, and multiplies by the values straight away; the probabilities are
 * never written out, and the 1/sum of each row scales 32 outputs instead of all its scores. */
#include "uad-ops-private.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)

#pragma GCC push_options
#pragma GCC target ("avx512f,avx512dq,fma")
#include <immintrin.h>

#include "uad-avx512-math.h"

/* x[i] = exp(scale x[i] + add[i] - max) for i < n (add may be NULL), the max taken over the
 * row; returns 1 / their sum, which is at least 1 as the maximum contributes exp(0). A row of
 * all -inf becomes 0 and returns 0. */
static float
exp_row (float *x, const float *add, int64_t n, float scale)
{
  const __m512 minus_inf = _mm512_set1_ps (-INFINITY), vscale = _mm512_set1_ps (scale);
  __m512 vmax = minus_inf;
  for (int64_t i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      __m512 v = _mm512_mul_ps (_mm512_mask_loadu_ps (minus_inf, m, x + i), vscale);
      if (add != NULL)
        v = _mm512_add_ps (v, _mm512_maskz_loadu_ps (m, add + i));
      _mm512_mask_storeu_ps (x + i, m, v);
      vmax = _mm512_max_ps (vmax, v);
    }
  float mx = _mm512_reduce_max_ps (vmax);
  if (mx == -INFINITY)
    {
      memset (x, 0, (size_t) n * sizeof (float));
      return 0.0f;
    }
  __m512 shift = _mm512_set1_ps (mx), vsum = _mm512_setzero_ps ();
  for (int64_t i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      __m512 e = exp16_nonpositive (_mm512_sub_ps (_mm512_mask_loadu_ps (minus_inf, m, x + i), shift));
      _mm512_mask_storeu_ps (x + i, m, e);
      vsum = _mm512_add_ps (vsum, e);
    }
  return 1.0f / _mm512_reduce_add_ps (vsum);
}

void
uad_avx512_softmax_row (float *x, const float *add, int64_t n)
{
  __m512 inv = _mm512_set1_ps (exp_row (x, add, n, 1.0f));
  for (int64_t i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      _mm512_mask_storeu_ps (x + i, m, _mm512_mul_ps (_mm512_maskz_loadu_ps (m, x + i), inv));
    }
}

/* ---- One head of inference attention ------------------------------------------------------ */

#define HEAD_DIM UAD_AVX512_HEAD_DIM
#define ROWS 8        /* query rows per block: the value product reuses each value row 8 times */
#define SCORE_ROWS 4  /* query rows per register block of scores */
#define MAX_VECS 6    /* score vectors per register block */

/* Keys padded to whole vectors. */
static int
key_stride (int tk)
{
  return (tk + 15) / 16 * 16;
}

size_t
uad_avx512_attention_scratch_floats (int tk)
{
  return (size_t) (2 * HEAD_DIM + ROWS) * key_stride (tk);
}

/* kt[d * ldk + j] = k[j * ld + d]: the keys transposed, zero in the padding columns; and the
 * values packed, vp[j * HEAD_DIM + d] = v[j * ld + d]: rows ld apart are pages apart. */
static void
pack_keys_values (float *restrict kt, float *restrict vp, const float *restrict k,
                  const float *restrict v, int ld, int tk, int ldk)
{
  for (int j = 0; j < tk; j++)
    {
      for (int d = 0; d < HEAD_DIM; d++)
        kt[d * ldk + j] = k[(size_t) j * ld + d];
      memcpy (vp + (size_t) j * HEAD_DIM, v + (size_t) j * ld, HEAD_DIM * sizeof (float));
    }
  for (int d = 0; d < HEAD_DIM; d++)
    memset (kt + d * ldk + tk, 0, (size_t) (ldk - tk) * sizeof (float));
}

/* s[r * ldk + 16 v0 + j] = q[r] . key j for the SCORE_ROWS query rows and score vectors v0 ..
 * v0 + nv - 1. With a constant nv the SCORE_ROWS nv accumulators stay in registers, fed by nv
 * key loads and SCORE_ROWS broadcasts per step of the head dimension. */
static inline __attribute__ ((always_inline)) void
scores_block (float *restrict s, int ldk, const float *const *q, const float *restrict kt,
              int v0, int nv)
{
  __m512 acc[SCORE_ROWS][MAX_VECS];
  for (int r = 0; r < SCORE_ROWS; r++)
    for (int v = 0; v < nv; v++)
      acc[r][v] = _mm512_setzero_ps ();
  for (int d = 0; d < HEAD_DIM; d++)
    {
      const float *row = kt + d * ldk + 16 * v0;
      __m512 kv[MAX_VECS];
      for (int v = 0; v < nv; v++)
        kv[v] = _mm512_load_ps (row + 16 * v);
      for (int r = 0; r < SCORE_ROWS; r++)
        {
          __m512 b = _mm512_set1_ps (q[r][d]);
          for (int v = 0; v < nv; v++)
            acc[r][v] = _mm512_fmadd_ps (b, kv[v], acc[r][v]);
        }
    }
  for (int r = 0; r < SCORE_ROWS; r++)
    for (int v = 0; v < nv; v++)
      _mm512_store_ps (s + r * ldk + 16 * (v0 + v), acc[r][v]);
}

#define SCORES_CASE(n) \
  case n: \
    scores_block (s, ldk, q, kt, v0, n); \
    break;

/* Scores of SCORE_ROWS query rows against all keys, in register blocks of at most MAX_VECS
 * vectors made as even as possible (13 vectors run as 5 + 4 + 4, not 6 + 6 + 1). */
static void
scores_rows (float *s, int ldk, const float *const *q, const float *kt)
{
  int vecs = ldk / 16, blocks = (vecs + MAX_VECS - 1) / MAX_VECS;
  for (int b = 0, v0 = 0; b < blocks; b++)
    {
      int nv = (vecs - v0) / (blocks - b);
      nv += (vecs - v0) % (blocks - b) != 0;
      switch (nv)
        {
          SCORES_CASE (1) SCORES_CASE (2) SCORES_CASE (3)
          SCORES_CASE (4) SCORES_CASE (5) SCORES_CASE (6)
        }
      v0 += nv;
    }
}

/* ctx row r = inv[r] sum_j p[r * ldk + j] vp[j] for r < rows: 16 accumulators over all keys,
 * two value loads and eight broadcasts per key. */
static void
weighted_values (float *ctx, int ld_ctx, const float *p, int ldk, const float *inv,
                 const float *vp, int tk, int rows)
{
  __m512 acc[ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps ();
  for (int j = 0; j < tk; j++)
    {
      __m512 v0 = _mm512_load_ps (vp + (size_t) j * HEAD_DIM);
      __m512 v1 = _mm512_load_ps (vp + (size_t) j * HEAD_DIM + 16);
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; r++)
        {
          __m512 pr = _mm512_set1_ps (p[r * ldk + j]);
          acc[r][0] = _mm512_fmadd_ps (pr, v0, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps (pr, v1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; r++)
    if (r < rows)
      {
        __m512 s = _mm512_set1_ps (inv[r]);
        _mm512_storeu_ps (ctx + (size_t) r * ld_ctx, _mm512_mul_ps (acc[r][0], s));
        _mm512_storeu_ps (ctx + (size_t) r * ld_ctx + 16, _mm512_mul_ps (acc[r][1], s));
      }
}

void
uad_avx512_attention_head (const float *q, const float *k, const float *v, int ld, int tq,
                           int tk, float scale, const float *mask, float *ctx, float *scratch)
{
  int ldk = key_stride (tk);
  float *kt = scratch, *vp = kt + (size_t) HEAD_DIM * ldk, *s = vp + (size_t) HEAD_DIM * ldk;
  pack_keys_values (kt, vp, k, v, ld, tk, ldk);
  for (int i0 = 0; i0 < tq; i0 += ROWS)
    {
      int rows = MIN (ROWS, tq - i0);
      /* A last block of fewer rows repeats its last row in the others, whose results are
       * dropped: one code path for every block. */
      const float *qr[ROWS];
      float inv[ROWS];
      for (int r = 0; r < ROWS; r++)
        qr[r] = q + (size_t) (i0 + MIN (r, rows - 1)) * ld;
      for (int r = 0; r < ROWS; r += SCORE_ROWS)
        scores_rows (s + r * ldk, ldk, qr + r, kt);
      for (int r = 0; r < ROWS; r++)
        {
          const float *m = mask != NULL ? mask + (size_t) (i0 + MIN (r, rows - 1)) * tk : NULL;
          inv[r] = exp_row (s + r * ldk, m, tk, scale);
        }
      weighted_values (ctx + (size_t) i0 * ld, ld, s, ldk, inv, vp, tk, rows);
    }
}

#pragma GCC pop_options

#else

void
uad_avx512_softmax_row (float *x, const float *add, int64_t n)
{
  g_assert_not_reached ();
}

size_t
uad_avx512_attention_scratch_floats (int tk)
{
  return 0;
}

void
uad_avx512_attention_head (const float *q, const float *k, const float *v, int ld, int tq,
                           int tk, float scale, const float *mask, float *ctx, float *scratch)
{
  g_assert_not_reached ();
}

#endif
