/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-class-row.h: the threshold controls of one class: sliders for pass below, fail
 * above and the defect-pixel level, bound both ways to the class's properties (so a slider
 * re-labels the images at once), its fail/review/pass counts, and who set the thresholds when.
 * The sliders are named "pass-below", "fail-above" and "pixel"; the row is named after its
 * class. */
#pragma once

#include <adwaita.h>

#include <gtk/gtk.h>

#include "workbench-class.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_CLASS_ROW (workbench_class_row_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchClassRow, workbench_class_row, WORKBENCH, CLASS_ROW, AdwBin)

GtkWidget *workbench_class_row_new (WorkbenchClass *klass);

G_END_DECLS
