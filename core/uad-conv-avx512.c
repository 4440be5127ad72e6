/* SPDX-License-Identifier: Apache-2.0 */
/* uad-conv-avx512.c: AVX-512 kernels for the pointwise convolutions (GEMM with the bias and
 * activation applied in registers), for the depthwise convolutions and for the activations.
 *
 * The convolutions' GEMMs are small in K (24 to 960) and tall or wide: OpenBLAS spends a third
 * of its time there zeroing C and packing operands. This kernel reads B (the input planes) in
 * place, packs only a 12-row block of weights at a time, keeps a 12 x 32 block of C in 24
 * registers over all of K, and writes each result once, activated. The depthwise kernel reads
 * each input row in place (padding is masked-out lanes) and writes each output once, activated,
 * summing it for the plane's mean: no padded copy of the input and no second pass. The
 * activations use the AVX-512 reciprocal estimate and scale instructions: about half the
 * instructions of the portable code in uad-ops-private.h. */
#include "uad-ops-private.h"

#include "uad-parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)

#pragma GCC push_options
#pragma GCC target ("avx512f,avx512dq,fma")
#include <immintrin.h>

#include "uad-avx512-math.h"

#define MR 12         /* rows of C per register block */
#define NR 32         /* columns of C per register block: two vectors */
#define MAX_K 2048    /* a packed row block (MR x K floats) lives on the stack */
#define PREFETCH_ROWS 8

/* sigmoid(v) = 1 / (1 + exp(-v)): v clamped to [-87, 87] (as uad_sigmoid), then the reciprocal
 * estimate (relative error 2^-14) and one Newton step. */
static inline __m512
sigmoid16 (__m512 v)
{
  __m512 c = _mm512_min_ps (_mm512_max_ps (v, _mm512_set1_ps (-87.0f)), _mm512_set1_ps (87.0f));
  __m512 d = _mm512_add_ps (exp16_finite (_mm512_sub_ps (_mm512_setzero_ps (), c)),
                            _mm512_set1_ps (1.0f));
  __m512 y = _mm512_rcp14_ps (d);
  return _mm512_fmadd_ps (y, _mm512_fnmadd_ps (d, y, _mm512_set1_ps (1.0f)), y);
}

static inline __m512
act16 (__m512 v, UadActivation act)
{
  switch (act)
    {
    case UAD_ACT_NONE:
      return v;
    case UAD_ACT_RELU:
      return _mm512_max_ps (v, _mm512_setzero_ps ());
    case UAD_ACT_RELU6:
      return _mm512_min_ps (_mm512_max_ps (v, _mm512_setzero_ps ()), _mm512_set1_ps (6.0f));
    case UAD_ACT_SWISH:
      return _mm512_mul_ps (v, sigmoid16 (v));
    case UAD_ACT_SIGMOID:
      return sigmoid16 (v);
    }
  return v;
}

void
uad_avx512_bias_act (float *dst, const float *src, int64_t n, float bias, UadActivation act)
{
  __m512 b = _mm512_set1_ps (bias);
  for (int64_t i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      __m512 v = _mm512_add_ps (_mm512_maskz_loadu_ps (m, src + i), b);
      _mm512_mask_storeu_ps (dst + i, m, act16 (v, act));
    }
}

/* wp[kk * MR + r] = w[(i0 + r) * k + kk] (times gate[kk] when there is a gate), zero for rows
 * past m. */
static void
pack_rows (float *restrict wp, const float *restrict w, const float *restrict gate, int m, int k,
           int i0)
{
  for (int r = 0; r < MR; r++)
    {
      const float *row = w + (size_t) (i0 + r) * k;
      if (i0 + r >= m)
        for (int kk = 0; kk < k; kk++)
          wp[kk * MR + r] = 0.0f;
      else if (gate != NULL)
        for (int kk = 0; kk < k; kk++)
          wp[kk * MR + r] = row[kk] * gate[kk];
      else
        for (int kk = 0; kk < k; kk++)
          wp[kk * MR + r] = row[kk];
    }
}

/* C[i0 + r, j0 + j] = act(sum_kk wp[kk, r] b[kk, j0 + j] + bias) (+ add[r, j] when add is not
 * NULL; add is laid out as C) for r < rows, j < cols. */
static inline void
block_12x32 (const float *restrict wp, const float *restrict b, int ldb, int k,
             float *restrict c, int ldc, int rows, int cols, const float *bias,
             UadActivation act, const float *add)
{
  __mmask16 m0 = tail_mask (cols), m1 = tail_mask (cols - 16 > 0 ? cols - 16 : 0);
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps ();
  for (int kk = 0; kk < k; kk++)
    {
      /* B's rows are ldb apart: too far for the hardware prefetchers to run ahead. */
      _mm_prefetch ((const char *) (b + (size_t) (kk + PREFETCH_ROWS) * ldb), _MM_HINT_T0);
      _mm_prefetch ((const char *) (b + (size_t) (kk + PREFETCH_ROWS) * ldb + 16), _MM_HINT_T0);
      __m512 b0 = _mm512_maskz_loadu_ps (m0, b + (size_t) kk * ldb);
      __m512 b1 = _mm512_maskz_loadu_ps (m1, b + (size_t) kk * ldb + 16);
      const float *a = wp + kk * MR;
#pragma GCC unroll 12
      for (int r = 0; r < MR; r++)
        {
          __m512 ar = _mm512_set1_ps (a[r]);
          acc[r][0] = _mm512_fmadd_ps (ar, b0, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps (ar, b1, acc[r][1]);
        }
    }
  /* A loop of constant length, so acc is indexed by constants and stays in registers. */
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++)
    if (r < rows)
      {
        __m512 br = _mm512_set1_ps (bias != NULL ? bias[r] : 0.0f);
        __m512 v0 = act16 (_mm512_add_ps (acc[r][0], br), act);
        __m512 v1 = act16 (_mm512_add_ps (acc[r][1], br), act);
        if (add != NULL)
          {
            v0 = _mm512_add_ps (v0, _mm512_maskz_loadu_ps (m0, add + (size_t) r * ldc));
            v1 = _mm512_add_ps (v1, _mm512_maskz_loadu_ps (m1, add + (size_t) r * ldc + 16));
          }
        _mm512_mask_storeu_ps (c + (size_t) r * ldc, m0, v0);
        _mm512_mask_storeu_ps (c + (size_t) r * ldc + 16, m1, v1);
      }
}

typedef struct {
  const float *w, *gate, *b, *bias, *add;
  float *c;
  int m, n, k;
  int panels_per_group, row_blocks_per_chunk, chunks; /* task t: group t / chunks, chunk t % chunks */
  UadActivation act;
} Gemm;

/* Floats of B per column group: the group is re-read for every row block, from L2. */
#define GROUP_FLOATS (128 * 1024)

static void
gemm_tasks (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Gemm *g = ctx;
  float wp[MAX_K * MR] __attribute__ ((aligned (64)));
  for (int64_t t = begin; t < end; t++)
    {
      int j_begin = (int) (t / g->chunks) * g->panels_per_group * NR;
      int j_end = MIN (g->n, j_begin + g->panels_per_group * NR);
      int i_begin = (int) (t % g->chunks) * g->row_blocks_per_chunk * MR;
      int i_end = MIN (g->m, i_begin + g->row_blocks_per_chunk * MR);
      for (int i0 = i_begin; i0 < i_end; i0 += MR)
        {
          pack_rows (wp, g->w, g->gate, g->m, g->k, i0);
          const float *bias = g->bias != NULL ? g->bias + i0 : NULL;
          for (int j0 = j_begin; j0 < j_end; j0 += NR)
            {
              size_t at = (size_t) i0 * g->n + j0;
              block_12x32 (wp, g->b + j0, g->n, g->k, g->c + at, g->n, MIN (MR, g->m - i0),
                           MIN (NR, g->n - j0), bias, g->act, g->add != NULL ? g->add + at : NULL);
            }
        }
    }
}

gboolean
uad_avx512_gemm_act (const float *w, const float *gate, const float *b, const float *bias,
                     const float *add, float *c, int m, int n, int k, UadActivation act)
{
  /* Measured against OpenBLAS on the backbones' shapes: well ahead for small K (it spends
   * most of its time packing and zeroing there) and for wide B; behind for large K over a
   * few hundred columns, where its packed, prefetched panels win. */
  if (k > MAX_K || (k > 64 && n < 2048))
    return FALSE;
  /* Tasks are column groups of B small enough for L2 (a packed row block of weights serves a
   * whole group), at least four per thread; when there are fewer groups than that, each group
   * is cut into chunks of row blocks as well. */
  int threads = uad_parallel_get_threads ();
  int panels = (n + NR - 1) / NR, row_blocks = (m + MR - 1) / MR;
  int per_group = MAX (1, MIN (GROUP_FLOATS / (k * NR), (panels + 4 * threads - 1) / (4 * threads)));
  int groups = (panels + per_group - 1) / per_group;
  int chunks = MIN (row_blocks, MAX (1, (4 * threads + groups - 1) / groups));
  int per_chunk = (row_blocks + chunks - 1) / chunks;
  chunks = (row_blocks + per_chunk - 1) / per_chunk;
  Gemm g = { w, gate, b, bias, add, c, m, n, k, per_group, per_chunk, chunks, act };
  uad_parallel_for ((int64_t) groups * chunks, 1, gemm_tasks, &g);
  return TRUE;
}

/* ---- Depthwise convolution, straight from the input plane ------------------------------ */

#define DW_GROUP 8  /* output vectors of a row per register block */
#define DW_MAX_K UAD_AVX512_DW_MAX_KERNEL

typedef struct {
  const float *in, *k;
  float *out;
  int h, w, kh, kw, pad_top, pad_left, ho, wo;
  float bias;
  UadActivation act;
} Dw;

/* Lanes l of a 16-float load at column `start` that fall inside a row of w. */
static inline __mmask16
row_mask (int start, int w)
{
  int lo = MAX (0, -start), hi = MIN (16, w - start);
  return hi > lo ? (__mmask16) ((0xFFFFu >> (16 - hi)) & (0xFFFFu << lo)) : 0;
}

/* A block of R output rows from row y and nv output vectors from column x0 (R nv <= 8
 * accumulators, so narrow planes still have eight independent sums), activated and stored;
 * returns the sum of what it stored. Padding is the masked-out lanes of each load and the
 * input rows that are skipped, so the input is read in place; stride 2 loads 32 columns per
 * tap and keeps the even ones. With constant R, nv and s everything unrolls into registers. */
static inline __attribute__ ((always_inline)) __m512
dw_block (const Dw *d, int y, int x0, int R, int nv, int s,
          const __mmask16 (*lmask)[2 * DW_GROUP], const __mmask16 *smask)
{
  const __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  __m512 acc[DW_GROUP];
#pragma GCC unroll 8
  for (int a = 0; a < R * nv; a++)
    acc[a] = _mm512_setzero_ps ();
  int ix0 = x0 * s - d->pad_left;
  /* Kernel columns outermost: the block's load masks for one column stay in mask registers
   * over all kernel rows and output rows. */
  for (int kx = 0; kx < d->kw; kx++)
    {
      __mmask16 m[2 * DW_GROUP];
#pragma GCC unroll 16
      for (int piece = 0; piece < s * nv; piece++)
        m[piece] = lmask[kx][piece];
      for (int ky = 0; ky < d->kh; ky++)
        {
          __m512 wv = _mm512_set1_ps (d->k[ky * d->kw + kx]);
#pragma GCC unroll 8
          for (int r = 0; r < R; r++)
            {
              int iy = (y + r) * s - d->pad_top + ky;
              if (iy < 0 || iy >= d->h)
                continue;
              const float *at = d->in + (ptrdiff_t) iy * d->w + ix0 + kx;
#pragma GCC unroll 8
              for (int v = 0; v < nv; v++)
                {
                  __m512 x;
                  if (s == 1)
                    x = _mm512_maskz_loadu_ps (m[v], at + 16 * v);
                  else
                    x = _mm512_permutex2var_ps (
                        _mm512_maskz_loadu_ps (m[2 * v], at + 32 * v), even,
                        _mm512_maskz_loadu_ps (m[2 * v + 1], at + 32 * v + 16));
                  acc[r * nv + v] = _mm512_fmadd_ps (wv, x, acc[r * nv + v]);
                }
            }
        }
    }
  __m512 sum = _mm512_setzero_ps (), vbias = _mm512_set1_ps (d->bias);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
    if (y + r < d->ho)
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++)
        {
          __m512 o = act16 (_mm512_add_ps (acc[r * nv + v], vbias), d->act);
          _mm512_mask_storeu_ps (d->out + (size_t) (y + r) * d->wo + x0 + 16 * v, smask[v], o);
          sum = _mm512_add_ps (sum, _mm512_maskz_mov_ps (smask[v], o));
        }
  return sum;
}

/* Sums of the outputs gather in a vector over 8 blocks of rows at a time (a few hundred floats
 * per lane), then in double. */
#define DW_CASE(R, nv) \
  case nv: \
    for (int y = 0; y < d->ho; y += R) \
      { \
        part = _mm512_add_ps (part, s == 1 ? dw_block (d, y, x0, R, nv, 1, lmask, smask) \
                                           : dw_block (d, y, x0, R, nv, 2, lmask, smask)); \
        if (++blocks % 8 == 0) \
          { \
            total += _mm512_reduce_add_ps (part); \
            part = _mm512_setzero_ps (); \
          } \
      } \
    break;

void
uad_avx512_depthwise_plane (const float *in, int h, int w, const float *k, int kh, int kw,
                            int s, int pad_top, int pad_left, float bias, UadActivation act,
                            float *out, int ho, int wo, float *mean)
{
  g_return_if_fail ((s == 1 || s == 2) && kh <= DW_MAX_K && kw <= DW_MAX_K);
  const Dw plane = { in, k, out, h, w, kh, kw, pad_top, pad_left, ho, wo, bias, act }, *d = &plane;
  double total = 0.0;
  __m512 part = _mm512_setzero_ps ();
  int vecs = (wo + 15) / 16, blocks = 0;
  for (int v0 = 0; v0 < vecs; v0 += DW_GROUP)
    {
      int nv = MIN (DW_GROUP, vecs - v0), x0 = 16 * v0, ix0 = x0 * s - pad_left;
      /* Load masks for every kernel column and 16-column piece of the block's input span. */
      __mmask16 lmask[DW_MAX_K][2 * DW_GROUP], smask[DW_GROUP];
      for (int kx = 0; kx < kw; kx++)
        for (int piece = 0; piece < s * nv; piece++)
          lmask[kx][piece] = row_mask (ix0 + kx + 16 * piece, w);
      for (int v = 0; v < nv; v++)
        smask[v] = tail_mask (wo - x0 - 16 * v);
      switch (nv)
        {
          DW_CASE (8, 1) DW_CASE (4, 2) DW_CASE (2, 3) DW_CASE (2, 4)
          DW_CASE (1, 5) DW_CASE (1, 6) DW_CASE (1, 7) DW_CASE (1, 8)
        }
    }
  if (mean != NULL)
    *mean = (float) ((total + _mm512_reduce_add_ps (part)) / ((double) ho * wo));
}

#pragma GCC pop_options

static int avx512_state = -1; /* -1: not decided yet */

gboolean
uad_avx512_available (void)
{
  int state = g_atomic_int_get (&avx512_state);
  if (state < 0)
    {
      __builtin_cpu_init ();
      state = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512dq");
      g_atomic_int_set (&avx512_state, state);
    }
  return state;
}

void
uad_avx512_set_enabled (gboolean enabled)
{
  g_atomic_int_set (&avx512_state, -1);
  g_atomic_int_set (&avx512_state, enabled && uad_avx512_available ());
}

#else

gboolean
uad_avx512_available (void)
{
  return FALSE;
}

void
uad_avx512_set_enabled (gboolean enabled)
{
}

void
uad_avx512_bias_act (float *dst, const float *src, int64_t n, float bias, UadActivation act)
{
  g_assert_not_reached ();
}

gboolean
uad_avx512_gemm_act (const float *w, const float *gate, const float *b, const float *bias,
                     const float *add, float *c, int m, int n, int k, UadActivation act)
{
  return FALSE;
}

void
uad_avx512_depthwise_plane (const float *in, int h, int w, const float *k, int kh, int kw,
                            int s, int pad_top, int pad_left, float bias, UadActivation act,
                            float *out, int ho, int wo, float *mean)
{
  g_assert_not_reached ();
}

#endif
