/* SPDX-License-Identifier: Apache-2.0 */
/* test-folder-watch.c: the folder watch of line mode (workbench-folder-watch.h) on a real
 * folder, without a display: files already there are ignored; a copied file is reported once,
 * complete; a file written in two halves waits for the second; a file renamed from a writer's
 * temporary name counts under its new name; a file deleted while being written is reported as
 * vanished, never as ready; a burst of 300 files is reported in full, in a few batches; a file
 * truncated for good is reported once it has stayed so for the give-up time. */
#include "test-workbench-util.h"
#include "workbench-folder-watch.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#define POLL_MS 50
#define GIVE_UP_MS 2000

typedef struct {
  GPtrArray *ready;     /* paths, in the order reported */
  GPtrArray *vanished;
  guint batches;
} Seen;

static void
on_ready (WorkbenchFolderWatch *watch, char **paths, Seen *seen)
{
  for (char **p = paths; *p; p++)
    g_ptr_array_add (seen->ready, g_strdup (*p));
  seen->batches++;
}

static void
on_vanished (WorkbenchFolderWatch *watch, const char *path, Seen *seen)
{
  g_ptr_array_add (seen->vanished, g_strdup (path));
}

static gboolean
timed_out (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for ms, or until *count reaches want (when want > 0). */
static void
spin (int ms, const guint *count, guint want)
{
  gboolean done = FALSE;
  guint id = g_timeout_add (ms, timed_out, &done);
  while (!done && !(want > 0 && *count >= want))
    g_main_context_iteration (NULL, TRUE);
  if (!done)
    g_source_remove (id);
}

static char *
read_file (const char *path, gsize *len)
{
  char *data = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &data, len, &error));
  return data;
}

static guint
count_path (GPtrArray *paths, const char *path)
{
  guint n = 0;
  for (guint i = 0; i < paths->len; i++)
    n += strcmp (paths->pdata[i], path) == 0;
  return n;
}

static void
test_complete_marks (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *png = wb_test_write_png (dir, "a.png", 40, 30, 1);
  gsize len;
  g_autofree char *data = read_file (png, &len);
  g_assert_true (workbench_image_file_is_complete (png));
  g_autofree char *half = g_build_filename (dir, "half.png", NULL);
  wb_test_write_bytes (half, data, len - 12, FALSE);
  g_assert_false (workbench_image_file_is_complete (half));
  const char jpeg[] = "\xff\xd8\xff\xe0 body \xff\xd9";
  g_autofree char *jpg = g_build_filename (dir, "a.jpg", NULL);
  wb_test_write_bytes (jpg, jpeg, sizeof jpeg - 1, FALSE);
  g_assert_true (workbench_image_file_is_complete (jpg));
  wb_test_write_bytes (jpg, jpeg, sizeof jpeg - 3, FALSE);
  g_assert_false (workbench_image_file_is_complete (jpg));
  const char bmp[16] = "BM\x20"; /* declares 32 bytes; the rest is zeros */
  g_autofree char *bmp_path = g_build_filename (dir, "a.bmp", NULL);
  wb_test_write_bytes (bmp_path, bmp, 16, FALSE);
  g_assert_false (workbench_image_file_is_complete (bmp_path));
  /* No end mark: a TIFF is complete when it decodes. */
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  g_autofree char *tif = g_build_filename (dir, "a.tif", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save (pixbuf, tif, "tiff", &error, NULL));
  g_assert_true (workbench_image_file_is_complete (tif));
  g_autofree char *tif_data = read_file (tif, &len);
  wb_test_write_bytes (tif, tif_data, len / 2, FALSE);
  g_assert_false (workbench_image_file_is_complete (tif));
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_assert_false (workbench_image_file_is_complete (missing));
  wb_test_remove_tree (dir);
}

static void
test_watch (void)
{
  g_autofree char *src = wb_test_make_dir ();
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *before = wb_test_write_png (dir, "before.png", 32, 32, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (WorkbenchFolderWatch) watch = workbench_folder_watch_new (dir, POLL_MS, GIVE_UP_MS, &error);
  g_assert_no_error (error);
  Seen seen = { g_ptr_array_new_with_free_func (g_free),
                g_ptr_array_new_with_free_func (g_free), 0 };
  g_signal_connect (watch, "files-ready", G_CALLBACK (on_ready), &seen);
  g_signal_connect (watch, "file-vanished", G_CALLBACK (on_vanished), &seen);

  /* A file already there changes: still not new. A copied file: reported once. */
  g_autofree char *src_png = wb_test_write_png (src, "part.png", 64, 48, 2);
  gsize len;
  g_autofree char *data = read_file (src_png, &len);
  wb_test_write_bytes (before, data, len, FALSE);
  g_autofree char *copied = g_build_filename (dir, "copied.png", NULL);
  wb_test_write_bytes (copied, data, len, FALSE);
  spin (3000, &seen.ready->len, 1);
  spin (10 * POLL_MS, NULL, 0);
  g_assert_cmpuint (seen.ready->len, ==, 1);
  g_assert_cmpstr (seen.ready->pdata[0], ==, copied);

  /* Written in two halves: nothing until the second half is there. */
  g_autofree char *slow = g_build_filename (dir, "slow.png", NULL);
  wb_test_write_bytes (slow, data, len / 2, FALSE);
  spin (20 * POLL_MS, NULL, 0);
  g_assert_cmpuint (seen.ready->len, ==, 1);
  g_assert_cmpuint (workbench_folder_watch_get_n_waiting (watch), ==, 1);
  wb_test_write_bytes (slow, data + len / 2, len - len / 2, TRUE);
  spin (3000, &seen.ready->len, 2);
  g_assert_cmpuint (seen.ready->len, ==, 2);
  g_assert_cmpstr (seen.ready->pdata[1], ==, slow);

  /* A writer's temporary name, renamed: the image counts under its own name. */
  g_autofree char *part = g_build_filename (dir, "renamed.png.part", NULL);
  g_autofree char *renamed = g_build_filename (dir, "renamed.png", NULL);
  wb_test_write_bytes (part, data, len, FALSE);
  g_assert_cmpint (g_rename (part, renamed), ==, 0);
  spin (3000, &seen.ready->len, 3);
  g_assert_cmpuint (seen.ready->len, ==, 3);
  g_assert_cmpstr (seen.ready->pdata[2], ==, renamed);

  /* Deleted while being written: vanished, never ready. */
  g_autofree char *gone = g_build_filename (dir, "gone.png", NULL);
  wb_test_write_bytes (gone, data, len / 2, FALSE);
  spin (4 * POLL_MS, NULL, 0);
  g_assert_cmpint (g_unlink (gone), ==, 0);
  spin (3000, &seen.vanished->len, 1);
  g_assert_cmpuint (seen.vanished->len, ==, 1);
  g_assert_cmpstr (seen.vanished->pdata[0], ==, gone);

  /* A burst: every file once, in batches rather than one by one. */
  guint batches = seen.batches;
  const guint n = 300;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("burst-%03u.png", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      wb_test_write_bytes (path, data, len, FALSE);
    }
  spin (20000, &seen.ready->len, 3 + n);
  spin (10 * POLL_MS, NULL, 0);
  g_assert_cmpuint (seen.ready->len, ==, 3 + n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("burst-%03u.png", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpuint (count_path (seen.ready, path), ==, 1);
    }
  g_assert_cmpuint (count_path (seen.ready, before), ==, 0);
  g_test_message ("%u files in %u batches", n, seen.batches - batches);
  g_assert_cmpuint (seen.batches - batches, <, n / 4);
  g_assert_cmpuint (workbench_folder_watch_get_n_waiting (watch), ==, 0);

  /* Truncated for good: reported once it has not changed for GIVE_UP_MS, so that its
   * inspection can say why it fails. */
  g_autofree char *stuck = g_build_filename (dir, "stuck.png", NULL);
  wb_test_write_bytes (stuck, data, len / 2, FALSE);
  gint64 t0 = g_get_monotonic_time ();
  spin (GIVE_UP_MS / 2, NULL, 0);
  g_assert_cmpuint (count_path (seen.ready, stuck), ==, 0);
  spin (4 * GIVE_UP_MS, &seen.ready->len, 4 + n);
  g_assert_cmpuint (count_path (seen.ready, stuck), ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, GIVE_UP_MS * 1000);

  /* Stopped: nothing more. */
  workbench_folder_watch_stop (watch);
  g_autofree char *late = g_build_filename (dir, "late.png", NULL);
  wb_test_write_bytes (late, data, len, FALSE);
  spin (10 * POLL_MS, NULL, 0);
  g_assert_cmpuint (seen.ready->len, ==, 4 + n);
  g_ptr_array_unref (seen.ready);
  g_ptr_array_unref (seen.vanished);
  wb_test_remove_tree (dir);
  wb_test_remove_tree (src);
}

static void
test_not_a_folder (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *png = wb_test_write_png (dir, "a.png", 8, 8, 1);
  g_assert_null (workbench_folder_watch_new (png, POLL_MS, GIVE_UP_MS, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  wb_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/folder-watch/complete-marks", test_complete_marks);
  g_test_add_func ("/folder-watch/watch", test_watch);
  g_test_add_func ("/folder-watch/not-a-folder", test_not_a_folder);
  return g_test_run ();
}
