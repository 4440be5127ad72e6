/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-image-pane.h: one zoomable, pannable image pane of the workbench viewer.
 *
 * The pane draws its content in content coordinates [0, width] x [0, height] (the original
 * image's pixels): the base texture stretched over the whole content, the overlay texture
 * (the heatmap) stretched over it at the overlay opacity, then the contours (map units,
 * stretched the same way) as lines of constant screen width with a dark halo.
 *
 * The view is a zoom (screen pixels per content pixel) and the content point shown at the
 * pane's centre; in fit mode (the initial state, and again whenever the content size changes)
 * it follows the pane's size so the whole content is visible. The mouse wheel and Ctrl+scroll
 * zoom around the pointer, touchpad scrolling and dragging pan, a pinch zooms. Every change of
 * the view made here (by gestures or the calls below, except copy_view) emits "view-changed",
 * which the viewer uses to keep its panes in step. */
#pragma once

#include <gtk/gtk.h>

#include "workbench-contours.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_IMAGE_PANE (workbench_image_pane_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchImagePane, workbench_image_pane, WORKBENCH, IMAGE_PANE, GtkWidget)

typedef enum {
  WORKBENCH_PANE_DEFECTS, /* drawn in WORKBENCH_PANE_DEFECTS_COLOR */
  WORKBENCH_PANE_TRUTH,   /* drawn in WORKBENCH_PANE_TRUTH_COLOR, under the defects */
  WORKBENCH_PANE_N_CONTOURS,
} WorkbenchPaneContours;

/* Adwaita red 2 and green 3 (CSS / Pango colours), for legends. */
#define WORKBENCH_PANE_DEFECTS_COLOR "#ed333b"
#define WORKBENCH_PANE_TRUTH_COLOR "#33d17a"

GtkWidget *workbench_image_pane_new (void);

/* The content's size; (0, 0) shows nothing. A different size than before returns to fit. */
void workbench_image_pane_set_content_size (WorkbenchImagePane *self, int width, int height);
/* Textures may be NULL (nothing drawn for that layer). */
void workbench_image_pane_set_base (WorkbenchImagePane *self, GdkTexture *base);
void workbench_image_pane_set_overlay (WorkbenchImagePane *self, GdkTexture *overlay);
void workbench_image_pane_set_overlay_opacity (WorkbenchImagePane *self, double opacity);
/* Takes ownership of contours (NULL: none in that slot). */
void workbench_image_pane_set_contours (WorkbenchImagePane *self, WorkbenchPaneContours slot,
                                        WorkbenchContours *contours);

/* The view. Zoom is clamped to [min (fit zoom, 1) / 2, 64], the centre to the content. */
double workbench_image_pane_get_zoom (WorkbenchImagePane *self);
void workbench_image_pane_get_center (WorkbenchImagePane *self, double *x, double *y);
gboolean workbench_image_pane_get_fit (WorkbenchImagePane *self);
void workbench_image_pane_zoom_fit (WorkbenchImagePane *self);
/* Zoom about the pane's centre. */
void workbench_image_pane_zoom_to (WorkbenchImagePane *self, double zoom);
/* Multiplies the zoom by factor, keeping the content point under pane point (x, y) there. */
void workbench_image_pane_zoom_at (WorkbenchImagePane *self, double factor, double x, double y);
/* Moves the content by (dx, dy) screen pixels. */
void workbench_image_pane_pan (WorkbenchImagePane *self, double dx, double dy);
/* Takes from's view (without emitting "view-changed"). */
void workbench_image_pane_copy_view (WorkbenchImagePane *self, WorkbenchImagePane *from);

G_END_DECLS
