/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history-schema.c: opening a history database: telling ours from other files, and
 * the schema's migrations. */
#include "workbench-history-private.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "app-folders.h"
#include "uad-error.h"

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

/* ---- Opening ---- */

const char *
uad_history_get_path (UadHistory *history)
{
  return history->path;
}

static gboolean
pragma_int (UadHistory *h, const char *sql, int *value, GError **error, const char *what)
{
  g_autoptr (sqlite3_stmt) st = history_prepare (h, sql, error, what);
  if (st == NULL)
    return FALSE;
  if (!history_step_row (h, st, error, what))
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
  /* user_version is any 32-bit number in the file; ours are 0..the current one. */
  if (version < 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "the history database %s has schema version %d, which no workbench wrote "
                   "(a damaged file); it was left untouched", h->path, version);
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
  if (!history_begin (h, error, what))
    return FALSE;
  if (!pragma_int (h, "PRAGMA user_version", &version, error, what))
    {
      history_rollback (h);
      return FALSE;
    }
  if (version >= UAD_HISTORY_SCHEMA_VERSION)
    return history_commit (h, error, what);
  for (int v = version; v < UAD_HISTORY_SCHEMA_VERSION; v++)
    {
      g_autofree char *step = g_strdup_printf ("cannot update the history database from schema "
                                               "version %d to %d", v, v + 1);
      if (!history_exec (h, migrations[v], error, step))
        {
          history_rollback (h);
          return FALSE;
        }
    }
  g_autofree char *stamp = g_strdup_printf ("PRAGMA application_id = %d; PRAGMA user_version = %d",
                                            HISTORY_APPLICATION_ID, UAD_HISTORY_SCHEMA_VERSION);
  if (!history_exec (h, stamp, error, what))
    {
      history_rollback (h);
      return FALSE;
    }
  return history_commit (h, error, what);
}

/* Opens h->path (a file, or "" for SQLite's private temporary database) and brings its schema
 * up to date. */
static gboolean
connect_and_migrate (UadHistory *h, GError **error)
{
  int rc = sqlite3_open_v2 (h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      history_set_db_error (h, rc, error, "cannot open the history database");
      return FALSE;
    }
  sqlite3_extended_result_codes (h->db, 1);
  sqlite3_busy_timeout (h->db, h->busy_timeout_ms);

  const char *what = "cannot open the history database";
  int version;
  return check_identity (h, error)
         && history_exec (h, "PRAGMA foreign_keys = ON", error, what)
         && pragma_int (h, "PRAGMA user_version", &version, error, what)
         && (version >= UAD_HISTORY_SCHEMA_VERSION || migrate (h, error));
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
  if (!connect_and_migrate (h, error))
    return NULL;

  /* WAL: readers (a second workbench, the report writer) never block the run that writes. */
  const char *what = "cannot open the history database";
  g_autoptr (sqlite3_stmt) st = history_prepare (h, "PRAGMA journal_mode = WAL", error, what);
  if (st == NULL)
    return NULL;
  if (!history_step_row (h, st, error, what))
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

UadHistory *
uad_history_open_scratch (GError **error)
{
  g_autoptr (UadHistory) h = g_new0 (UadHistory, 1);
  /* "": SQLite's private temporary database, deleted when the connection closes. Nobody else
   * reads it, so it needs no WAL. */
  h->path = g_strdup ("");
  h->busy_timeout_ms = UAD_HISTORY_BUSY_TIMEOUT_MS;
  return connect_and_migrate (h, error) ? g_steal_pointer (&h) : NULL;
}

/* Renames from to to unless something is already at to (rename () would replace it). */
static gboolean
rename_new (const char *from, const char *to, GError **error)
{
  if (g_file_test (to, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot set %s aside: %s already exists",
                   from, to);
      return FALSE;
    }
  if (g_rename (from, to) != 0)
    {
      int e = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot set %s aside as %s: %s", from, to,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

char *
uad_history_set_aside (const char *path, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  /* A second one within the same second gets a number rather than replacing the first. */
  g_autofree char *aside = g_strdup_printf ("%s.damaged-%s", path, stamp);
  for (int n = 2; g_file_test (aside, G_FILE_TEST_EXISTS); n++)
    {
      g_free (aside);
      aside = g_strdup_printf ("%s.damaged-%s-%d", path, stamp, n);
    }
  /* The write-ahead log holds committed pages not yet copied into the file, and belongs to it
   * by name: it moves along, so that the file set aside still opens with everything in it.
   * Moved all together or not at all: a log left behind would be replayed into a new history. */
  const char *const suffixes[] = { "", "-wal", "-shm" };
  guint moved = 0;
  for (; moved < G_N_ELEMENTS (suffixes); moved++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[moved], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[moved], NULL);
      if ((moved == 0 || g_file_test (from, G_FILE_TEST_EXISTS))
          && !rename_new (from, to, error))
        break;
    }
  if (moved == G_N_ELEMENTS (suffixes))
    return g_steal_pointer (&aside);
  while (moved-- > 0)
    {
      g_autofree char *from = g_strconcat (aside, suffixes[moved], NULL);
      g_autofree char *to = g_strconcat (path, suffixes[moved], NULL);
      if (g_file_test (from, G_FILE_TEST_EXISTS))
        g_rename (from, to);
    }
  return NULL;
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
