/* SPDX-License-Identifier: Apache-2.0 */
/* cli-train-padim.c: `uniad train --method padim`: the training-free PaDiM baseline
 * (uad-padim.h) fitted on the good training images' backbone features, in the model format
 * that infer, eval and the workbench read. */
#include "cli-commands.h"
#include "cli-training-data.h"
#include "cli-progress.h"

#include "uad-trainer.h"
#include "uad-train-job.h"

UadModel *
cli_fit_padim (UadBackbone *bb, const char *sha, const UadDataset *ds, const char *cache_dir,
               gboolean no_disk_cache, gboolean separate, GError **error)
{
  int n;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = uad_train_job_images (ds, &class_of, &n);
  g_autoptr (UadTensor) features = cli_extract_features (bb, sha, cache_dir, no_disk_cache,
                                                         (const char *const *) paths, n, error);
  if (features == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (int k = 0; k < ds->n_classes; k++)
    g_ptr_array_add (names, ds->classes[k].name);
  g_autoptr (UadModel) model = uad_model_new_padim (uad_backbone_get_kind (bb), sha,
                                                    uad_backbone_get_feature_channels (bb),
                                                    separate, (const char *const *) names->pdata,
                                                    ds->n_classes);
  CliProgress bar;
  cli_progress_init (&bar);
  gint64 t0 = g_get_monotonic_time ();
  cli_progress_update (&bar, 0, "PaDiM: fitting the Gaussians");
  if (!uad_model_fit_padim (model, features, class_of, error))
    return NULL;
  /* The thresholds come from the training images' own scores, as for UniAD. */
  cli_progress_update (&bar, 0.5, "PaDiM: scoring the training images");
  g_autofree double *scores = g_new (double, MAX (n, 1));
  uad_model_score_features (model, features, class_of, scores);
  uad_model_set_class_statistics (model, scores, class_of, n);

  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  model->training = (UadTrainingSummary) { 0, 0, 0, (g_get_monotonic_time () - t0) / 1e6,
                                           g_date_time_format_iso8601 (now), NULL };
  g_autofree char *done = g_strdup_printf ("PaDiM: %d Gaussian %s of %d channels at %d positions "
                                           "on %d images, %.1f s", model->n_gaussians,
                                           model->n_gaussians == 1 ? "model" : "models",
                                           model->channels, 14 * 14, n, model->training.seconds);
  cli_progress_done (&bar, done);
  return g_steal_pointer (&model);
}
