/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history-sql.c: statements, transactions and errors over SQLite for the history. */
#include "workbench-history-private.h"

#include <string.h>

#include "uad-error.h"
#include "uad-json.h"

/* ---- Errors and statements ---- */

/* Turns the connection's last error into a GError: "what (path): reason". */
void
history_set_db_error (UadHistory *h, int rc, GError **error, const char *what)
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

sqlite3_stmt *
history_prepare (UadHistory *h, const char *sql, GError **error, const char *what)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (h->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    {
      history_set_db_error (h, rc, error, what);
      return NULL;
    }
  return st;
}

/* Runs st to completion (statements that return no rows, or whose rows are not needed). */
gboolean
history_step_done (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    {
      history_set_db_error (h, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

/* One step expecting a row: TRUE with a row, FALSE with *error set, or FALSE with no error when
 * there is no row. */
gboolean
history_step_row (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    history_set_db_error (h, rc, error, what);
  return FALSE;
}

/* The id an INSERT ... RETURNING id gives. */
gint64
history_step_id (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what)
{
  if (!history_step_row (h, st, error, what))
    {
      if (error && *error == NULL)
        g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s (%s): no row id", what, h->path);
      return 0;
    }
  gint64 id = sqlite3_column_int64 (st, 0);
  return history_step_done (h, st, error, what) ? id : 0;
}

gboolean
history_exec (UadHistory *h, const char *sql, GError **error, const char *what)
{
  int rc = sqlite3_exec (h->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      history_set_db_error (h, rc, error, what);
      return FALSE;
    }
  return TRUE;
}

/* IMMEDIATE takes the write lock at once, so the busy timeout applies here and not at a later
 * statement of the transaction (where SQLite would fail without waiting). */
gboolean
history_begin (UadHistory *h, GError **error, const char *what)
{
  return history_exec (h, "BEGIN IMMEDIATE", error, what);
}

gboolean
history_commit (UadHistory *h, GError **error, const char *what)
{
  if (history_exec (h, "COMMIT", error, what))
    return TRUE;
  sqlite3_exec (h->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

void
history_rollback (UadHistory *h)
{
  sqlite3_exec (h->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
history_column_dup (sqlite3_stmt *st, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (st, col));
}

void
history_bind_text (sqlite3_stmt *st, int idx, const char *text)
{
  if (text)
    sqlite3_bind_text (st, idx, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, idx);
}

/* ---- JSON columns ---- */

char *
history_strv_to_json (const char *const *strv)
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
char **
history_strv_from_json (UadHistory *h, const char *text, const char *what, GError **error)
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

/* Sets "no such <kind> <id>" when a lookup found no row and nothing else went wrong. */
void
history_set_missing (GError **error, const char *kind, gint64 id)
{
  if (error && *error == NULL)
    g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "there is no %s %" G_GINT64_FORMAT
                 " in the history", kind, id);
}
