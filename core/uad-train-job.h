/* SPDX-License-Identifier: Apache-2.0 */
/* uad-train-job.h: a whole UniAD training run, as `uniad train` and the workbench's New Model
 * dialog both run it.
 *
 * The dataset's good images -> their backbone features (through the feature cache) -> a model
 * of the recipe (or a finished model trained further) -> its transformer trained for epochs or
 * until a deadline, with a checkpoint in OUT.checkpoint and an optional held-out validation ->
 * the model saved -> an image decoder trained in what is left of the deadline -> the model
 * saved again. Plain C and GLib; it runs in the calling thread (the workbench calls it on a
 * worker).
 *
 * One monitor sees every phase: progress after each image or step (returning FALSE stops the
 * job with UAD_ERROR_CANCELLED; a stopped transformer writes its checkpoint, from which a job
 * with resume set goes on), and log lines (phase summaries and remarks such as validation
 * estimates). Pausing is stopping and resuming later; cancelling is stopping and deleting the
 * checkpoint: the caller decides. */
#pragma once

#include "uad-backbone.h"
#include "uad-dataset.h"
#include "uad-decoder.h"
#include "uad-recipe.h"

typedef enum {
  UAD_TRAIN_PHASE_FEATURES,        /* backbone features of the training images */
  UAD_TRAIN_PHASE_TRANSFORMER,     /* the transformer(s), with validation */
  UAD_TRAIN_PHASE_DECODER_TARGETS, /* the images the decoder learns to draw */
  UAD_TRAIN_PHASE_DECODER,         /* the image decoder */
} UadTrainPhase;

typedef struct {
  UadTrainPhase phase;
  int done, total;                         /* FEATURES, DECODER_TARGETS: images */
  const UadTrainProgress *transformer;     /* TRANSFORMER, else NULL */
  const UadDecoderTrainProgress *decoder;  /* DECODER, else NULL */
  double validation;                       /* TRANSFORMER: latest estimate, or NaN */
  /* The same for any phase: */
  double fraction;                         /* of the phase, 0..1 */
  double loss;                             /* the running loss of the epoch, or NaN */
  double images_per_second;
  double seconds_left;                     /* until the deadline, else the phase's estimate */
} UadTrainJobProgress;

typedef struct {
  /* After each image or step; FALSE stops the job. May be NULL. */
  gboolean (*progress) (const UadTrainJobProgress *progress, void *user_data);
  /* A line for the log: a phase's summary (phase_done) or a remark during it. May be NULL. */
  void (*log) (UadTrainPhase phase, gboolean phase_done, const char *line, void *user_data);
  void *user_data;
} UadTrainJobMonitor;

typedef struct {
  UadRecipe recipe;           /* recipe.train.epochs counts when there is no deadline */
  const char *recipe_label;   /* recorded as the model's recipe; NULL: recipe.name */
  UadDecoderTrainOptions decoder; /* its epochs count when there is no deadline */
  gint64 deadline;            /* g_get_monotonic_time () at which the job ends, or 0 */
  gboolean separate;          /* one transformer per class (a new model) */
  gboolean train_decoder;
  gboolean resume;            /* from OUT.checkpoint; else that file must not exist */
  const char *resume_hint;    /* how the user resumes, for messages ("--resume") */
  double validation;          /* share of the images held out; NaN: the recipe's */
  gboolean until_plateau;     /* stop a transformer whose validation estimate stalls */
  const char *cache_dir;      /* feature cache folder; NULL: memory only */
  const char *out;            /* the model file */
} UadTrainJobOptions;

/* The recipe `name` ("fast:lr=1e-3", ...; NULL: the default) with the decoder's defaults, the
 * recipe's validation share, no deadline and the recipe's epochs. */
gboolean uad_train_job_options_init (UadTrainJobOptions *opts, const char *name, GError **error);

/* Runs the job on ds's training images with backbone bb (weights SHA-256 sha), for a new model
 * or to train `continued` further (taken; its classes must be ds's). Returns the saved model;
 * NULL with an error (UAD_ERROR_CANCELLED when the monitor stopped it). When the decoder
 * fails, the model is saved without one and the message says so. */
UadModel *uad_train_job_run (const UadTrainJobOptions *opts, UadBackbone *bb, const char *sha,
                             const UadDataset *ds, UadModel *continued,
                             const UadTrainJobMonitor *monitor, GError **error);

/* Saves model to out; then deletes OUT.checkpoint when drop_checkpoint. When the save fails
 * and the checkpoint exists, the message says the training is kept there. */
gboolean uad_train_job_save (UadModel *model, const char *out, gboolean drop_checkpoint,
                             const char *resume_hint, GError **error);

/* Every class's training images in class order, NULL-terminated, with class_of[n]. */
char **uad_train_job_images (const UadDataset *ds, int **class_of, int *n);

/* Backbone features [n, C, 14, 14] of paths through the feature cache (cache_dir, or memory
 * only when NULL), as the FEATURES phase. */
UadTensor *uad_train_job_features (UadBackbone *bb, const char *sha, const char *cache_dir,
                                   const char *const *paths, int n,
                                   const UadTrainJobMonitor *monitor, GError **error);

/* A new model of the recipe's transformer for the classes (one transformer, or one per class
 * when separate), with the recipe's standardisation fitted on train [n, C, 14, 14]. */
UadModel *uad_train_job_new_model (const UadRecipe *recipe, UadBackboneKind kind,
                                   const char *sha, const UadTensor *train, gboolean separate,
                                   const char *const *class_names, int n_classes, GError **error);

/* Trains a new image decoder for model on its standardised features of paths (the
 * DECODER_TARGETS and DECODER phases) until deadline (or opts' epochs when 0), and sets it. */
gboolean uad_train_job_add_decoder (UadModel *model, UadNormalization norm,
                                    const UadTensor *features, const char *const *paths, int n,
                                    const UadDecoderTrainOptions *opts, gint64 deadline,
                                    const UadTrainJobMonitor *monitor, GError **error);

/* A dataset of class folders: class k is names[k] with the images under folders[k] (searched
 * recursively) as its training images, without test images. Fails when a folder has no image
 * or two classes share a name. */
UadDataset *uad_train_job_dataset_from_folders (const char *const *names,
                                                const char *const *folders, int n,
                                                GError **error);
