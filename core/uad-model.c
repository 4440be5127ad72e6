/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-model.h"

#include "uad-error.h"
#include "uad-json.h"

#include <math.h>
#include <string.h>

#define METADATA_KEY "uniad"
#define DECODER_PREFIX "decoder."

UadModel *
uad_model_new (UadBackboneKind backbone, const char *backbone_sha256,
               const UadTransformerConfig *config, gboolean separate,
               const char *const *class_names, int n_classes, GError **error)
{
  g_return_val_if_fail (n_classes >= 1, NULL);
  g_autoptr (UadModel) model = g_new0 (UadModel, 1);
  model->backbone = backbone;
  model->backbone_sha256 = g_strdup (backbone_sha256);
  model->score_kind = UAD_SCORE_MAX;
  model->separate = separate;
  model->n_classes = n_classes;
  model->classes = g_new0 (UadModelClass, n_classes);
  for (int i = 0; i < n_classes; i++)
    model->classes[i].name = g_strdup (class_names[i]);
  model->n_transformers = separate ? n_classes : 1;
  model->transformers = g_new0 (UadTransformer *, model->n_transformers);
  for (int i = 0; i < model->n_transformers; i++)
    if ((model->transformers[i] = uad_transformer_new (config, error)) == NULL)
      return NULL;
  return g_steal_pointer (&model);
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
  g_free (model->training.date);
  uad_decoder_free (model->decoder);
  g_free (model->decoder_training.date);
  g_free (model);
}

static char *
transformer_prefix (const UadModel *model, int index)
{
  return model->separate ? g_strdup_printf ("class.%d.reconstruction.", index)
                         : g_strdup ("reconstruction.");
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

static char *
metadata_json (const UadModel *model)
{
  const UadTransformerConfig *c = uad_transformer_get_config (model->transformers[0]);
  GString *s = g_string_new ("{");
  append_number (s, "format", UAD_MODEL_FORMAT_VERSION);
  append_text (s, "mode", model->separate ? "separate" : "unified");
  append_text (s, "score", uad_score_kind_name (model->score_kind));
  append_key (s, "backbone");
  g_string_append_c (s, '{');
  append_text (s, "name", uad_backbone_kind_name (model->backbone));
  append_text (s, "sha256", model->backbone_sha256);
  g_string_append (s, "}");
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
  append_number (s, "dropout", c->dropout);
  append_number (s, "jitter_scale", c->jitter_scale);
  append_number (s, "jitter_prob", c->jitter_prob);
  append_number (s, "layernorm_eps", c->layernorm_eps);
  g_string_append (s, "}");
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
      g_string_append_c (s, '}');
    }
  g_string_append (s, "]");
  append_training (s, &model->training);
  if (model->decoder)
    append_decoder (s, model);
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

void
uad_model_write (const UadModel *model, UadSafetensorsWriter *w)
{
  g_autofree char *json = metadata_json (model);
  uad_safetensors_writer_add_metadata (w, METADATA_KEY, json);
  for (int i = 0; i < model->n_transformers; i++)
    {
      g_autofree char *prefix = transformer_prefix (model, i);
      uad_transformer_save (model->transformers[i], w, prefix);
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

static const char *
text (Reader *r, const UadJson *obj, const char *key)
{
  const UadJson *v = member (r, obj, key, UAD_JSON_STRING);
  return v ? uad_json_get_string (v, NULL) : NULL;
}

static void
read_config (Reader *r, const UadJson *c, UadTransformerConfig *cfg)
{
  cfg->channels = integer (r, c, "channels", 1, 65536);
  cfg->hidden = integer (r, c, "hidden", 1, 65536);
  cfg->heads = integer (r, c, "heads", 1, 1024);
  cfg->ffn = integer (r, c, "ffn", 1, 1 << 20);
  cfg->encoder_layers = integer (r, c, "encoder_layers", 0, 64);
  cfg->decoder_layers = integer (r, c, "decoder_layers", 1, 64);
  cfg->grid_h = integer (r, c, "grid_h", 1, 1024);
  cfg->grid_w = integer (r, c, "grid_w", 1, 1024);
  cfg->neighbour_h = integer (r, c, "neighbour_h", 0, 1024);
  cfg->neighbour_w = integer (r, c, "neighbour_w", 0, 1024);
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
  if (!r->ok || !uad_normalization_from_name (norm, &cfg.normalization, r->error))
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
  const char *mode = text (r, root, "mode");
  const char *score = text (r, root, "score");
  const UadJson *backbone = member (r, root, "backbone", UAD_JSON_OBJECT);
  const char *backbone_name = text (r, backbone, "name");
  const char *sha = text (r, backbone, "sha256");
  const UadJson *config = member (r, root, "config", UAD_JSON_OBJECT);
  const UadJson *classes = member (r, root, "classes", UAD_JSON_ARRAY);
  const UadJson *training = member (r, root, "training", UAD_JSON_OBJECT);
  if (!r->ok)
    return NULL;

  UadTransformerConfig cfg;
  read_config (r, config, &cfg);
  UadBackboneKind kind;
  UadScoreKind score_kind;
  guint n = uad_json_get_length (classes);
  if (!r->ok || !uad_backbone_kind_from_name (backbone_name, &kind, r->error)
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
  g_autoptr (UadModel) model = uad_model_new (kind, sha, &cfg, g_str_equal (mode, "separate"),
                                              (const char *const *) names->pdata, (int) n, r->error);
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
    }
  read_training (r, training, &model->training);
  const UadJson *decoder = uad_json_object_get (root, "decoder");
  if (r->ok && decoder)
    {
      const UadJson *d = member (r, root, "decoder", UAD_JSON_OBJECT);
      model->decoder = d ? decoder_from_json (d, r, model) : NULL;
      if (model->decoder == NULL)
        return NULL;
      read_training (r, member (r, d, "training", UAD_JSON_OBJECT), &model->decoder_training);
    }
  return r->ok ? g_steal_pointer (&model) : NULL;
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
  Reader r = { path, error, TRUE };
  g_autoptr (UadModel) model = model_from_json (root, &r);
  if (model == NULL)
    return NULL;
  for (int i = 0; i < model->n_transformers; i++)
    {
      g_autofree char *prefix = transformer_prefix (model, i);
      if (!uad_transformer_load (model->transformers[i], st, prefix, error))
        return NULL;
    }
  if (model->decoder && !uad_decoder_load (model->decoder, st, DECODER_PREFIX, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
uad_model_set_decoder (UadModel *model, UadDecoder *decoder, GError **error)
{
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
  if (!model->separate)
    return model->transformers[0];
  g_return_val_if_fail (class_index >= 0 && class_index < model->n_classes, NULL);
  return model->transformers[class_index];
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

double
uad_model_default_threshold (const UadModel *model, int class_index)
{
  const UadModelClass *k = &model->classes[class_index];
  return k->score_mean + 3.0 * k->score_std;
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
