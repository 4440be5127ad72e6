/* SPDX-License-Identifier: Apache-2.0 */
/* The feature scorer (uad-feature-scorer.h) and the model's feature standardisation: the
 * scorer gives bit for bit what the detector computed before it existed (reconstruction in
 * chunks of four, or image by image when separate; distance map; upsampling; score); the
 * standardisation's statistics, its floor, its place in front of the model, its round trip
 * through the model file, and clear errors for damaged standardisation tensors; the residual
 * Gaussians (uad-residual.h): the map they give, which set serves which image, their round
 * trip and damaged files. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-residual.h"
#include "uad-trainer.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define CHANNELS 10
#define N 6
#define PER (CHANNELS * 14 * 14)
#define MAP UAD_ANOMALY_MAP_SIZE

static const int class_of[N] = { 0, 1, 1, 0, 1, 0 };

/* A small model with the given ablations (uad-transformer.h): neighbour-mask size, queries. */
static UadModel *
random_ablated_model (gboolean separate, guint64 seed, int neighbour, gboolean layer_queries)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, CHANNELS);
  cfg.neighbour_h = cfg.neighbour_w = neighbour;
  cfg.layer_queries = layer_queries;
  cfg.hidden = 16;
  cfg.heads = 2;
  cfg.ffn = 24;
  cfg.encoder_layers = 1;
  cfg.decoder_layers = 2;
  static const char *const names[] = { "screw", "nut" };
  g_autoptr (GError) error = NULL;
  UadModel *m = uad_model_new (UAD_BACKBONE_MOBILENET_V2, "00ff", &cfg, separate, names, 2, &error);
  g_assert_no_error (error);
  UadRng rng;
  uad_rng_init (&rng, seed);
  for (int i = 0; i < m->n_transformers; i++)
    uad_transformer_init (m->transformers[i], &rng);
  return m;
}

static UadModel *
random_model (gboolean separate, guint64 seed)
{
  return random_ablated_model (separate, seed, 7, TRUE);
}

static UadTensor *
random_features (int n, guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (n, CHANNELS, 14, 14);
  uad_test_fill_random (f->data, uad_tensor_numel (f), -1, 3, seed);
  return f;
}

typedef struct {
  double scores[N];
  float *maps, *recs; /* [N, MAP, MAP], [N, C, 14, 14] */
} Result;

static void
result_clear (Result *r)
{
  g_free (r->maps);
  g_free (r->recs);
}

/* What uad_detector_run did after the backbone before the scorer: the transformer on chunks
 * of up to four images when unified, one image at a time when separate. */
static void
reference_path (UadModel *m, const float *features, Result *out)
{
  out->maps = g_new (float, (size_t) N * MAP * MAP);
  out->recs = g_new (float, (size_t) N * PER);
  for (int t = 0; t < m->n_transformers; t++)
    {
      UadTransformerWorkspace *ws = uad_transformer_workspace_new (m->transformers[t], 4, FALSE);
      if (!m->separate)
        for (int i = 0; i < N; i += 4)
          uad_transformer_forward (m->transformers[t], ws, features + i * PER, MIN (4, N - i),
                                   out->recs + i * PER);
      else
        for (int i = 0; i < N; i++)
          if (class_of[i] == t)
            uad_transformer_forward (m->transformers[t], ws, features + i * PER, 1,
                                     out->recs + i * PER);
      uad_transformer_workspace_free (ws);
    }
  UadTensor feat = { (float *) features, 4, { N, CHANNELS, 14, 14 }, FALSE };
  UadTensor rec = { out->recs, 4, { N, CHANNELS, 14, 14 }, FALSE };
  g_autoptr (UadTensor) small = uad_tensor_new_4d (N, 1, 14, 14);
  UadTensor map = { out->maps, 4, { N, 1, MAP, MAP }, FALSE };
  uad_anomaly_map_compute (&feat, &rec, small, &map);
  for (int i = 0; i < N; i++)
    out->scores[i] = uad_anomaly_score (out->maps + (size_t) i * MAP * MAP, MAP, MAP, m->score_kind);
}

/* The scorer's result, and the features it says the model saw. */
static void
scorer_path (UadModel *m, const float *features, Result *out, float *model_features)
{
  out->maps = g_new (float, (size_t) N * MAP * MAP);
  out->recs = g_new (float, (size_t) N * PER);
  g_autoptr (UadFeatureScorer) s = uad_feature_scorer_new (m, 8);
  uad_feature_scorer_run (s, features, N, class_of, out->scores, out->maps, model_features,
                          out->recs);
}

static void
assert_same (const Result *a, const Result *b)
{
  g_assert_cmpmem (a->scores, sizeof a->scores, b->scores, sizeof b->scores);
  g_assert_cmpmem (a->maps, (size_t) N * MAP * MAP * sizeof (float), b->maps,
                   (size_t) N * MAP * MAP * sizeof (float));
  g_assert_cmpmem (a->recs, (size_t) N * PER * sizeof (float), b->recs,
                   (size_t) N * PER * sizeof (float));
}

static void
test_bit_identical (void)
{
  g_autoptr (UadTensor) features = random_features (N, 1);
  for (int separate = 0; separate < 2; separate++)
    {
      g_autoptr (UadModel) m = random_model (separate, 11);
      Result want = { 0 }, got = { 0 };
      reference_path (m, features->data, &want);
      g_autofree float *seen = g_new (float, N * PER);
      scorer_path (m, features->data, &got, seen);
      assert_same (&want, &got);
      /* Without a standardisation, the model sees the features as they are. */
      g_assert_cmpmem (seen, N * PER * sizeof (float), features->data, N * PER * sizeof (float));
      result_clear (&want);
      result_clear (&got);

      /* Scores alone, one image at a time, from a scorer that has run before. */
      g_autoptr (UadFeatureScorer) s = uad_feature_scorer_new (m, 1);
      double alone[N];
      for (int i = 0; i < N; i++)
        uad_feature_scorer_run (s, features->data + i * PER, 1, class_of + i, alone + i, NULL,
                                NULL, NULL);
      if (separate) /* separate mode runs image by image anyway */
        g_assert_cmpmem (alone, sizeof alone, want.scores, sizeof want.scores);
      for (int i = 0; i < N; i++)
        g_assert_cmpfloat_with_epsilon (alone[i], want.scores[i], 1e-4 * fabs (want.scores[i]));
    }
}

/* The scorer keeps nothing derived from the weights: a change between runs shows at once. */
static void
test_follows_weights (void)
{
  g_autoptr (UadTensor) features = random_features (N, 2);
  g_autoptr (UadModel) m = random_model (FALSE, 12);
  g_autoptr (UadFeatureScorer) s = uad_feature_scorer_new (m, N);
  double before[N], after[N];
  uad_feature_scorer_run (s, features->data, N, NULL, before, NULL, NULL, NULL);
  UadRng rng;
  uad_rng_init (&rng, 99);
  uad_transformer_init (m->transformers[0], &rng);
  uad_feature_scorer_run (s, features->data, N, NULL, after, NULL, NULL, NULL);
  Result want = { 0 };
  reference_path (m, features->data, &want);
  g_assert_cmpmem (after, sizeof after, want.scores, sizeof want.scores);
  g_assert_cmpfloat (after[0], !=, before[0]);
  result_clear (&want);
}

/* ---- standardisation ---------------------------------------------------------------------- */

#define N_TRAIN 9

static void
test_standardization (void)
{
  g_autoptr (UadTensor) train = random_features (N_TRAIN, 3);
  /* Channel c is scaled by c + 1 and shifted by 10 c; channel 4 is constant. */
  for (int i = 0; i < N_TRAIN; i++)
    for (int c = 0; c < CHANNELS; c++)
      for (int p = 0; p < 196; p++)
        {
          float *x = train->data + ((size_t) i * CHANNELS + c) * 196 + p;
          *x = c == 4 ? 7.0f : *x * (c + 1) + 10 * c;
        }
  g_autoptr (UadModel) m = random_model (TRUE, 13);
  uad_model_fit_standardization (m, train);
  double mean_std = 0;
  for (int c = 0; c < CHANNELS; c++)
    {
      double sum = 0, sq = 0, n = N_TRAIN * 196;
      for (int i = 0; i < N_TRAIN; i++)
        for (int p = 0; p < 196; p++)
          sum += train->data[((size_t) i * CHANNELS + c) * 196 + p];
      for (int i = 0; i < N_TRAIN; i++)
        for (int p = 0; p < 196; p++)
          {
            double d = train->data[((size_t) i * CHANNELS + c) * 196 + p] - sum / n;
            sq += d * d;
          }
      g_assert_cmpfloat_with_epsilon (m->feature_mean[c], sum / n, 1e-5 * (1 + fabs (sum / n)));
      if (c != 4)
        g_assert_cmpfloat_with_epsilon (m->feature_std[c], sqrt (sq / n), 1e-6 * sqrt (sq / n));
      mean_std += sqrt (sq / n) / CHANNELS;
    }
  /* The constant channel is divided by the floor, not by zero. */
  g_assert_cmpfloat_with_epsilon (m->feature_std[4], 1e-3 * mean_std, 1e-9);

  /* Standardised training features: mean 0 and standard deviation 1 per channel. */
  g_autoptr (UadTensor) z = uad_tensor_copy (train);
  uad_model_standardize_features (m, z->data, N_TRAIN);
  for (int c = 0; c < CHANNELS; c++)
    {
      double sum = 0, sq = 0;
      for (int i = 0; i < N_TRAIN; i++)
        for (int p = 0; p < 196; p++)
          {
            double x = z->data[((size_t) i * CHANNELS + c) * 196 + p];
            sum += x, sq += x * x;
          }
      double n = N_TRAIN * 196;
      g_assert_cmpfloat_with_epsilon (sum / n, 0, 1e-4);
      g_assert_cmpfloat_with_epsilon (sqrt (sq / n), c == 4 ? 0 : 1, 1e-4);
    }

  /* The scorer standardises first: the transformer, the map and what it hands out all see
   * standardised features. */
  Result want = { 0 }, got = { 0 };
  reference_path (m, z->data, &want);
  g_autofree float *seen = g_new (float, N * PER);
  scorer_path (m, train->data, &got, seen);
  assert_same (&want, &got);
  g_assert_cmpmem (seen, N * PER * sizeof (float), z->data, N * PER * sizeof (float));
  result_clear (&want);
  result_clear (&got);
}

static char *
temp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("uniad-scorer-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static char *
model_metadata (const char *path)
{
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, NULL);
  g_assert_nonnull (st);
  return g_strdup (uad_safetensors_get_metadata (st, "uniad"));
}

static void
set_zero (UadTensor *t)
{
  t->data[2] = 0;
}

static void
set_nan (UadTensor *t)
{
  t->data[0] = NAN;
}

static void
shorten (UadTensor *t)
{
  t->shape[0]--;
}

/* Loading path fails with code, naming the file. */
static void
assert_load_fails (const char *path, int code)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (uad_model_load (path, &error));
  g_assert_error (error, UAD_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  g_test_message ("%s", error->message);
}

static void
test_file_round_trip (void)
{
  g_autoptr (UadTensor) features = random_features (N, 4);
  g_autofree char *path = temp_path ("s.uniad");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *bad = g_build_filename (dir, "bad.uniad", NULL);
  g_autoptr (GError) error = NULL;

  /* Without a standardisation: format 1 as before, and the same scores after loading. */
  g_autoptr (UadModel) plain = random_model (FALSE, 14);
  g_assert_true (uad_model_save (plain, path, &error));
  g_autofree char *meta = model_metadata (path);
  g_assert_nonnull (strstr (meta, "\"format\":1"));
  g_assert_null (strstr (meta, "standardization"));
  g_autoptr (UadModel) plain_back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_null (plain_back->feature_mean);
  double a[N], b[N];
  uad_model_score_features (plain, features, NULL, a);
  uad_model_score_features (plain_back, features, NULL, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  /* With one: format 2, the same vectors and scores after loading. */
  g_autoptr (UadModel) m = random_model (FALSE, 14);
  uad_model_fit_standardization (m, features);
  g_assert_true (uad_model_save (m, path, &error));
  g_clear_pointer (&meta, g_free);
  meta = model_metadata (path);
  g_assert_nonnull (strstr (meta, "\"format\":2"));
  g_autoptr (UadModel) back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (back->feature_mean, CHANNELS * sizeof (float), m->feature_mean,
                   CHANNELS * sizeof (float));
  g_assert_cmpmem (back->feature_std, CHANNELS * sizeof (float), m->feature_std,
                   CHANNELS * sizeof (float));
  uad_model_score_features (m, features, NULL, a);
  uad_model_score_features (back, features, NULL, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  /* ... and they are not the unstandardised model's. */
  uad_model_score_features (plain, features, NULL, b);
  g_assert_cmpfloat (a[0], !=, b[0]);

  uad_test_copy_safetensors (path, bad, "standardization.std", set_zero, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  uad_test_copy_safetensors (path, bad, "standardization.mean", set_nan, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  uad_test_copy_safetensors (path, bad, "standardization.std", shorten, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  uad_test_copy_safetensors (path, bad, "standardization.mean", NULL, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"standardization\":{\"channels\":10}",
                             "\"standardization\":{\"channels\":12}");
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  g_unlink (bad);
  g_unlink (path);
  g_rmdir (dir);
}

/* A model trained with ablations is loaded with them (infer and eval reproduce it), and a
 * model from before the ablations, without "layer_queries", has layer-wise queries. */
static void
test_ablation_round_trip (void)
{
  g_autoptr (UadTensor) features = random_features (N, 4);
  g_autofree char *path = temp_path ("a.uniad");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *old = g_build_filename (dir, "old.uniad", NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (UadModel) m = random_ablated_model (FALSE, 3, 0, FALSE);
  g_assert_true (uad_model_save (m, path, &error));
  g_autoptr (UadModel) back = uad_model_load (path, &error);
  g_assert_no_error (error);
  const UadTransformerConfig *c = uad_transformer_get_config (back->transformers[0]);
  g_assert_cmpint (c->neighbour_h, ==, 0);
  g_assert_false (c->layer_queries);
  double a[N], b[N];
  uad_model_score_features (m, features, NULL, a);
  uad_model_score_features (back, features, NULL, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  g_autoptr (UadModel) full = random_model (FALSE, 3);
  g_assert_true (uad_model_save (full, path, &error));
  uad_test_copy_safetensors (path, old, NULL, NULL, "\"layer_queries\":1,", "");
  g_autofree char *meta = model_metadata (old);
  g_assert_null (strstr (meta, "layer_queries"));
  g_autoptr (UadModel) old_back = uad_model_load (old, &error);
  g_assert_no_error (error);
  g_assert_true (uad_transformer_get_config (old_back->transformers[0])->layer_queries);
  uad_model_score_features (full, features, NULL, a);
  uad_model_score_features (old_back, features, NULL, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_unlink (old);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- residual Gaussians ------------------------------------------------------------------ */

/* The maps the residual Gaussians should give, computed without the scorer's residual path:
 * the residuals of the L2 scorer's outputs, Gaussians fitted to them directly, and for each
 * image those of its class (1 + class) or of every class (0). */
static void
residual_reference (UadModel *m, const UadTensor *features, const int *classes, int set_of_image[N],
                    gboolean per_class, float *maps)
{
  Result plain = { 0 };
  g_autofree float *seen = g_new (float, N * PER);
  scorer_path (m, features->data, &plain, seen);
  g_autoptr (UadTensor) r = uad_tensor_new_4d (N, CHANNELS, 14, 14);
  for (int k = 0; k < N * PER; k++)
    r->data[k] = seen[k] - plain.recs[k];
  result_clear (&plain);
  g_autoptr (UadTensor) small = uad_tensor_new_4d (N, 1, 14, 14);
  for (int set = 0; set < (per_class ? 3 : 1); set++)
    {
      int images[N], count = 0;
      for (int i = 0; i < N; i++)
        if (set == 0 || classes[i] == set - 1)
          images[count++] = i;
      UadPadim *g = uad_padim_new (CHANNELS, 196);
      g_assert_true (uad_padim_fit (g, r, images, count, UAD_PADIM_RIDGE, NULL));
      g_autofree float *scratch = uad_alloc_floats (uad_padim_scratch_size (g, 1));
      for (int i = 0; i < N; i++)
        if (set_of_image[i] == set)
          uad_padim_distance (g, r->data + i * PER, 1, scratch, small->data + i * 196);
      uad_free_aligned (g_steal_pointer (&scratch));
      uad_padim_free (g);
    }
  UadTensor map = { maps, 4, { N, 1, MAP, MAP }, FALSE };
  uad_anomaly_map_upsample (small, &map);
}

static void
test_residual_distance (void)
{
  g_autoptr (UadTensor) features = random_features (N, 5);
  for (int per_class = 0; per_class < 2; per_class++)
    {
      g_autoptr (UadModel) m = random_model (FALSE, 15);
      uad_model_fit_standardization (m, features);
      g_assert_true (uad_residual_fit (m, features, class_of,
                                       per_class ? UAD_RESIDUAL_CLASS_GAUSSIAN : UAD_RESIDUAL_GAUSSIAN,
                                       NULL));
      g_assert_cmpint (m->n_residuals, ==, per_class ? 3 : 1);
      /* Image 2's class is unknown: it is measured with the Gaussians of every class. */
      int classes[N];
      memcpy (classes, class_of, sizeof classes);
      classes[2] = -1;
      int set_of_image[N];
      for (int i = 0; i < N; i++)
        set_of_image[i] = per_class && classes[i] >= 0 ? 1 + classes[i] : 0;
      g_autofree float *want = g_new (float, (size_t) N * MAP * MAP);
      g_autoptr (UadModel) l2 = random_model (FALSE, 15);
      uad_model_fit_standardization (l2, features);
      residual_reference (l2, features, class_of, set_of_image, per_class, want);

      g_autofree float *got = g_new (float, (size_t) N * MAP * MAP);
      double scores[N];
      g_autoptr (UadFeatureScorer) s = uad_feature_scorer_new (m, N);
      uad_feature_scorer_run (s, features->data, N, classes, scores, got, NULL, NULL);
      for (size_t k = 0; k < (size_t) N * MAP * MAP; k++)
        g_assert_cmpfloat_with_epsilon (got[k], want[k], 1e-4 * (1 + fabs (want[k])));
      for (int i = 0; i < N; i++)
        g_assert_cmpfloat (scores[i], ==, uad_anomaly_score (got + (size_t) i * MAP * MAP, MAP, MAP,
                                                              m->score_kind));
      /* Without classes, every image gets the Gaussians of every class. */
      double pooled[N];
      uad_feature_scorer_run (s, features->data, N, NULL, pooled, NULL, NULL, NULL);
      g_assert_cmpfloat (pooled[2], ==, scores[2]);
      if (per_class)
        g_assert_cmpfloat (pooled[0], !=, scores[0]);
      else
        g_assert_cmpmem (pooled, sizeof pooled, scores, sizeof scores);

      /* l2 takes them away: the paper's distance again. */
      g_assert_true (uad_residual_fit (m, features, class_of, UAD_RESIDUAL_L2, NULL));
      g_assert_cmpint (m->n_residuals, ==, 0);
      double a[N], b[N];
      uad_model_score_features (m, features, NULL, a);
      uad_model_score_features (l2, features, NULL, b);
      g_assert_cmpmem (a, sizeof a, b, sizeof b);
    }
}

static void
test_residual_file (void)
{
  g_autoptr (UadTensor) features = random_features (N, 6);
  g_autofree char *path = temp_path ("r.uniad");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *bad = g_build_filename (dir, "bad.uniad", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadModel) m = random_model (FALSE, 16);
  double fitted[N];
  g_assert_true (uad_residual_fit_scored (m, features, class_of, UAD_RESIDUAL_CLASS_GAUSSIAN,
                                          fitted, &error));
  g_assert_true (uad_model_save (m, path, &error));
  g_autofree char *meta = model_metadata (path);
  g_assert_nonnull (strstr (meta, "\"format\":4"));
  g_assert_nonnull (strstr (meta, "\"residual\":{\"channels\":10,\"per_class\":1}"));
  g_autoptr (UadModel) back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_residual_distance_of (back), ==, UAD_RESIDUAL_CLASS_GAUSSIAN);
  double a[N], b[N];
  uad_model_score_features (m, features, class_of, a);
  uad_model_score_features (back, features, class_of, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  /* The scores the fit gives from its own residuals are the scorer's, bit for bit. */
  g_assert_cmpmem (fitted, sizeof fitted, a, sizeof a);
  g_autofree char *described = uad_model_describe (back);
  g_assert_nonnull (strstr (described, "residual Mahalanobis distance per class"));

  /* A missing or damaged set, and metadata that does not fit the model, name the file. */
  uad_test_copy_safetensors (path, bad, "class.1.residual.mean", NULL, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  uad_test_copy_safetensors (path, bad, "residual.mean", set_nan, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"residual\":{\"channels\":10",
                             "\"residual\":{\"channels\":12");
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  /* A model of one set claiming one per class lacks the per-class tensors. */
  g_assert_true (uad_residual_fit (m, features, class_of, UAD_RESIDUAL_GAUSSIAN, &error));
  g_assert_true (uad_model_save (m, path, &error));
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"per_class\":0", "\"per_class\":1");
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  g_unlink (bad);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scorer/bit-identical", test_bit_identical);
  g_test_add_func ("/scorer/follows-weights", test_follows_weights);
  g_test_add_func ("/scorer/standardization", test_standardization);
  g_test_add_func ("/scorer/file-round-trip", test_file_round_trip);
  g_test_add_func ("/scorer/ablation-round-trip", test_ablation_round_trip);
  g_test_add_func ("/scorer/residual-distance", test_residual_distance);
  g_test_add_func ("/scorer/residual-file", test_residual_file);
  return g_test_run ();
}
