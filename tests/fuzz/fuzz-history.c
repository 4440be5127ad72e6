/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-history.c: the workbench's history database opener on arbitrary bytes as the database
 * file (SQLite's own parser, then the schema check and migrations of uad_history_open), and
 * on a database it accepts, the reads the History page makes: runs, their inspections and
 * anomaly maps. Written against workbench-history.h only. */
#include "fuzz-util.h"

#include "workbench-history.h"

/* Enough rows to reach every read path; a database with thousands of rows would otherwise
 * make single inputs slow without reaching more code. */
#define MAX_RUNS 4
#define MAX_INSPECTIONS 4

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A -wal or -shm file from the previous input would be replayed into this one. */
  static const char *const stale[] = { "history.sqlite3-wal", "history.sqlite3-shm",
                                       "history.sqlite3-journal", NULL };
  const char *path = fuzz_write_input ("history.sqlite3", data, size, stale);
  if (path == NULL)
    return 0;
  /* Nothing else holds the file: a lock can only be the input's own doing, so do not wait. */
  g_autoptr (UadHistory) history = uad_history_open (path, 1, NULL);
  if (history == NULL)
    return 0;
  g_autoptr (GPtrArray) runs = uad_history_list_runs (history, NULL, NULL);
  for (guint r = 0; runs && r < runs->len && r < MAX_RUNS; r++)
    {
      UadHistoryRun *run = runs->pdata[r];
      g_autoptr (UadHistoryModel) model = uad_history_get_model (history, run->model_id, NULL);
      g_autoptr (GPtrArray) list = uad_history_list_inspections (history, run->id, NULL);
      for (guint i = 0; list && i < list->len && i < MAX_INSPECTIONS; i++)
        {
          UadInspection *inspection = list->pdata[i];
          float *map = NULL;
          int w = 0, h = 0;
          if (uad_history_get_map (history, inspection->id, &map, &w, &h, NULL))
            g_free (map);
        }
    }
  return 0;
}
