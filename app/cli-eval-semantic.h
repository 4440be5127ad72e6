/* SPDX-License-Identifier: Apache-2.0 */
/* cli-eval-semantic.h: `uniad eval --protocol semantic`, the paper's semantic protocol (its
 * CIFAR-10 experiment) on a dataset in the layout of uad-semantic.h. For each split (the normal
 * classes), one unified model is trained by the recipe on the normal classes' training images,
 * every test image is scored with the mean of its anomaly map (UAD_SCORE_MEAN, as the paper
 * does here), and the image AUROC counts the normal classes' test images as good. Prints one
 * table, a row per split and their mean; optionally writes it as JSON. */
#pragma once

#include "cli-common.h"

typedef struct {
  CliBackboneOptions bo;
  const char *data, *cache_dir, *json;
  const char *normal;    /* one split, "0,1,2,3,4"; or NULL with ... */
  const char *splits;    /* ... "paper": uad_semantic_paper_splits () */
  const char *recipe;    /* NULL: UAD_RECIPE_DEFAULT */
  double minutes;        /* training time of each split's model; 0: the recipe's, unless ... */
  int epochs;            /* ... epochs > 0 */
  gint64 seed;
} CliSemanticArgs;

/* Runs the protocol; returns the exit status (messages on stderr). */
int cli_eval_semantic (const CliSemanticArgs *a);
