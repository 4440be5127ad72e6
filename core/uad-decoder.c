/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-decoder.h"

#include "uad-backbone.h"
#include "uad-error.h"
#include "uad-gemm.h"
#include "uad-ops-private.h"
#include "uad-optim.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

#define N_LAYERS (UAD_DECODER_STAGES + 1)
#define OUT_CHANNELS 3
#define PHASES 4

/* ---- Configuration ------------------------------------------------------------------------ */

void
uad_decoder_config_default (UadDecoderConfig *cfg, int channels, UadNormalization norm)
{
  *cfg = (UadDecoderConfig) { channels, UAD_FEATURE_GRID, { 192, 128, 64, 32 }, norm };
}

const char *
uad_normalization_name (UadNormalization norm)
{
  return norm == UAD_NORMALIZE_IMAGENET ? "imagenet" : "symmetric";
}

gboolean
uad_normalization_from_name (const char *name, UadNormalization *norm, GError **error)
{
  if (g_strcmp0 (name, "imagenet") == 0)
    *norm = UAD_NORMALIZE_IMAGENET;
  else if (g_strcmp0 (name, "symmetric") == 0)
    *norm = UAD_NORMALIZE_SYMMETRIC;
  else
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "unknown pixel normalisation '%s' (imagenet or symmetric)", name);
      return FALSE;
    }
  return TRUE;
}

/* ---- Layers ------------------------------------------------------------------------------- */

/* Layer l: conv0 at the input grid, then upsampling layers.
 *
 * Each layer is one matrix product and a shifted sum. conv0 has one phase of 3x3 taps; an
 * upsampling layer has four phases (a, b), one per output pixel (2i + a, 2j + b), of 2x2 taps,
 * where tap (t, u) reads input pixel (i + t - 1 + a, j + u - 1 + b) (see uad-decoder.h). With
 * A [(p, t, u, co), ci] the weight of tap (t, u) of phase p and G = A X (X the input as
 * [cin, h*w]), G holds every tap's contribution at every input pixel, and
 *   y[co, s i + a, s j + b] = act(bias[co] + sum over (t, u) of G[(p, t, u, co), i + t - pt, j + u - pl])
 * with s the upsampling factor and (pt, pl) the phase's padding. That needs no im2col: the
 * GEMM reads the activations in place, and G has cout / cin times the floats the four phases'
 * im2col matrices would have (cout < cin in every upsampling layer), for the same
 * multiply-adds. The backward pass is two GEMMs as well: dA = dG X^T and dX = A^T dG, where dG
 * gathers dY at the pixels each tap contributed to. */
typedef struct {
  int cin, cout;
  int h, w;            /* input height and width */
  gboolean up;
  gboolean relu;
  size_t w_off, b_off; /* weight [cout, cin, 3, 3] and bias [cout], into params and grads */
} Layer;

struct _UadDecoder {
  UadDecoderConfig cfg;
  Layer layers[N_LAYERS];
  float *params, *grads;
  size_t n_params;
  float *input_mean, *input_std; /* [C] */
};

static int
n_phases (const Layer *L)
{
  return L->up ? PHASES : 1;
}

static int
kernel (const Layer *L)
{
  return L->up ? 2 : 3;
}

/* Rows of A and G: phases x taps x output channels. */
static int
tap_rows (const Layer *L)
{
  return n_phases (L) * kernel (L) * kernel (L) * L->cout;
}

/* Top and left zero padding of phase p. Output row 2i + a of an upsampling layer reads
 * upsampled rows 2i + a - 1 .. 2i + a + 1, i.e. input rows i - 1 + a .. i + a. */
static int
pad_top (const Layer *L, int p)
{
  return L->up ? 1 - p / 2 : 1;
}

static int
pad_left (const Layer *L, int p)
{
  return L->up ? 1 - p % 2 : 1;
}

static int64_t
out_floats (const Layer *L)
{
  int s = L->up ? 2 : 1;
  return (int64_t) L->cout * L->h * s * L->w * s;
}

static int64_t
in_floats (const Layer *L)
{
  return (int64_t) L->cin * L->h * L->w;
}

double
uad_decoder_config_params (const UadDecoderConfig *cfg)
{
  double n = 0;
  for (int l = 0; l < N_LAYERS; l++)
    {
      double cin = l == 0 ? cfg->channels : cfg->widths[l - 1];
      double cout = l < UAD_DECODER_STAGES ? cfg->widths[l] : OUT_CHANNELS;
      n += cout * cin * 9 + cout;
    }
  return n;
}

UadDecoder *
uad_decoder_new (const UadDecoderConfig *cfg, GError **error)
{
  gboolean ok = cfg->channels >= 1 && cfg->channels <= 65536 && cfg->grid >= 1 && cfg->grid <= 256;
  for (int i = 0; i < UAD_DECODER_STAGES; i++)
    ok = ok && cfg->widths[i] >= 1 && cfg->widths[i] <= 4096;
  if (!ok)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "decoder configuration out of range (channels %d, grid %d, widths %d %d %d %d)",
                   cfg->channels, cfg->grid, cfg->widths[0], cfg->widths[1], cfg->widths[2],
                   cfg->widths[3]);
      return NULL;
    }
  UadDecoder *dec = g_new0 (UadDecoder, 1);
  dec->cfg = *cfg;
  size_t off = 0;
  for (int l = 0; l < N_LAYERS; l++)
    {
      Layer *L = &dec->layers[l];
      L->cin = l == 0 ? cfg->channels : cfg->widths[l - 1];
      L->cout = l < UAD_DECODER_STAGES ? cfg->widths[l] : OUT_CHANNELS;
      L->h = L->w = l == 0 ? cfg->grid : cfg->grid << (l - 1);
      L->up = l > 0;
      L->relu = l < UAD_DECODER_STAGES;
      L->w_off = off;
      off += (size_t) L->cout * L->cin * 9;
      L->b_off = off;
      off += (size_t) L->cout;
    }
  dec->n_params = off;
  dec->params = uad_alloc_floats (off);
  dec->grads = uad_alloc_floats (off);
  memset (dec->params, 0, off * sizeof (float));
  memset (dec->grads, 0, off * sizeof (float));
  dec->input_mean = g_new0 (float, cfg->channels);
  dec->input_std = g_new (float, cfg->channels);
  for (int c = 0; c < cfg->channels; c++)
    dec->input_std[c] = 1.0f;
  return dec;
}

void
uad_decoder_free (UadDecoder *dec)
{
  if (dec == NULL)
    return;
  uad_free_aligned (dec->params);
  uad_free_aligned (dec->grads);
  g_free (dec->input_mean);
  g_free (dec->input_std);
  g_free (dec);
}

const UadDecoderConfig *
uad_decoder_get_config (const UadDecoder *dec)
{
  return &dec->cfg;
}

int
uad_decoder_get_output_size (const UadDecoder *dec)
{
  return dec->cfg.grid << UAD_DECODER_STAGES;
}

double
uad_decoder_get_macs (const UadDecoder *dec)
{
  double macs = 0;
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      macs += (double) tap_rows (L) * L->cin * L->h * L->w;
    }
  return macs;
}

float *
uad_decoder_params (UadDecoder *dec, size_t *n)
{
  *n = dec->n_params;
  return dec->params;
}

float *
uad_decoder_grads (UadDecoder *dec, size_t *n)
{
  *n = dec->n_params;
  return dec->grads;
}

typedef struct {
  const float *features;
  int64_t n, channels, plane;
  float *mean, *std;
} Stats;

static void
stats_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Stats *s = ctx;
  for (int64_t c = begin; c < end; c++)
    {
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < s->n; i++)
        {
          const float *x = s->features + (i * s->channels + c) * s->plane;
          for (int64_t j = 0; j < s->plane; j++)
            sum += x[j], sq += (double) x[j] * x[j];
        }
      double count = (double) (s->n * s->plane), mean = sum / count;
      double var = MAX (sq / count - mean * mean, 0.0);
      s->mean[c] = (float) mean;
      s->std[c] = var > 1e-12 ? (float) sqrt (var) : 1.0f;
    }
}

void
uad_decoder_init (UadDecoder *dec, UadRng *rng, const UadTensor *features)
{
  const UadDecoderConfig *cfg = &dec->cfg;
  g_return_if_fail (features->ndim == 4 && features->shape[0] >= 1);
  g_return_if_fail (features->shape[1] == cfg->channels && features->shape[2] == cfg->grid
                    && features->shape[3] == cfg->grid);
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      /* Kaiming uniform: variance gain^2 / fan_in, gain sqrt(2) before a ReLU. */
      float bound = sqrtf ((L->relu ? 6.0f : 3.0f) / (float) (L->cin * 9));
      uad_rng_uniform (rng, dec->params + L->w_off, (int64_t) L->cout * L->cin * 9, -bound, bound);
      memset (dec->params + L->b_off, 0, (size_t) L->cout * sizeof (float));
    }
  Stats s = { features->data, features->shape[0], cfg->channels,
              (int64_t) cfg->grid * cfg->grid, dec->input_mean, dec->input_std };
  uad_parallel_for (cfg->channels, 16, stats_range, &s);
}

gboolean
uad_decoder_load (UadDecoder *dec, UadSafetensors *st, const char *prefix, GError **error)
{
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      g_autofree char *wname = g_strdup_printf ("%sconv%d.weight", prefix, l);
      g_autofree char *bname = g_strdup_printf ("%sconv%d.bias", prefix, l);
      g_autoptr (UadTensor) w = uad_safetensors_load (st, wname, 4,
                                                      (int64_t[]) { L->cout, L->cin, 3, 3 }, error);
      if (w == NULL)
        return FALSE;
      g_autoptr (UadTensor) b = uad_safetensors_load (st, bname, 1, (int64_t[]) { L->cout }, error);
      if (b == NULL)
        return FALSE;
      memcpy (dec->params + L->w_off, w->data, (size_t) uad_tensor_numel (w) * sizeof (float));
      memcpy (dec->params + L->b_off, b->data, (size_t) L->cout * sizeof (float));
    }
  int64_t c = dec->cfg.channels;
  g_autofree char *mname = g_strconcat (prefix, "input_mean", NULL);
  g_autofree char *sname = g_strconcat (prefix, "input_std", NULL);
  g_autoptr (UadTensor) mean = uad_safetensors_load (st, mname, 1, &c, error);
  g_autoptr (UadTensor) std = mean ? uad_safetensors_load (st, sname, 1, &c, error) : NULL;
  if (std == NULL)
    return FALSE;
  for (int64_t i = 0; i < c; i++)
    if (!(std->data[i] > 0 && std->data[i] < INFINITY) || !isfinite (mean->data[i]))
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                     "%s: %s/%s of channel %d is not a finite mean and positive std",
                     uad_safetensors_get_path (st), mname, sname, (int) i);
        return FALSE;
      }
  memcpy (dec->input_mean, mean->data, (size_t) c * sizeof (float));
  memcpy (dec->input_std, std->data, (size_t) c * sizeof (float));
  return TRUE;
}

void
uad_decoder_save (UadDecoder *dec, UadSafetensorsWriter *w, const char *prefix)
{
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      g_autofree char *wname = g_strdup_printf ("%sconv%d.weight", prefix, l);
      g_autofree char *bname = g_strdup_printf ("%sconv%d.bias", prefix, l);
      g_autoptr (UadTensor) wt = uad_tensor_new_borrowed (dec->params + L->w_off, 4,
                                                          (int64_t[]) { L->cout, L->cin, 3, 3 });
      g_autoptr (UadTensor) bt = uad_tensor_new_borrowed (dec->params + L->b_off, 1,
                                                          (int64_t[]) { L->cout });
      uad_safetensors_writer_add_tensor (w, wname, wt);
      uad_safetensors_writer_add_tensor (w, bname, bt);
    }
  int64_t c = dec->cfg.channels;
  g_autofree char *mname = g_strconcat (prefix, "input_mean", NULL);
  g_autofree char *sname = g_strconcat (prefix, "input_std", NULL);
  g_autoptr (UadTensor) mean = uad_tensor_new_borrowed (dec->input_mean, 1, &c);
  g_autoptr (UadTensor) std = uad_tensor_new_borrowed (dec->input_std, 1, &c);
  uad_safetensors_writer_add_tensor (w, mname, mean);
  uad_safetensors_writer_add_tensor (w, sname, std);
}

/* ---- Tap matrices ------------------------------------------------------------------------ */

/* Which tap of phase a (rows; the same for columns) the 3x3 kernel row k falls on: for a = 0
 * the rows 0 | 1 2 read input rows i-1 | i; for a = 1 the rows 0 1 | 2 read i | i+1. conv0's
 * tap is the kernel row itself. */
static int
tap_of (const Layer *L, int a, int k)
{
  return L->up ? (k + 1 - a) / 2 : k;
}

/* Row of A for phase p, tap (t, u), output channel co. */
static size_t
tap_row (const Layer *L, int p, int t, int u, int co)
{
  int k = kernel (L);
  return ((size_t) (p * k + t) * k + u) * L->cout + co;
}

typedef struct {
  const Layer *L;
  const float *w; /* [cout, cin, 3, 3] */
  float *a;       /* [tap_rows, cin] */
} TapMatrix;

/* A[(p, t, u, co), ci] = sum of w[co, ci, ky, kx] over the (ky, kx) on tap (t, u) of phase p,
 * for output channels [begin, end). */
static void
tap_matrix_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const TapMatrix *m = ctx;
  const Layer *L = m->L;
  for (int64_t co = begin; co < end; co++)
    {
      for (int p = 0; p < n_phases (L); p++)
        for (int t = 0; t < kernel (L); t++)
          for (int u = 0; u < kernel (L); u++)
            memset (m->a + tap_row (L, p, t, u, (int) co) * L->cin, 0, (size_t) L->cin * sizeof (float));
      for (int ci = 0; ci < L->cin; ci++)
        {
          const float *w = m->w + ((size_t) co * L->cin + ci) * 9;
          for (int p = 0; p < n_phases (L); p++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                m->a[tap_row (L, p, tap_of (L, p / 2, ky), tap_of (L, p % 2, kx), (int) co) * L->cin + ci]
                  += w[ky * 3 + kx];
        }
    }
}

typedef struct {
  const Layer *L;
  const float *da; /* [tap_rows, cin] */
  float *dw;       /* [cout, cin, 3, 3] */
} FoldTaps;

/* The transpose of tap_matrix_range: dw[co, ci, ky, kx] += dA[(p, tap(ky), tap(kx), co), ci]
 * summed over the phases. */
static void
fold_taps_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const FoldTaps *f = ctx;
  const Layer *L = f->L;
  for (int64_t co = begin; co < end; co++)
    for (int ci = 0; ci < L->cin; ci++)
      {
        float *dw = f->dw + ((size_t) co * L->cin + ci) * 9;
        for (int p = 0; p < n_phases (L); p++)
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
              dw[ky * 3 + kx] += f->da[tap_row (L, p, tap_of (L, p / 2, ky), tap_of (L, p % 2, kx),
                                                (int) co) * L->cin + ci];
      }
}

/* ---- Workspace ---------------------------------------------------------------------------- */

struct _UadDecoderWorkspace {
  UadDecoder *dec;
  int max_batch;
  gboolean training;
  float *input;                 /* standardised features [B, C, g, g] */
  float *acts[N_LAYERS];        /* layer outputs [B, cout, H, W]; the last is the result */
  float *a[N_LAYERS];           /* tap matrices [tap_rows, cin], made from the weights */
  float *g;                     /* G of one layer and image, or its gradient [tap_rows, h*w] */
  float *rows;                  /* per worker: two rows of sums, 2 * row_floats */
  size_t row_floats;
  int row_workers;
  /* training only */
  float *da[N_LAYERS];          /* tap-matrix gradients, summed over the batch */
  float *grad[2];               /* activation gradients of one image */
  float *dout;                  /* d loss / d output [B, 3, S, S] */
};

/* The per-worker rows, for as many workers as the pool has now. */
static void
ensure_rows (UadDecoderWorkspace *ws)
{
  int threads = uad_parallel_get_threads ();
  if (threads <= ws->row_workers)
    return;
  uad_free_aligned (ws->rows);
  ws->rows = uad_alloc_floats (2 * ws->row_floats * threads);
  ws->row_workers = threads;
}

UadDecoderWorkspace *
uad_decoder_workspace_new (UadDecoder *dec, int max_batch, gboolean training)
{
  g_return_val_if_fail (max_batch >= 1, NULL);
  UadDecoderWorkspace *ws = g_new0 (UadDecoderWorkspace, 1);
  ws->dec = dec;
  ws->max_batch = max_batch;
  ws->training = training;
  const UadDecoderConfig *cfg = &dec->cfg;
  ws->input = uad_alloc_floats ((size_t) max_batch * cfg->channels * cfg->grid * cfg->grid);
  size_t g = 0, grad = 0;
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      size_t na = (size_t) tap_rows (L) * L->cin;
      ws->acts[l] = uad_alloc_floats ((size_t) max_batch * out_floats (L));
      ws->a[l] = uad_alloc_floats (na);
      g = MAX (g, (size_t) tap_rows (L) * L->h * L->w);
      ws->row_floats = MAX (ws->row_floats, (size_t) L->w);
      if (l > 0)
        grad = MAX (grad, (size_t) in_floats (L));
      if (training)
        ws->da[l] = uad_alloc_floats (na);
    }
  ws->g = uad_alloc_floats (g);
  ensure_rows (ws);
  if (training)
    {
      ws->grad[0] = uad_alloc_floats (grad);
      ws->grad[1] = uad_alloc_floats (grad);
      ws->dout = uad_alloc_floats ((size_t) max_batch * out_floats (&dec->layers[N_LAYERS - 1]));
    }
  return ws;
}

void
uad_decoder_workspace_free (UadDecoderWorkspace *ws)
{
  if (ws == NULL)
    return;
  uad_free_aligned (ws->input);
  for (int l = 0; l < N_LAYERS; l++)
    {
      uad_free_aligned (ws->acts[l]);
      uad_free_aligned (ws->a[l]);
      uad_free_aligned (ws->da[l]);
    }
  uad_free_aligned (ws->g);
  uad_free_aligned (ws->rows);
  uad_free_aligned (ws->grad[0]);
  uad_free_aligned (ws->grad[1]);
  uad_free_aligned (ws->dout);
  g_free (ws);
}

/* ---- Forward ------------------------------------------------------------------------------ */

/* The columns j of an input row for which j + off lies inside [0, w). */
static void
valid_columns (int off, int w, int *lo, int *hi)
{
  *lo = CLAMP (-off, 0, w);
  *hi = CLAMP (w - off, *lo, w);
}

typedef struct {
  const Layer *L;
  const float *g, *bias;
  float *y;
  float *rows;
  size_t row_floats;
} Gather;

/* sum[j] = bias + sum over the taps of phase p of G[(p, t, u, co), i + t - pt, j + u - pl]. */
UAD_ALWAYS_INLINE void
phase_sums (const Gather *ga, int co, int i, int p, float *sum)
{
  const Layer *L = ga->L;
  int w = L->w, k = kernel (L);
  size_t hw = (size_t) L->h * w;
  for (int j = 0; j < w; j++)
    sum[j] = ga->bias[co];
  for (int t = 0; t < k; t++)
    {
      int m = i + t - pad_top (L, p);
      if (m < 0 || m >= L->h)
        continue;
      for (int u = 0; u < k; u++)
        {
          int off = u - pad_left (L, p), lo, hi;
          valid_columns (off, w, &lo, &hi);
          const float *row = ga->g + tap_row (L, p, t, u, co) * hw + (size_t) m * w;
          for (int j = lo; j < hi; j++)
            sum[j] += row[j + off];
        }
    }
}

/* Output channels [begin, end): the shifted sums, bias and activation, written row by row (an
 * upsampling layer's two column phases interleaved). */
UAD_VECTOR_CLONES static void
gather_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Gather *ga = ctx;
  const Layer *L = ga->L;
  int w = L->w, s = L->up ? 2 : 1;
  float *even = ga->rows + (size_t) worker * 2 * ga->row_floats, *odd = even + ga->row_floats;
  for (int64_t co = begin; co < end; co++)
    {
      float *y = ga->y + (size_t) co * L->h * s * w * s;
      for (int i = 0; i < L->h; i++)
        for (int a = 0; a < s; a++)
          {
            float *d = y + (size_t) (i * s + a) * w * s;
            if (!L->up)
              {
                phase_sums (ga, (int) co, i, 0, d);
                for (int j = 0; j < w; j++)
                  d[j] = L->relu && d[j] < 0.0f ? 0.0f : d[j];
                continue;
              }
            phase_sums (ga, (int) co, i, 2 * a, even);
            phase_sums (ga, (int) co, i, 2 * a + 1, odd);
            for (int j = 0; j < w; j++)
              {
                d[2 * j] = L->relu && even[j] < 0.0f ? 0.0f : even[j];
                d[2 * j + 1] = L->relu && odd[j] < 0.0f ? 0.0f : odd[j];
              }
          }
    }
}

static void
layer_forward (UadDecoderWorkspace *ws, int l, const float *x, float *y)
{
  UadDecoder *dec = ws->dec;
  const Layer *L = &dec->layers[l];
  int hw = L->h * L->w;
  uad_sgemm (FALSE, FALSE, tap_rows (L), hw, L->cin, 1.0f, ws->a[l], L->cin, x, hw, 0.0f, ws->g, hw);
  Gather ga = { L, ws->g, dec->params + L->b_off, y, ws->rows, ws->row_floats };
  uad_parallel_for (L->cout, 1, gather_range, &ga);
}

typedef struct {
  const float *features, *mean, *std;
  float *out;
  int c, plane;
} Standardise;

static void
standardise_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Standardise *s = ctx;
  for (int64_t i = begin; i < end; i++) /* i = image * C + channel */
    {
      int c = (int) (i % s->c);
      const float *x = s->features + i * s->plane;
      float *y = s->out + i * s->plane;
      for (int j = 0; j < s->plane; j++)
        y[j] = (x[j] - s->mean[c]) / s->std[c];
    }
}

const float *
uad_decoder_forward (UadDecoder *dec, UadDecoderWorkspace *ws, const float *features, int batch)
{
  g_return_val_if_fail (ws->dec == dec && batch >= 1 && batch <= ws->max_batch, NULL);
  const UadDecoderConfig *cfg = &dec->cfg;
  int plane = cfg->grid * cfg->grid;
  ensure_rows (ws);
  Standardise s = { features, dec->input_mean, dec->input_std, ws->input, cfg->channels, plane };
  uad_parallel_for ((int64_t) batch * cfg->channels, 64, standardise_range, &s);
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      TapMatrix m = { L, dec->params + L->w_off, ws->a[l] };
      uad_parallel_for (L->cout, 1, tap_matrix_range, &m);
    }
  for (int i = 0; i < batch; i++)
    {
      const float *x = ws->input + (size_t) i * cfg->channels * plane;
      for (int l = 0; l < N_LAYERS; l++)
        {
          float *y = ws->acts[l] + (size_t) i * out_floats (&dec->layers[l]);
          layer_forward (ws, l, x, y);
          x = y;
        }
    }
  return ws->acts[N_LAYERS - 1];
}

/* ---- Backward ----------------------------------------------------------------------------- */

/* For output channels [begin, end): the bias gradient (the sum of dz over the plane) and the
 * rows of dG: dG[(p, t, u, co), m, n] = dz[co, s i + a, s j + b] for the output pixel that
 * tap (t, u) of phase p fed from input pixel (m, n), i = m - t + pt, j = n - u + pl; 0 where
 * that pixel is outside. */
typedef struct {
  const Layer *L;
  const float *dz;
  float *dbias, *dg;
} Scatter;

UAD_VECTOR_CLONES static void
scatter_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Scatter *sc = ctx;
  const Layer *L = sc->L;
  int s = L->up ? 2 : 1, w = L->w, k = kernel (L), ow = w * s;
  size_t hw = (size_t) L->h * w;
  for (int64_t co = begin; co < end; co++)
    {
      const float *dz = sc->dz + (size_t) co * hw * s * s;
      double sum = 0;
      for (size_t i = 0; i < hw * s * s; i++)
        sum += dz[i];
      sc->dbias[co] += (float) sum;
      for (int p = 0; p < n_phases (L); p++)
        for (int t = 0; t < k; t++)
          for (int u = 0; u < k; u++)
            {
              float *dg = sc->dg + tap_row (L, p, t, u, (int) co) * hw;
              int off = pad_left (L, p) - u, lo, hi;
              valid_columns (off, w, &lo, &hi);
              for (int m = 0; m < L->h; m++, dg += w)
                {
                  int i = m - t + pad_top (L, p);
                  if (i < 0 || i >= L->h)
                    {
                      for (int n = 0; n < w; n++)
                        dg[n] = 0.0f;
                      continue;
                    }
                  const float *row = dz + (size_t) (s * i + p / 2 * (s - 1)) * ow + p % 2 * (s - 1);
                  for (int n = 0; n < lo; n++)
                    dg[n] = 0.0f;
                  for (int n = lo; n < hi; n++)
                    dg[n] = row[s * (n + off)];
                  for (int n = hi; n < w; n++)
                    dg[n] = 0.0f;
                }
            }
    }
}

typedef struct {
  float *dx;
  const float *x;
  int64_t plane;
} ReluMask;

/* dx = 0 where the ReLU that produced x was off, for planes [begin, end). */
UAD_VECTOR_CLONES static void
relu_mask_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const ReluMask *rm = ctx;
  for (int64_t i = begin * rm->plane; i < end * rm->plane; i++)
    rm->dx[i] = rm->x[i] > 0.0f ? rm->dx[i] : 0.0f;
}

/* Layer l of one image: x its input, dz the gradient at its output before the activation.
 * Adds the bias gradient and the tap-matrix gradient (ws->da); with dx, writes the gradient at
 * x before x's ReLU. */
static void
layer_backward (UadDecoderWorkspace *ws, int l, const float *x, const float *dz, float *dx)
{
  UadDecoder *dec = ws->dec;
  const Layer *L = &dec->layers[l];
  int hw = L->h * L->w, rows = tap_rows (L);
  Scatter sc = { L, dz, dec->grads + L->b_off, ws->g };
  uad_parallel_for (L->cout, 1, scatter_range, &sc);
  uad_sgemm (FALSE, TRUE, rows, L->cin, hw, 1.0f, ws->g, hw, x, hw, 1.0f, ws->da[l], L->cin);
  if (dx == NULL)
    return;
  uad_sgemm (TRUE, FALSE, L->cin, hw, rows, 1.0f, ws->a[l], L->cin, ws->g, hw, 0.0f, dx, hw);
  ReluMask rm = { dx, x, hw };
  uad_parallel_for (L->cin, 1, relu_mask_range, &rm);
}

void
uad_decoder_backward (UadDecoder *dec, UadDecoderWorkspace *ws, int batch, const float *dimages)
{
  g_return_if_fail (ws->dec == dec && ws->training && batch >= 1 && batch <= ws->max_batch);
  const UadDecoderConfig *cfg = &dec->cfg;
  for (int l = 0; l < N_LAYERS; l++)
    memset (ws->da[l], 0, (size_t) tap_rows (&dec->layers[l]) * dec->layers[l].cin * sizeof (float));
  size_t in_plane = (size_t) cfg->channels * cfg->grid * cfg->grid;
  for (int i = 0; i < batch; i++)
    {
      /* The output layer has no activation: its dz is the image gradient itself. */
      const float *dz = dimages + (size_t) i * out_floats (&dec->layers[N_LAYERS - 1]);
      for (int l = N_LAYERS - 1; l >= 0; l--)
        {
          const Layer *L = &dec->layers[l];
          const float *x = l > 0 ? ws->acts[l - 1] + (size_t) i * in_floats (L)
                                 : ws->input + (size_t) i * in_plane;
          float *dx = l > 0 ? ws->grad[l % 2] : NULL;
          layer_backward (ws, l, x, dz, dx);
          dz = dx;
        }
    }
  for (int l = 0; l < N_LAYERS; l++)
    {
      const Layer *L = &dec->layers[l];
      FoldTaps f = { L, ws->da[l], dec->grads + L->w_off };
      uad_parallel_for (L->cout, 1, fold_taps_range, &f);
    }
}

double
uad_decoder_train_step (UadDecoder *dec, UadDecoderWorkspace *ws, const float *features,
                        const float *targets, int batch)
{
  g_return_val_if_fail (ws->training, NAN);
  memset (dec->grads, 0, dec->n_params * sizeof (float));
  const float *out = uad_decoder_forward (dec, ws, features, batch);
  int64_t n = (int64_t) batch * out_floats (&dec->layers[N_LAYERS - 1]);
  double loss = uad_mse_loss (out, targets, n, ws->dout);
  uad_decoder_backward (dec, ws, batch, ws->dout);
  return loss;
}

UadImage *
uad_decoder_to_image (const float *chw, int size, UadNormalization norm)
{
  /* The inverse of uad_image_to_chw: p = x * 255 std + 255 mean, or x * 127.5 + 127.5. */
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float std[3] = { 0.229f, 0.224f, 0.225f };
  UadImage *img = uad_image_new (size, size);
  size_t hw = (size_t) size * size;
  for (int c = 0; c < 3; c++)
    {
      float scale = norm == UAD_NORMALIZE_IMAGENET ? 255.0f * std[c] : 127.5f;
      float offset = norm == UAD_NORMALIZE_IMAGENET ? 255.0f * mean[c] : 127.5f;
      for (size_t i = 0; i < hw; i++)
        {
          float v = chw[c * hw + i] * scale + offset;
          v = v > 0.0f ? v : 0.0f; /* also NaN */
          v = v < 255.0f ? v : 255.0f;
          img->rgb[i * 3 + c] = (guint8) (v + 0.5f);
        }
    }
  return img;
}

/* ---- Training ----------------------------------------------------------------------------- */

void
uad_decoder_train_options_default (UadDecoderTrainOptions *opts)
{
  *opts = (UadDecoderTrainOptions) { .epochs = 10, .batch = 8, .lr = 1e-3, .weight_decay = 1e-4,
                                     .seed = 133 };
}

/* The epoch's image order: a Fisher-Yates shuffle seeded by (seed, epoch) only. */
static void
shuffle (guint64 seed, int epoch, int *idx, int n)
{
  UadRng r;
  uad_rng_init (&r, seed ^ (0x94d049bb133111ebull * (guint64) (epoch + 1)));
  for (int i = 0; i < n; i++)
    idx[i] = i;
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (uad_rng_next (&r) % (guint64) (i + 1));
      int tmp = idx[i];
      idx[i] = idx[j];
      idx[j] = tmp;
    }
}

gboolean
uad_decoder_train (UadDecoder *dec, const UadTensor *features, const guint8 *pixels,
                   const UadDecoderTrainOptions *o, UadDecoderProgressFunc progress,
                   void *user_data, double *final_loss, double *seconds, int *epochs_done,
                   GError **error)
{
  const UadDecoderConfig *cfg = &dec->cfg;
  g_return_val_if_fail ((o->epochs >= 1 || o->seconds > 0) && o->batch >= 1, FALSE);
  g_return_val_if_fail (features->ndim == 4 && features->shape[1] == cfg->channels, FALSE);
  int n = (int) features->shape[0], size = uad_decoder_get_output_size (dec);
  size_t per_feature = (size_t) cfg->channels * cfg->grid * cfg->grid;
  size_t per_pixels = (size_t) size * size * 3;
  gboolean timed = o->seconds > 0;

  UadRng rng;
  uad_rng_init (&rng, o->seed);
  uad_decoder_init (dec, &rng, features);
  UadAdamWConfig acfg;
  uad_adamw_config_default (&acfg);
  acfg.weight_decay = o->weight_decay;
  size_t n_params;
  float *params = uad_decoder_params (dec, &n_params);
  float *grads = uad_decoder_grads (dec, &n_params);
  UadAdamW *opt = uad_adamw_new (&acfg, n_params);
  UadDecoderWorkspace *ws = uad_decoder_workspace_new (dec, o->batch, TRUE);
  g_autofree float *batch_features = g_new (float, o->batch * per_feature);
  g_autofree float *targets = g_new (float, o->batch * per_pixels);
  g_autofree int *idx = g_new (int, n);

  int steps = (n + o->batch - 1) / o->batch;
  int64_t total_steps = (int64_t) steps * o->epochs, done = 0, images_done = 0;
  double trained = 0; /* seconds of training, not of the progress callbacks */
  double epoch_loss = NAN, fraction = 0;
  gboolean ok = TRUE;
  int epoch = 0;
  for (; ok && (timed ? fraction < 1 : epoch < o->epochs); epoch++)
    {
      shuffle (o->seed, epoch, idx, n);
      double loss_sum = 0;
      int step = 0;
      for (; step < steps && ok && fraction < 1; step++)
        {
          gint64 step_start = g_get_monotonic_time ();
          int first = step * o->batch, b = MIN (o->batch, n - first);
          for (int j = 0; j < b; j++)
            {
              int i = idx[first + j];
              memcpy (batch_features + j * per_feature, features->data + i * per_feature,
                      per_feature * sizeof (float));
              UadImage img = { size, size, (guint8 *) pixels + i * per_pixels };
              uad_image_to_chw (&img, cfg->normalization, targets + j * per_pixels);
            }
          loss_sum += uad_decoder_train_step (dec, ws, batch_features, targets, b);
          /* Half-cosine decay from lr to 0 over the whole run. */
          uad_adamw_step (opt, params, grads, uad_warmup_cosine_lr (o->lr, fraction, 0, 0));
          done++;
          images_done += b;
          trained += (g_get_monotonic_time () - step_start) / 1e6;
          fraction = timed ? trained / o->seconds : (double) done / (double) total_steps;

          double rate = (double) images_done / MAX (trained, 1e-9);
          UadDecoderTrainProgress p = {
            epoch, timed ? 0 : o->epochs, step + 1, steps, MIN (fraction, 1.0),
            loss_sum / (step + 1), rate,
            timed ? MAX (o->seconds - trained, 0)
                  : ((double) n * o->epochs - (double) images_done) / MAX (rate, 1e-9),
          };
          if (progress && !progress (&p, user_data))
            {
              g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "decoder training stopped");
              ok = FALSE;
            }
        }
      epoch_loss = loss_sum / step;
    }
  *final_loss = epoch_loss;
  *seconds = trained;
  *epochs_done = epoch;
  uad_decoder_workspace_free (ws);
  uad_adamw_free (opt);
  return ok;
}

/* ---- Target images ------------------------------------------------------------------------ */

typedef struct {
  const char *const *paths;
  int size;
  guint8 *pixels;
  GError **errors;
} PixelLoad;

static void
load_pixels_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const PixelLoad *pl = ctx;
  size_t per = (size_t) pl->size * pl->size * 3;
  for (int64_t i = begin; i < end; i++)
    {
      g_autoptr (UadImage) img = uad_image_load (pl->paths[i], &pl->errors[i]);
      if (img == NULL)
        continue;
      g_autoptr (UadImage) resized = uad_image_resize_bilinear (img, pl->size, pl->size);
      memcpy (pl->pixels + i * per, resized->rgb, per);
    }
}

#define LOAD_CHUNK 64

guint8 *
uad_decoder_load_pixels (const char *const *paths, int n, int size, UadProgressFunc progress,
                         void *user_data, GError **error)
{
  size_t per = (size_t) size * size * 3;
  g_autofree guint8 *pixels = g_malloc (MAX ((size_t) n, (size_t) 1) * per);
  GError *errors[LOAD_CHUNK];
  for (int first = 0; first < n; first += LOAD_CHUNK)
    {
      int count = MIN (LOAD_CHUNK, n - first);
      memset (errors, 0, sizeof errors);
      PixelLoad pl = { paths + first, size, pixels + first * per, errors };
      uad_parallel_for (count, 1, load_pixels_range, &pl);
      GError *first_error = NULL;
      for (int i = 0; i < count; i++)
        {
          if (errors[i] && first_error == NULL)
            first_error = g_steal_pointer (&errors[i]);
          g_clear_error (&errors[i]);
        }
      if (first_error)
        {
          g_propagate_error (error, first_error);
          return NULL;
        }
      if (progress && !progress (first + count, n, user_data))
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "cancelled");
          return NULL;
        }
    }
  return g_steal_pointer (&pixels);
}
