/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-util.c: input files for the fuzz targets (see fuzz-util.h). */
#include "fuzz-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *folder;
static GHashTable *paths; /* name -> path in folder */

static void
remove_folder (void)
{
  /* Every file: the inputs, and what the readers made beside them (SQLite's -wal and -shm). */
  GDir *dir = g_dir_open (folder, 0, NULL);
  if (dir)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (folder, name, NULL);
          g_unlink (path);
        }
      g_dir_close (dir);
    }
  g_rmdir (folder);
}

static gboolean
setup (void)
{
  if (folder)
    return TRUE;
  /* A critical is a g_return_if_fail that file content reached: file content is never a
   * programming error, so it must crash the fuzzer (and fail the regression runner) rather
   * than pass unnoticed. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  g_autoptr (GError) error = NULL;
  folder = g_dir_make_tmp ("uniad-fuzz-XXXXXX", &error);
  if (folder == NULL)
    {
      fprintf (stderr, "fuzz: cannot make a temporary folder: %s\n", error->message);
      return FALSE;
    }
  paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  atexit (remove_folder);
  return TRUE;
}

const char *
fuzz_write_input (const char *name, const uint8_t *data, size_t size, const char *const *stale)
{
  if (!setup ())
    return NULL;
  for (const char *const *s = stale; s && *s; s++)
    {
      g_autofree char *path = g_build_filename (folder, *s, NULL);
      g_unlink (path);
    }
  char *path = g_hash_table_lookup (paths, name);
  if (path == NULL)
    {
      path = g_build_filename (folder, name, NULL);
      g_hash_table_insert (paths, g_strdup (name), path);
    }
  /* Plain stdio, not g_file_set_contents: no fsync and rename per input, which would cost
   * more than most of the readers under test. */
  FILE *f = fopen (path, "wb");
  if (f == NULL)
    {
      fprintf (stderr, "fuzz: cannot write %s: %s\n", path, g_strerror (errno));
      return NULL;
    }
  gboolean ok = (size == 0 || fwrite (data, 1, size, f) == size);
  ok = (fclose (f) == 0) && ok;
  if (!ok)
    {
      fprintf (stderr, "fuzz: cannot write %s: %s\n", path, g_strerror (errno));
      return NULL;
    }
  return path;
}
