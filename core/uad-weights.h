/* SPDX-License-Identifier: Apache-2.0 */
/* uad-weights.h: how backbone weights files are named and identified.
 *
 * A model file records the SHA-256 of the weights it was trained with, so the right file can
 * be found again in a folder (the application says which) and a wrong one refused. */
#pragma once

#include "uad-backbone.h"

/* The conventional file name of a backbone's weights (as scripts/fetch-weights saves them). */
const char *uad_weights_file_name (UadBackboneKind kind);
/* Lower-case hex SHA-256 of a file's contents, read in blocks. */
char *uad_weights_sha256 (const char *path, GError **error);
/* The first *.safetensors file in `folder` whose SHA-256 is `sha256`, or NULL with an error. */
char *uad_weights_find (const char *folder, const char *sha256, GError **error);
