/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-window-actions.c: the window's actions (see workbench-window.h), all GActionEntry,
 * the file choosers and dialogs they open, when they are enabled, and the triage keys. */
#include "workbench-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "app-folders.h"
#include "workbench-study-window.h"
#include "workbench-threshold-studio.h"
#include "workbench-train-dialog.h"

static void
enable (WorkbenchWindow *self, const char *name, gboolean enabled)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), name);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), enabled);
}

void
workbench_window_update_actions (WorkbenchWindow *self)
{
  gboolean has_model, loading, inspecting, exporting;
  guint n_items;
  gint64 run_id;
  g_object_get (self->session, "has-model", &has_model, "loading", &loading, "inspecting",
                &inspecting, "exporting", &exporting, "n-items", &n_items, "run-id", &run_id,
                NULL);
  enable (self, "open-model", !loading && !inspecting);
  enable (self, "open-folder", !loading && !inspecting);
  enable (self, "inspect", has_model && n_items > 0 && !loading && !inspecting);
  enable (self, "threshold-studio", has_model && !loading);
  enable (self, "watch-folder", has_model && !loading && !inspecting);
  /* A line stops with its own button, not with a stray Escape. */
  gboolean line = workbench_session_get_line (self->session);
  enable (self, "cancel", inspecting && !line);
  enable (self, "export", run_id > 0 && !inspecting && !exporting);
  enable (self, "export-to", run_id > 0 && !inspecting && !exporting);
  gboolean no_history = workbench_session_get_history_problem (self->session) != NULL;
  enable (self, "history-new", no_history && !loading && !inspecting);
  enable (self, "history-retry", no_history && !loading && !inspecting);
  enable (self, "history-dismiss", no_history);
  gtk_widget_set_visible (GTK_WIDGET (self->inspect_button), !inspecting);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), inspecting && !line);
  gtk_revealer_set_reveal_child (self->progress_revealer, inspecting);
}

void
workbench_window_update_verdict_action (WorkbenchWindow *self)
{
  WorkbenchItem *item = workbench_gallery_get_selected_item (self->gallery);
  gboolean inspected = item && workbench_item_get_inspection_id (item) > 0;
  UadVerdict v = item ? workbench_item_get_operator_verdict (item) : UAD_VERDICT_NONE;
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "operator-verdict");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), inspected);
  const char *nick = uad_verdict_to_string (v);
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (nick ? nick : ""));
}

static void
on_model_chosen (GtkNativeDialog *dialog, int response, WorkbenchWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      workbench_session_open_model (self->session, path, NULL);
    }
  g_object_unref (dialog);
}

/* A chooser starting in the folder of `near` (a file or folder path; may be empty). */
static GtkFileChooserNative *
new_chooser (WorkbenchWindow *self, const char *title, GtkFileChooserAction action,
             const char *accept, const char *near)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action,
                                                               accept, _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (near && *near)
    {
      /* The file's or folder's parent, so that it shows among its siblings. */
      g_autofree char *dir = g_path_get_dirname (near);
      g_autoptr (GFile) folder = g_file_new_for_path (dir);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  return chooser;
}

/* Offers one kind of file (pattern, e.g. "*.uniad") under a name for the user; returns the
 * filter, which the chooser keeps. */
static GtkFileFilter *
add_file_filter (GtkFileChooserNative *chooser, const char *name, const char *pattern)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  return filter;
}

static void
open_model_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  g_autofree char *last = g_settings_get_string (self->settings, "last-model");
  GtkFileChooserNative *chooser = new_chooser (self, _("Open a Model"),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), last);
  add_file_filter (chooser, _("UniAD models"), "*.uniad");
  g_signal_connect (chooser, "response", G_CALLBACK (on_model_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
workbench_window_open_folders (WorkbenchWindow *self, const char *const *folders)
{
  workbench_session_open_folders (self->session, folders);
  g_settings_set_strv (self->settings, "last-folders", folders);
}

static void
on_folders_chosen (GtkNativeDialog *dialog, int response, WorkbenchWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      guint n = g_list_model_get_n_items (files);
      g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (GFile) file = g_list_model_get_item (files, i);
          g_autofree char *path = g_file_get_path (file);
          if (path)
            g_strv_builder_add (b, path);
        }
      g_auto (GStrv) folders = g_strv_builder_end (b);
      if (folders[0])
        workbench_window_open_folders (self, (const char *const *) folders);
    }
  g_object_unref (dialog);
}

static void
open_folder_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  g_auto (GStrv) last = g_settings_get_strv (self->settings, "last-folders");
  GtkFileChooserNative *chooser = new_chooser (self, _("Open Image Folders"),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"),
                                               last[0]);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_folders_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_weights_chosen (GtkNativeDialog *dialog, int response, WorkbenchWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *weights = g_file_get_path (file);
      const char *model = g_object_get_data (G_OBJECT (dialog), "model");
      workbench_session_open_model (self->session, model, weights);
    }
  g_object_unref (dialog);
}

static void
on_weights_response (AdwMessageDialog *dialog, const char *response, WorkbenchWindow *self)
{
  if (strcmp (response, "choose") != 0)
    return;
  GtkFileChooserNative *chooser = new_chooser (self, _("Choose the Backbone Weights"),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL);
  add_file_filter (chooser, _("Weights (safetensors)"), "*.safetensors");
  g_object_set_data_full (G_OBJECT (chooser), "model",
                          g_strdup (g_object_get_data (G_OBJECT (dialog), "model")), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (on_weights_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
workbench_window_ask_for_weights (WorkbenchWindow *self, const char *model)
{
  g_autofree char *dir = app_weights_dir ();
  g_autofree char *name = g_path_get_basename (model);
  g_autofree char *body = g_strdup_printf (_("The backbone weights %s was trained with are not "
                                             "in %s. Choose the weights file; the model checks "
                                             "that it is the right one."), name, dir);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Backbone Weights Not Found"),
                                              body);
  AdwMessageDialog *d = ADW_MESSAGE_DIALOG (dialog);
  adw_message_dialog_add_responses (d, "cancel", _("_Cancel"), "choose", _("C_hoose Weights…"),
                                    NULL);
  adw_message_dialog_set_response_appearance (d, "choose", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (d, "choose");
  g_object_set_data_full (G_OBJECT (dialog), "model", g_strdup (model), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (on_weights_response), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
inspect_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  workbench_session_inspect (self->session);
}

static void
cancel_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  workbench_session_cancel (self->session);
}

static void
operator_verdict_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  WorkbenchItem *item = workbench_gallery_get_selected_item (self->gallery);
  UadVerdict verdict;
  if (item == NULL || workbench_item_get_inspection_id (item) <= 0
      || !uad_verdict_from_string (g_variant_get_string (param, NULL), &verdict, NULL))
    return;
  workbench_session_set_operator_verdict (self->session, item, verdict,
                                          workbench_item_get_note (item));
}

static void
next_unreviewed_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  if (!workbench_gallery_select_next_unreviewed (self->gallery))
    workbench_window_toast (self, _("Every inspected image shown has your verdict"));
}

static void
export_to_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  workbench_session_export (self->session, g_variant_get_string (param, NULL));
}

static void
on_export_chosen (GtkNativeDialog *dialog, int response, WorkbenchWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
      const char *ext = g_object_get_data (G_OBJECT (filter), "extension");
      /* The chosen format, when the name does not say it. */
      if (!g_str_has_suffix (path, ".pdf") && !g_str_has_suffix (path, ".csv"))
        {
          char *named = g_strconcat (path, ext, NULL);
          g_free (path);
          path = named;
        }
      g_action_group_activate_action (G_ACTION_GROUP (self), "export-to",
                                      g_variant_new_string (path));
    }
  g_object_unref (dialog);
}

static void
export_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  GtkFileChooserNative *chooser = new_chooser (self, _("Export the Run"),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  static const struct { const char *name, *pattern, *extension; } formats[] = {
    { N_("PDF report"), "*.pdf", ".pdf" },
    { N_("CSV table"), "*.csv", ".csv" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      GtkFileFilter *filter = add_file_filter (chooser, _(formats[i].name), formats[i].pattern);
      g_object_set_data (G_OBJECT (filter), "extension", (gpointer) formats[i].extension);
    }
  g_autofree char *name = g_strdup_printf ("inspection-run-%" G_GINT64_FORMAT ".pdf",
                                           workbench_session_get_run_id (self->session));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
page_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  adw_view_stack_set_visible_child_name (self->view_stack, g_variant_get_string (param, NULL));
}

static void
show_sidebar_change_state (GSimpleAction *action, GVariant *value, gpointer data)
{
  WorkbenchWindow *self = data;
  g_simple_action_set_state (action, value);
  gtk_revealer_set_reveal_child (self->sidebar_revealer, g_variant_get_boolean (value));
}

static void
history_new_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  workbench_session_reopen_history (self->session, TRUE);
}

static void
history_retry_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  workbench_session_reopen_history (self->session, FALSE);
}

static void
history_dismiss_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  self->history_dismissed = TRUE;
  workbench_window_update_history_banner (self);
}

static void
threshold_studio_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  gtk_window_present (GTK_WINDOW (workbench_threshold_studio_new (GTK_WINDOW (self),
                                                                  self->session)));
}

static void
new_model_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  WorkbenchWindow *self = data;
  gtk_window_present (GTK_WINDOW (workbench_train_dialog_new (GTK_WINDOW (self), self->session)));
}

/* One folder, chosen by the user, for `then`. */
typedef void (*FolderChosen) (WorkbenchWindow *self, const char *path);

static void
on_folder_chosen (GtkNativeDialog *dialog, int response, WorkbenchWindow *self)
{
  FolderChosen then = g_object_get_data (G_OBJECT (dialog), "then");
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT
                           ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog)) : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  if (path)
    then (self, path);
  g_object_unref (dialog);
}

static void
choose_folder (WorkbenchWindow *self, const char *title, const char *accept, FolderChosen then)
{
  GtkFileChooserNative *chooser = new_chooser (self, title, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               accept, NULL);
  g_object_set_data (G_OBJECT (chooser), "then", then);
  g_signal_connect (chooser, "response", G_CALLBACK (on_folder_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
watch_chosen_folder (WorkbenchWindow *self, const char *path)
{
  g_autoptr (GError) error = NULL;
  if (!workbench_window_watch_folder (self, path, &error))
    workbench_window_toast (self, error->message);
}

static void
watch_folder_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  choose_folder (data, _("Watch a Folder for New Images"), _("_Watch"), watch_chosen_folder);
}

static void
open_chosen_study (WorkbenchWindow *self, const char *path)
{
  workbench_window_open_study (self, path);
}

static void
open_study_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  choose_folder (data, _("Open the Folder of a Study"), _("_Open"), open_chosen_study);
}

static const GActionEntry actions[] = {
  { .name = "open-model", .activate = open_model_action },
  { .name = "open-folder", .activate = open_folder_action },
  { .name = "inspect", .activate = inspect_action },
  { .name = "cancel", .activate = cancel_action },
  { .name = "export", .activate = export_action },
  { .name = "threshold-studio", .activate = threshold_studio_action },
  { .name = "new-model", .activate = new_model_action },
  { .name = "watch-folder", .activate = watch_folder_action },
  { .name = "open-study", .activate = open_study_action },
  { .name = "export-to", .activate = export_to_action, .parameter_type = "s" },
  { .name = "operator-verdict", .activate = operator_verdict_action, .parameter_type = "s", .state = "''" },
  { .name = "next-unreviewed", .activate = next_unreviewed_action },
  { .name = "page", .activate = page_action, .parameter_type = "s" },
  { .name = "history-new", .activate = history_new_action },
  { .name = "history-retry", .activate = history_retry_action },
  { .name = "history-dismiss", .activate = history_dismiss_action },
  /* Stateful without an activate handler: activating toggles it. */
  { .name = "show-sidebar", .state = "true", .change_state = show_sidebar_change_state },
};

/* P, R, F, N and Escape act on the Inspect page, unless a text entry takes the key first. */
static void
add_triage_keys (WorkbenchWindow *self)
{
  static const struct { guint key; const char *action, *target; } keys[] = {
    { GDK_KEY_p, "win.operator-verdict", "pass" },
    { GDK_KEY_r, "win.operator-verdict", "review" },
    { GDK_KEY_f, "win.operator-verdict", "fail" },
    { GDK_KEY_n, "win.next-unreviewed", NULL },
    { GDK_KEY_Escape, "win.cancel", NULL },
  };
  GtkEventController *controller = gtk_shortcut_controller_new ();
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      GtkShortcut *shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (keys[i].key, 0),
                                                gtk_named_action_new (keys[i].action));
      if (keys[i].target)
        gtk_shortcut_set_arguments (shortcut, g_variant_new_string (keys[i].target));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_widget_add_controller (GTK_WIDGET (self->inspect_page), controller);
}

void
workbench_window_install_actions (WorkbenchWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), actions, G_N_ELEMENTS (actions), self);
  add_triage_keys (self);
}
