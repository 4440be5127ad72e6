/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-sidebar.h: the inspection page's side panel: the open model, the pass/review/fail
 * totals (updated live), the class of each open folder's plain images, and a threshold card per
 * class (workbench-class-row.h). */
#pragma once

#include <adwaita.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_SIDEBAR (workbench_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchSidebar, workbench_sidebar, WORKBENCH, SIDEBAR, AdwBin)

void workbench_sidebar_set_session (WorkbenchSidebar *self, WorkbenchSession *session);

G_END_DECLS
