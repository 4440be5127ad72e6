/* SPDX-License-Identifier: Apache-2.0 */
/* uad-model.h: a trained UniAD model and its file (.uniad).
 *
 * A .uniad file is safetensors: the transformer weights ("reconstruction." + the original
 * checkpoint names for a unified model; "class.<i>.reconstruction." per class for a separate
 * one) and, in __metadata__["uniad"], JSON with everything needed to use the model again:
 * the transformer configuration, the backbone's name and the SHA-256 of its weights file (a
 * model only runs on the backbone it was trained with), the class names with per-class score
 * statistics on the training images, the score kind, and a training summary.
 *
 * Optionally the file also holds an image decoder (uad-decoder.h) that renders features as
 * pictures: tensors "decoder." + its names, and a "decoder" object in the metadata with its
 * configuration and training summary. A model without one is just as valid (and reads as
 * before: the format version stays 1, older readers ignore the extra tensors and key). */
#pragma once

#include "uad-anomaly-map.h"
#include "uad-backbone.h"
#include "uad-decoder.h"
#include "uad-transformer.h"

#define UAD_MODEL_FORMAT_VERSION 1

typedef struct {
  char *name;
  int n_train;            /* training images */
  /* Image scores of the training images under the finished model. */
  double score_mean, score_std, score_max;
} UadModelClass;

typedef struct {
  int epochs;             /* epochs completed */
  int batch;
  double final_loss;      /* mean training loss of the last epoch */
  double seconds;         /* training wall time */
  char *date;             /* ISO 8601, UTC, when training finished */
} UadTrainingSummary;

typedef struct {
  UadBackboneKind backbone;
  char *backbone_sha256;
  UadScoreKind score_kind;
  gboolean separate;      /* one transformer per class instead of one for all */
  int n_classes;
  UadModelClass *classes;
  int n_transformers;     /* 1, or n_classes when separate */
  UadTransformer **transformers;
  UadTrainingSummary training;
  UadDecoder *decoder;    /* NULL when the model has no image decoder */
  UadTrainingSummary decoder_training;
} UadModel;

/* A model with zero-parameter transformers of the given configuration (initialise or load). */
UadModel *uad_model_new (UadBackboneKind backbone, const char *backbone_sha256,
                         const UadTransformerConfig *config, gboolean separate,
                         const char *const *class_names, int n_classes, GError **error);
void uad_model_free (UadModel *model);

/* Atomic write (see uad_safetensors_writer_save): a failure leaves an existing file intact. */
gboolean uad_model_save (const UadModel *model, const char *path, GError **error);
/* Adds the model's tensors and metadata to a writer (checkpoints add more to the same file). */
void uad_model_write (const UadModel *model, UadSafetensorsWriter *w);
UadModel *uad_model_load (const char *path, GError **error);

/* Gives the model an image decoder (replacing any it had); takes ownership. Fails, and frees
 * decoder, when its input channels or grid are not those of the model's features. */
gboolean uad_model_set_decoder (UadModel *model, UadDecoder *decoder, GError **error);

/* The transformer that reconstructs images of class `index` (the only one when unified). */
UadTransformer *uad_model_get_transformer (const UadModel *model, int class_index);
/* Index of the class called name, or -1. */
int uad_model_find_class (const UadModel *model, const char *name);
/* The class whose name is a component of path's folders (MVTec layout: ROOT/CLASS/test/...),
 * the innermost match winning, or -1. */
int uad_model_class_from_path (const UadModel *model, const char *path);
/* Default verdict threshold of a class: mean + 3 standard deviations of its training scores. */
double uad_model_default_threshold (const UadModel *model, int class_index);

/* Fails with UAD_ERROR_MISMATCH unless bb is the backbone kind the model was trained with
 * and backbone_sha256 (of the weights file) is the recorded one. */
gboolean uad_model_check_backbone (const UadModel *model, UadBackboneKind kind,
                                   const char *backbone_sha256, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadModel, uad_model_free)
