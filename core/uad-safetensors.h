/* SPDX-License-Identifier: Apache-2.0 */
/* uad-safetensors.h: reading and writing safetensors files
 * (https://huggingface.co/docs/safetensors: 8-byte little-endian header length, a JSON header
 * mapping tensor names to dtype, shape and [begin, end) byte offsets into the data area that
 * follows, and an optional "__metadata__" object of strings).
 *
 * Opening validates the whole header before anything is used: every failure is a GError naming
 * the file (and the tensor when there is one) - UAD_ERROR_IO when the file cannot be read or
 * mapped, UAD_ERROR_FORMAT when it is corrupt, UAD_ERROR_UNSUPPORTED for a dtype outside
 * UadDType or a rank above 8. No tensor data is ever read outside the file. The file is mapped
 * read-only; pointers returned by the reader stay valid until uad_safetensors_close.
 *
 * The format stores numbers little-endian and this code reads them in place: only little-endian
 * hosts are supported (checked at compile time). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

#include "uad-tensor.h"

/* Highest rank the reader accepts. */
#define UAD_SAFETENSORS_MAX_DIMS 8

typedef enum {
  UAD_DTYPE_BOOL,
  UAD_DTYPE_U8,
  UAD_DTYPE_I8,
  UAD_DTYPE_U16,
  UAD_DTYPE_I16,
  UAD_DTYPE_U32,
  UAD_DTYPE_I32,
  UAD_DTYPE_U64,
  UAD_DTYPE_I64,
  UAD_DTYPE_F16,
  UAD_DTYPE_BF16,
  UAD_DTYPE_F32,
  UAD_DTYPE_F64,
} UadDType;

/* The format's name of a dtype ("F32", "BF16", ...). */
const char *uad_dtype_name (UadDType dtype);
/* Bytes per element. */
size_t uad_dtype_size (UadDType dtype);

typedef struct UadSafetensors UadSafetensors;

UadSafetensors *uad_safetensors_open (const char *path, GError **error);
void uad_safetensors_close (UadSafetensors *st);

const char *uad_safetensors_get_path (UadSafetensors *st);
guint uad_safetensors_get_n_tensors (UadSafetensors *st);
/* Name of tensor index, in the order of the file's header. */
const char *uad_safetensors_get_name (UadSafetensors *st, guint index);
gboolean uad_safetensors_has (UadSafetensors *st, const char *name);
/* dtype, rank (0..8) and shape of a tensor (any pointer may be NULL); FALSE if it is absent. */
gboolean uad_safetensors_get_info (UadSafetensors *st, const char *name, UadDType *dtype,
                                   int *ndim, int64_t shape[UAD_SAFETENSORS_MAX_DIMS]);

/* Size of the data area in bytes: what the tensors of the file hold between them. */
guint64 uad_safetensors_get_data_length (UadSafetensors *st);

/* Value of a "__metadata__" entry, or NULL. */
const char *uad_safetensors_get_metadata (UadSafetensors *st, const char *key);
/* The "__metadata__" keys in file order, NULL-terminated (empty when there is none). */
const char *const *uad_safetensors_get_metadata_keys (UadSafetensors *st);

/* Loads a tensor as float32 into a new owned UadTensor of the file's shape: F32 is copied, F16
 * and BF16 are converted exactly, F64 rounded to nearest. Rank 0 loads as [1]; ranks above 4 are
 * refused (UAD_ERROR_UNSUPPORTED). If ndim > 0 the tensor must have that rank, and if
 * expected_shape is not NULL (it has ndim entries) also that shape; otherwise
 * UAD_ERROR_MISMATCH with a message naming the file, the tensor and both shapes. An absent
 * tensor is UAD_ERROR_MISMATCH; an integer or boolean one UAD_ERROR_UNSUPPORTED; one holding
 * NaN or infinity (after conversion, so also F64 beyond float's range) UAD_ERROR_FORMAT. */
UadTensor *uad_safetensors_load (UadSafetensors *st, const char *name, int ndim,
                                 const int64_t *expected_shape, GError **error);
/* The same, but NaN and infinity load as they are: for reference tensors that hold them on
 * purpose (an attention mask's -inf), never for weights. */
UadTensor *uad_safetensors_load_values (UadSafetensors *st, const char *name, int ndim,
                                        const int64_t *expected_shape, GError **error);

/* The raw little-endian bytes of a tensor of any dtype, inside the mapping (n_bytes may be NULL;
 * not necessarily aligned for the dtype), or NULL if it is absent. */
const guint8 *uad_safetensors_get_data (UadSafetensors *st, const char *name, size_t *n_bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadSafetensors, uad_safetensors_close)

/* IEEE half precision (F16): a float rounded to the nearest half (ties to even; beyond the
 * half range it becomes infinity), and a half back to float exactly. */
guint16 uad_half_from_float (float f);
float uad_half_to_float (guint16 h);

/* Builds a safetensors file in memory and saves it atomically. Tensors are written in the order
 * added, metadata keys in the order first added. Data is copied when added. Adding a tensor name
 * twice, the name "__metadata__", or data whose size does not match the shape is a programming
 * error (g_critical; the call is ignored). */
typedef struct UadSafetensorsWriter UadSafetensorsWriter;

UadSafetensorsWriter *uad_safetensors_writer_new (void);
void uad_safetensors_writer_free (UadSafetensorsWriter *w);
/* Sets a metadata string (UTF-8); a second call with the same key replaces the value. */
void uad_safetensors_writer_add_metadata (UadSafetensorsWriter *w, const char *key,
                                          const char *value);
/* Adds t as an F32 tensor of t's shape. */
void uad_safetensors_writer_add_tensor (UadSafetensorsWriter *w, const char *name,
                                        const UadTensor *t);
/* Adds n_bytes of little-endian data of any dtype and a shape of rank 0..8. */
void uad_safetensors_writer_add_raw (UadSafetensorsWriter *w, const char *name, UadDType dtype,
                                     int ndim, const int64_t *shape, const void *data,
                                     size_t n_bytes);
/* Writes the file: a temporary file in path's folder, flushed to disk, then renamed over path.
 * On failure (UAD_ERROR_IO, naming the file) the temporary file is removed and an existing file
 * at path is left as it was. */
gboolean uad_safetensors_writer_save (UadSafetensorsWriter *w, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadSafetensorsWriter, uad_safetensors_writer_free)
