/* SPDX-License-Identifier: Apache-2.0 */
/* uad-trainer.h: training UniAD's transformer on cached backbone features (spec section 6).
 *
 * Input is the features of every training image and its class. Unified mode trains one
 * transformer on all of them; separate mode trains one per class, one after the other. Each
 * epoch visits the images of a transformer in a fresh order drawn from (seed, epoch), in
 * batches (the last one may be smaller), with feature jittering and dropout from a seeded
 * generator, MSE loss, gradient-norm clipping, AdamW and the step schedule.
 *
 * With a time budget (opts->seconds) the run ends when its training time is spent, and the
 * cosine schedule follows the share of the budget used instead of the share of steps; in
 * separate mode each class's transformer gets a share of the budget by its image count.
 *
 * Everything that decides the next step (parameters, optimizer moments, generator state, model,
 * epoch and step, the epoch's running loss) goes into a checkpoint, so a run stopped at any step
 * and resumed from its checkpoint ends bit for bit where an uninterrupted run would. */
#pragma once

#include "uad-model.h"
#include "uad-residual.h"

typedef enum {
  UAD_LR_STEP,    /* lr * lr_gamma every lr_step epochs (the spec's) */
  UAD_LR_COSINE,  /* linear warm-up, then a half cosine to lr * final_lr_ratio at the end */
} UadLrSchedule;

typedef struct {
  int epochs;           /* 1000; ignored when seconds > 0 */
  double seconds;       /* 0, or a budget of training time that the run fills and stops at */
  gboolean budget_callbacks; /* the progress callbacks' time counts as training time (a
                                user's validation is part of the budget; a study's is not) */
  int batch;            /* 8 */
  double lr;            /* 1e-4 (the peak, with UAD_LR_COSINE) */
  double weight_decay;  /* 1e-4 */
  double beta1, beta2;  /* 0.9, 0.999 */
  double clip;          /* 0.1 (gradient norm) */
  UadLrSchedule schedule; /* UAD_LR_STEP */
  int lr_step;          /* 800: lr *= lr_gamma every lr_step epochs */
  double lr_gamma;      /* 0.1 */
  double warmup;        /* UAD_LR_COSINE: share of the run spent warming up */
  double final_lr_ratio; /* UAD_LR_COSINE: final lr / peak lr */
  gboolean balanced;    /* unified: every class fills an equal share of each epoch */
  gboolean bf16;        /* the steps' matrix products with bf16 operands (fp32 sums and
                           weights), where the CPU has AVX512_BF16 (uad-gemm.h) */
  UadResidualDistance residual; /* UAD_RESIDUAL_L2 (the paper's); else the residual
                           Gaussians are fitted on the training images at the end (uad-residual.h) */
  guint64 seed;         /* initialisation, order, jitter and dropout */
  int checkpoint_every; /* epochs between automatic checkpoints (0 = only when stopped) */
} UadTrainOptions;

/* The spec's recipe. */
void uad_train_options_default (UadTrainOptions *opts);

typedef struct {
  int model_index, n_models;  /* which transformer (separate mode: class) */
  int epoch, epochs;          /* epoch in progress, 0-based; epochs is 0 with a time budget */
  int step, steps_per_epoch;  /* steps done in this epoch */
  double epoch_loss;          /* mean loss of the steps done so far in this epoch */
  double last_epoch_loss;     /* mean loss of the previous finished epoch (NaN before) */
  double lr;                  /* of the last step */
  double fraction;            /* share of the whole run done, 0..1 */
  double seconds;             /* training time so far, across resumes (not the callbacks') */
  double images_per_second;
  double eta_seconds;
} UadTrainProgress;

/* Called after every step; return FALSE to stop (the trainer then writes its checkpoint).
 * Unless opts->budget_callbacks, time spent in it does not count as training time, so a caller
 * may evaluate the model there. */
typedef gboolean (*UadTrainProgressFunc) (const UadTrainProgress *progress, void *user_data);

typedef struct UadTrainer UadTrainer;

/* features [n, C, 14, 14] (raw: each batch is standardised as the model says) with
 * class_of[n] in 0..model->n_classes-1. The trainer borrows
 * model (whose transformers it trains), features and class_of. checkpoint_path may be NULL. */
UadTrainer *uad_trainer_new (UadModel *model, const UadTensor *features, const int *class_of,
                             const UadTrainOptions *opts, const char *checkpoint_path);
void uad_trainer_free (UadTrainer *trainer);

/* Fresh start: initialises the transformers from the seed. */
void uad_trainer_init_weights (UadTrainer *trainer);
/* Continues from checkpoint_path; fails when it belongs to other data or other options. A run
 * with a time budget keeps the checkpoint's budget, whatever opts->seconds now says. */
gboolean uad_trainer_resume (UadTrainer *trainer, GError **error);

/* Trains to the last epoch, or until the time budget is spent. Returns FALSE with UAD_ERROR_CANCELLED after writing the
 * checkpoint when progress asked to stop, or with an I/O error when a checkpoint cannot be
 * written. On success fills model->training and the per-class score statistics. */
gboolean uad_trainer_run (UadTrainer *trainer, UadTrainProgressFunc progress, void *user_data,
                          GError **error);

/* Ends the training of the transformer in progress after the current step, as if its epochs
 * or its time were done (e.g. from the progress callback, when validation stops improving);
 * the run goes on with the next transformer, if any. */
void uad_trainer_finish_model (UadTrainer *trainer);

/* The images (indices into the features) that transformer model_index sees in epoch `epoch`,
 * in order, into idx (room for as many as the features hold); returns how many. */
int uad_trainer_epoch_order (const UadTrainer *trainer, int model_index, int epoch, int *idx);

/* Writes the checkpoint now. */
gboolean uad_trainer_save_checkpoint (UadTrainer *trainer, GError **error);

/* Image scores of raw features [n, C, 14, 14] under the model (class_of picks the transformer
 * or Gaussians in separate mode), into scores[n], through uad-feature-scorer.h: the backbone is
 * not needed. */
void uad_model_score_features (UadModel *model, const UadTensor *features, const int *class_of,
                               double *scores);
