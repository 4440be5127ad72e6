/* SPDX-License-Identifier: Apache-2.0 */
/* uad-detector.h: the whole inference path of a trained model: image files -> backbone
 * features -> the model's anomaly map (uad-feature-scorer.h) -> image score.
 *
 * A detector pairs a UadModel with the backbone it was trained on (checked by identity) and
 * owns the workspaces for batches of up to UAD_DETECTOR_BATCH images, so running allocates
 * nothing per image. One detector serves one caller at a time (the GUI's worker thread, or a
 * CLI loop). Images that cannot be read get an error of their own; the rest of the batch
 * goes on. */
#pragma once

#include "uad-backbone.h"
#include "uad-model.h"

#define UAD_DETECTOR_BATCH 8

typedef struct UadDetector UadDetector;

typedef struct {
  double score;        /* image score (the model's score kind) */
  int class_index;     /* the class whose model part/threshold applied, -1 if unknown */
  float *map;          /* UAD_ANOMALY_MAP_SIZE^2 anomaly map when asked for, else NULL */
  float *features;     /* [C, 14, 14] features as the model sees them when asked for, else NULL */
  float *rec;          /* [C, 14, 14] their reconstruction when asked for (UniAD), else NULL */
  GError *error;       /* set when the image could not be read; the other fields are unset */
} UadDetection;

/* Takes ownership of model and bb. Fails when bb is not the backbone the model was trained on
 * (backbone_sha256 is the SHA-256 of bb's weights file), or gives another channel count. */
UadDetector *uad_detector_new (UadModel *model, UadBackbone *bb, const char *backbone_sha256,
                               GError **error);
void uad_detector_free (UadDetector *det);
UadModel *uad_detector_get_model (UadDetector *det);
UadBackbone *uad_detector_get_backbone (UadDetector *det);

/* Features, reconstruction, map and score of a batch of model inputs [n <= BATCH, 3, S, S]
 * (already normalised), as uad_feature_scorer_run: class_index[i] picks the transformer or
 * Gaussians in separate mode (ignored when unified; may be NULL then). scores[n]; maps
 * [n, 224, 224], features (as the model sees them) and recs [n, C, 14, 14] may each be NULL;
 * recs must be NULL for a PaDiM model. */
void uad_detector_run (UadDetector *det, const UadTensor *input, const int *class_index,
                       double *scores, float *maps, float *features, float *recs);

/* Decode and run image files (any number; batched inside). class_index as above, or NULL to
 * take each image's class from its path (uad_model_class_from_path). want_maps and
 * want_features fill the results' map, and features and rec (when the model has one). */
void uad_detector_run_files (UadDetector *det, const char *const *paths, int n,
                             const int *class_index, gboolean want_maps,
                             gboolean want_features, UadDetection *results);
void uad_detection_clear (UadDetection *d);
