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
