/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-out.h: the --out folder of a study, laid out for the workbench or a notebook:
 *
 *   study.json   {"study": NAME, "status": "running" | "stopped" | "failed" | "done", "wall_seconds": the
 *                 wall time of every run of it so far, "arguments": {option: value, ...},
 *                 "files": {role: file name, ...}, "summary": {...: the study's final numbers}}
 *   NAME.csv     one row per model (and class set) per checkpoint: the curves
 *   *.png, *.svg the plots; other tables (CSV, Markdown) as the study documents
 *   state/       what --resume continues from: per-model checkpoints
 *
 * A study stopped by Ctrl-C or SIGTERM leaves status "stopped", whole CSV rows and the
 * checkpoints; the same command with --resume continues it, and is refused (naming the first
 * difference) when its arguments differ from the recorded ones. */
#pragma once

#include <glib.h>

typedef struct CliStudyOut CliStudyOut;

/* Opens dir for study `name` run with the arguments args (option, value, option, value, ...,
 * NULL: what decides its results). Fresh: refuses a folder holding a study that was stopped
 * or is still running (or was killed) (UAD_ERROR_INVALID: --resume continues it) and empties
 * state/. Resumed: refuses (UAD_ERROR_
 * MISMATCH) a folder without a study.json of this study and these arguments. Writes study.json
 * with status "running". */
CliStudyOut *cli_study_out_open (const char *dir, const char *name, const char *const *args,
                                 gboolean resume, GError **error);
gboolean cli_study_out_resuming (const CliStudyOut *out);
/* dir/file (free with g_free). */
char *cli_study_out_file (const CliStudyOut *out, const char *file);
/* dir/state/KEY.ext for a model's checkpoint, with characters other than letters, digits, '-'
 * and '.' of key replaced by '_'. */
char *cli_study_out_state (const CliStudyOut *out, const char *key, const char *ext);
/* Records a file of the folder in study.json's "files" (written by cli_study_out_close). */
void cli_study_out_add_file (CliStudyOut *out, const char *role, const char *file);
/* Ends the run: ok, study.json says "done" with summary (the text of a JSON object); stopped
 * (*error is UAD_ERROR_CANCELLED), "stopped", and the error says how to continue; after any
 * other error, "failed". Returns ok unless study.json cannot be written. */
gboolean cli_study_out_finish (CliStudyOut *out, gboolean ok, const char *summary, GError **error);
void cli_study_out_free (CliStudyOut *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliStudyOut, cli_study_out_free)
