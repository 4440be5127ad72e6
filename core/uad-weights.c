/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-weights.h"

#include "uad-error.h"

#include <gio/gio.h>

const char *
uad_weights_file_name (UadBackboneKind kind)
{
  return kind == UAD_BACKBONE_EFFICIENTNET_B4 ? "tf_efficientnet_b4.aa_in1k.safetensors"
                                              : "mobilenet_v2_1.0_224.safetensors";
}

char *
uad_weights_sha256 (const char *path, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &local);
  if (in == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot read %s: %s", path, local->message);
      return NULL;
    }
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1 << 20, NULL, &local);
      if (n < 0)
        {
          g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot read %s: %s", path, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
    }
  return g_strdup (g_checksum_get_string (sum));
}

char *
uad_weights_find (const char *folder, const char *sha256, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".safetensors"))
        continue;
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_autofree char *sum = uad_weights_sha256 (path, NULL);
      if (g_strcmp0 (sum, sha256) == 0)
        return g_steal_pointer (&path);
    }
  g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
               "no backbone weights with SHA-256 %s in %s", sha256, folder);
  return NULL;
}
