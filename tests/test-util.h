/* SPDX-License-Identifier: Apache-2.0 */
/* test-util.h: helpers shared by the tests: where ../shared is, and how close two float
 * tensors are. */
#pragma once

#include <glib.h>
#include <stdint.h>

/* Absolute path of a file or folder under UNIAD_SHARED, or NULL (and the current test marked
 * skipped with a message naming what is missing) when it is not there. Free with g_free. */
char *uad_test_shared_path (const char *relative);

/* max |got - want| / max |want| (absolute error when want is all zeros). */
double uad_test_rel_error (const float *got, const float *want, int64_t n);

/* Fails the current test, with the measured error in the message, unless the relative error
 * (as above) is at most tol. Prints the measured error in verbose runs either way. */
void uad_test_assert_close (const char *what, const float *got, const float *want, int64_t n,
                            double tol);

/* Deterministic pseudo-random floats in [lo, hi). */
void uad_test_fill_random (float *x, int64_t n, float lo, float hi, guint32 seed);
