/* SPDX-License-Identifier: Apache-2.0 */
#include "test-workbench-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "uad-anomaly-map.h"
#include "uad-image.h"

char *
wb_test_make_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("uniad-wb-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

void
wb_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          wb_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

char *
wb_test_write_png (const char *dir, const char *name, int width, int height, int seed)
{
  g_autoptr (UadImage) img = uad_image_new (width, height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *px = img->rgb + 3 * (y * width + x);
        px[0] = (guint8) (x * 7 + seed * 31);
        px[1] = (guint8) (y * 5 + seed * 17);
        px[2] = (guint8) ((x + y) * 3 + seed);
      }
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_image_save_png (img, path, &error));
  g_assert_no_error (error);
  return path;
}

void
wb_test_write_bytes (const char *path, const char *data, gsize len, gboolean append)
{
  FILE *f = fopen (path, append ? "ab" : "wb");
  g_assert_nonnull (f);
  g_assert_cmpuint (fwrite (data, 1, len, f), ==, len);
  g_assert_cmpint (fclose (f), ==, 0);
}

float *
wb_test_make_map (float peak, float cx, float cy)
{
  const int n = UAD_ANOMALY_MAP_SIZE;
  float *map = g_new (float, n * n);
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      {
        float dx = (float) x / n - cx, dy = (float) y / n - cy;
        map[y * n + x] = 0.1f + peak * expf (-(dx * dx + dy * dy) * 40);
      }
  return map;
}

gint64
wb_test_add_model (UadHistory *h, const char *name)
{
  static const char *const classes[] = { "bottle", "cable", "screw", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, name, -1);
  g_autofree char *path = g_strconcat ("/models/", name, ".uniad", NULL);
  gint64 id = uad_history_add_model (h, path, sha, "mobilenet_v2", classes, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  for (int c = 0; classes[c]; c++)
    {
      g_assert_true (uad_history_set_thresholds (h, id, classes[c], 1, 2, 0.5, "default",
                                                 &error));
      g_assert_no_error (error);
    }
  return id;
}

gint64
wb_test_add_image (UadHistory *h, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_auto (UadImageFileInfo) info = { 0 };
  g_assert_true (uad_image_file_info_read (path, &info, &error));
  g_assert_no_error (error);
  gint64 id = uad_history_add_image (h, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
wb_test_list_dir (const char *dir)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}
