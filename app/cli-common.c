/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-common.h"

#include "uad-error.h"
#include "uad-parallel.h"
#include "uad-weights.h"

#include <stdio.h>
#include <sys/resource.h>

gboolean
cli_parse (int *argc, char ***argv, const char *command, const char *parameter,
           const char *summary, const GOptionEntry *entries)
{
  g_autofree char *title = g_strdup_printf ("%s - %s", parameter, summary);
  g_autoptr (GOptionContext) ctx = g_option_context_new (title);
  g_autofree char *prgname = g_strdup_printf ("uniad %s", command);
  g_set_prgname (prgname);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      cli_error (command, "%s (see 'uniad %s --help')", error->message, command);
      return FALSE;
    }
  return TRUE;
}

void
cli_backbone_entries (CliBackboneOptions *opts, GOptionEntry out[4])
{
  out[0] = (GOptionEntry) { "backbone", 'b', 0, G_OPTION_ARG_STRING, &opts->backbone,
                            "efficientnet_b4 (default) or mobilenet_v2", "NAME" };
  out[1] = (GOptionEntry) { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &opts->weights,
                            "Backbone weights (.safetensors; default: the user data folder)", "FILE" };
  out[2] = (GOptionEntry) { "threads", 't', 0, G_OPTION_ARG_INT, &opts->threads,
                            "Compute threads (default: one per core)", "N" };
  out[3] = (GOptionEntry) { NULL };
}

void
cli_backbone_options_clear (CliBackboneOptions *opts)
{
  g_clear_pointer (&opts->backbone, g_free);
  g_clear_pointer (&opts->weights, g_free);
}

void
cli_error (const char *command, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "uniad %s: %s\n", command, message);
}

UadBackbone *
cli_load_backbone (const CliBackboneOptions *opts)
{
  g_autoptr (GError) error = NULL;
  UadBackboneKind kind = UAD_BACKBONE_EFFICIENTNET_B4;
  if (opts->backbone && !uad_backbone_kind_from_name (opts->backbone, &kind, &error))
    {
      fprintf (stderr, "uniad: %s\n", error->message);
      return NULL;
    }
  if (opts->threads > 0)
    uad_parallel_set_threads (opts->threads);
  g_autofree char *weights = opts->weights ? g_strdup (opts->weights)
                                           : app_weights_default_path (kind);
  UadBackbone *bb = uad_backbone_load (kind, weights, &error);
  if (bb == NULL)
    {
      fprintf (stderr, "uniad: %s\n", error->message);
      if (opts->weights == NULL)
        fprintf (stderr, "uniad: give --weights FILE, or fetch them with scripts/fetch-weights\n");
    }
  return bb;
}

UadBackbone *
cli_load_backbone_sha (const CliBackboneOptions *opts, char **sha, GError **error)
{
  UadBackbone *bb = cli_load_backbone (opts);
  if (bb == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "cannot load the backbone");
      return NULL;
    }
  g_autofree char *weights = opts->weights ? g_strdup (opts->weights)
                                           : app_weights_default_path (uad_backbone_get_kind (bb));
  if ((*sha = uad_weights_sha256 (weights, error)) == NULL)
    g_clear_pointer (&bb, uad_backbone_free);
  return bb;
}

UadTensor *
cli_load_input (const UadBackbone *bb, const char *path)
{
  int s = uad_backbone_get_input_size (bb);
  g_autoptr (UadTensor) input = uad_tensor_new_4d (1, 3, s, s);
  g_autoptr (GError) error = NULL;
  if (!uad_image_load_input (path, s, uad_backbone_get_normalization (bb), input->data, &error))
    {
      fprintf (stderr, "uniad: %s\n", error->message);
      return NULL;
    }
  return g_steal_pointer (&input);
}

double
cli_peak_rss_mb (void)
{
  struct rusage usage;
  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return 0;
  return usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

UadBackbone *
cli_load_model_backbone (const UadModel *model, const char *weights, int threads, char **sha,
                         GError **error)
{
  if (threads > 0)
    uad_parallel_set_threads (threads);
  g_autofree char *dir = app_weights_dir ();
  return uad_detector_load_backbone (model, weights, dir, NULL, sha, error);
}

UadDetector *
cli_load_detector (const char *model_path, const char *weights, int threads)
{
  g_autoptr (GError) error = NULL;
  if (threads > 0)
    uad_parallel_set_threads (threads);
  g_autofree char *dir = app_weights_dir ();
  UadDetector *det = uad_detector_open (model_path, weights, dir, NULL, &error);
  if (det == NULL)
    {
      fprintf (stderr, "uniad: %s\n", error->message);
      if (weights == NULL && g_error_matches (error, UAD_ERROR, UAD_ERROR_MISMATCH))
        fprintf (stderr, "uniad: give the backbone weights the model was trained with (--weights FILE)\n");
    }
  return det;
}
