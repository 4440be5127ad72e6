/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-window.h: the workbench's main window: a header bar (open model, open folders,
 * inspect/cancel, export, menu), the Inspect page (threshold sidebar, gallery with progress,
 * viewer with the triage bar) and the History page.
 *
 * Window actions: open-model, open-folder, inspect, cancel, export (each asks with a file
 * chooser where needed), export-to(s: path; PDF, or CSV when it ends in .csv), operator-verdict
 * (s: "pass" / "review" / "fail"; its state is the selected image's), next-unreviewed,
 * show-sidebar (boolean state), page (s: "inspect" / "history"). On the Inspect page the keys
 * P, R and F give a verdict, N goes to the next unreviewed image and Escape cancels an
 * inspection. new-model opens the New Model window (workbench-train-dialog.h). */
#pragma once

#include <adwaita.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_WINDOW (workbench_window_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchWindow, workbench_window, WORKBENCH, WINDOW, AdwApplicationWindow)

WorkbenchWindow *workbench_window_new (GtkApplication *application);
WorkbenchSession *workbench_window_get_session (WorkbenchWindow *self);

/* Opens what the command line or the desktop gave: .uniad files as the model, folders as the
 * image folders. */
void workbench_window_open_files (WorkbenchWindow *self, GFile **files, int n_files);
/* Starts line mode (workbench-line-mode.h) on folder, the newest images first in the gallery;
 * FALSE with an error when the folder cannot be watched or no model is open. */
gboolean workbench_window_watch_folder (WorkbenchWindow *self, const char *folder,
                                        GError **error);
/* Shows the results of the study in folder (written by `uniad study`) in a new Study Results
 * window, which it returns. */
GtkWindow *workbench_window_open_study (WorkbenchWindow *self, const char *folder);
/* Reopens the model and folders of the last session (from the settings), if they still exist. */
void workbench_window_restore (WorkbenchWindow *self);

G_END_DECLS
