/* SPDX-License-Identifier: Apache-2.0 */
/* test-workbench.c: the real workbench application on a (virtual) X display, end to end.
 *
 * It makes a small MVTec-layout dataset, trains a MobileNetV2 UniAD model on it with the
 * `uniad` command (one epoch), and then drives the application as an operator would: opens
 * the model and the test folder as from the command line, inspects (results stream into the
 * gallery; the main loop's longest stall is measured), moves a class's thresholds and checks
 * the live counts, gives verdicts with the keyboard (real key presses through XTest), checks
 * the history database, inspects again (every result comes from the history), checks that
 * `uniad infer --csv`, the stored verdicts and a CSV export agree (default and moved
 * thresholds), exports a PDF
 * (pdfinfo) and a CSV, fails to export into a missing folder, reopens the first run from the
 * History page, and saves screenshots of the main window. The viewer: the image shown before
 * the model had loaded gets its reconstruction and decoded input, an image shown during a run
 * of 96 says its reconstruction is rendering and gets it long before the run ends, and at
 * 1600 x 1000 the image panes get the height (screenshots with and without Decoded Input).
 *
 * Needs UNIAD_SHARED (MobileNetV2 weights), UNIAD_CLI, an X display (meson runs it under
 * xvfb-run), GSETTINGS_SCHEMA_DIR with the compiled schema; skips without them. Screenshots
 * go to UNIAD_TEST_ARTIFACTS (default: the current folder). */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-cpu.h"
#include "uad-image.h"
#include "workbench-driver.h"
#include "workbench-gallery.h"
#include "workbench-history-page.h"
#include "workbench-image-pane.h"
#include "workbench-viewer.h"

#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <gdk/x11/gdkx.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

/* 20 test images: three batches of the detector (8 + 8 + 4), so that a run can be cancelled
 * between batches. */
#define N_GOOD 14
#define N_BAD 6
#define N_TEST (N_GOOD + N_BAD)
/* How the moved thresholds split them. */
#define N_PASS 12
#define N_REVIEW 5
#define N_FAIL 3
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
  gint64 cancelled_run;  /* a run stopped after two batches */
  gint64 first_run;      /* the first complete run */
  double scores[N_TEST]; /* in gallery (name) order after the first run */
  double pass_below, fail_above;
  char *error_message;   /* the last "error" of the session */
  char *weights_needed;  /* the model of the last "weights-needed" */
  int runs_finished;     /* "run-finished" signals */
  gboolean last_run_completed;
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
      g_autofree char *name = g_strdup_printf ("good_%02d.png", i);
      g_autofree char *path = g_build_filename (good, name, NULL);
      write_image (path, 200 + i, FALSE);
    }
  for (int i = 0; i < N_BAD; i++)
    {
      g_autofree char *name = g_strdup_printf ("scratch_%02d.png", i);
      g_autofree char *path = g_build_filename (bad, name, NULL);
      write_image (path, 300 + i, TRUE);
      g_autofree char *mask_name = g_strdup_printf ("scratch_%02d_mask.png", i);
      g_autofree char *mask = g_build_filename (gt, mask_name, NULL);
      write_mask (mask);
    }
  t.test_folder = g_build_filename (t.root, "data", CLASS, "test", NULL);
}

/* ---- Driving ---- */

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

static WorkbenchGallery *
gallery (void)
{
  return WORKBENCH_GALLERY (wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_GALLERY));
}

/* Images the gallery shows (after its filters). */
static guint
n_shown (void)
{
  GtkGridView *grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (gallery ()), GTK_TYPE_GRID_VIEW));
  return g_list_model_get_n_items (G_LIST_MODEL (gtk_grid_view_get_model (grid)));
}

/* The gallery's items in its order (sorted by name). */
static WorkbenchItem *
shown_item (guint position)
{
  GtkGridView *grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (gallery ()), GTK_TYPE_GRID_VIEW));
  GListModel *model = G_LIST_MODEL (gtk_grid_view_get_model (grid));
  WorkbenchItem *item = g_list_model_get_item (model, position);
  g_object_unref (item); /* the session keeps it */
  return item;
}

static int
count_label (const char *name)
{
  GtkWidget *label = wb_find_named (GTK_WIDGET (t.window), name);
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
opened (gpointer data)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return idle () && session_flag ("has-model") && n == N_TEST;
}

static gboolean
thumbnails_loaded (gpointer data)
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
  t.window = wb_open (t.app, (const char *const[]) { t.model, t.test_folder, NULL });
  t.session = workbench_window_get_session (t.window);
  g_signal_connect (t.session, "error", G_CALLBACK (on_session_error), NULL);
  g_assert_true (wb_wait_for (opened, NULL, 30000));
  g_assert_null (t.error_message);

  /* MVTec layout: class from the path, masks of the scratched images found. */
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      g_assert_cmpstr (workbench_item_get_class_name (item), ==, CLASS);
      g_assert_cmpint (workbench_item_get_mask_path (item) != NULL, ==,
                       g_str_has_prefix (workbench_item_get_name (item), "scratch"));
    }
  /* Named by the path in the opened folder (MVTec has a 000.png in every defect folder), and
   * sorted by it: good/good_00 .., scratch/scratch_00 ... */
  g_assert_cmpstr (workbench_item_get_name (shown_item (0)), ==, "good/good_00.png");
  g_assert_cmpstr (workbench_item_get_name (shown_item (N_TEST - 1)), ==,
                   "scratch/scratch_05.png");
  g_assert_true (wb_wait_for (thumbnails_loaded, NULL, 10000));
  g_assert_cmpint (count_label ("none-total"), ==, N_TEST);
}

/* ---- The reconstruction pane ---- */

static struct {
  GtkStack *stack;   /* the reconstruction pane's */
  gboolean said_pending, said_no_decoder;
} r;

static void
on_placeholder_label (GtkLabel *label)
{
  const char *text = gtk_label_get_label (label);
  r.said_pending |= g_str_equal (text, "Rendering reconstruction…");
  r.said_no_decoder |= g_str_equal (text, "This model has no image decoder");
}

static void
find_panes (GtkWidget *widget, GtkWidget **panes, int *n)
{
  if (WORKBENCH_IS_IMAGE_PANE (widget) && *n < 2)
    panes[(*n)++] = widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    find_panes (c, panes, n);
}

/* Finds the reconstruction pane and listens to what its placeholder says. */
static void
watch_reconstruction (void)
{
  GtkWidget *panes[2];
  int n = 0;
  find_panes (GTK_WIDGET (t.window), panes, &n);
  g_assert_cmpint (n, ==, 2);
  r.stack = GTK_STACK (gtk_widget_get_ancestor (panes[1], GTK_TYPE_STACK));
  GtkWidget *label = wb_find_type (gtk_stack_get_child_by_name (r.stack, "placeholder"),
                                   GTK_TYPE_LABEL);
  g_signal_connect (label, "notify::label", G_CALLBACK (on_placeholder_label), NULL);
  on_placeholder_label (GTK_LABEL (label));
}

static gboolean
reconstruction_shown (gpointer data)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (r.stack), "image") == 0;
}

static void
test_reconstruction (void)
{
  if (t.session == NULL)
    {
      g_test_skip ("the workbench did not open");
      return;
    }
  /* The first image was selected as soon as the folder was read, usually before the model had
   * loaded: its reconstruction follows the model, and the pane never says there is no
   * decoder. */
  watch_reconstruction ();
  g_assert_nonnull (workbench_gallery_get_selected_item (gallery ()));
  g_assert_true (wb_wait_for (reconstruction_shown, NULL, 30000));
  g_assert_false (r.said_no_decoder);

  /* With it came the input through the same decoder, which the viewer offers to compare. */
  GtkWidget *viewer = wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_VIEWER);
  GtkWidget *toggle = wb_find_type (viewer, GTK_TYPE_TOGGLE_BUTTON);
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (toggle)), ==,
                   "viewer.decoded-input");
  g_assert_true (gtk_widget_get_sensitive (toggle));
}

/* The fields of a CSV line, unquoted (fields here hold no line breaks; notes hold commas). */
static char **
csv_split (const char *line)
{
  g_autoptr (GStrvBuilder) fields = g_strv_builder_new ();
  g_autoptr (GString) field = g_string_new ("");
  gboolean quoted = FALSE;
  for (const char *c = line;; c++)
    {
      if (*c == '"' && quoted && c[1] == '"')
        g_string_append_c (field, *c++);
      else if (*c == '"')
        quoted = !quoted;
      else if (*c == '\0' || (*c == ',' && !quoted))
        {
          g_strv_builder_add (fields, field->str);
          g_string_truncate (field, 0);
          if (*c == '\0')
            break;
        }
      else
        g_string_append_c (field, *c);
    }
  return g_strv_builder_end (fields);
}

/* The rows of a CSV file by their first field, the path: path -> GStrv of n_fields fields. */
static GHashTable *
csv_rows (const char *csv, guint n_fields)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  GHashTable *rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_strfreev);
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  for (guint i = 1; lines[i]; i++)
    {
      char **f = csv_split (g_strchomp (lines[i]));
      g_assert_cmpuint (g_strv_length (f), ==, n_fields);
      g_hash_table_insert (rows, g_strdup (f[0]), f);
    }
  g_assert_cmpuint (g_hash_table_size (rows), ==, N_TEST);
  return rows;
}

/* What `uniad infer --csv` gives for the test folder (more options in extra, NULL-terminated),
 * by path: "path",class,score,pass_below,fail_above,verdict,heatmap_max. */
#define CLI_FIELDS 7
static GHashTable *
cli_rows (const char *const *extra)
{
  g_autofree char *csv = g_build_filename (t.root, "infer.csv", NULL);
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();
  const char *argv[] = { g_getenv ("UNIAD_CLI"), "infer", "--model", t.model, "--csv", csv,
                         t.test_folder, NULL };
  g_strv_builder_addv (args, argv);
  if (extra)
    g_strv_builder_addv (args, (const char **) extra);
  g_auto (GStrv) all = g_strv_builder_end (args);
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, all, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return csv_rows (csv, CLI_FIELDS);
}

static guint
n_inspected (void)
{
  guint n = 0;
  for (guint i = 0; i < N_TEST; i++)
    n += workbench_item_get_inspected (shown_item (i));
  return n;
}

static gboolean
some_inspected (gpointer data)
{
  return n_inspected () > 0;
}

static void
on_run_finished (WorkbenchSession *session, gboolean completed)
{
  t.runs_finished++;
  t.last_run_completed = completed;
}

static gboolean
inspected (gpointer data)
{
  return idle () && workbench_session_get_run_id (t.session) > 0;
}

static gboolean
items_are (gpointer data)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return idle () && n == GPOINTER_TO_UINT (data);
}

static const char *
gallery_count (void)
{
  return gtk_label_get_text (GTK_LABEL (wb_find_named (GTK_WIDGET (gallery ()),
                                                       "gallery-count")));
}

static void screenshot (const char *name);

/* An MVTec class folder: its test images by default, the training images only when asked
 * for, and the gallery says how many of each. */
static void
test_training_images (void)
{
  if (t.app == NULL)
    return;
  GtkCheckButton *check = GTK_CHECK_BUTTON (wb_find_named (GTK_WIDGET (gallery ()),
                                                           "training-check"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (check)));
  g_autofree char *class_root = g_path_get_dirname (t.test_folder);
  workbench_session_open_folders (t.session, (const char *const[]) { class_root, NULL });
  g_assert_true (wb_wait_for (items_are, GUINT_TO_POINTER (N_TEST), 30000));
  g_assert_cmpuint (workbench_session_get_n_training (t.session), ==, N_TRAIN);
  for (guint i = 0; i < N_TEST; i++)
    g_assert_true (g_str_has_prefix (workbench_item_get_name (shown_item (i)), "test/"));
  g_test_message ("%s", gallery_count ());
  g_autofree char *left_out = g_strdup_printf ("%d images · %d training images not included",
                                               N_TEST, N_TRAIN);
  g_assert_cmpstr (gallery_count (), ==, left_out);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (check)));
  g_assert_true (wb_wait_for (thumbnails_loaded, NULL, 10000));
  screenshot ("workbench-class-root.png");

  gtk_check_button_set_active (check, TRUE);
  g_assert_true (wb_wait_for (items_are, GUINT_TO_POINTER (N_TEST + N_TRAIN), 30000));
  g_autofree char *included = g_strdup_printf ("%d images · %d training images included",
                                               N_TEST + N_TRAIN, N_TRAIN);
  g_assert_cmpstr (gallery_count (), ==, included);
  g_assert_cmpstr (workbench_item_get_name (shown_item (N_TEST + N_TRAIN - 1)), ==,
                   "train/good/train_7.png");
  gtk_check_button_set_active (check, FALSE);
  g_assert_true (wb_wait_for (items_are, GUINT_TO_POINTER (N_TEST), 30000));

  /* The test folder again, as the next steps expect. */
  workbench_session_open_folders (t.session, (const char *const[]) { t.test_folder, NULL });
  g_assert_true (wb_wait_for (opened, NULL, 30000));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (check)));
  g_assert_true (wb_wait_for (thumbnails_loaded, NULL, 10000));
}

static void
test_inspect (void)
{
  if (t.session == NULL)
    {
      g_test_skip ("the workbench did not open");
      return;
    }
  /* Cancel once the first batch is in: the batch under way finishes, the rest is not run, and
   * the run stays in the history, unfinished. */
  g_signal_connect (t.session, "run-finished", G_CALLBACK (on_run_finished), NULL);
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (session_flag ("inspecting"));
  g_assert_true (wb_wait_for (some_inspected, NULL, 60000));
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "cancel", NULL);
  g_assert_true (wb_wait_for (inspected, NULL, 60000));
  g_assert_cmpint (t.runs_finished, ==, 1);
  g_assert_false (t.last_run_completed);
  guint done = n_inspected ();
  g_assert_cmpuint (done, >, 0);
  g_assert_cmpuint (done, <, N_TEST);
  g_assert_cmpuint (done % 8, ==, 0);
  g_assert_cmpint (count_label ("none-total"), ==, N_TEST - done);
  t.cancelled_run = workbench_session_get_run_id (t.session);
  {
    wb_flush (t.session);
    g_autoptr (GError) error = NULL;
    g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
    g_autoptr (UadHistoryRun) run = uad_history_get_run (h, t.cancelled_run, &error);
    g_assert_no_error (error);
    g_assert_cmpint (run->finished, ==, 0);
    g_assert_cmpint (run->n_inspections, ==, done);
  }

  /* Then the whole folder: what the cancelled run did is reused, the rest is run. */
  wb_stalls_start ();
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (wb_wait_for (inspected, NULL, 60000));
  g_test_message ("longest main-loop gap while inspecting %d images: %.1f ms", N_TEST,
                  wb_stalls_stop () / 1000.0);
  g_assert_null (t.error_message);
  g_assert_cmpint (t.runs_finished, ==, 2);
  g_assert_true (t.last_run_completed);
  guint reused;
  g_object_get (t.session, "n-reused", &reused, NULL);
  g_assert_cmpuint (reused, ==, done);
  t.first_run = workbench_session_get_run_id (t.session);
  g_assert_cmpint (t.first_run, >, t.cancelled_run);

  /* The scores are the model's: the same as `uniad infer` gives (6 decimals in its CSV). */
  g_autoptr (GHashTable) cli = cli_rows (NULL);
  int counted = 0;
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      g_assert_true (workbench_item_get_inspected (item));
      g_assert_cmpint (workbench_item_get_inspection_id (item), >, 0);
      g_assert_cmpint (workbench_item_get_model_verdict (item), !=, UAD_VERDICT_NONE);
      t.scores[i] = workbench_item_get_score (item);
      char **row = g_hash_table_lookup (cli, workbench_item_get_path (item));
      g_assert_nonnull (row);
      double want = g_ascii_strtod (row[2], NULL);
      g_assert_cmpfloat_with_epsilon (t.scores[i], want, 1e-6 * fabs (want) + 1e-6);
    }
  for (const char *const *n = (const char *const[]) { "pass-total", "review-total", "fail-total",
                                                      NULL }; *n; n++)
    counted += count_label (*n);
  g_assert_cmpint (counted, ==, N_TEST);
  g_assert_cmpint (count_label ("none-total"), ==, 0);

  /* Every result is in the history, with its map. */
  wb_flush (t.session);
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
  /* Thresholds between the sorted scores: N_PASS pass, N_REVIEW review, N_FAIL fail. */
  double sorted[N_TEST];
  memcpy (sorted, t.scores, sizeof sorted);
  qsort (sorted, N_TEST, sizeof *sorted, compare_doubles);
  t.pass_below = (sorted[N_PASS - 1] + sorted[N_PASS]) / 2;
  t.fail_above = (sorted[N_PASS + N_REVIEW - 1] + sorted[N_PASS + N_REVIEW]) / 2;

  GtkWidget *row = wb_find_named (GTK_WIDGET (t.window), CLASS);
  g_assert_nonnull (row);
  GtkWidget *fail = wb_find_named (row, "fail-above");
  GtkWidget *pass = wb_find_named (row, "pass-below");
  g_assert_nonnull (fail);
  g_assert_nonnull (pass);
  /* The sliders move as the user drags them; the counts follow at once, without a main loop
   * iteration and without the model. */
  gtk_range_set_value (GTK_RANGE (fail), t.fail_above);
  gtk_range_set_value (GTK_RANGE (pass), t.pass_below);
  g_assert_cmpint (count_label ("pass-total"), ==, N_PASS);
  g_assert_cmpint (count_label ("review-total"), ==, N_REVIEW);
  g_assert_cmpint (count_label ("fail-total"), ==, N_FAIL);
  for (guint i = 0; i < N_TEST; i++)
    {
      WorkbenchItem *item = shown_item (i);
      double s = workbench_item_get_score (item);
      UadVerdict want = s < t.pass_below ? UAD_VERDICT_PASS
                        : s > t.fail_above ? UAD_VERDICT_FAIL : UAD_VERDICT_REVIEW;
      g_assert_cmpint (workbench_item_get_model_verdict (item), ==, want);
    }

  /* The gallery filters by the model's verdict and sorts by score. */
  GtkWidget *gallery_widget = GTK_WIDGET (gallery ());
  GtkDropDown *sort = GTK_DROP_DOWN (wb_find_type (gallery_widget, GTK_TYPE_DROP_DOWN));
  GtkDropDown *verdict = GTK_DROP_DOWN (wb_find_type (gtk_widget_get_next_sibling (GTK_WIDGET (sort)),
                                                      GTK_TYPE_DROP_DOWN));
  gtk_drop_down_set_selected (verdict, 1); /* Fail */
  g_assert_cmpuint (n_shown (), ==, N_FAIL);
  for (guint i = 0; i < N_FAIL; i++)
    g_assert_cmpint (workbench_item_get_model_verdict (shown_item (i)), ==, UAD_VERDICT_FAIL);
  gtk_drop_down_set_selected (verdict, 0); /* All */
  gtk_drop_down_set_selected (sort, 0);    /* By score, highest first */
  for (guint i = 1; i < N_TEST; i++)
    g_assert_cmpfloat (workbench_item_get_score (shown_item (i - 1)), >=,
                       workbench_item_get_score (shown_item (i)));
  gtk_drop_down_set_selected (sort, 1);    /* By name again */
  g_assert_cmpstr (workbench_item_get_name (shown_item (0)), ==, "good/good_00.png");

  /* Stored once the slider rests, with who and when. */
  gint64 before = g_get_real_time ();
  wb_spin (1000);
  wb_flush (t.session);
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

/* What a key press should lead to (the X server and GTK take their time on a busy machine). */
static struct {
  guint position;       /* this image is selected */
  UadVerdict verdict;   /* and has this operator verdict (NONE: any) */
  double zoom;          /* the viewer's zoom is this (0: any; < 0: above 1, fitted) */
  gboolean in_viewer;   /* the keyboard focus is in the viewer */
} expect;

static WorkbenchViewer *
viewer (void)
{
  return WORKBENCH_VIEWER (wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_VIEWER));
}

static gboolean
as_expected (gpointer data)
{
  if (workbench_gallery_get_selected_item (gallery ()) != shown_item (expect.position))
    return FALSE;
  if (expect.verdict != UAD_VERDICT_NONE
      && workbench_item_get_operator_verdict (shown_item (expect.position)) != expect.verdict)
    return FALSE;
  double zoom = workbench_viewer_get_zoom (viewer ());
  if ((expect.zoom > 0 && zoom != expect.zoom) || (expect.zoom < 0 && !(zoom > 1)))
    return FALSE;
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (t.window));
  return !expect.in_viewer || (focus && gtk_widget_is_ancestor (focus, GTK_WIDGET (viewer ())));
}

/* A real key press and release (with Control held when ctrl), as the X server delivers it to
 * the focused window; fails unless `expect` holds within 10 s. */
static void
press (KeySym sym, gboolean ctrl)
{
  Display *dpy = gdk_x11_display_get_xdisplay (gtk_widget_get_display (GTK_WIDGET (t.window)));
  KeyCode code = XKeysymToKeycode (dpy, sym), control = XKeysymToKeycode (dpy, XK_Control_L);
  if (ctrl)
    XTestFakeKeyEvent (dpy, control, True, CurrentTime);
  XTestFakeKeyEvent (dpy, code, True, CurrentTime);
  XTestFakeKeyEvent (dpy, code, False, CurrentTime);
  if (ctrl)
    XTestFakeKeyEvent (dpy, control, False, CurrentTime);
  XFlush (dpy);
  g_assert_true (wb_wait_for (as_expected, NULL, 10000));
}

static gboolean
window_active (gpointer data)
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
  g_assert_true (wb_wait_for (window_active, NULL, 5000));
  workbench_gallery_focus_selected (gallery ());

  expect.position = 0;
  press (XK_Home, FALSE);
  expect.verdict = UAD_VERDICT_PASS;
  press (XK_p, FALSE);
  expect.position = 1, expect.verdict = UAD_VERDICT_NONE;
  press (XK_Right, FALSE);
  expect.verdict = UAD_VERDICT_FAIL;
  press (XK_f, FALSE);
  expect.position = 2, expect.verdict = UAD_VERDICT_NONE; /* the next without a verdict */
  press (XK_n, FALSE);
  expect.verdict = UAD_VERDICT_REVIEW;
  press (XK_r, FALSE);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (0)), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (1)), ==, UAD_VERDICT_FAIL);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (3)), ==, UAD_VERDICT_NONE);
  /* The model's verdicts are kept apart. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (workbench_item_get_model_verdict (shown_item (i)), !=, UAD_VERDICT_NONE);

  /* A note on the selected (third) image, typed in the triage bar. */
  GtkWidget *details = wb_find_type (GTK_WIDGET (t.window), g_type_from_name ("WorkbenchDetails"));
  GtkWidget *entry = wb_find_type (details, GTK_TYPE_ENTRY);
  g_assert_true (gtk_widget_get_sensitive (entry));
  gtk_editable_set_text (GTK_EDITABLE (entry), "light reflection, not a scratch");
  g_signal_emit_by_name (entry, "activate");
  g_assert_cmpstr (workbench_item_get_note (shown_item (2)), ==, "light reflection, not a scratch");

  /* Enter opens the image in the viewer: the keyboard goes there, Ctrl+1 is 100 %, Ctrl+0
   * fits the (64-pixel) image to the pane again. */
  expect.in_viewer = TRUE;
  press (XK_Return, FALSE);
  expect.zoom = 1;
  press (XK_1, TRUE);
  expect.zoom = -1;
  press (XK_0, TRUE);

  wb_flush (t.session);
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
  g_assert_true (wb_wait_for (inspected, NULL, 30000));
  guint reused;
  g_object_get (t.session, "n-reused", &reused, NULL);
  g_assert_cmpuint (reused, ==, N_TEST);
  gint64 run = workbench_session_get_run_id (t.session);
  g_assert_cmpint (run, >, t.first_run);
  for (guint i = 0; i < N_TEST; i++)
    g_assert_cmpfloat (workbench_item_get_score (shown_item (i)), ==, t.scores[i]);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (1)), ==, UAD_VERDICT_FAIL);
  g_assert_cmpint (count_label ("pass-total"), ==, N_PASS);
  g_assert_cmpint (count_label ("review-total"), ==, N_REVIEW);
  g_assert_cmpint (count_label ("fail-total"), ==, N_FAIL);

  wb_flush (t.session);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_autoptr (UadHistoryRun) r = uad_history_get_run (h, run, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->n_inspections, ==, N_TEST);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_PASS], ==, N_PASS);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_REVIEW], ==, N_REVIEW);
  g_assert_cmpint (r->model_counts[UAD_VERDICT_FAIL], ==, N_FAIL);
  g_assert_cmpint (r->operator_counts[UAD_VERDICT_NONE], ==, N_TEST - 3);
}

static gboolean
export_done (gpointer data)
{
  return !session_flag ("exporting");
}

static void
export_to (const char *path)
{
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "export-to",
                                  g_variant_new_string (path));
  g_assert_true (session_flag ("exporting"));
  g_assert_true (wb_wait_for (export_done, NULL, 60000));
}

/* The report's CSV: path,class,score,pass_below,fail_above,model_verdict,operator_verdict,
 * note,inspected_at,reviewed_at,heatmap_max,relative_path. */
#define EXPORT_FIELDS 12

/* `uniad infer --csv` (with the options in extra), the verdicts the workbench stored for its
 * current run, the workbench's CSV export of that run and the gallery agree on every image's
 * verdict and heatmap scale; counts gets how many of each verdict there are. */
static void
check_agreement (const char *const *extra, int counts[UAD_N_VERDICTS])
{
  g_autoptr (GHashTable) cli = cli_rows (extra);
  g_autofree char *csv = g_build_filename (t.root, "agreement.csv", NULL);
  export_to (csv);
  g_assert_null (t.error_message);
  g_autoptr (GHashTable) exported = csv_rows (csv, EXPORT_FIELDS);

  wb_flush (t.session);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) h = uad_history_open (t.history_path, 0, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) stored = uad_history_list_inspections (h, workbench_session_get_run_id (t.session),
                                                               &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, N_TEST);
  g_autoptr (GHashTable) items = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < N_TEST; i++)
    g_hash_table_insert (items, (gpointer) workbench_item_get_path (shown_item (i)), shown_item (i));

  memset (counts, 0, UAD_N_VERDICTS * sizeof *counts);
  for (guint i = 0; i < stored->len; i++)
    {
      const UadInspection *in = stored->pdata[i];
      const char *verdict = uad_verdict_to_string (in->model_verdict);
      float hi = uad_verdict_heatmap_max (in->fail_above);
      g_assert_nonnull (verdict);
      counts[in->model_verdict]++;

      char **c = g_hash_table_lookup (cli, in->image_path);
      g_assert_nonnull (c);
      g_assert_cmpstr (c[5], ==, verdict);
      g_assert_cmpfloat ((float) g_ascii_strtod (c[6], NULL), ==, hi);

      char **e = g_hash_table_lookup (exported, in->image_path);
      g_assert_nonnull (e);
      g_assert_cmpstr (e[5], ==, verdict);
      g_assert_cmpfloat ((float) g_ascii_strtod (e[10], NULL), ==, hi);

      /* The gallery shows the stored verdict; the viewer would draw with the same scale. */
      WorkbenchItem *item = g_hash_table_lookup (items, in->image_path);
      g_assert_nonnull (item);
      g_assert_cmpstr (e[11], ==, workbench_item_get_name (item));
      g_assert_cmpint (workbench_item_get_model_verdict (item), ==, in->model_verdict);
      UadVerdictThresholds th;
      g_assert_true (workbench_session_get_item_thresholds (t.session, item, &th));
      g_assert_cmpfloat (uad_verdict_heatmap_max (th.fail_above), ==, hi);
    }
}

/* Right after the first run, with the thresholds every class starts with: the CLI's defaults
 * and the workbench's are the same. */
static void
test_agreement_defaults (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  int counts[UAD_N_VERDICTS];
  check_agreement (NULL, counts);
  g_test_message ("default thresholds: %d pass, %d review, %d fail", counts[UAD_VERDICT_PASS],
                  counts[UAD_VERDICT_REVIEW], counts[UAD_VERDICT_FAIL]);
}

/* After the thresholds moved and the folder was inspected again: the CLI given the same
 * thresholds agrees on all three kinds of verdict. */
static void
test_agreement (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  g_autofree char *pass = g_strdup_printf ("--pass-below=%.17g", t.pass_below);
  g_autofree char *fail = g_strdup_printf ("--fail-above=%.17g", t.fail_above);
  const char *const extra[] = { pass, fail, NULL };
  int counts[UAD_N_VERDICTS];
  check_agreement (extra, counts);
  g_assert_cmpint (counts[UAD_VERDICT_PASS], ==, N_PASS);
  g_assert_cmpint (counts[UAD_VERDICT_REVIEW], ==, N_REVIEW);
  g_assert_cmpint (counts[UAD_VERDICT_FAIL], ==, N_FAIL);
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

static GskRenderNode *
render_window (int width, int height)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (t.window));
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  return gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
}

/* The paintable of a widget has its picture once the widget has been drawn since. */
static gboolean
window_rendered (gpointer data)
{
  GskRenderNode **node = data;
  *node = render_window (gtk_widget_get_width (GTK_WIDGET (t.window)),
                         gtk_widget_get_height (GTK_WIDGET (t.window)));
  if (*node == NULL)
    gtk_widget_queue_draw (GTK_WIDGET (t.window));
  return *node != NULL;
}

/* The window as it is on screen, saved as a PNG under UNIAD_TEST_ARTIFACTS. */
static void
screenshot (const char *name)
{
  wb_spin (300);
  GtkWidget *w = GTK_WIDGET (t.window);
  int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
  g_autoptr (GskRenderNode) node = NULL;
  g_assert_true (wb_wait_for (window_rendered, &node, 10000));
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

static WorkbenchHistoryPage *
history_page (void)
{
  return WORKBENCH_HISTORY_PAGE (wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_HISTORY_PAGE));
}

/* The History page lists GPOINTER_TO_UINT (data) runs. */
static gboolean
runs_listed (gpointer data)
{
  return workbench_history_page_get_n_runs (history_page ()) == GPOINTER_TO_UINT (data);
}

static gboolean
first_run_open (gpointer data)
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
  /* The cancelled run, the first complete one and the second one. */
  g_assert_true (wb_wait_for (runs_listed, GUINT_TO_POINTER (3), 10000));
  WorkbenchHistoryPage *page = history_page ();
  GtkEditable *class_entry = GTK_EDITABLE (wb_find_named (GTK_WIDGET (page), "class-filter"));
  GtkDropDown *period = GTK_DROP_DOWN (wb_find_type (GTK_WIDGET (page), GTK_TYPE_DROP_DOWN));
  gtk_editable_set_text (class_entry, "no-such-class");
  g_assert_true (wb_wait_for (runs_listed, GUINT_TO_POINTER (0), 10000));
  gtk_editable_set_text (class_entry, CLASS);
  g_assert_true (wb_wait_for (runs_listed, GUINT_TO_POINTER (3), 10000));
  gtk_editable_set_text (class_entry, "");
  gtk_drop_down_set_selected (period, 1); /* Today */
  g_assert_true (wb_wait_for (runs_listed, GUINT_TO_POINTER (3), 10000));
  screenshot ("workbench-history.png");

  /* Reopen the first run: its results and verdicts come back. */
  g_signal_emit_by_name (page, "open-run", t.first_run);
  g_assert_true (wb_wait_for (first_run_open, NULL, 10000));
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (0)), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (workbench_item_get_operator_verdict (shown_item (2)), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpstr (workbench_item_get_note (shown_item (2)), ==, "light reflection, not a scratch");
  for (guint i = 0; i < N_TEST; i++)
    g_assert_cmpfloat (workbench_item_get_score (shown_item (i)), ==, t.scores[i]);
  g_assert_cmpint (count_label ("fail-total"), ==, N_FAIL);
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
  wb_spin (200);
  GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (t.window));
  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (help));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (help)));
  close_dialogs ();

  /* The worst image in the viewer, with its heatmap and contours. */
  WorkbenchGallery *g = gallery ();
  GtkGridView *grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (g), GTK_TYPE_GRID_VIEW));
  guint worst = 0;
  for (guint i = 1; i < N_TEST; i++)
    if (t.scores[i] > t.scores[worst])
      worst = i;
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_grid_view_get_model (grid)), worst);
  wb_spin (1500);
  screenshot ("workbench.png");
}

static void
on_weights_needed (WorkbenchSession *session, const char *model, gpointer data)
{
  g_free (t.weights_needed);
  t.weights_needed = g_strdup (model);
}

static gboolean
weights_asked (gpointer data)
{
  return t.weights_needed != NULL && idle ();
}

static gboolean
model_open (gpointer data)
{
  return idle () && session_flag ("has-model");
}

static void
test_weights (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* Without the backbone weights in the user's folder, the workbench asks for them; the file
   * chosen is checked by its SHA-256 and the model opens. */
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "uniad-workbench", "weights",
                                           NULL);
  g_autofree char *link = g_build_filename (dir, "mobilenet_v2_1.0_224.safetensors", NULL);
  g_autofree char *weights = g_file_read_link (link, NULL);
  g_assert_nonnull (weights);
  g_assert_cmpint (g_unlink (link), ==, 0);
  g_signal_connect (t.session, "weights-needed", G_CALLBACK (on_weights_needed), NULL);
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "page", g_variant_new_string ("inspect"));
  g_autoptr (GFile) model = g_file_new_for_path (t.model);
  workbench_window_open_files (t.window, &model, 1);
  g_assert_true (wb_wait_for (weights_asked, NULL, 30000));
  g_assert_cmpstr (t.weights_needed, ==, t.model);
  g_assert_null (t.error_message);
  close_dialogs ();
  /* What choosing the file in the dialog does. */
  workbench_session_open_model (t.session, t.model, weights);
  g_assert_true (wb_wait_for (model_open, NULL, 30000));
  g_assert_null (t.error_message);
  g_assert_cmpstr (workbench_session_get_model (t.session)->weights_path, ==, weights);
}

/* ---- A history file that cannot be used ---- */

static struct {
  WorkbenchSession *session;
  char *error;             /* the last "error" */
  char *set_aside;         /* "history-reopened": where the file went */
  gboolean reopened;
} h;

static void
on_damaged_error (WorkbenchSession *session, const char *title, const char *message)
{
  g_free (h.error);
  h.error = g_strdup (message);
}

static void
on_history_reopened (WorkbenchSession *session, const char *set_aside)
{
  h.reopened = TRUE;
  g_free (h.set_aside);
  h.set_aside = g_strdup (set_aside);
}

static gboolean
h_flag (const char *name)
{
  gboolean value;
  g_object_get (h.session, name, &value, NULL);
  return value;
}

static gboolean
h_idle (gpointer data)
{
  return !h_flag ("loading") && !h_flag ("inspecting");
}

static gboolean
h_has_problem (gpointer data)
{
  return workbench_session_get_history_problem (h.session) != NULL;
}

static gboolean
h_opened (gpointer data)
{
  guint n;
  g_object_get (h.session, "n-items", &n, NULL);
  return h_idle (NULL) && h_flag ("has-model") && n == N_TEST;
}

static gboolean
h_reopened (gpointer data)
{
  return h.reopened && h_opened (NULL);
}

/* A session on the history at path, with the model and the test folder open. */
static void
h_open (const char *path)
{
  h.session = workbench_session_new (path);
  g_signal_connect (h.session, "error", G_CALLBACK (on_damaged_error), NULL);
  g_signal_connect (h.session, "history-reopened", G_CALLBACK (on_history_reopened), NULL);
  workbench_session_open_model (h.session, t.model, NULL);
  workbench_session_open_folders (h.session, (const char *const[]) { t.test_folder, NULL });
  g_assert_true (wb_wait_for (h_opened, NULL, 30000));
}

/* Inspects every image; returns the run. */
static gint64
h_inspect (void)
{
  workbench_session_inspect (h.session);
  g_assert_true (h_flag ("inspecting"));
  g_assert_true (wb_wait_for (h_idle, NULL, 120000));
  g_assert_null (h.error);
  g_assert_cmpint (workbench_session_get_count (h.session, UAD_VERDICT_NONE), ==, 0);
  return workbench_session_get_run_id (h.session);
}

static void
h_close (void)
{
  workbench_session_shutdown (h.session);
  g_clear_object (&h.session);
  g_clear_pointer (&h.set_aside, g_free);
  h.reopened = FALSE;
}

static void
on_map (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  float **map = data;
  *map = workbench_session_get_map_finish (WORKBENCH_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

static void
test_damaged_history (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  g_autofree char *dir = make_dir ("damaged-history", NULL, NULL, NULL);
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  guint8 garbage[8192];
  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8) (i * 2654435761u >> 13);
  g_assert_true (g_file_set_contents (path, (const char *) garbage, sizeof garbage, NULL));

  /* Working without the history: the model opens and inspects, the viewer gets its maps, and
   * the file is left as it was. */
  h_open (path);
  g_assert_true (wb_wait_for (h_has_problem, NULL, 10000));
  g_test_message ("history problem: %s", workbench_session_get_history_problem (h.session));
  g_assert_true (h_flag ("history-damaged"));
  g_assert_nonnull (strstr (workbench_session_get_history_problem (h.session), path));
  g_assert_cmpint (h_inspect (), >, 0);
  WorkbenchItem *item = g_list_model_get_item (workbench_session_get_items (h.session), 0);
  float *map = NULL;
  workbench_session_get_map_async (h.session, item, NULL, on_map, &map);
  g_object_unref (item);
  g_assert_true (wb_wait_for (is_set, &map, 10000));
  g_free (map);
  h_close ();
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpmem (bytes, len, garbage, sizeof garbage);
  g_autofree char *listing = wb_test_list_dir (dir);
  g_assert_cmpstr (listing, ==, "history.sqlite3");

  /* Starting a new history: the file is kept aside byte for byte, the model is loaded again,
   * and runs are recorded from then on. */
  h_open (path);
  g_assert_true (wb_wait_for (h_has_problem, NULL, 10000));
  g_assert_cmpint (h_inspect (), >, 0);
  workbench_session_reopen_history (h.session, TRUE);
  g_assert_true (wb_wait_for (h_reopened, NULL, 30000));
  g_assert_null (h.error);
  g_assert_null (workbench_session_get_history_problem (h.session));
  g_assert_cmpint (workbench_session_get_run_id (h.session), ==, 0);
  g_assert_cmpint (workbench_session_get_count (h.session, UAD_VERDICT_NONE), ==, N_TEST);
  g_test_message ("set aside as %s", h.set_aside);
  g_assert_true (g_str_has_prefix (h.set_aside, path));
  g_free (bytes);
  g_assert_true (g_file_get_contents (h.set_aside, &bytes, &len, NULL));
  g_assert_cmpmem (bytes, len, garbage, sizeof garbage);
  gint64 run = h_inspect ();
  g_assert_cmpint (run, >, 0);
  h_close ();
  g_autoptr (GError) error = NULL;
  g_autoptr (UadHistory) history = uad_history_open (path, 0, &error);
  g_assert_no_error (error);
  g_autoptr (UadHistoryRun) stored = uad_history_get_run (history, run, &error);
  g_assert_no_error (error);
  g_assert_cmpint (stored->n_inspections, ==, N_TEST);
  g_assert_cmpint (stored->finished, >, 0);

  /* A history locked by another program is not damaged: it is not set aside, and trying again
   * once the lock is gone puts it in use. */
  g_autofree char *locked = g_build_filename (dir, "locked.sqlite3", NULL);
  sqlite3 *other = NULL;
  g_assert_cmpint (sqlite3_open (locked, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN EXCLUSIVE; CREATE TABLE x (y)", NULL, NULL, NULL),
                   ==, SQLITE_OK);
  h_open (locked);
  g_assert_true (wb_wait_for (h_has_problem, NULL, 10000));
  g_test_message ("history problem: %s", workbench_session_get_history_problem (h.session));
  g_assert_false (h_flag ("history-damaged"));
  g_assert_nonnull (strstr (workbench_session_get_history_problem (h.session), "in use"));
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  workbench_session_reopen_history (h.session, FALSE);
  g_assert_true (wb_wait_for (h_reopened, NULL, 30000));
  g_assert_null (h.error);
  g_assert_null (h.set_aside);
  g_assert_null (workbench_session_get_history_problem (h.session));
  h_close ();
  g_free (listing);
  listing = wb_test_list_dir (dir);
  g_assert_null (strstr (listing, "locked.sqlite3.damaged"));
}

/* ---- A render while a long run goes on ---- */

#define N_MANY 96

static gboolean
many_open (gpointer data)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return idle () && n == N_MANY;
}

static gboolean
many_started (gpointer data)
{
  return workbench_session_get_count (t.session, UAD_VERDICT_NONE) < N_MANY;
}

static void
test_render_during_run (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* Images the model has not seen (a stored result would be taken instead): twelve batches. */
  g_autofree char *many = make_dir ("many", NULL, NULL, NULL);
  for (int i = 0; i < N_MANY; i++)
    {
      g_autofree char *name = g_strdup_printf ("many_%03d.png", i);
      g_autofree char *path = g_build_filename (many, name, NULL);
      write_image (path, 1000 + i, i % 8 == 0);
    }
  g_autoptr (GFile) folder = g_file_new_for_path (many);
  GFile *files[] = { folder };
  workbench_window_open_files (t.window, files, 1);
  g_assert_true (wb_wait_for (many_open, NULL, 30000));

  /* The last image, which the run would reach last, is shown once the run is under way: the
   * pane says its reconstruction is being rendered, and it comes after a batch, not the
   * run. */
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (session_flag ("inspecting"));
  g_assert_true (wb_wait_for (many_started, NULL, 60000));
  r.said_pending = r.said_no_decoder = FALSE;
  GtkGridView *grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (gallery ()), GTK_TYPE_GRID_VIEW));
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_grid_view_get_model (grid)),
                                     N_MANY - 1);
  g_assert_false (reconstruction_shown (NULL));
  g_assert_true (wb_wait_for (reconstruction_shown, NULL, 60000));
  int left = workbench_session_get_count (t.session, UAD_VERDICT_NONE);
  g_test_message ("reconstruction shown with %d of %d images still to inspect", left, N_MANY);
  g_assert_true (session_flag ("inspecting"));
  g_assert_cmpint (left, >, N_MANY / 2);
  g_assert_true (r.said_pending);
  g_assert_false (r.said_no_decoder);

  g_action_group_activate_action (G_ACTION_GROUP (t.window), "cancel", NULL);
  g_assert_true (wb_wait_for (inspected, NULL, 60000));
}

/* ---- The viewer at 1600 x 1000 ---- */

static void
test_viewer_space (void)
{
  if (t.first_run == 0)
    {
      g_test_skip ("no inspection");
      return;
    }
  /* The size of the first real session (the screen is that large; no window manager
   * maximizes the window). */
  gtk_window_set_default_size (GTK_WINDOW (t.window), 1600, 1000);
  GtkGridView *grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (gallery ()), GTK_TYPE_GRID_VIEW));
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_grid_view_get_model (grid)), 0);
  g_assert_true (wb_wait_for (reconstruction_shown, NULL, 30000));
  wb_spin (500);
  GtkWidget *panes[2];
  int n = 0;
  find_panes (GTK_WIDGET (t.window), panes, &n);
  int w = gtk_widget_get_width (panes[0]), h = gtk_widget_get_height (panes[0]);
  g_test_message ("window %d x %d: image panes %d x %d",
                  gtk_widget_get_width (GTK_WIDGET (t.window)),
                  gtk_widget_get_height (GTK_WIDGET (t.window)), w, h);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (t.window)), >=, 1580); /* less the frame */
  /* Half as wide again as the 250 x 190 of the first session, and four times as high. */
  g_assert_cmpint (w, >=, 360);
  g_assert_cmpint (h, >=, 700);
  screenshot ("workbench-1600x1000.png");

  GtkWidget *viewer = wb_find_type (GTK_WIDGET (t.window), WORKBENCH_TYPE_VIEWER);
  g_assert_true (gtk_widget_activate_action (viewer, "viewer.decoded-input", NULL));
  GtkWidget *toggle = wb_find_type (viewer, GTK_TYPE_TOGGLE_BUTTON);
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (toggle)));
  wb_spin (1000); /* the button's checked colour fades in */
  screenshot ("workbench-decoded-input.png");
  g_assert_true (gtk_widget_activate_action (viewer, "viewer.decoded-input", NULL));
}

/* ---- Set-up ---- */

static void
set_up (void)
{
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  if (weights == NULL)
    return;
  if (g_getenv ("UNIAD_CLI") == NULL)
    {
      g_test_message ("UNIAD_CLI is not set");
      return;
    }
  t.root = wb_test_make_dir ();
  make_dataset ();
  g_autofree char *data = g_build_filename (t.root, "data", NULL);
  t.model = g_build_filename (t.root, "bolt.uniad", NULL);
  wb_train_model (data, weights, 1, t.model);
  /* The user's data folder: the history, and the weights found by their SHA-256. */
  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  t.history_path = g_build_filename (data_home, "uniad-workbench", "history.sqlite3", NULL);
  t.app = wb_start (data_home, weights, OPERATOR);
}

static void
tear_down (void)
{
  if (t.window)
    gtk_window_destroy (GTK_WINDOW (t.window));
  g_clear_object (&t.app);
  if (t.root)
    wb_test_remove_tree (t.root);
}

int
main (int argc, char **argv)
{
  /* As uniad-workbench does (and `uniad`, whose scores are compared). */
  uad_cpu_select_blas_kernels (argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workbench/open", test_open);
  g_test_add_func ("/workbench/reconstruction", test_reconstruction);
  g_test_add_func ("/workbench/training-images", test_training_images);
  g_test_add_func ("/workbench/inspect", test_inspect);
  g_test_add_func ("/workbench/agreement-defaults", test_agreement_defaults);
  g_test_add_func ("/workbench/thresholds", test_thresholds);
  g_test_add_func ("/workbench/triage", test_triage);
  g_test_add_func ("/workbench/reinspect", test_reinspect);
  g_test_add_func ("/workbench/agreement", test_agreement);
  g_test_add_func ("/workbench/export", test_export);
  g_test_add_func ("/workbench/history", test_history);
  g_test_add_func ("/workbench/screenshot", test_screenshot);
  g_test_add_func ("/workbench/damaged-history", test_damaged_history);
  g_test_add_func ("/workbench/weights", test_weights);
  g_test_add_func ("/workbench/render-during-run", test_render_during_run);
  g_test_add_func ("/workbench/viewer-space", test_viewer_space);
  int status = g_test_run ();
  tear_down ();
  return status;
}
