/* SPDX-License-Identifier: Apache-2.0 */
/* cli-eval.c: `uniad eval`: the paper's table on the test split of an MVTec-layout dataset:
 * per class image AUROC, pixel AUROC, AUPRO (FPR <= 0.3), pixel AP and image F1-max, then the
 * unweighted mean over classes. Classes without masks get image metrics only. With
 * `--protocol semantic`, the paper's semantic protocol instead (cli-eval-semantic.h). */
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-eval-semantic.h"
#include "cli-progress.h"

#include "uad-dataset.h"
#include "uad-image.h"
#include "uad-json.h"
#include "uad-metrics.h"
#include "uad-recipe.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define N_METRICS 5

static const char *const metric_names[N_METRICS] = {
  "image_auroc", "pixel_auroc", "pixel_aupro", "pixel_ap", "image_f1max",
};

typedef struct {
  char *name;
  int n_test, n_anomalous;
  double m[N_METRICS]; /* fractions; NaN when not measured */
} ClassResult;

/* Runs the model over one class's test images and computes its metrics. */
static gboolean
evaluate_class (UadDetector *det, const UadClass *cls, int class_index, ClassResult *out,
                CliProgress *bar, int *done, int total, GError **error)
{
  int n = cls->n_test;
  g_autofree float *scores = g_new (float, n);
  g_autofree guint8 *labels = g_new (guint8, n);
  gboolean pixels = cls->has_masks;
  g_autofree float *maps = pixels ? g_new (float, (size_t) n * MAP * MAP) : NULL;
  g_autofree guint8 *masks = pixels ? g_new0 (guint8, (size_t) n * MAP * MAP) : NULL;
  g_autofree int *classes = g_new (int, n);
  g_autofree const char **paths = g_new (const char *, n);
  for (int i = 0; i < n; i++)
    {
      classes[i] = class_index;
      paths[i] = cls->test[i].path;
      labels[i] = cls->test[i].anomalous;
    }

  UadDetection results[UAD_DETECTOR_BATCH];
  for (int first = 0; first < n; first += UAD_DETECTOR_BATCH)
    {
      int count = MIN (UAD_DETECTOR_BATCH, n - first);
      uad_detector_run_files (det, paths + first, count, classes + first, pixels, FALSE, results);
      gboolean ok = TRUE;
      for (int i = 0; i < count; i++)
        {
          UadDetection *r = &results[i];
          int k = first + i;
          if (r->error && ok)
            {
              g_propagate_error (error, g_steal_pointer (&r->error));
              ok = FALSE;
            }
          if (ok)
            {
              scores[k] = (float) r->score;
              if (pixels)
                {
                  memcpy (maps + (size_t) k * MAP * MAP, r->map, MAP * MAP * sizeof (float));
                  if (cls->test[k].mask_path
                      && !uad_mask_load_for_image (cls->test[k].mask_path, cls->test[k].path, MAP,
                                                   masks + (size_t) k * MAP * MAP, error))
                    ok = FALSE;
                }
            }
          uad_detection_clear (r);
        }
      if (!ok)
        return FALSE;
      *done += count;
      g_autofree char *text = g_strdup_printf ("%s: %d/%d test images", cls->name, *done, total);
      cli_progress_update (bar, (double) *done / total, text);
    }

  UadRankMetrics image, pixel;
  uad_rank_metrics (scores, labels, n, &image);
  out->m[0] = image.auroc;
  out->m[4] = image.f1_max;
  out->m[1] = out->m[2] = out->m[3] = NAN;
  if (pixels)
    {
      uad_rank_metrics (maps, masks, (size_t) n * MAP * MAP, &pixel);
      out->m[1] = pixel.auroc;
      out->m[3] = pixel.average_precision;
      out->m[2] = uad_aupro (maps, masks, n, MAP, MAP, UAD_AUPRO_FPR_LIMIT);
    }
  return TRUE;
}

static void
print_cell (double v)
{
  if (isnan (v))
    printf (" %11s", "-");
  else
    printf (" %11.1f", 100 * v);
}

static void
print_table (const ClassResult *r, int n, const double *mean)
{
  printf ("%-20s %6s %6s %11s %11s %11s %11s %11s\n", "class", "test", "anom", "image AUROC",
          "pixel AUROC", "pixel AUPRO", "pixel AP", "image F1max");
  for (int k = 0; k < n; k++)
    {
      printf ("%-20s %6d %6d", r[k].name, r[k].n_test, r[k].n_anomalous);
      for (int j = 0; j < N_METRICS; j++)
        print_cell (r[k].m[j]);
      printf ("\n");
    }
  printf ("%-20s %6s %6s", "mean", "", "");
  for (int j = 0; j < N_METRICS; j++)
    print_cell (mean[j]);
  printf ("\n");
}

static void
append_metrics (GString *s, const double *m)
{
  for (int j = 0; j < N_METRICS; j++)
    {
      g_string_append_printf (s, ",\"%s\":", metric_names[j]);
      uad_json_append_double (s, m[j]); /* NaN becomes null */
    }
}

static char *
results_json (const char *model, const char *data, const ClassResult *r, int n, const double *mean)
{
  GString *s = g_string_new ("{\"model\":");
  uad_json_append_string (s, model);
  g_string_append (s, ",\"data\":");
  uad_json_append_string (s, data);
  g_string_append (s, ",\"classes\":[");
  for (int k = 0; k < n; k++)
    {
      g_string_append (s, k ? ",{\"name\":" : "{\"name\":");
      uad_json_append_string (s, r[k].name);
      g_string_append_printf (s, ",\"test_images\":%d,\"anomalous\":%d", r[k].n_test, r[k].n_anomalous);
      append_metrics (s, r[k].m);
      g_string_append_c (s, '}');
    }
  g_string_append (s, "],\"mean\":{\"name\":\"mean\"");
  append_metrics (s, mean);
  g_string_append (s, "}}\n");
  return g_string_free (s, FALSE);
}

static int
run_eval (const char *model_path, const char *weights, const char *data, const char *json,
          int threads)
{
  g_autoptr (GError) error = NULL;
  UadDetector *det = cli_load_detector (model_path, weights, threads);
  if (det == NULL)
    return CLI_EXIT_FAILURE;
  UadModel *model = uad_detector_get_model (det);
  /* Taken now: the table is printed after the detector, and its model, are freed. */
  g_autofree char *about = uad_model_describe (model);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < model->n_classes; k++)
    g_ptr_array_add (names, model->classes[k].name);
  g_ptr_array_add (names, NULL);
  g_autoptr (UadDataset) ds = uad_dataset_scan (data, (const char *const *) names->pdata, &error);
  if (ds == NULL || !uad_dataset_check_masks (ds, &error))
    {
      cli_error ("eval", "%s", error->message);
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  int total = 0;
  for (int k = 0; k < ds->n_classes; k++)
    total += ds->classes[k].n_test;
  g_autofree ClassResult *results = g_new0 (ClassResult, ds->n_classes);
  CliProgress bar;
  cli_progress_init (&bar);
  int done = 0;
  gboolean ok = TRUE;
  for (int k = 0; k < ds->n_classes && ok; k++)
    {
      const UadClass *cls = &ds->classes[k];
      results[k].name = cls->name;
      results[k].n_test = cls->n_test;
      results[k].n_anomalous = cls->n_anomalous;
      ok = evaluate_class (det, cls, uad_model_find_class (model, cls->name), &results[k], &bar,
                           &done, total, &error);
    }
  uad_detector_free (det);
  if (!ok)
    {
      cli_progress_done (&bar, "");
      cli_error ("eval", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  g_autofree char *finished = g_strdup_printf ("evaluated %d test images", total);
  cli_progress_done (&bar, finished);

  /* Unweighted mean over the classes where the metric exists. */
  double mean[N_METRICS];
  for (int j = 0; j < N_METRICS; j++)
    {
      double sum = 0;
      int count = 0;
      for (int k = 0; k < ds->n_classes; k++)
        if (!isnan (results[k].m[j]))
          sum += results[k].m[j], count++;
      mean[j] = count ? sum / count : NAN;
    }
  printf ("model: %s\n", about);
  print_table (results, ds->n_classes, mean);
  if (json)
    {
      g_autofree char *text = results_json (model_path, data, results, ds->n_classes, mean);
      if (!g_file_set_contents_full (json, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
        {
          cli_error ("eval", "%s", error->message);
          return CLI_EXIT_FAILURE;
        }
    }
  return CLI_EXIT_OK;
}

int
cli_eval (int argc, char **argv)
{
  g_autofree char *model = NULL, *data = NULL, *json = NULL, *protocol = NULL, *normal = NULL;
  g_autofree char *splits = NULL, *recipe = NULL, *cache_dir = NULL;
  CliSemanticArgs sem = { .seed = 133 };
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file", "MODEL.uniad" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset root in MVTec AD layout (semantic: ROOT/{train,test}/CLASS/)", "ROOT" },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Also write the table as JSON", "FILE" },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &protocol, "industrial (default: a trained model on defects), or semantic: train on some classes, the others are the anomalies", "NAME" },
    { "normal", 0, 0, G_OPTION_ARG_STRING, &normal, "Semantic: the normal classes' indices (classes sorted by name)", "0,1,2,3,4" },
    { "splits", 0, 0, G_OPTION_ARG_STRING, &splits, "Semantic: 'paper', the four splits 01234, 56789, 02468, 13579", "paper" },
    { "recipe", 'r', 0, G_OPTION_ARG_STRING, &recipe, "Semantic: training recipe (default " UAD_RECIPE_DEFAULT ")", "NAME" },
    { "minutes", 0, 0, G_OPTION_ARG_DOUBLE, &sem.minutes, "Semantic: training time of each split's model (default: the recipe's)", "M" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &sem.epochs, "Semantic: epochs of each split's model instead of a time budget", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &sem.seed, "Semantic: random seed (default 133)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir, "Semantic: folder for cached backbone features (default: the user cache folder)", "DIR" },
    { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 4;
  cli_backbone_entries (&sem.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  gboolean semantic = FALSE;
  if (!cli_parse (&argc, &argv, "eval", "", "evaluate a model on a dataset's test split", entries))
    ;
  else if (protocol != NULL && !(semantic = strcmp (protocol, "semantic") == 0)
           && strcmp (protocol, "industrial") != 0)
    cli_error ("eval", "--protocol is industrial or semantic, not '%s'", protocol);
  else if (argc != 1 || data == NULL || (model == NULL) != semantic)
    cli_error ("eval", "--data is required, with --model, or with --protocol semantic (see 'uniad eval --help')");
  else if (!semantic && (normal || splits || recipe || cache_dir || sem.bo.backbone || sem.minutes != 0
                         || sem.epochs != 0))
    cli_error ("eval", "--normal, --splits, --recipe, --minutes, --epochs, --feature-cache and "
               "--backbone are for --protocol semantic");
  else if (semantic && (normal == NULL) == (splits == NULL))
    cli_error ("eval", "--protocol semantic needs --normal 0,1,... or --splits paper");
  else if (semantic && splits && strcmp (splits, "paper") != 0)
    cli_error ("eval", "--splits is 'paper', not '%s'", splits);
  else if (sem.minutes < 0 || sem.epochs < 0 || sem.seed < 0 || (sem.minutes > 0 && sem.epochs > 0))
    cli_error ("eval", "--minutes or --epochs (not both) must be > 0, --seed >= 0");
  else if (semantic)
    {
      sem.data = data, sem.json = json, sem.normal = normal, sem.splits = splits;
      sem.recipe = recipe, sem.cache_dir = cache_dir;
      status = cli_eval_semantic (&sem);
    }
  else
    status = run_eval (model, sem.bo.weights, data, json, sem.bo.threads);
  cli_backbone_options_clear (&sem.bo);
  return status;
}
