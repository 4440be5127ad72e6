/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-item.h: one image of the workbench's gallery.
 *
 * What is known of the file (path, MVTec facts, size, time), the model's result once inspected
 * (score, the stored inspection, or the error that stopped it), the model's verdict (decided by
 * the session from the class's thresholds), the operator's own verdict and note (kept apart
 * from the model's) and the thumbnail while one is cached. Every property notifies only when
 * its value changes; items live on the main thread. */
#pragma once

#include <gtk/gtk.h>

#include "workbench-history.h"
#include "workbench-verdict.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_ITEM (workbench_item_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchItem, workbench_item, WORKBENCH, ITEM, GObject)

/* folder: index of the opened folder the image was found in; name: the path relative to that
 * folder (uad_image_relative_path), how the image is named on screen. path_class, defect and
 * mask_path come from an MVTec layout (NULL otherwise). */
WorkbenchItem *workbench_item_new (const char *path, guint folder, const char *name,
                                   const char *path_class, const char *defect,
                                   const char *mask_path, gint64 size, gint64 mtime);

const char *workbench_item_get_path (WorkbenchItem *self);
const char *workbench_item_get_name (WorkbenchItem *self);
guint workbench_item_get_folder (WorkbenchItem *self);
const char *workbench_item_get_path_class (WorkbenchItem *self);
const char *workbench_item_get_defect (WorkbenchItem *self);
const char *workbench_item_get_mask_path (WorkbenchItem *self);
gint64 workbench_item_get_size (WorkbenchItem *self);
gint64 workbench_item_get_mtime (WorkbenchItem *self);
/* When line mode received the image (g_get_real_time); 0 for images of opened folders. Set
 * before the item is shown: it does not notify. */
gint64 workbench_item_get_arrived (WorkbenchItem *self);
void workbench_item_set_arrived (WorkbenchItem *self, gint64 arrived);

/* The model class the image is inspected as (-1: unknown) and its name (NULL: unknown). */
int workbench_item_get_class_index (WorkbenchItem *self);
const char *workbench_item_get_class_name (WorkbenchItem *self);
void workbench_item_set_class (WorkbenchItem *self, int class_index, const char *class_name);

/* Inspected: a score and the inspection that stored it; NaN and 0 before. */
gboolean workbench_item_get_inspected (WorkbenchItem *self);
double workbench_item_get_score (WorkbenchItem *self);
gint64 workbench_item_get_inspection_id (WorkbenchItem *self);
void workbench_item_set_result (WorkbenchItem *self, double score, gint64 inspection_id);
/* Forgets the result (a new model, or a new run); the operator's verdict goes too. */
void workbench_item_reset (WorkbenchItem *self);
/* Why the image could not be inspected (NULL when it could). */
const char *workbench_item_get_error (WorkbenchItem *self);
void workbench_item_set_error (WorkbenchItem *self, const char *message);

UadVerdict workbench_item_get_model_verdict (WorkbenchItem *self);
void workbench_item_set_model_verdict (WorkbenchItem *self, UadVerdict verdict);
UadVerdict workbench_item_get_operator_verdict (WorkbenchItem *self);
const char *workbench_item_get_note (WorkbenchItem *self);
void workbench_item_set_operator_verdict (WorkbenchItem *self, UadVerdict verdict,
                                          const char *note);
/* The operator's verdict when given, else the model's. */
UadVerdict workbench_item_get_final_verdict (WorkbenchItem *self);

GdkPaintable *workbench_item_get_thumbnail (WorkbenchItem *self);
void workbench_item_set_thumbnail (WorkbenchItem *self, GdkPaintable *thumbnail);

G_END_DECLS
