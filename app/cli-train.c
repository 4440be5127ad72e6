/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train.c: `uniad train`: a UniAD model from the good images of an MVTec-layout dataset,
 * with an image decoder (cli-train-decoder.c) unless --no-decoder. */
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-progress.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-feature-cache.h"
#include "uad-trainer.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>

typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir;
  gboolean separate, resume, force, no_disk_cache, no_decoder;
  UadTrainOptions train;
  UadDecoderTrainOptions decoder;
  gint64 seed;
} TrainArgs;

typedef struct {
  CliProgress bar;
} ProgressState;

static gboolean
on_extract (int done, int total, void *user_data)
{
  g_autofree char *text = g_strdup_printf ("backbone features: %d/%d images", done, total);
  cli_progress_update (user_data, (double) done / total, text);
  return !cli_interrupted ();
}

UadTensor *
cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                      gboolean no_disk_cache, const char *const *paths, int n, GError **error)
{
  g_autofree char *dir = no_disk_cache ? NULL
                         : cache_dir ? g_strdup (cache_dir)
                         : g_build_filename (g_get_user_cache_dir (), "uniad-workbench", "features", NULL);
  CliProgress bar;
  cli_progress_init (&bar);
  g_autoptr (UadFeatureCache) cache = uad_feature_cache_new (bb, sha, dir);
  gint64 t0 = g_get_monotonic_time ();
  UadTensor *features = uad_feature_cache_extract (cache, paths, n, on_extract, &bar, error);
  if (features == NULL)
    return NULL;
  g_autofree char *done = g_strdup_printf ("backbone features: %d images in %.1f s (%d from the disk cache)",
                                           n, (g_get_monotonic_time () - t0) / 1e6,
                                           uad_feature_cache_get_hits (cache));
  cli_progress_done (&bar, done);
  return features;
}

static gboolean
on_step (const UadTrainProgress *p, void *user_data)
{
  ProgressState *ps = user_data;
  g_autofree char *eta = cli_format_duration (p->eta_seconds);
  g_autofree char *model = p->n_models > 1 ? g_strdup_printf ("model %d/%d  ", p->model_index + 1, p->n_models)
                                           : g_strdup ("");
  g_autofree char *text = g_strdup_printf ("%sepoch %d/%d  step %d/%d  loss %.5f  %.1f img/s  ETA %s",
                                           model, p->epoch + 1, p->epochs, p->step, p->steps_per_epoch,
                                           p->epoch_loss, p->images_per_second, eta);
  double fraction = ((double) p->epoch + (double) p->step / p->steps_per_epoch) / p->epochs;
  cli_progress_update (&ps->bar, (p->model_index + fraction) / p->n_models, text);
  return !cli_interrupted ();
}

/* Training images of every class, and each one's class index. */
static char **
training_images (const UadDataset *ds, int **class_of, int *n)
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

static UadModel *
train_model (TrainArgs *a, UadBackbone *bb, const char *sha, const UadDataset *ds, GError **error)
{
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = training_images (ds, &class_of, &n);
  g_autoptr (UadTensor) features = cli_extract_features (bb, sha, a->cache_dir, a->no_disk_cache,
                                                         (const char *const *) paths, n, error);
  if (features == NULL)
    return NULL;
  ProgressState ps;
  cli_progress_init (&ps.bar);

  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, uad_backbone_get_feature_channels (bb));
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    g_ptr_array_add (names, ds->classes[k].name);
  g_autoptr (UadModel) model = uad_model_new (uad_backbone_get_kind (bb), sha, &cfg, a->separate,
                                              (const char *const *) names->pdata, ds->n_classes, error);
  if (model == NULL)
    return NULL;
  g_autofree char *checkpoint = g_strconcat (a->out, ".checkpoint", NULL);
  UadTrainer *trainer = uad_trainer_new (model, features, class_of, &a->train, checkpoint);
  gboolean ok;
  if (a->resume)
    ok = uad_trainer_resume (trainer, error);
  else if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s exists from an earlier run: continue it with --resume, or delete it", checkpoint);
      ok = FALSE;
    }
  else
    {
      uad_trainer_init_weights (trainer);
      ok = TRUE;
    }
  ok = ok && uad_trainer_run (trainer, on_step, &ps, error);
  uad_trainer_free (trainer);
  if (!ok)
    {
      if (ps.bar.tty)
        fprintf (stderr, "\n");
      return NULL;
    }
  g_autofree char *summary = g_strdup_printf ("trained %d epochs on %d images: final loss %.5f, %.1f s",
                                              model->training.epochs, n, model->training.final_loss,
                                              model->training.seconds);
  cli_progress_done (&ps.bar, summary);
  g_unlink (checkpoint);
  if (a->no_decoder)
    return g_steal_pointer (&model);
  /* The transformer is trained: keep it even if the decoder does not finish. */
  if (!uad_model_save (model, a->out, error))
    return NULL;
  if (!cli_add_decoder (model, uad_backbone_get_normalization (bb), features,
                        (const char *const *) paths, n, &a->decoder, error))
    {
      g_prefix_error (error, "%s is saved without an image decoder (add one with 'uniad "
                      "train-decoder'): ", a->out);
      return NULL;
    }
  return g_steal_pointer (&model);
}

static void
print_classes (const UadModel *model)
{
  printf ("%-20s %8s %12s %12s %12s %12s\n", "class", "images", "score mean", "score std",
          "score max", "threshold");
  for (int k = 0; k < model->n_classes; k++)
    {
      const UadModelClass *c = &model->classes[k];
      printf ("%-20s %8d %12.5f %12.5f %12.5f %12.5f\n", c->name, c->n_train, c->score_mean,
              c->score_std, c->score_max, uad_model_default_threshold (model, k));
    }
}

static int
run_train (TrainArgs *a)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  if (!a->resume && !a->force && g_file_test (a->out, G_FILE_TEST_EXISTS))
    {
      cli_error ("train", "%s exists; choose another --out or pass --force to replace it", a->out);
      return CLI_EXIT_FAILURE;
    }
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) classes, &error);
  if (ds == NULL)
    {
      cli_error ("train", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  UadBackbone *bb = cli_load_backbone (&a->bo);
  if (bb == NULL)
    return CLI_EXIT_FAILURE;
  g_autofree char *weights = a->bo.weights ? g_strdup (a->bo.weights)
                                           : uad_weights_default_path (uad_backbone_get_kind (bb));
  g_autofree char *sha = uad_weights_sha256 (weights, &error);
  cli_catch_interrupt ();
  g_autoptr (UadModel) model = sha ? train_model (a, bb, sha, ds, &error) : NULL;
  uad_backbone_free (bb);
  if (model == NULL)
    {
      cli_error ("train", "%s", error->message);
      return g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
    }
  if (!uad_model_save (model, a->out, &error))
    {
      cli_error ("train", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  print_classes (model);
  printf ("saved %s\n", a->out);
  return CLI_EXIT_OK;
}

int
cli_train (int argc, char **argv)
{
  TrainArgs a = { 0 };
  uad_train_options_default (&a.train);
  uad_decoder_train_options_default (&a.decoder);
  a.seed = (gint64) a.train.seed;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Model file to write", "MODEL.uniad" },
    { "separate", 0, 0, G_OPTION_ARG_NONE, &a.separate, "One transformer per class (default: one for all)", NULL },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &a.resume, "Continue from MODEL.uniad.checkpoint", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &a.force, "Replace an existing model file", NULL },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.train.epochs, "Epochs (default 1000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.train.batch, "Batch size (default 8)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.lr, "Learning rate (default 1e-4)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.weight_decay, "AdamW weight decay (default 1e-4)", "WD" },
    { "beta1", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.beta1, "AdamW beta1 (default 0.9)", "B" },
    { "beta2", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.beta2, "AdamW beta2 (default 0.999)", "B" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.clip, "Gradient norm clip (default 0.1)", "NORM" },
    { "lr-step", 0, 0, G_OPTION_ARG_INT, &a.train.lr_step, "Epochs between learning-rate drops (default 800)", "N" },
    { "lr-gamma", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.lr_gamma, "Learning-rate drop factor (default 0.1)", "G" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &a.train.checkpoint_every, "Epochs between checkpoints (default 10; 0 = only on Ctrl-C)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { "no-disk-cache", 0, 0, G_OPTION_ARG_NONE, &a.no_disk_cache, "Keep backbone features in memory only", NULL },
    { "no-decoder", 0, 0, G_OPTION_ARG_NONE, &a.no_decoder, "Do not train an image decoder after the transformer", NULL },
    { "decoder-epochs", 0, 0, G_OPTION_ARG_INT, &a.decoder.epochs, "Image decoder epochs (default 10)", "N" },
    { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 4;
  cli_backbone_entries (&a.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "train", "", "train a UniAD model on good images", entries))
    ;
  else if (argc != 1 || a.data == NULL || a.out == NULL)
    cli_error ("train", "--data ROOT and --out MODEL.uniad are required (see 'uniad train --help')");
  else if (a.train.epochs < 1 || a.train.batch < 1 || a.train.lr_step < 1 || a.seed < 0
           || a.train.checkpoint_every < 0 || !(a.train.lr > 0) || !(a.train.clip > 0)
           || a.decoder.epochs < 1)
    cli_error ("train", "--epochs, --batch, --lr-step, --decoder-epochs must be >= 1, --lr and "
               "--clip > 0, --seed >= 0");
  else
    {
      a.train.seed = (guint64) a.seed;
      a.decoder.seed = (guint64) a.seed;
      status = run_train (&a);
    }
  cli_backbone_options_clear (&a.bo);
  g_free (a.data), g_free (a.classes), g_free (a.out), g_free (a.cache_dir);
  return status;
}
