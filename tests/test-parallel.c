/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"
#include "uad-gemm.h"
#include "uad-parallel.h"
#include "uad-tensor.h"

static void
mark_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  int *hits = ctx;
  for (int64_t i = begin; i < end; i++)
    g_atomic_int_inc (&hits[i]);
}

static void
test_every_index_once (void)
{
  for (int threads = 1; threads <= 3; threads++)
    {
      uad_parallel_set_threads (threads);
      for (int64_t n = 0; n < 40; n += 7)
        {
          int hits[40] = { 0 };
          uad_parallel_for (n, 1, mark_range, hits);
          for (int64_t i = 0; i < 40; i++)
            g_assert_cmpint (hits[i], ==, i < n ? 1 : 0);
        }
    }
  uad_parallel_set_threads (2);
}

typedef struct {
  int *hits;
  int threads;
  int bad_worker;
} Marks;

static void
mark_checked (int64_t begin, int64_t end, int worker, void *ctx)
{
  Marks *m = ctx;
  if (worker < 0 || worker >= m->threads)
    g_atomic_int_set (&m->bad_worker, 1);
  mark_range (begin, end, worker, m->hits);
}

/* Many short jobs back to back, some after a pause long enough for the workers to fall asleep:
 * every index of every job runs exactly once, on a worker index the pool has. */
static void
test_back_to_back_jobs (void)
{
  uad_parallel_set_threads (2);
  for (int round = 0; round < 4000; round++)
    {
      int hits[64] = { 0 };
      Marks m = { hits, 2, 0 };
      int64_t n = 2 + round % 63;
      if (round % 500 == 0)
        g_usleep (2000);
      uad_parallel_for (n, 1, mark_checked, &m);
      for (int64_t i = 0; i < 64; i++)
        g_assert_cmpint (hits[i], ==, i < n ? 1 : 0);
      g_assert_cmpint (m.bad_worker, ==, 0);
    }
}

static void
nested_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  int *hits = ctx;
  for (int64_t i = begin; i < end; i++)
    uad_parallel_for (10, 1, mark_range, hits + i * 10); /* runs serially in this thread */
}

static gpointer
caller_thread (gpointer data)
{
  int *hits = data;
  for (int round = 0; round < 300; round++)
    uad_parallel_for (50, 1, mark_range, hits);
  return NULL;
}

/* A loop inside a loop, and two threads using the pool at once: both run serially where the
 * pool is taken, and still cover every index once. */
static void
test_nested_and_concurrent (void)
{
  uad_parallel_set_threads (2);
  int nested[200] = { 0 };
  uad_parallel_for (20, 1, nested_range, nested);
  for (int i = 0; i < 200; i++)
    g_assert_cmpint (nested[i], ==, 1);

  int a[50] = { 0 }, b[50] = { 0 };
  GThread *ta = g_thread_new ("caller-a", caller_thread, a);
  GThread *tb = g_thread_new ("caller-b", caller_thread, b);
  g_thread_join (ta);
  g_thread_join (tb);
  for (int i = 0; i < 50; i++)
    {
      g_assert_cmpint (a[i], ==, 300);
      g_assert_cmpint (b[i], ==, 300);
    }
}

static void
naive_gemm (gboolean ta, gboolean tb, int m, int n, int k, const float *a, const float *b, float *c)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      {
        double s = 0;
        for (int p = 0; p < k; p++)
          s += (double) (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
        c[i * n + j] = (float) s;
      }
}

static void
test_gemm_matches_naive (void)
{
  const int shapes[][3] = { { 1, 1, 1 }, { 7, 300, 13 }, { 301, 5, 17 }, { 64, 96, 128 }, { 130, 129, 31 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int t = 0; t < 4; t++)
      {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        gboolean ta = t & 1, tb = t & 2;
        float *a = uad_alloc_floats ((size_t) m * k), *b = uad_alloc_floats ((size_t) k * n);
        float *c = uad_alloc_floats ((size_t) m * n), *want = uad_alloc_floats ((size_t) m * n);
        uad_test_fill_random (a, (int64_t) m * k, -1, 1, 1 + s);
        uad_test_fill_random (b, (int64_t) k * n, -1, 1, 100 + s);
        naive_gemm (ta, tb, m, n, k, a, b, want);
        uad_sgemm (ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
        uad_test_assert_close ("sgemm", c, want, (int64_t) m * n, 1e-5);
        float *bias = uad_alloc_floats ((size_t) n);
        uad_test_fill_random (bias, n, -1, 1, 200 + s);
        for (int i = 0; i < m * n; i++)
          want[i] += bias[i % n];
        uad_sgemm_bias (ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, bias, c, n);
        uad_test_assert_close ("sgemm + bias", c, want, (int64_t) m * n, 1e-5);
        uad_free_aligned (bias);
        uad_free_aligned (a), uad_free_aligned (b), uad_free_aligned (c), uad_free_aligned (want);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/every-index-once", test_every_index_once);
  g_test_add_func ("/parallel/back-to-back-jobs", test_back_to_back_jobs);
  g_test_add_func ("/parallel/nested-and-concurrent", test_nested_and_concurrent);
  g_test_add_func ("/parallel/gemm-matches-naive", test_gemm_matches_naive);
  return g_test_run ();
}
