/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-validation.h"

#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HELD_OUT_PER_CLASS 200
#define MIN_CLASS_IMAGES 10
#define SCORE_BATCH 8

struct UadValidation {
  int n_classes;
  UadTensor *train;       /* [m, C, h, w] */
  int *train_class;       /* [m] */
  UadTensor *examples;    /* [2 k, C, h, w]: held-out images, then their synthetic anomalies */
  int *example_class;     /* [2 k] */
  int held_out;           /* k */
};

static void
swap (int *a, int *b)
{
  int t = *a;
  *a = *b;
  *b = t;
}

/* Pastes a random square block of src's positions onto dst at another random place. */
static void
paste_block (float *dst, const float *src, int c, int h, int w, UadRng *rng)
{
  int max_size = CLAMP (MIN (h, w) / 2, 1, 4); /* 4 on the 14 x 14 grid */
  int size = max_size <= 2 ? max_size : 2 + (int) (uad_rng_next (rng) % (guint64) (max_size - 1));
  int ty = (int) (uad_rng_next (rng) % (guint64) (h - size + 1));
  int tx = (int) (uad_rng_next (rng) % (guint64) (w - size + 1));
  int sy, sx;
  do
    {
      sy = (int) (uad_rng_next (rng) % (guint64) (h - size + 1));
      sx = (int) (uad_rng_next (rng) % (guint64) (w - size + 1));
    }
  while (abs (sy - ty) < size && abs (sx - tx) < size); /* elsewhere, not overlapping (a grid
                                                            of 2+ cells always has such a place) */
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < size; y++)
      memcpy (dst + ((size_t) ch * h + ty + y) * w + tx, src + ((size_t) ch * h + sy + y) * w + sx,
              size * sizeof (float));
}

UadValidation *
uad_validation_new (const UadTensor *features, const int *class_of, int n_classes,
                    double share, guint64 seed, GError **error)
{
  int n = (int) features->shape[0], c = (int) features->shape[1];
  int h = (int) features->shape[2], w = (int) features->shape[3];
  size_t per = (size_t) c * h * w;
  UadRng rng;
  uad_rng_init (&rng, seed ^ 0x5eed5eedull);

  /* Each class's images in a seeded random order; the first `take` are held out. */
  g_autofree gboolean *held = g_new0 (gboolean, n);
  g_autofree int *members = g_new (int, n);
  int k = 0;
  for (int cls = 0; cls < n_classes; cls++)
    {
      int count = 0;
      for (int i = 0; i < n; i++)
        if (class_of[i] == cls)
          members[count++] = i;
      if (count < MIN_CLASS_IMAGES)
        continue;
      /* At least one (an AUROC needs a pair), at most half: training comes first. */
      int take = CLAMP ((int) ceil (share * count), 1, MIN (count / 2, MAX_HELD_OUT_PER_CLASS));
      for (int i = 0; i < take; i++)
        {
          swap (&members[i], &members[i + (int) (uad_rng_next (&rng) % (guint64) (count - i))]);
          held[members[i]] = TRUE;
        }
      k += take;
    }
  if (k == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "too few training images to hold any out for validation (a class needs %d)",
                   MIN_CLASS_IMAGES);
      return NULL;
    }

  UadValidation *v = g_new0 (UadValidation, 1);
  v->n_classes = n_classes;
  v->held_out = k;
  v->train = uad_tensor_new_4d (n - k, c, h, w);
  v->train_class = g_new (int, n - k);
  v->examples = uad_tensor_new_4d (2 * k, c, h, w);
  v->example_class = g_new (int, 2 * k);
  int t = 0, e = 0;
  for (int i = 0; i < n; i++)
    {
      const float *src = features->data + i * per;
      if (held[i])
        {
          memcpy (v->examples->data + e * per, src, per * sizeof (float));
          v->example_class[e++] = class_of[i];
        }
      else
        {
          memcpy (v->train->data + t * per, src, per * sizeof (float));
          v->train_class[t++] = class_of[i];
        }
    }
  for (int i = 0; i < k; i++)
    {
      float *anomaly = v->examples->data + (k + i) * per;
      int other = (int) (uad_rng_next (&rng) % (guint64) k);
      memcpy (anomaly, v->examples->data + i * per, per * sizeof (float));
      paste_block (anomaly, v->examples->data + other * per, c, h, w, &rng);
      v->example_class[k + i] = v->example_class[i];
    }
  return v;
}

void
uad_validation_free (UadValidation *v)
{
  if (v == NULL)
    return;
  uad_tensor_free (v->train);
  uad_tensor_free (v->examples);
  g_free (v->train_class);
  g_free (v->example_class);
  g_free (v);
}

UadTensor *
uad_validation_get_train_features (UadValidation *v)
{
  return v->train;
}

const int *
uad_validation_get_train_classes (const UadValidation *v)
{
  return v->train_class;
}

int
uad_validation_get_held_out (const UadValidation *v)
{
  return v->held_out;
}

double
uad_validation_estimate (const UadValidation *v, UadModel *model, int only_class)
{
  int m = 2 * v->held_out;
  size_t per = uad_tensor_numel (v->examples) / m;
  g_autofree double *scores = g_new (double, m);
  g_autoptr (UadFeatureScorer) scorer = uad_feature_scorer_new (model, SCORE_BATCH);
  for (int i = 0; i < m; i += SCORE_BATCH)
    {
      int b = MIN (SCORE_BATCH, m - i);
      if (only_class >= 0)
        {
          /* Only the class's examples: the other transformers may not be trained yet. */
          int any = 0;
          for (int j = 0; j < b; j++)
            any |= v->example_class[i + j] == only_class;
          if (!any)
            continue;
        }
      uad_feature_scorer_run (scorer, v->examples->data + i * per, b, v->example_class + i,
                              scores + i, NULL, NULL, NULL);
    }
  g_autofree float *s = g_new (float, m);
  g_autofree guint8 *labels = g_new (guint8, m);
  double sum = 0;
  int classes = 0;
  for (int cls = 0; cls < v->n_classes; cls++)
    {
      if (only_class >= 0 && cls != only_class)
        continue;
      int count = 0;
      for (int i = 0; i < m; i++)
        if (v->example_class[i] == cls)
          {
            s[count] = (float) scores[i];
            labels[count++] = i >= v->held_out;
          }
      if (count == 0)
        continue;
      UadRankMetrics r;
      uad_rank_metrics (s, labels, count, &r);
      sum += r.auroc;
      classes++;
    }
  return classes ? 100 * sum / classes : NAN;
}
