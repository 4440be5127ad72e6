/* SPDX-License-Identifier: Apache-2.0 */
/* uad-tensor.h: a small explicit float32 tensor.
 *
 * Always contiguous, row-major (NCHW for images and feature maps, (T, B, C) for tokens), up to
 * four dimensions. A tensor either owns its data (64-byte aligned, freed with the tensor) or
 * borrows it (from a mapped weights file, a caller's buffer); borrowed data is never freed here.
 * Tensors are allocated once, outside hot loops, and reused. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

#define UAD_TENSOR_MAX_DIMS 4

typedef struct {
  float *data;
  int ndim;
  int64_t shape[UAD_TENSOR_MAX_DIMS];
  gboolean owned;
} UadTensor;

/* New zero-filled tensor of ndim dimensions (1..4); aborts only if memory runs out, like g_malloc. */
UadTensor *uad_tensor_new (int ndim, const int64_t *shape);
UadTensor *uad_tensor_new_1d (int64_t d0);
UadTensor *uad_tensor_new_2d (int64_t d0, int64_t d1);
UadTensor *uad_tensor_new_3d (int64_t d0, int64_t d1, int64_t d2);
UadTensor *uad_tensor_new_4d (int64_t d0, int64_t d1, int64_t d2, int64_t d3);
/* A tensor over caller memory; the caller keeps the memory alive and frees it. */
UadTensor *uad_tensor_new_borrowed (float *data, int ndim, const int64_t *shape);
UadTensor *uad_tensor_copy (const UadTensor *t);
void uad_tensor_free (UadTensor *t);

int64_t uad_tensor_numel (const UadTensor *t);
/* Same number of elements, new shape; returns FALSE (and leaves t alone) if the counts differ. */
gboolean uad_tensor_reshape (UadTensor *t, int ndim, const int64_t *shape);
gboolean uad_tensor_same_shape (const UadTensor *a, const UadTensor *b);
/* "[2, 272, 14, 14]"; free with g_free. */
char *uad_tensor_shape_string (const UadTensor *t);
void uad_tensor_fill (UadTensor *t, float value);

/* 64-byte aligned float buffer for scratch space; free with uad_free_aligned. */
float *uad_alloc_floats (size_t n);
void uad_free_aligned (void *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadTensor, uad_tensor_free)
