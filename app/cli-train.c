/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train.c: `uniad train`: a UniAD model from the good images of an MVTec-layout dataset,
 * by a named recipe (uad-recipe.h), for a number of epochs or a time budget, with an image
 * decoder (cli-train-decoder.c) unless --no-decoder; or more training for a finished model.
 * --method padim fits the PaDiM baseline instead (cli-train-padim.c). */
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-progress.h"
#include "cli-recipe-model.h"
#include "cli-training-data.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-trainer.h"
#include "uad-validation.h"
#include "uad-verdict.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* With a time budget, the image decoder's share of it (it only draws the reconstruction). */
#define DECODER_SHARE 0.1
/* --until-plateau's held-out share when neither the recipe nor --validation gives one. */
#define PLATEAU_DEFAULT_SHARE 0.1

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

/* What a run does, once the recipe and the options are combined. */
typedef struct {
  UadRecipe recipe;
  UadDecoderTrainOptions decoder;
  double minutes;   /* the time budget, or 0 */
  gint64 deadline;  /* g_get_monotonic_time () when it ends, or 0 */
  gboolean train_decoder; /* not with --no-decoder, nor for a continued model that has one */
} TrainPlan;

/* Estimates of validation AUROC that may pass without a gain of PLATEAU_GAIN points before
 * --until-plateau ends the training. */
#define PLATEAU_PATIENCE 3
#define PLATEAU_GAIN 0.1

typedef struct {
  CliProgress bar;
  UadTrainer *trainer;
  UadModel *model;
  const UadValidation *validation; /* or NULL */
  gboolean until_plateau;
  double estimate, best;           /* latest and best validation AUROC (NaN before any) */
  int since_best;                  /* estimates since the best one */
} ProgressState;

/* At the end of each epoch: the validation estimate, and the plateau rule. */
static void
validate (ProgressState *ps, const UadTrainProgress *p)
{
  ps->estimate = uad_validation_estimate (ps->validation, ps->model,
                                          p->n_models > 1 ? p->model_index : -1);
  if (isnan (ps->best) || ps->estimate > ps->best + PLATEAU_GAIN)
    ps->best = ps->estimate, ps->since_best = 0;
  else
    ps->since_best++;
  g_autofree char *model = p->n_models > 1 ? g_strdup_printf ("model %d/%d, ", p->model_index + 1, p->n_models)
                                           : g_strdup ("");
  g_autofree char *line = g_strdup_printf ("%sepoch %d: loss %.5f, validation AUROC (synthetic "
                                           "anomalies) %.1f, best %.1f", model, p->epoch + 1,
                                           p->epoch_loss, ps->estimate, ps->best);
  cli_progress_note (&ps->bar, line);
  if (ps->until_plateau && ps->since_best >= PLATEAU_PATIENCE)
    {
      g_autofree char *stop = g_strdup_printf ("validation AUROC has not improved for %d epochs: "
                                               "training ends here", PLATEAU_PATIENCE);
      cli_progress_note (&ps->bar, stop);
      uad_trainer_finish_model (ps->trainer);
    }
}

static gboolean
on_step (const UadTrainProgress *p, void *user_data)
{
  ProgressState *ps = user_data;
  if (ps->validation != NULL && p->step == p->steps_per_epoch)
    validate (ps, p);
  g_autofree char *eta = cli_format_duration (p->eta_seconds);
  g_autofree char *epoch = cli_format_epoch (p->epoch, p->epochs);
  g_autofree char *model = p->n_models > 1 ? g_strdup_printf ("model %d/%d  ", p->model_index + 1, p->n_models)
                                           : g_strdup ("");
  g_autofree char *val = isnan (ps->estimate) ? g_strdup ("")
                                              : g_strdup_printf ("  val AUROC %.1f", ps->estimate);
  g_autofree char *text = g_strdup_printf ("%s%s  step %d/%d  loss %.5f%s  lr %.2e  %.1f img/s  ETA %s",
                                           model, epoch, p->step, p->steps_per_epoch,
                                           p->epoch_loss, val, p->lr, p->images_per_second, eta);
  cli_progress_update (&ps->bar, p->fraction, text);
  return !cli_interrupted ();
}

/* A new model for the dataset's classes, with the recipe's standardisation fitted. */
static UadModel *
new_model (TrainArgs *a, const TrainPlan *plan, UadBackbone *bb, const char *sha,
           const UadDataset *ds, const UadTensor *features, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    g_ptr_array_add (names, ds->classes[k].name);
  return cli_recipe_model_new (&plan->recipe, uad_backbone_get_kind (bb), sha, features,
                               a->separate, (const char *const *) names->pdata, ds->n_classes,
                               error);
}

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

/* Trains model's transformers on features, from scratch, from the checkpoint (--resume), or
 * from the model's weights (--continue); with validation when given. */
static gboolean
train_transformers (TrainArgs *a, const TrainPlan *plan, UadModel *model,
                    const UadTensor *features, const int *class_of,
                    const UadValidation *validation, GError **error)
{
  ProgressState ps = { .model = model, .validation = validation,
                       .until_plateau = a->until_plateau, .estimate = NAN, .best = NAN };
  cli_progress_init (&ps.bar);
  g_autofree char *checkpoint = g_strconcat (a->out, ".checkpoint", NULL);
  UadTrainOptions opts = plan->recipe.train;
  if (plan->deadline > 0)
    {
      double left = (plan->deadline - g_get_monotonic_time ()) / 1e6;
      opts.seconds = MAX (left * (plan->train_decoder ? 1 - DECODER_SHARE : 1), 1);
      opts.budget_callbacks = TRUE;
    }
  UadTrainingSummary before = model->training;
  UadTrainer *trainer = uad_trainer_new (model, features, class_of, &opts, checkpoint);
  ps.trainer = trainer;
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
      if (a->continue_from == NULL)
        uad_trainer_init_weights (trainer);
      ok = TRUE;
    }
  ok = ok && uad_trainer_run (trainer, on_step, &ps, error);
  /* The finished state is checkpointed too: it goes only once the model file is in place
   * (save_trained), so a failed save loses no training. */
  ok = ok && uad_trainer_save_checkpoint (trainer, error);
  uad_trainer_free (trainer);
  if (!ok)
    {
      if (ps.bar.tty)
        fprintf (stderr, "\n");
      return FALSE;
    }
  if (a->continue_from != NULL)
    {
      model->training.epochs += before.epochs;
      model->training.seconds += before.seconds;
    }
  g_free (model->training.recipe);
  model->training.recipe = g_strdup (a->recipe ? a->recipe : plan->recipe.name);
  /* The estimate under the distance the model keeps, which the epochs' estimates lacked. */
  g_autofree char *estimate = validation != NULL && model->n_residuals > 0
    ? g_strdup_printf ("; validation AUROC %.1f with the residual distance",
                       uad_validation_estimate (validation, model, -1))
    : g_strdup ("");
  g_autofree char *summary = g_strdup_printf ("trained %d epochs on %d images: final loss %.5f, %.1f s%s",
                                              model->training.epochs, (int) features->shape[0],
                                              model->training.final_loss, model->training.seconds,
                                              estimate);
  cli_progress_done (&ps.bar, summary);
  return TRUE;
}

/* Saves the trained model, and only then drops its training checkpoint; when the save fails
 * the checkpoint stays, and the message says how to get the model from it. */
static gboolean
save_trained (const TrainArgs *a, UadModel *model, GError **error)
{
  g_autofree char *checkpoint = g_strconcat (a->out, ".checkpoint", NULL);
  if (!uad_model_save (model, a->out, error))
    {
      if (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR))
        g_prefix_error (error, "the training is kept in %s; once %s can be written, run the same "
                        "command with --resume to save it: ", checkpoint, a->out);
      return FALSE;
    }
  if (g_strcmp0 (a->method, "padim") != 0) /* PaDiM has no checkpoint, and leaves others' */
    g_unlink (checkpoint);
  return TRUE;
}

/* The held-out images and synthetic anomalies of the recipe's (or --validation's) share, or
 * NULL without validation. Without enough images to spare, training goes on without it,
 * unless --until-plateau needs it. */
static UadValidation *
make_validation (const TrainArgs *a, const TrainPlan *plan, const UadTensor *features,
                 const int *class_of, int n_classes, GError **error)
{
  double share = !isnan (a->validation) ? a->validation : plan->recipe.validation_share;
  if (a->until_plateau && !(share > 0))
    share = PLATEAU_DEFAULT_SHARE;
  if (!(share > 0))
    return NULL;
  g_autoptr (GError) local = NULL;
  UadValidation *v = uad_validation_new (features, class_of, n_classes, share,
                                         plan->recipe.train.seed, &local);
  if (v != NULL)
    fprintf (stderr, "validation: %d training images held out, each with a synthetic anomaly\n",
             uad_validation_get_held_out (v));
  else if (a->until_plateau)
    g_propagate_error (error, g_steal_pointer (&local));
  else
    fprintf (stderr, "validation: none (%s)\n", local->message);
  return v;
}

/* Takes ownership of continued (the model to train further, or NULL for a new one). */
static UadModel *
train_model (TrainArgs *a, const TrainPlan *plan, UadBackbone *bb, const char *sha,
             UadModel *continued, const UadDataset *ds, GError **error)
{
  g_autoptr (UadModel) model = continued;
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = cli_training_images (ds, &class_of, &n);
  g_autoptr (UadTensor) features = cli_extract_features (bb, sha, a->cache_dir, a->no_disk_cache,
                                                         (const char *const *) paths, n, error);
  if (features == NULL)
    return NULL;
  if (model == NULL && (model = new_model (a, plan, bb, sha, ds, features, error)) == NULL)
    return NULL;
  g_autoptr (GError) no_validation = NULL;
  g_autoptr (UadValidation) validation = make_validation (a, plan, features, class_of,
                                                          ds->n_classes, &no_validation);
  if (no_validation != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&no_validation));
      return NULL;
    }
  gboolean trained = validation != NULL
    ? train_transformers (a, plan, model, uad_validation_get_train_features (validation),
                          uad_validation_get_train_classes (validation), validation, error)
    : train_transformers (a, plan, model, features, class_of, NULL, error);
  if (!trained)
    return NULL;
  if (!plan->train_decoder)
    return g_steal_pointer (&model);
  /* The decoder draws features as the model's scorer hands them out. */
  uad_model_standardize_features (model, features->data, n);
  /* The transformer is trained: keep it even if the decoder does not finish. */
  if (!save_trained (a, model, error))
    return NULL;
  if (!cli_add_decoder (model, uad_backbone_get_normalization (bb), features,
                        (const char *const *) paths, n, &plan->decoder, plan->deadline, error))
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

/* The recipe with the options given on top; fails on an unknown recipe. */
static gboolean
make_plan (const TrainArgs *a, TrainPlan *plan, GError **error)
{
  memset (plan, 0, sizeof *plan);
  if (!uad_recipe_lookup (a->recipe ? a->recipe : UAD_RECIPE_DEFAULT, &plan->recipe, error))
    return FALSE;
  const struct { const char *key, *value; } ablations[] = {
    { "mask", a->mask }, { "queries", a->queries }, { "jitter", a->jitter },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (ablations); i++)
    {
      g_autofree char *setting = g_strdup_printf ("%s=%s", ablations[i].key, ablations[i].value);
      if (ablations[i].value != NULL && !uad_recipe_set (&plan->recipe, setting, error))
        return FALSE;
    }
  UadTrainOptions *o = &plan->recipe.train;
  double minutes = a->minutes > 0 ? a->minutes
                   : a->epochs > 0 ? 0
                   : plan->recipe.default_minutes;
  o->epochs = a->epochs > 0 ? a->epochs : plan->recipe.default_epochs;
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
  uad_decoder_train_options_default (&plan->decoder);
  plan->decoder.seed = o->seed;
  if (a->decoder_epochs > 0)
    plan->decoder.epochs = a->decoder_epochs;
  /* A budget counts from now: feature extraction and the decoder are inside it. */
  plan->minutes = minutes;
  if (minutes > 0)
    plan->deadline = g_get_monotonic_time () + (gint64) (minutes * 60 * G_USEC_PER_SEC);
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
  TrainPlan plan;
  if (!make_plan (a, &plan, &error))
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
  plan.train_decoder = !a->no_decoder && (continued == NULL || continued->decoder == NULL);
  g_autofree char *length = plan.deadline > 0
    ? g_strdup_printf ("a budget of %g minutes", plan.minutes)
    : g_strdup_printf ("%d epochs", plan.recipe.train.epochs);
  g_autoptr (UadModel) model = NULL;
  if (g_strcmp0 (a->method, "padim") == 0)
    model = cli_fit_padim (bb, sha, ds, a->cache_dir, a->no_disk_cache, a->separate, &error);
  else
    {
      fprintf (stderr, "recipe %s (%s), %s%s\n", plan.recipe.name, plan.recipe.summary, length,
               continued ? ", continuing the model's training" : "");
      cli_catch_interrupt ();
      model = train_model (a, &plan, bb, sha, continued, ds, &error);
    }
  uad_backbone_free (bb);
  if (model == NULL)
    {
      cli_error ("train", "%s", error->message);
      return g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
    }
  if (!save_trained (a, model, &error))
    {
      cli_error ("train", "%s", error->message);
      return CLI_EXIT_FAILURE;
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
