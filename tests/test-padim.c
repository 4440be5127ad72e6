/* SPDX-License-Identifier: Apache-2.0 */
/* PaDiM (uad-padim.h) and PaDiM models: distances against a direct double-precision
 * Mahalanobis distance, separate mode fitting each class on its own images, the model file
 * round trip giving the same scores, and clear errors for damaged or mismatched files. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-feature-scorer.h"
#include "uad-trainer.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ---- against a direct evaluation ---------------------------------------------------------- */

#define C 5
#define H 3
#define W 4
#define P (H * W)
#define N_TRAIN 30
#define N_TEST 7

/* Features [n, C, H, W] with correlated channels, the last one exactly the sum of two others,
 * so that the covariance is singular and only the ridge makes it invertible. */
static UadTensor *
correlated_features (int n, guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (n, C, H, W);
  GRand *r = g_rand_new_with_seed (seed);
  for (int i = 0; i < n; i++)
    for (int p = 0; p < P; p++)
      {
        double z[C - 1];
        for (int k = 0; k < C - 1; k++)
          z[k] = g_rand_double_range (r, -1, 1);
        float *x = f->data + (size_t) i * C * P + p;
        x[0 * P] = (float) (z[0] + 0.1 * p);
        x[1 * P] = (float) (0.8 * z[0] + 0.3 * z[1]);
        x[2 * P] = (float) (2 * z[2] - z[1] + 1);
        x[3 * P] = (float) (0.5 * z[3] + 0.2 * z[0]);
        x[4 * P] = x[1 * P] + x[2 * P];
      }
  g_rand_free (r);
  return f;
}

/* Inverts a [C, C] in place by Gauss-Jordan elimination with partial pivoting (double). */
static void
invert (double a[C][C])
{
  double inv[C][C] = { { 0 } };
  for (int i = 0; i < C; i++)
    inv[i][i] = 1;
  for (int col = 0; col < C; col++)
    {
      int pivot = col;
      for (int r = col + 1; r < C; r++)
        if (fabs (a[r][col]) > fabs (a[pivot][col]))
          pivot = r;
      for (int k = 0; k < C; k++)
        {
          double t = a[col][k]; a[col][k] = a[pivot][k]; a[pivot][k] = t;
          t = inv[col][k]; inv[col][k] = inv[pivot][k]; inv[pivot][k] = t;
        }
      double d = a[col][col];
      for (int k = 0; k < C; k++)
        a[col][k] /= d, inv[col][k] /= d;
      for (int r = 0; r < C; r++)
        if (r != col)
          {
            double m = a[r][col];
            for (int k = 0; k < C; k++)
              a[r][k] -= m * a[col][k], inv[r][k] -= m * inv[col][k];
          }
    }
  memcpy (a, inv, sizeof inv);
}

/* dist [N_TEST, P]: sqrt((x - mu)^T (Sigma + ridge I)^-1 (x - mu)), Sigma unbiased. */
static void
direct_mahalanobis (const UadTensor *train, const UadTensor *test, float *dist)
{
  for (int p = 0; p < P; p++)
    {
      double mu[C] = { 0 }, cov[C][C] = { { 0 } };
      for (int i = 0; i < N_TRAIN; i++)
        for (int k = 0; k < C; k++)
          mu[k] += train->data[((size_t) i * C + k) * P + p] / (double) N_TRAIN;
      for (int i = 0; i < N_TRAIN; i++)
        for (int a = 0; a < C; a++)
          for (int b = 0; b < C; b++)
            cov[a][b] += (train->data[((size_t) i * C + a) * P + p] - mu[a])
                         * (train->data[((size_t) i * C + b) * P + p] - mu[b]) / (N_TRAIN - 1);
      for (int k = 0; k < C; k++)
        cov[k][k] += UAD_PADIM_RIDGE;
      invert (cov);
      for (int i = 0; i < N_TEST; i++)
        {
          double d[C], q = 0;
          for (int k = 0; k < C; k++)
            d[k] = test->data[((size_t) i * C + k) * P + p] - mu[k];
          for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++)
              q += d[a] * cov[a][b] * d[b];
          dist[i * P + p] = (float) sqrt (q);
        }
    }
}

static void
test_against_direct (void)
{
  g_autoptr (UadTensor) train = correlated_features (N_TRAIN, 1);
  g_autoptr (UadTensor) test = correlated_features (N_TEST, 2);
  /* Far outside the training distribution too, along the direction the ridge alone bounds. */
  test->data[4 * P] += 3;
  int images[N_TRAIN];
  for (int i = 0; i < N_TRAIN; i++)
    images[i] = i;
  UadPadim *g = uad_padim_new (C, P);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_padim_fit (g, train, images, N_TRAIN, UAD_PADIM_RIDGE, &error));
  g_assert_no_error (error);
  g_autofree float *scratch = g_new (float, uad_padim_scratch_size (g, N_TEST));
  float got[N_TEST * P], want[N_TEST * P];
  uad_padim_distance (g, test->data, N_TEST, scratch, got);
  direct_mahalanobis (train, test, want);
  /* The factor is kept in half precision (relative rounding up to 2^-11 = 4.9e-4 per entry,
   * partly cancelling over a row) and applied in float32. */
  uad_test_assert_close ("PaDiM distance", got, want, N_TEST * P, 4.9e-4);
  g_assert_cmpfloat (want[0], >, 10); /* the outlier: the test can tell a wrong covariance */

  /* A subset of the images gives that subset's Gaussians. */
  g_autoptr (UadTensor) first = uad_tensor_new_4d (N_TRAIN / 2, C, H, W);
  memcpy (first->data, train->data, uad_tensor_numel (first) * sizeof (float));
  UadPadim *sub = uad_padim_new (C, P);
  UadPadim *whole = uad_padim_new (C, P);
  g_assert_true (uad_padim_fit (sub, train, images, N_TRAIN / 2, UAD_PADIM_RIDGE, &error));
  g_assert_true (uad_padim_fit (whole, first, images, N_TRAIN / 2, UAD_PADIM_RIDGE, &error));
  float a[N_TEST * P], b[N_TEST * P];
  uad_padim_distance (sub, test->data, N_TEST, scratch, a);
  uad_padim_distance (whole, test->data, N_TEST, scratch, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  uad_padim_free (sub);
  uad_padim_free (whole);

  /* No images, or features that are not finite, cannot be fitted. */
  g_assert_false (uad_padim_fit (g, train, images, 0, UAD_PADIM_RIDGE, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  train->data[7] = NAN;
  g_assert_false (uad_padim_fit (g, train, images, N_TRAIN, UAD_PADIM_RIDGE, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_test_message ("%s", error->message);
  uad_padim_free (g);
}

/* ---- models and files --------------------------------------------------------------------- */

#define CHANNELS 6
#define N_IMAGES 12

static const int class_of[N_IMAGES] = { 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1 };
static const char *const names[] = { "tile", "pcb" };

static UadTensor *
random_features (int n, guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (n, CHANNELS, 14, 14);
  uad_test_fill_random (f->data, uad_tensor_numel (f), -1, 2, seed);
  return f;
}

static UadModel *
fitted_model (gboolean separate, const UadTensor *features)
{
  UadModel *m = uad_model_new_padim (UAD_BACKBONE_MOBILENET_V2, "00ff", CHANNELS, separate,
                                     names, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_model_fit_padim (m, features, class_of, &error));
  g_assert_no_error (error);
  return m;
}

static void
test_separate_fits_each_class (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 3);
  g_autoptr (UadModel) separate = fitted_model (TRUE, features);
  g_assert_cmpint (separate->n_gaussians, ==, 2);
  g_assert_cmpint (separate->n_transformers, ==, 0);
  /* A unified model fitted on the pcb images alone is the separate model's pcb part. */
  int n = 0;
  g_autoptr (UadTensor) pcb = uad_tensor_new_4d (7, CHANNELS, 14, 14);
  size_t per = (size_t) CHANNELS * 14 * 14;
  for (int i = 0; i < N_IMAGES; i++)
    if (class_of[i] == 1)
      memcpy (pcb->data + n++ * per, features->data + i * per, per * sizeof (float));
  g_assert_cmpint (n, ==, 7);
  g_autoptr (UadModel) alone = uad_model_new_padim (UAD_BACKBONE_MOBILENET_V2, "00ff", CHANNELS,
                                                    FALSE, names, 2);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_model_fit_padim (alone, pcb, NULL, &error));
  g_autoptr (UadTensor) test = random_features (3, 4);
  int pcb_class[3] = { 1, 1, 1 };
  double a[3], b[3];
  uad_model_score_features (separate, test, pcb_class, a);
  uad_model_score_features (alone, test, NULL, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  /* A class without images cannot be fitted. */
  int all_tile[N_IMAGES] = { 0 };
  g_assert_false (uad_model_fit_padim (separate, features, all_tile, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "pcb"));
}

static void
test_file_round_trip (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 5);
  g_autoptr (UadTensor) test = random_features (N_IMAGES, 6);
  for (int separate = 0; separate < 2; separate++)
    {
      g_autoptr (UadModel) m = fitted_model (separate, features);
      double train_scores[N_IMAGES];
      uad_model_score_features (m, features, class_of, train_scores);
      uad_model_set_class_statistics (m, train_scores, class_of, N_IMAGES);
      m->training.date = g_strdup ("2026-12-01T00:00:00Z");
      g_assert_cmpint (m->classes[1].n_train, ==, 7);
      g_assert_cmpfloat (m->classes[1].score_std, >, 0);

      g_autofree char *path = uad_test_temp_path ("p.uniad");
      g_autoptr (GError) error = NULL;
      g_assert_true (uad_model_save (m, path, &error));
      g_autoptr (UadModel) back = uad_model_load (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (back->method, ==, UAD_METHOD_PADIM);
      g_assert_cmpint (back->separate, ==, separate);
      g_assert_cmpint (back->channels, ==, CHANNELS);
      g_assert_cmpint (back->n_transformers, ==, 0);
      g_assert_cmpfloat (back->classes[1].score_mean, ==, m->classes[1].score_mean);
      g_assert_cmpfloat (back->classes[1].score_std, ==, m->classes[1].score_std);
      g_autofree char *about = uad_model_describe (back);
      g_assert_nonnull (strstr (about, "PaDiM"));
      g_assert_null (strstr (about, "transformer"));

      double before[N_IMAGES], after[N_IMAGES];
      uad_model_score_features (m, test, class_of, before);
      uad_model_score_features (back, test, class_of, after);
      g_assert_cmpmem (before, sizeof before, after, sizeof after);
      /* The class statistics are those of the training images' scores. */
      double sum = 0;
      for (int i = 0; i < N_IMAGES; i++)
        sum += class_of[i] == 0 ? train_scores[i] : 0;
      g_assert_cmpfloat_with_epsilon (back->classes[0].score_mean, sum / 5, 1e-12);

      /* It reconstructs nothing: no decoder to draw it. */
      UadDecoderConfig dc;
      uad_decoder_config_default (&dc, CHANNELS, UAD_NORMALIZE_IMAGENET);
      g_assert_false (uad_model_set_decoder (back, uad_decoder_new (&dc, NULL), &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
      uad_test_remove_temp (path);
    }
}

static void
put_nan (UadTensor *t)
{
  t->data[5] = NAN;
}

static void
put_above_diagonal (UadTensor *t)
{
  t->data[1] = 0.5f; /* row 0, column 1 of position 0 */
}

static void
zero_diagonal (UadTensor *t)
{
  int64_t c = t->shape[1];
  t->data[(3 * c + 2) * c + 2] = 0; /* position 3, row 2 */
}

static void
zero_packed_diagonal (UadTensor *t)
{
  t->data[3 * t->shape[1] + 2 * 3 / 2 + 2] = 0; /* position 3, row 2 of the packed rows */
}

/* dst: src as a format 2 file wrote it, each packed factor as the full float32 matrix it
 * stands for; edit (if not NULL) changes class 1's. */
static void
write_format_2 (const char *src, const char *dst, void (*edit) (UadTensor *t))
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (src, &error);
  g_assert_no_error (error);
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  g_autofree char *meta = g_strdup (uad_safetensors_get_metadata (st, "uniad"));
  char *format = strstr (meta, "\"format\":4");
  g_assert_nonnull (format);
  format[strlen ("\"format\":")] = '2';
  uad_safetensors_writer_add_metadata (w, "uniad", meta);
  for (guint i = 0; i < uad_safetensors_get_n_tensors (st); i++)
    {
      const char *name = uad_safetensors_get_name (st, i);
      g_autoptr (UadTensor) t = uad_safetensors_load (st, name, 0, NULL, &error);
      g_assert_no_error (error);
      if (!g_str_has_suffix (name, "cholesky_inverse_packed"))
        {
          uad_safetensors_writer_add_tensor (w, name, t);
          continue;
        }
      g_autoptr (UadTensor) full = uad_tensor_new_3d (t->shape[0], CHANNELS, CHANNELS);
      const float *in = t->data;
      for (int64_t p = 0; p < t->shape[0]; p++)
        for (int r = 0; r < CHANNELS; r++)
          for (int c = 0; c <= r; c++)
            full->data[(p * CHANNELS + r) * CHANNELS + c] = *in++;
      g_autofree char *full_name = g_strndup (name, strlen (name) - strlen ("_packed"));
      if (edit && strcmp (full_name, "class.1.padim.cholesky_inverse") == 0)
        edit (full);
      uad_safetensors_writer_add_tensor (w, full_name, full);
    }
  g_assert_true (uad_safetensors_writer_save (w, dst, &error));
}

/* Loading dst fails with code, naming the file. */
static void
assert_load_fails (const char *dst, int code)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (uad_model_load (dst, &error));
  g_assert_error (error, UAD_ERROR, code);
  g_assert_nonnull (strstr (error->message, dst));
  g_test_message ("%s", error->message);
}

static void
test_damaged_files (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 7);
  g_autoptr (UadModel) m = fitted_model (TRUE, features);
  g_autofree char *path = uad_test_temp_path ("p.uniad");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *bad = g_build_filename (dir, "bad.uniad", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_model_save (m, path, &error));

  uad_test_copy_safetensors (path, bad, "class.1.padim.mean", NULL, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  uad_test_copy_safetensors (path, bad, "class.0.padim.mean", put_nan, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  uad_test_copy_safetensors (path, bad, "class.1.padim.cholesky_inverse_packed", put_nan, NULL,
                             NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  uad_test_copy_safetensors (path, bad, "class.0.padim.cholesky_inverse_packed",
                             zero_packed_diagonal, NULL, NULL);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  /* Format 2 files, with full float32 factors, still load and score the same; their damage is
   * refused as well. */
  write_format_2 (path, bad, NULL);
  g_autoptr (UadModel) old = uad_model_load (bad, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) test = random_features (N_IMAGES, 8);
  double now[N_IMAGES], before[N_IMAGES];
  uad_model_score_features (m, test, class_of, now);
  uad_model_score_features (old, test, class_of, before);
  g_assert_cmpmem (now, sizeof now, before, sizeof before);
  write_format_2 (path, bad, put_nan);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  write_format_2 (path, bad, put_above_diagonal);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  write_format_2 (path, bad, zero_diagonal);
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  /* The metadata says other channels than the tensors have. */
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"padim\":{\"channels\":6}",
                             "\"padim\":{\"channels\":7}");
  assert_load_fails (bad, UAD_ERROR_MISMATCH);
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"method\":\"padim\"", "\"method\":\"knn\"");
  assert_load_fails (bad, UAD_ERROR_INVALID);
  /* A format newer than this program's is refused as such. */
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"format\":4", "\"format\":5");
  assert_load_fails (bad, UAD_ERROR_UNSUPPORTED);
  /* An unchanged copy loads: the failures above are the damage's. */
  uad_test_copy_safetensors (path, bad, NULL, NULL, NULL, NULL);
  g_autoptr (UadModel) copy = uad_model_load (bad, &error);
  g_assert_no_error (error);
  g_unlink (bad);
  uad_test_remove_temp (path);
}

/* Explicit thresholds of a class go through the file; a class without them keeps the defaults;
 * thresholds that cannot decide verdicts are refused naming the file and the class. */
static void
test_thresholds_in_file (void)
{
  g_autoptr (UadTensor) features = random_features (N_IMAGES, 9);
  g_autoptr (UadModel) m = fitted_model (TRUE, features);
  m->classes[1].has_thresholds = TRUE;
  m->classes[1].thresholds = (UadVerdictThresholds) { 1, 2, 1.5 };
  g_autofree char *path = uad_test_temp_path ("p.uniad");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *bad = g_build_filename (dir, "bad.uniad", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_model_save (m, path, &error));
  g_autoptr (UadModel) back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (back->classes[0].has_thresholds);
  UadVerdictThresholds d = uad_verdict_default_thresholds (back->classes[0].score_mean,
                                                           back->classes[0].score_std);
  UadVerdictThresholds th = uad_model_class_thresholds (back, 0);
  g_assert_cmpmem (&th, sizeof th, &d, sizeof d);
  g_assert_true (back->classes[1].has_thresholds);
  th = uad_model_class_thresholds (back, 1);
  g_assert_cmpfloat (th.pass_below, ==, 1);
  g_assert_cmpfloat (th.fail_above, ==, 2);
  g_assert_cmpfloat (th.pixel, ==, 1.5);

  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"fail_above\":2", "\"fail_above\":0.5");
  assert_load_fails (bad, UAD_ERROR_INVALID);
  g_assert_null (uad_model_load (bad, &error));
  g_assert_nonnull (strstr (error->message, m->classes[1].name));
  g_clear_error (&error);
  uad_test_copy_safetensors (path, bad, NULL, NULL, "\"pixel\":1.5", "\"pixel\":null");
  assert_load_fails (bad, UAD_ERROR_FORMAT);
  g_unlink (bad);
  uad_test_remove_temp (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/padim/against-direct", test_against_direct);
  g_test_add_func ("/padim/separate-fits-each-class", test_separate_fits_each_class);
  g_test_add_func ("/padim/file-round-trip", test_file_round_trip);
  g_test_add_func ("/padim/damaged-files", test_damaged_files);
  g_test_add_func ("/padim/thresholds-in-file", test_thresholds_in_file);
  return g_test_run ();
}
