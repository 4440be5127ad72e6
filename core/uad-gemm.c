/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-gemm.h"

#include "uad-parallel.h"

#include <cblas.h>
#include <string.h>

typedef struct {
  gboolean trans_a, trans_b, split_n;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b, *bias;
  float *c;
} Gemm;

/* Slices of at least this many rows/columns keep every call big enough to be efficient. */
#define MIN_SLICE 16
/* Below this many multiply-adds a single call is faster than waking the pool. */
#define MIN_PARALLEL_MACS (64 * 64 * 64)

static void
gemm_slice (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Gemm *g = ctx;
  /* Ranges count MIN_SLICE-wide tiles so slices stay aligned to vector width. */
  int lo = (int) begin * MIN_SLICE;
  int hi = (int) MIN (end * MIN_SLICE, (int64_t) (g->split_n ? g->n : g->m));
  if (lo >= hi)
    return;
  if (g->bias != NULL)
    {
      int r0 = g->split_n ? 0 : lo, r1 = g->split_n ? g->m : hi;
      int c0 = g->split_n ? lo : 0, c1 = g->split_n ? hi : g->n;
      for (int r = r0; r < r1; r++)
        memcpy (g->c + (size_t) r * g->ldc + c0, g->bias + c0, (size_t) (c1 - c0) * sizeof (float));
    }
  if (g->split_n)
    {
      const float *b = g->trans_b ? g->b + (size_t) lo * g->ldb : g->b + lo;
      cblas_sgemm (CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                   g->trans_b ? CblasTrans : CblasNoTrans, g->m, hi - lo, g->k, g->alpha,
                   g->a, g->lda, b, g->ldb, g->beta, g->c + lo, g->ldc);
    }
  else
    {
      const float *a = g->trans_a ? g->a + lo : g->a + (size_t) lo * g->lda;
      cblas_sgemm (CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                   g->trans_b ? CblasTrans : CblasNoTrans, hi - lo, g->n, g->k, g->alpha,
                   a, g->lda, g->b, g->ldb, g->beta, g->c + (size_t) lo * g->ldc, g->ldc);
    }
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
  Gemm g = { trans_a, trans_b, n >= m, m, n, k, lda, ldb, ldc, alpha, beta, a, b, NULL, c };
  run_gemm (&g);
}

void
uad_sgemm_bias (gboolean trans_a, gboolean trans_b, int m, int n, int k, const float *a,
                int lda, const float *b, int ldb, const float *bias, float *c, int ldc)
{
  Gemm g = { trans_a, trans_b, n >= m, m, n, k, lda, ldb, ldc, 1.0f, 1.0f, a, b, bias, c };
  run_gemm (&g);
}
