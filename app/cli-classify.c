/* SPDX-License-Identifier: Apache-2.0 */
/* cli-classify.c: `uniad classify IMAGE`: the backbone's ImageNet top-k, a quick check that a
 * downloaded weights file is the network it claims to be. */
#include "cli-commands.h"
#include "cli-common.h"

#include <gio/gio.h>
#include <stdio.h>

/* Class names as the classifier numbers them: MobileNetV2 has "background" at 0, EfficientNet's
 * 1,000 classes start at the second line. */
static char **
load_labels (int n_classes)
{
  g_autoptr (GBytes) bytes = g_resources_lookup_data ("/org/uniad/Workbench/imagenet-labels.txt",
                                                      0, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  int n_lines = (int) g_strv_length (lines);
  int skip = n_lines - n_classes;
  if (skip < 0)
    return NULL;
  char **labels = g_new0 (char *, n_classes + 1);
  for (int i = 0; i < n_classes; i++)
    labels[i] = g_strdup (lines[skip + i]);
  return labels;
}

static void
print_top (const float *probs, int n, int top)
{
  g_auto (GStrv) labels = load_labels (n);
  g_autofree gboolean *used = g_new0 (gboolean, n);
  for (int k = 0; k < MIN (top, n); k++)
    {
      int best = -1;
      for (int i = 0; i < n; i++)
        if (!used[i] && (best < 0 || probs[i] > probs[best]))
          best = i;
      used[best] = TRUE;
      printf ("%2d. %6.2f%%  %4d  %s\n", k + 1, 100.0 * probs[best], best, labels ? labels[best] : "");
    }
}

static int
run_classify (const CliBackboneOptions *bo, const char *image, int top)
{
  UadBackbone *bb = cli_load_backbone (bo);
  if (bb == NULL)
    return CLI_EXIT_FAILURE;
  int status = CLI_EXIT_FAILURE;
  g_autoptr (UadTensor) input = cli_load_input (bb, image);
  g_autoptr (UadTensor) probs = uad_tensor_new_2d (1, MAX (uad_backbone_get_n_classes (bb), 1));
  g_autoptr (GError) error = NULL;
  if (input == NULL)
    ;
  else if (!uad_backbone_classify (bb, input, probs, &error))
    cli_error ("classify", "%s", error->message);
  else
    {
      print_top (probs->data, uad_backbone_get_n_classes (bb), top);
      status = CLI_EXIT_OK;
    }
  uad_backbone_free (bb);
  return status;
}

int
cli_classify (int argc, char **argv)
{
  CliBackboneOptions bo = { 0 };
  int top = 5;
  GOptionEntry entries[6];
  cli_backbone_entries (&bo, entries);
  entries[3] = (GOptionEntry) { "top", 'k', 0, G_OPTION_ARG_INT, &top, "How many classes (default 5)", "K" };
  entries[4] = (GOptionEntry) { NULL };
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "classify", "IMAGE", "ImageNet top classes of an image", entries))
    ;
  else if (argc != 2 || top < 1)
    cli_error ("classify", "give exactly one IMAGE and --top >= 1 (see 'uniad classify --help')");
  else
    status = run_classify (&bo, argv[1], top);
  cli_backbone_options_clear (&bo);
  return status;
}
