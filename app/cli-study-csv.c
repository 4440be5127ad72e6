/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-csv.h"

#include "uad-error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CliStudyCsv {
  char *path;
  int n_fields;
  GPtrArray *rows; /* GStrv */
  FILE *file;      /* opened for appending */
};

void
cli_study_csv_number (GString *row, double v, int decimals)
{
  if (!isnan (v))
    g_string_append_printf (row, "%.*f", decimals, v);
}

double
cli_study_csv_value (const char *field)
{
  char *end;
  double v = g_ascii_strtod (field, &end);
  return *field == '\0' || *end != '\0' ? NAN : v;
}

static gboolean
io_error (const char *path, GError **error)
{
  g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s", path, g_strerror (errno));
  return FALSE;
}

/* The rows of the existing file that keep approves, into csv->rows and text. */
static gboolean
load_kept (CliStudyCsv *csv, const char *header, CliStudyCsvKeep keep, void *user_data,
           GString *text, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) missing = NULL;
  if (!g_file_get_contents (csv->path, &contents, NULL, &missing))
    return TRUE; /* nothing measured yet */
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  if (g_strcmp0 (lines[0], header) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s: its header is not this study's (%s); choose another --out", csv->path, header);
      return FALSE;
    }
  for (int i = 1; lines[i]; i++)
    {
      char **fields = g_strsplit (lines[i], ",", -1);
      /* A line cut short by a crash has too few fields: it is measured again. */
      if ((int) g_strv_length (fields) == csv->n_fields && keep (fields, user_data))
        {
          g_ptr_array_add (csv->rows, fields);
          g_string_append_printf (text, "%s\n", lines[i]);
        }
      else
        g_strfreev (fields);
    }
  return TRUE;
}

CliStudyCsv *
cli_study_csv_open (const char *path, const char *header, CliStudyCsvKeep keep, void *user_data,
                    GError **error)
{
  g_autoptr (CliStudyCsv) csv = g_new0 (CliStudyCsv, 1);
  csv->path = g_strdup (path);
  csv->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_auto (GStrv) names = g_strsplit (header, ",", -1);
  csv->n_fields = (int) g_strv_length (names);
  g_autoptr (GString) text = g_string_new (header);
  g_string_append_c (text, '\n');
  if (keep != NULL && !load_kept (csv, header, keep, user_data, text, error))
    return NULL;
  if (!g_file_set_contents (path, text->str, (gssize) text->len, error))
    return NULL;
  if ((csv->file = fopen (path, "a")) == NULL)
    {
      io_error (path, error);
      return NULL;
    }
  return g_steal_pointer (&csv);
}

gboolean
cli_study_csv_add (CliStudyCsv *csv, const char *row, GError **error)
{
  if (fprintf (csv->file, "%s\n", row) < 0 || fflush (csv->file) != 0)
    return io_error (csv->path, error);
  g_ptr_array_add (csv->rows, g_strsplit (row, ",", -1));
  return TRUE;
}

GPtrArray *
cli_study_csv_rows (const CliStudyCsv *csv)
{
  return csv->rows;
}

const char *
cli_study_csv_path (const CliStudyCsv *csv)
{
  return csv->path;
}

void
cli_study_csv_free (CliStudyCsv *csv)
{
  if (csv == NULL)
    return;
  if (csv->file != NULL)
    fclose (csv->file);
  g_ptr_array_unref (csv->rows);
  g_free (csv->path);
  g_free (csv);
}
