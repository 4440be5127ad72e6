/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-feature-scorer.h"

#include <string.h>

#define GRID UAD_FEATURE_GRID
#define MAP UAD_ANOMALY_MAP_SIZE
/* The transformer runs on at most this many images at once: its workspace grows with the
 * batch (every token's activations and FFN hidden layer), and 4 images already keep its
 * products large enough to be efficient; 8 would put peak inference RSS at 192 MB. */
#define TRANSFORMER_CHUNK 4

struct UadFeatureScorer {
  UadModel *model;
  int max_batch;
  UadTransformerWorkspace **workspaces; /* UniAD: one per transformer, made on first use */
  /* Made on first use, as a model in training may gain residual Gaussians after the scorer:
   * uad_padim_scratch_size (max_batch) for PaDiM's or the residual Gaussians. */
  float *padim_scratch;
  UadTensor *features, *recs, *map_small, *maps;
  UadTensor *residuals;                 /* UniAD with residual Gaussians: features - recs */
};

UadFeatureScorer *
uad_feature_scorer_new (UadModel *model, int max_batch)
{
  g_return_val_if_fail (max_batch >= 1, NULL);
  UadFeatureScorer *s = g_new0 (UadFeatureScorer, 1);
  s->model = model;
  s->max_batch = max_batch;
  int c = model->channels;
  s->features = uad_tensor_new_4d (max_batch, c, GRID, GRID);
  if (model->method == UAD_METHOD_UNIAD)
    {
      s->workspaces = g_new0 (UadTransformerWorkspace *, model->n_transformers);
      s->recs = uad_tensor_new_4d (max_batch, c, GRID, GRID);
    }
  s->map_small = uad_tensor_new_4d (max_batch, 1, GRID, GRID);
  s->maps = uad_tensor_new_4d (max_batch, 1, MAP, MAP);
  return s;
}

void
uad_feature_scorer_free (UadFeatureScorer *s)
{
  if (s == NULL)
    return;
  for (int i = 0; s->workspaces && i < s->model->n_transformers; i++)
    uad_transformer_workspace_free (s->workspaces[i]);
  g_free (s->workspaces);
  uad_free_aligned (s->padim_scratch);
  uad_tensor_free (s->features);
  uad_tensor_free (s->recs);
  uad_tensor_free (s->map_small);
  uad_tensor_free (s->maps);
  uad_tensor_free (s->residuals);
  g_free (s);
}

static UadTransformerWorkspace *
workspace (UadFeatureScorer *s, int t)
{
  if (s->workspaces[t] == NULL)
    s->workspaces[t] = uad_transformer_workspace_new (s->model->transformers[t],
                                                      TRANSFORMER_CHUNK, FALSE);
  return s->workspaces[t];
}

/* Which of the model's Gaussians measures image i: PaDiM's of its class when separate; the
 * residual Gaussians of its class when the model has them and the class is known, else those
 * fitted on every class. */
static int
gaussian_index (const UadModel *model, const int *class_index, int i)
{
  if (model->method == UAD_METHOD_PADIM)
    return model->separate ? class_index[i] : 0;
  gboolean known = class_index != NULL && class_index[i] >= 0 && class_index[i] < model->n_classes;
  return model->n_residuals > 1 && known ? 1 + class_index[i] : 0;
}

/* small = the distances of x [n, C, G, G] under gaussians[gaussian_index], each run of
 * images with the same Gaussians at once; map = small upsampled. */
static void
gaussian_map (UadFeatureScorer *s, UadPadim *const *gaussians, const float *x, int n,
              const int *class_index, UadTensor *small, UadTensor *map)
{
  size_t per = (size_t) s->model->channels * GRID * GRID;
  if (s->padim_scratch == NULL)
    s->padim_scratch = uad_alloc_floats (uad_padim_scratch_size (gaussians[0], s->max_batch));
  for (int first = 0, end; first < n; first = end)
    {
      int g = gaussian_index (s->model, class_index, first);
      for (end = first + 1; end < n && gaussian_index (s->model, class_index, end) == g; end++)
        ;
      uad_padim_distance (gaussians[g], x + first * per, end - first, s->padim_scratch,
                          small->data + (size_t) first * GRID * GRID);
    }
  uad_anomaly_map_upsample (small, map);
}

/* Reconstructs images [first, first + count) that share transformer t. */
static void
reconstruct (UadFeatureScorer *s, int t, int first, int count)
{
  size_t per = (size_t) s->model->channels * GRID * GRID;
  for (int i = first; i < first + count; i += TRANSFORMER_CHUNK)
    uad_transformer_forward (s->model->transformers[t], workspace (s, t),
                             s->features->data + i * per, MIN (TRANSFORMER_CHUNK, first + count - i),
                             s->recs->data + i * per);
}

/* The UniAD map: reconstruction, then its distance to the features. */
static void
uniad_map (UadFeatureScorer *s, int n, const int *class_index, UadTensor *small, UadTensor *map)
{
  /* Separate mode runs image by image, as the detector always has: the transformer's result
   * differs in the last bits with the batch it runs in. */
  if (!s->model->separate)
    reconstruct (s, 0, 0, n);
  else
    for (int i = 0; i < n; i++)
      reconstruct (s, class_index[i], i, 1);
  int c = s->model->channels;
  UadTensor feat = { s->features->data, 4, { n, c, GRID, GRID }, FALSE };
  UadTensor rec = { s->recs->data, 4, { n, c, GRID, GRID }, FALSE };
  if (s->model->n_residuals == 0)
    {
      uad_anomaly_map_compute (&feat, &rec, small, map);
      return;
    }
  if (s->residuals == NULL)
    s->residuals = uad_tensor_new_4d (s->max_batch, c, GRID, GRID);
  size_t count = (size_t) n * c * GRID * GRID;
  for (size_t i = 0; i < count; i++)
    s->residuals->data[i] = s->features->data[i] - s->recs->data[i];
  gaussian_map (s, s->model->residuals, s->residuals->data, n, class_index, small, map);
}

/* scores[n] of the maps [n, 1, MAP, MAP], by the model's score kind. */
static void
score_maps (const UadFeatureScorer *s, const UadTensor *map, int n, double *scores)
{
  for (int i = 0; i < n; i++)
    scores[i] = uad_anomaly_score (map->data + (size_t) i * MAP * MAP, MAP, MAP,
                                   s->model->score_kind);
}

void
uad_feature_scorer_run_residuals (UadFeatureScorer *s, const float *residuals, int n,
                                  const int *class_index, double *scores)
{
  g_return_if_fail (n >= 1 && n <= s->max_batch && s->model->n_residuals > 0);
  UadTensor small = { s->map_small->data, 4, { n, 1, GRID, GRID }, FALSE };
  UadTensor map = { s->maps->data, 4, { n, 1, MAP, MAP }, FALSE };
  gaussian_map (s, s->model->residuals, residuals, n, class_index, &small, &map);
  score_maps (s, &map, n, scores);
}

void
uad_feature_scorer_run (UadFeatureScorer *s, const float *features, int n,
                        const int *class_index, double *scores, float *maps,
                        float *model_features, float *recs)
{
  UadModel *model = s->model;
  g_return_if_fail (n >= 1 && n <= s->max_batch);
  g_return_if_fail (!model->separate || class_index != NULL);
  g_return_if_fail (recs == NULL || model->method == UAD_METHOD_UNIAD);
  for (int i = 0; model->separate && i < n; i++)
    g_return_if_fail (class_index[i] >= 0 && class_index[i] < model->n_classes);
  size_t per = (size_t) model->channels * GRID * GRID;
  memcpy (s->features->data, features, n * per * sizeof (float));
  uad_model_standardize_features (model, s->features->data, n);

  UadTensor small = { s->map_small->data, 4, { n, 1, GRID, GRID }, FALSE };
  UadTensor map = { s->maps->data, 4, { n, 1, MAP, MAP }, FALSE };
  if (model->method == UAD_METHOD_UNIAD)
    uniad_map (s, n, class_index, &small, &map);
  else
    gaussian_map (s, model->gaussians, s->features->data, n, class_index, &small, &map);
  score_maps (s, &map, n, scores);
  if (maps)
    memcpy (maps, map.data, (size_t) n * MAP * MAP * sizeof (float));
  if (model_features)
    memcpy (model_features, s->features->data, n * per * sizeof (float));
  if (recs)
    memcpy (recs, s->recs->data, n * per * sizeof (float));
}
