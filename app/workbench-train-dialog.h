/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-train-dialog.h: the New Model window: a UniAD model trained from folders of good
 * images, within a time budget, by the core's training job (uad-train-job.h) on a worker.
 *
 * The setup page takes the backbone weights (those in the user's weights folder, those of the
 * open model, which the session found by their SHA-256, or a file chosen; the backbone is
 * recognised from the file and the model records its SHA-256, by which the workbench finds the
 * weights again), folders of good images (one per class, or an MVTec
 * root for its classes' train/good), one transformer for all classes or one per class, the
 * recipe (`fast`, the default, or the paper's `official`), the budget in minutes (feature
 * extraction and the image decoder inside it) and the model file. The training page shows the phase, the budget spent, a live
 * loss curve, the loss, images per second and time left. Pause stops the transformer at a
 * checkpoint (only it has one; once it is done the run goes on to the end) and Resume goes on
 * from it with the budget left; Cancel stops and deletes what the run wrote; closing the
 * window cancels. The finished model is opened in the
 * session, which records it in the history. */
#pragma once

#include <adwaita.h>

#include "workbench-session.h"

G_BEGIN_DECLS

typedef enum {
  WORKBENCH_TRAIN_SETUP,    /* choosing what to train */
  WORKBENCH_TRAIN_RUNNING,
  WORKBENCH_TRAIN_PAUSED,   /* at a checkpoint, waiting for Resume */
  WORKBENCH_TRAIN_DONE,     /* saved and opened */
  WORKBENCH_TRAIN_STOPPED,  /* cancelled or failed (the log says which) */
} WorkbenchTrainState;

#define WORKBENCH_TYPE_TRAIN_DIALOG (workbench_train_dialog_get_type ())
G_DECLARE_FINAL_TYPE (WorkbenchTrainDialog, workbench_train_dialog, WORKBENCH, TRAIN_DIALOG,
                      AdwWindow)

WorkbenchTrainDialog *workbench_train_dialog_new (GtkWindow *parent, WorkbenchSession *session);

/* What the Add Folders button does with each folder chosen: an MVTec root adds its classes
 * (their train/good folders), an MVTec class folder its train/good, any other folder one class
 * named after it. A class of the same name is replaced. FALSE when path is no folder. */
gboolean workbench_train_dialog_add_folder (WorkbenchTrainDialog *self, const char *path);
/* The model file to write (by default a new file in the user's data folder). */
void workbench_train_dialog_set_output (WorkbenchTrainDialog *self, const char *path);
const char *workbench_train_dialog_get_output (WorkbenchTrainDialog *self);

WorkbenchTrainState workbench_train_dialog_get_state (WorkbenchTrainDialog *self);

G_END_DECLS
