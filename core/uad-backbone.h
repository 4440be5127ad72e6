/* SPDX-License-Identifier: Apache-2.0 */
/* uad-backbone.h: the frozen ImageNet CNN and the neck that turn an image into UniAD features.
 *
 * Two backbones: EfficientNet-b4 (the paper's; blocks 0-21, taps 1/5/9/21, 272 channels) and
 * MobileNetV2 1.0 (development; taps 0/2/5/12, 168 channels). Weights come from a safetensors
 * file and are validated tensor by tensor on load (shapes, names; both the original
 * checkpoint's and timm's naming for EfficientNet); batch-norm is folded into the convolutions.
 * uad_backbone_extract runs the network up to the last tap and the neck (bilinear
 * align_corners resize of each tap to 14x14, concatenated in stride order).
 *
 * Threads: a batch of one image splits each operator over the core's pool; a larger batch
 * gives each compute thread whole images (see uad-parallel.h). One UadBackbone may be used by
 * one caller at a time (it owns its workspaces). */
#pragma once

#include "uad-image.h"
#include "uad-tensor.h"

typedef enum {
  UAD_BACKBONE_EFFICIENTNET_B4,
  UAD_BACKBONE_MOBILENET_V2,
} UadBackboneKind;

typedef struct UadBackbone UadBackbone;

/* "efficientnet_b4" / "mobilenet_v2" <-> kind. */
gboolean uad_backbone_kind_from_name (const char *name, UadBackboneKind *kind, GError **error);
const char *uad_backbone_kind_name (UadBackboneKind kind);

UadBackbone *uad_backbone_load (UadBackboneKind kind, const char *weights_path, GError **error);
/* Weights of a kind not known beforehand (a file the user chose): each kind is tried. A file
 * that cannot be read or is damaged fails with that error (UAD_ERROR_IO, UAD_ERROR_FORMAT);
 * one that is sound but fits no kind fails with UAD_ERROR_MISMATCH. */
UadBackbone *uad_backbone_load_any (const char *weights_path, GError **error);
void uad_backbone_free (UadBackbone *bb);

UadBackboneKind uad_backbone_get_kind (const UadBackbone *bb);
/* Channels of the neck output (272 or 168); the feature grid is always 14x14 at 224x224 input. */
int uad_backbone_get_feature_channels (const UadBackbone *bb);
int uad_backbone_get_input_size (const UadBackbone *bb); /* 224 */
UadNormalization uad_backbone_get_normalization (const UadBackbone *bb);
/* Multiply-accumulates per image up to the last tap (for benchmarks). */
double uad_backbone_get_macs (const UadBackbone *bb);
/* TRUE when the weights also hold the rest of the network and its ImageNet classifier. */
gboolean uad_backbone_has_classifier (const UadBackbone *bb);

/* Called for every block output while extracting (tests compare them with references):
 * image index in the batch, block index, the output [1, C, H, W]. May run on any compute thread. */
typedef void (*UadBlockTapFunc) (int image, int block, const UadTensor *output, void *user_data);
void uad_backbone_set_block_tap (UadBackbone *bb, UadBlockTapFunc func, void *user_data);

/* The side of the grid of feature vectors every backbone gives a 224x224 image (stride 16);
 * the model, its decoder and the feature cache all work on this grid. */
#define UAD_FEATURE_GRID 14

/* input [N, 3, 224, 224] normalised as uad_backbone_get_normalization says;
 * features [N, C, UAD_FEATURE_GRID, UAD_FEATURE_GRID]. */
void uad_backbone_extract (UadBackbone *bb, const UadTensor *input, UadTensor *features);

/* Class probabilities (softmax) of the whole network for input [N, 3, 224, 224]: probs
 * [N, classes]. Needs uad_backbone_has_classifier. */
int uad_backbone_get_n_classes (const UadBackbone *bb);
gboolean uad_backbone_classify (UadBackbone *bb, const UadTensor *input, UadTensor *probs,
                                GError **error);
