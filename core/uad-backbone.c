/* SPDX-License-Identifier: Apache-2.0 */
/* uad-backbone.c: loading dispatch, workspaces and the forward pass shared by both backbones. */
#include "uad-backbone-private.h"

#include "uad-error.h"
#include "uad-parallel.h"

#include <string.h>

struct Workspace {
  float *x, *y;       /* block input and output (ping-pong) */
  float *expanded;    /* expand output */
  float *depthwise;   /* depthwise output */
  float *scratch;     /* im2col of the stem */
  float *pooled;      /* head's global pool */
  float *gates;       /* squeeze-excite: channel means, then gates */
  float *gated;       /* squeeze-excite: projection weights scaled by the gates */
};

gboolean
uad_backbone_kind_from_name (const char *name, UadBackboneKind *kind, GError **error)
{
  if (g_strcmp0 (name, "efficientnet_b4") == 0)
    *kind = UAD_BACKBONE_EFFICIENTNET_B4;
  else if (g_strcmp0 (name, "mobilenet_v2") == 0)
    *kind = UAD_BACKBONE_MOBILENET_V2;
  else
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "unknown backbone '%s' (expected efficientnet_b4 or mobilenet_v2)", name);
      return FALSE;
    }
  return TRUE;
}

const char *
uad_backbone_kind_name (UadBackboneKind kind)
{
  return kind == UAD_BACKBONE_EFFICIENTNET_B4 ? "efficientnet_b4" : "mobilenet_v2";
}

UadBackbone *
uad_backbone_new_empty (UadBackboneKind kind, int n_blocks)
{
  UadBackbone *bb = g_new0 (UadBackbone, 1);
  bb->kind = kind;
  bb->input_size = 224;
  bb->n_blocks = n_blocks;
  bb->blocks = g_new0 (UadBlock, n_blocks);
  return bb;
}

static void
conv_layer_clear (UadConvLayer *layer)
{
  g_clear_pointer (&layer->weight, uad_tensor_free);
  g_clear_pointer (&layer->bias, uad_free_aligned);
}

void
uad_backbone_free (UadBackbone *bb)
{
  if (bb == NULL)
    return;
  conv_layer_clear (&bb->stem);
  for (int i = 0; i < bb->n_blocks; i++)
    {
      UadBlock *b = &bb->blocks[i];
      conv_layer_clear (&b->expand);
      conv_layer_clear (&b->depthwise);
      conv_layer_clear (&b->project);
      uad_tensor_free (b->se_reduce_w);
      uad_tensor_free (b->se_expand_w);
      uad_free_aligned (b->se_reduce_b);
      uad_free_aligned (b->se_expand_b);
    }
  g_free (bb->blocks);
  conv_layer_clear (&bb->head);
  uad_tensor_free (bb->classifier_w);
  uad_free_aligned (bb->classifier_b);
  for (int i = 0; i < bb->n_workspaces; i++)
    {
      Workspace *ws = bb->workspaces[i];
      if (ws == NULL)
        continue;
      uad_free_aligned (ws->x);
      uad_free_aligned (ws->y);
      uad_free_aligned (ws->expanded);
      uad_free_aligned (ws->depthwise);
      uad_free_aligned (ws->scratch);
      uad_free_aligned (ws->pooled);
      uad_free_aligned (ws->gates);
      uad_free_aligned (ws->gated);
      g_free (ws);
    }
  g_free (bb->workspaces);
  g_free (bb);
}

static float *
load_vector (UadSafetensors *st, const char *name, int64_t n, GError **error)
{
  g_autoptr (UadTensor) t = uad_safetensors_load (st, name, 1, (int64_t[]) { n }, error);
  if (t == NULL)
    return NULL;
  float *v = uad_alloc_floats ((size_t) n);
  memcpy (v, t->data, (size_t) n * sizeof (float));
  return v;
}

gboolean
uad_conv_layer_load (UadConvLayer *layer, UadSafetensors *st, const char *conv_prefix,
                     const char *bn_prefix, float bn_eps, int64_t cout, int64_t cin, int kernel,
                     GError **error)
{
  g_autofree char *wname = g_strconcat (conv_prefix, ".weight", NULL);
  layer->weight = uad_safetensors_load (st, wname, 4, (int64_t[]) { cout, cin, kernel, kernel }, error);
  if (layer->weight == NULL)
    return FALSE;
  layer->geom.kh = layer->geom.kw = kernel;
  if (bn_prefix == NULL)
    {
      g_autofree char *bname = g_strconcat (conv_prefix, ".bias", NULL);
      layer->bias = load_vector (st, bname, cout, error);
      return layer->bias != NULL;
    }

  static const char *const parts[] = { "weight", "bias", "running_mean", "running_var" };
  float *bn[4] = { NULL };
  gboolean ok = TRUE;
  for (int i = 0; i < 4 && ok; i++)
    {
      g_autofree char *name = g_strconcat (bn_prefix, ".", parts[i], NULL);
      bn[i] = load_vector (st, name, cout, error);
      ok = bn[i] != NULL;
    }
  if (ok)
    {
      layer->bias = uad_alloc_floats ((size_t) cout); /* the convolution has no bias of its own */
      uad_fold_batchnorm (layer->weight->data, cout, cin * kernel * kernel, layer->bias,
                          bn[0], bn[1], bn[2], bn[3], bn_eps);
    }
  for (int i = 0; i < 4; i++)
    uad_free_aligned (bn[i]);
  return ok;
}

gboolean
uad_backbone_load_classifier (UadBackbone *bb, UadSafetensors *st, const char *prefix,
                              int64_t n_classes, int64_t in, GError **error)
{
  g_autofree char *wname = g_strconcat (prefix, ".weight", NULL);
  g_autofree char *bname = g_strconcat (prefix, ".bias", NULL);
  /* The class count comes from the file (MobileNetV2's 1001 or 1000), so it is checked here. */
  if (n_classes < 1 || n_classes > G_MAXINT)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: the classifier '%s' has %" G_GINT64_FORMAT " classes",
                   uad_safetensors_get_path (st), wname, n_classes);
      return FALSE;
    }
  bb->classifier_w = uad_safetensors_load (st, wname, 2, (int64_t[]) { n_classes, in }, error);
  if (bb->classifier_w == NULL)
    return FALSE;
  bb->classifier_b = load_vector (st, bname, n_classes, error);
  if (bb->classifier_b == NULL)
    return FALSE;
  bb->n_classes = (int) n_classes;
  bb->has_classifier = TRUE;
  return TRUE;
}

void
uad_block_describe (UadBlock *b, int cin, int cout, int expand, int kernel, int stride, int index)
{
  b->cin = cin;
  b->cout = cout;
  b->cexp = cin * expand;
  b->kernel = kernel;
  b->stride = index == 0 ? stride : 1;
  b->has_expand = expand != 1;
  b->residual = b->stride == 1 && cin == cout;
}

void
uad_backbone_finish (UadBackbone *bb)
{
  bb->stem_h = uad_conv_out_h (&bb->stem.geom, bb->input_size);
  bb->stem_w = uad_conv_out_w (&bb->stem.geom, bb->input_size);
  int h = bb->stem_h, w = bb->stem_w;
  for (int i = 0; i < bb->n_blocks; i++)
    {
      UadBlock *b = &bb->blocks[i];
      b->h_in = h, b->w_in = w;
      b->h_out = h = uad_conv_out_h (&b->depthwise.geom, h);
      b->w_out = w = uad_conv_out_w (&b->depthwise.geom, w);
    }
  bb->feature_channels = 0;
  for (int t = 0; t < bb->n_taps; t++)
    bb->feature_channels += bb->blocks[bb->taps[t]].cout;
}

UadBackbone *
uad_backbone_load (UadBackboneKind kind, const char *weights_path, GError **error)
{
  g_autoptr (UadSafetensors) st = uad_safetensors_open (weights_path, error);
  if (st == NULL)
    return NULL;
  UadBackbone *bb = kind == UAD_BACKBONE_EFFICIENTNET_B4 ? uad_efficientnet_b4_load (st, error)
                                                        : uad_mobilenet_v2_load (st, error);
  if (bb != NULL)
    uad_backbone_finish (bb);
  return bb;
}

UadBackbone *
uad_backbone_load_any (const char *weights_path, GError **error)
{
  /* The file is opened once first, so that a damaged one reports its own fault rather than
   * the last kind's missing tensor. */
  g_autoptr (UadSafetensors) st = uad_safetensors_open (weights_path, error);
  if (st == NULL)
    return NULL;
  static const UadBackboneKind kinds[] = { UAD_BACKBONE_EFFICIENTNET_B4, UAD_BACKBONE_MOBILENET_V2 };
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (GError) local = NULL;
      UadBackbone *bb = uad_backbone_load (kinds[i], weights_path, &local);
      if (bb != NULL)
        return bb;
      if (!g_error_matches (local, UAD_ERROR, UAD_ERROR_MISMATCH))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
               "%s holds the weights of neither EfficientNet-b4 nor MobileNetV2", weights_path);
  return NULL;
}

UadBackboneKind
uad_backbone_get_kind (const UadBackbone *bb)
{
  return bb->kind;
}

int
uad_backbone_get_feature_channels (const UadBackbone *bb)
{
  return bb->feature_channels;
}

int
uad_backbone_get_input_size (const UadBackbone *bb)
{
  return bb->input_size;
}

UadNormalization
uad_backbone_get_normalization (const UadBackbone *bb)
{
  return bb->normalization;
}

gboolean
uad_backbone_has_classifier (const UadBackbone *bb)
{
  return bb->has_classifier;
}

int
uad_backbone_get_n_classes (const UadBackbone *bb)
{
  return bb->n_classes;
}

void
uad_backbone_set_block_tap (UadBackbone *bb, UadBlockTapFunc func, void *user_data)
{
  bb->tap_func = func;
  bb->tap_data = user_data;
}

static int
last_tap (const UadBackbone *bb)
{
  return bb->taps[bb->n_taps - 1];
}

double
uad_backbone_get_macs (const UadBackbone *bb)
{
  double macs = (double) bb->stem.weight->shape[0] * 3 * bb->stem.geom.kh * bb->stem.geom.kw
                * bb->stem_h * bb->stem_w;
  for (int i = 0; i <= last_tap (bb); i++)
    {
      const UadBlock *b = &bb->blocks[i];
      if (b->has_expand)
        macs += (double) b->cin * b->cexp * b->h_in * b->w_in;
      macs += (double) b->cexp * b->kernel * b->kernel * b->h_out * b->w_out;
      if (b->has_se)
        macs += 2.0 * b->cexp * b->se_reduce_w->shape[0];
      macs += (double) b->cexp * b->cout * b->h_out * b->w_out;
    }
  return macs;
}

/* Largest activation (floats) any block input, expansion or output needs for one image. */
static size_t
max_activation (const UadBackbone *bb)
{
  size_t m = (size_t) bb->stem.weight->shape[0] * bb->stem_h * bb->stem_w;
  for (int i = 0; i < bb->n_blocks; i++)
    {
      const UadBlock *b = &bb->blocks[i];
      m = MAX (m, (size_t) b->cexp * b->h_in * b->w_in);
      m = MAX (m, (size_t) MAX (b->cexp, b->cout) * b->h_out * b->w_out);
    }
  if (bb->has_classifier)
    {
      const UadBlock *b = &bb->blocks[bb->n_blocks - 1];
      m = MAX (m, (size_t) bb->head.weight->shape[0] * b->h_out * b->w_out);
    }
  return m;
}

/* Largest expansion (channels) and gated projection (floats) of the squeeze-excite blocks. */
static void
max_gated (const UadBackbone *bb, size_t *channels, size_t *weights)
{
  *channels = *weights = 1;
  for (int i = 0; i < bb->n_blocks; i++)
    if (bb->blocks[i].has_se)
      {
        *channels = MAX (*channels, (size_t) bb->blocks[i].cexp);
        *weights = MAX (*weights, uad_conv2d_pointwise_gated_scratch_floats (bb->blocks[i].project.weight));
      }
}

/* Workspaces are made by the thread that first needs one, so a batch of one image (which only
 * ever uses workspace 0) does not pay for the others. */
static Workspace *
get_workspace (UadBackbone *bb, int worker)
{
  if (bb->workspaces[worker] != NULL)
    return bb->workspaces[worker];
  size_t act = max_activation (bb);
  size_t scratch = uad_conv2d_scratch_floats (&bb->stem.geom, 3, bb->input_size, bb->input_size);
  Workspace *ws = g_new0 (Workspace, 1);
  ws->x = uad_alloc_floats (act);
  ws->y = uad_alloc_floats (act);
  ws->expanded = uad_alloc_floats (act);
  ws->depthwise = uad_alloc_floats (act);
  ws->scratch = uad_alloc_floats (MAX (scratch, (size_t) 1));
  ws->pooled = uad_alloc_floats (bb->has_classifier ? (size_t) bb->head.weight->shape[0] : 1);
  size_t channels, weights;
  max_gated (bb, &channels, &weights);
  ws->gates = uad_alloc_floats (channels);
  ws->gated = uad_alloc_floats (weights);
  bb->workspaces[worker] = ws;
  return ws;
}

static void
ensure_workspace_slots (UadBackbone *bb, int count)
{
  if (bb->n_workspaces >= count)
    return;
  bb->workspaces = g_renew (Workspace *, bb->workspaces, count);
  for (int i = bb->n_workspaces; i < count; i++)
    bb->workspaces[i] = NULL;
  bb->n_workspaces = count;
}

#define VIEW(ptr, c, h, w) ((UadTensor) { (ptr), 4, { 1, (c), (h), (w) }, FALSE })

static void
run_block (const UadBlock *b, Workspace *ws)
{
  UadTensor in = VIEW (ws->x, b->cin, b->h_in, b->w_in);
  UadTensor expanded = VIEW (ws->expanded, b->cexp, b->h_in, b->w_in);
  UadTensor dw = VIEW (ws->depthwise, b->cexp, b->h_out, b->w_out);
  UadTensor out = VIEW (ws->y, b->cout, b->h_out, b->w_out);

  if (b->has_expand)
    uad_conv2d (&in, b->expand.weight, b->expand.bias, &b->expand.geom, b->expand.act,
                &expanded, NULL);
  const UadTensor *dw_in = b->has_expand ? &expanded : &in;
  /* Squeeze-excite without a pass of its own: the depthwise writes the channel means, and the
   * gates scale the projection's weights instead of the expanded tensor. The projection adds
   * the skip connection as it writes its result. */
  if (b->has_se)
    {
      uad_depthwise_conv2d_mean (dw_in, b->depthwise.weight, b->depthwise.bias,
                                 &b->depthwise.geom, b->depthwise.act, &dw, ws->gates);
      uad_se_gates (ws->gates, 1, b->se_reduce_w, b->se_reduce_b, b->se_expand_w, b->se_expand_b,
                    ws->gates);
    }
  else
    uad_depthwise_conv2d (dw_in, b->depthwise.weight, b->depthwise.bias, &b->depthwise.geom,
                          b->depthwise.act, &dw);
  uad_conv2d_pointwise_gated (&dw, b->project.weight, b->has_se ? ws->gates : NULL,
                              b->project.bias, UAD_ACT_NONE, b->residual ? &in : NULL, &out,
                              ws->gated);

  float *t = ws->x;
  ws->x = ws->y;
  ws->y = t;
}

/* One image: stem, blocks up to `last_block`, resizing each tap into features (if non-NULL). */
static void
run_image (UadBackbone *bb, Workspace *ws, int image, const float *input, int last_block,
           float *features)
{
  int s = bb->input_size;
  UadTensor in = VIEW ((float *) input, 3, s, s);
  UadTensor stem_out = VIEW (ws->x, bb->stem.weight->shape[0], bb->stem_h, bb->stem_w);
  uad_conv2d (&in, bb->stem.weight, bb->stem.bias, &bb->stem.geom, bb->stem.act, &stem_out,
              ws->scratch);

  int tap = 0;
  float *slice = features;
  for (int i = 0; i <= last_block; i++)
    {
      const UadBlock *b = &bb->blocks[i];
      run_block (b, ws);
      UadTensor out = VIEW (ws->x, b->cout, b->h_out, b->w_out);
      if (bb->tap_func)
        bb->tap_func (image, i, &out, bb->tap_data);
      if (features && tap < bb->n_taps && bb->taps[tap] == i)
        {
          UadTensor resized = VIEW (slice, b->cout, UAD_FEATURE_GRID, UAD_FEATURE_GRID);
          uad_resize_bilinear_align_corners (&out, &resized);
          slice += (size_t) b->cout * UAD_FEATURE_GRID * UAD_FEATURE_GRID;
          tap++;
        }
    }
}

typedef struct {
  UadBackbone *bb;
  const UadTensor *input;
  UadTensor *features;
  UadTensor *probs;
} BatchJob;

static void
classify_image (UadBackbone *bb, Workspace *ws, int image, const float *input, float *probs)
{
  run_image (bb, ws, image, input, bb->n_blocks - 1, NULL);
  const UadBlock *last = &bb->blocks[bb->n_blocks - 1];
  int hc = (int) bb->head.weight->shape[0];
  UadTensor in = VIEW (ws->x, last->cout, last->h_out, last->w_out);
  UadTensor head = VIEW (ws->y, hc, last->h_out, last->w_out);
  uad_conv2d (&in, bb->head.weight, bb->head.bias, &bb->head.geom, bb->head.act, &head, NULL);
  UadTensor pooled = { ws->pooled, 2, { 1, hc }, FALSE };
  uad_global_avg_pool (&head, &pooled);
  uad_linear (ws->pooled, 1, hc, bb->classifier_w->data, bb->classifier_b, bb->n_classes, probs);
  uad_softmax_rows (probs, 1, bb->n_classes);
}

static void
batch_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  BatchJob *job = ctx;
  UadBackbone *bb = job->bb;
  int s = bb->input_size;
  for (int64_t n = begin; n < end; n++)
    {
      const float *input = job->input->data + n * 3 * s * s;
      if (job->probs)
        classify_image (bb, get_workspace (bb, worker), (int) n, input,
                        job->probs->data + n * bb->n_classes);
      else
        run_image (bb, get_workspace (bb, worker), (int) n, input, last_tap (bb),
                   job->features->data + n * bb->feature_channels * UAD_FEATURE_GRID * UAD_FEATURE_GRID);
    }
}

static void
run_batch (BatchJob *job)
{
  ensure_workspace_slots (job->bb, uad_parallel_get_threads ());
  /* One image: operators split over the pool. More: whole images per thread. */
  uad_parallel_for (job->input->shape[0], 1, batch_range, job);
}

void
uad_backbone_extract (UadBackbone *bb, const UadTensor *input, UadTensor *features)
{
  int s = bb->input_size;
  g_return_if_fail (input->ndim == 4 && input->shape[1] == 3 && input->shape[2] == s
                    && input->shape[3] == s);
  g_return_if_fail (features->ndim == 4 && features->shape[0] == input->shape[0]
                    && features->shape[1] == bb->feature_channels
                    && features->shape[2] == UAD_FEATURE_GRID && features->shape[3] == UAD_FEATURE_GRID);
  BatchJob job = { bb, input, features, NULL };
  run_batch (&job);
}

gboolean
uad_backbone_classify (UadBackbone *bb, const UadTensor *input, UadTensor *probs, GError **error)
{
  int s = bb->input_size;
  if (!bb->has_classifier)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "these %s weights hold only the feature blocks, not the ImageNet classifier",
                   uad_backbone_kind_name (bb->kind));
      return FALSE;
    }
  g_return_val_if_fail (input->ndim == 4 && input->shape[1] == 3 && input->shape[2] == s
                        && input->shape[3] == s, FALSE);
  g_return_val_if_fail (probs->ndim == 2 && probs->shape[0] == input->shape[0]
                        && probs->shape[1] == bb->n_classes, FALSE);
  BatchJob job = { bb, input, NULL, probs };
  run_batch (&job);
  return TRUE;
}
