/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-safetensors.c: the safetensors reader on arbitrary bytes: open, then every accessor on
 * every tensor and metadata key, and a float load of each tensor (both the checked and the
 * raw-values path), which walks the dtype conversions over the tensor's bytes. */
#include "fuzz-util.h"

#include "uad-safetensors.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_write_input ("input.safetensors", data, size, NULL);
  if (path == NULL)
    return 0;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, NULL);
  if (st == NULL)
    return 0;
  (void) uad_safetensors_get_path (st);
  (void) uad_safetensors_get_data_length (st);
  for (const char *const *key = uad_safetensors_get_metadata_keys (st); *key; key++)
    (void) uad_safetensors_get_metadata (st, *key);
  guint n = uad_safetensors_get_n_tensors (st);
  for (guint i = 0; i < n; i++)
    {
      const char *name = uad_safetensors_get_name (st, i);
      UadDType dtype;
      int ndim;
      int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
      if (!uad_safetensors_has (st, name)
          || !uad_safetensors_get_info (st, name, &dtype, &ndim, shape))
        __builtin_trap (); /* a tensor the file lists must be found by its name */
      (void) uad_dtype_name (dtype);
      size_t n_bytes = 0;
      const guint8 *bytes = uad_safetensors_get_data (st, name, &n_bytes);
      /* Touch the first and last byte, so ASan checks the whole range lies in the mapping. */
      volatile guint8 sink = 0;
      if (bytes && n_bytes > 0)
        sink = bytes[0] ^ bytes[n_bytes - 1];
      (void) sink;
      UadTensor *t = uad_safetensors_load (st, name, 0, NULL, NULL);
      uad_tensor_free (t);
      /* The expected rank is the caller's promise (asserted), so give the file's own shape
       * only where a caller could: ranks the tensor type holds. */
      gboolean expect = ndim >= 1 && ndim <= UAD_TENSOR_MAX_DIMS;
      t = uad_safetensors_load_values (st, name, expect ? ndim : 0, expect ? shape : NULL, NULL);
      uad_tensor_free (t);
    }
  (void) uad_safetensors_has (st, "__metadata__");
  (void) uad_safetensors_get_metadata (st, "uniad");
  return 0;
}
