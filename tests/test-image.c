/* SPDX-License-Identifier: Apache-2.0 */
#include "test-util.h"
#include "uad-error.h"
#include "uad-image.h"
#include "uad-safetensors.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
assert_error (const GError *error, int code, const char *path)
{
  g_assert_nonnull (error);
  g_test_message ("expected error: %s", error->message);
  g_assert_error (error, UAD_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
}

/* ---- Hand-written PNGs: GdkPixbuf only saves 8-bit RGB(A), the test needs grey, 16-bit and
 * palette files and a header without pixels. Deflate "stored" blocks need no compressor. ---- */

static guint32
crc32_png (const guint8 *p, gsize n)
{
  guint32 crc = 0xFFFFFFFFu;
  for (gsize i = 0; i < n; i++)
    {
      crc ^= p[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  return ~crc;
}

static void
put_be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

static void
put_chunk (GByteArray *png, const char *type, const guint8 *data, gsize n)
{
  put_be32 (png, (guint32) n);
  gsize start = png->len;
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (n > 0)
    g_byte_array_append (png, data, (guint) n);
  put_be32 (png, crc32_png (png->data + start, n + 4));
}

typedef struct {
  int width, height, bit_depth, color_type;
  const guint8 *pixels; /* rows of row_bytes, without filter bytes */
  gsize row_bytes;
  int rows;             /* rows stored, if fewer than height (a header that promises more) */
  const guint8 *plte, *trns;
  gsize plte_len, trns_len;
} PngSpec;

/* IDAT: the rows, each after filter type 0, in one stored (uncompressed) zlib stream. */
static void
put_idat (GByteArray *png, const PngSpec *s)
{
  g_autoptr (GByteArray) raw = g_byte_array_new ();
  for (int y = 0; y < (s->rows > 0 ? s->rows : s->height); y++)
    {
      g_byte_array_append (raw, (const guint8 *) "", 1);
      g_byte_array_append (raw, s->pixels + y * s->row_bytes, (guint) s->row_bytes);
    }
  g_assert_cmpuint (raw->len, <, 65536); /* fits one stored block */
  guint n = raw->len;
  g_autoptr (GByteArray) z = g_byte_array_new ();
  guint8 head[7] = { 0x78, 0x01, 0x01 /* final, stored */, n & 0xFF, n >> 8, ~n & 0xFF,
                     (~n >> 8) & 0xFF };
  g_byte_array_append (z, head, 7);
  g_byte_array_append (z, raw->data, n);
  guint32 a = 1, b = 0; /* adler32 */
  for (guint i = 0; i < n; i++)
    {
      a = (a + raw->data[i]) % 65521;
      b = (b + a) % 65521;
    }
  put_be32 (z, (b << 16) | a);
  put_chunk (png, "IDAT", z->data, z->len);
}

static char *
write_png (const char *name, const PngSpec *s)
{
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  g_autoptr (GByteArray) ihdr = g_byte_array_new ();
  put_be32 (ihdr, s->width);
  put_be32 (ihdr, s->height);
  guint8 rest[5] = { s->bit_depth, s->color_type, 0, 0, 0 };
  g_byte_array_append (ihdr, rest, 5);
  put_chunk (png, "IHDR", ihdr->data, ihdr->len);
  if (s->plte)
    put_chunk (png, "PLTE", s->plte, s->plte_len);
  if (s->trns)
    put_chunk (png, "tRNS", s->trns, s->trns_len);
  put_idat (png, s);
  put_chunk (png, "IEND", NULL, 0);
  char *path = tmp_path (name);
  g_assert_true (g_file_set_contents (path, (const char *) png->data, png->len, NULL));
  return path;
}

/* A complete PNG without palette. */
static char *
write_plain_png (const char *name, int width, int height, int bit_depth, int color_type,
                 const guint8 *pixels, gsize row_bytes)
{
  PngSpec spec = { .width = width, .height = height, .bit_depth = bit_depth,
                   .color_type = color_type, .pixels = pixels, .row_bytes = row_bytes };
  return write_png (name, &spec);
}

static void
write_file (const char *path, const void *data, gsize n)
{
  g_assert_true (g_file_set_contents (path, data, (gssize) n, NULL));
}

/* A w x h RGB pixbuf with a pattern that differs in every channel and pixel. */
static GdkPixbuf *
pattern_pixbuf (int w, int h, gboolean alpha)
{
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, w, h);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 *p = px + y * stride + x * n;
        p[0] = x * 30 + y;
        p[1] = y * 40 + 3;
        p[2] = (x * y * 17) & 0xFF;
        if (alpha)
          p[3] = (x + y) % 3 == 0 ? 0 : 255 - x * 20; /* including fully transparent pixels */
      }
  return pb;
}

static void
assert_matches_pixbuf (const UadImage *img, GdkPixbuf *pb, int tol)
{
  g_assert_cmpint (img->width, ==, gdk_pixbuf_get_width (pb));
  g_assert_cmpint (img->height, ==, gdk_pixbuf_get_height (pb));
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (abs (img->rgb[(y * img->width + x) * 3 + c] - px[y * stride + x * n + c]),
                         <=, tol);
}

static void
test_formats (void)
{
  g_autoptr (GdkPixbuf) rgb = pattern_pixbuf (7, 5, FALSE);
  g_autoptr (GdkPixbuf) rgba = pattern_pixbuf (7, 5, TRUE);
  /* Lossless formats: exact. RGBA: the colour channels as they are, alpha dropped. */
  const struct { const char *name, *type; GdkPixbuf *pb; } lossless[] = {
    { "rgb.png", "png", rgb }, { "rgba.png", "png", rgba },
    { "rgb.bmp", "bmp", rgb }, { "rgb.tiff", "tiff", rgb },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (lossless); i++)
    {
      g_autofree char *path = tmp_path (lossless[i].name);
      g_assert_true (gdk_pixbuf_save (lossless[i].pb, path, lossless[i].type, NULL, NULL));
      g_autoptr (GError) error = NULL;
      g_autoptr (UadImage) img = uad_image_load (path, &error);
      g_assert_no_error (error);
      assert_matches_pixbuf (img, lossless[i].pb, 0);
    }

  /* JPEG is lossy: a smooth image comes back within a few levels. */
  g_autoptr (GdkPixbuf) smooth = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 32, 24);
  guint8 *px = gdk_pixbuf_get_pixels (smooth);
  int stride = gdk_pixbuf_get_rowstride (smooth);
  for (int y = 0; y < 24; y++)
    for (int x = 0; x < 32; x++)
      {
        px[y * stride + x * 3 + 0] = 60 + x * 2;
        px[y * stride + x * 3 + 1] = 120 + y;
        px[y * stride + x * 3 + 2] = 90;
      }
  g_autofree char *jpg = tmp_path ("smooth.jpg");
  g_assert_true (gdk_pixbuf_save (smooth, jpg, "jpeg", NULL, "quality", "100", NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (UadImage) img = uad_image_load (jpg, &error);
  g_assert_no_error (error);
  assert_matches_pixbuf (img, smooth, 3);
}

static void
assert_pixels (const UadImage *img, int w, int h, const guint8 *rgb)
{
  g_assert_cmpint (img->width, ==, w);
  g_assert_cmpint (img->height, ==, h);
  for (int i = 0; i < w * h * 3; i++)
    g_assert_cmpint (img->rgb[i], ==, rgb[i]);
}

static UadImage *
load_ok (const char *path)
{
  g_autoptr (GError) error = NULL;
  UadImage *img = uad_image_load (path, &error);
  g_assert_no_error (error);
  return img;
}

static void
test_png_variants (void)
{
  /* 8-bit grey: replicated to three channels. */
  const guint8 grey[6] = { 0, 100, 255, 37, 128, 200 };
  g_autofree char *p1 = write_plain_png ("grey8.png", 3, 2, 8, 0, grey, 3);
  g_autoptr (UadImage) g8 = load_ok (p1);
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (g8->rgb[i * 3 + c], ==, grey[i]);

  /* 16-bit grey (big-endian samples): reduced to the high byte. */
  const guint16 grey16[6] = { 0x0000, 0x12FF, 0xFFFF, 0x8001, 0x7F80, 0x0100 };
  guint8 be[12];
  for (int i = 0; i < 6; i++)
    {
      be[i * 2] = grey16[i] >> 8;
      be[i * 2 + 1] = grey16[i] & 0xFF;
    }
  g_autofree char *p2 = write_plain_png ("grey16.png", 3, 2, 16, 0, be, 6);
  g_autoptr (UadImage) g16 = load_ok (p2);
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (g16->rgb[i * 3 + c], ==, grey16[i] >> 8);

  /* 16-bit RGB. */
  const guint8 rgb16[12] = { 0xAB, 0xFF, 0x01, 0x80, 0x00, 0x00,
                             0x7F, 0xFF, 0xFF, 0x00, 0x10, 0x01 };
  g_autofree char *p3 = write_plain_png ("rgb16.png", 2, 1, 16, 2, rgb16, 12);
  g_autoptr (UadImage) c16 = load_ok (p3);
  assert_pixels (c16, 2, 1, (const guint8[]) { 0xAB, 0x01, 0x00, 0x7F, 0xFF, 0x10 });

  /* Grey + alpha: grey replicated, alpha dropped (even where fully transparent). */
  const guint8 ga[8] = { 10, 255, 20, 0, 30, 128, 40, 1 };
  g_autofree char *p4 = write_plain_png ("grey-alpha.png", 2, 2, 8, 4, ga, 4);
  g_autoptr (UadImage) gai = load_ok (p4);
  assert_pixels (gai, 2, 2, (const guint8[]) { 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40 });

  /* Palette with a transparent entry: the palette colours. */
  const guint8 plte[9] = { 255, 0, 0, 0, 200, 0, 1, 2, 3 };
  const guint8 trns[1] = { 0 };
  const guint8 idx[3] = { 2, 0, 1 };
  PngSpec spec = { .width = 3, .height = 1, .bit_depth = 8, .color_type = 3,
                   .pixels = idx, .row_bytes = 3,
                   .plte = plte, .plte_len = 9, .trns = trns, .trns_len = 1 };
  g_autofree char *p5 = write_png ("palette.png", &spec);
  g_autoptr (UadImage) pal = load_ok (p5);
  assert_pixels (pal, 3, 1, (const guint8[]) { 1, 2, 3, 255, 0, 0, 0, 200, 0 });
}

static void
test_refuse_bad_files (void)
{
  g_autofree char *text = tmp_path ("notes.png");
  write_file (text, "this is not an image\n", 21);
  g_autofree char *empty = tmp_path ("empty.jpg");
  write_file (empty, "", 0);
  const char *not_images[] = { text, empty };
  for (gsize i = 0; i < G_N_ELEMENTS (not_images); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (uad_image_load (not_images[i], &error));
      assert_error (error, UAD_ERROR_FORMAT, not_images[i]);
    }

  g_autofree char *missing = tmp_path ("missing.png");
  g_autoptr (GError) e1 = NULL;
  g_assert_null (uad_image_load (missing, &e1));
  assert_error (e1, UAD_ERROR_IO, missing);

  g_autoptr (GError) e2 = NULL;
  g_assert_null (uad_image_load (tmpdir, &e2));
  assert_error (e2, UAD_ERROR_IO, tmpdir);

  /* The model-input and mask entry points pass the error on and leave out alone. */
  float out[3 * 4 * 4];
  for (int i = 0; i < 48; i++)
    out[i] = 42.0f;
  g_autoptr (GError) e3 = NULL;
  g_assert_false (uad_image_load_input (text, 4, UAD_NORMALIZE_IMAGENET, out, &e3));
  assert_error (e3, UAD_ERROR_FORMAT, text);
  for (int i = 0; i < 48; i++)
    g_assert_cmpfloat (out[i], ==, 42.0f);
  guint8 mask[16];
  g_autoptr (GError) e4 = NULL;
  g_assert_false (uad_mask_load (missing, 4, mask, &e4));
  assert_error (e4, UAD_ERROR_IO, missing);
}

static void
test_refuse_truncated (void)
{
  g_autoptr (GdkPixbuf) pb = pattern_pixbuf (64, 48, FALSE);
  g_autofree char *jpeg = NULL;
  gsize n = 0;
  g_assert_true (gdk_pixbuf_save_to_buffer (pb, &jpeg, &n, "jpeg", NULL, "quality", "90", NULL));

  /* Cut in the middle of the scan data, and just before the end-of-image marker: libjpeg
   * would pad both with grey and report success. */
  const gsize cuts[] = { n / 2, n - 2 };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree char *path = tmp_path ("truncated.jpg");
      write_file (path, jpeg, cuts[i]);
      g_autoptr (GError) error = NULL;
      g_assert_null (uad_image_load (path, &error));
      assert_error (error, UAD_ERROR_FORMAT, path);
    }

  /* Whole, and whole with bytes after the end marker (some cameras append data): accepted. */
  g_autofree char *whole = tmp_path ("whole.jpg");
  write_file (whole, jpeg, n);
  g_autoptr (UadImage) a = load_ok (whole);
  g_autofree char *padded = g_malloc (n + 6);
  memcpy (padded, jpeg, n);
  memcpy (padded + n, "\0junk\n", 6);
  g_autofree char *trailing = tmp_path ("trailing.jpg");
  write_file (trailing, padded, n + 6);
  g_autoptr (UadImage) b = load_ok (trailing);
  g_assert_cmpmem (a->rgb, 64 * 48 * 3, b->rgb, 64 * 48 * 3);

  /* A truncated PNG. */
  g_autofree char *png = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (pb, &png, &n, "png", NULL, NULL));
  g_autofree char *path = tmp_path ("truncated.png");
  write_file (path, png, n / 2);
  g_autoptr (GError) error = NULL;
  g_assert_null (uad_image_load (path, &error));
  assert_error (error, UAD_ERROR_FORMAT, path);
}

static void
test_refuse_huge (void)
{
  /* A valid header claiming 20000 x 20000 (400 MP) followed by one row of pixels: refused from
   * the header, before GdkPixbuf would allocate 1.2 GB (decoding would fail differently, on the
   * missing rows). */
  g_autofree guint8 *row = g_malloc0 (20000 * 3);
  PngSpec spec = { .width = 20000, .height = 20000, .bit_depth = 8, .color_type = 2,
                   .pixels = row, .row_bytes = 60000, .rows = 1 };
  g_autofree char *path = write_png ("huge.png", &spec);
  g_autoptr (GError) error = NULL;
  g_assert_null (uad_image_load (path, &error));
  assert_error (error, UAD_ERROR_UNSUPPORTED, path);
}

/* ---- Resizing ---- */

static UadImage *
image_from_grey (int w, int h, const guint8 *v)
{
  UadImage *img = uad_image_new (w, h);
  for (int i = 0; i < w * h; i++)
    img->rgb[i * 3] = img->rgb[i * 3 + 1] = img->rgb[i * 3 + 2] = v[i];
  return img;
}

static void
assert_grey (const UadImage *img, int w, int h, const guint8 *want)
{
  g_assert_cmpint (img->width, ==, w);
  g_assert_cmpint (img->height, ==, h);
  for (int i = 0; i < w * h; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (img->rgb[i * 3 + c], ==, want[i]);
}

static UadImage *
transpose (const UadImage *img)
{
  UadImage *t = uad_image_new (img->height, img->width);
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      memcpy (t->rgb + (x * img->height + y) * 3, img->rgb + (y * img->width + x) * 3, 3);
  return t;
}

static void
check_bilinear_1d (int n_in, const guint8 *in, int n_out, const guint8 *want)
{
  g_autoptr (UadImage) row = image_from_grey (n_in, 1, in);
  g_autoptr (UadImage) r = uad_image_resize_bilinear (row, n_out, 1); /* horizontal pass only */
  assert_grey (r, n_out, 1, want);
  g_autoptr (UadImage) col = transpose (row);
  g_autoptr (UadImage) c = uad_image_resize_bilinear (col, 1, n_out); /* vertical pass only */
  assert_grey (c, 1, n_out, want);
}

static void
test_resize_bilinear_exact (void)
{
  /* 4 -> 2: scale 2, so the triangle spans 2 source pixels each side of the centre. Output 0 is
   * centred at 1.0 and sees pixels 0..2 at distances 0.5, 0.5, 1.5 -> weights 0.75, 0.75, 0.25,
   * normalised 3/7, 3/7, 1/7; output 1 mirrors it on pixels 1..3. Plain (non-antialiased)
   * bilinear would average pairs instead (15, 37). */
  check_bilinear_1d (4, (const guint8[]) { 10, 20, 30, 44 }, 2, (const guint8[]) { 17, 35 });
  /* 2 -> 4: upscale, support 1, half-pixel centres 0.25, 0.75, 1.25, 1.75, clamped at the
   * borders: 0, 0.75*0 + 0.25*100 = 25, 75, 100. */
  check_bilinear_1d (2, (const guint8[]) { 0, 100 }, 4, (const guint8[]) { 0, 25, 75, 100 });

  /* Both passes: a 4x4 image whose rows are all the 4 -> 2 example. */
  guint8 v[16];
  for (int i = 0; i < 16; i++)
    v[i] = (const guint8[]) { 10, 20, 30, 44 }[i % 4];
  g_autoptr (UadImage) sq = image_from_grey (4, 4, v);
  g_autoptr (UadImage) r = uad_image_resize_bilinear (sq, 2, 2);
  assert_grey (r, 2, 2, (const guint8[]) { 17, 35, 17, 35 });

  /* Same size: an identical copy. */
  g_autoptr (UadImage) same = uad_image_resize_bilinear (sq, 4, 4);
  g_assert_true (same->rgb != sq->rgb);
  g_assert_cmpmem (same->rgb, 48, sq->rgb, 48);
}

static void
test_resize_bilinear_properties (void)
{
  const int sizes[][2] = { { 320, 240 }, { 100, 50 }, { 224, 300 }, { 640, 427 } };
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int w = sizes[s][0], h = sizes[s][1];
      /* A constant image stays exactly constant (the fixed-point weights sum to one). */
      g_autoptr (UadImage) flat = uad_image_new (w, h);
      for (int i = 0; i < w * h; i++)
        memcpy (flat->rgb + i * 3, (const guint8[]) { 37, 150, 255 }, 3);
      g_autoptr (UadImage) r = uad_image_resize_bilinear (flat, 224, 224);
      g_assert_cmpint (r->width, ==, 224);
      g_assert_cmpint (r->height, ==, 224);
      for (int i = 0; i < 224 * 224; i++)
        g_assert_cmpmem (r->rgb + i * 3, 3, ((const guint8[]) { 37, 150, 255 }), 3);

      /* Non-negative weights: a ramp stays inside its range and keeps its trend; the
       * column ramp (varies along y) stays constant along x. */
      g_autoptr (UadImage) ramp = uad_image_new (w, h);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            guint8 *p = ramp->rgb + (y * w + x) * 3;
            p[0] = 20 + 200 * x / (w - 1);
            p[1] = 20 + 200 * y / (h - 1);
            p[2] = 90;
          }
      g_autoptr (UadImage) q = uad_image_resize_bilinear (ramp, 224, 224);
      for (int y = 0; y < 224; y++)
        for (int x = 0; x < 224; x++)
          {
            const guint8 *p = q->rgb + (y * 224 + x) * 3;
            g_assert_cmpint (p[0], >=, 20);
            g_assert_cmpint (p[0], <=, 220);
            g_assert_cmpint (p[1], ==, q->rgb[y * 224 * 3 + 1]);
            g_assert_cmpint (p[2], ==, 90);
            if (x > 0)
              g_assert_cmpint (p[0], >=, p[-3]);
          }
      g_assert_cmpint (q->rgb[0], <, q->rgb[223 * 3]);
    }
}

static void
test_resize_nearest (void)
{
  /* Source index floor ((i + 0.5) * in / out): 4 -> 2 takes 1, 3; 2 -> 5 takes 0 0 1 1 1;
   * 3 -> 2 takes 0, 2. */
  g_autoptr (UadImage) a = image_from_grey (4, 1, (const guint8[]) { 1, 2, 3, 4 });
  g_autoptr (UadImage) a2 = uad_image_resize_nearest (a, 2, 1);
  assert_grey (a2, 2, 1, (const guint8[]) { 2, 4 });
  g_autoptr (UadImage) b = image_from_grey (1, 2, (const guint8[]) { 7, 9 });
  g_autoptr (UadImage) b5 = uad_image_resize_nearest (b, 1, 5);
  assert_grey (b5, 1, 5, (const guint8[]) { 7, 7, 9, 9, 9 });
  g_autoptr (UadImage) c = image_from_grey (3, 3, (const guint8[]) { 1, 2, 3, 4, 5, 6, 7, 8, 9 });
  g_autoptr (UadImage) c2 = uad_image_resize_nearest (c, 2, 2);
  assert_grey (c2, 2, 2, (const guint8[]) { 1, 3, 7, 9 });
  /* Values are only ever copied: a binary mask stays binary. */
  g_autoptr (UadImage) big = uad_image_resize_nearest (c, 224, 224);
  for (int i = 0; i < 224 * 224 * 3; i++)
    g_assert_true (big->rgb[i] >= 1 && big->rgb[i] <= 9);
}

static void
test_mask (void)
{
  /* Grey mask 4x2 -> 8x8 (nearest: columns doubled, rows x4), then > 127. */
  const guint8 grey[8] = { 0, 127, 128, 255, 255, 128, 127, 0 };
  g_autofree char *path = write_plain_png ("mask.png", 4, 2, 8, 0, grey, 4);
  guint8 out[64];
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_mask_load (path, 8, out, &error));
  g_assert_no_error (error);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      g_assert_cmpint (out[y * 8 + x], ==, grey[(y / 4) * 4 + x / 2] > 127);

  /* A colour mask goes through the luma: red 76, green 150, grey 127/128, white. */
  const guint8 rgb[15] = { 255, 0, 0, 0, 255, 0, 127, 127, 127, 128, 128, 128, 255, 255, 255 };
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8, 5, 1, 15,
                                                       NULL, NULL);
  g_autofree char *cpath = tmp_path ("colour-mask.png");
  g_assert_true (gdk_pixbuf_save (pb, cpath, "png", NULL, NULL));
  guint8 cm[25];
  g_assert_true (uad_mask_load (cpath, 5, cm, &error));
  g_assert_no_error (error);
  for (int y = 0; y < 5; y++)
    g_assert_cmpmem (cm + y * 5, 5, ((const guint8[]) { 0, 1, 0, 1, 1 }), 5);

  /* Checked against its image: the 4x2 mask fits a 4x2 picture, not the 5x1 one. */
  g_assert_true (uad_mask_load_for_image (path, path, 8, out, &error));
  g_assert_no_error (error);
  g_assert_false (uad_mask_load_for_image (path, cpath, 8, out, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "is 4x2 pixels, but its image"));
  g_assert_nonnull (strstr (error->message, "is 5x1"));
}

static void
test_to_chw (void)
{
  g_autoptr (UadImage) img = uad_image_new (3, 2);
  for (int i = 0; i < 18; i++)
    img->rgb[i] = (guint8) (i * 15);
  const double mean[3] = { 0.485, 0.456, 0.406 }, std[3] = { 0.229, 0.224, 0.225 };
  float a[18], b[18];
  uad_image_to_chw (img, UAD_NORMALIZE_IMAGENET, a);
  uad_image_to_chw (img, UAD_NORMALIZE_SYMMETRIC, b);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 6; i++)
      {
        double p = img->rgb[i * 3 + c]; /* planar: channel c, pixel i */
        g_assert_cmpfloat_with_epsilon (a[c * 6 + i], (p / 255.0 - mean[c]) / std[c], 1e-6);
        g_assert_cmpfloat_with_epsilon (b[c * 6 + i], (p - 127.5) / 127.5, 1e-6);
      }
  g_assert_cmpfloat (b[0], ==, -1.0f); /* pixel 0, red = 0 */
}

static void
test_save_png (void)
{
  g_autoptr (GdkPixbuf) pb = pattern_pixbuf (9, 4, FALSE);
  g_autoptr (UadImage) img = uad_image_new (9, 4);
  for (int y = 0; y < 4; y++)
    memcpy (img->rgb + y * 27, gdk_pixbuf_read_pixels (pb) + y * gdk_pixbuf_get_rowstride (pb), 27);

  g_autofree char *sub = tmp_path ("save");
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_autofree char *path = g_build_filename (sub, "out.png", NULL);
  write_file (path, "old contents", 12); /* replaced as a whole */
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_image_save_png (img, path, &error));
  g_assert_no_error (error);
  g_autoptr (UadImage) back = load_ok (path);
  assert_matches_pixbuf (back, pb, 0);

  /* Nothing else left in the folder (no temporary file). */
  g_autoptr (GDir) dir = g_dir_open (sub, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (dir), ==, "out.png");
  g_assert_null (g_dir_read_name (dir));
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (sub), ==, 0);

  /* A folder that does not exist: a clear I/O error and no file. */
  g_autofree char *bad = g_build_filename (tmpdir, "no-such-folder", "out.png", NULL);
  g_assert_false (uad_image_save_png (img, bad, &error));
  assert_error (error, UAD_ERROR_IO, bad);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
}

/* ---- The reference pipeline on a real photo ---- */

static void
test_golden_china (void)
{
  g_autofree char *jpg = uad_test_shared_path ("golden/uniad/china.jpg");
  if (jpg == NULL)
    return;
  g_autofree char *tensors = uad_test_shared_path ("golden/uniad/tensors.safetensors");
  if (tensors == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (tensors, &error);
  g_assert_no_error (error);

  /* The official pipeline's 224 x 224 PIL BILINEAR resize of the decoded photo. */
  UadDType dtype;
  int ndim;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  g_assert_true (uad_safetensors_get_info (st, "input.photo_rgb_u8", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_U8);
  g_assert_cmpint (ndim, ==, 3);
  g_assert_true (shape[0] == 224 && shape[1] == 224 && shape[2] == 3);
  size_t n_bytes = 0;
  const guint8 *want = uad_safetensors_get_data (st, "input.photo_rgb_u8", &n_bytes);
  g_assert_cmpuint (n_bytes, ==, 224 * 224 * 3);

  g_autoptr (UadImage) photo = uad_image_load (jpg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (photo->width, ==, 640);
  g_assert_cmpint (photo->height, ==, 427);
  g_autoptr (UadImage) small = uad_image_resize_bilinear (photo, 224, 224);
  int max_diff = 0, n_diff = 0;
  double sum_diff = 0;
  for (size_t i = 0; i < n_bytes; i++)
    {
      int d = abs (small->rgb[i] - want[i]);
      max_diff = MAX (max_diff, d);
      sum_diff += d;
      n_diff += d != 0;
    }
  g_test_message ("china.jpg at 224 x 224 vs PIL: max |diff| %d, mean %.5f, "
                  "%d of %zu values differ", max_diff, sum_diff / n_bytes, n_diff, n_bytes);
  g_assert_cmpint (max_diff, <=, 1);

  /* The normalised model input: sample 1 of input.image. */
  g_autoptr (UadTensor) x = uad_safetensors_load (st, "input.image", 4,
                                                  (const int64_t[]) { 2, 3, 224, 224 }, &error);
  g_assert_no_error (error);
  g_autofree float *input = g_new (float, 3 * 224 * 224);
  g_assert_true (uad_image_load_input (jpg, 224, UAD_NORMALIZE_IMAGENET, input, &error));
  g_assert_no_error (error);
  const float *ref = x->data + 3 * 224 * 224;
  double max_abs = 0;
  for (int i = 0; i < 3 * 224 * 224; i++)
    max_abs = fmax (max_abs, fabs ((double) input[i] - ref[i]));
  g_test_message ("china.jpg model input vs input.image[1]: max |diff| %.3g", max_abs);
  uad_test_assert_close ("input.image[1]", input, ref, 3 * 224 * 224, 1e-3);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("uad-test-image-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_func ("/image/formats", test_formats);
  g_test_add_func ("/image/png-variants", test_png_variants);
  g_test_add_func ("/image/refuse-bad-files", test_refuse_bad_files);
  g_test_add_func ("/image/refuse-truncated", test_refuse_truncated);
  g_test_add_func ("/image/refuse-huge", test_refuse_huge);
  g_test_add_func ("/image/resize-bilinear-exact", test_resize_bilinear_exact);
  g_test_add_func ("/image/resize-bilinear-properties", test_resize_bilinear_properties);
  g_test_add_func ("/image/resize-nearest", test_resize_nearest);
  g_test_add_func ("/image/mask", test_mask);
  g_test_add_func ("/image/to-chw", test_to_chw);
  g_test_add_func ("/image/save-png", test_save_png);
  g_test_add_func ("/image/golden-china", test_golden_china);
  int status = g_test_run ();
  remove_tree (tmpdir);
  g_free (tmpdir);
  return status;
}
