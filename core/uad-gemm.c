/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-gemm.h"

#include "uad-gemm-avx512.h"
#include "uad-ops-private.h"
#include "uad-parallel.h"

#include <cblas.h>
#include <string.h>

typedef struct {
  gboolean trans_a, trans_b, split_n, bf16;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b, *bias;
  float *c;
} Gemm;

/* Slices of at least this many rows/columns keep every call big enough to be efficient. */
#define MIN_SLICE 16
/* Below this many multiply-adds a single call is faster than waking the pool. */
#define MIN_PARALLEL_MACS (64 * 64 * 64)

static int bf16_products; /* uad_gemm_set_bf16 */

gboolean
uad_gemm_set_bf16 (gboolean enabled)
{
  gboolean on = enabled && uad_gemm_uses_avx512 () && uad_avx512_bf16_available ();
  g_atomic_int_set (&bf16_products, on);
  return on;
}

gboolean
uad_gemm_get_bf16 (void)
{
  return g_atomic_int_get (&bf16_products);
}

/* The AVX-512 kernels unless the CPU lacks them or UNIAD_GEMM=blas asks for OpenBLAS. */
gboolean
uad_gemm_uses_avx512 (void)
{
  static int forced_blas = -1;
  int blas = g_atomic_int_get (&forced_blas);
  if (blas < 0)
    {
      blas = g_strcmp0 (g_getenv ("UNIAD_GEMM"), "blas") == 0;
      g_atomic_int_set (&forced_blas, blas);
    }
  return !blas && uad_avx512_available ();
}

static void
gemm_slice (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Gemm *g = ctx;
  /* Ranges count MIN_SLICE-wide tiles so slices stay aligned to vector width. */
  int lo = (int) begin * MIN_SLICE;
  int hi = (int) MIN (end * MIN_SLICE, (int64_t) (g->split_n ? g->n : g->m));
  if (lo >= hi)
    return;
  int m = g->m, n = g->n;
  const float *a = g->a, *b = g->b, *bias = g->bias;
  float *c = g->c;
  if (g->split_n)
    {
      n = hi - lo;
      b += g->trans_b ? (size_t) lo * g->ldb : (size_t) lo;
      c += lo;
      bias = bias != NULL ? bias + lo : NULL;
    }
  else
    {
      m = hi - lo;
      a += g->trans_a ? (size_t) lo : (size_t) lo * g->lda;
      c += (size_t) lo * g->ldc;
    }
  if (uad_gemm_uses_avx512 ())
    {
      /* The kernel adds the bias as it stores C: no separate pass over C. */
      uad_avx512_sgemm (g->trans_a, g->trans_b, m, n, g->k, g->alpha, a, g->lda, b, g->ldb,
                        g->beta, bias, c, g->ldc, g->bf16);
      return;
    }
  float beta = g->beta;
  if (bias != NULL)
    {
      for (int r = 0; r < m; r++)
        memcpy (c + (size_t) r * g->ldc, bias, (size_t) n * sizeof (float));
      beta = 1.0f;
    }
  cblas_sgemm (CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
               g->trans_b ? CblasTrans : CblasNoTrans, m, n, g->k, g->alpha, a, g->lda, b, g->ldb,
               beta, c, g->ldc);
}

static void
run_gemm (Gemm *g)
{
  if (g->m <= 0 || g->n <= 0)
    return;
  int64_t side = g->split_n ? g->n : g->m;
  int64_t tiles = (side + MIN_SLICE - 1) / MIN_SLICE;
  if ((int64_t) g->m * g->n * g->k < MIN_PARALLEL_MACS)
    gemm_slice (0, tiles, 0, g);
  else
    {
      /* One slice per thread: each slice is a call that packs all of the other operand. */
      int threads = uad_parallel_get_threads ();
      uad_parallel_for (tiles, MAX (tiles / threads, (int64_t) 1), gemm_slice, g);
    }
}

void
uad_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
           float alpha, const float *a, int lda, const float *b, int ldb,
           float beta, float *c, int ldc)
{
  Gemm g = { trans_a, trans_b, n >= m, g_atomic_int_get (&bf16_products), m, n, k, lda, ldb,
             ldc, alpha, beta, a, b, NULL, c };
  run_gemm (&g);
}

void
uad_sgemm_bias (gboolean trans_a, gboolean trans_b, int m, int n, int k, const float *a,
                int lda, const float *b, int ldb, const float *bias, float *c, int ldc)
{
  Gemm g = { trans_a, trans_b, n >= m, g_atomic_int_get (&bf16_products), m, n, k, lda, ldb,
             ldc, 1.0f, 0.0f, a, b, bias, c };
  run_gemm (&g);
}
