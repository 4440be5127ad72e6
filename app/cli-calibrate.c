/* SPDX-License-Identifier: Apache-2.0 */
/* cli-calibrate.c: `uniad calibrate`: per class, thresholds from targets on the dataset's test
 * images (uad-calibration.h), printed with what they do and written into the model file.
 *
 * A class with a test split is calibrated on it (good and defective images); a class without
 * one on its train/good images, which only allows a target false-reject rate. The fail
 * threshold comes from --target-frr or --f1, the pass threshold from --target-escape; a level
 * without a target (or without the images it needs) keeps the model's current value, lowered
 * to the fail threshold if above it. With --pixel-f1 the pixel threshold (the anomaly-map value
 * that marks defect regions) becomes the one with the best pixel F1 on the class's defect
 * masks; otherwise, and for a class without masks, it is kept. The model file is rewritten
 * atomically with the thresholds in its metadata unless --dry-run. */
#include "cli-commands.h"
#include "cli-common.h"
#include "cli-progress.h"

#include "uad-calibration.h"
#include "uad-dataset.h"
#include "uad-image.h"
#include "uad-metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE

typedef struct {
  double target_frr, target_escape; /* NAN when not given */
  gboolean f1, pixel_f1;
} Targets;

/* The pixel threshold with the best F1 over the maps [n, MAP, MAP] and masks of a class's test
 * images, and that F1. */
static void
pixel_f1_threshold (const float *maps, const guint8 *masks, int n, double *threshold, double *f1)
{
  UadRankMetrics m;
  uad_rank_metrics (maps, masks, (size_t) n * MAP * MAP, &m);
  *threshold = m.f1_threshold;
  *f1 = m.f1_max;
}

/* Image scores and labels of one class: its test split, or its training images without one.
 * With pixel (not NULL), also the F1-best pixel threshold and its F1 from the test images'
 * maps and masks, NaN for a class without masks. */
static UadCalibration *
score_class (UadDetector *det, const UadClass *cls, int class_index, CliProgress *bar,
             int *done, int total, double pixel[2], GError **error)
{
  gboolean test = cls->n_test > 0;
  int n = test ? cls->n_test : cls->n_train;
  gboolean maps_wanted = pixel != NULL && test && cls->has_masks;
  g_autofree float *maps = maps_wanted ? g_new (float, (size_t) n * MAP * MAP) : NULL;
  g_autofree guint8 *masks = maps_wanted ? g_new0 (guint8, (size_t) n * MAP * MAP) : NULL;
  g_autofree double *scores = g_new (double, n);
  g_autofree guint8 *labels = g_new (guint8, n);
  g_autofree int *classes = g_new (int, n);
  g_autofree const char **paths = g_new (const char *, n);
  for (int i = 0; i < n; i++)
    {
      classes[i] = class_index;
      paths[i] = test ? cls->test[i].path : cls->train[i];
      labels[i] = test && cls->test[i].anomalous ? UAD_LABEL_DEFECTIVE : UAD_LABEL_GOOD;
    }
  UadDetection results[UAD_DETECTOR_BATCH];
  for (int first = 0; first < n; first += UAD_DETECTOR_BATCH)
    {
      int count = MIN (UAD_DETECTOR_BATCH, n - first);
      uad_detector_run_files (det, paths + first, count, classes + first, maps_wanted, FALSE,
                              results);
      gboolean ok = TRUE;
      for (int i = 0; i < count; i++)
        {
          int k = first + i;
          if (results[i].error && ok)
            {
              g_propagate_error (error, g_steal_pointer (&results[i].error));
              ok = FALSE;
            }
          scores[k] = results[i].score;
          if (ok && maps_wanted)
            {
              memcpy (maps + (size_t) k * MAP * MAP, results[i].map, MAP * MAP * sizeof (float));
              if (cls->test[k].mask_path
                  && !uad_mask_load_for_image (cls->test[k].mask_path, cls->test[k].path, MAP,
                                               masks + (size_t) k * MAP * MAP, error))
                ok = FALSE;
            }
          uad_detection_clear (&results[i]);
        }
      if (!ok)
        return NULL;
      *done += count;
      g_autofree char *text = g_strdup_printf ("%s: %d/%d images", cls->name, *done, total);
      cli_progress_update (bar, (double) *done / total, text);
    }
  if (pixel != NULL)
    {
      pixel[0] = pixel[1] = NAN;
      if (maps_wanted)
        pixel_f1_threshold (maps, masks, n, &pixel[0], &pixel[1]);
    }
  return uad_calibration_new (scores, labels, n);
}

/* A suggestion made (ok) into value, or NAN with a note on stderr when the class lacks the
 * images it needs. */
static double
suggestion (const char *class_name, gboolean ok, const double *value, GError **error)
{
  if (ok)
    return *value;
  fprintf (stderr, "uniad calibrate: class %s: %s; that threshold is kept\n", class_name,
           (*error)->message);
  g_clear_error (error);
  return NAN;
}

static UadVerdictThresholds
calibrate_class (const UadCalibration *cal, const char *name, const UadVerdictThresholds *current,
                 const Targets *t, double pixel_threshold)
{
  double fail_above = NAN, pass_below = NAN, v = 0;
  GError *error = NULL;
  gboolean ok;
  if (!isnan (t->target_frr))
    {
      ok = uad_calibration_for_frr (cal, t->target_frr, &v, &error);
      fail_above = suggestion (name, ok, &v, &error);
    }
  if (t->f1)
    {
      ok = uad_calibration_for_f1 (cal, &v, &error);
      fail_above = suggestion (name, ok, &v, &error);
    }
  if (!isnan (t->target_escape))
    {
      ok = uad_calibration_for_escape (cal, t->target_escape, &v, &error);
      pass_below = suggestion (name, ok, &v, &error);
    }
  UadVerdictThresholds th = uad_calibration_combine (current, pass_below, fail_above);
  if (t->pixel_f1 && isnan (pixel_threshold))
    fprintf (stderr, "uniad calibrate: class %s: no defect masks in its test split; the pixel "
             "threshold is kept\n", name);
  else if (t->pixel_f1)
    th.pixel = pixel_threshold;
  return th;
}

static void
print_rate (double v)
{
  if (isnan (v))
    printf (" %8s", "-");
  else
    printf (" %7.1f%%", 100 * v);
}

static void
print_row (const char *name, const UadCalibration *cal, const UadVerdictThresholds *th,
           const double *pixel)
{
  UadCalibrationRates r;
  uad_calibration_rates (cal, th->pass_below, th->fail_above, &r);
  printf ("%-20s %6d %6d %12.6g %12.6g", name, cal->n_good, cal->n_defective, th->pass_below,
          th->fail_above);
  print_rate (r.frr);
  print_rate (r.escape);
  print_rate (r.review);
  if (isnan (r.f1))
    printf (" %6s", "-");
  else
    printf (" %6.3f", r.f1);
  if (isnan (cal->metrics.auroc))
    printf (" %6s", "-");
  else
    printf (" %6.1f", 100 * cal->metrics.auroc);
  if (pixel != NULL)
    {
      printf (" %12.6g", th->pixel);
      if (isnan (pixel[1]))
        printf (" %8s", "-");
      else
        printf (" %8.3f", pixel[1]);
    }
  printf ("\n");
}

/* The model file again (not the detector's copy), with the thresholds, saved in place. */
static gboolean
write_thresholds (const char *path, const UadVerdictThresholds *th, const gboolean *set,
                  GError **error)
{
  g_autoptr (UadModel) model = uad_model_load (path, error);
  if (model == NULL)
    return FALSE;
  for (int k = 0; k < model->n_classes; k++)
    if (set[k])
      {
        model->classes[k].has_thresholds = TRUE;
        model->classes[k].thresholds = th[k];
      }
  return uad_model_save (model, path, error);
}

static int
run_calibrate (const char *model_path, const char *weights, const char *data, const Targets *t,
               gboolean dry_run, int threads)
{
  g_autoptr (GError) error = NULL;
  UadDetector *det = cli_load_detector (model_path, weights, threads);
  if (det == NULL)
    return CLI_EXIT_FAILURE;
  UadModel *model = uad_detector_get_model (det);
  int n_classes = model->n_classes;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < n_classes; k++)
    g_ptr_array_add (names, model->classes[k].name);
  g_ptr_array_add (names, NULL);
  g_autoptr (UadDataset) ds = uad_dataset_scan (data, (const char *const *) names->pdata, &error);
  if (ds == NULL)
    {
      cli_error ("calibrate", "%s", error->message);
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  int total = 0;
  for (int c = 0; c < ds->n_classes; c++)
    total += ds->classes[c].n_test > 0 ? ds->classes[c].n_test : ds->classes[c].n_train;
  g_autofree UadVerdictThresholds *th = g_new (UadVerdictThresholds, n_classes);
  g_autofree gboolean *set = g_new0 (gboolean, n_classes);
  g_autofree int *index_of = g_new (int, ds->n_classes); /* model class of each dataset class */
  g_autoptr (GPtrArray) cals = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_calibration_free);
  g_autofree double *pixel = g_new (double, 2 * ds->n_classes); /* threshold, F1 per class */
  CliProgress bar;
  cli_progress_init (&bar);
  int done = 0;
  for (int c = 0; c < ds->n_classes; c++)
    {
      const UadClass *cls = &ds->classes[c];
      int k = index_of[c] = uad_model_find_class (model, cls->name);
      UadCalibration *cal = score_class (det, cls, k, &bar, &done, total,
                                         t->pixel_f1 ? pixel + 2 * c : NULL, &error);
      if (cal == NULL)
        {
          cli_progress_done (&bar, "");
          cli_error ("calibrate", "%s", error->message);
          uad_detector_free (det);
          return CLI_EXIT_FAILURE;
        }
      g_ptr_array_add (cals, cal);
      UadVerdictThresholds current = uad_model_class_thresholds (model, k);
      th[k] = calibrate_class (cal, cls->name, &current, t, t->pixel_f1 ? pixel[2 * c] : NAN);
      set[k] = TRUE;
    }
  uad_detector_free (det);
  g_autofree char *finished = g_strdup_printf ("scored %d images", total);
  cli_progress_done (&bar, finished);

  printf ("%-20s %6s %6s %12s %12s %8s %8s %8s %6s %6s", "class", "good", "defect",
          "pass below", "fail above", "FRR", "escape", "review", "F1", "AUROC");
  printf (t->pixel_f1 ? " %12s %8s\n" : "\n", "pixel", "pixel F1");
  for (int c = 0; c < ds->n_classes; c++)
    print_row (ds->classes[c].name, cals->pdata[c], &th[index_of[c]],
               t->pixel_f1 ? pixel + 2 * c : NULL);
  if (dry_run)
    return CLI_EXIT_OK;
  if (!write_thresholds (model_path, th, set, &error))
    {
      cli_error ("calibrate", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  printf ("thresholds written to %s\n", model_path);
  return CLI_EXIT_OK;
}

int
cli_calibrate (int argc, char **argv)
{
  g_autofree char *model = NULL, *weights = NULL, *data = NULL;
  Targets t = { NAN, NAN, FALSE, FALSE };
  gboolean dry_run = FALSE;
  int threads = 0;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (rewritten with the thresholds)", "MODEL.uniad" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Dataset root in MVTec AD layout", "ROOT" },
    { "target-frr", 0, 0, G_OPTION_ARG_DOUBLE, &t.target_frr, "Fail threshold failing this fraction of good images", "RATE" },
    { "f1", 0, 0, G_OPTION_ARG_NONE, &t.f1, "Fail threshold with the best F1 (instead of --target-frr)", NULL },
    { "target-escape", 0, 0, G_OPTION_ARG_DOUBLE, &t.target_escape, "Pass threshold passing this fraction of defective images", "RATE" },
    { "pixel-f1", 0, 0, G_OPTION_ARG_NONE, &t.pixel_f1, "Pixel threshold with the best pixel F1 on the defect masks", NULL },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Only print the thresholds, do not write them", NULL },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights, "Backbone weights (default: found by the model's record)", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Compute threads (default: one per core)", "N" },
    { NULL },
  };
  if (!cli_parse (&argc, &argv, "calibrate", "", "choose thresholds from target error rates",
                  entries))
    return CLI_EXIT_USAGE;
  if (argc != 1 || model == NULL || data == NULL)
    {
      cli_error ("calibrate", "--model and --data are required (see 'uniad calibrate --help')");
      return CLI_EXIT_USAGE;
    }
  if (!isnan (t.target_frr) && t.f1)
    {
      cli_error ("calibrate", "--target-frr and --f1 both set the fail threshold: give one");
      return CLI_EXIT_USAGE;
    }
  if (isnan (t.target_frr) && !t.f1 && isnan (t.target_escape) && !t.pixel_f1)
    {
      cli_error ("calibrate", "give a target: --target-frr, --f1, --target-escape or --pixel-f1");
      return CLI_EXIT_USAGE;
    }
  if (!(isnan (t.target_frr) || (t.target_frr >= 0 && t.target_frr <= 1))
      || !(isnan (t.target_escape) || (t.target_escape >= 0 && t.target_escape <= 1)))
    {
      cli_error ("calibrate", "target rates are fractions between 0 and 1 (0.01 is 1%%)");
      return CLI_EXIT_USAGE;
    }
  return run_calibrate (model, weights, data, &t, dry_run, threads);
}
