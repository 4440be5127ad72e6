/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-util.h: what every fuzz target shares.
 *
 * The readers under test take a path, not bytes, so each input is written to a file in a
 * private temporary folder (removed at exit) and the reader opens that. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer calls, defined by each fuzz-<name>.c. */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Writes data to the file `name` in the private folder and returns its path (owned by this
 * module, valid until the next call with the same name). Any other files given in
 * `stale` (NULL-terminated names, may be NULL) are removed first, so nothing one input left
 * behind (an SQLite -wal file) changes how the next one runs. Returns NULL (with a message on
 * stderr) when the file cannot be written: a full or broken /tmp is not a finding. */
const char *fuzz_write_input (const char *name, const uint8_t *data, size_t size,
                              const char *const *stale);
