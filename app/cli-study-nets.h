/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-nets.h: the studies that train networks side by side (`uniad study shortcut`,
 * `unified`, `ablation`): the options they share, and the run. Every network trains on the
 * same cached features of a dataset's good images with the same loop (a seeded shuffle of its
 * images each epoch, batches, MSE, gradient-norm clipping, AdamW at one learning rate), for
 * --epochs or until its share of --minutes is spent. --minutes is the whole study's training
 * time (evaluations not counted), shared equally by its model kinds (each contender, unified
 * and separate); unified, one network for every class takes all of its kind's share;
 * separate, one network per class takes the class's share of the images of it, so that both
 * train about as many epochs. Every --every epochs (or, with --checkpoints N, N times spread
 * over its time, for networks whose epochs take very different times) and at its end each
 * network is evaluated on the test split. The rows go to the --out folder (cli-study-out.h):
 *
 *   NAME.csv     model,classes,epoch,minutes,loss,image_auroc,pixel_auroc: one row per network
 *                (classes: "all", or the class it trained on) per checkpoint; image and pixel
 *                AUROC are the means over its classes (pixel: over those with masks)
 *   classes.csv  model,classes,class,epoch,image_auroc,pixel_auroc: the same per class
 *   state/       each network's checkpoint, written at every evaluation and when stopped
 *
 * Ctrl-C or SIGTERM stops after the current step and writes the network's checkpoint; the same
 * command with --resume continues from there, bit for bit, keeping the rows written so far. */
#pragma once

#include "cli-common.h"
#include "cli-study-csv.h"
#include "cli-study-net.h"
#include "cli-study-out.h"

#include "uad-dataset.h"

typedef struct {
  CliBackboneOptions bo;
  char *data, *classes, *out, *cache_dir;
  int epochs;    /* 0: --minutes alone decides */
  int every;       /* epochs between evaluations */
  int checkpoints; /* or (with --minutes, when > 0) evaluations spread evenly over each
                      network's time: at the first epoch end past each share of it */
  int batch;
  double minutes; /* 0: --epochs alone decides */
  double lr, clip;
  gint64 seed;
  gboolean separate, resume;
} CliNetStudyArgs;

/* Which trainings a study runs. */
#define CLI_NET_STUDY_UNIFIED 1
#define CLI_NET_STUDY_SEPARATE 2

typedef struct {
  const char *name;                     /* the command and NAME.csv */
  const char *summary;                  /* for --help */
  const CliStudyContender *contenders;
  int n_contenders;
  int modes;                            /* CLI_NET_STUDY_*; --separate (when the study takes it:
                                           modes is 0) picks one */
} CliNetStudy;

/* What a run measured, for the study's tables and plots. */
typedef struct {
  const CliNetStudyArgs *args;
  UadDataset *ds;
  CliStudyOut *out;
  CliStudyCsv *curves;  /* NAME.csv */
  CliStudyCsv *classes; /* classes.csv */
  int modes;
} CliNetStudyResult;

/* Writes the study's tables and plots from r into its folder (recording them with
 * cli_study_out_add_file) and its final numbers as the members of a JSON object into summary. */
typedef gboolean (*CliNetStudyReport) (const CliNetStudy *study, const CliNetStudyResult *r,
                                       GString *summary, GError **error);

/* The command `uniad study NAME`: parses argv, runs, reports. Returns the exit status (130
 * when stopped). */
int cli_net_study_main (int argc, char **argv, const CliNetStudy *study, CliNetStudyReport report);

/* The last checkpoint's image and pixel AUROC (NaN when not measured) of class cls under
 * `model` trained on `set` ("all" or a class name); FALSE when there is none. */
gboolean cli_net_study_last (const CliNetStudyResult *r, const char *model, const char *set,
                             const char *cls, double *image, double *pixel);
