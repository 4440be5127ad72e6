/* SPDX-License-Identifier: Apache-2.0 */
/* uad-csv.h: writing CSV as RFC 4180 has it, for the CLI's and the workbench's exports.
 *
 * Fields are UTF-8 text; one is quoted when it holds a comma, a quote or a line break, with its
 * quotes doubled; records end in CRLF. */
#pragma once

#include <glib.h>

/* Appends text (NULL: an empty field) and then "," or, when last, "\r\n". */
void uad_csv_append_field (GString *out, const char *text, gboolean last);

/* The same for a file path in the file system's encoding: written as UTF-8, with any byte that
 * is not valid UTF-8 shown as U+FFFD. */
void uad_csv_append_path (GString *out, const char *path, gboolean last);
