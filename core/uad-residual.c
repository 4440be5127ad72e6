/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-residual.h"

#include "uad-error.h"
#include "uad-feature-scorer.h"

#define GRID UAD_FEATURE_GRID
#define BATCH 8

static const char *const distance_names[] = {
  [UAD_RESIDUAL_L2] = "l2",
  [UAD_RESIDUAL_GAUSSIAN] = "mahalanobis",
  [UAD_RESIDUAL_CLASS_GAUSSIAN] = "class-mahalanobis",
};

/* residuals [n, C, G, G] = features as the model sees them - their reconstruction. */
static UadTensor *
reconstruction_residuals (UadModel *model, const UadTensor *features, const int *class_of)
{
  int n = (int) features->shape[0];
  size_t per = (size_t) model->channels * GRID * GRID;
  UadTensor *residuals = uad_tensor_new_4d (n, model->channels, GRID, GRID);
  float *recs = uad_alloc_floats (BATCH * per);
  double scores[BATCH];
  g_autoptr (UadFeatureScorer) scorer = uad_feature_scorer_new (model, BATCH);
  for (int i = 0; i < n; i += BATCH)
    {
      int count = MIN (BATCH, n - i);
      float *seen = residuals->data + i * per;
      uad_feature_scorer_run (scorer, features->data + i * per, count, class_of + i, scores,
                              NULL, seen, recs);
      for (size_t k = 0; k < count * per; k++)
        seen[k] -= recs[k];
    }
  uad_free_aligned (recs);
  return residuals;
}

/* Fits g to the residuals of the images of class k (every image when k < 0). */
static gboolean
fit_one (UadPadim *g, const UadTensor *residuals, const int *class_of, int k, const char *what,
         GError **error)
{
  int n = (int) residuals->shape[0], count = 0;
  g_autofree int *images = g_new (int, n);
  for (int i = 0; i < n; i++)
    if (k < 0 || class_of[i] == k)
      images[count++] = i;
  if (uad_padim_fit (g, residuals, images, count, UAD_PADIM_RIDGE, error))
    return TRUE;
  g_prefix_error (error, "residual Gaussians of %s: ", what);
  return FALSE;
}

/* scores[n] of the residuals under the model's (just fitted) Gaussians. */
static void
score_residuals (UadModel *model, const UadTensor *residuals, const int *class_of, double *scores)
{
  int n = (int) residuals->shape[0];
  size_t per = (size_t) model->channels * GRID * GRID;
  g_autoptr (UadFeatureScorer) scorer = uad_feature_scorer_new (model, BATCH);
  for (int i = 0; i < n; i += BATCH)
    uad_feature_scorer_run_residuals (scorer, residuals->data + i * per, MIN (BATCH, n - i),
                                      class_of + i, scores + i);
}

gboolean
uad_residual_fit_scored (UadModel *model, const UadTensor *features, const int *class_of,
                         UadResidualDistance distance, double *scores, GError **error)
{
  g_return_val_if_fail (model->method == UAD_METHOD_UNIAD, FALSE);
  g_return_val_if_fail (features->ndim == 4 && features->shape[1] == model->channels, FALSE);
  if (distance == UAD_RESIDUAL_L2)
    {
      uad_model_set_residuals (model, NULL, 0);
      return TRUE;
    }
  g_autoptr (UadTensor) residuals = reconstruction_residuals (model, features, class_of);
  int n = distance == UAD_RESIDUAL_CLASS_GAUSSIAN ? 1 + model->n_classes : 1;
  UadPadim **fitted = g_new0 (UadPadim *, n);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < n; i++)
    {
      fitted[i] = uad_padim_new (model->channels, GRID * GRID);
      ok = fit_one (fitted[i], residuals, class_of, i - 1,
                    i == 0 ? "every class" : model->classes[i - 1].name, error);
    }
  if (ok)
    {
      uad_model_set_residuals (model, fitted, n);
      if (scores != NULL)
        score_residuals (model, residuals, class_of, scores);
      return TRUE;
    }
  for (int i = 0; i < n; i++)
    uad_padim_free (fitted[i]);
  g_free (fitted);
  return FALSE;
}

gboolean
uad_residual_fit (UadModel *model, const UadTensor *features, const int *class_of,
                  UadResidualDistance distance, GError **error)
{
  return uad_residual_fit_scored (model, features, class_of, distance, NULL, error);
}

UadResidualDistance
uad_residual_distance_of (const UadModel *model)
{
  return model->n_residuals == 0 ? UAD_RESIDUAL_L2
         : model->n_residuals == 1 ? UAD_RESIDUAL_GAUSSIAN : UAD_RESIDUAL_CLASS_GAUSSIAN;
}

const char *
uad_residual_distance_name (UadResidualDistance distance)
{
  return distance_names[distance];
}

gboolean
uad_residual_distance_parse (const char *name, UadResidualDistance *distance, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (distance_names); i++)
    if (g_strcmp0 (name, distance_names[i]) == 0)
      {
        *distance = i;
        return TRUE;
      }
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
               "unknown residual distance \"%s\" (expected l2, mahalanobis or class-mahalanobis)",
               name);
  return FALSE;
}
