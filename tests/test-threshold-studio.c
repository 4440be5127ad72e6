/* SPDX-License-Identifier: Apache-2.0 */
/* test-threshold-studio.c: the threshold studio in the real workbench on a (virtual) X display.
 *
 * A PaDiM model (`uniad train --method padim`, seconds) of real pcb images, calibrated by
 * `uniad calibrate --target-frr 0.2` (the workbench takes its thresholds from the file),
 * inspects 10 good and 4 defective test images in MVTec layout. The studio, opened with the
 * window's action, labels them by their folders; suggests the fail threshold for a 20%
 * false-reject target (the 9th highest good score, failing 2 of the 10 good images: the one
 * the command wrote) and the pass threshold for a 25% escape target; keeps pass <= fail while
 * a slider moves; and applies the thresholds through the class, which the history records with
 * the operator's name. Saves a picture of the studio under UNIAD_TEST_ARTIFACTS. Needs
 * UNIAD_SHARED, UNIAD_CLI, an X display and GSETTINGS_SCHEMA_DIR; skips without them. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-cpu.h"
#include "uad-dataset.h"
#include "workbench-driver.h"
#include "workbench-threshold-studio.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_GOOD 10
#define N_BAD 4
#define OPERATOR "Studio Tester"

static struct {
  char *root;
  WorkbenchApplication *app;
  WorkbenchWindow *window;
  WorkbenchSession *session;
} t;

/* ROOT/data/pcb: 4 training images, test/good and test/defective linked from the real data. */
static char *
make_dataset (const char *industrial)
{
  const struct { const char *from, *to; int n; } parts[] = {
    { "pcb/train/good", "data/pcb/train/good", 4 },
    { "pcb/test/good", "data/pcb/test/good", N_GOOD },
    { "pcb/test/defective", "data/pcb/test/defective", N_BAD },
  };
  for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
    {
      g_autofree char *from = g_build_filename (industrial, parts[p].from, NULL);
      g_autofree char *to = g_build_filename (t.root, parts[p].to, NULL);
      g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
      g_auto (GStrv) images = uad_list_images (from, NULL);
      g_assert_nonnull (images);
      for (int i = 0; i < parts[p].n; i++)
        {
          g_assert_nonnull (images[i]);
          g_autofree char *name = g_path_get_basename (images[i]);
          g_autofree char *link = g_build_filename (to, name, NULL);
          g_assert_cmpint (symlink (images[i], link), ==, 0);
        }
    }
  return g_build_filename (t.root, "data", NULL);
}

static gboolean
idle (void)
{
  return !wb_session_flag (t.session, "loading") && !wb_session_flag (t.session, "inspecting");
}

static gboolean
opened (gpointer data)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return idle () && wb_session_flag (t.session, "has-model") && n == N_GOOD + N_BAD;
}

static gboolean
all_inspected (gpointer data)
{
  GListModel *items = workbench_session_get_items (t.session);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if (!workbench_item_get_inspected (item))
        return FALSE;
    }
  return idle ();
}

static WorkbenchThresholdStudio *
find_studio (void)
{
  return (WorkbenchThresholdStudio *) wb_find_toplevel (WORKBENCH_TYPE_THRESHOLD_STUDIO);
}

static GtkWidget *
child (WorkbenchThresholdStudio *studio, const char *name)
{
  GtkWidget *w = wb_find_named (GTK_WIDGET (studio), name);
  g_assert_nonnull (w);
  return w;
}

static double
slider (WorkbenchThresholdStudio *studio, const char *name)
{
  return gtk_range_get_value (GTK_RANGE (child (studio, name)));
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The scores of the inspected images whose MVTec folder is (not) good, ascending. */
static GArray *
scores_of (gboolean good)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double));
  GListModel *items = workbench_session_get_items (t.session);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if ((g_strcmp0 (workbench_item_get_defect (item), "good") == 0) == good)
        {
          double s = workbench_item_get_score (item);
          g_array_append_val (out, s);
        }
    }
  g_array_sort (out, compare_doubles);
  return out;
}

static gboolean
recorded (gpointer data)
{
  WorkbenchClass *klass = data;
  return g_strcmp0 (workbench_class_get_changed_by (klass), OPERATOR) == 0;
}

static void
test_studio (void)
{
  g_autofree char *weights = NULL, *industrial = NULL;
  if (!wb_shared_material (&weights, &industrial, TRUE))
    return;
  t.root = wb_test_make_dir ();
  g_autofree char *data = make_dataset (industrial);
  g_autofree char *model = g_build_filename (t.root, "pcb.uniad", NULL);
  wb_run_cli ((const char *[]) { NULL, "train", "--method", "padim", "--data", data, "--backbone",
                                 "mobilenet_v2", "--weights", weights, "--no-disk-cache", "--out",
                                 model, "-t", "1", NULL });
  /* The model file carries the thresholds of a 20% false-reject target on the test images. */
  wb_run_cli ((const char *[]) { NULL, "calibrate", "--model", model, "--data", data, "--weights",
                                 weights, "--target-frr", "0.2", "-t", "1", NULL });
  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  t.app = wb_start (data_home, weights, OPERATOR);
  if (t.app == NULL)
    {
      g_test_skip ("no display or settings schema (see the messages above)");
      return;
    }
  g_autofree char *test_folder = g_build_filename (data, "pcb", "test", NULL);
  t.window = wb_open (t.app, (const char *const[]) { model, test_folder, NULL });
  gtk_window_set_default_size (GTK_WINDOW (t.window), 1600, 1000);
  t.session = workbench_window_get_session (t.window);
  g_assert_true (wb_wait_for (opened, NULL, 30000));
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (wb_wait_for (all_inspected, NULL, 120000));

  g_autoptr (WorkbenchClass) klass = g_list_model_get_item (workbench_session_get_classes (t.session), 0);
  g_assert_cmpstr (workbench_class_get_changed_by (klass), ==, "model file");
  double from_file = workbench_class_get_fail_above (klass);

  g_action_group_activate_action (G_ACTION_GROUP (t.window), "threshold-studio", NULL);
  WorkbenchThresholdStudio *studio = find_studio ();
  g_assert_nonnull (studio);
  const UadCalibration *cal = workbench_threshold_studio_get_calibration (studio);
  g_assert_cmpint (cal->n_good, ==, N_GOOD);
  g_assert_cmpint (cal->n_defective, ==, N_BAD);
  g_autoptr (GArray) good = scores_of (TRUE);
  g_autoptr (GArray) bad = scores_of (FALSE);
  g_assert_cmpuint (good->len, ==, N_GOOD);

  /* 20% of 10 good images: the 9th highest good score fails exactly the two above it. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (studio, "frr-target")), 20);
  g_signal_emit_by_name (child (studio, "suggest-frr"), "clicked");
  double fail_above = slider (studio, "fail-scale");
  g_assert_cmpfloat (fail_above, ==, g_array_index (good, double, N_GOOD - 3));
  int failed = 0;
  for (guint i = 0; i < good->len; i++)
    failed += g_array_index (good, double, i) > fail_above;
  g_assert_cmpint (failed, ==, 2);
  /* The same threshold as `uniad calibrate` wrote (its scores, to their last digits). */
  g_assert_cmpfloat_with_epsilon (fail_above, from_file, 1e-6 * fabs (from_file));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (child (studio, "rates"))),
                            "False rejects 20.0%"));

  /* 25% of 4 defective images: the 2nd lowest defective score (no higher than fail above). */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (studio, "escape-target")), 25);
  g_signal_emit_by_name (child (studio, "suggest-escape"), "clicked");
  double pass_below = slider (studio, "pass-scale");
  g_assert_cmpfloat (pass_below, ==, MIN (g_array_index (bad, double, 1), fail_above));
  g_assert_cmpfloat (slider (studio, "fail-scale"), ==, fail_above);
  wb_screenshot (GTK_WIDGET (find_studio ()), "threshold-studio.png");

  /* A pass slider moved above the fail slider pushes it along. */
  gtk_range_set_value (GTK_RANGE (child (studio, "pass-scale")), fail_above * 1.1);
  g_assert_cmpfloat (slider (studio, "fail-scale"), ==, slider (studio, "pass-scale"));
  gtk_range_set_value (GTK_RANGE (child (studio, "fail-scale")), fail_above);
  g_assert_cmpfloat (slider (studio, "pass-scale"), ==, fail_above);
  gtk_range_set_value (GTK_RANGE (child (studio, "pass-scale")), pass_below);

  /* Applying sets the class's thresholds, recorded with the operator's name. */
  g_signal_emit_by_name (child (studio, "apply"), "clicked");
  g_assert_cmpfloat (workbench_class_get_fail_above (klass), ==, fail_above);
  g_assert_cmpfloat (workbench_class_get_pass_below (klass), ==, pass_below);
  g_assert_true (wb_wait_for (recorded, klass, 10000));
  wb_flush (t.session);
  g_autofree char *history = g_build_filename (data_home, "uniad-workbench", "history.sqlite3", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (history, 0, &error);
  g_assert_no_error (error);
  UadThresholds th = { 0 };
  gboolean found = FALSE;
  g_assert_true (uad_history_get_thresholds (h, workbench_session_get_model (t.session)->model_id,
                                             "pcb", &th, &found, &error));
  g_assert_true (found);
  g_assert_cmpstr (th.changed_by, ==, OPERATOR);
  g_assert_cmpfloat (th.fail_above, ==, fail_above);
  g_assert_cmpfloat (th.pass_below, ==, pass_below);
  uad_thresholds_clear (&th);
}

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/threshold-studio/suggest-and-apply", test_studio);
  int status = g_test_run ();
  wb_finish (t.window, t.app, t.root);
  return status;
}
