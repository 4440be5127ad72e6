/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"

#include "uad-safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

char *
uad_test_shared_path (const char *relative)
{
  const char *root = g_getenv ("UNIAD_SHARED");
  if (root == NULL || *root == '\0')
    root = "../shared";
  char *path = g_build_filename (root, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip_printf ("shared test material %s is absent (set UNIAD_SHARED to the shared/ folder)",
                          path);
      g_free (path);
      return NULL;
    }
  return path;
}

double
uad_test_rel_error (const float *got, const float *want, int64_t n)
{
  double max_err = 0, max_mag = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double e = fabs ((double) got[i] - (double) want[i]);
      if (!(e <= max_err)) /* also catches NaN */
        max_err = isnan (e) ? INFINITY : e;
      max_mag = fmax (max_mag, fabs ((double) want[i]));
    }
  return max_mag > 0 ? max_err / max_mag : max_err;
}

void
uad_test_assert_close (const char *what, const float *got, const float *want, int64_t n, double tol)
{
  double err = uad_test_rel_error (got, want, n);
  g_test_message ("%s: max error %.3g of the largest magnitude (tolerance %.1g)", what, err, tol);
  if (!(err <= tol))
    g_test_fail_printf ("%s: max error %.3g of the largest magnitude exceeds %.1g", what, err, tol);
}

void
uad_test_fill_random (float *x, int64_t n, float lo, float hi, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (int64_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
  g_rand_free (r);
}

void
uad_test_copy_safetensors (const char *src, const char *dst, const char *name,
                           void (*edit) (UadTensor *t), const char *find, const char *replace)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (src, &error);
  g_assert_no_error (error);
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  for (const char *const *key = uad_safetensors_get_metadata_keys (st); *key; key++)
    {
      const char *value = uad_safetensors_get_metadata (st, *key);
      const char *at = find ? strstr (value, find) : NULL;
      g_autofree char *changed = at ? g_strdup_printf ("%.*s%s%s", (int) (at - value), value, replace,
                                                       at + strlen (find))
                                    : g_strdup (value);
      uad_safetensors_writer_add_metadata (w, *key, changed);
    }
  for (guint i = 0; i < uad_safetensors_get_n_tensors (st); i++)
    {
      const char *tname = uad_safetensors_get_name (st, i);
      gboolean target = g_strcmp0 (tname, name) == 0;
      if (target && edit == NULL)
        continue;
      g_autoptr (UadTensor) t = uad_safetensors_load (st, tname, 0, NULL, &error);
      g_assert_no_error (error);
      if (target)
        edit (t);
      uad_safetensors_writer_add_tensor (w, tname, t);
    }
  g_assert_true (uad_safetensors_writer_save (w, dst, &error));
  g_assert_no_error (error);
}

char *
uad_test_temp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("uniad-test-XXXXXX", NULL);
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

void
uad_test_remove_temp (const char *path)
{
  g_unlink (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_rmdir (dir);
}

UadModel *
uad_test_small_model (int channels, gboolean separate)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, channels);
  cfg.hidden = 16;
  cfg.heads = 2;
  cfg.ffn = 32;
  cfg.encoder_layers = 1;
  cfg.decoder_layers = 1;
  static const char *const names[] = { "bottle", "cable" };
  g_autoptr (GError) error = NULL;
  UadModel *m = uad_model_new (UAD_BACKBONE_MOBILENET_V2, "00ff", &cfg, separate, names, 2, &error);
  g_assert_no_error (error);
  return m;
}
