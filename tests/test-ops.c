/* SPDX-License-Identifier: Apache-2.0 */
/* Operators against naive reference loops accumulated in double. Errors are measured relative
 * to the largest magnitude of the reference (test-util.h); float32 sums over a few hundred
 * terms stay well below TOL. */
#include "test-util.h"
#include "uad-ops.h"
#include "uad-ops-private.h"

#include <math.h>
#include <string.h>

#define TOL 1e-5

static const UadActivation all_acts[] = {
  UAD_ACT_NONE, UAD_ACT_RELU, UAD_ACT_RELU6, UAD_ACT_SWISH, UAD_ACT_SIGMOID,
};

static double
ref_act (double v, UadActivation act)
{
  switch (act)
    {
    case UAD_ACT_NONE:
      return v;
    case UAD_ACT_RELU:
      return v > 0 ? v : 0;
    case UAD_ACT_RELU6:
      return v < 0 ? 0 : v > 6 ? 6 : v;
    case UAD_ACT_SWISH:
      return v / (1 + exp (-v));
    case UAD_ACT_SIGMOID:
      return 1 / (1 + exp (-v));
    }
  g_assert_not_reached ();
}

static UadTensor *
random_tensor (int64_t d0, int64_t d1, int64_t d2, int64_t d3, guint32 seed)
{
  UadTensor *t = uad_tensor_new_4d (d0, d1, d2, d3);
  uad_test_fill_random (t->data, uad_tensor_numel (t), -1.0f, 1.0f, seed);
  return t;
}

/* Reference convolution; depthwise when weight is [C, 1, kh, kw] and groups == C. */
static UadTensor *
ref_conv (const UadTensor *in, const UadTensor *weight, const float *bias, const UadConvGeom *g,
          UadActivation act, gboolean depthwise)
{
  int64_t n = in->shape[0], cin = in->shape[1], h = in->shape[2], w = in->shape[3];
  int64_t cout = weight->shape[0], wcin = weight->shape[1];
  int64_t ho = (h + g->pad_top + g->pad_bottom - g->kh) / g->stride + 1;
  int64_t wo = (w + g->pad_left + g->pad_right - g->kw) / g->stride + 1;
  UadTensor *out = uad_tensor_new_4d (n, cout, ho, wo);
  for (int64_t b = 0; b < n; b++)
    for (int64_t o = 0; o < cout; o++)
      for (int64_t oy = 0; oy < ho; oy++)
        for (int64_t ox = 0; ox < wo; ox++)
          {
            double acc = bias != NULL ? bias[o] : 0;
            for (int64_t ci = 0; ci < wcin; ci++)
              {
                int64_t c = depthwise ? o : ci;
                for (int ky = 0; ky < g->kh; ky++)
                  for (int kx = 0; kx < g->kw; kx++)
                    {
                      int64_t iy = oy * g->stride + ky - g->pad_top;
                      int64_t ix = ox * g->stride + kx - g->pad_left;
                      if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                        continue;
                      acc += (double) in->data[((b * cin + c) * h + iy) * w + ix]
                             * weight->data[((o * wcin + ci) * g->kh + ky) * g->kw + kx];
                    }
              }
            out->data[((b * cout + o) * ho + oy) * wo + ox] = (float) ref_act (acc, act);
          }
  return out;
}

static void
test_same_padding (void)
{
  static const struct { int in, k, s, before, after; } cases[] = {
    { 224, 3, 2, 0, 1 }, { 380, 3, 2, 0, 1 }, { 190, 3, 2, 0, 1 }, { 95, 5, 2, 2, 2 },
    { 224, 3, 1, 1, 1 }, { 14, 5, 1, 2, 2 }, { 112, 5, 2, 1, 2 }, { 7, 1, 1, 0, 0 },
    { 5, 1, 2, 0, 0 },   { 2, 5, 2, 1, 2 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int before = -1, after = -1;
      uad_same_padding (cases[i].in, cases[i].k, cases[i].s, &before, &after);
      g_assert_cmpint (before, ==, cases[i].before);
      g_assert_cmpint (after, ==, cases[i].after);
    }

  UadConvGeom stem = { 3, 3, 2, 0, 1, 0, 1 };
  g_assert_cmpint (uad_conv_out_h (&stem, 224), ==, 112);
  g_assert_cmpint (uad_conv_out_w (&stem, 380), ==, 190);
  UadConvGeom k5 = { 5, 5, 2, 2, 2, 2, 2 };
  g_assert_cmpint (uad_conv_out_h (&k5, 56), ==, 28);
  g_assert_cmpint (uad_conv_out_w (&k5, 0), ==, 0);
}

/* Every geometry the tests sweep: kernels 1, 3, 5; strides 1, 2; no, asymmetric and
 * symmetric padding. */
static const int kernels[] = { 1, 3, 5 };
static const int pads[][4] = { { 0, 0, 0, 0 }, { 0, 1, 0, 1 }, { 2, 2, 2, 2 }, { 1, 0, 2, 1 } };

static void
check_conv_case (int n, int cin, int cout, int h, int w, const UadConvGeom *g, gboolean with_bias,
                 UadActivation act, gboolean depthwise, guint32 seed)
{
  g_autoptr (UadTensor) in = random_tensor (n, cin, h, w, seed);
  g_autoptr (UadTensor) weight = random_tensor (cout, depthwise ? 1 : cin, g->kh, g->kw, seed + 1);
  g_autofree float *bias = g_new (float, cout);
  uad_test_fill_random (bias, cout, -0.5f, 0.5f, seed + 2);
  const float *b = with_bias ? bias : NULL;
  g_autoptr (UadTensor) want = ref_conv (in, weight, b, g, act, depthwise);
  g_autoptr (UadTensor) got = uad_tensor_copy (want);
  uad_tensor_fill (got, NAN); /* every output must be written */
  if (depthwise)
    uad_depthwise_conv2d (in, weight, b, g, act, got);
  else
    {
      float *scratch = uad_alloc_floats (MAX (uad_conv2d_scratch_floats (g, cin, h, w), 1));
      uad_conv2d (in, weight, b, g, act, got, scratch);
      uad_free_aligned (scratch);
    }
  g_autofree char *what = g_strdup_printf ("%s n=%d c=%d->%d %dx%d k=%dx%d s=%d pad=(%d,%d,%d,%d) "
                                           "bias=%d act=%d", depthwise ? "depthwise" : "conv2d",
                                           n, cin, cout, h, w, g->kh, g->kw, g->stride, g->pad_top,
                                           g->pad_bottom, g->pad_left, g->pad_right, with_bias, act);
  uad_test_assert_close (what, got->data, want->data, uad_tensor_numel (want), TOL);
}

/* Sweeps kernels x strides x paddings x batch 1/2, cycling bias and activation, on odd sizes. */
static void
sweep_geometries (gboolean depthwise)
{
  int index = 0;
  for (guint ki = 0; ki < G_N_ELEMENTS (kernels); ki++)
    for (int s = 1; s <= 2; s++)
      for (guint pi = 0; pi < G_N_ELEMENTS (pads); pi++)
        for (int n = 1; n <= 2; n++, index++)
          {
            const int *p = pads[pi];
            UadConvGeom g = { kernels[ki], kernels[ki], s, p[0], p[1], p[2], p[3] };
            int h = 9 + index % 4, w = 13 + (index * 3) % 5;
            int cin = depthwise ? 7 : 5, cout = depthwise ? 7 : 11;
            check_conv_case (n, cin, cout, h, w, &g, index % 2 == 0,
                             all_acts[index % G_N_ELEMENTS (all_acts)], depthwise, 100 + index);
          }
}

static void
test_conv2d_sweep (void)
{
  sweep_geometries (FALSE);
}

static void
test_conv2d_network_shapes (void)
{
  /* The stem (3x3 stride 2, SAME (0,1,0,1)) and pointwise convolutions large enough to be
   * cut into several GEMM tiles per thread. */
  UadConvGeom stem = { 3, 3, 2, 0, 1, 0, 1 };
  check_conv_case (2, 3, 48, 64, 64, &stem, TRUE, UAD_ACT_SWISH, FALSE, 7);
  UadConvGeom pw = { 1, 1, 1, 0, 0, 0, 0 };
  check_conv_case (2, 24, 144, 45, 47, &pw, TRUE, UAD_ACT_SWISH, FALSE, 8);
  check_conv_case (1, 144, 24, 28, 28, &pw, TRUE, UAD_ACT_NONE, FALSE, 9);
  check_conv_case (1, 33, 1000, 3, 5, &pw, TRUE, UAD_ACT_RELU6, FALSE, 10);
}

static void
test_depthwise_sweep (void)
{
  sweep_geometries (TRUE);
}

static void
test_depthwise_network_shapes (void)
{
  /* EfficientNet's and MobileNetV2's depthwise layers, planes larger than one tile (rows
   * split, and columns split for very wide planes) or narrower than one vector, stride 1 and
   * 2, and the largest kernel of the AVX-512 path (7 x 7). */
  static const struct { int c, h, w, k, s, pad[4]; } cases[] = {
    { 48, 112, 112, 3, 1, { 1, 1, 1, 1 } },  { 144, 112, 112, 3, 2, { 0, 1, 0, 1 } },
    { 192, 56, 56, 5, 2, { 2, 2, 2, 2 } },   { 960, 14, 14, 5, 1, { 2, 2, 2, 2 } },
    { 3, 130, 151, 3, 1, { 1, 1, 1, 1 } },   { 2, 6, 1501, 5, 1, { 2, 2, 2, 2 } },
    { 2, 7, 3001, 3, 2, { 0, 1, 0, 1 } },    { 2, 33, 41, 7, 3, { 3, 3, 2, 4 } },
    { 4, 23, 37, 7, 2, { 3, 3, 3, 3 } },     { 3, 19, 200, 7, 1, { 3, 3, 3, 3 } },
    { 5, 4, 5, 3, 1, { 1, 1, 1, 1 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const int *p = cases[i].pad;
      UadConvGeom g = { cases[i].k, cases[i].k, cases[i].s, p[0], p[1], p[2], p[3] };
      check_conv_case (1, cases[i].c, cases[i].c, cases[i].h, cases[i].w, &g, TRUE,
                       all_acts[i % G_N_ELEMENTS (all_acts)], TRUE, 200 + i);
    }
}

/* Convolution with folded batch norm equals convolution followed by batch norm. */
static void
test_fold_batchnorm (void)
{
  const int cout = 13, cin = 6;
  const float eps = 1e-3f;
  UadConvGeom g = { 3, 3, 1, 1, 1, 1, 1 };
  g_autoptr (UadTensor) in = random_tensor (2, cin, 10, 9, 1);
  float gamma[13], beta[13], mean[13], var[13], conv_bias[13];
  uad_test_fill_random (gamma, cout, 0.5f, 2.0f, 2);
  uad_test_fill_random (beta, cout, -1.0f, 1.0f, 3);
  uad_test_fill_random (mean, cout, -0.5f, 0.5f, 4);
  uad_test_fill_random (var, cout, 0.01f, 3.0f, 5);
  uad_test_fill_random (conv_bias, cout, -0.3f, 0.3f, 6);

  for (int has_bias = 0; has_bias <= 1; has_bias++)
    {
      g_autoptr (UadTensor) weight = random_tensor (cout, cin, 3, 3, 7);
      g_autoptr (UadTensor) want = ref_conv (in, weight, has_bias ? conv_bias : NULL, &g,
                                             UAD_ACT_NONE, FALSE);
      int64_t plane = want->shape[2] * want->shape[3];
      for (int64_t i = 0; i < uad_tensor_numel (want); i++)
        {
          int o = (int) (i / plane % cout);
          want->data[i] = (float) ((want->data[i] - mean[o]) / sqrt ((double) var[o] + eps)
                                   * gamma[o] + beta[o]);
        }

      float bias[13];
      for (int o = 0; o < cout; o++)
        bias[o] = has_bias ? conv_bias[o] : 0.0f;
      uad_fold_batchnorm (weight->data, cout, cin * 9, bias, gamma, beta, mean, var, eps);
      g_autoptr (UadTensor) got = uad_tensor_copy (want);
      float *scratch = uad_alloc_floats (uad_conv2d_scratch_floats (&g, cin, 10, 9));
      uad_conv2d (in, weight, bias, &g, UAD_ACT_NONE, got, scratch);
      uad_free_aligned (scratch);
      uad_test_assert_close ("folded batch norm", got->data, want->data,
                             uad_tensor_numel (want), TOL);
    }
}

static void
test_activations (void)
{
  /* A wide range (saturation, -inf/+inf limits of exp) and a dense one where sigmoid and swish
   * are most sensitive; 1003 values so vector loops have a tail. */
  const int n = 1003;
  g_autofree float *x = g_new (float, n);
  g_autofree float *got = g_new (float, n);
  g_autofree float *want = g_new (float, n);
  uad_test_fill_random (x, n, -30.0f, 30.0f, 11);
  x[0] = -120.0f, x[1] = 120.0f, x[2] = -87.5f, x[3] = 89.0f, x[4] = 0.0f, x[5] = 6.0f;
  for (int pass = 0; pass < 2; pass++)
    {
      if (pass == 1)
        uad_test_fill_random (x, n, -4.0f, 4.0f, 12);
      for (guint a = 0; a < G_N_ELEMENTS (all_acts); a++)
        {
          memcpy (got, x, n * sizeof (float));
          uad_activate (got, n, all_acts[a]);
          double worst = 0;
          for (int i = 0; i < n; i++)
            {
              want[i] = (float) ref_act (x[i], all_acts[a]);
              /* Element-wise relative error (absolute below 1e-20), so small outputs count. */
              worst = fmax (worst, fabs (got[i] - (double) want[i]) / fmax (fabs (want[i]), 1e-20));
            }
          g_test_message ("activation %d pass %d: max element-wise relative error %.3g",
                          all_acts[a], pass, worst);
          g_assert_cmpfloat (worst, <=, 1e-6);
        }
    }
}

static void
test_add (void)
{
  const int n = 100003;
  g_autofree float *y = g_new (float, n);
  g_autofree float *x = g_new (float, n);
  g_autofree float *want = g_new (float, n);
  uad_test_fill_random (y, n, -1.0f, 1.0f, 21);
  uad_test_fill_random (x, n, -1.0f, 1.0f, 22);
  for (int i = 0; i < n; i++)
    want[i] = y[i] + x[i];
  uad_add_inplace (y, x, n);
  g_assert_cmpmem (y, n * sizeof (float), want, n * sizeof (float));
}

static void
ref_means (const UadTensor *x, double *means)
{
  int64_t planes = x->shape[0] * x->shape[1], plane = x->shape[2] * x->shape[3];
  for (int64_t p = 0; p < planes; p++)
    {
      double s = 0;
      for (int64_t i = 0; i < plane; i++)
        s += x->data[p * plane + i];
      means[p] = s / plane;
    }
}

static void
test_global_avg_pool (void)
{
  static const int shapes[][4] = { { 2, 5, 7, 9 }, { 1, 24, 112, 112 }, { 2, 3, 1, 1 } };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const int *s = shapes[i];
      g_autoptr (UadTensor) x = random_tensor (s[0], s[1], s[2], s[3], 30 + i);
      g_autoptr (UadTensor) out = uad_tensor_new_2d (s[0], s[1]);
      g_autofree double *means = g_new (double, s[0] * s[1]);
      g_autofree float *want = g_new (float, s[0] * s[1]);
      ref_means (x, means);
      for (int j = 0; j < s[0] * s[1]; j++)
        want[j] = (float) means[j];
      uad_global_avg_pool (x, out);
      uad_test_assert_close ("global average pool", out->data, want, s[0] * s[1], TOL);
    }
}

/* Squeeze-excite in double, in place on x[n, c, hw]: gate[b, i] = sigmoid(w_expand
 * swish(w_reduce mean(x[b]) + b_reduce) + b_expand)[i]; x[b, i] *= gate[b, i]. */
static void
ref_squeeze_excite (UadTensor *x, const UadTensor *w_reduce, const float *b_reduce,
                    const UadTensor *w_expand, const float *b_expand, float *gate)
{
  int n = (int) x->shape[0], c = (int) x->shape[1], r = (int) w_reduce->shape[0];
  int64_t plane = x->shape[2] * x->shape[3];
  g_autofree double *means = g_new (double, n * c), *red = g_new (double, r);
  ref_means (x, means);
  for (int b = 0; b < n; b++)
    {
      for (int j = 0; j < r; j++)
        {
          double acc = b_reduce[j];
          for (int i = 0; i < c; i++)
            acc += (double) w_reduce->data[j * c + i] * means[b * c + i];
          red[j] = ref_act (acc, UAD_ACT_SWISH);
        }
      for (int i = 0; i < c; i++)
        {
          double acc = b_expand[i];
          for (int j = 0; j < r; j++)
            acc += (double) w_expand->data[i * r + j] * red[j];
          double g = ref_act (acc, UAD_ACT_SIGMOID);
          gate[b * c + i] = (float) g;
          for (int64_t k = 0; k < plane; k++)
            x->data[(b * c + i) * plane + k] = (float) (x->data[(b * c + i) * plane + k] * g);
        }
    }
}

/* The fused block tail (depthwise with means, gates, gated projection, skip connection)
 * against the plain one (depthwise, squeeze-excite in place in double, projection). */
static void
test_squeeze_excite_fused (void)
{
  const int n = 2, c = 21, r = 6, cout = 9, hw = 13;
  UadConvGeom g = { 5, 5, 1, 2, 2, 2, 2 };
  const UadConvGeom pw = { 1, 1, 1, 0, 0, 0, 0 };
  g_autoptr (UadTensor) in = random_tensor (n, c, hw, hw, 90);
  g_autoptr (UadTensor) dw_w = random_tensor (c, 1, 5, 5, 91);
  g_autoptr (UadTensor) w_reduce = random_tensor (r, c, 1, 1, 92);
  g_autoptr (UadTensor) w_expand = random_tensor (c, r, 1, 1, 93);
  g_autoptr (UadTensor) project = random_tensor (cout, c, 1, 1, 94);
  float dw_b[21], b_reduce[6], b_expand[21], project_b[9];
  uad_test_fill_random (dw_b, c, -0.5f, 0.5f, 95);
  uad_test_fill_random (b_reduce, r, -0.5f, 0.5f, 96);
  uad_test_fill_random (b_expand, c, -0.5f, 0.5f, 97);
  uad_test_fill_random (project_b, cout, -0.5f, 0.5f, 98);

  g_autoptr (UadTensor) x = uad_tensor_new_4d (n, c, hw, hw);
  g_autoptr (UadTensor) want = uad_tensor_new_4d (n, cout, hw, hw);
  float want_gate[2 * 21];
  uad_depthwise_conv2d (in, dw_w, dw_b, &g, UAD_ACT_SWISH, x);
  g_autoptr (UadTensor) x_plain = uad_tensor_copy (x);
  ref_squeeze_excite (x, w_reduce, b_reduce, w_expand, b_expand, want_gate);
  uad_conv2d (x, project, project_b, &pw, UAD_ACT_NONE, want, NULL);

  g_autoptr (UadTensor) y = uad_tensor_new_4d (n, c, hw, hw);
  g_autoptr (UadTensor) got = uad_tensor_new_4d (n, cout, hw, hw);
  float means[2 * 21], gate[2 * 21];
  double want_means[2 * 21];
  uad_depthwise_conv2d_mean (in, dw_w, dw_b, &g, UAD_ACT_SWISH, y, means);
  g_assert_cmpmem (y->data, uad_tensor_numel (y) * sizeof (float),
                   x_plain->data, uad_tensor_numel (y) * sizeof (float));
  ref_means (y, want_means);
  float want_means_f[2 * 21];
  for (int i = 0; i < n * c; i++)
    want_means_f[i] = (float) want_means[i];
  uad_test_assert_close ("depthwise plane means", means, want_means_f, n * c, TOL);

  uad_se_gates (means, n, w_reduce, b_reduce, w_expand, b_expand, gate);
  uad_test_assert_close ("gates from means", gate, want_gate, n * c, TOL);
  uad_se_gates (means, n, w_reduce, b_reduce, w_expand, b_expand, means); /* in place */
  g_assert_cmpmem (means, sizeof means, gate, sizeof gate);

  float *scratch = uad_alloc_floats (uad_conv2d_pointwise_gated_scratch_floats (project));
  uad_conv2d_pointwise_gated (y, project, gate, project_b, UAD_ACT_NONE, NULL, got, scratch);
  uad_test_assert_close ("gated projection", got->data, want->data, uad_tensor_numel (want), TOL);

  /* With a skip connection added as the result is written, and without a gate. */
  g_autoptr (UadTensor) skip = random_tensor (n, cout, hw, hw, 99);
  uad_conv2d_pointwise_gated (y, project, gate, project_b, UAD_ACT_NONE, skip, got, scratch);
  uad_free_aligned (scratch);
  for (int64_t i = 0; i < uad_tensor_numel (want); i++)
    want->data[i] += skip->data[i];
  uad_test_assert_close ("gated projection + skip", got->data, want->data, uad_tensor_numel (want),
                         TOL);
  uad_conv2d (x_plain, project, project_b, &pw, UAD_ACT_NONE, want, NULL);
  uad_conv2d_pointwise_gated (x_plain, project, NULL, project_b, UAD_ACT_NONE, skip, got, NULL);
  for (int64_t i = 0; i < uad_tensor_numel (want); i++)
    want->data[i] += skip->data[i];
  uad_test_assert_close ("projection + skip", got->data, want->data, uad_tensor_numel (want), TOL);
  g_assert_cmpmem (y->data, uad_tensor_numel (y) * sizeof (float),
                   x_plain->data, uad_tensor_numel (y) * sizeof (float));
}

/* out[i] = bilinear blend at source coordinate i (in - 1) / (out - 1), in double. */
static void
check_resize (int n, int c, int h, int w, int ho, int wo, guint32 seed)
{
  g_autoptr (UadTensor) in = random_tensor (n, c, h, w, seed);
  g_autoptr (UadTensor) out = uad_tensor_new_4d (n, c, ho, wo);
  g_autoptr (UadTensor) want = uad_tensor_new_4d (n, c, ho, wo);
  for (int p = 0; p < n * c; p++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++)
        {
          double sy = ho > 1 ? (double) oy * (h - 1) / (ho - 1) : 0;
          double sx = wo > 1 ? (double) ox * (w - 1) / (wo - 1) : 0;
          int y0 = MIN ((int) sy, h - 1), x0 = MIN ((int) sx, w - 1);
          int y1 = MIN (y0 + 1, h - 1), x1 = MIN (x0 + 1, w - 1);
          double fy = sy - y0, fx = sx - x0;
          const float *pl = in->data + (size_t) p * h * w;
          double v = (1 - fy) * ((1 - fx) * pl[y0 * w + x0] + fx * pl[y0 * w + x1])
                     + fy * ((1 - fx) * pl[y1 * w + x0] + fx * pl[y1 * w + x1]);
          want->data[((size_t) p * ho + oy) * wo + ox] = (float) v;
        }
  uad_resize_bilinear_align_corners (in, out);
  g_autofree char *what = g_strdup_printf ("resize %dx%d -> %dx%d", h, w, ho, wo);
  uad_test_assert_close (what, out->data, want->data, uad_tensor_numel (out), TOL);
}

static void
test_resize (void)
{
  check_resize (2, 3, 28, 28, 14, 14, 50);
  check_resize (1, 2, 112, 112, 14, 14, 51);
  check_resize (1, 2, 56, 56, 14, 14, 52);
  check_resize (1, 3, 7, 9, 14, 14, 53);
  check_resize (1, 1, 14, 14, 224, 224, 54); /* the anomaly map upsampling */
  check_resize (1, 2, 5, 6, 1, 1, 55);

  /* 14 -> 14 is exactly the identity. */
  g_autoptr (UadTensor) in = random_tensor (2, 5, 14, 14, 56);
  g_autoptr (UadTensor) out = uad_tensor_new_4d (2, 5, 14, 14);
  uad_resize_bilinear_align_corners (in, out);
  g_assert_cmpmem (out->data, uad_tensor_numel (out) * sizeof (float),
                   in->data, uad_tensor_numel (in) * sizeof (float));
}

static void
test_concat (void)
{
  g_autoptr (UadTensor) a = random_tensor (2, 3, 4, 5, 60);
  g_autoptr (UadTensor) b = random_tensor (2, 1, 4, 5, 61);
  g_autoptr (UadTensor) c = random_tensor (2, 6, 4, 5, 62);
  g_autoptr (UadTensor) out = uad_tensor_new_4d (2, 10, 4, 5);
  const UadTensor *ins[] = { a, b, c };
  uad_concat_channels (ins, 3, out);
  for (int n = 0; n < 2; n++)
    for (int ch = 0; ch < 10; ch++)
      {
        const UadTensor *src = ch < 3 ? a : ch < 4 ? b : c;
        int sc = ch < 3 ? ch : ch < 4 ? ch - 3 : ch - 4;
        g_assert_cmpmem (out->data + (n * 10 + ch) * 20, 20 * sizeof (float),
                         src->data + (n * src->shape[1] + sc) * 20, 20 * sizeof (float));
      }
}

static void
test_linear (void)
{
  const int m = 7, k = 13, n = 5;
  float x[7 * 13], w[5 * 13], b[5], got[7 * 5], want[7 * 5];
  uad_test_fill_random (x, m * k, -1.0f, 1.0f, 70);
  uad_test_fill_random (w, n * k, -1.0f, 1.0f, 71);
  uad_test_fill_random (b, n, -1.0f, 1.0f, 72);
  for (int with_bias = 0; with_bias <= 1; with_bias++)
    {
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
          {
            double acc = with_bias ? b[j] : 0;
            for (int l = 0; l < k; l++)
              acc += (double) x[i * k + l] * w[j * k + l];
            want[i * n + j] = (float) acc;
          }
      memset (got, 0xff, sizeof got); /* NaN: y must be fully written */
      uad_linear (x, m, k, w, with_bias ? b : NULL, n, got);
      uad_test_assert_close (with_bias ? "linear with bias" : "linear", got, want, m * n, TOL);
    }
}

/* want = softmax(x + add) per row, in double (add may be NULL). */
static void
ref_softmax (const float *x, const float *add, int rows, int cols, float *want)
{
  for (int i = 0; i < rows; i++)
    {
      double m = -INFINITY, sum = 0, v[64];
      for (int j = 0; j < cols; j++)
        {
          v[j] = (double) x[i * cols + j] + (add != NULL ? add[i * cols + j] : 0.0);
          m = fmax (m, v[j]);
        }
      for (int j = 0; j < cols; j++)
        sum += m == -INFINITY ? 0 : exp (v[j] - m);
      for (int j = 0; j < cols; j++)
        want[i * cols + j] = m == -INFINITY ? 0.0f : (float) (exp (v[j] - m) / sum);
    }
}

static void
test_softmax (void)
{
  const int rows = 5, cols = 37;
  float x[5 * 37], want[5 * 37];
  uad_test_fill_random (x, rows * cols, -8.0f, 8.0f, 80);
  for (int j = 0; j < cols; j += 3)
    x[1 * cols + j] = -INFINITY;         /* a masked row */
  for (int j = 0; j < cols; j++)
    x[2 * cols + j] = -INFINITY;         /* fully masked */
  for (int j = 0; j < cols; j++)
    x[3 * cols + j] = j == 7 ? 0.0f : -INFINITY; /* one visible entry */
  x[4 * cols] = 300.0f;                  /* dominating entry */
  float plain[5 * 37];
  memcpy (plain, x, sizeof x);
  ref_softmax (x, NULL, rows, cols, want);
  uad_softmax_rows (x, rows, cols);
  uad_test_assert_close ("softmax", x, want, rows * cols, TOL);
  for (int j = 0; j < cols; j++)
    {
      g_assert_cmpfloat (x[2 * cols + j], ==, 0.0f);
      if (j % 3 == 0)
        g_assert_cmpfloat (x[1 * cols + j], ==, 0.0f);
      g_assert_cmpfloat (x[3 * cols + j], ==, j == 7 ? 1.0f : 0.0f);
    }

  /* With an attention-style mask added: 0 or -inf, one row masked but for one entry. */
  float add[5 * 37];
  for (int i = 0; i < rows * cols; i++)
    add[i] = (i % 5 == 2) ? -INFINITY : 0.0f;
  for (int j = 0; j < cols; j++)
    add[4 * cols + j] = j == 30 ? 0.0f : -INFINITY;
  ref_softmax (plain, add, rows, cols, want);
  uad_softmax_rows_add (plain, add, rows, cols);
  uad_test_assert_close ("softmax of x + mask", plain, want, rows * cols, TOL);
  for (int j = 0; j < cols; j++)
    g_assert_cmpfloat (plain[4 * cols + j], ==, j == 30 ? 1.0f : 0.0f);
}

/* Runs a test with the AVX-512 kernels turned off, so the portable code is checked on CPUs
 * that have them too. */
static void
run_portable (gconstpointer test)
{
  uad_avx512_set_enabled (FALSE);
  ((GTestFunc) test) ();
  uad_avx512_set_enabled (TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/same-padding", test_same_padding);
  g_test_add_func ("/ops/conv2d/sweep", test_conv2d_sweep);
  g_test_add_func ("/ops/conv2d/network-shapes", test_conv2d_network_shapes);
  g_test_add_func ("/ops/depthwise/sweep", test_depthwise_sweep);
  g_test_add_func ("/ops/depthwise/network-shapes", test_depthwise_network_shapes);
  g_test_add_func ("/ops/fold-batchnorm", test_fold_batchnorm);
  g_test_add_func ("/ops/activations", test_activations);
  g_test_add_func ("/ops/add", test_add);
  g_test_add_func ("/ops/global-avg-pool", test_global_avg_pool);
  g_test_add_func ("/ops/squeeze-excite/fused", test_squeeze_excite_fused);
  g_test_add_func ("/ops/resize", test_resize);
  g_test_add_func ("/ops/concat", test_concat);
  g_test_add_func ("/ops/linear", test_linear);
  g_test_add_func ("/ops/softmax", test_softmax);
  static const struct { const char *path; GTestFunc test; } portable[] = {
    { "/ops/portable/activations", test_activations },
    { "/ops/portable/conv2d/sweep", test_conv2d_sweep },
    { "/ops/portable/conv2d/network-shapes", test_conv2d_network_shapes },
    { "/ops/portable/depthwise/sweep", test_depthwise_sweep },
    { "/ops/portable/depthwise/network-shapes", test_depthwise_network_shapes },
    { "/ops/portable/squeeze-excite/fused", test_squeeze_excite_fused },
    { "/ops/portable/softmax", test_softmax },
  };
  for (guint i = 0; i < G_N_ELEMENTS (portable); i++)
    g_test_add_data_func (portable[i].path, (gconstpointer) portable[i].test, run_portable);
  return g_test_run ();
}
