/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-train-job.h"

#include "uad-error.h"
#include "uad-feature-cache.h"
#include "uad-validation.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* With a deadline, the image decoder's share of what is left (it only draws the
 * reconstruction). */
#define DECODER_SHARE 0.1
/* Images timed before training to estimate the work after it (finishing_seconds). */
#define FINISH_SAMPLE 32
#define DECODE_SAMPLE 8
/* until_plateau's held-out share when neither the recipe nor the options give one. */
#define PLATEAU_DEFAULT_SHARE 0.1
/* Estimates of validation AUROC that may pass without a gain of PLATEAU_GAIN points before
 * until_plateau ends the training. */
#define PLATEAU_PATIENCE 3
#define PLATEAU_GAIN 0.1

static void G_GNUC_PRINTF (4, 5)
say (const UadTrainJobMonitor *m, UadTrainPhase phase, gboolean done, const char *format, ...)
{
  if (m == NULL || m->log == NULL)
    return;
  va_list args;
  va_start (args, format);
  g_autofree char *line = g_strdup_vprintf (format, args);
  va_end (args);
  m->log (phase, done, line, m->user_data);
}

/* Fills the fields every phase has and hands p to the monitor; eta is the phase's estimate. */
static gboolean
report (const UadTrainJobMonitor *m, UadTrainJobProgress *p, gint64 deadline, double eta)
{
  if (m == NULL || m->progress == NULL)
    return TRUE;
  p->seconds_left = deadline > 0 ? MAX ((deadline - g_get_monotonic_time ()) / 1e6, 0) : eta;
  return m->progress (p, m->user_data);
}

gboolean
uad_train_job_options_init (UadTrainJobOptions *opts, const char *name, GError **error)
{
  memset (opts, 0, sizeof *opts);
  if (!uad_recipe_lookup (name ? name : UAD_RECIPE_DEFAULT, &opts->recipe, error))
    return FALSE;
  opts->recipe.train.epochs = opts->recipe.default_epochs;
  uad_decoder_train_options_default (&opts->decoder);
  opts->decoder.seed = opts->recipe.train.seed;
  opts->train_decoder = TRUE;
  opts->validation = NAN;
  opts->resume_hint = "--resume";
  return TRUE;
}

char **
uad_train_job_images (const UadDataset *ds, int **class_of, int *n)
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

typedef struct {
  const UadTrainJobMonitor *monitor;
  UadTrainPhase phase;
  gint64 start, deadline;
} CountState;

/* Progress of the phases that count images (features, decoder targets). */
static gboolean
on_count (int done, int total, void *user_data)
{
  CountState *s = user_data;
  double seconds = (g_get_monotonic_time () - s->start) / 1e6;
  double rate = seconds > 0 ? done / seconds : 0;
  UadTrainJobProgress p = { .phase = s->phase, .done = done, .total = total,
                            .validation = NAN, .fraction = (double) done / MAX (total, 1),
                            .loss = NAN, .images_per_second = rate };
  return report (s->monitor, &p, s->deadline, rate > 0 ? (total - done) / rate : NAN);
}

UadTensor *
uad_train_job_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                        const char *const *paths, int n, const UadTrainJobMonitor *monitor,
                        GError **error)
{
  g_autoptr (UadFeatureCache) cache = uad_feature_cache_new (bb, sha, cache_dir);
  CountState s = { monitor, UAD_TRAIN_PHASE_FEATURES, g_get_monotonic_time (), 0 };
  UadTensor *features = uad_feature_cache_extract (cache, paths, n, on_count, &s, error);
  if (features != NULL)
    say (monitor, UAD_TRAIN_PHASE_FEATURES, TRUE,
         "backbone features: %d images in %.1f s (%d from the disk cache)", n,
         (g_get_monotonic_time () - s.start) / 1e6, uad_feature_cache_get_hits (cache));
  return features;
}

UadModel *
uad_train_job_new_model (const UadRecipe *recipe, UadBackboneKind kind, const char *sha,
                         const UadTensor *train, gboolean separate,
                         const char *const *class_names, int n_classes, GError **error)
{
  UadTransformerConfig cfg;
  uad_recipe_transformer_config (recipe, (int) train->shape[1], &cfg);
  UadModel *model = uad_model_new (kind, sha, &cfg, separate, class_names, n_classes, error);
  if (model != NULL && recipe->standardize)
    uad_model_fit_standardization (model, train);
  return model;
}

/* ---- The transformer ---------------------------------------------------------------------- */

typedef struct {
  const UadTrainJobOptions *opts;
  const UadTrainJobMonitor *monitor;
  UadTrainer *trainer;
  UadModel *model;
  const UadValidation *validation; /* or NULL */
  double estimate, best;           /* latest and best validation AUROC (NaN before any) */
  int since_best;                  /* estimates since the best one */
} TransformerState;

/* At the end of each epoch: the validation estimate, and the plateau rule. */
static void
validate (TransformerState *s, const UadTrainProgress *p)
{
  s->estimate = uad_validation_estimate (s->validation, s->model,
                                         p->n_models > 1 ? p->model_index : -1);
  if (isnan (s->best) || s->estimate > s->best + PLATEAU_GAIN)
    s->best = s->estimate, s->since_best = 0;
  else
    s->since_best++;
  g_autofree char *model = p->n_models > 1 ? g_strdup_printf ("model %d/%d, ", p->model_index + 1, p->n_models)
                                           : g_strdup ("");
  say (s->monitor, UAD_TRAIN_PHASE_TRANSFORMER, FALSE, "%sepoch %d: loss %.5f, validation AUROC "
       "(synthetic anomalies) %.1f, best %.1f", model, p->epoch + 1, p->epoch_loss, s->estimate,
       s->best);
  if (s->opts->until_plateau && s->since_best >= PLATEAU_PATIENCE)
    {
      say (s->monitor, UAD_TRAIN_PHASE_TRANSFORMER, FALSE, "validation AUROC has not improved "
           "for %d epochs: training ends here", PLATEAU_PATIENCE);
      uad_trainer_finish_model (s->trainer);
    }
}

static gboolean
on_step (const UadTrainProgress *tp, void *user_data)
{
  TransformerState *s = user_data;
  if (s->validation != NULL && tp->step == tp->steps_per_epoch)
    validate (s, tp);
  UadTrainJobProgress p = { .phase = UAD_TRAIN_PHASE_TRANSFORMER, .transformer = tp,
                            .validation = s->estimate, .fraction = tp->fraction,
                            .loss = tp->epoch_loss, .images_per_second = tp->images_per_second };
  return report (s->monitor, &p, s->opts->deadline, tp->eta_seconds);
}

/* Trains model's transformers on features: from scratch (fresh), from the checkpoint (resume),
 * or from the model's weights; with validation when given. */
static gboolean
train_transformers (const UadTrainJobOptions *o, UadModel *model, gboolean fresh,
                    const UadTensor *features, const int *class_of,
                    const UadValidation *validation, double reserve,
                    const UadTrainJobMonitor *monitor, GError **error)
{
  TransformerState s = { .opts = o, .monitor = monitor, .model = model,
                         .validation = validation, .estimate = NAN, .best = NAN };
  g_autofree char *checkpoint = g_strconcat (o->out, ".checkpoint", NULL);
  UadTrainOptions opts = o->recipe.train;
  if (o->deadline > 0)
    {
      double left = (o->deadline - g_get_monotonic_time ()) / 1e6;
      opts.seconds = MAX (left * (o->train_decoder ? 1 - DECODER_SHARE : 1) - reserve, 1);
      opts.budget_callbacks = TRUE;
    }
  UadTrainingSummary before = model->training;
  UadTrainer *trainer = uad_trainer_new (model, features, class_of, &opts, checkpoint);
  s.trainer = trainer;
  gboolean ok;
  if (o->resume)
    ok = uad_trainer_resume (trainer, error);
  else if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s exists from an earlier run: continue it with %s, or delete it",
                   checkpoint, o->resume_hint);
      ok = FALSE;
    }
  else
    {
      if (fresh)
        uad_trainer_init_weights (trainer);
      ok = TRUE;
    }
  ok = ok && uad_trainer_run (trainer, on_step, &s, error);
  /* The finished state is checkpointed too: it goes only once the model file is in place
   * (uad_train_job_save), so a failed save loses no training. */
  ok = ok && uad_trainer_save_checkpoint (trainer, error);
  uad_trainer_free (trainer);
  if (!ok)
    return FALSE;
  if (!fresh)
    {
      model->training.epochs += before.epochs;
      model->training.seconds += before.seconds;
    }
  g_free (model->training.recipe);
  model->training.recipe = g_strdup (o->recipe_label ? o->recipe_label : o->recipe.name);
  /* The estimate under the distance the model keeps, which the epochs' estimates lacked. */
  g_autofree char *estimate = validation != NULL && model->n_residuals > 0
    ? g_strdup_printf ("; validation AUROC %.1f with the residual distance",
                       uad_validation_estimate (validation, model, -1))
    : g_strdup ("");
  say (monitor, UAD_TRAIN_PHASE_TRANSFORMER, TRUE,
       "trained %d epochs on %d images: final loss %.5f, %.1f s%s", model->training.epochs,
       (int) features->shape[0], model->training.final_loss, model->training.seconds, estimate);
  return TRUE;
}

/* The held-out images and synthetic anomalies of the options' (or the recipe's) share, or NULL
 * without validation. Without enough images to spare, training goes on without it, unless
 * until_plateau needs it. */
static UadValidation *
make_validation (const UadTrainJobOptions *o, const UadTensor *features, const int *class_of,
                 int n_classes, const UadTrainJobMonitor *monitor, GError **error)
{
  double share = !isnan (o->validation) ? o->validation : o->recipe.validation_share;
  if (o->until_plateau && !(share > 0))
    share = PLATEAU_DEFAULT_SHARE;
  if (!(share > 0))
    return NULL;
  g_autoptr (GError) local = NULL;
  UadValidation *v = uad_validation_new (features, class_of, n_classes, share,
                                         o->recipe.train.seed, &local);
  if (v != NULL)
    say (monitor, UAD_TRAIN_PHASE_TRANSFORMER, FALSE, "validation: %d training images held "
         "out, each with a synthetic anomaly", uad_validation_get_held_out (v));
  else if (o->until_plateau)
    g_propagate_error (error, g_steal_pointer (&local));
  else
    say (monitor, UAD_TRAIN_PHASE_TRANSFORMER, FALSE, "validation: none (%s)", local->message);
  return v;
}

/* Seconds the work after the transformers takes, timed on samples before they train so that
 * a time budget holds it too: reconstructing and scoring every training image once (the
 * residual Gaussians and the class statistics) and each held-out one once more (the final
 * validation estimate) and, with an image decoder, decoding every image for its targets.
 * Without this the budget was overrun by that work, and the decoder, which trains in what is
 * left, got about a second. */
static double
finishing_seconds (const UadTrainJobOptions *o, UadModel *model, UadNormalization norm,
                   const UadTensor *features, const int *class_of, const char *const *paths,
                   int held_out)
{
  int n = (int) features->shape[0], k = MIN (n, FINISH_SAMPLE);
  UadTensor sample = { features->data, 4, { k, features->shape[1], features->shape[2],
                                            features->shape[3] }, FALSE };
  g_autofree double *scores = g_new (double, k);
  gint64 start = g_get_monotonic_time ();
  uad_model_score_features (model, &sample, class_of, scores);
  double seconds = (g_get_monotonic_time () - start) / 1e6 * (n + held_out) / k;
  if (!o->train_decoder)
    return seconds;
  UadDecoderConfig cfg;
  uad_decoder_config_default (&cfg, (int) features->shape[1], norm);
  g_autoptr (UadDecoder) dec = uad_decoder_new (&cfg, NULL);
  if (dec == NULL)
    return seconds;
  /* Spread over the classes, whose images may differ in size and format. */
  int m = MIN (n, DECODE_SAMPLE);
  g_autofree const char **spread = g_new (const char *, m);
  for (int i = 0; i < m; i++)
    spread[i] = paths[(gint64) i * n / m];
  start = g_get_monotonic_time ();
  /* A file that fails here fails when the targets are made, which reports it. */
  g_free (uad_decoder_load_pixels (spread, m, uad_decoder_get_output_size (dec), NULL, NULL, NULL));
  return seconds + (g_get_monotonic_time () - start) / 1e6 * n / m;
}

/* ---- The image decoder -------------------------------------------------------------------- */

typedef struct {
  const UadTrainJobMonitor *monitor;
  gint64 deadline;
} DecoderState;

static gboolean
on_decoder_step (const UadDecoderTrainProgress *dp, void *user_data)
{
  DecoderState *s = user_data;
  UadTrainJobProgress p = { .phase = UAD_TRAIN_PHASE_DECODER, .decoder = dp, .validation = NAN,
                            .fraction = dp->fraction, .loss = dp->epoch_loss,
                            .images_per_second = dp->images_per_second };
  return report (s->monitor, &p, s->deadline, dp->eta_seconds);
}

gboolean
uad_train_job_add_decoder (UadModel *model, UadNormalization norm, const UadTensor *features,
                           const char *const *paths, int n, const UadDecoderTrainOptions *opts,
                           gint64 deadline, const UadTrainJobMonitor *monitor, GError **error)
{
  UadDecoderConfig cfg;
  uad_decoder_config_default (&cfg, (int) features->shape[1], norm);
  g_autoptr (UadDecoder) dec = uad_decoder_new (&cfg, error);
  if (dec == NULL)
    return FALSE;
  int size = uad_decoder_get_output_size (dec);
  CountState targets = { monitor, UAD_TRAIN_PHASE_DECODER_TARGETS, g_get_monotonic_time (),
                         deadline };
  g_autofree guint8 *pixels = uad_decoder_load_pixels (paths, n, size, on_count, &targets, error);
  if (pixels == NULL)
    return FALSE;
  UadDecoderTrainOptions o = *opts;
  if (deadline > 0) /* at least a second: a late transformer must not cost the decoder */
    o.seconds = MAX ((deadline - g_get_monotonic_time ()) / 1e6, 1.0);
  DecoderState s = { monitor, deadline };
  double loss, seconds;
  int epochs;
  if (!uad_decoder_train (dec, features, pixels, &o, on_decoder_step, &s, &loss, &seconds,
                          &epochs, error))
    return FALSE;
  say (monitor, UAD_TRAIN_PHASE_DECODER, TRUE, "decoder: trained %d epochs on %d images: final "
       "loss %.5f, %.1f s (%.1f s per 1000 images)", epochs, n, loss, seconds,
       seconds * 1000 / ((double) n * epochs));
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_free (model->decoder_training.date);
  model->decoder_training = (UadTrainingSummary) { epochs, opts->batch, loss, seconds,
                                                   g_date_time_format_iso8601 (now), NULL };
  return uad_model_set_decoder (model, g_steal_pointer (&dec), error);
}

/* ---- The job ------------------------------------------------------------------------------ */

gboolean
uad_train_job_save (UadModel *model, const char *out, gboolean drop_checkpoint,
                    const char *resume_hint, GError **error)
{
  g_autofree char *checkpoint = g_strconcat (out, ".checkpoint", NULL);
  if (!uad_model_save (model, out, error))
    {
      if (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR))
        g_prefix_error (error, "the training is kept in %s; once %s can be written, run the same "
                        "command with %s to save it: ", checkpoint, out, resume_hint);
      return FALSE;
    }
  if (drop_checkpoint)
    g_unlink (checkpoint);
  return TRUE;
}

UadModel *
uad_train_job_run (const UadTrainJobOptions *opts, UadBackbone *bb, const char *sha,
                   const UadDataset *ds, UadModel *continued, const UadTrainJobMonitor *monitor,
                   GError **error)
{
  g_autoptr (UadModel) model = continued;
  gboolean fresh = continued == NULL;
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = uad_train_job_images (ds, &class_of, &n);
  g_autoptr (UadTensor) features = uad_train_job_features (bb, sha, opts->cache_dir,
                                                           (const char *const *) paths, n,
                                                           monitor, error);
  if (features == NULL)
    return NULL;
  if (fresh)
    {
      g_autoptr (GPtrArray) names = g_ptr_array_new ();
      for (int k = 0; k < ds->n_classes; k++)
        g_ptr_array_add (names, ds->classes[k].name);
      model = uad_train_job_new_model (&opts->recipe, uad_backbone_get_kind (bb), sha, features,
                                       opts->separate, (const char *const *) names->pdata,
                                       ds->n_classes, error);
      if (model == NULL)
        return NULL;
    }
  g_autoptr (GError) no_validation = NULL;
  g_autoptr (UadValidation) validation = make_validation (opts, features, class_of,
                                                          ds->n_classes, monitor, &no_validation);
  if (no_validation != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&no_validation));
      return NULL;
    }
  double reserve = 0;
  if (opts->deadline > 0)
    {
      reserve = finishing_seconds (opts, model, uad_backbone_get_normalization (bb), features,
                                   class_of, (const char *const *) paths,
                                   validation ? uad_validation_get_held_out (validation) : 0);
      say (monitor, UAD_TRAIN_PHASE_TRANSFORMER, FALSE, "budget: %.0f s kept for the work "
           "after training (residual Gaussians, class statistics%s), as timed on samples",
           reserve, opts->train_decoder ? ", the image decoder's targets" : "");
    }
  gboolean trained = validation != NULL
    ? train_transformers (opts, model, fresh, uad_validation_get_train_features (validation),
                          uad_validation_get_train_classes (validation), validation, reserve,
                          monitor, error)
    : train_transformers (opts, model, fresh, features, class_of, NULL, reserve, monitor, error);
  if (!trained)
    return NULL;
  if (opts->train_decoder)
    {
      /* The decoder draws features as the model's scorer hands them out. */
      uad_model_standardize_features (model, features->data, n);
      /* The transformer is trained: keep it even if the decoder does not finish. */
      if (!uad_train_job_save (model, opts->out, TRUE, opts->resume_hint, error))
        return NULL;
      if (!uad_train_job_add_decoder (model, uad_backbone_get_normalization (bb), features,
                                      (const char *const *) paths, n, &opts->decoder,
                                      opts->deadline, monitor, error))
        {
          g_prefix_error (error, "%s is saved without an image decoder (add one with 'uniad "
                          "train-decoder'): ", opts->out);
          return NULL;
        }
    }
  if (!uad_train_job_save (model, opts->out, TRUE, opts->resume_hint, error))
    return NULL;
  return g_steal_pointer (&model);
}

static int
compare_classes (gconstpointer a, gconstpointer b)
{
  return strcmp (((const UadClass *) a)->name, ((const UadClass *) b)->name);
}

UadDataset *
uad_train_job_dataset_from_folders (const char *const *names, const char *const *folders, int n,
                                    GError **error)
{
  g_autoptr (UadDataset) ds = g_new0 (UadDataset, 1);
  ds->classes = g_new0 (UadClass, MAX (n, 1));
  for (int k = 0; k < n; k++)
    {
      UadClass *c = &ds->classes[ds->n_classes++];
      c->name = g_strdup (names[k]);
      if ((c->train = uad_list_images (folders[k], error)) == NULL)
        return NULL;
      c->n_train = (int) g_strv_length (c->train);
      if (c->n_train == 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s has no images for class %s",
                       folders[k], names[k]);
          return NULL;
        }
    }
  if (n == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "no class to train on");
      return NULL;
    }
  qsort (ds->classes, n, sizeof (UadClass), compare_classes);
  for (int k = 1; k < n; k++)
    if (strcmp (ds->classes[k - 1].name, ds->classes[k].name) == 0)
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "two classes are called %s",
                     ds->classes[k].name);
        return NULL;
      }
  ds->root = g_strdup ("");
  return g_steal_pointer (&ds);
}
