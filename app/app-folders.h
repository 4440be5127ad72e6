/* SPDX-License-Identifier: Apache-2.0 */
/* app-folders.h: where the `uniad` command and the workbench keep their files on a user's
 * machine. The core takes these folders as arguments and knows none of them. */
#pragma once

#include "uad-backbone.h"

/* $XDG_DATA_HOME/uniad-workbench/weights: backbone weights (scripts/fetch-weights puts them
 * there); not created here. */
char *app_weights_dir (void);
/* The conventional file of a backbone's weights in app_weights_dir () (may not exist). */
char *app_weights_default_path (UadBackboneKind kind);
/* $XDG_DATA_HOME/uniad-workbench/history.sqlite3: the workbench's inspection history. */
char *app_history_default_path (void);
/* $XDG_CACHE_HOME/uniad-workbench/features: backbone features of training images, kept across
 * runs (uad-feature-cache.h); created when needed. */
char *app_feature_cache_dir (void);
