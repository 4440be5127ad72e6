/* SPDX-License-Identifier: Apache-2.0 */
/* uad-detector.h: the whole inference path of a trained model: image files -> backbone
 * features -> the model's anomaly map (uad-feature-scorer.h) -> image score.
 *
 * A detector pairs a UadModel with the backbone it was trained on (checked by identity) and
 * owns the workspaces for batches of up to UAD_DETECTOR_BATCH images, so running allocates
 * nothing per image. One detector serves one caller at a time (the GUI's worker thread, or a
 * CLI loop). Images that cannot be read get an error of their own; the rest of the batch
 * goes on. Feature grids are G x G, G = UAD_FEATURE_GRID. */
#pragma once

#include "uad-backbone.h"
#include "uad-model.h"

#define UAD_DETECTOR_BATCH 8

typedef struct UadDetector UadDetector;

typedef struct {
  double score;        /* image score (the model's score kind) */
  int class_index;     /* the class whose model part/threshold applied, -1 if unknown */
  float *map;          /* UAD_ANOMALY_MAP_SIZE^2 anomaly map when asked for, else NULL */
  float *features;     /* [C, G, G] features as the model sees them when asked for, else NULL */
  float *rec;          /* [C, G, G] their reconstruction when asked for (UniAD), else NULL */
  GError *error;       /* set when the image could not be read; the other fields are unset */
} UadDetection;

/* Takes ownership of model and bb. Fails when bb is not the backbone the model was trained on
 * (backbone_sha256 is the SHA-256 of bb's weights file), or gives another channel count. */
UadDetector *uad_detector_new (UadModel *model, UadBackbone *bb, const char *backbone_sha256,
                               GError **error);
/* The backbone model was trained on: the file weights_path when given, else the file in
 * weights_dir whose SHA-256 the model records; its SHA-256 is checked against the model before
 * it is loaded, so wrong weights are refused at once. Sets *sha256 and, when not NULL,
 * *weights_used (the file's path). */
UadBackbone *uad_detector_load_backbone (const UadModel *model, const char *weights_path,
                                         const char *weights_dir, char **weights_used,
                                         char **sha256, GError **error);
/* The model at model_path with the backbone it was trained on, found as by
 * uad_detector_load_backbone (weights_used may be NULL). */
UadDetector *uad_detector_open (const char *model_path, const char *weights_path,
                                const char *weights_dir, char **weights_used, GError **error);
void uad_detector_free (UadDetector *det);
UadModel *uad_detector_get_model (UadDetector *det);
UadBackbone *uad_detector_get_backbone (UadDetector *det);

/* Features, reconstruction, map and score of a batch of model inputs [n <= BATCH, 3, S, S]
 * (already normalised), as uad_feature_scorer_run: class_index[i] picks the transformer or
 * Gaussians in separate mode (ignored when unified; may be NULL then). scores[n]; maps
 * [n, 224, 224], features (as the model sees them) and recs [n, C, G, G] may each be NULL;
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

/* The model's reconstruction as pictures, through its image decoder, for n <= BATCH images:
 * features and recs [n, C, G, G] (as uad_detector_run gives them). Returns [2n, 3, S, S]
 * decoder outputs (S = uad_decoder_get_output_size, normalised as the decoder's config says),
 * owned by det until its next call: decode(features) first, the reference picture (the
 * decoder's own blur, so that it is not taken for a change), then decode(recs). Fails with
 * UAD_ERROR_UNSUPPORTED when the model has no image decoder (PaDiM never has one). */
const float *uad_detector_decode (UadDetector *det, const float *features, const float *recs,
                                  int n, GError **error);
/* The same as 8-bit pictures: reference[n] (may be NULL when not wanted) and
 * reconstruction[n] get new images. */
gboolean uad_detector_render (UadDetector *det, const float *features, const float *recs,
                              int n, UadImage **reference, UadImage **reconstruction,
                              GError **error);
