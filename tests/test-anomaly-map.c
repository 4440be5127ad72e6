/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"
#include "uad-anomaly-map.h"
#include "uad-error.h"
#include "uad-safetensors.h"

#include <math.h>

/* Bilinear align_corners = true, straight from the definition. */
static float
naive_bilinear (const float *src, int h, int w, int ho, int wo, int y, int x)
{
  double sy = ho > 1 ? (double) y * (h - 1) / (ho - 1) : 0;
  double sx = wo > 1 ? (double) x * (w - 1) / (wo - 1) : 0;
  int y0 = MIN ((int) sy, h - 1), x0 = MIN ((int) sx, w - 1);
  int y1 = MIN (y0 + 1, h - 1), x1 = MIN (x0 + 1, w - 1);
  double fy = sy - y0, fx = sx - x0;
  return (float) ((1 - fy) * ((1 - fx) * src[y0 * w + x0] + fx * src[y0 * w + x1])
                  + fy * ((1 - fx) * src[y1 * w + x0] + fx * src[y1 * w + x1]));
}

static void
test_map_small (void)
{
  const int B = 2, C = 5, H = 4, W = 3, HO = 7, WO = 5;
  g_autoptr (UadTensor) feat = uad_tensor_new_4d (B, C, H, W);
  g_autoptr (UadTensor) rec = uad_tensor_new_4d (B, C, H, W);
  uad_test_fill_random (feat->data, uad_tensor_numel (feat), -2, 2, 1);
  uad_test_fill_random (rec->data, uad_tensor_numel (rec), -2, 2, 2);
  g_autoptr (UadTensor) small = uad_tensor_new_4d (B, 1, H, W);
  g_autoptr (UadTensor) map = uad_tensor_new_4d (B, 1, HO, WO);
  uad_anomaly_map_compute (feat, rec, small, map);

  float want_small[2 * 4 * 3], want_map[2 * 7 * 5];
  for (int b = 0; b < B; b++)
    for (int p = 0; p < H * W; p++)
      {
        double s = 0;
        for (int c = 0; c < C; c++)
          {
            int i = (b * C + c) * H * W + p;
            s += (rec->data[i] - feat->data[i]) * (rec->data[i] - feat->data[i]);
          }
        want_small[b * H * W + p] = (float) sqrt (s);
      }
  for (int b = 0; b < B; b++)
    for (int y = 0; y < HO; y++)
      for (int x = 0; x < WO; x++)
        want_map[(b * HO + y) * WO + x] = naive_bilinear (want_small + b * H * W, H, W, HO, WO, y, x);
  uad_test_assert_close ("distance map", small->data, want_small, B * H * W, 1e-6);
  uad_test_assert_close ("upsampled map", map->data, want_map, B * HO * WO, 1e-6);
}

static void
test_scores (void)
{
  /* Average pool against the direct window sums, on a map that is not square. */
  const int h = 21, w = 26, k = UAD_SCORE_WINDOW, ph = h - k + 1, pw = w - k + 1;
  float map[21 * 26], pooled[6 * 11], want[6 * 11];
  uad_test_fill_random (map, h * w, 0, 3, 5);
  map[7 * w + 20] = 40; /* a hot spot, so the best window is at a known place */
  uad_anomaly_map_avg_pool (map, h, w, pooled);
  float best = -1;
  for (int y = 0; y < ph; y++)
    for (int x = 0; x < pw; x++)
      {
        double s = 0;
        for (int dy = 0; dy < k; dy++)
          for (int dx = 0; dx < k; dx++)
            s += map[(y + dy) * w + x + dx];
        want[y * pw + x] = (float) (s / (k * k));
        best = MAX (best, want[y * pw + x]);
      }
  uad_test_assert_close ("average pool", pooled, want, ph * pw, 1e-6);
  g_assert_cmpfloat_with_epsilon (uad_anomaly_score (map, h, w, UAD_SCORE_MAX), best, 1e-5);

  const float tiny[] = { 1, 2, 3, 4, 6, 8 };
  g_assert_cmpfloat_with_epsilon (uad_anomaly_score (tiny, 2, 3, UAD_SCORE_MEAN), 4.0, 1e-12);
  /* population: deviations -3 -2 -1 0 2 4, squares sum 34 */
  g_assert_cmpfloat_with_epsilon (uad_anomaly_score (tiny, 2, 3, UAD_SCORE_STD), sqrt (34.0 / 6),
                                  1e-12);
}

static void
test_score_names (void)
{
  for (UadScoreKind kind = UAD_SCORE_MAX; kind <= UAD_SCORE_STD; kind++)
    {
      UadScoreKind parsed = -1;
      g_assert_true (uad_score_kind_parse (uad_score_kind_name (kind), &parsed, NULL));
      g_assert_cmpint (parsed, ==, kind);
    }
  g_assert_cmpstr (uad_score_kind_name (UAD_SCORE_MAX), ==, "max");
  g_autoptr (GError) error = NULL;
  UadScoreKind kind;
  g_assert_false (uad_score_kind_parse ("median", &kind, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "median"));
}

static UadTensor *
load (UadSafetensors *st, const char *name, int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  UadTensor *t = uad_safetensors_load (st, name, ndim, shape, &error);
  g_assert_no_error (error);
  return t;
}

/* The original implementation's maps and scores for the golden batch. */
static void
test_golden (void)
{
  g_autofree char *path = uad_test_shared_path ("golden/uniad/tensors.safetensors");
  if (path == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  const int64_t B = 2, N = UAD_ANOMALY_MAP_SIZE, P = N - UAD_SCORE_WINDOW + 1;
  const int64_t feat_shape[] = { B, 272, 14, 14 };
  g_autoptr (UadTensor) feat = load (st, "neck.feature_align", 4, feat_shape);
  g_autoptr (UadTensor) rec = load (st, "rec.feature_rec", 4, feat_shape);
  g_autoptr (UadTensor) want14 = load (st, "out.pred14", 4, (int64_t[]) { B, 1, 14, 14 });
  g_autoptr (UadTensor) want224 = load (st, "out.pred", 4, (int64_t[]) { B, 1, N, N });
  g_autoptr (UadTensor) want_pool = load (st, "out.pred_avgpool16", 4, (int64_t[]) { B, 1, P, P });

  g_autoptr (UadTensor) map14 = uad_tensor_new_4d (B, 1, 14, 14);
  g_autoptr (UadTensor) map224 = uad_tensor_new_4d (B, 1, N, N);
  uad_anomaly_map_compute (feat, rec, map14, map224);
  uad_test_assert_close ("out.pred14", map14->data, want14->data, B * 14 * 14, 1e-3);
  uad_test_assert_close ("out.pred", map224->data, want224->data, B * N * N, 1e-3);
  g_autoptr (UadTensor) pool = uad_tensor_new_4d (B, 1, P, P);
  for (int b = 0; b < B; b++)
    uad_anomaly_map_avg_pool (map224->data + b * N * N, N, N, pool->data + b * P * P);
  uad_test_assert_close ("out.pred_avgpool16", pool->data, want_pool->data, B * P * P, 1e-3);

  for (UadScoreKind kind = UAD_SCORE_MAX; kind <= UAD_SCORE_STD; kind++)
    {
      g_autofree char *name = g_strdup_printf ("out.score_%s", uad_score_kind_name (kind));
      g_autoptr (UadTensor) want = load (st, name, 1, (int64_t[]) { B });
      for (int b = 0; b < B; b++)
        {
          double got = uad_anomaly_score (map224->data + b * N * N, N, N, kind);
          double rel = fabs (got - want->data[b]) / fabs (want->data[b]);
          g_test_message ("%s[%d]: %.6g, reference %.6g, relative error %.2g", name, b, got,
                          want->data[b], rel);
          if (!(rel <= 1e-3))
            g_test_fail_printf ("%s[%d]: %.6g, reference %.6g", name, b, got, want->data[b]);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/anomaly-map/small", test_map_small);
  g_test_add_func ("/anomaly-map/scores", test_scores);
  g_test_add_func ("/anomaly-map/score-names", test_score_names);
  g_test_add_func ("/anomaly-map/golden", test_golden);
  return g_test_run ();
}
