/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history.c: the inspection history on SQLite (see workbench-history.h). */
#include "workbench-history.h"

#include "app-folders.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "uad-error.h"
#include "uad-json.h"
#include "uad-weights.h"

/* PRAGMA application_id of a history database ("UADW"): tells our file from other SQLite files. */
#define HISTORY_APPLICATION_ID 0x55414457

/* migrations[i] takes the schema from user_version i to i + 1. Append, never edit. */
static const char *const migrations[] = {
  /* 1: the initial schema. Times are microseconds since the epoch (UTC). */
  "CREATE TABLE models ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL,"
  "  sha256 TEXT NOT NULL UNIQUE,"         /* of the .uniad file */
  "  backbone TEXT NOT NULL,"
  "  classes TEXT NOT NULL,"               /* JSON array of class names */
  "  added INTEGER NOT NULL);"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY,"
  "  model_id INTEGER NOT NULL REFERENCES models (id),"
  "  folders TEXT NOT NULL,"               /* JSON array of folder paths */
  "  started INTEGER NOT NULL,"
  "  finished INTEGER,"                    /* NULL while running or when interrupted */
  "  thresholds TEXT NOT NULL,"            /* JSON [{class, pass_below, fail_above, pixel}] */
  "  note TEXT);"
  "CREATE INDEX runs_started ON runs (started);"
  "CREATE TABLE images ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL,"
  "  sha256 TEXT NOT NULL,"                /* of the file's bytes */
  "  width INTEGER NOT NULL,"
  "  height INTEGER NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  mtime INTEGER NOT NULL,"
  "  UNIQUE (path, sha256));"
  "CREATE TABLE inspections ("
  "  id INTEGER PRIMARY KEY,"
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id),"
  "  class TEXT,"                          /* NULL: class unknown */
  "  score REAL NOT NULL,"
  "  pass_below REAL NOT NULL,"            /* the thresholds model_verdict was decided with */
  "  fail_above REAL NOT NULL,"
  "  model_verdict TEXT NOT NULL CHECK (model_verdict IN ('pass', 'review', 'fail')),"
  "  operator_verdict TEXT CHECK (operator_verdict IN ('pass', 'review', 'fail')),"
  "  note TEXT,"
  "  inspected_at INTEGER NOT NULL,"
  "  reviewed_at INTEGER);"
  "CREATE INDEX inspections_run ON inspections (run_id);"
  "CREATE INDEX inspections_image ON inspections (image_id);"
  /* Anomaly maps apart from the inspections, so listing never reads them. data: zlib of
   * width*height little-endian uint16 q, horizontal differences along each row;
   * value = lo + q (hi - lo) / 65535. */
  "CREATE TABLE maps ("
  "  inspection_id INTEGER PRIMARY KEY REFERENCES inspections (id) ON DELETE CASCADE,"
  "  width INTEGER NOT NULL,"
  "  height INTEGER NOT NULL,"
  "  lo REAL NOT NULL,"
  "  hi REAL NOT NULL,"
  "  data BLOB NOT NULL);"
  "CREATE TABLE thresholds ("
  "  id INTEGER PRIMARY KEY,"              /* order of changes: the highest id is current */
  "  model_id INTEGER NOT NULL REFERENCES models (id),"
  "  class TEXT NOT NULL,"
  "  pass_below REAL NOT NULL,"
  "  fail_above REAL NOT NULL,"
  "  pixel REAL NOT NULL,"
  "  changed_by TEXT NOT NULL,"
  "  changed_at INTEGER NOT NULL);"
  "CREATE INDEX thresholds_model_class ON thresholds (model_id, class, id);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == UAD_HISTORY_SCHEMA_VERSION);

struct UadHistory {
  sqlite3 *db;
  char *path;
  int busy_timeout_ms;
};

/* A verdict read back from the database (the CHECK constraints allow only these names). */
static UadVerdict
verdict_column (sqlite3_stmt *st, int col)
{
  UadVerdict v = UAD_VERDICT_NONE;
  uad_verdict_from_string ((const char *) sqlite3_column_text (st, col), &v, NULL);
  return v;
}

/* ---- Errors and statements ---- */

/* Turns the connection's last error into a GError: "what (path): reason". */
static void
set_db_error (UadHistory *h, int rc, GError **error, const char *what)
{
  const char *msg = sqlite3_errmsg (h->db);
  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO,
                   "%s: the history database %s is in use by another program "
                   "(still locked after %d ms)", what, h->path, h->busy_timeout_ms);
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: %s is not a workbench history database or is damaged (%s); "
                   "it was left untouched", what, h->path, msg);
      break;
    case SQLITE_FULL:
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO,
                   "%s: the disk holding %s is full", what, h->path);
      break;
    case SQLITE_CONSTRAINT:
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "%s: %s", what, msg);
      break;
    default:
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s (%s): %s", what, h->path, msg);
    }
}

static sqlite3_stmt *
prepare (UadHistory *h, const char *sql, GError **error, const char *what)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (h->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    {
      set_db_error (h, rc, error, what);
      return NULL;
    }
  return st;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Runs st to completion (statements that return no rows, or whose rows are not needed). */
static gboolean
step_done (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    {
      set_db_error (h, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

/* One step expecting a row: TRUE with a row, FALSE with *error set, or FALSE with no error when
 * there is no row. */
static gboolean
step_row (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    set_db_error (h, rc, error, what);
  return FALSE;
}

/* The id an INSERT ... RETURNING id gives. */
static gint64
step_id (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  if (!step_row (h, st, error, what))
    {
      if (error && *error == NULL)
        g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s (%s): no row id", what, h->path);
      return 0;
    }
  gint64 id = sqlite3_column_int64 (st, 0);
  return step_done (h, st, error, what) ? id : 0;
}

static gboolean
exec (UadHistory *h, const char *sql, GError **error, const char *what)
{
  int rc = sqlite3_exec (h->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_db_error (h, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

/* IMMEDIATE takes the write lock at once, so the busy timeout applies here and not at a later
 * statement of the transaction (where SQLite would fail without waiting). */
static gboolean
begin (UadHistory *h, GError **error, const char *what)
{
  return exec (h, "BEGIN IMMEDIATE", error, what);
}

static gboolean
commit (UadHistory *h, GError **error, const char *what)
{
  if (exec (h, "COMMIT", error, what))
    return TRUE;
  sqlite3_exec (h->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static void
rollback (UadHistory *h)
{
  sqlite3_exec (h->db, "ROLLBACK", NULL, NULL, NULL);
}

static char *
column_dup (sqlite3_stmt *st, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (st, col));
}

static void
bind_text (sqlite3_stmt *st, int idx, const char *text)
{
  if (text)
    sqlite3_bind_text (st, idx, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, idx);
}

/* ---- JSON columns ---- */

static char *
strv_to_json (const char *const *strv)
{
  GString *out = g_string_new ("[");
  for (int i = 0; strv && strv[i]; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      uad_json_append_string (out, strv[i]);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/* A JSON array of strings from a column we wrote; a damaged value is a FORMAT error. */
static char **
strv_from_json (UadHistory *h, const char *text, const char *what, GError **error)
{
  g_autoptr (UadJson) root = uad_json_parse (text ? text : "", text ? strlen (text) : 0, NULL);
  if (root == NULL || uad_json_get_type (root) != UAD_JSON_ARRAY)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s in %s is damaged: %s", what,
                   h->path, text ? text : "NULL");
      return NULL;
    }
  guint n = uad_json_get_length (root);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      const char *s = uad_json_get_string (uad_json_array_get (root, i), NULL);
      out[i] = g_strdup (s ? s : "");
    }
  return out;
}

/* ---- Opening ---- */

const char *
uad_history_get_path (UadHistory *history)
{
  return history->path;
}

static gboolean
pragma_int (UadHistory *h, const char *sql, int *value, GError **error, const char *what)
{
  g_autoptr (sqlite3_stmt) st = prepare (h, sql, error, what);
  if (st == NULL)
    return FALSE;
  if (!step_row (h, st, error, what))
    {
      if (error && *error == NULL)
        g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s (%s): no result", what, h->path);
      return FALSE;
    }
  *value = sqlite3_column_int (st, 0);
  return TRUE;
}

/* Refuses files that are not ours, or are newer than this program, before anything writes. */
static gboolean
check_identity (UadHistory *h, GError **error)
{
  const char *what = "cannot open the history database";
  int version, app_id, n_tables;
  if (!pragma_int (h, "PRAGMA user_version", &version, error, what)
      || !pragma_int (h, "PRAGMA application_id", &app_id, error, what)
      || !pragma_int (h, "SELECT count(*) FROM sqlite_schema", &n_tables, error, what))
    return FALSE;
  /* An empty file (or none) is a new database. */
  if (app_id != HISTORY_APPLICATION_ID && (version != 0 || n_tables != 0))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s is an SQLite database of another program, not a workbench history; "
                   "it was left untouched", h->path);
      return FALSE;
    }
  if (version > UAD_HISTORY_SCHEMA_VERSION)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "the history database %s has schema version %d, newer than this workbench "
                   "knows (%d); it was left untouched", h->path, version,
                   UAD_HISTORY_SCHEMA_VERSION);
      return FALSE;
    }
  return TRUE;
}

/* Brings the schema to UAD_HISTORY_SCHEMA_VERSION in one transaction, so a failure leaves the
 * file as it was. The version is read under the write lock: another workbench may have
 * migrated the file meanwhile. */
static gboolean
migrate (UadHistory *h, GError **error)
{
  const char *what = "cannot update the history database";
  int version;
  if (!begin (h, error, what))
    return FALSE;
  if (!pragma_int (h, "PRAGMA user_version", &version, error, what))
    {
      rollback (h);
      return FALSE;
    }
  if (version >= UAD_HISTORY_SCHEMA_VERSION)
    return commit (h, error, what);
  for (int v = version; v < UAD_HISTORY_SCHEMA_VERSION; v++)
    {
      g_autofree char *step = g_strdup_printf ("cannot update the history database from schema "
                                               "version %d to %d", v, v + 1);
      if (!exec (h, migrations[v], error, step))
        {
          rollback (h);
          return FALSE;
        }
    }
  g_autofree char *stamp = g_strdup_printf ("PRAGMA application_id = %d; PRAGMA user_version = %d",
                                            HISTORY_APPLICATION_ID, UAD_HISTORY_SCHEMA_VERSION);
  if (!exec (h, stamp, error, what))
    {
      rollback (h);
      return FALSE;
    }
  return commit (h, error, what);
}

UadHistory *
uad_history_open (const char *path, int busy_timeout_ms, GError **error)
{
  g_autoptr (UadHistory) h = g_new0 (UadHistory, 1);
  h->path = path ? g_strdup (path) : app_history_default_path ();
  h->busy_timeout_ms = busy_timeout_ms > 0 ? busy_timeout_ms : UAD_HISTORY_BUSY_TIMEOUT_MS;

  g_autofree char *dir = g_path_get_dirname (h->path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot create the folder %s for the "
                   "history database: %s", dir, g_strerror (e));
      return NULL;
    }
  int rc = sqlite3_open_v2 (h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      set_db_error (h, rc, error, "cannot open the history database");
      return NULL;
    }
  sqlite3_extended_result_codes (h->db, 1);
  sqlite3_busy_timeout (h->db, h->busy_timeout_ms);

  const char *what = "cannot open the history database";
  int version;
  if (!check_identity (h, error)
      || !exec (h, "PRAGMA foreign_keys = ON", error, what)
      || !pragma_int (h, "PRAGMA user_version", &version, error, what)
      || (version < UAD_HISTORY_SCHEMA_VERSION && !migrate (h, error)))
    return NULL;

  /* WAL: readers (a second workbench, the report writer) never block the run that writes. */
  g_autoptr (sqlite3_stmt) st = prepare (h, "PRAGMA journal_mode = WAL", error, what);
  if (st == NULL)
    return NULL;
  if (!step_row (h, st, error, what))
    {
      if (error && *error == NULL)
        g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s (%s): no journal mode", what, h->path);
      return NULL;
    }
  const char *mode = (const char *) sqlite3_column_text (st, 0);
  if (g_ascii_strcasecmp (mode, "wal") != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: %s cannot use write-ahead logging "
                   "(journal mode stays %s); is it on a network file system?", what, h->path,
                   mode);
      return NULL;
    }
  return g_steal_pointer (&h);
}

void
uad_history_close (UadHistory *history)
{
  if (history == NULL)
    return;
  sqlite3_close_v2 (history->db);
  g_free (history->path);
  g_free (history);
}
/* ---- Models ---- */

gint64
uad_history_add_model (UadHistory *history, const char *path, const char *sha256,
                       const char *backbone, const char *const *classes, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot record the model %s", path);
  g_autofree char *classes_json = strv_to_json (classes);
  /* One statement: new row, or the existing one (same file) with its current path. */
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "INSERT INTO models (path, sha256, backbone, classes, added) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (sha256) DO UPDATE SET path = excluded.path RETURNING id", error, what);
  if (st == NULL)
    return 0;
  bind_text (st, 1, path);
  bind_text (st, 2, sha256);
  bind_text (st, 3, backbone);
  bind_text (st, 4, classes_json);
  sqlite3_bind_int64 (st, 5, g_get_real_time ());
  return step_id (history, st, error, what);
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

/* Sets "no such <kind> <id>" when a lookup found no row and nothing else went wrong. */
static void
set_missing (GError **error, const char *kind, gint64 id)
{
  if (error && *error == NULL)
    g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "there is no %s %" G_GINT64_FORMAT
                 " in the history", kind, id);
}

UadHistoryModel *
uad_history_get_model (UadHistory *history, gint64 model_id, GError **error)
{
  const char *what = "cannot read a model from the history";
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "SELECT id, path, sha256, backbone, classes, added FROM models WHERE id = ?", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  if (!step_row (history, st, error, what))
    {
      set_missing (error, "model", model_id);
      return NULL;
    }
  g_autoptr (UadHistoryModel) m = g_new0 (UadHistoryModel, 1);
  m->id = sqlite3_column_int64 (st, 0);
  m->path = column_dup (st, 1);
  m->sha256 = column_dup (st, 2);
  m->backbone = column_dup (st, 3);
  m->classes = strv_from_json (history, (const char *) sqlite3_column_text (st, 4),
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
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "INSERT INTO thresholds (model_id, class, pass_below, fail_above, pixel, changed_by, "
    "changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, model_id);
  bind_text (st, 2, class_name);
  sqlite3_bind_double (st, 3, pass_below);
  sqlite3_bind_double (st, 4, fail_above);
  sqlite3_bind_double (st, 5, pixel);
  bind_text (st, 6, changed_by ? changed_by : "");
  sqlite3_bind_int64 (st, 7, g_get_real_time ());
  return step_done (history, st, error, what);
}

static void
thresholds_from_row (sqlite3_stmt *st, UadThresholds *out)
{
  out->pass_below = sqlite3_column_double (st, 0);
  out->fail_above = sqlite3_column_double (st, 1);
  out->pixel = sqlite3_column_double (st, 2);
  out->changed_by = column_dup (st, 3);
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
  g_autoptr (sqlite3_stmt) st = prepare (history, THRESHOLD_QUERY "DESC LIMIT 1", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, model_id);
  bind_text (st, 2, class_name);
  GError *local = NULL;
  *found = step_row (history, st, &local, what);
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
  g_autoptr (sqlite3_stmt) st = prepare (history, THRESHOLD_QUERY "ASC", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, model_id);
  bind_text (st, 2, class_name);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (thresholds_free);
  GError *local = NULL;
  while (step_row (history, st, &local, what))
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
      run->thresholds[i].class_name = g_strdup (name ? name : "");
      run->thresholds[i].pass_below = uad_json_get_number (uad_json_object_get (e, "pass_below"));
      run->thresholds[i].fail_above = uad_json_get_number (uad_json_object_get (e, "fail_above"));
      run->thresholds[i].pixel = uad_json_get_number (uad_json_object_get (e, "pixel"));
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
  const char *what = "cannot record the start of a run";
  g_autoptr (UadHistoryModel) model = NULL;
  g_autofree char *snapshot = NULL;
  /* Snapshot and insert under one lock, so a threshold change cannot fall between them. */
  if (!begin (history, error, what))
    return 0;
  if ((model = uad_history_get_model (history, model_id, error)) == NULL
      || (snapshot = thresholds_snapshot (history, model, error)) == NULL)
    {
      rollback (history);
      return 0;
    }
  g_autofree char *folders_json = strv_to_json (folders);
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "INSERT INTO runs (model_id, folders, started, thresholds, note) VALUES (?, ?, ?, ?, ?)",
    error, what);
  if (st == NULL)
    {
      rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (st, 1, model_id);
  bind_text (st, 2, folders_json);
  sqlite3_bind_int64 (st, 3, g_get_real_time ());
  bind_text (st, 4, snapshot);
  bind_text (st, 5, note);
  if (!step_done (history, st, error, what))
    {
      rollback (history);
      return 0;
    }
  gint64 id = sqlite3_last_insert_rowid (history->db);
  return commit (history, error, what) ? id : 0;
}

/* Runs one UPDATE of a single row; a missing row is an INVALID error naming kind and id. */
static gboolean
update_one (UadHistory *history, sqlite3_stmt *st, const char *kind, gint64 id,
            GError **error, const char *what)
{
  if (!step_done (history, st, error, what))
    return FALSE;
  if (sqlite3_changes (history->db) != 1)
    {
      set_missing (error, kind, id);
      return FALSE;
    }
  return TRUE;
}

gboolean
uad_history_finish_run (UadHistory *history, gint64 run_id, GError **error)
{
  const char *what = "cannot record the end of a run";
  g_autoptr (sqlite3_stmt) st = prepare (history, "UPDATE runs SET finished = ? WHERE id = ?",
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
  g_autoptr (sqlite3_stmt) st = prepare (history, "UPDATE runs SET note = ? WHERE id = ?",
                                         error, what);
  if (st == NULL)
    return FALSE;
  bind_text (st, 1, note);
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
  run->model_path = column_dup (st, 2);
  run->model_sha256 = column_dup (st, 3);
  run->folders = strv_from_json (history, (const char *) sqlite3_column_text (st, 4),
                                 "a run's folder list", error);
  if (run->folders == NULL)
    return NULL;
  run->started = sqlite3_column_int64 (st, 5);
  run->finished = sqlite3_column_int64 (st, 6);
  run->note = column_dup (st, 7);
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
  g_autoptr (sqlite3_stmt) st = prepare (history, run_query, error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  sqlite3_bind_int64 (st, 2, filter ? filter->started_from : 0);
  sqlite3_bind_int64 (st, 3, filter ? filter->started_to : 0);
  bind_text (st, 4, filter ? filter->class_name : NULL);
  bind_text (st, 5, filter ? uad_verdict_to_string (filter->verdict) : NULL);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_history_run_free);
  GError *local = NULL;
  while (step_row (history, st, &local, what))
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
      set_missing (error, "run", run_id);
      return NULL;
    }
  g_autoptr (GPtrArray) runs = query_runs (history, run_id, NULL, error);
  if (runs == NULL)
    return NULL;
  if (runs->len == 0)
    {
      set_missing (error, "run", run_id);
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

gboolean
uad_image_file_info_read (const char *path, UadImageFileInfo *out, GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  GStatBuf st;
  if (g_stat (abs, &st) != 0)
    {
      int e = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot read %s: %s", abs, g_strerror (e));
      return FALSE;
    }
  int width, height;
  if (gdk_pixbuf_get_file_info (abs, &width, &height) == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s is not an image this program can "
                   "read", abs);
      return FALSE;
    }
  char *sha256 = uad_weights_sha256 (abs, error);
  if (sha256 == NULL)
    return FALSE;
  out->path = g_steal_pointer (&abs);
  out->sha256 = sha256;
  out->width = width;
  out->height = height;
  out->size = st.st_size;
  out->mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
  return TRUE;
}

void
uad_image_file_info_clear (UadImageFileInfo *info)
{
  g_clear_pointer (&info->path, g_free);
  g_clear_pointer (&info->sha256, g_free);
}

gint64
uad_history_add_image (UadHistory *history, const UadImageFileInfo *info, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot record the image %s", info->path);
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "INSERT INTO images (path, sha256, width, height, size, mtime) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (path, sha256) DO UPDATE SET mtime = excluded.mtime RETURNING id",
    error, what);
  if (st == NULL)
    return 0;
  bind_text (st, 1, info->path);
  bind_text (st, 2, info->sha256);
  sqlite3_bind_int (st, 3, info->width);
  sqlite3_bind_int (st, 4, info->height);
  sqlite3_bind_int64 (st, 5, info->size);
  sqlite3_bind_int64 (st, 6, info->mtime);
  return step_id (history, st, error, what);
}

/* ---- Anomaly maps ---- */

/* Feeds all of in through a zlib (de)compressor into out. */
static gboolean
convert_all (GConverter *conv, const guint8 *in, gsize in_len, GByteArray *out, GError **error)
{
  gsize done_in = 0;
  for (;;)
    {
      guint8 buf[16384];
      gsize read = 0, written = 0;
      GConverterResult r = g_converter_convert (conv, in + done_in, in_len - done_in, buf,
                                                sizeof buf, G_CONVERTER_INPUT_AT_END, &read,
                                                &written, error);
      if (r == G_CONVERTER_ERROR)
        return FALSE;
      done_in += read;
      g_byte_array_append (out, buf, written);
      if (r == G_CONVERTER_FINISHED)
        return TRUE;
    }
}

/* The stored form of a map (see the maps table): 16-bit steps between its min and max, as
 * differences along each row (smooth maps give small numbers, which zlib packs well). */
static GByteArray *
map_encode (const float *map, int w, int h, double *lo, double *hi)
{
  gsize n = (gsize) w * h;
  float mn = map[0], mx = map[0];
  for (gsize i = 1; i < n; i++)
    mn = MIN (mn, map[i]), mx = MAX (mx, map[i]);
  double scale = mx > mn ? 65535.0 / ((double) mx - mn) : 0;
  g_autofree guint8 *raw = g_malloc (2 * n);
  for (int y = 0; y < h; y++)
    {
      guint16 prev = 0;
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          guint16 q = (guint16) lrint (((double) map[i] - mn) * scale);
          guint16 d = (guint16) (q - prev);
          raw[2 * i] = d & 0xff;
          raw[2 * i + 1] = d >> 8;
          prev = q;
        }
    }
  *lo = mn;
  *hi = mx;
  g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
  GByteArray *out = g_byte_array_sized_new (n / 2);
  /* Compression of memory cannot fail. */
  convert_all (G_CONVERTER (z), raw, 2 * n, out, NULL);
  return out;
}

static float *
map_decode (const guint8 *data, gsize len, int w, int h, double lo, double hi, GError **error)
{
  gsize n = (gsize) w * h;
  if (w <= 0 || h <= 0 || n > 1u << 26)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "a stored anomaly map is damaged "
                   "(%d x %d)", w, h);
      return NULL;
    }
  g_autoptr (GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  g_autoptr (GByteArray) raw = g_byte_array_sized_new (2 * n);
  if (!convert_all (G_CONVERTER (z), data, len, raw, NULL) || raw->len != 2 * n)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "a stored anomaly map is damaged");
      return NULL;
    }
  float *map = g_new (float, n);
  double step = (hi - lo) / 65535.0;
  for (int y = 0; y < h; y++)
    {
      guint16 q = 0;
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          q += (guint16) (raw->data[2 * i] | raw->data[2 * i + 1] << 8);
          map[i] = (float) (lo + q * step);
        }
    }
  return map;
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
  in->image_path = column_dup (st, 3);
  in->image_sha256 = column_dup (st, 4);
  in->class_name = column_dup (st, 5);
  in->score = sqlite3_column_double (st, 6);
  in->pass_below = sqlite3_column_double (st, 7);
  in->fail_above = sqlite3_column_double (st, 8);
  in->model_verdict = verdict_column (st, 9);
  in->operator_verdict = verdict_column (st, 10);
  in->note = column_dup (st, 11);
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
      blob = map_encode (map, map_w, map_h, &lo, &hi);
    }

  g_autoptr (sqlite3_stmt) ins = prepare (history,
    "INSERT INTO inspections (run_id, image_id, class, score, pass_below, fail_above, "
    "model_verdict, inspected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error, what);
  g_autoptr (sqlite3_stmt) ms = map ? prepare (history,
    "INSERT INTO maps (inspection_id, width, height, lo, hi, data) VALUES (?, ?, ?, ?, ?, ?)",
    error, what) : NULL;
  if (ins == NULL || (map && ms == NULL) || !begin (history, error, what))
    return 0;
  sqlite3_bind_int64 (ins, 1, run_id);
  sqlite3_bind_int64 (ins, 2, image_id);
  bind_text (ins, 3, class_name);
  sqlite3_bind_double (ins, 4, score);
  sqlite3_bind_double (ins, 5, pass_below);
  sqlite3_bind_double (ins, 6, fail_above);
  bind_text (ins, 7, uad_verdict_to_string (uad_verdict_from_score (score, pass_below,
                                                                    fail_above)));
  sqlite3_bind_int64 (ins, 8, g_get_real_time ());
  if (!step_done (history, ins, error, what))
    {
      rollback (history);
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
      if (!step_done (history, ms, error, what))
        {
          rollback (history);
          return 0;
        }
    }
  return commit (history, error, what) ? id : 0;
}

UadInspection *
uad_history_get_inspection (UadHistory *history, gint64 inspection_id, GError **error)
{
  const char *what = "cannot read an inspection from the history";
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "SELECT " INSPECTION_COLUMNS "WHERE i.id = ?", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, inspection_id);
  if (!step_row (history, st, error, what))
    {
      set_missing (error, "inspection", inspection_id);
      return NULL;
    }
  return inspection_from_row (st);
}

UadInspection *
uad_history_find_result (UadHistory *history, const char *model_sha256, const char *image_path,
                         const char *image_sha256, GError **error)
{
  const char *what = "cannot look up a stored result in the history";
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "SELECT " INSPECTION_COLUMNS
    "JOIN runs r ON r.id = i.run_id JOIN models m ON m.id = r.model_id "
    "WHERE m.sha256 = ? AND im.path = ? AND im.sha256 = ? ORDER BY i.id DESC LIMIT 1",
    error, what);
  if (st == NULL)
    return NULL;
  bind_text (st, 1, model_sha256);
  bind_text (st, 2, image_path);
  bind_text (st, 3, image_sha256);
  return step_row (history, st, error, what) ? inspection_from_row (st) : NULL;
}

gint64
uad_history_copy_inspection (UadHistory *history, gint64 source_id, gint64 run_id,
                             double pass_below, double fail_above, GError **error)
{
  g_autofree char *what = g_strdup_printf ("cannot copy inspection %" G_GINT64_FORMAT
                                           " into run %" G_GINT64_FORMAT, source_id, run_id);
  if (!check_thresholds (pass_below, fail_above, error) || !begin (history, error, what))
    return 0;
  g_autoptr (UadInspection) src = uad_history_get_inspection (history, source_id, error);
  if (src == NULL)
    {
      rollback (history);
      return 0;
    }
  g_autoptr (sqlite3_stmt) ins = prepare (history,
    "INSERT INTO inspections (run_id, image_id, class, score, pass_below, fail_above, "
    "model_verdict, operator_verdict, note, inspected_at, reviewed_at) "
    "SELECT ?, image_id, class, score, ?, ?, ?, operator_verdict, note, inspected_at, "
    "reviewed_at FROM inspections WHERE id = ?", error, what);
  if (ins == NULL)
    {
      rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (ins, 1, run_id);
  sqlite3_bind_double (ins, 2, pass_below);
  sqlite3_bind_double (ins, 3, fail_above);
  bind_text (ins, 4, uad_verdict_to_string (uad_verdict_from_score (src->score, pass_below,
                                                                    fail_above)));
  sqlite3_bind_int64 (ins, 5, source_id);
  if (!step_done (history, ins, error, what))
    {
      rollback (history);
      return 0;
    }
  gint64 id = sqlite3_last_insert_rowid (history->db);
  g_autoptr (sqlite3_stmt) ms = prepare (history,
    "INSERT INTO maps (inspection_id, width, height, lo, hi, data) "
    "SELECT ?, width, height, lo, hi, data FROM maps WHERE inspection_id = ?", error, what);
  if (ms == NULL)
    {
      rollback (history);
      return 0;
    }
  sqlite3_bind_int64 (ms, 1, id);
  sqlite3_bind_int64 (ms, 2, source_id);
  if (!step_done (history, ms, error, what))
    {
      rollback (history);
      return 0;
    }
  return commit (history, error, what) ? id : 0;
}

gboolean
uad_history_set_operator_verdict (UadHistory *history, gint64 inspection_id,
                                  UadVerdict verdict, const char *note, GError **error)
{
  const char *what = "cannot record the operator's verdict";
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "UPDATE inspections SET operator_verdict = ?, note = ?, reviewed_at = ? WHERE id = ?",
    error, what);
  if (st == NULL)
    return FALSE;
  bind_text (st, 1, uad_verdict_to_string (verdict));
  bind_text (st, 2, note);
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
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "SELECT " INSPECTION_COLUMNS "WHERE i.run_id = ? ORDER BY i.id", error, what);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) uad_inspection_free);
  GError *local = NULL;
  while (step_row (history, st, &local, what))
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
  g_autoptr (sqlite3_stmt) st = prepare (history,
    "SELECT width, height, lo, hi, data FROM maps WHERE inspection_id = ?", error, what);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, inspection_id);
  GError *local = NULL;
  if (!step_row (history, st, &local, what))
    {
      if (local)
        g_propagate_error (error, local);
      return local == NULL;
    }
  int w = sqlite3_column_int (st, 0), h = sqlite3_column_int (st, 1);
  *map = map_decode (sqlite3_column_blob (st, 4), sqlite3_column_bytes (st, 4), w, h,
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
