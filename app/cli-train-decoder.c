/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train-decoder.c: `uniad train-decoder`: adds an image decoder (uad-decoder.h) to a
 * trained model, as `uniad train` does after the transformer (uad-train-job.h), and measures
 * how honest its pictures are (--quality). */
#include "cli-commands.h"
#include "cli-training-data.h"
#include "cli-common.h"
#include "cli-progress.h"
#include "cli-train-monitor.h"

#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-image.h"
#include "uad-metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- Quality ------------------------------------------------------------------------------ */

typedef struct {
  int good;                    /* good test images */
  double psnr_sum;             /* of decode(original features) against the input */
  int defective;               /* defective test images with masks */
  UadMaskContrast contrast;    /* decode(rec) against decode(orig), and the map, by mask */
} Quality;

typedef struct {
  const char *path, *mask;     /* mask NULL for good images */
  int class_index;
} Item;

/* Runs a batch of items through backbone, transformer and decoder, adding to the quality of
 * their classes. */
static gboolean
measure_batch (UadDetector *det, const Item *items, int m, Quality *quality, GError **error)
{
  UadModel *model = uad_detector_get_model (det);
  UadBackbone *bb = uad_detector_get_backbone (det);
  int s = uad_backbone_get_input_size (bb), c = uad_backbone_get_feature_channels (bb);
  int size = uad_decoder_get_output_size (model->decoder);
  UadNormalization norm = uad_decoder_get_config (model->decoder)->normalization;
  size_t per = (size_t) c * UAD_FEATURE_GRID * UAD_FEATURE_GRID, out = (size_t) 3 * size * size;
  g_return_val_if_fail (size == UAD_ANOMALY_MAP_SIZE, FALSE); /* one mask for both */
  g_autoptr (UadTensor) input = uad_tensor_new_4d (m, 3, s, s);
  g_autofree float *both = g_new (float, 2 * m * per); /* features, then reconstructions */
  g_autofree float *maps = g_new (float, (size_t) m * size * size);
  UadImage *resized[UAD_DETECTOR_BATCH] = { NULL };
  int classes[UAD_DETECTOR_BATCH];
  double scores[UAD_DETECTOR_BATCH];
  gboolean ok = TRUE;
  for (int j = 0; j < m && ok; j++)
    {
      g_autoptr (UadImage) img = uad_image_load (items[j].path, error);
      ok = img != NULL;
      if (ok)
        {
          resized[j] = uad_image_resize_bilinear (img, s, s);
          uad_image_to_chw (resized[j], norm, input->data + (size_t) j * 3 * s * s);
          classes[j] = items[j].class_index;
        }
    }
  if (ok)
    {
      uad_detector_run (det, input, classes, scores, maps, both, both + m * per);
      const float *dec = uad_detector_decode (det, both, both + m * per, m, error);
      ok = dec != NULL;
      g_autofree guint8 *mask = g_new (guint8, (size_t) size * size);
      for (int j = 0; j < m && ok; j++)
        {
          Quality *q = &quality[items[j].class_index];
          if (items[j].mask == NULL)
            {
              g_autoptr (UadImage) picture = uad_decoder_to_image (dec + j * out, size, norm);
              q->psnr_sum += uad_psnr (picture->rgb, resized[j]->rgb, (size_t) size * size * 3);
              q->good++;
            }
          else if ((ok = uad_mask_load_for_image (items[j].mask, items[j].path, size, mask, error)))
            {
              uad_mask_contrast_add (&q->contrast, dec + j * out, dec + (m + j) * out,
                                     maps + (size_t) j * size * size, mask, (size_t) size * size);
              q->defective++;
            }
        }
    }
  for (int j = 0; j < m; j++)
    uad_image_free (resized[j]);
  return ok;
}

static void
print_quality_row (const char *name, int good, double psnr, int defective, double inside,
                   double outside, double ratio, double map_ratio)
{
  printf ("%-16s %6d %9.2f %10d %9.4f %9.4f %7.2f %10.2f\n", name, good, psnr, defective, inside,
          outside, ratio, map_ratio);
}

/* PSNR of decode(original features) against the 224x224 input on the good test images, and
 * on defective test images with masks the mean |decode(reconstructed) - decode(original)|
 * inside the defects over the same outside them. */
static gboolean
report_quality (UadDetector *det, const UadDataset *ds, GError **error)
{
  UadModel *model = uad_detector_get_model (det);
  g_autoptr (GArray) items = g_array_new (FALSE, FALSE, sizeof (Item));
  for (int k = 0; k < ds->n_classes; k++)
    for (int i = 0; i < ds->classes[k].n_test; i++)
      {
        const UadTestItem *t = &ds->classes[k].test[i];
        if (t->anomalous && t->mask_path == NULL)
          continue;
        Item it = { t->path, t->anomalous ? t->mask_path : NULL,
                    uad_model_find_class (model, ds->classes[k].name) };
        g_array_append_val (items, it);
      }
  g_autofree Quality *quality = g_new0 (Quality, model->n_classes);
  CliProgress bar;
  cli_progress_init (&bar);
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok = TRUE;
  int n = (int) items->len;
  for (int first = 0; first < n && ok; first += UAD_DETECTOR_BATCH)
    {
      int m = MIN (UAD_DETECTOR_BATCH, n - first);
      ok = measure_batch (det, &g_array_index (items, Item, first), m, quality, error);
      g_autofree char *text = g_strdup_printf ("decoder quality: %d/%d test images", first + m, n);
      cli_progress_update (&bar, (double) (first + m) / MAX (n, 1), text);
      if (ok && cli_interrupted ())
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "quality measurement stopped");
          ok = FALSE;
        }
    }
  if (!ok)
    return FALSE;
  g_autofree char *done = g_strdup_printf ("decoder quality: %d test images in %.1f s", n,
                                           (g_get_monotonic_time () - t0) / 1e6);
  cli_progress_done (&bar, done);

  printf ("Decoder quality: PSNR (dB) of decode(original features) against the %dx%d input, "
          "good test images;\nmean |decode(reconstruction) - decode(original)| (normalised pixels) "
          "inside and outside the defect masks, and their ratio;\nfor comparison, the same ratio "
          "of the anomaly map (the feature-space difference the pictures should follow).\n",
          uad_decoder_get_output_size (model->decoder), uad_decoder_get_output_size (model->decoder));
  printf ("%-16s %6s %9s %10s %9s %9s %7s %10s\n", "class", "good", "PSNR", "defective", "inside",
          "outside", "ratio", "map ratio");
  /* "mean": every column averaged over the classes that have it (pooling pixels across
   * classes would mix their defect sizes into the ratio). */
  int good = 0, defective = 0, n_psnr = 0, n_ratio = 0;
  double psnr_mean = 0, inside_mean = 0, outside_mean = 0, ratio_mean = 0, map_mean = 0;
  for (int k = 0; k < model->n_classes; k++)
    {
      const Quality *q = &quality[k];
      const UadMaskContrast *mc = &q->contrast;
      double value = q->good ? q->psnr_sum / q->good : NAN;
      double inside = mc->n_inside ? mc->inside / mc->n_inside : NAN;
      double outside = mc->n_outside ? mc->outside / mc->n_outside : NAN;
      double map_ratio = mc->n_inside && mc->n_outside
                         ? (mc->map_inside / mc->n_inside) / (mc->map_outside / mc->n_outside) : NAN;
      if (q->good == 0 && q->defective == 0)
        continue;
      print_quality_row (model->classes[k].name, q->good, value, q->defective, inside, outside,
                         inside / outside, map_ratio);
      good += q->good, defective += q->defective;
      if (q->good)
        psnr_mean += value, n_psnr++;
      if (mc->n_inside && mc->n_outside)
        {
          inside_mean += inside, outside_mean += outside, ratio_mean += inside / outside;
          map_mean += map_ratio, n_ratio++;
        }
    }
  print_quality_row ("mean", good, psnr_mean / n_psnr, defective, inside_mean / n_ratio,
                     outside_mean / n_ratio, ratio_mean / n_ratio, map_mean / n_ratio);
  return TRUE;
}

/* ---- The command -------------------------------------------------------------------------- */

typedef struct {
  char *model, *data, *out, *weights, *cache_dir;
  int threads;
  gboolean no_disk_cache, quality, quality_only;
  UadDecoderTrainOptions train;
  gint64 seed;
} TrainDecoderArgs;

/* Features of the good training images of the model's classes (from the feature cache) and
 * a new decoder trained on them. */
static gboolean
train (TrainDecoderArgs *a, UadDetector *det, const UadDataset *ds, GError **error)
{
  UadModel *model = uad_detector_get_model (det);
  UadBackbone *bb = uad_detector_get_backbone (det);
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    for (int i = 0; i < ds->classes[k].n_train; i++)
      g_ptr_array_add (paths, ds->classes[k].train[i]);
  int n = (int) paths->len;
  /* The detector has checked the weights against the model's record. */
  g_autoptr (UadTensor) features = cli_extract_features (bb, model->backbone_sha256, a->cache_dir,
                                                         a->no_disk_cache,
                                                         (const char *const *) paths->pdata, n, error);
  if (features == NULL)
    return FALSE;
  /* The decoder draws features as the model's scorer hands them out. */
  uad_model_standardize_features (model, features->data, n);
  CliTrainMonitor monitor;
  cli_train_monitor_init (&monitor);
  if (uad_train_job_add_decoder (model, uad_backbone_get_normalization (bb), features,
                                 (const char *const *) paths->pdata, n, &a->train, 0,
                                 &monitor.monitor, error))
    return TRUE;
  cli_train_monitor_failed (&monitor);
  return FALSE;
}

static int
run_train_decoder (TrainDecoderArgs *a)
{
  g_autoptr (GError) error = NULL;
  const char *out = a->out ? a->out : a->model;
  UadDetector *det = cli_load_detector (a->model, a->weights, a->threads);
  if (det == NULL)
    return CLI_EXIT_FAILURE;
  UadModel *model = uad_detector_get_model (det);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < model->n_classes; k++)
    g_ptr_array_add (names, model->classes[k].name);
  g_ptr_array_add (names, NULL);
  g_autoptr (UadDataset) ds = uad_dataset_scan (a->data, (const char *const *) names->pdata, &error);
  /* Its quality measures read the test images' masks. */
  gboolean ok = ds != NULL && uad_dataset_check_masks (ds, &error);
  if (ok && model->method == UAD_METHOD_PADIM)
    {
      g_set_error (&error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s is a PaDiM model: it reconstructs nothing for an image decoder to draw",
                   a->model);
      ok = FALSE;
    }
  if (ok && a->quality_only && model->decoder == NULL)
    {
      g_set_error (&error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s has no image decoder to measure; train one first", a->model);
      ok = FALSE;
    }
  cli_catch_interrupt ();
  if (ok && !a->quality_only)
    {
      ok = train (a, det, ds, &error) && uad_model_save (model, out, &error);
      if (ok)
        printf ("saved %s\n", out);
    }
  if (ok && (a->quality || a->quality_only))
    ok = report_quality (det, ds, &error);
  uad_detector_free (det);
  if (!ok)
    {
      cli_error ("train-decoder", "%s", error->message);
      return g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
    }
  return CLI_EXIT_OK;
}

int
cli_train_decoder (int argc, char **argv)
{
  TrainDecoderArgs a = { 0 };
  uad_decoder_train_options_default (&a.train);
  a.seed = (gint64) a.train.seed;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &a.model, "Trained model file", "MODEL.uniad" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout (the model's classes)", "ROOT" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "Write the model with its decoder here (default: replace MODEL.uniad)", "FILE" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &a.weights, "Backbone weights (default: found by the model's record in the user data folder)", "FILE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &a.threads, "Compute threads (default: one per core)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.train.epochs, "Epochs (default 10)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.train.batch, "Batch size (default 8)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.train.lr, "Peak learning rate, cosine decay (default 1e-3)", "LR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { "no-disk-cache", 0, 0, G_OPTION_ARG_NONE, &a.no_disk_cache, "Keep backbone features in memory only", NULL },
    { "quality", 0, 0, G_OPTION_ARG_NONE, &a.quality, "After training, measure the decoder on the test images", NULL },
    { "quality-only", 0, 0, G_OPTION_ARG_NONE, &a.quality_only, "Only measure the model's existing decoder", NULL },
    { NULL },
  };
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "train-decoder", "",
                  "add an image decoder to a trained model, or measure it", entries))
    ;
  else if (argc != 1 || a.model == NULL || a.data == NULL)
    cli_error ("train-decoder", "--model MODEL.uniad and --data ROOT are required (see 'uniad train-decoder --help')");
  else if (a.train.epochs < 1 || a.train.batch < 1 || !(a.train.lr > 0) || a.seed < 0)
    cli_error ("train-decoder", "--epochs and --batch must be >= 1, --lr > 0, --seed >= 0");
  else
    {
      a.train.seed = (guint64) a.seed;
      status = run_train_decoder (&a);
    }
  g_free (a.model), g_free (a.data), g_free (a.out), g_free (a.weights), g_free (a.cache_dir);
  return status;
}
