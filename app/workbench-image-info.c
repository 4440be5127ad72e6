/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-image-info.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>

#include "uad-error.h"
#include "uad-weights.h"

gboolean
uad_image_file_info_read (const char *path, UadImageFileInfo *out, GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  GStatBuf st;
  if (g_stat (abs, &st) != 0)
    {
      int e = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot read %s: %s", abs, g_strerror (e));
      return FALSE;
    }
  int width, height;
  if (gdk_pixbuf_get_file_info (abs, &width, &height) == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s is not an image this program can "
                   "read", abs);
      return FALSE;
    }
  char *sha256 = uad_weights_sha256 (abs, error);
  if (sha256 == NULL)
    return FALSE;
  out->path = g_steal_pointer (&abs);
  out->sha256 = sha256;
  out->width = width;
  out->height = height;
  out->size = st.st_size;
  out->mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
  return TRUE;
}

void
uad_image_file_info_clear (UadImageFileInfo *info)
{
  g_clear_pointer (&info->path, g_free);
  g_clear_pointer (&info->sha256, g_free);
}

char *
uad_image_relative_path (const char *path, const char *const *folders)
{
  for (guint f = 0; folders && folders[f]; f++)
    {
      /* "/a/b" holds "/a/b/x.png", not "/a/bc/x.png". */
      gsize n = strlen (folders[f]);
      while (n > 1 && folders[f][n - 1] == G_DIR_SEPARATOR)
        n--;
      if (n > 0 && strncmp (path, folders[f], n) == 0 && path[n] == G_DIR_SEPARATOR && path[n + 1])
        return g_strdup (path + n + 1);
    }
  return g_strdup (path);
}
