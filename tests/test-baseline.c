/* SPDX-License-Identifier: Apache-2.0 */
/* The reconstruction baselines of the identical-shortcut study (uad-baseline.h): the parameter
 * count, what each output position depends on (the MLP: its own position only; the CNN: the 5x5
 * window of its two 3x3 convolutions), and the gradient of a training step against finite
 * differences. */
#include "test-util.h"
#include "uad-baseline.h"

#include <math.h>

enum { C = 6, H = 10, G = 5, B = 2 };
#define PER (C * G * G)

static UadBaseline *
random_baseline (UadBaselineKind kind)
{
  UadBaseline *b = uad_baseline_new (kind, C, H, G, B);
  UadRng rng;
  uad_rng_init (&rng, 7);
  uad_baseline_init (b, &rng);
  /* Non-zero biases, so that their gradients are tested too. */
  size_t n;
  float *p = uad_baseline_params (b, &n);
  g_autofree float *noise = g_new (float, n);
  uad_rng_uniform (&rng, noise, (int64_t) n, -0.1f, 0.1f);
  for (size_t i = 0; i < n; i++)
    p[i] += noise[i];
  return b;
}

static void
test_shapes (void)
{
  const UadBaselineKind kinds[] = { UAD_BASELINE_MLP, UAD_BASELINE_CNN };
  const size_t params[] = { H * C + H + C * H + C, H * C * 9 + H + C * H * 9 + C };
  float features[B * PER], rec[B * PER], rec2[B * PER];
  uad_test_fill_random (features, B * PER, -1, 1, 3);
  for (size_t k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr (UadBaseline) b = random_baseline (kinds[k]);
      size_t n;
      uad_baseline_params (b, &n);
      g_assert_cmpuint (n, ==, params[k]);
      uad_baseline_forward (b, features, B, rec);
      /* Change the second image at position (h 2, w 1) in every channel. */
      int h0 = 2, w0 = 1;
      for (int c = 0; c < C; c++)
        features[PER + c * G * G + h0 * G + w0] += 0.5f;
      uad_baseline_forward (b, features, B, rec2);
      for (int c = 0; c < C; c++)
        features[PER + c * G * G + h0 * G + w0] -= 0.5f;
      int reach = kinds[k] == UAD_BASELINE_CNN ? 2 : 0;
      for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++)
          for (int h = 0; h < G; h++)
            for (int w = 0; w < G; w++)
              {
                int j = i * PER + c * G * G + h * G + w;
                g_assert_true (isfinite (rec[j]));
                gboolean near = i == 1 && abs (h - h0) <= reach && abs (w - w0) <= reach;
                if (!near)
                  g_assert_cmpfloat (rec[j], ==, rec2[j]);
              }
      /* ... and the position itself does change. */
      g_assert_cmpfloat (rec[PER + h0 * G + w0], !=, rec2[PER + h0 * G + w0]);
      if (reach > 0)
        g_assert_cmpfloat (rec[PER + (h0 + 2) * G + w0 + 2], !=, rec2[PER + (h0 + 2) * G + w0 + 2]);
    }
}

/* Central differences with h = 1e-3 on every parameter of these small networks; the network is
 * piecewise quadratic in each parameter, so the estimate is exact up to rounding unless a ReLU
 * switches within h, which the one-sided differences catch (as in test-transformer.c). */
static void
check_gradient (UadBaselineKind kind)
{
  g_autoptr (UadBaseline) b = random_baseline (kind);
  float features[B * PER];
  uad_test_fill_random (features, B * PER, -1, 1, 5);
  size_t n;
  float *p = uad_baseline_params (b, &n);
  double loss0 = uad_baseline_train_step (b, features, B);
  g_autofree float *analytic = g_memdup2 (uad_baseline_grads (b, NULL), sizeof (float) * n);
  double scale = 0, worst = 0;
  for (size_t i = 0; i < n; i++)
    scale = fmax (scale, fabs (analytic[i]));
  for (size_t i = 0; i < n; i++)
    {
      float saved = p[i], up = saved + 1e-3f, down = saved - 1e-3f;
      p[i] = up;
      double lp = uad_baseline_train_step (b, features, B);
      p[i] = down;
      double lm = uad_baseline_train_step (b, features, B);
      p[i] = saved;
      double fd = (lp - lm) / ((double) up - down);
      double right = (lp - loss0) / ((double) up - saved), left = (loss0 - lm) / (saved - (double) down);
      double err = fmin (fabs (analytic[i] - fd), fmin (fabs (analytic[i] - right), fabs (analytic[i] - left)));
      worst = fmax (worst, err / scale);
    }
  g_test_message ("%s: worst gradient error %.3g of the largest gradient (%.3g), %zu parameters",
                  uad_baseline_kind_name (kind), worst, scale, n);
  g_assert_cmpfloat (scale, >, 0);
  g_assert_cmpfloat (worst, <=, 1e-2);
}

static void
test_gradient_mlp (void)
{
  check_gradient (UAD_BASELINE_MLP);
}

static void
test_gradient_cnn (void)
{
  check_gradient (UAD_BASELINE_CNN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/baseline/shapes", test_shapes);
  g_test_add_func ("/baseline/gradient-mlp", test_gradient_mlp);
  g_test_add_func ("/baseline/gradient-cnn", test_gradient_cnn);
  return g_test_run ();
}
