/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-study.h"

#include "uad-error.h"
#include "uad-json.h"

#include <math.h>
#include <string.h>

void
workbench_study_free (WorkbenchStudy *study)
{
  if (study == NULL)
    return;
  g_free (study->folder);
  g_free (study->name);
  g_free (study->status);
  g_strfreev (study->arguments);
  g_free (study->plot_png);
  g_ptr_array_unref (study->table);
  g_strfreev (study->curves);
  g_free (study);
}

/* The folder's file of a role in study.json's "files", if it is there. */
static char *
role_file (const WorkbenchStudy *study, const UadJson *files, const char *role)
{
  const char *name = uad_json_get_string (uad_json_object_get (files, role), NULL);
  /* Only a plain name: study.json must not point outside its folder. */
  if (name == NULL || *name == '\0' || strchr (name, '/') != NULL || g_str_equal (name, ".."))
    return NULL;
  char *path = g_build_filename (study->folder, name, NULL);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_free (path);
  return NULL;
}

/* The table's rows, comma-separated (the studies write no quoted fields). */
static void
read_table (WorkbenchStudy *study, const char *path)
{
  g_autofree char *text = NULL;
  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    if (*lines[i] != '\0')
      g_ptr_array_add (study->table, g_strsplit (lines[i], ",", -1));
}

/* "name=value" for every argument with a value. */
static GStrv
read_arguments (const UadJson *args)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < uad_json_get_length (args); i++)
    {
      const char *key;
      const char *value = uad_json_get_string (uad_json_object_get_member (args, i, &key, NULL), NULL);
      /* 0 is how an unused --epochs or --minutes is recorded. */
      if (value == NULL || *value == '\0' || g_str_equal (value, "0"))
        continue;
      /* Numbers as a person writes them (the file keeps every digit of 5e-4). */
      char *end;
      double number = g_ascii_strtod (value, &end);
      g_autofree char *argument = *end == '\0' ? g_strdup_printf ("%s=%g", key, number)
                                               : g_strdup_printf ("%s=%s", key, value);
      g_strv_builder_add (b, argument);
    }
  return g_strv_builder_end (b);
}

/* A sentence per network of the summary's "curves": where its image AUROC peaked and ended,
 * and how far its loss fell, which together say whether it learned the shortcut. */
static GStrv
read_curves (const UadJson *curves)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < uad_json_get_length (curves); i++)
    {
      const char *model;
      const UadJson *c = uad_json_object_get_member (curves, i, &model, NULL);
      double peak = uad_json_get_number (uad_json_object_get (c, "peak_image_auroc"));
      double last = uad_json_get_number (uad_json_object_get (c, "last_image_auroc"));
      double first_loss = uad_json_get_number (uad_json_object_get (c, "first_loss"));
      double last_loss = uad_json_get_number (uad_json_object_get (c, "last_loss"));
      int64_t peak_epoch = 0, last_epoch = 0;
      uad_json_get_int64 (uad_json_object_get (c, "peak_epoch"), &peak_epoch);
      uad_json_get_int64 (uad_json_object_get (c, "last_epoch"), &last_epoch);
      if (isnan (peak) || isnan (last))
        continue;
      g_autofree char *line = g_strdup_printf (
        "%s: image AUROC %.1f at epoch %" G_GINT64_FORMAT " (peak), %.1f at epoch %" G_GINT64_FORMAT
        " (last); loss %.4g → %.4g", model, peak, peak_epoch, last, last_epoch, first_loss,
        last_loss);
      g_strv_builder_add (b, line);
    }
  return g_strv_builder_end (b);
}

WorkbenchStudy *
workbench_study_load (const char *folder, GError **error)
{
  g_autofree char *json_path = g_build_filename (folder, "study.json", NULL);
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr (GError) io = NULL;
  if (!g_file_get_contents (json_path, &text, &length, &io))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s holds no study results (%s)", folder,
                   io->message);
      return NULL;
    }
  g_autoptr (UadJson) root = uad_json_parse (text, length, error);
  if (root == NULL)
    {
      g_prefix_error (error, "%s: ", json_path);
      return NULL;
    }
  const char *name = uad_json_get_string (uad_json_object_get (root, "study"), NULL);
  const char *status = uad_json_get_string (uad_json_object_get (root, "status"), NULL);
  if (name == NULL || status == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s is not a study's: it names no study and status", json_path);
      return NULL;
    }
  g_autoptr (WorkbenchStudy) study = g_new0 (WorkbenchStudy, 1);
  study->folder = g_strdup (folder);
  study->name = g_strdup (name);
  study->status = g_strdup (status);
  const UadJson *wall = uad_json_object_get (root, "wall_seconds");
  study->wall_seconds = wall ? uad_json_get_number (wall) : NAN;
  study->arguments = read_arguments (uad_json_object_get (root, "arguments"));
  const UadJson *files = uad_json_object_get (root, "files");
  study->plot_png = role_file (study, files, "plot_png");
  study->table = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autofree char *table = role_file (study, files, "table");
  read_table (study, table);
  study->curves = read_curves (uad_json_object_get (uad_json_object_get (root, "summary"),
                                                    "curves"));
  return g_steal_pointer (&study);
}
