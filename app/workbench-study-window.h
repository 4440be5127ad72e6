/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-study-window.h: the Study Results window: a folder written by `uniad study`
 * (workbench-study.h) shown as its study and status, wall time and arguments, its plot, what
 * each network's curve did and the per-class table of the last checkpoint. The folder is read
 * on a worker; one that holds no study, or a damaged study.json, is shown with the reason.
 * Open Folder shows the folder (with its CSVs and SVG plot) in the file manager. */
#pragma once

#include <adwaita.h>

#include "workbench-study.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_STUDY_WINDOW (workbench_study_window_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchStudyWindow, workbench_study_window, WORKBENCH, STUDY_WINDOW,
                      AdwWindow)

WorkbenchStudyWindow *workbench_study_window_new (GtkWindow *parent, const char *folder);

/* Once read: the study, or NULL with the reason in *message (both NULL while reading). */
const WorkbenchStudy *workbench_study_window_get_study (WorkbenchStudyWindow *self,
                                                        const char **message);

G_END_DECLS
