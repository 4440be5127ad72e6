/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <string.h>

#include "uad-error.h"
#include "uad-json.h"

/* Parses a copy of text sized exactly to its length (no NUL after it), so AddressSanitizer
 * catches any read past the end. */
static UadJson *
parse_exact (const char *text, size_t len, GError **error)
{
  g_autofree char *copy = g_memdup2 (text, len);
  return uad_json_parse (copy, len, error);
}

static UadJson *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  UadJson *root = parse_exact (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_nonnull (root);
  return root;
}

static void
test_document (void)
{
  g_autoptr (UadJson) root = parse_ok (
    " {\"name\": \"mobilenet\", \"shape\": [32, 3, 3, 3], \"ok\": true, \"no\": false,\n"
    "  \"nothing\": null, \"nested\": {\"a\": [[]], \"b\": {}}, \"x\": -2.5}\r\n\t");
  g_assert_cmpint (uad_json_get_type (root), ==, UAD_JSON_OBJECT);
  g_assert_cmpuint (uad_json_get_length (root), ==, 7);

  /* Members keep document order. */
  const char *expected_keys[] = { "name", "shape", "ok", "no", "nothing", "nested", "x" };
  for (guint i = 0; i < G_N_ELEMENTS (expected_keys); i++)
    {
      const char *key = NULL;
      g_assert_nonnull (uad_json_object_get_member (root, i, &key, NULL));
      g_assert_cmpstr (key, ==, expected_keys[i]);
    }
  g_assert_null (uad_json_object_get_member (root, 7, NULL, NULL));

  g_assert_cmpstr (uad_json_get_string (uad_json_object_get (root, "name"), NULL), ==, "mobilenet");
  const UadJson *shape = uad_json_object_get (root, "shape");
  g_assert_cmpint (uad_json_get_type (shape), ==, UAD_JSON_ARRAY);
  g_assert_cmpuint (uad_json_get_length (shape), ==, 4);
  int64_t d = 0;
  g_assert_true (uad_json_get_int64 (uad_json_array_get (shape, 0), &d));
  g_assert_cmpint (d, ==, 32);
  g_assert_null (uad_json_array_get (shape, 4));
  g_assert_true (uad_json_get_boolean (uad_json_object_get (root, "ok")));
  g_assert_false (uad_json_get_boolean (uad_json_object_get (root, "no")));
  g_assert_cmpint (uad_json_get_type (uad_json_object_get (root, "no")), ==, UAD_JSON_BOOLEAN);
  g_assert_cmpint (uad_json_get_type (uad_json_object_get (root, "nothing")), ==, UAD_JSON_NULL);
  const UadJson *nested = uad_json_object_get (root, "nested");
  const UadJson *a = uad_json_object_get (nested, "a");
  g_assert_cmpuint (uad_json_get_length (a), ==, 1);
  g_assert_cmpuint (uad_json_get_length (uad_json_array_get (a, 0)), ==, 0);
  g_assert_cmpint (uad_json_get_type (uad_json_object_get (nested, "b")), ==, UAD_JSON_OBJECT);
  g_assert_cmpfloat (uad_json_get_number (uad_json_object_get (root, "x")), ==, -2.5);
  g_assert_null (uad_json_object_get (root, "missing"));
  g_assert_null (uad_json_object_get (root, "nam"));

  /* Accessors refuse other types instead of misreading them. */
  const UadJson *name = uad_json_object_get (root, "name");
  g_assert_true (isnan (uad_json_get_number (name)));
  g_assert_false (uad_json_get_int64 (name, &d));
  g_assert_cmpuint (uad_json_get_length (name), ==, 0);
  g_assert_null (uad_json_array_get (root, 0));
  g_assert_null (uad_json_object_get (shape, "name"));
  g_assert_null (uad_json_object_get_member (shape, 0, NULL, NULL));
  g_assert_null (uad_json_get_string (shape, NULL));
  g_assert_cmpstr (uad_json_type_name (UAD_JSON_OBJECT), ==, "object");
  g_assert_cmpstr (uad_json_type_name (uad_json_get_type (name)), ==, "string");

  /* Scalars are documents too. */
  g_autoptr (UadJson) scalar = parse_ok ("  42 ");
  g_assert_true (uad_json_get_int64 (scalar, &d));
  g_assert_cmpint (d, ==, 42);
}

static void
test_strings (void)
{
  g_autoptr (UadJson) esc = parse_ok ("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"");
  g_assert_cmpstr (uad_json_get_string (esc, NULL), ==, "q\" b\\ s/ \b\f\n\r\t");

  /* \u escapes: ASCII, 2- and 3-byte UTF-8, and a surrogate pair (U+1F600), in either case. */
  g_autoptr (UadJson) u = parse_ok ("\"\\u0041\\u00e9\\u20AC\\ud83d\\uDE00\"");
  g_assert_cmpstr (uad_json_get_string (u, NULL), ==, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

  /* Raw UTF-8 passes through unchanged; DEL needs no escape. */
  g_autoptr (UadJson) raw = parse_ok ("\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \x7f\"");
  g_assert_cmpstr (uad_json_get_string (raw, NULL), ==, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \x7f");

  /* \u0000 is kept; the length tells it apart from the end of the string. */
  g_autoptr (UadJson) nul = parse_ok ("\"a\\u0000b\"");
  size_t len = 0;
  const char *s = uad_json_get_string (nul, &len);
  g_assert_cmpuint (len, ==, 3);
  g_assert_cmpmem (s, 3, "a\0b", 3);

  /* Lookup compares whole keys: "a" is not "a\u0000b". */
  g_autoptr (UadJson) obj = parse_ok ("{\"a\\u0000b\": 1, \"\": 2}");
  g_assert_null (uad_json_object_get (obj, "a"));
  const char *key = NULL;
  g_assert_nonnull (uad_json_object_get_member (obj, 0, &key, &len));
  g_assert_cmpuint (len, ==, 3);
  g_assert_cmpmem (key, 3, "a\0b", 3);
  int64_t v = 0;
  g_assert_true (uad_json_get_int64 (uad_json_object_get (obj, ""), &v));
  g_assert_cmpint (v, ==, 2);
}

static void
test_numbers (void)
{
  static const struct {
    const char *text;
    double value;
    gboolean is_int;
    int64_t int_value;
  } cases[] = {
    { "0", 0, TRUE, 0 },
    { "-0", -0.0, TRUE, 0 },
    { "17", 17, TRUE, 17 },
    { "-42", -42, TRUE, -42 },
    { "9223372036854775807", 9223372036854775807.0, TRUE, G_MAXINT64 },
    { "-9223372036854775808", -9223372036854775808.0, TRUE, G_MININT64 },
    { "9223372036854775808", 9223372036854775808.0, FALSE, 0 }, /* too large for int64 */
    { "1.5", 1.5, FALSE, 0 },
    { "1.0", 1.0, FALSE, 0 }, /* integral value, but not written as an integer */
    { "1e3", 1000, FALSE, 0 },
    { "-1.25E+2", -125, FALSE, 0 },
    { "2.5e-1", 0.25, FALSE, 0 },
    { "0.1", 0.1, FALSE, 0 },
    { "1.7976931348623157e308", 1.7976931348623157e308, FALSE, 0 },
    { "4.9e-324", 4.9e-324, FALSE, 0 },
    { "1e-400", 0, FALSE, 0 }, /* underflow to zero is fine */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (UadJson) n = parse_ok (cases[i].text);
      g_assert_cmpint (uad_json_get_type (n), ==, UAD_JSON_NUMBER);
      g_assert_cmpfloat (uad_json_get_number (n), ==, cases[i].value);
      g_assert_cmpint (!signbit (uad_json_get_number (n)), ==, !signbit (cases[i].value));
      int64_t v = 12345;
      g_assert_cmpint (uad_json_get_int64 (n, &v), ==, cases[i].is_int);
      if (cases[i].is_int)
        g_assert_cmpint (v, ==, cases[i].int_value);
    }
}

static void
test_invalid (void)
{
  static const struct {
    const char *text;
    size_t offset; /* of the reported problem */
  } cases[] = {
    { "", 0 },
    { "  ", 2 },
    { "{", 1 },
    { "[", 1 },
    { "[1,]", 3 },
    { "[1 2]", 3 },
    { "{\"a\":1,}", 7 },
    { "{\"a\" 1}", 5 },
    { "{1:2}", 1 },
    { "{\"a\":}", 5 },
    { "{\"a\":1 \"b\":2}", 7 },
    { "{\"a\":1,\"a\":2}", 7 },
    { "01", 1 },
    { "-01", 2 },
    { "1.", 2 },
    { ".5", 0 },
    { "+1", 0 },
    { "-", 0 },
    { "1e", 2 },
    { "1e+", 3 },
    { "1e999", 0 },
    { "-1e999", 0 },
    { "NaN", 0 },
    { "Infinity", 0 },
    { "tru", 0 },
    { "nul", 0 },
    { "True", 0 },
    { "'a'", 0 },
    { "\"abc", 4 },
    { "\"abc\\", 4 },
    { "\"a\tb\"", 2 },
    { "\"a\nb\"", 2 },
    { "\"\\x\"", 1 },
    { "\"\\u12\"", 3 },
    { "\"\\u12g4\"", 5 },
    { "\"\\ud800\"", 1 },
    { "\"\\udc00\"", 1 },
    { "\"\\ud800\\u0041\"", 1 },
    { "\"\\ud800x\"", 1 },
    { "\"\xc0\xaf\"", 1 },          /* overlong '/' */
    { "\"\xed\xa0\x80\"", 1 },      /* UTF-8 encoded surrogate */
    { "\"\xf4\x90\x80\x80\"", 1 },  /* beyond U+10FFFF */
    { "\"\xff\"", 1 },
    { "\"\x80\"", 1 },              /* stray continuation byte */
    { "\"\xe2\x82\"", 1 },          /* truncated sequence */
    { "[1] x", 4 },
    { "{} {}", 3 },
    { "1 2", 2 },
    { "/*c*/1", 0 },
    { "[1,\f2]", 3 },               /* form feed is not JSON whitespace */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (UadJson) root = parse_exact (cases[i].text, strlen (cases[i].text), &error);
      g_autofree char *shown = g_strescape (cases[i].text, NULL);
      g_test_message ("%s -> %s", shown, error ? error->message : "(accepted)");
      g_assert_null (root);
      g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
      g_autofree char *at = g_strdup_printf ("at byte %zu:", cases[i].offset);
      if (strstr (error->message, at) == NULL)
        g_error ("error for %s should say \"%s\": %s", shown, at, error->message);
    }
}

static void
test_length_bound (void)
{
  /* Only the given bytes count; what follows in memory is never read. */
  const char *text = "[1,2]garbage";
  g_autoptr (GError) error = NULL;
  g_autoptr (UadJson) root = parse_exact (text, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uad_json_get_length (root), ==, 2);

  /* Truncated just inside a literal, a number, a string and an escape. */
  const char *partial[] = { "[true", "[12", "[\"ab", "[\"\\u00", "[\"\\ud83d\\u" };
  for (guint i = 0; i < G_N_ELEMENTS (partial); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (UadJson) r = parse_exact (partial[i], strlen (partial[i]) - 1, &e);
      g_assert_null (r);
      g_assert_error (e, UAD_ERROR, UAD_ERROR_FORMAT);
    }
}

static void
test_depth (void)
{
  for (int depth = UAD_JSON_MAX_DEPTH; depth <= UAD_JSON_MAX_DEPTH + 1; depth++)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      for (int i = 0; i < depth; i++)
        g_string_append (s, i % 2 ? "{\"k\":" : "[");
      g_string_append (s, "0");
      for (int i = depth - 1; i >= 0; i--)
        g_string_append (s, i % 2 ? "}" : "]");
      g_autoptr (GError) error = NULL;
      g_autoptr (UadJson) root = parse_exact (s->str, s->len, &error);
      if (depth <= UAD_JSON_MAX_DEPTH)
        g_assert_no_error (error);
      else
        {
          g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
          g_assert_nonnull (strstr (error->message, "nesting deeper than 64"));
        }
    }

  /* A very deep document fails cleanly instead of exhausting the stack. */
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autoptr (GError) error = NULL;
  g_autoptr (UadJson) root = parse_exact (deep, 100000, &error);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
}

static void
test_large_object (void)
{
  /* Beyond the size where objects get a hash index: lookups and duplicate checks still work. */
  g_autoptr (GString) s = g_string_new ("{");
  for (int i = 0; i < 200; i++)
    g_string_append_printf (s, "%s\"k%d\": %d", i ? ", " : "", i, i * 10);
  g_string_append (s, "}");
  g_autoptr (UadJson) root = parse_ok (s->str);
  g_assert_cmpuint (uad_json_get_length (root), ==, 200);
  for (int i = 0; i < 200; i += 7)
    {
      g_autofree char *key = g_strdup_printf ("k%d", i);
      int64_t v = -1;
      g_assert_true (uad_json_get_int64 (uad_json_object_get (root, key), &v));
      g_assert_cmpint (v, ==, i * 10);
    }
  g_assert_null (uad_json_object_get (root, "k200"));

  g_string_truncate (s, s->len - 1);
  g_string_append (s, ", \"k150\": 0}");
  g_autoptr (GError) error = NULL;
  g_autoptr (UadJson) dup = parse_exact (s->str, s->len, &error);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "duplicate key \"k150\""));
}

static void
test_writer (void)
{
  const char *original = "say \"hi\"\\ \n\t\r\b\f \x01\x1f caf\xc3\xa9 \xf0\x9f\x98\x80 /";
  g_autoptr (GString) out = g_string_new (NULL);
  uad_json_append_string (out, original);
  g_assert_cmpstr (out->str, ==,
                   "\"say \\\"hi\\\"\\\\ \\n\\t\\r\\b\\f \\u0001\\u001f caf\xc3\xa9 \xf0\x9f\x98\x80 /\"");
  g_autoptr (UadJson) back = parse_ok (out->str);
  g_assert_cmpstr (uad_json_get_string (back, NULL), ==, original);

  static const struct {
    double value;
    const char *text;
  } doubles[] = {
    { 0.1, "0.1" },
    { 3, "3" },
    { -0.0, "-0" },
    { 1e300, "1e+300" },
    { 1.0 / 3.0, "0.3333333333333333" },
    { 123456.789, "123456.789" },
    { 5e-324, "4.94065645841247e-324" },
    { NAN, "null" },
    { INFINITY, "null" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++)
    {
      g_string_truncate (out, 0);
      uad_json_append_double (out, doubles[i].value);
      g_assert_cmpstr (out->str, ==, doubles[i].text);
      if (isfinite (doubles[i].value))
        {
          g_autoptr (UadJson) n = parse_ok (out->str);
          g_assert_cmpfloat (uad_json_get_number (n), ==, doubles[i].value);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/document", test_document);
  g_test_add_func ("/json/strings", test_strings);
  g_test_add_func ("/json/numbers", test_numbers);
  g_test_add_func ("/json/invalid", test_invalid);
  g_test_add_func ("/json/length-bound", test_length_bound);
  g_test_add_func ("/json/depth", test_depth);
  g_test_add_func ("/json/large-object", test_large_object);
  g_test_add_func ("/json/writer", test_writer);
  return g_test_run ();
}
