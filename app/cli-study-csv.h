/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-csv.h: the studies' CSV tables. Values that were not measured (pixel AUROC of a
 * class without masks, a validation estimate without held-out images) are empty fields, which
 * spreadsheets and pandas read as missing, rather than "nan". The table is kept in memory as
 * well, so a study draws its plots and final tables from the rows on disk, including those a
 * stopped run wrote before it was resumed. */
#pragma once

#include <glib.h>

/* Appends v with `decimals` decimals to row, or nothing when v is NaN. */
void cli_study_csv_number (GString *row, double v, int decimals);

/* A field as a number: NaN when it is empty (or not a number). */
double cli_study_csv_value (const char *field);

typedef struct CliStudyCsv CliStudyCsv;

/* Which rows of an existing table a resumed study keeps: fields of one row (as many as the
 * header has). */
typedef gboolean (*CliStudyCsvKeep) (char **fields, void *user_data);

/* Opens the table at path with the header (comma-separated names). Fresh: the header alone.
 * Resumed (keep not NULL): the rows of the existing file that keep approves (a missing file
 * has none; one with another header is refused, UAD_ERROR_MISMATCH); the file is rewritten
 * with them, atomically, before rows are added. */
CliStudyCsv *cli_study_csv_open (const char *path, const char *header, CliStudyCsvKeep keep,
                                 void *user_data, GError **error);
/* Appends row (the fields, comma-separated, without the newline) to the file and flushes it,
 * so that a stopped study leaves whole rows only. */
gboolean cli_study_csv_add (CliStudyCsv *csv, const char *row, GError **error);
/* Every row, kept and added, each a NULL-terminated array of its fields. */
GPtrArray *cli_study_csv_rows (const CliStudyCsv *csv);
const char *cli_study_csv_path (const CliStudyCsv *csv);
void cli_study_csv_free (CliStudyCsv *csv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliStudyCsv, cli_study_csv_free)
