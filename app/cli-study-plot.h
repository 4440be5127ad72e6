/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-plot.h: the plots of the studies: mean image AUROC, mean pixel AUROC and the
 * training loss against minutes of training (or epochs, for a study of networks run with
 * --epochs), one line per recipe or network, with reference methods (PaDiM) as dashed
 * horizontal lines on the AUROC panels; drawn with Cairo to PNG and SVG. */
#pragma once

#include <glib.h>

typedef struct {
  char *name;
  GArray *minutes, *image, *pixel, *loss; /* double, one per evaluation; "minutes" is the x
                                             value (epochs in the shortcut study) */
} CliStudySeries;

CliStudySeries *cli_study_series_new (const char *name);
void cli_study_series_add (CliStudySeries *s, double minutes, double image_auroc, double pixel_auroc,
                           double loss);
void cli_study_series_free (CliStudySeries *s);

typedef struct {
  const char *name;
  double image_auroc, pixel_auroc; /* percent; pixel NaN when not measured */
} CliStudyReference;

/* Writes the plot to png_path and svg_path (x axis 0..minutes, labelled x_label). Fails with
 * UAD_ERROR_IO. */
gboolean cli_study_plot (const char *png_path, const char *svg_path, CliStudySeries **series,
                         int n_series, const CliStudyReference *refs, int n_refs, double minutes,
                         const char *x_label, GError **error);
