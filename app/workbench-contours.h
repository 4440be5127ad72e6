/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-contours.h: outlines of the regions where a map exceeds a threshold (marching
 * squares with linear interpolation), for drawing defect regions over an image. Plain C and
 * GLib, no GTK, so it is unit-testable.
 *
 * Coordinates are in map units: the map covers [0, width] x [0, height] and sample (x, y) sits
 * at the pixel centre (x + 0.5, y + 0.5); scale by image_width / width to draw over an image.
 * The map is taken to be below the threshold outside its border, so every contour is closed:
 * a region touching the border is closed along the border itself (x = 0, x = width, ...).
 * A crossing between two samples is placed by linear interpolation of their values; at the
 * border, and next to a NaN or infinite sample, it is placed halfway. Ambiguous (saddle) cells
 * join the two inside corners when the mean of the cell's four samples exceeds the threshold.
 *
 * Every contour is traversed with the region on its left as seen on screen (y down): outlines
 * of regions run anticlockwise on screen (negative shoelace area in these coordinates), those
 * of holes clockwise. Points on a straight run between two others are dropped (a mask's
 * outline has only its corners). Each contour is listed once, its first point not repeated.
 *
 * workbench_contours_append_path draws them with Cairo (no GTK either). */
#pragma once

#include <cairo.h>
#include <glib.h>

typedef struct {
  int width, height; /* the map's size */
  int n_contours;
  int *starts;       /* contour i is points starts[i] .. starts[i + 1] - 1 (n_contours + 1 entries) */
  float *xy;         /* x, y of every point, contour after contour */
} WorkbenchContours;

/* The outlines of {(x, y) : map[y * width + x] > threshold} (NaN is never above). width and
 * height >= 1. */
WorkbenchContours *workbench_contours_trace (const float *map, int width, int height,
                                             float threshold);

/* The outlines of the pixels of a binary mask that are non-zero (a crossing lies on the pixel
 * boundary, halfway between an inside and an outside centre). */
WorkbenchContours *workbench_contours_trace_mask (const guint8 *mask, int width, int height);

/* Appends every contour to cr's path as a closed sub-path of its own (so that separate regions
 * are never joined by a line), point (x, y) at (origin_x + x * sx, origin_y + y * sy). */
void workbench_contours_append_path (const WorkbenchContours *contours, cairo_t *cr,
                                     double origin_x, double origin_y, double sx, double sy);

void workbench_contours_free (WorkbenchContours *contours);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkbenchContours, workbench_contours_free)
