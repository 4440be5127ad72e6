/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-tensor.h"

#include <stdlib.h>
#include <string.h>

float *
uad_alloc_floats (size_t n)
{
  void *p = NULL;
  size_t bytes = (n * sizeof (float) + 63) & ~(size_t) 63;
  if (bytes == 0)
    bytes = 64;
  if (posix_memalign (&p, 64, bytes) != 0)
    g_error ("out of memory allocating %zu bytes", bytes);
  memset (p, 0, bytes);
  return p;
}

void
uad_free_aligned (void *p)
{
  free (p);
}

static UadTensor *
tensor_header (int ndim, const int64_t *shape)
{
  g_return_val_if_fail (ndim >= 1 && ndim <= UAD_TENSOR_MAX_DIMS, NULL);
  UadTensor *t = g_new0 (UadTensor, 1);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  return t;
}

UadTensor *
uad_tensor_new (int ndim, const int64_t *shape)
{
  UadTensor *t = tensor_header (ndim, shape);
  t->data = uad_alloc_floats ((size_t) uad_tensor_numel (t));
  t->owned = TRUE;
  return t;
}

UadTensor *
uad_tensor_new_1d (int64_t d0)
{
  return uad_tensor_new (1, (int64_t[]) { d0 });
}

UadTensor *
uad_tensor_new_2d (int64_t d0, int64_t d1)
{
  return uad_tensor_new (2, (int64_t[]) { d0, d1 });
}

UadTensor *
uad_tensor_new_3d (int64_t d0, int64_t d1, int64_t d2)
{
  return uad_tensor_new (3, (int64_t[]) { d0, d1, d2 });
}

UadTensor *
uad_tensor_new_4d (int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
  return uad_tensor_new (4, (int64_t[]) { d0, d1, d2, d3 });
}

UadTensor *
uad_tensor_new_borrowed (float *data, int ndim, const int64_t *shape)
{
  UadTensor *t = tensor_header (ndim, shape);
  t->data = data;
  t->owned = FALSE;
  return t;
}

UadTensor *
uad_tensor_copy (const UadTensor *src)
{
  UadTensor *t = uad_tensor_new (src->ndim, src->shape);
  memcpy (t->data, src->data, (size_t) uad_tensor_numel (src) * sizeof (float));
  return t;
}

void
uad_tensor_free (UadTensor *t)
{
  if (t == NULL)
    return;
  if (t->owned)
    uad_free_aligned (t->data);
  g_free (t);
}

int64_t
uad_tensor_numel (const UadTensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

gboolean
uad_tensor_reshape (UadTensor *t, int ndim, const int64_t *shape)
{
  int64_t n = 1;
  if (ndim < 1 || ndim > UAD_TENSOR_MAX_DIMS)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  if (n != uad_tensor_numel (t))
    return FALSE;
  t->ndim = ndim;
  for (int i = 0; i < UAD_TENSOR_MAX_DIMS; i++)
    t->shape[i] = i < ndim ? shape[i] : 0;
  return TRUE;
}

gboolean
uad_tensor_same_shape (const UadTensor *a, const UadTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
uad_tensor_shape_string (const UadTensor *t)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < t->ndim; i++)
    g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

void
uad_tensor_fill (UadTensor *t, float value)
{
  int64_t n = uad_tensor_numel (t);
  for (int64_t i = 0; i < n; i++)
    t->data[i] = value;
}
