/* SPDX-License-Identifier: Apache-2.0 */
/* uad-optim.h: UniAD's optimisation recipe (spec section 6) over one flat parameter buffer.
 *
 * AdamW exactly as torch.optim.AdamW (amsgrad off): decoupled weight decay p *= 1 - lr*wd, then
 * m = lerp(m, g, 1 - beta1), v = beta2 v + (1 - beta2) g^2, and
 * p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), elementwise in float with
 * the scalar factors in double, in torch's order of operations. Gradient clipping as
 * torch.nn.utils.clip_grad_norm_, and torch's StepLR schedule. */
#pragma once

#include "uad-safetensors.h"

#include <glib.h>
#include <stddef.h>

typedef struct {
  double beta1, beta2;  /* 0.9, 0.999 */
  double eps;           /* 1e-8 */
  double weight_decay;  /* 1e-4 */
} UadAdamWConfig;

/* UniAD's values (above). The learning rate is given to each step (see uad_step_lr). */
void uad_adamw_config_default (UadAdamWConfig *cfg);

typedef struct {
  UadAdamWConfig cfg;
  size_t n;
  gint64 step;      /* steps taken */
  float *exp_avg;   /* m [n] */
  float *exp_avg_sq; /* v [n] */
} UadAdamW;

UadAdamW *uad_adamw_new (const UadAdamWConfig *cfg, size_t n);
void uad_adamw_free (UadAdamW *opt);

/* One step at learning rate lr over params[n] with their gradients grads[n]. */
void uad_adamw_step (UadAdamW *opt, float *params, const float *grads, double lr);

/* Adds the state as prefix + "exp_avg" [n], "exp_avg_sq" [n] (F32) and "step" [1] (I64). */
void uad_adamw_save (const UadAdamW *opt, UadSafetensorsWriter *w, const char *prefix);
/* Restores what uad_adamw_save wrote; the sizes must match this optimizer's n. */
gboolean uad_adamw_load (UadAdamW *opt, UadSafetensors *st, const char *prefix, GError **error);

/* torch.nn.utils.clip_grad_norm_: total = ||grads||_2 over all n values; if
 * max_norm / (total + 1e-6) < 1, every gradient is multiplied by it. Returns total (before
 * clipping). */
double uad_clip_grad_norm (float *grads, size_t n, double max_norm);

/* torch.optim.lr_scheduler.StepLR: base_lr * gamma^floor(epoch / step_size), epoch counted from
 * 0 (UniAD: step_size 800, gamma 0.1). Note that UniAD's train_val.py calls
 * lr_scheduler.step(epoch) *after* epoch `epoch`, so its 0-based epoch e actually trains at
 * uad_step_lr (base, gamma, step, MAX (e - 1, 0)): the decay takes effect one epoch late. */
double uad_step_lr (double base_lr, double gamma, int step_size, int epoch);

/* Linear warm-up from 0 to peak_lr over the first `warmup` fraction of a run, then a half
 * cosine down to peak_lr * final_ratio at its end. fraction in [0, 1] is the share of the run
 * done (of its steps, or of its time budget). */
double uad_warmup_cosine_lr (double peak_lr, double fraction, double warmup, double final_ratio);
