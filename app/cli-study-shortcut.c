/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-shortcut.c: `uniad study shortcut`: the paper's identical-shortcut experiment.
 * Four reconstruction networks train on the same cached features of a dataset's good images
 * with the same loop (a seeded shuffle each epoch, batches, MSE, gradient-norm clipping, AdamW
 * at one learning rate): UniAD's transformer (the fast recipe's), a plain transformer (the same
 * without neighbour mask, layer-wise queries and jitter), and the MLP and CNN of uad-baseline.h.
 * Every K epochs each is evaluated on the test split with the paper's map, the L2 norm of the
 * residual, and the max score: the curves show whether a network's loss keeps falling while
 * its AUROC peaks and falls (it learns to copy anomalies too). Unified (one network for every
 * class) or, with --separate, one network per class. Writes shortcut.csv (one row per network,
 * class set and checkpoint), the per-class table of the last checkpoint, and the curves
 * (PNG and SVG). The loop is the study's own rather than uad-trainer.h's, which trains only
 * the transformers of a UadModel. */
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-progress.h"
#include "cli-study-csv.h"
#include "cli-study-plot.h"
#include "cli-study-test-set.h"
#include "cli-training-data.h"

#include "uad-anomaly-map.h"
#include "uad-baseline.h"
#include "uad-error.h"
#include "uad-optim.h"
#include "uad-recipe.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define GRID UAD_FEATURE_GRID
#define EVAL_BATCH 8
#define BASELINE_HIDDEN 256
#define N_CONTENDERS 4

typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir;
  int epochs, every, batch;
  double minutes, lr, clip;
  gboolean separate;
  gint64 seed;
} ShortcutArgs;

/* The networks compared: a recipe's transformer, or a baseline. */
static const struct {
  const char *name;
  const char *recipe; /* NULL for a baseline */
  UadBaselineKind baseline;
} contenders[N_CONTENDERS] = {
  { "UniAD", UAD_RECIPE_DEFAULT, 0 },
  { "Transformer", UAD_RECIPE_DEFAULT ":mask=0:queries=0:jitter=0", 0 },
  { "MLP", NULL, UAD_BASELINE_MLP },
  { "CNN", NULL, UAD_BASELINE_CNN },
};

/* One network in training. */
typedef struct {
  const char *name;
  UadTransformer *transformer;
  UadTransformerWorkspace *train_ws, *eval_ws;
  UadBaseline *baseline;
  UadAdamW *opt;
  UadRng rng; /* the transformer's jitter and dropout */
  float *params, *grads;
  size_t n_params;
} Net;

static gboolean
net_init (Net *net, int which, int channels, int batch, guint64 seed, GError **error)
{
  memset (net, 0, sizeof *net);
  net->name = contenders[which].name;
  UadRng init;
  uad_rng_init (&init, seed);
  if (contenders[which].recipe != NULL)
    {
      UadRecipe recipe;
      UadTransformerConfig cfg;
      if (!uad_recipe_lookup (contenders[which].recipe, &recipe, error))
        return FALSE;
      uad_recipe_transformer_config (&recipe, channels, &cfg);
      if ((net->transformer = uad_transformer_new (&cfg, error)) == NULL)
        return FALSE;
      uad_transformer_init (net->transformer, &init);
      net->train_ws = uad_transformer_workspace_new (net->transformer, batch, TRUE);
      net->eval_ws = uad_transformer_workspace_new (net->transformer, EVAL_BATCH, FALSE);
      net->params = uad_transformer_params (net->transformer, &net->n_params);
      net->grads = uad_transformer_grads (net->transformer, NULL);
    }
  else
    {
      net->baseline = uad_baseline_new (contenders[which].baseline, channels, BASELINE_HIDDEN, GRID,
                                        MAX (batch, EVAL_BATCH));
      uad_baseline_init (net->baseline, &init);
      net->params = uad_baseline_params (net->baseline, &net->n_params);
      net->grads = uad_baseline_grads (net->baseline, NULL);
    }
  uad_rng_init (&net->rng, seed + 1);
  UadAdamWConfig oc;
  uad_adamw_config_default (&oc);
  net->opt = uad_adamw_new (&oc, net->n_params);
  return TRUE;
}

static void
net_clear (Net *net)
{
  if (net->transformer != NULL)
    {
      uad_transformer_workspace_free (net->train_ws);
      uad_transformer_workspace_free (net->eval_ws);
      uad_transformer_free (net->transformer);
    }
  uad_baseline_free (net->baseline);
  if (net->opt != NULL)
    uad_adamw_free (net->opt);
}

static double
net_step (Net *net, const float *features, int batch, double lr, double clip)
{
  double loss = net->transformer != NULL
    ? uad_transformer_train_step (net->transformer, net->train_ws, features, batch, &net->rng)
    : uad_baseline_train_step (net->baseline, features, batch);
  uad_clip_grad_norm (net->grads, net->n_params, clip);
  uad_adamw_step (net->opt, net->params, net->grads, lr);
  return loss;
}

static void
net_forward (Net *net, const float *features, int batch, float *rec)
{
  if (net->transformer != NULL)
    uad_transformer_forward (net->transformer, net->eval_ws, features, batch, rec);
  else
    uad_baseline_forward (net->baseline, features, batch, rec);
}

/* Scores [count] and maps [count, MAP, MAP] of test images first.. under net: the L2 map and
 * the max score, the paper's. */
static void
net_score (Net *net, const UadTensor *features, int first, int count, double *scores, float *maps)
{
  int C = (int) features->shape[1];
  size_t per = (size_t) C * GRID * GRID;
  g_autoptr (UadTensor) rec = uad_tensor_new_4d (EVAL_BATCH, C, GRID, GRID);
  g_autoptr (UadTensor) small = uad_tensor_new_4d (EVAL_BATCH, 1, GRID, GRID);
  for (int i = 0; i < count; i += EVAL_BATCH)
    {
      int n = MIN (EVAL_BATCH, count - i);
      float *feat_data = features->data + (first + i) * per;
      net_forward (net, feat_data, n, rec->data);
      g_autoptr (UadTensor) feat = uad_tensor_new_borrowed (feat_data, 4, (int64_t[]) { n, C, GRID, GRID });
      g_autoptr (UadTensor) r = uad_tensor_new_borrowed (rec->data, 4, (int64_t[]) { n, C, GRID, GRID });
      g_autoptr (UadTensor) s = uad_tensor_new_borrowed (small->data, 4, (int64_t[]) { n, 1, GRID, GRID });
      g_autoptr (UadTensor) m = uad_tensor_new_borrowed (maps + (size_t) i * MAP * MAP, 4,
                                                         (int64_t[]) { n, 1, MAP, MAP });
      uad_anomaly_map_compute (feat, r, s, m);
      for (int j = 0; j < n; j++)
        scores[i + j] = uad_anomaly_score (maps + (size_t) (i + j) * MAP * MAP, MAP, MAP, UAD_SCORE_MAX);
    }
}

/* What one network trains on and is measured on: every class (class_index -1) or one. */
typedef struct {
  const ShortcutArgs *a;
  const CliTestSet *test;
  const UadTensor *train;  /* all the training features */
  const int *class_of;     /* their classes */
  int class_index;         /* -1: unified */
  int *train_idx;          /* the images of this class set: indices into train */
  int n_train;
  FILE *csv;
  CliStudySeries *series;
  double *last_image;      /* [n_classes]: per-class image AUROC at the last checkpoint */
} Run;

/* Image and pixel AUROC of the run's test images (the mean over classes when unified), and
 * each class's image AUROC into run->last_image. */
static void
evaluate (Net *net, Run *run, double *image, double *pixel)
{
  const CliTestSet *ts = run->test;
  int k = run->class_index;
  int first = k < 0 ? 0 : ts->first[k];
  int count = k < 0 ? ts->n : ts->ds->classes[k].n_test;
  g_autofree double *scores = g_new (double, count);
  g_autofree float *maps = g_new (float, (size_t) count * MAP * MAP);
  net_score (net, ts->features, first, count, scores, maps);
  if (k >= 0)
    {
      cli_test_set_class_metrics (ts, k, scores, maps, image, pixel);
      run->last_image[k] = *image;
      return;
    }
  cli_test_set_metrics (ts, scores, maps, image, pixel, run->last_image);
}

static void
shuffle (int *idx, int n, guint64 seed, int epoch)
{
  UadRng rng;
  uad_rng_init (&rng, seed ^ ((guint64) epoch * 0x9E3779B97F4A7C15ull));
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (uad_rng_next (&rng) % (guint64) (i + 1));
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
}

/* Trains net for the epochs (or until its minutes are spent), evaluating every K epochs and at
 * the end; FALSE with UAD_ERROR_CANCELLED on Ctrl-C. */
static gboolean
train_net (Net *net, Run *run, GError **error)
{
  const ShortcutArgs *a = run->a;
  const UadTensor *train = run->train;
  size_t per = uad_tensor_numel (train) / (size_t) train->shape[0];
  g_autofree int *order = g_memdup2 (run->train_idx, sizeof (int) * run->n_train);
  g_autofree float *batch = g_new (float, per * a->batch);
  const char *set = run->class_index < 0 ? "all" : run->test->ds->classes[run->class_index].name;
  CliProgress bar;
  cli_progress_init (&bar);
  double seconds = 0;
  for (int epoch = 0; epoch < a->epochs; epoch++)
    {
      gint64 t0 = g_get_monotonic_time ();
      shuffle (order, run->n_train, (guint64) a->seed, epoch);
      double loss = 0;
      int steps = 0;
      for (int i = 0; i < run->n_train; i += a->batch, steps++)
        {
          int n = MIN (a->batch, run->n_train - i);
          for (int j = 0; j < n; j++)
            memcpy (batch + j * per, train->data + order[i + j] * per, sizeof (float) * per);
          loss += net_step (net, batch, n, a->lr, a->clip);
          if (cli_interrupted ())
            {
              cli_progress_done (&bar, "");
              g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "stopped");
              return FALSE;
            }
        }
      loss /= steps;
      seconds += (g_get_monotonic_time () - t0) / 1e6;
      gboolean out_of_time = a->minutes > 0 && seconds >= a->minutes * 60;
      gboolean last = epoch + 1 == a->epochs || out_of_time;
      double left = out_of_time ? 0 : seconds / (epoch + 1) * (a->epochs - epoch - 1);
      if (a->minutes > 0)
        left = MIN (left, a->minutes * 60 - seconds);
      g_autofree char *eta = cli_format_duration (left);
      g_autofree char *text = g_strdup_printf ("%s (%s): epoch %d/%d  loss %.5f  training time left %s",
                                               net->name, set, epoch + 1, a->epochs, loss, eta);
      cli_progress_update (&bar, (epoch + 1.0) / a->epochs, text);
      if ((epoch + 1) % a->every == 0 || last)
        {
          double image, pixel;
          evaluate (net, run, &image, &pixel);
          g_autoptr (GString) row = g_string_new (NULL);
          g_string_append_printf (row, "%s,%s,%d,%.3f,%.6f,%.2f,", net->name, set, epoch + 1,
                                  seconds / 60, loss, image);
          cli_study_csv_number (row, pixel, 2);
          fprintf (run->csv, "%s\n", row->str);
          fflush (run->csv);
          if (run->series != NULL)
            cli_study_series_add (run->series, epoch + 1, image, pixel, loss);
          g_autofree char *note = g_strdup_printf ("%s (%s) epoch %d: loss %.5f, image AUROC %.1f, "
                                                   "pixel AUROC %.1f", net->name, set, epoch + 1,
                                                   loss, image, pixel);
          cli_progress_note (&bar, note);
        }
      if (last)
        break;
    }
  cli_progress_done (&bar, "");
  return TRUE;
}

/* Trains and measures one network of each kind: one for all classes, or one per class. */
static gboolean
run_contender (int which, Run *run, GError **error)
{
  const ShortcutArgs *a = run->a;
  const UadDataset *ds = run->test->ds;
  int n = (int) run->train->shape[0], C = (int) run->train->shape[1];
  for (int k = a->separate ? 0 : -1; k < (a->separate ? ds->n_classes : 0); k++)
    {
      run->class_index = k;
      run->n_train = 0;
      for (int i = 0; i < n; i++)
        if (k < 0 || run->class_of[i] == k)
          run->train_idx[run->n_train++] = i;
      Net net;
      gboolean ok = net_init (&net, which, C, a->batch, (guint64) a->seed, error);
      ok = ok && train_net (&net, run, error);
      net_clear (&net);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* last [N_CONTENDERS, n_classes]. */
static void
print_table (const UadDataset *ds, const double *last, gboolean separate)
{
  printf ("image AUROC at the last checkpoint, %s\n", separate ? "one network per class" : "one network for every class");
  printf ("%-20s", "class");
  for (int c = 0; c < N_CONTENDERS; c++)
    printf (" %11s", contenders[c].name);
  printf ("\n");
  double mean[N_CONTENDERS] = { 0 };
  for (int k = 0; k < ds->n_classes; k++)
    {
      printf ("%-20s", ds->classes[k].name);
      for (int c = 0; c < N_CONTENDERS; c++)
        {
          printf (" %11.1f", last[c * ds->n_classes + k]);
          mean[c] += last[c * ds->n_classes + k] / ds->n_classes;
        }
      printf ("\n");
    }
  printf ("%-20s", "mean");
  for (int c = 0; c < N_CONTENDERS; c++)
    printf (" %11.1f", mean[c]);
  printf ("\n");
}

static gboolean
run_study (ShortcutArgs *a, GError **error)
{
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) classes, error);
  if (ds == NULL || !uad_dataset_check_masks (ds, error))
    return FALSE;
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
  uad_backbone_free (bb);

  g_autofree char *csv_path = g_build_filename (a->out, "shortcut.csv", NULL);
  FILE *csv = ok ? fopen (csv_path, "w") : NULL;
  if (ok && csv == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", csv_path, g_strerror (errno));
      ok = FALSE;
    }
  g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) cli_study_series_free);
  g_autofree double *last = g_new (double, N_CONTENDERS * ds->n_classes);
  g_autofree int *train_idx = g_new (int, n);
  if (ok)
    {
      fprintf (csv, "model,classes,epoch,minutes,loss,image_auroc,pixel_auroc\n");
      cli_catch_interrupt ();
    }
  for (int c = 0; ok && c < N_CONTENDERS; c++)
    {
      /* Curves of the unified networks; per class, the table says it. */
      CliStudySeries *s = a->separate ? NULL : cli_study_series_new (contenders[c].name);
      if (s != NULL)
        g_ptr_array_add (series, s);
      Run run = { .a = a, .test = &ts, .train = train, .class_of = class_of, .train_idx = train_idx,
                  .csv = csv, .series = s, .last_image = last + c * ds->n_classes };
      ok = run_contender (c, &run, error);
    }
  if (csv != NULL && fclose (csv) != 0 && ok)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", csv_path, g_strerror (errno));
      ok = FALSE;
    }
  if (ok)
    {
      print_table (ds, last, a->separate);
      g_autofree char *png = g_build_filename (a->out, "shortcut.png", NULL);
      g_autofree char *svg = g_build_filename (a->out, "shortcut.svg", NULL);
      ok = a->separate || cli_study_plot (png, svg, (CliStudySeries **) series->pdata,
                                          (int) series->len, NULL, 0, a->epochs,
                                          "epochs of training", error);
      if (ok)
        printf ("wrote %s%s%s%s%s\n", csv_path, a->separate ? "" : ", ", a->separate ? "" : png,
                a->separate ? "" : " and ", a->separate ? "" : svg);
    }
  cli_test_set_clear (&ts);
  return ok;
}

int
cli_study_shortcut (int argc, char **argv)
{
  ShortcutArgs a = { .epochs = 0, .every = 1, .batch = 8, .lr = 5e-4, .clip = 0.1, .seed = 133 };
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.epochs, "Epochs of each network", "N" },
    { "every", 0, 0, G_OPTION_ARG_INT, &a.every, "Epochs between evaluations (default 1)", "K" },
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &a.minutes, "Also stop each network after this much training time", "M" },
    { "separate", 0, 0, G_OPTION_ARG_NONE, &a.separate, "One network per class instead of one for every class", NULL },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.batch, "Batch size (default 8)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr, "AdamW learning rate of every network (default 5e-4)", "LR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Folder for shortcut.csv, .png and .svg", "DIR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 4;
  cli_backbone_entries (&a.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "study", "shortcut",
                  "the identical-shortcut study: UniAD against reconstruction baselines", entries))
    ;
  else if (argc != 2 || a.data == NULL || a.out == NULL || a.epochs < 1)
    cli_error ("study", "--data ROOT, --epochs N and --out DIR are required (see 'uniad study shortcut --help')");
  else if (a.every < 1 || a.batch < 1 || a.minutes < 0 || !(a.lr > 0) || a.seed < 0)
    cli_error ("study", "--every and --batch must be >= 1, --lr > 0, --minutes and --seed >= 0");
  else
    {
      g_autoptr (GError) error = NULL;
      status = CLI_EXIT_OK;
      if (!run_study (&a, &error))
        {
          cli_error ("study", "%s", error->message);
          status = g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
        }
    }
  cli_backbone_options_clear (&a.bo);
  g_free (a.data), g_free (a.classes), g_free (a.out), g_free (a.cache_dir);
  return status;
}
