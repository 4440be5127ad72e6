/* SPDX-License-Identifier: Apache-2.0 */
/* uad-trainer.h: training UniAD's transformer on cached backbone features (spec section 6).
 *
 * Input is the features of every training image and its class. Unified mode trains one
 * transformer on all of them; separate mode trains one per class, one after the other. Each
 * epoch visits the images of a transformer in a fresh order drawn from (seed, epoch), in
 * batches (the last one may be smaller), with feature jittering and dropout from a seeded
 * generator, MSE loss, gradient-norm clipping, AdamW and the step schedule.
 *
 * Everything that decides the next step (parameters, optimizer moments, generator state, model,
 * epoch and step, the epoch's running loss) goes into a checkpoint, so a run stopped at any step
 * and resumed from its checkpoint ends bit for bit where an uninterrupted run would. */
#pragma once

#include "uad-model.h"

typedef struct {
  int epochs;           /* 1000 */
  int batch;            /* 8 */
  double lr;            /* 1e-4 */
  double weight_decay;  /* 1e-4 */
  double beta1, beta2;  /* 0.9, 0.999 */
  double clip;          /* 0.1 (gradient norm) */
  int lr_step;          /* 800: lr *= lr_gamma every lr_step epochs */
  double lr_gamma;      /* 0.1 */
  guint64 seed;         /* initialisation, order, jitter and dropout */
  int checkpoint_every; /* epochs between automatic checkpoints (0 = only when stopped) */
} UadTrainOptions;

/* The spec's recipe. */
void uad_train_options_default (UadTrainOptions *opts);

typedef struct {
  int model_index, n_models;  /* which transformer (separate mode: class) */
  int epoch, epochs;          /* epoch in progress, 0-based */
  int step, steps_per_epoch;  /* steps done in this epoch */
  double epoch_loss;          /* mean loss of the steps done so far in this epoch */
  double last_epoch_loss;     /* mean loss of the previous finished epoch (NaN before) */
  double images_per_second;
  double eta_seconds;
} UadTrainProgress;

/* Called after every step; return FALSE to stop (the trainer then writes its checkpoint). */
typedef gboolean (*UadTrainProgressFunc) (const UadTrainProgress *progress, void *user_data);

typedef struct UadTrainer UadTrainer;

/* features [n, C, 14, 14] with class_of[n] in 0..model->n_classes-1. The trainer borrows
 * model (whose transformers it trains), features and class_of. checkpoint_path may be NULL. */
UadTrainer *uad_trainer_new (UadModel *model, const UadTensor *features, const int *class_of,
                             const UadTrainOptions *opts, const char *checkpoint_path);
void uad_trainer_free (UadTrainer *trainer);

/* Fresh start: initialises the transformers from the seed. */
void uad_trainer_init_weights (UadTrainer *trainer);
/* Continues from checkpoint_path; fails when it belongs to other data or other options. */
gboolean uad_trainer_resume (UadTrainer *trainer, GError **error);

/* Trains to the last epoch. Returns FALSE with UAD_ERROR_CANCELLED after writing the
 * checkpoint when progress asked to stop, or with an I/O error when a checkpoint cannot be
 * written. On success fills model->training and the per-class score statistics. */
gboolean uad_trainer_run (UadTrainer *trainer, UadTrainProgressFunc progress, void *user_data,
                          GError **error);

/* Writes the checkpoint now. */
gboolean uad_trainer_save_checkpoint (UadTrainer *trainer, GError **error);

/* Image scores of features [n, C, 14, 14] under the model (class_of picks the transformer in
 * separate mode), into scores[n]. Runs the transformer only: the backbone is not needed. */
void uad_model_score_features (UadModel *model, const UadTensor *features, const int *class_of,
                               double *scores);
