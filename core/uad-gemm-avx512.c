/* SPDX-License-Identifier: Apache-2.0 */
/* uad-gemm-avx512.c: a packed, cache-blocked AVX-512 fp32 GEMM, with a bf16-operand variant
 * (contract in uad-gemm-avx512.h).
 *
 * Why our own: the machines run OpenBLAS with its AVX2 (Haswell) kernels, which use half of an
 * AVX-512 core's multiply-add width; the transformer's training step is mostly matrix products.
 *
 * Design (the usual Goto/BLIS blocking): C is computed in MR x NR = 14 x 32 register blocks, 28
 * accumulators that stay in registers over a KC-long slice of K, fed per step by two vector
 * loads of B and 14 broadcasts of A (embedded in the multiply-adds). Operands are packed first,
 * which is also where transposition happens: a KC x NC block of op(B) into NR-wide panels (it
 * stays in L2/L3 and each panel is read from L1 by every row block), and an MC x KC block of
 * op(A) into MR-high panels (in L2). Packing zero-pads the M and N edges, so the kernel always
 * runs full blocks and only its stores are cut to the edge (masked columns, skipped rows).
 * Strided operands are transposed 16 x 16 in registers while packing. When B has a single
 * column panel (N <= 32, as in one attention head), A is read in place instead. The token count
 * of a training batch (8 x 196 = 1568) is a multiple of MR = 14.
 *
 * bf16: the same blocks, packed as fp32 and then converted in place to pairs of bf16 steps per
 * 32-bit word, multiplied by vdpbf16ps (two steps per instruction) into the same fp32
 * accumulators. Its instructions are confined to functions compiled for AVX512_BF16, so the
 * fp32 path runs on any AVX-512F/DQ CPU. */
#include "uad-gemm-avx512.h"

#include "uad-ops-private.h"
#include "uad-tensor.h"

#if defined(__x86_64__) && defined(__GNUC__)

#pragma GCC push_options
#pragma GCC target ("avx512f,avx512dq,fma")
#include <immintrin.h>

#include "uad-avx512-math.h"

#define MR 14
#define NR 32
#define KC 256              /* a B panel (KC x NR, 32 KiB) stays in L1 over a row block */
#define MC (MR * 24)        /* a packed A block (MC x KC, 336 KiB) stays in L2 */
#define NC (NR * 64)        /* a packed B block (KC x NC, 2 MiB) in L3 */

/* The calling thread's packing buffers (MC x KC for A, then KC x NC for B), made on its first
 * call and freed when it exits. */
static GPrivate pack_buffer = G_PRIVATE_INIT (uad_free_aligned);

static float *
thread_pack_buffer (void)
{
  float *buf = g_private_get (&pack_buffer);
  if (buf == NULL)
    {
      buf = uad_alloc_floats ((size_t) MC * KC + (size_t) KC * NC);
      g_private_set (&pack_buffer, buf);
    }
  return buf;
}

/* r[i] becomes column i of the 16 x 16 matrix whose rows were r[0..15]. */
static inline __attribute__ ((always_inline)) void
transpose16 (__m512 r[16])
{
  __m512 t[16];
  for (int i = 0; i < 16; i += 2)
    {
      t[i] = _mm512_unpacklo_ps (r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps (r[i], r[i + 1]);
    }
  /* u[4g + j], 128-bit lane L: rows 4g .. 4g + 3 of column 4L + j */
  __m512 u[16];
  for (int g = 0; g < 16; g += 4)
    {
      __m512d t0 = _mm512_castps_pd (t[g]), t1 = _mm512_castps_pd (t[g + 1]);
      __m512d t2 = _mm512_castps_pd (t[g + 2]), t3 = _mm512_castps_pd (t[g + 3]);
      u[g] = _mm512_castpd_ps (_mm512_unpacklo_pd (t0, t2));
      u[g + 1] = _mm512_castpd_ps (_mm512_unpackhi_pd (t0, t2));
      u[g + 2] = _mm512_castpd_ps (_mm512_unpacklo_pd (t1, t3));
      u[g + 3] = _mm512_castpd_ps (_mm512_unpackhi_pd (t1, t3));
    }
  for (int j = 0; j < 4; j++)
    {
      /* lanes 0, 1 (s) and 2, 3 (s2) of row groups 0 and 1; v, v2 the same for groups 2, 3 */
      __m512 s = _mm512_shuffle_f32x4 (u[j], u[4 + j], 0x44);
      __m512 s2 = _mm512_shuffle_f32x4 (u[j], u[4 + j], 0xEE);
      __m512 v = _mm512_shuffle_f32x4 (u[8 + j], u[12 + j], 0x44);
      __m512 v2 = _mm512_shuffle_f32x4 (u[8 + j], u[12 + j], 0xEE);
      r[j] = _mm512_shuffle_f32x4 (s, v, 0x88);
      r[4 + j] = _mm512_shuffle_f32x4 (s, v, 0xDD);
      r[8 + j] = _mm512_shuffle_f32x4 (s2, v2, 0x88);
      r[12 + j] = _mm512_shuffle_f32x4 (s2, v2, 0xDD);
    }
}

/* Packs `count` columns of kc steps into panels of w (MR or NR) columns, panel q at
 * dst + q w kc: dst[q w kc + p w + c] = element (p, q w + c), zero for columns past count.
 * Element (p, j) is src[p * ld + j] when columns are contiguous in memory, src[j * ld + p] when
 * they are strided (a transposed operand). Either way memory is read along its rows: contiguous
 * columns step by step across all panels, strided ones panel by panel, 16 x 16 transposed in
 * registers, with the next panel's rows fetched ahead (they are lines ld apart, which the
 * hardware prefetcher follows poorly). */
static void
pack_block (float *restrict dst, int w, const float *src, size_t ld, gboolean strided,
            int count, int kc)
{
  if (!strided)
    {
      for (int p = 0; p < kc; p++)
        for (int j = 0; j < count; j += w)
          for (int c0 = 0; c0 < w; c0 += 16)
            {
              int valid = count - j - c0;
              __m512 v = valid > 0
                           ? _mm512_maskz_loadu_ps (tail_mask (valid), src + p * ld + j + c0)
                           : _mm512_setzero_ps ();
              _mm512_mask_storeu_ps (dst + (size_t) j * kc + (size_t) p * w + c0,
                                     tail_mask (w - c0), v);
            }
      return;
    }
  for (int j = 0; j < count; j += w)
    for (int c0 = 0; c0 < w; c0 += 16)
      {
        __mmask16 store_mask = tail_mask (w - c0);
        for (int p0 = 0; p0 < kc; p0 += 16)
          {
            __mmask16 load_mask = tail_mask (kc - p0);
            __m512 r[16];
            for (int i = 0; i < 16 && c0 + i < w && j + w + c0 + i < count; i++)
              _mm_prefetch ((const char *) (src + (j + w + c0 + i) * ld + p0), _MM_HINT_T0);
            for (int i = 0; i < 16; i++)
              r[i] = j + c0 + i < count
                       ? _mm512_maskz_loadu_ps (load_mask, src + (j + c0 + i) * ld + p0)
                       : _mm512_setzero_ps ();
            transpose16 (r);
            for (int i = 0; i < 16 && p0 + i < kc; i++)
              _mm512_mask_storeu_ps (dst + (size_t) j * kc + (size_t) (p0 + i) * w + c0,
                                     store_mask, r[i]);
          }
      }
}

/* Writes one row block of results: row[c] = alpha acc + beta row[c] (row not read when beta is
 * 0) + bias[c], for the columns in the masks. */
static inline __attribute__ ((always_inline)) void
store_row (float *row, __m512 acc0, __m512 acc1, __mmask16 m0, __mmask16 m1, __m512 alpha,
           float beta, const float *bias)
{
  __m512 x0 = _mm512_mul_ps (acc0, alpha), x1 = _mm512_mul_ps (acc1, alpha);
  if (beta != 0.0f)
    {
      __m512 vb = _mm512_set1_ps (beta);
      x0 = _mm512_fmadd_ps (vb, _mm512_maskz_loadu_ps (m0, row), x0);
      x1 = _mm512_fmadd_ps (vb, _mm512_maskz_loadu_ps (m1, row + 16), x1);
    }
  if (bias != NULL)
    {
      x0 = _mm512_add_ps (x0, _mm512_maskz_loadu_ps (m0, bias));
      x1 = _mm512_add_ps (x1, _mm512_maskz_loadu_ps (m1, bias + 16));
    }
  _mm512_mask_storeu_ps (row, m0, x0);
  _mm512_mask_storeu_ps (row + 16, m1, x1);
}

/* acc += A B over kc steps of an MR-row panel of A, element (r, p) at ap[r * rs + p * ps], and
 * a packed NR-column panel of B. Inlined with rs or ps constant, so each use compiles to its own
 * loop: a packed panel (rs 1, ps MR), a transposed A in place (rs 1, ps lda), a row-major A in
 * place (rs lda, ps 1). */
static inline __attribute__ ((always_inline)) void
products (__m512 acc[MR][2], int kc, const float *restrict ap, size_t rs, size_t ps,
          const float *restrict bp)
{
  for (int p = 0; p < kc; p++)
    {
      __m512 b0 = _mm512_load_ps (bp), b1 = _mm512_load_ps (bp + 16);
#pragma GCC unroll 14
      for (int r = 0; r < MR; r++)
        {
          __m512 a = _mm512_set1_ps (ap[r * rs]);
          acc[r][0] = _mm512_fmadd_ps (a, b0, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps (a, b1, acc[r][1]);
        }
      ap += ps;
      bp += NR;
    }
}

/* The start of a register block: zero accumulators, and the block of C fetched while the
 * products run (it is read when beta != 0, and written anyway). */
static inline __attribute__ ((always_inline)) void
start_block (__m512 acc[MR][2], const float *c, size_t ldc, int mr)
{
  for (int r = 0; r < mr; r++)
    {
      _mm_prefetch ((const char *) (c + r * ldc), _MM_HINT_T0);
      _mm_prefetch ((const char *) (c + r * ldc + NR - 1), _MM_HINT_T0);
    }
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps ();
}

/* C[mr, nr] (mr <= MR, nr <= NR) = alpha acc + beta C (+ bias). */
static inline __attribute__ ((always_inline)) void
store_block (__m512 acc[MR][2], float *c, size_t ldc, int mr, int nr, float alpha, float beta,
             const float *bias)
{
  __mmask16 m0 = tail_mask (nr), m1 = tail_mask (nr - 16);
  __m512 va = _mm512_set1_ps (alpha);
#pragma GCC unroll 14
  for (int r = 0; r < MR; r++)
    if (r < mr)
      store_row (c + r * ldc, acc[r][0], acc[r][1], m0, m1, va, beta, bias);
}

/* C[mr, nr] = alpha A Bp + beta C (+ bias) over kc steps, A as in products () with a_rs or a_ps
 * equal to 1, Bp a packed panel. */
static void
micro_kernel (int kc, const float *ap, size_t a_rs, size_t a_ps, const float *bp, float *c,
              size_t ldc, int mr, int nr, float alpha, float beta, const float *bias)
{
  __m512 acc[MR][2];
  start_block (acc, c, ldc, mr);
  if (a_rs == 1)
    products (acc, kc, ap, 1, a_ps, bp);
  else
    products (acc, kc, ap, a_rs, 1, bp);
  store_block (acc, c, ldc, mr, nr, alpha, beta, bias);
}

#pragma GCC pop_options

/* ---- bf16 operands (AVX512_BF16): only these functions may use its instructions ---------- */

#pragma GCC push_options
#pragma GCC target ("avx512f,avx512dq,avx512bw,avx512bf16,fma")

/* Turns `count` columns of packed fp32 panels (as pack_block leaves them, panel q at
 * block + q w kc) into bf16 pairs in place: 32-bit word kp w + c of each panel holds steps 2 kp
 * (low half) and 2 kp + 1 (high half) of column c, rounded to nearest even; an odd kc pairs its
 * last step with 0. Word kp is written after steps 2 kp and 2 kp + 1 are read, and never over a
 * step still to be read. */
static void
pack_pairs (float *block, int w, int count, int kc)
{
  for (int j = 0; j < count; j += w)
    {
      float *panel = block + (size_t) j * kc;
      for (int kp = 0; kp < (kc + 1) / 2; kp++)
        for (int c0 = 0; c0 < w; c0 += 16)
          {
            __mmask16 m = tail_mask (w - c0);
            const float *step = panel + (size_t) 2 * kp * w + c0;
            __m512 x = _mm512_maskz_loadu_ps (m, step);
            __m512 y = 2 * kp + 1 < kc ? _mm512_maskz_loadu_ps (m, step + w) : _mm512_setzero_ps ();
            __m512i lo = _mm512_cvtepu16_epi32 ((__m256i) _mm512_cvtneps_pbh (x));
            __m512i hi = _mm512_cvtepu16_epi32 ((__m256i) _mm512_cvtneps_pbh (y));
            _mm512_mask_storeu_epi32 (panel + (size_t) kp * w + c0, m,
                                      _mm512_or_si512 (lo, _mm512_slli_epi32 (hi, 16)));
          }
    }
}

/* micro_kernel for panels of bf16 pairs (pack_pairs): kp pairs of steps, each one vdpbf16ps
 * (two multiply-adds per lane, fp32 accumulation) per accumulator. */
static void
micro_kernel_bf16 (int kp, const float *ap, const float *bp, float *c, size_t ldc, int mr,
                   int nr, float alpha, float beta, const float *bias)
{
  __m512 acc[MR][2];
  start_block (acc, c, ldc, mr);
  for (int p = 0; p < kp; p++)
    {
      __m512bh b0 = (__m512bh) _mm512_load_ps (bp), b1 = (__m512bh) _mm512_load_ps (bp + 16);
#pragma GCC unroll 14
      for (int r = 0; r < MR; r++)
        {
          __m512bh a = (__m512bh) _mm512_set1_ps (ap[r]);
          acc[r][0] = _mm512_dpbf16_ps (acc[r][0], a, b0);
          acc[r][1] = _mm512_dpbf16_ps (acc[r][1], a, b1);
        }
      ap += MR;
      bp += NR;
    }
  store_block (acc, c, ldc, mr, nr, alpha, beta, bias);
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target ("avx512f,avx512dq,fma")

/* C = beta C + bias, for alpha == 0 or K == 0 (the product is zero and A, B are not read). */
static void
scale_c (int m, int n, float beta, const float *bias, float *c, int ldc)
{
  __m512 zero = _mm512_setzero_ps ();
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j += NR)
      store_row (c + (size_t) i * ldc + j, zero, zero, tail_mask (n - j), tail_mask (n - j - 16),
                 zero, beta, bias != NULL ? bias + j : NULL);
}

void
uad_avx512_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  const float *bias, float *c, int ldc, gboolean bf16)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0 || alpha == 0.0f)
    {
      scale_c (m, n, beta, bias, c, ldc);
      return;
    }
  float *apack = thread_pack_buffer (), *bpack = apack + (size_t) MC * KC;
  for (int j0 = 0; j0 < n; j0 += NC)
    {
      int nc = MIN (NC, n - j0);
      for (int p0 = 0; p0 < k; p0 += KC)
        {
          int kc = MIN (KC, k - p0);
          /* The first slice of K applies beta and the bias; the others add to it. */
          float beta_p = p0 == 0 ? beta : 1.0f;
          const float *bias_p = p0 == 0 && bias != NULL ? bias + j0 : NULL;
          pack_block (bpack, NR,
                      trans_b ? b + (size_t) j0 * ldb + p0 : b + (size_t) p0 * ldb + j0, ldb,
                      trans_b, nc, kc);
          if (bf16)
            pack_pairs (bpack, NR, nc, kc);
          for (int i0 = 0; i0 < m; i0 += MC)
            {
              int mc = MIN (MC, m - i0);
              /* With a single column panel each row panel of A would be used once: read A in
               * place instead of packing it, all but a last partial panel (which needs the
               * zero padding). bf16 operands are always packed (converted). */
              int in_place = !bf16 && nc <= NR ? mc / MR * MR : 0;
              const float *a_block = trans_a ? a + (size_t) p0 * lda + i0
                                             : a + (size_t) i0 * lda + p0;
              size_t a_rs = trans_a ? 1 : (size_t) lda, a_ps = trans_a ? (size_t) lda : 1;
              if (in_place < mc)
                pack_block (apack, MR, a_block + in_place * a_rs, lda, !trans_a, mc - in_place,
                            kc);
              if (bf16)
                pack_pairs (apack, MR, mc, kc);
              for (int jr = 0; jr < nc; jr += NR)
                for (int ir = 0; ir < mc; ir += MR)
                  {
                    const float *bp = bpack + (size_t) jr * kc;
                    float *cb = c + (size_t) (i0 + ir) * ldc + j0 + jr;
                    int mr = MIN (MR, mc - ir), nr = MIN (NR, nc - jr);
                    const float *bias_r = bias_p != NULL ? bias_p + jr : NULL;
                    if (bf16)
                      micro_kernel_bf16 ((kc + 1) / 2, apack + (size_t) ir * kc, bp, cb, ldc, mr,
                                         nr, alpha, beta_p, bias_r);
                    else if (ir < in_place)
                      micro_kernel (kc, a_block + ir * a_rs, a_rs, a_ps, bp, cb, ldc, mr, nr,
                                    alpha, beta_p, bias_r);
                    else
                      micro_kernel (kc, apack + (size_t) (ir - in_place) * kc, 1, MR, bp, cb,
                                    ldc, mr, nr, alpha, beta_p, bias_r);
                  }
            }
        }
    }
}

#pragma GCC pop_options

gboolean
uad_avx512_bf16_available (void)
{
  static int state = -1;
  int s = g_atomic_int_get (&state);
  if (s < 0)
    {
      __builtin_cpu_init ();
      s = __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512bf16");
      g_atomic_int_set (&state, s);
    }
  return s && uad_avx512_available ();
}

#else

gboolean
uad_avx512_bf16_available (void)
{
  return FALSE;
}

void
uad_avx512_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  const float *bias, float *c, int ldc, gboolean bf16)
{
  g_assert_not_reached ();
}

#endif
