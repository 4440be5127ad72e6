/* SPDX-License-Identifier: Apache-2.0 */
/* cli-check-weights.c: `uniad check-weights FILE`: does a weights file load as the backbone?
 * Used by scripts/fetch-weights before a download is moved into place. */
#include "cli-commands.h"
#include "cli-common.h"

#include <stdio.h>

int
cli_check_weights (int argc, char **argv)
{
  CliBackboneOptions bo = { 0 };
  GOptionEntry entries[4];
  cli_backbone_entries (&bo, entries);
  entries[1] = entries[3]; /* the file is the positional argument, not --weights */
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "check-weights", "FILE", "check that a weights file loads", entries))
    goto done;
  if (argc != 2)
    {
      cli_error ("check-weights", "give exactly one FILE (see 'uniad check-weights --help')");
      goto done;
    }
  bo.weights = g_strdup (argv[1]);
  UadBackbone *bb = cli_load_backbone (&bo);
  status = CLI_EXIT_FAILURE;
  if (bb != NULL)
    {
      printf ("%s: %s weights, %d feature channels, %s\n", argv[1],
              uad_backbone_kind_name (uad_backbone_get_kind (bb)),
              uad_backbone_get_feature_channels (bb),
              uad_backbone_has_classifier (bb) ? "with ImageNet classifier" : "feature blocks only");
      uad_backbone_free (bb);
      status = CLI_EXIT_OK;
    }
done:
  cli_backbone_options_clear (&bo);
  return status;
}
