/* SPDX-License-Identifier: Apache-2.0 */
/* The reconstruction transformer: every intermediate against the original PyTorch
 * implementation (golden/uniad), the training gradient against finite differences on a small
 * model, initialisation, save/load, determinism of training steps, and the optimizer (AdamW,
 * gradient clipping, learning-rate schedule) against torch's arithmetic. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-optim.h"
#include "uad-parallel.h"
#include "uad-safetensors.h"
#include "uad-transformer.h"

#include <glib/gstdio.h>

#include <math.h>
#include <string.h>

/* Spec: a faithful port is within 1e-3 of each tensor's largest magnitude. */
#define GOLDEN_TOL 1e-3

typedef struct {
  UadSafetensors *golden;
  int compared;
} GoldenTrace;

static void
compare_with_golden (const char *name, const float *data, int ndim, const int64_t *shape,
                     gpointer user_data)
{
  GoldenTrace *g = user_data;
  g_autofree char *golden_name = g_strconcat ("rec.", name, NULL);
  if (!uad_safetensors_has (g->golden, golden_name))
    return; /* the golden file keeps the sub-steps of the first layers only */
  g_autoptr (GError) error = NULL;
  g_autoptr (UadTensor) want = uad_safetensors_load_values (g->golden, golden_name, ndim, shape, &error);
  g_assert_no_error (error);
  int64_t n = uad_tensor_numel (want);
  if (strcmp (name, "mask") == 0)
    {
      /* 0 / -inf: must agree exactly (an error measure would be -inf - -inf). */
      int64_t hidden = 0;
      for (int64_t i = 0; i < n; i++)
        {
          g_assert_cmpfloat (data[i], ==, want->data[i]);
          hidden += isinf (want->data[i]) != 0;
        }
      g_test_message ("rec.mask: identical, %" G_GINT64_FORMAT " masked pairs", hidden);
    }
  else
    uad_test_assert_close (golden_name, data, want->data, n, GOLDEN_TOL);
  g->compared++;
}

static void
test_golden (void)
{
  g_autofree char *weights_path = uad_test_shared_path ("golden/uniad/weights.safetensors");
  g_autofree char *tensors_path = uad_test_shared_path ("golden/uniad/tensors.safetensors");
  if (weights_path == NULL || tensors_path == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) weights = uad_safetensors_open (weights_path, &error);
  g_assert_no_error (error);
  g_autoptr (UadSafetensors) golden = uad_safetensors_open (tensors_path, &error);
  g_assert_no_error (error);

  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, 272);
  UadTransformer *model = uad_transformer_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uad_transformer_count_params (model), ==, 7717392);
  g_assert_cmpint (uad_transformer_n_params (model), ==, 132);
  g_assert_true (uad_transformer_load (model, weights, "reconstruction.", &error));
  g_assert_no_error (error);

  g_autoptr (UadTensor) features = uad_safetensors_load (golden, "neck.feature_align", 4,
                                                         (int64_t[]) { 2, 272, 14, 14 }, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) rec = uad_tensor_new_4d (2, 272, 14, 14);
  UadTransformerWorkspace *ws = uad_transformer_workspace_new (model, 3, FALSE);
  GoldenTrace trace = { golden, 0 };
  uad_transformer_workspace_set_trace (ws, compare_with_golden, &trace);
  uad_transformer_forward (model, ws, features->data, 2, rec->data);
  /* Every "rec." tensor of the golden file was met. */
  int golden_rec = 0;
  for (guint i = 0; i < uad_safetensors_get_n_tensors (golden); i++)
    golden_rec += g_str_has_prefix (uad_safetensors_get_name (golden, i), "rec.");
  g_assert_cmpint (trace.compared, ==, golden_rec);

  /* The loss UniAD reports on this batch (eval mode: no jitter, no dropout). */
  double sum = 0;
  for (int64_t i = 0; i < uad_tensor_numel (rec); i++)
    sum += ((double) rec->data[i] - features->data[i]) * (rec->data[i] - features->data[i]);
  float loss = (float) (sum / (double) uad_tensor_numel (rec));
  g_autoptr (UadTensor) want_loss = uad_safetensors_load (golden, "out.loss_mse", 1, NULL, &error);
  g_assert_no_error (error);
  uad_test_assert_close ("out.loss_mse", &loss, want_loss->data, 1, GOLDEN_TOL);

  /* A batch of one gives the same reconstruction of that image (no cross-batch leakage, and
   * the workspace handles batches below its maximum). */
  g_autoptr (UadTensor) rec1 = uad_tensor_new_4d (1, 272, 14, 14);
  uad_transformer_workspace_set_trace (ws, NULL, NULL);
  uad_transformer_forward (model, ws, features->data + 272 * 196, 1, rec1->data);
  uad_test_assert_close ("batch of one", rec1->data, rec->data + 272 * 196, 272 * 196, 1e-5);

  uad_transformer_workspace_free (ws);
  uad_transformer_free (model);
}

/* ---- A small model ------------------------------------------------------------------------ */

enum { SMALL_C = 12, SMALL_B = 2, SMALL_GRID = 5 };

/* The paper's ablations of a model: the neighbour-mask size (0: none) and layer-wise queries. */
typedef struct {
  int neighbour;
  gboolean layer_queries;
} Ablation;

static const Ablation UNIAD = { 3, TRUE };

/* C 12, D 16, 2 heads, FFN 32, 2 + 2 layers (so the decoder has a layer whose previous output
 * is not the memory), 5 x 5 grid, the ablation's neighbourhood and queries. Parameters: UniAD's
 * initialisation plus U(-0.1, 0.1), so that biases and norm offsets are not all zero. */
static UadTransformer *
small_ablated_model (float dropout, float jitter_scale, Ablation ablation)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, SMALL_C);
  cfg.hidden = 16;
  cfg.heads = 2;
  cfg.ffn = 32;
  cfg.encoder_layers = 2;
  cfg.decoder_layers = 2;
  cfg.grid_h = cfg.grid_w = SMALL_GRID;
  cfg.neighbour_h = cfg.neighbour_w = ablation.neighbour;
  cfg.layer_queries = ablation.layer_queries;
  cfg.dropout = dropout;
  cfg.jitter_scale = jitter_scale;
  g_autoptr (GError) error = NULL;
  UadTransformer *m = uad_transformer_new (&cfg, &error);
  g_assert_no_error (error);
  UadRng rng;
  uad_rng_init (&rng, 2022);
  uad_transformer_init (m, &rng);
  size_t n;
  float *p = uad_transformer_params (m, &n);
  float *noise = g_new (float, n);
  uad_rng_uniform (&rng, noise, (int64_t) n, -0.1f, 0.1f);
  for (int i = 0; i < uad_transformer_n_params (m); i++)
    {
      const UadParamInfo *info = uad_transformer_param_info (m, i);
      int64_t numel = info->ndim == 2 ? info->shape[0] * info->shape[1] : info->shape[0];
      for (int64_t j = 0; j < numel; j++)
        p[info->offset + j] += noise[info->offset + j];
    }
  g_free (noise);
  return m;
}

static UadTransformer *
small_model (float dropout, float jitter_scale)
{
  return small_ablated_model (dropout, jitter_scale, UNIAD);
}

static float *
small_features (void)
{
  int n = SMALL_B * SMALL_C * SMALL_GRID * SMALL_GRID;
  float *f = g_new (float, n);
  uad_test_fill_random (f, n, -1, 1, 77);
  return f;
}

/* ---- Whole-model gradient ----------------------------------------------------------------- */

/* Finite differences through a whole training step, in float, with h = 1e-3 on parameters of
 * magnitude ~0.1-1. Truncation error, O(h^2 |L'''|), was measured at ~1e-2 of the gradient
 * scale with h = 1e-2 and ~5e-4 with h = 1e-3 through the four-layer chain; the forward pass's
 * rounding (~1e-7 relative per value, summed into a loss accumulated in double) adds about
 * 1e-8 / (2h) ~ 5e-6 in absolute terms. Per parameter tensor a sample of entries is compared;
 * the check passes when max |analytic - estimate| <= 2e-2 * max(largest |gradient| in the
 * sample, 1e-2 x the largest gradient of the model) - the floor keeps tensors whose gradient is
 * essentially zero (e.g. the key bias, to which softmax is invariant) from comparing rounding
 * noise with rounding noise. A wrong or missing term errs by O(1) of the gradient. Dropout and
 * jitter use the same random stream in every evaluation, so they are fixed functions here. */
#define MODEL_FD_STEP 1e-3
#define MODEL_FD_TOL 2e-2
#define MODEL_FD_SAMPLES 5

static void
check_model_gradient (float dropout, float jitter_scale, Ablation ablation)
{
  UadTransformer *m = small_ablated_model (dropout, jitter_scale, ablation);
  UadTransformerWorkspace *ws = uad_transformer_workspace_new (m, SMALL_B, TRUE);
  float *features = small_features ();
  UadRng rng0;
  uad_rng_init (&rng0, 31337);
  size_t n;
  float *params = uad_transformer_params (m, &n);
  UadRng rng = rng0;
  double loss0 = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
  g_assert_true (isfinite (loss0) && loss0 > 0);
  float *analytic = g_memdup2 (uad_transformer_grads (m, NULL), sizeof (float) * n);
  double global_max = 0;
  for (size_t i = 0; i < n; i++)
    global_max = fmax (global_max, fabs (analytic[i]));
  g_assert_cmpfloat (global_max, >, 0);

  double worst = 0;
  const char *worst_name = "";
  int checked = 0;
  for (int t = 0; t < uad_transformer_n_params (m); t++)
    {
      const UadParamInfo *info = uad_transformer_param_info (m, t);
      int64_t numel = info->ndim == 2 ? info->shape[0] * info->shape[1] : info->shape[0];
      int samples = (int) MIN (numel, MODEL_FD_SAMPLES);
      double max_grad = 0, max_err = 0;
      for (int s = 0; s < samples; s++)
        {
          /* Spread over the tensor, offset so that rows and columns vary. */
          int64_t j = (s * numel) / samples + (s * 7) % MAX (numel / samples, 1);
          float *x = params + info->offset + j;
          float saved = *x, up = saved + (float) MODEL_FD_STEP, down = saved - (float) MODEL_FD_STEP;
          *x = up;
          rng = rng0;
          double lp = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
          *x = down;
          rng = rng0;
          double lm = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
          *x = saved;
          double fd = (lp - lm) / ((double) up - (double) down);
          /* A ReLU that switches inside [p - h, p + h] bends the loss there: the central
           * difference is then off, but the one-sided difference on the side without the kink
           * is still right. So the error of an entry is its distance to the nearest of the three
           * estimates (a wrong gradient is far from all of them). */
          double right = (lp - loss0) / ((double) up - saved);
          double left = (loss0 - lm) / (saved - (double) down);
          double an = analytic[info->offset + j];
          double err = fmin (fabs (an - fd), fmin (fabs (an - right), fabs (an - left)));
          max_grad = fmax (max_grad, fmax (fabs (an), fabs (fd)));
          max_err = fmax (max_err, err);
          checked++;
        }
      double rel = max_err / fmax (max_grad, 1e-2 * global_max);
      g_test_message ("gradient %s: max error %.2g of its scale (largest gradient %.3g)",
                      info->name, rel, max_grad);
      if (!(rel <= worst))
        {
          worst = rel;
          worst_name = info->name;
        }
    }
  g_test_message ("whole model (dropout %g, jitter %g, mask %d, layer-wise queries %d): worst "
                  "gradient error %.3g in %s (tolerance %g) over %d entries", dropout,
                  jitter_scale, ablation.neighbour, ablation.layer_queries, worst, worst_name,
                  MODEL_FD_TOL, checked);
  if (!(worst <= MODEL_FD_TOL))
    g_test_fail_printf ("gradient of %s off by %.3g of its scale", worst_name, worst);
  g_free (analytic);
  g_free (features);
  uad_transformer_workspace_free (ws);
  uad_transformer_free (m);
}

static void
test_model_gradient (void)
{
  check_model_gradient (0.0f, 0.0f, UNIAD);
}

static void
test_model_gradient_dropout_jitter (void)
{
  check_model_gradient (0.1f, 20.0f, UNIAD);
}

/* The ablations: without the neighbour mask, with one learned query, and both (with jitter
 * off, the plain transformer of the paper's identical-shortcut comparison). */
static void
test_model_gradient_no_mask (void)
{
  check_model_gradient (0.0f, 0.0f, (Ablation) { 0, TRUE });
}

static void
test_model_gradient_one_query (void)
{
  check_model_gradient (0.0f, 0.0f, (Ablation) { 3, FALSE });
}

static void
test_model_gradient_plain (void)
{
  check_model_gradient (0.1f, 0.0f, (Ablation) { 0, FALSE });
}

/* Each ablation keeps the maps' shape and changes what is computed: no mask gives other
 * reconstructions, one query drops the later layers' query embeddings from the table (and
 * from the parameter count a loader checks). */
static void
test_ablation_shapes (void)
{
  float *features = small_features ();
  int n_maps = SMALL_B * SMALL_C * SMALL_GRID * SMALL_GRID;
  const Ablation ablations[] = { UNIAD, { 0, TRUE }, { 3, FALSE }, { 0, FALSE } };
  float *rec[G_N_ELEMENTS (ablations)];
  for (size_t a = 0; a < G_N_ELEMENTS (ablations); a++)
    {
      UadTransformer *m = small_ablated_model (0.0f, 0.0f, ablations[a]);
      const UadTransformerConfig *cfg = uad_transformer_get_config (m);
      g_assert_cmpfloat (uad_transformer_config_params (cfg), ==,
                         (double) uad_transformer_count_params (m));
      int embeds = 0;
      for (int i = 0; i < uad_transformer_n_params (m); i++)
        embeds += g_str_has_suffix (uad_transformer_param_info (m, i)->name, "learned_embed.weight");
      g_assert_cmpint (embeds, ==, ablations[a].layer_queries ? cfg->decoder_layers : 1);
      g_assert_cmpstr (uad_transformer_param_info (m, 0)->name, ==, "pos_embed.row_embed.weight");

      UadTransformerWorkspace *ws = uad_transformer_workspace_new (m, SMALL_B, FALSE);
      rec[a] = g_new (float, n_maps);
      uad_transformer_forward (m, ws, features, SMALL_B, rec[a]);
      for (int i = 0; i < n_maps; i++)
        g_assert_true (isfinite (rec[a][i]));
      uad_transformer_workspace_free (ws);
      uad_transformer_free (m);
    }
  /* The same random stream initialises the unmasked model identically: only the mask differs. */
  double diff = 0;
  for (int i = 0; i < n_maps; i++)
    diff = fmax (diff, fabs (rec[0][i] - rec[1][i]));
  g_test_message ("largest change of a reconstruction without the mask: %.3g", diff);
  g_assert_cmpfloat (diff, >, 1e-3);
  for (size_t a = 0; a < G_N_ELEMENTS (ablations); a++)
    g_free (rec[a]);
  g_free (features);
}

/* ---- Training step semantics -------------------------------------------------------------- */

static void
test_train_step (void)
{
  float *features = small_features ();
  int n_maps = SMALL_B * SMALL_C * SMALL_GRID * SMALL_GRID;
  float *rec = g_new (float, n_maps);

  /* Without dropout and jitter the training forward pass is the inference one. */
  UadTransformer *plain = small_model (0.0f, 0.0f);
  UadTransformerWorkspace *ws = uad_transformer_workspace_new (plain, SMALL_B, TRUE);
  UadTransformerWorkspace *ws_eval = uad_transformer_workspace_new (plain, SMALL_B, FALSE);
  UadRng rng;
  uad_rng_init (&rng, 1);
  double loss = uad_transformer_train_step (plain, ws, features, SMALL_B, &rng);
  uad_transformer_forward (plain, ws_eval, features, SMALL_B, rec);
  double eval = 0;
  for (int i = 0; i < n_maps; i++)
    eval += pow (rec[i] - features[i], 2) / n_maps;
  g_test_message ("train-mode loss %.9g, inference loss %.9g", loss, eval);
  g_assert_cmpfloat (fabs (loss - eval), <=, 1e-6 * eval);
  uad_transformer_workspace_free (ws);
  uad_transformer_workspace_free (ws_eval);
  uad_transformer_free (plain);

  /* With them: a different loss, the same one again from the same generator state, and a
   * generator state that moved on. */
  UadTransformer *m = small_model (0.1f, 20.0f);
  ws = uad_transformer_workspace_new (m, SMALL_B, TRUE);
  uad_rng_init (&rng, 1);
  UadRng start = rng;
  size_t n;
  float *grads = uad_transformer_grads (m, &n);
  double l1 = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
  float *g1 = g_memdup2 (grads, sizeof (float) * n);
  guint64 used = rng.counter - start.counter;
  rng = start;
  double l2 = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
  g_assert_cmpfloat (l1, ==, l2);
  g_assert_cmpmem (g1, sizeof (float) * n, uad_transformer_grads (m, NULL), sizeof (float) * n);
  /* 1 jitter decision + 50 x 12 jitter values + dropout decisions (four to a draw) of 10
   * residual branches (2 per encoder layer, 3 per decoder layer), 4 FFNs and 6 attentions. */
  guint64 tokens = SMALL_B * SMALL_GRID * SMALL_GRID;
#define DRAWS(n) (((n) + 3) / 4)
  guint64 expect = 1 + tokens * SMALL_C + 10 * DRAWS (tokens * 16) + 4 * DRAWS (tokens * 32)
                   + 6 * DRAWS ((guint64) SMALL_B * 2 * 25 * 25);
#undef DRAWS
  g_assert_cmpuint (used, ==, expect);
  double l3 = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
  g_test_message ("training losses: %.6g, again %.6g, next draw %.6g", l1, l2, l3);
  g_assert_cmpfloat (l3, !=, l1);
  g_free (g1);
  g_free (rec);
  g_free (features);
  uad_transformer_workspace_free (ws);
  uad_transformer_free (m);
}

/* ---- Initialisation, configuration and parameter files ----------------------------------- */

static void
test_init (void)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, 272);
  g_autoptr (GError) error = NULL;
  UadTransformer *m = uad_transformer_new (&cfg, &error);
  g_assert_no_error (error);
  UadRng rng;
  uad_rng_init (&rng, 3);
  uad_transformer_init (m, &rng);
  float *p = uad_transformer_params (m, NULL);
  for (int i = 0; i < uad_transformer_n_params (m); i++)
    {
      const UadParamInfo *info = uad_transformer_param_info (m, i);
      int64_t numel = info->ndim == 2 ? info->shape[0] * info->shape[1] : info->shape[0];
      const float *x = p + info->offset;
      double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
      for (int64_t j = 0; j < numel; j++)
        {
          lo = fmin (lo, x[j]);
          hi = fmax (hi, x[j]);
          sum += x[j];
          sq += (double) x[j] * x[j];
        }
      double mean = sum / numel, var = sq / numel - mean * mean;
      if (g_str_has_suffix (info->name, "learned_embed.weight"))
        {
          g_assert_cmpfloat (fabs (mean), <, 0.02); /* N(0, 1) over 50176 values */
          g_assert_cmpfloat (fabs (var - 1), <, 0.03);
        }
      else if (g_str_has_prefix (info->name, "pos_embed."))
        {
          g_assert_cmpfloat (lo, >=, 0);
          g_assert_cmpfloat (hi, <, 1);
          g_assert_cmpfloat (fabs (mean - 0.5), <, 0.03);
        }
      else if (info->ndim == 2)
        {
          /* xavier-uniform over the whole matrix: U(-a, a), a = sqrt(6 / (rows + cols)). */
          double a = (float) sqrt (6.0 / (info->shape[0] + info->shape[1])); /* as drawn */
          g_assert_cmpfloat (-lo, <=, a);
          g_assert_cmpfloat (hi, <=, a);
          g_assert_cmpfloat (hi, >, 0.98 * a);
          g_assert_cmpfloat (fabs (var - a * a / 3), <, 0.05 * a * a / 3);
        }
      else if (g_str_has_suffix (info->name, "norm1.weight") || g_str_has_suffix (info->name, "norm2.weight")
               || g_str_has_suffix (info->name, "norm3.weight") || g_str_has_suffix (info->name, "norm.weight"))
        g_assert_true (lo == 1 && hi == 1);
      else
        g_assert_true (lo == 0 && hi == 0); /* biases */
    }
  uad_transformer_free (m);

  /* Configurations that cannot work are errors, not crashes. */
  cfg.neighbour_h = cfg.neighbour_w = 29; /* hides the whole 14 x 14 grid from every token */
  g_assert_null (uad_transformer_new (&cfg, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  uad_transformer_config_default (&cfg, 272);
  cfg.heads = 7;
  g_assert_null (uad_transformer_new (&cfg, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
}

static void
test_save_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("uad-transformer-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "state.safetensors", NULL);

  UadTransformer *m = small_model (0.1f, 20.0f);
  size_t n;
  float *p = uad_transformer_params (m, &n);
  UadAdamWConfig ocfg;
  uad_adamw_config_default (&ocfg);
  UadAdamW *opt = uad_adamw_new (&ocfg, n);
  UadRng rng;
  uad_rng_init (&rng, 9);
  UadTransformerWorkspace *ws = uad_transformer_workspace_new (m, SMALL_B, TRUE);
  float *features = small_features ();
  for (int i = 0; i < 2; i++)
    {
      uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
      uad_clip_grad_norm (uad_transformer_grads (m, NULL), n, 0.1);
      uad_adamw_step (opt, p, uad_transformer_grads (m, NULL), 1e-3);
    }

  UadSafetensorsWriter *w = uad_safetensors_writer_new ();
  uad_transformer_save (m, w, "reconstruction.");
  uad_adamw_save (opt, w, "optimizer.");
  /* The generator's whole state is (seed, counter): a copy stands for saving it. */
  UadRng rng2 = rng;
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  uad_safetensors_writer_free (w);

  /* Resuming from the file continues bit for bit. */
  UadSafetensors *st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  UadTransformer *m2 = small_model (0.1f, 20.0f);
  UadAdamW *opt2 = uad_adamw_new (&ocfg, n);
  g_assert_true (uad_transformer_load (m2, st, "reconstruction.", &error));
  g_assert_true (uad_adamw_load (opt2, st, "optimizer.", &error));
  g_assert_no_error (error);
  g_assert_cmpint (opt2->step, ==, 2);
  g_assert_cmpmem (p, sizeof (float) * n, uad_transformer_params (m2, NULL), sizeof (float) * n);
  UadTransformerWorkspace *ws2 = uad_transformer_workspace_new (m2, SMALL_B, TRUE);
  double a = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
  double b = uad_transformer_train_step (m2, ws2, features, SMALL_B, &rng2);
  g_assert_cmpfloat (a, ==, b);
  uad_adamw_step (opt, p, uad_transformer_grads (m, NULL), 1e-3);
  uad_adamw_step (opt2, uad_transformer_params (m2, NULL), uad_transformer_grads (m2, NULL), 1e-3);
  g_assert_cmpmem (p, sizeof (float) * n, uad_transformer_params (m2, NULL), sizeof (float) * n);

  /* Wrong prefix, wrong size: errors naming the tensor. */
  g_assert_false (uad_transformer_load (m2, st, "nope.", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "nope.pos_embed.row_embed.weight"));
  g_clear_error (&error);
  UadAdamW *opt3 = uad_adamw_new (&ocfg, n + 1);
  g_assert_false (uad_adamw_load (opt3, st, "optimizer.", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_clear_error (&error);
  UadTransformerConfig cfg = *uad_transformer_get_config (m);
  cfg.channels = 13;
  UadTransformer *m3 = uad_transformer_new (&cfg, &error);
  g_assert_false (uad_transformer_load (m3, st, "reconstruction.", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_test_message ("%s", error->message);

  uad_transformer_free (m3);
  uad_adamw_free (opt3);
  uad_safetensors_close (st);
  uad_transformer_workspace_free (ws);
  uad_transformer_workspace_free (ws2);
  uad_transformer_free (m);
  uad_transformer_free (m2);
  uad_adamw_free (opt);
  uad_adamw_free (opt2);
  g_free (features);
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Optimizer ---------------------------------------------------------------------------- */

/* torch.optim.AdamW(lr=1e-3, weight_decay=1e-2) with torch.nn.utils.clip_grad_norm_(max_norm=1)
 * before each of three steps, worked out by hand (Python, rounding every float32 operation as
 * torch's CPU kernels do). */
static void
test_adamw (void)
{
  float p[5] = { 0.5f, -1.25f, 2.0f, 0.0f, 3e-3f };
  const float grads[3][5] = {
    { 0.1f, -0.2f, 0.05f, 1e-9f, -3.0f }, /* norm 3.0087: clipped */
    { -0.3f, 0.4f, 0.0f, 0.5f, 2.0f },    /* norm 2.1213: clipped */
    { 0.2f, 0.2f, -0.1f, -0.5f, 0.01f },  /* norm 0.5832: left alone */
  };
  const double norms[3] = { 3.00873727692609, 2.1213203463694326, 0.5831809347687377 };
  const float want[3][5] = {
    { 0.49899500608444214f, -1.2489874362945557f, 1.998979926109314f, -3.216739060007967e-05f,
      0.00399996992200613f },
    { 0.4995611906051636f, -1.249454140663147f, 1.9982898235321045f, -0.0007763038156554103f,
      0.003975292202085257f },
    { 0.499298632144928f, -1.2501553297042847f, 1.9988151788711548f, -0.0004435888840816915f,
      0.003951549530029297f },
  };
  const float want_m[5] = { 0.009964242577552795f, 0.031586237251758575f, -0.008653921075165272f,
                            -0.028786810114979744f, 0.005088021978735924f };
  const float want_v[5] = { 6.108244269853458e-05f, 7.992980681592599e-05f,
                            1.0275614840793423e-05f, 0.00030549996881745756f,
                            0.0018803116399794817f };
  UadAdamWConfig cfg;
  uad_adamw_config_default (&cfg);
  g_assert_cmpfloat (cfg.beta1, ==, 0.9);
  g_assert_cmpfloat (cfg.beta2, ==, 0.999);
  g_assert_cmpfloat (cfg.eps, ==, 1e-8);
  g_assert_cmpfloat (cfg.weight_decay, ==, 1e-4);
  cfg.weight_decay = 1e-2;
  UadAdamW *opt = uad_adamw_new (&cfg, 5);
  for (int s = 0; s < 3; s++)
    {
      float g[5];
      memcpy (g, grads[s], sizeof g);
      double norm = uad_clip_grad_norm (g, 5, 1.0);
      g_assert_cmpfloat_with_epsilon (norm, norms[s], 1e-6);
      uad_adamw_step (opt, p, g, 1e-3);
      g_autofree char *what = g_strdup_printf ("AdamW step %d", s + 1);
      uad_test_assert_close (what, p, want[s], 5, 1e-6);
    }
  uad_test_assert_close ("AdamW exp_avg", opt->exp_avg, want_m, 5, 1e-6);
  uad_test_assert_close ("AdamW exp_avg_sq", opt->exp_avg_sq, want_v, 5, 1e-6);
  g_assert_cmpint (opt->step, ==, 3);
  uad_adamw_free (opt);

  /* Clipping scales to max_norm / (norm + 1e-6) exactly when that is below 1. */
  float g[4] = { 3, 4, 0, 0 };
  g_assert_cmpfloat (uad_clip_grad_norm (g, 4, 10.0), ==, 5.0);
  g_assert_cmpfloat (g[0], ==, 3.0f);
  g_assert_cmpfloat (uad_clip_grad_norm (g, 4, 0.1), ==, 5.0);
  g_assert_cmpfloat_with_epsilon (g[1], 4 * 0.1 / (5 + 1e-6), 1e-8);
}

static void
test_step_lr (void)
{
  /* UniAD: lr 1e-4, x0.1 every 800 epochs. */
  g_assert_cmpfloat (uad_step_lr (1e-4, 0.1, 800, 0), ==, 1e-4);
  g_assert_cmpfloat (uad_step_lr (1e-4, 0.1, 800, 799), ==, 1e-4);
  g_assert_cmpfloat_with_epsilon (uad_step_lr (1e-4, 0.1, 800, 800), 1e-5, 1e-18);
  g_assert_cmpfloat_with_epsilon (uad_step_lr (1e-4, 0.1, 800, 999), 1e-5, 1e-18);
  g_assert_cmpfloat_with_epsilon (uad_step_lr (1e-4, 0.1, 800, 1600), 1e-6, 1e-18);
}

/* The pieces together: a few clipped AdamW steps on a fixed batch lower the loss. */
static void
test_training_lowers_loss (void)
{
  UadTransformer *m = small_model (0.1f, 20.0f);
  UadTransformerWorkspace *ws = uad_transformer_workspace_new (m, SMALL_B, TRUE);
  float *features = small_features ();
  size_t n;
  float *p = uad_transformer_params (m, &n);
  float *g = uad_transformer_grads (m, NULL);
  UadAdamWConfig cfg;
  uad_adamw_config_default (&cfg);
  UadAdamW *opt = uad_adamw_new (&cfg, n);
  UadRng rng;
  uad_rng_init (&rng, 4);
  double first = 0, last = 0;
  for (int s = 0; s < 60; s++)
    {
      double loss = uad_transformer_train_step (m, ws, features, SMALL_B, &rng);
      if (s < 5)
        first += loss / 5;
      if (s >= 55)
        last += loss / 5;
      uad_clip_grad_norm (g, n, 0.1);
      uad_adamw_step (opt, p, g, 3e-3);
    }
  g_test_message ("mean loss of the first 5 steps %.4g, of the last 5 %.4g", first, last);
  g_assert_cmpfloat (last, <, 0.7 * first);
  uad_adamw_free (opt);
  g_free (features);
  uad_transformer_workspace_free (ws);
  uad_transformer_free (m);
}

/* The count a model loader checks against the file equals the parameters really built. */
static void
test_config_params (void)
{
  const int shapes[][6] = { /* channels, hidden, heads, ffn, encoder, decoder layers */
    { 168, 256, 8, 1024, 4, 4 }, { 272, 256, 8, 1024, 4, 4 }, { 5, 6, 3, 7, 0, 1 }, { 12, 16, 2, 9, 2, 3 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      UadTransformerConfig cfg;
      uad_transformer_config_default (&cfg, shapes[i][0]);
      cfg.hidden = shapes[i][1], cfg.heads = shapes[i][2], cfg.ffn = shapes[i][3];
      cfg.encoder_layers = shapes[i][4], cfg.decoder_layers = shapes[i][5];
      cfg.grid_h = 14 - (int) i, cfg.grid_w = 14 + (int) i;
      g_autoptr (GError) error = NULL;
      UadTransformer *m = uad_transformer_new (&cfg, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (uad_transformer_config_params (&cfg), ==,
                         (double) uad_transformer_count_params (m));
      uad_transformer_free (m);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transformer/config-params", test_config_params);
  g_test_add_func ("/transformer/golden", test_golden);
  g_test_add_func ("/transformer/gradient", test_model_gradient);
  g_test_add_func ("/transformer/gradient-dropout-jitter", test_model_gradient_dropout_jitter);
  g_test_add_func ("/transformer/gradient-no-mask", test_model_gradient_no_mask);
  g_test_add_func ("/transformer/gradient-one-query", test_model_gradient_one_query);
  g_test_add_func ("/transformer/gradient-plain", test_model_gradient_plain);
  g_test_add_func ("/transformer/ablation-shapes", test_ablation_shapes);
  g_test_add_func ("/transformer/train-step", test_train_step);
  g_test_add_func ("/transformer/init", test_init);
  g_test_add_func ("/transformer/save-load", test_save_load);
  g_test_add_func ("/transformer/adamw", test_adamw);
  g_test_add_func ("/transformer/step-lr", test_step_lr);
  g_test_add_func ("/transformer/training-lowers-loss", test_training_lowers_loss);
  return g_test_run ();
}
