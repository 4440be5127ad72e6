/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-report.h: the results of a study of networks (cli-study-nets.h), from its rows:
 *
 *   NAME-table.csv, NAME-table.md  class by class and their mean, for each model and training
 *                (unified and/or separate), the image and pixel AUROC of the last checkpoint
 *                (an empty CSV field, "-" in Markdown, where not measured); printed as well
 *   NAME.png, NAME.svg  the unified networks' curves: mean image AUROC, mean pixel AUROC and
 *                training loss against each network's minutes of training (with --minutes)
 *                or its epochs (with --epochs)
 *
 * and in study.json's summary, "table": {model: {training: {"image_auroc", "pixel_auroc"}}}
 * (the means) and "curves": {model: {"peak_epoch", "peak_image_auroc", "last_epoch",
 * "last_image_auroc", "first_loss", "last_loss"}} of the unified networks, from which one reads
 * whether a network's AUROC peaked and fell while its loss kept falling. */
#pragma once

#include "cli-study-nets.h"

gboolean cli_study_report (const CliNetStudy *study, const CliNetStudyResult *r, GString *summary,
                           GError **error);
