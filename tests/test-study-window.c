/* SPDX-License-Identifier: Apache-2.0 */
/* test-study-window.c: the Study Results window in the real workbench on a (virtual) X display,
 * on the folder of a real study: `uniad study shortcut` (UNIAD_CLI) for 2 epochs on a few
 * magnetic_tile images with their defect masks. The window, opened as the main menu's Open
 * Study Results… does, shows the study and its status, the arguments, the plot (the PNG the
 * command drew), a line per network and the per-class table as the CSV has it. A folder with no
 * study.json, a damaged one and another program's JSON each show why they hold no study.
 * Saves a picture under UNIAD_TEST_ARTIFACTS. Needs UNIAD_SHARED, UNIAD_CLI, an X display and
 * GSETTINGS_SCHEMA_DIR; skips without them. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-dataset.h"
#include "workbench-driver.h"
#include "workbench-study-window.h"

#include <glib/gstdio.h>
#include <string.h>

static struct {
  char *root;
  WorkbenchApplication *app;
  WorkbenchWindow *window;
} t;

/* Links the first n images of industrial/from into root/to (made); returns their names. */
static GStrv
link_first (const char *industrial, const char *from, const char *to, int n)
{
  g_autofree char *src = g_build_filename (industrial, from, NULL);
  g_autofree char *dst = g_build_filename (t.root, to, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0755), ==, 0);
  g_auto (GStrv) images = uad_list_images (src, NULL);
  g_assert_nonnull (images);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  for (int i = 0; i < n && images[i]; i++)
    {
      g_autofree char *name = g_path_get_basename (images[i]);
      g_autofree char *link = g_build_filename (dst, name, NULL);
      g_assert_cmpint (symlink (images[i], link), ==, 0);
      g_strv_builder_add (names, name);
    }
  return g_strv_builder_end (names);
}

static gboolean
read_done (gpointer data)
{
  const char *message = NULL;
  return workbench_study_window_get_study (data, &message) != NULL || message != NULL;
}

static WorkbenchStudyWindow *
open_study (const char *folder)
{
  GtkWindow *w = workbench_window_open_study (t.window, folder);
  g_assert_true (WORKBENCH_IS_STUDY_WINDOW (w));
  g_assert_true (wb_wait_for (read_done, w, 10000));
  return WORKBENCH_STUDY_WINDOW (w);
}

static const char *
label_text (GtkWidget *root, const char *name)
{
  GtkWidget *w = wb_find_named (root, name);
  g_assert_nonnull (w);
  return gtk_label_get_text (GTK_LABEL (w));
}

/* Each folder shows why it holds no study, naming what is wrong. */
static void
assert_refused (const char *folder, const char *reason)
{
  WorkbenchStudyWindow *w = open_study (folder);
  const char *message = NULL;
  g_assert_null (workbench_study_window_get_study (w, &message));
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, reason));
  GtkWidget *page = wb_find_named (GTK_WIDGET (w), "error");
  g_assert_true (gtk_widget_get_mapped (page));
  g_assert_cmpstr (adw_status_page_get_description (ADW_STATUS_PAGE (page)), ==, message);
  gtk_window_destroy (GTK_WINDOW (w));
}

static void
test_study_window (void)
{
  g_autofree char *weights = NULL, *industrial = NULL;
  if (!wb_shared_material (&weights, &industrial, TRUE))
    return;
  t.root = wb_test_make_dir ();
  g_strfreev (link_first (industrial, "magnetic_tile/train/good", "data/magnetic_tile/train/good", 8));
  g_strfreev (link_first (industrial, "magnetic_tile/test/good", "data/magnetic_tile/test/good", 3));
  g_auto (GStrv) cracks = link_first (industrial, "magnetic_tile/test/crack",
                                      "data/magnetic_tile/test/crack", 3);
  /* Their masks, ground_truth/crack/NAME_mask.png. */
  g_autofree char *masks = g_build_filename (t.root, "data", "magnetic_tile", "ground_truth",
                                             "crack", NULL);
  g_assert_cmpint (g_mkdir_with_parents (masks, 0755), ==, 0);
  for (char **c = cracks; *c; c++)
    {
      *strrchr (*c, '.') = '\0';
      g_autofree char *mask = g_strconcat (*c, "_mask.png", NULL);
      g_autofree char *from = g_build_filename (industrial, "magnetic_tile", "ground_truth",
                                                "crack", mask, NULL);
      g_autofree char *link = g_build_filename (masks, mask, NULL);
      g_assert_cmpint (symlink (from, link), ==, 0);
    }
  g_autofree char *data = g_build_filename (t.root, "data", NULL);
  g_autofree char *cache = g_build_filename (t.root, "cache", NULL);
  g_autofree char *study = g_build_filename (t.root, "study", NULL);
  wb_run_cli ((const char *[]) { NULL, "study", "shortcut", "--data", data, "--backbone",
                                 "mobilenet_v2", "--weights", weights, "--feature-cache", cache,
                                 "--epochs", "2", "--threads", "1", "--out", study, NULL });

  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  t.app = wb_start (data_home, weights, "Researcher");
  if (t.app == NULL)
    {
      g_test_skip ("no display or settings schema (see the messages above)");
      return;
    }
  g_application_activate (G_APPLICATION (t.app));
  t.window = WORKBENCH_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (t.app)));

  WorkbenchStudyWindow *w = open_study (study);
  const WorkbenchStudy *s = workbench_study_window_get_study (w, NULL);
  g_assert_nonnull (s);
  g_assert_cmpstr (s->name, ==, "shortcut");
  g_assert_cmpstr (s->status, ==, "done");
  GtkWidget *root = GTK_WIDGET (w);
  g_assert_nonnull (strstr (label_text (root, "facts"), "epochs=2"));
  g_assert_null (strstr (label_text (root, "facts"), "classes=")); /* not given */
  /* The plot the command drew, at its size. */
  GdkPaintable *plot = gtk_picture_get_paintable (GTK_PICTURE (wb_find_named (root, "plot")));
  g_assert_nonnull (plot);
  g_autoptr (GdkTexture) png = gdk_texture_new_from_filename (s->plot_png, NULL);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (plot), ==, gdk_texture_get_width (png));
  /* A line per network, with its epochs. */
  const char *curves = label_text (root, "curves");
  const char *nets[] = { "UniAD", "Transformer", "MLP", "CNN" };
  for (guint i = 0; i < G_N_ELEMENTS (nets); i++)
    {
      g_autofree char *line = g_strdup_printf ("%s: image AUROC ", nets[i]);
      g_assert_nonnull (strstr (curves, line));
    }
  g_assert_nonnull (strstr (curves, "at epoch 2 (last)"));
  /* The table as the CSV has it: a header, magnetic_tile and the mean, 9 columns. */
  g_autofree char *table_path = g_build_filename (study, "shortcut-table.csv", NULL);
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (table_path, &csv, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strstrip (csv), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  GtkGrid *grid = GTK_GRID (wb_find_named (root, "table"));
  for (int r = 1; r < 3; r++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[r], ",", -1);
      g_assert_cmpuint (g_strv_length (fields), ==, 9);
      for (int c = 0; c < 9; c++)
        {
          GtkWidget *cell = gtk_grid_get_child_at (grid, c, r);
          g_assert_nonnull (cell);
          g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (cell)), ==, *fields[c] ? fields[c] : "–");
        }
    }
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_grid_get_child_at (grid, 1, 0))), ==,
                   "UniAD\nunified\nimage");
  wb_spin (200);
  wb_screenshot (root, "study-window.png");
  gtk_window_destroy (GTK_WINDOW (w));

  /* Folders that hold no study. */
  g_autofree char *empty = g_build_filename (t.root, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  assert_refused (empty, "holds no study results");
  g_autofree char *json = g_build_filename (empty, "study.json", NULL);
  g_assert_true (g_file_set_contents (json, "{\"study\": \"shortcut\", \"status\"", -1, NULL));
  assert_refused (empty, json);
  g_assert_true (g_file_set_contents (json, "{\"name\": \"another program\"}", -1, NULL));
  assert_refused (empty, "is not a study's");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/study-window/real-study-and-refusals", test_study_window);
  int status = g_test_run ();
  wb_finish (t.window, t.app, t.root);
  return status;
}
