/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-trainer.h"

#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-gemm.h"
#include "uad-json.h"
#include "uad-optim.h"

#include <math.h>
#include <string.h>

#define GRID UAD_FEATURE_GRID
#define STATE_KEY "uniad_training_state"
#define SCORE_BATCH 8

struct UadTrainer {
  UadModel *model;
  const UadTensor *features;
  const int *class_of;
  UadTrainOptions opts;
  char *checkpoint_path;
  UadAdamW **optims;        /* one per transformer */
  UadRng rng;               /* jitter and dropout */
  /* position: the next step to take */
  int model_index, epoch, step;
  double loss_sum;          /* of the steps taken in this epoch */
  double last_epoch_loss;
  double seconds;           /* training time so far, across resumes */
  double model_seconds;     /* of it, on the transformer in training */
  gboolean finish_model;    /* uad_trainer_finish_model was called */
};

void
uad_train_options_default (UadTrainOptions *opts)
{
  *opts = (UadTrainOptions) {
    .epochs = 1000, .batch = 8, .lr = 1e-4, .weight_decay = 1e-4, .beta1 = 0.9,
    .beta2 = 0.999, .clip = 0.1, .schedule = UAD_LR_STEP, .lr_step = 800, .lr_gamma = 0.1,
    .warmup = 0.05, .final_lr_ratio = 0.01, .seed = 133, .checkpoint_every = 10,
  };
}

UadTrainer *
uad_trainer_new (UadModel *model, const UadTensor *features, const int *class_of,
                 const UadTrainOptions *opts, const char *checkpoint_path)
{
  UadTrainer *t = g_new0 (UadTrainer, 1);
  t->model = model;
  t->features = features;
  t->class_of = class_of;
  t->opts = *opts;
  t->checkpoint_path = g_strdup (checkpoint_path);
  t->optims = g_new0 (UadAdamW *, model->n_transformers);
  UadAdamWConfig cfg;
  uad_adamw_config_default (&cfg);
  cfg.beta1 = opts->beta1;
  cfg.beta2 = opts->beta2;
  cfg.weight_decay = opts->weight_decay;
  for (int i = 0; i < model->n_transformers; i++)
    {
      size_t n;
      uad_transformer_params (model->transformers[i], &n);
      t->optims[i] = uad_adamw_new (&cfg, n);
    }
  uad_rng_init (&t->rng, opts->seed);
  t->last_epoch_loss = NAN;
  return t;
}

void
uad_trainer_free (UadTrainer *t)
{
  if (t == NULL)
    return;
  for (int i = 0; i < t->model->n_transformers; i++)
    uad_adamw_free (t->optims[i]);
  g_free (t->optims);
  g_free (t->checkpoint_path);
  g_free (t);
}

void
uad_trainer_init_weights (UadTrainer *t)
{
  for (int i = 0; i < t->model->n_transformers; i++)
    {
      UadRng init;
      uad_rng_init (&init, t->opts.seed + 0x9e3779b97f4a7c15ull * (guint64) (i + 1));
      uad_transformer_init (t->model->transformers[i], &init);
    }
}

/* Indices of the images transformer m trains on. */
static int *
images_of (const UadTrainer *t, int m, int *count)
{
  int n = (int) t->features->shape[0];
  int *idx = g_new (int, n);
  int k = 0;
  for (int i = 0; i < n; i++)
    if (!t->model->separate || t->class_of[i] == m)
      idx[k++] = i;
  *count = k;
  return idx;
}

static void
fisher_yates (UadRng *r, int *idx, int n)
{
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (uad_rng_next (r) % (guint64) (i + 1));
      int tmp = idx[i];
      idx[i] = idx[j];
      idx[j] = tmp;
    }
}

/* Class-balanced: the epoch keeps its length, but each class fills an equal share of it, by
 * cycling through its own shuffled images, so a small class is seen as often as a large one. */
static void
balance_classes (const UadTrainer *t, UadRng *r, const int *images, int *idx, int n)
{
  int k = t->model->n_classes;
  g_autofree int *own = g_new (int, n);
  int slot = 0;
  for (int c = 0; c < k; c++)
    {
      int have = 0;
      for (int i = 0; i < n; i++)
        if (t->class_of[images[i]] == c)
          own[have++] = images[i];
      int share = n / k + (c < n % k);
      for (int s = 0; s < share && have > 0; s++)
        {
          if (s % have == 0)
            fisher_yates (r, own, have);
          idx[slot++] = own[s % have];
        }
    }
  /* A class without images leaves its share to be filled from all images. */
  for (int s = 0; slot < n; s++)
    idx[slot++] = images[s % n];
}

/* A Fisher-Yates shuffle (after class balancing, when asked for) from a generator seeded by
 * (seed, model, epoch) only, so that a resumed run draws the same order. */
int
uad_trainer_epoch_order (const UadTrainer *t, int m, int epoch, int *idx)
{
  int n;
  g_autofree int *images = images_of (t, m, &n);
  UadRng r;
  uad_rng_init (&r, t->opts.seed ^ (0xd1b54a32d192ed03ull * (guint64) (m * 100003 + epoch + 1)));
  if (t->opts.balanced && !t->model->separate && t->model->n_classes > 1)
    balance_classes (t, &r, images, idx, n);
  else
    memcpy (idx, images, n * sizeof (int));
  fisher_yates (&r, idx, n);
  return n;
}

static gboolean
time_budgeted (const UadTrainer *t)
{
  return t->opts.seconds > 0;
}

/* A digest of what must not change between a run and its resumption. */
static char *
fingerprint (const UadTrainer *t)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  int64_t n = uad_tensor_numel (t->features);
  g_checksum_update (sum, (const guchar *) t->features->data, n * sizeof (float));
  g_checksum_update (sum, (const guchar *) t->class_of, t->features->shape[0] * sizeof (int));
  const UadTrainOptions *o = &t->opts;
  g_autofree char *opts = g_strdup_printf ("%d %d %.17g %.17g %.17g %.17g %.17g %d %.17g %" G_GUINT64_FORMAT,
                                           o->epochs, o->batch, o->lr, o->weight_decay, o->beta1,
                                           o->beta2, o->clip, o->lr_step, o->lr_gamma, o->seed);
  g_checksum_update (sum, (const guchar *) opts, -1);
  if (o->schedule != UAD_LR_STEP || o->seconds > 0 || o->balanced || o->bf16)
    {
      /* budget_callbacks is left out: it changes how time is counted, not the training. */
      /* Only then, so that checkpoints of the spec's recipe from older versions still resume. */
      /* The budget's presence, not its value: a resumed run keeps the checkpoint's budget. */
      g_autofree char *more = g_strdup_printf (" %d %d %.17g %.17g %d %d", o->schedule,
                                               o->seconds > 0, o->warmup, o->final_lr_ratio,
                                               o->balanced, o->bf16);
      g_checksum_update (sum, (const guchar *) more, -1);
    }
  return g_strdup (g_checksum_get_string (sum));
}

gboolean
uad_trainer_save_checkpoint (UadTrainer *t, GError **error)
{
  if (t->checkpoint_path == NULL)
    return TRUE;
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  uad_model_write (t->model, w);
  for (int i = 0; i < t->model->n_transformers; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("optim.%d.", i);
      uad_adamw_save (t->optims[i], w, prefix);
    }
  g_autofree char *fp = fingerprint (t);
  GString *s = g_string_new ("{\"fingerprint\":");
  uad_json_append_string (s, fp);
  g_string_append_printf (s, ",\"model_index\":%d,\"epoch\":%d,\"step\":%d,\"rng_seed\":\"%"
                          G_GUINT64_FORMAT "\",\"rng_counter\":\"%" G_GUINT64_FORMAT "\",\"loss_sum\":",
                          t->model_index, t->epoch, t->step, t->rng.seed, t->rng.counter);
  uad_json_append_double (s, t->loss_sum);
  g_string_append (s, ",\"last_epoch_loss\":");
  uad_json_append_double (s, t->last_epoch_loss);
  g_string_append (s, ",\"seconds\":");
  uad_json_append_double (s, t->seconds);
  g_string_append (s, ",\"model_seconds\":");
  uad_json_append_double (s, t->model_seconds);
  g_string_append (s, ",\"budget_seconds\":");
  uad_json_append_double (s, t->opts.seconds);
  g_string_append (s, "}");
  g_autofree char *json = g_string_free (s, FALSE);
  uad_safetensors_writer_add_metadata (w, STATE_KEY, json);
  return uad_safetensors_writer_save (w, t->checkpoint_path, error);
}

static gboolean
read_u64 (const UadJson *obj, const char *key, guint64 *out)
{
  const UadJson *v = uad_json_object_get (obj, key);
  const char *s = v && uad_json_get_type (v) == UAD_JSON_STRING ? uad_json_get_string (v, NULL) : NULL;
  return s && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT64, out, NULL);
}

static gboolean
read_int (const UadJson *obj, const char *key, int *out)
{
  const UadJson *v = uad_json_object_get (obj, key);
  int64_t x;
  if (v == NULL || !uad_json_get_int64 (v, &x) || x < 0 || x > G_MAXINT)
    return FALSE;
  *out = (int) x;
  return TRUE;
}

static double
read_double (const UadJson *obj, const char *key)
{
  const UadJson *v = uad_json_object_get (obj, key);
  return v && uad_json_get_type (v) == UAD_JSON_NUMBER ? uad_json_get_number (v) : NAN;
}

gboolean
uad_trainer_resume (UadTrainer *t, GError **error)
{
  const char *path = t->checkpoint_path;
  g_autoptr (UadModel) saved = uad_model_load (path, error);
  if (saved == NULL)
    return FALSE;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, error);
  if (st == NULL)
    return FALSE;
  const char *json = uad_safetensors_get_metadata (st, STATE_KEY);
  g_autoptr (UadJson) state = json ? uad_json_parse (json, strlen (json), NULL) : NULL;
  g_autofree char *fp = fingerprint (t);
  const UadJson *saved_fp = state ? uad_json_object_get (state, "fingerprint") : NULL;
  if (saved_fp == NULL || uad_json_get_type (saved_fp) != UAD_JSON_STRING)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: not a training checkpoint", path);
      return FALSE;
    }
  if (g_strcmp0 (uad_json_get_string (saved_fp, NULL), fp) != 0
      || saved->n_transformers != t->model->n_transformers)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s: the checkpoint was made with other training images or options; resume "
                   "with the same ones, or start again without --resume", path);
      return FALSE;
    }
  if (!read_int (state, "model_index", &t->model_index) || !read_int (state, "epoch", &t->epoch)
      || !read_int (state, "step", &t->step) || !read_u64 (state, "rng_seed", &t->rng.seed)
      || !read_u64 (state, "rng_counter", &t->rng.counter))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: damaged training state", path);
      return FALSE;
    }
  t->loss_sum = read_double (state, "loss_sum");
  t->last_epoch_loss = read_double (state, "last_epoch_loss");
  t->seconds = read_double (state, "seconds");
  t->model_seconds = read_double (state, "model_seconds");
  if (isnan (t->seconds))
    t->seconds = 0;
  if (isnan (t->model_seconds))
    t->model_seconds = 0;
  if (time_budgeted (t))
    {
      double budget = read_double (state, "budget_seconds");
      if (!(budget > 0))
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: damaged training state", path);
          return FALSE;
        }
      t->opts.seconds = budget;
    }
  for (int i = 0; i < t->model->n_transformers; i++)
    {
      size_t n, n_saved;
      float *dst = uad_transformer_params (t->model->transformers[i], &n);
      const float *src = uad_transformer_params (saved->transformers[i], &n_saved);
      if (n != n_saved) /* a checkpoint edited to match the fingerprint: file content */
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH, "%s: the checkpoint's transformer "
                       "has %zu parameters, this run's %zu", path, n_saved, n);
          return FALSE;
        }
      memcpy (dst, src, n * sizeof (float));
      g_autofree char *prefix = g_strdup_printf ("optim.%d.", i);
      if (!uad_adamw_load (t->optims[i], st, prefix, error))
        return FALSE;
    }
  return TRUE;
}

void
uad_model_score_features (UadModel *model, const UadTensor *features, const int *class_of,
                          double *scores)
{
  int n = (int) features->shape[0];
  size_t per = (size_t) features->shape[1] * GRID * GRID;
  g_autoptr (UadFeatureScorer) scorer = uad_feature_scorer_new (model, SCORE_BATCH);
  for (int i = 0; i < n; i += SCORE_BATCH)
    uad_feature_scorer_run (scorer, features->data + i * per, MIN (SCORE_BATCH, n - i),
                            class_of ? class_of + i : NULL, scores + i, NULL, NULL, NULL);
}

/* The residual Gaussians the options ask for, and the class statistics from the training
 * images' scores under them (one reconstruction of the images serves both). */
static gboolean
fit_residuals_and_statistics (UadTrainer *t, GError **error)
{
  int n = (int) t->features->shape[0];
  g_autofree double *scores = g_new (double, n);
  if (!uad_residual_fit_scored (t->model, t->features, t->class_of, t->opts.residual, scores, error))
    return FALSE;
  if (t->opts.residual == UAD_RESIDUAL_L2)
    uad_model_score_features (t->model, t->features, t->class_of, scores);
  uad_model_set_class_statistics (t->model, scores, t->class_of, n);
  return TRUE;
}

void
uad_trainer_finish_model (UadTrainer *t)
{
  t->finish_model = TRUE;
}

/* Training-time budget of transformer m: the whole budget when unified, a share by image
 * count when separate. */
static double
model_budget (UadTrainer *t, int m)
{
  int count;
  g_free (images_of (t, m, &count));
  return t->opts.seconds * count / (double) t->features->shape[0];
}

/* Whether the transformer in training has had its epochs or its share of the time budget. */
static gboolean
model_finished (const UadTrainer *t, double budget)
{
  if (t->finish_model)
    return TRUE;
  return time_budgeted (t) ? t->model_seconds >= budget : t->epoch >= t->opts.epochs;
}

/* Share of the current transformer's run done before the next step. */
static double
model_fraction (const UadTrainer *t, int steps, double budget)
{
  if (time_budgeted (t))
    return t->model_seconds / budget;
  return ((double) t->epoch * steps + t->step) / ((double) t->opts.epochs * steps);
}

static double
step_lr (const UadTrainer *t, double fraction)
{
  const UadTrainOptions *o = &t->opts;
  if (o->schedule == UAD_LR_STEP)
    return uad_step_lr (o->lr, o->lr_gamma, o->lr_step, t->epoch);
  return uad_warmup_cosine_lr (o->lr, fraction, o->warmup, o->final_lr_ratio);
}

/* Images still to train on by epochs, for the ETA. */
static int64_t
images_left (UadTrainer *t)
{
  int64_t left = 0;
  for (int m = t->model_index; m < t->model->n_transformers; m++)
    {
      int count;
      g_free (images_of (t, m, &count));
      int epochs_left = t->opts.epochs - (m == t->model_index ? t->epoch : 0);
      left += (int64_t) count * epochs_left;
    }
  return left;
}

/* After a stop request: moves the position past the step just taken, closing its epoch (and,
 * by epochs, its transformer) when it was the last, so that resuming takes the next step. */
static void
advance_after_stop (UadTrainer *t, int steps)
{
  t->step++;
  if (t->step < steps)
    return;
  t->last_epoch_loss = t->loss_sum / steps;
  t->step = 0, t->loss_sum = 0, t->epoch++;
  if (!time_budgeted (t) && t->epoch == t->opts.epochs)
    t->epoch = 0, t->model_seconds = 0, t->model_index++;
}

gboolean
uad_trainer_run (UadTrainer *t, UadTrainProgressFunc progress, void *user_data, GError **error)
{
  UadModel *model = t->model;
  const UadTrainOptions *o = &t->opts;
  size_t per = (size_t) t->features->shape[1] * GRID * GRID;
  g_autofree float *batch = g_new (float, (size_t) o->batch * per);
  double seconds_before = t->seconds;
  int64_t images_done = 0, total_images_left = images_left (t);
  int epochs_done = 0;
  gboolean ended_early = FALSE;

  for (; t->model_index < model->n_transformers;
       t->model_index++, t->epoch = 0, t->step = 0, t->loss_sum = 0, t->model_seconds = 0,
       t->finish_model = FALSE)
    {
      int m = t->model_index, count;
      g_free (images_of (t, m, &count));
      g_autofree int *idx = g_new (int, MAX (count, 1));
      UadTransformer *tf = model->transformers[m];
      size_t n_params;
      float *params = uad_transformer_params (tf, &n_params);
      float *grads = uad_transformer_grads (tf, &n_params);
      UadTransformerWorkspace *ws = uad_transformer_workspace_new (tf, o->batch, TRUE);
      int steps = (count + o->batch - 1) / o->batch;
      double budget = time_budgeted (t) ? model_budget (t, m) : 0;

      while (steps > 0 && !model_finished (t, budget))
        {
          uad_trainer_epoch_order (t, m, t->epoch, idx);
          for (; t->step < steps && !model_finished (t, budget); t->step++)
            {
              gint64 step_start = g_get_monotonic_time ();
              double fraction = model_fraction (t, steps, budget);
              double lr = step_lr (t, fraction);
              int first = t->step * o->batch, b = MIN (o->batch, count - first);
              for (int j = 0; j < b; j++)
                memcpy (batch + j * per, t->features->data + (size_t) idx[first + j] * per,
                        per * sizeof (float));
              uad_model_standardize_features (model, batch, b);
              /* bf16 products for the step only: the callbacks may validate or score. */
              gboolean bf16 = o->bf16 && uad_gemm_set_bf16 (TRUE);
              t->loss_sum += uad_transformer_train_step (tf, ws, batch, b, &t->rng);
              if (bf16)
                uad_gemm_set_bf16 (FALSE);
              uad_clip_grad_norm (grads, n_params, o->clip);
              uad_adamw_step (t->optims[m], params, grads, lr);
              images_done += b;
              double dt = (g_get_monotonic_time () - step_start) / 1e6;
              t->seconds += dt, t->model_seconds += dt;

              double run_seconds = MAX (t->seconds - seconds_before, 1e-9);
              double rate = images_done / run_seconds;
              double done_fraction = time_budgeted (t)
                ? t->seconds / o->seconds
                : (m + model_fraction (t, steps, budget) + 1.0 / ((double) steps * o->epochs))
                    / model->n_transformers;
              UadTrainProgress p = {
                m, model->n_transformers, t->epoch, time_budgeted (t) ? 0 : o->epochs,
                t->step + 1, steps, t->loss_sum / (t->step + 1), t->last_epoch_loss, lr,
                MIN (done_fraction, 1.0), t->seconds, rate,
                time_budgeted (t) ? MAX (o->seconds - t->seconds, 0)
                                  : (total_images_left - images_done) / MAX (rate, 1e-9),
              };
              gboolean go_on = progress == NULL || progress (&p, user_data);
              if (o->budget_callbacks)
                {
                  double spent = (g_get_monotonic_time () - step_start) / 1e6 - dt;
                  t->seconds += spent, t->model_seconds += spent;
                }
              if (!go_on)
                {
                  advance_after_stop (t, steps);
                  uad_transformer_workspace_free (ws);
                  if (!uad_trainer_save_checkpoint (t, error))
                    return FALSE;
                  g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED,
                               "training stopped; the checkpoint %s resumes it",
                               t->checkpoint_path ? t->checkpoint_path : "(none)");
                  return FALSE;
                }
            }
          if (t->step < steps)
            break; /* the time budget ended the run inside this epoch */
          t->last_epoch_loss = t->loss_sum / steps;
          t->epoch++, t->step = 0, t->loss_sum = 0;
          /* Saved as "the next epoch starts now". */
          if (o->checkpoint_every > 0 && t->epoch % o->checkpoint_every == 0
              && !model_finished (t, budget) && !uad_trainer_save_checkpoint (t, error))
            {
              uad_transformer_workspace_free (ws);
              return FALSE;
            }
        }
      ended_early |= t->finish_model;
      if (t->step > 0) /* a partial last epoch: its loss is the latest */
        t->last_epoch_loss = t->loss_sum / t->step;
      epochs_done = MAX (epochs_done, t->epoch + (t->step > 0));
      uad_transformer_workspace_free (ws);
    }

  if (!fit_residuals_and_statistics (t, error))
    return FALSE;
  model->training.epochs = time_budgeted (t) || ended_early ? epochs_done : o->epochs;
  model->training.batch = o->batch;
  model->training.final_loss = t->last_epoch_loss;
  model->training.seconds = t->seconds;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_free (model->training.date);
  model->training.date = g_date_time_format_iso8601 (now);
  return TRUE;
}
