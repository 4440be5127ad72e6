/* SPDX-License-Identifier: Apache-2.0 */
/* uad-semantic.h: the data of the paper's semantic protocol (its CIFAR-10 experiment).
 *
 * Layout: ROOT/train/<class>/<image> and ROOT/test/<class>/<image>, the same classes in both
 * (images found as uad_list_images does, so nested folders count too). Classes are sorted by
 * name, so CIFAR-10's folders take their usual indices (airplane 0 ... truck 9). A split names
 * the normal classes: the model trains on their training images (one unified model), and every
 * test image is scored, those of the other classes being the anomalies. */
#pragma once

#include <glib.h>

typedef struct {
  char *root;
  char **classes;    /* sorted, NULL-terminated */
  int n_classes;     /* >= 2 */
  char **train;      /* every class's training images, in class order, NULL-terminated */
  int *train_class;  /* [n_train] */
  int n_train;
  char **test;       /* likewise for the test images */
  int *test_class;   /* [n_test] */
  int n_test;
} UadSemanticDataset;

/* Scans root. Fails (UAD_ERROR_IO / UAD_ERROR_INVALID, naming the path) when a folder cannot be
 * read, train/ and test/ hold other classes, there are fewer than two, or a class has no
 * training or no test images. */
UadSemanticDataset *uad_semantic_dataset_scan (const char *root, GError **error);
void uad_semantic_dataset_free (UadSemanticDataset *ds);

/* The paper's four splits of CIFAR-10's classes into normal ones: "0,1,2,3,4", "5,6,7,8,9",
 * "0,2,4,6,8", "1,3,5,7,9"; NULL-terminated. */
const char *const *uad_semantic_paper_splits (void);

/* Parses a split, comma-separated class indices ("0,1,2,3,4"), into normal[ds->n_classes].
 * Fails with UAD_ERROR_INVALID on a bad or repeated index, or when no class, or every class, is
 * normal. */
gboolean uad_semantic_parse_split (const UadSemanticDataset *ds, const char *split,
                                   gboolean *normal, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadSemanticDataset, uad_semantic_dataset_free)
