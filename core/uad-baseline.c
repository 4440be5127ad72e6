/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-baseline.h"

#include "uad-ops.h"
#include "uad-tensor.h"

#include <math.h>
#include <string.h>

#define TAPS 9 /* 3x3 */

struct UadBaseline {
  UadBaselineKind kind;
  int channels, hidden, grid, max_batch;
  int in1, in2;          /* inputs per row of the two linear maps: C and H, times 9 for the CNN */
  float *params, *grads; /* w1 [H, in1], b1 [H], w2 [C, in2], b2 [C] */
  size_t n_params;
  /* Rows are (image, position) pairs, position = h * G + w. */
  float *tokens;         /* [N, C] */
  float *cols1;          /* [N, in1]: the CNN's 3x3 neighbourhoods of the tokens */
  float *hidden_act;     /* [N, H] after ReLU */
  float *cols2;          /* [N, in2] */
  float *rec_tokens;     /* [N, C] */
  float *d_rec;          /* [N, C] */
  float *d_cols2;        /* [N, in2] */
  float *d_hidden;       /* [N, H] */
};

const char *
uad_baseline_kind_name (UadBaselineKind kind)
{
  return kind == UAD_BASELINE_MLP ? "MLP" : "CNN";
}

UadBaseline *
uad_baseline_new (UadBaselineKind kind, int channels, int hidden, int grid, int max_batch)
{
  g_return_val_if_fail (channels >= 1 && hidden >= 1 && grid >= 1 && max_batch >= 1, NULL);
  UadBaseline *b = g_new0 (UadBaseline, 1);
  b->kind = kind;
  b->channels = channels;
  b->hidden = hidden;
  b->grid = grid;
  b->max_batch = max_batch;
  int taps = kind == UAD_BASELINE_CNN ? TAPS : 1;
  b->in1 = channels * taps;
  b->in2 = hidden * taps;
  b->n_params = (size_t) hidden * b->in1 + hidden + (size_t) channels * b->in2 + channels;
  b->params = uad_alloc_floats (b->n_params);
  b->grads = uad_alloc_floats (b->n_params);
  memset (b->params, 0, sizeof (float) * b->n_params);
  size_t N = (size_t) max_batch * grid * grid;
  b->tokens = uad_alloc_floats (N * channels);
  b->cols1 = uad_alloc_floats (N * b->in1);
  b->hidden_act = uad_alloc_floats (N * hidden);
  b->cols2 = uad_alloc_floats (N * b->in2);
  b->rec_tokens = uad_alloc_floats (N * channels);
  b->d_rec = uad_alloc_floats (N * channels);
  b->d_cols2 = uad_alloc_floats (N * b->in2);
  b->d_hidden = uad_alloc_floats (N * hidden);
  return b;
}

void
uad_baseline_free (UadBaseline *b)
{
  if (b == NULL)
    return;
  float *buffers[] = { b->params, b->grads, b->tokens, b->cols1, b->hidden_act, b->cols2,
                       b->rec_tokens, b->d_rec, b->d_cols2, b->d_hidden };
  for (size_t i = 0; i < G_N_ELEMENTS (buffers); i++)
    uad_free_aligned (buffers[i]);
  g_free (b);
}

typedef struct {
  float *w1, *b1, *w2, *b2;
} Views;

static Views
views (const UadBaseline *b, float *base)
{
  Views v;
  v.w1 = base;
  v.b1 = v.w1 + (size_t) b->hidden * b->in1;
  v.w2 = v.b1 + b->hidden;
  v.b2 = v.w2 + (size_t) b->channels * b->in2;
  return v;
}

void
uad_baseline_init (UadBaseline *b, UadRng *rng)
{
  Views p = views (b, b->params);
  /* torch's xavier_uniform_ on a conv weight [out, in, 3, 3]: fans are in * 9 and out * 9. */
  int taps = b->kind == UAD_BASELINE_CNN ? TAPS : 1;
  float a1 = sqrtf (6.0f / (float) (b->in1 + b->hidden * taps));
  float a2 = sqrtf (6.0f / (float) (b->in2 + b->channels * taps));
  uad_rng_uniform (rng, p.w1, (int64_t) b->hidden * b->in1, -a1, a1);
  uad_rng_uniform (rng, p.w2, (int64_t) b->channels * b->in2, -a2, a2);
  memset (p.b1, 0, sizeof (float) * b->hidden);
  memset (p.b2, 0, sizeof (float) * b->channels);
}

float *
uad_baseline_params (UadBaseline *b, size_t *n)
{
  if (n)
    *n = b->n_params;
  return b->params;
}

float *
uad_baseline_grads (UadBaseline *b, size_t *n)
{
  if (n)
    *n = b->n_params;
  return b->grads;
}

/* cols [N, d * 9] from x [N, d]: row (image, h, w), column c * 9 + kh * 3 + kw holds x at
 * (image, h + kh - 1, w + kw - 1, c), or 0 outside the grid. */
static void
im2col (const UadBaseline *b, const float *x, int d, int batch, float *cols)
{
  int G = b->grid;
  for (int i = 0; i < batch; i++)
    for (int h = 0; h < G; h++)
      for (int w = 0; w < G; w++)
        {
          float *row = cols + ((size_t) (i * G + h) * G + w) * d * TAPS;
          for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
              {
                int h2 = h + kh - 1, w2 = w + kw - 1;
                gboolean inside = h2 >= 0 && h2 < G && w2 >= 0 && w2 < G;
                const float *src = x + ((size_t) (i * G + h2) * G + w2) * d;
                for (int c = 0; c < d; c++)
                  row[c * TAPS + kh * 3 + kw] = inside ? src[c] : 0.0f;
              }
        }
}

/* The adjoint of im2col: dx [N, d] = the sums of dcols over the taps that read each entry. */
static void
col2im (const UadBaseline *b, const float *dcols, int d, int batch, float *dx)
{
  int G = b->grid;
  memset (dx, 0, sizeof (float) * (size_t) batch * G * G * d);
  for (int i = 0; i < batch; i++)
    for (int h = 0; h < G; h++)
      for (int w = 0; w < G; w++)
        {
          const float *row = dcols + ((size_t) (i * G + h) * G + w) * d * TAPS;
          for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
              {
                int h2 = h + kh - 1, w2 = w + kw - 1;
                if (h2 < 0 || h2 >= G || w2 < 0 || w2 >= G)
                  continue;
                float *dst = dx + ((size_t) (i * G + h2) * G + w2) * d;
                for (int c = 0; c < d; c++)
                  dst[c] += row[c * TAPS + kh * 3 + kw];
              }
        }
}

/* [batch, C, G, G] <-> tokens [batch * G * G, C]. */
static void
maps_to_tokens (const UadBaseline *b, const float *maps, int batch, float *tokens)
{
  int T = b->grid * b->grid, C = b->channels;
  for (int i = 0; i < batch; i++)
    for (int c = 0; c < C; c++)
      for (int t = 0; t < T; t++)
        tokens[((size_t) i * T + t) * C + c] = maps[((size_t) i * C + c) * T + t];
}

static void
tokens_to_maps (const UadBaseline *b, const float *tokens, int batch, float *maps)
{
  int T = b->grid * b->grid, C = b->channels;
  for (int i = 0; i < batch; i++)
    for (int c = 0; c < C; c++)
      for (int t = 0; t < T; t++)
        maps[((size_t) i * C + c) * T + t] = tokens[((size_t) i * T + t) * C + c];
}

/* b->tokens -> b->rec_tokens, keeping what the backward pass needs. */
static void
forward_tokens (UadBaseline *b, int batch)
{
  Views p = views (b, b->params);
  int64_t N = (int64_t) batch * b->grid * b->grid;
  gboolean cnn = b->kind == UAD_BASELINE_CNN;
  if (cnn)
    im2col (b, b->tokens, b->channels, batch, b->cols1);
  uad_linear (cnn ? b->cols1 : b->tokens, N, b->in1, p.w1, p.b1, b->hidden, b->hidden_act);
  for (int64_t i = 0; i < N * b->hidden; i++)
    b->hidden_act[i] = fmaxf (b->hidden_act[i], 0.0f);
  if (cnn)
    im2col (b, b->hidden_act, b->hidden, batch, b->cols2);
  uad_linear (cnn ? b->cols2 : b->hidden_act, N, b->in2, p.w2, p.b2, b->channels, b->rec_tokens);
}

void
uad_baseline_forward (UadBaseline *b, const float *features, int batch, float *rec)
{
  g_return_if_fail (batch >= 1 && batch <= b->max_batch);
  maps_to_tokens (b, features, batch, b->tokens);
  forward_tokens (b, batch);
  tokens_to_maps (b, b->rec_tokens, batch, rec);
}

double
uad_baseline_train_step (UadBaseline *b, const float *features, int batch)
{
  g_return_val_if_fail (batch >= 1 && batch <= b->max_batch, NAN);
  Views p = views (b, b->params), g = views (b, b->grads);
  int N = batch * b->grid * b->grid;
  gboolean cnn = b->kind == UAD_BASELINE_CNN;
  maps_to_tokens (b, features, batch, b->tokens);
  forward_tokens (b, batch);
  /* Token rows are the same (image, position) pairs in rec and target: the mean over tokens is
   * the mean over the maps. */
  double loss = uad_mse_loss (b->rec_tokens, b->tokens, (int64_t) N * b->channels, b->d_rec);
  memset (b->grads, 0, sizeof (float) * b->n_params);
  if (cnn)
    {
      memset (b->d_cols2, 0, sizeof (float) * (size_t) N * b->in2);
      uad_linear_backward (b->cols2, b->d_rec, N, b->in2, p.w2, b->channels, b->d_cols2, g.w2, g.b2);
      col2im (b, b->d_cols2, b->hidden, batch, b->d_hidden);
    }
  else
    {
      memset (b->d_hidden, 0, sizeof (float) * (size_t) N * b->hidden);
      uad_linear_backward (b->hidden_act, b->d_rec, N, b->in2, p.w2, b->channels, b->d_hidden,
                           g.w2, g.b2);
    }
  for (int64_t i = 0; i < (int64_t) N * b->hidden; i++)
    if (b->hidden_act[i] <= 0.0f)
      b->d_hidden[i] = 0.0f;
  uad_linear_backward (cnn ? b->cols1 : b->tokens, b->d_hidden, N, b->in1, p.w1, b->hidden, NULL,
                       g.w1, g.b1);
  return loss;
}
