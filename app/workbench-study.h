/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-study.h: a folder written by `uniad study` (see README, "Each study writes into its
 * --out folder"), read for the Study Results window: study.json's name, status, wall time and
 * arguments, the plot's path, the per-class table (NAME-table.csv) and, for a study of
 * networks, one line per network saying what its curve did. No GTK. */
#pragma once

#include <glib.h>

typedef struct {
  char *folder;
  char *name;          /* "shortcut", "unified", "ablation", "convergence" */
  char *status;        /* "running", "stopped", "done" or "failed" */
  double wall_seconds; /* NaN when not recorded */
  GStrv arguments;     /* "name=value" of each argument that was set, in study.json's order */
  char *plot_png;      /* the plot's full path, or NULL when the study has none (yet) */
  GPtrArray *table;    /* rows (GStrv), the header first; empty without a table */
  GStrv curves;        /* "UniAD: image AUROC peaked at 86.3 at epoch 12, ..." per network */
} WorkbenchStudy;

/* Reads the study in folder. Fails with UAD_ERROR_IO when folder has no readable study.json,
 * UAD_ERROR_FORMAT when it is not a study's (named in the message); a table or plot that is
 * missing is simply left out (a study still running has none). */
WorkbenchStudy *workbench_study_load (const char *folder, GError **error);
void workbench_study_free (WorkbenchStudy *study);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkbenchStudy, workbench_study_free)
