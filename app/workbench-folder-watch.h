/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-folder-watch.h: new image files of a folder, each reported once it is completely
 * written (GIO only, no GTK: line mode's source of images).
 *
 * A GFileMonitor reports files created in, moved into or renamed inside the folder (not its
 * subfolders); images already there when the watch starts are ignored, and so are names that
 * are not images (uad_is_image_filename: a writer's "x.png.part" counts once renamed). Every
 * poll_ms a worker thread looks at the files waiting: a file is complete when its size and time
 * have not changed since the previous look (or the writer closed it since: CHANGES_DONE_HINT)
 * and its content ends as its format requires (PNG: the IEND chunk; JPEG: the EOI marker;
 * BMP: the size its header declares; other formats, TIFF among them: it decodes). A truncated file waits for the rest; one that stays
 * unchanged and truncated for give_up_ms is reported all the same, so that its
 * inspection records why it cannot be read. The main loop never touches the files.
 *
 * Signals, on the main context the watch was made on:
 *  files-ready (GStrv paths, in the order they were first seen): complete files, each once; a
 *    burst arrives as a few large batches rather than one signal per file;
 *  file-vanished (char *path): a file waiting for completion was deleted or moved away. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WORKBENCH_TYPE_FOLDER_WATCH (workbench_folder_watch_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchFolderWatch, workbench_folder_watch, WORKBENCH, FOLDER_WATCH,
                      GObject)

/* Starts watching folder (which must be a folder); poll_ms > 0 is how often files waiting are
 * looked at, give_up_ms how long a truncated file may stay unchanged. NULL with G_IO_ERROR
 * when the folder cannot be watched. */
WorkbenchFolderWatch *workbench_folder_watch_new (const char *folder, guint poll_ms,
                                                  guint give_up_ms, GError **error);
const char *workbench_folder_watch_get_folder (WorkbenchFolderWatch *self);
/* Files seen but not yet reported complete. */
guint workbench_folder_watch_get_n_waiting (WorkbenchFolderWatch *self);
/* Stops watching: no signal follows (dispose does it too). */
void workbench_folder_watch_stop (WorkbenchFolderWatch *self);

/* Whether the file at path is complete as its format tells (see above); FALSE when it cannot
 * be read. Blocking (a TIFF is decoded): for worker threads. */
gboolean workbench_image_file_is_complete (const char *path);

G_END_DECLS
