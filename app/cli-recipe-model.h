/* SPDX-License-Identifier: Apache-2.0 */
/* cli-recipe-model.h: training a recipe's UniAD model (made by uad_train_job_new_model) on
 * backbone features already extracted, for the commands that train as a step of a larger job
 * (the studies, `uniad eval --protocol semantic`). */
#pragma once

#include "uad-recipe.h"

/* Trains model from its seed's initialisation on train with class_of, as opts say (epochs or
 * a time budget), with a progress bar that starts with `label` and shows the loss and the time
 * left; Ctrl-C stops it with UAD_ERROR_CANCELLED. No checkpoint is written. */
gboolean cli_recipe_model_train (UadModel *model, const UadTensor *train, const int *class_of,
                                 const UadTrainOptions *opts, const char *label, GError **error);
