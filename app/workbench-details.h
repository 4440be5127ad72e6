/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-details.h: the triage bar under the viewer: the operator's verdict of the shown
 * image (toggle buttons on the window's "operator-verdict" action), a note that goes with it
 * (stored when Enter is pressed or the entry loses focus), and "next unreviewed". */
#pragma once

#include <adwaita.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_DETAILS (workbench_details_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchDetails, workbench_details, WORKBENCH, DETAILS, AdwBin)

void workbench_details_set_session (WorkbenchDetails *self, WorkbenchSession *session);
/* The image shown (NULL: none). */
void workbench_details_set_item (WorkbenchDetails *self, WorkbenchItem *item);

G_END_DECLS
