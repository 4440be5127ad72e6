/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-session.h"

#include "uad-anomaly-map.h"
#include "uad-error.h"
#include "workbench-scan.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <string.h>

/* How long a threshold slider must rest before the change is stored. */
#define STORE_DELAY_MS 600

struct _WorkbenchSession
{
  GObject parent_instance;

  WorkbenchInspector *inspector;
  GListStore *items;          /* WorkbenchItem */
  GPtrArray *item_array;      /* the same items, for quick passes over all of them */
  GListStore *classes;        /* WorkbenchClass */
  GPtrArray *class_array;     /* the same classes, by index */
  GtkStringList *folders;
  char **folder_paths;        /* the same, NULL-terminated */
  GArray *folder_class;       /* int per folder: the chosen class, -1 = from the path */
  gboolean include_training;  /* MVTec training images among the items */
  guint n_training;           /* MVTec training images in the folders, included or not */
  WorkbenchModelInfo *model;
  char *operator_name;
  gint64 run_id;
  int counts[UAD_N_VERDICTS];

  guint loading;              /* scans and model loads under way */
  gboolean exporting;
  GCancellable *cancellable;  /* scans and loads; cancelled on dispose */
  GCancellable *scan_cancellable;
  WorkbenchRunRecord *pending_record; /* a run to reopen once its model is loaded */

  /* The run under way. */
  gboolean line;              /* a line: the run takes images as they arrive */
  GCancellable *run_cancellable;
  GPtrArray *run_items;       /* WorkbenchItem by index in the run */
  guint run_done;
  guint run_reused;           /* results copied from the history */
  gint64 run_started;         /* monotonic time */
  double progress;
  char *progress_text;

  /* Thresholds waiting to be stored. */
  GHashTable *dirty_classes;  /* WorkbenchClass set */
  guint store_source;

  /* Why the history file cannot be used (NULL: it is in use), and whether the file itself is
   * unusable (else it may work later: locked, read-only). */
  char *history_problem;
  gboolean history_damaged;
};

G_DEFINE_FINAL_TYPE (WorkbenchSession, workbench_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_OPERATOR,
  PROP_HAS_MODEL,
  PROP_MODEL_NAME,
  PROP_LOADING,
  PROP_INSPECTING,
  PROP_EXPORTING,
  PROP_N_ITEMS,
  PROP_RUN_ID,
  PROP_PROGRESS,
  PROP_PROGRESS_TEXT,
  PROP_N_REUSED,
  PROP_N_NONE,
  PROP_N_PASS,
  PROP_N_REVIEW,
  PROP_N_FAIL,
  PROP_HISTORY_PROBLEM,
  PROP_HISTORY_DAMAGED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ERROR,
  SIGNAL_WEIGHTS_NEEDED,
  SIGNAL_EXPORTED,
  SIGNAL_RELABELLED,
  SIGNAL_RUN_FINISHED,
  SIGNAL_HISTORY_REOPENED,
  SIGNAL_LINE_RESULTS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
emit_error (WorkbenchSession *self, const char *title, const GError *error)
{
  g_signal_emit (self, signals[SIGNAL_ERROR], 0, title, error->message);
}

static void
set_loading (WorkbenchSession *self, gboolean start)
{
  gboolean was = self->loading > 0;
  self->loading += start ? 1 : -1;
  if (was != (self->loading > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
set_run_id (WorkbenchSession *self, gint64 run_id)
{
  if (self->run_id == run_id)
    return;
  self->run_id = run_id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_ID]);
}

/* ---- Verdicts and counts ---- */

/* Every class's thresholds as they are now (NULL without classes). */
static UadVerdictThresholds *
class_thresholds (WorkbenchSession *self)
{
  guint n = self->class_array->len;
  if (n == 0)
    return NULL;
  UadVerdictThresholds *th = g_new (UadVerdictThresholds, n);
  for (guint k = 0; k < n; k++)
    {
      WorkbenchClass *c = self->class_array->pdata[k];
      th[k] = (UadVerdictThresholds) { workbench_class_get_pass_below (c),
                                       workbench_class_get_fail_above (c),
                                       workbench_class_get_pixel (c) };
    }
  return th;
}

/* The model's verdict of item under per_class (class_thresholds ()). */
static UadVerdict
verdict_of (WorkbenchSession *self, WorkbenchItem *item, const UadVerdictThresholds *per_class)
{
  if (!workbench_item_get_inspected (item) || per_class == NULL)
    return UAD_VERDICT_NONE;
  UadVerdictThresholds th = uad_verdict_thresholds_for (per_class, (int) self->class_array->len,
                                                        workbench_item_get_class_index (item));
  return uad_verdict_from_score (workbench_item_get_score (item), th.pass_below, th.fail_above);
}

gboolean
workbench_session_get_item_thresholds (WorkbenchSession *self, WorkbenchItem *item,
                                       UadVerdictThresholds *out)
{
  g_autofree UadVerdictThresholds *per_class = class_thresholds (self);
  if (per_class == NULL)
    return FALSE;
  *out = uad_verdict_thresholds_for (per_class, (int) self->class_array->len,
                                     workbench_item_get_class_index (item));
  return TRUE;
}

/* Counts the model verdicts per class and in total. */
static void
recount (WorkbenchSession *self)
{
  guint n_classes = self->class_array->len;
  g_autofree int *per_class = g_new0 (int, (n_classes + 1) * UAD_N_VERDICTS);
  int total[UAD_N_VERDICTS] = { 0 };
  for (guint i = 0; i < self->item_array->len; i++)
    {
      WorkbenchItem *item = self->item_array->pdata[i];
      UadVerdict v = workbench_item_get_model_verdict (item);
      int k = workbench_item_get_class_index (item);
      per_class[(k >= 0 ? (guint) k : n_classes) * UAD_N_VERDICTS + v]++;
      total[v]++;
    }
  for (guint k = 0; k < n_classes; k++)
    workbench_class_set_counts (self->class_array->pdata[k], per_class + k * UAD_N_VERDICTS);
  for (int v = 0; v < UAD_N_VERDICTS; v++)
    if (self->counts[v] != total[v])
      {
        self->counts[v] = total[v];
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_NONE + v]);
      }
}

/* Decides every image's model verdict again (after a threshold moved or classes changed). */
static void
relabel (WorkbenchSession *self)
{
  g_autofree UadVerdictThresholds *per_class = class_thresholds (self);
  for (guint i = 0; i < self->item_array->len; i++)
    {
      WorkbenchItem *item = self->item_array->pdata[i];
      workbench_item_set_model_verdict (item, verdict_of (self, item, per_class));
    }
  recount (self);
  g_signal_emit (self, signals[SIGNAL_RELABELLED], 0);
}

/* The class an image is inspected as: its folder's chosen class, else the class named in its
 * path (MVTec layout, or any folder named like a class, innermost first), else the only class
 * of a one-class model; -1 when none fits. */
static int
class_for (WorkbenchSession *self, WorkbenchItem *item)
{
  const WorkbenchModelInfo *m = self->model;
  guint folder = workbench_item_get_folder (item);
  if (folder < self->folder_class->len && g_array_index (self->folder_class, int, folder) >= 0)
    return g_array_index (self->folder_class, int, folder);
  g_autofree char *dir = g_path_get_dirname (workbench_item_get_path (item));
  g_auto (GStrv) parts = g_strsplit (dir, G_DIR_SEPARATOR_S, -1);
  for (int i = (int) g_strv_length (parts) - 1; i >= 0; i--)
    for (int k = 0; k < m->n_classes; k++)
      if (strcmp (parts[i], m->class_names[k]) == 0)
        return k;
  return m->n_classes == 1 ? 0 : -1;
}

static void
assign_class (WorkbenchSession *self, WorkbenchItem *item)
{
  int k = self->model ? class_for (self, item) : -1;
  int old = workbench_item_get_class_index (item);
  /* A model with a transformer per class scored the image as its old class. */
  if (k != old && self->model && self->model->separate)
    workbench_item_reset (item);
  workbench_item_set_class (item, k, k >= 0 ? self->model->class_names[k] : NULL);
}

static void
assign_classes (WorkbenchSession *self)
{
  for (guint i = 0; i < self->item_array->len; i++)
    assign_class (self, self->item_array->pdata[i]);
  relabel (self);
}

static void
set_items (WorkbenchSession *self, GPtrArray *items)
{
  g_ptr_array_set_size (self->item_array, 0);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (self->item_array, g_object_ref (items->pdata[i]));
  guint old = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  g_list_store_splice (self->items, 0, old, items->pdata, items->len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

static void
set_folders (WorkbenchSession *self, const char *const *folders)
{
  g_strfreev (self->folder_paths);
  self->folder_paths = g_strdupv ((char **) folders);
  g_array_set_size (self->folder_class, 0);
  for (guint f = 0; folders[f]; f++)
    {
      int from_path = -1;
      g_array_append_val (self->folder_class, from_path);
    }
  /* Last: the folder list's views ask for each folder's class. */
  guint old = g_list_model_get_n_items (G_LIST_MODEL (self->folders));
  gtk_string_list_splice (self->folders, 0, old, folders);
}

/* ---- Thresholds ---- */

static const char *
operator_name (WorkbenchSession *self)
{
  if (self->operator_name && *self->operator_name)
    return self->operator_name;
  const char *real = g_get_real_name ();
  return strcmp (real, "Unknown") != 0 ? real : g_get_user_name ();
}

static void
store_thresholds (WorkbenchSession *self)
{
  g_clear_handle_id (&self->store_source, g_source_remove);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, self->dirty_classes);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      WorkbenchClass *c = key;
      const char *who = operator_name (self);
      workbench_inspector_set_thresholds (self->inspector, self->model->model_id,
                                          workbench_class_get_index (c),
                                          workbench_class_get_pass_below (c),
                                          workbench_class_get_fail_above (c),
                                          workbench_class_get_pixel (c), who);
      workbench_class_set_changed (c, who, g_get_real_time ());
    }
  g_hash_table_remove_all (self->dirty_classes);
}

static gboolean
store_thresholds_cb (gpointer data)
{
  WorkbenchSession *self = data;
  self->store_source = 0;
  store_thresholds (self);
  return G_SOURCE_REMOVE;
}

static void
on_threshold_changed (WorkbenchClass *c, GParamSpec *pspec, WorkbenchSession *self)
{
  if (strcmp (pspec->name, "pixel") != 0)
    relabel (self);
  g_hash_table_add (self->dirty_classes, c);
  g_clear_handle_id (&self->store_source, g_source_remove);
  self->store_source = g_timeout_add (STORE_DELAY_MS, store_thresholds_cb, self);
}

/* Clears every image's result and the run they belong to. */
static void
forget_results (WorkbenchSession *self)
{
  for (guint i = 0; i < self->item_array->len; i++)
    workbench_item_reset (self->item_array->pdata[i]);
  set_run_id (self, 0);
}

static void
set_model (WorkbenchSession *self, WorkbenchModelInfo *info)
{
  /* Thresholds of the old model still waiting go in first. */
  if (self->model)
    store_thresholds (self);
  g_clear_pointer (&self->model, workbench_model_info_free);
  self->model = info;
  for (guint k = 0; k < self->class_array->len; k++)
    g_signal_handlers_disconnect_by_data (self->class_array->pdata[k], self);
  g_ptr_array_set_size (self->class_array, 0);
  for (int k = 0; k < info->n_classes; k++)
    {
      WorkbenchClass *c = workbench_class_new (k, info->class_names[k], &info->stats[k]);
      const UadThresholds *th = &info->thresholds[k];
      workbench_class_set_thresholds (c, th->pass_below, th->fail_above, th->pixel,
                                      th->changed_by, th->changed_at);
      g_signal_connect (c, "notify::pass-below", G_CALLBACK (on_threshold_changed), self);
      g_signal_connect (c, "notify::fail-above", G_CALLBACK (on_threshold_changed), self);
      g_signal_connect (c, "notify::pixel", G_CALLBACK (on_threshold_changed), self);
      g_ptr_array_add (self->class_array, c);
    }
  guint old = g_list_model_get_n_items (G_LIST_MODEL (self->classes));
  g_list_store_splice (self->classes, 0, old, self->class_array->pdata, self->class_array->len);

  /* Results of another model mean nothing for this one. */
  forget_results (self);
  for (guint f = 0; f < self->folder_class->len; f++)
    g_array_index (self->folder_class, int, f) = -1;
  assign_classes (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_MODEL]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_NAME]);
}

/* ---- Model ---- */

static void reopen_record (WorkbenchSession *self, WorkbenchRunRecord *record);

typedef struct {
  WorkbenchSession *self;
  char *path;
  gboolean weights_given;
} LoadData;

static void
on_model_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  LoadData *d = data;
  g_autoptr (WorkbenchSession) self = d->self;
  g_autoptr (GError) error = NULL;
  WorkbenchModelInfo *info = workbench_inspector_load_model_finish (WORKBENCH_INSPECTOR (source),
                                                                    result, &error);
  set_loading (self, FALSE);
  if (info)
    set_model (self, info);
  else if (!d->weights_given && g_error_matches (error, UAD_ERROR, UAD_ERROR_MISMATCH))
    g_signal_emit (self, signals[SIGNAL_WEIGHTS_NEEDED], 0, d->path);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    emit_error (self, _("Could not open the model"), error);

  g_autoptr (WorkbenchRunRecord) record = g_steal_pointer (&self->pending_record);
  if (record && info)
    reopen_record (self, g_steal_pointer (&record));
  g_free (d->path);
  g_free (d);
}

void
workbench_session_open_model (WorkbenchSession *self, const char *path, const char *weights)
{
  LoadData *d = g_new0 (LoadData, 1);
  d->self = g_object_ref (self);
  d->path = g_strdup (path);
  d->weights_given = weights != NULL;
  set_loading (self, TRUE);
  workbench_inspector_load_model_async (self->inspector, path, weights, self->cancellable,
                                        on_model_loaded, d);
}

/* ---- Folders ---- */

typedef struct {
  WorkbenchSession *self;
  char **folders;
  WorkbenchRunRecord *record; /* the run being reopened, or NULL */
} ScanRequest;

static void
scan_request_free (ScanRequest *r)
{
  g_object_unref (r->self);
  g_strfreev (r->folders);
  g_clear_pointer (&r->record, workbench_run_record_free);
  g_free (r);
}

static int
find_class (WorkbenchSession *self, const char *name)
{
  for (int k = 0; name && self->model && k < self->model->n_classes; k++)
    if (strcmp (self->model->class_names[k], name) == 0)
      return k;
  return -1;
}

/* The results of a reopened run onto its images; a folder whose images were inspected as
 * another class than their path says gets that class chosen again. */
static void
apply_record (WorkbenchSession *self, const WorkbenchRunRecord *record)
{
  g_autoptr (GHashTable) by_path = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->item_array->len; i++)
    g_hash_table_insert (by_path, (gpointer) workbench_item_get_path (self->item_array->pdata[i]),
                         self->item_array->pdata[i]);
  for (guint j = 0; j < record->inspections->len; j++)
    {
      const UadInspection *in = record->inspections->pdata[j];
      WorkbenchItem *item = g_hash_table_lookup (by_path, in->image_path);
      if (item == NULL)
        continue;
      workbench_item_set_result (item, in->score, in->id);
      workbench_item_set_operator_verdict (item, in->operator_verdict, in->note);
      int k = find_class (self, in->class_name);
      if (k >= 0 && k != workbench_item_get_class_index (item))
        g_array_index (self->folder_class, int, workbench_item_get_folder (item)) = k;
    }
  for (guint k = 0; k < self->class_array->len; k++)
    for (guint i = 0; i < self->item_array->len; i++)
      if (workbench_item_get_inspected (self->item_array->pdata[i]))
        workbench_class_cover_score (self->class_array->pdata[k],
                                     workbench_item_get_score (self->item_array->pdata[i]));
  set_run_id (self, record->run->id);
}

static void
on_scanned (GObject *source, GAsyncResult *result, gpointer data)
{
  ScanRequest *r = data;
  WorkbenchSession *self = r->self;
  g_autoptr (GError) error = NULL;
  guint n_training = 0;
  g_autoptr (GPtrArray) items = r->record ? workbench_scan_files_finish (result, &error)
                                          : workbench_scan_folders_finish (result, &n_training,
                                                                           &error);
  set_loading (self, FALSE);
  if (items == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        emit_error (self, _("Could not open the folder"), error);
      scan_request_free (r);
      return;
    }
  workbench_session_cancel (self);
  set_folders (self, (const char *const *) r->folders);
  self->n_training = n_training; /* before the items, which views count with it */
  set_items (self, items);
  set_run_id (self, 0);
  assign_classes (self);
  if (r->record)
    {
      apply_record (self, r->record);
      assign_classes (self);
    }
  scan_request_free (r);
}

static void
scan (WorkbenchSession *self, const char *const *folders, WorkbenchRunRecord *record)
{
  /* A newer request replaces one under way. */
  g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  self->scan_cancellable = g_cancellable_new ();
  ScanRequest *r = g_new0 (ScanRequest, 1);
  r->self = g_object_ref (self);
  r->folders = g_strdupv ((char **) folders);
  r->record = record;
  set_loading (self, TRUE);
  if (record == NULL)
    {
      workbench_scan_folders_async (folders, self->include_training, self->scan_cancellable,
                                    on_scanned, r);
      return;
    }
  GPtrArray *ins = record->inspections;
  g_autofree const char **paths = g_new (const char *, MAX (ins->len, 1));
  for (guint i = 0; i < ins->len; i++)
    paths[i] = ((UadInspection *) ins->pdata[i])->image_path;
  workbench_scan_files_async (paths, ins->len, folders, self->scan_cancellable, on_scanned, r);
}

void
workbench_session_open_folders (WorkbenchSession *self, const char *const *folders)
{
  scan (self, folders, NULL);
}

guint
workbench_session_get_n_training (WorkbenchSession *self)
{
  return self->n_training;
}

gboolean
workbench_session_get_include_training (WorkbenchSession *self)
{
  return self->include_training;
}

void
workbench_session_set_include_training (WorkbenchSession *self, gboolean include)
{
  if (self->include_training == include || self->run_items != NULL)
    return;
  self->include_training = include;
  if (self->n_training > 0)
    scan (self, (const char *const *) self->folder_paths, NULL);
}

void
workbench_session_set_folder_class (WorkbenchSession *self, guint folder, int class_index)
{
  g_return_if_fail (folder < self->folder_class->len);
  if (g_array_index (self->folder_class, int, folder) == class_index)
    return;
  g_array_index (self->folder_class, int, folder) = class_index;
  assign_classes (self);
}

int
workbench_session_get_folder_class (WorkbenchSession *self, guint folder)
{
  g_return_val_if_fail (folder < self->folder_class->len, -1);
  return g_array_index (self->folder_class, int, folder);
}

/* ---- Reopening a run ---- */

static void
reopen_record (WorkbenchSession *self, WorkbenchRunRecord *record)
{
  scan (self, (const char *const *) record->run->folders, record);
}

static void
on_run_opened (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (WorkbenchSession) self = data;
  g_autoptr (GError) error = NULL;
  WorkbenchRunRecord *record = workbench_inspector_open_run_finish (WORKBENCH_INSPECTOR (source),
                                                                    result, &error);
  set_loading (self, FALSE);
  if (record == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        emit_error (self, _("Could not open the run"), error);
      return;
    }
  if (self->model && strcmp (self->model->sha256, record->run->model_sha256) == 0)
    {
      reopen_record (self, record);
      return;
    }
  /* The run's model first; the run follows when it is loaded. */
  g_clear_pointer (&self->pending_record, workbench_run_record_free);
  self->pending_record = record;
  workbench_session_open_model (self, record->run->model_path, NULL);
}

void
workbench_session_open_run (WorkbenchSession *self, gint64 run_id)
{
  set_loading (self, TRUE);
  workbench_inspector_open_run_async (self->inspector, run_id, self->cancellable, on_run_opened,
                                      g_object_ref (self));
}

/* ---- Inspecting ---- */

static void
on_worker_error (WorkbenchInspector *inspector, const GError *error, WorkbenchSession *self)
{
  g_signal_emit (self, signals[SIGNAL_ERROR], 0, _("Could not save to the history"),
                 error->message);
}

static void
format_progress (WorkbenchSession *self)
{
  guint total = self->run_items->len;
  double elapsed = (g_get_monotonic_time () - self->run_started) / (double) G_USEC_PER_SEC;
  double rate = elapsed > 0 ? self->run_done / elapsed : 0;
  self->progress = total ? (double) self->run_done / total : 1;
  g_free (self->progress_text);
  if (rate <= 0)
    self->progress_text = g_strdup_printf (_("%u of %u images"), self->run_done, total);
  else
    {
      int left = (int) ((total - self->run_done) / rate + 0.5);
      g_autofree char *eta = left >= 60 ? g_strdup_printf (_("%d min %02d s"), left / 60, left % 60)
                                        : g_strdup_printf (_("%d s"), left);
      /* Translators: progress of an inspection: "120 of 1000 images · 9.5 images/s · 1 min 32 s left" */
      self->progress_text = g_strdup_printf (_("%u of %u images · %.1f images/s · %s left"),
                                             self->run_done, total, rate, eta);
      if (self->run_reused)
        {
          /* Translators: appended to the progress: how many results needed no model run */
          g_autofree char *reused = g_strdup_printf (_(" · %u from the history"), self->run_reused);
          char *text = g_strconcat (self->progress_text, reused, NULL);
          g_free (self->progress_text);
          self->progress_text = text;
        }
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS_TEXT]);
}

static void
on_results (WorkbenchInspector *inspector, GPtrArray *results, WorkbenchSession *self)
{
  if (self->run_items == NULL)
    return;
  g_autofree UadVerdictThresholds *per_class = class_thresholds (self);
  for (guint j = 0; j < results->len; j++)
    {
      const WorkbenchResult *r = results->pdata[j];
      WorkbenchItem *item = self->run_items->pdata[r->index];
      set_run_id (self, r->run_id);
      self->run_done++;
      if (r->error)
        {
          workbench_item_set_error (item, r->error->message);
          continue;
        }
      workbench_item_set_result (item, r->score, r->inspection_id);
      self->run_reused += r->reused;
      workbench_item_set_operator_verdict (item, r->operator_verdict, r->note);
      int k = workbench_item_get_class_index (item);
      if (k >= 0)
        workbench_class_cover_score (self->class_array->pdata[k], r->score);
      workbench_item_set_model_verdict (item, verdict_of (self, item, per_class));
    }
  recount (self);
  format_progress (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_REUSED]);
  g_signal_emit (self, signals[SIGNAL_RELABELLED], 0);
  if (self->line)
    {
      g_autoptr (GPtrArray) done = g_ptr_array_new_full (results->len, g_object_unref);
      for (guint j = 0; j < results->len; j++)
        {
          const WorkbenchResult *r = results->pdata[j];
          g_ptr_array_add (done, g_object_ref (self->run_items->pdata[r->index]));
        }
      g_signal_emit (self, signals[SIGNAL_LINE_RESULTS], 0, done);
    }
}

/* A run or a line ended (run_id > 0: completed). */
static void
run_ended (WorkbenchSession *self, gint64 run_id, const GError *error)
{
  self->line = FALSE;
  g_clear_pointer (&self->run_items, g_ptr_array_unref);
  g_clear_object (&self->run_cancellable);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSPECTING]);
  if (error && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    emit_error (self, _("The inspection stopped"), error);
  g_signal_emit (self, signals[SIGNAL_RUN_FINISHED], 0, run_id > 0);
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (WorkbenchSession) self = data;
  g_autoptr (GError) error = NULL;
  gint64 run_id = workbench_inspector_run_finish (WORKBENCH_INSPECTOR (source), result, &error);
  run_ended (self, run_id, error);
}

static void
on_line_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (WorkbenchSession) self = data;
  g_autoptr (GError) error = NULL;
  gint64 run_id = workbench_inspector_line_begin_finish (WORKBENCH_INSPECTOR (source), result,
                                                         &error);
  run_ended (self, run_id, error);
}

/* Counts from zero for a new run, whose images are run_items. */
static void
start_run (WorkbenchSession *self)
{
  set_run_id (self, 0);
  recount (self);
  g_signal_emit (self, signals[SIGNAL_RELABELLED], 0);
  self->run_done = 0;
  self->run_reused = 0;
  self->run_started = g_get_monotonic_time ();
  self->run_cancellable = g_cancellable_new ();
  format_progress (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSPECTING]);
}

void
workbench_session_inspect (WorkbenchSession *self)
{
  guint n = self->item_array->len;
  if (self->model == NULL || n == 0 || self->run_items)
    return;
  /* The run records the thresholds as they are now. */
  store_thresholds (self);
  g_autofree const char **paths = g_new (const char *, n);
  g_autofree int *classes = g_new (int, n);
  self->run_items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n; i++)
    {
      WorkbenchItem *item = self->item_array->pdata[i];
      workbench_item_reset (item);
      workbench_item_set_error (item, NULL);
      paths[i] = workbench_item_get_path (item);
      classes[i] = workbench_item_get_class_index (item);
      g_ptr_array_add (self->run_items, g_object_ref (item));
    }
  start_run (self);
  workbench_inspector_run_async (self->inspector, paths, classes, n,
                                 (const char *const *) self->folder_paths, self->run_cancellable,
                                 on_run_done, g_object_ref (self));
}

void
workbench_session_cancel (WorkbenchSession *self)
{
  /* A line ends with what it has inspected: the run is complete for the images it took. */
  if (self->line)
    workbench_inspector_line_end (self->inspector);
  else if (self->run_cancellable)
    g_cancellable_cancel (self->run_cancellable);
}

/* ---- Line mode ---- */

void
workbench_session_begin_line (WorkbenchSession *self, const char *folder)
{
  if (self->model == NULL || self->run_items)
    return;
  store_thresholds (self);
  g_cancellable_cancel (self->scan_cancellable);
  const char *const folders[] = { folder, NULL };
  set_folders (self, folders);
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  set_items (self, none);
  self->n_training = 0;
  self->run_items = g_ptr_array_new_with_free_func (g_object_unref);
  self->line = TRUE;
  start_run (self);
  workbench_inspector_line_begin_async (self->inspector, folders, on_line_done,
                                        g_object_ref (self));
}

gboolean
workbench_session_get_line (WorkbenchSession *self)
{
  return self->line;
}

static void
on_line_scanned (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (WorkbenchSession) self = data;
  g_autoptr (GPtrArray) items = workbench_scan_files_finish (result, NULL);
  if (items == NULL || !self->line || items->len == 0)
    return;
  guint n = items->len;
  g_autofree const char **paths = g_new (const char *, n);
  g_autofree int *classes = g_new (int, n);
  g_autofree gpointer *newest_first = g_new (gpointer, n);
  gint64 now = g_get_real_time ();
  for (guint i = 0; i < n; i++)
    {
      WorkbenchItem *item = items->pdata[i];
      /* A microsecond apart, in the order they arrived. */
      workbench_item_set_arrived (item, now + i);
      assign_class (self, item);
      paths[i] = workbench_item_get_path (item);
      classes[i] = workbench_item_get_class_index (item);
      g_ptr_array_add (self->run_items, g_object_ref (item));
      g_ptr_array_add (self->item_array, g_object_ref (item));
      newest_first[n - 1 - i] = item;
    }
  /* One change of the list for the whole batch: the gallery is updated once. */
  g_list_store_splice (self->items, 0, 0, newest_first, n);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  recount (self);
  format_progress (self);
  workbench_inspector_line_add (self->inspector, paths, classes, n);
}

void
workbench_session_add_line_images (WorkbenchSession *self, const char *const *paths)
{
  if (!self->line)
    return;
  workbench_scan_files_async (paths, g_strv_length ((char **) paths),
                              (const char *const *) self->folder_paths, self->cancellable,
                              on_line_scanned, g_object_ref (self));
}

/* ---- Triage ---- */

void
workbench_session_set_operator_verdict (WorkbenchSession *self, WorkbenchItem *item,
                                        UadVerdict verdict, const char *note)
{
  gint64 id = workbench_item_get_inspection_id (item);
  g_return_if_fail (id > 0);
  workbench_item_set_operator_verdict (item, verdict, note);
  workbench_inspector_set_verdict (self->inspector, id, workbench_item_get_operator_verdict (item),
                                   workbench_item_get_note (item));
}

/* ---- Export ---- */

typedef struct {
  WorkbenchSession *self;
  char *path;
} ExportData;

static void
on_exported (GObject *source, GAsyncResult *result, gpointer data)
{
  ExportData *d = data;
  g_autoptr (WorkbenchSession) self = d->self;
  g_autoptr (GError) error = NULL;
  gboolean ok = workbench_inspector_export_finish (WORKBENCH_INSPECTOR (source), result, &error);
  self->exporting = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPORTING]);
  if (ok)
    g_signal_emit (self, signals[SIGNAL_EXPORTED], 0, d->path);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    emit_error (self, _("Could not export the report"), error);
  g_free (d->path);
  g_free (d);
}

void
workbench_session_export (WorkbenchSession *self, const char *path)
{
  g_return_if_fail (self->run_id > 0 && !self->exporting);
  ExportData *d = g_new0 (ExportData, 1);
  d->self = g_object_ref (self);
  d->path = g_strdup (path);
  WorkbenchReportFormat format = g_str_has_suffix (path, ".csv") || g_str_has_suffix (path, ".CSV")
                                 ? WORKBENCH_REPORT_CSV : WORKBENCH_REPORT_PDF;
  self->exporting = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPORTING]);
  /* Verdicts and thresholds given so far are in the report. */
  store_thresholds (self);
  workbench_inspector_export_async (self->inspector, self->run_id, path, format,
                                    self->cancellable, on_exported, d);
}

/* ---- The history file ---- */

static void
on_history_status (WorkbenchInspector *inspector, const GError *problem, WorkbenchSession *self)
{
  g_free (self->history_problem);
  self->history_problem = problem ? g_strdup (problem->message) : NULL;
  self->history_damaged = g_error_matches (problem, UAD_ERROR, UAD_ERROR_FORMAT)
                          || g_error_matches (problem, UAD_ERROR, UAD_ERROR_UNSUPPORTED);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY_DAMAGED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY_PROBLEM]);
}

static void
on_history_reopened (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (WorkbenchSession) self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *aside = NULL;
  gboolean ok = workbench_inspector_reopen_history_finish (WORKBENCH_INSPECTOR (source), result,
                                                           &aside, &error);
  set_loading (self, FALSE);
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        emit_error (self, _("Could not use the history"), error);
      return;
    }
  /* The results shown were kept in the scratch history, which is gone; the model is loaded
   * again so that it is known to the history now in use. */
  forget_results (self);
  relabel (self);
  if (self->model)
    workbench_session_open_model (self, self->model->path, self->model->weights_path);
  g_signal_emit (self, signals[SIGNAL_HISTORY_REOPENED], 0, aside);
}

void
workbench_session_reopen_history (WorkbenchSession *self, gboolean set_aside)
{
  g_return_if_fail (self->history_problem != NULL && self->run_items == NULL);
  /* Thresholds still waiting go to the scratch history now, before the model they belong to
   * is closed: afterwards they would find none. */
  if (self->model)
    store_thresholds (self);
  set_loading (self, TRUE);
  workbench_inspector_reopen_history_async (self->inspector, set_aside, self->cancellable,
                                            on_history_reopened, g_object_ref (self));
}

const char *
workbench_session_get_history_problem (WorkbenchSession *self)
{
  return self->history_problem;
}

/* ---- Object ---- */

static void
workbench_session_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  WorkbenchSession *self = WORKBENCH_SESSION (object);
  switch (prop_id)
    {
    case PROP_OPERATOR:
      g_value_set_string (value, self->operator_name);
      break;
    case PROP_HAS_MODEL:
      g_value_set_boolean (value, self->model != NULL);
      break;
    case PROP_MODEL_NAME:
      g_value_take_string (value, self->model ? g_path_get_basename (self->model->path) : NULL);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading > 0);
      break;
    case PROP_INSPECTING:
      g_value_set_boolean (value, self->run_items != NULL);
      break;
    case PROP_EXPORTING:
      g_value_set_boolean (value, self->exporting);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->item_array->len);
      break;
    case PROP_RUN_ID:
      g_value_set_int64 (value, self->run_id);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_PROGRESS_TEXT:
      g_value_set_string (value, self->progress_text);
      break;
    case PROP_N_REUSED:
      g_value_set_uint (value, self->run_reused);
      break;
    case PROP_HISTORY_PROBLEM:
      g_value_set_string (value, self->history_problem);
      break;
    case PROP_HISTORY_DAMAGED:
      g_value_set_boolean (value, self->history_damaged);
      break;
    case PROP_N_NONE:
    case PROP_N_PASS:
    case PROP_N_REVIEW:
    case PROP_N_FAIL:
      g_value_set_int (value, self->counts[prop_id - PROP_N_NONE]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_session_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  WorkbenchSession *self = WORKBENCH_SESSION (object);
  switch (prop_id)
    {
    case PROP_OPERATOR:
      g_free (self->operator_name);
      self->operator_name = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

void
workbench_session_shutdown (WorkbenchSession *self)
{
  if (self->model)
    store_thresholds (self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->scan_cancellable);
  workbench_session_cancel (self);
  workbench_inspector_shutdown (self->inspector);
}

static void
workbench_session_dispose (GObject *object)
{
  WorkbenchSession *self = WORKBENCH_SESSION (object);
  workbench_session_shutdown (self);
  for (guint k = 0; k < self->class_array->len; k++)
    g_signal_handlers_disconnect_by_data (self->class_array->pdata[k], self);
  g_ptr_array_set_size (self->class_array, 0);
  g_clear_object (&self->inspector);
  G_OBJECT_CLASS (workbench_session_parent_class)->dispose (object);
}

static void
workbench_session_finalize (GObject *object)
{
  WorkbenchSession *self = WORKBENCH_SESSION (object);
  g_object_unref (self->items);
  g_ptr_array_unref (self->item_array);
  g_object_unref (self->classes);
  g_ptr_array_unref (self->class_array);
  g_object_unref (self->folders);
  g_strfreev (self->folder_paths);
  g_array_unref (self->folder_class);
  g_clear_pointer (&self->model, workbench_model_info_free);
  g_clear_pointer (&self->pending_record, workbench_run_record_free);
  g_free (self->operator_name);
  g_object_unref (self->cancellable);
  g_clear_object (&self->scan_cancellable);
  g_free (self->progress_text);
  g_hash_table_unref (self->dirty_classes);
  g_free (self->history_problem);
  G_OBJECT_CLASS (workbench_session_parent_class)->finalize (object);
}

static void
workbench_session_class_init (WorkbenchSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = workbench_session_dispose;
  object_class->finalize = workbench_session_finalize;
  object_class->get_property = workbench_session_get_property;
  object_class->set_property = workbench_session_set_property;

  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  /* The name thresholds are stored with; empty: the account's name. */
  properties[PROP_OPERATOR] = g_param_spec_string ("operator", NULL, NULL, NULL,
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_MODEL] = g_param_spec_boolean ("has-model", NULL, NULL, FALSE, ro);
  properties[PROP_MODEL_NAME] = g_param_spec_string ("model-name", NULL, NULL, NULL, ro);
  /* A folder scan or model load is under way. */
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  properties[PROP_INSPECTING] = g_param_spec_boolean ("inspecting", NULL, NULL, FALSE, ro);
  properties[PROP_EXPORTING] = g_param_spec_boolean ("exporting", NULL, NULL, FALSE, ro);
  properties[PROP_N_ITEMS] = g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_RUN_ID] = g_param_spec_int64 ("run-id", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_PROGRESS_TEXT] = g_param_spec_string ("progress-text", NULL, NULL, NULL, ro);
  /* Results of the last run taken from the history instead of running the model. */
  properties[PROP_N_REUSED] = g_param_spec_uint ("n-reused", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_NONE] = g_param_spec_int ("n-none", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_PASS] = g_param_spec_int ("n-pass", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_REVIEW] = g_param_spec_int ("n-review", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_FAIL] = g_param_spec_int ("n-fail", NULL, NULL, 0, G_MAXINT, 0, ro);
  /* Why the history file cannot be used (NULL while it is in use): meanwhile nothing is
   * kept after the workbench closes. */
  properties[PROP_HISTORY_PROBLEM] = g_param_spec_string ("history-problem", NULL, NULL, NULL, ro);
  /* The file itself is unusable (corrupt, another program's, newer): a new history can start;
   * else (locked, read-only) trying again may work. */
  properties[PROP_HISTORY_DAMAGED] = g_param_spec_boolean ("history-damaged", NULL, NULL, FALSE,
                                                           ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* error (title, message): something the user asked for failed. */
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
                                        G_TYPE_STRING);
  /* weights-needed (model path): the model's backbone weights are not in the user's folder. */
  signals[SIGNAL_WEIGHTS_NEEDED] = g_signal_new ("weights-needed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_STRING);
  /* exported (path): a report was written. */
  signals[SIGNAL_EXPORTED] = g_signal_new ("exported", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, G_TYPE_STRING);
  /* relabelled: model verdicts may have changed (filters showing verdicts must refresh). */
  signals[SIGNAL_RELABELLED] = g_signal_new ("relabelled", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* run-finished (completed): a run ended, completed or not (cancelled, failed). */
  /* history-reopened (path or NULL): the history file is in use again; path: where the old
   * file was set aside when a new history started. */
  signals[SIGNAL_HISTORY_REOPENED] = g_signal_new ("history-reopened", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_RUN_FINISHED] = g_signal_new ("run-finished", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* line-results (GPtrArray of WorkbenchItem): images of a line just inspected (or not: see
   * their error), in the order they finished, their model verdicts decided. */
  signals[SIGNAL_LINE_RESULTS] = g_signal_new ("line-results", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
}

static void
workbench_session_init (WorkbenchSession *self)
{
  self->items = g_list_store_new (WORKBENCH_TYPE_ITEM);
  self->item_array = g_ptr_array_new_with_free_func (g_object_unref);
  self->classes = g_list_store_new (WORKBENCH_TYPE_CLASS);
  self->class_array = g_ptr_array_new_with_free_func (g_object_unref);
  self->folders = gtk_string_list_new (NULL);
  self->folder_paths = g_new0 (char *, 1);
  self->folder_class = g_array_new (FALSE, FALSE, sizeof (int));
  self->cancellable = g_cancellable_new ();
  self->dirty_classes = g_hash_table_new (NULL, NULL);
}

WorkbenchSession *
workbench_session_new (const char *history_path)
{
  WorkbenchSession *self = g_object_new (WORKBENCH_TYPE_SESSION, NULL);
  self->inspector = workbench_inspector_new (history_path);
  g_signal_connect_object (self->inspector, "results", G_CALLBACK (on_results), self, 0);
  g_signal_connect_object (self->inspector, "error", G_CALLBACK (on_worker_error), self, 0);
  g_signal_connect_object (self->inspector, "history-status", G_CALLBACK (on_history_status),
                           self, 0);
  return self;
}

WorkbenchInspector *
workbench_session_get_inspector (WorkbenchSession *self)
{
  return self->inspector;
}

GListModel *
workbench_session_get_items (WorkbenchSession *self)
{
  return G_LIST_MODEL (self->items);
}

GListModel *
workbench_session_get_classes (WorkbenchSession *self)
{
  return G_LIST_MODEL (self->classes);
}

GListModel *
workbench_session_get_folders (WorkbenchSession *self)
{
  return G_LIST_MODEL (self->folders);
}

const WorkbenchModelInfo *
workbench_session_get_model (WorkbenchSession *self)
{
  return self->model;
}

gint64
workbench_session_get_run_id (WorkbenchSession *self)
{
  return self->run_id;
}

int
workbench_session_get_count (WorkbenchSession *self, UadVerdict verdict)
{
  return self->counts[verdict];
}

/* ---- What the widgets read ---- */

typedef struct {
  GdkTexture *texture;
  guint8 *mask;
} Picture;

static void
picture_free (Picture *p)
{
  g_clear_object (&p->texture);
  g_free (p->mask);
  g_free (p);
}

static void
load_picture (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  WorkbenchItem *item = task_data;
  GError *error = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (workbench_item_get_path (item));
  Picture *p = g_new0 (Picture, 1);
  p->texture = gdk_texture_new_from_file (file, &error);
  const char *mask = workbench_item_get_mask_path (item);
  if (p->texture && mask)
    {
      p->mask = g_malloc (UAD_ANOMALY_MAP_SIZE * UAD_ANOMALY_MAP_SIZE);
      /* A mask that cannot be read is just not drawn. */
      if (!uad_mask_load (mask, UAD_ANOMALY_MAP_SIZE, p->mask, NULL))
        g_clear_pointer (&p->mask, g_free);
    }
  if (p->texture)
    g_task_return_pointer (task, p, (GDestroyNotify) picture_free);
  else
    {
      picture_free (p);
      g_task_return_error (task, error);
    }
}

void
workbench_session_load_picture_async (WorkbenchSession *self, WorkbenchItem *item,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  /* Decoding a picture needs neither the model nor the history: a thread of its own, so that
   * it does not wait behind a batch of the run. */
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_task_data (task, g_object_ref (item), g_object_unref);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, load_picture);
}

GdkTexture *
workbench_session_load_picture_finish (WorkbenchSession *self, GAsyncResult *result,
                                       guint8 **mask, GError **error)
{
  Picture *p = g_task_propagate_pointer (G_TASK (result), error);
  if (p == NULL)
    return NULL;
  GdkTexture *texture = g_steal_pointer (&p->texture);
  *mask = g_steal_pointer (&p->mask);
  picture_free (p);
  return texture;
}

/* A task of the session's own for a job of the worker, whose pointer result (freed with
 * free_func when nobody takes it) is handed on: callers see the session as the source object,
 * so that it outlives their callback. */
static GTask *
forwarding_task (WorkbenchSession *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                 gpointer user_data, GDestroyNotify free_func)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_task_data (task, (gpointer) free_func, NULL);
  return task;
}

static void
forward_pointer (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  GError *error = NULL;
  gpointer value = g_task_propagate_pointer (G_TASK (result), &error);
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, value, (GDestroyNotify) g_task_get_task_data (task));
  g_object_unref (task);
}

void
workbench_session_get_map_async (WorkbenchSession *self, WorkbenchItem *item,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  GTask *task = forwarding_task (self, cancellable, callback, user_data, g_free);
  workbench_inspector_get_map_async (self->inspector, workbench_item_get_inspection_id (item),
                                     cancellable, forward_pointer, task);
}

float *
workbench_session_get_map_finish (WorkbenchSession *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_session_render_async (WorkbenchSession *self, WorkbenchItem *item,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  GTask *task = forwarding_task (self, cancellable, callback, user_data,
                                 (GDestroyNotify) workbench_rendering_free);
  workbench_inspector_render_async (self->inspector, workbench_item_get_path (item),
                                    workbench_item_get_class_index (item), cancellable,
                                    forward_pointer, task);
}

WorkbenchRendering *
workbench_session_render_finish (WorkbenchSession *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_session_list_runs_async (WorkbenchSession *self, const UadRunFilter *filter,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  GTask *task = forwarding_task (self, cancellable, callback, user_data,
                                 (GDestroyNotify) g_ptr_array_unref);
  workbench_inspector_list_runs_async (self->inspector, filter, cancellable, forward_pointer,
                                       task);
}

GPtrArray *
workbench_session_list_runs_finish (WorkbenchSession *self, GAsyncResult *result,
                                    GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
