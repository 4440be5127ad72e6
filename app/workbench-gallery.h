/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-gallery.h: the session's images as a grid of thumbnails (GtkGridView over the
 * session's items, filtered by model verdict and class, then sorted), decoded lazily on worker
 * threads as they scroll into view.
 *
 * Keyboard: arrows, Home/End and Page Up/Down move the selection; Enter (or a double click)
 * emits "item-activated". The selected item is the "selected-item" property. "sort-key" is the
 * order as the nick of the settings' SortKey enum ("score", "name", "class", "time"). */
#pragma once

#include <adwaita.h>

#include "workbench-session.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_GALLERY (workbench_gallery_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchGallery, workbench_gallery, WORKBENCH, GALLERY, AdwBin)

void workbench_gallery_set_session (WorkbenchGallery *self, WorkbenchSession *session);
/* The selected image (NULL when there is none). */
WorkbenchItem *workbench_gallery_get_selected_item (WorkbenchGallery *self);
/* Selects the next inspected image in gallery order (after the selected one, wrapping) that
 * has no operator verdict yet; FALSE when there is none. */
gboolean workbench_gallery_select_next_unreviewed (WorkbenchGallery *self);
/* Selects item and scrolls to it, leaving the focus where it is; FALSE when the gallery does
 * not show it (filtered out). */
gboolean workbench_gallery_select_item (WorkbenchGallery *self, WorkbenchItem *item);
/* Gives the keyboard focus to the selected thumbnail. */
void workbench_gallery_focus_selected (WorkbenchGallery *self);

G_END_DECLS
