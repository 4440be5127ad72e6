/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uad-error.h"
#include "uad-json.h"

/* Header length and tensor data are read in place as little-endian. */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

/* A longer header is certainly corrupt (real ones are kilobytes); refuse before parsing it. */
#define MAX_HEADER_BYTES ((guint64) 100 * 1000 * 1000)

static const struct {
  const char *name;
  size_t size;
} dtype_info[] = {
  [UAD_DTYPE_BOOL] = { "BOOL", 1 },
  [UAD_DTYPE_U8] = { "U8", 1 },
  [UAD_DTYPE_I8] = { "I8", 1 },
  [UAD_DTYPE_U16] = { "U16", 2 },
  [UAD_DTYPE_I16] = { "I16", 2 },
  [UAD_DTYPE_U32] = { "U32", 4 },
  [UAD_DTYPE_I32] = { "I32", 4 },
  [UAD_DTYPE_U64] = { "U64", 8 },
  [UAD_DTYPE_I64] = { "I64", 8 },
  [UAD_DTYPE_F16] = { "F16", 2 },
  [UAD_DTYPE_BF16] = { "BF16", 2 },
  [UAD_DTYPE_F32] = { "F32", 4 },
  [UAD_DTYPE_F64] = { "F64", 8 },
};

const char *
uad_dtype_name (UadDType dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_info), "?");
  return dtype_info[dtype].name;
}

size_t
uad_dtype_size (UadDType dtype)
{
  g_return_val_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_info), 0);
  return dtype_info[dtype].size;
}

static gboolean
dtype_from_name (const char *name, UadDType *dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtype_info); i++)
    if (strcmp (dtype_info[i].name, name) == 0)
      {
        *dtype = (UadDType) i;
        return TRUE;
      }
  return FALSE;
}

/* Bytes of a tensor of this dtype and shape; FALSE if the count does not fit in 64 bits. */
static gboolean
tensor_bytes (UadDType dtype, int ndim, const int64_t *shape, guint64 *n_bytes)
{
  guint64 n = dtype_info[dtype].size;
  for (int i = 0; i < ndim; i++)
    if (__builtin_mul_overflow (n, (guint64) shape[i], &n))
      return FALSE;
  *n_bytes = n;
  return TRUE;
}

static char *
shape_string (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

typedef struct {
  const char *name; /* owned by the header tree */
  UadDType dtype;
  int ndim;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  guint64 begin, end; /* byte range in the data area */
} Entry;

struct UadSafetensors {
  char *path;
  char *display; /* path for messages (UTF-8) */
  guint8 *map;
  size_t map_len;
  const guint8 *data; /* the data area, after the header */
  guint64 data_len;
  UadJson *header;    /* owns the names and metadata strings */
  Entry *entries;     /* file order */
  guint n_entries;
  GHashTable *by_name; /* name -> Entry */
  const char **meta_keys;   /* NULL-terminated */
  const char **meta_values;
};

void
uad_safetensors_close (UadSafetensors *st)
{
  if (st == NULL)
    return;
  if (st->map != NULL)
    munmap (st->map, st->map_len);
  g_clear_pointer (&st->by_name, g_hash_table_unref);
  uad_json_free (st->header);
  g_free (st->entries);
  g_free (st->meta_keys);
  g_free (st->meta_values);
  g_free (st->display);
  g_free (st->path);
  g_free (st);
}

/* A string (without NULs, which would make C names ambiguous) or NULL. */
static const char *
json_c_string (const UadJson *node)
{
  size_t len;
  const char *s = uad_json_get_string (node, &len);
  return s != NULL && strlen (s) == len ? s : NULL;
}

/* Sets a UAD_ERROR naming the file; returns FALSE. */
G_GNUC_PRINTF (4, 5) static gboolean
file_error (UadSafetensors *st, GError **error, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, UAD_ERROR, code, "%s: %s", st->display, what);
  return FALSE;
}

static gboolean
read_metadata (UadSafetensors *st, const UadJson *meta, GError **error)
{
  if (uad_json_get_type (meta) != UAD_JSON_OBJECT)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "\"__metadata__\" is a %s, not an object of strings",
                        uad_json_type_name (uad_json_get_type (meta)));
  guint n = uad_json_get_length (meta);
  st->meta_keys = g_new0 (const char *, n + 1);
  st->meta_values = g_new0 (const char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      const char *key;
      size_t key_len;
      const UadJson *value = uad_json_object_get_member (meta, i, &key, &key_len);
      if (strlen (key) != key_len || json_c_string (value) == NULL)
        return file_error (st, error, UAD_ERROR_FORMAT,
                            "\"__metadata__\" entry \"%s\" is not a string (or contains NUL)",
                            key);
      st->meta_keys[i] = key;
      st->meta_values[i] = json_c_string (value);
    }
  return TRUE;
}

/* A JSON array of exactly n_min..n_max non-negative integers into out[]; FALSE if it is not. */
static gboolean
read_int_array (const UadJson *node, guint n_min, guint n_max, int64_t *out, guint *n)
{
  if (node == NULL || uad_json_get_type (node) != UAD_JSON_ARRAY)
    return FALSE;
  *n = uad_json_get_length (node);
  if (*n < n_min || *n > n_max)
    return FALSE;
  for (guint i = 0; i < *n; i++)
    if (!uad_json_get_int64 (uad_json_array_get (node, i), &out[i]) || out[i] < 0)
      return FALSE;
  return TRUE;
}

static gboolean
read_entry (UadSafetensors *st, const char *name, const UadJson *node, Entry *e, GError **error)
{
  e->name = name;
  if (uad_json_get_type (node) != UAD_JSON_OBJECT)
    return file_error (st, error, UAD_ERROR_FORMAT, "tensor '%s': entry is a %s, not an object",
                        name, uad_json_type_name (uad_json_get_type (node)));

  const UadJson *dtype = uad_json_object_get (node, "dtype");
  if (dtype == NULL || json_c_string (dtype) == NULL)
    return file_error (st, error, UAD_ERROR_FORMAT, "tensor '%s': %s", name,
                        dtype ? "\"dtype\" is not a string" : "\"dtype\" is missing");
  if (!dtype_from_name (json_c_string (dtype), &e->dtype))
    return file_error (st, error, UAD_ERROR_UNSUPPORTED, "tensor '%s': unknown dtype \"%s\"",
                        name, json_c_string (dtype));

  const UadJson *shape = uad_json_object_get (node, "shape");
  if (shape == NULL)
    return file_error (st, error, UAD_ERROR_FORMAT, "tensor '%s': \"shape\" is missing", name);
  if (uad_json_get_type (shape) == UAD_JSON_ARRAY
      && uad_json_get_length (shape) > UAD_SAFETENSORS_MAX_DIMS)
    return file_error (st, error, UAD_ERROR_UNSUPPORTED, "tensor '%s': rank %u is above %d",
                        name, uad_json_get_length (shape), UAD_SAFETENSORS_MAX_DIMS);
  guint ndim;
  if (!read_int_array (shape, 0, UAD_SAFETENSORS_MAX_DIMS, e->shape, &ndim))
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "tensor '%s': \"shape\" is not an array of non-negative integers", name);
  e->ndim = (int) ndim;

  const UadJson *offsets = uad_json_object_get (node, "data_offsets");
  int64_t range[2];
  guint n_range;
  if (offsets == NULL)
    return file_error (st, error, UAD_ERROR_FORMAT, "tensor '%s': \"data_offsets\" is missing",
                        name);
  if (!read_int_array (offsets, 2, 2, range, &n_range))
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "tensor '%s': \"data_offsets\" is not a pair of non-negative integers",
                        name);
  e->begin = (guint64) range[0];
  e->end = (guint64) range[1];
  if (e->begin > e->end)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                        "] begin after they end", name, e->begin, e->end);
  if (e->end > st->data_len)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "tensor '%s': data_offsets end %" G_GUINT64_FORMAT
                        " is beyond the data area (%" G_GUINT64_FORMAT " bytes; file truncated?)",
                        name, e->end, st->data_len);

  g_autofree char *shape_text = shape_string (e->ndim, e->shape);
  guint64 n_bytes;
  if (!tensor_bytes (e->dtype, e->ndim, e->shape, &n_bytes))
    return file_error (st, error, UAD_ERROR_FORMAT, "tensor '%s': shape %s is impossibly large",
                        name, shape_text);
  if (n_bytes != e->end - e->begin)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "tensor '%s': shape %s of %s takes %" G_GUINT64_FORMAT
                        " bytes but data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                        "] hold %" G_GUINT64_FORMAT, name, shape_text, dtype_info[e->dtype].name,
                        n_bytes, e->begin, e->end, e->end - e->begin);
  return TRUE;
}

static int
compare_ranges (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(const Entry *const *) a, *y = *(const Entry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The format requires the tensors to fill the data area exactly, without holes or overlaps.
 * Checking it catches a header whose length field is off by a few bytes: every offset is then
 * still "inside" the data but every tensor reads shifted bytes. */
static gboolean
check_tiling (UadSafetensors *st, GError **error)
{
  g_autofree Entry **sorted = g_new (Entry *, st->n_entries + 1);
  for (guint i = 0; i < st->n_entries; i++)
    sorted[i] = &st->entries[i];
  qsort (sorted, st->n_entries, sizeof (Entry *), compare_ranges);
  const Entry *last = NULL; /* the nonempty tensor reaching furthest so far */
  for (guint i = 0; i < st->n_entries; i++)
    {
      const Entry *e = sorted[i];
      if (e->begin == e->end)
        continue; /* empty tensors share no bytes with anything */
      guint64 expected = last != NULL ? last->end : 0;
      if (e->begin < expected)
        return file_error (st, error, UAD_ERROR_FORMAT,
                            "tensors '%s' and '%s' overlap in the data area", last->name, e->name);
      if (e->begin > expected)
        return file_error (st, error, UAD_ERROR_FORMAT,
                            "%" G_GUINT64_FORMAT " bytes of the data area before tensor '%s' "
                            "belong to no tensor (a wrong header length, or a damaged file)",
                            e->begin - expected, e->name);
      last = e;
    }
  guint64 end = last != NULL ? last->end : 0;
  if (end != st->data_len)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "the tensors end at byte %" G_GUINT64_FORMAT " of a data area of %"
                        G_GUINT64_FORMAT " bytes (a wrong header length, or a damaged file)",
                        end, st->data_len);
  return TRUE;
}

static gboolean
read_header (UadSafetensors *st, GError **error)
{
  guint64 header_len;
  memcpy (&header_len, st->map, 8);
  if (header_len > MAX_HEADER_BYTES)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "not a safetensors file: header length %" G_GUINT64_FORMAT
                        " is absurd (over 100 MB)", header_len);
  if (header_len > st->map_len - 8)
    return file_error (st, error, UAD_ERROR_FORMAT,
                        "header length %" G_GUINT64_FORMAT " goes beyond the end of the file "
                        "(%zu bytes; truncated or not a safetensors file)", header_len,
                        st->map_len);
  st->data = st->map + 8 + header_len;
  st->data_len = st->map_len - 8 - header_len;

  GError *json_error = NULL;
  st->header = uad_json_parse ((const char *) st->map + 8, header_len, &json_error);
  if (st->header == NULL)
    {
      g_propagate_prefixed_error (error, json_error, "%s: header: ", st->display);
      return FALSE;
    }
  if (uad_json_get_type (st->header) != UAD_JSON_OBJECT)
    return file_error (st, error, UAD_ERROR_FORMAT, "header is a JSON %s, not an object",
                        uad_json_type_name (uad_json_get_type (st->header)));

  guint n = uad_json_get_length (st->header);
  st->entries = g_new0 (Entry, n);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    {
      const char *name;
      size_t name_len;
      const UadJson *value = uad_json_object_get_member (st->header, i, &name, &name_len);
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!read_metadata (st, value, error))
            return FALSE;
          continue;
        }
      if (strlen (name) != name_len)
        return file_error (st, error, UAD_ERROR_FORMAT,
                            "the tensor name starting '%s' contains a NUL character", name);
      Entry *e = &st->entries[st->n_entries];
      if (!read_entry (st, name, value, e, error))
        return FALSE;
      st->n_entries++;
      g_hash_table_insert (st->by_name, (gpointer) name, e);
    }
  if (st->meta_keys == NULL)
    {
      st->meta_keys = g_new0 (const char *, 1);
      st->meta_values = g_new0 (const char *, 1);
    }
  return check_tiling (st, error);
}

UadSafetensors *
uad_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (UadSafetensors) st = g_new0 (UadSafetensors, 1);
  st->path = g_strdup (path);
  st->display = g_filename_display_name (path);

  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot open: %s", st->display,
                   g_strerror (saved));
      return NULL;
    }
  struct stat info;
  if (fstat (fd, &info) != 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot read: %s", st->display,
                   g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (info.st_mode))
    {
      close (fd);
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot read: not a regular file",
                   st->display);
      return NULL;
    }
  if (info.st_size < 8)
    {
      close (fd);
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s: not a safetensors file: %" G_GINT64_FORMAT " bytes, too short for a header",
                   st->display, (gint64) info.st_size);
      return NULL;
    }
  void *map = mmap (NULL, (size_t) info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  close (fd); /* the mapping keeps the file */
  if (map == MAP_FAILED)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot map: %s", st->display,
                   g_strerror (saved));
      return NULL;
    }
  st->map = map;
  st->map_len = (size_t) info.st_size;
  if (!read_header (st, error))
    return NULL;
  return g_steal_pointer (&st);
}

const char *
uad_safetensors_get_path (UadSafetensors *st)
{
  return st->path;
}

guint
uad_safetensors_get_n_tensors (UadSafetensors *st)
{
  return st->n_entries;
}

const char *
uad_safetensors_get_name (UadSafetensors *st, guint index)
{
  g_return_val_if_fail (index < st->n_entries, NULL);
  return st->entries[index].name;
}

gboolean
uad_safetensors_has (UadSafetensors *st, const char *name)
{
  return g_hash_table_contains (st->by_name, name);
}

gboolean
uad_safetensors_get_info (UadSafetensors *st, const char *name, UadDType *dtype, int *ndim,
                          int64_t shape[UAD_SAFETENSORS_MAX_DIMS])
{
  const Entry *e = g_hash_table_lookup (st->by_name, name);
  if (e == NULL)
    return FALSE;
  if (dtype != NULL)
    *dtype = e->dtype;
  if (ndim != NULL)
    *ndim = e->ndim;
  if (shape != NULL)
    memcpy (shape, e->shape, sizeof e->shape);
  return TRUE;
}

const char *
uad_safetensors_get_metadata (UadSafetensors *st, const char *key)
{
  for (guint i = 0; st->meta_keys[i] != NULL; i++)
    if (strcmp (st->meta_keys[i], key) == 0)
      return st->meta_values[i];
  return NULL;
}

const char *const *
uad_safetensors_get_metadata_keys (UadSafetensors *st)
{
  return st->meta_keys;
}

const guint8 *
uad_safetensors_get_data (UadSafetensors *st, const char *name, size_t *n_bytes)
{
  const Entry *e = g_hash_table_lookup (st->by_name, name);
  if (e == NULL)
    return NULL;
  if (n_bytes != NULL)
    *n_bytes = (size_t) (e->end - e->begin);
  return st->data + e->begin;
}

float
uad_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exponent = (h >> 10) & 0x1f;
  guint32 mantissa = h & 0x3ff;
  guint32 bits;
  if (exponent == 0x1f)
    bits = sign | 0x7f800000 | (mantissa << 13);
  else if (exponent != 0)
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  else
    {
      /* mantissa * 2^-24 is exact in float; then put the sign on (also gives -0). */
      float f = (float) mantissa * 0x1p-24f;
      memcpy (&bits, &f, 4);
      bits |= sign;
    }
  float out;
  memcpy (&out, &bits, 4);
  return out;
}

guint16
uad_half_from_float (float f)
{
  guint32 x;
  memcpy (&x, &f, 4);
  guint32 sign = (x >> 16) & 0x8000, mantissa = x & 0x7fffff;
  int exponent = (int) ((x >> 23) & 0xff);
  if (exponent == 0xff) /* inf stays inf; NaN stays a (quiet) NaN */
    return (guint16) (sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >> 13) : 0));
  exponent += 15 - 127;
  if (exponent >= 0x1f)
    return (guint16) (sign | 0x7c00);
  guint32 h, rest, halfway;
  if (exponent > 0)
    {
      h = ((guint32) exponent << 10) | (mantissa >> 13);
      rest = mantissa & 0x1fff;
      halfway = 0x1000;
    }
  else if (exponent >= -10)
    {
      /* A subnormal half: the implicit bit joins the mantissa, shifted to units of 2^-24. */
      int shift = 14 - exponent;
      mantissa |= 0x800000;
      h = mantissa >> shift;
      rest = mantissa & ((1u << shift) - 1);
      halfway = 1u << (shift - 1);
    }
  else
    return (guint16) sign; /* below half the smallest subnormal */
  /* Round to nearest, ties to even; a carry out of the mantissa rightly bumps the exponent. */
  if (rest > halfway || (rest == halfway && (h & 1)))
    h++;
  return (guint16) (sign | h);
}

/* bfloat16 is the upper half of a float. */
static float
bf16_to_float (guint16 h)
{
  guint32 bits = (guint32) h << 16;
  float out;
  memcpy (&out, &bits, 4);
  return out;
}

static void
convert_to_f32 (UadDType dtype, const guint8 *src, float *dst, int64_t n)
{
  switch (dtype)
    {
    case UAD_DTYPE_F32:
      memcpy (dst, src, (size_t) n * 4);
      break;
    case UAD_DTYPE_F16:
    case UAD_DTYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        {
          guint16 h;
          memcpy (&h, src + 2 * i, 2); /* the mapping need not be aligned */
          dst[i] = dtype == UAD_DTYPE_F16 ? uad_half_to_float (h) : bf16_to_float (h);
        }
      break;
    case UAD_DTYPE_F64:
      for (int64_t i = 0; i < n; i++)
        {
          double d;
          memcpy (&d, src + 8 * i, 8);
          dst[i] = (float) d;
        }
      break;
    default:
      g_assert_not_reached ();
    }
}

static UadTensor *
load (UadSafetensors *st, const char *name, int ndim, const int64_t *expected_shape,
      gboolean finite_only, GError **error)
{
  g_return_val_if_fail (ndim >= 0 && ndim <= UAD_TENSOR_MAX_DIMS, NULL);
  g_return_val_if_fail (expected_shape == NULL || ndim > 0, NULL);
  const Entry *e = g_hash_table_lookup (st->by_name, name);
  if (e == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH, "%s: no tensor named '%s'",
                   st->display, name);
      return NULL;
    }
  if (e->dtype != UAD_DTYPE_F32 && e->dtype != UAD_DTYPE_F16 && e->dtype != UAD_DTYPE_BF16
      && e->dtype != UAD_DTYPE_F64)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "%s: tensor '%s' has dtype %s; a floating-point tensor is needed",
                   st->display, name, dtype_info[e->dtype].name);
      return NULL;
    }
  if (e->ndim > UAD_TENSOR_MAX_DIMS)
    {
      g_autofree char *have = shape_string (e->ndim, e->shape);
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "%s: tensor '%s' has shape %s; at most %d dimensions are supported",
                   st->display, name, have, UAD_TENSOR_MAX_DIMS);
      return NULL;
    }
  /* Rank 0 (a scalar) loads as [1]. */
  int rank = e->ndim > 0 ? e->ndim : 1;
  const int64_t one[1] = { 1 };
  const int64_t *shape = e->ndim > 0 ? e->shape : one;
  gboolean fits = ndim == 0 || ndim == rank;
  for (int i = 0; fits && expected_shape != NULL && i < rank; i++)
    fits = shape[i] == expected_shape[i];
  if (!fits)
    {
      g_autofree char *have = shape_string (rank, shape);
      g_autofree char *want = expected_shape ? shape_string (ndim, expected_shape)
                                             : g_strdup_printf ("rank %d", ndim);
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s: tensor '%s' has shape %s, expected %s", st->display, name, have, want);
      return NULL;
    }
  UadTensor *t = uad_tensor_new (rank, shape);
  int64_t n = uad_tensor_numel (t);
  convert_to_f32 (e->dtype, st->data + e->begin, t->data, n);
  /* No weight, feature or statistic of ours is ever NaN or infinite; one that is would make
   * every score NaN and every image "normal", so it is refused here, for every consumer. */
  for (int64_t i = 0; finite_only && i < n; i++)
    if (!isfinite (t->data[i]))
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                     "%s: tensor '%s' holds a non-finite value (%g at index %" G_GINT64_FORMAT
                     "): the file is damaged, or its training diverged", st->display, name,
                     t->data[i], i);
        uad_tensor_free (t);
        return NULL;
      }
  return t;
}

guint64
uad_safetensors_get_data_length (UadSafetensors *st)
{
  return st->data_len;
}

UadTensor *
uad_safetensors_load (UadSafetensors *st, const char *name, int ndim,
                      const int64_t *expected_shape, GError **error)
{
  return load (st, name, ndim, expected_shape, TRUE, error);
}

UadTensor *
uad_safetensors_load_values (UadSafetensors *st, const char *name, int ndim,
                             const int64_t *expected_shape, GError **error)
{
  return load (st, name, ndim, expected_shape, FALSE, error);
}

/* Writer */

typedef struct {
  char *name;
  UadDType dtype;
  int ndim;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  GBytes *bytes;
} WriterEntry;

struct UadSafetensorsWriter {
  GPtrArray *entries;    /* WriterEntry, in the order added */
  GHashTable *names;     /* set of entry names */
  GPtrArray *meta_keys;  /* keys of meta, in the order first added */
  GHashTable *meta;      /* owned key -> owned value */
};

static void
writer_entry_free (WriterEntry *e)
{
  g_free (e->name);
  g_bytes_unref (e->bytes);
  g_free (e);
}

UadSafetensorsWriter *
uad_safetensors_writer_new (void)
{
  UadSafetensorsWriter *w = g_new0 (UadSafetensorsWriter, 1);
  w->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) writer_entry_free);
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->meta_keys = g_ptr_array_new ();
  w->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
uad_safetensors_writer_free (UadSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->names);
  g_ptr_array_unref (w->entries);
  g_ptr_array_unref (w->meta_keys);
  g_hash_table_unref (w->meta);
  g_free (w);
}

void
uad_safetensors_writer_add_metadata (UadSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));
  char *k = g_strdup (key);
  if (!g_hash_table_contains (w->meta, key))
    g_ptr_array_add (w->meta_keys, k);
  /* For a known key this keeps the stored key (listed in meta_keys) and frees k. */
  g_hash_table_insert (w->meta, k, g_strdup (value));
}

void
uad_safetensors_writer_add_raw (UadSafetensorsWriter *w, const char *name, UadDType dtype,
                                int ndim, const int64_t *shape, const void *data, size_t n_bytes)
{
  g_return_if_fail (name != NULL && g_utf8_validate (name, -1, NULL));
  g_return_if_fail ((guint) dtype < G_N_ELEMENTS (dtype_info));
  g_return_if_fail (ndim >= 0 && ndim <= UAD_SAFETENSORS_MAX_DIMS);
  g_return_if_fail (ndim == 0 || shape != NULL);
  g_return_if_fail (data != NULL || n_bytes == 0);
  for (int i = 0; i < ndim; i++)
    g_return_if_fail (shape[i] >= 0);
  if (strcmp (name, "__metadata__") == 0 || g_hash_table_contains (w->names, name))
    {
      g_critical ("safetensors writer: tensor name '%s' is reserved or already used", name);
      return;
    }
  guint64 expected;
  if (!tensor_bytes (dtype, ndim, shape, &expected) || expected != n_bytes)
    {
      g_autofree char *s = shape_string (ndim, shape);
      g_critical ("safetensors writer: tensor '%s' of shape %s and dtype %s given %zu bytes",
                  name, s, dtype_info[dtype].name, n_bytes);
      return;
    }
  WriterEntry *e = g_new0 (WriterEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    e->shape[i] = shape[i];
  e->bytes = g_bytes_new (data, n_bytes);
  g_ptr_array_add (w->entries, e);
  g_hash_table_add (w->names, e->name);
}

void
uad_safetensors_writer_add_tensor (UadSafetensorsWriter *w, const char *name, const UadTensor *t)
{
  uad_safetensors_writer_add_raw (w, name, UAD_DTYPE_F32, t->ndim, t->shape, t->data,
                                  (size_t) uad_tensor_numel (t) * sizeof (float));
}

/* The JSON header, padded with spaces so the data area starts 8-byte aligned. */
static GString *
build_header (UadSafetensorsWriter *w)
{
  GString *h = g_string_new ("{");
  if (w->meta_keys->len > 0)
    {
      g_string_append (h, "\"__metadata__\":{");
      for (guint i = 0; i < w->meta_keys->len; i++)
        {
          const char *key = w->meta_keys->pdata[i];
          if (i > 0)
            g_string_append_c (h, ',');
          uad_json_append_string (h, key);
          g_string_append_c (h, ':');
          uad_json_append_string (h, g_hash_table_lookup (w->meta, key));
        }
      g_string_append_c (h, '}');
    }
  guint64 offset = 0;
  for (guint i = 0; i < w->entries->len; i++)
    {
      const WriterEntry *e = w->entries->pdata[i];
      guint64 n = g_bytes_get_size (e->bytes);
      if (i > 0 || w->meta_keys->len > 0)
        g_string_append_c (h, ',');
      uad_json_append_string (h, e->name);
      g_string_append_printf (h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_info[e->dtype].name);
      for (int d = 0; d < e->ndim; d++)
        g_string_append_printf (h, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, e->shape[d]);
      g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                              "]}", offset, offset + n);
      offset += n;
    }
  g_string_append_c (h, '}');
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');
  return h;
}

static gboolean
write_all (int fd, const void *buf, size_t n)
{
  const guint8 *p = buf;
  while (n > 0)
    {
      ssize_t done = write (fd, p, MIN (n, (size_t) 1 << 30));
      if (done < 0 && errno == EINTR)
        continue;
      if (done < 0)
        return FALSE;
      p += done;
      n -= (size_t) done;
    }
  return TRUE;
}

static gboolean
write_contents (UadSafetensorsWriter *w, int fd)
{
  g_autoptr (GString) header = build_header (w);
  guint64 header_len = header->len;
  if (!write_all (fd, &header_len, 8) || !write_all (fd, header->str, header->len))
    return FALSE;
  for (guint i = 0; i < w->entries->len; i++)
    {
      const WriterEntry *e = w->entries->pdata[i];
      size_t n;
      const void *data = g_bytes_get_data (e->bytes, &n);
      if (!write_all (fd, data, n))
        return FALSE;
    }
  return fsync (fd) == 0;
}

/* Makes the rename itself durable; best effort, as some file systems cannot sync folders. */
static void
sync_folder (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  int fd = g_open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

gboolean
uad_safetensors_writer_save (UadSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO,
                   "%s: cannot create a temporary file in its folder: %s", display,
                   g_strerror (saved));
      return FALSE;
    }
  gboolean ok = write_contents (w, fd);
  int saved = errno;
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      g_unlink (tmp);
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot write: %s", display,
                   g_strerror (saved));
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      saved = errno;
      g_unlink (tmp);
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s: cannot replace: %s", display,
                   g_strerror (saved));
      return FALSE;
    }
  sync_folder (path);
  return TRUE;
}
