/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-inspector.h: the workbench's worker thread, where the model runs and the history is
 * written, so that the main loop never waits for either.
 *
 * One thread owns the detector (model + backbone) and a connection to the history database,
 * and takes jobs in order from a queue: load a model, run it over images, store thresholds and
 * operator verdicts, read an anomaly map, render a reconstruction, export a report, reopen a
 * past run, list the runs, try the history file again. Only the session (workbench-session.h)
 * gives it jobs. A run is done a batch at a time and then goes to the back of the queue, so the
 * small jobs queued meanwhile (a verdict, a map for the viewer) wait for one batch at most, and
 * jobs queued after a write see it; a render jumps the queue. Each image's result is committed
 * to the history before it is handed back; results stream to the main thread through the
 * "results" signal. An image whose content the same model file has already inspected is not
 * run again: its stored result is copied into the run.
 *
 * Completion callbacks and signals run on the main context the inspector was made on; errors
 * reach it as GErrors (task errors, WorkbenchResult.error, the "error" signal). */
#pragma once

#include <gio/gio.h>

#include "uad-image.h"
#include "uad-model.h"
#include "workbench-class.h"
#include "workbench-history.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_INSPECTOR (workbench_inspector_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchInspector, workbench_inspector, WORKBENCH, INSPECTOR, GObject)

/* A loaded model, as the main thread needs to know it. */
typedef struct {
  char *path;                  /* the .uniad file */
  char *sha256;                /* of the .uniad file */
  gint64 model_id;             /* in the history */
  char *backbone;              /* "efficientnet_b4", "mobilenet_v2" */
  char *weights_path;          /* the backbone weights found or given */
  const char *score_kind;      /* "max", "mean", "std" */
  UadMethod method;            /* UniAD reconstructs the features; PaDiM does not */
  gboolean separate;           /* one transformer (Gaussian model) per class */
  gboolean has_decoder;        /* the model can render its reconstructions */
  int epochs;                  /* training summary (0 for PaDiM, which has no epochs) */
  char *trained;               /* when training or fitting finished (ISO 8601), may be NULL */
  int n_classes;
  char **class_names;          /* n_classes, NULL-terminated */
  WorkbenchClassStats *stats;  /* n_classes */
  UadThresholds *thresholds;   /* n_classes: the latest stored (defaults are stored first) */
} WorkbenchModelInfo;

void workbench_model_info_free (WorkbenchModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkbenchModelInfo, workbench_model_info_free)

/* One image's result, handed to the main thread. */
typedef struct {
  gint64 run_id;               /* the run it was recorded in */
  guint index;                 /* position in the run's image list */
  double score;
  gint64 inspection_id;
  gboolean reused;             /* copied from a stored result */
  UadVerdict operator_verdict; /* a reused result keeps the operator's verdict and note */
  char *note;
  GError *error;               /* the image could not be inspected (the rest is unset) */
} WorkbenchResult;

/* A reopened run: the run and its inspections (UadInspection *). */
typedef struct {
  UadHistoryRun *run;
  GPtrArray *inspections;
} WorkbenchRunRecord;

void workbench_run_record_free (WorkbenchRunRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkbenchRunRecord, workbench_run_record_free)

typedef enum {
  WORKBENCH_REPORT_PDF,
  WORKBENCH_REPORT_CSV,
} WorkbenchReportFormat;

/* Starts the worker and opens the history at history_path (NULL: the default path).
 *
 * "history-status" (GError *problem, or NULL) follows at start and after each
 * workbench_inspector_reopen_history_async: NULL when the file is in use, else why it cannot
 * be (UAD_ERROR_FORMAT or UNSUPPORTED: the file itself is unusable, corrupt, another
 * program's or from a newer workbench; UAD_ERROR_IO: not now, as when it is locked or
 * read-only). Meanwhile the worker records into a scratch history that is lost when it stops
 * (uad_history_open_scratch), so that models still open and inspect. */
WorkbenchInspector *workbench_inspector_new (const char *history_path);
/* Stops the worker once the jobs queued so far are done, except that a run in progress stops
 * after its current batch (its task fails as cancelled). Called by dispose; safe to call
 * twice; jobs submitted afterwards fail as cancelled. */
void workbench_inspector_shutdown (WorkbenchInspector *self);

/* Loads a model and its backbone: weights_path, or else the file in the user's weights folder
 * whose SHA-256 the model records (UAD_ERROR_MISMATCH when there is none: ask the user). The
 * model is added to the history; classes without stored thresholds get the defaults (pass
 * below mean + 3 std of the training scores, fail above mean + 6 std, pixel = pass), stored as
 * set by "default". */
void workbench_inspector_load_model_async (WorkbenchInspector *self, const char *model_path,
                                           const char *weights_path, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
WorkbenchModelInfo *workbench_inspector_load_model_finish (WorkbenchInspector *self,
                                                           GAsyncResult *result, GError **error);

/* Runs the loaded model over paths (n images; class_index[i] is each one's class, -1 when
 * unknown) as a new run over folders (NULL-terminated). Results arrive through "results";
 * the run's id comes back when all are done. Cancelling stops after the current batch (the
 * run stays in the history, unfinished). */
void workbench_inspector_run_async (WorkbenchInspector *self, const char *const *paths,
                                    const int *class_index, guint n,
                                    const char *const *folders, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gint64 workbench_inspector_run_finish (WorkbenchInspector *self, GAsyncResult *result,
                                       GError **error);

/* Line mode: a run that grows as images arrive (one line at a time). begin starts a run over
 * folders that stays open; add appends images to it, whose results arrive through "results"
 * with index counting from 0 over every image added; end stops it: images added but not yet
 * inspected are dropped, the run is marked finished and its id comes back through begin's
 * callback (which fails as cancelled when the workbench closes first). An add or end without
 * a line under way (begin failed) does nothing. */
void workbench_inspector_line_begin_async (WorkbenchInspector *self, const char *const *folders,
                                           GAsyncReadyCallback callback, gpointer user_data);
gint64 workbench_inspector_line_begin_finish (WorkbenchInspector *self, GAsyncResult *result,
                                              GError **error);
void workbench_inspector_line_add (WorkbenchInspector *self, const char *const *paths,
                                   const int *class_index, guint n);
void workbench_inspector_line_end (WorkbenchInspector *self);

/* Stores the thresholds of class class_index of model model_id (the loaded one; dropped if it
 * has been replaced since); they also decide the verdicts recorded from now on. Errors of
 * these fire-and-forget writes come through "error". */
void workbench_inspector_set_thresholds (WorkbenchInspector *self, gint64 model_id,
                                         int class_index, double pass_below, double fail_above,
                                         double pixel, const char *changed_by);
/* Stores an operator's verdict and note (NULL: none) of an inspection. */
void workbench_inspector_set_verdict (WorkbenchInspector *self, gint64 inspection_id,
                                      UadVerdict verdict, const char *note);

/* The stored anomaly map of an inspection, UAD_ANOMALY_MAP_SIZE^2 floats (g_free), or NULL
 * with an error. */
void workbench_inspector_get_map_async (WorkbenchInspector *self, gint64 inspection_id,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
float *workbench_inspector_get_map_finish (WorkbenchInspector *self, GAsyncResult *result,
                                           GError **error);

/* An image as the model's image decoder draws it: its features decoded (the fair reference
 * for the reconstruction, blurred alike) and its reconstructed features decoded. */
typedef struct {
  UadImage *decoded_input;
  UadImage *reconstruction;
} WorkbenchRendering;

void workbench_rendering_free (WorkbenchRendering *rendering);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkbenchRendering, workbench_rendering_free)

/* The model's pictures of an image (of class class_index, -1 when unknown), decoded by its
 * image decoder: UAD_ERROR_UNSUPPORTED when the model has none. The image on screen should
 * not wait behind the jobs queued before it: a render goes to the front of the queue and
 * waits only for the job under way (one batch of a run at most), so it may come before a
 * model load queued earlier: render again once the new model is open. */
void workbench_inspector_render_async (WorkbenchInspector *self, const char *image_path,
                                       int class_index, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
WorkbenchRendering *workbench_inspector_render_finish (WorkbenchInspector *self,
                                                       GAsyncResult *result, GError **error);

/* The runs of the history matching filter (see uad_history_list_runs), newest first: a
 * GPtrArray of UadHistoryRun *. */
void workbench_inspector_list_runs_async (WorkbenchInspector *self, const UadRunFilter *filter,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *workbench_inspector_list_runs_finish (WorkbenchInspector *self, GAsyncResult *result,
                                                 GError **error);

/* Writes a report of a run (atomically; see workbench-report.h). */
void workbench_inspector_export_async (WorkbenchInspector *self, gint64 run_id, const char *path,
                                       WorkbenchReportFormat format, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
gboolean workbench_inspector_export_finish (WorkbenchInspector *self, GAsyncResult *result,
                                            GError **error);

/* A past run and its inspections. */
void workbench_inspector_open_run_async (WorkbenchInspector *self, gint64 run_id,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);
WorkbenchRunRecord *workbench_inspector_open_run_finish (WorkbenchInspector *self,
                                                         GAsyncResult *result, GError **error);

/* Tries the history file again while it cannot be used, after setting it aside
 * (uad_history_set_aside) when set_aside, so that a new history starts. Once the file is in
 * use the open model is closed (its id belonged to the scratch history: load it again); on
 * failure the scratch history stays. *set_aside_path: where the file went (NULL when it was
 * not set aside). */
void workbench_inspector_reopen_history_async (WorkbenchInspector *self, gboolean set_aside,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer user_data);
gboolean workbench_inspector_reopen_history_finish (WorkbenchInspector *self,
                                                    GAsyncResult *result,
                                                    char **set_aside_path, GError **error);

/* Completes once every job queued before it is done (everything asked for is stored). */
void workbench_inspector_flush_async (WorkbenchInspector *self, GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean workbench_inspector_flush_finish (WorkbenchInspector *self, GAsyncResult *result,
                                           GError **error);

G_END_DECLS
