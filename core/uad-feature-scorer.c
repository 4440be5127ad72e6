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
  float *padim_scratch;                 /* PaDiM: uad_padim_scratch_size (max_batch) */
  UadTensor *features, *recs, *map_small, *maps;
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
  else
    s->padim_scratch = uad_alloc_floats (uad_padim_scratch_size (model->gaussians[0], max_batch));
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
  uad_anomaly_map_compute (&feat, &rec, small, map);
}

/* The PaDiM map: each run of images of the same class against that class's Gaussians. */
static void
padim_map (UadFeatureScorer *s, int n, const int *class_index, UadTensor *small, UadTensor *map)
{
  size_t per = (size_t) s->model->channels * GRID * GRID;
  for (int first = 0, end; first < n; first = end)
    {
      int g = s->model->separate ? class_index[first] : 0;
      for (end = first + 1; end < n && s->model->separate && class_index[end] == g; end++)
        ;
      uad_padim_distance (s->model->gaussians[g], s->features->data + first * per, end - first,
                          s->padim_scratch, small->data + (size_t) first * GRID * GRID);
    }
  uad_anomaly_map_upsample (small, map);
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
    padim_map (s, n, class_index, &small, &map);
  for (int i = 0; i < n; i++)
    scores[i] = uad_anomaly_score (map.data + (size_t) i * MAP * MAP, MAP, MAP, model->score_kind);
  if (maps)
    memcpy (maps, map.data, (size_t) n * MAP * MAP * sizeof (float));
  if (model_features)
    memcpy (model_features, s->features->data, n * per * sizeof (float));
  if (recs)
    memcpy (recs, s->recs->data, n * per * sizeof (float));
}
