/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-gallery.h"

#include "workbench-gallery-cell.h"
#include "workbench-thumbnails.h"

#include <glib/gi18n.h>
#include <string.h>

#define THUMBNAIL_SIZE 160
/* Thumbnails kept in memory (up to 160 x 160 RGB, 77 KB each; 46 MB in all): the grid's 180
 * cells and a few screens either side. */
#define THUMBNAIL_CACHE 600
#define THUMBNAIL_THREADS 2
/* While results stream in, re-sorting and re-filtering wait this long, so that the grid does not
 * jump with every batch. */
#define REFRESH_DELAY_MS 300

typedef enum {
  SORT_SCORE,
  SORT_NAME,
  SORT_CLASS,
  SORT_TIME,
} SortKey;

static const char *const sort_nicks[] = { "score", "name", "class", "time" };

/* The verdict filter's entries, in the dropdown's order; -1 = any. */
static const int verdict_filters[] = {
  -1, UAD_VERDICT_FAIL, UAD_VERDICT_REVIEW, UAD_VERDICT_PASS, UAD_VERDICT_NONE,
};

struct _WorkbenchGallery
{
  AdwBin parent_instance;

  GtkDropDown *sort_dropdown;
  GtkDropDown *verdict_dropdown;
  GtkDropDown *class_dropdown;
  GtkStringList *class_names;
  GtkLabel *count_label;
  GtkCheckButton *training_check;
  GtkStack *stack;
  GtkGridView *grid_view;

  WorkbenchSession *session;
  WorkbenchThumbnails *thumbnails;
  GtkFilterListModel *filtered;
  GtkSortListModel *sorted;
  GtkSingleSelection *selection;
  GtkCustomFilter *filter;
  GtkCustomSorter *sorter;
  SortKey sort_key;
  int verdict_filter;   /* UadVerdict, or -1 */
  int class_filter;     /* class index, or -1 */
  guint refresh_source;
};

G_DEFINE_FINAL_TYPE (WorkbenchGallery, workbench_gallery, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SELECTED_ITEM,
  PROP_SORT_KEY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ITEM_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- Sorting and filtering ---- */

static int
compare_names (WorkbenchItem *a, WorkbenchItem *b)
{
  int c = strcmp (workbench_item_get_name (a), workbench_item_get_name (b));
  return c ? c : strcmp (workbench_item_get_path (a), workbench_item_get_path (b));
}

static int
compare_items (gconstpointer pa, gconstpointer pb, gpointer data)
{
  WorkbenchGallery *self = data;
  WorkbenchItem *a = (WorkbenchItem *) pa, *b = (WorkbenchItem *) pb;
  int c = 0;
  switch (self->sort_key)
    {
    case SORT_SCORE:
      {
        /* Highest first; images not inspected yet at the end. */
        gboolean ia = workbench_item_get_inspected (a), ib = workbench_item_get_inspected (b);
        double sa = workbench_item_get_score (a), sb = workbench_item_get_score (b);
        c = ia != ib ? (ia ? -1 : 1) : !ia ? 0 : sa > sb ? -1 : sa < sb ? 1 : 0;
        break;
      }
    case SORT_CLASS:
      c = g_strcmp0 (workbench_item_get_class_name (a), workbench_item_get_class_name (b));
      break;
    case SORT_TIME:
      {
        /* Newest first: the latest arrival of a line, then the latest written (a copy may keep
         * an old file's time). */
        gint64 aa = workbench_item_get_arrived (a), ab = workbench_item_get_arrived (b);
        gint64 ta = workbench_item_get_mtime (a), tb = workbench_item_get_mtime (b);
        c = aa != ab ? (aa > ab ? -1 : 1) : ta > tb ? -1 : ta < tb ? 1 : 0;
        break;
      }
    case SORT_NAME:
      break;
    }
  return c ? (c < 0 ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER)
           : gtk_ordering_from_cmpfunc (compare_names (a, b));
}

static gboolean
filter_item (gpointer object, gpointer data)
{
  WorkbenchGallery *self = data;
  WorkbenchItem *item = object;
  if (self->verdict_filter >= 0
      && (int) workbench_item_get_model_verdict (item) != self->verdict_filter)
    return FALSE;
  return self->class_filter < 0 || workbench_item_get_class_index (item) == self->class_filter;
}

static void
update_page (WorkbenchGallery *self)
{
  guint total = self->session ? g_list_model_get_n_items (workbench_session_get_items (self->session)) : 0;
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  gtk_stack_set_visible_child_name (self->stack, total == 0 ? "empty"
                                                 : shown == 0 ? "filtered" : "grid");
  g_autofree char *text = NULL;
  if (shown == total)
    text = g_strdup_printf (ngettext ("%u image", "%u images", total), total);
  else
    /* Translators: "12 of 40 images" shown after filtering */
    text = g_strdup_printf (ngettext ("%u of %u image", "%u of %u images", total), shown,
                            total);
  /* An MVTec folder's training images: how many, and whether they are in the run. */
  guint n_training = self->session ? workbench_session_get_n_training (self->session) : 0;
  gboolean with_training = n_training > 0
                           && workbench_session_get_include_training (self->session);
  g_autofree char *training = NULL;
  if (n_training > 0)
    training = g_strdup_printf (with_training
                                ? ngettext ("%u training image included",
                                            "%u training images included", n_training)
                                : ngettext ("%u training image not included",
                                            "%u training images not included", n_training),
                                n_training);
  g_autofree char *line = training ? g_strdup_printf ("%s · %s", text, training)
                                   : g_steal_pointer (&text);
  gtk_label_set_text (self->count_label, total || training ? line : "");
  /* A narrow gallery shortens the line; the pointer shows it whole. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->count_label), training ? line : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->training_check), n_training > 0);
  gtk_check_button_set_active (self->training_check, with_training);
}

static void
on_training_toggled (WorkbenchGallery *self)
{
  workbench_session_set_include_training (self->session,
                                          gtk_check_button_get_active (self->training_check));
}

static gboolean
refresh (gpointer data)
{
  WorkbenchGallery *self = data;
  self->refresh_source = 0;
  if (self->verdict_filter >= 0)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  if (self->sort_key == SORT_SCORE)
    gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  return G_SOURCE_REMOVE;
}

/* Verdicts or scores changed: re-filter and re-sort soon, if the view depends on them. */
static void
on_relabelled (WorkbenchGallery *self)
{
  if (self->refresh_source == 0 && (self->verdict_filter >= 0 || self->sort_key == SORT_SCORE))
    self->refresh_source = g_timeout_add (REFRESH_DELAY_MS, refresh, self);
}

static void
on_sort_selected (WorkbenchGallery *self)
{
  SortKey key = gtk_drop_down_get_selected (self->sort_dropdown);
  if (key == self->sort_key || key >= G_N_ELEMENTS (sort_nicks))
    return;
  self->sort_key = key;
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SORT_KEY]);
}

static void
on_filter_selected (WorkbenchGallery *self)
{
  guint v = gtk_drop_down_get_selected (self->verdict_dropdown);
  guint c = gtk_drop_down_get_selected (self->class_dropdown);
  self->verdict_filter = v < G_N_ELEMENTS (verdict_filters) ? verdict_filters[v] : -1;
  self->class_filter = c == GTK_INVALID_LIST_POSITION ? -1 : (int) c - 1;
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

static void
on_classes_changed (WorkbenchGallery *self)
{
  GListModel *classes = workbench_session_get_classes (self->session);
  guint n = g_list_model_get_n_items (classes);
  g_autofree const char **names = g_new0 (const char *, n + 2);
  names[0] = _("All Classes");
  for (guint k = 0; k < n; k++)
    {
      g_autoptr (WorkbenchClass) c = g_list_model_get_item (classes, k);
      names[k + 1] = workbench_class_get_name (c);
    }
  guint old = g_list_model_get_n_items (G_LIST_MODEL (self->class_names));
  gtk_string_list_splice (self->class_names, 0, old, names);
  gtk_drop_down_set_selected (self->class_dropdown, 0);
}

static void
on_items_changed (WorkbenchGallery *self, guint position, guint removed, guint added)
{
  /* The old images are gone: so are their thumbnails and queued decodes. */
  if (removed > 0)
    workbench_thumbnails_clear (self->thumbnails);
  update_page (self);
}

/* ---- Cells ---- */

static void
setup_cell (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  gtk_list_item_set_child (list_item, workbench_gallery_cell_new ());
}

static void
bind_cell (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  WorkbenchGallery *self = data;
  WorkbenchItem *item = gtk_list_item_get_item (list_item);
  workbench_gallery_cell_set_item (WORKBENCH_GALLERY_CELL (gtk_list_item_get_child (list_item)),
                                   item);
  workbench_thumbnails_request (self->thumbnails, item, gtk_list_item_get_position (list_item));
}

/* Thumbnails near the middle of the visible rows are decoded first. */
static void
on_scrolled (GtkAdjustment *adjustment, WorkbenchGallery *self)
{
  double upper = gtk_adjustment_get_upper (adjustment);
  double middle = gtk_adjustment_get_value (adjustment) + gtk_adjustment_get_page_size (adjustment) / 2;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  workbench_thumbnails_set_focus (self->thumbnails, upper > 0 ? (guint) (n * middle / upper) : 0);
}

static void
unbind_cell (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  workbench_gallery_cell_set_item (WORKBENCH_GALLERY_CELL (gtk_list_item_get_child (list_item)),
                                   NULL);
}

static void
on_activate (GtkGridView *view, guint position, WorkbenchGallery *self)
{
  g_autoptr (WorkbenchItem) item = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  if (item)
    g_signal_emit (self, signals[SIGNAL_ITEM_ACTIVATED], 0, item);
}

static void
on_selection_changed (WorkbenchGallery *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ITEM]);
}

/* ---- Public ---- */

void
workbench_gallery_set_session (WorkbenchGallery *self, WorkbenchSession *session)
{
  g_return_if_fail (self->session == NULL);
  self->session = g_object_ref (session);
  GListModel *items = workbench_session_get_items (session);
  /* Before the views: the old thumbnails go before new cells ask for theirs. */
  g_signal_connect_object (items, "items-changed", G_CALLBACK (on_items_changed), self,
                           G_CONNECT_SWAPPED);
  gtk_filter_list_model_set_model (self->filtered, items);
  g_signal_connect_object (workbench_session_get_classes (session), "items-changed",
                           G_CALLBACK (on_classes_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "relabelled", G_CALLBACK (on_relabelled), self,
                           G_CONNECT_SWAPPED);
  /* The open folders are scanned again to take them in: not while a run uses the images. */
  g_object_bind_property (session, "inspecting", self->training_check, "sensitive",
                          G_BINDING_SYNC_CREATE | G_BINDING_INVERT_BOOLEAN);
  on_classes_changed (self);
  update_page (self);
}

WorkbenchItem *
workbench_gallery_get_selected_item (WorkbenchGallery *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

static void
focus_position (WorkbenchGallery *self, guint position)
{
  gtk_widget_activate_action (GTK_WIDGET (self->grid_view), "list.scroll-to-item", "u", position);
  WorkbenchItem *item = g_list_model_get_item (G_LIST_MODEL (self->sorted), position);
  /* The grid's children are the list items' widgets, each holding one cell. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->grid_view)); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *cell = gtk_widget_get_first_child (child);
      if (WORKBENCH_IS_GALLERY_CELL (cell) && gtk_widget_get_visible (child)
          && workbench_gallery_cell_get_item (WORKBENCH_GALLERY_CELL (cell)) == item)
        {
          gtk_widget_grab_focus (child);
          break;
        }
    }
  g_clear_object (&item);
}

void
workbench_gallery_focus_selected (WorkbenchGallery *self)
{
  guint position = gtk_single_selection_get_selected (self->selection);
  if (position != GTK_INVALID_LIST_POSITION)
    focus_position (self, position);
}

gboolean
workbench_gallery_select_item (WorkbenchGallery *self, WorkbenchItem *item)
{
  GListModel *model = G_LIST_MODEL (self->sorted);
  for (guint position = 0; position < g_list_model_get_n_items (model); position++)
    {
      g_autoptr (WorkbenchItem) shown = g_list_model_get_item (model, position);
      if (shown != item)
        continue;
      gtk_single_selection_set_selected (self->selection, position);
      gtk_widget_activate_action (GTK_WIDGET (self->grid_view), "list.scroll-to-item", "u",
                                  position);
      return TRUE;
    }
  return FALSE;
}

gboolean
workbench_gallery_select_next_unreviewed (WorkbenchGallery *self)
{
  GListModel *model = G_LIST_MODEL (self->sorted);
  guint n = g_list_model_get_n_items (model);
  guint selected = gtk_single_selection_get_selected (self->selection);
  guint start = selected == GTK_INVALID_LIST_POSITION ? 0 : selected + 1;
  for (guint k = 0; k < n; k++)
    {
      guint position = (start + k) % n;
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (model, position);
      if (workbench_item_get_inspected (item)
          && workbench_item_get_operator_verdict (item) == UAD_VERDICT_NONE)
        {
          gtk_single_selection_set_selected (self->selection, position);
          focus_position (self, position);
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- Object ---- */

static void
workbench_gallery_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  WorkbenchGallery *self = WORKBENCH_GALLERY (object);
  switch (prop_id)
    {
    case PROP_SELECTED_ITEM:
      g_value_set_object (value, workbench_gallery_get_selected_item (self));
      break;
    case PROP_SORT_KEY:
      g_value_set_string (value, sort_nicks[self->sort_key]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_gallery_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  WorkbenchGallery *self = WORKBENCH_GALLERY (object);
  switch (prop_id)
    {
    case PROP_SORT_KEY:
      for (guint k = 0; k < G_N_ELEMENTS (sort_nicks); k++)
        if (g_strcmp0 (g_value_get_string (value), sort_nicks[k]) == 0)
          gtk_drop_down_set_selected (self->sort_dropdown, k);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_gallery_dispose (GObject *object)
{
  WorkbenchGallery *self = WORKBENCH_GALLERY (object);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_GALLERY);
  g_clear_object (&self->selection);
  g_clear_object (&self->thumbnails);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (workbench_gallery_parent_class)->dispose (object);
}

static void
workbench_gallery_class_init (WorkbenchGalleryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_gallery_dispose;
  object_class->get_property = workbench_gallery_get_property;
  object_class->set_property = workbench_gallery_set_property;

  properties[PROP_SELECTED_ITEM] = g_param_spec_object ("selected-item", NULL, NULL,
                                                        WORKBENCH_TYPE_ITEM,
                                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                        | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SORT_KEY] = g_param_spec_string ("sort-key", NULL, NULL, "name",
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                   | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* item-activated (item): Enter or a double click on a thumbnail. */
  signals[SIGNAL_ITEM_ACTIVATED] = g_signal_new ("item-activated", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, WORKBENCH_TYPE_ITEM);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-gallery.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, sort_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, verdict_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, class_names);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, count_label);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, training_check);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, stack);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchGallery, grid_view);
}

static void
workbench_gallery_init (WorkbenchGallery *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->sort_key = SORT_NAME;
  self->verdict_filter = -1;
  self->class_filter = -1;
  self->thumbnails = workbench_thumbnails_new (THUMBNAIL_SIZE, THUMBNAIL_CACHE, THUMBNAIL_THREADS);

  self->filter = gtk_custom_filter_new (filter_item, self, NULL);
  self->filtered = gtk_filter_list_model_new (NULL, GTK_FILTER (self->filter));
  self->sorter = gtk_custom_sorter_new (compare_items, self, NULL);
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->filtered),
                                          GTK_SORTER (self->sorter));
  /* The selection owns the chain of models (and they their filter and sorter). */
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->sorted));
  g_signal_connect_swapped (self->selection, "notify::selected-item",
                            G_CALLBACK (on_selection_changed), self);
  g_signal_connect_swapped (self->sorted, "items-changed", G_CALLBACK (update_page), self);

  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell), self);
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect (self->grid_view, "activate", G_CALLBACK (on_activate), self);
  GtkAdjustment *vadjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (self->grid_view));
  g_signal_connect (vadjustment, "value-changed", G_CALLBACK (on_scrolled), self);
  g_signal_connect (vadjustment, "changed", G_CALLBACK (on_scrolled), self);

  gtk_drop_down_set_selected (self->sort_dropdown, SORT_NAME);
  g_signal_connect_swapped (self->sort_dropdown, "notify::selected",
                            G_CALLBACK (on_sort_selected), self);
  g_signal_connect_swapped (self->verdict_dropdown, "notify::selected",
                            G_CALLBACK (on_filter_selected), self);
  g_signal_connect_swapped (self->class_dropdown, "notify::selected",
                            G_CALLBACK (on_filter_selected), self);
  g_signal_connect_swapped (self->training_check, "toggled", G_CALLBACK (on_training_toggled),
                            self);
}
