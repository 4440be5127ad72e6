/* SPDX-License-Identifier: Apache-2.0 */
/* cli-study-shortcut.c: the paper's studies that compare networks, each one command of
 * cli-study-nets.h with the report of cli-study-report.h:
 *
 *   `uniad study shortcut`: the identical-shortcut experiment. UniAD's transformer (the fast
 *     recipe's), a plain transformer (the same without neighbour mask, layer-wise queries and
 *     jitter), and the MLP and CNN of uad-baseline.h; unified or, with --separate, one network
 *     per class. The curves show whether a network's loss keeps falling while its AUROC peaks
 *     and falls (it learns to copy anomalies too).
 *   `uniad study unified`: the same four networks trained both ways, the table side by side:
 *     the paper's claim is that UniAD loses almost nothing unified while the others do.
 *   `uniad study ablation`: UniAD's transformer by default and with each of its defences
 *     against the shortcut off (neighbour mask, layer-wise queries, feature jitter) and with
 *     all three off, unified. */
#include "cli-commands.h"
#include "cli-study-nets.h"
#include "cli-study-report.h"

#include "uad-recipe.h"

#define R UAD_RECIPE_DEFAULT

static const CliStudyContender networks[] = {
  { "UniAD", R, 0 },
  { "Transformer", R ":mask=0:queries=0:jitter=0", 0 },
  { "MLP", NULL, UAD_BASELINE_MLP },
  { "CNN", NULL, UAD_BASELINE_CNN },
};

static const CliStudyContender ablations[] = {
  { "default", R, 0 },
  { "mask=0", R ":mask=0", 0 },
  { "queries=0", R ":queries=0", 0 },
  { "jitter=0", R ":jitter=0", 0 },
  { "all-off", R ":mask=0:queries=0:jitter=0", 0 },
};

int
cli_study_shortcut (int argc, char **argv)
{
  static const CliNetStudy study = {
    "shortcut", "the identical-shortcut study: UniAD against reconstruction baselines",
    networks, G_N_ELEMENTS (networks), 0,
  };
  return cli_net_study_main (argc, argv, &study, cli_study_report);
}

int
cli_study_unified (int argc, char **argv)
{
  static const CliNetStudy study = {
    "unified", "unified against separate: the shortcut study's networks trained both ways",
    networks, G_N_ELEMENTS (networks), CLI_NET_STUDY_UNIFIED | CLI_NET_STUDY_SEPARATE,
  };
  return cli_net_study_main (argc, argv, &study, cli_study_report);
}

int
cli_study_ablation (int argc, char **argv)
{
  static const CliNetStudy study = {
    "ablation", "UniAD with each defence against the shortcut off (mask, queries, jitter)",
    ablations, G_N_ELEMENTS (ablations), CLI_NET_STUDY_UNIFIED,
  };
  return cli_net_study_main (argc, argv, &study, cli_study_report);
}
