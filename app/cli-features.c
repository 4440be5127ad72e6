/* SPDX-License-Identifier: Apache-2.0 */
/* cli-features.c: `uniad features IMAGE`: the neck features of one image, printed as a summary
 * or saved as safetensors. */
#include "cli-commands.h"
#include "cli-common.h"

#include "uad-safetensors.h"

#include <math.h>
#include <stdio.h>

static void
print_summary (const UadTensor *f)
{
  int64_t n = uad_tensor_numel (f);
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    {
      double v = f->data[i];
      sum += v, sq += v * v;
      lo = fmin (lo, v), hi = fmax (hi, v);
    }
  double mean = sum / n;
  g_autofree char *shape = uad_tensor_shape_string (f);
  printf ("features %s  mean %.5f  std %.5f  min %.5f  max %.5f\n", shape, mean,
          sqrt (fmax (sq / n - mean * mean, 0)), lo, hi);
}

static gboolean
save_features (const UadBackbone *bb, const UadTensor *features, const char *image, const char *out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  uad_safetensors_writer_add_metadata (w, "backbone", uad_backbone_kind_name (uad_backbone_get_kind (bb)));
  uad_safetensors_writer_add_metadata (w, "image", image);
  uad_safetensors_writer_add_tensor (w, "features", features);
  if (!uad_safetensors_writer_save (w, out, &error))
    {
      cli_error ("features", "%s", error->message);
      return FALSE;
    }
  printf ("saved %s\n", out);
  return TRUE;
}

static int
run_features (const CliBackboneOptions *bo, const char *image, const char *out)
{
  UadBackbone *bb = cli_load_backbone (bo);
  if (bb == NULL)
    return CLI_EXIT_FAILURE;
  int status = CLI_EXIT_FAILURE;
  g_autoptr (UadTensor) input = cli_load_input (bb, image);
  if (input != NULL)
    {
      g_autoptr (UadTensor) features = uad_tensor_new_4d (1, uad_backbone_get_feature_channels (bb), 14, 14);
      uad_backbone_extract (bb, input, features);
      print_summary (features);
      status = out == NULL || save_features (bb, features, image, out) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
  uad_backbone_free (bb);
  return status;
}

int
cli_features (int argc, char **argv)
{
  CliBackboneOptions bo = { 0 };
  g_autofree char *out = NULL;
  GOptionEntry entries[6];
  cli_backbone_entries (&bo, entries);
  entries[3] = (GOptionEntry) { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
                                "Save the features [1, C, 14, 14] as safetensors", "FILE" };
  entries[4] = (GOptionEntry) { NULL };
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "features", "IMAGE", "UniAD backbone features of an image", entries))
    ;
  else if (argc != 2)
    cli_error ("features", "give exactly one IMAGE (see 'uniad features --help')");
  else
    status = run_features (&bo, argv[1], out);
  cli_backbone_options_clear (&bo);
  return status;
}
