/* SPDX-License-Identifier: Apache-2.0 */
/* test-calibration.c: curves, threshold suggestions and normalised scores of uad-calibration.h,
 * on a small hand-counted set of scores. */
#include <math.h>

#include "uad-calibration.h"
#include "uad-error.h"

/* Good images score 1..10, defective ones 8, 9.5, 11 and 12; an unknown image and a NaN score
 * are left out. */
static UadCalibration *
sample (void)
{
  double scores[16];
  guint8 labels[16];
  int n = 0;
  for (int i = 1; i <= 10; i++)
    scores[n] = i, labels[n++] = UAD_LABEL_GOOD;
  const double bad[] = { 12, 8, 11, 9.5 };
  for (int i = 0; i < 4; i++)
    scores[n] = bad[i], labels[n++] = UAD_LABEL_DEFECTIVE;
  scores[n] = 100, labels[n++] = UAD_LABEL_UNKNOWN;
  scores[n] = NAN, labels[n++] = UAD_LABEL_GOOD;
  return uad_calibration_new (scores, labels, n);
}

static void
test_curves (void)
{
  g_autoptr (UadCalibration) cal = sample ();
  g_assert_cmpint (cal->n_good, ==, 10);
  g_assert_cmpint (cal->n_defective, ==, 4);
  g_assert_cmpfloat (cal->defective[0], ==, 8);
  g_assert_cmpfloat (cal->defective[3], ==, 12);
  /* Pairs (defective above good, ties half): 7.5 + 9 + 10 + 10 of 40. */
  g_assert_cmpfloat_with_epsilon (cal->metrics.auroc, 36.5 / 40, 1e-12);
  /* 13 distinct scores: the good 8 and the defective 8 share a point. */
  g_assert_cmpint (cal->n_points, ==, 13);
  const UadCurvePoint *first = &cal->points[0];
  g_assert_cmpfloat (first->threshold, ==, 12);
  g_assert_cmpfloat (first->fpr, ==, 0);
  g_assert_cmpfloat (first->tpr, ==, 0.25);
  g_assert_cmpfloat (first->precision, ==, 1);
  const UadCurvePoint *at8 = &cal->points[5];
  g_assert_cmpfloat (at8->threshold, ==, 8);
  g_assert_cmpfloat_with_epsilon (at8->fpr, 0.3, 1e-12);
  g_assert_cmpfloat (at8->tpr, ==, 1);
  g_assert_cmpfloat_with_epsilon (at8->precision, 4.0 / 7, 1e-12);
  const UadCurvePoint *last = &cal->points[12];
  g_assert_cmpfloat (last->threshold, ==, 1);
  g_assert_cmpfloat (last->fpr, ==, 1);
}

static void
test_frr (void)
{
  g_autoptr (UadCalibration) cal = sample ();
  const double targets[] = { 0, 0.05, 0.1, 0.25, 0.5 };
  const double expected[] = { 10, 10, 9, 8, 5 };
  const int rejected[] = { 0, 0, 1, 2, 5 };
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      double fail_above = 0;
      g_assert_true (uad_calibration_for_frr (cal, targets[i], &fail_above, NULL));
      g_assert_cmpfloat (fail_above, ==, expected[i]);
      UadCalibrationRates r;
      uad_calibration_rates (cal, 0, fail_above, &r);
      g_assert_cmpfloat_with_epsilon (r.frr, rejected[i] / 10.0, 1e-12);
    }
  /* Every good image rejected cannot be asked for: one is kept. */
  double fail_above = 0;
  g_assert_true (uad_calibration_for_frr (cal, 1, &fail_above, NULL));
  g_assert_cmpfloat (fail_above, ==, 1);
}

static void
test_escape (void)
{
  g_autoptr (UadCalibration) cal = sample ();
  double pass_below = 0;
  g_assert_true (uad_calibration_for_escape (cal, 0, &pass_below, NULL));
  g_assert_cmpfloat (pass_below, ==, 8);
  g_assert_true (uad_calibration_for_escape (cal, 0.25, &pass_below, NULL));
  g_assert_cmpfloat (pass_below, ==, 9.5);
  UadCalibrationRates r;
  uad_calibration_rates (cal, pass_below, 20, &r);
  g_assert_cmpfloat (r.escape, ==, 0.25);
  g_assert_cmpfloat (r.frr, ==, 0);
}

/* F1 of "fails above t": 0.4 at 11, 4/6 at 10, 4/7 at 9.5, 0.75 at 9, 6/9 at 8, 8/11 at 7. */
static void
test_f1 (void)
{
  g_autoptr (UadCalibration) cal = sample ();
  double fail_above = 0;
  g_assert_true (uad_calibration_for_f1 (cal, &fail_above, NULL));
  g_assert_cmpfloat (fail_above, ==, 9);
  UadCalibrationRates r;
  uad_calibration_rates (cal, 5, fail_above, &r);
  g_assert_cmpfloat (r.f1, ==, 0.75);
  g_assert_cmpfloat (r.frr, ==, 0.1);
  g_assert_cmpfloat (r.escape, ==, 0);
  /* Passed: good 1..4; failed: good 10, defective 9.5, 11, 12; the other 6 of 14 reviewed. */
  g_assert_cmpfloat_with_epsilon (r.review, 6.0 / 14, 1e-12);
}

static void
test_errors (void)
{
  g_autoptr (UadCalibration) cal = sample ();
  double t = 0;
  g_autoptr (GError) error = NULL;
  g_assert_false (uad_calibration_for_frr (cal, 1.5, &t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (uad_calibration_for_escape (cal, NAN, &t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);

  /* Good images alone: FRR works, escape and F1 cannot. */
  const double scores[] = { 3, 1, 2 };
  const guint8 labels[] = { UAD_LABEL_GOOD, UAD_LABEL_GOOD, UAD_LABEL_GOOD };
  g_autoptr (UadCalibration) good = uad_calibration_new (scores, labels, 3);
  g_assert_true (isnan (good->metrics.auroc));
  g_assert_true (uad_calibration_for_frr (good, 0.34, &t, NULL));
  g_assert_cmpfloat (t, ==, 2);
  g_assert_false (uad_calibration_for_escape (good, 0.1, &t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (uad_calibration_for_f1 (good, &t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  UadCalibrationRates r;
  uad_calibration_rates (good, 1.5, 2, &r);
  g_assert_cmpfloat_with_epsilon (r.frr, 1.0 / 3, 1e-12);
  g_assert_true (isnan (r.escape) && isnan (r.f1));
}

static void
test_combine (void)
{
  UadVerdictThresholds current = { 2, 4, 2.5 };
  UadVerdictThresholds th = uad_calibration_combine (&current, 5, NAN);
  g_assert_cmpfloat (th.pass_below, ==, 4);
  g_assert_cmpfloat (th.fail_above, ==, 4);
  g_assert_cmpfloat (th.pixel, ==, 2.5);
  th = uad_calibration_combine (&current, NAN, 1);
  g_assert_cmpfloat (th.pass_below, ==, 1);
  g_assert_cmpfloat (th.fail_above, ==, 1);
  th = uad_calibration_combine (&current, 3, 6);
  g_assert_cmpfloat (th.pass_below, ==, 3);
  g_assert_cmpfloat (th.fail_above, ==, 6);
  th = uad_calibration_combine (&current, NAN, NAN);
  g_assert_cmpfloat (th.pass_below, ==, 2);
  g_assert_cmpfloat (th.fail_above, ==, 4);
}

static void
test_normalize (void)
{
  g_assert_cmpfloat (uad_calibration_normalize (3, 6), ==, 0.25);
  g_assert_cmpfloat (uad_calibration_normalize (6, 6), ==, 0.5);
  g_assert_cmpfloat (uad_calibration_normalize (9, 6), ==, 0.75);
  g_assert_cmpfloat (uad_calibration_normalize (20, 6), ==, 1);
  g_assert_cmpfloat (uad_calibration_normalize (-1, 6), ==, 0);
  g_assert_true (isnan (uad_calibration_normalize (1, 0)));
  g_assert_true (isnan (uad_calibration_normalize (NAN, 6)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/calibration/curves", test_curves);
  g_test_add_func ("/calibration/frr", test_frr);
  g_test_add_func ("/calibration/escape", test_escape);
  g_test_add_func ("/calibration/f1", test_f1);
  g_test_add_func ("/calibration/errors", test_errors);
  g_test_add_func ("/calibration/combine", test_combine);
  g_test_add_func ("/calibration/normalize", test_normalize);
  return g_test_run ();
}
