/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-train-monitor.h"

#include <math.h>
#include <stdio.h>

/* A new phase starts a new bar, except that the decoder's steps go on from its targets'. */
static void
enter (CliTrainMonitor *m, UadTrainPhase phase)
{
  if (m->started && (phase == m->phase || (phase == UAD_TRAIN_PHASE_DECODER
                                           && m->phase == UAD_TRAIN_PHASE_DECODER_TARGETS)))
    {
      m->phase = phase;
      return;
    }
  cli_progress_init (&m->bar);
  m->phase = phase;
  m->started = TRUE;
}

static char *
transformer_text (const UadTrainJobProgress *jp)
{
  const UadTrainProgress *p = jp->transformer;
  g_autofree char *eta = cli_format_duration (p->eta_seconds);
  g_autofree char *epoch = cli_format_epoch (p->epoch, p->epochs);
  g_autofree char *model = p->n_models > 1 ? g_strdup_printf ("model %d/%d  ", p->model_index + 1, p->n_models)
                                           : g_strdup ("");
  g_autofree char *val = isnan (jp->validation) ? g_strdup ("")
                                                : g_strdup_printf ("  val AUROC %.1f", jp->validation);
  return g_strdup_printf ("%s%s  step %d/%d  loss %.5f%s  lr %.2e  %.1f img/s  ETA %s", model,
                          epoch, p->step, p->steps_per_epoch, p->epoch_loss, val, p->lr,
                          p->images_per_second, eta);
}

static char *
decoder_text (const UadDecoderTrainProgress *p)
{
  g_autofree char *eta = cli_format_duration (p->eta_seconds);
  g_autofree char *epoch = cli_format_epoch (p->epoch, p->epochs);
  return g_strdup_printf ("decoder: %s  step %d/%d  loss %.5f  %.1f img/s (%.0f s per 1000 "
                          "images)  ETA %s", epoch, p->step, p->steps_per_epoch, p->epoch_loss,
                          p->images_per_second, 1000 / MAX (p->images_per_second, 1e-9), eta);
}

static gboolean
on_progress (const UadTrainJobProgress *p, void *user_data)
{
  CliTrainMonitor *m = user_data;
  enter (m, p->phase);
  g_autofree char *text = NULL;
  switch (p->phase)
    {
    case UAD_TRAIN_PHASE_FEATURES:
      text = g_strdup_printf ("backbone features: %d/%d images", p->done, p->total);
      break;
    case UAD_TRAIN_PHASE_TRANSFORMER:
      text = transformer_text (p);
      break;
    case UAD_TRAIN_PHASE_DECODER_TARGETS:
      text = g_strdup_printf ("decoder targets: %d/%d images", p->done, p->total);
      break;
    case UAD_TRAIN_PHASE_DECODER:
      text = decoder_text (p->decoder);
      break;
    }
  cli_progress_update (&m->bar, p->fraction, text);
  m->open = m->bar.tty;
  return !cli_interrupted ();
}

static void
on_log (UadTrainPhase phase, gboolean phase_done, const char *line, void *user_data)
{
  CliTrainMonitor *m = user_data;
  enter (m, phase);
  if (phase_done)
    cli_progress_done (&m->bar, line);
  else
    cli_progress_note (&m->bar, line);
  m->open = FALSE;
}

void
cli_train_monitor_init (CliTrainMonitor *m)
{
  *m = (CliTrainMonitor) { .monitor = { on_progress, on_log, m } };
}

void
cli_train_monitor_failed (CliTrainMonitor *m)
{
  if (m->open)
    fprintf (stderr, "\n");
  m->open = FALSE;
}
