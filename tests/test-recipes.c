/* SPDX-License-Identifier: Apache-2.0 */
/* Training recipes and time to accuracy: the warm-up + cosine schedule, named recipes (the
 * official one is exactly the spec's), a time budget that the trainer fills and stops at,
 * ending a transformer's training early, standardisation applied by the trainer, and the
 * validation estimate from held-out good images with synthetic anomalies. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-optim.h"
#include "uad-recipe.h"
#include "uad-validation.h"

#include <math.h>
#include <string.h>

#define N_IMAGES 12
#define CHANNELS 12

static UadTensor *
random_features (int n, float lo, float hi, guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (n, CHANNELS, 14, 14);
  uad_test_fill_random (f->data, uad_tensor_numel (f), lo, hi, seed);
  return f;
}

static const int class_of[N_IMAGES] = { 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0 };

static void
test_warmup_cosine (void)
{
  g_assert_cmpfloat (uad_warmup_cosine_lr (1e-3, 0, 0.1, 0.01), ==, 0);
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (1e-3, 0.05, 0.1, 0.01), 5e-4, 1e-15);
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (1e-3, 0.1, 0.1, 0.01), 1e-3, 1e-15);
  /* Half-way through the decay: the mean of the peak and the floor. */
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (1e-3, 0.55, 0.1, 0.01), 5.05e-4, 1e-15);
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (1e-3, 1, 0.1, 0.01), 1e-5, 1e-15);
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (1e-3, 7, 0.1, 0.01), 1e-5, 1e-15);
  /* Without warm-up: the decoder's half cosine from the peak to 0. */
  g_assert_cmpfloat (uad_warmup_cosine_lr (2e-3, 0, 0, 0), ==, 2e-3);
  g_assert_cmpfloat_with_epsilon (uad_warmup_cosine_lr (2e-3, 0.5, 0, 0), 1e-3, 1e-15);
  double previous = INFINITY;
  for (double f = 0.1; f <= 1; f += 0.01)
    {
      double lr = uad_warmup_cosine_lr (1e-3, f, 0.1, 0.01);
      g_assert_cmpfloat (lr, <=, previous);
      previous = lr;
    }
}

static void
test_recipe_lookup (void)
{
  UadRecipe r;
  g_autoptr (GError) error = NULL;
  UadTrainOptions spec;
  uad_train_options_default (&spec);
  g_assert_true (uad_recipe_lookup ("official", &r, &error));
  g_assert_cmpmem (&r.train, sizeof r.train, &spec, sizeof spec);
  g_assert_false (r.standardize);
  g_assert_cmpfloat (r.validation_share, ==, 0);
  g_assert_cmpfloat (r.default_minutes, ==, 0);
  g_assert_cmpint (r.default_epochs, ==, 1000);

  g_assert_true (uad_recipe_lookup (UAD_RECIPE_DEFAULT, &r, &error));
  g_assert_cmpstr (uad_recipe_names ()[0], ==, UAD_RECIPE_DEFAULT);
  g_assert_true (r.standardize);
  g_assert_cmpint (r.train.schedule, ==, UAD_LR_COSINE);
  g_assert_cmpfloat (r.default_minutes, >, 0);

  for (const char *const *name = uad_recipe_names (); *name; name++)
    {
      g_assert_true (uad_recipe_lookup (*name, &r, &error));
      g_assert_cmpstr (r.name, ==, *name);
      g_assert_nonnull (r.summary);
    }

  g_assert_true (uad_recipe_lookup ("fast:lr=2e-3:batch=16:standardize=0", &r, &error));
  g_assert_cmpfloat (r.train.lr, ==, 2e-3);
  g_assert_cmpint (r.train.batch, ==, 16);
  g_assert_false (r.standardize);
  UadTransformerConfig cfg;
  uad_recipe_transformer_config (&r, 168, &cfg);
  g_assert_cmpint (cfg.encoder_layers, ==, 2); /* the fast recipe's, kept under other settings */
  g_assert_cmpfloat (cfg.jitter_scale, ==, 10.0f);
  UadRecipe official;
  g_assert_true (uad_recipe_lookup ("official", &official, &error));
  uad_recipe_transformer_config (&official, 168, &cfg);
  g_assert_cmpint (cfg.encoder_layers, ==, 4); /* the paper's */
  g_assert_cmpint (cfg.decoder_layers, ==, 4);
  g_assert_cmpfloat (cfg.jitter_scale, ==, 20.0f);
  g_assert_false (r.train.balanced);
  g_assert_true (r.train.bf16); /* the fast recipe's */
  g_assert_false (official.train.bf16);
  g_assert_true (uad_recipe_lookup ("fast:jitter=0:balanced=1:bf16=0", &r, &error));
  g_assert_false (r.train.bf16);
  uad_recipe_transformer_config (&r, 168, &cfg);
  g_assert_cmpfloat (cfg.jitter_scale, ==, 0.0f);
  g_assert_true (r.train.balanced);
  g_assert_true (uad_recipe_lookup ("official:layers=2", &r, &error));
  uad_recipe_transformer_config (&r, 168, &cfg);
  g_assert_cmpint (cfg.encoder_layers, ==, 2);
  g_assert_cmpint (cfg.decoder_layers, ==, 2);
  g_assert_cmpint (cfg.channels, ==, 168);
  g_assert_cmpint (cfg.neighbour_h, ==, 7);
  g_assert_true (cfg.layer_queries);

  /* The paper's ablations: no mask, one query, no jitter; and a smaller mask. */
  g_assert_true (uad_recipe_lookup ("fast:mask=0:queries=0:jitter=0", &r, &error));
  uad_recipe_transformer_config (&r, 168, &cfg);
  g_assert_cmpint (cfg.neighbour_h, ==, 0);
  g_assert_cmpint (cfg.neighbour_w, ==, 0);
  g_assert_false (cfg.layer_queries);
  g_assert_cmpfloat (cfg.jitter_scale, ==, 0.0f);
  g_assert_true (uad_recipe_lookup ("official", &r, &error));
  g_assert_true (uad_recipe_set (&r, "mask=5", &error));
  uad_recipe_transformer_config (&r, 168, &cfg);
  g_assert_cmpint (cfg.neighbour_w, ==, 5);
  g_assert_true (cfg.layer_queries);

  const char *bad[] = { "nope", "fast:lr=-1", "fast:batch=2.5", "fast:colour=red", "fast:lr=",
                        "fast:layers=0", "fast:balanced=2", "fast:jitter=-1", "fast:mask=4",
                        "fast:mask=15", "fast:queries=2" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (uad_recipe_lookup (bad[i], &r, &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
      g_test_message ("%s: %s", bad[i], error->message);
      g_clear_error (&error);
    }
}

typedef struct {
  int steps;
  double first_lr, max_lr, last_lr, last_fraction, last_seconds;
  UadTrainer *trainer;
  int finish_after; /* steps, or 0 */
} Seen;

static gboolean
record (const UadTrainProgress *p, void *user_data)
{
  Seen *s = user_data;
  if (s->steps++ == 0)
    s->first_lr = p->lr;
  s->max_lr = MAX (s->max_lr, p->lr);
  s->last_lr = p->lr;
  g_assert_cmpfloat (p->fraction, >=, s->last_fraction);
  g_assert_cmpfloat (p->seconds, >=, s->last_seconds);
  s->last_fraction = p->fraction;
  s->last_seconds = p->seconds;
  if (s->finish_after > 0 && s->steps == s->finish_after)
    uad_trainer_finish_model (s->trainer);
  return TRUE;
}

static void
cosine_options (UadTrainOptions *o)
{
  uad_train_options_default (o);
  o->batch = 4;
  o->lr = 1e-3;
  o->schedule = UAD_LR_COSINE;
  o->warmup = 0.2;
  o->final_lr_ratio = 0.01;
  o->checkpoint_every = 0;
}

/* Trains model from scratch on features with o, progress into seen (which may finish early). */
static void
train (UadModel *model, const UadTensor *features, const UadTrainOptions *o, Seen *seen)
{
  UadTrainer *t = uad_trainer_new (model, features, class_of, o, NULL);
  uad_trainer_init_weights (t);
  g_autoptr (GError) error = NULL;
  if (seen != NULL)
    seen->trainer = t;
  g_assert_true (uad_trainer_run (t, seen ? record : NULL, seen, &error));
  g_assert_no_error (error);
  uad_trainer_free (t);
}

static void
test_time_budget (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 0, 1, 3);
  g_autoptr (UadModel) model = uad_test_small_model (CHANNELS, FALSE);
  UadTrainOptions o;
  cosine_options (&o);
  /* The budget is counted in steps of this machine, busy or not: what one step takes here,
   * from a short run by epochs, times sixteen. */
  o.epochs = 2;
  Seen timing = { 0 };
  g_autoptr (UadModel) timed = uad_test_small_model (CHANNELS, FALSE);
  train (timed, features, &o, &timing);
  double step = timed->training.seconds / timing.steps;
  o.seconds = MAX (0.4, 16 * step);
  Seen seen = { 0 };
  gint64 start = g_get_monotonic_time ();
  train (model, features, &o, &seen);
  double wall = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("%d steps, %d epochs in %.2f s of training (%.2f s wall)", seen.steps,
                  model->training.epochs, model->training.seconds, wall);
  /* It trains until the budget is spent, and stops within a step of it. */
  g_assert_cmpfloat (model->training.seconds, >=, o.seconds);
  g_assert_cmpfloat (model->training.seconds, <, o.seconds + MAX (0.2, 4 * step));
  g_assert_cmpint (seen.steps, >=, 4);
  g_assert_cmpint (model->training.epochs, >=, 1);
  g_assert_cmpfloat (seen.last_fraction, ==, 1.0);
  g_assert_true (isfinite (model->training.final_loss));
  /* Warm-up from 0, the peak near warm-up's end, the floor at the end. */
  g_assert_cmpfloat (seen.first_lr, ==, 0);
  g_assert_cmpfloat (seen.max_lr, >, 0.8 * o.lr);
  g_assert_cmpfloat (seen.last_lr, <, 0.2 * o.lr);
  g_assert_cmpfloat (model->classes[0].score_std, >, 0);
}

static gboolean
stop_at_fifth (const UadTrainProgress *p, void *user_data)
{
  return ++*(int *) user_data < 5;
}

/* Stopped and resumed, a budgeted run keeps its budget, whatever the new run's options say. */
static void
test_time_budget_resumes (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 0, 1, 3);
  g_autoptr (UadModel) model = uad_test_small_model (CHANNELS, FALSE);
  g_autofree char *ckpt = uad_test_temp_path ("m.uniad.checkpoint");
  UadTrainOptions o;
  cosine_options (&o);
  o.seconds = 3; /* far longer than five steps, even under a sanitizer on a busy machine */
  UadTrainer *t = uad_trainer_new (model, features, class_of, &o, ckpt);
  uad_trainer_init_weights (t);
  int steps = 0;
  g_autoptr (GError) error = NULL;
  g_assert_false (uad_trainer_run (t, stop_at_fifth, &steps, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_CANCELLED);
  g_clear_error (&error);
  uad_trainer_free (t);

  o.seconds = 100; /* as a new deadline would give: the checkpoint's 3 s wins */
  t = uad_trainer_new (model, features, class_of, &o, ckpt);
  g_assert_true (uad_trainer_resume (t, &error));
  g_assert_true (uad_trainer_run (t, NULL, NULL, &error));
  uad_trainer_free (t);
  g_assert_cmpfloat (model->training.seconds, >=, 3);
  g_assert_cmpfloat (model->training.seconds, <, 10);

  /* By epochs, the same checkpoint is another run's. */
  o.seconds = 0;
  o.epochs = 3;
  t = uad_trainer_new (model, features, class_of, &o, ckpt);
  g_assert_false (uad_trainer_resume (t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  uad_trainer_free (t);
  uad_test_remove_temp (ckpt);
}

static void
test_cosine_by_epochs (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 0, 1, 3);
  g_autoptr (UadModel) model = uad_test_small_model (CHANNELS, TRUE);
  UadTrainOptions o;
  cosine_options (&o);
  o.epochs = 5;
  Seen seen = { 0 };
  train (model, features, &o, &seen);
  /* Two transformers, 6 images each: 2 steps per epoch. */
  g_assert_cmpint (seen.steps, ==, 2 * 5 * 2);
  g_assert_cmpint (model->training.epochs, ==, 5);
  g_assert_cmpfloat_with_epsilon (seen.last_lr, uad_warmup_cosine_lr (o.lr, 9 / 10.0, 0.2, 0.01), 1e-15);
  g_assert_cmpfloat_with_epsilon (seen.last_fraction, 1.0, 1e-12);
}

static void
test_finish_early (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 0, 1, 3);
  g_autoptr (UadModel) model = uad_test_small_model (CHANNELS, TRUE);
  UadTrainOptions o;
  cosine_options (&o);
  o.epochs = 50;
  Seen seen = { .finish_after = 3 };
  train (model, features, &o, &seen);
  /* The first transformer ends after its 3rd step; the second trains its 50 epochs. */
  g_assert_cmpint (seen.steps, ==, 3 + 50 * 2);
  g_assert_cmpint (model->training.epochs, ==, 50);
}

/* A model that standardises trains exactly as one that does not on standardised features. */
static void
test_trainer_standardizes (void)
{
  g_autoptr (UadTensor) raw = random_features (N_IMAGES, -3, 9, 5);
  g_autoptr (UadModel) a = uad_test_small_model (CHANNELS, FALSE);
  g_autoptr (UadModel) b = uad_test_small_model (CHANNELS, FALSE);
  uad_model_fit_standardization (a, raw);
  g_autoptr (UadTensor) standard = random_features (N_IMAGES, 0, 1, 0);
  memcpy (standard->data, raw->data, uad_tensor_numel (raw) * sizeof (float));
  uad_model_standardize_features (a, standard->data, N_IMAGES);
  UadTrainOptions o;
  cosine_options (&o);
  o.epochs = 2;
  train (a, raw, &o, NULL);
  train (b, standard, &o, NULL);
  size_t n;
  g_assert_cmpmem (uad_transformer_params (a->transformers[0], &n), n * sizeof (float),
                   uad_transformer_params (b->transformers[0], &n), n * sizeof (float));
  g_assert_cmpfloat (a->training.final_loss, ==, b->training.final_loss);
}

/* Features whose value depends on the position: a block moved elsewhere is out of place. */
static UadTensor *
positional_features (int n, guint32 seed)
{
  UadTensor *f = random_features (n, -0.05f, 0.05f, seed);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < CHANNELS; c++)
      for (int p = 0; p < 196; p++)
        f->data[((size_t) i * CHANNELS + c) * 196 + p] += sinf (0.37f * p * (c + 1));
  return f;
}

static void
test_validation (void)
{
  enum { N = 60 };
  g_autoptr (UadTensor) features = positional_features (N, 11);
  int classes[N];
  for (int i = 0; i < N; i++)
    classes[i] = i < 40 ? 0 : 1;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadValidation) v = uad_validation_new (features, classes, 2, 0.1, 7, &error);
  g_assert_no_error (error);
  /* 4 of 40 and 2 of 20 held out. */
  g_assert_cmpint (uad_validation_get_held_out (v), ==, 6);
  UadTensor *train = uad_validation_get_train_features (v);
  g_assert_cmpint (train->shape[0], ==, N - 6);
  int per_class[2] = { 0 };
  for (int i = 0; i < N - 6; i++)
    per_class[uad_validation_get_train_classes (v)[i]]++;
  g_assert_cmpint (per_class[0], ==, 36);
  g_assert_cmpint (per_class[1], ==, 18);

  /* A model of the training images' Gaussians tells the synthetic anomalies apart. */
  static const char *const names[] = { "a", "b" };
  g_autoptr (UadModel) padim = uad_model_new_padim (UAD_BACKBONE_MOBILENET_V2, "00", CHANNELS,
                                                    FALSE, names, 2);
  g_assert_true (uad_model_fit_padim (padim, train, uad_validation_get_train_classes (v), &error));
  double estimate = uad_validation_estimate (v, padim, -1);
  g_test_message ("estimate %.1f", estimate);
  g_assert_cmpfloat (estimate, >, 95);
  g_assert_cmpfloat (uad_validation_estimate (v, padim, 1), >, 95);

  /* The same split and anomalies from the same seed. */
  g_autoptr (UadValidation) again = uad_validation_new (features, classes, 2, 0.1, 7, &error);
  g_assert_cmpfloat (uad_validation_estimate (again, padim, -1), ==, estimate);

  /* Too few images in every class. */
  g_autoptr (UadTensor) few = positional_features (9, 1);
  int few_classes[9] = { 0 };
  g_assert_null (uad_validation_new (few, few_classes, 1, 0.5, 7, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/recipes/warmup-cosine", test_warmup_cosine);
  g_test_add_func ("/recipes/lookup", test_recipe_lookup);
  g_test_add_func ("/recipes/time-budget", test_time_budget);
  g_test_add_func ("/recipes/time-budget-resumes", test_time_budget_resumes);
  g_test_add_func ("/recipes/cosine-by-epochs", test_cosine_by_epochs);
  g_test_add_func ("/recipes/finish-early", test_finish_early);
  g_test_add_func ("/recipes/trainer-standardizes", test_trainer_standardizes);
  g_test_add_func ("/recipes/validation", test_validation);
  return g_test_run ();
}
