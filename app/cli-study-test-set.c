/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-test-set.h"

#include "cli-training-data.h"

#include "uad-anomaly-map.h"
#include "uad-image.h"
#include "uad-metrics.h"

#include <math.h>

#define MAP UAD_ANOMALY_MAP_SIZE

gboolean
cli_test_set_load (CliTestSet *ts, UadBackbone *bb, const char *sha, const char *cache_dir,
                   const UadDataset *ds, GError **error)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (int k = 0; k < ds->n_classes; k++)
    for (int i = 0; i < ds->classes[k].n_test; i++)
      g_ptr_array_add (paths, g_strdup (ds->classes[k].test[i].path));
  ts->ds = ds;
  ts->n = (int) paths->len;
  ts->class_of = g_new (int, ts->n);
  ts->first = g_new (int, ds->n_classes);
  ts->labels = g_new (guint8, ts->n);
  ts->masks = g_new0 (guint8, (size_t) ts->n * MAP * MAP);
  int j = 0;
  for (int k = 0; k < ds->n_classes; k++)
    {
      ts->first[k] = j;
      for (int i = 0; i < ds->classes[k].n_test; i++, j++)
        {
          const UadTestItem *item = &ds->classes[k].test[i];
          ts->class_of[j] = k;
          ts->labels[j] = item->anomalous;
          if (item->mask_path
              && !uad_mask_load_for_image (item->mask_path, item->path, MAP,
                                           ts->masks + (size_t) j * MAP * MAP, error))
            return FALSE;
        }
    }
  g_ptr_array_add (paths, NULL);
  ts->features = cli_extract_features (bb, sha, cache_dir, FALSE,
                                       (const char *const *) paths->pdata, ts->n, error);
  return ts->features != NULL;
}

void
cli_test_set_clear (CliTestSet *ts)
{
  uad_tensor_free (ts->features);
  g_free (ts->class_of);
  g_free (ts->first);
  g_free (ts->labels);
  g_free (ts->masks);
}

void
cli_test_set_class_metrics (const CliTestSet *ts, int k, const double *scores, const float *maps,
                            double *image_auroc, double *pixel_auroc)
{
  const UadClass *cls = &ts->ds->classes[k];
  int first = ts->first[k];
  g_autofree float *s = g_new (float, cls->n_test);
  for (int i = 0; i < cls->n_test; i++)
    s[i] = (float) scores[i];
  UadRankMetrics image, pixel;
  uad_rank_metrics (s, ts->labels + first, cls->n_test, &image);
  *image_auroc = 100 * image.auroc;
  *pixel_auroc = NAN;
  if (cls->has_masks)
    {
      uad_rank_metrics (maps, ts->masks + (size_t) first * MAP * MAP,
                        (size_t) cls->n_test * MAP * MAP, &pixel);
      *pixel_auroc = 100 * pixel.auroc;
    }
}

void
cli_test_set_metrics (const CliTestSet *ts, const double *scores, const float *maps,
                      double *image_auroc, double *pixel_auroc, double *class_image,
                      double *class_pixel)
{
  double image_sum = 0, pixel_sum = 0;
  int pixel_classes = 0;
  for (int k = 0; k < ts->ds->n_classes; k++)
    {
      double image, pixel;
      int first = ts->first[k];
      cli_test_set_class_metrics (ts, k, scores + first, maps + (size_t) first * MAP * MAP, &image,
                                  &pixel);
      image_sum += image;
      if (class_image != NULL)
        class_image[k] = image;
      if (class_pixel != NULL)
        class_pixel[k] = pixel;
      if (!isnan (pixel))
        pixel_sum += pixel, pixel_classes++;
    }
  *image_auroc = image_sum / ts->ds->n_classes;
  *pixel_auroc = pixel_classes ? pixel_sum / pixel_classes : NAN;
}
