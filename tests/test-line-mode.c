/* SPDX-License-Identifier: Apache-2.0 */
/* test-line-mode.c: line mode in the real workbench on a (virtual) X display.
 *
 * A PaDiM model of real pcb images (`uniad train --method padim`, seconds) watches an empty
 * folder but for one image put there before, which is never inspected. A copied image is in the
 * history within 2 s and first in the gallery; with thresholds set around its score, a burst
 * of 200 good and defective images copied in by another thread is inspected without a dropped
 * or doubled file, the shift counters agree with the history and a fail raises the alarm
 * (picture: line-mode.png under UNIAD_TEST_ARTIFACTS) until acknowledged; an image written in
 * two halves is inspected once, complete (its score is that of the same image copied whole);
 * files deleted while or after being written are skipped with a note and the line goes on; a
 * new shift counts from zero; stopping finishes the run. Needs UNIAD_SHARED, UNIAD_CLI, an X
 * display and GSETTINGS_SCHEMA_DIR; skips without them. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-cpu.h"
#include "uad-dataset.h"
#include "workbench-driver.h"
#include "workbench-gallery.h"
#include "workbench-line-mode.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_BURST 200
#define OPERATOR "Line Tester"

static struct {
  char *root;
  char *watched;
  char **good, **defective;   /* the real test images */
  WorkbenchApplication *app;
  WorkbenchWindow *window;
  WorkbenchSession *session;
  WorkbenchLineMode *line;
  UadHistory *history;        /* a second connection, as another program would read it */
} t;

/* ROOT/data/pcb/train/good: 4 real training images, linked. */
static char *
make_training_set (const char *industrial)
{
  g_autofree char *from = g_build_filename (industrial, "pcb", "train", "good", NULL);
  g_autofree char *to = g_build_filename (t.root, "data", "pcb", "train", "good", NULL);
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  g_auto (GStrv) images = uad_list_images (from, NULL);
  g_assert_nonnull (images);
  for (int i = 0; i < 4; i++)
    {
      g_assert_nonnull (images[i]);
      g_autofree char *name = g_path_get_basename (images[i]);
      g_autofree char *link = g_build_filename (to, name, NULL);
      g_assert_cmpint (symlink (images[i], link), ==, 0);
    }
  return g_build_filename (t.root, "data", NULL);
}

static void
copy_file (const char *from, const char *to)
{
  g_autoptr (GFile) src = g_file_new_for_path (from);
  g_autoptr (GFile) dst = g_file_new_for_path (to);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_copy (src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static char *
watched_path (const char *name)
{
  return g_build_filename (t.watched, name, NULL);
}

/* The source of the i-th image of the burst: good and defective in turn. */
static const char *
burst_source (guint i)
{
  return i % 2 ? t.defective[i / 2] : t.good[i / 2];
}

static gpointer
copy_burst (gpointer data)
{
  for (guint i = 0; i < N_BURST; i++)
    {
      g_autofree char *name = g_strdup_printf ("burst-%03u.png", i);
      g_autofree char *to = watched_path (name);
      copy_file (burst_source (i), to);
    }
  return NULL;
}

/* The line's run (the newest) and its inspections as stored. */
static GPtrArray *
stored_inspections (UadHistoryRun **run_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = uad_history_list_runs (t.history, NULL, &error);
  g_assert_no_error (error);
  if (runs->len == 0)
    return g_ptr_array_new ();
  UadHistoryRun *run = runs->pdata[0];
  GPtrArray *ins = uad_history_list_inspections (t.history, run->id, &error);
  g_assert_no_error (error);
  if (run_out)
    *run_out = g_steal_pointer ((UadHistoryRun **) &runs->pdata[0]);
  return ins;
}

static guint
count_stored (GPtrArray *ins, const char *path)
{
  guint n = 0;
  for (guint i = 0; i < ins->len; i++)
    n += strcmp (((UadInspection *) ins->pdata[i])->image_path, path) == 0;
  return n;
}

static const UadInspection *
find_stored (GPtrArray *ins, const char *path)
{
  for (guint i = 0; i < ins->len; i++)
    if (strcmp (((UadInspection *) ins->pdata[i])->image_path, path) == 0)
      return ins->pdata[i];
  return NULL;
}

typedef struct {
  const char *path;
  guint n_at_least;
  gint64 last_look;
} StoredWait;

/* The history holds path (or, with path NULL, n_at_least inspections); looked up every 50 ms. */
static gboolean
stored (gpointer data)
{
  StoredWait *w = data;
  gint64 now = g_get_monotonic_time ();
  if (now - w->last_look < 50000)
    return FALSE;
  w->last_look = now;
  g_autoptr (GPtrArray) ins = stored_inspections (NULL);
  g_ptr_array_set_free_func (ins, (GDestroyNotify) uad_inspection_free);
  return w->path ? count_stored (ins, w->path) > 0 : ins->len >= w->n_at_least;
}

static GPtrArray *
inspections (void)
{
  GPtrArray *ins = stored_inspections (NULL);
  g_ptr_array_set_free_func (ins, (GDestroyNotify) uad_inspection_free);
  return ins;
}

static WorkbenchItem *
find_item (const char *path)
{
  GListModel *items = workbench_session_get_items (t.session);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if (strcmp (workbench_item_get_path (item), path) == 0)
        return item;
    }
  return NULL;
}

/* The image shown first in the gallery. */
static WorkbenchItem *
first_in_gallery (void)
{
  GtkWidget *grid = wb_find_type (GTK_WIDGET (t.window), GTK_TYPE_GRID_VIEW);
  g_assert_nonnull (grid);
  GListModel *shown = G_LIST_MODEL (gtk_grid_view_get_model (GTK_GRID_VIEW (grid)));
  g_autoptr (WorkbenchItem) item = g_list_model_get_item (shown, 0);
  return item;
}

static gboolean
model_open (gpointer data)
{
  return wb_session_flag (t.session, "has-model") && !wb_session_flag (t.session, "loading");
}

static gboolean
not_inspecting (gpointer data)
{
  return !wb_session_flag (t.session, "inspecting");
}

static gboolean
note_mentions (gpointer data)
{
  GtkWidget *label = wb_find_named (GTK_WIDGET (t.line), "line-note");
  return strstr (gtk_label_get_text (GTK_LABEL (label)), data) != NULL;
}

static gboolean
recorded (gpointer data)
{
  return g_strcmp0 (workbench_class_get_changed_by (data), OPERATOR) == 0;
}

static void
click (const char *name)
{
  GtkWidget *button = wb_find_named (GTK_WIDGET (t.line), name);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
}

static void
test_line (void)
{
  g_autofree char *weights = NULL, *industrial = NULL;
  if (!wb_shared_material (&weights, &industrial, TRUE))
    return;
  g_autofree char *good_dir = g_build_filename (industrial, "pcb", "test", "good", NULL);
  g_autofree char *bad_dir = g_build_filename (industrial, "pcb", "test", "defective", NULL);
  t.good = uad_list_images (good_dir, NULL);
  t.defective = uad_list_images (bad_dir, NULL);
  g_assert_true (t.good && t.defective);
  g_assert_cmpuint (g_strv_length (t.good), >=, N_BURST / 2 + 1);
  g_assert_cmpuint (g_strv_length (t.defective), >=, N_BURST / 2 + 1);

  t.root = wb_test_make_dir ();
  g_autofree char *data = make_training_set (industrial);
  g_autofree char *model = g_build_filename (t.root, "pcb.uniad", NULL);
  wb_run_cli ((const char *[]) { NULL, "train", "--method", "padim", "--data", data, "--backbone",
                                 "mobilenet_v2", "--weights", weights, "--no-disk-cache", "--out",
                                 model, "-t", "1", NULL });
  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  t.app = wb_start (data_home, weights, OPERATOR);
  if (t.app == NULL)
    {
      g_test_skip ("no display or settings schema (see the messages above)");
      return;
    }
  t.window = wb_open (t.app, (const char *const[]) { model, NULL });
  gtk_window_set_default_size (GTK_WINDOW (t.window), 1600, 1000);
  t.session = workbench_window_get_session (t.window);
  g_assert_true (wb_wait_for (model_open, NULL, 30000));

  /* An image already in the folder: the line only cares about new parts. */
  t.watched = g_build_filename (t.root, "line", NULL);
  g_assert_cmpint (g_mkdir_with_parents (t.watched, 0755), ==, 0);
  g_autofree char *before = watched_path ("before.png");
  copy_file (t.good[N_BURST / 2], before);
  g_autoptr (GError) error = NULL;
  g_assert_true (workbench_window_watch_folder (t.window, t.watched, &error));
  g_assert_no_error (error);
  t.line = WORKBENCH_LINE_MODE (wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_LINE_MODE));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (t.line)));
  g_assert_true (workbench_line_mode_get_watching (t.line));
  g_assert_true (note_mentions ("already in the folder are ignored"));
  g_autofree char *history_path = g_build_filename (data_home, "uniad-workbench",
                                                    "history.sqlite3", NULL);
  t.history = uad_history_open (history_path, 0, &error);
  g_assert_no_error (error);

  /* One image copied in: in the history within 2 s, and first in the gallery. */
  g_autofree char *single = watched_path ("single.png");
  /* The window's first frame with the line panel (software rendering under Xvfb: up to a
   * second) is not what is measured. */
  wb_spin (1500);
  gint64 t0 = g_get_monotonic_time ();
  copy_file (t.defective[N_BURST / 2], single);
  StoredWait w = { single, 0, 0 };
  g_assert_true (wb_wait_for (stored, &w, 10000));
  double latency = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("a copied image was in the history after %.2f s", latency);
  g_assert_cmpfloat (latency, <, 2.0);
  wb_spin (100);
  WorkbenchItem *item = find_item (single);
  g_assert_nonnull (item);
  g_assert_true (first_in_gallery () == item);
  g_assert_true (workbench_item_get_inspected (item));
  double s0 = workbench_item_get_score (item);

  /* Thresholds around that score, so that the burst has passes, reviews and fails. */
  g_autoptr (WorkbenchClass) klass = g_list_model_get_item (workbench_session_get_classes (t.session), 0);
  g_object_set (klass, "fail-above", s0, "pass-below", s0 * 0.9, NULL);
  g_assert_true (wb_wait_for (recorded, klass, 5000));
  wb_flush (t.session);

  /* A burst of 200 copied in by another program: each inspected once. */
  t0 = g_get_monotonic_time ();
  GThread *copier = g_thread_new ("copy-burst", copy_burst, NULL);
  StoredWait all = { NULL, 1 + N_BURST, 0 };
  wb_stalls_start ();
  gboolean done = wb_wait_for (stored, &all, 80000);
  gint64 longest_stall = wb_stalls_stop ();
  g_thread_join (copier);
  g_assert_true (done);
  g_test_message ("a burst of %d images inspected in %.1f s; the main loop stalled %.0f ms at "
                  "the most (software rendering under Xvfb included)", N_BURST,
                  (g_get_monotonic_time () - t0) / 1e6, longest_stall / 1e3);
  wb_spin (200);
  {
    g_autoptr (GPtrArray) ins = inspections ();
    g_assert_cmpuint (ins->len, ==, 1 + N_BURST);
    guint stored_fails = 0;
    for (guint i = 0; i < N_BURST; i++)
      {
        g_autofree char *name = g_strdup_printf ("burst-%03u.png", i);
        g_autofree char *path = watched_path (name);
        g_assert_cmpuint (count_stored (ins, path), ==, 1);
      }
    for (guint i = 0; i < ins->len; i++)
      stored_fails += ((UadInspection *) ins->pdata[i])->model_verdict == UAD_VERDICT_FAIL;
    g_assert_cmpuint (count_stored (ins, before), ==, 0);
    guint pass = workbench_line_mode_get_count (t.line, UAD_VERDICT_PASS);
    guint review = workbench_line_mode_get_count (t.line, UAD_VERDICT_REVIEW);
    guint fail = workbench_line_mode_get_count (t.line, UAD_VERDICT_FAIL);
    g_test_message ("shift: %u pass, %u review, %u fail", pass, review, fail);
    g_assert_cmpuint (pass + review + fail, ==, 1 + N_BURST);
    g_assert_cmpuint (fail, ==, stored_fails);
    g_assert_cmpuint (fail, >, 0);
    g_assert_cmpuint (pass, >, 0);
  }
  guint n_items;
  g_object_get (t.session, "n-items", &n_items, NULL);
  g_assert_cmpuint (n_items, ==, 1 + N_BURST);

  /* A fail stands until acknowledged. */
  GtkWidget *alarm = wb_find_named (GTK_WIDGET (t.line), "line-alarm");
  g_assert_cmpuint (workbench_line_mode_get_alarms (t.line), >, 0);
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (alarm)));
  wb_screenshot (GTK_WIDGET (t.window), "line-mode.png");
  click ("line-acknowledge");
  g_assert_cmpuint (workbench_line_mode_get_alarms (t.line), ==, 0);
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (alarm)));

  /* Written in two halves with a pause: inspected once, whole (the score of the same image
   * copied whole in the burst). */
  g_autofree char *slow = watched_path ("slow.png");
  g_autofree char *content = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (burst_source (1), &content, &len, NULL));
  wb_test_write_bytes (slow, content, len / 2, FALSE);
  wb_spin (1500);
  g_assert_null (find_item (slow));
  wb_test_write_bytes (slow, content + len / 2, len - len / 2, TRUE);
  StoredWait ws = { slow, 0, 0 };
  g_assert_true (wb_wait_for (stored, &ws, 10000));
  wb_spin (300);
  {
    g_autoptr (GPtrArray) ins = inspections ();
    g_assert_cmpuint (count_stored (ins, slow), ==, 1);
    g_autofree char *whole = watched_path ("burst-001.png");
    double a = find_stored (ins, slow)->score, b = find_stored (ins, whole)->score;
    g_assert_cmpfloat_with_epsilon (a, b, 1e-4 * fabs (b));
    g_assert_null (workbench_item_get_error (find_item (slow)));
    /* The latest arrival leads the gallery, ahead of 201 images copied with older times, and
     * the gallery follows it. */
    g_assert_true (first_in_gallery () == find_item (slow));
    g_assert_true (workbench_gallery_get_selected_item (WORKBENCH_GALLERY (
      wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_GALLERY))) == find_item (slow));
  }

  /* Deleted while being written, and right after being written: skipped, the line goes on. */
  g_autofree char *half = watched_path ("deleted-half.png");
  wb_test_write_bytes (half, content, len / 2, FALSE);
  wb_spin (500);
  g_assert_cmpint (g_unlink (half), ==, 0);
  g_assert_true (wb_wait_for (note_mentions, "deleted-half.png", 5000));
  g_autofree char *flash = watched_path ("deleted-whole.png");
  copy_file (t.good[0], flash);
  g_assert_cmpint (g_unlink (flash), ==, 0);
  g_autofree char *after = watched_path ("after-deletions.png");
  copy_file (t.good[1], after);
  StoredWait wa = { after, 0, 0 };
  g_assert_true (wb_wait_for (stored, &wa, 10000));

  /* Escape (the window's cancel) does not stop a line: its own button does. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (t.window), "cancel"));

  /* A new shift counts from zero. */
  click ("line-new-shift");
  for (int v = 0; v < UAD_N_VERDICTS; v++)
    g_assert_cmpuint (workbench_line_mode_get_count (t.line, v), ==, 0);

  /* Stopping ends the run as finished; nothing is inspected afterwards. */
  click ("line-stop");
  g_assert_true (wb_wait_for (not_inspecting, NULL, 10000));
  g_assert_false (workbench_line_mode_get_watching (t.line));
  g_autofree char *late = watched_path ("late.png");
  copy_file (t.good[2], late);
  wb_spin (800);
  g_assert_null (find_item (late));
  UadHistoryRun *run = NULL;
  g_autoptr (GPtrArray) ins = inspections ();
  g_ptr_array_unref (stored_inspections (&run));
  g_assert_nonnull (run);
  g_assert_cmpint (run->finished, >, 0);
  g_assert_cmpuint (count_stored (ins, late), ==, 0);
  uad_history_run_free (run);
}

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/line-mode/watch", test_line);
  int status = g_test_run ();
  g_clear_pointer (&t.history, uad_history_close);
  wb_finish (t.window, t.app, t.root);
  g_strfreev (t.good);
  g_strfreev (t.defective);
  g_free (t.watched);
  return status;
}
