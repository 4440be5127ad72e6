/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study.c: `uniad study convergence`: time to accuracy of training recipes. Each recipe
 * trains a unified model for the same training time on a dataset's good images; every few
 * minutes of training the model is evaluated on the test split (image and pixel AUROC, mean
 * over classes, as `uniad eval` computes them), without the backbone: the features of every
 * image are extracted once. PaDiM (uad-padim.h), fitted on the same features, gives the
 * training-free reference lines. A tenth of the good images is held out of training for the
 * validation estimate (uad-validation.h), recorded beside the real AUROC to show how well it
 * tracks it. Writes a CSV table and a plot (PNG and SVG). */
#include "cli-commands.h"
#include "cli-training-data.h"
#include "cli-common.h"
#include "cli-progress.h"
#include "cli-study-csv.h"
#include "cli-study-plot.h"
#include "cli-recipe-model.h"
#include "cli-study-test-set.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-recipe.h"
#include "uad-validation.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define SCORE_BATCH 8
/* Training images held out for the validation estimate, as the default recipe does. */
#define STUDY_VALIDATION_SHARE 0.1

typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir, *recipes;
  double minutes, eval_every;
  gint64 seed;
} StudyArgs;

typedef struct {
  const CliTestSet *test;
  const UadValidation *validation; /* held out of training, for the estimate beside the truth;
                                      NULL with too few images (then all_train trains) */
  UadTensor *all_train;
  const int *all_class_of;
  FILE *csv;
  CliStudySeries *series;
  const char *recipe;
  /* The recipe's distance, fitted on train (class_of) for each evaluation during training,
   * as the trainer fits it at the end. */
  UadResidualDistance distance;
  const UadTensor *train;
  const int *train_class_of;
  double next_eval;       /* training seconds of the next evaluation */
  double every;           /* seconds between evaluations */
  double last_loss;
  int last_epoch;
} StudyRun;

/* Mean over classes of image AUROC and of pixel AUROC (classes with masks), as `uniad eval`. */
static void
evaluate (UadModel *model, const CliTestSet *ts, double *image_auroc, double *pixel_auroc)
{
  size_t per = uad_tensor_numel (ts->features) / ts->n;
  g_autofree double *scores = g_new (double, ts->n);
  g_autofree float *maps = g_new (float, (size_t) ts->n * MAP * MAP);
  g_autoptr (UadFeatureScorer) scorer = uad_feature_scorer_new (model, SCORE_BATCH);
  for (int i = 0; i < ts->n; i += SCORE_BATCH)
    uad_feature_scorer_run (scorer, ts->features->data + i * per, MIN (SCORE_BATCH, ts->n - i),
                            ts->class_of + i, scores + i, maps + (size_t) i * MAP * MAP, NULL, NULL);
  cli_test_set_metrics (ts, scores, maps, image_auroc, pixel_auroc, NULL, NULL);
}

static void
record (StudyRun *run, UadModel *model, double seconds)
{
  double image, pixel;
  gint64 t0 = g_get_monotonic_time ();
  evaluate (model, run->test, &image, &pixel);
  double estimate = run->validation ? uad_validation_estimate (run->validation, model, -1) : NAN;
  g_autoptr (GString) row = g_string_new (NULL);
  g_string_append_printf (row, "%s,%.3f,%d,%.6f,%.2f,", run->recipe, seconds / 60, run->last_epoch,
                          run->last_loss, image);
  cli_study_csv_number (row, pixel, 2);
  g_string_append_c (row, ',');
  cli_study_csv_number (row, estimate, 2);
  fprintf (run->csv, "%s\n", row->str);
  fflush (run->csv);
  cli_study_series_add (run->series, seconds / 60, image, pixel, run->last_loss);
  fprintf (stderr, "%-14s %6.1f min  epoch %3d  loss %.5f  image AUROC %5.1f  pixel AUROC %5.1f  "
           "validation estimate %5.1f  (eval %.0f s)\n", run->recipe, seconds / 60, run->last_epoch,
           run->last_loss, image, pixel, estimate, (g_get_monotonic_time () - t0) / 1e6);
}

typedef struct {
  StudyRun *run;
  UadModel *model;
} StepContext;

static gboolean
on_study_step (const UadTrainProgress *p, void *user_data)
{
  StepContext *c = user_data;
  c->run->last_loss = p->epoch_loss;
  c->run->last_epoch = p->epoch;
  if (p->seconds >= c->run->next_eval)
    {
      g_autoptr (GError) error = NULL;
      if (!uad_residual_fit (c->model, c->run->train, c->run->train_class_of, c->run->distance,
                             &error))
        fprintf (stderr, "%s: evaluated with the L2 distance: %s\n", c->run->recipe, error->message);
      record (c->run, c->model, p->seconds);
      /* Training goes on: these Gaussians would be stale at the next evaluation. */
      uad_model_set_residuals (c->model, NULL, 0);
      c->run->next_eval += c->run->every;
    }
  return !cli_interrupted ();
}

/* Trains one recipe for the study's time on the validation's training images and evaluates
 * it along the way. */
static gboolean
study_recipe (StudyArgs *a, const char *name, UadBackbone *bb, const char *sha, StudyRun *run,
              GError **error)
{
  UadTensor *train = run->validation ? uad_validation_get_train_features ((UadValidation *) run->validation)
                                      : run->all_train;
  const int *class_of = run->validation ? uad_validation_get_train_classes (run->validation)
                                        : run->all_class_of;
  UadRecipe recipe;
  if (!uad_recipe_lookup (name, &recipe, error))
    return FALSE;
  const UadDataset *ds = run->test->ds;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    g_ptr_array_add (names, ds->classes[k].name);
  g_autoptr (UadModel) model = cli_recipe_model_new (&recipe, uad_backbone_get_kind (bb), sha, train,
                                                     FALSE, (const char *const *) names->pdata,
                                                     ds->n_classes, error);
  if (model == NULL)
    return FALSE;

  UadTrainOptions opts = recipe.train;
  opts.seconds = a->minutes * 60;
  opts.seed = (guint64) a->seed;
  opts.checkpoint_every = 0;
  run->recipe = name;
  run->distance = recipe.train.residual;
  run->train = train;
  run->train_class_of = class_of;
  run->series = cli_study_series_new (name);
  run->next_eval = run->every;
  run->last_loss = NAN;
  run->last_epoch = 0;
  UadTrainer *trainer = uad_trainer_new (model, train, class_of, &opts, NULL);
  uad_trainer_init_weights (trainer);
  StepContext ctx = { run, model };
  gboolean ok = uad_trainer_run (trainer, on_study_step, &ctx, error);
  uad_trainer_free (trainer);
  if (ok) /* the end of the budget, unless the last evaluation was just then */
    {
      GArray *m = run->series->minutes;
      if (m->len == 0 || g_array_index (m, double, m->len - 1) < model->training.seconds / 60 - 1e-3)
        record (run, model, model->training.seconds);
    }
  return ok;
}

/* PaDiM's mean image and pixel AUROC on the test set, fitted unified or per class. */
static gboolean
padim_line (UadBackbone *bb, const char *sha, const UadTensor *train,
            const int *class_of, const CliTestSet *ts, gboolean separate, CliStudyReference *ref,
            GError **error)
{
  const UadDataset *ds = ts->ds;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    g_ptr_array_add (names, ds->classes[k].name);
  g_autoptr (UadModel) model = uad_model_new_padim (uad_backbone_get_kind (bb), sha,
                                                    (int) train->shape[1], separate,
                                                    (const char *const *) names->pdata, ds->n_classes);
  if (!uad_model_fit_padim (model, train, class_of, error))
    return FALSE;
  ref->name = separate ? "PaDiM per class" : "PaDiM unified";
  evaluate (model, ts, &ref->image_auroc, &ref->pixel_auroc);
  fprintf (stderr, "%-14s image AUROC %5.1f  pixel AUROC %5.1f\n", ref->name, ref->image_auroc,
           ref->pixel_auroc);
  return TRUE;
}

static gboolean
run_study (StudyArgs *a, GError **error)
{
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) classes, error);
  if (ds == NULL || !uad_dataset_check_masks (ds, error))
    return FALSE;
  g_auto (GStrv) recipes = g_strsplit (a->recipes ? a->recipes : "fast,official", ",", -1);
  for (int r = 0; recipes[r]; r++)
    {
      UadRecipe check;
      if (!uad_recipe_lookup (recipes[r], &check, error))
        return FALSE;
    }
  if (g_mkdir_with_parents (a->out, 0755) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot create the folder: %s", a->out,
                   g_strerror (errno));
      return FALSE;
    }
  g_autofree char *sha = NULL;
  UadBackbone *bb = cli_load_backbone_sha (&a->bo, &sha, error);
  if (bb == NULL)
    return FALSE;
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = cli_training_images (ds, &class_of, &n);
  g_autoptr (UadTensor) train = cli_extract_features (bb, sha, a->cache_dir, FALSE,
                                                      (const char *const *) paths, n, error);
  CliTestSet ts = { 0 };
  gboolean ok = train != NULL && cli_test_set_load (&ts, bb, sha, a->cache_dir, ds, error);
  CliStudyReference refs[2];
  ok = ok && padim_line (bb, sha, train, class_of, &ts, FALSE, &refs[0], error)
       && padim_line (bb, sha, train, class_of, &ts, TRUE, &refs[1], error);

  g_autofree char *csv_path = g_build_filename (a->out, "convergence.csv", NULL);
  FILE *csv = ok ? fopen (csv_path, "w") : NULL;
  if (ok && csv == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", csv_path, g_strerror (errno));
      ok = FALSE;
    }
  g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) cli_study_series_free);
  if (ok)
    {
      fprintf (csv, "recipe,minutes,epoch,loss,image_auroc,pixel_auroc,validation_auroc\n");
      for (int i = 0; i < 2; i++)
        {
          g_autoptr (GString) row = g_string_new (NULL);
          g_string_append_printf (row, "%s,,,,%.2f,", refs[i].name, refs[i].image_auroc);
          cli_study_csv_number (row, refs[i].pixel_auroc, 2);
          fprintf (csv, "%s,\n", row->str);
        }
      cli_catch_interrupt ();
    }
  g_autoptr (GError) no_validation = NULL;
  g_autoptr (UadValidation) validation = ok ? uad_validation_new (train, class_of, ds->n_classes,
                                                                  STUDY_VALIDATION_SHARE, (guint64) a->seed,
                                                                  &no_validation)
                                            : NULL;
  if (no_validation != NULL)
    fprintf (stderr, "validation: none, every good image trains (%s)\n", no_validation->message);
  StudyRun run = { .test = &ts, .validation = validation, .all_train = train, .all_class_of = class_of,
                   .csv = csv, .every = a->eval_every * 60 };
  gboolean stopped = FALSE;
  for (int r = 0; ok && !stopped && recipes[r]; r++)
    {
      run.series = NULL;
      ok = study_recipe (a, recipes[r], bb, sha, &run, error);
      if (run.series != NULL)
        g_ptr_array_add (series, run.series);
      /* Ctrl-C: what was measured so far still goes into the table and the plots. */
      if (!ok && g_error_matches (*error, UAD_ERROR, UAD_ERROR_CANCELLED))
        {
          g_clear_error (error);
          ok = stopped = TRUE;
        }
    }
  if (csv != NULL && fclose (csv) != 0 && ok)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", csv_path, g_strerror (errno));
      ok = FALSE;
    }
  if (ok)
    {
      g_autofree char *png = g_build_filename (a->out, "convergence.png", NULL);
      g_autofree char *svg = g_build_filename (a->out, "convergence.svg", NULL);
      ok = cli_study_plot (png, svg, (CliStudySeries **) series->pdata, (int) series->len, refs,
                           2, a->minutes, "minutes of training", error);
      if (ok)
        printf ("wrote %s, %s and %s\n", csv_path, png, svg);
    }
  if (ok && stopped)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "stopped; %s has what was measured", a->out);
      ok = FALSE;
    }
  cli_test_set_clear (&ts);
  uad_backbone_free (bb);
  return ok;
}

int
cli_study (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "shortcut") == 0)
    return cli_study_shortcut (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "unified") == 0)
    return cli_study_unified (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "ablation") == 0)
    return cli_study_ablation (argc, argv);
  StudyArgs a = { .minutes = 15, .eval_every = 0, .seed = 133 };
  g_autofree char *recipes = g_strjoinv (", ", (char **) uad_recipe_names ());
  g_autofree char *recipe_help = g_strdup_printf ("Recipes to compare, comma-separated (default fast,official; known: %s)", recipes);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &a.minutes, "Training time of each recipe (default 15)", "M" },
    { "recipes", 'r', 0, G_OPTION_ARG_STRING, &a.recipes, recipe_help, "A,B" },
    { "eval-every", 0, 0, G_OPTION_ARG_DOUBLE, &a.eval_every, "Minutes of training between evaluations (default: a tenth of --minutes)", "M" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Folder for convergence.csv, .png and .svg", "DIR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 4;
  cli_backbone_entries (&a.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "study", "convergence",
                  "compare training recipes by time to accuracy", entries))
    ;
  else if (argc != 2 || strcmp (argv[1], "convergence") != 0)
    cli_error ("study", "the study to run: 'uniad study convergence' or 'uniad study shortcut' "
               "(see 'uniad study --help')");
  else if (a.data == NULL || a.out == NULL)
    cli_error ("study", "--data ROOT and --out DIR are required");
  else if (!(a.minutes > 0) || a.eval_every < 0 || a.seed < 0)
    cli_error ("study", "--minutes must be > 0, --eval-every and --seed >= 0");
  else
    {
      g_autoptr (GError) error = NULL;
      if (a.eval_every == 0)
        a.eval_every = a.minutes / 10;
      status = CLI_EXIT_OK;
      if (!run_study (&a, &error))
        {
          cli_error ("study", "%s", error->message);
          status = g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
        }
    }
  cli_backbone_options_clear (&a.bo);
  g_free (a.data), g_free (a.classes), g_free (a.out), g_free (a.cache_dir), g_free (a.recipes);
  return status;
}
