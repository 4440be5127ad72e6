/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-heatmap.h"

#include "uad-error.h"

#include <math.h>

/* Control points, evenly spaced over [0, 1]; linear in between. */
static const guint8 jet[][3] = {
  { 0, 0, 128 }, { 0, 0, 255 }, { 0, 128, 255 }, { 0, 255, 255 }, { 128, 255, 128 },
  { 255, 255, 0 }, { 255, 128, 0 }, { 255, 0, 0 }, { 128, 0, 0 },
};
static const guint8 inferno[][3] = {
  { 0, 0, 4 }, { 40, 11, 84 }, { 101, 21, 110 }, { 159, 42, 99 }, { 212, 72, 66 },
  { 245, 125, 21 }, { 250, 193, 39 }, { 252, 255, 164 },
};
static const guint8 gray[][3] = { { 0, 0, 0 }, { 255, 255, 255 } };

static const char *const names[] = { "jet", "inferno", "gray" };

const char *
uad_colormap_name (UadColormap map)
{
  return names[map];
}

gboolean
uad_colormap_parse (const char *name, UadColormap *map, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i]) == 0)
      {
        *map = (UadColormap) i;
        return TRUE;
      }
  g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
               "unknown colour map '%s' (expected jet, inferno or gray)", name);
  return FALSE;
}

void
uad_colormap_rgb (UadColormap map, float t, guint8 rgb[3])
{
  const guint8 (*points)[3] = map == UAD_COLORMAP_JET ? jet : map == UAD_COLORMAP_INFERNO ? inferno : gray;
  int n = map == UAD_COLORMAP_JET ? G_N_ELEMENTS (jet)
        : map == UAD_COLORMAP_INFERNO ? G_N_ELEMENTS (inferno) : G_N_ELEMENTS (gray);
  if (!(t > 0)) /* also NaN */
    t = 0;
  t = MIN (t, 1.0f) * (n - 1);
  int i = MIN ((int) t, n - 2);
  float f = t - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lrintf (points[i][c] + f * (points[i + 1][c] - points[i][c]));
}

void
uad_heatmap_overlay (UadImage *img, const float *map, int map_w, int map_h, float lo, float hi,
                     float opacity, UadColormap cmap)
{
  if (!(hi > lo))
    for (int i = 0; i < map_w * map_h; i++)
      hi = isfinite (map[i]) ? MAX (hi, map[i]) : hi;
  float scale = hi > lo ? 1.0f / (hi - lo) : 0;
  opacity = CLAMP (opacity, 0.0f, 1.0f);
  for (int y = 0; y < img->height; y++)
    {
      int my = MIN ((int) ((y + 0.5) * map_h / img->height), map_h - 1);
      for (int x = 0; x < img->width; x++)
        {
          int mx = MIN ((int) ((x + 0.5) * map_w / img->width), map_w - 1);
          guint8 rgb[3];
          uad_colormap_rgb (cmap, (map[my * map_w + mx] - lo) * scale, rgb);
          guint8 *p = img->rgb + ((size_t) y * img->width + x) * 3;
          for (int c = 0; c < 3; c++)
            p[c] = (guint8) lrintf ((1 - opacity) * p[c] + opacity * rgb[c]);
        }
    }
}
