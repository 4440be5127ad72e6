/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-report.h: a run of the inspection history exported as a PDF report or a CSV table.
 *
 * The PDF (A4) has: a title page with the run's summary (dates, folders, counts by final
 * verdict), the model (file, SHA-256, backbone, classes) and the thresholds per class; a table
 * of counts per class and verdict; per class a histogram of the run's scores coloured by the
 * model's verdict, with the pass and fail thresholds drawn on it; a table of all images (name,
 * class, score, model verdict, operator verdict, note) over as many pages as it needs; then,
 * for every image the model or
 * the operator judged review or fail, a thumbnail with its anomaly map blended over it (jet,
 * uad_verdict_heatmap_max, as the workbench and `uniad infer --heatmaps`). Text is laid out by Pango, so any
 * script (Korean included) prints when a font for it is installed. An image is named by its
 * path in the run's folder that holds it (uad_image_relative_path: "test/crack/000.png"). Every
 * table's columns are as wide as their widest cell; only free text (names, notes) wraps, and
 * only when the page cannot hold it otherwise.
 *
 * The CSV (RFC 4180, UTF-8, header row) has one row per inspection: path, class, score,
 * pass_below, fail_above, model_verdict, operator_verdict, note, inspected_at, reviewed_at
 * (ISO 8601 UTC, empty when unset), heatmap_max (the map value at the top of its heatmap's
 * colour scale, uad_verdict_heatmap_max; 0: each map's own maximum), relative_path (the path
 * in the run's folder that holds it).
 *
 * Both are made in memory, then written to a temporary file in the target's folder and renamed
 * over path only when complete, so an error (unwritable folder, path is a directory, disk full, cancelled) leaves
 * neither a partial file under path nor the temporary file. Errors are UAD_ERROR_IO naming
 * the path (G_IO_ERROR_CANCELLED when cancelled); an image that cannot be read for its
 * thumbnail gets a note in its place, not a failure. */
#pragma once

#include <gio/gio.h>

#include "workbench-history.h"

gboolean uad_report_write_pdf (UadHistory *history, gint64 run_id, const char *path,
                               GCancellable *cancellable, GError **error);
gboolean uad_report_write_csv (UadHistory *history, gint64 run_id, const char *path,
                               GCancellable *cancellable, GError **error);
