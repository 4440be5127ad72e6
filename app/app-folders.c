/* SPDX-License-Identifier: Apache-2.0 */
#include "app-folders.h"

#include "uad-weights.h"

/* The folder the command line and the workbench share, so that weights fetched for one serve
 * the other. */
#define APP_DATA_FOLDER "uniad-workbench"

char *
app_weights_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), APP_DATA_FOLDER, "weights", NULL);
}

char *
app_weights_default_path (UadBackboneKind kind)
{
  g_autofree char *dir = app_weights_dir ();
  return g_build_filename (dir, uad_weights_file_name (kind), NULL);
}

char *
app_history_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), APP_DATA_FOLDER, "history.sqlite3", NULL);
}

char *
app_feature_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), APP_DATA_FOLDER, "features", NULL);
}
