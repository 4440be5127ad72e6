/* SPDX-License-Identifier: Apache-2.0 */
/* uad-verdict.c: scores to verdicts, default and fallback thresholds, the heatmap scale. */
#include "uad-verdict.h"

#include "uad-error.h"

#include <math.h>
#include <string.h>

static const char *const verdict_names[UAD_N_VERDICTS] = { NULL, "pass", "review", "fail" };

const char *
uad_verdict_to_string (UadVerdict verdict)
{
  return (unsigned) verdict < UAD_N_VERDICTS ? verdict_names[verdict] : NULL;
}

gboolean
uad_verdict_from_string (const char *text, UadVerdict *verdict, GError **error)
{
  if (text == NULL)
    {
      *verdict = UAD_VERDICT_NONE;
      return TRUE;
    }
  for (int v = UAD_VERDICT_PASS; v < UAD_N_VERDICTS; v++)
    if (strcmp (text, verdict_names[v]) == 0)
      {
        *verdict = (UadVerdict) v;
        return TRUE;
      }
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
               "unknown verdict '%s' (expected pass, review or fail)", text);
  return FALSE;
}

UadVerdict
uad_verdict_from_score (double score, double pass_below, double fail_above)
{
  if (score < pass_below)
    return UAD_VERDICT_PASS;
  if (score > fail_above)
    return UAD_VERDICT_FAIL;
  return UAD_VERDICT_REVIEW;
}

UadVerdictThresholds
uad_verdict_default_thresholds (double score_mean, double score_std)
{
  double pass_below = score_mean + UAD_VERDICT_PASS_SIGMAS * score_std;
  /* The pixel threshold starts where image scores start to be doubtful: a map value as high
   * as a doubtful image's score is worth outlining. */
  return (UadVerdictThresholds) { pass_below, score_mean + UAD_VERDICT_FAIL_SIGMAS * score_std,
                                  pass_below };
}

gboolean
uad_verdict_check_thresholds (const UadVerdictThresholds *th, const char *class_name,
                              GError **error)
{
  if (isfinite (th->pass_below) && isfinite (th->fail_above) && isfinite (th->pixel)
      && th->pass_below <= th->fail_above)
    return TRUE;
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
               "thresholds%s%s must be finite with pass below (%g) <= fail above (%g)",
               class_name ? " of class " : "", class_name ? class_name : "", th->pass_below,
               th->fail_above);
  return FALSE;
}

UadVerdictThresholds
uad_verdict_thresholds_for (const UadVerdictThresholds *per_class, int n_classes,
                            int class_index)
{
  g_return_val_if_fail (n_classes >= 1, (UadVerdictThresholds) { 0 });
  if (class_index >= 0 && class_index < n_classes)
    return per_class[class_index];
  UadVerdictThresholds low = per_class[0];
  for (int k = 1; k < n_classes; k++)
    {
      low.pass_below = MIN (low.pass_below, per_class[k].pass_below);
      low.fail_above = MIN (low.fail_above, per_class[k].fail_above);
      low.pixel = MIN (low.pixel, per_class[k].pixel);
    }
  return low;
}

float
uad_verdict_heatmap_max (double fail_above)
{
  float hi = (float) (2 * fail_above);
  return hi > 0 ? hi : 0; /* also 0 for NaN */
}
