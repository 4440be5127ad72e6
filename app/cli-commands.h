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

/* Shared by train and train-decoder. */
#include "uad-model.h"

/* Backbone features of the images through the feature cache (cache_dir, or the user cache
 * folder; memory only with no_disk_cache), with a progress line. */
UadTensor *cli_extract_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                                 gboolean no_disk_cache, const char *const *paths, int n,
                                 GError **error);
/* Loads the images behind features [n, C, 14, 14] (paths), trains a new image decoder on them
 * with a progress line, and gives it to the model with its training summary. */
gboolean cli_add_decoder (UadModel *model, UadNormalization norm, const UadTensor *features,
                          const char *const *paths, int n, const UadDecoderTrainOptions *opts,
                          GError **error);
