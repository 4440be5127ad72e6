/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-driver.h: running the real workbench application from a test or a benchmark: a
 * model trained with the `uniad` command, the user's data folder with the backbone weights in
 * it, the application started without D-Bus, and the main loop driven until something
 * happens. */
#pragma once

#include "workbench-application.h"
#include "workbench-window.h"

typedef gboolean (*WbCondition) (gpointer data);

/* Runs the main loop until cond (data) holds; FALSE after timeout_ms. */
gboolean wb_wait_for (WbCondition cond, gpointer data, int timeout_ms);
/* Runs the main loop for ms milliseconds. */
void wb_spin (int ms);

/* The MobileNetV2 weights and the industrial data under UNIAD_SHARED (and, with need_cli, the
 * `uniad` command in UNIAD_CLI): TRUE with their paths, or FALSE after skipping the test with
 * the reason. */
gboolean wb_shared_material (char **weights, char **industrial, gboolean need_cli);

/* The first widget under root (root included) of that name / type, depth first. */
GtkWidget *wb_find_named (GtkWidget *root, const char *name);
GtkWidget *wb_find_type (GtkWidget *root, GType type);

/* The first toplevel window of that type, or NULL. */
GtkWidget *wb_find_toplevel (GType type);
/* Runs `uniad` (UNIAD_CLI) with argv[1..] (NULL-terminated; argv[0] is filled in); fails the
 * test if the command fails. */
void wb_run_cli (const char **argv);

/* Trains a MobileNetV2 model on the MVTec-layout dataset at data_root for `epochs` with
 * `uniad train` (UNIAD_CLI); writes it to out. Fails the test if the command fails. */
void wb_train_model (const char *data_root, const char *weights, int epochs, const char *out);

/* Makes data_home the user's data folder (XDG_DATA_HOME) with the weights linked into its
 * uniad-workbench/weights/, and starts the application (memory settings, no D-Bus, the
 * operator name set). NULL, with the reason as a test message, when there is no display or no
 * compiled settings schema (GSETTINGS_SCHEMA_DIR). */
WorkbenchApplication *wb_start (const char *data_home, const char *weights, const char *operator);

/* Opens files (a .uniad model, folders) in the application; returns its window. */
WorkbenchWindow *wb_open (WorkbenchApplication *app, const char *const *paths);

/* A boolean property of the session ("loading", "inspecting", "has-model"...). */
gboolean wb_session_flag (WorkbenchSession *session, const char *name);

/* Saves widget as drawn once more, as the PNG name under UNIAD_TEST_ARTIFACTS (else the
 * current folder). */
void wb_screenshot (GtkWidget *widget, const char *name);

/* Measures how long the main loop goes without running a 1 ms timer of high priority (how long
 * the window freezes): start, drive the application, then stop, which returns the longest gap
 * since start in microseconds. */
void wb_stalls_start (void);
gint64 wb_stalls_stop (void);

/* Waits until the worker has stored everything asked for so far. */
void wb_flush (WorkbenchSession *session);

/* After the tests: closes window, drops app (the caller's reference) and removes the test's
 * folder root and frees it; each may be NULL. */
void wb_finish (WorkbenchWindow *window, WorkbenchApplication *app, char *root);
