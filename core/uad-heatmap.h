/* SPDX-License-Identifier: Apache-2.0 */
/* uad-heatmap.h: anomaly maps as pictures: a colour map, and a blend over the image. */
#pragma once

#include "uad-image.h"

typedef enum {
  UAD_COLORMAP_JET,     /* blue -> cyan -> yellow -> red, as the UniAD paper's figures */
  UAD_COLORMAP_INFERNO, /* black -> purple -> orange -> yellow, readable in grey print */
  UAD_COLORMAP_GRAY,
} UadColormap;

const char *uad_colormap_name (UadColormap map);
gboolean uad_colormap_parse (const char *name, UadColormap *map, GError **error);

/* RGB of value t in [0, 1] (clamped). */
void uad_colormap_rgb (UadColormap map, float t, guint8 rgb[3]);

/* Blends the colour of map[y*w + x] (scaled from [lo, hi] to [0, 1]) over img in place:
 * out = (1 - opacity) img + opacity colour. hi <= lo: the map's own maximum is the top. map is map_w x map_h and is resampled to the image
 * by nearest neighbour (a 224 map over a 224 image is 1:1). */
void uad_heatmap_overlay (UadImage *img, const float *map, int map_w, int map_h, float lo,
                          float hi, float opacity, UadColormap cmap);
