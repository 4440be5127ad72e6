/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-anomaly-map.h"

#include "uad-error.h"
#include "uad-ops.h"

#include <math.h>
#include <string.h>

static const char *const score_names[] = {
  [UAD_SCORE_MAX] = "max",
  [UAD_SCORE_MEAN] = "mean",
  [UAD_SCORE_STD] = "std",
};

void
uad_anomaly_map_compute (const UadTensor *feat, const UadTensor *rec, UadTensor *map_small,
                         UadTensor *map)
{
  g_return_if_fail (feat->ndim == 4 && uad_tensor_same_shape (feat, rec));
  int64_t batch = feat->shape[0], channels = feat->shape[1];
  int64_t plane = feat->shape[2] * feat->shape[3];
  g_return_if_fail (map_small->ndim == 4 && map_small->shape[0] == batch
                    && map_small->shape[1] == 1 && map_small->shape[2] == feat->shape[2]
                    && map_small->shape[3] == feat->shape[3]);

  double *acc = g_new (double, plane);
  for (int64_t b = 0; b < batch; b++)
    {
      memset (acc, 0, plane * sizeof *acc);
      for (int64_t c = 0; c < channels; c++)
        {
          const float *f = feat->data + (b * channels + c) * plane;
          const float *r = rec->data + (b * channels + c) * plane;
          for (int64_t p = 0; p < plane; p++)
            {
              double d = (double) r[p] - f[p];
              acc[p] += d * d;
            }
        }
      for (int64_t p = 0; p < plane; p++)
        map_small->data[b * plane + p] = (float) sqrt (acc[p]);
    }
  g_free (acc);
  uad_anomaly_map_upsample (map_small, map);
}

void
uad_anomaly_map_upsample (const UadTensor *map_small, UadTensor *map)
{
  g_return_if_fail (map_small->ndim == 4 && map_small->shape[1] == 1);
  g_return_if_fail (map->ndim == 4 && map->shape[0] == map_small->shape[0] && map->shape[1] == 1);
  uad_resize_bilinear_align_corners (map_small, map);
}

/* Every 16x16 window sum of map, from column sums over 16 rows kept up to date as the window
 * moves down; writes the window means to out when it is not NULL and returns the largest. */
static double
avg_pool (const float *map, int h, int w, float *out)
{
  const int k = UAD_SCORE_WINDOW;
  const double area = (double) k * k;
  double *col = g_new0 (double, w);
  for (int y = 0; y < k; y++)
    for (int x = 0; x < w; x++)
      col[x] += map[(size_t) y * w + x];
  double best = -INFINITY;
  for (int y0 = 0; y0 + k <= h; y0++)
    {
      if (y0 > 0)
        for (int x = 0; x < w; x++)
          col[x] += (double) map[(size_t) (y0 + k - 1) * w + x] - map[(size_t) (y0 - 1) * w + x];
      double s = 0;
      for (int x = 0; x < k; x++)
        s += col[x];
      for (int x0 = 0; x0 + k <= w; x0++)
        {
          if (x0 > 0)
            s += col[x0 + k - 1] - col[x0 - 1];
          best = MAX (best, s);
          if (out != NULL)
            out[(size_t) y0 * (w - k + 1) + x0] = (float) (s / area);
        }
    }
  g_free (col);
  return best / area;
}

void
uad_anomaly_map_avg_pool (const float *map, int h, int w, float *out)
{
  g_return_if_fail (h >= UAD_SCORE_WINDOW && w >= UAD_SCORE_WINDOW);
  avg_pool (map, h, w, out);
}

double
uad_anomaly_score (const float *map, int h, int w, UadScoreKind kind)
{
  g_return_val_if_fail (h > 0 && w > 0, NAN);
  size_t n = (size_t) h * w;
  switch (kind)
    {
    case UAD_SCORE_MAX:
      g_return_val_if_fail (h >= UAD_SCORE_WINDOW && w >= UAD_SCORE_WINDOW, NAN);
      return avg_pool (map, h, w, NULL);
    case UAD_SCORE_MEAN:
    case UAD_SCORE_STD:
      {
        double sum = 0;
        for (size_t i = 0; i < n; i++)
          sum += map[i];
        double mean = sum / n;
        if (kind == UAD_SCORE_MEAN)
          return mean;
        double sq = 0; /* two passes: no cancellation */
        for (size_t i = 0; i < n; i++)
          sq += (map[i] - mean) * (map[i] - mean);
        return sqrt (sq / n);
      }
    }
  g_return_val_if_reached (NAN);
}

const char *
uad_score_kind_name (UadScoreKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (score_names), NULL);
  return score_names[kind];
}

gboolean
uad_score_kind_parse (const char *name, UadScoreKind *kind, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (score_names); i++)
    if (strcmp (name, score_names[i]) == 0)
      {
        *kind = (UadScoreKind) i;
        return TRUE;
      }
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
               "unknown score \"%s\" (expected max, mean or std)", name);
  return FALSE;
}
