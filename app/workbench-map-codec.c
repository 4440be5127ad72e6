/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-map-codec.h"

#include <gio/gio.h>
#include <math.h>

#include "uad-error.h"

/* Feeds all of in through a zlib (de)compressor into out. */
static gboolean
convert_all (GConverter *conv, const guint8 *in, gsize in_len, GByteArray *out, GError **error)
{
  gsize done_in = 0;
  for (;;)
    {
      guint8 buf[16384];
      gsize read = 0, written = 0;
      GConverterResult r = g_converter_convert (conv, in + done_in, in_len - done_in, buf,
                                                sizeof buf, G_CONVERTER_INPUT_AT_END, &read,
                                                &written, error);
      if (r == G_CONVERTER_ERROR)
        return FALSE;
      done_in += read;
      g_byte_array_append (out, buf, written);
      if (r == G_CONVERTER_FINISHED)
        return TRUE;
    }
}

/* The stored form of a map (see the maps table): 16-bit steps between its min and max, as
 * differences along each row (smooth maps give small numbers, which zlib packs well). */
GByteArray *
workbench_map_encode (const float *map, int w, int h, double *lo, double *hi)
{
  gsize n = (gsize) w * h;
  float mn = map[0], mx = map[0];
  for (gsize i = 1; i < n; i++)
    mn = MIN (mn, map[i]), mx = MAX (mx, map[i]);
  double scale = mx > mn ? 65535.0 / ((double) mx - mn) : 0;
  g_autofree guint8 *raw = g_malloc (2 * n);
  for (int y = 0; y < h; y++)
    {
      guint16 prev = 0;
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          guint16 q = (guint16) lrint (((double) map[i] - mn) * scale);
          guint16 d = (guint16) (q - prev);
          raw[2 * i] = d & 0xff;
          raw[2 * i + 1] = d >> 8;
          prev = q;
        }
    }
  *lo = mn;
  *hi = mx;
  g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
  GByteArray *out = g_byte_array_sized_new (n / 2);
  /* Compression of memory cannot fail. */
  convert_all (G_CONVERTER (z), raw, 2 * n, out, NULL);
  return out;
}

float *
workbench_map_decode (const guint8 *data, gsize len, int w, int h, double lo, double hi, GError **error)
{
  gsize n = (gsize) w * h;
  if (w <= 0 || h <= 0 || n > 1u << 26)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "a stored anomaly map is damaged "
                   "(%d x %d)", w, h);
      return NULL;
    }
  g_autoptr (GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  g_autoptr (GByteArray) raw = g_byte_array_sized_new (2 * n);
  if (!convert_all (G_CONVERTER (z), data, len, raw, NULL) || raw->len != 2 * n)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_FORMAT, "a stored anomaly map is damaged");
      return NULL;
    }
  float *map = g_new (float, n);
  double step = (hi - lo) / 65535.0;
  for (int y = 0; y < h; y++)
    {
      guint16 q = 0;
      for (int x = 0; x < w; x++)
        {
          gsize i = (gsize) y * w + x;
          q += (guint16) (raw->data[2 * i] | raw->data[2 * i + 1] << 8);
          map[i] = (float) (lo + q * step);
        }
    }
  return map;
}
