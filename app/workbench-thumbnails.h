/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-thumbnails.h: the gallery's thumbnails, decoded on worker threads and cached.
 *
 * A cell that shows an item asks for its thumbnail with the item's position in the gallery;
 * the file is decoded at thumbnail size (JPEG decodes at a fraction of its size, so this stays
 * cheap for large images) on a small thread pool, the request nearest to the position the user
 * looks at (the focus) first, so that what is on screen comes before what the grid prepared
 * around it or what scrolled past. The texture is set on the item back on the main thread. The
 * last `capacity` thumbnails asked for stay cached on their items; older ones are dropped and
 * decoded again when asked for. An image that cannot be decoded gets the "missing image" icon
 * and is not tried again. */
#pragma once

#include "workbench-item.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_THUMBNAILS (workbench_thumbnails_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchThumbnails, workbench_thumbnails, WORKBENCH, THUMBNAILS, GObject)

/* size: longest side in pixels; threads: decoding threads. */
WorkbenchThumbnails *workbench_thumbnails_new (int size, guint capacity, int threads);

/* The item (at position in the gallery) is about to be shown: keep its thumbnail, or decode it. */
void workbench_thumbnails_request (WorkbenchThumbnails *self, WorkbenchItem *item,
                                   guint position);
/* The gallery position the user looks at now (the middle of the visible rows). */
void workbench_thumbnails_set_focus (WorkbenchThumbnails *self, guint position);
/* Drops every cached thumbnail and queued request (the gallery got new images). */
void workbench_thumbnails_clear (WorkbenchThumbnails *self);

G_END_DECLS
