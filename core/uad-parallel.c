/* SPDX-License-Identifier: Apache-2.0 */
/* The pool hands out a loop's chunks by claims, not by fixed assignment: whichever thread is
 * free takes the next chunk. A worker that wakes late, or was preempted by another process,
 * then costs only the parallelism it did not provide; the caller never waits for a chunk
 * nobody has started. A worker that finishes spins briefly before sleeping, because a forward
 * pass starts its next loop within tens of microseconds, far sooner than a sleeping thread
 * wakes on a virtual machine. */
#include "uad-parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#define MAX_THREADS 64
/* How long an idle thread polls before it sleeps: longer than the gaps between the loops of a
 * forward pass, short enough not to take a core from other processes for long. */
#define SPIN_US 200
/* Chunks per thread, when the loop is long enough: claims then even out threads that started
 * late or run slower, at the price of a few more, smaller calls. */
#define CHUNKS_PER_THREAD 4
G_STATIC_ASSERT (MAX_THREADS * CHUNKS_PER_THREAD < 0x10000); /* chunk fields of the ticket */

typedef struct {
  UadRangeFunc fn;
  void *ctx;
  int64_t n;
  int chunks;
  int threads;
} Job;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static pthread_t workers[MAX_THREADS];
static int n_workers;    /* helper threads started (threads - 1) */
static int n_threads;    /* 0 until initialised */

/* The current job. Its fields are written by the caller before it publishes a new generation
 * and read by workers after they see it; a worker that read a job that has since been
 * replaced finds out when its claim fails, and drops what it read. */
static Job job;
static guint generation;           /* bumped for each job */
static guint64 ticket;             /* generation << 32 | chunks << 16 | next unclaimed chunk */
static int chunks_done;
static int sleepers;               /* workers asleep on work_cond */
static int caller_sleeping;        /* the caller is asleep on done_cond */
static __thread gboolean inside_worker;

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Polls until cond (ctx) holds or SPIN_US pass; TRUE when it holds. With yield, each poll
 * first offers the core to any other runnable thread: on a quiet machine that returns at once,
 * on a busy one the other process runs and the pool's caller carries on alone. */
static gboolean
spin_until (gboolean (*cond) (const void *), const void *ctx, gboolean yield)
{
  gint64 deadline = 0;
  for (int i = 1;; i++)
    {
      if (cond (ctx))
        return TRUE;
      if (yield)
        sched_yield ();
      else
        cpu_relax ();
      if (i % 64 == 0)
        {
          gint64 now = g_get_monotonic_time ();
          if (deadline == 0)
            deadline = now + SPIN_US;
          else if (now >= deadline)
            return FALSE;
        }
    }
}

/* Claims the next chunk of generation gen; FALSE when none is left (or gen is over). The
 * chunk count travels in the ticket: a worker's copy of the job may already hold the next
 * job's fields, and only a successful claim proves the copy is the job it claimed from. */
static gboolean
claim_chunk (guint gen, int *chunk)
{
  guint64 t = __atomic_load_n (&ticket, __ATOMIC_ACQUIRE);
  for (;;)
    {
      int chunks = (int) ((t >> 16) & 0xFFFFu), next = (int) (t & 0xFFFFu);
      if ((guint) (t >> 32) != gen || next >= chunks)
        return FALSE;
      if (__atomic_compare_exchange_n (&ticket, &t, t + 1, FALSE, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE))
        {
          *chunk = next;
          return TRUE;
        }
    }
}

/* Runs chunks of job j (generation gen) until none is left to claim. */
static void
run_claimed_chunks (const Job *j, guint gen, int worker)
{
  int chunk;
  while (claim_chunk (gen, &chunk))
    {
      int64_t begin = j->n * chunk / j->chunks;
      int64_t end = j->n * (chunk + 1) / j->chunks;
      if (begin < end)
        j->fn (begin, end, worker, j->ctx);
      if (__atomic_add_fetch (&chunks_done, 1, __ATOMIC_SEQ_CST) == j->chunks
          && __atomic_load_n (&caller_sleeping, __ATOMIC_SEQ_CST))
        {
          pthread_mutex_lock (&state_lock);
          pthread_cond_signal (&done_cond);
          pthread_mutex_unlock (&state_lock);
        }
    }
}

static gboolean
generation_moved (const void *seen)
{
  return __atomic_load_n (&generation, __ATOMIC_ACQUIRE) != *(const guint *) seen;
}

static void *
worker_main (void *arg)
{
  int index = GPOINTER_TO_INT (arg);
  guint seen = 0;
  inside_worker = TRUE;
  for (;;)
    {
      if (!spin_until (generation_moved, &seen, TRUE))
        {
          pthread_mutex_lock (&state_lock);
          __atomic_add_fetch (&sleepers, 1, __ATOMIC_SEQ_CST);
          while (__atomic_load_n (&generation, __ATOMIC_SEQ_CST) == seen)
            pthread_cond_wait (&work_cond, &state_lock);
          __atomic_sub_fetch (&sleepers, 1, __ATOMIC_SEQ_CST);
          pthread_mutex_unlock (&state_lock);
        }
      seen = __atomic_load_n (&generation, __ATOMIC_ACQUIRE);
      Job j = {
        __atomic_load_n (&job.fn, __ATOMIC_RELAXED), __atomic_load_n (&job.ctx, __ATOMIC_RELAXED),
        __atomic_load_n (&job.n, __ATOMIC_RELAXED), __atomic_load_n (&job.chunks, __ATOMIC_RELAXED),
        __atomic_load_n (&job.threads, __ATOMIC_RELAXED),
      };
      if (index < j.threads)
        run_claimed_chunks (&j, seen, index);
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

static gboolean
all_chunks_done (const void *chunks)
{
  return __atomic_load_n (&chunks_done, __ATOMIC_ACQUIRE) == *(const int *) chunks;
}

void
uad_parallel_for (int64_t n, int64_t min_chunk, UadRangeFunc fn, void *ctx)
{
  if (n <= 0)
    return;
  int threads = uad_parallel_get_threads ();
  int64_t by_size = min_chunk > 0 ? n / min_chunk : n;
  int chunks = (int) MIN ((int64_t) threads * CHUNKS_PER_THREAD, MAX (by_size, (int64_t) 1));

  if (threads <= 1 || chunks <= 1 || inside_worker || pthread_mutex_trylock (&pool_lock) != 0)
    {
      fn (0, n, 0, ctx);
      return;
    }

  /* Publish: the job, then its claims, then the generation that workers watch. */
  guint gen = generation + 1;
  __atomic_store_n (&job.fn, fn, __ATOMIC_RELAXED);
  __atomic_store_n (&job.ctx, ctx, __ATOMIC_RELAXED);
  __atomic_store_n (&job.n, n, __ATOMIC_RELAXED);
  __atomic_store_n (&job.chunks, chunks, __ATOMIC_RELAXED);
  __atomic_store_n (&job.threads, threads, __ATOMIC_RELAXED);
  __atomic_store_n (&chunks_done, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&ticket, (guint64) gen << 32 | (guint64) chunks << 16, __ATOMIC_RELEASE);
  __atomic_store_n (&generation, gen, __ATOMIC_SEQ_CST);
  if (__atomic_load_n (&sleepers, __ATOMIC_SEQ_CST) > 0)
    {
      pthread_mutex_lock (&state_lock);
      pthread_cond_broadcast (&work_cond);
      pthread_mutex_unlock (&state_lock);
    }

  Job j = { fn, ctx, n, chunks, threads };
  inside_worker = TRUE;
  run_claimed_chunks (&j, gen, 0);
  inside_worker = FALSE;

  /* Every chunk is claimed; wait for the ones other threads are still running. */
  if (!spin_until (all_chunks_done, &chunks, FALSE))
    {
      pthread_mutex_lock (&state_lock);
      __atomic_store_n (&caller_sleeping, 1, __ATOMIC_SEQ_CST);
      while (__atomic_load_n (&chunks_done, __ATOMIC_SEQ_CST) != chunks)
        pthread_cond_wait (&done_cond, &state_lock);
      __atomic_store_n (&caller_sleeping, 0, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock (&state_lock);
    }
  pthread_mutex_unlock (&pool_lock);
}
