/* SPDX-License-Identifier: Apache-2.0 */
/* test-verdict.c: the verdict rules of uad-verdict.h, without GTK or a model. */
#include <math.h>
#include <string.h>

#include "uad-error.h"
#include "uad-verdict.h"

/* Below pass_below passes, above fail_above fails, both ends themselves go to review. */
static void
test_from_score (void)
{
  g_assert_cmpint (uad_verdict_from_score (0.99, 1, 2), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (uad_verdict_from_score (1.0, 1, 2), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (uad_verdict_from_score (1.5, 1, 2), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (uad_verdict_from_score (2.0, 1, 2), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (uad_verdict_from_score (2.01, 1, 2), ==, UAD_VERDICT_FAIL);
  /* Equal thresholds: only the score exactly at them is reviewed. */
  g_assert_cmpint (uad_verdict_from_score (0.9, 1, 1), ==, UAD_VERDICT_PASS);
  g_assert_cmpint (uad_verdict_from_score (1.0, 1, 1), ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (uad_verdict_from_score (1.0 + 1e-12, 1, 1), ==, UAD_VERDICT_FAIL);
  /* A NaN score is neither clearly good nor clearly bad. */
  g_assert_cmpint (uad_verdict_from_score (NAN, 1, 2), ==, UAD_VERDICT_REVIEW);
}

static void
test_names (void)
{
  const UadVerdict all[] = { UAD_VERDICT_PASS, UAD_VERDICT_REVIEW, UAD_VERDICT_FAIL };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      UadVerdict back = UAD_VERDICT_NONE;
      g_assert_true (uad_verdict_from_string (uad_verdict_to_string (all[i]), &back, NULL));
      g_assert_cmpint (back, ==, all[i]);
    }
  g_assert_cmpstr (uad_verdict_to_string (UAD_VERDICT_FAIL), ==, "fail");
  g_assert_null (uad_verdict_to_string (UAD_VERDICT_NONE));
  g_assert_null (uad_verdict_to_string ((UadVerdict) 17));
  UadVerdict v = UAD_VERDICT_FAIL;
  g_assert_true (uad_verdict_from_string (NULL, &v, NULL));
  g_assert_cmpint (v, ==, UAD_VERDICT_NONE);
  g_autoptr (GError) error = NULL;
  g_assert_false (uad_verdict_from_string ("anomalous", &v, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
}

static void
test_defaults (void)
{
  UadVerdictThresholds th = uad_verdict_default_thresholds (0.25, 0.125);
  g_assert_cmpfloat (th.pass_below, ==, 0.25 + 3 * 0.125);
  g_assert_cmpfloat (th.fail_above, ==, 0.25 + 6 * 0.125);
  g_assert_cmpfloat (th.pixel, ==, th.pass_below);
  g_assert_true (uad_verdict_check_thresholds (&th, "bolt", NULL));
  /* No spread in the training scores: one threshold, a score at it is reviewed. */
  th = uad_verdict_default_thresholds (2, 0);
  g_assert_cmpfloat (th.pass_below, ==, th.fail_above);
  g_assert_cmpint (uad_verdict_from_score (2, th.pass_below, th.fail_above), ==,
                   UAD_VERDICT_REVIEW);
}

static void
test_check (void)
{
  const UadVerdictThresholds bad[] = {
    { 2, 1, 1 },            /* out of order */
    { NAN, 1, 1 },
    { 0, INFINITY, 1 },
    { 0, 1, NAN },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (uad_verdict_check_thresholds (&bad[i], "bolt", &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "bolt"));
    }
  g_autoptr (GError) error = NULL;
  g_assert_false (uad_verdict_check_thresholds (&bad[0], NULL, &error));
  g_assert_null (strstr (error->message, "class"));
}

/* A known class takes its own thresholds; an unknown one the lowest of each kind. */
static void
test_unknown_class (void)
{
  const UadVerdictThresholds per_class[] = {
    { 1.0, 5.0, 0.7 },
    { 2.0, 3.0, 0.9 },
    { 1.5, 4.0, 0.5 },
  };
  UadVerdictThresholds th = uad_verdict_thresholds_for (per_class, 3, 1);
  g_assert_cmpfloat (th.pass_below, ==, 2.0);
  g_assert_cmpfloat (th.fail_above, ==, 3.0);
  g_assert_cmpfloat (th.pixel, ==, 0.9);
  th = uad_verdict_thresholds_for (per_class, 3, -1);
  g_assert_cmpfloat (th.pass_below, ==, 1.0);
  g_assert_cmpfloat (th.fail_above, ==, 3.0);
  g_assert_cmpfloat (th.pixel, ==, 0.5);
  /* So a score that one class would pass is reviewed when the class is unknown... */
  g_assert_cmpint (uad_verdict_from_score (1.8, per_class[1].pass_below, per_class[1].fail_above),
                   ==, UAD_VERDICT_PASS);
  g_assert_cmpint (uad_verdict_from_score (1.8, th.pass_below, th.fail_above), ==,
                   UAD_VERDICT_REVIEW);
  /* ...and one that another class would review fails. */
  g_assert_cmpint (uad_verdict_from_score (3.5, th.pass_below, th.fail_above), ==,
                   UAD_VERDICT_FAIL);
  th = uad_verdict_thresholds_for (per_class, 1, -1);
  g_assert_cmpfloat (th.fail_above, ==, 5.0);
}

static void
test_heatmap_max (void)
{
  g_assert_cmpfloat (uad_verdict_heatmap_max (0.75), ==, 1.5f);
  g_assert_cmpfloat (uad_verdict_heatmap_max (0), ==, 0);
  g_assert_cmpfloat (uad_verdict_heatmap_max (-1), ==, 0);
  g_assert_cmpfloat (uad_verdict_heatmap_max (NAN), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/verdict/from-score", test_from_score);
  g_test_add_func ("/verdict/names", test_names);
  g_test_add_func ("/verdict/defaults", test_defaults);
  g_test_add_func ("/verdict/check", test_check);
  g_test_add_func ("/verdict/unknown-class", test_unknown_class);
  g_test_add_func ("/verdict/heatmap-max", test_heatmap_max);
  return g_test_run ();
}
