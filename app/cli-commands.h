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
int cli_calibrate (int argc, char **argv);
int cli_train_decoder (int argc, char **argv);
int cli_study (int argc, char **argv);
/* `uniad study shortcut`, `unified` and `ablation` (cli-study-shortcut.c), which `uniad study`
 * hands its argv to. */
int cli_study_shortcut (int argc, char **argv);
int cli_study_unified (int argc, char **argv);
int cli_study_ablation (int argc, char **argv);

/* Parts of `uniad train` in their own files (it calls them; they do not call it back). */
#include "uad-dataset.h"
#include "uad-model.h"

/* `uniad train --method padim` (cli-train-padim.c): a PaDiM model (uad-padim.h) fitted on the
 * features of ds's training images (through the feature cache, as cli_extract_features), with
 * its class statistics and summary, and a progress line. */
UadModel *cli_fit_padim (UadBackbone *bb, const char *sha, const UadDataset *ds,
                         const char *cache_dir, gboolean no_disk_cache, gboolean separate,
                         GError **error);
