/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-viewer.h: the workbench's image viewer: two panes side by side (left the original
 * image with the anomaly heatmap over it and the contours of the defect regions and of the
 * ground truth; right the model's reconstruction, or a placeholder, unless hidden), zoomed
 * and panned together, a toolbar (zoom, decoded input, heatmap opacity, colour map), and under
 * the panes, which get the rest of the height, one line with the verdict badge, a Details
 * button that unfolds the facts box the caller fills, and the legend. Its widgets are a
 * template (ui/workbench-viewer.ui), styled by resources/style.css: the application must have
 * registered the workbench resources.
 *
 * Actions (the "viewer" action group, for buttons and accelerators of the window):
 * "viewer.zoom-fit", "viewer.zoom-100", "viewer.zoom-in", "viewer.zoom-out"; enabled while an
 * image is shown. Inside the viewer,
 * Ctrl+0, Ctrl+1, Ctrl+plus and Ctrl+minus trigger them too. "viewer.decoded-input" (boolean
 * state, a toolbar toggle): the left pane shows the decoded input, enabled while there is
 * one; the choice is kept from image to image.
 *
 * Properties, with notify, so the application can bind them to GSettings:
 *   "heatmap-opacity" double in [0, 1] (default 0.5), the toolbar's 0-100 % slider;
 *   "colormap"        WorkbenchColormap (nicks "jet", "inferno", "gray" as uad_colormap_name),
 *                     default jet;
 *   "zoom"            double, read-only: screen pixels per image pixel, shown in the toolbar.
 *
 * The heatmap texture and the contours are computed on the calling (main) thread when their
 * inputs change (a 224 x 224 map takes well under a millisecond), never per frame. */
#pragma once

#include <adwaita.h>

#include "uad-heatmap.h"
#include "uad-verdict.h"

G_BEGIN_DECLS

/* UadColormap as a GEnum, for the "colormap" property. */
#define WORKBENCH_TYPE_COLORMAP (workbench_colormap_get_type ())
GType workbench_colormap_get_type (void);

#define WORKBENCH_TYPE_VIEWER (workbench_viewer_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchViewer, workbench_viewer, WORKBENCH, VIEWER, GtkWidget)

GtkWidget *workbench_viewer_new (void);

/* Shows an image. original: NULL clears the viewer. map: UAD_ANOMALY_MAP_SIZE^2 floats (row
 * major) stretched over the original, or NULL when the image is not inspected yet (no heatmap,
 * no defect contours). mask: UAD_ANOMALY_MAP_SIZE^2 bytes, non-zero = defect, or NULL. map and
 * mask are copied; the texture is referenced. The view returns to fit when the image size
 * changes, and is kept otherwise (to compare the same spot across images). */
void workbench_viewer_set_image (WorkbenchViewer *self, GdkTexture *original, const float *map,
                                 const guint8 *mask);

/* Where the model's reconstruction of the image shown is. */
typedef enum {
  WORKBENCH_RECONSTRUCTION_NO_MODEL,   /* no model is open */
  WORKBENCH_RECONSTRUCTION_NO_DECODER, /* the model has no image decoder */
  WORKBENCH_RECONSTRUCTION_PENDING,    /* being rendered */
  WORKBENCH_RECONSTRUCTION_FAILED,     /* could not be rendered (the caller says why) */
  WORKBENCH_RECONSTRUCTION_READY,      /* here */
} WorkbenchReconstructionState;

/* The reconstruction pane: reconstruction (READY only, else NULL) drawn stretched to the
 * original's size, or a placeholder that says which state it is in (nothing without an
 * image). decoded_input (READY only, may be NULL): the input through the same image decoder,
 * which "viewer.decoded-input" shows in the left pane instead of the photograph, so that the
 * decoder's blur is on both sides. The textures are referenced. */
void workbench_viewer_set_reconstruction (WorkbenchViewer *self,
                                          WorkbenchReconstructionState state,
                                          GdkTexture *decoded_input,
                                          GdkTexture *reconstruction);

/* Whether the reconstruction pane is there at all (default TRUE): models that reconstruct
 * nothing (PaDiM) have no use for it, and the original takes the whole width. */
void workbench_viewer_set_reconstruction_shown (WorkbenchViewer *self, gboolean shown);

/* Defect regions are where the map exceeds this (default +inf: none); contours follow live. */
void workbench_viewer_set_pixel_threshold (WorkbenchViewer *self, float threshold);
float workbench_viewer_get_pixel_threshold (WorkbenchViewer *self);

/* Map values lo..hi span the colour map (clamped outside). hi <= lo (the default) scales each
 * map by its own minimum and maximum. */
void workbench_viewer_set_map_range (WorkbenchViewer *self, float lo, float hi);

void workbench_viewer_set_heatmap_opacity (WorkbenchViewer *self, double opacity);
double workbench_viewer_get_heatmap_opacity (WorkbenchViewer *self);
void workbench_viewer_set_colormap (WorkbenchViewer *self, UadColormap colormap);
UadColormap workbench_viewer_get_colormap (WorkbenchViewer *self);

double workbench_viewer_get_zoom (WorkbenchViewer *self);

/* The facts box: facts is a NULL-terminated list of alternating names and values, plain text
 * (e.g. { "Score", "0.412", "Class", "bottle", "File", "000.png", "Size", "900 × 900", NULL }),
 * shown in that order; NULL clears. The verdict is a badge in front of them. */
void workbench_viewer_set_facts (WorkbenchViewer *self, const char *const *facts);
void workbench_viewer_set_verdict (WorkbenchViewer *self, UadVerdict verdict);

G_END_DECLS
