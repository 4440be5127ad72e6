/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "uad-error.h"

/* Objects with more members than this get a hash index (so duplicate checks and lookups stay
 * linear overall even for a hostile header with a million keys); smaller ones are scanned. */
#define INDEX_THRESHOLD 8

struct UadJson {
  UadJsonType type;
  gboolean boolean;
  gboolean is_int;
  int64_t int_value;
  double number;
  char *string; /* strings */
  size_t string_len;
  guint n_children; /* arrays and objects */
  UadJson **children;
  char **keys;        /* objects: keys[i] names children[i] */
  size_t *key_lens;
  GHashTable *index;  /* large objects: GBytes key -> member index + 1 */
};

typedef struct {
  const char *text;
  size_t len;
  size_t pos;
  GError **error;
} Parser;

static UadJson *parse_value (Parser *p, int depth);

G_GNUC_PRINTF (3, 4) static void
fail (Parser *p, size_t offset, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (p->error, UAD_ERROR, UAD_ERROR_FORMAT, "invalid JSON at byte %zu: %s", offset, what);
}

static UadJson *
node_new (UadJsonType type)
{
  UadJson *node = g_new0 (UadJson, 1);
  node->type = type;
  return node;
}

void
uad_json_free (UadJson *node)
{
  if (node == NULL)
    return;
  for (guint i = 0; i < node->n_children; i++)
    {
      uad_json_free (node->children[i]);
      if (node->keys != NULL)
        g_free (node->keys[i]);
    }
  g_free (node->children);
  g_free (node->keys);
  g_free (node->key_lens);
  g_clear_pointer (&node->index, g_hash_table_unref);
  g_free (node->string);
  g_free (node);
}

static void
skip_whitespace (Parser *p)
{
  while (p->pos < p->len)
    {
      char c = p->text[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

static gboolean
at_end (Parser *p)
{
  return p->pos >= p->len;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits of a \u escape at p->pos (just after the 'u'). */
static gboolean
parse_hex4 (Parser *p, gunichar *out)
{
  if (p->len - p->pos < 4)
    {
      fail (p, p->pos, "truncated \\u escape");
      return FALSE;
    }
  gunichar v = 0;
  for (int i = 0; i < 4; i++)
    {
      int h = hex_value (p->text[p->pos + i]);
      if (h < 0)
        {
          fail (p, p->pos + i, "bad hex digit in \\u escape");
          return FALSE;
        }
      v = v * 16 + (gunichar) h;
    }
  p->pos += 4;
  *out = v;
  return TRUE;
}

/* After "\u" at p->pos: one code point, combining a surrogate pair. */
static gboolean
parse_unicode_escape (Parser *p, gunichar *out)
{
  size_t start = p->pos - 2;
  gunichar hi;
  if (!parse_hex4 (p, &hi))
    return FALSE;
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    {
      fail (p, start, "lone low surrogate \\u%04X", hi);
      return FALSE;
    }
  if (hi < 0xD800 || hi > 0xDBFF)
    {
      *out = hi;
      return TRUE;
    }
  gunichar lo;
  if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
    {
      fail (p, start, "high surrogate \\u%04X not followed by a low surrogate", hi);
      return FALSE;
    }
  p->pos += 2;
  if (!parse_hex4 (p, &lo))
    return FALSE;
  if (lo < 0xDC00 || lo > 0xDFFF)
    {
      fail (p, start, "high surrogate \\u%04X not followed by a low surrogate", hi);
      return FALSE;
    }
  *out = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return TRUE;
}

/* A string at p->pos (on the opening quote); returns the decoded text, its length in *len. */
static char *
parse_string (Parser *p, size_t *len)
{
  g_autoptr (GString) s = g_string_new (NULL);
  p->pos++; /* opening quote */
  for (;;)
    {
      if (at_end (p))
        {
          fail (p, p->pos, "unterminated string");
          return NULL;
        }
      guchar c = (guchar) p->text[p->pos];
      if (c == '"')
        {
          p->pos++;
          break;
        }
      if (c < 0x20)
        {
          fail (p, p->pos, "unescaped control character 0x%02X in string", c);
          return NULL;
        }
      if (c >= 0x80)
        {
          gunichar u = g_utf8_get_char_validated (p->text + p->pos, (gssize) (p->len - p->pos));
          if (u == (gunichar) -1 || u == (gunichar) -2)
            {
              fail (p, p->pos, "invalid UTF-8 in string");
              return NULL;
            }
          size_t n = (size_t) g_utf8_skip[c];
          g_string_append_len (s, p->text + p->pos, (gssize) n);
          p->pos += n;
          continue;
        }
      if (c != '\\')
        {
          g_string_append_c (s, (char) c);
          p->pos++;
          continue;
        }
      if (p->len - p->pos < 2)
        {
          fail (p, p->pos, "unterminated string");
          return NULL;
        }
      char e = p->text[p->pos + 1];
      p->pos += 2;
      gunichar u;
      switch (e)
        {
        case '"': g_string_append_c (s, '"'); break;
        case '\\': g_string_append_c (s, '\\'); break;
        case '/': g_string_append_c (s, '/'); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'n': g_string_append_c (s, '\n'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'u':
          if (!parse_unicode_escape (p, &u))
            return NULL;
          if (u == 0)
            g_string_append_c (s, '\0'); /* g_string_append_unichar would stop at it */
          else
            g_string_append_unichar (s, u);
          break;
        default:
          fail (p, p->pos - 2, "invalid escape '\\%c'", g_ascii_isprint (e) ? e : '?');
          return NULL;
        }
    }
  *len = s->len;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static size_t
skip_digits (Parser *p)
{
  size_t start = p->pos;
  while (!at_end (p) && g_ascii_isdigit (p->text[p->pos]))
    p->pos++;
  return p->pos - start;
}

static UadJson *
parse_number (Parser *p)
{
  size_t start = p->pos;
  gboolean integral = TRUE;
  if (p->text[p->pos] == '-')
    p->pos++;
  if (!at_end (p) && p->text[p->pos] == '0')
    p->pos++;
  else if (skip_digits (p) == 0)
    {
      fail (p, start, "invalid number");
      return NULL;
    }
  if (!at_end (p) && p->text[p->pos] == '.')
    {
      integral = FALSE;
      p->pos++;
      if (skip_digits (p) == 0)
        {
          fail (p, p->pos, "digits expected after the decimal point");
          return NULL;
        }
    }
  if (!at_end (p) && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E'))
    {
      integral = FALSE;
      p->pos++;
      if (!at_end (p) && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
        p->pos++;
      if (skip_digits (p) == 0)
        {
          fail (p, p->pos, "digits expected in the exponent");
          return NULL;
        }
    }
  /* The token is not NUL-terminated in the input; convert a copy. */
  g_autofree char *token = g_strndup (p->text + start, p->pos - start);
  double v = g_ascii_strtod (token, NULL);
  if (!isfinite (v))
    {
      fail (p, start, "number %s is out of range", token);
      return NULL;
    }
  UadJson *node = node_new (UAD_JSON_NUMBER);
  node->number = v;
  if (integral)
    {
      errno = 0;
      gint64 i = g_ascii_strtoll (token, NULL, 10);
      node->is_int = errno == 0;
      node->int_value = i;
    }
  return node;
}

static gboolean
parse_literal (Parser *p, const char *word)
{
  size_t n = strlen (word);
  if (p->len - p->pos < n || memcmp (p->text + p->pos, word, n) != 0)
    {
      fail (p, p->pos, "unexpected character");
      return FALSE;
    }
  p->pos += n;
  return TRUE;
}

/* Index of the member named key[0..len) in the object being built, or -1. */
static gssize
find_member (const UadJson *obj, const char *key, size_t len)
{
  if (obj->index != NULL)
    {
      g_autoptr (GBytes) k = g_bytes_new_static (key, len);
      gpointer v = g_hash_table_lookup (obj->index, k);
      return v != NULL ? GPOINTER_TO_INT (v) - 1 : -1;
    }
  for (guint i = 0; i < obj->n_children; i++)
    if (obj->key_lens[i] == len && memcmp (obj->keys[i], key, len) == 0)
      return i;
  return -1;
}

static void
index_member (UadJson *obj, guint i)
{
  GBytes *k = g_bytes_new_static (obj->keys[i], obj->key_lens[i]);
  g_hash_table_insert (obj->index, k, GINT_TO_POINTER (i + 1));
}

static void
append_member (UadJson *obj, char *key, size_t key_len, UadJson *value, guint *capacity)
{
  if (obj->n_children == *capacity)
    {
      *capacity = *capacity ? *capacity * 2 : 4;
      obj->children = g_renew (UadJson *, obj->children, *capacity);
      obj->keys = g_renew (char *, obj->keys, *capacity);
      obj->key_lens = g_renew (size_t, obj->key_lens, *capacity);
    }
  guint i = obj->n_children++;
  obj->children[i] = value;
  obj->keys[i] = key;
  obj->key_lens[i] = key_len;
  if (obj->index == NULL && obj->n_children > INDEX_THRESHOLD)
    {
      /* Keys point into the members, which live as long as the object. */
      obj->index = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                          (GDestroyNotify) g_bytes_unref, NULL);
      for (guint j = 0; j < obj->n_children; j++)
        index_member (obj, j);
    }
  else if (obj->index != NULL)
    index_member (obj, i);
}

static void
append_element (UadJson *arr, UadJson *value, guint *capacity)
{
  if (arr->n_children == *capacity)
    {
      *capacity = *capacity ? *capacity * 2 : 4;
      arr->children = g_renew (UadJson *, arr->children, *capacity);
    }
  arr->children[arr->n_children++] = value;
}

/* An array or object at p->pos (on '[' or '{'). */
static UadJson *
parse_container (Parser *p, int depth)
{
  gboolean is_object = p->text[p->pos] == '{';
  char close = is_object ? '}' : ']';
  if (depth >= UAD_JSON_MAX_DEPTH)
    {
      fail (p, p->pos, "nesting deeper than %d levels", UAD_JSON_MAX_DEPTH);
      return NULL;
    }
  g_autoptr (UadJson) node = node_new (is_object ? UAD_JSON_OBJECT : UAD_JSON_ARRAY);
  guint capacity = 0;
  p->pos++;
  skip_whitespace (p);
  if (!at_end (p) && p->text[p->pos] == close)
    {
      p->pos++;
      return g_steal_pointer (&node);
    }
  for (;;)
    {
      g_autofree char *key = NULL;
      size_t key_len = 0;
      if (is_object)
        {
          size_t key_pos = p->pos;
          if (at_end (p) || p->text[p->pos] != '"')
            {
              fail (p, p->pos, "object key (a string) expected");
              return NULL;
            }
          key = parse_string (p, &key_len);
          if (key == NULL)
            return NULL;
          if (find_member (node, key, key_len) >= 0)
            {
              fail (p, key_pos, "duplicate key \"%s\"", key);
              return NULL;
            }
          skip_whitespace (p);
          if (at_end (p) || p->text[p->pos] != ':')
            {
              fail (p, p->pos, "':' expected after an object key");
              return NULL;
            }
          p->pos++;
          skip_whitespace (p);
        }
      UadJson *value = parse_value (p, depth + 1);
      if (value == NULL)
        return NULL;
      if (is_object)
        append_member (node, g_steal_pointer (&key), key_len, value, &capacity);
      else
        append_element (node, value, &capacity);
      skip_whitespace (p);
      if (at_end (p))
        {
          fail (p, p->pos, "unterminated %s", is_object ? "object" : "array");
          return NULL;
        }
      char c = p->text[p->pos];
      if (c == close)
        {
          p->pos++;
          return g_steal_pointer (&node);
        }
      if (c != ',')
        {
          fail (p, p->pos, "',' or '%c' expected", close);
          return NULL;
        }
      p->pos++;
      skip_whitespace (p);
    }
}

/* A value at p->pos (whitespace before it already skipped). */
static UadJson *
parse_value (Parser *p, int depth)
{
  if (at_end (p))
    {
      fail (p, p->pos, "value expected, found the end of the text");
      return NULL;
    }
  UadJson *node;
  switch (p->text[p->pos])
    {
    case '{':
    case '[':
      return parse_container (p, depth);
    case '"':
      {
        size_t len;
        char *s = parse_string (p, &len);
        if (s == NULL)
          return NULL;
        node = node_new (UAD_JSON_STRING);
        node->string = s;
        node->string_len = len;
        return node;
      }
    case 't':
    case 'f':
      {
        gboolean value = p->text[p->pos] == 't';
        if (!parse_literal (p, value ? "true" : "false"))
          return NULL;
        node = node_new (UAD_JSON_BOOLEAN);
        node->boolean = value;
        return node;
      }
    case 'n':
      if (!parse_literal (p, "null"))
        return NULL;
      return node_new (UAD_JSON_NULL);
    default:
      if (p->text[p->pos] == '-' || g_ascii_isdigit (p->text[p->pos]))
        return parse_number (p);
      fail (p, p->pos, "unexpected character");
      return NULL;
    }
}

UadJson *
uad_json_parse (const char *text, size_t length, GError **error)
{
  g_return_val_if_fail (text != NULL || length == 0, NULL);
  Parser p = { text, length, 0, error };
  skip_whitespace (&p);
  g_autoptr (UadJson) root = parse_value (&p, 0);
  if (root == NULL)
    return NULL;
  skip_whitespace (&p);
  if (!at_end (&p))
    {
      fail (&p, p.pos, "unexpected text after the end of the document");
      return NULL;
    }
  return g_steal_pointer (&root);
}

UadJsonType
uad_json_get_type (const UadJson *node)
{
  return node->type;
}

const char *
uad_json_type_name (UadJsonType type)
{
  static const char *const names[] = { "null", "boolean", "number", "string", "array", "object" };
  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (names), "?");
  return names[type];
}

gboolean
uad_json_get_boolean (const UadJson *node)
{
  return node != NULL && node->type == UAD_JSON_BOOLEAN && node->boolean;
}

double
uad_json_get_number (const UadJson *node)
{
  return node != NULL && node->type == UAD_JSON_NUMBER ? node->number : NAN;
}

gboolean
uad_json_get_int64 (const UadJson *node, int64_t *value)
{
  if (node == NULL || node->type != UAD_JSON_NUMBER || !node->is_int)
    return FALSE;
  *value = node->int_value;
  return TRUE;
}

const char *
uad_json_get_string (const UadJson *node, size_t *length)
{
  if (node == NULL || node->type != UAD_JSON_STRING)
    return NULL;
  if (length != NULL)
    *length = node->string_len;
  return node->string;
}

guint
uad_json_get_length (const UadJson *node)
{
  if (node == NULL)
    return 0;
  return node->type == UAD_JSON_ARRAY || node->type == UAD_JSON_OBJECT ? node->n_children : 0;
}

const UadJson *
uad_json_array_get (const UadJson *node, guint index)
{
  if (node == NULL || node->type != UAD_JSON_ARRAY || index >= node->n_children)
    return NULL;
  return node->children[index];
}

const UadJson *
uad_json_object_get_member (const UadJson *node, guint index, const char **key,
                            size_t *key_length)
{
  if (node == NULL || node->type != UAD_JSON_OBJECT || index >= node->n_children)
    return NULL;
  if (key != NULL)
    *key = node->keys[index];
  if (key_length != NULL)
    *key_length = node->key_lens[index];
  return node->children[index];
}

const UadJson *
uad_json_object_get (const UadJson *node, const char *key)
{
  if (node == NULL || node->type != UAD_JSON_OBJECT)
    return NULL;
  gssize i = find_member (node, key, strlen (key));
  return i >= 0 ? node->children[i] : NULL;
}

void
uad_json_append_string (GString *out, const char *s)
{
  g_return_if_fail (g_utf8_validate (s, -1, NULL));
  g_string_append_c (out, '"');
  for (const char *c = s; *c; c++)
    {
      switch (*c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if ((guchar) *c < 0x20)
            g_string_append_printf (out, "\\u%04x", (guint) (guchar) *c);
          else
            g_string_append_c (out, *c);
        }
    }
  g_string_append_c (out, '"');
}

void
uad_json_append_double (GString *out, double v)
{
  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  /* %.17g always reads back exactly; shorter forms are tried first for readable output. */
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 15; digits <= 17; digits++)
    {
      char format[8];
      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if (digits == 17 || g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (out, buf);
}
