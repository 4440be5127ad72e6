/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-detector.h"

#include "uad-error.h"
#include "uad-image.h"
#include "uad-parallel.h"

#include <string.h>

#define GRID 14
#define MAP UAD_ANOMALY_MAP_SIZE
/* The transformer runs on at most this many images at once: its workspace grows with the
 * batch (every token's activations and FFN hidden layer), and 4 images already keep its
 * products large enough to be efficient; 8 would put peak inference RSS at 192 MB. */
#define TRANSFORMER_CHUNK 4

struct UadDetector {
  UadModel *model;
  UadBackbone *bb;
  UadTransformerWorkspace **workspaces; /* one per transformer, made on first use */
  UadTensor *input, *features, *recs, *map_small, *maps;
  int channels;
};

UadDetector *
uad_detector_new (UadModel *model, UadBackbone *bb, const char *backbone_sha256, GError **error)
{
  if (!uad_model_check_backbone (model, uad_backbone_get_kind (bb), backbone_sha256, error))
    {
      uad_model_free (model);
      uad_backbone_free (bb);
      return NULL;
    }
  UadDetector *det = g_new0 (UadDetector, 1);
  det->model = model;
  det->bb = bb;
  det->channels = uad_backbone_get_feature_channels (bb);
  int s = uad_backbone_get_input_size (bb);
  det->workspaces = g_new0 (UadTransformerWorkspace *, model->n_transformers);
  det->input = uad_tensor_new_4d (UAD_DETECTOR_BATCH, 3, s, s);
  det->features = uad_tensor_new_4d (UAD_DETECTOR_BATCH, det->channels, GRID, GRID);
  det->recs = uad_tensor_new_4d (UAD_DETECTOR_BATCH, det->channels, GRID, GRID);
  det->map_small = uad_tensor_new_4d (UAD_DETECTOR_BATCH, 1, GRID, GRID);
  det->maps = uad_tensor_new_4d (UAD_DETECTOR_BATCH, 1, MAP, MAP);
  return det;
}

void
uad_detector_free (UadDetector *det)
{
  if (det == NULL)
    return;
  for (int i = 0; i < det->model->n_transformers; i++)
    uad_transformer_workspace_free (det->workspaces[i]);
  g_free (det->workspaces);
  uad_model_free (det->model);
  uad_backbone_free (det->bb);
  uad_tensor_free (det->input);
  uad_tensor_free (det->features);
  uad_tensor_free (det->recs);
  uad_tensor_free (det->map_small);
  uad_tensor_free (det->maps);
  g_free (det);
}

UadModel *
uad_detector_get_model (UadDetector *det)
{
  return det->model;
}

UadBackbone *
uad_detector_get_backbone (UadDetector *det)
{
  return det->bb;
}

static UadTransformerWorkspace *
workspace (UadDetector *det, int t)
{
  if (det->workspaces[t] == NULL)
    det->workspaces[t] = uad_transformer_workspace_new (det->model->transformers[t],
                                                        TRANSFORMER_CHUNK, FALSE);
  return det->workspaces[t];
}

/* Reconstructs images [first, first + count) that share transformer t. */
static void
reconstruct (UadDetector *det, int t, int first, int count)
{
  size_t per = (size_t) det->channels * GRID * GRID;
  for (int i = first; i < first + count; i += TRANSFORMER_CHUNK)
    uad_transformer_forward (det->model->transformers[t], workspace (det, t),
                             det->features->data + i * per, MIN (TRANSFORMER_CHUNK, first + count - i),
                             det->recs->data + i * per);
}

void
uad_detector_run (UadDetector *det, const UadTensor *input, const int *class_index,
                  double *scores, float *maps, float *features, float *recs)
{
  int n = (int) input->shape[0];
  g_return_if_fail (n >= 1 && n <= UAD_DETECTOR_BATCH);
  size_t per = (size_t) det->channels * GRID * GRID;
  UadTensor feat = { det->features->data, 4, { n, det->channels, GRID, GRID }, FALSE };
  uad_backbone_extract (det->bb, input, &feat);

  if (!det->model->separate)
    reconstruct (det, 0, 0, n);
  else
    for (int i = 0; i < n; i++)
      reconstruct (det, class_index[i], i, 1);

  UadTensor rec = { det->recs->data, 4, { n, det->channels, GRID, GRID }, FALSE };
  UadTensor small = { det->map_small->data, 4, { n, 1, GRID, GRID }, FALSE };
  UadTensor map = { det->maps->data, 4, { n, 1, MAP, MAP }, FALSE };
  uad_anomaly_map_compute (&feat, &rec, &small, &map);
  for (int i = 0; i < n; i++)
    scores[i] = uad_anomaly_score (map.data + (size_t) i * MAP * MAP, MAP, MAP,
                                   det->model->score_kind);
  if (maps)
    memcpy (maps, map.data, (size_t) n * MAP * MAP * sizeof (float));
  if (features)
    memcpy (features, feat.data, n * per * sizeof (float));
  if (recs)
    memcpy (recs, rec.data, n * per * sizeof (float));
}

typedef struct {
  UadDetector *det;
  const char *const *paths;
  UadDetection *results;
} Decode;

static void
decode_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  Decode *d = ctx;
  int s = uad_backbone_get_input_size (d->det->bb);
  for (int64_t i = begin; i < end; i++)
    uad_image_load_input (d->paths[i], s, uad_backbone_get_normalization (d->det->bb),
                          d->det->input->data + i * 3 * s * s, &d->results[i].error);
}

void
uad_detector_run_files (UadDetector *det, const char *const *paths, int n,
                        const int *class_index, gboolean want_maps, gboolean want_features,
                        UadDetection *results)
{
  int s = uad_backbone_get_input_size (det->bb);
  for (int first = 0; first < n; first += UAD_DETECTOR_BATCH)
    {
      int count = MIN (UAD_DETECTOR_BATCH, n - first);
      UadDetection *res = results + first;
      memset (res, 0, count * sizeof *res);
      Decode d = { det, paths + first, res };
      uad_parallel_for (count, 1, decode_range, &d);

      /* Pack the readable images to the front of the batch. */
      int slot_of[UAD_DETECTOR_BATCH], classes[UAD_DETECTOR_BATCH], m = 0;
      for (int i = 0; i < count; i++)
        {
          res[i].class_index = class_index ? class_index[first + i]
                                           : uad_model_class_from_path (det->model, paths[first + i]);
          if (res[i].error)
            continue;
          if (det->model->separate && res[i].class_index < 0)
            {
              g_set_error (&res[i].error, UAD_ERROR, UAD_ERROR_INVALID,
                           "%s: cannot tell which class the image belongs to (this model has "
                           "one transformer per class)", paths[first + i]);
              continue;
            }
          if (m != i)
            memcpy (det->input->data + (size_t) m * 3 * s * s,
                    det->input->data + (size_t) i * 3 * s * s, (size_t) 3 * s * s * sizeof (float));
          classes[m] = res[i].class_index;
          slot_of[m++] = i;
        }
      if (m == 0)
        continue;
      double scores[UAD_DETECTOR_BATCH];
      UadTensor in = { det->input->data, 4, { m, 3, s, s }, FALSE };
      uad_detector_run (det, &in, classes, scores, NULL, NULL, NULL);
      for (int k = 0; k < m; k++)
        {
          UadDetection *r = &res[slot_of[k]];
          r->score = scores[k];
          if (want_maps)
            r->map = g_memdup2 (det->maps->data + (size_t) k * MAP * MAP, MAP * MAP * sizeof (float));
          if (want_features)
            {
              size_t per = (size_t) det->channels * GRID * GRID;
              r->features = g_memdup2 (det->features->data + k * per, per * sizeof (float));
              r->rec = g_memdup2 (det->recs->data + k * per, per * sizeof (float));
            }
        }
    }
}

void
uad_detection_clear (UadDetection *d)
{
  g_clear_pointer (&d->map, g_free);
  g_clear_pointer (&d->features, g_free);
  g_clear_pointer (&d->rec, g_free);
  g_clear_error (&d->error);
}

double
uad_detector_default_threshold (UadDetector *det, int class_index)
{
  if (class_index >= 0)
    return uad_model_default_threshold (det->model, class_index);
  double lowest = uad_model_default_threshold (det->model, 0);
  for (int i = 1; i < det->model->n_classes; i++)
    lowest = MIN (lowest, uad_model_default_threshold (det->model, i));
  return lowest;
}
