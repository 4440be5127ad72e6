/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-scan.h"

#include "uad-dataset.h"
#include "workbench-image-info.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char **paths;    /* folders (scan_folders) or files (scan_files) */
  guint n;
  char **folders;  /* scan_files: the run's folders */
  gboolean include_training;
  guint n_training; /* scan_folders: MVTec training images found */
} ScanData;

static void
scan_data_free (ScanData *d)
{
  g_strfreev (d->paths);
  g_strfreev (d->folders);
  g_free (d);
}

/* For .../<class>/train|test/<defect>/<file>: the index of the train/test component. */
static int
mvtec_split_index (char **parts, int n)
{
  for (int c = n - 3; c >= 1; c--)
    if (strcmp (parts[c], "test") == 0 || strcmp (parts[c], "train") == 0)
      return c;
  return -1;
}

/* parts[0 .. n) joined into a path again. */
static char *
join_parts (char **parts, int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (s, G_DIR_SEPARATOR);
      g_string_append (s, parts[i]);
    }
  return g_string_free (s, FALSE);
}

/* An MVTec ground-truth mask: <class>/ground_truth/<defect>/<file> beside <class>/test. */
static gboolean
is_mvtec_mask (char **parts, int n)
{
  if (n < 4 || strcmp (parts[n - 3], "ground_truth") != 0)
    return FALSE;
  g_autofree char *class_dir = join_parts (parts, n - 3);
  g_autofree char *test_dir = g_build_filename (class_dir, "test", NULL);
  return g_file_test (test_dir, G_FILE_TEST_IS_DIR);
}

/* The item of one image file found in folder (index folder of the opened ones); NULL for an
 * MVTec mask. */
static WorkbenchItem *
make_item (const char *path, guint folder, const char *folder_path)
{
  g_auto (GStrv) parts = g_strsplit (path, G_DIR_SEPARATOR_S, -1);
  int n = (int) g_strv_length (parts);
  if (is_mvtec_mask (parts, n))
    return NULL;
  const char *path_class = NULL, *defect = NULL;
  g_autofree char *mask = NULL;
  int c = mvtec_split_index (parts, n);
  if (c >= 0)
    {
      path_class = parts[c - 1];
      defect = parts[c + 1];
      if (strcmp (parts[c], "test") == 0 && strcmp (defect, "good") != 0)
        {
          const char *file = parts[n - 1];
          const char *dot = strrchr (file, '.');
          g_autofree char *stem = dot ? g_strndup (file, dot - file) : g_strdup (file);
          g_autofree char *mask_name = g_strconcat (stem, "_mask.png", NULL);
          g_autofree char *class_dir = join_parts (parts, c);
          mask = g_build_filename (class_dir, "ground_truth", defect, mask_name, NULL);
          if (!g_file_test (mask, G_FILE_TEST_IS_REGULAR))
            g_clear_pointer (&mask, g_free);
        }
    }
  GStatBuf st;
  gboolean exists = g_stat (path, &st) == 0;
  const char *const in[] = { folder_path, NULL };
  g_autofree char *name = uad_image_relative_path (path, in);
  return workbench_item_new (path, folder, name, path_class, defect, mask,
                             exists ? (gint64) st.st_size : 0,
                             exists ? (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC
                                      + st.st_mtim.tv_nsec / 1000 : 0);
}

/* An MVTec training image (<class>/train/<defect>/<file> beside <class>/test) found below its
 * class folder, i.e. the opened folder is not the train folder or inside it. */
static gboolean
is_mvtec_training (const char *path, const char *folder_path)
{
  g_auto (GStrv) parts = g_strsplit (path, G_DIR_SEPARATOR_S, -1);
  int n = (int) g_strv_length (parts);
  int c = mvtec_split_index (parts, n);
  if (c < 0 || strcmp (parts[c], "train") != 0)
    return FALSE;
  g_autofree char *class_dir = join_parts (parts, c);
  g_autofree char *train_dir = join_parts (parts, c + 1);
  g_autofree char *test_dir = g_build_filename (class_dir, "test", NULL);
  const char *const in[] = { folder_path, NULL };
  g_autofree char *below = uad_image_relative_path (train_dir, in);
  return strcmp (below, train_dir) != 0 && g_file_test (test_dir, G_FILE_TEST_IS_DIR);
}

static void
add_item (GPtrArray *items, GHashTable *seen, const char *path, guint folder,
          const char *folder_path)
{
  if (!g_hash_table_add (seen, g_strdup (path)))
    return;
  WorkbenchItem *item = make_item (path, folder, folder_path);
  if (item)
    g_ptr_array_add (items, item);
}

static void
scan_folders (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ScanData *d = task_data;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint f = 0; d->paths[f]; f++)
    {
      GError *error = NULL;
      g_auto (GStrv) found = uad_list_images (d->paths[f], &error);
      if (found == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      for (char **p = found; *p; p++)
        {
          if (is_mvtec_training (*p, d->paths[f]))
            {
              /* Counted once, as add_item lists an image once. */
              if (!g_hash_table_contains (seen, *p))
                d->n_training++;
              if (!d->include_training)
                {
                  g_hash_table_add (seen, g_strdup (*p));
                  continue;
                }
            }
          add_item (items, seen, *p, f, d->paths[f]);
        }
      if (g_task_return_error_if_cancelled (task))
        return;
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

static void
scan_files (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ScanData *d = task_data;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < d->n; i++)
    {
      guint folder = 0;
      for (guint f = 0; d->folders && d->folders[f]; f++)
        {
          const char *const one[] = { d->folders[f], NULL };
          g_autofree char *name = uad_image_relative_path (d->paths[i], one);
          if (strcmp (name, d->paths[i]) != 0)
            {
              folder = f;
              break;
            }
        }
      add_item (items, seen, d->paths[i], folder, d->folders ? d->folders[folder] : NULL);
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

void
workbench_scan_folders_async (const char *const *folders, gboolean include_training,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  ScanData *d = g_new0 (ScanData, 1);
  d->paths = g_strdupv ((char **) folders);
  d->include_training = include_training;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, workbench_scan_folders_async);
  g_task_set_task_data (task, d, (GDestroyNotify) scan_data_free);
  g_task_run_in_thread (task, scan_folders);
}

GPtrArray *
workbench_scan_folders_finish (GAsyncResult *result, guint *n_training, GError **error)
{
  GPtrArray *items = g_task_propagate_pointer (G_TASK (result), error);
  *n_training = items ? ((ScanData *) g_task_get_task_data (G_TASK (result)))->n_training : 0;
  return items;
}

void
workbench_scan_files_async (const char *const *paths, guint n, const char *const *folders,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  ScanData *d = g_new0 (ScanData, 1);
  d->paths = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    d->paths[i] = g_strdup (paths[i]);
  d->n = n;
  d->folders = g_strdupv ((char **) folders);
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, workbench_scan_files_async);
  g_task_set_task_data (task, d, (GDestroyNotify) scan_data_free);
  g_task_run_in_thread (task, scan_files);
}

GPtrArray *
workbench_scan_files_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
