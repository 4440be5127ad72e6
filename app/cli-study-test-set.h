/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-test-set.h: the test split of an MVTec-layout dataset as the studies use it: every
 * test image's backbone features (extracted once, through the feature cache), labels and
 * masks, and the metrics `uniad eval` computes from scores and maps, per class and as the
 * mean over classes. */
#pragma once

#include "uad-backbone.h"
#include "uad-dataset.h"
#include "uad-tensor.h"

typedef struct {
  const UadDataset *ds;
  UadTensor *features;    /* [n, C, 14, 14], raw */
  int n;
  int *class_of;          /* [n] */
  int *first;             /* [n_classes]: the index of each class's first image (they are in class order) */
  guint8 *labels;         /* [n] */
  guint8 *masks;          /* [n, MAP, MAP]; all zero for classes without masks */
} CliTestSet;

/* Loads ds's test split; the backbone's features through the feature cache in cache_dir (or the
 * user cache folder). */
gboolean cli_test_set_load (CliTestSet *ts, UadBackbone *bb, const char *sha, const char *cache_dir,
                            const UadDataset *ds, GError **error);
void cli_test_set_clear (CliTestSet *ts);

/* Class k's image AUROC and pixel AUROC (NaN without masks), in percent, from the scores
 * [n_test of k] and maps [n_test of k, MAP, MAP] of its test images. */
void cli_test_set_class_metrics (const CliTestSet *ts, int k, const double *scores, const float *maps,
                                 double *image_auroc, double *pixel_auroc);

/* The means over classes of those (pixel AUROC over the classes with masks; NaN if none), from
 * the scores [n] and maps [n, MAP, MAP] of every test image; each class's image and pixel
 * AUROC into class_image and class_pixel [n_classes] unless they are NULL. */
void cli_test_set_metrics (const CliTestSet *ts, const double *scores, const float *maps,
                           double *image_auroc, double *pixel_auroc, double *class_image,
                           double *class_pixel);
