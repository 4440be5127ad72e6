/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history.h: the workbench's inspection history, an SQLite database (by default
 * $XDG_DATA_HOME/uniad-workbench/history.sqlite3).
 *
 * It records the models used, the runs (one run = one model over one or more folders), the
 * images (identified by path and content SHA-256), one inspection per image and run (score,
 * class, the thresholds that applied, the model's verdict, the operator's verdict and note, and
 * the anomaly map), and the thresholds set per model and class (every change is kept; the
 * latest wins).
 *
 * Every write is its own transaction, committed before the call returns: a workbench killed
 * mid-run loses at most the image in flight. The database runs in WAL mode, so a second
 * connection (another thread, or another workbench) can read while a run writes. A connection
 * that finds the database locked waits up to busy_timeout_ms, then fails with a clear error.
 * A file that is not a history database (corrupt, or from a newer workbench) is refused and
 * never modified.
 *
 * Times are microseconds since 1970-01-01 UTC (g_get_real_time ()); 0 means "not set".
 * Errors are UAD_ERROR: IO (cannot open/write, locked, disk full), FORMAT (not a history
 * database), UNSUPPORTED (schema newer than this program), INVALID (bad argument: unknown id,
 * thresholds out of order, non-finite score).
 *
 * A UadHistory is one SQLite connection: use it from one thread at a time (open another one in
 * a worker thread). */
#pragma once

#include <glib.h>

#include "uad-verdict.h"
#include "workbench-image-info.h"

#define UAD_HISTORY_SCHEMA_VERSION 1
#define UAD_HISTORY_BUSY_TIMEOUT_MS 5000

typedef struct UadHistory UadHistory;

/* Opens (creating it and its folder if missing) the database at path (NULL:
 * app_history_default_path ()) and brings its schema up to date: migrations run in one
 * transaction, so a failure leaves the file as it was. busy_timeout_ms <= 0 means UAD_HISTORY_BUSY_TIMEOUT_MS. */
UadHistory *uad_history_open (const char *path, int busy_timeout_ms, GError **error);
/* A history kept only while it is open (SQLite's private temporary database, deleted on
 * close): the workbench works with it when the history file cannot be used, so that results,
 * maps, verdicts and reports of the session still work; nothing outlives it. Its path is "". */
UadHistory *uad_history_open_scratch (GError **error);
/* Moves the file at path aside to "path.damaged-YYYYMMDD-HHMMSS" (local time; "-2", "-3"...
 * appended when that is taken), its -wal and -shm companions along with it (to the new name
 * plus "-wal", "-shm"), so that a new history can start at path. Nothing is deleted or
 * overwritten. Returns the new path of the file. Close every connection to it first. */
char *uad_history_set_aside (const char *path, GError **error);
void uad_history_close (UadHistory *history);
const char *uad_history_get_path (UadHistory *history);

/* ---- Models ---- */

typedef struct {
  gint64 id;
  char *path;           /* where the file was when last added */
  char *sha256;         /* SHA-256 of the .uniad file (uad_weights_sha256), lowercase hex */
  char *backbone;       /* "efficientnet_b4", "mobilenet_v2" */
  char **classes;       /* NULL-terminated class names */
  gint64 added;
} UadHistoryModel;

/* The id of the model whose file has this sha256; a new row if there is none (an existing row
 * gets path updated, since the same file may have moved). classes: NULL-terminated. */
gint64 uad_history_add_model (UadHistory *history, const char *path, const char *sha256,
                              const char *backbone, const char *const *classes,
                              GError **error);
UadHistoryModel *uad_history_get_model (UadHistory *history, gint64 model_id, GError **error);
void uad_history_model_free (UadHistoryModel *model);

/* ---- Thresholds (per model and class; each change kept, the latest wins) ---- */

typedef struct {
  double pass_below;    /* image score below this: pass */
  double fail_above;    /* image score above this: fail (between the two: review) */
  double pixel;         /* anomaly-map value above which a pixel is marked */
  char *changed_by;     /* who set them ("default", an operator's name) */
  gint64 changed_at;
} UadThresholds;

void uad_thresholds_clear (UadThresholds *th);

/* Requires one of the model's classes and finite values with pass_below <= fail_above (else
 * UAD_ERROR_INVALID). */
gboolean uad_history_set_thresholds (UadHistory *history, gint64 model_id,
                                     const char *class_name, double pass_below,
                                     double fail_above, double pixel, const char *changed_by,
                                     GError **error);
/* The latest thresholds of (model, class): TRUE with *found FALSE when none were ever set. */
gboolean uad_history_get_thresholds (UadHistory *history, gint64 model_id,
                                     const char *class_name, UadThresholds *out,
                                     gboolean *found, GError **error);
/* Every change of (model, class), oldest first: a GPtrArray of UadThresholds * (owned). */
GPtrArray *uad_history_list_thresholds (UadHistory *history, gint64 model_id,
                                        const char *class_name, GError **error);

/* ---- Runs ---- */

typedef struct {
  char *class_name;
  double pass_below, fail_above, pixel;
} UadClassThresholds;

typedef struct {
  gint64 id;
  gint64 model_id;
  char *model_path;     /* the model's path and SHA-256, for display */
  char *model_sha256;
  char **folders;       /* NULL-terminated */
  gint64 started;
  gint64 finished;      /* 0 while running, or when the run was interrupted */
  char *note;           /* NULL if none */
  /* The model's latest thresholds per class when the run began (classes never given thresholds
   * are absent). Each inspection also records the thresholds its verdict used. */
  int n_thresholds;
  UadClassThresholds *thresholds;
  /* Counts over the run's inspections (restricted to the filter's class when listing with one),
   * indexed by UadVerdict: model verdicts ([NONE] is 0), operator verdicts ([NONE] = not
   * reviewed), and final verdicts (the operator's when given, else the model's). */
  int n_inspections;
  int model_counts[UAD_N_VERDICTS];
  int operator_counts[UAD_N_VERDICTS];
  int final_counts[UAD_N_VERDICTS];
} UadHistoryRun;

/* Starts a run of model_id over folders (NULL-terminated, at least one) and snapshots the
 * model's latest thresholds. */
gint64 uad_history_begin_run (UadHistory *history, gint64 model_id,
                              const char *const *folders, const char *note, GError **error);
/* Marks the run finished now. */
gboolean uad_history_finish_run (UadHistory *history, gint64 run_id, GError **error);
gboolean uad_history_set_run_note (UadHistory *history, gint64 run_id, const char *note,
                                   GError **error);
UadHistoryRun *uad_history_get_run (UadHistory *history, gint64 run_id, GError **error);
void uad_history_run_free (UadHistoryRun *run);

typedef struct {
  gint64 started_from;  /* runs started at or after this (0: no lower bound) */
  gint64 started_to;    /* runs started before this (0: no upper bound) */
  const char *class_name; /* runs with an inspection of this class; counts only that class */
  UadVerdict verdict;   /* runs with an inspection of this final verdict (NONE: any) */
} UadRunFilter;

/* Runs matching filter (NULL: all), newest first: a GPtrArray of UadHistoryRun * (owned). */
GPtrArray *uad_history_list_runs (UadHistory *history, const UadRunFilter *filter,
                                  GError **error);

/* ---- Images ---- */

/* The id of the image with info's (path, sha256); added if new. */
gint64 uad_history_add_image (UadHistory *history, const UadImageFileInfo *info,
                              GError **error);

/* ---- Inspections ---- */

typedef struct {
  gint64 id;
  gint64 run_id;
  gint64 image_id;
  char *image_path;
  char *image_sha256;
  char *class_name;     /* NULL when the image's class is unknown */
  double score;
  double pass_below, fail_above;  /* the thresholds model_verdict was decided with */
  UadVerdict model_verdict;
  UadVerdict operator_verdict;    /* NONE until an operator decides */
  char *note;           /* NULL if none */
  gint64 inspected_at;
  gint64 reviewed_at;   /* 0 until an operator decides */
  gboolean has_map;
} UadInspection;

void uad_inspection_free (UadInspection *inspection);

/* Records one result, committed before returning. The model verdict is
 * uad_verdict_from_score (score, pass_below, fail_above). map (map_w x map_h float32, may be
 * NULL) is stored in the database (see uad_history_get_map). Returns the inspection id. */
gint64 uad_history_record_inspection (UadHistory *history, gint64 run_id, gint64 image_id,
                                      const char *class_name, double score, double pass_below,
                                      double fail_above, const float *map, int map_w,
                                      int map_h, GError **error);

/* The latest stored result of the model with file SHA-256 model_sha256 on the image at
 * image_path (absolute, as UadImageFileInfo.path) with content image_sha256, or NULL (error
 * unset) when there is none: the workbench reuses it instead of running the model again (see
 * uad_history_copy_inspection). */
UadInspection *uad_history_find_result (UadHistory *history, const char *model_sha256,
                                        const char *image_path, const char *image_sha256,
                                        GError **error);

/* Copies inspection source_id into run_id (score, class, map, times, and the operator's
 * verdict and note, which were given for this very image content), deciding the model verdict
 * again with the given thresholds. Returns the new inspection id. */
gint64 uad_history_copy_inspection (UadHistory *history, gint64 source_id, gint64 run_id,
                                    double pass_below, double fail_above, GError **error);

/* Sets (or with UAD_VERDICT_NONE clears) the operator's verdict and note (NULL: none);
 * reviewed_at becomes now (0 when cleared). */
gboolean uad_history_set_operator_verdict (UadHistory *history, gint64 inspection_id,
                                           UadVerdict verdict, const char *note,
                                           GError **error);

UadInspection *uad_history_get_inspection (UadHistory *history, gint64 inspection_id,
                                           GError **error);
/* The run's inspections in the order they were recorded: GPtrArray of UadInspection *. */
GPtrArray *uad_history_list_inspections (UadHistory *history, gint64 run_id, GError **error);

/* The anomaly map of an inspection (newly allocated, *map_w x *map_h floats). TRUE with *map
 * NULL when none was stored. Maps are stored as 16-bit steps between the map's minimum and
 * maximum (error below 1e-5 of the map's range), zlib-compressed. */
gboolean uad_history_get_map (UadHistory *history, gint64 inspection_id, float **map,
                              int *map_w, int *map_h, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadHistory, uad_history_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadHistoryModel, uad_history_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadHistoryRun, uad_history_run_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadInspection, uad_inspection_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UadThresholds, uad_thresholds_clear)
