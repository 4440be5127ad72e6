/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-line-mode.h"

#include "workbench-folder-watch.h"
#include "workbench-line-plot.h"

#include <glib/gi18n.h>
#include <string.h>

struct _WorkbenchLineMode
{
  GtkBox parent_instance;

  GtkRevealer *alarm_revealer;
  GtkLabel *alarm_title;
  GtkLabel *alarm_detail;
  GtkLabel *status_label;
  GtkLabel *queue_label;
  GtkLabel *note_label;
  GtkLabel *pass_count;
  GtkLabel *review_count;
  GtkLabel *fail_count;
  GtkButton *stop_button;
  GtkCheckButton *sound_check;
  WorkbenchLinePlot *plot;

  GSettings *settings;
  WorkbenchSession *session;
  WorkbenchFolderWatch *watch;  /* NULL when not watching */
  guint counts[UAD_N_VERDICTS]; /* the shift's; [NONE]: could not be inspected */
  guint n_done;                 /* images of the line with a result (for what waits) */
  guint alarms;                 /* failed parts not yet acknowledged */
  guint bell_source;
};

G_DEFINE_FINAL_TYPE (WorkbenchLineMode, workbench_line_mode, GTK_TYPE_BOX)

static void
update_counts (WorkbenchLineMode *self)
{
  GtkLabel *labels[UAD_N_VERDICTS] = { NULL, self->pass_count, self->review_count,
                                       self->fail_count };
  for (int v = UAD_VERDICT_PASS; v < UAD_N_VERDICTS; v++)
    {
      g_autofree char *text = g_strdup_printf ("%u", self->counts[v]);
      gtk_label_set_text (labels[v], text);
    }
}

static void
update_queue (WorkbenchLineMode *self)
{
  guint n_items = 0;
  if (self->session)
    g_object_get (self->session, "n-items", &n_items, NULL);
  guint writing = self->watch ? workbench_folder_watch_get_n_waiting (self->watch) : 0;
  /* A line that stopped inspects nothing more (workbench_session_cancel). */
  guint queued = self->watch && n_items > self->n_done ? n_items - self->n_done : 0;
  /* Translators: line mode: files still being written, images waiting for the model, images
   * that could not be inspected in this shift */
  g_autofree char *text = g_strdup_printf (_("%u being written · %u waiting for the model · %u could not be inspected"),
                                           writing, queued, self->counts[UAD_VERDICT_NONE]);
  gtk_label_set_text (self->queue_label, text);
}

static void
note (WorkbenchLineMode *self, const char *text)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *line = g_strdup_printf ("%s  %s", time, text);
  gtk_label_set_text (self->note_label, line);
}

/* ---- The alarm ---- */

static gboolean
ring (gpointer data)
{
  WorkbenchLineMode *self = data;
  if (g_settings_get_boolean (self->settings, "line-alarm-sound"))
    gtk_widget_error_bell (GTK_WIDGET (self));
  return G_SOURCE_CONTINUE;
}

static void
raise_alarm (WorkbenchLineMode *self, WorkbenchItem *item, const UadVerdictThresholds *th)
{
  self->alarms++;
  /* Translators: line mode's alarm; %s is the image's name */
  g_autofree char *title = g_strdup_printf (_("Failed part: %s"), workbench_item_get_name (item));
  /* Translators: line mode's alarm: score, fail threshold, failed parts not yet acknowledged */
  g_autofree char *detail = g_strdup_printf (ngettext ("Score %.4g above the fail threshold %.4g · %u failed part not yet acknowledged",
                                                       "Score %.4g above the fail threshold %.4g · %u failed parts not yet acknowledged",
                                                       self->alarms),
                                             workbench_item_get_score (item), th->fail_above,
                                             self->alarms);
  gtk_label_set_text (self->alarm_title, title);
  gtk_label_set_text (self->alarm_detail, detail);
  gtk_revealer_set_reveal_child (self->alarm_revealer, TRUE);
  /* Once when the alarm goes up, then at intervals: a burst of fails is one alarm, not a
   * hundred bells. */
  if (self->bell_source == 0)
    {
      ring (self);
      self->bell_source = g_timeout_add_seconds (WORKBENCH_LINE_ALARM_REPEAT_S, ring, self);
    }
}

void
workbench_line_mode_acknowledge (WorkbenchLineMode *self)
{
  self->alarms = 0;
  g_clear_handle_id (&self->bell_source, g_source_remove);
  gtk_revealer_set_reveal_child (self->alarm_revealer, FALSE);
}

guint
workbench_line_mode_get_alarms (WorkbenchLineMode *self)
{
  return self->alarms;
}

/* ---- Counters ---- */

void
workbench_line_mode_new_shift (WorkbenchLineMode *self)
{
  memset (self->counts, 0, sizeof self->counts);
  workbench_line_plot_clear (self->plot);
  update_counts (self);
  update_queue (self);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M");
  /* Translators: %s is the time the shift began */
  g_autofree char *text = g_strdup_printf (_("New shift since %s"), time);
  note (self, text);
}

guint
workbench_line_mode_get_count (WorkbenchLineMode *self, UadVerdict verdict)
{
  g_return_val_if_fail (verdict < UAD_N_VERDICTS, 0);
  return self->counts[verdict];
}

static void
on_line_results (WorkbenchSession *session, GPtrArray *items, WorkbenchLineMode *self)
{
  for (guint i = 0; i < items->len; i++)
    {
      WorkbenchItem *item = items->pdata[i];
      self->n_done++;
      const char *error = workbench_item_get_error (item);
      UadVerdictThresholds th;
      if (error || !workbench_session_get_item_thresholds (session, item, &th))
        {
          self->counts[UAD_VERDICT_NONE]++;
          g_autofree char *text = NULL;
          if (!g_file_test (workbench_item_get_path (item), G_FILE_TEST_EXISTS))
            /* Translators: line mode: %s is an image's name */
            text = g_strdup_printf (_("%s was removed before it could be inspected: skipped"),
                                    workbench_item_get_name (item));
          else
            /* Translators: line mode: an image's name and why it could not be inspected */
            text = g_strdup_printf (_("%s could not be inspected: %s"),
                                    workbench_item_get_name (item), error ? error : "");
          note (self, text);
          continue;
        }
      UadVerdict v = workbench_item_get_model_verdict (item);
      self->counts[v]++;
      workbench_line_plot_add (self->plot, workbench_item_get_score (item), &th, v);
      if (v == UAD_VERDICT_FAIL)
        raise_alarm (self, item, &th);
    }
  update_counts (self);
  update_queue (self);
}

/* ---- The watch ---- */

static void
on_files_ready (WorkbenchFolderWatch *watch, char **paths, WorkbenchLineMode *self)
{
  workbench_session_add_line_images (self->session, (const char *const *) paths);
  update_queue (self);
}

static void
on_file_vanished (WorkbenchFolderWatch *watch, const char *path, WorkbenchLineMode *self)
{
  g_autofree char *name = g_path_get_basename (path);
  /* Translators: line mode: %s is a file name */
  g_autofree char *text = g_strdup_printf (_("%s was removed before it was completely written: skipped"),
                                           name);
  note (self, text);
  update_queue (self);
}

static void
show_stopped (WorkbenchLineMode *self)
{
  if (self->watch)
    {
      g_signal_handlers_disconnect_by_data (self->watch, self);
      workbench_folder_watch_stop (self->watch);
      g_clear_object (&self->watch);
    }
  gtk_label_set_text (self->status_label, _("Line mode stopped: the folder is no longer watched"));
  gtk_button_set_label (self->stop_button, _("_Close"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->stop_button), _("Hide the line panel"));
  update_queue (self);
}

static void
on_inspecting (WorkbenchSession *session, GParamSpec *pspec, WorkbenchLineMode *self)
{
  if (self->watch && !workbench_session_get_line (session))
    show_stopped (self);
}

static void
on_stop_clicked (WorkbenchLineMode *self)
{
  if (self->watch)
    workbench_session_cancel (self->session);
  else
    gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

gboolean
workbench_line_mode_start (WorkbenchLineMode *self, const char *folder, GError **error)
{
  g_return_val_if_fail (self->watch == NULL, FALSE);
  WorkbenchFolderWatch *watch = workbench_folder_watch_new (folder, WORKBENCH_LINE_POLL_MS,
                                                            WORKBENCH_LINE_GIVE_UP_MS, error);
  if (watch == NULL)
    return FALSE;
  workbench_session_begin_line (self->session, folder);
  if (!workbench_session_get_line (self->session))
    {
      g_object_unref (watch);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                           _("Line mode needs an open model and no inspection under way"));
      return FALSE;
    }
  self->watch = watch;
  self->n_done = 0;
  g_signal_connect (watch, "files-ready", G_CALLBACK (on_files_ready), self);
  g_signal_connect (watch, "file-vanished", G_CALLBACK (on_file_vanished), self);
  /* Translators: line mode: %s is the watched folder */
  g_autofree char *status = g_strdup_printf (_("Watching %s"), folder);
  gtk_label_set_text (self->status_label, status);
  note (self, _("Images already in the folder are ignored: only new images are inspected, "
                "newest first in the gallery"));
  gtk_button_set_label (self->stop_button, _("_Stop Watching"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->stop_button),
                               _("Stop watching the folder; the run keeps what was inspected"));
  update_counts (self);
  update_queue (self);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
  return TRUE;
}

gboolean
workbench_line_mode_get_watching (WorkbenchLineMode *self)
{
  return self->watch != NULL;
}

void
workbench_line_mode_set_session (WorkbenchLineMode *self, WorkbenchSession *session)
{
  g_return_if_fail (self->session == NULL);
  self->session = g_object_ref (session);
  g_signal_connect (session, "line-results", G_CALLBACK (on_line_results), self);
  g_signal_connect (session, "notify::inspecting", G_CALLBACK (on_inspecting), self);
  g_signal_connect_swapped (session, "notify::n-items", G_CALLBACK (update_queue), self);
}

static void
workbench_line_mode_dispose (GObject *object)
{
  WorkbenchLineMode *self = WORKBENCH_LINE_MODE (object);
  g_clear_handle_id (&self->bell_source, g_source_remove);
  if (self->watch)
    {
      g_signal_handlers_disconnect_by_data (self->watch, self);
      g_clear_object (&self->watch);
    }
  if (self->session)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      g_clear_object (&self->session);
    }
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_LINE_MODE);
  G_OBJECT_CLASS (workbench_line_mode_parent_class)->dispose (object);
}

static void
workbench_line_mode_class_init (WorkbenchLineModeClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = workbench_line_mode_dispose;
  g_type_ensure (WORKBENCH_TYPE_LINE_PLOT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-line-mode.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, alarm_revealer);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, alarm_title);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, alarm_detail);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, status_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, queue_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, note_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, pass_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, review_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, fail_count);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, stop_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, sound_check);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchLineMode, plot);
  gtk_widget_class_bind_template_callback (widget_class, workbench_line_mode_acknowledge);
  gtk_widget_class_bind_template_callback (widget_class, workbench_line_mode_new_shift);
  gtk_widget_class_bind_template_callback (widget_class, on_stop_clicked);
}

static void
workbench_line_mode_init (WorkbenchLineMode *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "line-alarm-sound", self->sound_check, "active",
                   G_SETTINGS_BIND_DEFAULT);
}
