/* SPDX-License-Identifier: Apache-2.0 */
/* uad-gemm.h: single-precision matrix product on the core's thread pool.
 *
 * Row-major, BLAS semantics: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, where op
 * transposes when trans_* is TRUE. The product is cut into one slice per compute thread (along
 * N when N is the larger side, else along M), following the policy in uad-parallel.h. Each slice
 * is one single-threaded call of the core's own AVX-512 kernel (uad-gemm-avx512.h) when the CPU
 * has AVX-512, else of cblas_sgemm. UNIAD_GEMM=blas in the environment (read once) forces
 * cblas_sgemm, to compare the two; the results differ only by rounding. */
#pragma once

#include <glib.h>

void uad_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
                float alpha, const float *a, int lda, const float *b, int ldb,
                float beta, float *c, int ldc);

/* C[M,N] = op(A) op(B) + bias[N] on every row: each slice writes its part of the bias into C
 * before its product, so the broadcast runs in parallel too and replaces the zeroing of C. */
void uad_sgemm_bias (gboolean trans_a, gboolean trans_b, int m, int n, int k, const float *a,
                     int lda, const float *b, int ldb, const float *bias, float *c, int ldc);

/* TRUE when products run on the core's AVX-512 kernel, FALSE when on cblas_sgemm (for figures
 * that name the kernels). */
gboolean uad_gemm_uses_avx512 (void);

/* Products with bf16 operands (uad-gemm-avx512.h: rounded to 8 bits of precision, fp32 sums,
 * about twice the speed) when enabled is TRUE and the CPU has AVX512_BF16; returns whether they
 * are now on. Off by default. Process-wide (products started inside the pool's workers must
 * follow it too): meant for a training loop, which turns it on for its steps and off again
 * before anything that needs fp32 products (inference, validation, scoring). */
gboolean uad_gemm_set_bf16 (gboolean enabled);
gboolean uad_gemm_get_bf16 (void);
