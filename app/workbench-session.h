/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-session.h: what the workbench has open and what it knows about it: the model and
 * its classes with their thresholds, the folders and their images, the current run.
 *
 * The session decides the model's verdicts: whenever a score arrives or a threshold moves it
 * re-labels the images concerned and recounts pass/review/fail per class and in total, on the
 * main thread and without running the model again. Threshold changes are stored (with the
 * operator's name and the time) once the slider rests; operator verdicts at once. Everything
 * slow (scanning folders, loading the model, inspecting, exporting) happens on workers; the
 * session's boolean properties say what is under way. */
#pragma once

#include <gio/gio.h>

#include "workbench-class.h"
#include "workbench-inspector.h"
#include "workbench-item.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_SESSION (workbench_session_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchSession, workbench_session, WORKBENCH, SESSION, GObject)

/* history_path: NULL for the default database. */
WorkbenchSession *workbench_session_new (const char *history_path);
/* Stops the worker (dispose does it too). */
void workbench_session_shutdown (WorkbenchSession *self);

/* The worker, for tests and benchmarks: widgets go through the session's own calls. */
WorkbenchInspector *workbench_session_get_inspector (WorkbenchSession *self);
/* WorkbenchItem, in folder order. */
GListModel *workbench_session_get_items (WorkbenchSession *self);
/* WorkbenchClass of the open model. */
GListModel *workbench_session_get_classes (WorkbenchSession *self);
/* The open folders (GtkStringList of paths). */
GListModel *workbench_session_get_folders (WorkbenchSession *self);
/* NULL until a model is loaded. */
const WorkbenchModelInfo *workbench_session_get_model (WorkbenchSession *self);
/* The run the images' results belong to (0: none yet). */
gint64 workbench_session_get_run_id (WorkbenchSession *self);

/* Opens a model (weights: NULL to find them by identity). On failure "error" is emitted;
 * when the weights were not found "weights-needed" is emitted instead. */
void workbench_session_open_model (WorkbenchSession *self, const char *path, const char *weights);
/* Replaces the open folders (NULL-terminated) and their images. */
void workbench_session_open_folders (WorkbenchSession *self, const char *const *folders);
/* MVTec training images (<class>/train) in the open folders, among the items or left out (by
 * default: the operator inspects the test images; see workbench-scan.h). */
guint workbench_session_get_n_training (WorkbenchSession *self);
gboolean workbench_session_get_include_training (WorkbenchSession *self);
/* Takes them in or leaves them out, scanning the open folders again (not while inspecting). */
void workbench_session_set_include_training (WorkbenchSession *self, gboolean include);
/* The class of a folder's images that are not in MVTec layout (-1: from the path). */
void workbench_session_set_folder_class (WorkbenchSession *self, guint folder, int class_index);
int workbench_session_get_folder_class (WorkbenchSession *self, guint folder);

/* Runs the model over every open image as a new run. */
void workbench_session_inspect (WorkbenchSession *self);
void workbench_session_cancel (WorkbenchSession *self);

/* Line mode: a run over folder that takes images as they arrive. begin_line (with a model
 * open and no run under way) replaces the folders by folder and the images by none, and starts
 * the run ("inspecting" turns TRUE); add_line_images adds images (NULL-terminated paths, once
 * each), shown at once at the front of the items and inspected in order; each batch of results
 * comes as "line-results". workbench_session_cancel ends the line: images added and not yet
 * inspected are dropped, the run is finished and "run-finished" follows. */
void workbench_session_begin_line (WorkbenchSession *self, const char *folder);
void workbench_session_add_line_images (WorkbenchSession *self, const char *const *paths);
gboolean workbench_session_get_line (WorkbenchSession *self);

/* The thresholds that judge item now: its class's, or for an unknown class the fallback of
 * uad_verdict_thresholds_for. FALSE when no model is open. */
gboolean workbench_session_get_item_thresholds (WorkbenchSession *self, WorkbenchItem *item,
                                                UadVerdictThresholds *out);

/* Sets the operator's verdict and note of an inspected image (stored at once). */
void workbench_session_set_operator_verdict (WorkbenchSession *self, WorkbenchItem *item,
                                             UadVerdict verdict, const char *note);

/* Exports the current run as a PDF, or CSV when path ends in ".csv". "exported" or "error"
 * follows. */
void workbench_session_export (WorkbenchSession *self, const char *path);

/* Reopens a past run: its model (loaded if another is open), folders and results. */
void workbench_session_open_run (WorkbenchSession *self, gint64 run_id);

/* Why the history file cannot be used ("history-problem"; NULL while it is in use). Until it
 * is, models open and inspect as usual but nothing is kept after the workbench closes. */
const char *workbench_session_get_history_problem (WorkbenchSession *self);
/* Tries the history file again (not while inspecting), after setting it aside with its log
 * when set_aside (never deleted; a new history starts). "history-reopened" follows, or "error"
 * (and "history-problem" says why now). The open model is loaded again and the results shown
 * are cleared: they were kept in the scratch history only. */
void workbench_session_reopen_history (WorkbenchSession *self, gboolean set_aside);

/* The verdict count over every image (UAD_VERDICT_NONE: not inspected). */
int workbench_session_get_count (WorkbenchSession *self, UadVerdict verdict);

/* ---- What the widgets read, through the worker or a thread of their own ---- */

/* An image file as a texture, and its ground-truth mask when it has one
 * (UAD_ANOMALY_MAP_SIZE^2 bytes, non-zero = defect, g_free; NULL when there is none or it
 * cannot be read: it is just not drawn). */
void workbench_session_load_picture_async (WorkbenchSession *self, WorkbenchItem *item,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
GdkTexture *workbench_session_load_picture_finish (WorkbenchSession *self, GAsyncResult *result,
                                                  guint8 **mask, GError **error);
/* The anomaly map of item's stored result (UAD_ANOMALY_MAP_SIZE^2 floats, g_free). */
void workbench_session_get_map_async (WorkbenchSession *self, WorkbenchItem *item,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
float *workbench_session_get_map_finish (WorkbenchSession *self, GAsyncResult *result,
                                         GError **error);
/* The open model's pictures of item: input and reconstruction decoded (it needs an image
 * decoder; see workbench_inspector_render_async). */
void workbench_session_render_async (WorkbenchSession *self, WorkbenchItem *item,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
WorkbenchRendering *workbench_session_render_finish (WorkbenchSession *self,
                                                     GAsyncResult *result, GError **error);
/* The history's runs matching filter, newest first: a GPtrArray of UadHistoryRun *. */
void workbench_session_list_runs_async (WorkbenchSession *self, const UadRunFilter *filter,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
GPtrArray *workbench_session_list_runs_finish (WorkbenchSession *self, GAsyncResult *result,
                                              GError **error);

G_END_DECLS
