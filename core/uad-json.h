/* SPDX-License-Identifier: Apache-2.0 */
/* uad-json.h: a small strict JSON (RFC 8259) parser producing a read-only tree, and helpers for
 * writing JSON text.
 *
 * The parser accepts exactly the RFC grammar: one value, surrounded only by JSON whitespace; no
 * comments, trailing commas, NaN or leading zeros. Input must be UTF-8 (overlong forms and
 * encoded surrogates are refused); \uXXXX escapes, surrogate pairs included, are decoded to
 * UTF-8 and lone surrogates are refused. Objects keep their members in document order and a key
 * may appear only once. Nesting deeper than UAD_JSON_MAX_DEPTH and numbers too large for a double
 * are refused. Errors are UAD_ERROR_FORMAT and give the byte offset of the problem. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

#define UAD_JSON_MAX_DEPTH 64

typedef enum {
  UAD_JSON_NULL,
  UAD_JSON_BOOLEAN,
  UAD_JSON_NUMBER,
  UAD_JSON_STRING,
  UAD_JSON_ARRAY,
  UAD_JSON_OBJECT,
} UadJsonType;

typedef struct UadJson UadJson;

/* Parses length bytes of text (no terminating NUL needed; never reads beyond length). Returns
 * the root of a new tree (free with uad_json_free) or NULL with error set. */
UadJson *uad_json_parse (const char *text, size_t length, GError **error);
void uad_json_free (UadJson *root);

UadJsonType uad_json_get_type (const UadJson *node);
/* "null", "boolean", "number", "string", "array" or "object", for messages. */
const char *uad_json_type_name (UadJsonType type);

/* The accessors below take NULL (an absent member or element, as uad_json_object_get and
 * uad_json_array_get return it) as a node of no type, so lookups chain without a check at every
 * step: a file that lacks a member then reads as a wrong type, never as a crash. */

/* The value of a boolean (FALSE for any other type). */
gboolean uad_json_get_boolean (const UadJson *node);
/* The value of a number as a double (NaN for any other type). */
double uad_json_get_number (const UadJson *node);
/* TRUE, with *value set, when node is a number written as an integer (no fraction, no exponent)
 * that fits in int64_t, so its value is exact; FALSE otherwise. */
gboolean uad_json_get_int64 (const UadJson *node, int64_t *value);
/* The UTF-8 text of a string (NUL-terminated; it may also contain NULs written as \u0000, hence
 * the optional length in bytes), or NULL if node is not a string. Owned by the tree. */
const char *uad_json_get_string (const UadJson *node, size_t *length);

/* Number of elements of an array or members of an object; 0 for other types. */
guint uad_json_get_length (const UadJson *node);
/* Element index of an array, or NULL if node is not an array or index is out of range. */
const UadJson *uad_json_array_get (const UadJson *node, guint index);
/* Member index (document order) of an object: its value, and (each if not NULL) its key and the
 * key's length in bytes (keys may contain NULs, like strings); NULL if node is not an object or
 * index is out of range. */
const UadJson *uad_json_object_get_member (const UadJson *node, guint index, const char **key,
                                           size_t *key_length);
/* Value of the member named key, or NULL if node is not an object or has no such member. */
const UadJson *uad_json_object_get (const UadJson *node, const char *key);

/* Appends s (UTF-8) as a quoted JSON string, escaping '"', '\\' and control characters. */
void uad_json_append_string (GString *out, const char *s);
/* Appends the shortest decimal text that reads back as exactly v ("null" if v is not finite,
 * which JSON cannot represent). */
void uad_json_append_double (GString *out, double v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadJson, uad_json_free)
