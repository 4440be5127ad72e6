/* SPDX-License-Identifier: Apache-2.0 */
/* test-gemm.c: the matrix product (uad-gemm.h) and the core's AVX-512 kernel behind it
 * (uad-gemm-avx512.h) against a naive double-precision product, for every transpose
 * combination, odd and block-crossing sizes, alpha/beta variants, leading dimensions wider
 * than the matrices, and the bias.
 *
 * Tolerance: each element may differ from the exact value by (K + 2) 2^-23 times the sum of
 * the absolute values of its terms (|alpha| sum_k |a_ik b_kj| + |beta c_ij| + |bias_j|): twice
 * the worst-case bound of fp32 summation, so any summation order passes and any wrong or missed
 * term (an error of the order of the terms themselves) fails. Elements of C outside the product
 * (the padding of ldc) must keep their value, and beta == 0 must not read C (it holds NaN).
 * The bf16 paths are held to the same bound against the product of A and B rounded to bf16
 * (nearest even): products of bf16 numbers are exact in fp32, so only the sums may differ. */
#include "test-util.h"
#include "uad-gemm-avx512.h"
#include "uad-gemm.h"
#include "uad-ops-private.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

#define PAD_VALUE 12345.0f

typedef enum {
  KERNEL, /* uad_avx512_sgemm in the calling thread */
  POOL,   /* uad_sgemm on the thread pool, AVX-512 kernel */
  BLAS,   /* uad_sgemm on the thread pool, OpenBLAS (AVX-512 kernels turned off) */
  KERNEL_BF16, /* uad_avx512_sgemm with bf16 operands */
  POOL_BF16,   /* uad_sgemm on the thread pool after uad_gemm_set_bf16 (TRUE) */
} Path;

typedef struct {
  gboolean ta, tb;
  int m, n, k;
  float alpha, beta;
  int pad;        /* added to every leading dimension */
  gboolean bias;
} Case;

static void
run_path (Path path, const Case *t, const float *a, int lda, const float *b, int ldb,
          const float *bias, float *c, int ldc)
{
  switch (path)
    {
    case KERNEL:
    case KERNEL_BF16:
      uad_avx512_sgemm (t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, bias,
                        c, ldc, path == KERNEL_BF16);
      break;
    case POOL_BF16:
      g_assert_true (uad_gemm_set_bf16 (TRUE));
      if (bias != NULL)
        uad_sgemm_bias (t->ta, t->tb, t->m, t->n, t->k, a, lda, b, ldb, bias, c, ldc);
      else
        uad_sgemm (t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, ldc);
      g_assert_false (uad_gemm_set_bf16 (FALSE));
      break;
    case POOL:
    case BLAS:
      uad_avx512_set_enabled (path == POOL);
      if (bias != NULL)
        uad_sgemm_bias (t->ta, t->tb, t->m, t->n, t->k, a, lda, b, ldb, bias, c, ldc);
      else
        uad_sgemm (t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, ldc);
      uad_avx512_set_enabled (TRUE);
      break;
    }
}

/* x rounded to the nearest bf16, ties to even (finite x). */
static float
round_bf16 (float x)
{
  guint32 u;
  memcpy (&u, &x, sizeof u);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  memcpy (&x, &u, sizeof u);
  return x;
}

static void
check_case (Path path, const Case *t, guint32 seed)
{
  /* Stored shapes: op(A) is m x k, so A is k x m when transposed. */
  int a_rows = t->ta ? t->k : t->m, a_cols = t->ta ? t->m : t->k;
  int b_rows = t->tb ? t->n : t->k, b_cols = t->tb ? t->k : t->n;
  int lda = MAX (a_cols, 1) + t->pad, ldb = MAX (b_cols, 1) + t->pad, ldc = t->n + t->pad;
  g_autofree float *a = g_new (float, (size_t) a_rows * lda + 1);
  g_autofree float *b = g_new (float, (size_t) b_rows * ldb + 1);
  g_autofree float *c = g_new (float, (size_t) t->m * ldc);
  g_autofree float *bias = g_new (float, t->n);
  uad_test_fill_random (a, (int64_t) a_rows * lda, -1, 1, seed);
  uad_test_fill_random (b, (int64_t) b_rows * ldb, -1, 1, seed + 1);
  uad_test_fill_random (c, (int64_t) t->m * ldc, -1, 1, seed + 2);
  uad_test_fill_random (bias, t->n, -1, 1, seed + 3);
  g_autofree float *c0 = g_memdup2 (c, (size_t) t->m * ldc * sizeof (float));
  for (int i = 0; i < t->m; i++)
    for (int j = 0; j < ldc; j++)
      if (j >= t->n)
        c[(size_t) i * ldc + j] = PAD_VALUE;
      else if (t->beta == 0.0f)
        c[(size_t) i * ldc + j] = NAN;

  run_path (path, t, a, lda, b, ldb, t->bias ? bias : NULL, c, ldc);
  /* The reference multiplies what the bf16 paths multiply. */
  if (path == KERNEL_BF16 || path == POOL_BF16)
    {
      for (size_t i = 0; i < (size_t) a_rows * lda; i++)
        a[i] = round_bf16 (a[i]);
      for (size_t i = 0; i < (size_t) b_rows * ldb; i++)
        b[i] = round_bf16 (b[i]);
    }

  double tol = (t->k + 2) * ldexp (1.0, -23);
  for (int i = 0; i < t->m; i++)
    for (int j = 0; j < ldc; j++)
      {
        float got = c[(size_t) i * ldc + j];
        if (j >= t->n)
          {
            if (got != PAD_VALUE)
              g_error ("path %d %s%s m=%d n=%d k=%d: padding C[%d, %d] overwritten with %g",
                       path, t->ta ? "T" : "N", t->tb ? "T" : "N", t->m, t->n, t->k, i, j, got);
            continue;
          }
        double sum = 0, mag = 0;
        for (int p = 0; p < t->k; p++)
          {
            double x = t->ta ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p];
            double y = t->tb ? b[(size_t) j * ldb + p] : b[(size_t) p * ldb + j];
            sum += x * y;
            mag += fabs (x * y);
          }
        double want = t->alpha * sum, scale = fabs (t->alpha) * mag;
        if (t->beta != 0.0f)
          {
            want += t->beta * (double) c0[(size_t) i * ldc + j];
            scale += fabs (t->beta * (double) c0[(size_t) i * ldc + j]);
          }
        if (t->bias)
          {
            want += bias[j];
            scale += fabs (bias[j]);
          }
        if (!(fabs (got - want) <= tol * scale + 1e-30))
          g_error ("path %d %s%s m=%d n=%d k=%d alpha=%g beta=%g pad=%d bias=%d: C[%d, %d] = %.9g,"
                   " want %.9g (error %.3g, allowed %.3g)",
                   path, t->ta ? "T" : "N", t->tb ? "T" : "N", t->m, t->n, t->k, t->alpha,
                   t->beta, t->pad, t->bias, i, j, got, want, fabs (got - want), tol * scale);
      }
}

static gboolean
skip_without_avx512 (Path path)
{
  if (path != BLAS && !uad_avx512_available ())
    {
      g_test_skip ("no AVX-512 on this CPU");
      return TRUE;
    }
  if ((path == KERNEL_BF16 || path == POOL_BF16) && !uad_avx512_bf16_available ())
    {
      g_test_skip ("no AVX512_BF16 on this CPU");
      return TRUE;
    }
  return FALSE;
}

/* Every transpose combination over odd sizes that cut the 14 x 32 register blocks and the
 * 16-wide packing transposes anywhere, cycling alpha, beta and the padding of the leading
 * dimensions. */
static void
test_small_sizes (gconstpointer data)
{
  Path path = GPOINTER_TO_INT (data);
  if (skip_without_avx512 (path))
    return;
  static const int sizes[] = { 1, 7, 15, 17, 33, 100 };
  static const float alphas[] = { 1.0f, -0.5f, 2.0f };
  static const float betas[] = { 0.0f, 1.0f, 0.75f, 0.0f };
  static const int pads[] = { 0, 3, 16, 1, 0 };
  guint32 n_case = 0;
  for (int trans = 0; trans < 4; trans++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      for (guint j = 0; j < G_N_ELEMENTS (sizes); j++)
        for (guint l = 0; l < G_N_ELEMENTS (sizes); l++, n_case++)
          {
            Case t = { trans & 1, trans >> 1, sizes[i], sizes[j], sizes[l],
                       alphas[n_case % G_N_ELEMENTS (alphas)],
                       betas[n_case % G_N_ELEMENTS (betas)], pads[n_case % G_N_ELEMENTS (pads)],
                       FALSE };
            check_case (path, &t, n_case * 4);
          }
}

/* The transformer's shapes at batch 8 (1568 tokens), and shapes that cross the kernel's K, M
 * and N blocks (256, 336, 2048) with edges. */
static void
test_large_sizes (gconstpointer data)
{
  Path path = GPOINTER_TO_INT (data);
  if (skip_without_avx512 (path))
    return;
  static const Case cases[] = {
    { FALSE, TRUE, 1568, 256, 168, 1.0f, 0.0f, 0, FALSE },   /* linear forward, NT */
    { FALSE, FALSE, 1568, 168, 256, 1.0f, 1.0f, 0, FALSE },  /* linear dX, NN */
    { TRUE, FALSE, 256, 168, 1568, 1.0f, 1.0f, 0, FALSE },   /* linear dW, TN */
    { TRUE, TRUE, 300, 70, 530, -1.5f, 0.5f, 5, FALSE },
    { FALSE, FALSE, 400, 40, 20, 1.0f, 0.0f, 2, FALSE },
    { TRUE, FALSE, 20, 2100, 33, 0.5f, 1.0f, 7, FALSE },
    { FALSE, TRUE, 15, 2090, 600, 1.0f, 0.0f, 0, FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_case (path, &cases[i], 1000 + i * 4);
}

/* C = op(A) op(B) + bias on C full of NaN, for the pool's split along M and along N. */
static void
test_bias (gconstpointer data)
{
  Path path = GPOINTER_TO_INT (data);
  if (skip_without_avx512 (path))
    return;
  static const Case cases[] = {
    { FALSE, TRUE, 1568, 256, 168, 1.0f, 0.0f, 0, TRUE },
    { FALSE, TRUE, 33, 500, 70, 1.0f, 0.0f, 3, TRUE },
    { TRUE, FALSE, 17, 15, 7, 1.0f, 0.0f, 1, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_case (path, &cases[i], 2000 + i * 4);
}

/* alpha == 0 or K == 0: C = beta C, and A and B are not read (BLAS semantics: NaN there does
 * not reach C). */
static void
test_no_product (gconstpointer data)
{
  Path path = GPOINTER_TO_INT (data);
  if (skip_without_avx512 (path))
    return;
  float a[40], b[40], c[40], bias[8];
  for (int i = 0; i < 40; i++)
    a[i] = b[i] = NAN;
  for (int i = 0; i < 8; i++)
    bias[i] = (float) i;
  Case t = { FALSE, FALSE, 5, 8, 5, 0.0f, 0.5f, 0, FALSE };
  for (int i = 0; i < 40; i++)
    c[i] = (float) i;
  run_path (path, &t, a, 5, b, 8, NULL, c, 8);
  for (int i = 0; i < 40; i++)
    g_assert_cmpfloat (c[i], ==, 0.5f * i);
  t = (Case) { FALSE, FALSE, 5, 8, 0, 1.0f, 0.0f, 0, TRUE };
  for (int i = 0; i < 40; i++)
    c[i] = NAN;
  run_path (path, &t, a, 1, b, 8, bias, c, 8);
  for (int i = 0; i < 40; i++)
    g_assert_cmpfloat (c[i], ==, (float) (i % 8));
}

static void
add_tests (const char *name, GTestDataFunc fn)
{
  static const char *const paths[] = { "kernel", "pool", "blas", "kernel-bf16", "pool-bf16" };
  for (int p = KERNEL; p <= POOL_BF16; p++)
    {
      g_autofree char *path = g_strdup_printf ("/gemm/%s/%s", name, paths[p]);
      g_test_add_data_func (path, GINT_TO_POINTER (p), fn);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  uad_parallel_set_threads (2);
  add_tests ("small-sizes", test_small_sizes);
  add_tests ("large-sizes", test_large_sizes);
  add_tests ("bias", test_bias);
  add_tests ("no-product", test_no_product);
  return g_test_run ();
}
