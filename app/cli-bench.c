/* SPDX-License-Identifier: Apache-2.0 */
/* cli-bench.c: `uniad bench WHAT`: speed and memory figures (ms per image, GFLOP/s, peak RSS).
 * Benchmarks, not tests: the figures depend on the machine and its load. Each run times
 * --iterations batches after one warm-up batch and reports the median batch (and the fastest,
 * which shows what the code does when the machine's other load leaves it alone). */
#include "cli-commands.h"
#include "cli-common.h"

#include "uad-decoder.h"
#include "uad-gemm.h"
#include "uad-optim.h"
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

typedef struct {
  double median_ms, fastest_ms; /* per batch */
  int batches;
} Timing;

/* Wall time of `iterations` calls after one warm-up call. The median is the figure; the fastest
 * call shows what the code does when the machine's other load leaves it alone. */
static Timing
time_batches (BenchFunc fn, void *ctx, int iterations)
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
  return (Timing) { ms[iterations / 2], ms[0], iterations };
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

/* Which kernels run the matrix products, for the figures' label. */
static char *
gemm_kernels (void)
{
  if (!uad_gemm_uses_avx512 ())
    return g_strdup_printf ("OpenBLAS %s kernels", openblas_get_corename ());
  return g_strdup (uad_gemm_get_bf16 () ? "GEMM on the core's AVX-512 kernel, bf16 operands"
                                        : "GEMM on the core's AVX-512 kernel");
}

static void
print_figures (const char *what, int batch, const Timing *t, double macs_per_image,
               double target_ms)
{
  double per_image = t->median_ms / batch;
  g_autofree char *kernels = gemm_kernels ();
  printf ("%s: batch %d, %d threads (%s): %.2f ms/image (%.1f ms/batch, median "
          "of %d; fastest %.2f ms/image), %.1f GFLOP/s, peak RSS %.0f MB\n",
          what, batch, uad_parallel_get_threads (), kernels, per_image,
          t->median_ms, t->batches, t->fastest_ms / batch,
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
  Timing timing = time_batches (run_backbone, &b, iterations);
  UadBackboneKind kind = uad_backbone_get_kind (b.bb);
  g_autofree char *what = g_strdup_printf ("backbone %s", uad_backbone_kind_name (kind));
  print_figures (what, batch, &timing, uad_backbone_get_macs (b.bb),
                 kind == UAD_BACKBONE_EFFICIENTNET_B4 ? 25 : 10);
  uad_tensor_free (b.input);
  uad_tensor_free (b.features);
  uad_backbone_free (b.bb);
  return CLI_EXIT_OK;
}

/* Multiply-accumulates of one transformer forward pass per image (linear layers and the dense
 * attention products; the spec's 1.70 GMAC for C = 272). */
static double
transformer_macs (const UadTransformerConfig *c)
{
  double t = (double) c->grid_h * c->grid_w, d = c->hidden;
  double attention = 4 * t * d * d + 2 * t * t * d; /* q, k, v, out projections + scores, mixing */
  double ffn = 2 * t * d * c->ffn;
  return 2 * t * c->channels * d + c->encoder_layers * (attention + ffn)
         + c->decoder_layers * (2 * attention + ffn);
}

/* A model with freshly initialised weights: speed does not depend on training. */
static UadModel *
random_model (UadBackbone *bb)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, uad_backbone_get_feature_channels (bb));
  const char *name = "bench";
  UadModel *model = uad_model_new (uad_backbone_get_kind (bb), "bench", &cfg, FALSE, &name, 1, NULL);
  UadRng rng;
  uad_rng_init (&rng, 1);
  uad_transformer_init (model->transformers[0], &rng);
  return model;
}

typedef struct {
  UadDetector *det;
  UadTensor *input;
  double *scores;
} InferBench;

static void
run_infer (void *ctx)
{
  InferBench *b = ctx;
  uad_detector_run (b->det, b->input, NULL, b->scores, NULL, NULL, NULL);
}

static int
run_bench_infer (const CliBackboneOptions *bo, int batch, int iterations)
{
  UadBackbone *bb = cli_load_backbone (bo);
  if (bb == NULL)
    return CLI_EXIT_FAILURE;
  UadModel *model = random_model (bb);
  double macs = uad_backbone_get_macs (bb) + transformer_macs (uad_transformer_get_config (model->transformers[0]));
  UadBackboneKind kind = uad_backbone_get_kind (bb);
  int s = uad_backbone_get_input_size (bb);
  InferBench b = { uad_detector_new (model, bb, "bench", NULL), uad_tensor_new_4d (batch, 3, s, s),
                   g_new (double, batch) };
  fill_noise (b.input);
  Timing timing = time_batches (run_infer, &b, iterations);
  g_autofree char *what = g_strdup_printf ("inference %s (backbone + transformer + map + score)",
                                           uad_backbone_kind_name (kind));
  double target = kind == UAD_BACKBONE_EFFICIENTNET_B4 ? (batch == 1 ? 60 : 45) : 0;
  print_figures (what, batch, &timing, macs, target);
  uad_tensor_free (b.input);
  g_free (b.scores);
  uad_detector_free (b.det);
  return CLI_EXIT_OK;
}

typedef struct {
  UadTransformer *tf;
  UadTransformerWorkspace *ws;
  UadAdamW *optim;
  UadTensor *features;
  UadRng rng;
  int batch;
} TrainBench;

static void
run_train_step (void *ctx)
{
  TrainBench *b = ctx;
  size_t n;
  float *params = uad_transformer_params (b->tf, &n);
  float *grads = uad_transformer_grads (b->tf, &n);
  uad_transformer_train_step (b->tf, b->ws, b->features->data, b->batch, &b->rng);
  uad_clip_grad_norm (grads, n, 0.1);
  uad_adamw_step (b->optim, params, grads, 1e-4);
}

static int
run_bench_train (int channels, int batch, int iterations)
{
  UadTransformerConfig cfg;
  uad_transformer_config_default (&cfg, channels);
  TrainBench b = { .tf = uad_transformer_new (&cfg, NULL) };
  uad_rng_init (&b.rng, 1);
  uad_transformer_init (b.tf, &b.rng);
  b.ws = uad_transformer_workspace_new (b.tf, batch, TRUE);
  UadAdamWConfig acfg;
  uad_adamw_config_default (&acfg);
  size_t n;
  uad_transformer_params (b.tf, &n);
  b.optim = uad_adamw_new (&acfg, n);
  b.features = uad_tensor_new_4d (batch, channels, cfg.grid_h, cfg.grid_w);
  fill_noise (b.features);
  b.batch = batch;
  Timing timing = time_batches (run_train_step, &b, iterations);
  /* forward + backward ~ 3x the forward pass */
  g_autofree char *what = g_strdup_printf ("training step, transformer C=%d (jitter, forward, backward, clip, AdamW)", channels);
  print_figures (what, batch, &timing, 3 * transformer_macs (&cfg), 100);
  uad_tensor_free (b.features);
  uad_adamw_free (b.optim);
  uad_transformer_workspace_free (b.ws);
  uad_transformer_free (b.tf);
  return CLI_EXIT_OK;
}

typedef struct {
  UadDecoder *dec;
  UadDecoderWorkspace *ws;
  UadTensor *features;
  int batch;
} DecodeBench;

static void
run_decode (void *ctx)
{
  DecodeBench *b = ctx;
  uad_decoder_forward (b->dec, b->ws, b->features->data, b->batch);
}

static int
run_bench_decode (int channels, int batch, int iterations)
{
  UadDecoderConfig cfg;
  uad_decoder_config_default (&cfg, channels, UAD_NORMALIZE_IMAGENET);
  DecodeBench b = { uad_decoder_new (&cfg, NULL), NULL, NULL, batch };
  b.features = uad_tensor_new_4d (batch, channels, cfg.grid, cfg.grid);
  fill_noise (b.features);
  UadRng rng;
  uad_rng_init (&rng, 1);
  uad_decoder_init (b.dec, &rng, b.features);
  b.ws = uad_decoder_workspace_new (b.dec, batch, FALSE);
  Timing timing = time_batches (run_decode, &b, iterations);
  int s = uad_decoder_get_output_size (b.dec);
  g_autofree char *what = g_strdup_printf ("image decoder C=%d -> %dx%d RGB", channels, s, s);
  print_figures (what, batch, &timing, uad_decoder_get_macs (b.dec), 30);
  uad_decoder_workspace_free (b.ws);
  uad_tensor_free (b.features);
  uad_decoder_free (b.dec);
  return CLI_EXIT_OK;
}

typedef struct {
  gboolean trans_a, trans_b;
  int m, n, k;
} GemmShape;

typedef struct {
  GemmShape s;
  float *a, *b, *c;
} GemmBench;

static void
run_gemm (void *ctx)
{
  const GemmBench *g = ctx;
  const GemmShape *s = &g->s;
  uad_sgemm (s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f, g->a, s->trans_a ? s->m : s->k,
             g->b, s->trans_b ? s->k : s->n, 0.0f, g->c, s->n);
}

/* The matrix products of a training step at batch 8 (1568 tokens, hidden 256, FFN 1024): the
 * forward product (NN), and the backward ones for the input (NT) and the weights (TN, K = 1568).
 * GFLOP/s per thread: the figure per core when --threads 1 (the default here). */
static int
run_bench_gemm (int iterations)
{
  static const GemmShape shapes[] = {
    { FALSE, FALSE, 1568, 1024, 256 },
    { FALSE, TRUE, 1568, 1024, 256 },
    { FALSE, TRUE, 1568, 256, 1024 },
    { TRUE, FALSE, 1024, 256, 1568 },
  };
  g_autofree char *kernels = gemm_kernels ();
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const GemmShape *s = &shapes[i];
      UadTensor *a = uad_tensor_new_4d (1, 1, s->m, s->k), *b = uad_tensor_new_4d (1, 1, s->k, s->n);
      UadTensor *c = uad_tensor_new_4d (1, 1, s->m, s->n);
      fill_noise (a);
      fill_noise (b);
      GemmBench g = { *s, a->data, b->data, c->data };
      Timing t = time_batches (run_gemm, &g, iterations);
      double flop = 2.0 * s->m * s->n * s->k, threads = uad_parallel_get_threads ();
      printf ("sgemm %c%c %dx%dx%d, %d threads (%s): %.3f ms (median of %d), %.1f GFLOP/s per "
              "thread (fastest %.1f)\n",
              s->trans_a ? 'T' : 'N', s->trans_b ? 'T' : 'N', s->m, s->n, s->k, (int) threads, kernels,
              t.median_ms, t.batches, flop / (t.median_ms * 1e6) / threads,
              flop / (t.fastest_ms * 1e6) / threads);
      uad_tensor_free (a);
      uad_tensor_free (b);
      uad_tensor_free (c);
    }
  return CLI_EXIT_OK;
}

static int
bench_command (int argc, char **argv, const char *what)
{
  CliBackboneOptions bo = { 0 };
  int batch = 1, iterations = 20, channels = 272;
  gboolean bf16 = FALSE;
  GOptionEntry entries[7];
  cli_backbone_entries (&bo, entries);
  entries[3] = (GOptionEntry) { "batch", 'n', 0, G_OPTION_ARG_INT, &batch, "Images per batch (default 1)", "N" };
  entries[4] = (GOptionEntry) { "iterations", 'i', 0, G_OPTION_ARG_INT, &iterations, "Timed batches (default 20)", "K" };
  entries[5] = (GOptionEntry) { NULL };
  if (g_str_equal (what, "gemm"))
    {
      /* Shapes are fixed; the figure is per core. */
      entries[0] = (GOptionEntry) { "threads", 't', 0, G_OPTION_ARG_INT, &bo.threads, "Compute threads (default 1)", "N" };
      entries[1] = entries[4];
      entries[2] = (GOptionEntry) { NULL };
      bo.threads = 1;
    }
  else if (g_str_equal (what, "train") || g_str_equal (what, "decode"))
    {
      /* No backbone: training runs on cached features, decoding on given ones. */
      entries[0] = (GOptionEntry) { "channels", 'c', 0, G_OPTION_ARG_INT, &channels, "Feature channels (272 EfficientNet-b4, 168 MobileNetV2)", "C" };
      entries[1] = entries[2];
      entries[2] = entries[3];
      entries[3] = entries[4];
      entries[4] = (GOptionEntry) { NULL };
    }
  if (g_str_equal (what, "gemm") || g_str_equal (what, "train"))
    {
      /* Appended after the last entry (gemm: 2, train: 4). */
      int last = g_str_equal (what, "gemm") ? 2 : 4;
      entries[last] = (GOptionEntry) { "bf16", 0, 0, G_OPTION_ARG_NONE, &bf16, "Matrix products with bf16 operands (as a training loop may ask for)", NULL };
      entries[last + 1] = (GOptionEntry) { NULL };
    }
  g_autofree char *command = g_strdup_printf ("bench %s", what);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, command, "", "speed and memory figures", entries))
    ;
  else if (batch < 1 || iterations < 1 || channels < 1)
    cli_error ("bench", "--batch, --iterations and --channels must be at least 1");
  else if (bf16 && !uad_gemm_set_bf16 (TRUE))
    cli_error ("bench", "--bf16 needs a CPU with AVX512_BF16 (and UNIAD_GEMM unset)");
  else if (g_str_equal (what, "backbone"))
    status = run_bench_backbone (&bo, batch, iterations);
  else if (g_str_equal (what, "infer"))
    status = run_bench_infer (&bo, batch, iterations);
  else
    {
      if (bo.threads > 0)
        uad_parallel_set_threads (bo.threads);
      status = g_str_equal (what, "gemm")    ? run_bench_gemm (iterations)
               : g_str_equal (what, "train") ? run_bench_train (channels, batch, iterations)
                                             : run_bench_decode (channels, batch, iterations);
    }
  cli_backbone_options_clear (&bo);
  return status;
}

int
cli_bench (int argc, char **argv)
{
  static const char *const whats[] = { "backbone", "infer", "train", "decode", "gemm" };
  for (guint i = 0; i < G_N_ELEMENTS (whats); i++)
    if (argc >= 2 && g_strcmp0 (argv[1], whats[i]) == 0)
      return bench_command (argc - 1, argv + 1, whats[i]);
  gboolean help = argc >= 2 && g_strcmp0 (argv[1], "--help") == 0;
  fprintf (help ? stdout : stderr,
           "Usage: uniad bench WHAT [OPTION…]\n\n"
           "  backbone   the CNN backbone and neck\n"
           "  infer      the whole inference path: backbone, transformer, map, score\n"
           "  train      one training step of the transformer (on cached features)\n"
           "  decode     the image decoder: features to a 224x224 picture\n"
           "  gemm       the training step's matrix products, GFLOP/s per core\n\n"
           "Run 'uniad bench WHAT --help' for the options.\n");
  return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}
