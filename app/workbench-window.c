/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-window-private.h"

#include "uad-image.h"
#include "workbench-gallery-cell.h"
#include "workbench-study-window.h"

#include <glib/gi18n.h>
#include <math.h>

G_DEFINE_FINAL_TYPE (WorkbenchWindow, workbench_window, ADW_TYPE_APPLICATION_WINDOW)

void
workbench_window_toast (WorkbenchWindow *self, const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

static void
show_error (WorkbenchWindow *self, const char *title, const char *message)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), title, message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
update_progress (WorkbenchWindow *self)
{
  double fraction;
  g_autofree char *text = NULL;
  g_object_get (self->session, "progress", &fraction, "progress-text", &text, NULL);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_label_set_text (self->progress_label, text ? text : "");
}

static void
update_title (WorkbenchWindow *self)
{
  g_autofree char *model = NULL;
  g_object_get (self->session, "model-name", &model, NULL);
  adw_view_switcher_title_set_subtitle (self->switcher_title, model ? model : "");
}

/* ---- The viewer ---- */

static void
report_to_toast (const char *message, gpointer data)
{
  workbench_window_toast (data, message);
}

static void
on_relabelled (WorkbenchWindow *self)
{
  if (self->feed)
    workbench_viewer_feed_update_thresholds (self->feed);
}

static void
on_selection_changed (WorkbenchWindow *self)
{
  WorkbenchItem *item = workbench_gallery_get_selected_item (self->gallery);
  if (item == self->selected)
    return;
  if (self->selected)
    g_signal_handlers_disconnect_by_data (self->selected, self);
  g_set_object (&self->selected, item);
  workbench_details_set_item (self->details, item);
  workbench_viewer_feed_show (self->feed, item);
  if (item)
    {
      g_signal_connect_swapped (item, "notify::operator-verdict",
                                G_CALLBACK (workbench_window_update_verdict_action), self);
      g_signal_connect_swapped (item, "notify::score",
                                G_CALLBACK (workbench_window_update_verdict_action), self);
    }
  workbench_window_update_verdict_action (self);
}

static void
on_item_activated (WorkbenchWindow *self, WorkbenchItem *item)
{
  /* The keyboard goes to the viewer (its zoom keys), to its first control. */
  gtk_widget_child_focus (GTK_WIDGET (self->viewer), GTK_DIR_TAB_FORWARD);
}

/* ---- Opening ---- */

static void
on_model_changed (WorkbenchWindow *self)
{
  const WorkbenchModelInfo *m = workbench_session_get_model (self->session);
  if (m)
    g_settings_set_string (self->settings, "last-model", m->path);
  workbench_viewer_set_reconstruction_shown (self->viewer, m == NULL || m->method != UAD_METHOD_PADIM);
  update_title (self);
}

/* The gallery and the viewer follow the line's latest result, unless the operator has chosen
 * another image. */
static void
on_line_results (WorkbenchWindow *self, GPtrArray *items)
{
  WorkbenchItem *selected = workbench_gallery_get_selected_item (self->gallery);
  if (items->len == 0 || (self->followed != NULL && selected != NULL && selected != self->followed))
    return;
  if (workbench_gallery_select_item (self->gallery, items->pdata[items->len - 1]))
    self->followed = items->pdata[items->len - 1];
}

gboolean
workbench_window_watch_folder (WorkbenchWindow *self, const char *folder, GError **error)
{
  if (!workbench_line_mode_start (self->line_mode, folder, error))
    return FALSE;
  self->followed = NULL;
  /* The newest image first: the one just inspected is at the top of the gallery. */
  g_settings_set_string (self->settings, "sort-key", "time");
  adw_view_stack_set_visible_child_name (self->view_stack, "inspect");
  return TRUE;
}

GtkWindow *
workbench_window_open_study (WorkbenchWindow *self, const char *folder)
{
  GtkWindow *window = GTK_WINDOW (workbench_study_window_new (GTK_WINDOW (self), folder));
  gtk_window_present (window);
  return window;
}

void
workbench_window_open_files (WorkbenchWindow *self, GFile **files, int n_files)
{
  g_autoptr (GStrvBuilder) folders = g_strv_builder_new ();
  gboolean any_folder = FALSE;
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path == NULL)
        continue;
      if (g_str_has_suffix (path, ".uniad"))
        workbench_session_open_model (self->session, path, NULL);
      else
        {
          g_strv_builder_add (folders, path);
          any_folder = TRUE;
        }
    }
  g_auto (GStrv) list = g_strv_builder_end (folders);
  if (any_folder)
    workbench_window_open_folders (self, (const char *const *) list);
}

void
workbench_window_restore (WorkbenchWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "last-model");
  if (*model && g_file_test (model, G_FILE_TEST_IS_REGULAR))
    workbench_session_open_model (self->session, model, NULL);
  g_auto (GStrv) last = g_settings_get_strv (self->settings, "last-folders");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (char **f = last; *f; f++)
    if (g_file_test (*f, G_FILE_TEST_IS_DIR))
      g_strv_builder_add (b, *f);
  g_auto (GStrv) folders = g_strv_builder_end (b);
  if (folders[0])
    workbench_session_open_folders (self->session, (const char *const *) folders);
}

/* ---- What the session reports ---- */

static void
on_run_finished (WorkbenchWindow *self, gboolean completed)
{
  g_autofree char *text = NULL;
  int fail = workbench_session_get_count (self->session, UAD_VERDICT_FAIL);
  int review = workbench_session_get_count (self->session, UAD_VERDICT_REVIEW);
  if (completed)
    /* Translators: after an inspection: "3 fail, 5 to review" */
    text = g_strdup_printf (_("Inspection finished: %d fail, %d to review"), fail, review);
  else
    text = g_strdup (_("Inspection stopped"));
  workbench_window_toast (self, text);
  workbench_history_page_refresh (self->history_page);
}

static void
on_exported (WorkbenchWindow *self, const char *path)
{
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *text = g_strdup_printf (_("Saved %s"), name);
  workbench_window_toast (self, text);
}

static void
on_session_error (WorkbenchWindow *self, const char *title, const char *message)
{
  show_error (self, title, message);
}

/* ---- The history file ---- */

void
workbench_window_update_history_banner (WorkbenchWindow *self)
{
  const char *problem = workbench_session_get_history_problem (self->session);
  gboolean damaged;
  g_object_get (self->session, "history-damaged", &damaged, NULL);
  /* A new problem (none, then one) is explained again even if an earlier one was dismissed. */
  if (problem == NULL)
    self->history_dismissed = FALSE;
  /* Dismissed, the notice shrinks to one line but stays: nothing is being kept. */
  gtk_revealer_set_reveal_child (self->history_banner, problem != NULL);
  workbench_window_update_actions (self);
  if (problem == NULL)
    return;
  const char *title;
  if (self->history_dismissed)
    title = _("Working without a history: results are kept only until the workbench closes");
  else if (damaged)
    title = _("The inspection history cannot be used: results are not being recorded");
  else
    title = _("The inspection history is not available now: results are not being recorded");
  gtk_label_set_text (self->history_banner_title, title);
  gtk_label_set_text (self->history_banner_reason, problem);
  gtk_widget_set_visible (GTK_WIDGET (self->history_banner_reason), !self->history_dismissed);
  gtk_widget_set_visible (GTK_WIDGET (self->history_dismiss_button), !self->history_dismissed);
  /* A damaged file is set aside for a new history; one that is only locked or read-only is
   * not damaged, and may work once the other program is done or the permissions are fixed. */
  gtk_widget_set_visible (GTK_WIDGET (self->history_new_button), damaged);
  gtk_widget_set_visible (GTK_WIDGET (self->history_retry_button), !damaged);
}

static void
on_history_reopened (WorkbenchWindow *self, const char *set_aside)
{
  workbench_history_page_refresh (self->history_page);
  if (set_aside == NULL)
    {
      workbench_window_toast (self, _("The inspection history is in use again"));
      return;
    }
  g_autofree char *body = g_strdup_printf (_("Results are recorded in a new, empty history from "
                                             "now on; inspect again to record the images shown "
                                             "before. The old file was kept, not deleted, as "
                                             "%s"), set_aside);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("A New History Was Started"),
                                              body);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Pages and panes ---- */

static void
on_page_changed (WorkbenchWindow *self)
{
  const char *page = adw_view_stack_get_visible_child_name (self->view_stack);
  if (g_strcmp0 (page, "history") == 0)
    workbench_history_page_refresh (self->history_page);
}

static void
on_open_run (WorkbenchWindow *self, gint64 run_id)
{
  workbench_session_open_run (self->session, run_id);
  adw_view_stack_set_visible_child_name (self->view_stack, "inspect");
}

/* The first images of a folder: the keyboard goes to the gallery. */
static void
on_items_changed (WorkbenchWindow *self, guint position, guint removed, guint added)
{
  if (added > 0)
    workbench_gallery_focus_selected (self->gallery);
}

/* ---- Object ---- */

static gboolean
workbench_window_close_request (GtkWindow *window)
{
  WorkbenchWindow *self = WORKBENCH_WINDOW (window);
  int width, height;
  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  /* A note being typed is stored too. */
  workbench_details_set_item (self->details, NULL);
  workbench_session_shutdown (self->session);
  return GTK_WINDOW_CLASS (workbench_window_parent_class)->close_request (window);
}

static void
workbench_window_dispose (GObject *object)
{
  WorkbenchWindow *self = WORKBENCH_WINDOW (object);
  g_clear_pointer (&self->feed, workbench_viewer_feed_free);
  if (self->selected)
    g_signal_handlers_disconnect_by_data (self->selected, self);
  g_clear_object (&self->selected);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_WINDOW);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (workbench_window_parent_class)->dispose (object);
}

static void
workbench_window_class_init (WorkbenchWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);
  object_class->dispose = workbench_window_dispose;
  window_class->close_request = workbench_window_close_request;

  g_type_ensure (WORKBENCH_TYPE_SIDEBAR);
  g_type_ensure (WORKBENCH_TYPE_GALLERY);
  g_type_ensure (WORKBENCH_TYPE_DETAILS);
  g_type_ensure (WORKBENCH_TYPE_HISTORY_PAGE);
  g_type_ensure (WORKBENCH_TYPE_LINE_MODE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, inspect_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, inspect_page);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, sidebar_revealer);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, paned);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, gallery);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, viewer_bin);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, details);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_page);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_banner);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_banner_title);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_banner_reason);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_new_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_retry_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, history_dismiss_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchWindow, line_mode);
}

static void
workbench_window_init (WorkbenchWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  self->session = workbench_session_new (NULL);
  g_settings_bind (self->settings, "operator", self->session, "operator", G_SETTINGS_BIND_GET);

  self->viewer = WORKBENCH_VIEWER (workbench_viewer_new ());
  adw_bin_set_child (self->viewer_bin, GTK_WIDGET (self->viewer));
  self->feed = workbench_viewer_feed_new (self->viewer, self->session, report_to_toast, self);
  g_settings_bind (self->settings, "opacity", self->viewer, "heatmap-opacity",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "colormap", self->viewer, "colormap", G_SETTINGS_BIND_DEFAULT);

  workbench_window_install_actions (self);

  workbench_gallery_set_session (self->gallery, self->session);
  workbench_line_mode_set_session (self->line_mode, self->session);
  g_signal_connect_object (self->session, "line-results", G_CALLBACK (on_line_results), self,
                           G_CONNECT_SWAPPED);
  g_settings_bind (self->settings, "sort-key", self->gallery, "sort-key", G_SETTINGS_BIND_DEFAULT);
  workbench_sidebar_set_session (self->sidebar, self->session);
  workbench_details_set_session (self->details, self->session);
  workbench_history_page_set_session (self->history_page, self->session);

  g_signal_connect_swapped (self->gallery, "notify::selected-item",
                            G_CALLBACK (on_selection_changed), self);
  g_signal_connect_swapped (self->gallery, "item-activated", G_CALLBACK (on_item_activated), self);
  g_signal_connect_swapped (self->history_page, "open-run", G_CALLBACK (on_open_run), self);
  g_signal_connect_swapped (self->view_stack, "notify::visible-child",
                            G_CALLBACK (on_page_changed), self);

  const char *state[] = { "notify::has-model", "notify::loading", "notify::inspecting",
                          "notify::exporting", "notify::n-items", "notify::run-id" };
  for (guint i = 0; i < G_N_ELEMENTS (state); i++)
    g_signal_connect_object (self->session, state[i], G_CALLBACK (workbench_window_update_actions), self,
                             G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::progress-text", G_CALLBACK (update_progress),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::model-name", G_CALLBACK (on_model_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "relabelled", G_CALLBACK (on_relabelled), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "error", G_CALLBACK (on_session_error), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "weights-needed", G_CALLBACK (workbench_window_ask_for_weights), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "exported", G_CALLBACK (on_exported), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "run-finished", G_CALLBACK (on_run_finished), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::history-problem",
                           G_CALLBACK (workbench_window_update_history_banner), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "history-reopened", G_CALLBACK (on_history_reopened),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (workbench_session_get_items (self->session), "items-changed",
                           G_CALLBACK (on_items_changed), self, G_CONNECT_SWAPPED);

  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  workbench_window_update_actions (self);
  workbench_window_update_verdict_action (self);
  update_title (self);
}

WorkbenchWindow *
workbench_window_new (GtkApplication *application)
{
  return g_object_new (WORKBENCH_TYPE_WINDOW, "application", application, NULL);
}

WorkbenchSession *
workbench_window_get_session (WorkbenchWindow *self)
{
  return self->session;
}
