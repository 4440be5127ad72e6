/* SPDX-License-Identifier: Apache-2.0 */
/* cli-commands.h: the `uniad` subcommands; each takes its own argv (argv[0] = command name). */
#pragma once

int cli_features (int argc, char **argv);
int cli_classify (int argc, char **argv);
int cli_check_weights (int argc, char **argv);
int cli_bench (int argc, char **argv);
int cli_train (int argc, char **argv);
int cli_infer (int argc, char **argv);
int cli_eval (int argc, char **argv);
int cli_train_decoder (int argc, char **argv);
int cli_study (int argc, char **argv);

/* Shared by train and train-decoder. */
#include "uad-dataset.h"
#include "uad-model.h"

/* The train/good images of every class of ds (NULL-terminated) and each one's class index. */
char **cli_training_images (const UadDataset *ds, int **class_of, int *n);

/* Backbone features of the images through the feature cache (cache_dir, or the user cache
 * folder; memory only with no_disk_cache), with a progress line. */
UadTensor *cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                                 gboolean no_disk_cache, const char *const *paths, int n,
                                 GError **error);
/* Loads the images behind features [n, C, 14, 14] (paths), trains a new image decoder on them
 * with a progress line, and gives it to the model with its training summary. With a deadline
 * (g_get_monotonic_time () clock; 0 = none) the training fills the time left after loading
 * (at least a minimum) instead of running opts->epochs. */
gboolean cli_add_decoder (UadModel *model, UadNormalization norm, const UadTensor *features,
                          const char *const *paths, int n, const UadDecoderTrainOptions *opts,
                          gint64 deadline, GError **error);

/* `uniad train --method padim` (cli-train-padim.c): a PaDiM model (uad-padim.h) fitted on the
 * features of ds's training images (through the feature cache, as cli_extract_features), with
 * its class statistics and summary, and a progress line. */
UadModel *cli_fit_padim (UadBackbone *bb, const char *sha, const UadDataset *ds,
                         const char *cache_dir, gboolean no_disk_cache, gboolean separate,
                         GError **error);
