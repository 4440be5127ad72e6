/* SPDX-License-Identifier: Apache-2.0 */
/* cli-common.h: what the `uniad` subcommands share: option parsing, backbone loading, error
 * reporting. Every command returns the process exit status: 0 success, 1 failure (message on
 * stderr), 2 bad usage. */
#pragma once

#include <glib.h>

#include "app-folders.h"
#include "uad-backbone.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* Parses argv with the entries; on --help prints and exits 0; on an error prints usage and
 * returns FALSE. `parameter` names the positional arguments ("IMAGE"). */
gboolean cli_parse (int *argc, char ***argv, const char *command, const char *parameter,
                    const char *summary, const GOptionEntry *entries);

/* The backbone options every model command takes. */
typedef struct {
  char *backbone; /* "efficientnet_b4" (default) or "mobilenet_v2" */
  char *weights;  /* file; default: the user's data dir (see uad_backbone_default_weights) */
  int threads;    /* 0 = one per core */
} CliBackboneOptions;

/* GOptionEntry rows for --backbone, --weights, --threads writing into opts. */
void cli_backbone_entries (CliBackboneOptions *opts, GOptionEntry out[4]);
void cli_backbone_options_clear (CliBackboneOptions *opts);

/* Applies --threads and loads the backbone; prints the error and returns NULL on failure. */
UadBackbone *cli_load_backbone (const CliBackboneOptions *opts);
/* The same for commands that make models or cache features: also *sha = the SHA-256 of the
 * weights file. NULL with an error (the loading error already printed) on failure. */
UadBackbone *cli_load_backbone_sha (const CliBackboneOptions *opts, char **sha, GError **error);

/* Loads IMAGE as the backbone's input [1, 3, 224, 224]; prints the error and returns NULL. */
UadTensor *cli_load_input (const UadBackbone *bb, const char *path);

/* "uniad COMMAND: message" on stderr. */
void cli_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Peak resident memory of this process in megabytes. */
double cli_peak_rss_mb (void);

#include "uad-model.h"
/* The backbone model was trained on: `weights` if given, else the file in the user's weights
 * folder whose SHA-256 the model records; checked against the model. Sets *sha to the weights'
 * SHA-256. threads > 0 applies --threads. */
UadBackbone *cli_load_model_backbone (const UadModel *model, const char *weights, int threads,
                                      char **sha, GError **error);

/* Loads a model and the backbone it was trained on: `weights` if given, else the file in the
 * user's weights folder whose SHA-256 the model records. Prints the error and returns NULL. */
#include "uad-detector.h"
UadDetector *cli_load_detector (const char *model_path, const char *weights, int threads);
