/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-recipe-model.h"

#include "cli-progress.h"
#include "uad-train-job.h"

typedef struct {
  CliProgress bar;
  const char *label;
} Progress;

static gboolean
on_step (const UadTrainProgress *p, void *user_data)
{
  Progress *pr = user_data;
  g_autofree char *epoch = cli_format_epoch (p->epoch, p->epochs);
  g_autofree char *eta = cli_format_duration (p->eta_seconds);
  g_autofree char *text = g_strdup_printf ("%s: %s  loss %.5f  ETA %s", pr->label, epoch,
                                           p->epoch_loss, eta);
  cli_progress_update (&pr->bar, p->fraction, text);
  return !cli_interrupted ();
}

gboolean
cli_recipe_model_train (UadModel *model, const UadTensor *train, const int *class_of,
                        const UadTrainOptions *opts, const char *label, GError **error)
{
  Progress pr = { .label = label };
  cli_progress_init (&pr.bar);
  UadTrainer *trainer = uad_trainer_new (model, train, class_of, opts, NULL);
  uad_trainer_init_weights (trainer);
  gboolean ok = uad_trainer_run (trainer, on_step, &pr, error);
  uad_trainer_free (trainer);
  g_autofree char *done = ok ? g_strdup_printf ("%s: %d epochs, final loss %.5f, %.1f s", label,
                                                model->training.epochs, model->training.final_loss,
                                                model->training.seconds)
                             : g_strdup ("");
  cli_progress_done (&pr.bar, done);
  return ok;
}
