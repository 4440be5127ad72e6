/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"
#include "uad-metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Brute-force references: every quantity counted directly at every distinct threshold. */

static int
cmp_desc (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x < y) - (x > y);
}

/* Distinct values of x, descending; returns how many. */
static size_t
distinct_desc (const float *x, size_t n, float *out)
{
  memcpy (out, x, n * sizeof *x);
  qsort (out, n, sizeof *out, cmp_desc);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (m == 0 || out[m - 1] != out[i])
      out[m++] = out[i];
  return m;
}

static void
naive_rank_metrics (const float *s, const guint8 *l, size_t n, UadRankMetrics *out)
{
  double pairs = 0, wins = 0;
  size_t n_pos = 0;
  for (size_t i = 0; i < n; i++)
    n_pos += l[i] != 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (l[i] && !l[j])
        {
          pairs++;
          wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        }
  out->auroc = pairs > 0 ? wins / pairs : NAN;

  float *t = g_new (float, n);
  size_t m = distinct_desc (s, n, t);
  double ap = 0, f1 = 0, recall_prev = 0, f1_threshold = NAN;
  for (size_t k = 0; k < m; k++)
    {
      size_t tp = 0, fp = 0;
      for (size_t i = 0; i < n; i++)
        if (s[i] >= t[k])
          {
            tp += l[i] != 0;
            fp += l[i] == 0;
          }
      double precision = (double) tp / (tp + fp), recall = (double) tp / n_pos;
      ap += (recall - recall_prev) * precision;
      recall_prev = recall;
      /* = 2 P R / (P + R), in the form whose ties are exact ties. */
      double f = 2.0 * tp / (double) (tp + fp + n_pos);
      if (f > f1 || k == 0)
        f1 = f, f1_threshold = t[k];
    }
  g_free (t);
  out->average_precision = n_pos > 0 ? ap : NAN;
  out->f1_max = n_pos > 0 ? f1 : NAN;
  out->f1_threshold = n_pos > 0 ? f1_threshold : NAN;
}

/* AUROC from midranks (the Mann-Whitney U statistic), O(n log n), for large inputs. */
typedef struct {
  float s;
  guint8 l;
} Pair;

static int
cmp_pair (const void *a, const void *b)
{
  float x = ((const Pair *) a)->s, y = ((const Pair *) b)->s;
  return (x > y) - (x < y);
}

static double
midrank_auroc (const float *s, const guint8 *l, size_t n)
{
  Pair *p = g_new (Pair, n);
  for (size_t i = 0; i < n; i++)
    p[i] = (Pair) { s[i], l[i] };
  qsort (p, n, sizeof *p, cmp_pair);
  double rank_sum = 0;
  size_t n_pos = 0;
  for (size_t i = 0; i < n;)
    {
      size_t j = i;
      while (j < n && p[j].s == p[i].s)
        j++;
      double midrank = (i + 1 + j) / 2.0; /* ranks i+1 .. j */
      for (size_t k = i; k < j; k++)
        if (p[k].l)
          {
            rank_sum += midrank;
            n_pos++;
          }
      i = j;
    }
  g_free (p);
  double n_neg = (double) (n - n_pos);
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

/* Equal within tol, or both NaN (undefined). */
static void
assert_same_metric (const char *what, double got, double want, double tol)
{
  if (isnan (want) && isnan (got))
    return;
  if (!(fabs (got - want) <= tol))
    g_test_fail_printf ("%s: %.17g, reference %.17g", what, got, want);
}

static void
assert_metrics_close (const UadRankMetrics *got, const UadRankMetrics *want, double tol)
{
  assert_same_metric ("auroc", got->auroc, want->auroc, tol);
  assert_same_metric ("average precision", got->average_precision, want->average_precision, tol);
  assert_same_metric ("f1-max", got->f1_max, want->f1_max, tol);
  /* A score of the input, the highest of equal F1s: exact. */
  assert_same_metric ("f1 threshold", got->f1_threshold, want->f1_threshold, 0);
}

static void
test_rank_hand_values (void)
{
  /* sklearn's documented example: roc_auc 0.75, average precision 0.8333. */
  const float s[] = { 0.1f, 0.4f, 0.35f, 0.8f };
  const guint8 l[] = { 0, 0, 1, 1 };
  UadRankMetrics m;
  uad_rank_metrics (s, l, 4, &m);
  g_assert_cmpfloat_with_epsilon (m.auroc, 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.average_precision, 5.0 / 6.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.f1_max, 0.8, 1e-12); /* at 0.35: tp 2, fp 1 */
  g_assert_cmpfloat (m.f1_threshold, ==, 0.35f);

  /* Reversed ranking: reported as measured, never flipped. */
  const float r[] = { 0.9f, 0.8f, 0.1f, 0.2f };
  uad_rank_metrics (r, l, 4, &m);
  g_assert_cmpfloat_with_epsilon (m.auroc, 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.average_precision, 0.5 * 1.0 / 3 + 0.5 * 2.0 / 4, 1e-12);

  /* All scores tied: AUROC 1/2, AP = positive rate; -0 and +0 are the same score. */
  const float tied[] = { 0.0f, -0.0f, 0.0f, -0.0f, 0.0f };
  const guint8 lt[] = { 1, 0, 0, 1, 0 };
  uad_rank_metrics (tied, lt, 5, &m);
  g_assert_cmpfloat_with_epsilon (m.auroc, 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.average_precision, 0.4, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.f1_max, 2 * 0.4 / 1.4, 1e-12);
  g_assert_cmpfloat (m.f1_threshold, ==, 0.0f);

  /* One tie across the classes: pairs (3,2) (3,1) (2,1) win, (2,2) counts 1/2: 3.5 / 4. */
  const float t2[] = { 3, 2, 2, 1 };
  const guint8 l2[] = { 1, 1, 0, 0 };
  uad_rank_metrics (t2, l2, 4, &m);
  g_assert_cmpfloat_with_epsilon (m.auroc, 3.5 / 4, 1e-12);
}

static void
test_rank_undefined (void)
{
  const float s[] = { 0.1f, 0.4f, 0.35f };
  const guint8 neg[] = { 0, 0, 0 }, pos[] = { 1, 2, 255 };
  UadRankMetrics m;
  uad_rank_metrics (s, neg, 3, &m);
  g_assert_true (isnan (m.auroc) && isnan (m.average_precision) && isnan (m.f1_max));
  uad_rank_metrics (s, pos, 3, &m);
  g_assert_true (isnan (m.auroc));
  g_assert_cmpfloat (m.average_precision, ==, 1.0);
  g_assert_cmpfloat (m.f1_max, ==, 1.0);
  uad_rank_metrics (NULL, NULL, 0, &m);
  g_assert_true (isnan (m.auroc) && isnan (m.average_precision) && isnan (m.f1_max));
  const float with_nan[] = { 0.1f, NAN, 0.3f };
  const guint8 mixed[] = { 0, 1, 1 };
  uad_rank_metrics (with_nan, mixed, 3, &m);
  g_assert_true (isnan (m.auroc) && isnan (m.average_precision) && isnan (m.f1_max));
}

/* Random scores on a coarse grid (many ties, both signs), against the O(n^2) reference. */
static void
test_rank_random_vs_naive (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  for (int trial = 0; trial < 40; trial++)
    {
      size_t n = 1 + g_rand_int_range (rand, 0, 300);
      int levels = g_rand_int_range (rand, 1, 20);
      double p_pos = g_rand_double (rand);
      float *s = g_new (float, n);
      guint8 *l = g_new (guint8, n);
      for (size_t i = 0; i < n; i++)
        {
          l[i] = g_rand_double (rand) < p_pos;
          /* positives score a little higher on average */
          s[i] = (float) (g_rand_int_range (rand, 0, levels) + (l[i] ? levels / 3 : 0) - levels / 2)
                 * 0.37f;
        }
      UadRankMetrics got, want;
      uad_rank_metrics (s, l, n, &got);
      naive_rank_metrics (s, l, n, &want);
      assert_metrics_close (&got, &want, 1e-9);
      g_free (s);
      g_free (l);
    }
  g_rand_free (rand);
}

/* A pixel-sized input (continuous and tied values, every radix sort level in use). */
static void
test_rank_large (void)
{
  size_t n = 400000;
  float *s = g_new (float, n);
  guint8 *l = g_new (guint8, n);
  uad_test_fill_random (s, n, -3.0f, 5.0f, 11);
  GRand *rand = g_rand_new_with_seed (12);
  for (size_t i = 0; i < n; i++)
    {
      l[i] = g_rand_double (rand) < 0.1 + 0.05 * s[i];
      if (i % 3 == 0)
        s[i] = roundf (s[i] * 4) / 4;
    }
  g_rand_free (rand);
  UadRankMetrics m;
  uad_rank_metrics (s, l, n, &m);
  double want = midrank_auroc (s, l, n);
  g_test_message ("large: auroc %.6f (midrank reference %.6f), AP %.4f, F1-max %.4f", m.auroc,
                  want, m.average_precision, m.f1_max);
  g_assert_cmpfloat_with_epsilon (m.auroc, want, 1e-9);
  g_assert_cmpfloat (m.auroc, >, 0.6);
  g_free (s);
  g_free (l);
}

/* The 8-connected components of mask by repeated min-label propagation (slow, obviously right). */
static int
naive_regions (const guint8 *mask, int h, int w, int *label)
{
  for (int i = 0; i < h * w; i++)
    label[i] = mask[i] ? i + 1 : 0;
  gboolean changed = TRUE;
  while (changed)
    {
      changed = FALSE;
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
              {
                int ny = y + dy, nx = x + dx;
                if (ny < 0 || ny >= h || nx < 0 || nx >= w)
                  continue;
                int a = y * w + x, b = ny * w + nx;
                if (label[a] && label[b] && label[b] < label[a])
                  {
                    label[a] = label[b];
                    changed = TRUE;
                  }
              }
    }
  /* renumber 1..count */
  int count = 0;
  int *map = g_new0 (int, h * w + 1);
  for (int i = 0; i < h * w; i++)
    if (label[i])
      {
        if (!map[label[i]])
          map[label[i]] = ++count;
        label[i] = map[label[i]];
      }
  g_free (map);
  return count;
}

/* MVTec AD's compute_pro + trapezoid, evaluated threshold by threshold. */
static double
naive_aupro (const float *maps, const guint8 *masks, int n_images, int h, int w, double limit)
{
  size_t plane = (size_t) h * w, total = plane * n_images;
  int *label = g_new (int, total);
  int n_regions = 0;
  for (int b = 0; b < n_images; b++)
    {
      int count = naive_regions (masks + plane * b, h, w, label + plane * b);
      for (size_t i = 0; i < plane; i++)
        if (label[plane * b + i])
          label[plane * b + i] += n_regions;
      n_regions += count;
    }
  double *size = g_new0 (double, n_regions + 1);
  size_t n_neg = 0;
  for (size_t i = 0; i < total; i++)
    {
      size[label[i]]++;
      n_neg += label[i] == 0;
    }

  float *t = g_new (float, total);
  size_t m = distinct_desc (maps, total, t);
  double *x = g_new (double, m + 1), *y = g_new (double, m + 1);
  x[0] = y[0] = 0;
  for (size_t k = 0; k < m; k++)
    {
      double fp = 0, pro = 0;
      for (size_t i = 0; i < total; i++)
        if (maps[i] >= t[k])
          {
            if (label[i])
              pro += 1.0 / (n_regions * size[label[i]]);
            else
              fp++;
          }
      x[k + 1] = fp / n_neg;
      y[k + 1] = pro;
    }
  size_t ins = 0; /* bisect_right(x, limit) */
  while (ins <= m && x[ins] <= limit)
    ins++;
  double area = 0;
  for (size_t k = 1; k < ins; k++)
    area += 0.5 * (y[k] + y[k - 1]) * (x[k] - x[k - 1]);
  if (x[ins - 1] != limit)
    {
      double y_at = y[ins - 1] + (y[ins] - y[ins - 1]) * (limit - x[ins - 1]) / (x[ins] - x[ins - 1]);
      area += 0.5 * (y_at + y[ins - 1]) * (limit - x[ins - 1]);
    }
  g_free (label);
  g_free (size);
  g_free (t);
  g_free (x);
  g_free (y);
  return area / limit;
}

static void
test_aupro_hand_values (void)
{
  /* One row: regions {0, 1} and {5}; normal pixels 2, 3, 4. Points (FPR, PRO): (0, 1/4),
   * (1/3, 1/4), (1/3, 3/4), (2/3, 3/4), (2/3, 1), (1, 1). */
  const float s[] = { 0.9f, 0.2f, 0.8f, 0.1f, 0.3f, 0.5f };
  const guint8 mask[] = { 1, 1, 0, 0, 0, 255 };
  g_assert_cmpfloat_with_epsilon (uad_aupro (s, mask, 1, 1, 6, 1.0), 2.0 / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon (uad_aupro (s, mask, 1, 1, 6, 0.3), 0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon (uad_aupro (s, mask, 1, 1, 6, 0.5), (1.0 / 12 + 0.75 / 6) / 0.5,
                                  1e-12);

  /* 8-connectivity: (0,1) and (1,2) touch diagonally, so this is one region of 3 pixels
   * (7/9); with 4-connectivity it would be two regions (5/6). */
  const float d[] = { 0.7f, 0.6f, 0.8f,
                      0.1f, 0.2f, 0.9f };
  const guint8 dmask[] = { 1, 1, 0,
                           0, 0, 1 };
  g_assert_cmpfloat_with_epsilon (uad_aupro (d, dmask, 1, 2, 3, 1.0), 7.0 / 9, 1e-12);

  /* Undefined: no regions, or no normal pixel. */
  const guint8 none[] = { 0, 0, 0, 0, 0, 0 }, all[] = { 1, 1, 1, 1, 1, 1 };
  g_assert_true (isnan (uad_aupro (d, none, 1, 2, 3, 0.3)));
  g_assert_true (isnan (uad_aupro (d, all, 1, 2, 3, 0.3)));
}

static void
test_aupro_random_vs_naive (void)
{
  GRand *rand = g_rand_new_with_seed (3);
  int n_images = 3, h = 9, w = 11, total = n_images * h * w;
  float *maps = g_new (float, total);
  guint8 *masks = g_new (guint8, total);
  for (int trial = 0; trial < 12; trial++)
    {
      double p_seed = g_rand_double_range (rand, 0.02, 0.2);
      int levels = g_rand_int_range (rand, 3, 40);
      /* blobs: seeds dilated by a random 0/1-pixel radius, so regions touch diagonally too */
      memset (masks, 0, total);
      for (int i = 0; i < total; i++)
        if (g_rand_double (rand) < p_seed)
          {
            int b = i / (h * w), y = i / w % h, x = i % w;
            int r = g_rand_int_range (rand, 0, 2);
            for (int yy = MAX (y - r, 0); yy <= MIN (y + r, h - 1); yy++)
              for (int xx = MAX (x - r, 0); xx <= MIN (x + r, w - 1); xx++)
                masks[(b * h + yy) * w + xx] = 255;
          }
      for (int i = 0; i < total; i++)
        maps[i] = (float) (g_rand_int_range (rand, 0, levels) + (masks[i] ? levels / 4 : 0)) / levels;
      for (int k = 0; k < 3; k++)
        {
          double limit = (double[]) { 0.3, 0.05, 1.0 }[k];
          double got = uad_aupro (maps, masks, n_images, h, w, limit);
          double want = naive_aupro (maps, masks, n_images, h, w, limit);
          g_assert_cmpfloat_with_epsilon (got, want, 1e-9);
        }
    }
  g_free (maps);
  g_free (masks);
  g_rand_free (rand);
}

static void
test_psnr (void)
{
  const guint8 a[4] = { 10, 20, 30, 40 };
  const guint8 b[4] = { 10, 20, 30, 50 };
  g_assert_true (isinf (uad_psnr (a, a, 4)));
  /* MSE = 100 / 4 = 25: 10 log10 (65025 / 25). */
  g_assert_cmpfloat_with_epsilon (uad_psnr (a, b, 4), 10 * log10 (65025.0 / 25), 1e-12);
}

static void
test_mask_contrast (void)
{
  /* Two pixels, three channels: pixel 0 (in the defect) differs by 3, 0, 0; pixel 1 by 0. */
  const float reference[6] = { 0, 0, 0, 0, 0, 0 };
  const float reconstruction[6] = { 3, 0, 0, 0, 0, 0 };
  const float map[2] = { 0.5f, 0.25f };
  const guint8 mask[2] = { 255, 0 };
  UadMaskContrast c = { 0 };
  uad_mask_contrast_add (&c, reference, reconstruction, map, mask, 2);
  uad_mask_contrast_add (&c, reference, reconstruction, map, mask, 2);
  g_assert_cmpint (c.n_inside, ==, 2);
  g_assert_cmpint (c.n_outside, ==, 2);
  g_assert_cmpfloat (c.inside, ==, 2.0);
  g_assert_cmpfloat (c.outside, ==, 0.0);
  g_assert_cmpfloat (c.map_inside, ==, 1.0);
  g_assert_cmpfloat (c.map_outside, ==, 0.5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/rank-hand-values", test_rank_hand_values);
  g_test_add_func ("/metrics/rank-undefined", test_rank_undefined);
  g_test_add_func ("/metrics/rank-random-vs-naive", test_rank_random_vs_naive);
  g_test_add_func ("/metrics/rank-large", test_rank_large);
  g_test_add_func ("/metrics/aupro-hand-values", test_aupro_hand_values);
  g_test_add_func ("/metrics/aupro-random-vs-naive", test_aupro_random_vs_naive);
  g_test_add_func ("/metrics/psnr", test_psnr);
  g_test_add_func ("/metrics/mask-contrast", test_mask_contrast);
  return g_test_run ();
}
