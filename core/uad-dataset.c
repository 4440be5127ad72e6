/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-dataset.h"

#include "uad-error.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

static const char *const image_extensions[] = { "png", "jpg", "jpeg", "bmp", "tif", "tiff" };

gboolean
uad_is_image_filename (const char *name)
{
  const char *dot = strrchr (name, '.');
  if (dot == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (image_extensions); i++)
    if (g_ascii_strcasecmp (dot + 1, image_extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Sorted names of the non-hidden entries of dir that are folders (want_dirs) or image files;
 * NULL and an error when dir cannot be read. */
static GPtrArray *
list_entries (const char *dir, gboolean want_dirs, GError **error)
{
  GError *local = NULL;
  GDir *d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      /* GLib's message names the folder and the reason. */
      g_set_error_literal (error, UAD_ERROR, UAD_ERROR_IO, local->message);
      g_error_free (local);
      return NULL;
    }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (name[0] == '.')
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (want_dirs ? g_file_test (path, G_FILE_TEST_IS_DIR)
                    : g_file_test (path, G_FILE_TEST_IS_REGULAR) && uad_is_image_filename (name))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_dir_close (d);
  g_ptr_array_sort (names, compare_strings);
  return names;
}

char **
uad_list_folders (const char *dir, GError **error)
{
  GPtrArray *names = list_entries (dir, TRUE, error);
  if (names == NULL)
    return NULL;
  g_ptr_array_set_free_func (names, NULL);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* Adds the test images of test/<defect> to items, with their masks when gt_dir is set. */
static gboolean
scan_defect (const char *test_dir, const char *defect, const char *gt_dir,
             GArray *items, GError **error)
{
  g_autofree char *dir = g_build_filename (test_dir, defect, NULL);
  g_autoptr (GPtrArray) files = list_entries (dir, FALSE, error);
  if (files == NULL)
    return FALSE;
  gboolean anomalous = strcmp (defect, "good") != 0;
  for (guint i = 0; i < files->len; i++)
    {
      const char *file = files->pdata[i];
      UadTestItem item = { g_build_filename (dir, file, NULL), g_strdup (defect), anomalous, NULL };
      g_array_append_val (items, item);
      if (anomalous && gt_dir != NULL)
        {
          g_autofree char *stem = g_strndup (file, strrchr (file, '.') - file);
          g_autofree char *mask_name = g_strconcat (stem, "_mask.png", NULL);
          char *mask = g_build_filename (gt_dir, defect, mask_name, NULL);
          g_array_index (items, UadTestItem, items->len - 1).mask_path = mask;
        }
    }
  return TRUE;
}

static void
clear_test_item (gpointer p)
{
  UadTestItem *item = p;
  g_free (item->path);
  g_free (item->defect);
  g_free (item->mask_path);
}

static gboolean
scan_class (const char *root, const char *name, UadClass *cls, GError **error)
{
  cls->name = g_strdup (name);
  g_autofree char *dir = g_build_filename (root, name, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "class folder %s does not exist", dir);
      return FALSE;
    }
  /* The class name goes into the model's JSON metadata, the CSV and the reports: UTF-8. */
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_autofree char *shown = g_filename_display_name (dir);
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "class folder %s: its name is not UTF-8 text, as a class name must be", shown);
      return FALSE;
    }

  g_autofree char *train_dir = g_build_filename (dir, "train", "good", NULL);
  if (!g_file_test (train_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "class %s has no training images: folder %s does not exist", name, train_dir);
      return FALSE;
    }
  g_autoptr (GPtrArray) train = list_entries (train_dir, FALSE, error);
  if (train == NULL)
    return FALSE;
  if (train->len == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "class %s has no training images: no image files in %s", name, train_dir);
      return FALSE;
    }
  cls->n_train = train->len;
  cls->train = g_new0 (char *, train->len + 1);
  for (guint i = 0; i < train->len; i++)
    cls->train[i] = g_build_filename (train_dir, train->pdata[i], NULL);

  g_autofree char *gt_dir = g_build_filename (dir, "ground_truth", NULL);
  cls->has_masks = g_file_test (gt_dir, G_FILE_TEST_IS_DIR);
  g_autofree char *test_dir = g_build_filename (dir, "test", NULL);
  if (!g_file_test (test_dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_autoptr (GPtrArray) defects = list_entries (test_dir, TRUE, error);
  if (defects == NULL)
    return FALSE;
  GArray *items = g_array_new (FALSE, FALSE, sizeof (UadTestItem));
  g_array_set_clear_func (items, clear_test_item);
  for (guint i = 0; i < defects->len; i++)
    if (!scan_defect (test_dir, defects->pdata[i], cls->has_masks ? gt_dir : NULL, items,
                      error))
      {
        g_array_unref (items);
        return FALSE;
      }
  cls->n_test = items->len;
  for (guint i = 0; i < items->len; i++)
    cls->n_anomalous += g_array_index (items, UadTestItem, i).anomalous;
  cls->test = (UadTestItem *) g_array_free (items, FALSE);
  return TRUE;
}

UadDataset *
uad_dataset_scan (const char *root, const char *const *classes, GError **error)
{
  if (!g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "dataset folder %s does not exist", root);
      return NULL;
    }

  g_autoptr (GPtrArray) names = NULL;
  if (classes != NULL)
    {
      names = g_ptr_array_new_with_free_func (g_free);
      for (int i = 0; classes[i] != NULL; i++)
        g_ptr_array_add (names, g_strdup (classes[i]));
      g_ptr_array_sort (names, compare_strings);
      for (guint i = 1; i < names->len;) /* a class named twice is scanned once */
        if (strcmp (names->pdata[i - 1], names->pdata[i]) == 0)
          g_ptr_array_remove_index (names, i);
        else
          i++;
    }
  else
    {
      names = list_entries (root, TRUE, error);
      if (names == NULL)
        return NULL;
      for (guint i = 0; i < names->len;)
        {
          g_autofree char *train = g_build_filename (root, names->pdata[i], "train", NULL);
          if (g_file_test (train, G_FILE_TEST_IS_DIR))
            i++;
          else
            g_ptr_array_remove_index (names, i);
        }
    }
  if (names->len == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "no classes in %s (expected class folders with train/good/ inside)", root);
      return NULL;
    }

  UadDataset *ds = g_new0 (UadDataset, 1);
  ds->root = g_strdup (root);
  ds->n_classes = names->len;
  ds->classes = g_new0 (UadClass, names->len);
  for (guint i = 0; i < names->len; i++)
    if (!scan_class (root, names->pdata[i], &ds->classes[i], error))
      {
        uad_dataset_free (ds);
        return NULL;
      }
  return ds;
}

void
uad_dataset_free (UadDataset *ds)
{
  if (ds == NULL)
    return;
  for (int c = 0; c < ds->n_classes; c++)
    {
      UadClass *cls = &ds->classes[c];
      g_free (cls->name);
      g_strfreev (cls->train);
      for (int i = 0; i < cls->n_test; i++)
        clear_test_item (&cls->test[i]);
      g_free (cls->test);
    }
  g_free (ds->classes);
  g_free (ds->root);
  g_free (ds);
}

/* Adds the image files under dir to out, depth first in name order; visited holds the folders
 * already searched (by device and inode), so links that loop back are followed only once. */
static gboolean
collect_images (const char *dir, GHashTable *visited, GPtrArray *out, GError **error)
{
  GStatBuf st;
  if (g_stat (dir, &st) == 0
      && !g_hash_table_add (visited, g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev,
                                                      (uintmax_t) st.st_ino)))
    return TRUE;
  g_autoptr (GPtrArray) files = list_entries (dir, FALSE, error);
  if (files == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    g_ptr_array_add (out, g_build_filename (dir, files->pdata[i], NULL));
  g_autoptr (GPtrArray) folders = list_entries (dir, TRUE, error);
  if (folders == NULL)
    return FALSE;
  for (guint i = 0; i < folders->len; i++)
    {
      g_autofree char *sub = g_build_filename (dir, folders->pdata[i], NULL);
      if (!collect_images (sub, visited, out, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
uad_dataset_check_masks (const UadDataset *ds, GError **error)
{
  for (int c = 0; c < ds->n_classes; c++)
    for (int i = 0; i < ds->classes[c].n_test; i++)
      {
        const UadTestItem *t = &ds->classes[c].test[i];
        if (t->mask_path != NULL && !g_file_test (t->mask_path, G_FILE_TEST_IS_REGULAR))
          {
            g_autofree char *image = g_path_get_basename (t->path);
            g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                         "class %s: the mask %s of the test image %s is missing",
                         ds->classes[c].name, t->mask_path, image);
            return FALSE;
          }
      }
  return TRUE;
}

char **
uad_list_images (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s does not exist", path);
      return NULL;
    }
  /* A pipe or device would block the first read forever, whatever its name. */
  if (!g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO,
                   "%s is neither a file nor a folder (a pipe, device or socket?)", path);
      return NULL;
    }
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    g_ptr_array_add (out, g_strdup (path));
  else
    {
      GHashTable *visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      gboolean ok = collect_images (path, visited, out, error);
      g_hash_table_unref (visited);
      if (!ok)
        {
          g_ptr_array_unref (out);
          return NULL;
        }
      g_ptr_array_sort (out, compare_strings);
    }
  g_ptr_array_set_free_func (out, NULL);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}
