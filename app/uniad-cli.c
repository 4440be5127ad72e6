/* SPDX-License-Identifier: Apache-2.0 */
/* uniad-cli.c: entry point of the `uniad` command-line program; dispatches to subcommands. */
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"
#include "uad-cpu.h"

typedef int (*CommandFunc) (int argc, char **argv);

typedef struct {
  const char *name;
  CommandFunc run;
  const char *summary;
} Command;

static const Command commands[] = {
  { "train", cli_train, "Train a model on the good images of a dataset" },
  { "train-decoder", cli_train_decoder, "Add an image decoder to a model, or measure it" },
  { "infer", cli_infer, "Anomaly scores and verdicts of images" },
  { "eval", cli_eval, "Image and pixel metrics on a dataset's test split" },
  { "calibrate", cli_calibrate, "Thresholds from target error rates, written into the model" },
  { "features", cli_features, "Backbone features of an image" },
  { "classify", cli_classify, "ImageNet top classes of an image (checks backbone weights)" },
  { "check-weights", cli_check_weights, "Check that a backbone weights file loads" },
  { "bench", cli_bench, "Speed and memory benchmarks" },
  { "study", cli_study, "The paper's experiments: study convergence, shortcut, unified, ablation" },
  { NULL, NULL, NULL },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: uniad COMMAND [OPTION…]\n\nUniAD anomaly detection on the command line.\n\nCommands:\n");
  for (const Command *c = commands; c->name; c++)
    fprintf (out, "  %-14s %s\n", c->name, c->summary);
  fprintf (out, "\nRun 'uniad COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  setlocale (LC_ALL, "");
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (const Command *c = commands; c->name; c++)
    if (strcmp (argv[1], c->name) == 0)
      return c->run (argc - 1, argv + 1);
  fprintf (stderr, "uniad: unknown command '%s'\n", argv[1]);
  print_usage (stderr);
  return 2;
}
