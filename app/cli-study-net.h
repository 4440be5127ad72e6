/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-net.h: one reconstruction network of the studies that compare networks (`uniad
 * study shortcut`, `unified`, `ablation`): a recipe's transformer (uad-transformer.h) or a
 * baseline (uad-baseline.h), with its AdamW optimizer and random generator, trained on cached
 * backbone features and scored with the paper's map (the L2 norm of the residual) and max
 * score. Its whole training state can be saved and loaded, so a stopped study resumes bit for
 * bit. */
#pragma once

#include "uad-baseline.h"
#include "uad-tensor.h"

#include <glib.h>

/* A kind of network the study trains. */
typedef struct {
  const char *name;   /* the model column of the study's tables */
  const char *recipe; /* a recipe (with settings, uad-recipe.h) whose transformer it is, or
                         NULL for a baseline */
  UadBaselineKind baseline;
} CliStudyContender;

typedef struct CliStudyNet CliStudyNet;

/* Where the training loop is: saved with the network. */
typedef struct {
  int epoch;        /* epochs done */
  int position;     /* images of the next epoch's order already trained on */
  double loss_sum;  /* the next epoch's summed step losses so far */
  int steps;        /* and its steps */
  double seconds;   /* training time so far */
  int evaluations;  /* checkpoints evaluated so far */
  gboolean done;
} CliStudyNetState;

/* A network for channels C, batches up to batch, initialised from seed. */
CliStudyNet *cli_study_net_new (const CliStudyContender *contender, int channels, int batch,
                                guint64 seed, GError **error);
void cli_study_net_free (CliStudyNet *net);

/* One training step on features [n, C, 14, 14] (n <= batch): MSE, gradient norm clipped to
 * clip, AdamW at lr. Returns the loss. */
double cli_study_net_step (CliStudyNet *net, const float *features, int n, double lr, double clip);

/* Scores [count] and maps [count, MAP, MAP] (uad-anomaly-map.h) of images first.. of features. */
void cli_study_net_score (CliStudyNet *net, const UadTensor *features, int first, int count,
                          double *scores, float *maps);

/* Writes the parameters, optimizer, generator and state to path, atomically; the state alone
 * when it is done. */
gboolean cli_study_net_save (const CliStudyNet *net, const CliStudyNetState *state, const char *path,
                             GError **error);
/* Reads what cli_study_net_save wrote (net may be NULL to read the state alone; it must be
 * when the state is done). */
gboolean cli_study_net_load (CliStudyNet *net, CliStudyNetState *state, const char *path,
                             GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliStudyNet, cli_study_net_free)
