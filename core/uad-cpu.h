/* SPDX-License-Identifier: Apache-2.0 */
/* uad-cpu.h: make OpenBLAS use the vector kernels this CPU has.
 *
 * OpenBLAS picks its kernels from the CPU model number when the library loads. Virtual
 * machines often report a generic model, and OpenBLAS then falls back to its SSE3 ("Prescott")
 * kernels, 2-3x slower than the AVX2/AVX-512 ones the CPU runs. The choice can only be changed
 * through OPENBLAS_CORETYPE before the library loads, so a program calls this first thing in
 * main(): when OpenBLAS chose a generic kernel although the CPU supports AVX2 or AVX-512, it
 * restarts the program (execv of /proc/self/exe with the same argv) with OPENBLAS_CORETYPE
 * set. A value the user already set is always respected, and any failure just continues. */
#pragma once

void uad_cpu_select_blas_kernels (char **argv);
