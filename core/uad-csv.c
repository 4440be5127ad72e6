/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-csv.h"

#include <string.h>

void
uad_csv_append_field (GString *out, const char *text, gboolean last)
{
  if (text && strpbrk (text, ",\"\r\n"))
    {
      g_string_append_c (out, '"');
      for (const char *c = text; *c; c++)
        {
          if (*c == '"')
            g_string_append_c (out, '"');
          g_string_append_c (out, *c);
        }
      g_string_append_c (out, '"');
    }
  else if (text)
    g_string_append (out, text);
  g_string_append (out, last ? "\r\n" : ",");
}

void
uad_csv_append_path (GString *out, const char *path, gboolean last)
{
  g_autofree char *utf8 = g_filename_display_name (path);
  uad_csv_append_field (out, utf8, last);
}
