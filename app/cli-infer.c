/* SPDX-License-Identifier: Apache-2.0 */
/* cli-infer.c: `uniad infer`: score and verdict (pass, review or fail, by uad-verdict.h) of
 * image files and folders, optionally as CSV, heatmap overlays and pictures of the
 * reconstruction (the model's image decoder). */
#include "cli-commands.h"
#include "cli-common.h"

#include <gio/gio.h>

#include "uad-csv.h"
#include "uad-dataset.h"
#include "uad-error.h"
#include "uad-heatmap.h"
#include "uad-image.h"
#include "uad-verdict.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char *model, *weights, *csv, *heatmaps, *reconstructions, *class_name, *colormap;
  char *pass_below_text, *fail_above_text; /* NULL: each class's default */
  double pass_below, fail_above;           /* parsed from them; NAN when not given */
  int threads;
} InferArgs;

/* Every image file named, folders searched recursively, in order. names[i] is where image i's
 * outputs go under an output folder: a file's folder and name, or for a folder's images the
 * folder's name and their path inside it, so that equal file names in different folders stay
 * apart. */
static GPtrArray *
collect_images (char **args, int n, GPtrArray **names, GError **error)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  *names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < n; i++)
    {
      /* Also for a single file: a pipe named x.png is refused instead of read forever. */
      g_auto (GStrv) found = uad_list_images (args[i], error);
      if (found != NULL && found[0] == NULL)
        g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "no images in the folder %s", args[i]);
      if (found == NULL || found[0] == NULL)
        {
          g_ptr_array_unref (paths);
          g_clear_pointer (names, g_ptr_array_unref);
          return NULL;
        }
      if (!g_file_test (args[i], G_FILE_TEST_IS_DIR))
        {
          g_ptr_array_add (paths, g_strdup (args[i]));
          /* With its folder's name: MVTec classes reuse file names (0000.png). */
          g_autofree char *dir = g_path_get_dirname (args[i]);
          g_autofree char *folder = g_path_get_basename (dir);
          g_autofree char *base = g_path_get_basename (args[i]);
          g_ptr_array_add (*names, g_build_filename (folder, base, NULL));
          continue;
        }
      g_autoptr (GFile) root = g_file_new_for_path (args[i]);
      g_autofree char *root_name = g_file_get_basename (root);
      for (char **p = found; *p; p++)
        {
          g_autoptr (GFile) file = g_file_new_for_path (*p);
          g_autofree char *inside = g_file_get_relative_path (root, file);
          g_ptr_array_add (paths, g_strdup (*p));
          g_ptr_array_add (*names, g_build_filename (root_name, inside ? inside : *p, NULL));
        }
    }
  return paths;
}

/* <dir>/<name without extension><suffix>, its folder created. */
static char *
output_file (const char *dir, const char *name, const char *suffix, GError **error)
{
  g_autofree char *stem = g_strdup (name);
  char *dot = strrchr (stem, '.');
  if (dot && !strchr (dot, G_DIR_SEPARATOR))
    *dot = '\0';
  g_autofree char *file = g_strconcat (stem, suffix, NULL);
  g_autofree char *out = g_build_filename (dir, file, NULL);
  g_autofree char *folder = g_path_get_dirname (out);
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot create %s: %s",
                   folder, g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* <dir>/<name without extension>_heatmap.png: the image at 224x224 with the map over it, map
 * values 0..hi spanning the colour map. */
static gboolean
write_heatmap (const char *dir, const char *path, const char *name, const float *map, float hi,
               UadColormap cmap, GError **error)
{
  g_autoptr (UadImage) img = uad_image_load (path, error);
  if (img == NULL)
    return FALSE;
  g_autoptr (UadImage) small = uad_image_resize_bilinear (img, UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE);
  uad_heatmap_overlay (small, map, UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE, 0, hi, 0.5f, cmap);
  g_autofree char *out = output_file (dir, name, "_heatmap.png", error);
  return out && uad_image_save_png (small, out, error);
}

/* <dir>/<name without extension>_reconstruction.png for the images of a batch that were read
 * (results without error): decode(original features) | decode(reconstruction) side by side, as
 * uad_detector_render gives them. Returns the number of failures (reported on stderr). */
static int
write_reconstructions (UadDetector *det, const char *dir, const char *const *names,
                       const UadDetection *results, int count)
{
  UadModel *model = uad_detector_get_model (det);
  size_t per = (size_t) model->channels * UAD_FEATURE_GRID * UAD_FEATURE_GRID;
  g_autofree float *features = g_new (float, UAD_DETECTOR_BATCH * per);
  g_autofree float *recs = g_new (float, UAD_DETECTOR_BATCH * per);
  int slot[UAD_DETECTOR_BATCH], m = 0, failures = 0;
  g_autoptr (GError) error = NULL;
  for (int i = 0; i < count; i++)
    if (results[i].error == NULL)
      {
        memcpy (features + m * per, results[i].features, per * sizeof (float));
        memcpy (recs + m * per, results[i].rec, per * sizeof (float));
        slot[m++] = i;
      }
  UadImage *left[UAD_DETECTOR_BATCH], *right[UAD_DETECTOR_BATCH];
  if (m == 0 || !uad_detector_render (det, features, recs, m, left, right, &error))
    {
      if (error)
        fprintf (stderr, "uniad infer: %s\n", error->message);
      return error ? m : 0;
    }
  for (int k = 0; k < m; k++)
    {
      int size = left[k]->width;
      g_autoptr (UadImage) pair = uad_image_new (2 * size, size);
      for (int y = 0; y < size; y++)
        {
          guint8 *row = pair->rgb + (size_t) y * 2 * size * 3;
          memcpy (row, left[k]->rgb + (size_t) y * size * 3, (size_t) size * 3);
          memcpy (row + (size_t) size * 3, right[k]->rgb + (size_t) y * size * 3, (size_t) size * 3);
        }
      uad_image_free (left[k]);
      uad_image_free (right[k]);
      g_autofree char *file = output_file (dir, names[slot[k]], "_reconstruction.png", &error);
      if (file == NULL || !uad_image_save_png (pair, file, &error))
        {
          fprintf (stderr, "uniad infer: %s\n", error->message);
          g_clear_error (&error);
          failures++;
        }
    }
  return failures;
}

/* --pass-below and --fail-above: scores are distances, so a threshold is finite and >= 0. */
static gboolean
parse_threshold (const char *option, const char *text, double *out, GError **error)
{
  *out = NAN;
  if (text == NULL)
    return TRUE;
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v) || v < 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "--%s %s: a threshold is a number >= 0, as scores are", option, text);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

/* The CSV table, written as the results arrive into FILE.part, which becomes FILE (rename)
 * only when the run is complete: a long run can be followed, and a stopped one leaves no
 * half-written FILE. */
typedef struct {
  char *path, *part;
  FILE *file;
  GString *rows;
} CsvOut;

static gboolean
csv_open (CsvOut *c, const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) /* said now, not after the whole run */
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write %s: it is a folder", path);
      return FALSE;
    }
  c->path = g_strdup (path);
  c->part = g_strconcat (path, ".part", NULL);
  c->rows = g_string_new ("path,class,score,pass_below,fail_above,verdict,heatmap_max\r\n");
  if ((c->file = g_fopen (c->part, "w")) != NULL)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write %s: %s", c->part, g_strerror (errno));
  return FALSE;
}

/* Writes the rows gathered so far. */
static gboolean
csv_flush (CsvOut *c, GError **error)
{
  if (c->file == NULL)
    return TRUE;
  gboolean ok = fwrite (c->rows->str, 1, c->rows->len, c->file) == c->rows->len
                && fflush (c->file) == 0;
  g_string_truncate (c->rows, 0);
  if (!ok)
    g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write %s: %s", c->part,
                 g_strerror (errno));
  return ok;
}

/* Finishes the file and puts it in place when complete; else leaves FILE.part. */
static gboolean
csv_close (CsvOut *c, gboolean complete, GError **error)
{
  gboolean ok = csv_flush (c, error);
  if (c->file && fclose (c->file) != 0 && ok)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write %s: %s", c->part,
                   g_strerror (errno));
      ok = FALSE;
    }
  c->file = NULL;
  if (ok && complete && g_rename (c->part, c->path) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot rename %s to %s: %s", c->part,
                   c->path, g_strerror (errno));
      ok = FALSE;
    }
  g_free (c->path), g_free (c->part);
  g_string_free (c->rows, TRUE);
  return ok;
}

/* Every class's thresholds: the model's (its explicit ones, or the defaults from its training
 * scores), with those given on the command line in their place. */
static UadVerdictThresholds *
class_thresholds (const UadModel *model, const InferArgs *a, GError **error)
{
  g_autofree UadVerdictThresholds *th = g_new (UadVerdictThresholds, model->n_classes);
  for (int k = 0; k < model->n_classes; k++)
    {
      th[k] = uad_model_class_thresholds (model, k);
      if (!isnan (a->pass_below))
        th[k].pass_below = a->pass_below;
      if (!isnan (a->fail_above))
        th[k].fail_above = a->fail_above;
      if (!uad_verdict_check_thresholds (&th[k], model->classes[k].name, error))
        return NULL;
    }
  return g_steal_pointer (&th);
}

static int
run_infer (InferArgs *a, char **args, int n_args)
{
  g_autoptr (GError) error = NULL;
  UadColormap cmap = UAD_COLORMAP_JET;
  if (a->colormap && !uad_colormap_parse (a->colormap, &cmap, &error))
    {
      cli_error ("infer", "%s", error->message);
      return CLI_EXIT_USAGE;
    }
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) paths = collect_images (args, n_args, &names, &error);
  if (paths == NULL)
    {
      cli_error ("infer", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  UadDetector *det = cli_load_detector (a->model, a->weights, a->threads);
  if (det == NULL)
    return CLI_EXIT_FAILURE;
  UadModel *model = uad_detector_get_model (det);
  int forced_class = -1;
  if (a->class_name && (forced_class = uad_model_find_class (model, a->class_name)) < 0)
    {
      cli_error ("infer", "the model has no class '%s'", a->class_name);
      uad_detector_free (det);
      return CLI_EXIT_USAGE;
    }
  g_autofree UadVerdictThresholds *thresholds = NULL;
  if (!parse_threshold ("pass-below", a->pass_below_text, &a->pass_below, &error)
      || !parse_threshold ("fail-above", a->fail_above_text, &a->fail_above, &error)
      || (thresholds = class_thresholds (model, a, &error)) == NULL)
    {
      cli_error ("infer", "%s", error->message);
      uad_detector_free (det);
      return CLI_EXIT_USAGE;
    }
  if (a->heatmaps && g_mkdir_with_parents (a->heatmaps, 0755) != 0)
    {
      cli_error ("infer", "cannot create %s: %s", a->heatmaps, g_strerror (errno));
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  g_autofree char *about = uad_model_describe (model);
  fprintf (stderr, "model: %s\n", about);
  if (a->reconstructions && model->method == UAD_METHOD_PADIM)
    {
      cli_error ("infer", "%s is a PaDiM model: it reconstructs nothing for --reconstructions",
                 a->model);
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  if (a->reconstructions && model->decoder == NULL)
    {
      cli_error ("infer", "%s has no image decoder for --reconstructions; add one with 'uniad "
                 "train-decoder'", a->model);
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  int n = (int) paths->len;
  g_autofree int *classes = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    classes[i] = forced_class >= 0 ? forced_class
                                   : uad_model_class_from_path (model, g_ptr_array_index (paths, i));
  CsvOut csv = { 0 };
  if (a->csv && !csv_open (&csv, a->csv, &error))
    {
      cli_error ("infer", "%s", error->message);
      uad_detector_free (det);
      return CLI_EXIT_FAILURE;
    }
  gboolean csv_ok = TRUE;
  int failures = 0, heatmap_failures = 0, counts[UAD_N_VERDICTS] = { 0 };
  UadDetection results[UAD_DETECTOR_BATCH];
  for (int first = 0; first < n; first += UAD_DETECTOR_BATCH)
    {
      int count = MIN (UAD_DETECTOR_BATCH, n - first);
      const char *const *batch = (const char *const *) paths->pdata + first;
      uad_detector_run_files (det, batch, count, classes + first, a->heatmaps != NULL,
                              a->reconstructions != NULL, results);
      for (int i = 0; i < count; i++)
        {
          UadDetection *r = &results[i];
          if (r->error)
            {
              fprintf (stderr, "uniad infer: %s\n", r->error->message);
              failures++;
              continue;
            }
          UadVerdictThresholds th = uad_verdict_thresholds_for (thresholds, model->n_classes,
                                                                r->class_index);
          UadVerdict verdict = uad_verdict_from_score (r->score, th.pass_below, th.fail_above);
          float hi = uad_verdict_heatmap_max (th.fail_above);
          counts[verdict]++;
          const char *cls = r->class_index >= 0 ? model->classes[r->class_index].name : "-";
          g_autofree char *shout = g_ascii_strup (uad_verdict_to_string (verdict), -1);
          printf ("%-10s %10.5f  %-12s %s\n", shout, r->score, cls, batch[i]);
          if (a->csv)
            {
              uad_csv_append_path (csv.rows, batch[i], FALSE);
              uad_csv_append_field (csv.rows, cls, FALSE);
              g_string_append_printf (csv.rows, "%.6f,%.9g,%.9g,%s,%.9g\r\n", r->score,
                                      th.pass_below, th.fail_above,
                                      uad_verdict_to_string (verdict), hi);
            }
          if (a->heatmaps && !write_heatmap (a->heatmaps, batch[i], g_ptr_array_index (names, first + i),
                                                   r->map, hi, cmap, &error))
            {
              fprintf (stderr, "uniad infer: %s\n", error->message);
              g_clear_error (&error);
              heatmap_failures++; /* the image itself was inspected */
            }
        }
      if (csv_ok && !csv_flush (&csv, &error))
        {
          cli_error ("infer", "%s", error->message);
          g_clear_error (&error);
          csv_ok = FALSE;
        }
      if (a->reconstructions)
        failures += write_reconstructions (det, a->reconstructions,
                                           (const char *const *) names->pdata + first, results,
                                           count);
      for (int i = 0; i < count; i++)
        uad_detection_clear (&results[i]);
    }
  uad_detector_free (det);
  fprintf (stderr, "%d images: %d pass, %d review, %d fail, %d could not be inspected\n", n,
           counts[UAD_VERDICT_PASS], counts[UAD_VERDICT_REVIEW], counts[UAD_VERDICT_FAIL],
           n - counts[UAD_VERDICT_PASS] - counts[UAD_VERDICT_REVIEW] - counts[UAD_VERDICT_FAIL]);
  if (heatmap_failures)
    fprintf (stderr, "%d heatmaps could not be written\n", heatmap_failures);
  if (a->csv && !csv_close (&csv, csv_ok, &error))
    {
      cli_error ("infer", "%s", error->message);
      return CLI_EXIT_FAILURE;
    }
  return failures || heatmap_failures || !csv_ok ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int
cli_infer (int argc, char **argv)
{
  InferArgs a = { 0 };
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &a.model, "Model file", "MODEL.uniad" },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &a.weights, "Backbone weights (default: found by the model's record in the user data folder)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &a.csv, "Also write the results as CSV", "FILE" },
    { "heatmaps", 0, 0, G_OPTION_ARG_FILENAME, &a.heatmaps, "Write each image's anomaly map over it as PNG", "DIR" },
    { "reconstructions", 0, 0, G_OPTION_ARG_FILENAME, &a.reconstructions, "Write each image's decoded features | decoded reconstruction as PNG (needs a model with an image decoder)", "DIR" },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &a.colormap, "Heatmap colours: jet (default), inferno, gray", "NAME" },
    { "class", 'c', 0, G_OPTION_ARG_STRING, &a.class_name, "Class of every image (default: from the path)", "NAME" },
    { "pass-below", 0, 0, G_OPTION_ARG_STRING, &a.pass_below_text, "Scores below this pass (default: per class, the model's threshold or mean + 3 std of training scores)", "T" },
    { "fail-above", 0, 0, G_OPTION_ARG_STRING, &a.fail_above_text, "Scores above this fail, between the two: review (default: per class, the model's threshold or mean + 6 std of training scores)", "T" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &a.threads, "Compute threads (default: one per core)", "N" },
    { NULL },
  };
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "infer", "PATH…", "anomaly scores of images and folders", entries))
    ;
  else if (argc < 2 || a.model == NULL)
    cli_error ("infer", "give --model MODEL.uniad and at least one PATH (see 'uniad infer --help')");
  else
    status = run_infer (&a, argv + 1, argc - 1);
  g_free (a.model), g_free (a.weights), g_free (a.csv), g_free (a.heatmaps), g_free (a.reconstructions);
  g_free (a.class_name), g_free (a.colormap), g_free (a.pass_below_text), g_free (a.fail_above_text);
  return status;
}
