/* SPDX-License-Identifier: Apache-2.0 */
/* test-train-dialog.c: training a model from the workbench's New Model window, in the real
 * application on a (virtual) X display.
 *
 * Two class folders of real good images (pcb and magnetic_tile, N_TRAIN each, not in MVTec
 * layout) go into the window opened by the window's new-model action, with the MobileNetV2
 * weights it finds in the user's weights folder and a budget of BUDGET_MINUTES. A first run,
 * from the same images as an MVTec root, cancelled while the transformer trains leaves neither
 * a model nor a checkpoint. The second
 * is paused at the transformer's checkpoint and resumed from it; the loss curve grows (a
 * picture of the window goes under UNIAD_TEST_ARTIFACTS), and the finished model (with its
 * image decoder) is opened in the workbench and recorded in the history. The model then inspects magnetic_tile test images in MVTec layout: the broken tile
 * scores above every good one. Needs UNIAD_SHARED, an X display and GSETTINGS_SCHEMA_DIR;
 * skips without them. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-cpu.h"
#include "uad-dataset.h"
#include "uad-model.h"
#include "workbench-driver.h"
#include "workbench-loss-plot.h"
#include "workbench-train-dialog.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define N_TRAIN 8
#define N_GOOD 4
#define BUDGET_MINUTES 0.25
/* A broken tile: its defect covers a fifth of the image. */
#define DEFECT "break"
#define DEFECTIVE "006.png"

/* The classes, named as their folders, in the order an MVTec root lists them. */
static const char *const classes[] = { "magnetic_tile", "pcb" };

static struct {
  char *root;
  WorkbenchApplication *app;
  WorkbenchWindow *window;
  WorkbenchSession *session;
  WorkbenchTrainDialog *dialog;
  char *model;
} t;

/* Links the first n images of from into to (made). */
static void
link_images (const char *from, const char *to, int n)
{
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  g_auto (GStrv) images = uad_list_images (from, NULL);
  g_assert_nonnull (images);
  for (int i = 0; i < n; i++)
    {
      g_assert_nonnull (images[i]);
      g_autofree char *name = g_path_get_basename (images[i]);
      g_autofree char *link = g_build_filename (to, name, NULL);
      g_assert_cmpint (symlink (images[i], link), ==, 0);
    }
}

static GtkWidget *
child (const char *name)
{
  GtkWidget *w = wb_find_named (GTK_WIDGET (t.dialog), name);
  g_assert_nonnull (w);
  return w;
}

static void
click (const char *name)
{
  GtkWidget *button = child (name);
  g_assert_true (gtk_widget_get_visible (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static gboolean
state_is (gpointer data)
{
  WorkbenchTrainState state = workbench_train_dialog_get_state (t.dialog);
  if (state == WORKBENCH_TRAIN_STOPPED && GPOINTER_TO_INT (data) != WORKBENCH_TRAIN_STOPPED)
    g_error ("training stopped: %s", gtk_label_get_text (GTK_LABEL (child ("log"))));
  return state == (WorkbenchTrainState) GPOINTER_TO_INT (data);
}

/* The transformer trains: Pause is offered. */
static gboolean
transformer_trains (gpointer data)
{
  return gtk_widget_is_sensitive (child ("pause"));
}

/* The transformer's curve has three points, or as many as it will have. */
static gboolean
curve_drawn (gpointer data)
{
  WorkbenchLossPlot *plot = WORKBENCH_LOSS_PLOT (child ("loss-plot"));
  guint n = workbench_loss_plot_get_n_points (plot, WORKBENCH_LOSS_TRANSFORMER);
  return n >= 3 || (n > 0 && !gtk_widget_is_sensitive (child ("pause")));
}

static gboolean
model_opened (gpointer data)
{
  const WorkbenchModelInfo *info = workbench_session_get_model (t.session);
  return !wb_session_flag (t.session, "loading") && info != NULL
         && g_strcmp0 (info->path, t.model) == 0;
}

static gboolean
opened (gpointer data)
{
  guint n;
  g_object_get (t.session, "n-items", &n, NULL);
  return n == GPOINTER_TO_UINT (data) && !wb_session_flag (t.session, "loading");
}

static gboolean
all_inspected (gpointer data)
{
  GListModel *items = workbench_session_get_items (t.session);
  guint n = g_list_model_get_n_items (items);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if (!workbench_item_get_inspected (item))
        return FALSE;
    }
  return n == GPOINTER_TO_UINT (data) && !wb_session_flag (t.session, "loading")
         && !wb_session_flag (t.session, "inspecting");
}

static gboolean
dialog_gone (gpointer data)
{
  return wb_find_toplevel (WORKBENCH_TYPE_TRAIN_DIALOG) == NULL;
}

/* The New Model window from the window's action, set to train on the folders added (the two
 * classes) into out; the weights are found in the user's weights folder. */
static void
open_dialog (const char *const *folders, const char *out)
{
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "new-model", NULL);
  t.dialog = (WorkbenchTrainDialog *) wb_find_toplevel (WORKBENCH_TYPE_TRAIN_DIALOG);
  g_assert_nonnull (t.dialog);
  gtk_window_set_default_size (GTK_WINDOW (t.dialog), 760, 820);
  g_assert_false (gtk_widget_is_sensitive (child ("train")));
  const char *found = adw_action_row_get_subtitle (ADW_ACTION_ROW (child ("weights")));
  g_assert_true (g_str_has_suffix (found, "uniad-workbench/weights/mobilenet_v2_1.0_224.safetensors"));
  for (int i = 0; folders[i]; i++)
    g_assert_true (workbench_train_dialog_add_folder (t.dialog, folders[i]));
  GtkListBox *list = GTK_LIST_BOX (child ("classes"));
  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) k);
      g_assert_nonnull (row);
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, classes[k]);
    }
  g_assert_null (gtk_list_box_get_row_at_index (list, G_N_ELEMENTS (classes)));
  workbench_train_dialog_set_output (t.dialog, out);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child ("budget")), BUDGET_MINUTES);
  wb_spin (100);
}

static void
test_train (void)
{
  g_autofree char *weights = NULL, *industrial = NULL;
  if (!wb_shared_material (&weights, &industrial, FALSE))
    return;
  t.root = wb_test_make_dir ();
  /* Class folders, as a user has them: the folder's name is the class; and the same in an
   * MVTec root (ROOT/mvtec/<class>/train/good). */
  const char *class_folders[G_N_ELEMENTS (classes) + 1] = { NULL };
  g_autofree char *mvtec = g_build_filename (t.root, "mvtec", NULL);
  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    {
      g_autofree char *from = g_build_filename (industrial, classes[k], "train", "good", NULL);
      char *to = g_build_filename (t.root, "good", classes[k], NULL);
      link_images (from, to, N_TRAIN);
      class_folders[k] = to;
      g_autofree char *train = g_build_filename (mvtec, classes[k], "train", NULL);
      g_autofree char *good = g_build_filename (train, "good", NULL);
      g_assert_cmpint (g_mkdir_with_parents (train, 0755), ==, 0);
      g_assert_cmpint (symlink (to, good), ==, 0);
    }
  g_autofree char *test = g_build_filename (t.root, "data", "magnetic_tile", "test", NULL);
  g_autofree char *good_from = g_build_filename (industrial, "magnetic_tile", "test", "good", NULL);
  g_autofree char *good_to = g_build_filename (test, "good", NULL);
  link_images (good_from, good_to, N_GOOD);
  g_autofree char *bad_dir = g_build_filename (test, DEFECT, NULL);
  g_autofree char *bad_from = g_build_filename (industrial, "magnetic_tile", "test", DEFECT,
                                                DEFECTIVE, NULL);
  g_autofree char *bad_to = g_build_filename (bad_dir, DEFECTIVE, NULL);
  g_assert_cmpint (g_mkdir_with_parents (bad_dir, 0755), ==, 0);
  g_assert_cmpint (symlink (bad_from, bad_to), ==, 0);

  /* Features go to a cache of the test's own. */
  g_autofree char *cache = g_build_filename (t.root, "cache", NULL);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_autofree char *data_home = g_build_filename (t.root, "xdg-data", NULL);
  t.app = wb_start (data_home, weights, "Trainer");
  if (t.app == NULL)
    {
      g_test_skip ("no display or settings schema (see the messages above)");
      return;
    }
  g_application_activate (G_APPLICATION (t.app));
  t.window = WORKBENCH_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (t.app)));
  t.session = workbench_window_get_session (t.window);

  /* From an MVTec root, cancelled while the transformer trains: neither a model nor a
   * checkpoint is left. */
  g_autofree char *cancelled = g_build_filename (t.root, "models", "cancelled.uniad", NULL);
  g_autofree char *cancelled_checkpoint = g_strconcat (cancelled, ".checkpoint", NULL);
  open_dialog ((const char *const[]) { mvtec, NULL }, cancelled);
  click ("train");
  g_assert_true (wb_wait_for (transformer_trains, NULL, 60000));
  click ("cancel");
  g_assert_true (wb_wait_for (state_is, GINT_TO_POINTER (WORKBENCH_TRAIN_STOPPED), 30000));
  g_assert_false (g_file_test (cancelled_checkpoint, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (cancelled, G_FILE_TEST_EXISTS));
  click ("close");
  g_assert_true (wb_wait_for (dialog_gone, NULL, 10000));

  t.model = g_build_filename (t.root, "models", "new.uniad", NULL);
  open_dialog (class_folders, t.model);
  wb_screenshot (GTK_WIDGET (t.dialog), "train-dialog-setup.png");
  click ("train");

  /* Paused at the transformer's checkpoint as soon as it trains (it then has its whole budget
   * to go on with, however slow the build). */
  g_assert_true (wb_wait_for (transformer_trains, NULL, 60000));
  click ("pause");
  g_assert_true (wb_wait_for (state_is, GINT_TO_POINTER (WORKBENCH_TRAIN_PAUSED), 30000));
  g_autofree char *checkpoint = g_strconcat (t.model, ".checkpoint", NULL);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (t.model, G_FILE_TEST_EXISTS));

  /* Resumed from the checkpoint (the job refuses to start over one), the curve grows; it ends
   * with the decoder, saved, opened and recorded. */
  click ("resume");
  g_assert_true (wb_wait_for (curve_drawn, NULL, 60000));
  wb_spin (200);
  wb_screenshot (GTK_WIDGET (t.dialog), "train-dialog.png");
  g_assert_true (wb_wait_for (state_is, GINT_TO_POINTER (WORKBENCH_TRAIN_DONE), 60000));
  g_assert_false (g_file_test (checkpoint, G_FILE_TEST_EXISTS));
  g_autoptr (GError) error = NULL;
  g_autoptr (UadModel) model = uad_model_load (t.model, &error);
  g_assert_no_error (error);
  g_assert_cmpint (model->n_classes, ==, 2);
  g_assert_cmpstr (model->classes[0].name, ==, "magnetic_tile");
  g_assert_cmpstr (model->classes[1].name, ==, "pcb");
  g_assert_cmpint (model->classes[0].n_train, ==, N_TRAIN);
  g_assert_nonnull (model->decoder);
  g_assert_cmpstr (model->training.recipe, ==, "fast");
  g_assert_true (wb_wait_for (model_opened, NULL, 30000));
  const WorkbenchModelInfo *info = workbench_session_get_model (t.session);
  g_assert_true (info->has_decoder);
  g_autofree char *history = g_build_filename (data_home, "uniad-workbench", "history.sqlite3", NULL);
  g_autoptr (UadHistory) h = uad_history_open (history, 0, &error);
  g_assert_no_error (error);
  g_autoptr (UadHistoryModel) recorded = uad_history_get_model (h, info->model_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (recorded);
  g_assert_cmpstr (recorded->path, ==, t.model);
  click ("close");

  /* The model ranks the broken tile above every good one. */
  workbench_session_open_folders (t.session, (const char *const[]) { test, NULL });
  g_assert_true (wb_wait_for (opened, GUINT_TO_POINTER (N_GOOD + 1), 30000));
  g_action_group_activate_action (G_ACTION_GROUP (t.window), "inspect", NULL);
  g_assert_true (wb_wait_for (all_inspected, GUINT_TO_POINTER (N_GOOD + 1), 60000));
  GListModel *items = workbench_session_get_items (t.session);
  double defective = NAN, best_good = -INFINITY;
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      double score = workbench_item_get_score (item);
      g_test_message ("%s: %g", workbench_item_get_name (item), score);
      if (g_strcmp0 (workbench_item_get_defect (item), DEFECT) == 0)
        defective = score;
      else
        best_good = MAX (best_good, score);
    }
  g_assert_cmpfloat (defective, >, best_good);

  /* The paper's recipe, chosen in the window, is the one the model records and trains by. */
  g_autofree char *official = g_build_filename (t.root, "models", "official.uniad", NULL);
  open_dialog (class_folders, official);
  adw_combo_row_set_selected (ADW_COMBO_ROW (child ("recipe")), 1);
  gtk_switch_set_active (GTK_SWITCH (child ("decoder")), FALSE);
  click ("train");
  g_assert_true (wb_wait_for (state_is, GINT_TO_POINTER (WORKBENCH_TRAIN_DONE), 60000));
  g_autoptr (UadModel) paper = uad_model_load (official, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (paper->training.recipe, ==, "official");
  g_assert_null (paper->decoder);
  click ("close");
  g_assert_true (wb_wait_for (dialog_gone, NULL, 10000));
  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    g_free ((char *) class_folders[k]);
}

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-dialog/train-pause-resume-rank", test_train);
  int status = g_test_run ();
  wb_finish (t.window, t.app, t.root);
  g_free (t.model);
  return status;
}
