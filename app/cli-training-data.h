/* SPDX-License-Identifier: Apache-2.0 */
/* cli-training-data.h: the backbone features the training commands (train, train-decoder,
 * study) read, with the disk cache and progress (the images: uad_train_job_images). */
#pragma once

#include "uad-backbone.h"
#include "uad-dataset.h"
#include "uad-tensor.h"

/* Backbone features [n, C, G, G] of paths, through the feature cache (in cache_dir, or the user
 * cache folder; in memory only with no_disk_cache), with a progress line; Ctrl-C stops it. */
UadTensor *cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                                 gboolean no_disk_cache, const char *const *paths, int n,
                                 GError **error);
