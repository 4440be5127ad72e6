/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-gallery-cell.h: one thumbnail of the gallery: the image, a score badge, the model's
 * verdict as the frame's colour (CSS classes verdict-pass/-review/-fail/-none), a mark for the
 * operator's verdict, and the file name. It follows its item's changes while bound. */
#pragma once

#include <adwaita.h>

#include "workbench-item.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_GALLERY_CELL (workbench_gallery_cell_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchGalleryCell, workbench_gallery_cell, WORKBENCH, GALLERY_CELL, AdwBin)

GtkWidget *workbench_gallery_cell_new (void);
/* Shows item (NULL: nothing). */
void workbench_gallery_cell_set_item (WorkbenchGalleryCell *self, WorkbenchItem *item);
WorkbenchItem *workbench_gallery_cell_get_item (WorkbenchGalleryCell *self);

/* The score as the badge shows it: three significant digits, no exponent. */
char *workbench_format_score (double score);

G_END_DECLS
