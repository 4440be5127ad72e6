/* SPDX-License-Identifier: Apache-2.0 */
/* The transformer building blocks: the random generator, a reference check of attention, and
 * every backward pass against central finite differences.
 *
 * Gradient checks: each layer's output y is reduced to L = sum_i r_i y_i with fixed random r,
 * accumulated in double; the backward pass gets dy = r. The finite difference
 * (L(p + h) - L(p - h)) / (2h) uses h = 1e-3 on inputs and parameters of magnitude ~1. Its
 * error has two parts: truncation, O(h^2 |L'''|) ~ 1e-6 relative, and float rounding of the
 * forward pass, ~6e-8 * sqrt(#outputs) * |y| / (2h) ~ 1e-4 of the gradient's scale. A check
 * passes when the largest |analytic - finite difference| is below 1e-2 of the largest gradient
 * magnitude of that tensor: two orders above the expected noise, while a wrong term (a missing
 * factor, a transposed product, a lost contribution) errs by O(1) of it. Inputs are
 * deterministic, so the few ReLU kinks within h of a perturbation are the same on every run. */
#include "test-util.h"
#include "uad-layers.h"
#include "uad-ops-private.h"
#include "uad-ops.h"
#include "uad-parallel.h"
#include "uad-tensor.h"

#include <math.h>
#include <string.h>

#define FD_STEP 1e-3
#define FD_TOL 1e-2

typedef double (*LossFunc) (void *ctx);

/* sum_i r_i y_i in double. */
static double
weighted_sum (const float *y, const float *r, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += (double) r[i] * y[i];
  return s;
}

/* Compares analytic[n] with the central difference of loss over x[n] (perturbed in place and
 * restored). */
static void
check_gradient (const char *what, LossFunc loss, void *ctx, float *x, int64_t n,
                const float *analytic)
{
  float *fd = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    {
      float saved = x[i];
      float up = saved + (float) FD_STEP, down = saved - (float) FD_STEP;
      x[i] = up;
      double lp = loss (ctx);
      x[i] = down;
      double lm = loss (ctx);
      x[i] = saved;
      fd[i] = (float) ((lp - lm) / ((double) up - (double) down));
    }
  uad_test_assert_close (what, analytic, fd, n, FD_TOL);
  g_free (fd);
}

static float *
random_floats (int64_t n, float lo, float hi, guint32 seed)
{
  float *x = g_new (float, n);
  uad_test_fill_random (x, n, lo, hi, seed);
  return x;
}

/* ---- Random numbers ---------------------------------------------------------------------- */

static void
test_rng (void)
{
  enum { N = 100000 };
  float *a = g_new (float, N), *b = g_new (float, N);
  /* Same seed and counter: same numbers whatever the thread count; the counter advances. */
  UadRng r1, r2;
  uad_rng_init (&r1, 42);
  uad_rng_init (&r2, 42);
  uad_parallel_set_threads (1);
  uad_rng_normal (&r1, a, N);
  uad_parallel_set_threads (2);
  uad_rng_normal (&r2, b, N);
  g_assert_cmpmem (a, sizeof (float) * N, b, sizeof (float) * N);
  g_assert_cmpuint (r1.counter, ==, N);
  double s = 0, ss = 0;
  for (int i = 0; i < N; i++)
    {
      s += a[i];
      ss += (double) a[i] * a[i];
    }
  /* N(0, 1): the sample mean has sd 1/sqrt(N) ~ 0.003, the variance sd ~ 0.0045. */
  g_assert_cmpfloat (fabs (s / N), <, 0.015);
  g_assert_cmpfloat (fabs (ss / N - 1.0), <, 0.025);

  /* A saved state resumes the same stream; a different seed gives a different one. */
  UadRng saved = r1;
  uad_rng_uniform (&r1, a, N, -2.0f, 3.0f);
  uad_rng_uniform (&saved, b, N, -2.0f, 3.0f);
  g_assert_cmpmem (a, sizeof (float) * N, b, sizeof (float) * N);
  double mean = 0;
  for (int i = 0; i < N; i++)
    {
      g_assert_cmpfloat (a[i], >=, -2.0f);
      g_assert_cmpfloat (a[i], <, 3.0f);
      mean += a[i];
    }
  g_assert_cmpfloat (fabs (mean / N - 0.5), <, 0.03);
  uad_rng_init (&r2, 43);
  uad_rng_uniform (&r2, b, 16, -2.0f, 3.0f);
  uad_rng_init (&r1, 42);
  uad_rng_uniform (&r1, a, 16, -2.0f, 3.0f);
  g_assert_true (memcmp (a, b, sizeof (float) * 16) != 0);
  g_free (a);
  g_free (b);
}

/* ---- Linear ------------------------------------------------------------------------------- */

typedef struct {
  int n, in, out;
  float *x, *w, *b, *y, *r;
} LinearCase;

static double
linear_loss (void *ctx)
{
  LinearCase *c = ctx;
  uad_linear (c->x, c->n, c->in, c->w, c->b, c->out, c->y);
  return weighted_sum (c->y, c->r, (int64_t) c->n * c->out);
}

static void
test_linear_gradient (void)
{
  LinearCase c = { .n = 7, .in = 5, .out = 6 };
  c.x = random_floats (c.n * c.in, -1, 1, 1);
  c.w = random_floats (c.out * c.in, -1, 1, 2);
  c.b = random_floats (c.out, -1, 1, 3);
  c.r = random_floats (c.n * c.out, -1, 1, 4);
  c.y = g_new (float, c.n * c.out);
  float *dx = g_new0 (float, c.n * c.in), *dw = g_new0 (float, c.out * c.in);
  float *db = g_new0 (float, c.out);
  linear_loss (&c);
  uad_linear_backward (c.x, c.r, c.n, c.in, c.w, c.out, dx, dw, db);
  check_gradient ("linear dx", linear_loss, &c, c.x, c.n * c.in, dx);
  check_gradient ("linear dw", linear_loss, &c, c.w, c.out * c.in, dw);
  check_gradient ("linear db", linear_loss, &c, c.b, c.out, db);

  /* Gradients accumulate: a second backward pass doubles them. */
  float *dw2 = g_memdup2 (dw, sizeof (float) * c.out * c.in);
  uad_linear_backward (c.x, c.r, c.n, c.in, c.w, c.out, NULL, dw2, NULL);
  for (int i = 0; i < c.out * c.in; i++)
    g_assert_cmpfloat_with_epsilon (dw2[i], 2 * dw[i], 1e-5);
  g_free (dw2);
  g_free (c.x);
  g_free (c.w);
  g_free (c.b);
  g_free (c.r);
  g_free (c.y);
  g_free (dx);
  g_free (dw);
  g_free (db);
}

/* ---- Layer normalisation ------------------------------------------------------------------ */

typedef struct {
  int n, d;
  float *x, *y, *r, *mean, *rstd;
  UadLayerNormParams p;
} NormCase;

static double
norm_loss (void *ctx)
{
  NormCase *c = ctx;
  uad_layernorm_forward (&c->p, c->x, c->n, c->d, 1e-5f, c->y, c->mean, c->rstd);
  return weighted_sum (c->y, c->r, (int64_t) c->n * c->d);
}

static void
test_layernorm (void)
{
  NormCase c = { .n = 6, .d = 9 };
  c.x = random_floats (c.n * c.d, -2, 3, 11);
  c.p.weight = random_floats (c.d, 0.5f, 1.5f, 12);
  c.p.bias = random_floats (c.d, -1, 1, 13);
  c.r = random_floats (c.n * c.d, -1, 1, 14);
  c.y = g_new (float, c.n * c.d);
  c.mean = g_new (float, c.n);
  c.rstd = g_new (float, c.n);
  norm_loss (&c);

  /* Forward against the definition (biased variance, eps inside the root). */
  for (int r = 0; r < c.n; r++)
    {
      double mu = 0, var = 0;
      for (int i = 0; i < c.d; i++)
        mu += c.x[r * c.d + i] / (double) c.d;
      for (int i = 0; i < c.d; i++)
        var += pow (c.x[r * c.d + i] - mu, 2) / c.d;
      for (int i = 0; i < c.d; i++)
        {
          double want = (c.x[r * c.d + i] - mu) / sqrt (var + 1e-5) * c.p.weight[i] + c.p.bias[i];
          g_assert_cmpfloat_with_epsilon (c.y[r * c.d + i], want, 1e-5);
        }
    }

  float *dx = g_new0 (float, c.n * c.d);
  UadLayerNormParams g = { g_new0 (float, c.d), g_new0 (float, c.d) };
  uad_layernorm_backward (&c.p, &g, c.x, c.mean, c.rstd, c.r, c.n, c.d, dx);
  check_gradient ("layernorm dx", norm_loss, &c, c.x, c.n * c.d, dx);
  check_gradient ("layernorm dweight", norm_loss, &c, c.p.weight, c.d, g.weight);
  check_gradient ("layernorm dbias", norm_loss, &c, c.p.bias, c.d, g.bias);
  g_free (c.x);
  g_free (c.p.weight);
  g_free (c.p.bias);
  g_free (c.r);
  g_free (c.y);
  g_free (c.mean);
  g_free (c.rstd);
  g_free (dx);
  g_free (g.weight);
  g_free (g.bias);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

static void
test_dropout (void)
{
  enum { N = 50000 };
  float *x = g_new (float, N), *dx = g_new (float, N);
  guint8 *keep = g_new (guint8, N);
  for (int i = 0; i < N; i++)
    x[i] = dx[i] = 1.0f + (float) (i % 7);
  UadRng rng;
  uad_rng_init (&rng, 7);
  uad_dropout_forward (&rng, 0.1f, x, keep, N);
  g_assert_cmpuint (rng.counter, ==, (N + 3) / 4);
  int kept = 0;
  for (int i = 0; i < N; i++)
    {
      float in = 1.0f + (float) (i % 7);
      g_assert_cmpfloat (x[i], ==, keep[i] ? in / 0.9f : 0.0f);
      kept += keep[i];
    }
  /* Binomial(N, 0.9): sd ~ 67. */
  g_assert_cmpint (abs (kept - (int) (0.9 * N)), <, 400);
  uad_dropout_backward (0.1f, keep, dx, N);
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat (dx[i], ==, x[i]);

  /* The same decisions for any thread count, including the partial last draw. */
  guint8 *keep1 = g_new (guint8, N);
  for (int threads = 1; threads <= 2; threads++)
    {
      uad_parallel_set_threads (threads);
      uad_rng_init (&rng, 8);
      uad_dropout_forward (&rng, 0.1f, x, threads == 1 ? keep1 : keep, N - 3);
    }
  g_assert_cmpmem (keep1, N - 3, keep, N - 3);
  g_assert_cmpuint (rng.counter, ==, (N - 3 + 3) / 4);
  g_free (keep1);

  /* p = 0 is the identity and draws nothing. */
  uad_dropout_forward (&rng, 0.0f, x, keep, N);
  g_assert_cmpuint (rng.counter, ==, (N - 3 + 3) / 4);
  for (int i = 0; i < N; i++)
    g_assert_cmpint (keep[i], ==, 1);
  g_free (x);
  g_free (dx);
  g_free (keep);
}

/* ---- Feed-forward ------------------------------------------------------------------------- */

typedef struct {
  int n, d, f;
  float dropout;
  UadRng rng; /* restored before every forward pass: the same dropout decisions each time */
  float *x, *hidden, *y, *r;
  UadFfnParams p;
} FfnCase;

static double
ffn_loss (void *ctx)
{
  FfnCase *c = ctx;
  UadRng rng = c->rng;
  uad_ffn_forward (&c->p, c->x, c->n, c->d, c->f, c->dropout, &rng, c->hidden, c->y);
  return weighted_sum (c->y, c->r, (int64_t) c->n * c->d);
}

static void
check_ffn (float dropout)
{
  FfnCase c = { .n = 6, .d = 5, .f = 12, .dropout = dropout };
  uad_rng_init (&c.rng, 99);
  c.x = random_floats (c.n * c.d, -1, 1, 21);
  c.p.w1 = random_floats (c.f * c.d, -1, 1, 22);
  c.p.b1 = random_floats (c.f, -0.5f, 0.5f, 23);
  c.p.w2 = random_floats (c.d * c.f, -1, 1, 24);
  c.p.b2 = random_floats (c.d, -1, 1, 25);
  c.r = random_floats (c.n * c.d, -1, 1, 26);
  c.hidden = g_new (float, c.n * c.f);
  c.y = g_new (float, c.n * c.d);
  ffn_loss (&c);
  int zeros = 0;
  for (int i = 0; i < c.n * c.f; i++)
    zeros += c.hidden[i] == 0.0f;
  g_assert_cmpint (zeros, >, 0); /* ReLU (and dropout) did cut something */

  float *dx = g_new0 (float, c.n * c.d), *dh = g_new (float, c.n * c.f);
  UadFfnParams g = { g_new0 (float, c.f * c.d), g_new0 (float, c.f), g_new0 (float, c.d * c.f),
                     g_new0 (float, c.d) };
  uad_ffn_backward (&c.p, &g, c.x, c.hidden, c.n, c.d, c.f, c.dropout, c.r, dh, dx);
  g_autofree char *tag = g_strdup_printf ("ffn (dropout %g)", dropout);
  g_autofree char *n1 = g_strdup_printf ("%s dx", tag), *n2 = g_strdup_printf ("%s dw1", tag);
  g_autofree char *n3 = g_strdup_printf ("%s db1", tag), *n4 = g_strdup_printf ("%s dw2", tag);
  g_autofree char *n5 = g_strdup_printf ("%s db2", tag);
  check_gradient (n1, ffn_loss, &c, c.x, c.n * c.d, dx);
  check_gradient (n2, ffn_loss, &c, c.p.w1, c.f * c.d, g.w1);
  check_gradient (n3, ffn_loss, &c, c.p.b1, c.f, g.b1);
  check_gradient (n4, ffn_loss, &c, c.p.w2, c.d * c.f, g.w2);
  check_gradient (n5, ffn_loss, &c, c.p.b2, c.d, g.b2);
  float *bufs[] = { c.x, c.p.w1, c.p.b1, c.p.w2, c.p.b2, c.r, c.hidden, c.y, dx, dh,
                    g.w1, g.b1, g.w2, g.b2 };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
}

static void
test_ffn (void)
{
  check_ffn (0.0f);
  check_ffn (0.3f);
}

/* ---- Multi-head attention ----------------------------------------------------------------- */

typedef struct {
  int tq, tk, batch, dim, heads;
  float dropout;
  UadRng rng;
  UadMhaState *st;
  float *scratch;
  float *q_in, *k_in, *v_in, *mask, *out, *r;
  UadMhaParams p;
} MhaCase;

static double
mha_loss (void *ctx)
{
  MhaCase *c = ctx;
  UadRng rng = c->rng;
  uad_mha_forward (&c->p, c->st, c->batch, c->q_in, c->k_in, c->v_in, c->mask, c->dropout, &rng,
                   c->scratch, c->out);
  return weighted_sum (c->out, c->r, (int64_t) c->tq * c->batch * c->dim);
}

static void
mha_case_init (MhaCase *c, int tq, int tk, int batch, int dim, int heads, float dropout)
{
  *c = (MhaCase) { .tq = tq, .tk = tk, .batch = batch, .dim = dim, .heads = heads,
                   .dropout = dropout };
  uad_rng_init (&c->rng, 5);
  c->st = uad_mha_state_new (tq, tk, batch, dim, heads,
                             dropout > 0.0f ? UAD_MHA_TRAINING_DROPOUT : UAD_MHA_TRAINING);
  c->scratch = g_new0 (float, uad_mha_scratch_floats (c->st));
  c->q_in = random_floats (tq * batch * dim, -1, 1, 31);
  c->k_in = random_floats (tk * batch * dim, -1, 1, 32);
  c->v_in = random_floats (tk * batch * dim, -1, 1, 33);
  c->p.in_w = random_floats (3 * dim * dim, -0.8f, 0.8f, 34);
  c->p.in_b = random_floats (3 * dim, -0.5f, 0.5f, 35);
  c->p.out_w = random_floats (dim * dim, -0.8f, 0.8f, 36);
  c->p.out_b = random_floats (dim, -0.5f, 0.5f, 37);
  c->r = random_floats (tq * batch * dim, -1, 1, 38);
  c->out = g_new (float, tq * batch * dim);
  /* Hide a band of keys from each query, as the neighbour mask does. */
  c->mask = g_new0 (float, tq * tk);
  for (int i = 0; i < tq; i++)
    for (int j = 0; j < tk; j++)
      if (abs (i - j) <= 1)
        c->mask[i * tk + j] = -INFINITY;
}

static void
mha_case_clear (MhaCase *c)
{
  uad_mha_state_free (c->st);
  float *bufs[] = { c->scratch, c->q_in, c->k_in, c->v_in, c->p.in_w, c->p.in_b, c->p.out_w,
                    c->p.out_b, c->r, c->out, c->mask };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
}

/* torch.nn.MultiheadAttention written out in double, one (batch, head, query) at a time. */
static void
mha_reference (const MhaCase *c, double *out)
{
  int D = c->dim, B = c->batch, hd = D / c->heads;
  double *ctx = g_new0 (double, c->tq * B * D), *s = g_new (double, c->tk);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < c->heads; h++)
      for (int i = 0; i < c->tq; i++)
        {
          double q[64], mx = -INFINITY, sum = 0;
          for (int e = 0; e < hd; e++)
            {
              int row = h * hd + e;
              q[e] = c->p.in_b[row];
              for (int x = 0; x < D; x++)
                q[e] += (double) c->q_in[(i * B + b) * D + x] * c->p.in_w[row * D + x];
              q[e] /= sqrt (hd);
            }
          for (int j = 0; j < c->tk; j++)
            {
              s[j] = c->mask[i * c->tk + j];
              for (int e = 0; e < hd; e++)
                {
                  int row = D + h * hd + e;
                  double k = c->p.in_b[row];
                  for (int x = 0; x < D; x++)
                    k += (double) c->k_in[(j * B + b) * D + x] * c->p.in_w[row * D + x];
                  s[j] += q[e] * k;
                }
              mx = fmax (mx, s[j]);
            }
          for (int j = 0; j < c->tk; j++)
            sum += (s[j] = exp (s[j] - mx));
          for (int j = 0; j < c->tk; j++)
            for (int e = 0; e < hd; e++)
              {
                int row = 2 * D + h * hd + e;
                double v = c->p.in_b[row];
                for (int x = 0; x < D; x++)
                  v += (double) c->v_in[(j * B + b) * D + x] * c->p.in_w[row * D + x];
                ctx[(i * B + b) * D + h * hd + e] += s[j] / sum * v;
              }
        }
  for (int n = 0; n < c->tq * B; n++)
    for (int o = 0; o < D; o++)
      {
        out[n * D + o] = c->p.out_b[o];
        for (int x = 0; x < D; x++)
          out[n * D + o] += ctx[n * D + x] * c->p.out_w[o * D + x];
      }
  g_free (ctx);
  g_free (s);
}

/* One shape against the double reference, through a training state and through an inference
 * state, the latter with and without the AVX-512 kernels (head dimension 32 runs the fused
 * head; tq and tk off the kernel's blocks of 8 rows and 16 keys check its edges). */
static void
check_mha_reference (int tq, int tk, int batch, int dim, int heads)
{
  MhaCase c;
  mha_case_init (&c, tq, tk, batch, dim, heads, 0.0f);
  int n = c.tq * c.batch * c.dim;
  double *want = g_new (double, n);
  float *wantf = g_new (float, n);
  mha_reference (&c, want);
  for (int i = 0; i < n; i++)
    wantf[i] = (float) want[i];
  g_autofree char *shape = g_strdup_printf ("tq %d, tk %d, batch %d, dim %d, heads %d", tq, tk,
                                            batch, dim, heads);
  mha_loss (&c);
  g_autofree char *what = g_strdup_printf ("training attention (%s) vs double", shape);
  uad_test_assert_close (what, c.out, wantf, n, 1e-5);

  UadMhaState *training = c.st;
  c.st = uad_mha_state_new (tq, tk, batch, dim, heads, UAD_MHA_INFERENCE);
  g_assert_null (c.st->probs);
  g_assert_cmpuint (uad_mha_scratch_floats (c.st), ==, 0);
  for (int avx512 = 0; avx512 < 2; avx512++)
    {
      uad_avx512_set_enabled (avx512);
      memset (c.out, 0, sizeof (float) * n);
      mha_loss (&c);
      g_free (what);
      what = g_strdup_printf ("inference attention (%s, AVX-512 %s) vs double", shape,
                              uad_avx512_available () ? "on" : "off");
      uad_test_assert_close (what, c.out, wantf, n, 1e-5);
    }
  uad_avx512_set_enabled (TRUE);
  uad_mha_state_free (c.st);
  c.st = training;
  g_free (want);
  g_free (wantf);
  mha_case_clear (&c);
}

static void
test_mha_reference (void)
{
  check_mha_reference (6, 9, 3, 16, 4);
  check_mha_reference (13, 200, 2, 64, 2);
  check_mha_reference (3, 17, 2, 32, 1);
  check_mha_reference (20, 5, 1, 96, 3);
}

static void
check_mha (float dropout)
{
  MhaCase c;
  mha_case_init (&c, 5, 7, 2, 8, 2, dropout);
  mha_loss (&c);
  int D = c.dim;
  float *dq = g_new0 (float, c.tq * c.batch * D), *dk = g_new0 (float, c.tk * c.batch * D);
  float *dv = g_new0 (float, c.tk * c.batch * D);
  UadMhaParams g = { g_new0 (float, 3 * D * D), g_new0 (float, 3 * D), g_new0 (float, D * D),
                     g_new0 (float, D) };
  uad_mha_backward (&c.p, &g, c.st, c.batch, c.q_in, c.k_in, c.v_in, c.dropout, c.r, c.scratch,
                    dq, dk, dv);
  struct {
    const char *name;
    float *x, *grad;
    int n;
  } checks[] = {
    { "dq_in", c.q_in, dq, c.tq * c.batch * D },
    { "dk_in", c.k_in, dk, c.tk * c.batch * D },
    { "dv_in", c.v_in, dv, c.tk * c.batch * D },
    { "d in_proj_weight", c.p.in_w, g.in_w, 3 * D * D },
    { "d in_proj_bias", c.p.in_b, g.in_b, 3 * D },
    { "d out_proj.weight", c.p.out_w, g.out_w, D * D },
    { "d out_proj.bias", c.p.out_b, g.out_b, D },
  };
  for (guint i = 0; i < G_N_ELEMENTS (checks); i++)
    {
      g_autofree char *name = g_strdup_printf ("attention (dropout %g) %s", dropout,
                                               checks[i].name);
      check_gradient (name, mha_loss, &c, checks[i].x, checks[i].n, checks[i].grad);
    }
  float *bufs[] = { dq, dk, dv, g.in_w, g.in_b, g.out_w, g.out_b };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
  mha_case_clear (&c);
}

static void
test_mha_gradient (void)
{
  check_mha (0.0f);
  check_mha (0.25f);
}

/* ---- Mean squared error and broadcasting -------------------------------------------------- */

static void
test_mse_and_broadcast (void)
{
  float pred[5] = { 1, 2, 3, 4, 5 }, target[5] = { 0, 2, 5, 4, 4.5f }, grad[5];
  double loss = uad_mse_loss (pred, target, 5, grad);
  g_assert_cmpfloat_with_epsilon (loss, (1 + 0 + 4 + 0 + 0.25) / 5, 1e-12);
  g_assert_cmpfloat_with_epsilon (grad[2], 2 * (3 - 5) / 5.0, 1e-7);

  /* Broadcast over (token, batch) rows and its adjoint. */
  float pos[2 * 3] = { 1, 2, 3, 4, 5, 6 }, x[2 * 2 * 3], y[2 * 2 * 3], dpos[6] = { 0 };
  for (int i = 0; i < 12; i++)
    x[i] = (float) i;
  uad_add_broadcast (x, pos, 2, 2, 3, y);
  for (int t = 0; t < 2; t++)
    for (int b = 0; b < 2; b++)
      for (int j = 0; j < 3; j++)
        g_assert_cmpfloat (y[(t * 2 + b) * 3 + j], ==, x[(t * 2 + b) * 3 + j] + pos[t * 3 + j]);
  uad_reduce_broadcast (x, 2, 2, 3, dpos);
  for (int t = 0; t < 2; t++)
    for (int j = 0; j < 3; j++)
      g_assert_cmpfloat (dpos[t * 3 + j], ==, x[(t * 2) * 3 + j] + x[(t * 2 + 1) * 3 + j]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layers/rng", test_rng);
  g_test_add_func ("/layers/linear-gradient", test_linear_gradient);
  g_test_add_func ("/layers/layernorm", test_layernorm);
  g_test_add_func ("/layers/dropout", test_dropout);
  g_test_add_func ("/layers/ffn-gradient", test_ffn);
  g_test_add_func ("/layers/attention-reference", test_mha_reference);
  g_test_add_func ("/layers/attention-gradient", test_mha_gradient);
  g_test_add_func ("/layers/mse-and-broadcast", test_mse_and_broadcast);
  return g_test_run ();
}
