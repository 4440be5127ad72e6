/* SPDX-License-Identifier: Apache-2.0 */
/* test-workbench-util.h: what the workbench back-end tests share: a scratch folder, small
 * PNG files, and a history with a model, thresholds and a run. */
#pragma once

#include "workbench-history.h"

/* A new empty folder under the system's temporary folder; remove with wb_test_remove_tree. */
char *wb_test_make_dir (void);
void wb_test_remove_tree (const char *path);

/* Writes a width x height RGB PNG with a pattern made from seed; returns its path (in dir). */
char *wb_test_write_png (const char *dir, const char *name, int width, int height, int seed);

/* Writes len bytes of data to path, replacing its content or appended to it, and closes it. */
void wb_test_write_bytes (const char *path, const char *data, gsize len, gboolean append);

/* A UAD_ANOMALY_MAP_SIZE^2 map: a smooth bump of height peak at (cx, cy) (fractions) over 0.1. */
float *wb_test_make_map (float peak, float cx, float cy);

/* Adds a model (classes "bottle", "cable", "screw"; SHA-256 from its name) with thresholds
 * 1/2/0.5 for every class, set by "default". Returns its id. */
gint64 wb_test_add_model (UadHistory *h, const char *name);

/* Adds the image file at path to the history; returns its id. */
gint64 wb_test_add_image (UadHistory *h, const char *path);

/* Names of the files in dir (sorted, joined by ' '). */
char *wb_test_list_dir (const char *dir);
