/* SPDX-License-Identifier: Apache-2.0 */
/* uad-gemm-avx512.h: the core's own single-threaded AVX-512 fp32 matrix product, used by
 * uad-gemm.c for each thread's slice when the CPU has AVX-512 (private to the core).
 *
 * Same contract as cblas_sgemm, row-major: C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, then
 * + bias[N] on every row when bias is not NULL. beta == 0 never reads C (NaN there does not
 * propagate); alpha == 0 or K == 0 never reads A or B. Any M, N, K >= 0 and any leading
 * dimensions at least the stored widths. Results differ from OpenBLAS only by rounding (sums in
 * a different order). The packing buffers belong to the calling thread: calls from different
 * threads run concurrently, and nothing is allocated after a thread's first call.
 *
 * With bf16, A and B are rounded to bfloat16 (nearest even) as they are packed and multiplied
 * with AVX512_BF16 dot products, accumulating in fp32: twice the multiply-adds per instruction,
 * at 8 bits of operand precision (training only, see uad_gemm_set_bf16). */
#pragma once

#include <glib.h>

/* Call only when uad_avx512_available () (uad-ops-private.h), and with bf16 only when
 * uad_avx512_bf16_available (). */
void uad_avx512_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta,
                       const float *bias, float *c, int ldc, gboolean bf16);

/* The CPU has AVX512_BF16 (and the AVX-512 kernels are on). */
gboolean uad_avx512_bf16_available (void);
