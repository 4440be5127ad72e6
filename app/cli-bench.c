/* SPDX-License-Identifier: Apache-2.0 */
/* cli-bench.c: `uniad bench WHAT`: speed and memory figures (ms per image, GFLOP/s, peak RSS).
 * Benchmarks, not tests: the figures depend on the machine and its load. Each run times
 * --iterations batches after one warm-up batch and reports the median batch. */
#include "cli-commands.h"
#include "cli-common.h"

#include "uad-parallel.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

/* Benchmarks run on noise: speed does not depend on the pixel values. */
static void
fill_noise (UadTensor *t)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  int64_t n = uad_tensor_numel (t);
  for (int64_t i = 0; i < n; i++)
    t->data[i] = (float) g_rand_double_range (rand, -1, 1);
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef void (*BenchFunc) (void *ctx);

/* Median wall time of one call in milliseconds, after one warm-up call. */
static double
time_median_ms (BenchFunc fn, void *ctx, int iterations)
{
  fn (ctx);
  g_autofree double *ms = g_new (double, iterations);
  for (int i = 0; i < iterations; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      fn (ctx);
      ms[i] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  qsort (ms, iterations, sizeof (double), compare_double);
  return ms[iterations / 2];
}

typedef struct {
  UadBackbone *bb;
  UadTensor *input, *features;
} BackboneBench;

static void
run_backbone (void *ctx)
{
  BackboneBench *b = ctx;
  uad_backbone_extract (b->bb, b->input, b->features);
}

static void
print_figures (const char *what, int batch, double batch_ms, double macs_per_image,
               double target_ms)
{
  double per_image = batch_ms / batch;
  printf ("%s: batch %d, %d threads (OpenBLAS %s kernels): %.2f ms/image (%.1f ms/batch), "
          "%.1f GFLOP/s, peak RSS %.0f MB\n",
          what, batch, uad_parallel_get_threads (), openblas_get_corename (), per_image, batch_ms,
          2.0 * macs_per_image / (per_image * 1e6), cli_peak_rss_mb ());
  if (target_ms > 0)
    printf ("target %.0f ms/image: %s (ratio %.2f)\n", target_ms,
            per_image <= target_ms ? "met" : "missed", per_image / target_ms);
}

static int
run_bench_backbone (const CliBackboneOptions *bo, int batch, int iterations)
{
  BackboneBench b = { cli_load_backbone (bo), NULL, NULL };
  if (b.bb == NULL)
    return CLI_EXIT_FAILURE;
  int s = uad_backbone_get_input_size (b.bb);
  b.input = uad_tensor_new_4d (batch, 3, s, s);
  fill_noise (b.input);
  b.features = uad_tensor_new_4d (batch, uad_backbone_get_feature_channels (b.bb), 14, 14);
  double ms = time_median_ms (run_backbone, &b, iterations);
  UadBackboneKind kind = uad_backbone_get_kind (b.bb);
  g_autofree char *what = g_strdup_printf ("backbone %s", uad_backbone_kind_name (kind));
  print_figures (what, batch, ms, uad_backbone_get_macs (b.bb),
                 kind == UAD_BACKBONE_EFFICIENTNET_B4 ? 25 : 10);
  uad_tensor_free (b.input);
  uad_tensor_free (b.features);
  uad_backbone_free (b.bb);
  return CLI_EXIT_OK;
}

static int
bench_backbone (int argc, char **argv)
{
  CliBackboneOptions bo = { 0 };
  int batch = 1, iterations = 20;
  GOptionEntry entries[6];
  cli_backbone_entries (&bo, entries);
  entries[3] = (GOptionEntry) { "batch", 'n', 0, G_OPTION_ARG_INT, &batch, "Images per batch (default 1)", "N" };
  entries[4] = (GOptionEntry) { "iterations", 'i', 0, G_OPTION_ARG_INT, &iterations, "Timed batches (default 20)", "K" };
  entries[5] = (GOptionEntry) { NULL };
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "bench backbone", "", "time the backbone and neck", entries))
    ;
  else if (batch < 1 || iterations < 1)
    cli_error ("bench", "--batch and --iterations must be at least 1");
  else
    status = run_bench_backbone (&bo, batch, iterations);
  cli_backbone_options_clear (&bo);
  return status;
}

int
cli_bench (int argc, char **argv)
{
  if (argc >= 2 && g_strcmp0 (argv[1], "backbone") == 0)
    return bench_backbone (argc - 1, argv + 1);
  fprintf (argc >= 2 && g_strcmp0 (argv[1], "--help") == 0 ? stdout : stderr,
           "Usage: uniad bench WHAT [OPTION…]\n\n  backbone   the CNN backbone and neck\n\n"
           "Run 'uniad bench WHAT --help' for the options.\n");
  return argc >= 2 && g_strcmp0 (argv[1], "--help") == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}
