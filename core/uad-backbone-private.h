/* SPDX-License-Identifier: Apache-2.0 */
/* uad-backbone-private.h: the network description shared by the backbone runtime
 * (uad-backbone.c) and the two builders that fill it from a weights file (uad-efficientnet.c,
 * uad-mobilenet.c). Both networks are a stem convolution, a list of inverted-residual blocks
 * (expand 1x1, depthwise kxk, optional squeeze-excite, project 1x1, optional residual) and an
 * optional classification head. */
#pragma once

#include "uad-backbone.h"
#include "uad-ops.h"
#include "uad-safetensors.h"

#define UAD_BACKBONE_MAX_TAPS 4

typedef struct {
  UadTensor *weight; /* [cout, cin or 1, kh, kw], batch-norm folded in */
  float *bias;       /* [cout] */
  UadConvGeom geom;
  UadActivation act;
} UadConvLayer;

typedef struct {
  int cin, cexp, cout, kernel, stride;
  int h_in, w_in, h_out, w_out; /* at the 224x224 input */
  gboolean has_expand, has_se, residual;
  UadConvLayer expand, depthwise, project;
  UadTensor *se_reduce_w, *se_expand_w; /* [r, cexp, 1, 1], [cexp, r, 1, 1] */
  float *se_reduce_b, *se_expand_b;
} UadBlock;

typedef struct Workspace Workspace;

struct UadBackbone {
  UadBackboneKind kind;
  UadNormalization normalization;
  int input_size;
  UadConvLayer stem;
  int stem_h, stem_w;
  UadBlock *blocks;
  int n_blocks;             /* blocks loaded: up to the last tap, or all with a classifier */
  int taps[UAD_BACKBONE_MAX_TAPS];
  int n_taps;
  int feature_channels;
  /* classifier (optional): head 1x1 conv, global pool, linear [n_classes, head_channels] */
  gboolean has_classifier;
  UadConvLayer head;
  UadTensor *classifier_w;
  float *classifier_b;
  int n_classes;

  UadBlockTapFunc tap_func;
  void *tap_data;
  Workspace **workspaces;   /* one per compute thread, made on first use */
  int n_workspaces;
};

/* Helpers for the builders. */
UadBackbone *uad_backbone_new_empty (UadBackboneKind kind, int n_blocks);
/* Loads a convolution [cout, cin_per_group, k, k] and its bias or batch-norm (bn_prefix names
 * "<prefix>.weight/.bias/.running_mean/.running_var"; NULL when the file has a folded bias
 * "<conv_prefix>.bias"). */
gboolean uad_conv_layer_load (UadConvLayer *layer, UadSafetensors *st, const char *conv_prefix,
                              const char *bn_prefix, float bn_eps, int64_t cout, int64_t cin,
                              int kernel, GError **error);
/* Loads the ImageNet classifier "<prefix>.weight" [n_classes, in] and "<prefix>.bias". */
gboolean uad_backbone_load_classifier (UadBackbone *bb, UadSafetensors *st, const char *prefix,
                                       int64_t n_classes, int64_t in, GError **error);
/* Describes block b: repeat `index` of a stage (only the first repeat has the stage's stride;
 * a block adds its input back when its stride is 1 and its channels do not change). */
void uad_block_describe (UadBlock *b, int cin, int cout, int expand, int kernel, int stride,
                         int index);
/* Fills h/w sizes of stem and blocks for the input size, and checks the taps. */
void uad_backbone_finish (UadBackbone *bb);

UadBackbone *uad_efficientnet_b4_load (UadSafetensors *st, GError **error);
UadBackbone *uad_mobilenet_v2_load (UadSafetensors *st, GError **error);
