/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-out.h"

#include "uad-error.h"
#include "uad-json.h"

#include <errno.h>
#include <glib/gstdio.h>

struct CliStudyOut {
  char *dir, *name, *json_path;
  GStrv args;             /* option, value, ... */
  GPtrArray *files;       /* role, file, ... */
  double earlier_seconds; /* wall time of the earlier runs */
  gint64 start_us;
  gboolean resuming;
};

/* study.json's arguments must be exactly these: the same options with the same values. */
static gboolean
check_arguments (CliStudyOut *out, const UadJson *root, GError **error)
{
  const UadJson *study = uad_json_object_get (root, "study");
  const UadJson *args = uad_json_object_get (root, "arguments");
  if (study == NULL || g_strcmp0 (uad_json_get_string (study, NULL), out->name) != 0 || args == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH, "%s does not hold a study %s to resume",
                   out->dir, out->name);
      return FALSE;
    }
  guint n = 0;
  for (int i = 0; out->args[i]; i += 2, n++)
    {
      const UadJson *v = uad_json_object_get (args, out->args[i]);
      const char *was = v ? uad_json_get_string (v, NULL) : NULL;
      if (g_strcmp0 (was, out->args[i + 1]) != 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                       "%s holds a study run with --%s %s, not %s: resume it with the same "
                       "arguments, or choose another --out", out->dir, out->args[i],
                       was ? was : "(unset)", out->args[i + 1]);
          return FALSE;
        }
    }
  if (uad_json_get_length (args) != n)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s holds a study run with other options; choose another --out", out->dir);
      return FALSE;
    }
  const UadJson *wall = uad_json_object_get (root, "wall_seconds");
  out->earlier_seconds = wall ? uad_json_get_number (wall) : 0;
  return TRUE;
}

/* The existing study.json, parsed; NULL without error when there is none. */
static UadJson *
read_study (const CliStudyOut *out, GError **error)
{
  g_autofree char *text = NULL;
  size_t length;
  if (!g_file_test (out->json_path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!g_file_get_contents (out->json_path, &text, &length, error))
    return NULL;
  return uad_json_parse (text, length, error);
}

static gboolean
write_study (const CliStudyOut *out, const char *status, const char *summary, GError **error)
{
  g_autoptr (GString) j = g_string_new ("{\"study\": ");
  uad_json_append_string (j, out->name);
  g_string_append (j, ", \"status\": ");
  uad_json_append_string (j, status);
  g_string_append (j, ", \"wall_seconds\": ");
  uad_json_append_double (j, out->earlier_seconds + (g_get_monotonic_time () - out->start_us) / 1e6);
  g_string_append (j, ",\n \"arguments\": {");
  for (int i = 0; out->args[i]; i += 2)
    {
      g_string_append (j, i ? ", " : "");
      uad_json_append_string (j, out->args[i]);
      g_string_append (j, ": ");
      uad_json_append_string (j, out->args[i + 1]);
    }
  g_string_append (j, "},\n \"files\": {");
  for (guint i = 0; i < out->files->len; i += 2)
    {
      g_string_append (j, i ? ", " : "");
      uad_json_append_string (j, out->files->pdata[i]);
      g_string_append (j, ": ");
      uad_json_append_string (j, out->files->pdata[i + 1]);
    }
  g_string_append_printf (j, "},\n \"summary\": %s}\n", summary ? summary : "{}");
  return g_file_set_contents (out->json_path, j->str, (gssize) j->len, error);
}

/* Removes the checkpoints of an earlier study. */
static gboolean
empty_state (const char *state, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (state, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));)
    {
      g_autofree char *path = g_build_filename (state, name, NULL);
      if (g_remove (path) != 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", path, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

CliStudyOut *
cli_study_out_open (const char *dir, const char *name, const char *const *args, gboolean resume,
                    GError **error)
{
  g_autoptr (CliStudyOut) out = g_new0 (CliStudyOut, 1);
  out->dir = g_strdup (dir);
  out->name = g_strdup (name);
  out->json_path = g_build_filename (dir, "study.json", NULL);
  out->args = g_strdupv ((char **) args);
  out->files = g_ptr_array_new_with_free_func (g_free);
  out->start_us = g_get_monotonic_time ();
  out->resuming = resume;
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  if (g_mkdir_with_parents (state, 0755) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot create the folder: %s", state,
                   g_strerror (errno));
      return NULL;
    }
  g_autoptr (GError) bad = NULL;
  g_autoptr (UadJson) old = read_study (out, &bad);
  if (bad != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&bad), "%s: ", out->json_path);
      return NULL;
    }
  if (resume && old == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH, "%s holds no study to resume", dir);
      return NULL;
    }
  if (resume && !check_arguments (out, old, error))
    return NULL;
  const UadJson *status = old ? uad_json_object_get (old, "status") : NULL;
  const char *was = status ? uad_json_get_string (status, NULL) : NULL;
  if (!resume && (g_strcmp0 (was, "stopped") == 0 || g_strcmp0 (was, "running") == 0))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s holds an unfinished study: add "
                   "--resume to continue it, or choose another --out", dir);
      return NULL;
    }
  if (!resume && !empty_state (state, error))
    return NULL;
  if (!write_study (out, "running", NULL, error))
    return NULL;
  return g_steal_pointer (&out);
}

gboolean
cli_study_out_resuming (const CliStudyOut *out)
{
  return out->resuming;
}

char *
cli_study_out_file (const CliStudyOut *out, const char *file)
{
  return g_build_filename (out->dir, file, NULL);
}

char *
cli_study_out_state (const CliStudyOut *out, const char *key, const char *ext)
{
  g_autofree char *safe = g_strdup (key);
  for (char *c = safe; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '.')
      *c = '_';
  g_autofree char *file = g_strconcat (safe, ext, NULL);
  return g_build_filename (out->dir, "state", file, NULL);
}

void
cli_study_out_add_file (CliStudyOut *out, const char *role, const char *file)
{
  g_ptr_array_add (out->files, g_strdup (role));
  g_ptr_array_add (out->files, g_strdup (file));
}

gboolean
cli_study_out_finish (CliStudyOut *out, gboolean ok, const char *summary, GError **error)
{
  if (ok)
    return write_study (out, "done", summary, error);
  if (!g_error_matches (*error, UAD_ERROR, UAD_ERROR_CANCELLED))
    {
      /* Nothing to resume from what failed: a rerun may start over. */
      write_study (out, "failed", NULL, NULL);
      return FALSE;
    }
  g_prefix_error (error, "%s has the rows measured so far; the same command with --resume "
                  "continues: ", out->dir);
  /* The stop is the error to report, whether or not study.json could say so. */
  write_study (out, "stopped", NULL, NULL);
  return FALSE;
}

void
cli_study_out_free (CliStudyOut *out)
{
  if (out == NULL)
    return;
  g_free (out->dir);
  g_free (out->name);
  g_free (out->json_path);
  g_strfreev (out->args);
  g_ptr_array_unref (out->files);
  g_free (out);
}
