/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train.c: `uniad train`: a UniAD model from the good images of an MVTec-layout dataset,
 * by a named recipe (uad-recipe.h), for a number of epochs or a time budget, with an image
 * decoder unless --no-decoder; or more training for a finished model. The run itself is
 * uad-train-job.h's, shared with the workbench; this file turns options into its job.
 * --method padim fits the PaDiM baseline instead (cli-train-padim.c). */
#include "app-folders.h"
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-train-monitor.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-train-job.h"
#include "uad-verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Options as given; unset ones (-1, NaN, NULL) take the recipe's values. */
typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir, *recipe, *continue_from, *method;
  char *mask, *queries, *jitter; /* the paper's ablations, as recipe settings */
  gboolean separate, resume, force, no_disk_cache, no_decoder, until_plateau;
  double validation; /* share of the training images held out */
  int epochs, batch, lr_step, checkpoint_every, decoder_epochs;
  double minutes, lr, weight_decay, beta1, beta2, clip, lr_gamma;
  gint64 seed;
} TrainArgs;

/* A finished model goes on only with the classes it was trained on, in the same order. */
static gboolean
check_continued_classes (const UadModel *model, const UadDataset *ds, const char *path,
                         GError **error)
{
  if (model->method != UAD_METHOD_UNIAD)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s is a PaDiM model: it has no transformer to train further", path);
      return FALSE;
    }
  gboolean same = model->n_classes == ds->n_classes;
  for (int k = 0; same && k < ds->n_classes; k++)
    same = g_strcmp0 (model->classes[k].name, ds->classes[k].name) == 0;
  if (!same)
    g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                 "%s was trained on other classes than the dataset's; continue it with the same "
                 "classes (--classes), or train a new model", path);
  return same;
}

static void
print_classes (const UadModel *model)
{
  printf ("%-20s %8s %12s %12s %12s %12s %12s\n", "class", "images", "score mean", "score std",
          "score max", "pass below", "fail above");
  for (int k = 0; k < model->n_classes; k++)
    {
      const UadModelClass *c = &model->classes[k];
      UadVerdictThresholds th = uad_verdict_default_thresholds (c->score_mean, c->score_std);
      printf ("%-20s %8d %12.5f %12.5f %12.5f %12.5f %12.5f\n", c->name, c->n_train,
              c->score_mean, c->score_std, c->score_max, th.pass_below, th.fail_above);
    }
}

/* The job of the recipe with the options given on top; fails on an unknown recipe. A budget
 * counts from now: loading, feature extraction and the decoder are inside it. */
static gboolean
make_job (const TrainArgs *a, UadTrainJobOptions *job, double *minutes, GError **error)
{
  if (!uad_train_job_options_init (job, a->recipe, error))
    return FALSE;
  const struct { const char *key, *value; } ablations[] = {
    { "mask", a->mask }, { "queries", a->queries }, { "jitter", a->jitter },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (ablations); i++)
    {
      g_autofree char *setting = g_strdup_printf ("%s=%s", ablations[i].key, ablations[i].value);
      if (ablations[i].value != NULL && !uad_recipe_set (&job->recipe, setting, error))
        return FALSE;
    }
  UadTrainOptions *o = &job->recipe.train;
  *minutes = a->minutes > 0 ? a->minutes
             : a->epochs > 0 ? 0
             : job->recipe.default_minutes;
  if (a->epochs > 0) o->epochs = a->epochs;
  if (a->batch > 0) o->batch = a->batch;
  if (a->lr_step > 0) o->lr_step = a->lr_step;
  if (a->checkpoint_every >= 0) o->checkpoint_every = a->checkpoint_every;
  if (!isnan (a->lr)) o->lr = a->lr;
  if (!isnan (a->weight_decay)) o->weight_decay = a->weight_decay;
  if (!isnan (a->beta1)) o->beta1 = a->beta1;
  if (!isnan (a->beta2)) o->beta2 = a->beta2;
  if (!isnan (a->clip)) o->clip = a->clip;
  if (!isnan (a->lr_gamma)) o->lr_gamma = a->lr_gamma;
  o->seed = (guint64) a->seed;
  job->decoder.seed = o->seed;
  if (a->decoder_epochs > 0)
    job->decoder.epochs = a->decoder_epochs;
  if (*minutes > 0)
    job->deadline = g_get_monotonic_time () + (gint64) (*minutes * 60 * G_USEC_PER_SEC);
  job->recipe_label = a->recipe;
  job->separate = a->separate;
  job->resume = a->resume;
  job->validation = a->validation;
  job->until_plateau = a->until_plateau;
  job->out = a->out;
  return TRUE;
}

/* The backbone of --backbone/--weights, for a new model; or the one the model to continue was
 * trained with. */
static UadBackbone *
load_backbone (TrainArgs *a, const UadModel *continued, char **sha, GError **error)
{
  if (continued != NULL)
    return cli_load_model_backbone (continued, a->bo.weights, a->bo.threads, sha, error);
  return cli_load_backbone_sha (&a->bo, sha, error);
}

/* PaDiM fits in one pass and leaves any checkpoint of other runs alone. */
static UadModel *
fit_padim (TrainArgs *a, UadBackbone *bb, const char *sha, const UadDataset *ds, GError **error)
{
  g_autoptr (UadModel) model = cli_fit_padim (bb, sha, ds, a->cache_dir, a->no_disk_cache,
                                              a->separate, error);
  if (model == NULL || !uad_train_job_save (model, a->out, FALSE, "--resume", error))
    return NULL;
  return g_steal_pointer (&model);
}

static UadModel *
train_uniad (TrainArgs *a, UadTrainJobOptions *job, double minutes, UadBackbone *bb,
             const char *sha, UadModel *continued, const UadDataset *ds, GError **error)
{
  job->train_decoder = !a->no_decoder && (continued == NULL || continued->decoder == NULL);
  g_autofree char *length = job->deadline > 0
    ? g_strdup_printf ("a budget of %g minutes", minutes)
    : g_strdup_printf ("%d epochs", job->recipe.train.epochs);
  fprintf (stderr, "recipe %s (%s), %s%s\n", job->recipe.name, job->recipe.summary, length,
           continued ? ", continuing the model's training" : "");
  g_autofree char *cache_dir = a->no_disk_cache ? NULL
                               : a->cache_dir ? g_strdup (a->cache_dir)
                               : app_feature_cache_dir ();
  job->cache_dir = cache_dir;
  CliTrainMonitor monitor;
  cli_train_monitor_init (&monitor);
  cli_catch_interrupt ();
  UadModel *model = uad_train_job_run (job, bb, sha, ds, continued, &monitor.monitor, error);
  if (model == NULL)
    cli_train_monitor_failed (&monitor);
  return model;
}

static int
run_train (TrainArgs *a)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  gboolean in_place = a->continue_from && g_strcmp0 (a->continue_from, a->out) == 0;
  if (!a->resume && !a->force && !in_place && g_file_test (a->out, G_FILE_TEST_EXISTS))
    {
      cli_error ("train", "%s exists; choose another --out or pass --force to replace it", a->out);
      return CLI_EXIT_FAILURE;
    }
  UadTrainJobOptions job;
  double minutes;
  if (!make_job (a, &job, &minutes, &error))
    {
      cli_error ("train", "%s", error->message);
      return CLI_EXIT_USAGE;
    }
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) classes, &error);
  UadModel *continued = NULL;
  UadBackbone *bb = NULL;
  g_autofree char *sha = NULL;
  gboolean ok = ds != NULL;
  if (ok && a->continue_from != NULL)
    ok = (continued = uad_model_load (a->continue_from, &error)) != NULL
         && uad_model_check_grid (continued, a->continue_from, &error)
         && check_continued_classes (continued, ds, a->continue_from, &error);
  ok = ok && (bb = load_backbone (a, continued, &sha, &error)) != NULL;
  if (!ok)
    {
      uad_model_free (continued);
      uad_backbone_free (bb);
      if (error != NULL)
        cli_error ("train", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  g_autoptr (UadModel) model = g_strcmp0 (a->method, "padim") == 0
    ? fit_padim (a, bb, sha, ds, &error)
    : train_uniad (a, &job, minutes, bb, sha, continued, ds, &error);
  uad_backbone_free (bb);
  if (model == NULL)
    {
      cli_error ("train", "%s", error->message);
      return g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
    }
  print_classes (model);
  printf ("saved %s\n", a->out);
  return CLI_EXIT_OK;
}

static gboolean
valid_args (const TrainArgs *a)
{
  return a->epochs != 0 && a->epochs >= -1 && a->batch != 0 && a->batch >= -1
         && a->lr_step != 0 && a->lr_step >= -1 && a->checkpoint_every >= -1
         && a->decoder_epochs != 0 && a->decoder_epochs >= -1 && a->seed >= 0
         && !(a->minutes < 0) && (isnan (a->validation) || (a->validation >= 0 && a->validation < 1)) && (isnan (a->lr) || a->lr > 0) && (isnan (a->clip) || a->clip > 0);
}

int
cli_train (int argc, char **argv)
{
  TrainArgs a = {
    .epochs = -1, .batch = -1, .lr_step = -1, .checkpoint_every = -1, .decoder_epochs = -1,
    .minutes = 0, .lr = NAN, .weight_decay = NAN, .beta1 = NAN, .beta2 = NAN, .clip = NAN,
    .lr_gamma = NAN, .seed = 133, .validation = NAN,
  };
  g_autofree char *recipes = g_strjoinv (", ", (char **) uad_recipe_names ());
  g_autofree char *recipe_help = g_strdup_printf ("Training recipe: %s (default %s)", recipes,
                                                  UAD_RECIPE_DEFAULT);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Model file to write", "MODEL.uniad" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &a.method, "uniad (default), or padim: the training-free per-position Gaussian baseline", "NAME" },
    { "separate", 0, 0, G_OPTION_ARG_NONE, &a.separate, "One model per class: a transformer, or PaDiM's Gaussians (default: one for all)", NULL },
    { "recipe", 'r', 0, G_OPTION_ARG_STRING, &a.recipe, recipe_help, "NAME" },
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &a.minutes, "Train within this wall-clock budget, image decoder included (default: the recipe's; fast: 60)", "M" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.epochs, "Train for this many epochs instead of a time budget (official recipe: 1000)", "N" },
    { "validation", 0, 0, G_OPTION_ARG_DOUBLE, &a.validation, "Share of the good images held out to estimate image AUROC with synthetic anomalies after each epoch (default: the recipe's; fast: 0.1, official: 0)", "F" },
    { "until-plateau", 0, 0, G_OPTION_ARG_NONE, &a.until_plateau, "Stop when the validation estimate has not improved for 3 epochs (within --minutes or --epochs, or the recipe's default)", NULL },
    { "continue", 0, 0, G_OPTION_ARG_FILENAME, &a.continue_from, "Train this finished model further (its weights, new optimiser state, the recipe's schedule over the new --minutes or --epochs); --out may be the same file", "MODEL.uniad" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &a.resume, "Continue an interrupted run from MODEL.uniad.checkpoint, with the same data and options (a finished run: see --continue)", NULL },
    { "mask", 0, 0, G_OPTION_ARG_STRING, &a.mask, "Ablation: neighbour-mask size, odd, 0 = no mask (default 7)", "N" },
    { "queries", 0, 0, G_OPTION_ARG_STRING, &a.queries, "Ablation: 0 = one learned query at the decoder's input instead of one per layer (default 1)", "0|1" },
    { "jitter", 0, 0, G_OPTION_ARG_STRING, &a.jitter, "Ablation: feature-jitter scale, 0 = none (default: the recipe's; fast: 10)", "X" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &a.force, "Replace an existing model file", NULL },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.batch, "Batch size (default 8)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr, "Learning rate, the peak with a cosine schedule (default: the recipe's)", "LR" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &a.weight_decay, "AdamW weight decay (default 1e-4)", "WD" },
    { "beta1", 0, 0, G_OPTION_ARG_DOUBLE, &a.beta1, "AdamW beta1 (default 0.9)", "B" },
    { "beta2", 0, 0, G_OPTION_ARG_DOUBLE, &a.beta2, "AdamW beta2 (default 0.999)", "B" },
    { "clip", 0, 0, G_OPTION_ARG_DOUBLE, &a.clip, "Gradient norm clip (default 0.1)", "NORM" },
    { "lr-step", 0, 0, G_OPTION_ARG_INT, &a.lr_step, "Step schedule: epochs between learning-rate drops (default 800)", "N" },
    { "lr-gamma", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr_gamma, "Step schedule: learning-rate drop factor (default 0.1)", "G" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &a.checkpoint_every, "Epochs between checkpoints (default 10; 0 = only on Ctrl-C)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { "no-disk-cache", 0, 0, G_OPTION_ARG_NONE, &a.no_disk_cache, "Keep backbone features in memory only", NULL },
    { "no-decoder", 0, 0, G_OPTION_ARG_NONE, &a.no_decoder, "Do not train an image decoder after the transformer", NULL },
    { "decoder-epochs", 0, 0, G_OPTION_ARG_INT, &a.decoder_epochs, "Image decoder epochs, without a time budget (default 10)", "N" },
    { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 4;
  cli_backbone_entries (&a.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "train", "", "train a UniAD model on good images", entries))
    ;
  else if (argc != 1 || a.data == NULL || a.out == NULL)
    cli_error ("train", "--data ROOT and --out MODEL.uniad are required (see 'uniad train --help')");
  else if (!valid_args (&a))
    cli_error ("train", "--epochs, --batch, --lr-step, --decoder-epochs must be >= 1, --minutes, "
               "--lr and --clip > 0, --seed and --checkpoint-every >= 0, 0 <= --validation < 1");
  else if (a.minutes > 0 && a.epochs > 0)
    cli_error ("train", "give --minutes or --epochs, not both");
  else if (a.resume && a.continue_from)
    cli_error ("train", "--resume continues an interrupted run, --continue a finished model: not both");
  else if (a.method && g_strcmp0 (a.method, "uniad") != 0 && g_strcmp0 (a.method, "padim") != 0)
    cli_error ("train", "--method is uniad or padim, not '%s'", a.method);
  else if (g_strcmp0 (a.method, "padim") == 0
           && (a.resume || a.continue_from || a.recipe || a.minutes > 0 || a.epochs > 0))
    cli_error ("train", "--method padim fits in one pass: no --recipe, --minutes, --epochs, "
               "--resume or --continue");
  else
    status = run_train (&a);
  cli_backbone_options_clear (&a.bo);
  g_free (a.data), g_free (a.classes), g_free (a.out), g_free (a.cache_dir);
  g_free (a.recipe), g_free (a.continue_from), g_free (a.method);
  g_free (a.mask), g_free (a.queries), g_free (a.jitter);
  return status;
}
