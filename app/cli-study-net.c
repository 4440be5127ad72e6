/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-net.h"

#include "uad-anomaly-map.h"
#include "uad-error.h"
#include "uad-optim.h"
#include "uad-recipe.h"
#include "uad-safetensors.h"
#include "uad-transformer.h"

#include <stdlib.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define GRID UAD_FEATURE_GRID
#define EVAL_BATCH 8
#define BASELINE_HIDDEN 256

struct CliStudyNet {
  UadTransformer *transformer;
  UadTransformerWorkspace *train_ws, *eval_ws;
  UadBaseline *baseline;
  UadAdamW *opt;
  UadRng rng; /* the transformer's jitter and dropout */
  float *params, *grads;
  size_t n_params;
};

CliStudyNet *
cli_study_net_new (const CliStudyContender *contender, int channels, int batch, guint64 seed,
                   GError **error)
{
  g_autoptr (CliStudyNet) net = g_new0 (CliStudyNet, 1);
  UadRng init;
  uad_rng_init (&init, seed);
  if (contender->recipe != NULL)
    {
      UadRecipe recipe;
      UadTransformerConfig cfg;
      if (!uad_recipe_lookup (contender->recipe, &recipe, error))
        return NULL;
      uad_recipe_transformer_config (&recipe, channels, &cfg);
      if ((net->transformer = uad_transformer_new (&cfg, error)) == NULL)
        return NULL;
      uad_transformer_init (net->transformer, &init);
      net->train_ws = uad_transformer_workspace_new (net->transformer, batch, TRUE);
      net->eval_ws = uad_transformer_workspace_new (net->transformer, EVAL_BATCH, FALSE);
      net->params = uad_transformer_params (net->transformer, &net->n_params);
      net->grads = uad_transformer_grads (net->transformer, NULL);
    }
  else
    {
      net->baseline = uad_baseline_new (contender->baseline, channels, BASELINE_HIDDEN, GRID,
                                        MAX (batch, EVAL_BATCH));
      uad_baseline_init (net->baseline, &init);
      net->params = uad_baseline_params (net->baseline, &net->n_params);
      net->grads = uad_baseline_grads (net->baseline, NULL);
    }
  uad_rng_init (&net->rng, seed + 1);
  UadAdamWConfig oc;
  uad_adamw_config_default (&oc);
  net->opt = uad_adamw_new (&oc, net->n_params);
  return g_steal_pointer (&net);
}

void
cli_study_net_free (CliStudyNet *net)
{
  if (net == NULL)
    return;
  if (net->transformer != NULL)
    {
      uad_transformer_workspace_free (net->train_ws);
      uad_transformer_workspace_free (net->eval_ws);
      uad_transformer_free (net->transformer);
    }
  uad_baseline_free (net->baseline);
  if (net->opt != NULL)
    uad_adamw_free (net->opt);
  g_free (net);
}

double
cli_study_net_step (CliStudyNet *net, const float *features, int n, double lr, double clip)
{
  double loss = net->transformer != NULL
    ? uad_transformer_train_step (net->transformer, net->train_ws, features, n, &net->rng)
    : uad_baseline_train_step (net->baseline, features, n);
  uad_clip_grad_norm (net->grads, net->n_params, clip);
  uad_adamw_step (net->opt, net->params, net->grads, lr);
  return loss;
}

static void
forward (CliStudyNet *net, const float *features, int n, float *rec)
{
  if (net->transformer != NULL)
    uad_transformer_forward (net->transformer, net->eval_ws, features, n, rec);
  else
    uad_baseline_forward (net->baseline, features, n, rec);
}

void
cli_study_net_score (CliStudyNet *net, const UadTensor *features, int first, int count,
                     double *scores, float *maps)
{
  int C = (int) features->shape[1];
  size_t per = (size_t) C * GRID * GRID;
  g_autoptr (UadTensor) rec = uad_tensor_new_4d (EVAL_BATCH, C, GRID, GRID);
  g_autoptr (UadTensor) small = uad_tensor_new_4d (EVAL_BATCH, 1, GRID, GRID);
  for (int i = 0; i < count; i += EVAL_BATCH)
    {
      int n = MIN (EVAL_BATCH, count - i);
      float *feat_data = features->data + (first + i) * per;
      forward (net, feat_data, n, rec->data);
      g_autoptr (UadTensor) feat = uad_tensor_new_borrowed (feat_data, 4, (int64_t[]) { n, C, GRID, GRID });
      g_autoptr (UadTensor) r = uad_tensor_new_borrowed (rec->data, 4, (int64_t[]) { n, C, GRID, GRID });
      g_autoptr (UadTensor) s = uad_tensor_new_borrowed (small->data, 4, (int64_t[]) { n, 1, GRID, GRID });
      g_autoptr (UadTensor) m = uad_tensor_new_borrowed (maps + (size_t) i * MAP * MAP, 4,
                                                         (int64_t[]) { n, 1, MAP, MAP });
      uad_anomaly_map_compute (feat, r, s, m);
      for (int j = 0; j < n; j++)
        scores[i + j] = uad_anomaly_score (maps + (size_t) (i + j) * MAP * MAP, MAP, MAP, UAD_SCORE_MAX);
    }
}

gboolean
cli_study_net_save (const CliStudyNet *net, const CliStudyNetState *state, const char *path,
                    GError **error)
{
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  /* A finished network is never trained again: its state alone says so, without the
   * tens of megabytes of its weights and moments. */
  if (!state->done)
    {
      g_autoptr (UadTensor) params = uad_tensor_new_borrowed (net->params, 1,
                                                              (int64_t[]) { (int64_t) net->n_params });
      uad_safetensors_writer_add_tensor (w, "params", params);
      uad_adamw_save (net->opt, w, "adamw.");
      guint64 rng[2] = { GUINT64_TO_LE (net->rng.seed), GUINT64_TO_LE (net->rng.counter) };
      uad_safetensors_writer_add_raw (w, "rng", UAD_DTYPE_U64, 1, (int64_t[]) { 2 }, rng, sizeof rng);
    }
  /* Doubles as exact decimal text: the resumed run must continue from the same sums. */
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *epoch = g_strdup_printf ("%d", state->epoch);
  g_autofree char *position = g_strdup_printf ("%d", state->position);
  g_autofree char *steps = g_strdup_printf ("%d", state->steps);
  g_autofree char *evaluations = g_strdup_printf ("%d", state->evaluations);
  uad_safetensors_writer_add_metadata (w, "epoch", epoch);
  uad_safetensors_writer_add_metadata (w, "position", position);
  uad_safetensors_writer_add_metadata (w, "steps", steps);
  uad_safetensors_writer_add_metadata (w, "evaluations", evaluations);
  uad_safetensors_writer_add_metadata (w, "loss_sum", g_ascii_dtostr (buf, sizeof buf, state->loss_sum));
  uad_safetensors_writer_add_metadata (w, "seconds", g_ascii_dtostr (buf, sizeof buf, state->seconds));
  uad_safetensors_writer_add_metadata (w, "done", state->done ? "1" : "0");
  return uad_safetensors_writer_save (w, path, error);
}

static gboolean
read_state (UadSafetensors *st, CliStudyNetState *state, GError **error)
{
  const char *keys[] = { "epoch", "position", "steps", "loss_sum", "seconds", "evaluations", "done" };
  const char *v[G_N_ELEMENTS (keys)];
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if ((v[i] = uad_safetensors_get_metadata (st, keys[i])) == NULL)
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: not a study checkpoint (no %s)",
                     uad_safetensors_get_path (st), keys[i]);
        return FALSE;
      }
  state->epoch = atoi (v[0]);
  state->position = atoi (v[1]);
  state->steps = atoi (v[2]);
  state->loss_sum = g_ascii_strtod (v[3], NULL);
  state->seconds = g_ascii_strtod (v[4], NULL);
  state->evaluations = atoi (v[5]);
  state->done = strcmp (v[6], "1") == 0;
  return TRUE;
}

gboolean
cli_study_net_load (CliStudyNet *net, CliStudyNetState *state, const char *path, GError **error)
{
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, error);
  if (st == NULL || !read_state (st, state, error))
    return FALSE;
  if (net == NULL)
    return TRUE;
  g_autoptr (UadTensor) params = uad_safetensors_load (st, "params", 1,
                                                       (int64_t[]) { (int64_t) net->n_params }, error);
  if (params == NULL || !uad_adamw_load (net->opt, st, "adamw.", error))
    return FALSE;
  size_t n_bytes = 0;
  const guint8 *rng = uad_safetensors_get_data (st, "rng", &n_bytes);
  if (rng == NULL || n_bytes != 2 * sizeof (guint64))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: no generator state", path);
      return FALSE;
    }
  guint64 r[2];
  memcpy (r, rng, sizeof r);
  net->rng.seed = GUINT64_FROM_LE (r[0]);
  net->rng.counter = GUINT64_FROM_LE (r[1]);
  memcpy (net->params, params->data, sizeof (float) * net->n_params);
  return TRUE;
}
