/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-line-mode.h: the panel of line mode, where the workbench watches a folder and
 * inspects each new image as it arrives (workbench-folder-watch.h finds them complete; the
 * session's line inspects and records them, newest first in the gallery).
 *
 * It shows what is watched and what waits, the shift's pass/review/fail counters (New Shift
 * starts them from zero), a plot of the latest scores against their thresholds, notes on files
 * skipped (deleted before they could be inspected), and an alarm for each failed part that
 * stays until an operator acknowledges it; with the "line-alarm-sound" setting the bell rings
 * when the alarm goes up and every WORKBENCH_LINE_ALARM_REPEAT_S while it stands. Images already
 * in the folder when the watch starts are ignored: the line only cares about new parts. The
 * panel is hidden until a watch starts and stays after it stops, until closed. */
#pragma once

#include <gtk/gtk.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_LINE_ALARM_REPEAT_S 10
/* How often the files waiting in the folder are looked at. */
#define WORKBENCH_LINE_POLL_MS 100
/* How long a truncated file may stay unchanged before its inspection records why it fails. */
#define WORKBENCH_LINE_GIVE_UP_MS 30000

#define WORKBENCH_TYPE_LINE_MODE (workbench_line_mode_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchLineMode, workbench_line_mode, WORKBENCH, LINE_MODE, GtkBox)

void workbench_line_mode_set_session (WorkbenchLineMode *self, WorkbenchSession *session);
/* Watches folder (the session needs a model and no run under way); FALSE with an error when
 * the folder cannot be watched. */
gboolean workbench_line_mode_start (WorkbenchLineMode *self, const char *folder, GError **error);
gboolean workbench_line_mode_get_watching (WorkbenchLineMode *self);

/* The shift's count of a model verdict (UAD_VERDICT_NONE: images that could not be
 * inspected). */
guint workbench_line_mode_get_count (WorkbenchLineMode *self, UadVerdict verdict);
void workbench_line_mode_new_shift (WorkbenchLineMode *self);
/* Failed parts not yet acknowledged (0: no alarm). */
guint workbench_line_mode_get_alarms (WorkbenchLineMode *self);
void workbench_line_mode_acknowledge (WorkbenchLineMode *self);

G_END_DECLS
