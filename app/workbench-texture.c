/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-texture.h"

#include <math.h>
#include <string.h>

static GdkTexture *
texture_take_rgb (guint8 *rgb, int width, int height)
{
  gsize stride = (gsize) width * 3;
  g_autoptr (GBytes) bytes = g_bytes_new_take (rgb, stride * height);
  return gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes, stride);
}

GdkTexture *
workbench_texture_new_from_image (const UadImage *img)
{
  g_return_val_if_fail (img != NULL && img->width >= 1 && img->height >= 1, NULL);

  return texture_take_rgb (g_memdup2 (img->rgb, (gsize) img->width * img->height * 3),
                           img->width, img->height);
}

GdkTexture *
workbench_texture_new_heatmap (const float *map, int width, int height, float lo, float hi,
                               UadColormap cmap)
{
  g_return_val_if_fail (map != NULL && width >= 1 && height >= 1, NULL);

  size_t n = (size_t) width * height;
  float scale = hi > lo ? 1.0f / (hi - lo) : 0.0f;

  /* A 256-entry table: the colour map's control points are far coarser than that. */
  guint8 lut[256][3];
  for (int i = 0; i < 256; i++)
    uad_colormap_rgb (cmap, i / 255.0f, lut[i]);

  guint8 *rgb = g_malloc (n * 3);
  for (size_t i = 0; i < n; i++)
    {
      float t = (map[i] - lo) * scale;
      int k = t > 0 ? (int) lrintf (MIN (t, 1.0f) * 255) : 0; /* also NaN */
      memcpy (rgb + 3 * i, lut[k], 3);
    }
  return texture_take_rgb (rgb, width, height);
}
