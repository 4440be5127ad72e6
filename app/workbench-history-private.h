/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history-private.h: what the history's files share: the connection, and statement
 * and error helpers over SQLite (workbench-history-sql.c). Every helper that fails sets a
 * GError "what (database path): reason" (UAD_ERROR_IO, or UAD_ERROR_FORMAT for damaged values). */
#pragma once

#include <sqlite3.h>

#include "workbench-history.h"

struct UadHistory {
  sqlite3 *db;
  char *path;
  int busy_timeout_ms;
};

void history_set_db_error (UadHistory *h, int rc, GError **error, const char *what);
sqlite3_stmt *history_prepare (UadHistory *h, const char *sql, GError **error, const char *what);
/* Runs a statement to completion (its rows, if any, are not needed). */
gboolean history_step_done (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what);
/* Steps to the next row: FALSE at the end (error unset) or on failure (error set). */
gboolean history_step_row (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what);
/* The id an INSERT ... RETURNING id gives; 0 on failure. */
gint64 history_step_id (UadHistory *h, sqlite3_stmt *st, GError **error, const char *what);
gboolean history_exec (UadHistory *h, const char *sql, GError **error, const char *what);
/* Write transactions (BEGIN IMMEDIATE: the lock is taken at once, or busy_timeout waited). */
gboolean history_begin (UadHistory *h, GError **error, const char *what);
gboolean history_commit (UadHistory *h, GError **error, const char *what);
void history_rollback (UadHistory *h);
char *history_column_dup (sqlite3_stmt *st, int col);
/* Binds text, or NULL as SQL NULL. */
void history_bind_text (sqlite3_stmt *st, int idx, const char *text);
/* NULL-terminated strings to and from the JSON arrays stored in text columns. */
char *history_strv_to_json (const char *const *strv);
char **history_strv_from_json (UadHistory *h, const char *text, const char *what,
                               GError **error);
/* Sets "there is no <kind> <id> in the history" when a lookup found no row and nothing else
 * went wrong. */
void history_set_missing (GError **error, const char *kind, gint64 id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)
