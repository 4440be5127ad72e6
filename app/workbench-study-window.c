/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-study-window.h"

#include <glib/gi18n.h>
#include <math.h>

struct _WorkbenchStudyWindow
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  GtkStack *stack;
  AdwStatusPage *error_page;
  GtkLabel *heading_label, *facts_label, *curves_heading, *curves_label, *table_heading;
  GtkPicture *plot;
  GtkGrid *table;

  char *folder;
  WorkbenchStudy *study; /* once read */
  char *message;         /* why it could not be read */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (WorkbenchStudyWindow, workbench_study_window, ADW_TYPE_WINDOW)

/* ---- Reading, on a worker ----------------------------------------------------------------- */

typedef struct {
  WorkbenchStudy *study;
  GdkTexture *plot;
} Loaded;

static void
loaded_free (Loaded *l)
{
  workbench_study_free (l->study);
  g_clear_object (&l->plot);
  g_free (l);
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  Loaded *l = g_new0 (Loaded, 1);
  l->study = workbench_study_load (data, &error);
  if (l->study == NULL)
    {
      loaded_free (l);
      g_task_return_error (task, error);
      return;
    }
  /* A plot that cannot be decoded is left out; the table and the curves still tell. */
  if (l->study->plot_png != NULL)
    l->plot = gdk_texture_new_from_filename (l->study->plot_png, NULL);
  g_task_return_pointer (task, l, (GDestroyNotify) loaded_free);
}

/* ---- Showing ------------------------------------------------------------------------------ */

static const char *
study_title (const char *name)
{
  if (g_str_equal (name, "shortcut"))
    return _("Identical-shortcut study");
  if (g_str_equal (name, "unified"))
    return _("Unified against separate");
  if (g_str_equal (name, "ablation"))
    return _("Ablation of UniAD’s defences");
  if (g_str_equal (name, "convergence"))
    return _("Convergence of training recipes");
  return name;
}

static const char *
status_text (const char *status)
{
  if (g_str_equal (status, "done"))
    return _("finished");
  if (g_str_equal (status, "stopped"))
    return _("stopped; the same command with --resume continues it");
  if (g_str_equal (status, "failed"))
    return _("failed");
  return _("running, or ended without saying so");
}

/* A column name of NAME-table.csv ("UniAD:unified:image_auroc") as a header cell. */
static char *
column_title (const char *name)
{
  g_auto (GStrv) parts = g_strsplit (name, ":", -1);
  for (char **p = parts; *p; p++)
    if (g_str_has_suffix (*p, "_auroc"))
      (*p)[strlen (*p) - strlen ("_auroc")] = '\0';
  return g_strjoinv ("\n", parts);
}

static void
add_cell (GtkGrid *grid, const char *text, int column, int row, gboolean header)
{
  GtkWidget *label = gtk_label_new (*text ? text : "–");
  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0 : 1);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_RIGHT);
  gtk_widget_add_css_class (label, header ? "heading" : "numeric");
  gtk_grid_attach (grid, label, column, row, 1, 1);
}

static void
show_table (WorkbenchStudyWindow *self)
{
  GPtrArray *rows = self->study->table;
  for (guint r = 0; r < rows->len; r++)
    {
      char **fields = rows->pdata[r];
      for (int c = 0; fields[c]; c++)
        {
          g_autofree char *title = r == 0 && c > 0 ? column_title (fields[c]) : NULL;
          add_cell (self->table, title ? title : fields[c], c, (int) r, r == 0);
        }
    }
  gtk_widget_set_visible (GTK_WIDGET (self->table_heading), rows->len > 0);
}

static void
show_study (WorkbenchStudyWindow *self, GdkTexture *plot)
{
  const WorkbenchStudy *s = self->study;
  g_autofree char *heading = g_strdup_printf ("%s — %s", study_title (s->name),
                                              status_text (s->status));
  gtk_label_set_text (self->heading_label, heading);
  g_autoptr (GString) facts = g_string_new (NULL);
  if (!isnan (s->wall_seconds))
    /* Translators: the wall time a study took, in minutes */
    g_string_append_printf (facts, _("Wall time %.1f min"), s->wall_seconds / 60);
  for (char **a = s->arguments; *a; a++)
    g_string_append_printf (facts, "%s%s", facts->len ? " · " : "", *a);
  gtk_label_set_text (self->facts_label, facts->str);
  gtk_picture_set_paintable (self->plot, GDK_PAINTABLE (plot));
  gtk_widget_set_visible (GTK_WIDGET (self->plot), plot != NULL);
  g_autofree char *curves = g_strjoinv ("\n", s->curves);
  gtk_label_set_text (self->curves_label, curves);
  gtk_widget_set_visible (GTK_WIDGET (self->curves_heading), s->curves[0] != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->curves_label), s->curves[0] != NULL);
  show_table (self);
  gtk_stack_set_visible_child_name (self->stack, "study");
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  Loaded *l = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  WorkbenchStudyWindow *self = WORKBENCH_STUDY_WINDOW (source);
  if (l == NULL)
    {
      self->message = g_strdup (error->message);
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      return;
    }
  self->study = g_steal_pointer (&l->study);
  show_study (self, l->plot);
  loaded_free (l);
}

static void
on_open_folder (WorkbenchStudyWindow *self)
{
  g_autoptr (GFile) file = g_file_new_for_path (self->folder);
  g_autofree char *uri = g_file_get_uri (file);
  gtk_show_uri (GTK_WINDOW (self), uri, GDK_CURRENT_TIME);
}

const WorkbenchStudy *
workbench_study_window_get_study (WorkbenchStudyWindow *self, const char **message)
{
  if (message)
    *message = self->message;
  return self->study;
}

static void
workbench_study_window_dispose (GObject *object)
{
  WorkbenchStudyWindow *self = WORKBENCH_STUDY_WINDOW (object);
  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_STUDY_WINDOW);
  G_OBJECT_CLASS (workbench_study_window_parent_class)->dispose (object);
}

static void
workbench_study_window_finalize (GObject *object)
{
  WorkbenchStudyWindow *self = WORKBENCH_STUDY_WINDOW (object);
  g_free (self->folder);
  g_free (self->message);
  workbench_study_free (self->study);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (workbench_study_window_parent_class)->finalize (object);
}

static void
workbench_study_window_class_init (WorkbenchStudyWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_study_window_dispose;
  object_class->finalize = workbench_study_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-study-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, heading_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, facts_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, curves_heading);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, curves_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, table_heading);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, plot);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchStudyWindow, table);
  gtk_widget_class_bind_template_callback (widget_class, on_open_folder);
}

static void
workbench_study_window_init (WorkbenchStudyWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

WorkbenchStudyWindow *
workbench_study_window_new (GtkWindow *parent, const char *folder)
{
  WorkbenchStudyWindow *self = g_object_new (WORKBENCH_TYPE_STUDY_WINDOW, "transient-for", parent,
                                             NULL);
  self->folder = g_strdup (folder);
  adw_window_title_set_subtitle (self->window_title, folder);
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, on_loaded, NULL);
  g_task_set_task_data (task, g_strdup (folder), g_free);
  g_task_run_in_thread (task, load_thread);
  return self;
}
