/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-image.h"

#include "uad-error.h"
#include "uad-parallel.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

UadImage *
uad_image_new (int width, int height)
{
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  UadImage *img = g_new0 (UadImage, 1);
  img->width = width;
  img->height = height;
  img->rgb = g_malloc0 ((size_t) width * (size_t) height * 3);
  return img;
}

void
uad_image_free (UadImage *img)
{
  if (img == NULL)
    return;
  g_free (img->rgb);
  g_free (img);
}

/* ---- Decoding ---- */

/* libjpeg pads a JPEG that ends early with grey and only warns, and GdkPixbuf passes the image
 * on as if it were whole; PIL refuses such a file. Walk the marker structure (segments by their
 * length, so an embedded thumbnail's end marker is skipped; entropy-coded data up to the next
 * real marker) and require the end-of-image marker. */
static gboolean
jpeg_has_end_marker (const guint8 *d, gsize n)
{
  gsize i = 2; /* past SOI */
  while (i < n)
    {
      if (d[i] != 0xFF)
        {
          i++; /* entropy-coded data, or stray bytes libjpeg skips too */
          continue;
        }
      while (i < n && d[i] == 0xFF) /* fill bytes */
        i++;
      if (i >= n)
        return FALSE;
      guint8 m = d[i++];
      if (m == 0xD9)
        return TRUE;
      /* Stuffed 0xFF in entropy-coded data, restart markers, and the other markers without a
       * length (SOI, TEM). */
      if (m == 0x00 || (m >= 0xD0 && m <= 0xD8) || m == 0x01)
        continue;
      if (i + 2 > n)
        return FALSE;
      gsize len = ((gsize) d[i] << 8) | d[i + 1];
      if (len < 2)
        return FALSE;
      i += len; /* the segment, including an SOS header; scan data follows */
    }
  return FALSE;
}

static gboolean
check_jpeg_complete (const char *path, GError **error)
{
  GError *local = NULL;
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot read image %s: %s", path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  if (!jpeg_has_end_marker ((const guint8 *) g_mapped_file_get_contents (map),
                            g_mapped_file_get_length (map)))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                   "%s is a truncated or corrupt JPEG file "
                   "(its data ends before the end-of-image marker)", path);
      return FALSE;
    }
  return TRUE;
}

/* gdk_pixbuf_get_file_info does not say why it failed: tell a missing or unreadable file (an I/O
 * error) from one that is not an image. */
static void
set_unrecognised_error (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "%s is a folder, not an image file", path);
      return;
    }
  FILE *f = g_fopen (path, "rb");
  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot open image %s: %s", path,
                   g_strerror (saved));
      return;
    }
  gboolean empty = fgetc (f) == EOF;
  fclose (f);
  if (empty)
    g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "image file %s is empty", path);
  else
    g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT,
                 "%s is not an image file in a format that can be read (PNG, JPEG, BMP, TIFF, ...)",
                 path);
}

UadImage *
uad_image_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The header alone: refuse huge images before any pixel memory is allocated. */
  int width = -1, height = -1;
  GdkPixbufFormat *format = gdk_pixbuf_get_file_info (path, &width, &height);
  if (format == NULL || width <= 0 || height <= 0)
    {
      set_unrecognised_error (path, error);
      return NULL;
    }
  if ((gint64) width * height > UAD_IMAGE_MAX_PIXELS)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "image %s is %d x %d (%.1f megapixels); images over %d megapixels are refused",
                   path, width, height, (double) width * height / 1e6,
                   UAD_IMAGE_MAX_PIXELS / 1000000);
      return NULL;
    }
  g_autofree char *format_name = gdk_pixbuf_format_get_name (format);
  if (g_strcmp0 (format_name, "jpeg") == 0 && !check_jpeg_complete (path, error))
    return NULL;

  GError *local = NULL;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &local);
  if (pixbuf == NULL)
    {
      gboolean io = local->domain == G_FILE_ERROR;
      g_set_error (error, UAD_ERROR, io ? UAD_ERROR_IO : UAD_ERROR_FORMAT,
                   "cannot decode image %s: %s", path, local->message);
      g_error_free (local);
      return NULL;
    }

  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB
      || gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || (n_channels != 3 && n_channels != 4))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED,
                   "image %s decodes to an unexpected pixel layout (%d channels of %d bits)", path,
                   n_channels, gdk_pixbuf_get_bits_per_sample (pixbuf));
      return NULL;
    }

  UadImage *img = uad_image_new (gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf));
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  for (int y = 0; y < img->height; y++)
    {
      const guint8 *s = pixels + (size_t) y * stride;
      guint8 *d = img->rgb + (size_t) y * img->width * 3;
      if (n_channels == 3)
        memcpy (d, s, (size_t) img->width * 3);
      else /* drop alpha without compositing, as PIL's convert ("RGB") does */
        for (int x = 0; x < img->width; x++, s += 4, d += 3)
          memcpy (d, s, 3);
    }
  return img;
}

/* ---- Antialiased bilinear resize (Pillow's resampling convolution) ---- */

/* Fixed-point weights with 22 fraction bits: 8-bit samples times weights summing to ~1 stay well
 * inside int32, as in Pillow. */
#define PRECISION_BITS 22

/* The taps of one separable pass from in_size to out_size samples. */
typedef struct {
  int ksize;    /* stride of k: the most taps any output sample can use */
  int *first;   /* first source sample of each output sample */
  int *count;   /* number of taps each output sample uses */
  gint32 *k;    /* out_size * ksize weights */
} Taps;

static void
taps_init (Taps *t, int in_size, int out_size)
{
  /* The triangle filter has support 1 at scale 1; on downscale it is stretched by the scale
   * factor, so every source sample contributes (antialiasing). */
  double scale = (double) in_size / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = filterscale;
  double inv_filterscale = 1.0 / filterscale;

  t->ksize = (int) ceil (support) * 2 + 1;
  t->first = g_new (int, out_size);
  t->count = g_new (int, out_size);
  t->k = g_new0 (gint32, (size_t) out_size * t->ksize);
  g_autofree double *w = g_new (double, t->ksize);

  for (int i = 0; i < out_size; i++)
    {
      double center = (i + 0.5) * scale;
      /* Truncating casts, as Pillow rounds these bounds. */
      int lo = (int) (center - support + 0.5);
      int hi = (int) (center + support + 0.5);
      lo = MAX (lo, 0);
      hi = MIN (hi, in_size);
      double sum = 0.0;
      for (int j = lo; j < hi; j++)
        {
          double x = fabs ((j - center + 0.5) * inv_filterscale);
          w[j - lo] = x < 1.0 ? 1.0 - x : 0.0;
          sum += w[j - lo];
        }
      gint32 *k = t->k + (size_t) i * t->ksize;
      for (int j = 0; j < hi - lo; j++)
        {
          double v = sum != 0.0 ? w[j] / sum : w[j];
          k[j] = (gint32) (0.5 + v * (1 << PRECISION_BITS)); /* v >= 0 */
        }
      t->first[i] = lo;
      t->count[i] = hi - lo;
    }
}

static void
taps_clear (Taps *t)
{
  g_free (t->first);
  g_free (t->count);
  g_free (t->k);
}

static inline guint8
fixed_to_u8 (gint32 acc)
{
  return (guint8) CLAMP (acc >> PRECISION_BITS, 0, 255);
}

typedef struct {
  const Taps *taps;
  const guint8 *src;
  int src_width;
  guint8 *dst;
  int dst_width;
  /* Horizontal: the source row of destination row 0. Vertical: the taps' row number of src's
   * first row (the horizontal pass only produced the rows the vertical taps read). */
  int row_offset;
} Pass;

static void
horizontal_rows (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Pass *p = ctx;
  const Taps *t = p->taps;
  for (int64_t y = begin; y < end; y++)
    {
      const guint8 *s = p->src + (size_t) (y + p->row_offset) * p->src_width * 3;
      guint8 *d = p->dst + (size_t) y * p->dst_width * 3;
      for (int x = 0; x < p->dst_width; x++)
        {
          const gint32 *k = t->k + (size_t) x * t->ksize;
          const guint8 *sp = s + (size_t) t->first[x] * 3;
          gint32 r = 1 << (PRECISION_BITS - 1), g = r, b = r; /* +0.5: round to nearest */
          for (int j = 0; j < t->count[x]; j++, sp += 3)
            {
              r += sp[0] * k[j];
              g += sp[1] * k[j];
              b += sp[2] * k[j];
            }
          d[x * 3 + 0] = fixed_to_u8 (r);
          d[x * 3 + 1] = fixed_to_u8 (g);
          d[x * 3 + 2] = fixed_to_u8 (b);
        }
    }
}

static void
vertical_rows (int64_t begin, int64_t end, int worker, void *ctx)
{
  const Pass *p = ctx;
  const Taps *t = p->taps;
  size_t row_bytes = (size_t) p->dst_width * 3; /* same width in and out; channels independent */
  for (int64_t y = begin; y < end; y++)
    {
      const gint32 *k = t->k + (size_t) y * t->ksize;
      const guint8 *s = p->src + (size_t) (t->first[y] - p->row_offset) * row_bytes;
      guint8 *d = p->dst + (size_t) y * row_bytes;
      for (size_t i = 0; i < row_bytes; i++)
        {
          gint32 acc = 1 << (PRECISION_BITS - 1);
          for (int j = 0; j < t->count[y]; j++)
            acc += s[(size_t) j * row_bytes + i] * k[j];
          d[i] = fixed_to_u8 (acc);
        }
    }
}

static UadImage *
image_copy (const UadImage *src)
{
  UadImage *out = uad_image_new (src->width, src->height);
  memcpy (out->rgb, src->rgb, (size_t) src->width * src->height * 3);
  return out;
}

#define RESIZE_MIN_ROWS 16

UadImage *
uad_image_resize_bilinear (const UadImage *src, int width, int height)
{
  g_return_val_if_fail (src != NULL && width > 0 && height > 0, NULL);
  gboolean need_h = width != src->width;
  gboolean need_v = height != src->height;
  if (!need_h && !need_v)
    return image_copy (src);

  Taps vt = { 0 };
  taps_init (&vt, src->height, height);

  /* Horizontal first, over only the source rows the vertical pass will read. */
  g_autoptr (UadImage) tmp = NULL;
  const UadImage *vin = src;
  int row_offset = 0;
  if (need_h)
    {
      int first_row = vt.first[0];
      int last_row = vt.first[height - 1] + vt.count[height - 1];
      Taps ht = { 0 };
      taps_init (&ht, src->width, width);
      tmp = uad_image_new (width, last_row - first_row);
      Pass p = { &ht, src->rgb, src->width, tmp->rgb, width, first_row };
      uad_parallel_for (tmp->height, RESIZE_MIN_ROWS, horizontal_rows, &p);
      taps_clear (&ht);
      vin = tmp;
      row_offset = first_row;
    }

  UadImage *out;
  if (need_v)
    {
      out = uad_image_new (width, height);
      Pass p = { &vt, vin->rgb, vin->width, out->rgb, width, row_offset };
      uad_parallel_for (height, RESIZE_MIN_ROWS, vertical_rows, &p);
    }
  else
    out = g_steal_pointer (&tmp);
  taps_clear (&vt);
  return out;
}

/* ---- Nearest neighbour ---- */

/* Source index of each output sample; the position is accumulated in double, as Pillow's affine
 * scaling does, so halfway cases fall the same way. */
static int *
nearest_index (int in_size, int out_size)
{
  int *idx = g_new (int, out_size);
  double step = (double) in_size / out_size;
  double pos = step * 0.5;
  for (int i = 0; i < out_size; i++, pos += step)
    idx[i] = MIN ((int) pos, in_size - 1);
  return idx;
}

UadImage *
uad_image_resize_nearest (const UadImage *src, int width, int height)
{
  g_return_val_if_fail (src != NULL && width > 0 && height > 0, NULL);
  if (width == src->width && height == src->height)
    return image_copy (src);
  g_autofree int *xs = nearest_index (src->width, width);
  g_autofree int *ys = nearest_index (src->height, height);
  UadImage *out = uad_image_new (width, height);
  for (int y = 0; y < height; y++)
    {
      const guint8 *s = src->rgb + (size_t) ys[y] * src->width * 3;
      guint8 *d = out->rgb + (size_t) y * width * 3;
      for (int x = 0; x < width; x++)
        memcpy (d + x * 3, s + (size_t) xs[x] * 3, 3);
    }
  return out;
}

/* ---- Model input ---- */

void
uad_image_to_chw (const UadImage *img, UadNormalization norm, float *out)
{
  g_return_if_fail (img != NULL && out != NULL);
  static const float mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float std[3] = { 0.229f, 0.224f, 0.225f };
  size_t hw = (size_t) img->width * img->height;
  /* float32 throughout, in torchvision's order (p / 255, then - mean, then / std), so the
   * result is the reference's to the last bit. */
  for (int c = 0; c < 3; c++)
    {
      float *o = out + c * hw;
      const guint8 *p = img->rgb + c;
      if (norm == UAD_NORMALIZE_IMAGENET)
        for (size_t i = 0; i < hw; i++)
          o[i] = ((float) p[i * 3] / 255.0f - mean[c]) / std[c];
      else
        for (size_t i = 0; i < hw; i++)
          o[i] = ((float) p[i * 3] - 127.5f) / 127.5f;
    }
}

gboolean
uad_image_load_input (const char *path, int size, UadNormalization norm, float *out,
                      GError **error)
{
  g_return_val_if_fail (size > 0 && out != NULL, FALSE);
  g_autoptr (UadImage) img = uad_image_load (path, error);
  if (img == NULL)
    return FALSE;
  g_autoptr (UadImage) resized = uad_image_resize_bilinear (img, size, size);
  uad_image_to_chw (resized, norm, out);
  return TRUE;
}

static gboolean
mask_binarize (const char *path, const char *image_path, int size, guint8 *out, GError **error)
{
  g_return_val_if_fail (size > 0 && out != NULL, FALSE);
  g_autoptr (UadImage) img = uad_image_load (path, error);
  if (img == NULL)
    return FALSE;
  int width, height;
  if (image_path != NULL && gdk_pixbuf_get_file_info (image_path, &width, &height) != NULL
      && (width != img->width || height != img->height))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_MISMATCH,
                   "the mask %s is %dx%d pixels, but its image %s is %dx%d", path, img->width,
                   img->height, image_path, width, height);
      return FALSE;
    }
  /* Nearest neighbour picks pixels, so taking the luma after resizing is the same as before. */
  g_autoptr (UadImage) resized = uad_image_resize_nearest (img, size, size);
  for (size_t i = 0; i < (size_t) size * size; i++)
    {
      const guint8 *p = resized->rgb + i * 3;
      /* PIL's RGB -> L (ITU-R 601-2 luma, 16-bit fixed point); exact for grey masks. */
      guint32 luma = (p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16;
      out[i] = luma > 127;
    }
  return TRUE;
}

gboolean
uad_mask_load (const char *path, int size, guint8 *out, GError **error)
{
  return mask_binarize (path, NULL, size, out, error);
}

gboolean
uad_mask_load_for_image (const char *path, const char *image_path, int size, guint8 *out,
                         GError **error)
{
  return mask_binarize (path, image_path, size, out, error);
}

/* ---- Output ---- */

gboolean
uad_image_save_png (const UadImage *img, const char *path, GError **error)
{
  g_return_val_if_fail (img != NULL && path != NULL, FALSE);
  GError *local = NULL;
  /* The pixbuf only reads the pixels, so dropping const is safe. */
  g_autoptr (GdkPixbuf) pixbuf
      = gdk_pixbuf_new_from_data ((guint8 *) img->rgb, GDK_COLORSPACE_RGB, FALSE, 8, img->width,
                                  img->height, img->width * 3, NULL, NULL);
  g_autofree char *png = NULL;
  gsize png_len = 0;
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &png, &png_len, "png", &local, NULL))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot encode %s as PNG: %s", path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  /* CONSISTENT: written to a temporary file beside path, then renamed over it. */
  if (!g_file_set_contents_full (path, png, (gssize) png_len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0666, &local))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write PNG %s: %s", path,
                   local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}
