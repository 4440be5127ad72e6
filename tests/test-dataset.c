/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"
#include "uad-dataset.h"
#include "uad-error.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates root/relative (and its folders) holding a few bytes: scanning never decodes. */
static void
touch (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
}

static void
remove_tree (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* A small MVTec-style tree: "bottle" with masks, "carpet" with image labels only, a folder
 * without train/ and stray files that are not images. */
static char *
make_tree (void)
{
  char *root = g_dir_make_tmp ("uad-dataset-XXXXXX", NULL);
  g_assert_nonnull (root);
  const char *files[] = {
    "bottle/train/good/001.png", "bottle/train/good/000.PNG", "bottle/train/good/notes.txt",
    "bottle/train/good/.hidden.png", "bottle/test/good/000.png", "bottle/test/broken/001.JPEG",
    "bottle/test/broken/000.jpg", "bottle/ground_truth/broken/000_mask.png",
    "bottle/ground_truth/broken/001_mask.png", "carpet/train/good/a.bmp",
    "carpet/train/good/b.TIFF", "carpet/test/hole/x.tif", "carpet/test/good/y.jpeg",
    "readme.txt", "misc/deep/z.png",
  };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    touch (root, files[i]);
  return root;
}

static char *
path_in (const char *root, const char *relative)
{
  return g_build_filename (root, relative, NULL);
}

static void
test_scan_layout (void)
{
  g_autofree char *root = make_tree ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n_classes, ==, 2); /* misc/ has no train/ */

  UadClass *bottle = &ds->classes[0];
  g_assert_cmpstr (bottle->name, ==, "bottle");
  g_assert_cmpint (bottle->n_train, ==, 2);
  g_autofree char *t0 = path_in (root, "bottle/train/good/000.PNG");
  g_autofree char *t1 = path_in (root, "bottle/train/good/001.png");
  g_assert_cmpstr (bottle->train[0], ==, t0);
  g_assert_cmpstr (bottle->train[1], ==, t1);
  g_assert_null (bottle->train[2]);
  g_assert_true (bottle->has_masks);
  g_assert_cmpint (bottle->n_test, ==, 3);
  g_assert_cmpint (bottle->n_anomalous, ==, 2);
  const char *want_test[] = { "bottle/test/broken/000.jpg", "bottle/test/broken/001.JPEG",
                              "bottle/test/good/000.png" };
  const char *want_mask[] = { "bottle/ground_truth/broken/000_mask.png",
                              "bottle/ground_truth/broken/001_mask.png", NULL };
  for (int i = 0; i < 3; i++)
    {
      const UadTestItem *item = &bottle->test[i];
      g_autofree char *path = path_in (root, want_test[i]);
      g_assert_cmpstr (item->path, ==, path);
      g_assert_cmpstr (item->defect, ==, i < 2 ? "broken" : "good");
      g_assert_cmpint (item->anomalous, ==, i < 2);
      g_autofree char *mask = want_mask[i] ? path_in (root, want_mask[i]) : NULL;
      g_assert_cmpstr (item->mask_path, ==, mask);
    }

  UadClass *carpet = &ds->classes[1];
  g_assert_cmpstr (carpet->name, ==, "carpet");
  g_assert_cmpint (carpet->n_train, ==, 2);
  g_assert_false (carpet->has_masks);
  g_assert_cmpint (carpet->n_test, ==, 2);
  g_assert_cmpint (carpet->n_anomalous, ==, 1);
  g_assert_cmpstr (carpet->test[1].defect, ==, "hole");
  g_assert_true (carpet->test[1].anomalous);
  g_assert_null (carpet->test[1].mask_path);

  /* Requested classes: sorted, a repeated name scanned once. */
  const char *want[] = { "carpet", "bottle", "carpet", NULL };
  g_autoptr (UadDataset) some = uad_dataset_scan (root, want, &error);
  g_assert_no_error (error);
  g_assert_cmpint (some->n_classes, ==, 2);
  g_assert_cmpstr (some->classes[0].name, ==, "bottle");
  const char *only[] = { "carpet", NULL };
  g_autoptr (UadDataset) one = uad_dataset_scan (root, only, &error);
  g_assert_no_error (error);
  g_assert_cmpint (one->n_classes, ==, 1);
  g_assert_cmpstr (one->classes[0].name, ==, "carpet");
  remove_tree (root);
}

static void
assert_scan_fails (const char *root, const char *const *classes, int code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  UadDataset *ds = uad_dataset_scan (root, classes, &error);
  g_assert_null (ds);
  g_assert_error (error, UAD_ERROR, code);
  g_test_message ("expected error: %s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_scan_errors (void)
{
  g_autofree char *root = make_tree ();
  g_autofree char *missing = path_in (root, "nowhere");
  assert_scan_fails (missing, NULL, UAD_ERROR_IO, "nowhere");
  const char *zipper[] = { "bottle", "zipper", NULL };
  assert_scan_fails (root, zipper, UAD_ERROR_INVALID, "zipper");

  /* A class whose train/good holds no image. */
  touch (root, "empty/train/good/readme.txt");
  assert_scan_fails (root, NULL, UAD_ERROR_INVALID, "class empty");
  const char *misc[] = { "misc", NULL };
  assert_scan_fails (root, misc, UAD_ERROR_INVALID, "class misc");
  g_autofree char *empty = path_in (root, "empty");
  remove_tree (empty);

  /* An anomalous image without its mask in a class that has masks. */
  g_autofree char *mask = path_in (root, "bottle/ground_truth/broken/001_mask.png");
  g_assert_cmpint (g_unlink (mask), ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (root, NULL, &error);
  g_assert_no_error (error); /* training reads only the good images */
  g_assert_false (uad_dataset_check_masks (ds, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "001_mask.png"));

  /* Nothing that looks like a class. */
  g_autofree char *empty_root = path_in (root, "misc");
  assert_scan_fails (empty_root, NULL, UAD_ERROR_INVALID, "no classes");
  remove_tree (root);
}

static void
test_list_images (void)
{
  g_autofree char *root = make_tree ();
  /* A link back to the root must not make the walk loop or list files twice. */
  g_autofree char *link = path_in (root, "misc/loop");
  g_assert_cmpint (symlink (root, link), ==, 0);

  g_autoptr (GError) error = NULL;
  g_auto (GStrv) all = uad_list_images (root, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_strv_length (all), ==, 12);
  for (guint i = 1; all[i] != NULL; i++)
    g_assert_cmpint (strcmp (all[i - 1], all[i]), <, 0);
  g_autofree char *first = path_in (root, "bottle/ground_truth/broken/000_mask.png");
  g_assert_cmpstr (all[0], ==, first);

  g_auto (GStrv) one = uad_list_images (first, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_strv_length (one), ==, 1);
  g_assert_cmpstr (one[0], ==, first);

  /* A pipe named like an image: refused when named, skipped inside a folder. */
  g_autofree char *fifo = path_in (root, "misc/pipe.png");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_auto (GStrv) piped = uad_list_images (fifo, &error);
  g_assert_null (piped);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "neither a file nor a folder"));
  g_clear_error (&error);
  g_autofree char *misc = path_in (root, "misc");
  g_auto (GStrv) around = uad_list_images (misc, &error);
  g_assert_no_error (error);
  for (guint i = 0; around[i] != NULL; i++)
    g_assert_cmpstr (around[i], !=, fifo);
  g_assert_cmpint (g_unlink (fifo), ==, 0);

  g_autofree char *missing = path_in (root, "nowhere.png");
  g_auto (GStrv) none = uad_list_images (missing, &error);
  g_assert_null (none);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);

  g_assert_true (uad_is_image_filename ("a.TiF"));
  g_assert_true (uad_is_image_filename ("a.b.jpeg"));
  g_assert_false (uad_is_image_filename ("png"));
  g_assert_false (uad_is_image_filename ("a.png.txt"));
  remove_tree (root);
}

static void
test_industrial (void)
{
  g_autofree char *root = uad_test_shared_path ("data/industrial");
  if (root == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadDataset) ds = uad_dataset_scan (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->n_classes, ==, 3);
  const char *names[] = { "magnetic_tile", "pcb", "solar_mono" };
  const int counts[][3] = { { 761, 583, 392 }, { 1000, 1000, 500 }, { 470, 487, 369 } };
  for (int c = 0; c < ds->n_classes; c++)
    {
      const UadClass *cls = &ds->classes[c];
      g_test_message ("%s: %d train, %d test (%d anomalous), %s", cls->name, cls->n_train,
                      cls->n_test, cls->n_anomalous, cls->has_masks ? "masks" : "image labels only");
      g_assert_cmpstr (cls->name, ==, names[c]);
      g_assert_cmpint (cls->n_train, ==, counts[c][0]);
      g_assert_cmpint (cls->n_test, ==, counts[c][1]);
      g_assert_cmpint (cls->n_anomalous, ==, counts[c][2]);
      g_assert_cmpint (cls->has_masks, ==, c != 2); /* solar_mono has no masks */
      for (int i = 0; i < cls->n_test; i++)
        g_assert_true ((cls->test[i].mask_path != NULL) == (cls->has_masks && cls->test[i].anomalous));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset/scan-layout", test_scan_layout);
  g_test_add_func ("/dataset/scan-errors", test_scan_errors);
  g_test_add_func ("/dataset/list-images", test_list_images);
  g_test_add_func ("/dataset/industrial", test_industrial);
  return g_test_run ();
}
