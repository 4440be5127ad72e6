/* SPDX-License-Identifier: Apache-2.0 */
/* uad-weights.h: where backbone weights live on a user's machine and how they are identified.
 *
 * Downloaded weights go to $XDG_DATA_HOME/uniad-workbench/weights (scripts/fetch-weights).
 * A model file records the SHA-256 of the weights it was trained with, so the right file can
 * be found again and a wrong one refused. */
#pragma once

#include "uad-backbone.h"

/* $XDG_DATA_HOME/uniad-workbench/weights (not created here). */
char *uad_weights_dir (void);
/* The conventional file for a backbone in that folder (may not exist). */
char *uad_weights_default_path (UadBackboneKind kind);
/* Lower-case hex SHA-256 of a file's contents, read in blocks. */
char *uad_weights_sha256 (const char *path, GError **error);
/* The first *.safetensors file in `folder` whose SHA-256 is `sha256`, or NULL with an error. */
char *uad_weights_find (const char *folder, const char *sha256, GError **error);
