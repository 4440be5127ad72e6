/* SPDX-License-Identifier: Apache-2.0 */
/* uad-feature-cache.h: backbone features of many images, computed once.
 *
 * The backbone is frozen and training uses no augmentation, so an image's features never change
 * for a given backbone: training extracts them once into memory, and, with a cache folder,
 * keeps them on disk keyed by the SHA-256 of the image file's bytes and of the backbone
 * weights, so a second training run (or a resumed one) skips the backbone entirely. */
#pragma once

#include "uad-backbone.h"
#include "uad-progress.h"

typedef struct UadFeatureCache UadFeatureCache;

/* backbone_sha256 identifies the weights; cache_dir may be NULL (memory only) and is created
 * when needed. The cache borrows bb. */
UadFeatureCache *uad_feature_cache_new (UadBackbone *bb, const char *backbone_sha256,
                                        const char *cache_dir);
void uad_feature_cache_free (UadFeatureCache *cache);

/* Features [n, C, 14, 14] of the images, in order. Decoding runs in parallel, the backbone in
 * batches. Fails (naming the file) on the first unreadable image, or when progress cancels. */
UadTensor *uad_feature_cache_extract (UadFeatureCache *cache, const char *const *paths, int n,
                                      UadProgressFunc progress, void *user_data, GError **error);

/* How many images came from the disk cache in the last extract. */
int uad_feature_cache_get_hits (const UadFeatureCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadFeatureCache, uad_feature_cache_free)
