/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-application.h: the workbench application (AdwApplication, id APP_ID): one main
 * window, files and folders given on the command line opened in it, the application actions
 * (quit, preferences, about) and every keyboard accelerator. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WORKBENCH_TYPE_APPLICATION (workbench_application_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchApplication, workbench_application, WORKBENCH, APPLICATION,
                      AdwApplication)

WorkbenchApplication *workbench_application_new (void);

G_END_DECLS
