/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-runner.c: a fuzz target as a regression test, for builds without libFuzzer.
 *
 * Feeds every file of the folders (or files) given as arguments to LLVMFuzzerTestOneInput, in
 * name order, so the seed corpus and every crash reproducer added to it run in the normal test
 * suite (and under its sanitizers). A crash, a sanitizer report or a critical fails the test. */
#include "fuzz-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
run_file (const char *path, int *count)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("%s (%" G_GSIZE_FORMAT " bytes)\n", path, length);
  fflush (stdout);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
  (*count)++;
  return 0;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
run_folder (const char *path, int *count)
{
  g_autoptr (GError) error = NULL;
  GDir *dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_dir_close (dir);
  /* Name order, so a failure reproduces with the same sequence every time. */
  g_ptr_array_sort (names, compare_paths);
  int failures = 0;
  for (guint i = 0; i < names->len; i++)
    failures += run_file (names->pdata[i], count);
  return failures;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s CORPUS-FOLDER-OR-FILE...\n", argv[0]);
      return 2;
    }
  int failures = 0, count = 0;
  for (int i = 1; i < argc; i++)
    failures += g_file_test (argv[i], G_FILE_TEST_IS_DIR) ? run_folder (argv[i], &count)
                                                         : run_file (argv[i], &count);
  printf ("%d inputs ran\n", count);
  /* An empty corpus checks nothing: that is a broken test, not a pass. */
  return failures == 0 && count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
