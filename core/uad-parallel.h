/* SPDX-License-Identifier: Apache-2.0 */
/* uad-parallel.h: the process's one threading policy.
 *
 * The core owns a small pool of compute threads (default: one per core, or UNIAD_THREADS, or
 * uad_parallel_set_threads). OpenBLAS is pinned to one thread and is called *inside* our
 * workers on disjoint slices (uad-gemm.h), so the machine never runs more compute threads than
 * cores: no OpenBLAS pool spinning against ours. A parallel loop started from inside a worker, or
 * while another thread is using the pool, runs serially in the calling thread instead of waiting
 * or oversubscribing. */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Body of a parallel loop: handle indices [begin, end); worker is 0..threads-1. */
typedef void (*UadRangeFunc) (int64_t begin, int64_t end, int worker, void *ctx);

/* Set the number of compute threads (>= 1); call before work starts, or between jobs. */
void uad_parallel_set_threads (int n_threads);
int uad_parallel_get_threads (void);

/* Split [0, n) into contiguous ranges, up to four per thread and none smaller than min_chunk
 * (so small loops stay serial), and run fn on each as threads come free; returns when all are
 * done. A caller that wants about one range per thread passes n / threads as min_chunk. */
void uad_parallel_for (int64_t n, int64_t min_chunk, UadRangeFunc fn, void *ctx);
