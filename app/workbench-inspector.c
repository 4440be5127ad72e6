/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE /* gettid */
#include "workbench-inspector.h"

#include "app-folders.h"
#include "uad-detector.h"
#include "uad-error.h"
#include "uad-image.h"
#include "uad-parallel.h"
#include "uad-weights.h"
#include "workbench-report.h"

#include <glib/gi18n.h>
#include <sys/resource.h>
#include <unistd.h>

/* The nice value of the model's threads: the user interface (drawing included) comes first,
 * so that the screen never waits for a batch; the model gets whatever CPU time is left. */
#define WORKER_NICE 10

typedef enum {
  JOB_LOAD_MODEL,
  JOB_RUN,
  JOB_THRESHOLDS,
  JOB_VERDICT,
  JOB_MAP,
  JOB_RENDER,
  JOB_EXPORT,
  JOB_OPEN_RUN,
  JOB_LIST_RUNS,
  JOB_FLUSH,
  JOB_REOPEN_HISTORY,
  JOB_LINE_ADD,
  JOB_LINE_END,
  JOB_QUIT,
} JobKind;

/* The images of a run still to do. */
typedef struct {
  char **paths;
  int *class_index;
  guint n, next;
  char **folders;
  gint64 run_id;
  gboolean open;             /* a line: more images may come (workbench_inspector_line_add) */
} Run;

typedef struct {
  JobKind kind;
  GTask *task;               /* NULL for the fire-and-forget writes */
  char *path, *weights;      /* LOAD_MODEL (model, weights), EXPORT (report), RENDER (image) */
  gint64 id;                 /* inspection (VERDICT, MAP), run (EXPORT, OPEN_RUN), model (THRESHOLDS) */
  int class_index;           /* THRESHOLDS, RENDER */
  double pass_below, fail_above, pixel;
  char *who;
  UadVerdict verdict;        /* VERDICT */
  char *note;
  WorkbenchReportFormat format;
  UadRunFilter filter;       /* LIST_RUNS; its class_name is owned */
  gboolean set_aside;        /* REOPEN_HISTORY */
  Run run;                   /* RUN; LINE_ADD (the images to append) */
} Job;

struct _WorkbenchInspector
{
  GObject parent_instance;

  /* Main thread. */
  GMainContext *context;
  GThread *thread;
  GAsyncQueue *queue;        /* Job * */
  char *history_path;

  /* Worker thread only. */
  UadHistory *history;       /* the file, or a scratch history while history_error is set */
  GError *history_error;     /* why the history file cannot be used */
  UadDetector *det;
  char *model_sha256;
  gint64 model_id;
  int n_classes;
  char **class_names;
  UadVerdictThresholds *thresholds; /* n_classes: what the verdicts recorded now use */
  Job *line;                 /* the line's run job, queued or parked, or NULL */
  gboolean line_parked;      /* out of the queue until images are added or the line ends */
};

G_DEFINE_FINAL_TYPE (WorkbenchInspector, workbench_inspector, G_TYPE_OBJECT)

enum {
  SIGNAL_RESULTS,
  SIGNAL_ERROR,
  SIGNAL_HISTORY_STATUS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
workbench_model_info_free (WorkbenchModelInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->sha256);
  g_free (info->backbone);
  g_free (info->weights_path);
  g_free (info->trained);
  for (int k = 0; k < info->n_classes; k++)
    uad_thresholds_clear (&info->thresholds[k]);
  g_free (info->thresholds);
  g_strfreev (info->class_names);
  g_free (info->stats);
  g_free (info);
}

void
workbench_rendering_free (WorkbenchRendering *rendering)
{
  if (rendering == NULL)
    return;
  g_clear_pointer (&rendering->decoded_input, uad_image_free);
  g_clear_pointer (&rendering->reconstruction, uad_image_free);
  g_free (rendering);
}

void
workbench_run_record_free (WorkbenchRunRecord *record)
{
  if (record == NULL)
    return;
  uad_history_run_free (record->run);
  g_ptr_array_unref (record->inspections);
  g_free (record);
}

static void
result_free (WorkbenchResult *r)
{
  g_free (r->note);
  g_clear_error (&r->error);
  g_free (r);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  g_free (job->path);
  g_free (job->weights);
  g_free (job->who);
  g_free (job->note);
  g_free ((char *) job->filter.class_name);
  g_strfreev (job->run.paths);
  g_free (job->run.class_index);
  g_strfreev (job->run.folders);
  g_free (job);
}

/* ---- Worker thread ---- */

typedef struct {
  WorkbenchInspector *self;
  GPtrArray *results;
  GError *error;
  gboolean history_status;   /* emit "history-status" with history_problem (may be NULL) */
  GError *history_problem;
} Delivery;

static gboolean
deliver (gpointer data)
{
  Delivery *d = data;
  if (d->results)
    g_signal_emit (d->self, signals[SIGNAL_RESULTS], 0, d->results);
  if (d->error)
    g_signal_emit (d->self, signals[SIGNAL_ERROR], 0, d->error);
  if (d->history_status)
    g_signal_emit (d->self, signals[SIGNAL_HISTORY_STATUS], 0, d->history_problem);
  g_clear_pointer (&d->results, g_ptr_array_unref);
  g_clear_error (&d->error);
  g_clear_error (&d->history_problem);
  g_object_unref (d->self);
  g_free (d);
  return G_SOURCE_REMOVE;
}

/* Runs deliver (d) in the main thread's loop. Not g_main_context_invoke: from a thread without
 * a context of its own that calls deliver right here whenever the main context happens to be
 * free, which emits the signals on the worker, possibly before anyone has connected to them. */
static void
deliver_in_main_loop (WorkbenchInspector *self, Delivery *d)
{
  GSource *source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT); /* in order with the jobs' GTask replies */
  g_source_set_callback (source, deliver, d, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* Hands results or an error (both taken) to the main thread. */
static void
post (WorkbenchInspector *self, GPtrArray *results, GError *error)
{
  Delivery *d = g_new0 (Delivery, 1);
  d->self = g_object_ref (self);
  d->results = results;
  d->error = error;
  deliver_in_main_loop (self, d);
}

/* Tells the main thread whether the history file is in use, or why not. */
static void
post_history_status (WorkbenchInspector *self)
{
  Delivery *d = g_new0 (Delivery, 1);
  d->self = g_object_ref (self);
  d->history_status = TRUE;
  d->history_problem = self->history_error ? g_error_copy (self->history_error) : NULL;
  deliver_in_main_loop (self, d);
}

/* Opens the history file. When it cannot be used the workbench still works, with a scratch
 * history: results, maps, verdicts and reports of this session, nothing kept afterwards. */
static void
open_history (WorkbenchInspector *self)
{
  self->history = uad_history_open (self->history_path, 0, &self->history_error);
  /* Should even that fail, every job reports the file's problem (need_history). */
  if (self->history == NULL)
    self->history = uad_history_open_scratch (NULL);
  post_history_status (self);
}

/* Replaces the scratch history with the file, set aside first when asked (a new history then
 * starts). The model goes with the scratch history, which its id belongs to. Returns where the
 * file was set aside ("" when it was not); on failure the scratch history stays. */
static char *
reopen_history (WorkbenchInspector *self, gboolean set_aside, GError **error)
{
  if (self->history_error == NULL)
    {
      g_set_error_literal (error, UAD_ERROR, UAD_ERROR_INVALID,
                           _("The inspection history is in use already"));
      return NULL;
    }
  g_autofree char *aside = NULL;
  if (set_aside && (aside = uad_history_set_aside (self->history_path, error)) == NULL)
    return NULL;
  GError *local = NULL;
  UadHistory *history = uad_history_open (self->history_path, 0, &local);
  if (history == NULL)
    {
      /* The file stays aside all the same: say where it went. */
      if (aside)
        g_prefix_error (&local, _("The old file was kept as %s, but a new history could not be "
                                  "started: "), aside);
      g_clear_error (&self->history_error);
      self->history_error = g_error_copy (local);
      post_history_status (self);
      g_propagate_error (error, local);
      return NULL;
    }
  g_clear_pointer (&self->history, uad_history_close);
  self->history = history;
  g_clear_error (&self->history_error);
  g_clear_pointer (&self->det, uad_detector_free);
  self->model_id = 0;
  post_history_status (self);
  return aside ? g_steal_pointer (&aside) : g_strdup ("");
}

static gboolean
need_history (WorkbenchInspector *self, GError **error)
{
  if (self->history)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_IO, _("The inspection history is not available: %s"),
               self->history_error->message);
  return FALSE;
}

static gboolean
need_model (WorkbenchInspector *self, GError **error)
{
  if (!need_history (self, error))
    return FALSE;
  if (self->det)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, _("No model is open"));
  return FALSE;
}

/* The thresholds the verdict of an image of class k is recorded with. */
static UadVerdictThresholds
thresholds_of (WorkbenchInspector *self, int k)
{
  return uad_verdict_thresholds_for (self->thresholds, self->n_classes, k);
}

static WorkbenchModelInfo *
load_model (WorkbenchInspector *self, Job *job, GError **error)
{
  if (!need_history (self, error))
    return NULL;
  g_autofree char *model_sha = uad_weights_sha256 (job->path, error);
  if (model_sha == NULL)
    return NULL;
  g_autofree char *weights = NULL;
  g_autofree char *weights_dir = app_weights_dir ();
  UadDetector *det = uad_detector_open (job->path, job->weights, weights_dir, &weights, error);
  if (det == NULL)
    return NULL;
  const UadModel *model = uad_detector_get_model (det);
  g_autoptr (WorkbenchModelInfo) info = g_new0 (WorkbenchModelInfo, 1);
  info->path = g_strdup (job->path);
  info->sha256 = g_strdup (model_sha);
  info->backbone = g_strdup (uad_backbone_kind_name (model->backbone));
  info->weights_path = g_steal_pointer (&weights);
  info->score_kind = uad_score_kind_name (model->score_kind);
  info->method = model->method;
  info->separate = model->separate;
  info->has_decoder = model->decoder != NULL;
  info->epochs = model->training.epochs;
  info->trained = g_strdup (model->training.date);
  info->n_classes = model->n_classes;
  info->class_names = g_new0 (char *, model->n_classes + 1);
  info->stats = g_new0 (WorkbenchClassStats, model->n_classes);
  info->thresholds = g_new0 (UadThresholds, model->n_classes);
  for (int k = 0; k < model->n_classes; k++)
    {
      const UadModelClass *c = &model->classes[k];
      info->class_names[k] = g_strdup (c->name);
      info->stats[k] = (WorkbenchClassStats) { c->n_train, c->score_mean, c->score_std,
                                               c->score_max };
    }
  info->model_id = uad_history_add_model (self->history, job->path, model_sha, info->backbone,
                                          (const char *const *) info->class_names, error);
  gboolean ok = info->model_id > 0;
  for (int k = 0; ok && k < model->n_classes; k++)
    {
      gboolean found = FALSE;
      UadThresholds *th = &info->thresholds[k];
      ok = uad_history_get_thresholds (self->history, info->model_id, info->class_names[k], th,
                                       &found, error);
      if (!ok || found)
        continue;
      UadVerdictThresholds d = uad_model_class_thresholds (model, k);
      th->pass_below = d.pass_below;
      th->fail_above = d.fail_above;
      th->pixel = d.pixel;
      th->changed_by = g_strdup (model->classes[k].has_thresholds ? "model file" : "default");
      th->changed_at = g_get_real_time ();
      ok = uad_history_set_thresholds (self->history, info->model_id, info->class_names[k],
                                       th->pass_below, th->fail_above, th->pixel, th->changed_by,
                                       error);
    }
  if (!ok)
    {
      uad_detector_free (det);
      return NULL;
    }

  /* The new model replaces the old one only now that everything about it is known. */
  g_clear_pointer (&self->det, uad_detector_free);
  self->det = det;
  g_free (self->model_sha256);
  self->model_sha256 = g_strdup (model_sha);
  self->model_id = info->model_id;
  g_strfreev (self->class_names);
  self->class_names = g_strdupv (info->class_names);
  self->n_classes = info->n_classes;
  g_free (self->thresholds);
  self->thresholds = g_new (UadVerdictThresholds, info->n_classes);
  for (int k = 0; k < info->n_classes; k++)
    self->thresholds[k] = (UadVerdictThresholds) { info->thresholds[k].pass_below,
                                                   info->thresholds[k].fail_above,
                                                   info->thresholds[k].pixel };
  return g_steal_pointer (&info);
}

/* An image waiting for the model in a batch. */
typedef struct {
  guint index;
  gint64 image_id;
} Pending;

/* Looks an image up; returns its result when it needs no model run (reused, or unreadable),
 * else NULL with *image_id set. */
static WorkbenchResult *
prepare_image (WorkbenchInspector *self, Run *run, guint i, gint64 *image_id, GError **error)
{
  const char *path = run->paths[i];
  g_autoptr (GError) local = NULL;
  g_auto (UadImageFileInfo) info = { 0 };
  if (!uad_image_file_info_read (path, &info, &local))
    {
      WorkbenchResult *r = g_new0 (WorkbenchResult, 1);
      r->run_id = run->run_id;
      r->index = i;
      r->error = g_steal_pointer (&local);
      return r;
    }
  *image_id = uad_history_add_image (self->history, &info, error);
  if (*image_id <= 0)
    return NULL;
  g_autoptr (UadInspection) stored = uad_history_find_result (self->history, self->model_sha256,
                                                              path, info.sha256, error);
  if (stored == NULL)
    return NULL;
  UadVerdictThresholds th = thresholds_of (self, run->class_index[i]);
  gint64 id = uad_history_copy_inspection (self->history, stored->id, run->run_id,
                                           th.pass_below, th.fail_above, error);
  if (id <= 0)
    return NULL;
  WorkbenchResult *r = g_new0 (WorkbenchResult, 1);
  r->run_id = run->run_id;
  r->index = i;
  r->score = stored->score;
  r->inspection_id = id;
  r->reused = TRUE;
  r->operator_verdict = stored->operator_verdict;
  r->note = g_strdup (stored->note);
  return r;
}

/* One batch of a run: up to UAD_DETECTOR_BATCH images through the model (and any number of
 * stored results on the way). Returns FALSE with an error when the history fails. */
static gboolean
run_step (WorkbenchInspector *self, Run *run, GError **error)
{
  if (run->run_id == 0)
    {
      run->run_id = uad_history_begin_run (self->history, self->model_id,
                                           (const char *const *) run->folders, NULL, error);
      if (run->run_id <= 0)
        return FALSE;
    }
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) result_free);
  Pending pending[UAD_DETECTOR_BATCH];
  const char *paths[UAD_DETECTOR_BATCH];
  int classes[UAD_DETECTOR_BATCH];
  int m = 0;
  while (run->next < run->n && m < UAD_DETECTOR_BATCH)
    {
      guint i = run->next++;
      gint64 image_id = 0;
      WorkbenchResult *r = prepare_image (self, run, i, &image_id, error);
      if (r)
        g_ptr_array_add (results, r);
      else if (*error)
        break;
      else
        {
          pending[m] = (Pending) { i, image_id };
          paths[m] = run->paths[i];
          classes[m++] = run->class_index[i];
        }
    }
  if (*error)
    {
      g_ptr_array_unref (results);
      return FALSE;
    }
  UadDetection dets[UAD_DETECTOR_BATCH];
  uad_detector_run_files (self->det, paths, m, classes, TRUE, FALSE, dets);
  for (int j = 0; j < m; j++)
    {
      WorkbenchResult *r = g_new0 (WorkbenchResult, 1);
      r->run_id = run->run_id;
      r->index = pending[j].index;
      g_ptr_array_add (results, r);
      if (dets[j].error)
        {
          r->error = g_steal_pointer (&dets[j].error);
          continue;
        }
      int k = classes[j];
      UadVerdictThresholds th = thresholds_of (self, k);
      r->score = dets[j].score;
      if (*error == NULL)
        r->inspection_id = uad_history_record_inspection (self->history, run->run_id,
                                                          pending[j].image_id,
                                                          k >= 0 ? self->class_names[k] : NULL,
                                                          r->score, th.pass_below,
                                                          th.fail_above,
                                                          dets[j].map, UAD_ANOMALY_MAP_SIZE,
                                                          UAD_ANOMALY_MAP_SIZE, error);
    }
  for (int j = 0; j < m; j++)
    uad_detection_clear (&dets[j]);
  if (*error)
    {
      g_ptr_array_unref (results);
      return FALSE;
    }
  /* A line's first step only begins its run. */
  if (results->len > 0)
    post (self, results, NULL);
  else
    g_ptr_array_unref (results);
  return TRUE;
}

/* The model's pictures of an image: its features and the transformer's reconstructed features
 * through the model's image decoder. */
static WorkbenchRendering *
render (WorkbenchInspector *self, const char *path, int class_index, GError **error)
{
  UadDetection d = { 0 };
  uad_detector_run_files (self->det, &path, 1, &class_index, FALSE, TRUE, &d);
  WorkbenchRendering *r = g_new0 (WorkbenchRendering, 1);
  if (d.error)
    g_propagate_error (error, g_steal_pointer (&d.error));
  else
    uad_detector_render (self->det, d.features, d.rec, 1, &r->decoded_input, &r->reconstruction,
                         error);
  uad_detection_clear (&d);
  if (r->reconstruction == NULL)
    g_clear_pointer (&r, workbench_rendering_free);
  return r;
}

/* Appends a LINE_ADD job's images to the line, or ends it (LINE_END: the images not yet
 * inspected are dropped), and queues the line again if it was parked. */
static void
line_update (WorkbenchInspector *self, Job *job)
{
  Run *line = &self->line->run, *add = &job->run;
  if (job->kind == JOB_LINE_ADD)
    {
      line->paths = g_renew (char *, line->paths, line->n + add->n + 1);
      line->class_index = g_renew (int, line->class_index, line->n + add->n);
      for (guint i = 0; i < add->n; i++)
        {
          line->paths[line->n + i] = g_steal_pointer (&add->paths[i]);
          line->class_index[line->n + i] = add->class_index[i];
        }
      line->n += add->n;
      line->paths[line->n] = NULL;
    }
  else
    {
      line->open = FALSE;
      line->n = line->next;
    }
  if (self->line_parked)
    {
      self->line_parked = FALSE;
      g_async_queue_push (self->queue, self->line);
    }
}

/* Runs one job; returns TRUE when the job went back to the queue (a run not finished) or was
 * parked (a line waiting for images). */
static gboolean
job_run (WorkbenchInspector *self, Job *job)
{
  g_autoptr (GError) error = NULL;
  if (job->task && g_task_return_error_if_cancelled (job->task))
    return FALSE;
  switch (job->kind)
    {
    case JOB_LOAD_MODEL:
      {
        WorkbenchModelInfo *info = load_model (self, job, &error);
        if (info)
          g_task_return_pointer (job->task, info, (GDestroyNotify) workbench_model_info_free);
        break;
      }
    case JOB_RUN:
      if (job->run.open && self->line == NULL)
        self->line = job;
      if (!need_model (self, &error) || !run_step (self, &job->run, &error))
        break;
      if (job->run.next < job->run.n && !g_cancellable_is_cancelled (g_task_get_cancellable (job->task)))
        {
          g_async_queue_push (self->queue, job);
          return TRUE;
        }
      if (job->run.open)
        {
          /* Waits for images out of the queue: line_add or line_end puts it back. */
          self->line_parked = TRUE;
          return TRUE;
        }
      if (job->run.next < job->run.n)
        g_task_return_error_if_cancelled (job->task);
      else if (uad_history_finish_run (self->history, job->run.run_id, &error))
        g_task_return_int (job->task, job->run.run_id);
      break;
    case JOB_THRESHOLDS:
      /* Thresholds of a model that has been replaced since are dropped. */
      if (!need_model (self, &error) || job->id != self->model_id)
        break;
      self->thresholds[job->class_index] = (UadVerdictThresholds) { job->pass_below,
                                                                    job->fail_above,
                                                                    job->pixel };
      uad_history_set_thresholds (self->history, self->model_id,
                                  self->class_names[job->class_index], job->pass_below,
                                  job->fail_above, job->pixel, job->who, &error);
      break;
    case JOB_VERDICT:
      if (need_history (self, &error))
        uad_history_set_operator_verdict (self->history, job->id, job->verdict, job->note, &error);
      break;
    case JOB_MAP:
      {
        float *map = NULL;
        int w = 0, h = 0;
        if (!need_history (self, &error)
            || !uad_history_get_map (self->history, job->id, &map, &w, &h, &error))
          break;
        if (map == NULL || w != UAD_ANOMALY_MAP_SIZE || h != UAD_ANOMALY_MAP_SIZE)
          {
            g_free (map);
            g_set_error_literal (&error, UAD_ERROR, UAD_ERROR_FORMAT,
                                 _("The history has no anomaly map of this image"));
            break;
          }
        g_task_return_pointer (job->task, map, g_free);
        break;
      }
    case JOB_RENDER:
      {
        if (!need_model (self, &error))
          break;
        if (uad_detector_get_model (self->det)->decoder == NULL)
          {
            g_set_error_literal (&error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                                 _("This model has no image decoder"));
            break;
          }
        WorkbenchRendering *r = render (self, job->path, job->class_index, &error);
        if (r)
          g_task_return_pointer (job->task, r, (GDestroyNotify) workbench_rendering_free);
        break;
      }
    case JOB_EXPORT:
      {
        GCancellable *cancellable = g_task_get_cancellable (job->task);
        gboolean ok = need_history (self, &error)
                      && (job->format == WORKBENCH_REPORT_PDF
                          ? uad_report_write_pdf (self->history, job->id, job->path, cancellable, &error)
                          : uad_report_write_csv (self->history, job->id, job->path, cancellable, &error));
        if (ok)
          g_task_return_boolean (job->task, TRUE);
        break;
      }
    case JOB_OPEN_RUN:
      {
        if (!need_history (self, &error))
          break;
        g_autoptr (WorkbenchRunRecord) record = g_new0 (WorkbenchRunRecord, 1);
        record->run = uad_history_get_run (self->history, job->id, &error);
        if (record->run)
          record->inspections = uad_history_list_inspections (self->history, job->id, &error);
        if (record->inspections)
          g_task_return_pointer (job->task, g_steal_pointer (&record),
                                 (GDestroyNotify) workbench_run_record_free);
        break;
      }
    case JOB_LIST_RUNS:
      {
        GPtrArray *runs = need_history (self, &error)
                          ? uad_history_list_runs (self->history, &job->filter, &error) : NULL;
        if (runs)
          g_task_return_pointer (job->task, runs, (GDestroyNotify) g_ptr_array_unref);
        break;
      }
    case JOB_FLUSH:
      g_task_return_boolean (job->task, TRUE);
      break;
    case JOB_REOPEN_HISTORY:
      {
        char *aside = reopen_history (self, job->set_aside, &error);
        if (aside)
          g_task_return_pointer (job->task, aside, g_free);
        break;
      }
    case JOB_LINE_ADD:
    case JOB_LINE_END:
      if (self->line)
        line_update (self, job);
      break;
    case JOB_QUIT:
      g_assert_not_reached ();
    }
  if (error && job->task)
    g_task_return_error (job->task, g_steal_pointer (&error));
  else if (error)
    post (self, NULL, g_steal_pointer (&error));
  return FALSE;
}

static gpointer
worker (gpointer data)
{
  WorkbenchInspector *self = data;
  /* On Linux the nice value belongs to the thread, and threads inherit it: lowered here, and
   * the core's compute threads started here (their first use), they all yield to the UI. */
  setpriority (PRIO_PROCESS, gettid (), WORKER_NICE);
  uad_parallel_get_threads ();
  open_history (self);
  for (;;)
    {
      Job *job = g_async_queue_pop (self->queue);
      if (job->kind == JOB_QUIT)
        {
          job_free (job);
          break;
        }
      if (!job_run (self, job))
        {
          if (job == self->line)
            self->line = NULL;
          job_free (job);
        }
    }
  /* A parked line is in no queue. */
  if (self->line && self->line_parked)
    g_async_queue_push (self->queue, self->line);
  self->line = NULL;
  /* Jobs still queued are answered as cancelled. */
  Job *job;
  while ((job = g_async_queue_try_pop (self->queue)))
    {
      if (job->task)
        g_task_return_new_error (job->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 _("The workbench is closing"));
      job_free (job);
    }
  g_clear_pointer (&self->det, uad_detector_free);
  g_clear_pointer (&self->history, uad_history_close);
  return NULL;
}

/* ---- Main thread ---- */

static Job *
job_new (WorkbenchInspector *self, JobKind kind, GCancellable *cancellable,
         GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  Job *job = g_new0 (Job, 1);
  job->kind = kind;
  if (callback)
    {
      job->task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (job->task, source_tag);
    }
  return job;
}

static void
submit (WorkbenchInspector *self, Job *job)
{
  if (self->thread)
    {
      /* A render is for the image on screen and reads nothing the queued jobs write. */
      if (job->kind == JOB_RENDER)
        g_async_queue_push_front (self->queue, job);
      else
        g_async_queue_push (self->queue, job);
      return;
    }
  if (job->task)
    g_task_return_new_error (job->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The workbench is closing"));
  job_free (job);
}

void
workbench_inspector_shutdown (WorkbenchInspector *self)
{
  if (self->thread == NULL)
    return;
  /* Writes queued before are done; a run in progress stops after its current batch (it goes
   * back to the queue behind QUIT). */
  Job *quit = g_new0 (Job, 1);
  quit->kind = JOB_QUIT;
  g_async_queue_push (self->queue, quit);
  g_thread_join (g_steal_pointer (&self->thread));
}

static void
workbench_inspector_dispose (GObject *object)
{
  workbench_inspector_shutdown (WORKBENCH_INSPECTOR (object));
  G_OBJECT_CLASS (workbench_inspector_parent_class)->dispose (object);
}

static void
workbench_inspector_finalize (GObject *object)
{
  WorkbenchInspector *self = WORKBENCH_INSPECTOR (object);
  g_async_queue_unref (self->queue);
  g_main_context_unref (self->context);
  g_free (self->history_path);
  g_clear_error (&self->history_error);
  g_free (self->model_sha256);
  g_strfreev (self->class_names);
  g_free (self->thresholds);
  G_OBJECT_CLASS (workbench_inspector_parent_class)->finalize (object);
}

static void
workbench_inspector_class_init (WorkbenchInspectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = workbench_inspector_dispose;
  object_class->finalize = workbench_inspector_finalize;

  /* results (GPtrArray of WorkbenchResult *): images done, in the order they finished. */
  signals[SIGNAL_RESULTS] = g_signal_new ("results", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
  /* error (GError): a fire-and-forget write (thresholds, verdict) failed. */
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /* history-status (GError or NULL): see workbench-inspector.h. */
  signals[SIGNAL_HISTORY_STATUS] = g_signal_new ("history-status", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
workbench_inspector_init (WorkbenchInspector *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->queue = g_async_queue_new ();
}

WorkbenchInspector *
workbench_inspector_new (const char *history_path)
{
  WorkbenchInspector *self = g_object_new (WORKBENCH_TYPE_INSPECTOR, NULL);
  self->history_path = history_path ? g_strdup (history_path) : app_history_default_path ();
  self->thread = g_thread_new ("workbench-inspector", worker, self);
  return self;
}

/* Copies n images and their classes into run. */
static void
run_set_images (Run *run, const char *const *paths, const int *class_index, guint n)
{
  run->paths = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    run->paths[i] = g_strdup (paths[i]);
  run->class_index = g_memdup2 (class_index, MAX (n, 1) * sizeof (int));
  run->n = n;
}

void
workbench_inspector_load_model_async (WorkbenchInspector *self, const char *model_path,
                                      const char *weights_path, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = job_new (self, JOB_LOAD_MODEL, cancellable, callback, user_data,
                      workbench_inspector_load_model_async);
  job->path = g_strdup (model_path);
  job->weights = g_strdup (weights_path);
  submit (self, job);
}

WorkbenchModelInfo *
workbench_inspector_load_model_finish (WorkbenchInspector *self, GAsyncResult *result,
                                       GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_inspector_run_async (WorkbenchInspector *self, const char *const *paths,
                               const int *class_index, guint n, const char *const *folders,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  Job *job = job_new (self, JOB_RUN, cancellable, callback, user_data,
                      workbench_inspector_run_async);
  run_set_images (&job->run, paths, class_index, n);
  job->run.folders = g_strdupv ((char **) folders);
  submit (self, job);
}

gint64
workbench_inspector_run_finish (WorkbenchInspector *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

void
workbench_inspector_set_thresholds (WorkbenchInspector *self, gint64 model_id, int class_index,
                                    double pass_below, double fail_above, double pixel,
                                    const char *changed_by)
{
  Job *job = job_new (self, JOB_THRESHOLDS, NULL, NULL, NULL, NULL);
  job->id = model_id;
  job->class_index = class_index;
  job->pass_below = pass_below;
  job->fail_above = fail_above;
  job->pixel = pixel;
  job->who = g_strdup (changed_by);
  submit (self, job);
}

void
workbench_inspector_set_verdict (WorkbenchInspector *self, gint64 inspection_id,
                                 UadVerdict verdict, const char *note)
{
  Job *job = job_new (self, JOB_VERDICT, NULL, NULL, NULL, NULL);
  job->id = inspection_id;
  job->verdict = verdict;
  job->note = g_strdup (note);
  submit (self, job);
}

void
workbench_inspector_get_map_async (WorkbenchInspector *self, gint64 inspection_id,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  Job *job = job_new (self, JOB_MAP, cancellable, callback, user_data,
                      workbench_inspector_get_map_async);
  job->id = inspection_id;
  submit (self, job);
}

float *
workbench_inspector_get_map_finish (WorkbenchInspector *self, GAsyncResult *result,
                                    GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_inspector_render_async (WorkbenchInspector *self, const char *image_path,
                                  int class_index, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = job_new (self, JOB_RENDER, cancellable, callback, user_data,
                      workbench_inspector_render_async);
  job->path = g_strdup (image_path);
  job->class_index = class_index;
  submit (self, job);
}

WorkbenchRendering *
workbench_inspector_render_finish (WorkbenchInspector *self, GAsyncResult *result,
                                   GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_inspector_export_async (WorkbenchInspector *self, gint64 run_id, const char *path,
                                  WorkbenchReportFormat format, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = job_new (self, JOB_EXPORT, cancellable, callback, user_data,
                      workbench_inspector_export_async);
  job->id = run_id;
  job->path = g_strdup (path);
  job->format = format;
  submit (self, job);
}

gboolean
workbench_inspector_export_finish (WorkbenchInspector *self, GAsyncResult *result,
                                   GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
workbench_inspector_open_run_async (WorkbenchInspector *self, gint64 run_id,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  Job *job = job_new (self, JOB_OPEN_RUN, cancellable, callback, user_data,
                      workbench_inspector_open_run_async);
  job->id = run_id;
  submit (self, job);
}

WorkbenchRunRecord *
workbench_inspector_open_run_finish (WorkbenchInspector *self, GAsyncResult *result,
                                     GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_inspector_list_runs_async (WorkbenchInspector *self, const UadRunFilter *filter,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  Job *job = job_new (self, JOB_LIST_RUNS, cancellable, callback, user_data,
                      workbench_inspector_list_runs_async);
  job->filter = *filter;
  job->filter.class_name = g_strdup (filter->class_name);
  submit (self, job);
}

GPtrArray *
workbench_inspector_list_runs_finish (WorkbenchInspector *self, GAsyncResult *result,
                                      GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
workbench_inspector_flush_async (WorkbenchInspector *self, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  submit (self, job_new (self, JOB_FLUSH, NULL, callback, user_data,
                         workbench_inspector_flush_async));
}

gboolean
workbench_inspector_flush_finish (WorkbenchInspector *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
workbench_inspector_reopen_history_async (WorkbenchInspector *self, gboolean set_aside,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = job_new (self, JOB_REOPEN_HISTORY, cancellable, callback, user_data,
                      workbench_inspector_reopen_history_async);
  job->set_aside = set_aside;
  submit (self, job);
}

void
workbench_inspector_line_begin_async (WorkbenchInspector *self, const char *const *folders,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = job_new (self, JOB_RUN, NULL, callback, user_data,
                      workbench_inspector_line_begin_async);
  job->run.paths = g_new0 (char *, 1);
  job->run.folders = g_strdupv ((char **) folders);
  job->run.open = TRUE;
  submit (self, job);
}

gint64
workbench_inspector_line_begin_finish (WorkbenchInspector *self, GAsyncResult *result,
                                       GError **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

void
workbench_inspector_line_add (WorkbenchInspector *self, const char *const *paths,
                              const int *class_index, guint n)
{
  Job *job = job_new (self, JOB_LINE_ADD, NULL, NULL, NULL, NULL);
  run_set_images (&job->run, paths, class_index, n);
  submit (self, job);
}

void
workbench_inspector_line_end (WorkbenchInspector *self)
{
  submit (self, job_new (self, JOB_LINE_END, NULL, NULL, NULL, NULL));
}

gboolean
workbench_inspector_reopen_history_finish (WorkbenchInspector *self, GAsyncResult *result,
                                           char **set_aside_path, GError **error)
{
  char *aside = g_task_propagate_pointer (G_TASK (result), error);
  if (aside == NULL)
    return FALSE;
  if (*aside)
    *set_aside_path = aside;
  else
    {
      *set_aside_path = NULL;
      g_free (aside);
    }
  return TRUE;
}
