/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#define MAX_THREADS 64

typedef struct {
  UadRangeFunc fn;
  void *ctx;
  int64_t n;
  int chunks;
} Job;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static pthread_t workers[MAX_THREADS];
static int n_workers;    /* helper threads started (threads - 1) */
static int n_threads;    /* 0 until initialised */
static guint64 generation;
static int pending;
static Job job;
static __thread gboolean inside_worker;

static void
run_chunk (const Job *j, int chunk)
{
  int64_t begin = j->n * chunk / j->chunks;
  int64_t end = j->n * (chunk + 1) / j->chunks;
  if (begin < end)
    j->fn (begin, end, chunk, j->ctx);
}

static void *
worker_main (void *arg)
{
  int index = GPOINTER_TO_INT (arg);
  guint64 seen = 0;
  inside_worker = TRUE;
  for (;;)
    {
      pthread_mutex_lock (&state_lock);
      while (generation == seen)
        pthread_cond_wait (&work_cond, &state_lock);
      seen = generation;
      Job j = job;
      pthread_mutex_unlock (&state_lock);

      if (index < j.chunks)
        run_chunk (&j, index);

      pthread_mutex_lock (&state_lock);
      if (--pending == 0)
        pthread_cond_signal (&done_cond);
      pthread_mutex_unlock (&state_lock);
    }
  return NULL;
}

static void
start_workers (int wanted)
{
  while (n_workers < wanted - 1 && n_workers < MAX_THREADS - 1)
    {
      if (pthread_create (&workers[n_workers], NULL, worker_main, GINT_TO_POINTER (n_workers + 1)) != 0)
        break; /* fewer threads is slower, not wrong */
      pthread_detach (workers[n_workers]);
      n_workers++;
    }
}

static void
ensure_init (void)
{
  if (g_atomic_int_get (&n_threads) > 0)
    return;
  const char *env = g_getenv ("UNIAD_THREADS");
  int n = env ? atoi (env) : (int) g_get_num_processors ();
  uad_parallel_set_threads (n);
}

void
uad_parallel_set_threads (int n)
{
  n = CLAMP (n, 1, MAX_THREADS);
  pthread_mutex_lock (&pool_lock);
  openblas_set_num_threads (1);
  start_workers (n);
  g_atomic_int_set (&n_threads, MIN (n, n_workers + 1));
  pthread_mutex_unlock (&pool_lock);
}

int
uad_parallel_get_threads (void)
{
  ensure_init ();
  return g_atomic_int_get (&n_threads);
}

void
uad_parallel_for (int64_t n, int64_t min_chunk, UadRangeFunc fn, void *ctx)
{
  if (n <= 0)
    return;
  int threads = uad_parallel_get_threads ();
  int64_t by_size = min_chunk > 0 ? n / min_chunk : n;
  int chunks = (int) MIN ((int64_t) threads, MAX (by_size, (int64_t) 1));

  if (chunks <= 1 || inside_worker || pthread_mutex_trylock (&pool_lock) != 0)
    {
      fn (0, n, 0, ctx);
      return;
    }

  pthread_mutex_lock (&state_lock);
  job = (Job) { fn, ctx, n, chunks };
  pending = n_workers;
  generation++;
  pthread_cond_broadcast (&work_cond);
  pthread_mutex_unlock (&state_lock);

  inside_worker = TRUE;
  run_chunk (&job, 0);
  inside_worker = FALSE;

  pthread_mutex_lock (&state_lock);
  while (pending > 0)
    pthread_cond_wait (&done_cond, &state_lock);
  pthread_mutex_unlock (&state_lock);
  pthread_mutex_unlock (&pool_lock);
}
