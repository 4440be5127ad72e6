/* SPDX-License-Identifier: Apache-2.0 */
/* uad-calibration.c: curves, threshold suggestions and normalised scores of one class. */
#include "uad-calibration.h"

#include "uad-error.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  double score;
  gboolean defective;
} Labelled;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Descending by score. */
static int
compare_labelled (const void *a, const void *b)
{
  return compare_double (&((const Labelled *) b)->score, &((const Labelled *) a)->score);
}

/* The curves from the labelled images sorted by descending score. */
static void
fill_points (UadCalibration *cal, const Labelled *sorted, int n)
{
  cal->points = g_new (UadCurvePoint, MAX (n, 1));
  int tp = 0, fp = 0;
  for (int i = 0; i < n; i++)
    {
      if (sorted[i].defective)
        tp++;
      else
        fp++;
      if (i + 1 < n && sorted[i + 1].score == sorted[i].score)
        continue;
      cal->points[cal->n_points++] = (UadCurvePoint) {
        sorted[i].score,
        cal->n_good ? (double) fp / cal->n_good : NAN,
        cal->n_defective ? (double) tp / cal->n_defective : NAN,
        (double) tp / (tp + fp),
      };
    }
}

UadCalibration *
uad_calibration_new (const double *scores, const guint8 *labels, int n)
{
  UadCalibration *cal = g_new0 (UadCalibration, 1);
  cal->good = g_new (double, MAX (n, 1));
  cal->defective = g_new (double, MAX (n, 1));
  g_autofree Labelled *all = g_new (Labelled, MAX (n, 1));
  g_autofree float *floats = g_new (float, MAX (n, 1));
  g_autofree guint8 *binary = g_new (guint8, MAX (n, 1));
  int m = 0;
  for (int i = 0; i < n; i++)
    {
      if (isnan (scores[i]) || labels[i] == UAD_LABEL_UNKNOWN)
        continue;
      gboolean defective = labels[i] == UAD_LABEL_DEFECTIVE;
      if (defective)
        cal->defective[cal->n_defective++] = scores[i];
      else
        cal->good[cal->n_good++] = scores[i];
      all[m] = (Labelled) { scores[i], defective };
      floats[m] = (float) scores[i];
      binary[m++] = defective;
    }
  qsort (cal->good, cal->n_good, sizeof (double), compare_double);
  qsort (cal->defective, cal->n_defective, sizeof (double), compare_double);
  qsort (all, m, sizeof (Labelled), compare_labelled);
  uad_rank_metrics (floats, binary, m, &cal->metrics);
  fill_points (cal, all, m);
  return cal;
}

void
uad_calibration_free (UadCalibration *cal)
{
  if (cal == NULL)
    return;
  g_free (cal->good);
  g_free (cal->defective);
  g_free (cal->points);
  g_free (cal);
}

static gboolean
check_target (double target, int n, const char *what, GError **error)
{
  if (!(target >= 0 && target <= 1))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "the target rate %g is not between 0 and 1", target);
      return FALSE;
    }
  if (n == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "there are no %s images", what);
      return FALSE;
    }
  return TRUE;
}

/* How many of n images a target rate allows: floor (target n), exact for targets like 0.1
 * of 10 images that are not exact in binary. */
static int
allowed (double target, int n)
{
  return MIN ((int) floor (target * n + 1e-9), n - 1);
}

gboolean
uad_calibration_for_frr (const UadCalibration *cal, double target, double *fail_above,
                         GError **error)
{
  if (!check_target (target, cal->n_good, "good", error))
    return FALSE;
  *fail_above = cal->good[cal->n_good - 1 - allowed (target, cal->n_good)];
  return TRUE;
}

gboolean
uad_calibration_for_escape (const UadCalibration *cal, double target, double *pass_below,
                            GError **error)
{
  if (!check_target (target, cal->n_defective, "defective", error))
    return FALSE;
  *pass_below = cal->defective[allowed (target, cal->n_defective)];
  return TRUE;
}

/* Images of sorted[n] (ascending) scoring above t, and below t. */
static int
count_above (const double *sorted, int n, double t)
{
  int k = n;
  while (k > 0 && sorted[k - 1] > t)
    k--;
  return n - k;
}

static int
count_below (const double *sorted, int n, double t)
{
  int k = 0;
  while (k < n && sorted[k] < t)
    k++;
  return k;
}

static double
f1_at (const UadCalibration *cal, double fail_above)
{
  int tp = count_above (cal->defective, cal->n_defective, fail_above);
  int fp = count_above (cal->good, cal->n_good, fail_above);
  return cal->n_defective ? 2.0 * tp / (tp + fp + cal->n_defective) : NAN;
}

gboolean
uad_calibration_for_f1 (const UadCalibration *cal, double *fail_above, GError **error)
{
  if (cal->n_good == 0 || cal->n_defective == 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "the F1-optimal threshold needs good and defective images");
      return FALSE;
    }
  double best = -1;
  /* From the highest score down, so that the highest threshold wins a tie. */
  for (int i = 0; i < cal->n_points; i++)
    {
      double f1 = f1_at (cal, cal->points[i].threshold);
      if (f1 > best)
        {
          best = f1;
          *fail_above = cal->points[i].threshold;
        }
    }
  return TRUE;
}

void
uad_calibration_rates (const UadCalibration *cal, double pass_below, double fail_above,
                       UadCalibrationRates *out)
{
  int failed_good = count_above (cal->good, cal->n_good, fail_above);
  int passed_defective = count_below (cal->defective, cal->n_defective, pass_below);
  int n = cal->n_good + cal->n_defective;
  int decided = failed_good + count_below (cal->good, cal->n_good, pass_below) + passed_defective
                + count_above (cal->defective, cal->n_defective, fail_above);
  out->frr = cal->n_good ? (double) failed_good / cal->n_good : NAN;
  out->escape = cal->n_defective ? (double) passed_defective / cal->n_defective : NAN;
  out->f1 = f1_at (cal, fail_above);
  out->review = n ? (double) (n - decided) / n : NAN;
}

UadVerdictThresholds
uad_calibration_combine (const UadVerdictThresholds *current, double pass_below,
                         double fail_above)
{
  UadVerdictThresholds th = *current;
  if (!isnan (fail_above))
    th.fail_above = fail_above;
  if (!isnan (pass_below))
    th.pass_below = pass_below;
  th.pass_below = MIN (th.pass_below, th.fail_above);
  return th;
}

double
uad_calibration_normalize (double score, double fail_above)
{
  if (!(fail_above > 0) || isnan (score))
    return NAN;
  return CLAMP (score / (2 * fail_above), 0.0, 1.0);
}
