/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-history-page.h"

#include "workbench-history.h"

#include <adwaita.h>
#include <glib/gi18n.h>

/* ---- A run as a list item ---- */

#define WORKBENCH_TYPE_RUN_ENTRY (workbench_run_entry_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchRunEntry, workbench_run_entry, WORKBENCH, RUN_ENTRY, GObject)

struct _WorkbenchRunEntry
{
  GObject parent_instance;
  UadHistoryRun *run;
};

G_DEFINE_FINAL_TYPE (WorkbenchRunEntry, workbench_run_entry, G_TYPE_OBJECT)

static void
workbench_run_entry_finalize (GObject *object)
{
  uad_history_run_free (WORKBENCH_RUN_ENTRY (object)->run);
  G_OBJECT_CLASS (workbench_run_entry_parent_class)->finalize (object);
}

static void
workbench_run_entry_class_init (WorkbenchRunEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = workbench_run_entry_finalize;
}

static void
workbench_run_entry_init (WorkbenchRunEntry *self)
{
}

/* ---- The page ---- */

struct _WorkbenchHistoryPage
{
  AdwBin parent_instance;

  GtkDropDown *period_dropdown;
  GtkDropDown *verdict_dropdown;
  GtkSearchEntry *class_entry;
  GtkButton *open_button;
  GtkStack *stack;
  AdwStatusPage *empty_page;
  GtkColumnView *column_view;

  WorkbenchSession *session;
  GListStore *runs;
  GtkSingleSelection *selection;
  GCancellable *cancellable;  /* the query under way */
};

G_DEFINE_FINAL_TYPE (WorkbenchHistoryPage, workbench_history_page, ADW_TYPE_BIN)

enum {
  SIGNAL_OPEN_RUN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef enum {
  COLUMN_STARTED,
  COLUMN_STATUS,
  COLUMN_MODEL,
  COLUMN_FOLDERS,
  COLUMN_IMAGES,
  COLUMN_FAIL,
  COLUMN_REVIEW,
  COLUMN_PASS,
  COLUMN_REVIEWED,
  N_COLUMNS
} Column;

static char *
format_time (gint64 usec)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  return g_date_time_format (t, "%x %X");
}

static char *
column_text (Column column, const UadHistoryRun *run)
{
  switch (column)
    {
    case COLUMN_STARTED:
      return format_time (run->started);
    case COLUMN_STATUS:
      return g_strdup (run->finished ? _("Finished") : _("Not finished"));
    case COLUMN_MODEL:
      return g_path_get_basename (run->model_path);
    case COLUMN_FOLDERS:
      {
        g_autoptr (GString) s = g_string_new (NULL);
        for (char **f = run->folders; f && *f; f++)
          {
            g_autofree char *name = g_path_get_basename (*f);
            g_string_append_printf (s, "%s%s", s->len ? ", " : "", name);
          }
        return g_string_free (g_steal_pointer (&s), FALSE);
      }
    case COLUMN_IMAGES:
      return g_strdup_printf ("%d", run->n_inspections);
    case COLUMN_FAIL:
      return g_strdup_printf ("%d", run->final_counts[UAD_VERDICT_FAIL]);
    case COLUMN_REVIEW:
      return g_strdup_printf ("%d", run->final_counts[UAD_VERDICT_REVIEW]);
    case COLUMN_PASS:
      return g_strdup_printf ("%d", run->final_counts[UAD_VERDICT_PASS]);
    case COLUMN_REVIEWED:
      return g_strdup_printf ("%d", run->n_inspections - run->operator_counts[UAD_VERDICT_NONE]);
    case N_COLUMNS:
      break;
    }
  g_return_val_if_reached (NULL);
}

static void
setup_label (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  Column column = GPOINTER_TO_INT (data);
  GtkWidget *label = gtk_label_new (NULL);
  gboolean number = column >= COLUMN_IMAGES;
  gtk_label_set_xalign (GTK_LABEL (label), number ? 1 : 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), number ? PANGO_ELLIPSIZE_NONE : PANGO_ELLIPSIZE_END);
  if (number)
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
bind_label (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  WorkbenchRunEntry *entry = gtk_list_item_get_item (list_item);
  g_autofree char *text = column_text (GPOINTER_TO_INT (data), entry->run);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  gtk_label_set_text (GTK_LABEL (label), text);
  if (GPOINTER_TO_INT (data) == COLUMN_MODEL || GPOINTER_TO_INT (data) == COLUMN_FOLDERS)
    gtk_widget_set_tooltip_text (label, text);
}

static void
add_column (WorkbenchHistoryPage *self, Column column, const char *title, gboolean expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), GINT_TO_POINTER (column));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), GINT_TO_POINTER (column));
  GtkColumnViewColumn *c = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (c, expand);
  gtk_column_view_column_set_resizable (c, TRUE);
  gtk_column_view_append_column (self->column_view, c);
  g_object_unref (c);
}

/* ---- Reading the runs ---- */

static void
on_runs_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) runs = workbench_session_list_runs_finish (WORKBENCH_SESSION (source),
                                                                   result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  WorkbenchHistoryPage *self = data;
  g_clear_object (&self->cancellable);
  g_list_store_remove_all (self->runs);
  if (runs == NULL)
    {
      adw_status_page_set_title (self->empty_page, _("The History Cannot Be Read"));
      adw_status_page_set_description (self->empty_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < runs->len; i++)
    {
      WorkbenchRunEntry *entry = g_object_new (WORKBENCH_TYPE_RUN_ENTRY, NULL);
      entry->run = g_steal_pointer (&runs->pdata[i]);
      g_ptr_array_add (entries, entry);
    }
  g_ptr_array_set_free_func (runs, NULL);
  g_list_store_splice (self->runs, 0, 0, entries->pdata, entries->len);
  adw_status_page_set_title (self->empty_page, _("No Runs"));
  adw_status_page_set_description (self->empty_page,
                                   _("Inspections are kept here, run by run"));
  gtk_stack_set_visible_child_name (self->stack, runs->len ? "runs" : "empty");
}

void
workbench_history_page_refresh (WorkbenchHistoryPage *self)
{
  if (self->session == NULL)
    return;
  /* A newer query replaces one under way. */
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  UadRunFilter filter = { 0 };
  static const int days[] = { 0, 1, 7, 30 };
  guint period = gtk_drop_down_get_selected (self->period_dropdown);
  if (period > 0 && period < G_N_ELEMENTS (days))
    {
      /* From local midnight, days[period] - 1 days ago. */
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_autoptr (GDateTime) midnight = g_date_time_new_local (g_date_time_get_year (now),
                                                              g_date_time_get_month (now),
                                                              g_date_time_get_day_of_month (now),
                                                              0, 0, 0);
      g_autoptr (GDateTime) from = g_date_time_add_days (midnight, 1 - days[period]);
      filter.started_from = g_date_time_to_unix (from) * G_USEC_PER_SEC;
    }
  static const UadVerdict verdicts[] = {
    UAD_VERDICT_NONE, UAD_VERDICT_FAIL, UAD_VERDICT_REVIEW, UAD_VERDICT_PASS,
  };
  guint v = gtk_drop_down_get_selected (self->verdict_dropdown);
  filter.verdict = v < G_N_ELEMENTS (verdicts) ? verdicts[v] : UAD_VERDICT_NONE;
  const char *class_name = gtk_editable_get_text (GTK_EDITABLE (self->class_entry));
  filter.class_name = *class_name ? class_name : NULL;
  workbench_session_list_runs_async (self->session, &filter, self->cancellable, on_runs_listed,
                                     self);
}

void
workbench_history_page_set_session (WorkbenchHistoryPage *self, WorkbenchSession *session)
{
  g_set_object (&self->session, session);
  workbench_history_page_refresh (self);
}

guint
workbench_history_page_get_n_runs (WorkbenchHistoryPage *self)
{
  return g_list_model_get_n_items (G_LIST_MODEL (self->runs));
}

static void
open_selected (WorkbenchHistoryPage *self)
{
  WorkbenchRunEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  if (entry)
    g_signal_emit (self, signals[SIGNAL_OPEN_RUN], 0, entry->run->id);
}

static void
on_selection_changed (WorkbenchHistoryPage *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->open_button),
                            gtk_single_selection_get_selected_item (self->selection) != NULL);
}

static void
workbench_history_page_dispose (GObject *object)
{
  WorkbenchHistoryPage *self = WORKBENCH_HISTORY_PAGE (object);
  /* A query still running answers to nobody. */
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_HISTORY_PAGE);
  g_clear_object (&self->selection);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (workbench_history_page_parent_class)->dispose (object);
}

static void
workbench_history_page_class_init (WorkbenchHistoryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_history_page_dispose;

  /* open-run (run id) */
  signals[SIGNAL_OPEN_RUN] = g_signal_new ("open-run", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-history-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, period_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, verdict_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, class_entry);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, open_button);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, stack);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchHistoryPage, column_view);
}

static void
workbench_history_page_init (WorkbenchHistoryPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->runs = g_list_store_new (WORKBENCH_TYPE_RUN_ENTRY);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->runs));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_swapped (self->selection, "notify::selected-item",
                            G_CALLBACK (on_selection_changed), self);

  add_column (self, COLUMN_STARTED, _("Started"), FALSE);
  add_column (self, COLUMN_STATUS, _("Status"), FALSE);
  add_column (self, COLUMN_MODEL, _("Model"), TRUE);
  add_column (self, COLUMN_FOLDERS, _("Folders"), TRUE);
  add_column (self, COLUMN_IMAGES, _("Images"), FALSE);
  add_column (self, COLUMN_FAIL, _("Fail"), FALSE);
  add_column (self, COLUMN_REVIEW, _("Review"), FALSE);
  add_column (self, COLUMN_PASS, _("Pass"), FALSE);
  add_column (self, COLUMN_REVIEWED, _("Reviewed"), FALSE);

  g_signal_connect_swapped (self->column_view, "activate", G_CALLBACK (open_selected), self);
  g_signal_connect_swapped (self->open_button, "clicked", G_CALLBACK (open_selected), self);
  g_signal_connect_swapped (self->period_dropdown, "notify::selected",
                            G_CALLBACK (workbench_history_page_refresh), self);
  g_signal_connect_swapped (self->verdict_dropdown, "notify::selected",
                            G_CALLBACK (workbench_history_page_refresh), self);
  g_signal_connect_swapped (self->class_entry, "search-changed",
                            G_CALLBACK (workbench_history_page_refresh), self);
}
