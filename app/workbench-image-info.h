/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-image-info.h: what identifies an image file in the history: its path, content
 * SHA-256, header dimensions, size and time, read without decoding it. */
#pragma once

#include <glib.h>

typedef struct {
  char *path;           /* absolute */
  char *sha256;         /* of the file's bytes, lowercase hex */
  int width, height;    /* from the image header */
  gint64 size;          /* bytes */
  gint64 mtime;         /* modification time, microseconds */
} UadImageFileInfo;

/* Reads path's size, mtime, header dimensions and content SHA-256 (no decoding). Errors name
 * the file (UAD_ERROR_IO, or UAD_ERROR_FORMAT when it is not an image). */
gboolean uad_image_file_info_read (const char *path, UadImageFileInfo *out, GError **error);
void uad_image_file_info_clear (UadImageFileInfo *info);

/* How an image is named to people: its path relative to the first of folders
 * (NULL-terminated, may be NULL) that holds it ("test/blowhole/000.png"; MVTec folders all
 * have a 000.png), else the path as it is. */
char *uad_image_relative_path (const char *path, const char *const *folders);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UadImageFileInfo, uad_image_file_info_clear)
