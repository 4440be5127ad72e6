/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-layers.h"

#include "uad-gemm.h"
#include "uad-ops-private.h"
#include "uad-ops.h"
#include "uad-parallel.h"
#include "uad-tensor.h"

#include <math.h>
#include <string.h>

/* Parallel loops hand each thread at least this many floats of work: waking the pool costs
 * more than smaller loops take (they run serially, as in small models). */
#define MIN_ELEMS 16384

/* Minimum chunk for a loop whose items cost `cost` floats of work each. */
static int64_t
chunk_for (int64_t cost)
{
  return MAX ((int64_t) 1, MIN_ELEMS / MAX (cost, (int64_t) 1));
}

/* ---- Random numbers ---------------------------------------------------------------------- */

#define GOLDEN_GAMMA G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)

UAD_ALWAYS_INLINE guint64
rng_at (guint64 seed, guint64 index)
{
  guint64 z = seed + (index + 1) * GOLDEN_GAMMA;
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the top 24 bits: exact in float. */
UAD_ALWAYS_INLINE float
bits_to_unit (guint64 bits)
{
  return (float) (bits >> 40) * (1.0f / 16777216.0f);
}

void
uad_rng_init (UadRng *rng, guint64 seed)
{
  rng->seed = seed;
  rng->counter = 0;
}

guint64
uad_rng_next (UadRng *rng)
{
  return rng_at (rng->seed, rng->counter++);
}

typedef struct {
  guint64 seed, base;
  float *out;
  guint8 *keep;
  float lo, span, p;
  int64_t n;          /* dropout: elements */
  guint32 threshold;  /* dropout: an element is kept when its 16 bits are at least this */
} Fill;

UAD_VECTOR_CLONES static void
fill_uniform_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Fill *f = ctx;
  for (int64_t i = begin; i < end; i++)
    f->out[i] = f->lo + f->span * bits_to_unit (rng_at (f->seed, f->base + (guint64) i));
}

void
uad_rng_uniform (UadRng *rng, float *out, int64_t n, float lo, float hi)
{
  Fill f = { .seed = rng->seed, .base = rng->counter, .out = out, .lo = lo, .span = hi - lo };
  uad_parallel_for (n, MIN_ELEMS, fill_uniform_range, &f);
  rng->counter += (guint64) n;
}

static void
fill_normal_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Fill *f = ctx;
  for (int64_t i = begin; i < end; i++)
    {
      guint64 bits = rng_at (f->seed, f->base + (guint64) i);
      double u1 = ((double) (bits >> 32) + 1.0) * (1.0 / 4294967296.0); /* (0, 1]: log is finite */
      double u2 = (double) (bits & 0xffffffffu) * (1.0 / 4294967296.0);
      f->out[i] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
    }
}

void
uad_rng_normal (UadRng *rng, float *out, int64_t n)
{
  Fill f = { .seed = rng->seed, .base = rng->counter, .out = out };
  uad_parallel_for (n, MIN_ELEMS, fill_normal_range, &f);
  rng->counter += (guint64) n;
}

/* Dropout decisions come four to a draw: element i is decided by lane i % 4 (16 bits) of draw
 * i / 4, and kept when those bits are at least p * 65536, so p is resolved to 1/65536. One
 * hash per element was a sixth of a training step. */
#define KEEPS_PER_DRAW 4

typedef enum {
  DROP_KEEP_ONLY,    /* keep[i] = decision */
  DROP_SCALE,        /* keep[i] = decision; out[i] = decision ? out[i] / (1-p) : 0 */
  DROP_RELU_SCALE,   /* out[i] = decision ? max(out[i], 0) / (1-p) : 0, no keep */
} DropMode;

UAD_ALWAYS_INLINE void
drop_element (float *restrict out, guint8 *restrict keep, int64_t i, guint64 bits, int lane,
              guint32 threshold, float scale, DropMode mode)
{
  guint8 k = ((bits >> (16 * lane)) & 0xFFFFu) >= threshold;
  switch (mode)
    {
    case DROP_KEEP_ONLY:
      keep[i] = k;
      break;
    case DROP_SCALE:
      keep[i] = k;
      out[i] = k ? out[i] * scale : 0.0f;
      break;
    case DROP_RELU_SCALE:
      out[i] = k && out[i] > 0.0f ? out[i] * scale : 0.0f;
      break;
    }
}

/* Draws [begin, end) of the n / 4 rounded up: the full ones without bounds checks, so they
 * vectorise, then the last, partial one. */
UAD_ALWAYS_INLINE void
drop_draws (const Fill *f, int64_t begin, int64_t end, DropMode mode)
{
  float *restrict out = f->out;
  guint8 *restrict keep = f->keep;
  guint64 seed = f->seed, base = f->base;
  guint32 threshold = f->threshold;
  float scale = 1.0f / (1.0f - f->p);
  int64_t full = MIN (end, f->n / KEEPS_PER_DRAW);
  for (int64_t d = begin; d < full; d++)
    {
      guint64 bits = rng_at (seed, base + (guint64) d);
      for (int lane = 0; lane < KEEPS_PER_DRAW; lane++)
        drop_element (out, keep, d * KEEPS_PER_DRAW + lane, bits, lane, threshold, scale, mode);
    }
  for (int64_t d = MAX (begin, full); d < end; d++)
    {
      guint64 bits = rng_at (seed, base + (guint64) d);
      for (int lane = 0; lane < KEEPS_PER_DRAW && d * KEEPS_PER_DRAW + lane < f->n; lane++)
        drop_element (out, keep, d * KEEPS_PER_DRAW + lane, bits, lane, threshold, scale, mode);
    }
}

UAD_VECTOR_CLONES static void
keep_only_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  drop_draws (ctx, begin, end, DROP_KEEP_ONLY);
}

UAD_VECTOR_CLONES static void
dropout_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  drop_draws (ctx, begin, end, DROP_SCALE);
}

UAD_VECTOR_CLONES static void
relu_dropout_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  drop_draws (ctx, begin, end, DROP_RELU_SCALE);
}

/* Runs one of the ranges above over n elements, with the next draws of rng. */
static void
run_dropout (UadRng *rng, float p, float *out, guint8 *keep, int64_t n, UadRangeFunc range)
{
  int64_t draws = (n + KEEPS_PER_DRAW - 1) / KEEPS_PER_DRAW;
  Fill f = { .seed = rng->seed, .base = rng->counter, .out = out, .keep = keep, .p = p, .n = n,
             .threshold = (guint32) MIN (lrintf (p * 65536.0f), 65536L) };
  uad_parallel_for (draws, MIN_ELEMS / KEEPS_PER_DRAW, range, &f);
  rng->counter += (guint64) draws;
}

/* keep[i] = 1 with probability 1 - p. */
static void
draw_keep (UadRng *rng, float p, guint8 *keep, int64_t n)
{
  run_dropout (rng, p, NULL, keep, n, keep_only_range);
}

/* ---- Shared loops ------------------------------------------------------------------------ */

typedef struct {
  const float *x;
  float *y;
  const float *v;
  int rows, cols, batch;
} RowOp;

UAD_VECTOR_CLONES static void
col_sums_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const RowOp *o = ctx;
  for (int64_t r = 0; r < o->rows; r++)
    {
      const float *x = o->x + r * o->cols;
      for (int64_t j = begin; j < end; j++)
        o->y[j] += x[j];
    }
}

/* out[j] += sum over rows of x[r, j]; threads own disjoint column ranges. */
static void
col_sums_add (const float *x, int rows, int cols, float *out)
{
  RowOp o = { .x = x, .y = out, .rows = rows, .cols = cols };
  uad_parallel_for (cols, chunk_for (rows), col_sums_range, &o);
}

static void
add_broadcast_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const RowOp *o = ctx;
  for (int64_t t = begin; t < end; t++)
    {
      const float *pos = o->v + t * o->cols;
      for (int b = 0; b < o->batch; b++)
        {
          int64_t row = (t * o->batch + b) * o->cols;
          float *y = o->y + row;
          if (o->x != NULL)
            {
              const float *x = o->x + row;
              for (int j = 0; j < o->cols; j++)
                y[j] = x[j] + pos[j];
            }
          else
            memcpy (y, pos, sizeof (float) * o->cols);
        }
    }
}

void
uad_add_broadcast (const float *x, const float *pos, int tokens, int batch, int d, float *y)
{
  RowOp o = { .x = x, .y = y, .v = pos, .cols = d, .batch = batch };
  uad_parallel_for (tokens, chunk_for ((int64_t) batch * d), add_broadcast_range, &o);
}

static void
reduce_broadcast_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const RowOp *o = ctx;
  for (int64_t t = begin; t < end; t++)
    {
      float *dpos = o->y + t * o->cols;
      for (int b = 0; b < o->batch; b++)
        {
          const float *dy = o->x + (t * o->batch + b) * o->cols;
          for (int j = 0; j < o->cols; j++)
            dpos[j] += dy[j];
        }
    }
}

void
uad_reduce_broadcast (const float *dy, int tokens, int batch, int d, float *dpos)
{
  RowOp o = { .x = dy, .y = dpos, .cols = d, .batch = batch };
  uad_parallel_for (tokens, chunk_for ((int64_t) batch * d), reduce_broadcast_range, &o);
}

/* ---- Linear ------------------------------------------------------------------------------- */

void
uad_linear_backward (const float *x, const float *dy, int n, int in, const float *w, int out,
                     float *dx, float *dw, float *db)
{
  if (dx != NULL)
    uad_sgemm (FALSE, FALSE, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
  uad_sgemm (TRUE, FALSE, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db != NULL)
    col_sums_add (dy, n, out, db);
}

/* Row reductions in 16 running float sums, so that they vectorise without reassociation flags;
 * the lanes are combined in double. */
UAD_ALWAYS_INLINE double
combine16 (const float *acc)
{
  double sum = 0;
  for (int j = 0; j < 16; j++)
    sum += acc[j];
  return sum;
}

/* sum of a[i] b[i] */
UAD_ALWAYS_INLINE double
dot16 (const float *a, const float *b, int n)
{
  float acc[16] = { 0 };
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++)
      acc[j] += a[i + j] * b[i + j];
  double sum = combine16 (acc);
  for (; i < n; i++)
    sum += a[i] * b[i];
  return sum;
}

/* sum of x[i] */
UAD_ALWAYS_INLINE double
sum16 (const float *x, int n)
{
  float acc[16] = { 0 };
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++)
      acc[j] += x[i + j];
  double sum = combine16 (acc);
  for (; i < n; i++)
    sum += x[i];
  return sum;
}

/* sum of a[i] b[i] (c[i] - m) */
UAD_ALWAYS_INLINE double
dot3_16 (const float *a, const float *b, const float *c, float m, int n)
{
  float acc[16] = { 0 };
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++)
      acc[j] += a[i + j] * b[i + j] * (c[i + j] - m);
  double sum = combine16 (acc);
  for (; i < n; i++)
    sum += a[i] * b[i] * (c[i] - m);
  return sum;
}

/* ---- Layer normalisation ------------------------------------------------------------------ */

typedef struct {
  const UadLayerNormParams *p, *grad;
  const float *x, *dy;
  float *y, *dx, *mean, *rstd;
  const float *cmean, *crstd;
  int n, d;
  float eps;
} LnJob;

UAD_VECTOR_CLONES static void
layernorm_forward_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const LnJob *j = ctx;
  int d = j->d;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = j->x + r * d;
      float m = (float) (sum16 (x, d) / d);
      float acc[16] = { 0 };
      int i = 0;
      for (; i + 16 <= d; i += 16)
        for (int l = 0; l < 16; l++)
          acc[l] += (x[i + l] - m) * (x[i + l] - m);
      double ss = combine16 (acc);
      for (; i < d; i++)
        ss += (x[i] - m) * (x[i] - m);
      float rs = (float) (1.0 / sqrt (ss / d + j->eps));
      float *y = j->y + r * d;
      for (i = 0; i < d; i++)
        y[i] = (x[i] - m) * rs * j->p->weight[i] + j->p->bias[i];
      if (j->mean != NULL)
        j->mean[r] = m;
      if (j->rstd != NULL)
        j->rstd[r] = rs;
    }
}

void
uad_layernorm_forward (const UadLayerNormParams *p, const float *x, int n, int d, float eps,
                       float *y, float *mean, float *rstd)
{
  LnJob j = { .p = p, .x = x, .y = y, .mean = mean, .rstd = rstd, .d = d, .eps = eps };
  uad_parallel_for (n, chunk_for (2 * d), layernorm_forward_range, &j);
}

/* dx = rstd * (g dy - mean(g dy) - xhat * mean(g dy xhat)), per row. */
UAD_VECTOR_CLONES static void
layernorm_backward_rows (int64_t begin, int64_t end, int worker, void *ctx)
{
  const LnJob *j = ctx;
  int d = j->d;
  const float *g = j->p->weight;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = j->x + r * d, *dy = j->dy + r * d;
      float m = j->cmean[r], rs = j->crstd[r];
      float a = (float) (dot16 (g, dy, d) / d);
      float c = (float) (dot3_16 (g, dy, x, m, d) * rs / d);
      float *dx = j->dx + r * d;
      for (int i = 0; i < d; i++)
        dx[i] += rs * (g[i] * dy[i] - a - (x[i] - m) * rs * c);
    }
}

/* dweight[i] += sum_r dy * xhat, dbias[i] += sum_r dy; threads own column ranges. */
UAD_VECTOR_CLONES static void
layernorm_backward_cols (int64_t begin, int64_t end, int worker, void *ctx)
{
  const LnJob *j = ctx;
  int d = j->d;
  for (int64_t r = 0; r < j->n; r++)
    {
      const float *x = j->x + r * d, *dy = j->dy + r * d;
      float m = j->cmean[r], rs = j->crstd[r];
      for (int64_t i = begin; i < end; i++)
        {
          j->grad->weight[i] += dy[i] * (x[i] - m) * rs;
          j->grad->bias[i] += dy[i];
        }
    }
}

void
uad_layernorm_backward (const UadLayerNormParams *p, const UadLayerNormParams *grad,
                        const float *x, const float *mean, const float *rstd, const float *dy,
                        int n, int d, float *dx)
{
  LnJob j = { .p = p, .grad = grad, .x = x, .dy = dy, .dx = dx, .cmean = mean, .crstd = rstd,
              .n = n, .d = d };
  uad_parallel_for (n, chunk_for (2 * d), layernorm_backward_rows, &j);
  if (grad != NULL)
    uad_parallel_for (d, chunk_for (2 * (int64_t) n), layernorm_backward_cols, &j);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

void
uad_dropout_forward (UadRng *rng, float p, float *x, guint8 *keep, int64_t n)
{
  if (p <= 0.0f)
    {
      memset (keep, 1, (size_t) n);
      return;
    }
  run_dropout (rng, p, x, keep, n, dropout_range);
}

typedef struct {
  float *x;
  const guint8 *keep;
  const float *ref;
  float scale;
} Mask;

UAD_VECTOR_CLONES static void
dropout_backward_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Mask *m = ctx;
  float *restrict x = m->x, scale = m->scale;
  const guint8 *restrict keep = m->keep;
  for (int64_t i = begin; i < end; i++)
    x[i] = keep[i] ? x[i] * scale : 0.0f;
}

void
uad_dropout_backward (float p, const guint8 *keep, float *dx, int64_t n)
{
  if (p <= 0.0f)
    return;
  Mask m = { .x = dx, .keep = keep, .scale = 1.0f / (1.0f - p) };
  uad_parallel_for (n, MIN_ELEMS, dropout_backward_range, &m);
}

/* ---- Feed-forward ------------------------------------------------------------------------- */

/* ReLU then dropout, in place (DROP_RELU_SCALE). The dropout decisions are not stored: after
 * this pass an element is positive exactly when ReLU passed it *and* dropout kept it, which is
 * all the backward pass needs (see relu_dropout_backward_range). */
void
uad_ffn_forward (const UadFfnParams *p, const float *x, int n, int d, int f, float dropout,
                 UadRng *rng, float *hidden, float *y)
{
  uad_linear (x, n, d, p->w1, p->b1, f, hidden);
  if (dropout > 0.0f)
    run_dropout (rng, dropout, hidden, NULL, (int64_t) n * f, relu_dropout_range);
  else
    uad_activate (hidden, (int64_t) n * f, UAD_ACT_RELU);
  uad_linear (hidden, n, f, p->w2, p->b2, d, y);
}

/* d(pre-activation) = d(hidden) / (1-p) where hidden > 0, else 0. */
UAD_VECTOR_CLONES static void
relu_dropout_backward_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Mask *m = ctx;
  float *restrict x = m->x, scale = m->scale;
  const float *restrict ref = m->ref;
  for (int64_t i = begin; i < end; i++)
    x[i] = ref[i] > 0.0f ? x[i] * scale : 0.0f;
}

void
uad_ffn_backward (const UadFfnParams *p, const UadFfnParams *grad, const float *x,
                  const float *hidden, int n, int d, int f, float dropout, const float *dy,
                  float *dhidden, float *dx)
{
  uad_sgemm (FALSE, FALSE, n, f, d, 1.0f, dy, d, p->w2, f, 0.0f, dhidden, f);
  uad_linear_backward (hidden, dy, n, f, p->w2, d, NULL, grad->w2, grad->b2);
  Mask m = { .x = dhidden, .ref = hidden, .scale = 1.0f / (1.0f - dropout) };
  uad_parallel_for ((int64_t) n * f, MIN_ELEMS, relu_dropout_backward_range, &m);
  uad_linear_backward (x, dhidden, n, d, p->w1, f, dx, grad->w1, grad->b1);
}

/* ---- Multi-head attention ----------------------------------------------------------------- */

UadMhaState *
uad_mha_state_new (int tq, int tk, int batch, int dim, int heads, UadMhaUse use)
{
  g_return_val_if_fail (heads > 0 && dim % heads == 0, NULL);
  UadMhaState *st = g_new0 (UadMhaState, 1);
  st->tq = tq;
  st->tk = tk;
  st->batch = batch;
  st->dim = dim;
  st->heads = heads;
  st->q = uad_alloc_floats ((size_t) tq * batch * dim);
  st->k = uad_alloc_floats ((size_t) tk * batch * dim);
  st->v = uad_alloc_floats ((size_t) tk * batch * dim);
  st->ctx = uad_alloc_floats ((size_t) tq * batch * dim);
  if (use != UAD_MHA_INFERENCE)
    st->probs = uad_alloc_floats ((size_t) batch * heads * tq * tk);
  if (use == UAD_MHA_TRAINING_DROPOUT)
    st->keep = g_malloc ((size_t) batch * heads * tq * tk);
  return st;
}

void
uad_mha_state_free (UadMhaState *st)
{
  if (st == NULL)
    return;
  uad_free_aligned (st->q);
  uad_free_aligned (st->k);
  uad_free_aligned (st->v);
  uad_free_aligned (st->ctx);
  uad_free_aligned (st->probs);
  g_free (st->keep);
  g_free (st);
}

/* Scratch: one [tq, tk] matrix per (batch, head) (dropped probabilities in the forward pass,
 * score gradients in the backward pass), then the gradients of ctx, q, k and v. */
size_t
uad_mha_scratch_floats (const UadMhaState *st)
{
  if (st->probs == NULL)
    return 0;
  size_t probs = (size_t) st->batch * st->heads * st->tq * st->tk;
  return probs + (size_t) st->batch * st->dim * (2 * st->tq + 2 * st->tk);
}

typedef struct {
  UadMhaState *st;
  int batch;
  const float *mask;
  float dropout;
  float scaling; /* 1/sqrt(head dim), applied to the scores */
  float *scratch;
} Heads;

/* A (batch, head) pair costs a few tq x tk x head-dim products. */
static int64_t
head_chunk (const UadMhaState *st)
{
  return chunk_for ((int64_t) st->tq * st->tk * (st->dim / st->heads) / 4);
}

static float
head_scaling (const UadMhaState *st)
{
  return 1.0f / sqrtf ((float) (st->dim / st->heads));
}

/* One (batch, head) pair's strided view: row t of the head is row t*B + b of the token matrix,
 * columns h*hd .. h*hd+hd-1. */
#define HEAD_OFFSET(b, h, hd, dim) ((size_t) (b) * (dim) + (size_t) (h) * (hd))

/* Pair i = (batch, head): p (tq x tk) receives its attention probabilities. */
UAD_VECTOR_CLONES static void
head_forward (const Heads *j, int64_t i, float *p)
{
  const UadMhaState *st = j->st;
  int D = st->dim, hd = D / st->heads, tq = st->tq, tk = st->tk, ld = j->batch * D;
  size_t off = HEAD_OFFSET (i / st->heads, i % st->heads, hd, D), area = (size_t) tq * tk;
  uad_sgemm (FALSE, TRUE, tq, tk, hd, j->scaling, st->q + off, ld, st->k + off, ld, 0.0f, p, tk);
  uad_softmax_rows_add (p, j->mask, tq, tk);
  const float *src = p;
  if (j->dropout > 0.0f)
    {
      float scale = 1.0f / (1.0f - j->dropout);
      float *pd = j->scratch + i * area;
      const guint8 *keep = st->keep + i * area;
      for (size_t e = 0; e < area; e++)
        pd[e] = keep[e] ? p[e] * scale : 0.0f;
      src = pd;
    }
  uad_sgemm (FALSE, FALSE, tq, hd, tk, 1.0f, src, tk, st->v + off, ld, 0.0f, st->ctx + off, ld);
}

static void
heads_forward_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Heads *j = ctx;
  const UadMhaState *st = j->st;
  if (st->probs != NULL)
    {
      for (int64_t i = begin; i < end; i++)
        head_forward (j, i, st->probs + i * (size_t) st->tq * st->tk);
      return;
    }
  /* Inference: each head's probabilities live only in this range's scratch, or, with the
   * AVX-512 kernel, only a few rows of them at a time. */
  int D = st->dim, hd = D / st->heads;
  gboolean fused = uad_avx512_available () && hd == UAD_AVX512_HEAD_DIM;
  float *scratch = uad_alloc_floats (fused ? uad_avx512_attention_scratch_floats (st->tk)
                                           : (size_t) st->tq * st->tk);
  for (int64_t i = begin; i < end; i++)
    if (fused)
      {
        size_t off = HEAD_OFFSET (i / st->heads, i % st->heads, hd, D);
        uad_avx512_attention_head (st->q + off, st->k + off, st->v + off, j->batch * D, st->tq,
                                   st->tk, j->scaling, j->mask, st->ctx + off, scratch);
      }
    else
      head_forward (j, i, scratch);
  uad_free_aligned (scratch);
}

void
uad_mha_forward (const UadMhaParams *p, UadMhaState *st, int batch, const float *q_in,
                 const float *k_in, const float *v_in, const float *mask, float dropout,
                 UadRng *rng, float *scratch, float *out)
{
  g_return_if_fail (batch >= 1 && batch <= st->batch);
  g_return_if_fail (dropout <= 0.0f || (rng != NULL && st->keep != NULL));
  int D = st->dim, nq = st->tq * batch, nk = st->tk * batch;
  uad_linear (q_in, nq, D, p->in_w, p->in_b, D, st->q);
  uad_linear (k_in, nk, D, p->in_w + (size_t) D * D, p->in_b + D, D, st->k);
  uad_linear (v_in, nk, D, p->in_w + (size_t) 2 * D * D, p->in_b + 2 * D, D, st->v);
  if (dropout > 0.0f)
    draw_keep (rng, dropout, st->keep, (int64_t) batch * st->heads * st->tq * st->tk);
  Heads j = { st, batch, mask, dropout, head_scaling (st), scratch };
  uad_parallel_for ((int64_t) batch * st->heads, head_chunk (st), heads_forward_range, &j);
  uad_linear (st->ctx, nq, D, p->out_w, p->out_b, D, out);
}

UAD_VECTOR_CLONES static void
heads_backward_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Heads *j = ctx;
  const UadMhaState *st = j->st;
  int B = j->batch, D = st->dim, hd = D / st->heads, tq = st->tq, tk = st->tk;
  int ld = B * D;
  size_t area = (size_t) tq * tk;
  size_t probs_size = (size_t) st->batch * st->heads * area;
  float *dctx = j->scratch + probs_size;
  float *dq = dctx + (size_t) st->batch * tq * D;
  float *dk = dq + (size_t) st->batch * tq * D;
  float *dv = dk + (size_t) st->batch * tk * D;
  float scale = 1.0f / (1.0f - j->dropout);
  for (int64_t i = begin; i < end; i++)
    {
      int b = (int) (i / st->heads), h = (int) (i % st->heads);
      size_t off = HEAD_OFFSET (b, h, hd, D);
      const float *p = st->probs + i * area;
      const guint8 *keep = j->dropout > 0.0f ? st->keep + i * area : NULL;
      float *s = j->scratch + i * area;
      /* dV = P'^T dctx, with P' the probabilities after dropout. */
      const float *src = p;
      if (keep != NULL)
        {
          for (size_t e = 0; e < area; e++)
            s[e] = keep[e] ? p[e] * scale : 0.0f;
          src = s;
        }
      uad_sgemm (TRUE, FALSE, tk, hd, tq, 1.0f, src, tk, dctx + off, ld, 0.0f, dv + off, ld);
      /* dP' = dctx V^T; dP = dP' through dropout; dS = P (dP - rowsum(P dP)). */
      uad_sgemm (FALSE, TRUE, tq, tk, hd, 1.0f, dctx + off, ld, st->v + off, ld, 0.0f, s, tk);
      if (keep != NULL)
        for (size_t e = 0; e < area; e++)
          s[e] = keep[e] ? s[e] * scale : 0.0f;
      for (int r = 0; r < tq; r++)
        {
          const float *pr = p + (size_t) r * tk;
          float *sr = s + (size_t) r * tk;
          float dot = (float) dot16 (pr, sr, tk);
          for (int c = 0; c < tk; c++)
            sr[c] = pr[c] * (sr[c] - dot);
        }
      /* Scores were scaling * q k^T. */
      uad_sgemm (FALSE, FALSE, tq, hd, tk, j->scaling, s, tk, st->k + off, ld, 0.0f, dq + off,
                 ld);
      uad_sgemm (TRUE, FALSE, tk, hd, tq, j->scaling, s, tk, st->q + off, ld, 0.0f, dk + off,
                 ld);
    }
}

void
uad_mha_backward (const UadMhaParams *p, const UadMhaParams *grad, UadMhaState *st, int batch,
                  const float *q_in, const float *k_in, const float *v_in, float dropout,
                  const float *dout, float *scratch, float *dq_in, float *dk_in, float *dv_in)
{
  g_return_if_fail (batch >= 1 && batch <= st->batch && st->probs != NULL);
  g_return_if_fail (dropout <= 0.0f || st->keep != NULL);
  int D = st->dim, nq = st->tq * batch, nk = st->tk * batch;
  size_t probs_size = (size_t) st->batch * st->heads * st->tq * st->tk;
  float *dctx = scratch + probs_size;
  float *dq = dctx + (size_t) st->batch * st->tq * D;
  float *dk = dq + (size_t) st->batch * st->tq * D;
  float *dv = dk + (size_t) st->batch * st->tk * D;

  uad_sgemm (FALSE, FALSE, nq, D, D, 1.0f, dout, D, p->out_w, D, 0.0f, dctx, D);
  uad_linear_backward (st->ctx, dout, nq, D, p->out_w, D, NULL, grad->out_w, grad->out_b);
  Heads j = { st, batch, NULL, dropout, head_scaling (st), scratch };
  uad_parallel_for ((int64_t) batch * st->heads, head_chunk (st), heads_backward_range, &j);
  uad_linear_backward (q_in, dq, nq, D, p->in_w, D, dq_in, grad->in_w, grad->in_b);
  uad_linear_backward (k_in, dk, nk, D, p->in_w + (size_t) D * D, D, dk_in,
                       grad->in_w + (size_t) D * D, grad->in_b + D);
  uad_linear_backward (v_in, dv, nk, D, p->in_w + (size_t) 2 * D * D, D, dv_in,
                       grad->in_w + (size_t) 2 * D * D, grad->in_b + 2 * D);
}

/* ---- Mean squared error ------------------------------------------------------------------- */

double
uad_mse_loss (const float *pred, const float *target, int64_t n, float *grad)
{
  /* Serial on purpose: a fixed summation order makes the loss independent of the thread count,
   * and it is a tiny fraction of a training step. */
  double sum = 0;
  float g = 2.0f / (float) n;
  for (int64_t i = 0; i < n; i++)
    {
      float e = pred[i] - target[i];
      sum += (double) e * e;
      if (grad != NULL)
        grad[i] = g * e;
    }
  return sum / (double) n;
}
