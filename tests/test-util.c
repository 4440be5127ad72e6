/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"

#include <math.h>

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
