/* SPDX-License-Identifier: Apache-2.0 */
/* cli-recipe-model.h: a UniAD model made and trained by a recipe (uad-recipe.h) on backbone
 * features already extracted, for the commands that train as a step of a larger job
 * (`uniad train`, the studies, `uniad eval --protocol semantic`). */
#pragma once

#include "uad-recipe.h"

/* A new model of the recipe's transformer for the n_classes classes (one transformer, or one
 * per class when separate), with the recipe's standardisation fitted on train [n, C, 14, 14]. */
UadModel *cli_recipe_model_new (const UadRecipe *recipe, UadBackboneKind kind, const char *sha,
                                const UadTensor *train, gboolean separate,
                                const char *const *class_names, int n_classes, GError **error);

/* Trains model from its seed's initialisation on train with class_of, as opts say (epochs or
 * a time budget), with a progress bar that starts with `label` and shows the loss and the time
 * left; Ctrl-C stops it with UAD_ERROR_CANCELLED. No checkpoint is written. */
gboolean cli_recipe_model_train (UadModel *model, const UadTensor *train, const int *class_of,
                                 const UadTrainOptions *opts, const char *label, GError **error);
