/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train-monitor.h: a training job's progress (uad-train-job.h) on the terminal: one
 * progress bar per phase with the lines `uniad train` has always printed, the job's log lines
 * above it, and Ctrl-C (cli_catch_interrupt) as the request to stop. */
#pragma once

#include "cli-progress.h"
#include "uad-train-job.h"

typedef struct {
  CliProgress bar;
  UadTrainPhase phase; /* of the bar */
  gboolean started;    /* a phase has reported */
  gboolean open;       /* a bar is drawn on the terminal without its line ended */
  UadTrainJobMonitor monitor; /* what to hand the job */
} CliTrainMonitor;

void cli_train_monitor_init (CliTrainMonitor *m);
/* After a failed job: ends the bar's line on a terminal, so the error starts a line. */
void cli_train_monitor_failed (CliTrainMonitor *m);
