/* SPDX-License-Identifier: Apache-2.0 */
/* uad-model.h: a trained anomaly detection model and its file (.uniad).
 *
 * Two methods share the format. UniAD (the default) reconstructs the features with a
 * transformer; PaDiM (uad-padim.h) keeps per-position Gaussians of the training features and
 * reconstructs nothing. Either is unified (one for every class) or separate (one per class).
 *
 * A .uniad file is safetensors: the transformer weights ("reconstruction." + the original
 * checkpoint names for a unified model; "class.<i>.reconstruction." per class for a separate
 * one), or the Gaussians ("padim." / "class.<i>.padim." + the names in uad-padim.h), and, in
 * __metadata__["uniad"], JSON with everything needed to use the model again: the method (no
 * "method" reads as UniAD), the transformer configuration or the Gaussians' channel count, the
 * backbone's name and the SHA-256 of its weights file (a model only runs on the backbone it was
 * trained with), the class names with per-class score statistics on the training images, the
 * score kind, and a training summary.
 *
 * Optionally a class also records explicit thresholds ("thresholds": {"pass_below",
 * "fail_above", "pixel"} in its entry, as `uniad calibrate` writes them); without them its
 * verdicts use the defaults of uad-verdict.h from its score statistics. Older readers ignore
 * them. On load they must pass uad_verdict_check_thresholds, or the model is refused with an
 * error naming the file and the class.
 *
 * Optionally the file also holds an image decoder (uad-decoder.h) that renders features as
 * pictures: tensors "decoder." + its names, and a "decoder" object in the metadata with its
 * configuration and training summary. A model without one is just as valid (and reads as
 * before: older readers ignore the extra tensors and key). Only UniAD models have one.
 *
 * Optionally the model standardises the features per channel before anything else sees them:
 * tensors "standardization.mean" and "standardization.std" [C], and a "standardization" object
 * in the metadata. Such a model is written as format 2, which older readers refuse instead of
 * misreading; any other model without Gaussians is written as format 1, as before.
 *
 * Optionally a UniAD model measures the reconstruction residual (features - reconstruction)
 * with per-position Gaussians of the training images' residuals (uad-residual.h) instead of
 * its L2 norm: tensors "residual." (fitted on every class) and, when fitted per class too,
 * "class.<i>.residual." + the names in uad-padim.h, and a "residual" object in the metadata.
 * A model with Gaussians (PaDiM's or the residual's) is written as format 4, whose Gaussians
 * are packed in half precision; formats 2 and 3 (full float32 matrices) still read. */
#pragma once

#include "uad-anomaly-map.h"
#include "uad-backbone.h"
#include "uad-decoder.h"
#include "uad-padim.h"
#include "uad-transformer.h"
#include "uad-verdict.h"

/* The newest format this program reads. */
#define UAD_MODEL_FORMAT_VERSION 4

typedef enum {
  UAD_METHOD_UNIAD,  /* reconstruction transformers */
  UAD_METHOD_PADIM,  /* per-position Gaussians, no reconstruction */
} UadMethod;

typedef struct {
  char *name;
  int n_train;            /* training images */
  /* Image scores of the training images under the finished model. */
  double score_mean, score_std, score_max;
  /* Explicit thresholds when has_thresholds; else unused (see uad_model_class_thresholds). */
  gboolean has_thresholds;
  UadVerdictThresholds thresholds;
} UadModelClass;

/* For PaDiM, which is fitted in one pass: 0 epochs, batch and loss, the fitting time and date. */
typedef struct {
  int epochs;             /* epochs completed */
  int batch;
  double final_loss;      /* mean training loss of the last epoch */
  double seconds;         /* training wall time */
  char *date;             /* ISO 8601, UTC, when training finished */
  char *recipe;           /* the training recipe (uad-recipe.h), or NULL when not recorded */
} UadTrainingSummary;

typedef struct {
  UadMethod method;
  UadBackboneKind backbone;
  char *backbone_sha256;
  UadScoreKind score_kind;
  gboolean separate;      /* one transformer (set of Gaussians) per class instead of one for all */
  int n_classes;
  UadModelClass *classes;
  int channels;           /* C of the backbone features [n, C, 14, 14] the model reads */
  int n_transformers;     /* UniAD: 1, or n_classes when separate; 0 for PaDiM */
  UadTransformer **transformers;
  int n_gaussians;        /* PaDiM: 1, or n_classes when separate; 0 for UniAD */
  UadPadim **gaussians;
  /* UniAD: 0, or Gaussians of the reconstruction residual: residuals[0] fitted on every class,
   * and residuals[1 + k] on class k when n_residuals is 1 + n_classes (uad-residual.h). */
  int n_residuals;
  UadPadim **residuals;
  /* [channels] each, or both NULL: features become (x - mean) / std per channel first. */
  float *feature_mean, *feature_std;
  UadTrainingSummary training;
  UadDecoder *decoder;    /* NULL when the model has no image decoder */
  UadTrainingSummary decoder_training;
} UadModel;

/* A UniAD model with zero-parameter transformers of the given configuration (initialise or
 * load). */
UadModel *uad_model_new (UadBackboneKind backbone, const char *backbone_sha256,
                         const UadTransformerConfig *config, gboolean separate,
                         const char *const *class_names, int n_classes, GError **error);
/* A PaDiM model of `channels`-channel features with all-zero Gaussians (fit or load). */
UadModel *uad_model_new_padim (UadBackboneKind backbone, const char *backbone_sha256,
                               int channels, gboolean separate, const char *const *class_names,
                               int n_classes);
void uad_model_free (UadModel *model);

/* Atomic write (see uad_safetensors_writer_save): a failure leaves an existing file intact. */
gboolean uad_model_save (const UadModel *model, const char *path, GError **error);
/* Adds the model's tensors and metadata to a writer (checkpoints add more to the same file). */
void uad_model_write (const UadModel *model, UadSafetensorsWriter *w);
UadModel *uad_model_load (const char *path, GError **error);

/* Gives the model an image decoder (replacing any it had); takes ownership. Fails, and frees
 * decoder, when its input channels or grid are not those of the model's features, or the model
 * reconstructs nothing (PaDiM). */
gboolean uad_model_set_decoder (UadModel *model, UadDecoder *decoder, GError **error);

/* Fits a PaDiM model's Gaussians (each on its class's images when separate) to features
 * [n, C, 14, 14] with class_of[n], raw or standardised as the model would see them, with the
 * ridge UAD_PADIM_RIDGE. Fails when a Gaussian has no images (or see uad_padim_fit). */
gboolean uad_model_fit_padim (UadModel *model, const UadTensor *features, const int *class_of,
                              GError **error);

/* Replaces the model's residual Gaussians (taking ownership of residuals[n], n = 0, 1 or
 * 1 + n_classes; see UadModel). */
void uad_model_set_residuals (UadModel *model, UadPadim **residuals, int n);

/* Per-channel feature standardisation: mean and population standard deviation of features
 * [n, C, 14, 14] over the images and the positions, kept in the model (replacing any). */
void uad_model_fit_standardization (UadModel *model, const UadTensor *features);
/* features [n, C, 14, 14] := (features - mean) / std per channel, in place; nothing when the
 * model does not standardise. */
void uad_model_standardize_features (const UadModel *model, float *features, int n);

/* Each class's n_train and score statistics from the image scores of its training images
 * (scores[n] of the images, class_of[n]), under the finished model. */
void uad_model_set_class_statistics (UadModel *model, const double *scores, const int *class_of,
                                     int n);

/* The thresholds class k's verdicts use: its explicit ones, or the defaults of uad-verdict.h
 * from its training score statistics. */
UadVerdictThresholds uad_model_class_thresholds (const UadModel *model, int k);

/* "uniad", "padim"; and back (UAD_ERROR_INVALID naming the valid names). */
const char *uad_method_name (UadMethod method);
gboolean uad_method_from_name (const char *name, UadMethod *method, GError **error);
/* One line saying what the model is, for the headers of reports: method, mode, classes,
 * backbone, and what it was trained or fitted with. */
char *uad_model_describe (const UadModel *model);

/* The transformer that reconstructs images of class `index` (the only one when unified). */
UadTransformer *uad_model_get_transformer (const UadModel *model, int class_index);
/* Index of the class called name, or -1. */
int uad_model_find_class (const UadModel *model, const char *name);
/* The class whose name is a component of path's folders (MVTec layout: ROOT/CLASS/test/...),
 * the innermost match winning, or -1. */
int uad_model_class_from_path (const UadModel *model, const char *path);

/* Fails with UAD_ERROR_FORMAT unless the model reads features on the UAD_FEATURE_GRID grid
 * every backbone gives (the loader takes other grids, for tests of small models); path names
 * the model file in the message. */
gboolean uad_model_check_grid (const UadModel *model, const char *path, GError **error);

/* Fails with UAD_ERROR_MISMATCH unless bb is the backbone kind the model was trained with
 * and backbone_sha256 (of the weights file) is the recorded one. */
gboolean uad_model_check_backbone (const UadModel *model, UadBackboneKind kind,
                                   const char *backbone_sha256, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadModel, uad_model_free)
