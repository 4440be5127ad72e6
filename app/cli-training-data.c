/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-training-data.h"

#include "app-folders.h"
#include "cli-train-monitor.h"

UadTensor *
cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                      gboolean no_disk_cache, const char *const *paths, int n, GError **error)
{
  g_autofree char *dir = no_disk_cache ? NULL
                         : cache_dir ? g_strdup (cache_dir)
                         : app_feature_cache_dir ();
  CliTrainMonitor monitor;
  cli_train_monitor_init (&monitor);
  return uad_train_job_features (bb, sha, dir, paths, n, &monitor.monitor, error);
}
