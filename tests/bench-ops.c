/* SPDX-License-Identifier: Apache-2.0 */
/* bench-ops: times the backbone operators on the shapes EfficientNet-b4 runs at 224x224, and
 * the chain of EfficientNet-b4 blocks 0-21 (random weights, batch norm folded) per image.
 * Not a test: run by hand, e.g. `bench-ops 2` for two threads (the default). */
#include "test-util.h"
#include "uad-cpu.h"
#include "uad-ops.h"
#include "uad-parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
now_ms (void)
{
  return (double) g_get_monotonic_time () / 1000.0;
}

typedef void (*BenchFunc) (void *ctx);

/* Best of a few batches, so other processes on the machine disturb it less. */
static double
time_ms (BenchFunc fn, void *ctx)
{
  fn (ctx); /* warm-up */
  double start = now_ms ();
  int reps = 1;
  while (now_ms () - start < 20 && reps < 1000)
    fn (ctx), reps++;
  reps = MAX (reps, 3);
  double best = G_MAXDOUBLE;
  for (int round = 0; round < 5; round++)
    {
      double t0 = now_ms ();
      for (int i = 0; i < reps; i++)
        fn (ctx);
      best = MIN (best, (now_ms () - t0) / reps);
    }
  return best;
}

typedef struct {
  UadTensor *in, *weight, *out;
  float *bias, *scratch;
  UadConvGeom geom;
  gboolean depthwise;
} Conv;

static void
run_conv (void *ctx)
{
  Conv *c = ctx;
  if (c->depthwise)
    uad_depthwise_conv2d (c->in, c->weight, c->bias, &c->geom, UAD_ACT_SWISH, c->out);
  else
    uad_conv2d (c->in, c->weight, c->bias, &c->geom, UAD_ACT_SWISH, c->out, c->scratch);
}

static void
bench_conv (int cin, int cout, int hw, int k, int stride, gboolean depthwise)
{
  Conv c = { .depthwise = depthwise };
  c.geom = (UadConvGeom) { k, k, stride, 0, 0, 0, 0 };
  uad_same_padding (hw, k, stride, &c.geom.pad_top, &c.geom.pad_bottom);
  c.geom.pad_left = c.geom.pad_top, c.geom.pad_right = c.geom.pad_bottom;
  int ho = uad_conv_out_h (&c.geom, hw);
  c.in = uad_tensor_new_4d (1, cin, hw, hw);
  c.weight = uad_tensor_new_4d (cout, depthwise ? 1 : cin, k, k);
  c.out = uad_tensor_new_4d (1, cout, ho, ho);
  c.bias = g_new0 (float, cout);
  c.scratch = uad_alloc_floats (MAX (uad_conv2d_scratch_floats (&c.geom, cin, hw, hw), 1));
  uad_test_fill_random (c.in->data, uad_tensor_numel (c.in), -1, 1, 1);
  uad_test_fill_random (c.weight->data, uad_tensor_numel (c.weight), -0.2f, 0.2f, 2);

  double ms = time_ms (run_conv, &c);
  double macs = (double) cout * ho * ho * k * k * (depthwise ? 1 : cin);
  printf ("%-9s %dx%d s%d [1,%d,%d,%d] -> %-4d %8.3f ms %7.1f GFLOP/s\n",
          depthwise ? "depthwise" : "conv", k, k, stride, cin, hw, hw, cout, ms,
          2 * macs / ms / 1e6);
  uad_tensor_free (c.in), uad_tensor_free (c.weight), uad_tensor_free (c.out);
  g_free (c.bias), uad_free_aligned (c.scratch);
}

/* ---- EfficientNet-b4 blocks 0-21 at 224x224 ---- */

typedef struct {
  int cin, cexp, cout, k, stride, hw_in, r;
  UadTensor *w_expand, *w_dw, *w_project, *w_se_reduce, *w_se_expand;
  UadConvGeom dw_geom;
  UadTensor *expanded, *dw_out, *out;
} Block;

/* Time per kind of operation, summed over the chain when profiling. */
enum { OP_STEM, OP_EXPAND, OP_DEPTHWISE, OP_SE, OP_PROJECT, N_OPS };
static const char *const op_names[] = { "stem", "expand 1x1", "depthwise+means", "se gates",
                                        "project+gate+skip" };

typedef struct {
  int n, batch;
  double *profile; /* N_OPS milliseconds, or NULL */
  Block blocks[22];
  UadTensor *image, *stem_w, *stem_out;
  UadConvGeom stem_geom;
  float *scratch, *bias, *gates, *project_scratch;
} Network;

static UadTensor *
random_weights (int64_t d0, int64_t d1, int64_t d2, int64_t d3, guint32 seed)
{
  UadTensor *t = uad_tensor_new_4d (d0, d1, d2, d3);
  /* Scaled so activations stay around 1 through the chain. */
  float bound = 1.7f / sqrtf ((float) (d1 * d2 * d3));
  uad_test_fill_random (t->data, uad_tensor_numel (t), -bound, bound, seed);
  return t;
}

static void
build_network (Network *net, int batch)
{
  /* Stages 1-5 of EfficientNet-b4: kernel, stride, expansion, output channels, repeats. */
  static const int stages[][5] = {
    { 3, 1, 1, 24, 2 }, { 3, 2, 6, 32, 4 }, { 5, 2, 6, 56, 4 }, { 3, 2, 6, 112, 6 }, { 5, 1, 6, 160, 6 },
  };
  net->batch = batch;
  net->bias = g_new0 (float, 4096);
  net->image = uad_tensor_new_4d (batch, 3, 224, 224);
  uad_test_fill_random (net->image->data, uad_tensor_numel (net->image), -2, 2, 9);
  net->stem_w = random_weights (48, 3, 3, 3, 10);
  net->stem_geom = (UadConvGeom) { 3, 3, 2, 0, 1, 0, 1 };
  net->stem_out = uad_tensor_new_4d (batch, 48, 112, 112);
  net->scratch = uad_alloc_floats (uad_conv2d_scratch_floats (&net->stem_geom, 3, 224, 224));

  int cin = 48, hw = 112, hw380 = 190, n = 0;
  for (guint s = 0; s < G_N_ELEMENTS (stages); s++)
    for (int rep = 0; rep < stages[s][4]; rep++, n++)
      {
        Block *b = &net->blocks[n];
        int stride = rep == 0 ? stages[s][1] : 1, k = stages[s][0];
        *b = (Block) { .cin = cin, .cexp = cin * stages[s][2], .cout = stages[s][3], .k = k,
                       .stride = stride, .hw_in = hw, .r = MAX (1, cin / 4) };
        if (b->cexp != cin)
          {
            b->w_expand = random_weights (b->cexp, cin, 1, 1, 100 + n);
            b->expanded = uad_tensor_new_4d (batch, b->cexp, hw, hw);
          }
        b->w_dw = random_weights (b->cexp, 1, k, k, 200 + n);
        b->dw_geom = (UadConvGeom) { k, k, stride, 0, 0, 0, 0 };
        /* SAME padding as computed for a 380x380 input (uniad-spec.md, section 2). */
        uad_same_padding (hw380, k, stride, &b->dw_geom.pad_top, &b->dw_geom.pad_bottom);
        hw380 = (hw380 + stride - 1) / stride;
        b->dw_geom.pad_left = b->dw_geom.pad_top, b->dw_geom.pad_right = b->dw_geom.pad_bottom;
        int ho = uad_conv_out_h (&b->dw_geom, hw);
        b->dw_out = uad_tensor_new_4d (batch, b->cexp, ho, ho);
        b->w_se_reduce = random_weights (b->r, b->cexp, 1, 1, 300 + n);
        b->w_se_expand = random_weights (b->cexp, b->r, 1, 1, 400 + n);
        b->w_project = random_weights (b->cout, b->cexp, 1, 1, 500 + n);
        b->out = uad_tensor_new_4d (batch, b->cout, ho, ho);
        cin = b->cout, hw = ho;
      }
  net->n = n;
  size_t gates = 0, project = 0;
  for (int i = 0; i < n; i++)
    {
      gates = MAX (gates, (size_t) batch * net->blocks[i].cexp);
      project = MAX (project, uad_conv2d_pointwise_gated_scratch_floats (net->blocks[i].w_project));
    }
  net->gates = uad_alloc_floats (gates);
  net->project_scratch = uad_alloc_floats (project);
}

static double profile_start;

static void
profile_op (Network *net, int op)
{
  if (net->profile == NULL)
    return;
  double t = now_ms ();
  net->profile[op] += t - profile_start;
  profile_start = t;
}

static void
run_network (void *ctx)
{
  Network *net = ctx;
  const UadConvGeom pw = { 1, 1, 1, 0, 0, 0, 0 };
  profile_start = now_ms ();
  uad_conv2d (net->image, net->stem_w, net->bias, &net->stem_geom, UAD_ACT_SWISH, net->stem_out,
              net->scratch);
  profile_op (net, OP_STEM);
  UadTensor *x = net->stem_out;
  for (int i = 0; i < net->n; i++)
    {
      Block *b = &net->blocks[i];
      UadTensor *e = x;
      gboolean skip = b->stride == 1 && b->cin == b->cout;
      if (b->w_expand != NULL)
        {
          uad_conv2d (x, b->w_expand, net->bias, &pw, UAD_ACT_SWISH, b->expanded, NULL);
          e = b->expanded;
          profile_op (net, OP_EXPAND);
        }
      /* As the backbone runs a block (uad-backbone.c). */
      uad_depthwise_conv2d_mean (e, b->w_dw, net->bias, &b->dw_geom, UAD_ACT_SWISH, b->dw_out,
                                 net->gates);
      profile_op (net, OP_DEPTHWISE);
      uad_se_gates (net->gates, net->batch, b->w_se_reduce, net->bias, b->w_se_expand, net->bias,
                    net->gates);
      profile_op (net, OP_SE);
      uad_conv2d_pointwise_gated (b->dw_out, b->w_project, net->gates, net->bias, UAD_ACT_NONE,
                                  skip ? x : NULL, b->out, net->project_scratch);
      profile_op (net, OP_PROJECT);
      x = b->out;
    }
}

static void
free_network (Network *net)
{
  for (int i = 0; i < net->n; i++)
    {
      Block *b = &net->blocks[i];
      UadTensor *tensors[] = { b->w_expand, b->w_dw, b->w_project, b->w_se_reduce,
                               b->w_se_expand, b->expanded, b->dw_out, b->out };
      for (guint j = 0; j < G_N_ELEMENTS (tensors); j++)
        if (tensors[j] != NULL)
          uad_tensor_free (tensors[j]);
    }
  uad_tensor_free (net->image), uad_tensor_free (net->stem_w), uad_tensor_free (net->stem_out);
  uad_free_aligned (net->scratch), g_free (net->bias);
  uad_free_aligned (net->gates), uad_free_aligned (net->project_scratch);
}

static double
network_macs (const Network *net)
{
  double macs = 48.0 * 112 * 112 * 27;
  for (int i = 0; i < net->n; i++)
    {
      const Block *b = &net->blocks[i];
      double hw_out = (double) b->out->shape[2] * b->out->shape[3];
      if (b->w_expand != NULL)
        macs += (double) b->cin * b->cexp * b->hw_in * b->hw_in;
      macs += b->cexp * hw_out * (b->k * b->k + b->cout) + 2.0 * b->cexp * b->r;
    }
  return macs;
}

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  int threads = argc > 1 ? atoi (argv[1]) : 2;
  uad_parallel_set_threads (threads);
  printf ("threads: %d\n", uad_parallel_get_threads ());

  bench_conv (960, 960, 14, 5, 1, TRUE);
  bench_conv (672, 672, 14, 3, 1, TRUE);
  bench_conv (336, 336, 28, 5, 1, TRUE);
  bench_conv (192, 192, 56, 5, 2, TRUE);
  bench_conv (192, 192, 56, 3, 1, TRUE);
  bench_conv (144, 144, 112, 3, 1, TRUE);
  bench_conv (144, 144, 112, 3, 2, TRUE);
  bench_conv (48, 48, 112, 3, 1, TRUE);

  bench_conv (3, 48, 224, 3, 2, FALSE);
  bench_conv (24, 144, 112, 1, 1, FALSE);
  bench_conv (32, 192, 112, 1, 1, FALSE);
  bench_conv (32, 192, 56, 1, 1, FALSE);
  bench_conv (192, 32, 56, 1, 1, FALSE);
  bench_conv (56, 336, 28, 1, 1, FALSE);
  bench_conv (336, 56, 28, 1, 1, FALSE);
  bench_conv (160, 960, 14, 1, 1, FALSE);
  bench_conv (960, 160, 14, 1, 1, FALSE);

  for (int batch = 1; batch <= 2; batch++)
    {
      Network net = { 0 };
      build_network (&net, batch);
      double ms = time_ms (run_network, &net) / batch;
      printf ("EfficientNet-b4 blocks 0-21, batch %d: %.2f ms/image, %.2f GMAC, %.1f GFLOP/s\n",
              batch, ms, network_macs (&net) / 1e9,
              2 * network_macs (&net) / ms / 1e6);
      /* Where the time goes: best of a few profiled runs per kind of operation. */
      double best[N_OPS], profile[N_OPS];
      for (int op = 0; op < N_OPS; op++)
        best[op] = G_MAXDOUBLE;
      net.profile = profile;
      for (int run = 0; run < 20; run++)
        {
          memset (profile, 0, sizeof profile);
          run_network (&net);
          for (int op = 0; op < N_OPS; op++)
            best[op] = MIN (best[op], profile[op]);
        }
      for (int op = 0; op < N_OPS; op++)
        printf ("  %-18s %7.2f ms/image\n", op_names[op], best[op] / batch);
      free_network (&net);
    }
  return 0;
}
