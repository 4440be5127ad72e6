/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-history-page.h: past runs from the inspection history, newest first, with their
 * counts by final verdict, filtered by start date, class and verdict. Runs are read through the
 * session (by its worker), never on the main thread. Opening a run (button, Enter or double
 * click) emits "open-run". */
#pragma once

#include <adwaita.h>

#include <gtk/gtk.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_HISTORY_PAGE (workbench_history_page_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchHistoryPage, workbench_history_page, WORKBENCH, HISTORY_PAGE, AdwBin)

/* The session whose history is listed; lists it. */
void workbench_history_page_set_session (WorkbenchHistoryPage *self, WorkbenchSession *session);
/* Reads the runs again. */
void workbench_history_page_refresh (WorkbenchHistoryPage *self);
/* The runs listed (for tests and the window's state). */
guint workbench_history_page_get_n_runs (WorkbenchHistoryPage *self);

G_END_DECLS
