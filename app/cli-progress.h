/* SPDX-License-Identifier: Apache-2.0 */
/* cli-progress.h: progress on the terminal (a redrawn bar on stderr when it is a terminal,
 * plain lines otherwise, so logs stay readable), and Ctrl-C as a polite stop request. */
#pragma once

#include <glib.h>

typedef struct {
  gboolean tty;
  gint64 last_line_us; /* when a plain line was last printed */
} CliProgress;

void cli_progress_init (CliProgress *p);
/* A bar with text: "[#####-----] text". fraction in [0, 1]. */
void cli_progress_update (CliProgress *p, double fraction, const char *text);
/* A line of its own (above the bar on a terminal, which is drawn again at the next update). */
void cli_progress_note (CliProgress *p, const char *text);
/* Ends the bar's line (terminal) or prints the final line. */
void cli_progress_done (CliProgress *p, const char *text);

/* "epoch 3/20" (0-based epoch in, 1-based out), or "epoch 3" when epochs is 0 (a time budget). */
char *cli_format_epoch (int epoch, int epochs);

/* "1h02m", "3m12s", "42s". */
char *cli_format_duration (double seconds);

/* After this, Ctrl-C (or SIGTERM) sets a flag and says so instead of killing the process; the
 * run stops after its step and writes its checkpoint. A third one kills it. */
void cli_catch_interrupt (void);
gboolean cli_interrupted (void);
