/* SPDX-License-Identifier: Apache-2.0 */
/* uad-ops.c: activations, pooling, squeeze-excite gates, resize, concat, linear and softmax
 * (the convolutions are in uad-conv.c). */
#include "uad-ops.h"

#include "uad-gemm.h"
#include "uad-ops-private.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

/* Elementwise loops below this many floats per thread are not worth waking the pool. */
#define MIN_ELEMENTWISE_CHUNK 32768

typedef struct {
  float *y;
  const float *x;
  UadActivation act;
} Elementwise;

UAD_VECTOR_CLONES static void
activate_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Elementwise *e = ctx;
  if (uad_avx512_available ())
    uad_avx512_bias_act (e->y + begin, e->y + begin, end - begin, 0.0f, e->act);
  else
    uad_bias_act_row (e->y + begin, e->y + begin, end - begin, 0.0f, e->act);
}

void
uad_activate (float *x, int64_t n, UadActivation act)
{
  if (act == UAD_ACT_NONE)
    return;
  Elementwise e = { x, NULL, act };
  uad_parallel_for (n, MIN_ELEMENTWISE_CHUNK, activate_range, &e);
}

UAD_VECTOR_CLONES static void
add_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Elementwise *e = ctx;
  float *restrict y = e->y;
  const float *restrict x = e->x;
  for (int64_t i = begin; i < end; i++)
    y[i] += x[i];
}

void
uad_add_inplace (float *y, const float *x, int64_t n)
{
  Elementwise e = { y, x, UAD_ACT_NONE };
  uad_parallel_for (n, MIN_ELEMENTWISE_CHUNK, add_range, &e);
}

typedef struct {
  const float *x;
  float *means;
  int64_t plane;
} Planes;

UAD_VECTOR_CLONES static void
mean_planes (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Planes *p = ctx;
  for (int64_t i = begin; i < end; i++)
    p->means[i] = uad_mean (p->x + i * p->plane, p->plane);
}

/* Planes per parallel chunk so that a chunk reads at least MIN_ELEMENTWISE_CHUNK floats. */
static int64_t
planes_per_chunk (int64_t plane)
{
  return MAX ((int64_t) 1, MIN_ELEMENTWISE_CHUNK / MAX (plane, (int64_t) 1));
}

void
uad_global_avg_pool (const UadTensor *in, UadTensor *out)
{
  g_return_if_fail (in->ndim == 4);
  g_return_if_fail (uad_tensor_numel (out) == in->shape[0] * in->shape[1]);
  int64_t plane = in->shape[2] * in->shape[3];
  Planes p = { in->data, out->data, plane };
  uad_parallel_for (in->shape[0] * in->shape[1], planes_per_chunk (plane), mean_planes, &p);
}

/* y[o] = act(b[o] + sum_i w[o, i] x[i]): the squeeze-excite FCs, a few thousand MACs each. */
UAD_VECTOR_CLONES static void
matvec_act (const float *w, const float *b, const float *x, int64_t rows, int64_t cols,
            UadActivation act, float *y)
{
  for (int64_t o = 0; o < rows; o++)
    {
      const float *wo = w + o * cols;
      float acc[16] = { 0 };
      int64_t i = 0;
      for (; i + 16 <= cols; i += 16)
        for (int j = 0; j < 16; j++)
          acc[j] += wo[i + j] * x[i + j];
      float s = b != NULL ? b[o] : 0.0f;
      for (int j = 0; j < 16; j++)
        s += acc[j];
      for (; i < cols; i++)
        s += wo[i] * x[i];
      y[o] = s;
    }
  uad_bias_act_row (y, y, rows, 0.0f, act);
}

void
uad_se_gates (const float *means, int64_t n, const UadTensor *w_reduce, const float *b_reduce,
              const UadTensor *w_expand, const float *b_expand, float *gates)
{
  int64_t c = w_expand->shape[0], r = w_reduce->shape[0];
  g_return_if_fail (uad_tensor_numel (w_reduce) == r * c && uad_tensor_numel (w_expand) == c * r);
  float stack_buf[1024];
  float *reduced = r <= (int64_t) G_N_ELEMENTS (stack_buf) ? stack_buf : g_new (float, r);
  for (int64_t i = 0; i < n; i++)
    {
      /* Image i's means are read in full before its gates overwrite them. */
      matvec_act (w_reduce->data, b_reduce, means + i * c, r, c, UAD_ACT_SWISH, reduced);
      matvec_act (w_expand->data, b_expand, reduced, c, r, UAD_ACT_SIGMOID, gates + i * c);
    }
  if (reduced != stack_buf)
    g_free (reduced);
}

typedef struct {
  const float *in;
  float *out;
  int64_t h, w, ho, wo;
  float scale_h, scale_w;
} Resize;

/* Planes [begin, end) of a bilinear resize; each output is a blend of four inputs. */
UAD_VECTOR_CLONES static void
resize_planes (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Resize *r = ctx;
  for (int64_t p = begin; p < end; p++)
    {
      const float *in = r->in + p * r->h * r->w;
      float *out = r->out + p * r->ho * r->wo;
      for (int64_t oy = 0; oy < r->ho; oy++)
        {
          /* As PyTorch: source = scale * index in float, its integer part and the fraction. */
          float sy = r->scale_h * (float) oy;
          int64_t y0 = (int64_t) sy;
          int64_t dy = y0 < r->h - 1 ? r->w : 0;
          float fy = sy - (float) y0;
          const float *row0 = in + y0 * r->w, *row1 = row0 + dy;
          float *o = out + oy * r->wo;
          for (int64_t ox = 0; ox < r->wo; ox++)
            {
              float sx = r->scale_w * (float) ox;
              int64_t x0 = (int64_t) sx;
              int64_t dx = x0 < r->w - 1 ? 1 : 0;
              float fx = sx - (float) x0;
              float top = (1.0f - fx) * row0[x0] + fx * row0[x0 + dx];
              float bottom = (1.0f - fx) * row1[x0] + fx * row1[x0 + dx];
              o[ox] = (1.0f - fy) * top + fy * bottom;
            }
        }
    }
}

static float
align_corners_scale (int64_t in, int64_t out)
{
  return out > 1 ? (float) (in - 1) / (float) (out - 1) : 0.0f;
}

void
uad_resize_bilinear_align_corners (const UadTensor *in, UadTensor *out)
{
  g_return_if_fail (in->ndim == 4 && out->ndim == 4);
  g_return_if_fail (in->shape[0] == out->shape[0] && in->shape[1] == out->shape[1]);
  Resize r = {
    in->data, out->data, in->shape[2], in->shape[3], out->shape[2], out->shape[3],
    align_corners_scale (in->shape[2], out->shape[2]),
    align_corners_scale (in->shape[3], out->shape[3]),
  };
  int64_t planes = in->shape[0] * in->shape[1];
  uad_parallel_for (planes, planes_per_chunk (r.ho * r.wo * 4), resize_planes, &r);
}

void
uad_concat_channels (const UadTensor *const *ins, int n, UadTensor *out)
{
  g_return_if_fail (out->ndim == 4 && n >= 1);
  int64_t batch = out->shape[0], plane = out->shape[2] * out->shape[3], channels = 0;
  for (int i = 0; i < n; i++)
    {
      g_return_if_fail (ins[i]->ndim == 4 && ins[i]->shape[0] == batch);
      g_return_if_fail (ins[i]->shape[2] * ins[i]->shape[3] == plane);
      channels += ins[i]->shape[1];
    }
  g_return_if_fail (channels == out->shape[1]);
  for (int64_t b = 0; b < batch; b++)
    {
      float *dst = out->data + b * channels * plane;
      for (int i = 0; i < n; i++)
        {
          size_t count = (size_t) (ins[i]->shape[1] * plane);
          memcpy (dst, ins[i]->data + b * count, count * sizeof (float));
          dst += count;
        }
    }
}

void
uad_linear (const float *x, int64_t m, int64_t k, const float *w, const float *b, int64_t n,
            float *y)
{
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);
  if (b != NULL)
    uad_sgemm_bias (FALSE, TRUE, (int) m, (int) n, (int) k, x, (int) k, w, (int) k, b, y, (int) n);
  else
    uad_sgemm (FALSE, TRUE, (int) m, (int) n, (int) k, 1.0f, x, (int) k, w, (int) k, 0.0f, y,
               (int) n);
}

typedef struct {
  float *x;
  const float *add;
  int64_t cols;
} Softmax;

UAD_VECTOR_CLONES static void
softmax_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Softmax *s = ctx;
  int64_t cols = s->cols;
  gboolean avx512 = uad_avx512_available ();
  for (int64_t row = begin; row < end; row++)
    {
      float *restrict x = s->x + row * cols;
      const float *restrict add = s->add != NULL ? s->add + row * cols : NULL;
      if (avx512)
        {
          uad_avx512_softmax_row (x, add, cols);
          continue;
        }
      if (add != NULL)
        for (int64_t i = 0; i < cols; i++)
          x[i] += add[i];
      float mx[16];
      for (int j = 0; j < 16; j++)
        mx[j] = -INFINITY;
      int64_t i = 0;
      for (; i + 16 <= cols; i += 16)
        for (int j = 0; j < 16; j++)
          mx[j] = x[i + j] > mx[j] ? x[i + j] : mx[j];
      float m = -INFINITY;
      for (int j = 0; j < 16; j++)
        m = mx[j] > m ? mx[j] : m;
      for (; i < cols; i++)
        m = x[i] > m ? x[i] : m;
      if (m == -INFINITY)
        {
          memset (x, 0, (size_t) cols * sizeof (float));
          continue;
        }

      float acc[16] = { 0 };
      for (i = 0; i < cols; i++)
        x[i] = uad_exp (x[i] - m);
      for (i = 0; i + 16 <= cols; i += 16)
        for (int j = 0; j < 16; j++)
          acc[j] += x[i + j];
      double sum = 0;
      for (int j = 0; j < 16; j++)
        sum += acc[j];
      for (; i < cols; i++)
        sum += x[i];
      float inv = (float) (1.0 / sum); /* sum >= 1: the maximum contributes exp(0) */
      for (i = 0; i < cols; i++)
        x[i] *= inv;
    }
}

void
uad_softmax_rows_add (float *x, const float *add, int64_t rows, int64_t cols)
{
  Softmax s = { x, add, cols };
  uad_parallel_for (rows, MAX ((int64_t) 1, 4096 / MAX (cols, (int64_t) 1)), softmax_range, &s);
}

void
uad_softmax_rows (float *x, int64_t rows, int64_t cols)
{
  uad_softmax_rows_add (x, NULL, rows, cols);
}
