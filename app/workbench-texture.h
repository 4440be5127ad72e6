/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-texture.h: core images and anomaly maps as GdkTextures for the workbench. */
#pragma once

#include <gtk/gtk.h>

#include "uad-heatmap.h"
#include "uad-image.h"

/* An immutable RGB texture holding a copy of img's pixels (GDK_MEMORY_R8G8B8). */
GdkTexture *workbench_texture_new_from_image (const UadImage *img);

/* A width x height texture of the colour of every map value: map[y * width + x] scaled from
 * [lo, hi] to [0, 1] (clamped; NaN counts as lo), coloured by cmap, as uad_heatmap_overlay
 * does (hi <= lo: all the colour of 0). */
GdkTexture *workbench_texture_new_heatmap (const float *map, int width, int height, float lo,
                                           float hi, UadColormap cmap);
