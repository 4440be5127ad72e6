/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-model.h"

#include "uad-error.h"
#include "uad-json.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

#define METADATA_KEY "uniad"
#define DECODER_PREFIX "decoder."
#define STANDARDIZATION_PREFIX "standardization."
#define GRID UAD_FEATURE_GRID

static const char *const method_names[] = {
  [UAD_METHOD_UNIAD] = "uniad",
  [UAD_METHOD_PADIM] = "padim",
};

/* What both methods have. */
static UadModel *
model_new (UadMethod method, UadBackboneKind backbone, const char *backbone_sha256, int channels,
           gboolean separate, const char *const *class_names, int n_classes)
{
  UadModel *model = g_new0 (UadModel, 1);
  model->method = method;
  model->backbone = backbone;
  model->backbone_sha256 = g_strdup (backbone_sha256);
  model->score_kind = UAD_SCORE_MAX;
  model->separate = separate;
  model->channels = channels;
  model->n_classes = n_classes;
  model->classes = g_new0 (UadModelClass, n_classes);
  for (int i = 0; i < n_classes; i++)
    model->classes[i].name = g_strdup (class_names[i]);
  return model;
}

UadModel *
uad_model_new (UadBackboneKind backbone, const char *backbone_sha256,
               const UadTransformerConfig *config, gboolean separate,
               const char *const *class_names, int n_classes, GError **error)
{
  g_return_val_if_fail (n_classes >= 1, NULL);
  g_autoptr (UadModel) model = model_new (UAD_METHOD_UNIAD, backbone, backbone_sha256,
                                          config->channels, separate, class_names, n_classes);
  model->n_transformers = separate ? n_classes : 1;
  model->transformers = g_new0 (UadTransformer *, model->n_transformers);
  for (int i = 0; i < model->n_transformers; i++)
    if ((model->transformers[i] = uad_transformer_new (config, error)) == NULL)
      return NULL;
  return g_steal_pointer (&model);
}

UadModel *
uad_model_new_padim (UadBackboneKind backbone, const char *backbone_sha256, int channels,
                     gboolean separate, const char *const *class_names, int n_classes)
{
  g_return_val_if_fail (n_classes >= 1 && channels >= 1, NULL);
  UadModel *model = model_new (UAD_METHOD_PADIM, backbone, backbone_sha256, channels, separate,
                               class_names, n_classes);
  model->n_gaussians = separate ? n_classes : 1;
  model->gaussians = g_new0 (UadPadim *, model->n_gaussians);
  for (int i = 0; i < model->n_gaussians; i++)
    model->gaussians[i] = uad_padim_new (channels, GRID * GRID);
  return model;
}

void
uad_model_free (UadModel *model)
{
  if (model == NULL)
    return;
  g_free (model->backbone_sha256);
  for (int i = 0; i < model->n_classes; i++)
    g_free (model->classes[i].name);
  g_free (model->classes);
  for (int i = 0; i < model->n_transformers; i++)
    uad_transformer_free (model->transformers[i]);
  g_free (model->transformers);
  for (int i = 0; i < model->n_gaussians; i++)
    uad_padim_free (model->gaussians[i]);
  g_free (model->gaussians);
  uad_model_set_residuals (model, NULL, 0);
  g_free (model->feature_mean);
  g_free (model->feature_std);
  g_free (model->training.date);
  g_free (model->training.recipe);
  uad_decoder_free (model->decoder);
  g_free (model->decoder_training.date);
  g_free (model->decoder_training.recipe);
  g_free (model);
}

/* Where the tensors of transformer or Gaussian `index` live in the file. */
static char *
part_prefix (const UadModel *model, int index)
{
  const char *part = model->method == UAD_METHOD_PADIM ? "padim." : "reconstruction.";
  return model->separate ? g_strdup_printf ("class.%d.%s", index, part) : g_strdup (part);
}

/* Where residual Gaussian `index` (see UadModel) lives in the file. */
static char *
residual_prefix (int index)
{
  return index == 0 ? g_strdup ("residual.") : g_strdup_printf ("class.%d.residual.", index - 1);
}

/* ---- metadata JSON ------------------------------------------------------------------------ */

static void
append_key (GString *s, const char *key)
{
  if (s->len > 0 && s->str[s->len - 1] != '{' && s->str[s->len - 1] != '[')
    g_string_append_c (s, ',');
  uad_json_append_string (s, key);
  g_string_append_c (s, ':');
}

static void
append_number (GString *s, const char *key, double v)
{
  append_key (s, key);
  uad_json_append_double (s, v);
}

static void
append_text (GString *s, const char *key, const char *v)
{
  append_key (s, key);
  uad_json_append_string (s, v ? v : "");
}

static void
append_training (GString *s, const UadTrainingSummary *t)
{
  append_key (s, "training");
  g_string_append_c (s, '{');
  append_number (s, "epochs", t->epochs);
  append_number (s, "batch", t->batch);
  append_number (s, "final_loss", t->final_loss);
  append_number (s, "seconds", t->seconds);
  append_text (s, "date", t->date);
  if (t->recipe != NULL)
    append_text (s, "recipe", t->recipe);
  g_string_append (s, "}");
}

static void
append_decoder (GString *s, const UadModel *model)
{
  const UadDecoderConfig *c = uad_decoder_get_config (model->decoder);
  append_key (s, "decoder");
  g_string_append_c (s, '{');
  append_number (s, "channels", c->channels);
  append_number (s, "grid", c->grid);
  append_key (s, "widths");
  g_string_append_c (s, '[');
  for (int i = 0; i < UAD_DECODER_STAGES; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", c->widths[i]);
  g_string_append_c (s, ']');
  append_text (s, "normalization", uad_normalization_name (c->normalization));
  append_training (s, &model->decoder_training);
  g_string_append_c (s, '}');
}

static void
append_config (GString *s, const UadTransformerConfig *c)
{
  append_key (s, "config");
  g_string_append_c (s, '{');
  append_number (s, "channels", c->channels);
  append_number (s, "hidden", c->hidden);
  append_number (s, "heads", c->heads);
  append_number (s, "ffn", c->ffn);
  append_number (s, "encoder_layers", c->encoder_layers);
  append_number (s, "decoder_layers", c->decoder_layers);
  append_number (s, "grid_h", c->grid_h);
  append_number (s, "grid_w", c->grid_w);
  append_number (s, "neighbour_h", c->neighbour_h);
  append_number (s, "neighbour_w", c->neighbour_w);
  append_number (s, "layer_queries", c->layer_queries ? 1 : 0);
  append_number (s, "dropout", c->dropout);
  append_number (s, "jitter_scale", c->jitter_scale);
  append_number (s, "jitter_prob", c->jitter_prob);
  append_number (s, "layernorm_eps", c->layernorm_eps);
  g_string_append (s, "}");
}

/* key: {"channels": C}, for the parts described by their channel count alone. */
static void
append_channels (GString *s, const char *key, int channels)
{
  append_key (s, key);
  g_string_append_c (s, '{');
  append_number (s, "channels", channels);
  g_string_append_c (s, '}');
}

static char *
metadata_json (const UadModel *model)
{
  /* Format 1 readers would ignore the standardisation; format 2 readers would ignore the
   * residual Gaussians and score with the wrong distance; format 3 readers expect Gaussians
   * as full float32 matrices, not packed in half precision. */
  gboolean gaussians = model->method == UAD_METHOD_PADIM || model->n_residuals > 0;
  GString *s = g_string_new ("{");
  append_number (s, "format", gaussians ? 4 : model->feature_mean != NULL ? 2 : 1);
  append_text (s, "method", uad_method_name (model->method));
  append_text (s, "mode", model->separate ? "separate" : "unified");
  append_text (s, "score", uad_score_kind_name (model->score_kind));
  append_key (s, "backbone");
  g_string_append_c (s, '{');
  append_text (s, "name", uad_backbone_kind_name (model->backbone));
  append_text (s, "sha256", model->backbone_sha256);
  g_string_append (s, "}");
  if (model->method == UAD_METHOD_UNIAD)
    append_config (s, uad_transformer_get_config (model->transformers[0]));
  else
    append_channels (s, "padim", model->channels);
  if (model->feature_mean)
    append_channels (s, "standardization", model->channels);
  if (model->n_residuals > 0)
    {
      append_key (s, "residual");
      g_string_append_c (s, '{');
      append_number (s, "channels", model->channels);
      append_number (s, "per_class", model->n_residuals > 1);
      g_string_append_c (s, '}');
    }
  append_key (s, "classes");
  g_string_append_c (s, '[');
  for (int i = 0; i < model->n_classes; i++)
    {
      const UadModelClass *k = &model->classes[i];
      if (i > 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, '{');
      append_text (s, "name", k->name);
      append_number (s, "train_images", k->n_train);
      append_number (s, "score_mean", k->score_mean);
      append_number (s, "score_std", k->score_std);
      append_number (s, "score_max", k->score_max);
      if (k->has_thresholds)
        {
          append_key (s, "thresholds");
          g_string_append_c (s, '{');
          append_number (s, "pass_below", k->thresholds.pass_below);
          append_number (s, "fail_above", k->thresholds.fail_above);
          append_number (s, "pixel", k->thresholds.pixel);
          g_string_append_c (s, '}');
        }
      g_string_append_c (s, '}');
    }
  g_string_append (s, "]");
  append_training (s, &model->training);
  if (model->decoder)
    append_decoder (s, model);
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* A [C] tensor of the model's standardisation. */
static void
add_vector (UadSafetensorsWriter *w, const char *name, const float *v, int n)
{
  g_autofree char *full = g_strconcat (STANDARDIZATION_PREFIX, name, NULL);
  uad_safetensors_writer_add_raw (w, full, UAD_DTYPE_F32, 1, (int64_t[]) { n }, v,
                                  (size_t) n * sizeof (float));
}

void
uad_model_write (const UadModel *model, UadSafetensorsWriter *w)
{
  g_autofree char *json = metadata_json (model);
  uad_safetensors_writer_add_metadata (w, METADATA_KEY, json);
  for (int i = 0; i < model->n_transformers; i++)
    {
      g_autofree char *prefix = part_prefix (model, i);
      uad_transformer_save (model->transformers[i], w, prefix);
    }
  for (int i = 0; i < model->n_gaussians; i++)
    {
      g_autofree char *prefix = part_prefix (model, i);
      uad_padim_save (model->gaussians[i], w, prefix);
    }
  for (int i = 0; i < model->n_residuals; i++)
    {
      g_autofree char *prefix = residual_prefix (i);
      uad_padim_save (model->residuals[i], w, prefix);
    }
  if (model->feature_mean)
    {
      add_vector (w, "mean", model->feature_mean, model->channels);
      add_vector (w, "std", model->feature_std, model->channels);
    }
  if (model->decoder)
    uad_decoder_save (model->decoder, w, DECODER_PREFIX);
}

gboolean
uad_model_save (const UadModel *model, const char *path, GError **error)
{
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  uad_model_write (model, w);
  return uad_safetensors_writer_save (w, path, error);
}

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct {
  const char *path;
  GError **error;
  gboolean ok;
  double can_hold;  /* parameters the file's tensors can hold: data bytes / 2 (F16 or wider) */
  double described; /* parameters the metadata has described so far */
} Reader;

static const UadJson *
member (Reader *r, const UadJson *obj, const char *key, UadJsonType type)
{
  if (!r->ok)
    return NULL;
  const UadJson *v = obj ? uad_json_object_get (obj, key) : NULL;
  if (v == NULL || uad_json_get_type (v) != type)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: model metadata lacks \"%s\" (a %s)", r->path, key, uad_json_type_name (type));
      r->ok = FALSE;
      return NULL;
    }
  return v;
}

static double
number (Reader *r, const UadJson *obj, const char *key)
{
  const UadJson *v = member (r, obj, key, UAD_JSON_NUMBER);
  return v ? uad_json_get_number (v) : 0;
}

static int
integer (Reader *r, const UadJson *obj, const char *key, int lo, int hi)
{
  double v = number (r, obj, key);
  if (r->ok && !(v >= lo && v <= hi && v == floor (v)))
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: model metadata \"%s\" is %g, not a whole number in %d..%d", r->path, key,
                   v, lo, hi);
      r->ok = FALSE;
    }
  return r->ok ? (int) v : 0;
}

/* Crafted metadata could describe a model of terabytes; nothing is allocated for a part until
 * the file is known to be big enough to hold its parameters (every tensor's shape is checked
 * against the metadata when it loads). */
static gboolean
held_by_file (Reader *r, double params, const char *what)
{
  r->described += params;
  if (r->ok && r->described > r->can_hold)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: model metadata describes %s of %.0f parameters, more than the file's "
                   "tensors can hold (%.0f): a damaged or crafted file", r->path, what, params,
                   r->can_hold);
      r->ok = FALSE;
    }
  return r->ok;
}

static const char *
text (Reader *r, const UadJson *obj, const char *key)
{
  const UadJson *v = member (r, obj, key, UAD_JSON_STRING);
  return v ? uad_json_get_string (v, NULL) : NULL;
}

static void
read_config (Reader *r, const UadJson *c, UadTransformerConfig *cfg)
{
  /* Bounds far above UniAD's (C 272, D 256, 8 heads, FFN 1024, 14x14): buffers that grow with
   * the square of the grid (the mask, attention) are not backed by tensors, so they are capped. */
  cfg->channels = integer (r, c, "channels", 1, 8192);
  cfg->hidden = integer (r, c, "hidden", 1, 4096);
  cfg->heads = integer (r, c, "heads", 1, 32);
  cfg->ffn = integer (r, c, "ffn", 1, 16384);
  cfg->encoder_layers = integer (r, c, "encoder_layers", 0, 64);
  cfg->decoder_layers = integer (r, c, "decoder_layers", 1, 64);
  cfg->grid_h = integer (r, c, "grid_h", 1, 32);
  cfg->grid_w = integer (r, c, "grid_w", 1, 32);
  cfg->neighbour_h = integer (r, c, "neighbour_h", 0, 32);
  cfg->neighbour_w = integer (r, c, "neighbour_w", 0, 32);
  /* Models from before the ablation have layer-wise queries, as UniAD does. */
  cfg->layer_queries = c == NULL || uad_json_object_get (c, "layer_queries") == NULL
                       || integer (r, c, "layer_queries", 0, 1) == 1;
  cfg->dropout = (float) number (r, c, "dropout");
  cfg->jitter_scale = (float) number (r, c, "jitter_scale");
  cfg->jitter_prob = (float) number (r, c, "jitter_prob");
  cfg->layernorm_eps = (float) number (r, c, "layernorm_eps");
}

static void
read_training (Reader *r, const UadJson *t, UadTrainingSummary *out)
{
  out->epochs = integer (r, t, "epochs", 0, G_MAXINT);
  out->batch = integer (r, t, "batch", 0, G_MAXINT);
  out->final_loss = number (r, t, "final_loss");
  out->seconds = number (r, t, "seconds");
  out->date = g_strdup (text (r, t, "date"));
  /* Written since recipes exist; older models have none. */
  if (uad_json_object_get (t, "recipe") != NULL)
    out->recipe = g_strdup (text (r, t, "recipe"));
}

/* A class's optional explicit thresholds, checked. */
static void
read_thresholds (Reader *r, const UadJson *k, UadModelClass *c)
{
  if (!r->ok || uad_json_object_get (k, "thresholds") == NULL)
    return;
  const UadJson *t = member (r, k, "thresholds", UAD_JSON_OBJECT);
  c->thresholds = (UadVerdictThresholds) { number (r, t, "pass_below"),
                                           number (r, t, "fail_above"), number (r, t, "pixel") };
  c->has_thresholds = r->ok;
  if (r->ok && !uad_verdict_check_thresholds (&c->thresholds, c->name, r->error))
    {
      g_prefix_error (r->error, "%s: ", r->path);
      r->ok = FALSE;
    }
}

/* The decoder described by the metadata's "decoder" object, with zero parameters. */
static UadDecoder *
decoder_from_json (const UadJson *d, Reader *r, const UadModel *model)
{
  UadDecoderConfig cfg;
  const UadTransformerConfig *tc = uad_transformer_get_config (model->transformers[0]);
  cfg.channels = integer (r, d, "channels", 1, 65536);
  cfg.grid = integer (r, d, "grid", 1, 256);
  const UadJson *widths = member (r, d, "widths", UAD_JSON_ARRAY);
  const char *norm = text (r, d, "normalization");
  if (r->ok && uad_json_get_length (widths) != UAD_DECODER_STAGES)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: model metadata: the decoder has %u widths, not %d", r->path,
                   uad_json_get_length (widths), UAD_DECODER_STAGES);
      return NULL;
    }
  for (int i = 0; i < UAD_DECODER_STAGES && r->ok; i++)
    {
      const UadJson *v = uad_json_array_get (widths, i);
      int64_t x;
      if (!uad_json_get_int64 (v, &x) || x < 1 || x > 4096)
        {
          g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                       "%s: model metadata: decoder width %d is not a whole number in 1..4096",
                       r->path, i);
          return NULL;
        }
      cfg.widths[i] = (int) x;
    }
  if (!r->ok || !uad_normalization_from_name (norm, &cfg.normalization, r->error)
      || !held_by_file (r, uad_decoder_config_params (&cfg), "an image decoder"))
    return NULL;
  if (cfg.channels != tc->channels || cfg.grid != tc->grid_h || cfg.grid != tc->grid_w)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: the decoder reads %d channels at %dx%d, but the model's features have %d "
                   "at %dx%d", r->path, cfg.channels, cfg.grid, cfg.grid, tc->channels,
                   tc->grid_h, tc->grid_w);
      return NULL;
    }
  return uad_decoder_new (&cfg, r->error);
}

/* The model's method-specific part, from "config" (UniAD) or "padim", with zero parameters. */
static UadModel *
model_of_method (Reader *r, const UadJson *root, UadMethod method, UadBackboneKind kind,
                 const char *sha, gboolean separate, const char *const *names, int n)
{
  if (method == UAD_METHOD_PADIM)
    {
      int channels = integer (r, member (r, root, "padim", UAD_JSON_OBJECT), "channels", 1, 8192);
      double per_set = (double) uad_padim_stored_params (channels, GRID * GRID);
      if (!held_by_file (r, (separate ? n : 1) * per_set, "Gaussians"))
        return NULL;
      return uad_model_new_padim (kind, sha, channels, separate, names, n);
    }
  UadTransformerConfig cfg;
  read_config (r, member (r, root, "config", UAD_JSON_OBJECT), &cfg);
  if (!r->ok || !held_by_file (r, (separate ? n : 1) * uad_transformer_config_params (&cfg),
                               "transformers"))
    return NULL;
  return uad_model_new (kind, sha, &cfg, separate, names, n, r->error);
}

/* The residual Gaussians a "residual" object describes, with zero parameters (filled from the
 * tensors when the model loads). */
static void
residuals_from_json (Reader *r, const UadJson *residual, UadModel *model)
{
  int channels = integer (r, residual, "channels", 1, 8192);
  gboolean per_class = integer (r, residual, "per_class", 0, 1);
  if (r->ok && (model->method != UAD_METHOD_UNIAD || channels != model->channels))
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: residual Gaussians of %d channels in a model of %s with %d-channel "
                   "features", r->path, channels, uad_method_name (model->method), model->channels);
      r->ok = FALSE;
    }
  int n = per_class ? 1 + model->n_classes : 1;
  if (!r->ok
      || !held_by_file (r, n * (double) uad_padim_stored_params (channels, GRID * GRID),
                        "residual Gaussians"))
    return;
  UadPadim **residuals = g_new (UadPadim *, n);
  for (int i = 0; i < n; i++)
    residuals[i] = uad_padim_new (channels, GRID * GRID);
  uad_model_set_residuals (model, residuals, n);
}

static UadModel *
model_from_json (const UadJson *root, Reader *r)
{
  int format = integer (r, root, "format", 1, 1000);
  if (r->ok && format > UAD_MODEL_FORMAT_VERSION)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "%s: model format %d is newer than this program reads (%d)", r->path, format,
                   UAD_MODEL_FORMAT_VERSION);
      return NULL;
    }
  /* Format 1 files from before PaDiM have no "method". */
  const char *method_name = uad_json_object_get (root, "method") ? text (r, root, "method") : "uniad";
  const char *mode = text (r, root, "mode");
  const char *score = text (r, root, "score");
  const UadJson *backbone = member (r, root, "backbone", UAD_JSON_OBJECT);
  const char *backbone_name = text (r, backbone, "name");
  const char *sha = text (r, backbone, "sha256");
  const UadJson *classes = member (r, root, "classes", UAD_JSON_ARRAY);
  const UadJson *training = member (r, root, "training", UAD_JSON_OBJECT);
  if (!r->ok)
    return NULL;

  UadMethod method;
  UadBackboneKind kind;
  UadScoreKind score_kind;
  guint n = uad_json_get_length (classes);
  if (!uad_method_from_name (method_name, &method, r->error))
    {
      g_prefix_error (r->error, "%s: ", r->path);
      return NULL;
    }
  if (!uad_backbone_kind_from_name (backbone_name, &kind, r->error)
      || !uad_score_kind_parse (score, &score_kind, r->error))
    return NULL;
  if (n < 1 || (g_strcmp0 (mode, "unified") != 0 && g_strcmp0 (mode, "separate") != 0))
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: model metadata has no classes or an unknown mode '%s'", r->path, mode);
      return NULL;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (names, (gpointer) text (r, uad_json_array_get (classes, i), "name"));
  if (!r->ok)
    return NULL;
  g_autoptr (UadModel) model = model_of_method (r, root, method, kind, sha,
                                                g_str_equal (mode, "separate"),
                                                (const char *const *) names->pdata, (int) n);
  if (model == NULL)
    return NULL;
  model->score_kind = score_kind;
  for (guint i = 0; i < n; i++)
    {
      const UadJson *k = uad_json_array_get (classes, i);
      model->classes[i].n_train = integer (r, k, "train_images", 0, G_MAXINT);
      model->classes[i].score_mean = number (r, k, "score_mean");
      model->classes[i].score_std = number (r, k, "score_std");
      model->classes[i].score_max = number (r, k, "score_max");
      read_thresholds (r, k, &model->classes[i]);
    }
  read_training (r, training, &model->training);
  const UadJson *decoder = uad_json_object_get (root, "decoder");
  if (r->ok && decoder && method != UAD_METHOD_UNIAD)
    {
      g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: a PaDiM model with an image decoder (it reconstructs nothing to decode)",
                   r->path);
      return NULL;
    }
  if (r->ok && decoder)
    {
      const UadJson *d = member (r, root, "decoder", UAD_JSON_OBJECT);
      model->decoder = d ? decoder_from_json (d, r, model) : NULL;
      if (model->decoder == NULL)
        return NULL;
      read_training (r, member (r, d, "training", UAD_JSON_OBJECT), &model->decoder_training);
    }
  const UadJson *standardization = uad_json_object_get (root, "standardization");
  if (r->ok && standardization)
    {
      int channels = integer (r, member (r, root, "standardization", UAD_JSON_OBJECT), "channels",
                              1, 65536);
      if (r->ok && channels != model->channels)
        {
          g_set_error (r->error, UAD_ERROR, UAD_ERROR_FORMAT,
                       "%s: the feature standardisation has %d channels, the model's features %d",
                       r->path, channels, model->channels);
          return NULL;
        }
      /* Filled from the tensors by load_standardization. */
      model->feature_mean = g_new0 (float, channels);
      model->feature_std = g_new0 (float, channels);
    }
  if (r->ok && uad_json_object_get (root, "residual"))
    residuals_from_json (r, member (r, root, "residual", UAD_JSON_OBJECT), model);
  return r->ok ? g_steal_pointer (&model) : NULL;
}

/* standardization.<name> [C] into out; every value finite, and above 0 when positive. */
static gboolean
load_vector (UadSafetensors *st, const char *name, int channels, gboolean positive, float *out,
             GError **error)
{
  g_autofree char *full = g_strconcat (STANDARDIZATION_PREFIX, name, NULL);
  g_autoptr (UadTensor) t = uad_safetensors_load (st, full, 1, (int64_t[]) { channels }, error);
  if (t == NULL)
    return FALSE;
  for (int c = 0; c < channels; c++)
    if (!isfinite (t->data[c]) || (positive && !(t->data[c] > 0)))
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                     "%s: tensor %s has %s %g at channel %d", uad_safetensors_get_path (st), full,
                     positive ? "a standard deviation" : "a mean", t->data[c], c);
        return FALSE;
      }
  memcpy (out, t->data, channels * sizeof (float));
  return TRUE;
}

UadModel *
uad_model_load (const char *path, GError **error)
{
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, error);
  if (st == NULL)
    return NULL;
  const char *json = uad_safetensors_get_metadata (st, METADATA_KEY);
  if (json == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: not a UniAD model (no \"%s\" metadata)", path, METADATA_KEY);
      return NULL;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (UadJson) root = uad_json_parse (json, strlen (json), &local);
  if (root == NULL || uad_json_get_type (root) != UAD_JSON_OBJECT)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: model metadata is not a JSON object%s%s",
                   path, local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  Reader r = { path, error, TRUE, uad_safetensors_get_data_length (st) / 2.0, 0 };
  g_autoptr (UadModel) model = model_from_json (root, &r);
  if (model == NULL)
    return NULL;
  for (int i = 0; i < model->n_transformers; i++)
    {
      g_autofree char *prefix = part_prefix (model, i);
      if (!uad_transformer_load (model->transformers[i], st, prefix, error))
        return NULL;
    }
  for (int i = 0; i < model->n_gaussians; i++)
    {
      g_autofree char *prefix = part_prefix (model, i);
      if (!uad_padim_load (model->gaussians[i], st, prefix, error))
        return NULL;
    }
  for (int i = 0; i < model->n_residuals; i++)
    {
      g_autofree char *prefix = residual_prefix (i);
      if (!uad_padim_load (model->residuals[i], st, prefix, error))
        return NULL;
    }
  if (model->feature_mean
      && (!load_vector (st, "mean", model->channels, FALSE, model->feature_mean, error)
          || !load_vector (st, "std", model->channels, TRUE, model->feature_std, error)))
    return NULL;
  if (model->decoder && !uad_decoder_load (model->decoder, st, DECODER_PREFIX, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
uad_model_set_decoder (UadModel *model, UadDecoder *decoder, GError **error)
{
  if (model->method != UAD_METHOD_UNIAD)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "a PaDiM model reconstructs nothing, so an image decoder has nothing to draw");
      uad_decoder_free (decoder);
      return FALSE;
    }
  const UadTransformerConfig *tc = uad_transformer_get_config (model->transformers[0]);
  const UadDecoderConfig *dc = uad_decoder_get_config (decoder);
  if (dc->channels != tc->channels || dc->grid != tc->grid_h || dc->grid != tc->grid_w)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "the decoder reads %d channels at %dx%d, the model's features have %d at %dx%d",
                   dc->channels, dc->grid, dc->grid, tc->channels, tc->grid_h, tc->grid_w);
      uad_decoder_free (decoder);
      return FALSE;
    }
  uad_decoder_free (model->decoder);
  model->decoder = decoder;
  return TRUE;
}

UadTransformer *
uad_model_get_transformer (const UadModel *model, int class_index)
{
  g_return_val_if_fail (model->method == UAD_METHOD_UNIAD, NULL);
  if (!model->separate)
    return model->transformers[0];
  g_return_val_if_fail (class_index >= 0 && class_index < model->n_classes, NULL);
  return model->transformers[class_index];
}

gboolean
uad_model_fit_padim (UadModel *model, const UadTensor *features, const int *class_of,
                     GError **error)
{
  g_return_val_if_fail (model->method == UAD_METHOD_PADIM, FALSE);
  g_return_val_if_fail (features->ndim == 4 && features->shape[1] == model->channels, FALSE);
  int n = (int) features->shape[0];
  g_autofree int *images = g_new (int, MAX (n, 1));
  for (int g = 0; g < model->n_gaussians; g++)
    {
      int count = 0;
      for (int i = 0; i < n; i++)
        if (!model->separate || class_of[i] == g)
          images[count++] = i;
      if (!uad_padim_fit (model->gaussians[g], features, images, count, UAD_PADIM_RIDGE, error))
        {
          g_prefix_error (error, "%s: ", model->separate ? model->classes[g].name : "PaDiM");
          return FALSE;
        }
    }
  return TRUE;
}

void
uad_model_set_residuals (UadModel *model, UadPadim **residuals, int n)
{
  g_return_if_fail (n == 0 || n == 1 || n == 1 + model->n_classes);
  for (int i = 0; i < model->n_residuals; i++)
    uad_padim_free (model->residuals[i]);
  g_free (model->residuals);
  model->residuals = residuals;
  model->n_residuals = n;
}

typedef struct {
  const UadTensor *features;
  double *mean, *std;
} Moments;

/* Mean and population standard deviation of each channel in [begin, end), in double, in two
 * passes (no cancellation). */
static void
moments_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  Moments *m = ctx;
  int64_t n = m->features->shape[0], channels = m->features->shape[1];
  int64_t plane = m->features->shape[2] * m->features->shape[3];
  for (int64_t c = begin; c < end; c++)
    {
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < n; i++)
        {
          const float *x = m->features->data + (i * channels + c) * plane;
          for (int64_t p = 0; p < plane; p++)
            sum += x[p];
        }
      double mean = sum / (n * plane);
      for (int64_t i = 0; i < n; i++)
        {
          const float *x = m->features->data + (i * channels + c) * plane;
          for (int64_t p = 0; p < plane; p++)
            sq += (x[p] - mean) * (x[p] - mean);
        }
      m->mean[c] = mean;
      m->std[c] = sqrt (sq / (n * plane));
    }
}

void
uad_model_fit_standardization (UadModel *model, const UadTensor *features)
{
  int c = model->channels;
  g_return_if_fail (features->ndim == 4 && features->shape[0] >= 1 && features->shape[1] == c);
  g_autofree double *mean = g_new (double, c);
  g_autofree double *std = g_new (double, c);
  Moments m = { features, mean, std };
  uad_parallel_for (c, 1, moments_range, &m);
  /* A channel that (almost) never varies on the training images, such as a ReLU6 unit that is
   * always off, would be divided by (nearly) zero: its smallest deviation on a test image would
   * swamp every other channel of the map, or become infinite. So no channel is scaled up by
   * more than a thousand times the typical (mean) channel's factor. */
  double typical = 0;
  for (int k = 0; k < c; k++)
    typical += std[k] / c;
  double floor = MAX (1e-3 * typical, 1e-30);
  if (model->feature_mean == NULL)
    {
      model->feature_mean = g_new (float, c);
      model->feature_std = g_new (float, c);
    }
  for (int k = 0; k < c; k++)
    {
      model->feature_mean[k] = (float) mean[k];
      model->feature_std[k] = (float) MAX (std[k], floor);
    }
}

void
uad_model_standardize_features (const UadModel *model, float *features, int n)
{
  if (model->feature_mean == NULL)
    return;
  size_t plane = GRID * GRID;
  for (int i = 0; i < n; i++)
    for (int c = 0; c < model->channels; c++)
      {
        float *x = features + ((size_t) i * model->channels + c) * plane;
        for (size_t p = 0; p < plane; p++)
          x[p] = (x[p] - model->feature_mean[c]) / model->feature_std[c];
      }
}

void
uad_model_set_class_statistics (UadModel *model, const double *scores, const int *class_of, int n)
{
  for (int k = 0; k < model->n_classes; k++)
    {
      UadModelClass *c = &model->classes[k];
      double sum = 0, sq = 0, hi = -INFINITY;
      int count = 0;
      for (int i = 0; i < n; i++)
        if (class_of[i] == k)
          {
            sum += scores[i], sq += scores[i] * scores[i];
            hi = MAX (hi, scores[i]);
            count++;
          }
      c->n_train = count;
      c->score_mean = count ? sum / count : 0;
      c->score_std = count ? sqrt (MAX (sq / count - c->score_mean * c->score_mean, 0)) : 0;
      c->score_max = count ? hi : 0;
    }
}

const char *
uad_method_name (UadMethod method)
{
  g_return_val_if_fail ((guint) method < G_N_ELEMENTS (method_names), NULL);
  return method_names[method];
}

gboolean
uad_method_from_name (const char *name, UadMethod *method, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (g_strcmp0 (name, method_names[i]) == 0)
      {
        *method = (UadMethod) i;
        return TRUE;
      }
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "unknown method \"%s\" (expected uniad or padim)",
               name);
  return FALSE;
}

char *
uad_model_describe (const UadModel *model)
{
  GString *s = g_string_new (NULL);
  if (model->method == UAD_METHOD_PADIM)
    g_string_append_printf (s, "PaDiM per-position Gaussians (ridge %g, no reconstruction)",
                            UAD_PADIM_RIDGE);
  else
    {
      g_string_append_printf (s, "UniAD reconstruction transformer, %d epochs", model->training.epochs);
      if (model->training.recipe != NULL)
        g_string_append_printf (s, " (recipe %s, %.0f min)", model->training.recipe,
                                model->training.seconds / 60);
    }
  g_string_append_printf (s, ", %s, %d %s, %s features (%d channels%s), score %s",
                          model->separate ? "separate" : "unified", model->n_classes,
                          model->n_classes == 1 ? "class" : "classes",
                          uad_backbone_kind_name (model->backbone), model->channels,
                          model->feature_mean ? ", standardised" : "",
                          uad_score_kind_name (model->score_kind));
  if (model->n_residuals > 0)
    g_string_append_printf (s, ", residual Mahalanobis distance%s",
                            model->n_residuals > 1 ? " per class" : "");
  if (model->decoder)
    g_string_append (s, ", image decoder");
  return g_string_free (s, FALSE);
}

UadVerdictThresholds
uad_model_class_thresholds (const UadModel *model, int k)
{
  const UadModelClass *c = &model->classes[k];
  return c->has_thresholds ? c->thresholds
                           : uad_verdict_default_thresholds (c->score_mean, c->score_std);
}

int
uad_model_find_class (const UadModel *model, const char *name)
{
  for (int i = 0; i < model->n_classes; i++)
    if (g_strcmp0 (model->classes[i].name, name) == 0)
      return i;
  return -1;
}

int
uad_model_class_from_path (const UadModel *model, const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_auto (GStrv) parts = g_strsplit (dir, G_DIR_SEPARATOR_S, -1);
  for (int i = (int) g_strv_length (parts) - 1; i >= 0; i--)
    {
      int k = uad_model_find_class (model, parts[i]);
      if (k >= 0)
        return k;
    }
  return -1;
}


gboolean
uad_model_check_grid (const UadModel *model, const char *path, GError **error)
{
  if (model->method != UAD_METHOD_UNIAD)
    return TRUE; /* PaDiM's Gaussians are made on GRID x GRID */
  const UadTransformerConfig *c = uad_transformer_get_config (model->transformers[0]);
  if (c->grid_h == GRID && c->grid_w == GRID)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
               "%s: the model reads features on a %dx%d grid, but the backbones give %dx%d",
               path, c->grid_h, c->grid_w, GRID, GRID);
  return FALSE;
}

gboolean
uad_model_check_backbone (const UadModel *model, UadBackboneKind kind,
                          const char *backbone_sha256, GError **error)
{
  if (kind != model->backbone || g_strcmp0 (backbone_sha256, model->backbone_sha256) != 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "the model was trained on %s weights with SHA-256 %s, but the given weights "
                   "are %s with SHA-256 %s", uad_backbone_kind_name (model->backbone),
                   model->backbone_sha256, uad_backbone_kind_name (kind), backbone_sha256);
      return FALSE;
    }
  return TRUE;
}
