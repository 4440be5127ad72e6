/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-training-data.h"

#include "cli-progress.h"

#include "uad-feature-cache.h"

char **
cli_training_images (const UadDataset *ds, int **class_of, int *n)
{
  GPtrArray *paths = g_ptr_array_new ();
  GArray *classes = g_array_new (FALSE, FALSE, sizeof (int));
  for (int k = 0; k < ds->n_classes; k++)
    for (int i = 0; i < ds->classes[k].n_train; i++)
      {
        g_ptr_array_add (paths, g_strdup (ds->classes[k].train[i]));
        g_array_append_val (classes, k);
      }
  *n = (int) paths->len;
  g_ptr_array_add (paths, NULL);
  *class_of = (int *) g_array_free (classes, FALSE);
  return (char **) g_ptr_array_free (paths, FALSE);
}

static gboolean
on_extract (int done, int total, void *user_data)
{
  g_autofree char *text = g_strdup_printf ("backbone features: %d/%d images", done, total);
  cli_progress_update (user_data, (double) done / total, text);
  return !cli_interrupted ();
}

UadTensor *
cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                      gboolean no_disk_cache, const char *const *paths, int n, GError **error)
{
  g_autofree char *dir = no_disk_cache ? NULL
                         : cache_dir ? g_strdup (cache_dir)
                         : g_build_filename (g_get_user_cache_dir (), "uniad-workbench", "features", NULL);
  CliProgress bar;
  cli_progress_init (&bar);
  g_autoptr (UadFeatureCache) cache = uad_feature_cache_new (bb, sha, dir);
  gint64 t0 = g_get_monotonic_time ();
  UadTensor *features = uad_feature_cache_extract (cache, paths, n, on_extract, &bar, error);
  if (features == NULL)
    return NULL;
  g_autofree char *done = g_strdup_printf ("backbone features: %d images in %.1f s (%d from the disk cache)",
                                           n, (g_get_monotonic_time () - t0) / 1e6,
                                           uad_feature_cache_get_hits (cache));
  cli_progress_done (&bar, done);
  return features;
}
