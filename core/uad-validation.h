/* SPDX-License-Identifier: Apache-2.0 */
/* uad-validation.h: an estimate of image AUROC from good images alone.
 *
 * Most users have no defective images to validate with. A share of each class's training
 * images is held out from training; each held-out image gives a normal example, and a synthetic
 * anomaly: its features with a square block of positions (2 to 4 grid cells a side, 32 to 64
 * pixels of the input) replaced by the features of another held-out image at another place, as
 * a patch pasted where it does not belong. The estimate is the image AUROC of normal against
 * synthetic, per class, averaged over classes. It ranks models and shows when training stops
 * improving; it is not the AUROC on real defects (`uniad study convergence` shows how the two
 * track each other). */
#pragma once

#include "uad-model.h"

typedef struct UadValidation UadValidation;

/* Holds out `share` (0 < share < 1) of each class's images of features [n, C, 14, 14]
 * (class_of[n] in 0..n_classes-1), at least 1, at most 200 and at most half per class, none
 * from a class of fewer than 10 images; the choice and the synthetic anomalies follow seed. Fails (UAD_ERROR_INVALID) when no
 * class can spare images. */
UadValidation *uad_validation_new (const UadTensor *features, const int *class_of, int n_classes,
                                   double share, guint64 seed, GError **error);
void uad_validation_free (UadValidation *v);

/* The images left to train on: features [m, C, 14, 14] (owned by v; the caller may change
 * them in place, e.g. standardise them) and their classes [m]. */
UadTensor *uad_validation_get_train_features (UadValidation *v);
const int *uad_validation_get_train_classes (const UadValidation *v);
int uad_validation_get_held_out (const UadValidation *v);

/* Estimated image AUROC in percent under model (raw features in, as the model's scorer takes
 * them), averaged over the classes with held-out images, or only over class only_class when
 * it is >= 0 (separate mode: the class whose transformer is training). NaN when none. */
double uad_validation_estimate (const UadValidation *v, UadModel *model, int only_class);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadValidation, uad_validation_free)
