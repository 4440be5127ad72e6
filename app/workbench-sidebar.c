/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-sidebar.h"

#include "workbench-class-row.h"

#include <adwaita.h>
#include <glib/gi18n.h>

struct _WorkbenchSidebar
{
  AdwBin parent_instance;

  AdwActionRow *model_row;
  GtkLabel *fail_total;
  GtkLabel *review_total;
  GtkLabel *pass_total;
  GtkLabel *none_total;
  AdwPreferencesGroup *folders_group;
  GtkListBox *folder_list;
  AdwPreferencesGroup *thresholds_group;
  GtkBox *class_box;

  WorkbenchSession *session;
};

G_DEFINE_FINAL_TYPE (WorkbenchSidebar, workbench_sidebar, ADW_TYPE_BIN)

static void
update_totals (WorkbenchSidebar *self)
{
  GtkLabel *labels[UAD_N_VERDICTS] = {
    self->none_total, self->pass_total, self->review_total, self->fail_total,
  };
  for (int v = 0; v < UAD_N_VERDICTS; v++)
    {
      g_autofree char *text = g_strdup_printf ("%d", workbench_session_get_count (self->session, v));
      gtk_label_set_text (labels[v], text);
    }
}

static void
update_model (WorkbenchSidebar *self)
{
  const WorkbenchModelInfo *m = workbench_session_get_model (self->session);
  if (m == NULL)
    return;
  g_autofree char *name = g_path_get_basename (m->path);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->model_row), name);
  g_autoptr (GString) sub = g_string_new (NULL);
  /* Translators: model facts: backbone name, number of classes */
  g_string_append_printf (sub, ngettext ("%s, %d class", "%s, %d classes", m->n_classes),
                          m->backbone, m->n_classes);
  g_autoptr (GDateTime) trained = m->trained ? g_date_time_new_from_iso8601 (m->trained, NULL)
                                             : NULL;
  if (trained)
    {
      g_autoptr (GDateTime) local = g_date_time_to_local (trained);
      g_autofree char *date = g_date_time_format (local, "%x");
      g_string_append (sub, "\n");
      if (m->method == UAD_METHOD_PADIM)
        /* Translators: PaDiM is a method's name (per-position Gaussians, no training); %s the
         * date it was fitted to the training images */
        g_string_append_printf (sub, _("PaDiM, fitted %s"), date);
      else
        /* Translators: %d epochs, %s the date training finished */
        g_string_append_printf (sub, ngettext ("%d epoch, trained %s", "%d epochs, trained %s",
                                               m->epochs), m->epochs, date);
    }
  adw_action_row_set_subtitle (self->model_row, sub->str);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_row), m->path);
}

static void
rebuild_classes (WorkbenchSidebar *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->class_box))))
    gtk_box_remove (self->class_box, child);
  GListModel *classes = workbench_session_get_classes (self->session);
  guint n = g_list_model_get_n_items (classes);
  for (guint k = 0; k < n; k++)
    {
      g_autoptr (WorkbenchClass) c = g_list_model_get_item (classes, k);
      gtk_box_append (self->class_box, workbench_class_row_new (c));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->thresholds_group), n > 0);
}

static void
on_folder_class_selected (AdwComboRow *row, GParamSpec *pspec, WorkbenchSidebar *self)
{
  guint folder = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "folder"));
  workbench_session_set_folder_class (self->session, folder,
                                      (int) adw_combo_row_get_selected (row) - 1);
}

/* A folder's row: its name, and the class of its plain images. */
static GtkWidget *
create_folder_row (gpointer object, gpointer data)
{
  WorkbenchSidebar *self = data;
  const char *path = gtk_string_object_get_string (object);
  GListModel *folders = workbench_session_get_folders (self->session);
  guint folder = 0;
  for (guint n_folders = g_list_model_get_n_items (folders); folder < n_folders; folder++)
    {
      g_autoptr (GObject) o = g_list_model_get_item (folders, folder);
      if (o == object)
        break;
    }

  GListModel *classes = workbench_session_get_classes (self->session);
  guint n = g_list_model_get_n_items (classes);
  GtkStringList *choices = gtk_string_list_new (NULL);
  gtk_string_list_append (choices, _("Class from the path"));
  for (guint k = 0; k < n; k++)
    {
      g_autoptr (WorkbenchClass) c = g_list_model_get_item (classes, k);
      gtk_string_list_append (choices, workbench_class_get_name (c));
    }
  AdwComboRow *row = ADW_COMBO_ROW (adw_combo_row_new ());
  g_autofree char *name = g_path_get_basename (path);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), path);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 1);
  adw_combo_row_set_model (row, G_LIST_MODEL (choices));
  g_object_unref (choices);
  adw_combo_row_set_selected (row, workbench_session_get_folder_class (self->session, folder) + 1);
  gtk_widget_set_sensitive (GTK_WIDGET (row), n > 0);
  g_object_set_data (G_OBJECT (row), "folder", GUINT_TO_POINTER (folder));
  g_signal_connect (row, "notify::selected", G_CALLBACK (on_folder_class_selected), self);
  return GTK_WIDGET (row);
}

static void
rebuild_folders (WorkbenchSidebar *self)
{
  GListModel *folders = workbench_session_get_folders (self->session);
  gtk_list_box_bind_model (self->folder_list, folders, create_folder_row, self, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->folders_group), g_list_model_get_n_items (folders) > 0);
}

static void
on_classes_changed (WorkbenchSidebar *self)
{
  rebuild_classes (self);
  rebuild_folders (self);
}

void
workbench_sidebar_set_session (WorkbenchSidebar *self, WorkbenchSession *session)
{
  g_return_if_fail (self->session == NULL);
  self->session = g_object_ref (session);
  const char *counts[] = { "notify::n-none", "notify::n-pass", "notify::n-review", "notify::n-fail" };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    g_signal_connect_object (session, counts[i], G_CALLBACK (update_totals), self,
                             G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::model-name", G_CALLBACK (update_model), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (workbench_session_get_classes (session), "items-changed",
                           G_CALLBACK (on_classes_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (workbench_session_get_folders (session), "items-changed",
                           G_CALLBACK (rebuild_folders), self, G_CONNECT_SWAPPED);
  update_totals (self);
  update_model (self);
  on_classes_changed (self);
}

static void
workbench_sidebar_dispose (GObject *object)
{
  WorkbenchSidebar *self = WORKBENCH_SIDEBAR (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_SIDEBAR);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (workbench_sidebar_parent_class)->dispose (object);
}

static void
workbench_sidebar_class_init (WorkbenchSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_sidebar_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, model_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, fail_total);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, review_total);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, pass_total);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, none_total);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, folders_group);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, folder_list);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, thresholds_group);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchSidebar, class_box);
}

static void
workbench_sidebar_init (WorkbenchSidebar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
