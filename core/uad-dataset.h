/* SPDX-License-Identifier: Apache-2.0 */
/* uad-dataset.h: finding the images of a dataset in MVTec AD layout, and of arbitrary folders.
 *
 * Layout: ROOT/<class>/train/good/<image>; ROOT/<class>/test/<defect>/<image> (defect "good" is
 * normal, every other folder anomalous); ROOT/<class>/ground_truth/<defect>/<stem>_mask.png.
 * Images are files ending in .png .jpg .jpeg .bmp .tif .tiff (any case); names starting with
 * '.' are ignored. Only names are looked at here; decoding happens later. All lists are sorted
 * by byte order (file names, then folders), so runs are reproducible. */
#pragma once

#include <glib.h>

typedef struct {
  char *path;
  char *defect;       /* the folder under test/; "good" for normal images */
  gboolean anomalous; /* defect != "good" */
  char *mask_path;    /* NULL for normal images and in classes without ground_truth/ */
} UadTestItem;

typedef struct {
  char *name;
  char **train;       /* train/good images, NULL-terminated */
  int n_train;        /* >= 1 */
  UadTestItem *test;  /* sorted by defect folder, then file name; none when test/ is absent */
  int n_test;
  int n_anomalous;    /* test items with anomalous set */
  /* ground_truth/ exists, and then every anomalous test image names its mask (whether it is
   * there is checked by uad_dataset_check_masks); without it the class has image labels only
   * and no pixel metrics. */
  gboolean has_masks;
} UadClass;

typedef struct {
  char *root;
  UadClass *classes;  /* sorted by name */
  int n_classes;      /* >= 1 */
} UadDataset;

/* Scans root. classes is a NULL-terminated list of class folder names, or NULL for every
 * subfolder of root that has a train/ folder. Fails (UAD_ERROR_IO / UAD_ERROR_INVALID, naming
 * the path) when root is missing, a requested class is missing, no class is found, or a class
 * has no train/good images. Training needs no more than that. */
UadDataset *uad_dataset_scan (const char *root, const char *const *classes, GError **error);
void uad_dataset_free (UadDataset *ds);

/* For evaluation: fails (UAD_ERROR_INVALID, naming mask and image) when an anomalous image of a
 * class with ground_truth/ lacks its mask. */
gboolean uad_dataset_check_masks (const UadDataset *ds, GError **error);

/* True when name has one of the image extensions above. */
gboolean uad_is_image_filename (const char *name);

/* The sorted names of dir's non-hidden subfolders, NULL-terminated (free with g_strfreev);
 * NULL and UAD_ERROR_IO when dir cannot be read. */
char **uad_list_folders (const char *dir, GError **error);

/* The images of path: a file is returned as itself (whatever its name); a folder is searched
 * recursively (symbolic links followed, each folder visited once) for image files. Sorted,
 * NULL-terminated, possibly empty; free with g_strfreev. NULL and an error when path is
 * missing, is neither a regular file nor a folder (a pipe would block), or a folder cannot be
 * read. Inside folders only regular files are listed. */
char **uad_list_images (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadDataset, uad_dataset_free)
