/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-optim.h"

#include "uad-error.h"
#include "uad-parallel.h"
#include "uad-tensor.h"

#include <math.h>
#include <string.h>

#define MIN_ELEMS 16384

void
uad_adamw_config_default (UadAdamWConfig *cfg)
{
  *cfg = (UadAdamWConfig) { .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-4 };
}

UadAdamW *
uad_adamw_new (const UadAdamWConfig *cfg, size_t n)
{
  UadAdamW *opt = g_new0 (UadAdamW, 1);
  opt->cfg = *cfg;
  opt->n = n;
  opt->exp_avg = uad_alloc_floats (n);
  opt->exp_avg_sq = uad_alloc_floats (n);
  return opt;
}

void
uad_adamw_free (UadAdamW *opt)
{
  if (opt == NULL)
    return;
  uad_free_aligned (opt->exp_avg);
  uad_free_aligned (opt->exp_avg_sq);
  g_free (opt);
}

typedef struct {
  float *p, *m, *v;
  const float *g;
  float decay, one_minus_beta1, beta2, one_minus_beta2, bias2_sqrt, eps, neg_step_size;
} Step;

/* torch's single-tensor AdamW, elementwise, each operation rounded to float as torch's CPU
 * kernels do: mul_, lerp_ (weight < 0.5: m + w (g - m)), mul_ + addcmul_, sqrt / bc2 + eps,
 * addcdiv_ ((value * m) / denom). */
static void
step_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Step *s = ctx;
  for (int64_t i = begin; i < end; i++)
    {
      float g = s->g[i];
      float p = s->p[i] * s->decay;
      float m = s->m[i] + s->one_minus_beta1 * (g - s->m[i]);
      float v = s->v[i] * s->beta2;
      v = v + s->one_minus_beta2 * g * g;
      float denom = sqrtf (v) / s->bias2_sqrt + s->eps;
      s->p[i] = p + s->neg_step_size * m / denom;
      s->m[i] = m;
      s->v[i] = v;
    }
}

void
uad_adamw_step (UadAdamW *opt, float *params, const float *grads, double lr)
{
  const UadAdamWConfig *c = &opt->cfg;
  opt->step++;
  double bias1 = 1.0 - pow (c->beta1, (double) opt->step);
  double bias2 = 1.0 - pow (c->beta2, (double) opt->step);
  Step s = {
    .p = params, .m = opt->exp_avg, .v = opt->exp_avg_sq, .g = grads,
    .decay = (float) (1.0 - lr * c->weight_decay),
    .one_minus_beta1 = (float) (1.0 - c->beta1),
    .beta2 = (float) c->beta2,
    .one_minus_beta2 = (float) (1.0 - c->beta2),
    .bias2_sqrt = (float) sqrt (bias2),
    .eps = (float) c->eps,
    .neg_step_size = (float) (-(lr / bias1)),
  };
  uad_parallel_for ((int64_t) opt->n, MIN_ELEMS, step_range, &s);
}

void
uad_adamw_save (const UadAdamW *opt, UadSafetensorsWriter *w, const char *prefix)
{
  const char *pre = prefix != NULL ? prefix : "";
  g_autofree char *m_name = g_strconcat (pre, "exp_avg", NULL);
  g_autofree char *v_name = g_strconcat (pre, "exp_avg_sq", NULL);
  g_autofree char *step_name = g_strconcat (pre, "step", NULL);
  int64_t shape[1] = { (int64_t) opt->n };
  g_autoptr (UadTensor) m = uad_tensor_new_borrowed (opt->exp_avg, 1, shape);
  g_autoptr (UadTensor) v = uad_tensor_new_borrowed (opt->exp_avg_sq, 1, shape);
  uad_safetensors_writer_add_tensor (w, m_name, m);
  uad_safetensors_writer_add_tensor (w, v_name, v);
  gint64 step = GINT64_TO_LE (opt->step);
  uad_safetensors_writer_add_raw (w, step_name, UAD_DTYPE_I64, 1, (int64_t[]) { 1 }, &step,
                                  sizeof step);
}

gboolean
uad_adamw_load (UadAdamW *opt, UadSafetensors *st, const char *prefix, GError **error)
{
  const char *pre = prefix != NULL ? prefix : "";
  g_autofree char *m_name = g_strconcat (pre, "exp_avg", NULL);
  g_autofree char *v_name = g_strconcat (pre, "exp_avg_sq", NULL);
  g_autofree char *step_name = g_strconcat (pre, "step", NULL);
  int64_t shape[1] = { (int64_t) opt->n };
  g_autoptr (UadTensor) m = uad_safetensors_load (st, m_name, 1, shape, error);
  if (m == NULL)
    return FALSE;
  g_autoptr (UadTensor) v = uad_safetensors_load (st, v_name, 1, shape, error);
  if (v == NULL)
    return FALSE;
  UadDType dtype;
  int ndim;
  int64_t step_shape[UAD_SAFETENSORS_MAX_DIMS];
  size_t n_bytes = 0;
  const guint8 *data = uad_safetensors_get_data (st, step_name, &n_bytes);
  if (data == NULL || !uad_safetensors_get_info (st, step_name, &dtype, &ndim, step_shape)
      || dtype != UAD_DTYPE_I64 || n_bytes != sizeof (gint64))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "%s: the optimizer step count %s is missing or not a single I64",
                   uad_safetensors_get_path (st), step_name);
      return FALSE;
    }
  gint64 step;
  memcpy (&step, data, sizeof step);
  step = GINT64_FROM_LE (step);
  if (step < 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: negative optimizer step count %s",
                   uad_safetensors_get_path (st), step_name);
      return FALSE;
    }
  memcpy (opt->exp_avg, m->data, sizeof (float) * opt->n);
  memcpy (opt->exp_avg_sq, v->data, sizeof (float) * opt->n);
  opt->step = step;
  return TRUE;
}

/* The sum of squares is cut into a fixed number of blocks, summed in double in parallel and
 * combined in order: the result does not depend on the thread count. */
#define NORM_BLOCKS 256

typedef struct {
  const float *g;
  size_t n, block;
  double partial[NORM_BLOCKS];
  float scale;
  float *gw;
} Norm;

static void
norm_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  Norm *s = ctx;
  for (int64_t b = begin; b < end; b++)
    {
      size_t lo = (size_t) b * s->block, hi = MIN (lo + s->block, s->n);
      double acc = 0;
      for (size_t i = lo; i < hi; i++)
        acc += (double) s->g[i] * s->g[i];
      s->partial[b] = acc;
    }
}

static void
scale_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Norm *s = ctx;
  for (int64_t i = begin; i < end; i++)
    s->gw[i] *= s->scale;
}

double
uad_clip_grad_norm (float *grads, size_t n, double max_norm)
{
  Norm s = { .g = grads, .gw = grads, .n = n, .block = (n + NORM_BLOCKS - 1) / NORM_BLOCKS };
  if (n == 0)
    return 0.0;
  uad_parallel_for (NORM_BLOCKS, 1, norm_range, &s);
  double sum = 0;
  for (int b = 0; b < NORM_BLOCKS; b++)
    sum += s.partial[b];
  double total = sqrt (sum);
  double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    {
      s.scale = (float) coef;
      uad_parallel_for ((int64_t) n, MIN_ELEMS, scale_range, &s);
    }
  return total;
}

double
uad_step_lr (double base_lr, double gamma, int step_size, int epoch)
{
  g_return_val_if_fail (step_size > 0 && epoch >= 0, base_lr);
  return base_lr * pow (gamma, (double) (epoch / step_size));
}

double
uad_warmup_cosine_lr (double peak_lr, double fraction, double warmup, double final_ratio)
{
  fraction = CLAMP (fraction, 0.0, 1.0);
  if (fraction < warmup)
    return peak_lr * fraction / warmup;
  double decay = warmup < 1 ? (fraction - warmup) / (1 - warmup) : 1;
  double floor = peak_lr * final_ratio;
  return floor + (peak_lr - floor) * 0.5 * (1 + cos (G_PI * decay));
}
