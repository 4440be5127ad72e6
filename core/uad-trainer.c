/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-trainer.h"

#include "uad-error.h"
#include "uad-json.h"
#include "uad-optim.h"

#include <math.h>
#include <string.h>

#define GRID 14
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
};

void
uad_train_options_default (UadTrainOptions *opts)
{
  *opts = (UadTrainOptions) {
    .epochs = 1000, .batch = 8, .lr = 1e-4, .weight_decay = 1e-4, .beta1 = 0.9,
    .beta2 = 0.999, .clip = 0.1, .lr_step = 800, .lr_gamma = 0.1, .seed = 133,
    .checkpoint_every = 10,
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
images_of (UadTrainer *t, int m, int *count)
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

/* The epoch's order of the images in `images`: a Fisher-Yates shuffle from a generator seeded
 * by (seed, model, epoch) only, so that a resumed run draws the same order. */
static void
shuffle (const UadTrainer *t, const int *images, int *idx, int n, int m, int epoch)
{
  UadRng r;
  memcpy (idx, images, n * sizeof (int));
  uad_rng_init (&r, t->opts.seed ^ (0xd1b54a32d192ed03ull * (guint64) (m * 100003 + epoch + 1)));
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (uad_rng_next (&r) % (guint64) (i + 1));
      int tmp = idx[i];
      idx[i] = idx[j];
      idx[j] = tmp;
    }
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
  if (isnan (t->seconds))
    t->seconds = 0;
  for (int i = 0; i < t->model->n_transformers; i++)
    {
      size_t n, n_saved;
      float *dst = uad_transformer_params (t->model->transformers[i], &n);
      const float *src = uad_transformer_params (saved->transformers[i], &n_saved);
      g_return_val_if_fail (n == n_saved, FALSE);
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
  int64_t c = features->shape[1];
  size_t per = (size_t) c * GRID * GRID;
  g_autoptr (UadTensor) rec = uad_tensor_new_4d (SCORE_BATCH, c, GRID, GRID);
  g_autoptr (UadTensor) small = uad_tensor_new_4d (SCORE_BATCH, 1, GRID, GRID);
  g_autoptr (UadTensor) map = uad_tensor_new_4d (SCORE_BATCH, 1, UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE);
  for (int m = 0; m < model->n_transformers; m++)
    {
      UadTransformer *tf = model->transformers[m];
      UadTransformerWorkspace *ws = uad_transformer_workspace_new (tf, SCORE_BATCH, FALSE);
      g_autofree float *batch = g_new (float, SCORE_BATCH * per);
      int idx[SCORE_BATCH], k = 0;
      for (int i = 0; i <= n; i++)
        {
          if (i < n && (!model->separate || class_of[i] == m))
            {
              memcpy (batch + k * per, features->data + i * per, per * sizeof (float));
              idx[k++] = i;
            }
          if (k == SCORE_BATCH || (i == n && k > 0))
            {
              uad_transformer_forward (tf, ws, batch, k, rec->data);
              UadTensor f = { batch, 4, { k, c, GRID, GRID }, FALSE };
              UadTensor r = { rec->data, 4, { k, c, GRID, GRID }, FALSE };
              UadTensor s = { small->data, 4, { k, 1, GRID, GRID }, FALSE };
              UadTensor mp = { map->data, 4, { k, 1, UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE }, FALSE };
              uad_anomaly_map_compute (&f, &r, &s, &mp);
              for (int j = 0; j < k; j++)
                scores[idx[j]] = uad_anomaly_score (mp.data + (size_t) j * UAD_ANOMALY_MAP_SIZE * UAD_ANOMALY_MAP_SIZE,
                                                    UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE,
                                                    model->score_kind);
              k = 0;
            }
        }
      uad_transformer_workspace_free (ws);
    }
}

static void
fill_class_statistics (UadTrainer *t)
{
  UadModel *model = t->model;
  int n = (int) t->features->shape[0];
  g_autofree double *scores = g_new (double, n);
  uad_model_score_features (model, t->features, t->class_of, scores);
  for (int k = 0; k < model->n_classes; k++)
    {
      UadModelClass *c = &model->classes[k];
      double sum = 0, sq = 0, hi = -INFINITY;
      int count = 0;
      for (int i = 0; i < n; i++)
        if (t->class_of[i] == k)
          {
            sum += scores[i], sq += scores[i] * scores[i];
            hi = MAX (hi, scores[i]);
            count++;
          }
      c->n_train = count;
      c->score_mean = count ? sum / count : 0;
      c->score_std = count ? sqrt (MAX (sq / count - c->score_mean * c->score_mean, 0)) : 0;
      c->score_max = count ? hi : 0;
    }
}

gboolean
uad_trainer_run (UadTrainer *t, UadTrainProgressFunc progress, void *user_data, GError **error)
{
  UadModel *model = t->model;
  const UadTrainOptions *o = &t->opts;
  size_t per = (size_t) t->features->shape[1] * GRID * GRID;
  g_autofree float *batch = g_new (float, (size_t) o->batch * per);
  gint64 started = g_get_monotonic_time ();
  double seconds_before = t->seconds;
  int64_t images_done = 0;

  /* Steps still to take, for the ETA. */
  int64_t total_images_left = 0;
  for (int m = t->model_index; m < model->n_transformers; m++)
    {
      int count;
      g_free (images_of (t, m, &count));
      int epochs_left = o->epochs - (m == t->model_index ? t->epoch : 0);
      total_images_left += (int64_t) count * epochs_left;
    }

  for (; t->model_index < model->n_transformers; t->model_index++, t->epoch = 0)
    {
      int m = t->model_index, count;
      g_autofree int *images = images_of (t, m, &count);
      g_autofree int *idx = g_new (int, MAX (count, 1));
      UadTransformer *tf = model->transformers[m];
      size_t n_params;
      float *params = uad_transformer_params (tf, &n_params);
      float *grads = uad_transformer_grads (tf, &n_params);
      UadTransformerWorkspace *ws = uad_transformer_workspace_new (tf, o->batch, TRUE);
      int steps = (count + o->batch - 1) / o->batch;

      for (; t->epoch < o->epochs; t->epoch++, t->step = 0, t->loss_sum = 0)
        {
          shuffle (t, images, idx, count, m, t->epoch);
          double lr = uad_step_lr (o->lr, o->lr_gamma, o->lr_step, t->epoch);
          for (; t->step < steps; t->step++)
            {
              int first = t->step * o->batch, b = MIN (o->batch, count - first);
              for (int j = 0; j < b; j++)
                memcpy (batch + j * per, t->features->data + (size_t) idx[first + j] * per,
                        per * sizeof (float));
              t->loss_sum += uad_transformer_train_step (tf, ws, batch, b, &t->rng);
              uad_clip_grad_norm (grads, n_params, o->clip);
              uad_adamw_step (t->optims[m], params, grads, lr);
              images_done += b;

              double elapsed = (g_get_monotonic_time () - started) / 1e6;
              t->seconds = seconds_before + elapsed;
              UadTrainProgress p = {
                m, model->n_transformers, t->epoch, o->epochs, t->step + 1, steps,
                t->loss_sum / (t->step + 1), t->last_epoch_loss, images_done / MAX (elapsed, 1e-9),
                (total_images_left - images_done) / MAX (images_done / MAX (elapsed, 1e-9), 1e-9),
              };
              gboolean go_on = progress == NULL || progress (&p, user_data);
              if (!go_on)
                {
                  t->step++;
                  if (t->step == steps) /* the epoch is complete: resume at the next one */
                    {
                      t->last_epoch_loss = t->loss_sum / steps;
                      t->step = 0, t->loss_sum = 0, t->epoch++;
                      if (t->epoch == o->epochs)
                        t->epoch = 0, t->model_index++;
                    }
                  uad_transformer_workspace_free (ws);
                  if (!uad_trainer_save_checkpoint (t, error))
                    return FALSE;
                  g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED,
                               "training stopped; the checkpoint %s resumes it",
                               t->checkpoint_path ? t->checkpoint_path : "(none)");
                  return FALSE;
                }
            }
          t->last_epoch_loss = t->loss_sum / steps;
          if (o->checkpoint_every > 0 && (t->epoch + 1) % o->checkpoint_every == 0
              && t->epoch + 1 < o->epochs)
            {
              /* Saved as "the next epoch starts now". */
              t->epoch++, t->step = 0, t->loss_sum = 0;
              gboolean ok = uad_trainer_save_checkpoint (t, error);
              t->epoch--;
              if (!ok)
                {
                  uad_transformer_workspace_free (ws);
                  return FALSE;
                }
            }
        }
      uad_transformer_workspace_free (ws);
    }

  fill_class_statistics (t);
  model->training.epochs = o->epochs;
  model->training.batch = o->batch;
  model->training.final_loss = t->last_epoch_loss;
  model->training.seconds = t->seconds;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_free (model->training.date);
  model->training.date = g_date_time_format_iso8601 (now);
  return TRUE;
}
