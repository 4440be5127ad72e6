/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-scan.h: finding the images of opened folders, off the main thread.
 *
 * Folders are searched recursively (uad_list_images). An image in MVTec AD layout
 * (.../<class>/train|test/<defect>/<file>) gets its class and defect from the path, and its
 * ground-truth mask (<class>/ground_truth/<defect>/<stem>_mask.png) when the file exists; the
 * masks themselves are not images to inspect and are left out. Other images are plain files
 * whose class the user chooses. An image found through two folders is listed once.
 *
 * An MVTec class or dataset folder holds the training images too (<class>/train/good): the
 * operator inspects the test images, so training images are left out unless asked for (a
 * train folder opened itself is always inspected). */
#pragma once

#include <gio/gio.h>

#include "workbench-item.h"

G_BEGIN_DECLS

/* Scans folders (NULL-terminated; the index of each is the items' folder) and returns a
 * GPtrArray of WorkbenchItem *, in folder order, each folder's images sorted, with MVTec
 * training images only when include_training; *n_training is how many of those were found
 * (listed or not). Fails when a folder cannot be read. */
void workbench_scan_folders_async (const char *const *folders, gboolean include_training,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
GPtrArray *workbench_scan_folders_finish (GAsyncResult *result, guint *n_training,
                                          GError **error);

/* The same for a list of image files (a reopened run's, n of them): files that are gone are
 * still listed, with size and time 0; an image's folder is the first of folders
 * (NULL-terminated) that holds it, else 0. */
void workbench_scan_files_async (const char *const *paths, guint n, const char *const *folders,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
GPtrArray *workbench_scan_files_finish (GAsyncResult *result, GError **error);

G_END_DECLS
