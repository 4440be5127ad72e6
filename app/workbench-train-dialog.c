/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-train-dialog.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "app-folders.h"
#include "uad-error.h"
#include "uad-train-job.h"
#include "uad-weights.h"
#include "workbench-loss-plot.h"

/* Progress reaches the window at most this often, and at every point of the curve. */
#define UPDATE_INTERVAL_US (100 * 1000)
/* The curve gets a point at every epoch's end, and at least every this share of the budget. */
#define POINT_SHARE 0.01

typedef struct _Run Run;

struct _WorkbenchTrainDialog
{
  AdwWindow parent_instance;

  GtkButton *train_button;
  GtkStack *stack;
  GtkListBox *class_list;
  AdwComboRow *weights_row;
  AdwComboRow *mode_row, *recipe_row;
  GtkSpinButton *budget_spin;
  GtkSwitch *decoder_switch;
  AdwActionRow *output_row;
  GtkLabel *phase_label;
  GtkProgressBar *progress_bar;
  WorkbenchLossPlot *loss_plot;
  GtkLabel *stats_label;
  GtkLabel *log_label;
  GtkButton *cancel_button;
  GtkButton *pause_button;
  GtkButton *resume_button;
  GtkButton *close_button;

  WorkbenchSession *session;
  GtkStringList *weights_names; /* shown in weights_row */
  GPtrArray *weights_paths;     /* the files behind them */
  GPtrArray *class_names;       /* the classes to train, with their folders */
  GPtrArray *class_folders;
  char *output;

  WorkbenchTrainState state;
  Run *run;                     /* the job on the worker, or NULL */
  double budget;                /* seconds */
  double spent;                 /* seconds of the budget used by the runs before a pause */
  gboolean pausing;             /* the run in progress stops to be resumed */
  gboolean closing;             /* the window goes once the run has stopped */
  gboolean output_existed;      /* the model file was there before the training */
};

G_DEFINE_FINAL_TYPE (WorkbenchTrainDialog, workbench_train_dialog, ADW_TYPE_WINDOW)

/* The recipe row's items, in order (uad-recipe.h). */
static const char *const recipes[] = { "fast", "official" };

/* ---- The worker --------------------------------------------------------------------------- */

/* What the window asks of a running job: a pause stops the transformer at its next step (it
 * has a checkpoint; once it is done the run goes on to the end), a cancel stops any phase. */
typedef enum {
  STOP_NONE,
  STOP_PAUSE,
  STOP_CANCEL,
} StopRequest;

/* One job on the worker; the window keeps it until it ends. */
struct _Run
{
  WorkbenchTrainDialog *dialog; /* the task's source object, alive while the task is */
  char **names, **folders;      /* the classes */
  char *weights, *out, *cache_dir;
  const char *recipe;
  gboolean separate, decoder, resume;
  double spent;                 /* budget seconds used before this run */
  gint64 started, deadline;
  gint stop;                    /* atomic: a StopRequest */
  gint64 last_post, last_point; /* worker only */
};

static void
run_free (Run *run)
{
  g_strfreev (run->names);
  g_strfreev (run->folders);
  g_free (run->weights);
  g_free (run->out);
  g_free (run->cache_dir);
  g_free (run);
}

/* What the worker tells the window. */
typedef struct {
  WorkbenchTrainDialog *dialog;
  UadTrainPhase phase;
  gboolean has_progress;
  double fraction_of_budget, loss, images_per_second, seconds_left;
  int done, total;          /* images, in the phases that count them */
  gboolean point;           /* (at, loss) goes on the curve */
  double at;
  char *line;               /* a log line, or NULL */
} Update;

static void apply_update (WorkbenchTrainDialog *self, const Update *u);

static gboolean
deliver (gpointer data)
{
  Update *u = data;
  apply_update (u->dialog, u);
  g_object_unref (u->dialog);
  g_free (u->line);
  g_free (u);
  return G_SOURCE_REMOVE;
}

static void
post (Run *run, Update *u)
{
  u->dialog = g_object_ref (run->dialog);
  run->last_post = g_get_monotonic_time ();
  g_idle_add (deliver, g_memdup2 (u, sizeof *u));
}

static double
budget_seconds (const Run *run)
{
  return run->spent + (run->deadline - run->started) / 1e6;
}

static gboolean
on_job_progress (const UadTrainJobProgress *p, void *user_data)
{
  Run *run = user_data;
  int stop = g_atomic_int_get (&run->stop);
  if (stop == STOP_CANCEL || (stop == STOP_PAUSE && p->phase == UAD_TRAIN_PHASE_TRANSFORMER))
    return FALSE;
  gint64 now = g_get_monotonic_time ();
  gboolean epoch_end = (p->transformer && p->transformer->step == p->transformer->steps_per_epoch)
                       || (p->decoder && p->decoder->step == p->decoder->steps_per_epoch);
  /* Long epochs get points between their ends too: the running loss of the epoch so far. */
  gboolean point = !isnan (p->loss)
                   && (epoch_end || now - run->last_point >= POINT_SHARE * budget_seconds (run)
                                                             * G_USEC_PER_SEC);
  if (!point && now - run->last_post < UPDATE_INTERVAL_US)
    return TRUE;
  if (point)
    run->last_point = now;
  double at = run->spent + (now - run->started) / 1e6;
  Update u = { .phase = p->phase, .has_progress = TRUE,
               .fraction_of_budget = at / budget_seconds (run), .loss = p->loss,
               .images_per_second = p->images_per_second, .seconds_left = p->seconds_left,
               .done = p->done, .total = p->total, .point = point, .at = at };
  post (run, &u);
  return TRUE;
}

static void
on_job_log (UadTrainPhase phase, gboolean phase_done, const char *line, void *user_data)
{
  Update u = { .phase = phase, .line = g_strdup (line) };
  post (user_data, &u);
}

static UadModel *
run_job (Run *run, GError **error)
{
  int n = (int) g_strv_length (run->names);
  g_autoptr (UadDataset) ds = uad_train_job_dataset_from_folders ((const char *const *) run->names,
                                                                  (const char *const *) run->folders,
                                                                  n, error);
  if (ds == NULL)
    return NULL;
  g_autofree char *sha = uad_weights_sha256 (run->weights, error);
  if (sha == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (run->out);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), _("Cannot create %s"),
                   dir);
      return NULL;
    }
  UadTrainJobOptions opts;
  if (!uad_train_job_options_init (&opts, run->recipe, error))
    return NULL;
  opts.deadline = run->deadline;
  opts.separate = run->separate;
  opts.train_decoder = run->decoder;
  opts.resume = run->resume;
  /* Translators: how a paused training goes on, in a message that says what to do with it */
  opts.resume_hint = _("the Resume button");
  opts.cache_dir = run->cache_dir;
  opts.out = run->out;
  UadBackbone *bb = uad_backbone_load_any (run->weights, error);
  if (bb == NULL)
    return NULL;
  UadTrainJobMonitor monitor = { on_job_progress, on_job_log, run };
  UadModel *model = uad_train_job_run (&opts, bb, sha, ds, NULL, &monitor, error);
  uad_backbone_free (bb);
  return model;
}

static void
run_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  UadModel *model = run_job (data, &error);
  if (model != NULL)
    g_task_return_pointer (task, model, (GDestroyNotify) uad_model_free);
  else
    g_task_return_error (task, error);
}

/* ---- The window --------------------------------------------------------------------------- */

static const char *
phase_title (UadTrainPhase phase)
{
  switch (phase)
    {
    case UAD_TRAIN_PHASE_FEATURES:
      return _("Reading the images (backbone features)");
    case UAD_TRAIN_PHASE_TRANSFORMER:
      return _("Training the transformer");
    case UAD_TRAIN_PHASE_DECODER_TARGETS:
      return _("Reading the images for the image decoder");
    case UAD_TRAIN_PHASE_DECODER:
      return _("Training the image decoder");
    }
  g_return_val_if_reached ("");
}

static char *
format_duration (double seconds)
{
  long s = (long) MAX (seconds + 0.5, 0);
  /* Translators: minutes and seconds, as in "3:07" */
  return g_strdup_printf (_("%ld:%02ld"), s / 60, s % 60);
}

static void
show_stats (WorkbenchTrainDialog *self, const Update *u)
{
  g_autofree char *left = format_duration (u->seconds_left);
  g_autofree char *text = NULL;
  if (!isnan (u->loss))
    /* Translators: the running loss of the epoch, the training speed and the budget left */
    text = g_strdup_printf (_("Loss %.5f · %.1f images/s · %s left"), u->loss,
                            u->images_per_second, left);
  else
    /* Translators: images read of all, the speed and the budget left */
    text = g_strdup_printf (_("Image %d of %d · %.1f images/s · %s left"), u->done, u->total,
                            u->images_per_second, left);
  gtk_label_set_text (self->stats_label, text);
}

static void
apply_update (WorkbenchTrainDialog *self, const Update *u)
{
  /* Late news of a run that is being cancelled, or has stopped, would hide that. */
  if (self->state != WORKBENCH_TRAIN_RUNNING
      || g_atomic_int_get (&self->run->stop) == STOP_CANCEL)
    return;
  if (!self->pausing)
    gtk_label_set_text (self->phase_label, phase_title (u->phase));
  /* Only the transformer has a checkpoint to stop at. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button),
                            u->phase == UAD_TRAIN_PHASE_TRANSFORMER && !self->pausing);
  if (u->line)
    gtk_label_set_text (self->log_label, u->line);
  if (!u->has_progress)
    return;
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (u->fraction_of_budget, 0, 1));
  show_stats (self, u);
  if (u->point)
    workbench_loss_plot_add (self->loss_plot, u->phase == UAD_TRAIN_PHASE_DECODER
                             ? WORKBENCH_LOSS_DECODER : WORKBENCH_LOSS_TRANSFORMER, u->at,
                             u->loss);
}

static void
set_state (WorkbenchTrainDialog *self, WorkbenchTrainState state)
{
  self->state = state;
  gboolean running = state == WORKBENCH_TRAIN_RUNNING;
  gtk_stack_set_visible_child_name (self->stack, state == WORKBENCH_TRAIN_SETUP ? "setup"
                                                                                : "training");
  gtk_widget_set_visible (GTK_WIDGET (self->train_button), state == WORKBENCH_TRAIN_SETUP);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button),
                          running || state == WORKBENCH_TRAIN_PAUSED);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->pause_button), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->resume_button), state == WORKBENCH_TRAIN_PAUSED);
  gtk_widget_set_visible (GTK_WIDGET (self->close_button),
                          state == WORKBENCH_TRAIN_DONE || state == WORKBENCH_TRAIN_STOPPED);
}

/* A cancelled training leaves nothing behind: its checkpoint, and the model file it made (a
 * transformer saved before the decoder was stopped); a file that was there before stays. */
static void
discard (WorkbenchTrainDialog *self)
{
  g_autofree char *checkpoint = g_strconcat (self->output, ".checkpoint", NULL);
  g_unlink (checkpoint);
  if (!self->output_existed)
    g_unlink (self->output);
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  WorkbenchTrainDialog *self = WORKBENCH_TRAIN_DIALOG (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadModel) model = g_task_propagate_pointer (G_TASK (result), &error);
  Run *run = self->run;
  self->run = NULL;
  self->spent += (g_get_monotonic_time () - run->started) / 1e6;
  gboolean stopped = g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED);
  gboolean paused = self->pausing && stopped; /* only the transformer stops for a pause */
  self->pausing = FALSE;
  if (model != NULL)
    {
      gtk_label_set_text (self->phase_label, _("The model is ready"));
      /* Translators: the model file, opened in the workbench after training */
      g_autofree char *text = g_strdup_printf (_("Saved %s and opened it in the workbench."),
                                               self->output);
      gtk_label_set_text (self->log_label, text);
      gtk_progress_bar_set_fraction (self->progress_bar, 1);
      set_state (self, WORKBENCH_TRAIN_DONE);
      workbench_session_open_model (self->session, self->output, run->weights);
    }
  else if (paused)
    {
      gtk_label_set_text (self->phase_label, _("Paused at a checkpoint"));
      set_state (self, WORKBENCH_TRAIN_PAUSED);
    }
  else
    {
      if (stopped)
        discard (self);
      gtk_label_set_text (self->phase_label, stopped ? _("Training cancelled")
                                                     : _("Training failed"));
      gtk_label_set_text (self->log_label, error->message);
      set_state (self, WORKBENCH_TRAIN_STOPPED);
    }
  if (self->closing)
    gtk_window_destroy (GTK_WINDOW (self));
}

/* Starts the job on a worker with what is left of the budget (a resumed one from its
 * checkpoint). */
static void
start_run (WorkbenchTrainDialog *self, gboolean resume)
{
  Run *run = g_new0 (Run, 1);
  run->dialog = self;
  g_ptr_array_add (self->class_names, NULL);
  g_ptr_array_add (self->class_folders, NULL);
  run->names = g_strdupv ((char **) self->class_names->pdata);
  run->folders = g_strdupv ((char **) self->class_folders->pdata);
  g_ptr_array_set_size (self->class_names, self->class_names->len - 1);
  g_ptr_array_set_size (self->class_folders, self->class_folders->len - 1);
  guint w = adw_combo_row_get_selected (self->weights_row);
  run->weights = g_strdup (g_ptr_array_index (self->weights_paths, w));
  run->out = g_strdup (self->output);
  run->cache_dir = app_feature_cache_dir ();
  run->separate = adw_combo_row_get_selected (self->mode_row) == 1;
  run->recipe = recipes[MIN (adw_combo_row_get_selected (self->recipe_row), G_N_ELEMENTS (recipes) - 1)];
  run->decoder = gtk_switch_get_active (self->decoder_switch);
  run->resume = resume;
  run->spent = self->spent;
  run->started = g_get_monotonic_time ();
  run->deadline = run->started + (gint64) (MAX (self->budget - self->spent, 1) * G_USEC_PER_SEC);
  self->run = run;
  set_state (self, WORKBENCH_TRAIN_RUNNING);
  gtk_label_set_text (self->phase_label, phase_title (UAD_TRAIN_PHASE_FEATURES));
  g_autoptr (GTask) task = g_task_new (self, NULL, on_run_done, NULL);
  g_task_set_task_data (task, run, (GDestroyNotify) run_free);
  g_task_run_in_thread (task, run_thread);
}

static void
on_train (WorkbenchTrainDialog *self)
{
  self->budget = gtk_spin_button_get_value (self->budget_spin) * 60;
  self->output_existed = g_file_test (self->output, G_FILE_TEST_EXISTS);
  self->spent = 0;
  workbench_loss_plot_reset (self->loss_plot, self->budget);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->stats_label, "");
  gtk_label_set_text (self->log_label, "");
  start_run (self, FALSE);
}

static void
stop_run (WorkbenchTrainDialog *self, gboolean pause)
{
  self->pausing = pause;
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button), FALSE);
  /* A pause can still be turned into a cancel. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), pause);
  gtk_label_set_text (self->phase_label, pause ? _("Pausing at the next checkpoint…")
                                               : _("Cancelling…"));
  g_atomic_int_set (&self->run->stop, pause ? STOP_PAUSE : STOP_CANCEL);
}

static void
on_pause (WorkbenchTrainDialog *self)
{
  if (self->run != NULL)
    stop_run (self, TRUE);
}

static void
on_resume (WorkbenchTrainDialog *self)
{
  start_run (self, TRUE);
}

static void
on_cancel (WorkbenchTrainDialog *self)
{
  if (self->run != NULL)
    stop_run (self, FALSE);
  else /* paused: nothing runs, the checkpoint goes */
    {
      discard (self);
      gtk_label_set_text (self->phase_label, _("Training cancelled"));
      set_state (self, WORKBENCH_TRAIN_STOPPED);
    }
}

/* Closing while training cancels it; the window goes once the worker has stopped. */
static gboolean
workbench_train_dialog_close_request (GtkWindow *window)
{
  WorkbenchTrainDialog *self = WORKBENCH_TRAIN_DIALOG (window);
  if (self->state == WORKBENCH_TRAIN_PAUSED)
    discard (self);
  if (self->run == NULL)
    return FALSE;
  self->closing = TRUE;
  stop_run (self, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  return TRUE;
}

/* ---- The setup page ----------------------------------------------------------------------- */

static void
update_form (WorkbenchTrainDialog *self)
{
  guint w = adw_combo_row_get_selected (self->weights_row);
  gboolean has_weights = w != GTK_INVALID_LIST_POSITION && w < self->weights_paths->len;
  if (has_weights)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row),
                                 g_ptr_array_index (self->weights_paths, w));
  else
    {
      g_autofree char *dir = app_weights_dir ();
      /* Translators: no weights file was found in the folder named */
      g_autofree char *text = g_strdup_printf (_("None in %s: choose a file"), dir);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->weights_row), text);
    }
  adw_action_row_set_subtitle (self->output_row, self->output);
  gtk_widget_set_sensitive (GTK_WIDGET (self->train_button),
                            has_weights && self->class_names->len > 0);
}

static void
add_weights (WorkbenchTrainDialog *self, const char *path)
{
  for (guint i = 0; i < self->weights_paths->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->weights_paths, i), path) == 0)
      {
        adw_combo_row_set_selected (self->weights_row, i);
        return;
      }
  /* The file's name is the choice; the path under it says where it is. */
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_str_has_suffix (base, ".safetensors")
    ? g_strndup (base, strlen (base) - strlen (".safetensors")) : g_strdup (base);
  g_ptr_array_add (self->weights_paths, g_strdup (path));
  gtk_string_list_append (self->weights_names, name);
  adw_combo_row_set_selected (self->weights_row, self->weights_paths->len - 1);
}

/* g_ptr_array_sort hands pointers to the elements. */
static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The weights files in the user's weights folder. */
static void
find_weights (WorkbenchTrainDialog *self)
{
  g_autofree char *dir = app_weights_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (found, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (found, compare_paths);
  for (guint i = 0; i < found->len; i++)
    add_weights (self, g_ptr_array_index (found, i));
  if (found->len > 0)
    adw_combo_row_set_selected (self->weights_row, 0);
}

static void
remove_class (GtkButton *button, WorkbenchTrainDialog *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), ADW_TYPE_ACTION_ROW);
  guint i = (guint) gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row));
  g_ptr_array_remove_index (self->class_names, i);
  g_ptr_array_remove_index (self->class_folders, i);
  gtk_list_box_remove (self->class_list, row);
  update_form (self);
}

static void
add_class (WorkbenchTrainDialog *self, const char *name, const char *folder)
{
  for (guint i = 0; i < self->class_names->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->class_names, i), name) == 0)
      {
        GtkListBoxRow *old = gtk_list_box_get_row_at_index (self->class_list, (int) i);
        g_ptr_array_remove_index (self->class_names, i);
        g_ptr_array_remove_index (self->class_folders, i);
        gtk_list_box_remove (self->class_list, GTK_WIDGET (old));
        break;
      }
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), folder);
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _("Remove the class"));
  g_signal_connect (remove, "clicked", G_CALLBACK (remove_class), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  gtk_list_box_append (self->class_list, row);
  g_ptr_array_add (self->class_names, g_strdup (name));
  g_ptr_array_add (self->class_folders, g_strdup (folder));
  update_form (self);
}

/* FOLDER/train/good, when FOLDER is an MVTec class folder (else NULL). */
static char *
mvtec_good (const char *folder)
{
  char *good = g_build_filename (folder, "train", "good", NULL);
  if (g_file_test (good, G_FILE_TEST_IS_DIR))
    return good;
  g_free (good);
  return NULL;
}

gboolean
workbench_train_dialog_add_folder (WorkbenchTrainDialog *self, const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return FALSE;
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *good = mvtec_good (path);
  if (good != NULL)
    {
      add_class (self, name, good);
      return TRUE;
    }
  g_auto (GStrv) subfolders = uad_list_folders (path, NULL);
  gboolean root = FALSE;
  for (int i = 0; subfolders && subfolders[i]; i++)
    {
      g_autofree char *sub = g_build_filename (path, subfolders[i], NULL);
      g_autofree char *sub_good = mvtec_good (sub);
      if (sub_good != NULL)
        add_class (self, subfolders[i], sub_good), root = TRUE;
    }
  if (!root)
    add_class (self, name, path);
  return TRUE;
}

static void
on_folders_chosen (GtkNativeDialog *dialog, int response, WorkbenchTrainDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) file = g_list_model_get_item (files, i);
          g_autofree char *path = g_file_get_path (file);
          if (path != NULL)
            workbench_train_dialog_add_folder (self, path);
        }
    }
  g_object_unref (dialog);
}

static void
on_file_chosen (GtkNativeDialog *dialog, int response, WorkbenchTrainDialog *self)
{
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
    ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog)) : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  if (path != NULL && gtk_file_chooser_get_action (GTK_FILE_CHOOSER (dialog))
                        == GTK_FILE_CHOOSER_ACTION_SAVE)
    workbench_train_dialog_set_output (self, path);
  else if (path != NULL)
    add_weights (self, path);
  g_object_unref (dialog);
}

static GtkFileChooserNative *
new_chooser (WorkbenchTrainDialog *self, const char *title, GtkFileChooserAction action,
             const char *accept, GCallback on_response)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                                               accept, _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", on_response, self);
  return chooser;
}

static void
on_add_folders (WorkbenchTrainDialog *self)
{
  GtkFileChooserNative *chooser = new_chooser (self, _("Add Folders of Good Images"),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Add"),
                                               G_CALLBACK (on_folders_chosen));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_choose_weights (WorkbenchTrainDialog *self)
{
  GtkFileChooserNative *chooser = new_chooser (self, _("Choose the Backbone Weights"),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                               G_CALLBACK (on_file_chosen));
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Weights (safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_choose_output (WorkbenchTrainDialog *self)
{
  GtkFileChooserNative *chooser = new_chooser (self, _("Save the Model As"),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"),
                                               G_CALLBACK (on_file_chosen));
  g_autofree char *name = g_path_get_basename (self->output);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
workbench_train_dialog_dispose (GObject *object)
{
  WorkbenchTrainDialog *self = WORKBENCH_TRAIN_DIALOG (object);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_TRAIN_DIALOG);
  G_OBJECT_CLASS (workbench_train_dialog_parent_class)->dispose (object);
}

static void
workbench_train_dialog_finalize (GObject *object)
{
  WorkbenchTrainDialog *self = WORKBENCH_TRAIN_DIALOG (object);
  g_ptr_array_unref (self->weights_paths);
  g_ptr_array_unref (self->class_names);
  g_ptr_array_unref (self->class_folders);
  g_free (self->output);
  G_OBJECT_CLASS (workbench_train_dialog_parent_class)->finalize (object);
}

static void
workbench_train_dialog_class_init (WorkbenchTrainDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_train_dialog_dispose;
  object_class->finalize = workbench_train_dialog_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = workbench_train_dialog_close_request;
  g_type_ensure (WORKBENCH_TYPE_LOSS_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-train-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, train_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, class_list);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, weights_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, mode_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, recipe_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, budget_spin);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, decoder_switch);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, output_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, phase_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, loss_plot);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, stats_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, log_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, pause_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, resume_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchTrainDialog, close_button);
  gtk_widget_class_bind_template_callback (widget_class, on_train);
  gtk_widget_class_bind_template_callback (widget_class, on_add_folders);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_weights);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_output);
  gtk_widget_class_bind_template_callback (widget_class, on_pause);
  gtk_widget_class_bind_template_callback (widget_class, on_resume);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel);
  gtk_widget_class_bind_template_callback (widget_class, update_form);
  gtk_widget_class_bind_template_callback (widget_class, gtk_window_close);
}

static void
workbench_train_dialog_init (WorkbenchTrainDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->weights_paths = g_ptr_array_new_with_free_func (g_free);
  self->class_names = g_ptr_array_new_with_free_func (g_free);
  self->class_folders = g_ptr_array_new_with_free_func (g_free);
  self->weights_names = gtk_string_list_new (NULL);
  adw_combo_row_set_model (self->weights_row, G_LIST_MODEL (self->weights_names));
  g_object_unref (self->weights_names); /* the row keeps it */
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name = g_date_time_format (now, "model-%Y%m%d-%H%M%S.uniad");
  self->output = g_build_filename (g_get_user_data_dir (), "uniad-workbench", "models", name,
                                   NULL);
  find_weights (self);
  set_state (self, WORKBENCH_TRAIN_SETUP);
  update_form (self);
}

WorkbenchTrainDialog *
workbench_train_dialog_new (GtkWindow *parent, WorkbenchSession *session)
{
  WorkbenchTrainDialog *self = g_object_new (WORKBENCH_TYPE_TRAIN_DIALOG,
                                             "transient-for", parent, NULL);
  self->session = g_object_ref (session);
  /* The backbone of the open model, whose weights the session found by their SHA-256. */
  const WorkbenchModelInfo *info = workbench_session_get_model (session);
  if (info != NULL && info->weights_path != NULL)
    add_weights (self, info->weights_path);
  return self;
}

void
workbench_train_dialog_set_output (WorkbenchTrainDialog *self, const char *path)
{
  g_free (self->output);
  self->output = g_strdup (path);
  update_form (self);
}

const char *
workbench_train_dialog_get_output (WorkbenchTrainDialog *self)
{
  return self->output;
}

WorkbenchTrainState
workbench_train_dialog_get_state (WorkbenchTrainDialog *self)
{
  return self->state;
}
