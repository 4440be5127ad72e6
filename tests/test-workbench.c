/* SPDX-License-Identifier: Apache-2.0 */
/* test-workbench.c: the real workbench application on a (virtual) X display, end to end.
 *
 * It makes a small MVTec-layout dataset, trains a MobileNetV2 UniAD model on it with the
 * `uniad` command (one epoch), and then drives the application as an operator would: opens
 * the model and the test folder as from the command line, inspects (results stream into the
 * gallery; the main loop's longest stall is measured), moves a class's thresholds and checks
 * the live counts, gives verdicts with the keyboard (real key presses through XTest), checks
 * the history database, inspects again (every result comes from the history), exports a PDF
 * (pdfinfo) and a CSV, fails to export into a missing folder, reopens the first run from the
 * History page, and saves screenshots of the main window.
 *
 * Needs UNIAD_SHARED (MobileNetV2 weights), UNIAD_CLI, an X display (meson runs it under
 * xvfb-run), GSETTINGS_SCHEMA_DIR with the compiled schema; skips without them. Screenshots
 * go to UNIAD_TEST_ARTIFACTS (default: the current folder). */
#include "test-util.h"
#include "uad-image.h"
#include "workbench-application.h"
#include "workbench-gallery.h"
#include "workbench-history-page.h"
#include "workbench-history.h"
#include "workbench-window.h"

#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <gdk/x11/gdkx.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_GOOD 4
#define N_BAD 4
#define N_TEST (N_GOOD + N_BAD)
#define N_TRAIN 8
#define CLASS "bolt"
#define OPERATOR "Test Operator"

static struct {
  char *root;            /* temporary folder */
  char *model;           /* the trained .uniad */
  char *test_folder;     /* ROOT/data/bolt/test */
  char *history_path;
  WorkbenchApplication *app;
  WorkbenchWindow *window;
  WorkbenchSession *session;
  gint64 first_run;
  double scores[N_TEST]; /* in gallery (name) order after the first run */
  double pass_below, fail_above;
  char *error_message;   /* the last "error" of the session */
} t;

/* ---- Test data ---- */

/* A smooth product-like surface with mild noise; anomalous images get a bright scratch. */
static void
write_image (const char *path, guint32 seed, gboolean scratch)
{
  g_autoptr (UadImage) img = uad_image_new (64, 64);
  GRand *rand = g_rand_new_with_seed (seed);
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      {
        guint8 *p = img->rgb + (y * 64 + x) * 3;
        double base = 110 + 40 * sin (x * 0.2) * cos (y * 0.15);
        for (int c = 0; c < 3; c++)
          p[c] = (guint8) CLAMP (base + c * 10 + g_rand_double_range (rand, -6, 6), 0, 255);
        if (scratch && abs (x - y) <= 3 && x > 10 && x < 54)
          p[0] = p[1] = p[2] = 15;
      }
  g_rand_free (rand);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_image_save_png (img, path, &error));
}

static void
write_mask (const char *path)
{
  g_autoptr (UadImage) img = uad_image_new (64, 64);
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      if (abs (x - y) <= 3 && x > 10 && x < 54)
        memset (img->rgb + (y * 64 + x) * 3, 255, 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_image_save_png (img, path, &error));
}

static char *
make_dir (const char *a, const char *b, const char *c, const char *d)
{
  char *dir = g_build_filename (t.root, a, b, c, d, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

static void
make_dataset (void)
{
  g_autofree char *train = make_dir ("data", CLASS, "train", "good");
  g_autofree char *good = make_dir ("data", CLASS, "test", "good");
  g_autofree char *bad = make_dir ("data", CLASS, "test", "scratch");
  g_autofree char *gt = make_dir ("data", CLASS, "ground_truth", "scratch");
  for (int i = 0; i < N_TRAIN; i++)
    {
      g_autofree char *name = g_strdup_printf ("train_%d.png", i);
      g_autofree char *path = g_build_filename (train, name, NULL);
      write_image (path, 100 + i, FALSE);
    }
  for (int i = 0; i < N_GOOD; i++)
    {
      g_autofree char *name = g_strdup_printf ("good_%d.png", i);
      g_autofree char *path = g_build_filename (good, name, NULL);
      write_image (path, 200 + i, FALSE);
    }
  for (int i = 0; i < N_BAD; i++)
    {
      g_autofree char *name = g_strdup_printf ("scratch_%d.png", i);
      g_autofree char *path = g_build_filename (bad, name, NULL);
      write_image (path, 300 + i, TRUE);
      g_autofree char *mask_name = g_strdup_printf ("scratch_%d_mask.png", i);
      g_autofree char *mask = g_build_filename (gt, mask_name, NULL);
      write_mask (mask);
    }
  t.test_folder = g_build_filename (t.root, "data", CLASS, "test", NULL);
}

/* ---- Driving the main loop ---- */

typedef gboolean (*Condition) (void);

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until cond holds; FALSE after timeout_ms. */
static gboolean
wait_for (Condition cond, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * (gint64) 1000;
  guint source = g_timeout_add (10, tick, NULL);
  gboolean ok;
  while (!(ok = cond ()) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  return ok;
}

/* Runs the main loop for ms milliseconds. */
static void
spin (int ms)
{
  gint64 end = g_get_monotonic_time () + ms * (gint64) 1000;
  guint source = g_timeout_add (10, tick, NULL);
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
}

static gboolean
session_flag (const char *name)
{
  gboolean value;
  g_object_get (t.session, name, &value, NULL);
  return value;
}

static gboolean
idle (void)
{
  return !session_flag ("loading") && !session_flag ("inspecting") && !session_flag ("exporting");
}

static gboolean flushed;

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer data)
{
  flushed = workbench_inspector_flush_finish (WORKBENCH_INSPECTOR (source), result, NULL);
}

static gboolean
is_flushed (void)
{
  return flushed;
}

/* Waits until the worker has stored everything asked for so far. */
static void
flush (void)
{
  flushed = FALSE;
  workbench_inspector_flush_async (workbench_session_get_inspector (t.session), on_flushed, NULL);
  g_assert_true (wait_for (is_flushed, 10000));
}

static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found)
        return found;
    }
  return NULL;
}

static WorkbenchGallery *
gallery (void)
{
  return WORKBENCH_GALLERY (find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_GALLERY));
}

/* The gallery's items in its order (sorted by name). */
static WorkbenchItem *
shown_item (guint position)
{
  GtkGridView *grid = GTK_GRID_VIEW (find_type (GTK_WIDGET (gallery ()), GTK_TYPE_GRID_VIEW));
  GListModel *model = G_LIST_MODEL (gtk_grid_view_get_model (grid));
  WorkbenchItem *item = g_list_model_get_item (model, position);
  g_object_unref (item); /* the session keeps it */
  return item;
}

static int
count_label (const char *name)
{
  GtkWidget *label = find_named (GTK_WIDGET (t.window), name);
  g_assert_nonnull (label);
  return atoi (gtk_label_get_text (GTK_LABEL (label)));
}

static void
on_session_error (WorkbenchSession *session, const char *title, const char *message)
{
  g_free (t.error_message);
  t.error_message = g_strdup (message);
}

/* Closes the dialogs the application opened (an error, the shortcuts window). */
static void
close_dialogs (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = g_list_model_get_n_items (toplevels); i-- > 0;)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);
      if (w != GTK_WINDOW (t.window) && gtk_widget_get_visible (GTK_WIDGET (w)))
        gtk_window_destroy (w);
    }
}

/* ---- The steps ---- */

static gboolean
opened (void)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return idle () && session_flag ("has-model") && n == N_TEST;
}

static gboolean
thumbnails_loaded (void)
{
  for (guint i = 0; i < N_TEST; i++)
    if (workbench_item_get_thumbnail (shown_item (i)) == NULL)
      return FALSE;
  return TRUE;
}

static void set_up (void);

static void
test_open (void)
{
  set_up ();
  if (t.app == NULL)
    {
      if (!g_test_failed ())
        g_test_skip ("no display or settings schema (see the messages above)");
      return;
    }
  g_autoptr (GFile) model = g_file_new_for_path (t.model);
  g_autoptr (GFile) folder = g_file_new_for_path (t.test_folder);
  GFile *files[] = { model, folder };
  g_application_open (G_APPLICATION (t.app), files, 2, "");
  t.window = WORKBENCH_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (t.app)));
  g_assert_nonnull (t.window);
  t.session = workbench_window_get_session (t.window);
  g_signal_connect (t.session, "error", G_CALLBACK (on_session_error), NULL);
  g_assert_true (wait_for (opened, 30000));
  g_assert_null (t.error_message);

  /* MVTec layout: class from the path, masks of the scratched images found. */
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      g_assert_cmpstr (workbench_item_get_class_name (item), ==, CLASS);
      g_assert_cmpint (workbench_item_get_mask_path (item) != NULL, ==,
                       g_str_has_prefix (workbench_item_get_name (item), "scratch"));
    }
  /* Sorted by name: good_0 .. good_3, scratch_0 .. scratch_3. */
  g_assert_cmpstr (workbench_item_get_name (shown_item (0)), ==, "good_0.png");
  g_assert_cmpstr (workbench_item_get_name (shown_item (N_TEST - 1)), ==, "scratch_3.png");
  g_assert_true (wait_for (thumbnails_loaded, 10000));
  g_assert_cmpint (count_label ("none-total"), ==, N_TEST);
}

static gint64 stall_last, stall_max;

static gboolean
watch_stalls (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  if (stall_last)
    stall_max = MAX (stall_max, now - stall_last);
  stall_last = now;
  return G_SOURCE_CONTINUE;
}

/* The scores `uniad infer --csv` gives for the test folder, by path. */
static GHashTable *
cli_scores (void)
{
  g_autofree char *csv = g_build_filename (t.root, "infer.csv", NULL);
  const char *argv[] = { g_getenv ("UNIAD_CLI"), "infer", "--model", t.model, "--csv", csv,
                         t.test_folder, NULL };
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  GHashTable *scores = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  for (guint i = 1; lines[i]; i++)
    {
      /* "path",class,score,threshold,verdict (paths here need no escapes) */
      g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 5);
      double *score = g_new (double, 1);
      *score = g_ascii_strtod (f[2], NULL);
      g_hash_table_insert (scores, g_strndup (f[0] + 1, strlen (f[0]) - 2), score);
    }
  g_assert_cmpuint (g_hash_table_size (scores), ==, N_TEST);
  return scores;
}

static gboolean
inspected (void)
{
  return idle () && workbench_session_get_run_id (t.session) > 0;
}

static void
test_inspect (void)
{
  if (t.session == NULL)
    {
      g_test_skip ("the workbench did not open");
      return;
    }
  stall_last = stall_max = 0;
  guint watch = g_timeout_add_full (G_PRIORITY_HIGH, 1, watch_stalls, NULL, NULL);
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (session_flag ("inspecting"));
  g_assert_true (wait_for (inspected, 60000));
  g_source_remove (watch);
  g_test_message ("longest main-loop gap while inspecting %d images: %.1f ms", N_TEST,
                  stall_max / 1000.0);
  g_assert_null (t.error_message);
  t.first_run = workbench_session_get_run_id (t.session);

  /* The scores are the model's: the same as `uniad infer` gives (6 decimals in its CSV). */
  g_autoptr (GHashTable) cli = cli_scores ();
  int counted = 0;
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      g_assert_true (workbench_item_get_inspected (item));
      g_assert_cmpint (workbench_item_get_inspection_id (item), >, 0);
      g_assert_cmpint (workbench_item_get_model_verdict (item), !=, UAD_VERDICT_NONE);
      t.scores[i] = workbench_item_get_score (item);
      const double *want = g_hash_table_lookup (cli, workbench_item_get_path (item));
      g_assert_nonnull (want);
      g_assert_cmpfloat_with_epsilon (t.scores[i], *want, 1e-6 * fabs (*want) + 1e-6);
    }
  for (const char *const *n = (const char *const[]) { "pass-total", "review-total", "fail-total",
                                                      NULL }; *n; n++)
    counted += count_label (*n);
  g_assert_cmpint (counted, ==, N_TEST);
  g_assert_cmpint (count_label ("none-total"), ==, 0);

  /* Every result is in the history, with its map. */
  flush ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) rows = uad_history_list_inspections (h, t.first_run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, N_TEST);
  for (guint i = 0; i < rows->len; i++)
    {
      UadInspection *in = rows->pdata[i];
      g_assert_cmpstr (in->class_name, ==, CLASS);
      g_assert_true (in->has_map);
    }
  g_autoptr (UadHistoryRun) run = uad_history_get_run (h, t.first_run, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->finished, >, 0);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
test_thresholds (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* Thresholds between the sorted scores: 4 pass, 2 review, 2 fail. */
  double sorted[N_TEST];
  memcpy (sorted, t.scores, sizeof sorted);
  qsort (sorted, N_TEST, sizeof *sorted, compare_doubles);
  t.pass_below = (sorted[3] + sorted[4]) / 2;
  t.fail_above = (sorted[5] + sorted[6]) / 2;

  GtkWidget *row = find_named (GTK_WIDGET (t.window), CLASS);
  g_assert_nonnull (row);
  GtkWidget *fail = find_named (row, "fail-above");
  GtkWidget *pass = find_named (row, "pass-below");
  g_assert_nonnull (fail);
  g_assert_nonnull (pass);
  /* The sliders move as the user drags them; the counts follow at once, without a main loop
   * iteration and without the model. */
  gtk_range_set_value (GTK_RANGE (fail), t.fail_above);
  gtk_range_set_value (GTK_RANGE (pass), t.pass_below);
  g_assert_cmpint (count_label ("pass-total"), ==, 4);
  g_assert_cmpint (count_label ("review-total"), ==, 2);
  g_assert_cmpint (count_label ("fail-total"), ==, 2);
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      double s = workbench_item_get_score (item);
      UadVerdict want = s < t.pass_below ? UAD_VERDICT_PASS
                        : s > t.fail_above ? UAD_VERDICT_FAIL : UAD_VERDICT_REVIEW;
      g_assert_cmpint (workbench_item_get_model_verdict (item), ==, want);
    }

  /* Stored once the slider rests, with who and when. */
  gint64 before = g_get_real_time ();
  spin (1000);
  flush ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_assert_no_error (error);
  const WorkbenchModelInfo *m = workbench_session_get_model (t.session);
  g_auto (UadThresholds) th = { 0 };
  gboolean found = FALSE;
  g_assert_true (uad_history_get_thresholds (h, m->model_id, CLASS, &th, &found, &error));
  g_assert_true (found);
  g_assert_cmpfloat_with_epsilon (th.pass_below, t.pass_below, 1e-9 * fabs (t.pass_below));
  g_assert_cmpfloat_with_epsilon (th.fail_above, t.fail_above, 1e-9 * fabs (t.fail_above));
  g_assert_cmpstr (th.changed_by, ==, OPERATOR);
  g_assert_cmpint (th.changed_at, >=, before - G_USEC_PER_SEC);
  g_autoptr (GPtrArray) changes = uad_history_list_thresholds (h, m->model_id, CLASS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, >=, 2);
  g_assert_cmpstr (((UadThresholds *) changes->pdata[0])->changed_by, ==, "default");
}

/* A real key press and release, as the X server delivers it to the focused window. */
static void
press (KeySym sym)
{
  Display *dpy = gdk_x11_display_get_xdisplay (gtk_widget_get_display (GTK_WIDGET (t.window)));
  KeyCode code = XKeysymToKeycode (dpy, sym);
  XTestFakeKeyEvent (dpy, code, True, CurrentTime);
  XTestFakeKeyEvent (dpy, code, False, CurrentTime);
  XFlush (dpy);
  spin (150);
}

static gboolean
window_active (void)
{
  return gtk_window_is_active (GTK_WINDOW (t.window));
}

static void
test_triage (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  if (!GDK_IS_X11_DISPLAY (gtk_widget_get_display (GTK_WIDGET (t.window))))
    {
      g_test_skip ("keyboard input is synthesised on X11 only");
      return;
    }
  gtk_window_present (GTK_WINDOW (t.window));
  g_assert_true (wait_for (window_active, 5000));
  workbench_gallery_focus_selected (gallery ());
  spin (200);

  press (XK_Home);
  press (XK_p);
  press (XK_Right);
  press (XK_f);
  press (XK_n);   /* the next image without a verdict: the third */
  press (XK_r);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (0)), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (1)), ==, UAD_VERDICT_FAIL);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (2)), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (3)), ==, UAD_VERDICT_NONE);
  /* The model's verdicts are kept apart. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (workbench_item_get_model_verdict (shown_item (i)), !=, UAD_VERDICT_NONE);

  /* A note on the selected (third) image, typed in the triage bar. */
  GtkWidget *details = find_type (GTK_WIDGET (t.window), g_type_from_name ("WorkbenchDetails"));
  GtkWidget *entry = find_type (details, GTK_TYPE_ENTRY);
  g_assert_true (gtk_widget_get_sensitive (entry));
  gtk_editable_set_text (GTK_EDITABLE (entry), "light reflection, not a scratch");
  g_signal_emit_by_name (entry, "activate");
  g_assert_cmpstr (workbench_item_get_note (shown_item (2)), ==, "light reflection, not a scratch");

  flush ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_assert_no_error (error);
  const UadVerdict want[] = { UAD_VERDICT_PASS, UAD_VERDICT_FAIL, UAD_VERDICT_REVIEW,
                              UAD_VERDICT_NONE };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_autoptr (UadInspection) in = uad_history_get_inspection (
        h, workbench_item_get_inspection_id (shown_item (i)), &error);
      g_assert_no_error (error);
      g_assert_cmpint (in->operator_verdict, ==, want[i]);
      g_assert_cmpint (in->reviewed_at > 0, ==, want[i] != UAD_VERDICT_NONE);
      g_assert_cmpint (in->model_verdict, !=, UAD_VERDICT_NONE);
      g_assert_cmpstr (in->note, ==, i == 2 ? "light reflection, not a scratch" : NULL);
    }
}

static void
test_reinspect (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* The same images with the same model: every result comes from the history, decided with
   * the thresholds as they are now, with the operator's verdicts kept. */
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (wait_for (inspected, 30000));
  guint reused;
  g_object_get (t.session, "n-reused", &reused, NULL);
  g_assert_cmpuint (reused, ==, N_TEST);
  gint64 run = workbench_session_get_run_id (t.session);
  g_assert_cmpint (run, >, t.first_run);
  for (guint i = 0; i < N_TEST; i++)
    g_assert_cmpfloat (workbench_item_get_score (shown_item (i)), ==, t.scores[i]);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (1)), ==, UAD_VERDICT_FAIL);
  g_assert_cmpint (count_label ("pass-total"), ==, 4);
  g_assert_cmpint (count_label ("review-total"), ==, 2);
  g_assert_cmpint (count_label ("fail-total"), ==, 2);

  flush ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_autoptr (UadHistoryRun) r = uad_history_get_run (h, run, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->n_inspections, ==, N_TEST);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_PASS], ==, 4);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_REVIEW], ==, 2);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_FAIL], ==, 2);
  g_assert_cmpint (r->operator_counts[UAD_VERDICT_NONE], ==, N_TEST - 3);
}

static gboolean
export_done (void)
{
  return !session_flag ("exporting");
}

static void
export_to (const char *path)
{
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "export-to",
                                  g_variant_new_string (path));
  g_assert_true (session_flag ("exporting"));
  g_assert_true (wait_for (export_done, 60000));
}

static void
test_export (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  g_autofree char *pdf = g_build_filename (t.root, "report.pdf", NULL);
  export_to (pdf);
  g_assert_null (t.error_message);
  g_autofree char *out = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "pdfinfo", pdf, NULL };
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                    NULL, NULL, &out, NULL, &status, &error))
    {
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_assert_nonnull (strstr (out, "Pages:"));
      g_test_message ("pdfinfo: %s", strstr (out, "Pages:"));
    }
  else
    g_test_message ("pdfinfo is not installed: the PDF is only checked to exist");
  g_assert_true (g_file_test (pdf, G_FILE_TEST_IS_REGULAR));

  g_autofree char *csv = g_build_filename (t.root, "report.csv", NULL);
  export_to (csv);
  g_assert_null (t.error_message);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1 + N_TEST);
  g_assert_true (g_str_has_prefix (lines[0], "path,class,score"));
  g_assert_nonnull (strstr (text, "light reflection, not a scratch"));

  /* An unwritable place is a clear error and leaves no file. */
  g_autofree char *bad = g_build_filename (t.root, "no-such-folder", "report.pdf", NULL);
  export_to (bad);
  g_assert_nonnull (t.error_message);
  g_assert_nonnull (strstr (t.error_message, "no-such-folder"));
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_clear_pointer (&t.error_message, g_free);
  close_dialogs ();
}

/* The window as it is on screen, saved as a PNG under UNIAD_TEST_ARTIFACTS. */
static void
screenshot (const char *name)
{
  spin (300);
  GtkWidget *w = GTK_WIDGET (t.window);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (w);
  int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (w));
  g_autoptr (GdkTexture) texture = gsk_renderer_render_texture (
    renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  const char *dir = g_getenv ("UNIAD_TEST_ARTIFACTS");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  if (dir)
    g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_assert_cmpint (gdk_texture_get_width (texture), ==, width);
  g_test_message ("screenshot: %s (%d x %d)", path, width, height);
}

static gboolean
runs_listed (void)
{
  WorkbenchHistoryPage *page = WORKBENCH_HISTORY_PAGE (
    find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_HISTORY_PAGE));
  return workbench_history_page_get_n_runs (page) >= 2;
}

static gboolean
first_run_open (void)
{
  return idle () && workbench_session_get_run_id (t.session) == t.first_run
         && workbench_item_get_inspected (shown_item (0));
}

static void
test_history (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "page", g_variant_new_string ("history"));
  g_assert_true (wait_for (runs_listed, 10000));
  screenshot ("workbench-history.png");

  /* Reopen the first run: its results and verdicts come back. */
  WorkbenchHistoryPage *page = WORKBENCH_HISTORY_PAGE (
    find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_HISTORY_PAGE));
  g_signal_emit_by_name (page, "open-run", t.first_run);
  g_assert_true (wait_for (first_run_open, 10000));
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (0)), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (2)), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpstr (workbench_item_get_note (shown_item (2)), ==, "light reflection, not a scratch");
  for (guint i = 0; i < N_TEST; i++)
    g_assert_cmpfloat (workbench_item_get_score (shown_item (i)), ==, t.scores[i]);
  g_assert_cmpint (count_label ("fail-total"), ==, 2);
}

static void
test_screenshot (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* The shortcuts window comes from the resources. */
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "show-help-overlay", NULL);
  spin (200);
  GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (t.window));
  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (help));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (help)));
  close_dialogs ();

  /* The worst image in the viewer, with its heatmap and contours. */
  WorkbenchGallery *g = gallery ();
  GtkGridView *grid = GTK_GRID_VIEW (find_type (GTK_WIDGET (g), GTK_TYPE_GRID_VIEW));
  guint worst = 0;
  for (guint i = 1; i < N_TEST; i++)
    if (t.scores[i] > t.scores[worst])
      worst = i;
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_grid_view_get_model (grid)), worst);
  spin (1500);
  screenshot ("workbench.png");
}

/* ---- Set-up ---- */

static gboolean
train_model (const char *weights)
{
  const char *cli = g_getenv ("UNIAD_CLI");
  if (cli == NULL)
    {
      g_test_message ("UNIAD_CLI is not set");
      return FALSE;
    }
  g_autofree char *data = g_build_filename (t.root, "data", NULL);
  t.model = g_build_filename (t.root, "bolt.uniad", NULL);
  const char *argv[] = { cli, "train", "--data", data, "--backbone", "mobilenet_v2", "--weights",
                         weights, "--epochs", "1", "--no-disk-cache", "--out", t.model, NULL };
  int status;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, &error));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("uniad train failed: %s", err);
  return TRUE;
}

static void
set_up (void)
{
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  if (weights == NULL)
    return;
  t.root = g_dir_make_tmp ("test-workbench-XXXXXX", NULL);
  make_dataset ();
  if (!train_model (weights))
    return;

  /* The user's data folder: the history, and the weights found by their SHA-256. */
  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  g_autofree char *weights_dir = g_build_filename (data_home, "uniad-workbench", "weights", NULL);
  g_assert_cmpint (g_mkdir_with_parents (weights_dir, 0755), ==, 0);
  g_autofree char *link = g_build_filename (weights_dir, "mobilenet_v2.safetensors", NULL);
  g_assert_cmpint (symlink (weights, link), ==, 0);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  t.history_path = g_build_filename (data_home, "uniad-workbench", "history.sqlite3", NULL);

  if (!gtk_init_check ())
    {
      g_test_message ("no display (run under xvfb-run)");
      return;
    }
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APP_ID, TRUE)
                                              : NULL;
  if (schema == NULL)
    {
      g_test_message ("the settings schema %s is not installed (set GSETTINGS_SCHEMA_DIR)", APP_ID);
      return;
    }
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_settings_set_string (settings, "operator", OPERATOR);

  t.app = workbench_application_new ();
  g_application_set_flags (G_APPLICATION (t.app),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_application_register (G_APPLICATION (t.app), NULL, &error));
}

static void
tear_down (void)
{
  if (t.window)
    gtk_window_destroy (GTK_WINDOW (t.window));
  g_clear_object (&t.app);
  if (t.root)
    {
      const char *argv[] = { "rm", "-rf", t.root, NULL };
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                    NULL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_add_func ("/workbench/open", test_open);
  g_test_add_func ("/workbench/inspect", test_inspect);
  g_test_add_func ("/workbench/thresholds", test_thresholds);
  g_test_add_func ("/workbench/triage", test_triage);
  g_test_add_func ("/workbench/reinspect", test_reinspect);
  g_test_add_func ("/workbench/export", test_export);
  g_test_add_func ("/workbench/history", test_history);
  g_test_add_func ("/workbench/screenshot", test_screenshot);
  int status = g_test_run ();
  tear_down ();
  return status;
}
