/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-feature-cache.h"

#include "uad-error.h"
#include "uad-parallel.h"
#include "uad-safetensors.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <string.h>

#define BATCH 8
#define GRID UAD_FEATURE_GRID

struct UadFeatureCache {
  UadBackbone *bb;
  char *backbone_sha256;
  char *dir;
  int hits;
};

UadFeatureCache *
uad_feature_cache_new (UadBackbone *bb, const char *backbone_sha256, const char *cache_dir)
{
  UadFeatureCache *cache = g_new0 (UadFeatureCache, 1);
  cache->bb = bb;
  cache->backbone_sha256 = g_strdup (backbone_sha256);
  cache->dir = g_strdup (cache_dir);
  return cache;
}

void
uad_feature_cache_free (UadFeatureCache *cache)
{
  if (cache == NULL)
    return;
  g_free (cache->backbone_sha256);
  g_free (cache->dir);
  g_free (cache);
}

int
uad_feature_cache_get_hits (const UadFeatureCache *cache)
{
  return cache->hits;
}

/* <dir>/<sha256(image sha + backbone sha)>.safetensors */
static char *
cache_path (UadFeatureCache *cache, const char *image_sha)
{
  g_autofree char *key_text = g_strconcat (image_sha, ":", cache->backbone_sha256, NULL);
  g_autofree char *key = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key_text, -1);
  g_autofree char *file = g_strconcat (key, ".safetensors", NULL);
  return g_build_filename (cache->dir, file, NULL);
}

/* A cached entry that is damaged or of another shape is ignored (and rewritten), not an error. */
static gboolean
read_cached (const char *path, float *out, int64_t channels)
{
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, NULL);
  if (st == NULL)
    return FALSE;
  g_autoptr (UadTensor) t = uad_safetensors_load (st, "features", 3, (int64_t[]) { channels, GRID, GRID }, NULL);
  if (t == NULL)
    return FALSE;
  memcpy (out, t->data, (size_t) uad_tensor_numel (t) * sizeof (float));
  return TRUE;
}

typedef struct {
  UadFeatureCache *cache;
  const char *const *paths;
  int first;
  float *inputs;       /* [BATCH, 3, s, s] */
  float *features;     /* [n, C, 14, 14] (the result) */
  gboolean *cached;    /* per batch slot: features came from disk */
  char **shas;         /* per batch slot */
  GError **errors;     /* per batch slot */
} BatchLoad;

static void
load_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  BatchLoad *l = ctx;
  UadBackbone *bb = l->cache->bb;
  int s = uad_backbone_get_input_size (bb);
  int64_t channels = uad_backbone_get_feature_channels (bb);
  for (int64_t i = begin; i < end; i++)
    {
      const char *path = l->paths[l->first + i];
      l->cached[i] = FALSE;
      if (l->cache->dir)
        {
          l->shas[i] = uad_weights_sha256 (path, &l->errors[i]);
          if (l->shas[i] == NULL)
            continue;
          g_autofree char *cpath = cache_path (l->cache, l->shas[i]);
          float *dest = l->features + (l->first + i) * channels * GRID * GRID;
          if (read_cached (cpath, dest, channels))
            {
              l->cached[i] = TRUE;
              continue;
            }
        }
      uad_image_load_input (path, s, uad_backbone_get_normalization (bb),
                            l->inputs + i * 3 * s * s, &l->errors[i]);
    }
}

static gboolean
write_cached (UadFeatureCache *cache, const char *image_sha, const float *features,
              int64_t channels, GError **error)
{
  if (g_mkdir_with_parents (cache->dir, 0755) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot create the feature cache folder %s: %s",
                   cache->dir, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *path = cache_path (cache, image_sha);
  g_autoptr (UadTensor) t = uad_tensor_new_borrowed ((float *) features, 3,
                                                     (int64_t[]) { channels, GRID, GRID });
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  uad_safetensors_writer_add_metadata (w, "backbone_sha256", cache->backbone_sha256);
  uad_safetensors_writer_add_metadata (w, "image_sha256", image_sha);
  uad_safetensors_writer_add_tensor (w, "features", t);
  return uad_safetensors_writer_save (w, path, error);
}

UadTensor *
uad_feature_cache_extract (UadFeatureCache *cache, const char *const *paths, int n,
                           UadProgressFunc progress, void *user_data, GError **error)
{
  UadBackbone *bb = cache->bb;
  int s = uad_backbone_get_input_size (bb);
  int64_t channels = uad_backbone_get_feature_channels (bb);
  int64_t per_image = channels * GRID * GRID;
  g_autoptr (UadTensor) result = uad_tensor_new_4d (n, channels, GRID, GRID);
  g_autoptr (UadTensor) inputs = uad_tensor_new_4d (BATCH, 3, s, s);
  g_autoptr (UadTensor) features = uad_tensor_new_4d (BATCH, channels, GRID, GRID);
  gboolean cached[BATCH];
  char *shas[BATCH];
  GError *errors[BATCH];
  cache->hits = 0;

  for (int first = 0; first < n; first += BATCH)
    {
      int count = MIN (BATCH, n - first);
      memset (shas, 0, sizeof shas);
      memset (errors, 0, sizeof errors);
      BatchLoad load = { cache, paths, first, inputs->data, result->data, cached, shas, errors };
      uad_parallel_for (count, 1, load_range, &load);

      gboolean ok = TRUE;
      for (int i = 0; i < count; i++)
        if (errors[i] && ok)
          {
            g_propagate_error (error, errors[i]);
            errors[i] = NULL;
            ok = FALSE;
          }
      if (ok)
        {
          /* Run the backbone on the images not found on disk, packed into one batch. */
          int todo = 0;
          int slot_of[BATCH];
          for (int i = 0; i < count; i++)
            if (!cached[i])
              {
                if (todo != i)
                  memcpy (inputs->data + todo * 3 * s * s, inputs->data + i * 3 * s * s,
                          (size_t) 3 * s * s * sizeof (float));
                slot_of[todo++] = i;
              }
            else
              cache->hits++;
          if (todo > 0)
            {
              UadTensor in = { inputs->data, 4, { todo, 3, s, s }, FALSE };
              UadTensor out = { features->data, 4, { todo, channels, GRID, GRID }, FALSE };
              uad_backbone_extract (bb, &in, &out);
            }
          for (int k = 0; k < todo && ok; k++)
            {
              int i = slot_of[k];
              float *dest = result->data + (first + i) * per_image;
              memcpy (dest, features->data + k * per_image, (size_t) per_image * sizeof (float));
              if (cache->dir && !write_cached (cache, shas[i], dest, channels, error))
                ok = FALSE;
            }
        }
      for (int i = 0; i < count; i++)
        {
          g_free (shas[i]);
          g_clear_error (&errors[i]);
        }
      if (!ok)
        return NULL;
      if (progress && !progress (first + count, n, user_data))
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "cancelled");
          return NULL;
        }
    }
  return g_steal_pointer (&result);
}
