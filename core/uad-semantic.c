/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-semantic.h"

#include "uad-dataset.h"
#include "uad-error.h"

#include <string.h>

/* Appends the images of root/part/<class> for every class to paths and class_of. */
static gboolean
scan_part (const char *root, const char *part, char **classes, GPtrArray *paths, GArray *class_of,
           GError **error)
{
  for (int k = 0; classes[k]; k++)
    {
      g_autofree char *dir = g_build_filename (root, part, classes[k], NULL);
      g_auto (GStrv) images = uad_list_images (dir, error);
      if (images == NULL)
        return FALSE;
      if (images[0] == NULL)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s: no images", dir);
          return FALSE;
        }
      for (int i = 0; images[i]; i++)
        {
          g_ptr_array_add (paths, g_strdup (images[i]));
          g_array_append_val (class_of, k);
        }
    }
  g_ptr_array_add (paths, NULL);
  return TRUE;
}

UadSemanticDataset *
uad_semantic_dataset_scan (const char *root, GError **error)
{
  g_autofree char *train_dir = g_build_filename (root, "train", NULL);
  g_autofree char *test_dir = g_build_filename (root, "test", NULL);
  g_auto (GStrv) classes = uad_list_folders (train_dir, error);
  if (classes == NULL)
    return NULL;
  g_auto (GStrv) test_classes = uad_list_folders (test_dir, error);
  if (test_classes == NULL)
    return NULL;
  if (!g_strv_equal ((const char *const *) classes, (const char *const *) test_classes)
      || g_strv_length (classes) < 2)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "%s: train/ and test/ must hold the same class folders, at least two", root);
      return NULL;
    }
  g_autoptr (GPtrArray) train = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) test = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) train_class = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) test_class = g_array_new (FALSE, FALSE, sizeof (int));
  if (!scan_part (root, "train", classes, train, train_class, error)
      || !scan_part (root, "test", classes, test, test_class, error))
    return NULL;
  UadSemanticDataset *ds = g_new0 (UadSemanticDataset, 1);
  ds->root = g_strdup (root);
  ds->n_classes = (int) g_strv_length (classes);
  ds->classes = g_steal_pointer (&classes);
  ds->n_train = (int) train_class->len;
  ds->n_test = (int) test_class->len;
  g_ptr_array_set_free_func (train, NULL);
  g_ptr_array_set_free_func (test, NULL);
  ds->train = (char **) g_ptr_array_free (g_steal_pointer (&train), FALSE);
  ds->test = (char **) g_ptr_array_free (g_steal_pointer (&test), FALSE);
  ds->train_class = (int *) g_array_free (g_steal_pointer (&train_class), FALSE);
  ds->test_class = (int *) g_array_free (g_steal_pointer (&test_class), FALSE);
  return ds;
}

void
uad_semantic_dataset_free (UadSemanticDataset *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->root);
  g_strfreev (ds->classes);
  g_strfreev (ds->train);
  g_strfreev (ds->test);
  g_free (ds->train_class);
  g_free (ds->test_class);
  g_free (ds);
}

const char *const *
uad_semantic_paper_splits (void)
{
  static const char *const splits[] = { "0,1,2,3,4", "5,6,7,8,9", "0,2,4,6,8", "1,3,5,7,9", NULL };
  return splits;
}

gboolean
uad_semantic_parse_split (const UadSemanticDataset *ds, const char *split, gboolean *normal,
                          GError **error)
{
  memset (normal, 0, sizeof (gboolean) * (size_t) ds->n_classes);
  g_auto (GStrv) parts = g_strsplit (split, ",", -1);
  int count = 0;
  for (int i = 0; parts[i]; i++)
    {
      char *end = NULL;
      gint64 k = g_ascii_strtoll (parts[i], &end, 10);
      if (end == parts[i] || *end != '\0' || k < 0 || k >= ds->n_classes || normal[k])
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                       "normal classes '%s': '%s' is not a new class index in 0..%d", split,
                       parts[i], ds->n_classes - 1);
          return FALSE;
        }
      normal[k] = TRUE;
      count++;
    }
  if (count == 0 || count == ds->n_classes)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "normal classes '%s': some classes must be normal and some not", split);
      return FALSE;
    }
  return TRUE;
}
