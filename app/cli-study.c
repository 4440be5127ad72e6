/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study.c: `uniad study convergence`: time to accuracy of training recipes. Each recipe
 * trains a unified model for the same training time on a dataset's good images; every few
 * minutes of training the model is evaluated on the test split (image and pixel AUROC, mean
 * over classes, as `uniad eval` computes them), without the backbone: the features of every
 * image are extracted once. PaDiM (uad-padim.h), fitted on the same features, gives the
 * training-free reference lines. A tenth of the good images is held out of training for the
 * validation estimate (uad-validation.h), recorded beside the real AUROC to show how well it
 * tracks it. Each recipe trains for --minutes (evaluated every --eval-every minutes) or
 * --epochs (evaluated every --every epochs). Writes into --out (cli-study-out.h):
 * convergence.csv (recipe,minutes,epoch,loss,image_auroc,pixel_auroc,validation_auroc: PaDiM's
 * two rows, then one row per recipe per evaluation), the plot (PNG and SVG) and study.json with
 * each recipe's last row. Ctrl-C or SIGTERM stops the recipe in training after its step and
 * writes its trainer's checkpoint (state/RECIPE.checkpoint); --resume continues it, skips the
 * recipes done (state/RECIPE.done) and keeps their rows. */
#include "cli-commands.h"
#include "cli-training-data.h"
#include "cli-common.h"
#include "cli-progress.h"
#include "cli-study-csv.h"
#include "cli-study-out.h"
#include "cli-study-plot.h"
#include "cli-recipe-model.h"
#include "cli-study-test-set.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-json.h"
#include "uad-recipe.h"
#include "uad-validation.h"
#include "uad-weights.h"
#include "uad-train-job.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define SCORE_BATCH 8
/* Training images held out for the validation estimate, as the default recipe does. */
#define STUDY_VALIDATION_SHARE 0.1

#define CSV_HEADER "recipe,minutes,epoch,loss,image_auroc,pixel_auroc,validation_auroc"

typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir, *recipes;
  double minutes, eval_every; /* minutes 0: --epochs */
  int epochs, every;
  gint64 seed;
  gboolean resume;
} StudyArgs;

typedef struct {
  const CliTestSet *test;
  const UadValidation *validation; /* held out of training, for the estimate beside the truth;
                                      NULL with too few images (then all_train trains) */
  UadTensor *all_train;
  const int *all_class_of;
  const StudyArgs *a;
  CliStudyCsv *csv;
  CliProgress bar;
  int recipe_index, n_recipes;
  const char *recipe;
  /* The recipe's distance, fitted on train (class_of) for each evaluation during training,
   * as the trainer fits it at the end. */
  UadResidualDistance distance;
  const UadTensor *train;
  const int *train_class_of;
  double next_eval;       /* training seconds of the next evaluation (--minutes) */
  double every;           /* seconds between evaluations */
  double last_row;        /* training seconds of the recipe's last row (-1: none) */
  double last_loss;
  int last_epoch;
  GError *error;          /* of writing a row, which stops the training */
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

static gboolean
record (StudyRun *run, UadModel *model, double seconds, GError **error)
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
  run->last_row = seconds;
  g_autofree char *note = g_strdup_printf ("%-14s %6.1f min  epoch %3d  loss %.5f  image AUROC %5.1f  "
                                           "pixel AUROC %5.1f  validation estimate %5.1f  (eval %.0f s)",
                                           run->recipe, seconds / 60, run->last_epoch, run->last_loss,
                                           image, pixel, estimate, (g_get_monotonic_time () - t0) / 1e6);
  cli_progress_note (&run->bar, note);
  return cli_study_csv_add (run->csv, row->str, error);
}

/* The training time the recipe in training and the later ones still need. */
static void
show_progress (StudyRun *run, const UadTrainProgress *p)
{
  double later = run->n_recipes - run->recipe_index - 1;
  double recipe_total = run->a->minutes > 0 ? run->a->minutes * 60 : p->seconds + p->eta_seconds;
  g_autofree char *epoch = cli_format_epoch (p->epoch, p->epochs);
  g_autofree char *left = cli_format_duration (p->eta_seconds);
  g_autofree char *study_left = cli_format_duration (p->eta_seconds + later * recipe_total);
  g_autofree char *text = g_strdup_printf ("recipe %d/%d %s: %s  loss %.5f  training time left: "
                                           "recipe %s, study %s", run->recipe_index + 1,
                                           run->n_recipes, run->recipe, epoch, p->epoch_loss, left,
                                           study_left);
  cli_progress_update (&run->bar, (run->recipe_index + p->fraction) / run->n_recipes, text);
}

typedef struct {
  StudyRun *run;
  UadModel *model;
} StepContext;

static gboolean
on_study_step (const UadTrainProgress *p, void *user_data)
{
  StepContext *c = user_data;
  StudyRun *run = c->run;
  run->last_loss = p->epoch_loss;
  run->last_epoch = p->epoch + (p->step == p->steps_per_epoch);
  show_progress (run, p);
  gboolean due = run->a->minutes > 0
    ? p->seconds >= run->next_eval
    : p->step == p->steps_per_epoch && (p->epoch + 1) % run->a->every == 0;
  if (due)
    {
      g_autoptr (GError) error = NULL;
      if (!uad_residual_fit (c->model, run->train, run->train_class_of, run->distance, &error))
        fprintf (stderr, "%s: evaluated with the L2 distance: %s\n", run->recipe, error->message);
      if (!record (run, c->model, p->seconds, &run->error))
        return FALSE;
      /* Training goes on: these Gaussians would be stale at the next evaluation. */
      uad_model_set_residuals (c->model, NULL, 0);
      while (run->a->minutes > 0 && run->next_eval <= p->seconds)
        run->next_eval += run->every;
    }
  return !cli_interrupted ();
}

/* Where the recipe's rows end: its last row's training seconds (-1 without rows). */
static double
last_row_seconds (const CliStudyCsv *csv, const char *recipe)
{
  GPtrArray *rows = cli_study_csv_rows (csv);
  double last = -1;
  for (guint i = 0; i < rows->len; i++)
    {
      char **f = rows->pdata[i];
      if (strcmp (f[0], recipe) == 0)
        last = MAX (last, cli_study_csv_value (f[1]) * 60);
    }
  return last;
}

/* Trains one recipe for the study's time on the validation's training images and evaluates
 * it along the way; continues from its checkpoint when there is one (--resume), and is skipped
 * when it is done. */
static gboolean
study_recipe (StudyArgs *a, const char *name, UadBackbone *bb, const char *sha, StudyRun *run,
              CliStudyOut *out, GError **error)
{
  g_autofree char *checkpoint = cli_study_out_state (out, name, ".checkpoint");
  g_autofree char *done = cli_study_out_state (out, name, ".done");
  if (g_file_test (done, G_FILE_TEST_EXISTS))
    return TRUE;
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
  g_autoptr (UadModel) model = uad_train_job_new_model (&recipe, uad_backbone_get_kind (bb), sha, train,
                                                     FALSE, (const char *const *) names->pdata,
                                                     ds->n_classes, error);
  if (model == NULL)
    return FALSE;

  UadTrainOptions opts = recipe.train;
  opts.seconds = a->minutes * 60;
  if (a->epochs > 0)
    opts.epochs = a->epochs;
  opts.seed = (guint64) a->seed;
  opts.checkpoint_every = 0;
  run->recipe = name;
  run->distance = recipe.train.residual;
  run->train = train;
  run->train_class_of = class_of;
  run->last_row = last_row_seconds (run->csv, name);
  run->next_eval = run->every;
  while (a->minutes > 0 && run->next_eval <= run->last_row)
    run->next_eval += run->every;
  run->last_loss = NAN;
  run->last_epoch = 0;
  UadTrainer *trainer = uad_trainer_new (model, train, class_of, &opts, checkpoint);
  gboolean ok = TRUE;
  if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))
    ok = uad_trainer_resume (trainer, error);
  else
    uad_trainer_init_weights (trainer);
  StepContext ctx = { run, model };
  ok = ok && uad_trainer_run (trainer, on_study_step, &ctx, error);
  uad_trainer_free (trainer);
  if (run->error != NULL) /* a row could not be written */
    {
      g_clear_error (error);
      g_propagate_error (error, g_steal_pointer (&run->error));
      return FALSE;
    }
  cli_progress_done (&run->bar, "");
  /* The end of the training, unless the last evaluation was just then. */
  if (ok && run->last_row < model->training.seconds - 0.06)
    ok = record (run, model, model->training.seconds, error);
  if (ok && g_remove (checkpoint) != 0 && errno != ENOENT)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", checkpoint, g_strerror (errno));
      return FALSE;
    }
  return ok && g_file_set_contents (done, "", 0, error);
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

/* Rows a resumed study keeps: its recipes' that are done or were stopped with a checkpoint
 * (whose rows all precede it); PaDiM's are measured again. */
static gboolean
keep_row (char **fields, void *user_data)
{
  CliStudyOut *out = user_data;
  g_autofree char *done = cli_study_out_state (out, fields[0], ".done");
  g_autofree char *checkpoint = cli_study_out_state (out, fields[0], ".checkpoint");
  return g_file_test (done, G_FILE_TEST_EXISTS) || g_file_test (checkpoint, G_FILE_TEST_EXISTS);
}

/* Each recipe's curve, from the table. */
static GPtrArray *
read_series (const CliStudyCsv *csv, char **recipes)
{
  GPtrArray *series = g_ptr_array_new_with_free_func ((GDestroyNotify) cli_study_series_free);
  GPtrArray *rows = cli_study_csv_rows (csv);
  for (int r = 0; recipes[r]; r++)
    {
      CliStudySeries *s = cli_study_series_new (recipes[r]);
      g_ptr_array_add (series, s);
      for (guint i = 0; i < rows->len; i++)
        {
          char **f = rows->pdata[i];
          if (strcmp (f[0], recipes[r]) == 0)
            cli_study_series_add (s, cli_study_csv_value (f[1]), cli_study_csv_value (f[4]),
                                  cli_study_csv_value (f[5]), cli_study_csv_value (f[3]));
        }
    }
  return series;
}

/* study.json's summary: PaDiM's lines and each recipe's last row. */
static char *
summary (const CliStudyReference *refs, int n_refs, GPtrArray *series)
{
  g_autoptr (GString) j = g_string_new ("{\"references\": {");
  for (int i = 0; i < n_refs; i++)
    {
      g_string_append (j, i ? ", " : "");
      uad_json_append_string (j, refs[i].name);
      g_string_append (j, ": {\"image_auroc\": ");
      uad_json_append_double (j, refs[i].image_auroc);
      g_string_append (j, ", \"pixel_auroc\": ");
      uad_json_append_double (j, refs[i].pixel_auroc);
      g_string_append (j, "}");
    }
  g_string_append (j, "}, \"recipes\": {");
  for (guint i = 0; i < series->len; i++)
    {
      const CliStudySeries *s = series->pdata[i];
      guint n = s->minutes->len;
      g_string_append (j, i ? ", " : "");
      uad_json_append_string (j, s->name);
      g_string_append (j, ": {\"minutes\": ");
      uad_json_append_double (j, n ? g_array_index (s->minutes, double, n - 1) : NAN);
      g_string_append (j, ", \"image_auroc\": ");
      uad_json_append_double (j, n ? g_array_index (s->image, double, n - 1) : NAN);
      g_string_append (j, ", \"pixel_auroc\": ");
      uad_json_append_double (j, n ? g_array_index (s->pixel, double, n - 1) : NAN);
      g_string_append (j, "}");
    }
  g_string_append (j, "}}");
  return g_string_free (g_steal_pointer (&j), FALSE);
}

static gboolean
write_plot (const StudyArgs *a, CliStudyOut *out, GPtrArray *series, const CliStudyReference *refs,
            GError **error)
{
  double x_max = a->minutes;
  for (guint i = 0; i < series->len; i++)
    {
      GArray *m = ((CliStudySeries *) series->pdata[i])->minutes;
      if (m->len > 0)
        x_max = MAX (x_max, g_array_index (m, double, m->len - 1));
    }
  g_autofree char *png = cli_study_out_file (out, "convergence.png");
  g_autofree char *svg = cli_study_out_file (out, "convergence.svg");
  if (!cli_study_plot (png, svg, (CliStudySeries **) series->pdata, (int) series->len, refs, 2,
                       x_max > 0 ? x_max : 1, "minutes of training", error))
    return FALSE;
  cli_study_out_add_file (out, "plot_png", "convergence.png");
  cli_study_out_add_file (out, "plot_svg", "convergence.svg");
  printf ("wrote %s and %s\n", png, svg);
  return TRUE;
}

/* The arguments that decide the results, as study.json records them. */
static GStrv
argument_list (const StudyArgs *a)
{
  char minutes[G_ASCII_DTOSTR_BUF_SIZE], eval_every[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *epochs = g_strdup_printf ("%d", a->epochs);
  g_autofree char *every = g_strdup_printf ("%d", a->every);
  g_autofree char *seed = g_strdup_printf ("%" G_GINT64_FORMAT, a->seed);
  const char *args[] = {
    "data", a->data, "classes", a->classes ? a->classes : "", "recipes", a->recipes,
    "minutes", g_ascii_dtostr (minutes, sizeof minutes, a->minutes),
    "eval-every", g_ascii_dtostr (eval_every, sizeof eval_every, a->eval_every),
    "epochs", epochs, "every", every, "seed", seed,
    "backbone", a->bo.backbone ? a->bo.backbone : "", "weights", a->bo.weights ? a->bo.weights : "",
    NULL,
  };
  return g_strdupv ((char **) args);
}

static gboolean
run_study (StudyArgs *a, GError **error)
{
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) classes, error);
  if (ds == NULL || !uad_dataset_check_masks (ds, error))
    return FALSE;
  g_auto (GStrv) recipes = g_strsplit (a->recipes, ",", -1);
  for (int r = 0; recipes[r]; r++)
    {
      UadRecipe check;
      if (!uad_recipe_lookup (recipes[r], &check, error))
        return FALSE;
    }
  g_auto (GStrv) args = argument_list (a);
  g_autoptr (CliStudyOut) out = cli_study_out_open (a->out, "convergence", (const char *const *) args,
                                                    a->resume, error);
  if (out == NULL)
    return FALSE;
  g_autofree char *sha = NULL;
  UadBackbone *bb = cli_load_backbone_sha (&a->bo, &sha, error);
  if (bb == NULL)
    return cli_study_out_finish (out, FALSE, NULL, error);
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = uad_train_job_images (ds, &class_of, &n);
  g_autoptr (UadTensor) train = cli_extract_features (bb, sha, a->cache_dir, FALSE,
                                                      (const char *const *) paths, n, error);
  CliTestSet ts = { 0 };
  gboolean ok = train != NULL && cli_test_set_load (&ts, bb, sha, a->cache_dir, ds, error);
  CliStudyReference refs[2] = { { NULL, NAN, NAN }, { NULL, NAN, NAN } };
  ok = ok && padim_line (bb, sha, train, class_of, &ts, FALSE, &refs[0], error)
       && padim_line (bb, sha, train, class_of, &ts, TRUE, &refs[1], error);

  g_autofree char *csv_path = cli_study_out_file (out, "convergence.csv");
  g_autoptr (CliStudyCsv) csv = ok ? cli_study_csv_open (csv_path, CSV_HEADER, a->resume ? keep_row : NULL,
                                                         out, error)
                                   : NULL;
  ok = csv != NULL;
  cli_study_out_add_file (out, "curves", "convergence.csv");
  for (int i = 0; ok && i < 2; i++)
    {
      g_autoptr (GString) row = g_string_new (NULL);
      g_string_append_printf (row, "%s,,,,%.2f,", refs[i].name, refs[i].image_auroc);
      cli_study_csv_number (row, refs[i].pixel_auroc, 2);
      g_string_append_c (row, ',');
      ok = cli_study_csv_add (csv, row->str, error);
    }
  if (ok)
    cli_catch_interrupt ();
  g_autoptr (GError) no_validation = NULL;
  g_autoptr (UadValidation) validation = ok ? uad_validation_new (train, class_of, ds->n_classes,
                                                                  STUDY_VALIDATION_SHARE, (guint64) a->seed,
                                                                  &no_validation)
                                            : NULL;
  if (no_validation != NULL)
    fprintf (stderr, "validation: none, every good image trains (%s)\n", no_validation->message);
  StudyRun run = { .test = &ts, .validation = validation, .all_train = train, .all_class_of = class_of,
                   .a = a, .csv = csv, .every = a->eval_every * 60,
                   .n_recipes = (int) g_strv_length (recipes) };
  cli_progress_init (&run.bar);
  for (int r = 0; ok && recipes[r]; r++)
    {
      run.recipe_index = r;
      ok = study_recipe (a, recipes[r], bb, sha, &run, out, error);
    }
  g_autoptr (GPtrArray) series = csv ? read_series (csv, recipes) : NULL;
  g_autofree char *sum = series ? summary (refs, 2, series) : NULL;
  if (ok)
    ok = write_plot (a, out, series, refs, error);
  if (ok)
    printf ("wrote %s\n", csv_path);
  ok = cli_study_out_finish (out, ok, sum, error);
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
  StudyArgs a = { .minutes = 0, .eval_every = 0, .every = 1, .seed = 133 };
  g_autofree char *recipes = g_strjoinv (", ", (char **) uad_recipe_names ());
  g_autofree char *recipe_help = g_strdup_printf ("Recipes to compare, comma-separated (default fast,official; known: %s)", recipes);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &a.minutes, "Training time of each recipe (default 15 unless --epochs)", "M" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.epochs, "Epochs of each recipe, instead of --minutes", "N" },
    { "recipes", 'r', 0, G_OPTION_ARG_STRING, &a.recipes, recipe_help, "A,B" },
    { "eval-every", 0, 0, G_OPTION_ARG_DOUBLE, &a.eval_every, "Minutes of training between evaluations (default: a tenth of --minutes)", "M" },
    { "every", 0, 0, G_OPTION_ARG_INT, &a.every, "With --epochs: epochs between evaluations (default 1)", "K" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Folder for convergence.csv, .png, .svg and study.json", "DIR" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &a.resume, "Continue the stopped study in --out (same arguments)", NULL },
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
    cli_error ("study", "the study to run: 'uniad study convergence', 'shortcut', 'unified' or "
               "'ablation' (see 'uniad study STUDY --help')");
  else if (a.data == NULL || a.out == NULL)
    cli_error ("study", "--data ROOT and --out DIR are required");
  else if (a.minutes < 0 || a.epochs < 0 || (a.minutes > 0 && a.epochs > 0) || a.eval_every < 0
           || a.every < 1 || a.seed < 0)
    cli_error ("study", "--minutes M or --epochs N (not both), --every >= 1, --eval-every and --seed >= 0");
  else
    {
      g_autoptr (GError) error = NULL;
      if (a.minutes == 0 && a.epochs == 0)
        a.minutes = 15;
      if (a.eval_every == 0)
        a.eval_every = a.minutes / 10;
      if (a.recipes == NULL)
        a.recipes = g_strdup ("fast,official");
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
