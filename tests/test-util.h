/* SPDX-License-Identifier: Apache-2.0 */
/* test-util.h: helpers shared by the tests: where ../shared is, how close two float tensors
 * are, temporary files, a small UniAD model, and damaged copies of safetensors files. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "uad-model.h"
#include "uad-tensor.h"

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

/* Copies the safetensors file src to dst (every tensor as float32, every metadata entry),
 * except that the tensor called name goes through edit first, or is left out when edit is
 * NULL; and in the metadata values the first occurrence of find (when not NULL) becomes
 * replace. Asserts that it worked. */
void uad_test_copy_safetensors (const char *src, const char *dst, const char *name,
                                void (*edit) (UadTensor *t), const char *find,
                                const char *replace);

/* name inside a new temporary folder (made here); uad_test_remove_temp removes both. */
char *uad_test_temp_path (const char *name);
void uad_test_remove_temp (const char *path);

/* A unified or separate model of two classes ("bottle", "cable") for `channels`-channel
 * features, with a small transformer (hidden 16, 2 heads, FFN 32, one encoder and one decoder
 * layer) whose parameters are all zero. */
UadModel *uad_test_small_model (int channels, gboolean separate);
