/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-detector.h"

#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-image.h"
#include "uad-parallel.h"
#include "uad-weights.h"

#include <string.h>

#define GRID UAD_FEATURE_GRID
#define MAP UAD_ANOMALY_MAP_SIZE

struct UadDetector {
  UadModel *model;
  UadBackbone *bb;
  UadFeatureScorer *scorer;
  UadTensor *input, *raw;  /* the batch's model inputs and backbone features */
  /* What the last batch of uad_detector_run_files gave, for its results. */
  UadTensor *features, *recs, *maps;
  int channels;
  /* For the model's image decoder, made when first used: its workspace for 2 BATCH pictures
   * and their input, features then reconstructions [2 BATCH, C, GRID, GRID]. */
  UadDecoderWorkspace *decoder_ws;
  float *decoder_input;
};

UadDetector *
uad_detector_new (UadModel *model, UadBackbone *bb, const char *backbone_sha256, GError **error)
{
  int channels = uad_backbone_get_feature_channels (bb);
  gboolean ok = uad_model_check_backbone (model, uad_backbone_get_kind (bb), backbone_sha256, error);
  if (ok && channels != model->channels)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "the model reads %d feature channels, but %s gives %d", model->channels,
                   uad_backbone_kind_name (uad_backbone_get_kind (bb)), channels);
      ok = FALSE;
    }
  if (!ok)
    {
      uad_model_free (model);
      uad_backbone_free (bb);
      return NULL;
    }
  UadDetector *det = g_new0 (UadDetector, 1);
  det->model = model;
  det->bb = bb;
  det->channels = channels;
  det->scorer = uad_feature_scorer_new (model, UAD_DETECTOR_BATCH);
  int s = uad_backbone_get_input_size (bb);
  det->input = uad_tensor_new_4d (UAD_DETECTOR_BATCH, 3, s, s);
  det->raw = uad_tensor_new_4d (UAD_DETECTOR_BATCH, channels, GRID, GRID);
  det->features = uad_tensor_new_4d (UAD_DETECTOR_BATCH, channels, GRID, GRID);
  if (model->method == UAD_METHOD_UNIAD)
    det->recs = uad_tensor_new_4d (UAD_DETECTOR_BATCH, channels, GRID, GRID);
  det->maps = uad_tensor_new_4d (UAD_DETECTOR_BATCH, 1, MAP, MAP);
  return det;
}

UadBackbone *
uad_detector_load_backbone (const UadModel *model, const char *weights_path,
                            const char *weights_dir, char **weights_used, char **sha256,
                            GError **error)
{
  g_autofree char *path = weights_path ? g_strdup (weights_path)
                                       : uad_weights_find (weights_dir, model->backbone_sha256,
                                                           error);
  if (path == NULL)
    return NULL;
  g_autofree char *digest = uad_weights_sha256 (path, error);
  if (digest == NULL)
    return NULL;
  if (!uad_model_check_backbone (model, model->backbone, digest, error))
    {
      g_prefix_error (error, "%s: ", path); /* which file to replace, among several */
      return NULL;
    }
  UadBackbone *bb = uad_backbone_load (model->backbone, path, error);
  if (bb == NULL)
    return NULL;
  *sha256 = g_steal_pointer (&digest);
  if (weights_used)
    *weights_used = g_steal_pointer (&path);
  return bb;
}

UadDetector *
uad_detector_open (const char *model_path, const char *weights_path, const char *weights_dir,
                   char **weights_used, GError **error)
{
  g_autoptr (UadModel) model = uad_model_load (model_path, error);
  if (model == NULL || !uad_model_check_grid (model, model_path, error))
    return NULL;
  g_autofree char *sha = NULL, *used = NULL;
  UadBackbone *bb = uad_detector_load_backbone (model, weights_path, weights_dir, &used, &sha,
                                                error);
  if (bb == NULL)
    return NULL;
  UadDetector *det = uad_detector_new (g_steal_pointer (&model), bb, sha, error);
  if (det && weights_used)
    *weights_used = g_steal_pointer (&used);
  return det;
}

void
uad_detector_free (UadDetector *det)
{
  if (det == NULL)
    return;
  uad_feature_scorer_free (det->scorer);
  uad_model_free (det->model);
  uad_backbone_free (det->bb);
  uad_tensor_free (det->input);
  uad_tensor_free (det->raw);
  uad_tensor_free (det->features);
  uad_tensor_free (det->recs);
  uad_tensor_free (det->maps);
  uad_decoder_workspace_free (det->decoder_ws);
  g_free (det->decoder_input);
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

void
uad_detector_run (UadDetector *det, const UadTensor *input, const int *class_index,
                  double *scores, float *maps, float *features, float *recs)
{
  int n = (int) input->shape[0];
  g_return_if_fail (n >= 1 && n <= UAD_DETECTOR_BATCH);
  UadTensor raw = { det->raw->data, 4, { n, det->channels, GRID, GRID }, FALSE };
  uad_backbone_extract (det->bb, input, &raw);
  uad_feature_scorer_run (det->scorer, raw.data, n, class_index, scores, maps, features, recs);
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
                           "one %s per class)", paths[first + i],
                           det->model->method == UAD_METHOD_PADIM ? "Gaussian model" : "transformer");
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
      float *recs = want_features && det->recs ? det->recs->data : NULL;
      uad_detector_run (det, &in, classes, scores, want_maps ? det->maps->data : NULL,
                        want_features ? det->features->data : NULL, recs);
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
              r->rec = recs ? g_memdup2 (recs + k * per, per * sizeof (float)) : NULL;
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

const float *
uad_detector_decode (UadDetector *det, const float *features, const float *recs, int n,
                     GError **error)
{
  g_return_val_if_fail (n >= 1 && n <= UAD_DETECTOR_BATCH, NULL);
  UadDecoder *decoder = det->model->decoder;
  if (decoder == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   det->model->method == UAD_METHOD_PADIM
                     ? "a PaDiM model reconstructs nothing to picture"
                     : "the model has no image decoder (add one with 'uniad train-decoder')");
      return NULL;
    }
  size_t per = (size_t) det->channels * GRID * GRID;
  if (det->decoder_ws == NULL)
    {
      det->decoder_ws = uad_decoder_workspace_new (decoder, 2 * UAD_DETECTOR_BATCH, FALSE);
      det->decoder_input = g_new (float, 2 * UAD_DETECTOR_BATCH * per);
    }
  /* One pass for both halves, so that both pictures come through the very same decoder. */
  memcpy (det->decoder_input, features, n * per * sizeof (float));
  memcpy (det->decoder_input + n * per, recs, n * per * sizeof (float));
  return uad_decoder_forward (decoder, det->decoder_ws, det->decoder_input, 2 * n);
}

gboolean
uad_detector_render (UadDetector *det, const float *features, const float *recs, int n,
                     UadImage **reference, UadImage **reconstruction, GError **error)
{
  const float *pictures = uad_detector_decode (det, features, recs, n, error);
  if (pictures == NULL)
    return FALSE;
  UadDecoder *decoder = det->model->decoder;
  int size = uad_decoder_get_output_size (decoder);
  size_t out = (size_t) 3 * size * size;
  UadNormalization norm = uad_decoder_get_config (decoder)->normalization;
  for (int i = 0; i < n; i++)
    {
      if (reference)
        reference[i] = uad_decoder_to_image (pictures + i * out, size, norm);
      reconstruction[i] = uad_decoder_to_image (pictures + (n + i) * out, size, norm);
    }
  return TRUE;
}
