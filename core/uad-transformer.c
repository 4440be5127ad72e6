/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-transformer.h"

#include "uad-backbone.h"
#include "uad-error.h"
#include "uad-ops.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

/* ---- Parameters --------------------------------------------------------------------------- */

typedef struct {
  UadMhaParams attn;
  UadFfnParams ffn;
  UadLayerNormParams norm1, norm2;
} EncParams;

/* UniAD's names: "self_attn" attends from the query embedding to the encoder memory,
 * "multihead_attn" from the layer's state to the previous decoder output. */
typedef struct {
  float *embed; /* NULL without layer-wise queries after the first layer: the query is then
                 * the previous layer's output */
  UadMhaParams self_attn, multihead_attn;
  UadFfnParams ffn;
  UadLayerNormParams norm1, norm2, norm3;
} DecParams;

/* Pointers into the parameter buffer, or (same layout) into the gradient buffer. */
typedef struct {
  float *row_embed, *col_embed;
  EncParams *enc;
  DecParams *dec;
  UadLayerNormParams dec_norm;
  float *in_w, *in_b, *out_w, *out_b;
} Views;

typedef enum {
  INIT_XAVIER,
  INIT_ZERO,
  INIT_ONE,
  INIT_UNIFORM01,
  INIT_NORMAL,
} InitKind;

typedef struct {
  UadParamInfo info;
  InitKind init;
  float **param_slot, **grad_slot;
} Entry;

struct _UadTransformer {
  UadTransformerConfig cfg;
  int tokens;
  Entry *entries;
  int n_entries, n_alloc;
  float *params, *grads;
  size_t n_floats;
  Views p, g;
  float *mask; /* [T, T] additive: 0 visible, -inf inside the neighbourhood; NULL for none */
};

void
uad_transformer_config_default (UadTransformerConfig *cfg, int channels)
{
  *cfg = (UadTransformerConfig) {
    .channels = channels,
    .hidden = 256,
    .heads = 8,
    .ffn = 1024,
    .encoder_layers = 4,
    .decoder_layers = 4,
    .grid_h = UAD_FEATURE_GRID,
    .grid_w = UAD_FEATURE_GRID,
    .neighbour_h = 7,
    .neighbour_w = 7,
    .layer_queries = TRUE,
    .dropout = 0.1f,
    .jitter_scale = 20.0f,
    .jitter_prob = 1.0f,
    .layernorm_eps = 1e-5f,
  };
}

/* Parameters start on 64-byte boundaries; the padding between them stays zero. */
#define PARAM_ALIGN 16

static void
reg (UadTransformer *m, float **param_slot, float **grad_slot, InitKind init, int64_t d0,
     int64_t d1, const char *fmt, ...) G_GNUC_PRINTF (7, 8);

static void
reg (UadTransformer *m, float **param_slot, float **grad_slot, InitKind init, int64_t d0,
     int64_t d1, const char *fmt, ...)
{
  if (m->n_entries == m->n_alloc)
    {
      m->n_alloc = MAX (64, 2 * m->n_alloc);
      m->entries = g_renew (Entry, m->entries, m->n_alloc);
    }
  va_list ap;
  va_start (ap, fmt);
  Entry *e = &m->entries[m->n_entries++];
  *e = (Entry) { .init = init, .param_slot = param_slot, .grad_slot = grad_slot };
  e->info.name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  e->info.offset = m->n_floats;
  e->info.ndim = d1 > 0 ? 2 : 1;
  e->info.shape[0] = d0;
  e->info.shape[1] = d1;
  int64_t numel = d1 > 0 ? d0 * d1 : d0;
  m->n_floats += ((size_t) numel + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
}

#define REG(field, init, d0, d1, ...) \
  reg (m, &m->p.field, &m->g.field, init, d0, d1, __VA_ARGS__)

static void
reg_mha (UadTransformer *m, UadMhaParams *p, UadMhaParams *g, const char *prefix)
{
  int D = m->cfg.hidden;
  reg (m, &p->in_w, &g->in_w, INIT_XAVIER, 3 * D, D, "%s.in_proj_weight", prefix);
  reg (m, &p->in_b, &g->in_b, INIT_ZERO, 3 * D, 0, "%s.in_proj_bias", prefix);
  reg (m, &p->out_w, &g->out_w, INIT_XAVIER, D, D, "%s.out_proj.weight", prefix);
  reg (m, &p->out_b, &g->out_b, INIT_ZERO, D, 0, "%s.out_proj.bias", prefix);
}

static void
reg_ffn (UadTransformer *m, UadFfnParams *p, UadFfnParams *g, const char *prefix)
{
  int D = m->cfg.hidden, F = m->cfg.ffn;
  reg (m, &p->w1, &g->w1, INIT_XAVIER, F, D, "%s.linear1.weight", prefix);
  reg (m, &p->b1, &g->b1, INIT_ZERO, F, 0, "%s.linear1.bias", prefix);
  reg (m, &p->w2, &g->w2, INIT_XAVIER, D, F, "%s.linear2.weight", prefix);
  reg (m, &p->b2, &g->b2, INIT_ZERO, D, 0, "%s.linear2.bias", prefix);
}

static void
reg_norm (UadTransformer *m, UadLayerNormParams *p, UadLayerNormParams *g, const char *name)
{
  int D = m->cfg.hidden;
  reg (m, &p->weight, &g->weight, INIT_ONE, D, 0, "%s.weight", name);
  reg (m, &p->bias, &g->bias, INIT_ZERO, D, 0, "%s.bias", name);
}

/* Whether decoder layer l has a learned query embedding of its own. */
static gboolean
has_query (const UadTransformerConfig *c, int l)
{
  return c->layer_queries || l == 0;
}

/* The table, in the order of the original state dict. */
static void
register_params (UadTransformer *m)
{
  const UadTransformerConfig *c = &m->cfg;
  int D = c->hidden;
  REG (row_embed, INIT_UNIFORM01, c->grid_h, D / 2, "pos_embed.row_embed.weight");
  REG (col_embed, INIT_UNIFORM01, c->grid_w, D / 2, "pos_embed.col_embed.weight");
  for (int l = 0; l < c->encoder_layers; l++)
    {
      g_autofree char *pre = g_strdup_printf ("transformer.encoder.layers.%d", l);
      g_autofree char *attn = g_strdup_printf ("%s.self_attn", pre);
      g_autofree char *n1 = g_strdup_printf ("%s.norm1", pre);
      g_autofree char *n2 = g_strdup_printf ("%s.norm2", pre);
      reg_mha (m, &m->p.enc[l].attn, &m->g.enc[l].attn, attn);
      reg_ffn (m, &m->p.enc[l].ffn, &m->g.enc[l].ffn, pre);
      reg_norm (m, &m->p.enc[l].norm1, &m->g.enc[l].norm1, n1);
      reg_norm (m, &m->p.enc[l].norm2, &m->g.enc[l].norm2, n2);
    }
  for (int l = 0; l < c->decoder_layers; l++)
    {
      g_autofree char *pre = g_strdup_printf ("transformer.decoder.layers.%d", l);
      g_autofree char *sa = g_strdup_printf ("%s.self_attn", pre);
      g_autofree char *ma = g_strdup_printf ("%s.multihead_attn", pre);
      g_autofree char *n1 = g_strdup_printf ("%s.norm1", pre);
      g_autofree char *n2 = g_strdup_printf ("%s.norm2", pre);
      g_autofree char *n3 = g_strdup_printf ("%s.norm3", pre);
      if (has_query (c, l))
        REG (dec[l].embed, INIT_NORMAL, m->tokens, D, "%s.learned_embed.weight", pre);
      reg_mha (m, &m->p.dec[l].self_attn, &m->g.dec[l].self_attn, sa);
      reg_mha (m, &m->p.dec[l].multihead_attn, &m->g.dec[l].multihead_attn, ma);
      reg_ffn (m, &m->p.dec[l].ffn, &m->g.dec[l].ffn, pre);
      reg_norm (m, &m->p.dec[l].norm1, &m->g.dec[l].norm1, n1);
      reg_norm (m, &m->p.dec[l].norm2, &m->g.dec[l].norm2, n2);
      reg_norm (m, &m->p.dec[l].norm3, &m->g.dec[l].norm3, n3);
    }
  reg_norm (m, &m->p.dec_norm, &m->g.dec_norm, "transformer.decoder.norm");
  REG (in_w, INIT_XAVIER, D, c->channels, "input_proj.weight");
  REG (in_b, INIT_ZERO, D, 0, "input_proj.bias");
  REG (out_w, INIT_XAVIER, c->channels, D, "output_proj.weight");
  REG (out_b, INIT_ZERO, c->channels, 0, "output_proj.bias");
}

double
uad_transformer_config_params (const UadTransformerConfig *c)
{
  double D = c->hidden, C = c->channels, F = c->ffn, tokens = (double) c->grid_h * c->grid_w;
  double mha = 4 * D * D + 4 * D, ffn = 2 * F * D + F + D, norm = 2 * D;
  double queries = c->layer_queries ? c->decoder_layers : 1;
  return (c->grid_h + c->grid_w) * (D / 2)
         + c->encoder_layers * (mha + ffn + 2 * norm)
         + queries * tokens * D + c->decoder_layers * (2 * mha + ffn + 3 * norm)
         + norm + (D * C + D) + (C * D + C);
}

/* The neighbour mask of UniAD's Transformer.generate_mask, built once per model. */
static float *
build_mask (const UadTransformerConfig *c, GError **error)
{
  int T = c->grid_h * c->grid_w;
  float *mask = uad_alloc_floats ((size_t) T * T);
  for (int h1 = 0; h1 < c->grid_h; h1++)
    for (int w1 = 0; w1 < c->grid_w; w1++)
      {
        float *row = mask + (size_t) (h1 * c->grid_w + w1) * T;
        int visible = T;
        for (int h2 = MAX (h1 - c->neighbour_h / 2, 0); h2 < MIN (h1 + c->neighbour_h / 2 + 1, c->grid_h); h2++)
          for (int w2 = MAX (w1 - c->neighbour_w / 2, 0); w2 < MIN (w1 + c->neighbour_w / 2 + 1, c->grid_w); w2++)
            {
              row[h2 * c->grid_w + w2] = -INFINITY;
              visible--;
            }
        if (visible == 0)
          {
            g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                         "a %dx%d neighbour mask hides every key of token (%d, %d) on a %dx%d grid",
                         c->neighbour_h, c->neighbour_w, h1, w1, c->grid_h, c->grid_w);
            uad_free_aligned (mask);
            return NULL;
          }
      }
  return mask;
}

UadTransformer *
uad_transformer_new (const UadTransformerConfig *cfg, GError **error)
{
  const UadTransformerConfig *c = cfg;
  if (c->channels < 1 || c->hidden < 2 || c->hidden % 2 != 0 || c->heads < 1
      || c->hidden % c->heads != 0 || c->ffn < 1 || c->encoder_layers < 0
      || c->decoder_layers < 1 || c->grid_h < 1 || c->grid_w < 1 || c->neighbour_h < 0
      || c->neighbour_w < 0 || (c->neighbour_h == 0) != (c->neighbour_w == 0)
      || !(c->dropout >= 0.0f && c->dropout < 1.0f) || !(c->layernorm_eps > 0.0f))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "invalid transformer configuration (C %d, D %d, %d heads, FFN %d, %d+%d layers, "
                   "grid %dx%d, neighbour %dx%d, dropout %g)",
                   c->channels, c->hidden, c->heads, c->ffn, c->encoder_layers,
                   c->decoder_layers, c->grid_h, c->grid_w, c->neighbour_h, c->neighbour_w,
                   c->dropout);
      return NULL;
    }
  float *mask = NULL;
  if (c->neighbour_h > 0 && (mask = build_mask (c, error)) == NULL)
    return NULL;

  UadTransformer *m = g_new0 (UadTransformer, 1);
  m->cfg = *c;
  m->tokens = c->grid_h * c->grid_w;
  m->mask = mask;
  m->p.enc = g_new0 (EncParams, MAX (c->encoder_layers, 1));
  m->g.enc = g_new0 (EncParams, MAX (c->encoder_layers, 1));
  m->p.dec = g_new0 (DecParams, c->decoder_layers);
  m->g.dec = g_new0 (DecParams, c->decoder_layers);
  register_params (m);
  m->params = uad_alloc_floats (m->n_floats);
  for (int i = 0; i < m->n_entries; i++)
    *m->entries[i].param_slot = m->params + m->entries[i].info.offset;
  return m;
}

/* Gradients exist only once training asks for them: a model that only infers does not carry
 * a second copy of its size. */
static void
ensure_grads (UadTransformer *m)
{
  if (m->grads != NULL)
    return;
  m->grads = uad_alloc_floats (m->n_floats);
  for (int i = 0; i < m->n_entries; i++)
    *m->entries[i].grad_slot = m->grads + m->entries[i].info.offset;
}

void
uad_transformer_free (UadTransformer *m)
{
  if (m == NULL)
    return;
  for (int i = 0; i < m->n_entries; i++)
    g_free ((char *) m->entries[i].info.name);
  g_free (m->entries);
  uad_free_aligned (m->params);
  uad_free_aligned (m->grads);
  uad_free_aligned (m->mask);
  g_free (m->p.enc);
  g_free (m->g.enc);
  g_free (m->p.dec);
  g_free (m->g.dec);
  g_free (m);
}

const UadTransformerConfig *
uad_transformer_get_config (const UadTransformer *m)
{
  return &m->cfg;
}

int
uad_transformer_n_params (const UadTransformer *m)
{
  return m->n_entries;
}

const UadParamInfo *
uad_transformer_param_info (const UadTransformer *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < m->n_entries, NULL);
  return &m->entries[index].info;
}

float *
uad_transformer_params (UadTransformer *m, size_t *n)
{
  if (n != NULL)
    *n = m->n_floats;
  return m->params;
}

float *
uad_transformer_grads (UadTransformer *m, size_t *n)
{
  ensure_grads (m);
  if (n != NULL)
    *n = m->n_floats;
  return m->grads;
}

static int64_t
info_numel (const UadParamInfo *info)
{
  return info->ndim == 2 ? info->shape[0] * info->shape[1] : info->shape[0];
}

size_t
uad_transformer_count_params (const UadTransformer *m)
{
  size_t n = 0;
  for (int i = 0; i < m->n_entries; i++)
    n += (size_t) info_numel (&m->entries[i].info);
  return n;
}

void
uad_transformer_init (UadTransformer *m, UadRng *rng)
{
  for (int i = 0; i < m->n_entries; i++)
    {
      const Entry *e = &m->entries[i];
      float *p = m->params + e->info.offset;
      int64_t n = info_numel (&e->info);
      switch (e->init)
        {
        case INIT_XAVIER:
          {
            /* torch.nn.init.xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
            float a = sqrtf (6.0f / (float) (e->info.shape[0] + e->info.shape[1]));
            uad_rng_uniform (rng, p, n, -a, a);
            break;
          }
        case INIT_ZERO:
          memset (p, 0, sizeof (float) * (size_t) n);
          break;
        case INIT_ONE:
          for (int64_t j = 0; j < n; j++)
            p[j] = 1.0f;
          break;
        case INIT_UNIFORM01:
          uad_rng_uniform (rng, p, n, 0.0f, 1.0f);
          break;
        case INIT_NORMAL:
          uad_rng_normal (rng, p, n);
          break;
        }
    }
}

gboolean
uad_transformer_load (UadTransformer *m, UadSafetensors *st, const char *prefix,
                      GError **error)
{
  for (int i = 0; i < m->n_entries; i++)
    {
      const UadParamInfo *info = &m->entries[i].info;
      g_autofree char *name = g_strconcat (prefix != NULL ? prefix : "", info->name, NULL);
      g_autoptr (UadTensor) t = uad_safetensors_load (st, name, info->ndim, info->shape, error);
      if (t == NULL)
        return FALSE;
      memcpy (m->params + info->offset, t->data, sizeof (float) * (size_t) info_numel (info));
    }
  return TRUE;
}

void
uad_transformer_save (UadTransformer *m, UadSafetensorsWriter *w, const char *prefix)
{
  for (int i = 0; i < m->n_entries; i++)
    {
      const UadParamInfo *info = &m->entries[i].info;
      g_autofree char *name = g_strconcat (prefix != NULL ? prefix : "", info->name, NULL);
      g_autoptr (UadTensor) t = uad_tensor_new_borrowed (m->params + info->offset, info->ndim,
                                                         info->shape);
      uad_safetensors_writer_add_tensor (w, name, t);
    }
}

/* ---- Workspace ---------------------------------------------------------------------------- */

typedef struct {
  float *qk;                /* x + pos: query and key input */
  UadMhaState *attn;
  float *z1, *mean1, *rstd1; /* x + dropout(attention), the input of norm1, and its statistics */
  float *x1;
  float *hidden;            /* FFN activation after ReLU and dropout */
  float *z2, *mean2, *rstd2;
  float *out;
  guint8 *keep1, *keep2;
} EncBuffers;

typedef struct {
  float *q1;                /* E + pos */
  UadMhaState *attn1;       /* "self_attn": keys mem + pos, values mem */
  float *z1, *mean1, *rstd1, *t1;
  float *q2, *k2;           /* t1 + pos, prev + pos */
  UadMhaState *attn2;       /* "multihead_attn": keys prev + pos, values prev */
  float *z2, *mean2, *rstd2, *t2;
  float *hidden;
  float *z3, *mean3, *rstd3;
  float *out;
  guint8 *keep1, *keep2, *keep3;
} DecBuffers;

struct _UadTransformerWorkspace {
  UadTransformer *model;
  int max_batch;
  gboolean training;
  GPtrArray *owned;  /* every buffer below, freed with uad_free_aligned */
  GPtrArray *states; /* attention states */
  UadTraceFunc trace;
  gpointer trace_data;

  float *tokens0;    /* [N, C] the input feature tokens */
  float *tokens;     /* [N, C] after jittering (== tokens0 in inference) */
  float *pos, *epos; /* [T, D]: positional embedding; query embedding + pos */
  float *x0;         /* [N, D] input projection */
  float *mempos;     /* [N, D] encoder output + pos */
  EncBuffers *enc;
  DecBuffers *dec;
  float *y, *mean_f, *rstd_f; /* final decoder norm */
  float *rec_tokens; /* [N, C] */
  float *attn_scratch;

  /* Backward pass (training workspaces only). */
  float *d_rec;      /* [N, C] */
  float *d_y, *d_a, *d_b, *d_mem, *d_t1, *d_t2, *d_tmp, *d_q, *d_k; /* [N, D] */
  float *d_hidden;   /* [N, F] */
  float *d_pos;      /* [T, D] */
};

static float *
ws_alloc (UadTransformerWorkspace *ws, size_t n)
{
  float *p = uad_alloc_floats (n);
  g_ptr_array_add (ws->owned, p);
  return p;
}

static guint8 *
ws_alloc_bytes (UadTransformerWorkspace *ws, size_t n)
{
  return (guint8 *) ws_alloc (ws, (n + sizeof (float) - 1) / sizeof (float));
}

static UadMhaState *
ws_state (UadTransformerWorkspace *ws, gboolean dropout)
{
  const UadTransformerConfig *c = &ws->model->cfg;
  int T = ws->model->tokens;
  UadMhaUse use = !ws->training ? UAD_MHA_INFERENCE
                  : dropout      ? UAD_MHA_TRAINING_DROPOUT
                                 : UAD_MHA_TRAINING;
  UadMhaState *st = uad_mha_state_new (T, T, ws->max_batch, c->hidden, c->heads, use);
  g_ptr_array_add (ws->states, st);
  return st;
}

static void
enc_alloc (UadTransformerWorkspace *ws, EncBuffers *b, gboolean dropout)
{
  const UadTransformerConfig *c = &ws->model->cfg;
  size_t N = (size_t) ws->model->tokens * ws->max_batch, D = c->hidden;
  b->qk = ws_alloc (ws, N * D);
  b->attn = ws_state (ws, dropout);
  b->z1 = ws_alloc (ws, N * D);
  b->mean1 = ws_alloc (ws, N);
  b->rstd1 = ws_alloc (ws, N);
  b->x1 = ws_alloc (ws, N * D);
  b->hidden = ws_alloc (ws, N * c->ffn);
  b->z2 = ws_alloc (ws, N * D);
  b->mean2 = ws_alloc (ws, N);
  b->rstd2 = ws_alloc (ws, N);
  if (dropout)
    {
      b->keep1 = ws_alloc_bytes (ws, N * D);
      b->keep2 = ws_alloc_bytes (ws, N * D);
    }
}

static void
dec_alloc (UadTransformerWorkspace *ws, DecBuffers *b, gboolean dropout)
{
  const UadTransformerConfig *c = &ws->model->cfg;
  size_t N = (size_t) ws->model->tokens * ws->max_batch, D = c->hidden;
  b->q1 = ws_alloc (ws, N * D);
  b->attn1 = ws_state (ws, dropout);
  b->z1 = ws_alloc (ws, N * D);
  b->mean1 = ws_alloc (ws, N);
  b->rstd1 = ws_alloc (ws, N);
  b->t1 = ws_alloc (ws, N * D);
  b->q2 = ws_alloc (ws, N * D);
  b->k2 = ws_alloc (ws, N * D);
  b->attn2 = ws_state (ws, dropout);
  b->z2 = ws_alloc (ws, N * D);
  b->mean2 = ws_alloc (ws, N);
  b->rstd2 = ws_alloc (ws, N);
  b->t2 = ws_alloc (ws, N * D);
  b->hidden = ws_alloc (ws, N * c->ffn);
  b->z3 = ws_alloc (ws, N * D);
  b->mean3 = ws_alloc (ws, N);
  b->rstd3 = ws_alloc (ws, N);
  if (dropout)
    {
      b->keep1 = ws_alloc_bytes (ws, N * D);
      b->keep2 = ws_alloc_bytes (ws, N * D);
      b->keep3 = ws_alloc_bytes (ws, N * D);
    }
}

UadTransformerWorkspace *
uad_transformer_workspace_new (UadTransformer *m, int max_batch, gboolean training)
{
  g_return_val_if_fail (max_batch >= 1, NULL);
  const UadTransformerConfig *c = &m->cfg;
  UadTransformerWorkspace *ws = g_new0 (UadTransformerWorkspace, 1);
  ws->model = m;
  ws->max_batch = max_batch;
  ws->training = training;
  ws->owned = g_ptr_array_new_with_free_func (uad_free_aligned);
  ws->states = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_mha_state_free);

  size_t T = m->tokens, N = T * max_batch, C = c->channels, D = c->hidden;
  gboolean dropout = training && c->dropout > 0.0f;
  ws->tokens0 = ws_alloc (ws, N * C);
  ws->tokens = training ? ws_alloc (ws, N * C) : ws->tokens0;
  ws->pos = ws_alloc (ws, T * D);
  ws->epos = ws_alloc (ws, T * D);
  ws->x0 = ws_alloc (ws, N * D);
  ws->mempos = ws_alloc (ws, N * D);
  ws->enc = g_new0 (EncBuffers, MAX (c->encoder_layers, 1));
  ws->dec = g_new0 (DecBuffers, c->decoder_layers);
  /* Training keeps every layer's intermediates for the backward pass; inference lets all
   * layers share one set and alternates two output buffers (per stack, so that the encoder
   * output stays intact while the decoder runs). */
  float *ping_pong[4];
  if (!training)
    for (int i = 0; i < 4; i++)
      ping_pong[i] = ws_alloc (ws, N * D);
  for (int l = 0; l < c->encoder_layers; l++)
    {
      if (training || l == 0)
        enc_alloc (ws, &ws->enc[l], dropout);
      else
        ws->enc[l] = ws->enc[0];
      ws->enc[l].out = training ? ws_alloc (ws, N * D) : ping_pong[l % 2];
    }
  for (int l = 0; l < c->decoder_layers; l++)
    {
      if (training || l == 0)
        dec_alloc (ws, &ws->dec[l], dropout);
      else
        ws->dec[l] = ws->dec[0];
      ws->dec[l].out = training ? ws_alloc (ws, N * D) : ping_pong[2 + l % 2];
    }
  ws->y = ws_alloc (ws, N * D);
  ws->mean_f = ws_alloc (ws, N);
  ws->rstd_f = ws_alloc (ws, N);
  ws->rec_tokens = ws_alloc (ws, N * C);
  size_t attn_scratch = uad_mha_scratch_floats (ws->dec[0].attn1);
  ws->attn_scratch = attn_scratch > 0 ? ws_alloc (ws, attn_scratch) : NULL;
  if (training)
    {
      ws->d_rec = ws_alloc (ws, N * C);
      float **nd[] = { &ws->d_y, &ws->d_a, &ws->d_b, &ws->d_mem, &ws->d_t1, &ws->d_t2,
                       &ws->d_tmp, &ws->d_q, &ws->d_k };
      for (guint i = 0; i < G_N_ELEMENTS (nd); i++)
        *nd[i] = ws_alloc (ws, N * D);
      ws->d_hidden = ws_alloc (ws, N * c->ffn);
      ws->d_pos = ws_alloc (ws, T * D);
    }
  return ws;
}

void
uad_transformer_workspace_free (UadTransformerWorkspace *ws)
{
  if (ws == NULL)
    return;
  g_ptr_array_unref (ws->states);
  g_ptr_array_unref (ws->owned);
  g_free (ws->enc);
  g_free (ws->dec);
  g_free (ws);
}

void
uad_transformer_workspace_set_trace (UadTransformerWorkspace *ws, UadTraceFunc func,
                                     gpointer user_data)
{
  ws->trace = func;
  ws->trace_data = user_data;
}

static void
trace_tensor (UadTransformerWorkspace *ws, const float *data, int ndim, const int64_t *shape,
              const char *fmt, ...) G_GNUC_PRINTF (5, 6);

static void
trace_tensor (UadTransformerWorkspace *ws, const float *data, int ndim, const int64_t *shape,
              const char *fmt, ...)
{
  if (ws->trace == NULL)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  ws->trace (name, data, ndim, shape, ws->trace_data);
}

#define TRACE_TOKENS(data, ...) \
  trace_tensor (ws, data, 3, (int64_t[]) { T, batch, D }, __VA_ARGS__)

/* ---- Forward ------------------------------------------------------------------------------ */

/* Minimum chunk of a parallel loop whose items cost `cost` floats of work each: small loops (as
 * in small models) stay serial rather than wake the pool. */
static int64_t
chunk_for (int64_t cost)
{
  return MAX ((int64_t) 1, 16384 / MAX (cost, (int64_t) 1));
}

typedef struct {
  const float *src;
  float *dst;
  int batch, channels, tokens;
} Transpose;

static void
maps_to_tokens_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Transpose *t = ctx;
  for (int64_t tok = begin; tok < end; tok++)
    for (int b = 0; b < t->batch; b++)
      {
        float *dst = t->dst + (tok * t->batch + b) * t->channels;
        const float *src = t->src + (size_t) b * t->channels * t->tokens + tok;
        for (int c = 0; c < t->channels; c++)
          dst[c] = src[(size_t) c * t->tokens];
      }
}

static void
tokens_to_maps_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Transpose *t = ctx;
  for (int64_t bc = begin; bc < end; bc++)
    {
      int b = (int) (bc / t->channels), c = (int) (bc % t->channels);
      float *dst = t->dst + bc * t->tokens;
      for (int tok = 0; tok < t->tokens; tok++)
        dst[tok] = t->src[((size_t) tok * t->batch + b) * t->channels + c];
    }
}

/* pos[h*W + w] = concat(col[w], row[h]) (UniAD's PositionEmbeddingLearned). */
static void
build_pos (UadTransformer *m, float *pos)
{
  const UadTransformerConfig *c = &m->cfg;
  int half = c->hidden / 2;
  for (int h = 0; h < c->grid_h; h++)
    for (int w = 0; w < c->grid_w; w++)
      {
        float *p = pos + (size_t) (h * c->grid_w + w) * c->hidden;
        memcpy (p, m->p.col_embed + (size_t) w * half, sizeof (float) * half);
        memcpy (p + half, m->p.row_embed + (size_t) h * half, sizeof (float) * half);
      }
}

/* z = residual + dropout(z), in place (dropout only when training). */
static void
residual (float *z, const float *res, int64_t n, float dropout, UadRng *rng, guint8 *keep)
{
  if (dropout > 0.0f)
    uad_dropout_forward (rng, dropout, z, keep, n);
  uad_add_inplace (z, res, n);
}

static void
encoder_forward (UadTransformer *m, UadTransformerWorkspace *ws, int l, const float *x,
                 int batch, float dropout, UadRng *rng)
{
  const UadTransformerConfig *c = &m->cfg;
  const EncParams *p = &m->p.enc[l];
  EncBuffers *b = &ws->enc[l];
  int T = m->tokens, D = c->hidden, N = T * batch;
  int64_t ND = (int64_t) N * D;

  uad_add_broadcast (x, ws->pos, T, batch, D, b->qk);
  uad_mha_forward (&p->attn, b->attn, batch, b->qk, b->qk, x, m->mask, dropout, rng,
                   ws->attn_scratch, b->z1);
  TRACE_TOKENS (b->z1, "enc%d.self_attn", l);
  residual (b->z1, x, ND, dropout, rng, b->keep1);
  uad_layernorm_forward (&p->norm1, b->z1, N, D, c->layernorm_eps, b->x1, b->mean1, b->rstd1);
  TRACE_TOKENS (b->x1, "enc%d.norm1", l);
  uad_ffn_forward (&p->ffn, b->x1, N, D, c->ffn, dropout, rng, b->hidden, b->z2);
  residual (b->z2, b->x1, ND, dropout, rng, b->keep2);
  uad_layernorm_forward (&p->norm2, b->z2, N, D, c->layernorm_eps, b->out, b->mean2, b->rstd2);
  TRACE_TOKENS (b->out, "enc%d", l);
}

static void
decoder_forward (UadTransformer *m, UadTransformerWorkspace *ws, int l, const float *mem,
                 const float *prev, int batch, float dropout, UadRng *rng)
{
  const UadTransformerConfig *c = &m->cfg;
  const DecParams *p = &m->p.dec[l];
  DecBuffers *b = &ws->dec[l];
  int T = m->tokens, D = c->hidden, N = T * batch;
  int64_t ND = (int64_t) N * D;

  /* The query: the layer's embedding E, or the previous layer's output without one. */
  if (p->embed != NULL)
    {
      for (int64_t i = 0; i < (int64_t) T * D; i++)
        ws->epos[i] = p->embed[i] + ws->pos[i];
      uad_add_broadcast (NULL, ws->epos, T, batch, D, b->q1);
    }
  else
    uad_add_broadcast (prev, ws->pos, T, batch, D, b->q1);
  uad_mha_forward (&p->self_attn, b->attn1, batch, b->q1, ws->mempos, mem, m->mask, dropout,
                   rng, ws->attn_scratch, b->z1);
  TRACE_TOKENS (b->z1, "dec%d.self_attn", l);
  if (dropout > 0.0f)
    uad_dropout_forward (rng, dropout, b->z1, b->keep1, ND);
  if (p->embed != NULL)
    uad_add_broadcast (b->z1, p->embed, T, batch, D, b->z1);
  else
    uad_add_inplace (b->z1, prev, ND);
  uad_layernorm_forward (&p->norm1, b->z1, N, D, c->layernorm_eps, b->t1, b->mean1, b->rstd1);
  TRACE_TOKENS (b->t1, "dec%d.norm1", l);

  uad_add_broadcast (b->t1, ws->pos, T, batch, D, b->q2);
  uad_add_broadcast (prev, ws->pos, T, batch, D, b->k2);
  uad_mha_forward (&p->multihead_attn, b->attn2, batch, b->q2, b->k2, prev, m->mask, dropout,
                   rng, ws->attn_scratch, b->z2);
  TRACE_TOKENS (b->z2, "dec%d.multihead_attn", l);
  residual (b->z2, b->t1, ND, dropout, rng, b->keep2);
  uad_layernorm_forward (&p->norm2, b->z2, N, D, c->layernorm_eps, b->t2, b->mean2, b->rstd2);
  TRACE_TOKENS (b->t2, "dec%d.norm2", l);

  uad_ffn_forward (&p->ffn, b->t2, N, D, c->ffn, dropout, rng, b->hidden, b->z3);
  residual (b->z3, b->t2, ND, dropout, rng, b->keep3);
  uad_layernorm_forward (&p->norm3, b->z3, N, D, c->layernorm_eps, b->out, b->mean3, b->rstd3);
  TRACE_TOKENS (b->out, "dec%d", l);
}

/* ws->tokens [N, C] -> ws->rec_tokens [N, C]; rng is NULL in inference. */
static void
forward_tokens (UadTransformer *m, UadTransformerWorkspace *ws, int batch, UadRng *rng)
{
  const UadTransformerConfig *c = &m->cfg;
  int T = m->tokens, D = c->hidden, C = c->channels, N = T * batch;
  float dropout = rng != NULL ? c->dropout : 0.0f;

  uad_linear (ws->tokens, N, C, m->p.in_w, m->p.in_b, D, ws->x0);
  TRACE_TOKENS (ws->x0, "tokens_proj");
  build_pos (m, ws->pos);
  trace_tensor (ws, ws->pos, 2, (int64_t[]) { T, D }, "pos_embed");
  if (m->mask != NULL)
    trace_tensor (ws, m->mask, 2, (int64_t[]) { T, T }, "mask");

  const float *x = ws->x0;
  for (int l = 0; l < c->encoder_layers; l++)
    {
      encoder_forward (m, ws, l, x, batch, dropout, rng);
      x = ws->enc[l].out;
    }
  const float *mem = x;
  uad_add_broadcast (mem, ws->pos, T, batch, D, ws->mempos);
  for (int l = 0; l < c->decoder_layers; l++)
    {
      decoder_forward (m, ws, l, mem, x, batch, dropout, rng);
      x = ws->dec[l].out;
    }
  uad_layernorm_forward (&m->p.dec_norm, x, N, D, c->layernorm_eps, ws->y, ws->mean_f,
                         ws->rstd_f);
  TRACE_TOKENS (ws->y, "dec_norm");
  uad_linear (ws->y, N, D, m->p.out_w, m->p.out_b, C, ws->rec_tokens);
}

static void
load_tokens (UadTransformer *m, UadTransformerWorkspace *ws, const float *features, int batch)
{
  Transpose t = { features, ws->tokens0, batch, m->cfg.channels, m->tokens };
  uad_parallel_for (m->tokens, chunk_for ((int64_t) batch * m->cfg.channels), maps_to_tokens_range,
                    &t);
}

static void
store_maps (UadTransformer *m, UadTransformerWorkspace *ws, int batch, float *rec)
{
  const UadTransformerConfig *c = &m->cfg;
  Transpose t = { ws->rec_tokens, rec, batch, c->channels, m->tokens };
  uad_parallel_for ((int64_t) batch * c->channels, chunk_for (m->tokens), tokens_to_maps_range, &t);
  trace_tensor (ws, rec, 4, (int64_t[]) { batch, c->channels, c->grid_h, c->grid_w },
                "feature_rec");
}

void
uad_transformer_forward (UadTransformer *m, UadTransformerWorkspace *ws, const float *features,
                         int batch, float *rec)
{
  g_return_if_fail (ws->model == m && batch >= 1 && batch <= ws->max_batch);
  load_tokens (m, ws, features, batch);
  if (ws->tokens != ws->tokens0)
    memcpy (ws->tokens, ws->tokens0, sizeof (float) * (size_t) m->tokens * batch * m->cfg.channels);
  forward_tokens (m, ws, batch, NULL);
  store_maps (m, ws, batch, rec);
}

/* ---- Training ----------------------------------------------------------------------------- */

typedef struct {
  const float *src;
  float *dst; /* holds N(0, 1) noise on entry, the jittered tokens on exit */
  int channels;
  float scale;
} Jitter;

static void
jitter_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Jitter *j = ctx;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = j->src + r * j->channels;
      float *y = j->dst + r * j->channels;
      double ss = 0;
      for (int c = 0; c < j->channels; c++)
        ss += (double) x[c] * x[c];
      /* UniAD: token += N(0,1) * (||token|| / C) * scale, the norm taken before jittering. */
      float amp = (float) (sqrt (ss) / j->channels) * j->scale;
      for (int c = 0; c < j->channels; c++)
        y[c] = x[c] + y[c] * amp;
    }
}

static void
zero (float *x, int64_t n)
{
  memset (x, 0, sizeof (float) * (size_t) n);
}

static void
copy (float *dst, const float *src, int64_t n)
{
  memcpy (dst, src, sizeof (float) * (size_t) n);
}

/* dy is the gradient of the layer output; adds the gradient of its input x to dx. */
static void
encoder_backward (UadTransformer *m, UadTransformerWorkspace *ws, int l, const float *x,
                  int batch, const float *dy, float *dx)
{
  const UadTransformerConfig *c = &m->cfg;
  const EncParams *p = &m->p.enc[l], *g = &m->g.enc[l];
  EncBuffers *b = &ws->enc[l];
  int T = m->tokens, D = c->hidden, N = T * batch;
  int64_t ND = (int64_t) N * D;
  float dropout = c->dropout;
  float *dx1 = ws->d_t1, *da = ws->d_tmp, *dqk = ws->d_q;

  /* out = LN2(x1 + drop(ffn(x1))) */
  zero (dx1, ND);
  uad_layernorm_backward (&p->norm2, &g->norm2, b->z2, b->mean2, b->rstd2, dy, N, D, dx1);
  copy (da, dx1, ND);
  uad_dropout_backward (dropout, b->keep2, da, ND);
  uad_ffn_backward (&p->ffn, &g->ffn, b->x1, b->hidden, N, D, c->ffn, dropout, da,
                    ws->d_hidden, dx1);
  /* x1 = LN1(x + drop(attn(x + pos, x + pos, x))) */
  uad_layernorm_backward (&p->norm1, &g->norm1, b->z1, b->mean1, b->rstd1, dx1, N, D, dx);
  copy (da, dx, ND);
  uad_dropout_backward (dropout, b->keep1, da, ND);
  zero (dqk, ND);
  uad_mha_backward (&p->attn, &g->attn, b->attn, batch, b->qk, b->qk, x, dropout, da,
                    ws->attn_scratch, dqk, dqk, dx);
  uad_add_inplace (dx, dqk, ND);
  uad_reduce_broadcast (dqk, T, batch, D, ws->d_pos);
}

/* Adds d, a gradient of the decoder layer's query [N, D], to its embedding's gradient, or to
 * dprev when the previous layer's output is the query. */
static void
add_query_grad (const DecParams *p, const DecParams *g, const float *d, int T, int batch, int D,
                float *dprev)
{
  if (p->embed != NULL)
    uad_reduce_broadcast (d, T, batch, D, g->embed);
  else
    uad_add_inplace (dprev, d, (int64_t) T * batch * D);
}

/* Adds the gradients of the previous decoder output to dprev and of the memory to dmem (they
 * are the same buffer for the first layer). */
static void
decoder_backward (UadTransformer *m, UadTransformerWorkspace *ws, int l, const float *mem,
                  const float *prev, int batch, const float *dy, float *dprev, float *dmem)
{
  const UadTransformerConfig *c = &m->cfg;
  const DecParams *p = &m->p.dec[l], *g = &m->g.dec[l];
  DecBuffers *b = &ws->dec[l];
  int T = m->tokens, D = c->hidden, N = T * batch;
  int64_t ND = (int64_t) N * D;
  float dropout = c->dropout;
  float *dt1 = ws->d_t1, *dt2 = ws->d_t2, *da = ws->d_tmp, *dq = ws->d_q, *dk = ws->d_k;

  /* out = LN3(t2 + drop(ffn(t2))) */
  zero (dt2, ND);
  uad_layernorm_backward (&p->norm3, &g->norm3, b->z3, b->mean3, b->rstd3, dy, N, D, dt2);
  copy (da, dt2, ND);
  uad_dropout_backward (dropout, b->keep3, da, ND);
  uad_ffn_backward (&p->ffn, &g->ffn, b->t2, b->hidden, N, D, c->ffn, dropout, da,
                    ws->d_hidden, dt2);

  /* t2 = LN2(t1 + drop(attn(t1 + pos, prev + pos, prev))) */
  zero (dt1, ND);
  uad_layernorm_backward (&p->norm2, &g->norm2, b->z2, b->mean2, b->rstd2, dt2, N, D, dt1);
  copy (da, dt1, ND);
  uad_dropout_backward (dropout, b->keep2, da, ND);
  zero (dq, ND);
  zero (dk, ND);
  uad_mha_backward (&p->multihead_attn, &g->multihead_attn, b->attn2, batch, b->q2, b->k2, prev,
                    dropout, da, ws->attn_scratch, dq, dk, dprev);
  uad_add_inplace (dt1, dq, ND);
  uad_add_inplace (dprev, dk, ND);
  uad_reduce_broadcast (dq, T, batch, D, ws->d_pos);
  uad_reduce_broadcast (dk, T, batch, D, ws->d_pos);

  /* t1 = LN1(E + drop(attn(E + pos, mem + pos, mem))), E = prev without an embedding */
  zero (da, ND);
  uad_layernorm_backward (&p->norm1, &g->norm1, b->z1, b->mean1, b->rstd1, dt1, N, D, da);
  add_query_grad (p, g, da, T, batch, D, dprev);
  uad_dropout_backward (dropout, b->keep1, da, ND);
  zero (dq, ND);
  zero (dk, ND);
  uad_mha_backward (&p->self_attn, &g->self_attn, b->attn1, batch, b->q1, ws->mempos, mem,
                    dropout, da, ws->attn_scratch, dq, dk, dmem);
  add_query_grad (p, g, dq, T, batch, D, dprev);
  uad_reduce_broadcast (dq, T, batch, D, ws->d_pos);
  uad_add_inplace (dmem, dk, ND);
  uad_reduce_broadcast (dk, T, batch, D, ws->d_pos);
}

/* pos[h*W + w] = concat(col[w], row[h]): scatter its gradient back to the two tables. */
static void
pos_backward (UadTransformer *m, const float *d_pos)
{
  const UadTransformerConfig *c = &m->cfg;
  int half = c->hidden / 2;
  for (int h = 0; h < c->grid_h; h++)
    for (int w = 0; w < c->grid_w; w++)
      {
        const float *dp = d_pos + (size_t) (h * c->grid_w + w) * c->hidden;
        float *dcol = m->g.col_embed + (size_t) w * half;
        float *drow = m->g.row_embed + (size_t) h * half;
        for (int i = 0; i < half; i++)
          {
            dcol[i] += dp[i];
            drow[i] += dp[half + i];
          }
      }
}

double
uad_transformer_train_step (UadTransformer *m, UadTransformerWorkspace *ws,
                            const float *features, int batch, UadRng *rng)
{
  g_return_val_if_fail (ws->model == m && ws->training, NAN);
  g_return_val_if_fail (batch >= 1 && batch <= ws->max_batch, NAN);
  const UadTransformerConfig *c = &m->cfg;
  int T = m->tokens, D = c->hidden, C = c->channels, N = T * batch;
  int64_t ND = (int64_t) N * D, NC = (int64_t) N * C;

  load_tokens (m, ws, features, batch);
  /* UniAD draws once per batch whether to jitter (random.uniform(0, 1) <= prob). */
  float u;
  uad_rng_uniform (rng, &u, 1, 0.0f, 1.0f);
  if (c->jitter_scale != 0.0f && u <= c->jitter_prob)
    {
      uad_rng_normal (rng, ws->tokens, NC);
      Jitter j = { ws->tokens0, ws->tokens, C, c->jitter_scale };
      uad_parallel_for (N, chunk_for (2 * C), jitter_range, &j);
    }
  else
    copy (ws->tokens, ws->tokens0, NC);

  forward_tokens (m, ws, batch, rng);
  /* Rows of the token matrices are the same (token, image) pairs for rec and target, so the
   * mean over [N, C] is the mean over the [B, C, H, W] maps. */
  double loss = uad_mse_loss (ws->rec_tokens, ws->tokens0, NC, ws->d_rec);

  ensure_grads (m);
  zero (m->grads, (int64_t) m->n_floats);
  zero (ws->d_pos, (int64_t) T * D);
  zero (ws->d_y, ND);
  uad_linear_backward (ws->y, ws->d_rec, N, D, m->p.out_w, C, ws->d_y, m->g.out_w, m->g.out_b);

  int Le = c->encoder_layers, Ld = c->decoder_layers;
  const float *mem = Le > 0 ? ws->enc[Le - 1].out : ws->x0;
  float *dcur = ws->d_a, *dnext = ws->d_b;
  zero (dcur, ND);
  uad_layernorm_backward (&m->p.dec_norm, &m->g.dec_norm, ws->dec[Ld - 1].out, ws->mean_f,
                          ws->rstd_f, ws->d_y, N, D, dcur);
  zero (ws->d_mem, ND);
  for (int l = Ld - 1; l >= 0; l--)
    {
      const float *prev = l > 0 ? ws->dec[l - 1].out : mem;
      float *dprev = l > 0 ? dnext : ws->d_mem;
      if (l > 0)
        zero (dprev, ND);
      decoder_backward (m, ws, l, mem, prev, batch, dcur, dprev, ws->d_mem);
      dnext = dcur;
      dcur = dprev;
    }
  /* mem + pos fed every decoder layer's first attention: its pos share was added above. */
  dcur = ws->d_mem;
  dnext = ws->d_a;
  for (int l = Le - 1; l >= 0; l--)
    {
      const float *x = l > 0 ? ws->enc[l - 1].out : ws->x0;
      zero (dnext, ND);
      encoder_backward (m, ws, l, x, batch, dcur, dnext);
      float *t = dcur;
      dcur = dnext;
      dnext = t == ws->d_mem ? ws->d_b : t;
    }
  uad_linear_backward (ws->tokens, dcur, N, C, m->p.in_w, D, NULL, m->g.in_w, m->g.in_b);
  pos_backward (m, ws->d_pos);
  return loss;
}
