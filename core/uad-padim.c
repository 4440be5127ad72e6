/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-padim.h"

#include "uad-error.h"
#include "uad-parallel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

struct UadPadim {
  int channels, positions;
  UadTensor *mean;   /* [P, C] */
  UadTensor *whiten; /* [P, C, C]: W = L^-1, lower-triangular */
};

UadPadim *
uad_padim_new (int channels, int positions)
{
  g_return_val_if_fail (channels >= 1 && positions >= 1, NULL);
  UadPadim *g = g_new0 (UadPadim, 1);
  g->channels = channels;
  g->positions = positions;
  g->mean = uad_tensor_new_2d (positions, channels);
  g->whiten = uad_tensor_new_3d (positions, channels, channels);
  return g;
}

void
uad_padim_free (UadPadim *g)
{
  if (g == NULL)
    return;
  uad_tensor_free (g->mean);
  uad_tensor_free (g->whiten);
  g_free (g);
}

int
uad_padim_get_channels (const UadPadim *g)
{
  return g->channels;
}

/* ---- fitting ------------------------------------------------------------------------------ */

typedef struct {
  UadPadim *g;
  const float *features; /* [N, C, P] */
  const int *images;
  int n_images;
  double ridge;
  gint failed_position;  /* the first position whose covariance was not positive definite, or -1 */
} Fit;

/* In place, the lower triangle of s [c, c] becomes L with s = L L^T (Cholesky-Banachiewicz, in
 * double). FALSE when a pivot is not positive (s is not positive definite, or not finite). */
static gboolean
cholesky (double *s, int c)
{
  for (int i = 0; i < c; i++)
    for (int j = 0; j <= i; j++)
      {
        double v = s[(size_t) i * c + j] - cblas_ddot (j, s + (size_t) i * c, 1, s + (size_t) j * c, 1);
        if (i > j)
          s[(size_t) i * c + j] = v / s[(size_t) j * c + j];
        else if (v > 0 && isfinite (v))
          s[(size_t) i * c + i] = sqrt (v);
        else
          return FALSE;
      }
  return TRUE;
}

/* W as the file keeps it: in half precision, so that the Gaussians scored right after fitting
 * and after a reload are the same, bit for bit. The ridge bounds |W| by 1 / sqrt (ridge) = 10,
 * well inside the half range; its relative precision, 2^-11, moves distances by less than that. */
static float
round_to_half (double v)
{
  return uad_half_to_float (uad_half_from_float ((float) v));
}

static void
fit_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  Fit *f = ctx;
  int c = f->g->channels, m = f->n_images, positions = f->g->positions;
  g_autofree double *x = g_new (double, (size_t) m * c);
  g_autofree double *s = g_new (double, (size_t) c * c);
  g_autofree double *w = g_new (double, (size_t) c * c);
  g_autofree double *mu = g_new (double, c);
  for (int64_t p = begin; p < end; p++)
    {
      /* Two passes: the mean, then the covariance of the centred vectors (no cancellation). */
      memset (mu, 0, c * sizeof *mu);
      for (int i = 0; i < m; i++)
        {
          const float *img = f->features + (size_t) f->images[i] * c * positions + p;
          for (int k = 0; k < c; k++)
            {
              x[(size_t) i * c + k] = img[(size_t) k * positions];
              mu[k] += x[(size_t) i * c + k];
            }
        }
      for (int k = 0; k < c; k++)
        mu[k] /= m;
      for (int i = 0; i < m; i++)
        for (int k = 0; k < c; k++)
          x[(size_t) i * c + k] -= mu[k];
      /* The unbiased covariance (numpy.cov's, as PaDiM uses); one image has none but the ridge. */
      cblas_dsyrk (CblasRowMajor, CblasLower, CblasTrans, c, m, 1.0 / MAX (m - 1, 1), x, c, 0.0, s, c);
      for (int k = 0; k < c; k++)
        s[(size_t) k * c + k] += f->ridge;
      if (!cholesky (s, c))
        {
          g_atomic_int_compare_and_exchange (&f->failed_position, -1, (gint) p);
          return;
        }
      /* W = L^-1 by solving L W = I. */
      memset (w, 0, (size_t) c * c * sizeof *w);
      for (int k = 0; k < c; k++)
        w[(size_t) k * c + k] = 1;
      cblas_dtrsm (CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, c, c, 1.0, s,
                   c, w, c);
      float *mean = f->g->mean->data + (size_t) p * c;
      float *whiten = f->g->whiten->data + (size_t) p * c * c;
      for (int k = 0; k < c; k++)
        {
          mean[k] = (float) mu[k];
          for (int j = 0; j < c; j++)
            whiten[(size_t) k * c + j] = j <= k ? round_to_half (w[(size_t) k * c + j]) : 0.0f;
          /* Only features beyond 10^7 could push the diagonal out of half precision. */
          if (!(whiten[(size_t) k * c + k] > 0) || !isfinite (whiten[(size_t) k * c + k]))
            {
              g_atomic_int_compare_and_exchange (&f->failed_position, -1, (gint) p);
              return;
            }
        }
    }
}

gboolean
uad_padim_fit (UadPadim *g, const UadTensor *features, const int *images, int n_images,
               double ridge, GError **error)
{
  g_return_val_if_fail (features->ndim == 4 && features->shape[1] == g->channels
                        && features->shape[2] * features->shape[3] == g->positions, FALSE);
  if (n_images < 1)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID, "PaDiM needs at least one training image");
      return FALSE;
    }
  Fit f = { g, features->data, images, n_images, ridge, -1 };
  uad_parallel_for (g->positions, 1, fit_range, &f);
  if (f.failed_position >= 0)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_INVALID,
                   "the features' covariance at position %d is not positive definite even with "
                   "the ridge %g, or too large for half precision (are some features not "
                   "finite?)", f.failed_position, ridge);
      return FALSE;
    }
  return TRUE;
}

/* ---- distances ---------------------------------------------------------------------------- */

typedef struct {
  const UadPadim *g;
  const float *features; /* [n, C, P] */
  int n;
  float *scratch;        /* [P, n, C] */
  float *dist;           /* [n, P] */
} Distance;

static void
distance_range (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Distance *d = ctx;
  int c = d->g->channels, n = d->n, positions = d->g->positions;
  for (int64_t p = begin; p < end; p++)
    {
      const float *mean = d->g->mean->data + (size_t) p * c;
      float *y = d->scratch + (size_t) p * n * c;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
          y[(size_t) i * c + k] = d->features[((size_t) i * c + k) * positions + p] - mean[k];
      /* Every row y_i := W y_i, i.e. y := y W^T. */
      cblas_strmm (CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, c, 1.0f,
                   d->g->whiten->data + (size_t) p * c * c, c, y, c);
      for (int i = 0; i < n; i++)
        {
          double sq = 0;
          for (int k = 0; k < c; k++)
            sq += (double) y[(size_t) i * c + k] * y[(size_t) i * c + k];
          d->dist[(size_t) i * positions + p] = (float) sqrt (sq);
        }
    }
}

size_t
uad_padim_scratch_size (const UadPadim *g, int n)
{
  return (size_t) g->positions * n * g->channels;
}

void
uad_padim_distance (const UadPadim *g, const float *features, int n, float *scratch, float *dist)
{
  Distance d = { g, features, n, scratch, dist };
  uad_parallel_for (g->positions, 1, distance_range, &d);
}

/* ---- file --------------------------------------------------------------------------------- */

int64_t
uad_padim_stored_params (int channels, int positions)
{
  return (int64_t) positions * (channels + (int64_t) channels * (channels + 1) / 2);
}

void
uad_padim_save (const UadPadim *g, UadSafetensorsWriter *w, const char *prefix)
{
  int c = g->channels;
  int64_t packed = (int64_t) c * (c + 1) / 2;
  g_autofree char *mean = g_strconcat (prefix, "mean", NULL);
  g_autofree char *whiten = g_strconcat (prefix, "cholesky_inverse_packed", NULL);
  g_autofree guint16 *halves = g_new (guint16, g->positions * packed);
  guint16 *out = halves;
  for (int p = 0; p < g->positions; p++)
    for (int i = 0; i < c; i++)
      for (int j = 0; j <= i; j++)
        *out++ = uad_half_from_float (g->whiten->data[((size_t) p * c + i) * c + j]);
  uad_safetensors_writer_add_tensor (w, mean, g->mean);
  uad_safetensors_writer_add_raw (w, whiten, UAD_DTYPE_F16, 2,
                                  (int64_t[]) { g->positions, packed }, halves,
                                  (size_t) (g->positions * packed) * sizeof *halves);
}

static gboolean
all_finite (const UadTensor *t, UadSafetensors *st, const char *name, GError **error)
{
  int64_t n = uad_tensor_numel (t);
  for (int64_t i = 0; i < n; i++)
    if (!isfinite (t->data[i]))
      {
        g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "%s: tensor %s has a non-finite value",
                     uad_safetensors_get_path (st), name);
        return FALSE;
      }
  return TRUE;
}

/* A Cholesky factor's inverse has a positive diagonal and nothing above it; anything else would
 * give distances that are not Mahalanobis distances. */
static gboolean
check_triangular (const UadTensor *t, UadSafetensors *st, const char *name, GError **error)
{
  int64_t positions = t->shape[0], c = t->shape[1];
  for (int64_t p = 0; p < positions; p++)
    for (int64_t i = 0; i < c; i++)
      {
        const float *row = t->data + (p * c + i) * c;
        gboolean above = FALSE;
        for (int64_t j = i + 1; j < c; j++)
          above |= row[j] != 0;
        if (!(row[i] > 0) || above)
          {
            g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                         "%s: tensor %s is not the inverse of a Cholesky factor at position %"
                         G_GINT64_FORMAT ", row %" G_GINT64_FORMAT " (%s)",
                         uad_safetensors_get_path (st), name, p, i,
                         above ? "values above the diagonal" : "a diagonal value not above 0");
            return FALSE;
          }
      }
  return TRUE;
}

/* W [P, C, C] from the packed lower triangle (this program's files) or, in files written
 * before format 4, the full matrix. */
static UadTensor *
load_whiten (const UadPadim *g, UadSafetensors *st, const char *prefix, char **name,
             GError **error)
{
  int c = g->channels;
  *name = g_strconcat (prefix, "cholesky_inverse_packed", NULL);
  if (!uad_safetensors_get_info (st, *name, NULL, NULL, NULL))
    {
      g_free (*name);
      *name = g_strconcat (prefix, "cholesky_inverse", NULL);
      return uad_safetensors_load (st, *name, 3, (int64_t[]) { g->positions, c, c }, error);
    }
  int64_t packed = (int64_t) c * (c + 1) / 2;
  g_autoptr (UadTensor) t = uad_safetensors_load (st, *name, 2,
                                                  (int64_t[]) { g->positions, packed }, error);
  if (t == NULL)
    return NULL;
  UadTensor *whiten = uad_tensor_new_3d (g->positions, c, c); /* zeroed: the upper triangle */
  const float *in = t->data;
  for (int p = 0; p < g->positions; p++)
    for (int i = 0; i < c; i++)
      for (int j = 0; j <= i; j++)
        whiten->data[((size_t) p * c + i) * c + j] = *in++;
  return whiten;
}

gboolean
uad_padim_load (UadPadim *g, UadSafetensors *st, const char *prefix, GError **error)
{
  g_autofree char *mean_name = g_strconcat (prefix, "mean", NULL);
  g_autofree char *whiten_name = NULL;
  g_autoptr (UadTensor) mean = uad_safetensors_load (st, mean_name, 2,
                                                     (int64_t[]) { g->positions, g->channels }, error);
  if (mean == NULL || !all_finite (mean, st, mean_name, error))
    return FALSE;
  g_autoptr (UadTensor) whiten = load_whiten (g, st, prefix, &whiten_name, error);
  if (whiten == NULL || !all_finite (whiten, st, whiten_name, error)
      || !check_triangular (whiten, st, whiten_name, error))
    return FALSE;
  uad_tensor_free (g->mean);
  uad_tensor_free (g->whiten);
  g->mean = g_steal_pointer (&mean);
  g->whiten = g_steal_pointer (&whiten);
  return TRUE;
}
