/* SPDX-License-Identifier: Apache-2.0 */
/* uad-conv.c: convolution geometry, dense convolution (im2col + GEMM with a fused bias and
 * activation epilogue), depthwise convolution, and batch-norm folding. */
#include "uad-ops.h"

#include "uad-gemm.h"
#include "uad-ops-private.h"
#include "uad-parallel.h"

#include <math.h>
#include <string.h>

static int
out_size (int in, int pad_before, int pad_after, int k, int stride)
{
  int span = in + pad_before + pad_after;
  return span >= k ? (span - k) / stride + 1 : 0;
}

int
uad_conv_out_h (const UadConvGeom *g, int h)
{
  return out_size (h, g->pad_top, g->pad_bottom, g->kh, g->stride);
}

int
uad_conv_out_w (const UadConvGeom *g, int w)
{
  return out_size (w, g->pad_left, g->pad_right, g->kw, g->stride);
}

void
uad_same_padding (int in, int k, int stride, int *pad_before, int *pad_after)
{
  int out = (in + stride - 1) / stride;
  int total = MAX ((out - 1) * stride + k - in, 0);
  *pad_before = total / 2;
  *pad_after = total - total / 2;
}

static gboolean
is_pointwise (const UadConvGeom *g)
{
  return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->pad_top == 0 && g->pad_bottom == 0
         && g->pad_left == 0 && g->pad_right == 0;
}

size_t
uad_conv2d_scratch_floats (const UadConvGeom *g, int cin, int h, int w)
{
  if (is_pointwise (g))
    return 0;
  return (size_t) cin * g->kh * g->kw * uad_conv_out_h (g, h) * uad_conv_out_w (g, w);
}

/* ---- Dense convolution: C[m, n] = act(W[m, k] B[k, n] + bias) (+ add) ---- */

typedef struct {
  const float *w, *gate, *b, *bias, *add;
  float *c, *scratch;
  int m, n, k, tile;
  gboolean by_columns; /* tiles are column blocks of C, else row blocks */
  UadActivation act;
} GemmAct;

/* Output floats per GEMM tile: the tile's result is still in L2 for the epilogue. */
#define GEMM_TILE_FLOATS (64 * 1024)

/* c[i, j] = act(c[i, j] + bias[i]) (+ add[i, j]) over an m x n block, rows ldc apart. */
UAD_VECTOR_CLONES static void
epilogue_block (float *c, const float *add, int ldc, int m, int n, const float *bias,
                UadActivation act)
{
  gboolean avx512 = uad_avx512_available ();
  for (int i = 0; i < m; i++)
    {
      float *row = c + (size_t) i * ldc, b = bias != NULL ? bias[i] : 0.0f;
      if (bias != NULL || act != UAD_ACT_NONE)
        {
          if (avx512)
            uad_avx512_bias_act (row, row, n, b, act);
          else
            uad_bias_act_row (row, row, n, b, act);
        }
      if (add != NULL)
        {
          const float *restrict a = add + (size_t) i * ldc;
          for (int j = 0; j < n; j++)
            row[j] += a[j];
        }
    }
}

/* scaled[o, i] = weight[o, i] * gate[i] */
UAD_VECTOR_CLONES static void
scale_columns (float *restrict scaled, const float *restrict weight, const float *restrict gate,
               int rows, int cols)
{
  for (int o = 0; o < rows; o++)
    for (int i = 0; i < cols; i++)
      scaled[(size_t) o * cols + i] = weight[(size_t) o * cols + i] * gate[i];
}

static void
gemm_act_tiles (int64_t begin, int64_t end, int worker, void *ctx)
{
  const GemmAct *g = ctx;
  for (int64_t t = begin; t < end; t++)
    {
      /* Called from a pool worker, uad_sgemm runs serially in it (uad-parallel.h). */
      int first = (int) t * g->tile;
      int rows = g->m, cols = g->n;
      size_t at;
      if (g->by_columns)
        {
          cols = MIN (g->tile, g->n - first);
          at = (size_t) first;
          uad_sgemm (FALSE, FALSE, g->m, cols, g->k, 1.0f, g->w, g->k, g->b + first, g->n, 0.0f,
                     g->c + at, g->n);
        }
      else
        {
          rows = MIN (g->tile, g->m - first);
          at = (size_t) first * g->n;
          const float *w = g->w + (size_t) first * g->k;
          if (g->gate != NULL)
            {
              /* A row block gates only its own rows of the weights. */
              float *scaled = g->scratch + (size_t) first * g->k;
              scale_columns (scaled, w, g->gate, rows, g->k);
              w = scaled;
            }
          uad_sgemm (FALSE, FALSE, rows, g->n, g->k, 1.0f, w, g->k, g->b, g->n, 0.0f, g->c + at,
                     g->n);
        }
      const float *bias = g->bias != NULL && !g->by_columns ? g->bias + first : g->bias;
      if (g->bias != NULL || g->act != UAD_ACT_NONE || g->add != NULL)
        epilogue_block (g->c + at, g->add != NULL ? g->add + at : NULL, g->n, rows, cols, bias,
                        g->act);
    }
}

/* C = act((W diag(gate)) B + bias) + add; gate, bias and add may be NULL. scratch (m x k floats)
 * holds the gated weights when the kernel that runs cannot fold the gate in itself. */
static void
gemm_act (const float *w, const float *gate, const float *b, const float *bias, const float *add,
          float *c, int m, int n, int k, UadActivation act, float *scratch)
{
  if (uad_avx512_available () && uad_avx512_gemm_act (w, gate, b, bias, add, c, m, n, k, act))
    return;
  /* Tiles cut the larger side of C, like uad_sgemm: each GEMM call packs the whole of the other
   * operand, so cutting the weights' side when it is the larger one keeps that packing from
   * being repeated per tile. There are as many tiles per thread as it takes to keep each one's
   * result in L2, the same number for every thread, each a multiple of 16 wide. */
  int threads = uad_parallel_get_threads ();
  gboolean by_columns = n >= m;
  int side = by_columns ? n : m;
  int64_t per_thread = ((int64_t) m * n + (int64_t) threads * GEMM_TILE_FLOATS - 1)
                       / ((int64_t) threads * GEMM_TILE_FLOATS);
  int64_t tiles = threads * MAX (per_thread, (int64_t) 1);
  int tile = (int) ((side + tiles - 1) / tiles + 15) / 16 * 16;
  if (gate != NULL && by_columns)
    {
      /* Every column block needs all the weights: gate them once (m <= n keeps this small). */
      scale_columns (scratch, w, gate, m, k);
      w = scratch;
      gate = NULL;
    }
  GemmAct g = { w, gate, b, bias, add, c, scratch, m, n, k, tile, by_columns, act };
  uad_parallel_for ((side + tile - 1) / tile, 1, gemm_act_tiles, &g);
}

typedef struct {
  const float *in;
  float *col;
  int h, w, ho, wo;
  const UadConvGeom *g;
} Im2col;

/* Rows (ci, ky, kx) of the im2col matrix: row[oy * wo + ox] = in[ci, oy s + ky - pt, ox s + kx - pl]
 * or 0 in the padding. */
static void
im2col_rows (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Im2col *p = ctx;
  const UadConvGeom *g = p->g;
  int s = g->stride;
  for (int64_t r = begin; r < end; r++)
    {
      int kx = (int) (r % g->kw), ky = (int) (r / g->kw % g->kh), ci = (int) (r / g->kw / g->kh);
      const float *plane = p->in + (size_t) ci * p->h * p->w;
      float *dst = p->col + (size_t) r * p->ho * p->wo;
      int dx = kx - g->pad_left;
      /* Output columns whose input column dx + ox s lies inside [0, w). */
      int ox_lo = MIN (dx < 0 ? (-dx + s - 1) / s : 0, p->wo);
      int ox_hi = CLAMP (p->w - dx > 0 ? (p->w - dx - 1) / s + 1 : 0, ox_lo, p->wo);
      for (int oy = 0; oy < p->ho; oy++)
        {
          float *d = dst + (size_t) oy * p->wo;
          int iy = oy * s + ky - g->pad_top;
          if (iy < 0 || iy >= p->h)
            {
              memset (d, 0, (size_t) p->wo * sizeof (float));
              continue;
            }
          const float *row = plane + (size_t) iy * p->w;
          for (int ox = 0; ox < ox_lo; ox++)
            d[ox] = 0.0f;
          for (int ox = ox_lo; ox < ox_hi; ox++)
            d[ox] = row[ox * s + dx];
          for (int ox = ox_hi; ox < p->wo; ox++)
            d[ox] = 0.0f;
        }
    }
}

void
uad_conv2d (const UadTensor *in, const UadTensor *weight, const float *bias,
            const UadConvGeom *g, UadActivation act, UadTensor *out, float *scratch)
{
  g_return_if_fail (in->ndim == 4 && weight->ndim == 4 && out->ndim == 4);
  int n = (int) in->shape[0], cin = (int) in->shape[1], h = (int) in->shape[2], w = (int) in->shape[3];
  int cout = (int) weight->shape[0], ho = uad_conv_out_h (g, h), wo = uad_conv_out_w (g, w);
  g_return_if_fail (g->stride >= 1 && weight->shape[1] == cin);
  g_return_if_fail (weight->shape[2] == g->kh && weight->shape[3] == g->kw);
  g_return_if_fail (out->shape[0] == n && out->shape[1] == cout);
  g_return_if_fail (out->shape[2] == ho && out->shape[3] == wo);
  g_return_if_fail ((int64_t) ho * wo <= G_MAXINT && (int64_t) cin * g->kh * g->kw <= G_MAXINT);
  gboolean direct = is_pointwise (g);
  g_return_if_fail (direct || scratch != NULL);

  int k = cin * g->kh * g->kw;
  for (int img = 0; img < n; img++)
    {
      const float *src = in->data + (size_t) img * cin * h * w;
      if (!direct)
        {
          Im2col p = { src, scratch, h, w, ho, wo, g };
          uad_parallel_for (k, 1, im2col_rows, &p);
          src = scratch;
        }
      gemm_act (weight->data, NULL, src, bias, NULL, out->data + (size_t) img * cout * ho * wo,
                cout, ho * wo, k, act, NULL);
    }
}

size_t
uad_conv2d_pointwise_gated_scratch_floats (const UadTensor *weight)
{
  return (size_t) uad_tensor_numel (weight);
}

void
uad_conv2d_pointwise_gated (const UadTensor *in, const UadTensor *weight, const float *gate,
                            const float *bias, UadActivation act, const UadTensor *residual,
                            UadTensor *out, float *scratch)
{
  g_return_if_fail (in->ndim == 4 && weight->ndim == 4 && out->ndim == 4);
  int n = (int) in->shape[0], cin = (int) in->shape[1];
  int cout = (int) weight->shape[0], hw = (int) (in->shape[2] * in->shape[3]);
  g_return_if_fail (weight->shape[1] == cin && weight->shape[2] == 1 && weight->shape[3] == 1);
  g_return_if_fail (out->shape[0] == n && out->shape[1] == cout);
  g_return_if_fail (out->shape[2] == in->shape[2] && out->shape[3] == in->shape[3]);
  g_return_if_fail (residual == NULL || uad_tensor_numel (residual) == uad_tensor_numel (out));
  g_return_if_fail (gate == NULL || scratch != NULL);
  for (int img = 0; img < n; img++)
    {
      size_t at = (size_t) img * cout * hw;
      gemm_act (weight->data, gate != NULL ? gate + (size_t) img * cin : NULL,
                in->data + (size_t) img * cin * hw, bias,
                residual != NULL ? residual->data + at : NULL, out->data + at, cout, hw, cin, act,
                scratch);
    }
}

/* ---- Depthwise convolution ---- */

/* Each plane is processed in output tiles. A tile's input window, zero padding included, is
 * copied into a buffer as stride x stride phase planes (plane (a, b) holds the window's rows
 * a, a + s, ... and columns b, b + s, ...). In that layout every tap of every output is a
 * unit-stride read at a fixed offset, so all outputs of the tile form one flat vectorisable
 * loop without border cases; the few columns at the end of each row that wrap around are
 * computed and dropped.
 *
 * Rows are short (14 floats at the end of EfficientNet), and without masked stores the
 * compiler finishes every short row with scalar code. So the bias and activation run over
 * the tile's flat sums, and window and output rows are copied in whole chunks of 16 floats:
 * a chunk may run past the end of a row ("spill") into memory that is written again later in
 * the same pass; a row whose spill could reach memory that is not (another tile's output,
 * past the input tensor) takes an exact path instead. */
#define DW_WINDOW_FLOATS 3072 /* two windows and the sums stay in L1 */
#define CHUNK 16
#define DW_SLACK (2 * CHUNK) /* past each phase plane: spilled chunks and the rounded-up run */
#define DW_MAX_KERNEL 32
#define DW_MAX_STRIDE 4

typedef struct {
  const float *in, *in_end, *weight, *bias;
  float *out, *means; /* means: per plane, or NULL */
  int c, h, w, ho, wo;
  int kh, kw, s, pad_top, pad_left;
  int tile_h, tile_w; /* output tile */
  UadActivation act;
} Depthwise;

static int
round_chunk (int n)
{
  return (n + CHUNK - 1) / CHUNK * CHUNK;
}

/* dst[j] = sum over taps (ky, kx) of w[ky kw + kx] times the window value at phase plane
 * (ky % s, kx % s), row ky / s, column kx / s, plus j; for j < len. With constant kh, kw and
 * s the loops over taps unroll into registers: one base pointer per (kernel row, column
 * phase), and one partial sum per kernel row, so no long chain of dependent multiply-adds
 * limits the vectorised loop over j. */
UAD_ALWAYS_INLINE void
dw_span (float *restrict dst, const float *restrict win, ptrdiff_t len, ptrdiff_t ld,
         ptrdiff_t plane, const float *restrict w, int kh, int kw, int s)
{
  const float *rows[DW_MAX_KERNEL * DW_MAX_STRIDE];
  for (int ky = 0; ky < kh; ky++)
    for (int b = 0; b < s; b++)
      rows[ky * s + b] = win + (ky % s * s + b) * plane + ky / s * ld;
  for (ptrdiff_t j = 0; j < len; j++)
    {
      float part[DW_MAX_KERNEL];
      for (int ky = 0; ky < kh; ky++)
        {
          float acc = 0.0f;
          for (int kx = 0; kx < kw; kx++)
            acc += w[ky * kw + kx] * rows[ky * s + kx % s][kx / s + j];
          part[ky] = acc;
        }
      float total = 0.0f;
      for (int ky = 0; ky < kh; ky++)
        total += part[ky];
      dst[j] = total;
    }
}

/* dw_span specialised for the kernels the backbones use. A function of its own: inlined into
 * the larger tile loop, the compiler runs out of registers for the tap addresses. */
UAD_VECTOR_CLONES static void
dw_span_any (float *restrict dst, const float *restrict win, ptrdiff_t len, ptrdiff_t ld,
             ptrdiff_t plane, const float *restrict w, int kh, int kw, int s)
{
  if (kh == 3 && kw == 3 && s == 1)
    dw_span (dst, win, len, ld, plane, w, 3, 3, 1);
  else if (kh == 3 && kw == 3 && s == 2)
    dw_span (dst, win, len, ld, plane, w, 3, 3, 2);
  else if (kh == 5 && kw == 5 && s == 1)
    dw_span (dst, win, len, ld, plane, w, 5, 5, 1);
  else if (kh == 5 && kw == 5 && s == 2)
    dw_span (dst, win, len, ld, plane, w, 5, 5, 2);
  else
    dw_span (dst, win, len, ld, plane, w, kh, kw, s);
}

UAD_ALWAYS_INLINE void
zero_chunks (float *dst, int begin, int end)
{
  for (int k = begin; k < end; k += CHUNK)
    memset (dst + k, 0, CHUNK * sizeof (float));
}

/* dst[i] = src[i s] for i < n, in whole chunks (writing up to CHUNK - 1 floats past n) when
 * the source may be read that far. */
UAD_ALWAYS_INLINE void
gather_row (float *restrict dst, const float *restrict src, int n, int s, gboolean whole_chunks)
{
  if (whole_chunks)
    for (int k = 0; k < n; k += CHUNK)
      for (int i = 0; i < CHUNK; i++)
        dst[k + i] = src[(k + i) * s];
  else
    for (int i = 0; i < n; i++)
      dst[i] = src[i * s];
}

/* Phase-plane geometry of a tile of th x tw outputs. */
static int
phase_w (const Depthwise *d, int tw)
{
  return tw + (d->kw - 1) / d->s;
}

static int
phase_h (const Depthwise *d, int th)
{
  return th + (d->kh - 1) / d->s;
}

static int
phase_plane_floats (const Depthwise *d, int th, int tw)
{
  return round_chunk (phase_h (d, th) * phase_w (d, tw) + DW_SLACK);
}

/* One output tile: rows [y0, y0 + th) x columns [x0, x0 + tw) of plane p. */
typedef struct {
  int64_t p;
  int y0, x0, th, tw;
} Tile;

static Tile
tile_at (const Depthwise *d, int64_t p, int y0, int x0)
{
  return (Tile) { p, y0, x0, MIN (d->tile_h, d->ho - y0), MIN (d->tile_w, d->wo - x0) };
}

/* The tile after t, in plane order; FALSE after the last tile of plane end - 1. */
static gboolean
tile_next (const Depthwise *d, const Tile *t, int64_t end, Tile *next)
{
  if (t->x0 + d->tile_w < d->wo)
    *next = tile_at (d, t->p, t->y0, t->x0 + d->tile_w);
  else if (t->y0 + d->tile_h < d->ho)
    *next = tile_at (d, t->p, t->y0 + d->tile_h, 0);
  else if (t->p + 1 < end)
    *next = tile_at (d, t->p + 1, 0, 0);
  else
    return FALSE;
  return TRUE;
}

/* Copies tile t's input window into phase planes; s is d->s, a constant where the backbones'
 * strides are dispatched. Rows are filled in order, each after the spills of those before. */
UAD_ALWAYS_INLINE void
dw_fill (const Depthwise *d, int s, const Tile *t, float *restrict window)
{
  const float *in = d->in + (size_t) t->p * d->h * d->w;
  int ld = phase_w (d, t->tw), plane = phase_plane_floats (d, t->th, t->tw);
  int win_w = (t->tw - 1) * s + d->kw, win_h = (t->th - 1) * s + d->kh;
  int iy0 = t->y0 * s - d->pad_top, ix0 = t->x0 * s - d->pad_left;
  /* Window columns [lo, hi) come from the input, the rest is padding. */
  int lo = CLAMP (-ix0, 0, win_w), hi = CLAMP (d->w - ix0, lo, win_w);
  for (int r = 0; r < win_h; r++)
    {
      int iy = iy0 + r;
      gboolean inside = iy >= 0 && iy < d->h;
      for (int b = 0; b < s; b++)
        {
          float *row = window + (r % s * s + b) * plane + r / s * ld;
          /* Phase columns i hold window column i s + b. */
          int n = (win_w - b + s - 1) / s;
          int i_lo = inside ? MIN ((lo - b + s - 1) / s, n) : n;
          int i_hi = inside ? MAX ((hi - b + s - 1) / s, i_lo) : n;
          zero_chunks (row, 0, i_lo);
          if (i_hi > i_lo)
            {
              const float *from = in + (size_t) iy * d->w + ix0 + i_lo * s + b;
              gboolean whole = d->in_end - from >= (ptrdiff_t) round_chunk (i_hi - i_lo) * s;
              gather_row (row + i_lo, from, i_hi - i_lo, s, whole);
            }
          zero_chunks (row, i_hi, n);
        }
    }
}

/* Convolves tile t from its filled window, then adds the bias, activates and stores. */
UAD_ALWAYS_INLINE void
dw_compute (const Depthwise *d, int s, const Tile *t, const float *restrict window,
            float *restrict sums)
{
  int ch = (int) (t->p % d->c), tw = t->tw;
  const float *w = d->weight + (size_t) ch * d->kh * d->kw;
  float *out = d->out + (size_t) t->p * d->ho * d->wo;
  int ld = phase_w (d, tw), plane = phase_plane_floats (d, t->th, tw);

  int len = round_chunk ((t->th - 1) * ld + round_chunk (tw));
  dw_span_any (sums, window, len, ld, plane, w, d->kh, d->kw, s);
  float bias = d->bias != NULL ? d->bias[ch] : 0.0f;
  if (uad_avx512_available ())
    uad_avx512_bias_act (sums, sums, len, bias, d->act);
  else
    uad_bias_act_row (sums, sums, len, bias, d->act);

  for (int y = 0; y < t->th; y++)
    {
      int oy = t->y0 + y;
      float *dst = out + (size_t) oy * d->wo + t->x0;
      const float *src = sums + y * ld;
      /* A full-width tile may spill into the plane's next rows; a narrower one only into the
       * next tile to its right. */
      gboolean spill_ok = tw == d->wo ? oy * d->wo + round_chunk (tw) <= d->ho * d->wo
                                      : t->x0 + round_chunk (tw) <= d->wo;
      if (spill_ok)
        for (int k = 0; k < tw; k += CHUNK)
          memcpy (dst + k, src + k, CHUNK * sizeof (float));
      else
        memcpy (dst, src, (size_t) tw * sizeof (float));
    }
}

/* Planes [begin, end), tile by tile. The next tile's window is filled before the current
 * one is convolved: reading a window right after writing it stalls on store forwarding (the
 * unaligned tap reads straddle the recent stores). */
UAD_ALWAYS_INLINE void
dw_run (const Depthwise *d, int s, int64_t begin, int64_t end)
{
  float windows[2][DW_WINDOW_FLOATS] __attribute__ ((aligned (64)));
  float sums[DW_WINDOW_FLOATS] __attribute__ ((aligned (64)));
  /* Phase-plane cells that no window value lands in are read by dropped outputs only; zero
   * them once so those reads see numbers. */
  memset (windows, 0, sizeof windows);
  Tile t = tile_at (d, begin, 0, 0), next;
  dw_fill (d, s, &t, windows[0]);
  for (int k = 0;; k ^= 1)
    {
      gboolean more = tile_next (d, &t, end, &next);
      if (more)
        dw_fill (d, s, &next, windows[k ^ 1]);
      dw_compute (d, s, &t, windows[k], sums);
      if (d->means != NULL && t.y0 + t.th == d->ho && t.x0 + t.tw == d->wo)
        d->means[t.p] = uad_mean (d->out + (size_t) t.p * d->ho * d->wo,
                                  (int64_t) d->ho * d->wo); /* the plane is still in cache */
      if (!more)
        break;
      t = next;
    }
}

UAD_VECTOR_CLONES static void
depthwise_planes (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Depthwise *d = ctx;
  if (d->s == 1)
    dw_run (d, 1, begin, end);
  else if (d->s == 2)
    dw_run (d, 2, begin, end);
  else
    dw_run (d, d->s, begin, end);
}

static void
depthwise_planes_avx512 (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Depthwise *d = ctx;
  size_t taps = (size_t) d->kh * d->kw;
  for (int64_t p = begin; p < end; p++)
    {
      int ch = (int) (p % d->c);
      uad_avx512_depthwise_plane (d->in + (size_t) p * d->h * d->w, d->h, d->w,
                                  d->weight + ch * taps, d->kh, d->kw, d->s, d->pad_top,
                                  d->pad_left, d->bias != NULL ? d->bias[ch] : 0.0f, d->act,
                                  d->out + (size_t) p * d->ho * d->wo, d->ho, d->wo,
                                  d->means != NULL ? d->means + p : NULL);
    }
}

static void
depthwise (const UadTensor *in, const UadTensor *weight, const float *bias,
           const UadConvGeom *g, UadActivation act, UadTensor *out, float *means)
{
  g_return_if_fail (in->ndim == 4 && weight->ndim == 4 && out->ndim == 4);
  g_return_if_fail (g->stride >= 1 && g->stride <= DW_MAX_STRIDE);
  g_return_if_fail (g->kh >= 1 && g->kw >= 1 && g->kh <= DW_MAX_KERNEL && g->kw <= DW_MAX_KERNEL);
  int c = (int) in->shape[1], h = (int) in->shape[2], w = (int) in->shape[3];
  g_return_if_fail (weight->shape[0] == c && weight->shape[1] == 1);
  g_return_if_fail (weight->shape[2] == g->kh && weight->shape[3] == g->kw);
  g_return_if_fail (out->shape[0] == in->shape[0] && out->shape[1] == c);
  g_return_if_fail (out->shape[2] == uad_conv_out_h (g, h) && out->shape[3] == uad_conv_out_w (g, w));

  Depthwise d = {
    in->data, in->data + uad_tensor_numel (in), weight->data, bias, out->data, means,
    c, h, w, (int) out->shape[2], (int) out->shape[3],
    g->kh, g->kw, g->stride, g->pad_top, g->pad_left, 0, 0, act,
  };
  if (d.ho == 0 || d.wo == 0)
    {
      if (means != NULL)
        memset (means, 0, (size_t) (in->shape[0] * c) * sizeof (float));
      return;
    }
  /* The widest tile whose s x s phase planes fit the window buffer with one row of outputs,
   * then as many rows as fit. The sums (one flat run per tile) never outgrow one phase plane. */
  int s = g->stride, per_plane = DW_WINDOW_FLOATS / (s * s) - DW_SLACK - (CHUNK - 1);
  d.tile_w = MIN (d.wo, per_plane / phase_h (&d, 1) - (g->kw - 1) / s);
  d.tile_h = CLAMP (per_plane / phase_w (&d, d.tile_w) - (g->kh - 1) / s, 1, d.ho);

  int64_t planes = in->shape[0] * c;
  int64_t work = (int64_t) d.ho * d.wo * g->kh * g->kw;
  gboolean direct = uad_avx512_available () && (d.s == 1 || d.s == 2)
                    && d.kh <= UAD_AVX512_DW_MAX_KERNEL && d.kw <= UAD_AVX512_DW_MAX_KERNEL;
  uad_parallel_for (planes, MAX ((int64_t) 1, 65536 / MAX (work, (int64_t) 1)),
                    direct ? depthwise_planes_avx512 : depthwise_planes, &d);
}

void
uad_depthwise_conv2d (const UadTensor *in, const UadTensor *weight, const float *bias,
                      const UadConvGeom *g, UadActivation act, UadTensor *out)
{
  depthwise (in, weight, bias, g, act, out, NULL);
}

void
uad_depthwise_conv2d_mean (const UadTensor *in, const UadTensor *weight, const float *bias,
                           const UadConvGeom *g, UadActivation act, UadTensor *out,
                           float *means)
{
  g_return_if_fail (means != NULL);
  depthwise (in, weight, bias, g, act, out, means);
}

/* ---- Batch-norm folding ---- */

void
uad_fold_batchnorm (float *weight, int64_t out_channels, int64_t per_channel, float *bias,
                    const float *gamma, const float *beta, const float *mean,
                    const float *var, float eps)
{
  for (int64_t o = 0; o < out_channels; o++)
    {
      double factor = (double) gamma[o] / sqrt ((double) var[o] + (double) eps);
      float *w = weight + o * per_channel;
      for (int64_t i = 0; i < per_channel; i++)
        w[i] = (float) (w[i] * factor);
      bias[o] = (float) (beta[o] + ((double) bias[o] - mean[o]) * factor);
    }
}
