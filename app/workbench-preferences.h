/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-preferences.h: the preferences window: the operator's name (recorded with
 * threshold changes), the heatmap's colour map and opacity (the same settings the viewer's
 * toolbar changes), and where the history and the backbone weights are kept. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WORKBENCH_TYPE_PREFERENCES (workbench_preferences_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchPreferences, workbench_preferences, WORKBENCH, PREFERENCES,
                      AdwPreferencesWindow)

WorkbenchPreferences *workbench_preferences_new (GtkWindow *parent);

G_END_DECLS
