/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-metrics.h"

#include "uad-parallel.h"

#include <math.h>
#include <string.h>

/* Buckets this small are finished with an insertion sort. */
#define SMALL_SORT 32

/* Unsigned key with the order of the float (-0 and +0 map to the same key); FALSE for NaN. */
static inline gboolean
float_key (float x, guint32 *key)
{
  if (isnan (x))
    return FALSE;
  if (x == 0.0f)
    x = 0.0f;
  guint32 u;
  memcpy (&u, &x, sizeof u);
  *key = (u & 0x80000000u) ? ~u : u | 0x80000000u;
  return TRUE;
}

/* The float of a key (float_key's inverse). */
static inline float
key_float (guint32 key)
{
  guint32 u = (key & 0x80000000u) ? key & 0x7fffffffu : ~key;
  float x;
  memcpy (&x, &u, sizeof x);
  return x;
}

static inline void
swap_items (guint32 *keys, guint32 *payload, size_t i, size_t j)
{
  guint32 t = keys[i];
  keys[i] = keys[j];
  keys[j] = t;
  if (payload != NULL)
    {
      t = payload[i];
      payload[i] = payload[j];
      payload[j] = t;
    }
}

/* Ascending in-place MSD radix sort (American flag sort) of keys on bits [0, shift + 8),
 * moving the optional payload along. */
static void
sort_keys (guint32 *keys, guint32 *payload, size_t n, int shift)
{
  if (n <= SMALL_SORT)
    {
      for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && keys[j - 1] > keys[j]; j--)
          swap_items (keys, payload, j - 1, j);
      return;
    }

  size_t count[256] = { 0 };
  for (size_t i = 0; i < n; i++)
    count[(keys[i] >> shift) & 0xff]++;
  size_t next[256], end[256], pos = 0;
  for (int b = 0; b < 256; b++)
    {
      next[b] = pos;
      pos += count[b];
      end[b] = pos;
    }
  /* Each misplaced item is swapped straight into the next free slot of its bucket. */
  for (int b = 0; b < 256; b++)
    while (next[b] < end[b])
      {
        guint d = (keys[next[b]] >> shift) & 0xff;
        if (d == (guint) b)
          next[b]++;
        else
          swap_items (keys, payload, next[b], next[d]++);
      }

  if (shift == 0)
    return;
  size_t start = 0;
  for (int b = 0; b < 256; b++)
    {
      if (count[b] > 1)
        sort_keys (keys + start, payload ? payload + start : NULL, count[b], shift - 8);
      start += count[b];
    }
}

/* The positive and negative keys are sorted as two parallel tasks. */
typedef struct {
  guint32 *keys[2];
  guint32 *payload[2];
  size_t n[2];
} SortPair;

static void
sort_pair_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  SortPair *p = ctx;
  for (int64_t i = begin; i < end; i++)
    sort_keys (p->keys[i], p->payload[i], p->n[i], 24);
}

static void
sort_pair (guint32 *pos, guint32 *pos_payload, size_t n_pos, guint32 *neg, size_t n_neg)
{
  SortPair p = { { pos, neg }, { pos_payload, NULL }, { n_pos, n_neg } };
  uad_parallel_for (2, 1, sort_pair_range, &p);
}

/* Walks sorted positive and negative keys from the highest score down, one distinct score at
 * a time, counting true and false positives at threshold ">= score". When regions are given,
 * pro also accumulates region_weight[region of each positive]. */
typedef struct {
  const guint32 *pos, *neg;
  const guint32 *pos_region;
  const double *region_weight;
  size_t ip, in; /* items not consumed yet: pos[0, ip), neg[0, in) */
  size_t tp, fp;
  guint32 key; /* the score of the last step */
  double pro;
} Walk;

static void
walk_init (Walk *w, const guint32 *pos, const guint32 *pos_region, const double *region_weight,
           size_t n_pos, const guint32 *neg, size_t n_neg)
{
  *w = (Walk) { pos, neg, pos_region, region_weight, n_pos, n_neg, 0, 0, 0, 0.0 };
}

static gboolean
walk_next (Walk *w)
{
  if (w->ip == 0 && w->in == 0)
    return FALSE;
  guint32 t;
  if (w->ip == 0)
    t = w->neg[w->in - 1];
  else if (w->in == 0)
    t = w->pos[w->ip - 1];
  else
    t = MAX (w->pos[w->ip - 1], w->neg[w->in - 1]);
  w->key = t;
  while (w->ip > 0 && w->pos[w->ip - 1] == t)
    {
      w->ip--;
      w->tp++;
      if (w->pos_region != NULL)
        w->pro += w->region_weight[w->pos_region[w->ip]];
    }
  while (w->in > 0 && w->neg[w->in - 1] == t)
    {
      w->in--;
      w->fp++;
    }
  return TRUE;
}

void
uad_rank_metrics (const float *scores, const guint8 *labels, size_t n, UadRankMetrics *out)
{
  out->auroc = out->average_precision = out->f1_max = out->f1_threshold = NAN;
  g_return_if_fail (n < ((size_t) 1 << 32));
  if (n == 0)
    return;

  /* Positives fill the key array from the front, negatives from the back. */
  guint32 *keys = g_new (guint32, n);
  size_t n_pos = 0, n_neg = 0;
  for (size_t i = 0; i < n; i++)
    {
      guint32 k;
      if (!float_key (scores[i], &k))
        {
          g_free (keys);
          return;
        }
      if (labels[i])
        keys[n_pos++] = k;
      else
        keys[n - 1 - n_neg++] = k;
    }
  guint32 *neg = keys + n_pos;
  sort_pair (keys, NULL, n_pos, neg, n_neg);

  Walk w;
  walk_init (&w, keys, NULL, NULL, n_pos, neg, n_neg);
  guint64 twice_area = 0; /* exact, in units of one (positive, negative) pair */
  double ap = 0, f1 = 0;
  guint32 f1_key = 0; /* no float has key 0 */
  size_t tp_prev = 0, fp_prev = 0;
  while (walk_next (&w))
    {
      twice_area += (guint64) (w.fp - fp_prev) * (w.tp + tp_prev);
      ap += (double) (w.tp - tp_prev) * w.tp / (double) (w.tp + w.fp);
      double f = 2.0 * w.tp / (double) (w.tp + w.fp + n_pos);
      if (f > f1 || f1_key == 0)
        f1 = f, f1_key = w.key;
      tp_prev = w.tp;
      fp_prev = w.fp;
    }
  g_free (keys);

  if (n_pos > 0 && n_neg > 0)
    out->auroc = twice_area / (2.0 * n_pos * n_neg);
  if (n_pos > 0)
    {
      out->average_precision = ap / n_pos;
      out->f1_max = f1;
      out->f1_threshold = key_float (f1_key);
    }
}

/* Labels the 8-connected components of the nonzero pixels of mask (h x w) as 1..count in
 * labels (0 = background) and returns count; queue holds h * w indices. */
static guint32
label_regions (const guint8 *mask, int h, int w, guint32 *labels, guint32 *queue)
{
  size_t n = (size_t) h * w;
  memset (labels, 0, n * sizeof *labels);
  guint32 count = 0;
  for (size_t seed = 0; seed < n; seed++)
    {
      if (!mask[seed] || labels[seed])
        continue;
      count++;
      size_t head = 0, tail = 0;
      labels[seed] = count;
      queue[tail++] = (guint32) seed;
      while (head < tail)
        {
          int y = (int) (queue[head] / w), x = (int) (queue[head] % w);
          head++;
          for (int ny = MAX (y - 1, 0); ny <= MIN (y + 1, h - 1); ny++)
            for (int nx = MAX (x - 1, 0); nx <= MIN (x + 1, w - 1); nx++)
              {
                size_t j = (size_t) ny * w + nx;
                if (mask[j] && !labels[j])
                  {
                    labels[j] = count;
                    queue[tail++] = (guint32) j;
                  }
              }
        }
    }
  return count;
}

double
uad_aupro (const float *maps, const guint8 *masks, int n_images, int h, int w, double fpr_limit)
{
  g_return_val_if_fail (n_images >= 0 && h > 0 && w > 0, NAN);
  g_return_val_if_fail (fpr_limit > 0 && fpr_limit <= 1, NAN);
  size_t plane = (size_t) h * w, total = plane * n_images;
  g_return_val_if_fail (total < ((size_t) 1 << 32), NAN);

  size_t n_pos = 0;
  for (size_t i = 0; i < total; i++)
    n_pos += masks[i] != 0;
  size_t n_neg = total - n_pos;
  if (n_pos == 0 || n_neg == 0)
    return NAN;

  guint32 *pos = g_new (guint32, n_pos);
  guint32 *pos_region = g_new (guint32, n_pos);
  guint32 *neg = g_new (guint32, n_neg);
  guint32 *labels = g_new (guint32, plane);
  guint32 *queue = g_new (guint32, plane);
  GArray *region_size = g_array_new (FALSE, TRUE, sizeof (guint64));
  gboolean has_nan = FALSE;
  size_t ip = 0, in = 0;
  for (int b = 0; b < n_images && !has_nan; b++)
    {
      const float *map = maps + plane * b;
      guint32 base = region_size->len;
      guint32 count = label_regions (masks + plane * b, h, w, labels, queue);
      g_array_set_size (region_size, base + count);
      for (size_t i = 0; i < plane && !has_nan; i++)
        {
          if (labels[i])
            {
              guint32 r = base + labels[i] - 1;
              g_array_index (region_size, guint64, r)++;
              pos_region[ip] = r;
              has_nan = !float_key (map[i], &pos[ip++]);
            }
          else
            has_nan = !float_key (map[i], &neg[in++]);
        }
    }
  g_free (labels);
  g_free (queue);

  double result = NAN;
  if (!has_nan)
    {
      guint32 n_regions = region_size->len;
      double *weight = g_new (double, n_regions);
      for (guint32 r = 0; r < n_regions; r++)
        weight[r] = 1.0 / ((double) n_regions * g_array_index (region_size, guint64, r));
      sort_pair (pos, pos_region, n_pos, neg, n_neg);

      /* Trapezoid over the (FPR, PRO) points from (0, 0); the last segment is cut at the limit.
       * The walk always reaches FPR = 1 >= fpr_limit. */
      Walk wk;
      walk_init (&wk, pos, pos_region, weight, n_pos, neg, n_neg);
      double area = 0, x0 = 0, y0 = 0;
      while (walk_next (&wk))
        {
          double x1 = (double) wk.fp / n_neg, y1 = MIN (wk.pro, 1.0);
          if (x1 >= fpr_limit)
            {
              double y_at = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0);
              area += 0.5 * (y0 + y_at) * (fpr_limit - x0);
              break;
            }
          area += 0.5 * (y0 + y1) * (x1 - x0);
          x0 = x1;
          y0 = y1;
        }
      result = area / fpr_limit;
      g_free (weight);
    }
  g_array_unref (region_size);
  g_free (pos);
  g_free (pos_region);
  g_free (neg);
  return result;
}

double
uad_psnr (const guint8 *a, const guint8 *b, size_t n)
{
  double se = 0;
  for (size_t i = 0; i < n; i++)
    {
      double d = (double) a[i] - b[i];
      se += d * d;
    }
  return se > 0 ? 10 * log10 (255.0 * 255.0 * n / se) : INFINITY;
}

void
uad_mask_contrast_add (UadMaskContrast *c, const float *reference, const float *reconstruction,
                       const float *map, const guint8 *mask, size_t hw)
{
  for (size_t i = 0; i < hw; i++)
    {
      double d = 0;
      for (int ch = 0; ch < 3; ch++)
        d += fabs ((double) reconstruction[ch * hw + i] - reference[ch * hw + i]);
      if (mask[i])
        c->inside += d / 3, c->map_inside += map[i], c->n_inside++;
      else
        c->outside += d / 3, c->map_outside += map[i], c->n_outside++;
    }
}
