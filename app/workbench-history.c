/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history.c: the history's tables: models, thresholds, runs, images and inspections
 * (see workbench-history.h). */
#include "workbench-history-private.h"

#include <math.h>
#include <string.h>

#include "uad-error.h"
#include "uad-json.h"
#include "workbench-map-codec.h"

/* A verdict read back from the database (the CHECK constraints allow only these names). */
static UadVerdict
verdict_column (sqlite3_stmt *st, int col)
{
  UadVerdict v = UAD_VERDICT_NONE;
  uad_verdict_from_string ((const char *) sqlite3_column_text (st, col), &v, NULL);
  return v;
}

/* ---- Models ---- */

gint64
uad_history_add_model (UadHistory *history, const char *path, const char *sha256,
                       const char *backbone, const char *const *classes, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot record the model %s", path);
  g_autofree char *classes_json = history_strv_to_json (classes);
  /* One statement: new row, or the existing one (same file) with its current path. */
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "INSERT INTO models (path, sha256, backbone, classes, added) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (sha256) DO UPDATE SET path = excluded.path RETURNING id", error, what);
  if (st == NULL)
    return 0;
  history_bind_text (st, 1, path);
  history_bind_text (st, 2, sha256);
  history_bind_text (st, 3, backbone);
  history_bind_text (st, 4, classes_json);
  sqlite3_bind_int64 (st, 5, g_get_real_time ());
  return history_step_id (history, st, error, what);
}

void
uad_history_model_free (UadHistoryModel *model)
{
  if (model == NULL)
    return;
  g_free (model->path);
  g_free (model->sha256);
  g_free (model->backbone);
  g_strfreev (model->classes);
  g_free (model);
}

UadHistoryModel *
uad_history_get_model (UadHistory *history, gint64 model_id, GError **error)
{
  const char *what = "cannot read a model from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "SELECT id, path, sha256, backbone, classes, added FROM models WHERE id = ?", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  if (!history_step_row (history, st, error, what))
    {
      history_set_missing (error, "model", model_id);
      return NULL;
    }
  g_autoptr (UadHistoryModel) m = g_new0 (UadHistoryModel, 1);
  m->id = sqlite3_column_int64 (st, 0);
  m->path = history_column_dup (st, 1);
  m->sha256 = history_column_dup (st, 2);
  m->backbone = history_column_dup (st, 3);
  m->classes = history_strv_from_json (history, (const char *) sqlite3_column_text (st, 4),
                               "a model's class list", error);
  m->added = sqlite3_column_int64 (st, 5);
  return m->classes ? g_steal_pointer (&m) : NULL;
}

/* ---- Thresholds ---- */

void
uad_thresholds_clear (UadThresholds *th)
{
  g_clear_pointer (&th->changed_by, g_free);
}

gboolean
uad_history_set_thresholds (UadHistory *history, gint64 model_id, const char *class_name,
                            double pass_below, double fail_above, double pixel,
                            const char *changed_by, GError **error)
{
  UadVerdictThresholds th = { pass_below, fail_above, pixel };
  if (!uad_verdict_check_thresholds (&th, class_name, error))
    return FALSE;
  g_autoptr (UadHistoryModel) model = uad_history_get_model (history, model_id, error);
  if (model == NULL)
    return FALSE;
  if (!g_strv_contains ((const char *const *) model->classes, class_name))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "the model %s has no class '%s'",
                   model->path, class_name);
      return FALSE;
    }
  g_autofree char *what = g_strdup_printf ("cannot record the thresholds of class %s",
                                           class_name);
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "INSERT INTO thresholds (model_id, class, pass_below, fail_above, pixel, changed_by, "
    "changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, model_id);
  history_bind_text (st, 2, class_name);
  sqlite3_bind_double (st, 3, pass_below);
  sqlite3_bind_double (st, 4, fail_above);
  sqlite3_bind_double (st, 5, pixel);
  history_bind_text (st, 6, changed_by ? changed_by : "");
  sqlite3_bind_int64 (st, 7, g_get_real_time ());
  return history_step_done (history, st, error, what);
}

static void
thresholds_from_row (sqlite3_stmt *st, UadThresholds *out)
{
  out->pass_below = sqlite3_column_double (st, 0);
  out->fail_above = sqlite3_column_double (st, 1);
  out->pixel = sqlite3_column_double (st, 2);
  out->changed_by = history_column_dup (st, 3);
  out->changed_at = sqlite3_column_int64 (st, 4);
}

#define THRESHOLD_QUERY \
  "SELECT pass_below, fail_above, pixel, changed_by, changed_at FROM thresholds " \
  "WHERE model_id = ? AND class = ? ORDER BY id "

gboolean
uad_history_get_thresholds (UadHistory *history, gint64 model_id, const char *class_name,
                            UadThresholds *out, gboolean *found, GError **error)
{
  const char *what = "cannot read thresholds from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history, THRESHOLD_QUERY "DESC LIMIT 1", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, model_id);
  history_bind_text (st, 2, class_name);
  GError *local = NULL;
  *found = history_step_row (history, st, &local, what);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (*found)
    thresholds_from_row (st, out);
  return TRUE;
}

static void
thresholds_free (gpointer p)
{
  uad_thresholds_clear (p);
  g_free (p);
}

GPtrArray *
uad_history_list_thresholds (UadHistory *history, gint64 model_id, const char *class_name,
                             GError **error)
{
  const char *what = "cannot read thresholds from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history, THRESHOLD_QUERY "ASC", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  history_bind_text (st, 2, class_name);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (thresholds_free);
  GError *local = NULL;
  while (history_step_row (history, st, &local, what))
    {
      UadThresholds *th = g_new0 (UadThresholds, 1);
      thresholds_from_row (st, th);
      g_ptr_array_add (out, th);
    }
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- Runs ---- */

/* JSON snapshot of the model's current thresholds, in the model's class order. */
static char *
thresholds_snapshot (UadHistory *history, const UadHistoryModel *model, GError **error)
{
  GString *out = g_string_new ("[");
  gboolean first = TRUE;
  for (int c = 0; model->classes[c]; c++)
    {
      g_auto (UadThresholds) th = { 0 };
      gboolean found;
      if (!uad_history_get_thresholds (history, model->id, model->classes[c], &th, &found,
                                       error))
        return g_string_free (out, TRUE), NULL;
      if (!found)
        continue;
      g_string_append (out, first ? "{\"class\":" : ",{\"class\":");
      uad_json_append_string (out, model->classes[c]);
      g_string_append (out, ",\"pass_below\":");
      uad_json_append_double (out, th.pass_below);
      g_string_append (out, ",\"fail_above\":");
      uad_json_append_double (out, th.fail_above);
      g_string_append (out, ",\"pixel\":");
      uad_json_append_double (out, th.pixel);
      g_string_append_c (out, '}');
      first = FALSE;
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static gboolean
thresholds_parse (UadHistory *history, const char *text, UadHistoryRun *run, GError **error)
{
  g_autoptr (UadJson) root = uad_json_parse (text ? text : "", text ? strlen (text) : 0, NULL);
  if (root == NULL || uad_json_get_type (root) != UAD_JSON_ARRAY)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "the thresholds of run %" G_GINT64_FORMAT
                   " in %s are damaged", run->id, history->path);
      return FALSE;
    }
  run->n_thresholds = uad_json_get_length (root);
  run->thresholds = g_new0 (UadClassThresholds, run->n_thresholds);
  for (int i = 0; i < run->n_thresholds; i++)
    {
      const UadJson *e = uad_json_array_get (root, i);
      const char *name = uad_json_get_string (uad_json_object_get (e, "class"), NULL);
      UadClassThresholds *th = &run->thresholds[i];
      th->class_name = g_strdup (name ? name : "");
      th->pass_below = uad_json_get_number (uad_json_object_get (e, "pass_below"));
      th->fail_above = uad_json_get_number (uad_json_object_get (e, "fail_above"));
      th->pixel = uad_json_get_number (uad_json_object_get (e, "pixel"));
      /* A missing member reads as NaN, and no score compares with NaN: every image would be
       * sent to review, none failed. */
      if (name == NULL || !isfinite (th->pass_below) || !isfinite (th->fail_above)
          || !isfinite (th->pixel))
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "the thresholds of run %"
                       G_GINT64_FORMAT " in %s are damaged: entry %d lacks its class or a "
                       "number for pass_below, fail_above or pixel", run->id, history->path, i);
          return FALSE;
        }
    }
  return TRUE;
}

gint64
uad_history_begin_run (UadHistory *history, gint64 model_id, const char *const *folders,
                       const char *note, GError **error)
{
  if (folders == NULL || folders[0] == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "a run needs at least one folder");
      return 0;
    }
  for (int i = 0; folders[i]; i++)
    if (!g_utf8_validate (folders[i], -1, NULL)) /* the list is stored as JSON, in UTF-8 */
      {
        g_autofree char *shown = g_filename_display_name (folders[i]);
        g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                     "the folder %s: its name is not UTF-8 text, which the history records",
                     shown);
        return 0;
      }
  const char *what = "cannot record the start of a run";
  g_autoptr (UadHistoryModel) model = NULL;
  g_autofree char *snapshot = NULL;
  /* Snapshot and insert under one lock, so a threshold change cannot fall between them. */
  if (!history_begin (history, error, what))
    return 0;
  if ((model = uad_history_get_model (history, model_id, error)) == NULL
      || (snapshot = thresholds_snapshot (history, model, error)) == NULL)
    {
      history_rollback (history);
      return 0;
    }
  g_autofree char *folders_json = history_strv_to_json (folders);
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "INSERT INTO runs (model_id, folders, started, thresholds, note) VALUES (?, ?, ?, ?, ?)",
    error, what);
  if (st == NULL)
    {
      history_rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (st, 1, model_id);
  history_bind_text (st, 2, folders_json);
  sqlite3_bind_int64 (st, 3, g_get_real_time ());
  history_bind_text (st, 4, snapshot);
  history_bind_text (st, 5, note);
  if (!history_step_done (history, st, error, what))
    {
      history_rollback (history);
      return 0;
    }
  gint64 id = sqlite3_last_insert_rowid (history->db);
  return history_commit (history, error, what) ? id : 0;
}

/* Runs one UPDATE of a single row; a missing row is an INVALID error naming kind and id. */
static gboolean
update_one (UadHistory *history, sqlite3_stmt *st, const char *kind, gint64 id,
            GError **error, const char *what)
{
  if (!history_step_done (history, st, error, what))
    return FALSE;
  if (sqlite3_changes (history->db) != 1)
    {
      history_set_missing (error, kind, id);
      return FALSE;
    }
  return TRUE;
}

gboolean
uad_history_finish_run (UadHistory *history, gint64 run_id, GError **error)
{
  const char *what = "cannot record the end of a run";
  g_autoptr (sqlite3_stmt) st = history_prepare (history, "UPDATE runs SET finished = ? WHERE id = ?",
                                         error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, g_get_real_time ());
  sqlite3_bind_int64 (st, 2, run_id);
  return update_one (history, st, "run", run_id, error, what);
}

gboolean
uad_history_set_run_note (UadHistory *history, gint64 run_id, const char *note, GError **error)
{
  const char *what = "cannot record the note of a run";
  g_autoptr (sqlite3_stmt) st = history_prepare (history, "UPDATE runs SET note = ? WHERE id = ?",
                                         error, what);
  if (st == NULL)
    return FALSE;
  history_bind_text (st, 1, note);
  sqlite3_bind_int64 (st, 2, run_id);
  return update_one (history, st, "run", run_id, error, what);
}

void
uad_history_run_free (UadHistoryRun *run)
{
  if (run == NULL)
    return;
  g_free (run->model_path);
  g_free (run->model_sha256);
  g_strfreev (run->folders);
  g_free (run->note);
  for (int i = 0; i < run->n_thresholds; i++)
    g_free (run->thresholds[i].class_name);
  g_free (run->thresholds);
  g_free (run);
}

/* Runs with their counts. ?1 run id (0: any), ?2 ?3 started range (?3 = 0: open), ?4 class
 * (NULL: any; also restricts the counts), ?5 final verdict (NULL: any). */
static const char run_query[] =
  "SELECT r.id, r.model_id, m.path, m.sha256, r.folders, r.started, r.finished, r.note, "
  "  r.thresholds, count(i.id), "
  "  total (i.model_verdict = 'pass'), total (i.model_verdict = 'review'), "
  "  total (i.model_verdict = 'fail'), "
  "  total (i.id IS NOT NULL AND i.operator_verdict IS NULL), "
  "  total (i.operator_verdict = 'pass'), total (i.operator_verdict = 'review'), "
  "  total (i.operator_verdict = 'fail'), "
  "  total (coalesce (i.operator_verdict, i.model_verdict) = 'pass'), "
  "  total (coalesce (i.operator_verdict, i.model_verdict) = 'review'), "
  "  total (coalesce (i.operator_verdict, i.model_verdict) = 'fail') "
  "FROM runs r JOIN models m ON m.id = r.model_id "
  "LEFT JOIN inspections i ON i.run_id = r.id AND (?4 IS NULL OR i.class = ?4) "
  "WHERE (?1 = 0 OR r.id = ?1) AND r.started >= ?2 AND (?3 = 0 OR r.started < ?3) "
  "GROUP BY r.id "
  "HAVING (?4 IS NULL OR count (i.id) > 0) "
  "  AND (?5 IS NULL OR total (coalesce (i.operator_verdict, i.model_verdict) = ?5) > 0) "
  "ORDER BY r.started DESC, r.id DESC";

static UadHistoryRun *
run_from_row (UadHistory *history, sqlite3_stmt *st, GError **error)
{
  g_autoptr (UadHistoryRun) run = g_new0 (UadHistoryRun, 1);
  run->id = sqlite3_column_int64 (st, 0);
  run->model_id = sqlite3_column_int64 (st, 1);
  run->model_path = history_column_dup (st, 2);
  run->model_sha256 = history_column_dup (st, 3);
  run->folders = history_strv_from_json (history, (const char *) sqlite3_column_text (st, 4),
                                 "a run's folder list", error);
  if (run->folders == NULL)
    return NULL;
  run->started = sqlite3_column_int64 (st, 5);
  run->finished = sqlite3_column_int64 (st, 6);
  run->note = history_column_dup (st, 7);
  if (!thresholds_parse (history, (const char *) sqlite3_column_text (st, 8), run, error))
    return NULL;
  run->n_inspections = sqlite3_column_int (st, 9);
  for (int v = 0; v < UAD_N_VERDICTS; v++)
    {
      run->model_counts[v] = v == 0 ? 0 : sqlite3_column_int (st, 9 + v);
      run->operator_counts[v] = sqlite3_column_int (st, 13 + v);
      run->final_counts[v] = v == 0 ? 0 : sqlite3_column_int (st, 16 + v);
    }
  return g_steal_pointer (&run);
}

static GPtrArray *
query_runs (UadHistory *history, gint64 run_id, const UadRunFilter *filter, GError **error)
{
  const char *what = "cannot read runs from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history, run_query, error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  sqlite3_bind_int64 (st, 2, filter ? filter->started_from : 0);
  sqlite3_bind_int64 (st, 3, filter ? filter->started_to : 0);
  history_bind_text (st, 4, filter ? filter->class_name : NULL);
  history_bind_text (st, 5, filter ? uad_verdict_to_string (filter->verdict) : NULL);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_history_run_free);
  GError *local = NULL;
  while (history_step_row (history, st, &local, what))
    {
      UadHistoryRun *run = run_from_row (history, st, error);
      if (run == NULL)
        return NULL;
      g_ptr_array_add (out, run);
    }
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&out);
}

UadHistoryRun *
uad_history_get_run (UadHistory *history, gint64 run_id, GError **error)
{
  if (run_id <= 0)
    {
      history_set_missing (error, "run", run_id);
      return NULL;
    }
  g_autoptr (GPtrArray) runs = query_runs (history, run_id, NULL, error);
  if (runs == NULL)
    return NULL;
  if (runs->len == 0)
    {
      history_set_missing (error, "run", run_id);
      return NULL;
    }
  return g_ptr_array_steal_index (runs, 0);
}

GPtrArray *
uad_history_list_runs (UadHistory *history, const UadRunFilter *filter, GError **error)
{
  return query_runs (history, 0, filter, error);
}

/* ---- Images ---- */

gint64
uad_history_add_image (UadHistory *history, const UadImageFileInfo *info, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot record the image %s", info->path);
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "INSERT INTO images (path, sha256, width, height, size, mtime) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (path, sha256) DO UPDATE SET mtime = excluded.mtime RETURNING id",
    error, what);
  if (st == NULL)
    return 0;
  history_bind_text (st, 1, info->path);
  history_bind_text (st, 2, info->sha256);
  sqlite3_bind_int (st, 3, info->width);
  sqlite3_bind_int (st, 4, info->height);
  sqlite3_bind_int64 (st, 5, info->size);
  sqlite3_bind_int64 (st, 6, info->mtime);
  return history_step_id (history, st, error, what);
}

/* ---- Inspections ---- */

#define INSPECTION_COLUMNS \
  "i.id, i.run_id, i.image_id, im.path, im.sha256, i.class, i.score, i.pass_below, " \
  "i.fail_above, i.model_verdict, i.operator_verdict, i.note, i.inspected_at, " \
  "i.reviewed_at, EXISTS (SELECT 1 FROM maps WHERE inspection_id = i.id) " \
  "FROM inspections i JOIN images im ON im.id = i.image_id "

static UadInspection *
inspection_from_row (sqlite3_stmt *st)
{
  UadInspection *in = g_new0 (UadInspection, 1);
  in->id = sqlite3_column_int64 (st, 0);
  in->run_id = sqlite3_column_int64 (st, 1);
  in->image_id = sqlite3_column_int64 (st, 2);
  in->image_path = history_column_dup (st, 3);
  in->image_sha256 = history_column_dup (st, 4);
  in->class_name = history_column_dup (st, 5);
  in->score = sqlite3_column_double (st, 6);
  in->pass_below = sqlite3_column_double (st, 7);
  in->fail_above = sqlite3_column_double (st, 8);
  in->model_verdict = verdict_column (st, 9);
  in->operator_verdict = verdict_column (st, 10);
  in->note = history_column_dup (st, 11);
  in->inspected_at = sqlite3_column_int64 (st, 12);
  in->reviewed_at = sqlite3_column_int64 (st, 13);
  in->has_map = sqlite3_column_int (st, 14);
  return in;
}

void
uad_inspection_free (UadInspection *inspection)
{
  if (inspection == NULL)
    return;
  g_free (inspection->image_path);
  g_free (inspection->image_sha256);
  g_free (inspection->class_name);
  g_free (inspection->note);
  g_free (inspection);
}

/* The thresholds an inspection's model verdict is decided with (it has no pixel threshold). */
static gboolean
check_thresholds (double pass_below, double fail_above, GError **error)
{
  UadVerdictThresholds th = { pass_below, fail_above, 0 };
  return uad_verdict_check_thresholds (&th, NULL, error);
}

gint64
uad_history_record_inspection (UadHistory *history, gint64 run_id, gint64 image_id,
                               const char *class_name, double score, double pass_below,
                               double fail_above, const float *map, int map_w, int map_h,
                               GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot record the inspection of image %"
                                           G_GINT64_FORMAT " in run %" G_GINT64_FORMAT,
                                           image_id, run_id);
  if (!isfinite (score))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s: the score is not a number", what);
      return 0;
    }
  if (!check_thresholds (pass_below, fail_above, error))
    return 0;
  g_autoptr (GByteArray) blob = NULL;
  double lo = 0, hi = 0;
  if (map)
    {
      if (map_w <= 0 || map_h <= 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s: the map is %d x %d", what,
                       map_w, map_h);
          return 0;
        }
      for (gsize i = 0; i < (gsize) map_w * map_h; i++)
        if (!isfinite (map[i]))
          {
            g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s: the anomaly map has a "
                         "value that is not a number", what);
            return 0;
          }
      blob = workbench_map_encode (map, map_w, map_h, &lo, &hi);
    }

  g_autoptr (sqlite3_stmt) ins = history_prepare (history,
    "INSERT INTO inspections (run_id, image_id, class, score, pass_below, fail_above, "
    "model_verdict, inspected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error, what);
  g_autoptr (sqlite3_stmt) ms = map ? history_prepare (history,
    "INSERT INTO maps (inspection_id, width, height, lo, hi, data) VALUES (?, ?, ?, ?, ?, ?)",
    error, what) : NULL;
  if (ins == NULL || (map && ms == NULL) || !history_begin (history, error, what))
    return 0;
  sqlite3_bind_int64 (ins, 1, run_id);
  sqlite3_bind_int64 (ins, 2, image_id);
  history_bind_text (ins, 3, class_name);
  sqlite3_bind_double (ins, 4, score);
  sqlite3_bind_double (ins, 5, pass_below);
  sqlite3_bind_double (ins, 6, fail_above);
  history_bind_text (ins, 7, uad_verdict_to_string (uad_verdict_from_score (score, pass_below,
                                                                    fail_above)));
  sqlite3_bind_int64 (ins, 8, g_get_real_time ());
  if (!history_step_done (history, ins, error, what))
    {
      history_rollback (history);
      return 0;
    }
  gint64 id = sqlite3_last_insert_rowid (history->db);
  if (map)
    {
      sqlite3_bind_int64 (ms, 1, id);
      sqlite3_bind_int (ms, 2, map_w);
      sqlite3_bind_int (ms, 3, map_h);
      sqlite3_bind_double (ms, 4, lo);
      sqlite3_bind_double (ms, 5, hi);
      sqlite3_bind_blob (ms, 6, blob->data, blob->len, SQLITE_STATIC);
      if (!history_step_done (history, ms, error, what))
        {
          history_rollback (history);
          return 0;
        }
    }
  return history_commit (history, error, what) ? id : 0;
}

UadInspection *
uad_history_get_inspection (UadHistory *history, gint64 inspection_id, GError **error)
{
  const char *what = "cannot read an inspection from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "SELECT " INSPECTION_COLUMNS "WHERE i.id = ?", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, inspection_id);
  if (!history_step_row (history, st, error, what))
    {
      history_set_missing (error, "inspection", inspection_id);
      return NULL;
    }
  return inspection_from_row (st);
}

UadInspection *
uad_history_find_result (UadHistory *history, const char *model_sha256, const char *image_path,
                         const char *image_sha256, GError **error)
{
  const char *what = "cannot look up a stored result in the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "SELECT " INSPECTION_COLUMNS
    "JOIN runs r ON r.id = i.run_id JOIN models m ON m.id = r.model_id "
    "WHERE m.sha256 = ? AND im.path = ? AND im.sha256 = ? ORDER BY i.id DESC LIMIT 1",
    error, what);
  if (st == NULL)
    return NULL;
  history_bind_text (st, 1, model_sha256);
  history_bind_text (st, 2, image_path);
  history_bind_text (st, 3, image_sha256);
  return history_step_row (history, st, error, what) ? inspection_from_row (st) : NULL;
}

gint64
uad_history_copy_inspection (UadHistory *history, gint64 source_id, gint64 run_id,
                             double pass_below, double fail_above, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot copy inspection %" G_GINT64_FORMAT
                                           " into run %" G_GINT64_FORMAT, source_id, run_id);
  if (!check_thresholds (pass_below, fail_above, error) || !history_begin (history, error, what))
    return 0;
  g_autoptr (UadInspection) src = uad_history_get_inspection (history, source_id, error);
  if (src == NULL)
    {
      history_rollback (history);
      return 0;
    }
  g_autoptr (sqlite3_stmt) ins = history_prepare (history,
    "INSERT INTO inspections (run_id, image_id, class, score, pass_below, fail_above, "
    "model_verdict, operator_verdict, note, inspected_at, reviewed_at) "
    "SELECT ?, image_id, class, score, ?, ?, ?, operator_verdict, note, inspected_at, "
    "reviewed_at FROM inspections WHERE id = ?", error, what);
  if (ins == NULL)
    {
      history_rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (ins, 1, run_id);
  sqlite3_bind_double (ins, 2, pass_below);
  sqlite3_bind_double (ins, 3, fail_above);
  history_bind_text (ins, 4, uad_verdict_to_string (uad_verdict_from_score (src->score, pass_below,
                                                                    fail_above)));
  sqlite3_bind_int64 (ins, 5, source_id);
  if (!history_step_done (history, ins, error, what))
    {
      history_rollback (history);
      return 0;
    }
  gint64 id = sqlite3_last_insert_rowid (history->db);
  g_autoptr (sqlite3_stmt) ms = history_prepare (history,
    "INSERT INTO maps (inspection_id, width, height, lo, hi, data) "
    "SELECT ?, width, height, lo, hi, data FROM maps WHERE inspection_id = ?", error, what);
  if (ms == NULL)
    {
      history_rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (ms, 1, id);
  sqlite3_bind_int64 (ms, 2, source_id);
  if (!history_step_done (history, ms, error, what))
    {
      history_rollback (history);
      return 0;
    }
  return history_commit (history, error, what) ? id : 0;
}

gboolean
uad_history_set_operator_verdict (UadHistory *history, gint64 inspection_id,
                                  UadVerdict verdict, const char *note, GError **error)
{
  const char *what = "cannot record the operator's verdict";
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "UPDATE inspections SET operator_verdict = ?, note = ?, reviewed_at = ? WHERE id = ?",
    error, what);
  if (st == NULL)
    return FALSE;
  history_bind_text (st, 1, uad_verdict_to_string (verdict));
  history_bind_text (st, 2, note);
  if (verdict == UAD_VERDICT_NONE)
    sqlite3_bind_null (st, 3);
  else
    sqlite3_bind_int64 (st, 3, g_get_real_time ());
  sqlite3_bind_int64 (st, 4, inspection_id);
  return update_one (history, st, "inspection", inspection_id, error, what);
}

GPtrArray *
uad_history_list_inspections (UadHistory *history, gint64 run_id, GError **error)
{
  const char *what = "cannot read a run's inspections from the history";
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "SELECT " INSPECTION_COLUMNS "WHERE i.run_id = ? ORDER BY i.id", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_inspection_free);
  GError *local = NULL;
  while (history_step_row (history, st, &local, what))
    g_ptr_array_add (out, inspection_from_row (st));
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return g_steal_pointer (&out);
}

gboolean
uad_history_get_map (UadHistory *history, gint64 inspection_id, float **map, int *map_w,
                     int *map_h, GError **error)
{
  const char *what = "cannot read an anomaly map from the history";
  *map = NULL;
  g_autoptr (sqlite3_stmt) st = history_prepare (history,
    "SELECT width, height, lo, hi, data FROM maps WHERE inspection_id = ?", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, inspection_id);
  GError *local = NULL;
  if (!history_step_row (history, st, &local, what))
    {
      if (local)
        g_propagate_error (error, local);
      return local == NULL;
    }
  int w = sqlite3_column_int (st, 0), h = sqlite3_column_int (st, 1);
  *map = workbench_map_decode (sqlite3_column_blob (st, 4), sqlite3_column_bytes (st, 4), w, h,
                     sqlite3_column_double (st, 2), sqlite3_column_double (st, 3), error);
  if (*map == NULL)
    {
      g_prefix_error (error, "inspection %" G_GINT64_FORMAT " in %s: ", inspection_id,
                      history->path);
      return FALSE;
    }
  *map_w = w;
  *map_h = h;
  return TRUE;
}
