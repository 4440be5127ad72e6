/* SPDX-License-Identifier: Apache-2.0 */
/* uad-efficientnet.c: EfficientNet-b4 as the official UniAD runs it (uniad-spec.md section 2).
 *
 * Width 1.4, depth 1.8: seven stages of MBConv blocks. Padding is TensorFlow SAME computed once
 * for a 380x380 input (the network's native size) and then used unchanged at 224x224, exactly
 * as efficientnet-pytorch's static-padding convolutions do; that is what the reference
 * features were computed with. Weights load under either naming: the original checkpoints'
 * ("_conv_stem", "_blocks.N._expand_conv", optionally under "backbone.") or timm's
 * ("conv_stem", "blocks.S.I.conv_pw"). */
#include "uad-backbone-private.h"

#include "uad-error.h"

#include <string.h>

#define BN_EPS 1e-3f
#define NATIVE_SIZE 380
#define STEM_CHANNELS 48
#define HEAD_CHANNELS 1792
#define N_CLASSES 1000

typedef struct {
  int repeats, kernel, stride, expand, cout;
} Stage;

/* b0's stages with b4's multipliers applied (repeats ceil(1.8 r), channels rounded to 8). */
static const Stage stages[] = {
  { 2, 3, 1, 1, 24 },  { 4, 3, 2, 6, 32 },  { 4, 5, 2, 6, 56 },  { 6, 3, 2, 6, 112 },
  { 6, 5, 1, 6, 160 }, { 8, 5, 2, 6, 272 }, { 2, 3, 1, 6, 448 },
};
#define N_BLOCKS 32
static const int taps[] = { 1, 5, 9, 21 };

typedef enum { NAMING_ORIGINAL, NAMING_TIMM } Naming;

typedef struct {
  Naming naming;
  const char *prefix; /* "" or "backbone." for the original naming */
} Names;

typedef enum { PART_EXPAND, PART_DEPTHWISE, PART_SE_REDUCE, PART_SE_EXPAND, PART_PROJECT } Part;

/* Name of a block part's convolution and of its batch-norm (NULL for the SE convolutions). */
static void
block_names (const Names *n, int block, int stage, int index, gboolean has_expand, Part part,
             char **conv, char **bn)
{
  static const char *const original[][2] = {
    { "_expand_conv", "_bn0" }, { "_depthwise_conv", "_bn1" }, { "_se_reduce", NULL },
    { "_se_expand", NULL },     { "_project_conv", "_bn2" },
  };
  /* timm's first stage has no expansion, so its batch-norms are numbered one lower. */
  static const char *const timm_expanding[][2] = {
    { "conv_pw", "bn1" }, { "conv_dw", "bn2" }, { "se.conv_reduce", NULL },
    { "se.conv_expand", NULL }, { "conv_pwl", "bn3" },
  };
  static const char *const timm_plain[][2] = {
    { NULL, NULL }, { "conv_dw", "bn1" }, { "se.conv_reduce", NULL },
    { "se.conv_expand", NULL }, { "conv_pw", "bn2" },
  };
  const char *const *names;
  char *base;
  if (n->naming == NAMING_ORIGINAL)
    {
      names = original[part];
      base = g_strdup_printf ("%s_blocks.%d.", n->prefix, block);
    }
  else
    {
      names = has_expand ? timm_expanding[part] : timm_plain[part];
      base = g_strdup_printf ("blocks.%d.%d.", stage, index);
    }
  *conv = g_strconcat (base, names[0], NULL);
  *bn = names[1] ? g_strconcat (base, names[1], NULL) : NULL;
  g_free (base);
}

static gboolean
detect_naming (UadSafetensors *st, Names *n, GError **error)
{
  if (uad_safetensors_has (st, "backbone._conv_stem.weight"))
    *n = (Names) { NAMING_ORIGINAL, "backbone." };
  else if (uad_safetensors_has (st, "_conv_stem.weight"))
    *n = (Names) { NAMING_ORIGINAL, "" };
  else if (uad_safetensors_has (st, "conv_stem.weight"))
    *n = (Names) { NAMING_TIMM, "" };
  else
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s: not EfficientNet weights (no conv_stem.weight, _conv_stem.weight or "
                   "backbone._conv_stem.weight)", uad_safetensors_get_path (st));
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_se (UadBlock *b, UadSafetensors *st, const Names *n, int block, int stage, int index,
         GError **error)
{
  int r = MAX (1, b->cin / 4);
  g_autofree char *reduce = NULL, *expand = NULL, *unused1 = NULL, *unused2 = NULL;
  block_names (n, block, stage, index, b->has_expand, PART_SE_REDUCE, &reduce, &unused1);
  block_names (n, block, stage, index, b->has_expand, PART_SE_EXPAND, &expand, &unused2);
  UadConvLayer lr = { 0 }, le = { 0 };
  if (!uad_conv_layer_load (&lr, st, reduce, NULL, 0, r, b->cexp, 1, error)
      || !uad_conv_layer_load (&le, st, expand, NULL, 0, b->cexp, r, 1, error))
    {
      uad_tensor_free (lr.weight), uad_free_aligned (lr.bias);
      uad_tensor_free (le.weight), uad_free_aligned (le.bias);
      return FALSE;
    }
  b->se_reduce_w = lr.weight, b->se_reduce_b = lr.bias;
  b->se_expand_w = le.weight, b->se_expand_b = le.bias;
  uad_tensor_reshape (b->se_reduce_w, 2, (int64_t[]) { r, b->cexp });
  uad_tensor_reshape (b->se_expand_w, 2, (int64_t[]) { b->cexp, r });
  return TRUE;
}

static gboolean
load_block (UadBlock *b, UadSafetensors *st, const Names *n, int block, int stage, int index,
            int *size380, GError **error)
{
  g_autofree char *conv = NULL, *bn = NULL;

  if (b->has_expand)
    {
      block_names (n, block, stage, index, TRUE, PART_EXPAND, &conv, &bn);
      if (!uad_conv_layer_load (&b->expand, st, conv, bn, BN_EPS, b->cexp, b->cin, 1, error))
        return FALSE;
      b->expand.geom.stride = 1;
      b->expand.act = UAD_ACT_SWISH;
      g_clear_pointer (&conv, g_free);
      g_clear_pointer (&bn, g_free);
    }

  block_names (n, block, stage, index, b->has_expand, PART_DEPTHWISE, &conv, &bn);
  if (!uad_conv_layer_load (&b->depthwise, st, conv, bn, BN_EPS, b->cexp, 1, b->kernel, error))
    return FALSE;
  UadConvGeom *g = &b->depthwise.geom;
  g->stride = b->stride;
  uad_same_padding (*size380, b->kernel, b->stride, &g->pad_top, &g->pad_bottom);
  g->pad_left = g->pad_top, g->pad_right = g->pad_bottom;
  *size380 = (*size380 + b->stride - 1) / b->stride;
  b->depthwise.act = UAD_ACT_SWISH;
  g_clear_pointer (&conv, g_free);
  g_clear_pointer (&bn, g_free);

  if (!load_se (b, st, n, block, stage, index, error))
    return FALSE;

  block_names (n, block, stage, index, b->has_expand, PART_PROJECT, &conv, &bn);
  if (!uad_conv_layer_load (&b->project, st, conv, bn, BN_EPS, b->cout, b->cexp, 1, error))
    return FALSE;
  b->project.geom.stride = 1;
  b->project.act = UAD_ACT_NONE;
  return TRUE;
}

/* The head and classifier: present in full checkpoints (timm's release), absent in UniAD's. */
static gboolean
has_head (UadSafetensors *st, const Names *n)
{
  g_autofree char *name = n->naming == NAMING_TIMM ? g_strdup ("conv_head.weight")
                                                   : g_strconcat (n->prefix, "_conv_head.weight", NULL);
  return uad_safetensors_has (st, name);
}

static gboolean
load_head (UadBackbone *bb, UadSafetensors *st, const Names *n, GError **error)
{
  gboolean timm = n->naming == NAMING_TIMM;
  g_autofree char *conv = timm ? g_strdup ("conv_head") : g_strconcat (n->prefix, "_conv_head", NULL);
  g_autofree char *bn = timm ? g_strdup ("bn2") : g_strconcat (n->prefix, "_bn1", NULL);
  g_autofree char *fc = timm ? g_strdup ("classifier") : g_strconcat (n->prefix, "_fc", NULL);
  if (!uad_conv_layer_load (&bb->head, st, conv, bn, BN_EPS, HEAD_CHANNELS, 448, 1, error))
    return FALSE;
  bb->head.geom.stride = 1;
  bb->head.act = UAD_ACT_SWISH;
  return uad_backbone_load_classifier (bb, st, fc, N_CLASSES, HEAD_CHANNELS, error);
}

UadBackbone *
uad_efficientnet_b4_load (UadSafetensors *st, GError **error)
{
  Names n;
  if (!detect_naming (st, &n, error))
    return NULL;
  gboolean full = has_head (st, &n);
  int n_blocks = full ? N_BLOCKS : taps[G_N_ELEMENTS (taps) - 1] + 1;

  UadBackbone *bb = uad_backbone_new_empty (UAD_BACKBONE_EFFICIENTNET_B4, n_blocks);
  bb->normalization = UAD_NORMALIZE_IMAGENET;
  bb->n_taps = G_N_ELEMENTS (taps);
  memcpy (bb->taps, taps, sizeof taps);

  g_autofree char *stem = n.naming == NAMING_TIMM ? g_strdup ("conv_stem")
                                                  : g_strconcat (n.prefix, "_conv_stem", NULL);
  g_autofree char *stem_bn = n.naming == NAMING_TIMM ? g_strdup ("bn1")
                                                     : g_strconcat (n.prefix, "_bn0", NULL);
  if (!uad_conv_layer_load (&bb->stem, st, stem, stem_bn, BN_EPS, STEM_CHANNELS, 3, 3, error))
    goto fail;
  int size380 = NATIVE_SIZE;
  bb->stem.geom.stride = 2;
  uad_same_padding (size380, 3, 2, &bb->stem.geom.pad_top, &bb->stem.geom.pad_bottom);
  bb->stem.geom.pad_left = bb->stem.geom.pad_top;
  bb->stem.geom.pad_right = bb->stem.geom.pad_bottom;
  bb->stem.act = UAD_ACT_SWISH;
  size380 = (size380 + 1) / 2;

  int block = 0, cin = STEM_CHANNELS;
  for (guint s = 0; s < G_N_ELEMENTS (stages) && block < n_blocks; s++)
    for (int i = 0; i < stages[s].repeats && block < n_blocks; i++, block++)
      {
        UadBlock *b = &bb->blocks[block];
        uad_block_describe (b, cin, stages[s].cout, stages[s].expand, stages[s].kernel,
                            stages[s].stride, i);
        b->has_se = TRUE;
        if (!load_block (b, st, &n, block, (int) s, i, &size380, error))
          goto fail;
        cin = b->cout;
      }

  if (full && !load_head (bb, st, &n, error))
    goto fail;
  return bb;

fail:
  uad_backbone_free (bb);
  return NULL;
}
