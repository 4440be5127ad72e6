/* SPDX-License-Identifier: Apache-2.0 */
/* uad-recipe.h: named training recipes for UniAD's transformer.
 *
 * A recipe is everything about training that is not the data: the optimiser and its schedule
 * (UadTrainOptions), whether features are standardised per channel before the transformer
 * sees them, and the default length of a run. "official" is the paper's recipe exactly (1,000
 * epochs, step schedule); the default recipe was chosen by measuring time to accuracy (see
 * `uniad study convergence`); the others isolate one change each, for such studies. Every
 * recipe keeps UniAD itself: neighbour-masked encoder, layer-wise queries, feature jittering,
 * unless a setting ablates one. */
#pragma once

#include "uad-trainer.h"

#define UAD_RECIPE_DEFAULT "fast"

typedef struct {
  const char *name;
  const char *summary;          /* one line, for --help and study legends */
  UadTrainOptions train;
  gboolean standardize;         /* per-channel feature standardisation from the training set */
  double validation_share;      /* training images held out for uad-validation.h, or 0 */
  int layers;                   /* encoder and decoder layers each, or 0 for the paper's 4 */
  double jitter_scale;          /* feature jitter scale, or < 0 for the paper's 20 */
  int neighbour;                /* neighbour-mask size (odd), 0 for no mask, < 0 for the paper's 7 */
  gboolean single_query;        /* the ablation of layer-wise queries (UadTransformerConfig) */
  double default_minutes;       /* the run's length when not given: a time budget, or ... */
  int default_epochs;           /* ... epochs when default_minutes is 0 */
} UadRecipe;

/* Fills recipe with the recipe called name, changed by the settings that may follow it, as in
 * "fast:lr=1e-3:batch=16" (lr, batch, warmup, layers, jitter, standardize=0|1, balanced=0|1, bf16=0|1,
 * distance=l2|mahalanobis|class-mahalanobis (uad-residual.h), and the paper's ablations: jitter=0,
 * mask=N (an odd neighbour-mask size, 0 for none), queries=0|1 (layer-wise queries): for studies
 * of one setting);
 * fails with UAD_ERROR_INVALID naming the known recipes, or the bad setting. */
gboolean uad_recipe_lookup (const char *name, UadRecipe *recipe, GError **error);

/* Changes recipe by one "key=value" setting of those uad_recipe_lookup takes, as the
 * command line's ablation flags do; fails with UAD_ERROR_INVALID naming the bad setting. */
gboolean uad_recipe_set (UadRecipe *recipe, const char *setting, GError **error);

/* The transformer a new model gets under the recipe, for features of `channels` channels. */
void uad_recipe_transformer_config (const UadRecipe *recipe, int channels, UadTransformerConfig *cfg);

/* The recipes' names, NULL-terminated, default first. */
const char *const *uad_recipe_names (void);
