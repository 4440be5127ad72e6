/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-eval-semantic.h"

#include "cli-progress.h"
#include "cli-recipe-model.h"
#include "cli-training-data.h"

#include "uad-error.h"
#include "uad-json.h"
#include "uad-metrics.h"
#include "uad-semantic.h"
#include "uad-weights.h"
#include "uad-train-job.h"

#include <math.h>
#include <stdio.h>

typedef struct {
  const char *split;
  int n_train, n_test, n_anomalous, epochs;
  double seconds, image_auroc; /* training time; AUROC as a fraction */
} SplitResult;

/* The training images of the normal classes, with their index among the normal classes (the
 * model's classes, named in names). */
static char **
normal_training_images (const UadSemanticDataset *ds, const gboolean *normal, int **class_of,
                        int *n, GPtrArray *names)
{
  g_autofree int *model_class = g_new (int, ds->n_classes);
  for (int k = 0; k < ds->n_classes; k++)
    if (normal[k])
      {
        model_class[k] = (int) names->len;
        g_ptr_array_add (names, ds->classes[k]);
      }
  g_ptr_array_add (names, NULL);
  GPtrArray *paths = g_ptr_array_new ();
  GArray *classes = g_array_new (FALSE, FALSE, sizeof (int));
  for (int i = 0; i < ds->n_train; i++)
    if (normal[ds->train_class[i]])
      {
        g_ptr_array_add (paths, g_strdup (ds->train[i]));
        g_array_append_val (classes, model_class[ds->train_class[i]]);
      }
  *n = (int) paths->len;
  g_ptr_array_add (paths, NULL);
  *class_of = (int *) g_array_free (classes, FALSE);
  return (char **) g_ptr_array_free (paths, FALSE);
}

/* Trains the split's model and measures its image AUROC on every test image. */
static gboolean
run_split (const CliSemanticArgs *a, const UadRecipe *recipe, UadBackbone *bb, const char *sha,
           const UadSemanticDataset *ds, const UadTensor *test, SplitResult *out, GError **error)
{
  g_autofree gboolean *normal = g_new (gboolean, ds->n_classes);
  if (!uad_semantic_parse_split (ds, out->split, normal, error))
    return FALSE;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = normal_training_images (ds, normal, &class_of, &out->n_train, names);
  g_autoptr (UadTensor) train = cli_extract_features (bb, sha, a->cache_dir, FALSE,
                                                      (const char *const *) paths, out->n_train,
                                                      error);
  if (train == NULL)
    return FALSE;
  g_autoptr (UadModel) model = uad_train_job_new_model (recipe, uad_backbone_get_kind (bb), sha, train,
                                                     FALSE, (const char *const *) names->pdata,
                                                     (int) names->len - 1, error);
  if (model == NULL)
    return FALSE;
  model->score_kind = UAD_SCORE_MEAN;
  UadTrainOptions opts = recipe->train;
  opts.seed = (guint64) a->seed;
  opts.checkpoint_every = 0;
  double minutes = a->minutes > 0 ? a->minutes : a->epochs > 0 ? 0 : recipe->default_minutes;
  opts.seconds = minutes * 60;
  opts.epochs = a->epochs > 0 ? a->epochs : recipe->default_epochs;
  g_autofree char *label = g_strdup_printf ("normal classes %s", out->split);
  if (!cli_recipe_model_train (model, train, class_of, &opts, label, error))
    return FALSE;
  out->epochs = model->training.epochs;
  out->seconds = model->training.seconds;

  out->n_test = ds->n_test;
  g_autofree double *scores = g_new (double, ds->n_test);
  g_autofree float *fscores = g_new (float, ds->n_test);
  g_autofree guint8 *labels = g_new (guint8, ds->n_test);
  uad_model_score_features (model, test, NULL, scores);
  out->n_anomalous = 0;
  for (int i = 0; i < ds->n_test; i++)
    {
      fscores[i] = (float) scores[i];
      labels[i] = !normal[ds->test_class[i]];
      out->n_anomalous += labels[i];
    }
  UadRankMetrics m;
  uad_rank_metrics (fscores, labels, ds->n_test, &m);
  out->image_auroc = m.auroc;
  fprintf (stderr, "normal classes %s: image AUROC %.1f\n", out->split, 100 * m.auroc);
  return TRUE;
}

static void
print_table (const UadSemanticDataset *ds, const SplitResult *r, int n, double mean)
{
  printf ("classes:");
  for (int k = 0; k < ds->n_classes; k++)
    printf (" %d %s%s", k, ds->classes[k], k + 1 < ds->n_classes ? "," : "\n");
  printf ("%-20s %7s %7s %7s %7s %8s %11s\n", "normal classes", "train", "test", "anom", "epochs",
          "minutes", "image AUROC");
  for (int i = 0; i < n; i++)
    printf ("%-20s %7d %7d %7d %7d %8.1f %11.1f\n", r[i].split, r[i].n_train, r[i].n_test,
            r[i].n_anomalous, r[i].epochs, r[i].seconds / 60, 100 * r[i].image_auroc);
  printf ("%-20s %7s %7s %7s %7s %8s %11.1f\n", "mean", "", "", "", "", "", 100 * mean);
}

static gboolean
write_json (const char *path, const char *recipe, const SplitResult *r, int n, double mean,
            GError **error)
{
  GString *s = g_string_new ("{\"protocol\":\"semantic\",\"score\":\"mean\",\"recipe\":");
  uad_json_append_string (s, recipe);
  g_string_append (s, ",\"splits\":[");
  for (int i = 0; i < n; i++)
    {
      g_string_append (s, i ? ",{\"normal\":" : "{\"normal\":");
      uad_json_append_string (s, r[i].split);
      g_string_append_printf (s, ",\"train_images\":%d,\"test_images\":%d,\"anomalous\":%d,"
                              "\"epochs\":%d,\"seconds\":", r[i].n_train, r[i].n_test,
                              r[i].n_anomalous, r[i].epochs);
      uad_json_append_double (s, r[i].seconds);
      g_string_append (s, ",\"image_auroc\":");
      uad_json_append_double (s, r[i].image_auroc);
      g_string_append_c (s, '}');
    }
  g_string_append (s, "],\"mean_image_auroc\":");
  uad_json_append_double (s, mean);
  g_string_append (s, "}\n");
  g_autofree char *text = g_string_free (s, FALSE);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static gboolean
run (const CliSemanticArgs *a, GError **error)
{
  const char *recipe_name = a->recipe ? a->recipe : UAD_RECIPE_DEFAULT;
  UadRecipe recipe;
  if (!uad_recipe_lookup (recipe_name, &recipe, error))
    return FALSE;
  g_autoptr (UadSemanticDataset) ds = uad_semantic_dataset_scan (a->data, error);
  if (ds == NULL)
    return FALSE;
  const char *const one[] = { a->normal, NULL };
  const char *const *splits = a->normal ? one : uad_semantic_paper_splits ();
  int n_splits = (int) g_strv_length ((char **) splits);
  g_autofree gboolean *normal = g_new (gboolean, ds->n_classes);
  for (int i = 0; i < n_splits; i++) /* every split checked before any training */
    if (!uad_semantic_parse_split (ds, splits[i], normal, error))
      return FALSE;

  g_autofree char *sha = NULL;
  UadBackbone *bb = cli_load_backbone_sha (&a->bo, &sha, error);
  if (bb == NULL)
    return FALSE;
  g_autoptr (UadTensor) test = cli_extract_features (bb, sha, a->cache_dir, FALSE,
                                                     (const char *const *) ds->test, ds->n_test,
                                                     error);
  g_autofree SplitResult *results = g_new0 (SplitResult, n_splits);
  gboolean ok = test != NULL;
  if (ok)
    cli_catch_interrupt ();
  double sum = 0;
  for (int i = 0; ok && i < n_splits; i++)
    {
      results[i].split = splits[i];
      ok = run_split (a, &recipe, bb, sha, ds, test, &results[i], error);
      sum += results[i].image_auroc;
    }
  uad_backbone_free (bb);
  if (!ok)
    return FALSE;
  print_table (ds, results, n_splits, sum / n_splits);
  return a->json == NULL || write_json (a->json, recipe_name, results, n_splits, sum / n_splits, error);
}

int
cli_eval_semantic (const CliSemanticArgs *a)
{
  g_autoptr (GError) error = NULL;
  if (run (a, &error))
    return CLI_EXIT_OK;
  cli_error ("eval", "%s", error->message);
  return g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
}
