/* SPDX-License-Identifier: Apache-2.0 */
/* The image decoder: its phase-split upsampling convolutions against a plain double-precision
 * evaluation of "nearest x2 upsampling, then 3x3 convolution"; every parameter gradient against
 * central finite differences; training; the pixel conversion; and the decoder inside the model
 * file.
 *
 * Gradient check: the output y is reduced to L = sum_i r_i y_i with fixed random r (so the
 * backward pass gets dy = r), in double; the central difference uses h = 1e-3 on parameters
 * of magnitude ~0.3. As in test-layers.c its noise is ~1e-4 of a gradient tensor's scale
 * (float rounding of ~10^4 outputs over 2h), far below a wrong term's O(1): a check passes when
 * the largest error is below 1e-2 of the tensor's largest gradient. The decoder is piecewise
 * linear in any one parameter, so the one-sided differences agree up to that noise unless the
 * perturbation moves some ReLU across its kink, where the central difference is meaningless.
 * Such a parameter (one-sided differences apart by more than 1e-3 of the scale) is tried again
 * with h = 1e-4 (noise ~1e-3 of the scale), and left out if that also straddles a kink; the
 * test requires that few are (under 2%) and that every tensor has checked parameters. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-model.h"
#include "uad-parallel.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static const double fd_steps[] = { 1e-3, 1e-4 };
#define FD_TOL 1e-2
#define KINK_TOL 1e-3

/* Small enough for finite differences over every parameter, big enough for several row tiles
 * per layer and borders on every side: 5 channels at 3x3 -> 48x48. */
static void
tiny_config (UadDecoderConfig *cfg)
{
  uad_decoder_config_default (cfg, 5, UAD_NORMALIZE_SYMMETRIC);
  cfg->grid = 3;
  cfg->widths[0] = 4;
  cfg->widths[1] = 3;
  cfg->widths[2] = 3;
  cfg->widths[3] = 2;
}

static UadDecoder *
tiny_decoder (const UadTensor *features, guint64 seed)
{
  UadDecoderConfig cfg;
  tiny_config (&cfg);
  g_autoptr (GError) error = NULL;
  UadDecoder *dec = uad_decoder_new (&cfg, &error);
  g_assert_no_error (error);
  UadRng rng;
  uad_rng_init (&rng, seed);
  uad_decoder_init (dec, &rng, features);
  return dec;
}

static UadTensor *
random_features (int n, int c, int g, guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (n, c, g, g);
  uad_test_fill_random (f->data, uad_tensor_numel (f), -1, 3, seed);
  return f;
}

/* ---- Reference: nearest x2 upsampling and a direct 3x3 convolution, in double ------------ */

/* out[cout, h, w] = conv3x3(in[cin, h, w], weight [cout, cin, 3, 3], pad 1) + bias, then ReLU
 * when relu. */
static void
ref_conv (const double *in, int cin, int h, int w, const float *weight, const float *bias,
          int cout, gboolean relu, double *out)
{
  for (int co = 0; co < cout; co++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        {
          double s = bias[co];
          for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                {
                  int iy = y + ky - 1, ix = x + kx - 1;
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    s += weight[((co * cin + ci) * 3 + ky) * 3 + kx] * in[(ci * h + iy) * w + ix];
                }
          out[(co * h + y) * w + x] = relu && s < 0 ? 0 : s;
        }
}

static double *
ref_upsample (const double *in, int c, int h, int w)
{
  double *out = g_new (double, (size_t) c * 4 * h * w);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < 2 * h; y++)
      for (int x = 0; x < 2 * w; x++)
        out[(k * 2 * h + y) * 2 * w + x] = in[(k * h + y / 2) * w + x / 2];
  return out;
}

/* The decoder of one image by its definition, reading the parameters through the documented
 * layout of the parameter buffer; features standardised with the given statistics. */
static double *
ref_decode (UadDecoder *dec, const float *features, const float *mean, const float *std)
{
  const UadDecoderConfig *cfg = uad_decoder_get_config (dec);
  size_t n;
  const float *p = uad_decoder_params (dec, &n);
  int g = cfg->grid, c = cfg->channels;
  double *x = g_new (double, (size_t) c * g * g);
  for (int k = 0; k < c; k++)
    for (int i = 0; i < g * g; i++)
      x[k * g * g + i] = ((double) features[k * g * g + i] - mean[k]) / std[k];
  int h = g, cin = c;
  for (int l = 0; l <= UAD_DECODER_STAGES; l++)
    {
      int cout = l < UAD_DECODER_STAGES ? cfg->widths[l] : 3;
      if (l > 0)
        {
          double *up = ref_upsample (x, cin, h, h);
          g_free (x);
          x = up;
          h *= 2;
        }
      double *y = g_new (double, (size_t) cout * h * h);
      ref_conv (x, cin, h, h, p, p + (size_t) cout * cin * 9, cout, l < UAD_DECODER_STAGES, y);
      p += (size_t) cout * cin * 9 + cout;
      g_free (x);
      x = y;
      cin = cout;
    }
  g_assert_true (p == uad_decoder_params (dec, &n) + n);
  return x;
}

/* Per-channel mean and population std over images and positions, as uad_decoder_init takes. */
static void
ref_statistics (const UadTensor *f, float *mean, float *std)
{
  int64_t n = f->shape[0], c = f->shape[1], plane = f->shape[2] * f->shape[3];
  for (int64_t k = 0; k < c; k++)
    {
      double s = 0, sq = 0;
      for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < plane; j++)
          {
            double v = f->data[(i * c + k) * plane + j];
            s += v, sq += v * v;
          }
      double m = s / (n * plane);
      mean[k] = (float) m;
      std[k] = (float) sqrt (sq / (n * plane) - m * m);
    }
}

static void
test_forward_matches_definition (void)
{
  g_autoptr (UadTensor) features = random_features (2, 5, 3, 1);
  g_autoptr (UadDecoder) dec = tiny_decoder (features, 7);
  int s = uad_decoder_get_output_size (dec);
  g_assert_cmpint (s, ==, 48);
  float mean[5], std[5];
  ref_statistics (features, mean, std);
  int64_t per = 3 * s * s;
  g_autofree float *want = g_new (float, 2 * per);
  for (int i = 0; i < 2; i++)
    {
      double *ref = ref_decode (dec, features->data + i * 5 * 9, mean, std);
      for (int64_t j = 0; j < per; j++)
        want[i * per + j] = (float) ref[j];
      g_free (ref);
    }
  /* 1, 2 and 3 threads cut the layers into different row tiles. */
  for (int threads = 1; threads <= 3; threads++)
    {
      uad_parallel_set_threads (threads);
      UadDecoderWorkspace *ws = uad_decoder_workspace_new (dec, 2, FALSE);
      const float *got = uad_decoder_forward (dec, ws, features->data, 2);
      g_autofree char *what = g_strdup_printf ("decode, %d threads", threads);
      uad_test_assert_close (what, got, want, 2 * per, 1e-5);
      uad_decoder_workspace_free (ws);
    }
  uad_parallel_set_threads (2);
  /* phases x input pixels x im2col rows x output channels, layer by layer */
  g_assert_cmpfloat (uad_decoder_get_macs (dec), ==,
                     9.0 * 45 * 4 + 4.0 * 9 * 16 * 3 + 4.0 * 36 * 12 * 3 + 4.0 * 144 * 12 * 2
                     + 4.0 * 576 * 8 * 3);
}

/* ---- Gradients ---------------------------------------------------------------------------- */

typedef struct {
  UadDecoder *dec;
  UadDecoderWorkspace *ws;
  const float *features;
  const float *r;
  int batch;
  int64_t n_out;
} GradCase;

static double
grad_loss (GradCase *c)
{
  const float *y = uad_decoder_forward (c->dec, c->ws, c->features, c->batch);
  double s = 0;
  for (int64_t i = 0; i < c->n_out; i++)
    s += (double) c->r[i] * y[i];
  return s;
}

static void
test_gradients (void)
{
  enum { BATCH = 2 };
  g_autoptr (UadTensor) features = random_features (BATCH, 5, 3, 2);
  g_autoptr (UadDecoder) dec = tiny_decoder (features, 11);
  /* Non-zero biases, so that the bias gradients also see the ReLU decisions they cause. */
  size_t n;
  float *params = uad_decoder_params (dec, &n);
  float *grads = uad_decoder_grads (dec, &n);
  const UadDecoderConfig *cfg = uad_decoder_get_config (dec);
  int s = uad_decoder_get_output_size (dec);
  GradCase c = { dec, uad_decoder_workspace_new (dec, BATCH, TRUE), features->data, NULL, BATCH,
                 (int64_t) BATCH * 3 * s * s };
  float *r = g_new (float, c.n_out);
  uad_test_fill_random (r, c.n_out, -1, 1, 3);
  c.r = r;
  float *p = params;
  int cin = cfg->channels;
  for (int l = 0; l <= UAD_DECODER_STAGES; l++)
    {
      int cout = l < UAD_DECODER_STAGES ? cfg->widths[l] : 3;
      uad_test_fill_random (p + cout * cin * 9, cout, -0.2f, 0.2f, 20 + l);
      p += cout * cin * 9 + cout;
      cin = cout;
    }

  memset (grads, 0, n * sizeof (float));
  grad_loss (&c);
  uad_decoder_backward (dec, c.ws, BATCH, r);
  g_autofree float *analytic = g_memdup2 (grads, n * sizeof (float));
  double l0 = grad_loss (&c);
  /* Layer by layer, weights and biases apart: each against its own scale. */
  size_t off = 0, kinks = 0;
  cin = cfg->channels;
  for (int t = 0; t < 2 * (UAD_DECODER_STAGES + 1); t++)
    {
      int l = t / 2, cout = l < UAD_DECODER_STAGES ? cfg->widths[l] : 3;
      size_t count = t % 2 ? (size_t) cout : (size_t) cout * cin * 9;
      double scale = 0, worst = 0;
      size_t checked = 0;
      for (size_t i = off; i < off + count; i++)
        scale = fmax (scale, fabs (analytic[i]));
      for (size_t i = off; i < off + count; i++)
        for (guint k = 0; k < G_N_ELEMENTS (fd_steps); k++)
          {
            float saved = params[i];
            float up = saved + (float) fd_steps[k], down = saved - (float) fd_steps[k];
            params[i] = up;
            double lp = grad_loss (&c);
            params[i] = down;
            double lm = grad_loss (&c);
            params[i] = saved;
            double right = (lp - l0) / ((double) up - saved);
            double left = (l0 - lm) / (saved - (double) down);
            if (fabs (right - left) <= KINK_TOL * scale)
              {
                worst = fmax (worst, fabs ((right + left) / 2 - analytic[i]));
                checked++;
                break;
              }
            kinks += k + 1 == G_N_ELEMENTS (fd_steps);
          }
      g_test_message ("conv%d.%s: max error %.3g of the largest gradient over %zu of %zu "
                      "(tolerance %.0e)", l, t % 2 ? "bias" : "weight", worst / scale, checked,
                      count, FD_TOL);
      g_assert_cmpuint (checked, >, 0);
      if (!(worst <= FD_TOL * scale))
        g_test_fail_printf ("conv%d.%s: max error %.3g of the largest gradient", l,
                            t % 2 ? "bias" : "weight", worst / scale);
      off += count;
      cin = t % 2 ? cout : cin;
    }
  g_test_message ("%zu of %zu parameters next to a ReLU kink left out", kinks, n);
  g_assert_cmpuint (kinks, <, n / 50);

  /* Gradients accumulate over backward passes, and a training step leaves exactly those of
   * its MSE loss: 2 (y - t) / n as the output gradient. */
  grad_loss (&c);
  uad_decoder_backward (dec, c.ws, BATCH, r);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (fabsf (grads[i] - 2 * analytic[i]), <=, 1e-5f * (1 + fabsf (analytic[i])));
  g_autofree float *targets = g_new (float, c.n_out);
  g_autofree float *dy = g_new (float, c.n_out);
  const float *y = uad_decoder_forward (dec, c.ws, features->data, BATCH);
  for (int64_t i = 0; i < c.n_out; i++)
    {
      targets[i] = y[i] - r[i];
      dy[i] = 2 * r[i] / (float) c.n_out;
    }
  double loss = uad_decoder_train_step (dec, c.ws, features->data, targets, BATCH);
  double want_loss = 0;
  for (int64_t i = 0; i < c.n_out; i++)
    want_loss += (double) r[i] * r[i];
  g_assert_cmpfloat (fabs (loss - want_loss / c.n_out), <, 1e-4 * want_loss / c.n_out);
  g_autofree float *step_grads = g_memdup2 (grads, n * sizeof (float));
  memset (grads, 0, n * sizeof (float));
  uad_decoder_backward (dec, c.ws, BATCH, dy);
  uad_test_assert_close ("train step gradients", step_grads, grads, n, 1e-4);
  uad_decoder_workspace_free (c.ws);
  g_free (r);
}

/* ---- Training ----------------------------------------------------------------------------- */

typedef struct {
  int steps;
  double first_epoch_loss;
} Seen;

static gboolean
record_progress (const UadDecoderTrainProgress *p, void *user_data)
{
  Seen *seen = user_data;
  seen->steps++;
  if (p->epoch == 0 && p->step == p->steps_per_epoch)
    seen->first_epoch_loss = p->epoch_loss;
  return TRUE;
}

static gboolean
stop_now (const UadDecoderTrainProgress *p, void *user_data)
{
  return FALSE;
}

static void
test_training (void)
{
  /* Grey images whose brightness in each 16x16 block follows the features there: learnable,
   * even through the tiny decoder's two-channel stage. */
  enum { N = 12 };
  g_autoptr (UadTensor) features = random_features (N, 5, 3, 4);
  int s = 48;
  g_autofree guint8 *pixels = g_new (guint8, N * s * s * 3);
  for (int i = 0; i < N; i++)
    for (int y = 0; y < s; y++)
      for (int x = 0; x < s; x++)
        for (int k = 0; k < 3; k++)
          {
            float f = features->data[((i * 5 + 0) * 3 + y / 16) * 3 + x / 16];
            pixels[((i * s + y) * s + x) * 3 + k] = (guint8) CLAMP (64 + 40 * f, 0, 255);
          }
  UadDecoderTrainOptions o;
  uad_decoder_train_options_default (&o);
  o.epochs = 100;
  o.batch = 4;
  o.lr = 1e-2;
  Seen seen = { 0 };
  double loss, seconds;
  int epochs_done;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadDecoder) dec = tiny_decoder (features, 1);
  g_assert_true (uad_decoder_train (dec, features, pixels, &o, record_progress, &seen, &loss,
                                    &seconds, &epochs_done, &error));
  g_assert_cmpint (epochs_done, ==, o.epochs);
  g_test_message ("loss %.4f after the first epoch, %.4f after %d", seen.first_epoch_loss, loss,
                  o.epochs);
  g_assert_cmpint (seen.steps, ==, o.epochs * 3);
  g_assert_cmpfloat (loss, <, 0.3 * seen.first_epoch_loss);

  /* Seeded: a second run ends on the same parameters. */
  g_autoptr (UadDecoder) again = tiny_decoder (features, 99);
  g_assert_true (uad_decoder_train (again, features, pixels, &o, NULL, NULL, &loss, &seconds,
                                    &epochs_done, &error));
  size_t n;
  g_assert_cmpmem (uad_decoder_params (dec, &n), n * sizeof (float),
                   uad_decoder_params (again, &n), n * sizeof (float));

  g_assert_false (uad_decoder_train (again, features, pixels, &o, stop_now, NULL, &loss,
                                     &seconds, &epochs_done, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_CANCELLED);
  g_clear_error (&error);

  /* A time budget ends the run when its training time is spent, within a step. */
  o.seconds = 0.05;
  Seen timed = { 0 };
  g_autoptr (UadDecoder) budgeted = tiny_decoder (features, 1);
  g_assert_true (uad_decoder_train (budgeted, features, pixels, &o, record_progress, &timed,
                                    &loss, &seconds, &epochs_done, &error));
  g_assert_cmpfloat (seconds, >=, o.seconds);
  g_assert_cmpint (epochs_done, >=, 1);
  g_assert_cmpint (timed.steps, >=, 1);
  g_assert_true (isfinite (loss));
}

/* ---- Pixels ------------------------------------------------------------------------------- */

static void
test_pixels_round_trip (void)
{
  g_autoptr (UadImage) img = uad_image_new (16, 16);
  for (int i = 0; i < 16 * 16 * 3; i++)
    img->rgb[i] = (guint8) (i % 256);
  g_autofree float *chw = g_new (float, 3 * 16 * 16);
  for (int norm = UAD_NORMALIZE_IMAGENET; norm <= UAD_NORMALIZE_SYMMETRIC; norm++)
    {
      uad_image_to_chw (img, norm, chw);
      g_autoptr (UadImage) back = uad_decoder_to_image (chw, 16, norm);
      g_assert_cmpmem (back->rgb, 16 * 16 * 3, img->rgb, 16 * 16 * 3);
    }
  /* Out of range and NaN clamp. */
  chw[0] = 10, chw[1] = -10, chw[2] = NAN;
  g_autoptr (UadImage) clamped = uad_decoder_to_image (chw, 16, UAD_NORMALIZE_SYMMETRIC);
  g_assert_cmpint (clamped->rgb[0], ==, 255);
  g_assert_cmpint (clamped->rgb[3], ==, 0);
  g_assert_cmpint (clamped->rgb[6], ==, 0);

  /* Loading target pixels: as the model input is resized; a missing file is named. */
  g_autofree char *dir = g_dir_make_tmp ("uniad-decoder-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "a.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_image_save_png (img, path, &error));
  const char *paths[] = { path, path, missing };
  g_autofree guint8 *pixels = uad_decoder_load_pixels (paths, 2, 8, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (UadImage) small = uad_image_resize_bilinear (img, 8, 8);
  g_assert_cmpmem (pixels + 8 * 8 * 3, 8 * 8 * 3, small->rgb, 8 * 8 * 3);
  g_assert_null (uad_decoder_load_pixels (paths, 3, 8, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "missing.png"));
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- Model file --------------------------------------------------------------------------- */

static UadModel *
tiny_model (void)
{
  UadTransformerConfig tc;
  uad_transformer_config_default (&tc, 5);
  tc.hidden = 8;
  tc.heads = 2;
  tc.ffn = 8;
  tc.encoder_layers = 1;
  tc.decoder_layers = 1;
  tc.grid_h = tc.grid_w = 3;
  tc.neighbour_h = tc.neighbour_w = 1;
  static const char *const names[] = { "pcb" };
  g_autoptr (GError) error = NULL;
  UadModel *m = uad_model_new (UAD_BACKBONE_MOBILENET_V2, "00ff", &tc, FALSE, names, 1, &error);
  g_assert_no_error (error);
  return m;
}

static void
test_model_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("uniad-decoder-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.uniad", NULL);
  g_autoptr (GError) error = NULL;

  /* Without a decoder: valid, and loads without one. */
  g_autoptr (UadModel) plain = tiny_model ();
  g_assert_true (uad_model_save (plain, path, &error));
  g_autoptr (UadModel) plain_back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_null (plain_back->decoder);

  /* With one: configuration, statistics, parameters and training summary come back. */
  g_autoptr (UadTensor) features = random_features (3, 5, 3, 5);
  g_autoptr (UadModel) m = tiny_model ();
  g_assert_true (uad_model_set_decoder (m, tiny_decoder (features, 3), &error));
  m->decoder_training = (UadTrainingSummary) { 12, 8, 0.125, 61.5, g_strdup ("2026-11-26T00:00:00Z"), NULL };
  m->training.recipe = g_strdup ("fast:lr=1e-3");
  g_assert_true (uad_model_save (m, path, &error));
  g_autoptr (UadModel) back = uad_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back->decoder);
  const UadDecoderConfig *a = uad_decoder_get_config (m->decoder);
  const UadDecoderConfig *b = uad_decoder_get_config (back->decoder);
  g_assert_cmpmem (a, sizeof *a, b, sizeof *b);
  size_t na, nb;
  float *pa = uad_decoder_params (m->decoder, &na), *pb = uad_decoder_params (back->decoder, &nb);
  g_assert_cmpmem (pa, na * sizeof (float), pb, nb * sizeof (float));
  g_assert_cmpint (back->decoder_training.epochs, ==, 12);
  g_assert_cmpfloat (back->decoder_training.seconds, ==, 61.5);
  g_assert_cmpstr (back->decoder_training.date, ==, "2026-11-26T00:00:00Z");
  g_assert_null (back->decoder_training.recipe);
  g_assert_cmpstr (back->training.recipe, ==, "fast:lr=1e-3");
  /* Same statistics: the same pictures. */
  UadDecoderWorkspace *wa = uad_decoder_workspace_new (m->decoder, 1, FALSE);
  UadDecoderWorkspace *wb = uad_decoder_workspace_new (back->decoder, 1, FALSE);
  g_assert_cmpmem (uad_decoder_forward (m->decoder, wa, features->data, 1), 3 * 48 * 48 * sizeof (float),
                   uad_decoder_forward (back->decoder, wb, features->data, 1), 3 * 48 * 48 * sizeof (float));
  uad_decoder_workspace_free (wa);
  uad_decoder_workspace_free (wb);

  /* A decoder for other features is refused. */
  UadDecoderConfig other;
  uad_decoder_config_default (&other, 6, UAD_NORMALIZE_SYMMETRIC);
  g_assert_false (uad_model_set_decoder (m, uad_decoder_new (&other, NULL), &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_clear_error (&error);

  /* A damaged decoder in the file is an error naming the file, not a crash. */
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autofree char *bad = g_build_filename (dir, "bad.uniad", NULL);
  g_autoptr (UadSafetensorsWriter) wbad = uad_safetensors_writer_new ();
  for (guint i = 0; i < uad_safetensors_get_n_tensors (st); i++)
    {
      const char *name = uad_safetensors_get_name (st, i);
      g_autoptr (UadTensor) t = uad_safetensors_load (st, name, 0, NULL, &error);
      if (g_str_equal (name, "decoder.input_std"))
        t->data[2] = -1.0f;
      uad_safetensors_writer_add_tensor (wbad, name, t);
    }
  uad_safetensors_writer_add_metadata (wbad, "uniad", uad_safetensors_get_metadata (st, "uniad"));
  g_assert_true (uad_safetensors_writer_save (wbad, bad, &error));
  g_assert_null (uad_model_load (bad, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "bad.uniad"));
  g_test_message ("%s", error->message);
  g_unlink (bad);
  g_unlink (path);
  g_rmdir (dir);
}

/* The count a model loader checks against the file equals the parameters really built. */
static void
test_config_params (void)
{
  UadDecoderConfig cfg = { .channels = 168, .grid = 14, .widths = { 96, 64, 48, 32 } };
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (GError) error = NULL;
      UadDecoder *dec = uad_decoder_new (&cfg, &error);
      g_assert_no_error (error);
      size_t n;
      uad_decoder_params (dec, &n);
      g_assert_cmpfloat (uad_decoder_config_params (&cfg), ==, (double) n);
      uad_decoder_free (dec);
      cfg = (UadDecoderConfig) { .channels = 5, .grid = 3, .widths = { 1, 7, 2, 9 } };
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decoder/config-params", test_config_params);
  g_test_add_func ("/decoder/forward-matches-definition", test_forward_matches_definition);
  g_test_add_func ("/decoder/gradients", test_gradients);
  g_test_add_func ("/decoder/training", test_training);
  g_test_add_func ("/decoder/pixels", test_pixels_round_trip);
  g_test_add_func ("/decoder/model-file", test_model_file);
  return g_test_run ();
}
