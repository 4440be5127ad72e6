/* SPDX-License-Identifier: Apache-2.0 */
/* uad-mobilenet.c: MobileNetV2 1.0 (the development backbone, uniad-spec.md section 2).
 *
 * The weights file carries its own description in __metadata__ (architecture, width, folded
 * batch-norm, ReLU6, TensorFlow SAME padding): we check it says what this code implements
 * rather than guess. Padding is SAME for the actual 224x224 input. */
#include "uad-backbone-private.h"

#include "uad-error.h"

#include <string.h>

#define STEM_CHANNELS 32
#define HEAD_CHANNELS 1280

typedef struct {
  int expand, cout, repeats, stride;
} Stage;

/* The (t, c, n, s) table of the MobileNetV2 paper. */
static const Stage stages[] = {
  { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
  { 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 },
};
#define N_BLOCKS 17
static const int taps[] = { 0, 2, 5, 12 };

static gboolean
check_metadata (UadSafetensors *st, GError **error)
{
  static const char *const expected[][2] = {
    { "architecture", "mobilenet_v2" },
    { "width_multiplier", "1.0" },
    { "batch_norm", "folded into conv weight/bias" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const char *value = uad_safetensors_get_metadata (st, expected[i][0]);
      if (g_strcmp0 (value, expected[i][1]) != 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                       "%s: not MobileNetV2 1.0 weights with folded batch-norm (metadata %s is "
                       "'%s', expected '%s')", uad_safetensors_get_path (st), expected[i][0],
                       value ? value : "(absent)", expected[i][1]);
          return FALSE;
        }
    }
  return TRUE;
}

static void
set_same (UadConvLayer *layer, int *size, int stride)
{
  UadConvGeom *g = &layer->geom;
  g->stride = stride;
  uad_same_padding (*size, g->kh, stride, &g->pad_top, &g->pad_bottom);
  uad_same_padding (*size, g->kw, stride, &g->pad_left, &g->pad_right);
  *size = (*size + stride - 1) / stride;
}

static gboolean
load_block (UadBlock *b, UadSafetensors *st, int index, int *size, GError **error)
{
  g_autofree char *expand = g_strdup_printf ("blocks.%d.expand", index);
  g_autofree char *dw = g_strdup_printf ("blocks.%d.dw", index);
  g_autofree char *project = g_strdup_printf ("blocks.%d.project", index);

  if (b->has_expand)
    {
      if (!uad_conv_layer_load (&b->expand, st, expand, NULL, 0, b->cexp, b->cin, 1, error))
        return FALSE;
      b->expand.geom.stride = 1;
      b->expand.act = UAD_ACT_RELU6;
    }
  if (!uad_conv_layer_load (&b->depthwise, st, dw, NULL, 0, b->cexp, 1, b->kernel, error))
    return FALSE;
  set_same (&b->depthwise, size, b->stride);
  b->depthwise.act = UAD_ACT_RELU6;
  if (!uad_conv_layer_load (&b->project, st, project, NULL, 0, b->cout, b->cexp, 1, error))
    return FALSE;
  b->project.geom.stride = 1;
  b->project.act = UAD_ACT_NONE;
  return TRUE;
}

static gboolean
load_classifier (UadBackbone *bb, UadSafetensors *st, GError **error)
{
  if (!uad_conv_layer_load (&bb->head, st, "head.conv", NULL, 0, HEAD_CHANNELS, 320, 1, error))
    return FALSE;
  bb->head.geom.stride = 1;
  bb->head.act = UAD_ACT_RELU6;
  int64_t classes = 0;
  UadDType dtype;
  int ndim;
  int64_t shape[8];
  if (uad_safetensors_get_info (st, "classifier.weight", &dtype, &ndim, shape) && ndim == 2)
    classes = shape[0];
  return uad_backbone_load_classifier (bb, st, "classifier", classes, HEAD_CHANNELS, error);
}

UadBackbone *
uad_mobilenet_v2_load (UadSafetensors *st, GError **error)
{
  if (!check_metadata (st, error))
    return NULL;
  gboolean full = uad_safetensors_has (st, "classifier.weight");
  int n_blocks = full ? N_BLOCKS : taps[G_N_ELEMENTS (taps) - 1] + 1;
  UadBackbone *bb = uad_backbone_new_empty (UAD_BACKBONE_MOBILENET_V2, n_blocks);
  bb->normalization = UAD_NORMALIZE_SYMMETRIC;
  bb->n_taps = G_N_ELEMENTS (taps);
  memcpy (bb->taps, taps, sizeof taps);

  int size = bb->input_size;
  if (!uad_conv_layer_load (&bb->stem, st, "stem.conv", NULL, 0, STEM_CHANNELS, 3, 3, error))
    goto fail;
  set_same (&bb->stem, &size, 2);
  bb->stem.act = UAD_ACT_RELU6;

  int block = 0, cin = STEM_CHANNELS;
  for (guint s = 0; s < G_N_ELEMENTS (stages) && block < n_blocks; s++)
    for (int i = 0; i < stages[s].repeats && block < n_blocks; i++, block++)
      {
        UadBlock *b = &bb->blocks[block];
        uad_block_describe (b, cin, stages[s].cout, stages[s].expand, 3, stages[s].stride, i);
        if (!load_block (b, st, block, &size, error))
          goto fail;
        cin = b->cout;
      }

  if (full && !load_classifier (bb, st, error))
    goto fail;
  return bb;

fail:
  uad_backbone_free (bb);
  return NULL;
}
