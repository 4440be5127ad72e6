/* SPDX-License-Identifier: Apache-2.0 */
#include <glib/gstdio.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test-util.h"
#include "uad-error.h"
#include "uad-safetensors.h"

/* Removes a temporary folder made by a test, with the files and folders in it. */
static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static guint
count_entries (const char *folder)
{
  GDir *dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* Writes a file: 8-byte header length (header_len, or the header's own length when it is -1),
 * the header text, then data_len zero bytes. */
static char *
write_file (const char *dir, const char *name, gint64 header_len, const char *header,
            gsize data_len)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint64 len = header_len >= 0 ? (guint64) header_len : strlen (header);
  g_byte_array_append (bytes, (const guint8 *) &len, 8);
  g_byte_array_append (bytes, (const guint8 *) header, (guint) strlen (header));
  g_byte_array_set_size (bytes, bytes->len + (guint) data_len);
  memset (bytes->data + bytes->len - data_len, 0, data_len);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, (const char *) bytes->data, bytes->len, &error);
  g_assert_no_error (error);
  return path;
}

static void
assert_open_fails (const char *path, int code, const char *detail)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_null (st);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, UAD_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (detail != NULL && strstr (error->message, detail) == NULL)
    g_error ("error should mention \"%s\": %s", detail, error->message);
}

static void
test_broken_headers (void)
{
  static const struct {
    const char *header;
    int code;
    const char *detail; /* expected in the message besides the file name */
  } cases[] = {
    { "", UAD_ERROR_FORMAT, "header" },
    { "{\"w\": ", UAD_ERROR_FORMAT, "header" },
    { "[1, 2]", UAD_ERROR_FORMAT, "not an object" },
    { "{\"w\": 5}", UAD_ERROR_FORMAT, "'w'" },
    { "{\"w\": {\"shape\": [4], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"dtype\"" },
    { "{\"w\": {\"dtype\": 7, \"shape\": [4], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"dtype\"" },
    { "{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": [0, 4]}}", UAD_ERROR_UNSUPPORTED, "F8_E4M3" },
    { "{\"w\": {\"dtype\": \"f32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", UAD_ERROR_UNSUPPORTED, "'w'" },
    { "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"shape\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"shape\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4.0], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"shape\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [-4], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"shape\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [\"4\"], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': \"shape\"" },
    { "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", UAD_ERROR_UNSUPPORTED, "rank 9" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4]}}", UAD_ERROR_FORMAT, "'w': \"data_offsets\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0]}}", UAD_ERROR_FORMAT, "'w': \"data_offsets\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16, 16]}}", UAD_ERROR_FORMAT, "'w': \"data_offsets\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [-1, 15]}}", UAD_ERROR_FORMAT, "'w': \"data_offsets\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": \"0,16\"}}", UAD_ERROR_FORMAT, "'w': \"data_offsets\"" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [16, 0]}}", UAD_ERROR_FORMAT, "'w': data_offsets [16, 0] begin after" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [0, 32]}}", UAD_ERROR_FORMAT, "'w': data_offsets end 32 is beyond the data area (16 bytes" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 16]}}", UAD_ERROR_FORMAT, "'w': shape [2, 3] of F32 takes 24 bytes" },
    /* 2^62 * 4 bytes wraps to 0 in 64 bits: must not pass as an empty tensor. */
    { "{\"w\": {\"dtype\": \"U8\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}", UAD_ERROR_FORMAT, "'w': shape [4611686018427387904, 4] is impossibly large" },
    { "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 0]}}", UAD_ERROR_FORMAT, "impossibly large" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", UAD_ERROR_FORMAT, "'a' and 'b' overlap" },
    { "{\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]},"
      " \"a\": {\"dtype\": \"U8\", \"shape\": [8], \"data_offsets\": [0, 8]}}", UAD_ERROR_FORMAT, "'a' and 'b' overlap" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", UAD_ERROR_FORMAT, "duplicate key \"a\"" },
    { "{\"a\\u0000b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", UAD_ERROR_FORMAT, "NUL" },
    { "{\"__metadata__\": \"x\"}", UAD_ERROR_FORMAT, "__metadata__" },
    { "{\"__metadata__\": {\"k\": 1}}", UAD_ERROR_FORMAT, "\"k\"" },
    { "{\"__metadata__\": {\"k\": {\"nested\": \"v\"}}}", UAD_ERROR_FORMAT, "\"k\"" },
  };
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("broken-%u.safetensors", i);
      g_autofree char *path = write_file (dir, name, -1, cases[i].header, 16);
      assert_open_fails (path, cases[i].code, cases[i].detail);
    }
  remove_tree (dir);
}

static void
test_broken_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);

  g_autofree char *empty = g_build_filename (dir, "empty.safetensors", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  assert_open_fails (empty, UAD_ERROR_FORMAT, "too short");

  g_autofree char *short_file = g_build_filename (dir, "short.safetensors", NULL);
  g_assert_true (g_file_set_contents (short_file, "\x10\0\0\0\0", 5, NULL));
  assert_open_fails (short_file, UAD_ERROR_FORMAT, "too short");

  g_autofree char *past_end = write_file (dir, "past-end.safetensors", 100, "{}", 10);
  assert_open_fails (past_end, UAD_ERROR_FORMAT, "beyond the end of the file");

  g_autofree char *absurd = write_file (dir, "absurd.safetensors", (gint64) 1 << 40, "{}", 0);
  assert_open_fails (absurd, UAD_ERROR_FORMAT, "absurd");

  g_autofree char *max = write_file (dir, "max.safetensors", G_MAXINT64, "{}", 0);
  assert_open_fails (max, UAD_ERROR_FORMAT, "absurd");

  /* A text file, as a broken download might be. */
  g_autofree char *html = g_build_filename (dir, "page.safetensors", NULL);
  const char *page = "<html><body>Not Found</body></html>\n";
  g_assert_true (g_file_set_contents (html, page, -1, NULL));
  assert_open_fails (html, UAD_ERROR_FORMAT, "absurd");

  /* The tensors must fill the data area exactly: no gap, no unused tail, and so no header
   * length that is off by a few bytes while every offset still lies inside the data. */
  const char *two = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                    " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [12, 16]}}";
  g_autofree char *gap = write_file (dir, "gap.safetensors", -1, two, 16);
  assert_open_fails (gap, UAD_ERROR_FORMAT, "belong to no tensor");
  const char *one = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}";
  g_autofree char *tail = write_file (dir, "tail.safetensors", -1, one, 9);
  assert_open_fails (tail, UAD_ERROR_FORMAT, "end at byte 8 of a data area of 9");
  /* A length one short of a space-padded header: the JSON still parses, and "a" would read
   * the padding byte and the first seven bytes of its data. */
  g_autofree char *padded = g_strconcat (one, " ", NULL);
  g_autofree char *shifted = write_file (dir, "shifted.safetensors", (gint64) strlen (one), padded, 8);
  assert_open_fails (shifted, UAD_ERROR_FORMAT, "end at byte 8 of a data area of 9");

  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  assert_open_fails (missing, UAD_ERROR_IO, "No such file");

  assert_open_fails (dir, UAD_ERROR_IO, "not a regular file");
  remove_tree (dir);
}

/* A valid file written by hand, using what the format allows beyond what our writer does. */
static void
test_hand_made (void)
{
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);
  /* Trailing space padding, an extra key in an entry, an empty tensor at the end of the data,
   * a scalar, tensors listed out of data order. */
  const char *header =
    "{\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [16, 20]},"
    " \"__metadata__\": {},"
    " \"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16], \"extra\": true},"
    " \"e\": {\"dtype\": \"I64\", \"shape\": [3, 0], \"data_offsets\": [20, 20]}}      ";
  g_autofree char *path = write_file (dir, "ok.safetensors", -1, header, 20);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (uad_safetensors_get_path (st), ==, path);
  g_assert_cmpuint (uad_safetensors_get_n_tensors (st), ==, 3);
  g_assert_cmpstr (uad_safetensors_get_name (st, 0), ==, "s");
  g_assert_cmpstr (uad_safetensors_get_name (st, 1), ==, "w");
  g_assert_cmpstr (uad_safetensors_get_name (st, 2), ==, "e");
  g_assert_null (uad_safetensors_get_metadata_keys (st)[0]);
  g_assert_null (uad_safetensors_get_metadata (st, "architecture"));

  UadDType dtype;
  int ndim = -1;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  g_assert_true (uad_safetensors_get_info (st, "s", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_F32);
  g_assert_cmpint (ndim, ==, 0);
  g_autoptr (UadTensor) s = uad_safetensors_load (st, "s", 1, (int64_t[]) { 1 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->ndim, ==, 1);
  g_assert_cmpint (s->shape[0], ==, 1);

  g_assert_true (uad_safetensors_get_info (st, "e", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_I64);
  g_assert_cmpint (ndim, ==, 2);
  g_assert_cmpint (shape[0], ==, 3);
  g_assert_cmpint (shape[1], ==, 0);
  size_t n_bytes = 99;
  g_assert_nonnull (uad_safetensors_get_data (st, "e", &n_bytes));
  g_assert_cmpuint (n_bytes, ==, 0);

  g_assert_false (uad_safetensors_get_info (st, "x", NULL, NULL, NULL));
  g_assert_false (uad_safetensors_has (st, "x"));
  g_assert_null (uad_safetensors_get_data (st, "x", NULL));
  remove_tree (dir);
}

/* Reference decodings by arithmetic, independent of the bit manipulation under test. */
static double
ref_float (guint16 bits, int exponent_bits, int mantissa_bits)
{
  int bias = (1 << (exponent_bits - 1)) - 1;
  int e = (bits >> mantissa_bits) & ((1 << exponent_bits) - 1);
  int m = bits & ((1 << mantissa_bits) - 1);
  double sign = bits & 0x8000 ? -1 : 1;
  if (e == (1 << exponent_bits) - 1)
    return m ? NAN : sign * INFINITY;
  if (e == 0)
    return sign * ldexp (m, 1 - bias - mantissa_bits);
  return sign * ldexp (m + (1 << mantissa_bits), e - bias - mantissa_bits);
}

/* Every finite 16-bit pattern of the format, into bits; returns how many. */
static guint
finite_halves (guint16 *bits, int exponent_bits, int mantissa_bits)
{
  guint n = 0;
  for (guint i = 0; i < 65536; i++)
    if (isfinite (ref_float ((guint16) i, exponent_bits, mantissa_bits)))
      bits[n++] = (guint16) i;
  return n;
}

static void
check_halves (const float *got, const guint16 *bits, guint n, int exponent_bits, int mantissa_bits)
{
  for (guint i = 0; i < n; i++)
    {
      double want = ref_float (bits[i], exponent_bits, mantissa_bits);
      if ((double) got[i] != want || !signbit (got[i]) != !signbit (want))
        g_error ("0x%04x: %.9g expected, got %.9g", bits[i], want, got[i]);
    }
}

static void
test_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "round-trip.safetensors", NULL);

  g_autoptr (UadTensor) f32 = uad_tensor_new_3d (2, 3, 5);
  uad_test_fill_random (f32->data, uad_tensor_numel (f32), -3, 3, 7);
  f32->data[0] = -0.0f;
  f32->data[1] = FLT_MAX;
  f32->data[2] = 1e-45f; /* float subnormal */
  g_autofree guint16 *h16 = g_new (guint16, 65536), *b16 = g_new (guint16, 65536);
  guint n_h16 = finite_halves (h16, 5, 10), n_b16 = finite_halves (b16, 8, 7);
  guint8 rgb[4 * 5 * 3];
  for (guint i = 0; i < sizeof rgb; i++)
    rgb[i] = (guint8) (i * 37);
  const double f64[4] = { 0.1, -1e30, 1e-50, 65504.25 }, f64_huge = -1e300;
  const guint16 h_inf = 0x7c00, b_nan = 0x7fc0;
  const float f32_nan = NAN;
  const gint64 scalar = -5;
  const float one = 2.5f;

  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  uad_safetensors_writer_add_metadata (w, "architecture", "test");
  uad_safetensors_writer_add_metadata (w, "note", "quotes \" backslash \\ newline \n caf\xc3\xa9");
  uad_safetensors_writer_add_tensor (w, "f32", f32);
  uad_safetensors_writer_add_raw (w, "f16", UAD_DTYPE_F16, 1, (int64_t[]) { n_h16 }, h16,
                                  sizeof (guint16) * n_h16);
  uad_safetensors_writer_add_raw (w, "u8", UAD_DTYPE_U8, 3, (int64_t[]) { 4, 5, 3 }, rgb,
                                  sizeof rgb);
  uad_safetensors_writer_add_raw (w, "bf16", UAD_DTYPE_BF16, 1, (int64_t[]) { n_b16 }, b16,
                                  sizeof (guint16) * n_b16);
  uad_safetensors_writer_add_raw (w, "f64", UAD_DTYPE_F64, 2, (int64_t[]) { 2, 2 }, f64,
                                  sizeof f64);
  uad_safetensors_writer_add_raw (w, "i64", UAD_DTYPE_I64, 0, NULL, &scalar, sizeof scalar);
  uad_safetensors_writer_add_raw (w, "scalar", UAD_DTYPE_F32, 0, NULL, &one, sizeof one);
  uad_safetensors_writer_add_raw (w, "rank5", UAD_DTYPE_F32, 5, (int64_t[]) { 1, 1, 1, 1, 1 },
                                  &one, sizeof one);
  uad_safetensors_writer_add_raw (w, "empty", UAD_DTYPE_F32, 2, (int64_t[]) { 0, 7 }, NULL, 0);
  uad_safetensors_writer_add_raw (w, "f16_inf", UAD_DTYPE_F16, 1, (int64_t[]) { 1 }, &h_inf, 2);
  uad_safetensors_writer_add_raw (w, "bf16_nan", UAD_DTYPE_BF16, 1, (int64_t[]) { 1 }, &b_nan, 2);
  uad_safetensors_writer_add_raw (w, "f32_nan", UAD_DTYPE_F32, 1, (int64_t[]) { 1 }, &f32_nan, 4);
  uad_safetensors_writer_add_raw (w, "f64_huge", UAD_DTYPE_F64, 1, (int64_t[]) { 1 }, &f64_huge, 8);
  uad_safetensors_writer_add_metadata (w, "architecture", "test-2"); /* replaces, keeps order */
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 1); /* no temporary file left */

  /* The data area starts 8-byte aligned; the header is padded with spaces. */
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  guint64 header_len;
  memcpy (&header_len, contents, 8);
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpint (contents[8], ==, '{');

  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  const char *names[] = { "f32", "f16", "u8", "bf16", "f64", "i64", "scalar", "rank5", "empty",
                          "f16_inf", "bf16_nan", "f32_nan", "f64_huge" };
  g_assert_cmpuint (uad_safetensors_get_n_tensors (st), ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (uad_safetensors_get_name (st, i), ==, names[i]);
  const char *const *keys = uad_safetensors_get_metadata_keys (st);
  g_assert_cmpstr (keys[0], ==, "architecture");
  g_assert_cmpstr (keys[1], ==, "note");
  g_assert_null (keys[2]);
  g_assert_cmpstr (uad_safetensors_get_metadata (st, "architecture"), ==, "test-2");
  g_assert_cmpstr (uad_safetensors_get_metadata (st, "note"), ==,
                   "quotes \" backslash \\ newline \n caf\xc3\xa9");

  g_autoptr (UadTensor) f32_back = uad_safetensors_load (st, "f32", 3, f32->shape, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (f32_back->data, 30 * sizeof (float), f32->data, 30 * sizeof (float));

  g_autoptr (UadTensor) f16 = uad_safetensors_load (st, "f16", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (f16->ndim, ==, 1);
  check_halves (f16->data, h16, n_h16, 5, 10);
  g_autoptr (UadTensor) bf16 = uad_safetensors_load (st, "bf16", 1, NULL, &error);
  g_assert_no_error (error);
  check_halves (bf16->data, b16, n_b16, 8, 7);

  g_autoptr (UadTensor) f64_back = uad_safetensors_load (st, "f64", 2, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (f64_back->data[i], ==, (float) f64[i]);

  size_t n_bytes = 0;
  const guint8 *u8 = uad_safetensors_get_data (st, "u8", &n_bytes);
  g_assert_cmpmem (u8, n_bytes, rgb, sizeof rgb);
  UadDType dtype;
  int ndim;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  g_assert_true (uad_safetensors_get_info (st, "u8", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_U8);
  g_assert_cmpint (ndim, ==, 3);
  g_assert_cmpint (shape[2], ==, 3);
  gint64 scalar_back;
  memcpy (&scalar_back, uad_safetensors_get_data (st, "i64", NULL), 8);
  g_assert_cmpint (scalar_back, ==, -5);

  g_autoptr (UadTensor) s = uad_safetensors_load (st, "scalar", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s->ndim, ==, 1);
  g_assert_cmpfloat (s->data[0], ==, 2.5f);
  g_autoptr (UadTensor) empty = uad_safetensors_load (st, "empty", 2, (int64_t[]) { 0, 7 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_tensor_numel (empty), ==, 0);

  /* Refusals: integer dtype, rank above 4, absent, wrong shape, wrong rank, non-finite. */
  const struct {
    const char *name;
    int ndim;
    const int64_t *shape;
    int code;
    const char *detail;
  } refusals[] = {
    { "u8", 0, NULL, UAD_ERROR_UNSUPPORTED, "'u8' has dtype U8" },
    { "i64", 0, NULL, UAD_ERROR_UNSUPPORTED, "'i64' has dtype I64" },
    { "rank5", 0, NULL, UAD_ERROR_UNSUPPORTED, "'rank5' has shape [1, 1, 1, 1, 1]" },
    { "nope", 0, NULL, UAD_ERROR_MISMATCH, "no tensor named 'nope'" },
    { "f32", 3, (const int64_t[]) { 2, 3, 4 }, UAD_ERROR_MISMATCH,
      "'f32' has shape [2, 3, 5], expected [2, 3, 4]" },
    { "f32", 4, (const int64_t[]) { 1, 2, 3, 5 }, UAD_ERROR_MISMATCH,
      "'f32' has shape [2, 3, 5], expected [1, 2, 3, 5]" },
    { "f32", 2, NULL, UAD_ERROR_MISMATCH, "'f32' has shape [2, 3, 5], expected rank 2" },
    { "scalar", 2, (const int64_t[]) { 1, 1 }, UAD_ERROR_MISMATCH, "'scalar' has shape [1], expected [1, 1]" },
    { "f16_inf", 0, NULL, UAD_ERROR_FORMAT, "'f16_inf' holds a non-finite value (inf at index 0)" },
    { "bf16_nan", 0, NULL, UAD_ERROR_FORMAT, "'bf16_nan' holds a non-finite value" },
    { "f32_nan", 0, NULL, UAD_ERROR_FORMAT, "'f32_nan' holds a non-finite value" },
    { "f64_huge", 0, NULL, UAD_ERROR_FORMAT, "'f64_huge' holds a non-finite value (-inf" },
  };
  g_autoptr (UadTensor) inf = uad_safetensors_load_values (st, "f16_inf", 1, NULL, &error);
  g_autoptr (UadTensor) nan = uad_safetensors_load_values (st, "bf16_nan", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isinf (inf->data[0]) && inf->data[0] > 0 && isnan (nan->data[0]));
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (UadTensor) t = uad_safetensors_load (st, refusals[i].name, refusals[i].ndim,
                                                      refusals[i].shape, &e);
      g_assert_null (t);
      g_assert_error (e, UAD_ERROR, refusals[i].code);
      g_test_message ("%s", e->message);
      g_assert_nonnull (strstr (e->message, path));
      if (strstr (e->message, refusals[i].detail) == NULL)
        g_error ("error should mention \"%s\": %s", refusals[i].detail, e->message);
    }
  remove_tree (dir);
}

static void
test_known_values (void)
{
  static const struct {
    guint16 bits;
    float value;
  } halves[] = {
    { 0x0000, 0.0f }, { 0x3c00, 1.0f }, { 0xc000, -2.0f }, { 0x7bff, 65504.0f },
    { 0x0400, 6.103515625e-05f }, { 0x03ff, 6.097555160522461e-05f },
    { 0x0001, 5.960464477539063e-08f }, { 0x8001, -5.960464477539063e-08f },
    { 0x3555, 0.333251953125f },
  }, bhalves[] = {
    { 0x3f80, 1.0f }, { 0xc000, -2.0f }, { 0x7f7f, 3.3895313892515355e38f },
    { 0x0080, 1.1754943508222875e-38f }, { 0x0001, 9.183549615799121e-41f },
    { 0x3eab, 0.333984375f },
  };
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  guint16 h[G_N_ELEMENTS (halves) + 1], b[G_N_ELEMENTS (bhalves) + 1];
  for (guint i = 0; i < G_N_ELEMENTS (halves); i++)
    h[i] = halves[i].bits;
  for (guint i = 0; i < G_N_ELEMENTS (bhalves); i++)
    b[i] = bhalves[i].bits;
  /* -0, which must keep its sign. */
  h[G_N_ELEMENTS (halves)] = 0x8000;
  b[G_N_ELEMENTS (bhalves)] = 0x8000;
  uad_safetensors_writer_add_raw (w, "h", UAD_DTYPE_F16, 1, (int64_t[]) { G_N_ELEMENTS (h) }, h,
                                  sizeof h);
  uad_safetensors_writer_add_raw (w, "b", UAD_DTYPE_BF16, 1, (int64_t[]) { G_N_ELEMENTS (b) }, b,
                                  sizeof b);
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "known.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) ht = uad_safetensors_load (st, "h", 1, NULL, &error);
  g_autoptr (UadTensor) bt = uad_safetensors_load (st, "b", 1, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (halves); i++)
    g_assert_cmpfloat (ht->data[i], ==, halves[i].value);
  for (guint i = 0; i < G_N_ELEMENTS (bhalves); i++)
    g_assert_cmpfloat (bt->data[i], ==, bhalves[i].value);
  guint n = G_N_ELEMENTS (halves), m = G_N_ELEMENTS (bhalves);
  g_assert_true (ht->data[n] == 0.0f && signbit (ht->data[n]));
  g_assert_true (bt->data[m] == 0.0f && signbit (bt->data[m]));
  remove_tree (dir);
}

static UadSafetensorsWriter *
small_writer (float value)
{
  UadSafetensorsWriter *w = uad_safetensors_writer_new ();
  g_autoptr (UadTensor) t = uad_tensor_new_1d (4096);
  uad_tensor_fill (t, value);
  uad_safetensors_writer_add_tensor (w, "t", t);
  return w;
}

static void
assert_file_is (const char *path, const char *contents, gsize length)
{
  g_autofree char *now = NULL;
  gsize now_length;
  g_assert_true (g_file_get_contents (path, &now, &now_length, NULL));
  g_assert_cmpmem (now, now_length, contents, length);
}

static void
test_atomic_save (void)
{
  g_autofree char *dir = g_dir_make_tmp ("uad-st-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensorsWriter) first = small_writer (1.0f);
  g_assert_true (uad_safetensors_writer_save (first, path, &error));
  g_autofree char *old = NULL;
  gsize old_length;
  g_assert_true (g_file_get_contents (path, &old, &old_length, NULL));

  /* A write that fails half-way (the file-size limit stands in for a full disk; it also stops
   * root): the existing file stays as it was, and no temporary file is left behind. */
  g_autoptr (UadSafetensorsWriter) second = small_writer (2.0f);
  struct rlimit saved_limit, small_limit;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  small_limit = saved_limit;
  small_limit.rlim_cur = 1024;
  void (*saved_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small_limit), ==, 0);
  gboolean saved = uad_safetensors_writer_save (second, path, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  signal (SIGXFSZ, saved_handler);
  g_assert_false (saved);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  assert_file_is (path, old, old_length);
  g_assert_cmpuint (count_entries (dir), ==, 1);

  /* The target folder does not exist. */
  g_autofree char *nowhere = g_build_filename (dir, "no-such-folder", "model.safetensors", NULL);
  g_assert_false (uad_safetensors_writer_save (second, nowhere, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_clear_error (&error);

  /* The path names an existing folder: it stays, empty, and nothing is left next to it. */
  g_autofree char *folder = g_build_filename (dir, "folder.safetensors", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_assert_false (uad_safetensors_writer_save (second, folder, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, folder));
  g_clear_error (&error);
  g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
  g_assert_cmpuint (count_entries (folder), ==, 0);
  g_assert_cmpuint (count_entries (dir), ==, 2);

  /* A read-only folder stops everyone but root. */
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
      g_assert_false (uad_safetensors_writer_save (second, path, &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
      g_clear_error (&error);
      g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
      assert_file_is (path, old, old_length);
    }

  /* A successful save replaces the file. */
  g_assert_true (uad_safetensors_writer_save (second, path, &error));
  g_assert_no_error (error);
  g_autoptr (UadSafetensors) st = uad_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) t = uad_safetensors_load (st, "t", 1, (int64_t[]) { 4096 }, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (t->data[4095], ==, 2.0f);
  g_assert_cmpuint (count_entries (dir), ==, 2);
  remove_tree (dir);
}

static void
test_writer_misuse (void)
{
  g_autoptr (UadSafetensorsWriter) w = small_writer (0.0f);
  float x[2] = { 0 };
  g_test_expect_message ("uniad-core", G_LOG_LEVEL_CRITICAL, "*'t' is reserved or already used*");
  uad_safetensors_writer_add_raw (w, "t", UAD_DTYPE_F32, 1, (int64_t[]) { 2 }, x, sizeof x);
  g_test_expect_message ("uniad-core", G_LOG_LEVEL_CRITICAL, "*'__metadata__' is reserved*");
  uad_safetensors_writer_add_raw (w, "__metadata__", UAD_DTYPE_F32, 1, (int64_t[]) { 2 }, x,
                                  sizeof x);
  g_test_expect_message ("uniad-core", G_LOG_LEVEL_CRITICAL, "*'u' of shape [3] and dtype F32 given 8 bytes*");
  uad_safetensors_writer_add_raw (w, "u", UAD_DTYPE_F32, 1, (int64_t[]) { 3 }, x, sizeof x);
  g_test_assert_expected_messages ();
}

static void
test_shared_files (void)
{
  g_autofree char *mobilenet = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *weights = uad_test_shared_path ("golden/uniad/weights.safetensors");
  g_autofree char *tensors = uad_test_shared_path ("golden/uniad/tensors.safetensors");
  if (mobilenet == NULL || weights == NULL || tensors == NULL)
    return;
  g_autoptr (GError) error = NULL;

  g_autoptr (UadSafetensors) m = uad_safetensors_open (mobilenet, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (uad_safetensors_get_metadata (m, "architecture"), ==, "mobilenet_v2");
  g_assert_cmpuint (uad_safetensors_get_n_tensors (m), ==, 106);
  g_assert_cmpstr (uad_safetensors_get_name (m, 0), ==, "stem.conv.weight");
  g_autoptr (UadTensor) stem = uad_safetensors_load (m, "stem.conv.weight", 4,
                                                     (int64_t[]) { 32, 3, 3, 3 }, &error);
  g_assert_no_error (error);
  g_assert_true (isfinite (stem->data[0]));

  g_autoptr (UadSafetensors) w = uad_safetensors_open (weights, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uad_safetensors_get_n_tensors (w), ==, 545);
  g_autoptr (UadTensor) conv = uad_safetensors_load (w, "backbone._conv_stem.weight", 4,
                                                     (int64_t[]) { 48, 3, 3, 3 }, &error);
  g_assert_no_error (error);
  UadDType dtype;
  int ndim;
  int64_t shape[UAD_SAFETENSORS_MAX_DIMS];
  g_assert_true (uad_safetensors_get_info (w, "backbone._bn0.running_var", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_F32);
  g_assert_cmpint (ndim, ==, 1);
  g_assert_cmpint (shape[0], ==, 48);

  g_autoptr (UadSafetensors) t = uad_safetensors_open (tensors, &error);
  g_assert_no_error (error);
  g_assert_true (uad_safetensors_get_info (t, "input.photo_rgb_u8", &dtype, &ndim, shape));
  g_assert_cmpint (dtype, ==, UAD_DTYPE_U8);
  g_assert_cmpint (ndim, ==, 3);
  g_assert_cmpint (shape[0], ==, 224);
  g_assert_cmpint (shape[2], ==, 3);
  size_t n_bytes = 0;
  g_assert_nonnull (uad_safetensors_get_data (t, "input.photo_rgb_u8", &n_bytes));
  g_assert_cmpuint (n_bytes, ==, 224 * 224 * 3);
  g_autoptr (UadTensor) input = uad_safetensors_load (t, "input.image", 4,
                                                      (int64_t[]) { 2, 3, 224, 224 }, &error);
  g_assert_no_error (error);
}

/* Float to half rounds to nearest, ties to even, over the whole half range: every half comes
 * back as itself, a float halfway between two halves goes to the even one and a float a step
 * off the halfway point to the nearer one; beyond the range is infinity, below half the
 * smallest subnormal zero. */
static void
test_half_precision (void)
{
  for (guint32 h = 0; h <= 0xffff; h++)
    {
      float f = uad_half_to_float ((guint16) h);
      if (isnan (f))
        g_assert_true (isnan (uad_half_to_float (uad_half_from_float (f))));
      else
        g_assert_cmphex (uad_half_from_float (f), ==, h);
      guint16 next = (guint16) (h + 1);
      float g = uad_half_to_float (next);
      if ((h & 0x7fff) >= 0x7c00 || (next & 0x7fff) >= 0x7c00 || next == 0x8000)
        continue; /* no finite neighbour of the same sign */
      float mid = (f + g) / 2; /* exact: halves have 11 significant bits, floats 24 */
      g_assert_cmphex (uad_half_from_float (mid), ==, (h & 1) ? next : h);
      g_assert_cmphex (uad_half_from_float (nextafterf (mid, f)), ==, h);
      g_assert_cmphex (uad_half_from_float (nextafterf (mid, g)), ==, next);
    }
  g_assert_cmphex (uad_half_from_float (65519.0f), ==, 0x7bff);
  g_assert_cmphex (uad_half_from_float (65520.0f), ==, 0x7c00);
  g_assert_cmphex (uad_half_from_float (-1e30f), ==, 0xfc00);
  g_assert_cmphex (uad_half_from_float (0x1p-25f), ==, 0);
  g_assert_cmphex (uad_half_from_float (nextafterf (0x1p-25f, 1)), ==, 1);
  g_assert_cmphex (uad_half_from_float (-0x1p-30f), ==, 0x8000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/broken-headers", test_broken_headers);
  g_test_add_func ("/safetensors/broken-files", test_broken_files);
  g_test_add_func ("/safetensors/hand-made", test_hand_made);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/known-values", test_known_values);
  g_test_add_func ("/safetensors/atomic-save", test_atomic_save);
  g_test_add_func ("/safetensors/writer-misuse", test_writer_misuse);
  g_test_add_func ("/safetensors/shared-files", test_shared_files);
  g_test_add_func ("/safetensors/half-precision", test_half_precision);
  return g_test_run ();
}
