/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-plot.h: the convergence plot of `uniad study convergence`: mean image AUROC and
 * mean pixel AUROC against minutes of training, one line per recipe, with reference methods
 * (PaDiM) as dashed horizontal lines; drawn with Cairo to PNG and SVG. */
#pragma once

#include <glib.h>

typedef struct {
  char *name;
  GArray *minutes, *image, *pixel; /* double, one per evaluation */
} CliStudySeries;

CliStudySeries *cli_study_series_new (const char *name);
void cli_study_series_add (CliStudySeries *s, double minutes, double image_auroc, double pixel_auroc);
void cli_study_series_free (CliStudySeries *s);

typedef struct {
  const char *name;
  double image_auroc, pixel_auroc; /* percent; pixel NaN when not measured */
} CliStudyReference;

/* Writes the plot to png_path and svg_path (x axis 0..minutes). Fails with UAD_ERROR_IO. */
gboolean cli_study_plot (const char *png_path, const char *svg_path, CliStudySeries **series,
                         int n_series, const CliStudyReference *refs, int n_refs, double minutes,
                         GError **error);
