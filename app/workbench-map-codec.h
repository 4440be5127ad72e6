/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-map-codec.h: how the history stores an anomaly map: 16-bit steps between the map's
 * minimum and maximum (error below 1e-5 of its range), as differences along each row (smooth
 * maps give small numbers), zlib-compressed. */
#pragma once

#include <glib.h>

/* The stored bytes of a w x h map; *lo and *hi get its minimum and maximum. */
GByteArray *workbench_map_encode (const float *map, int w, int h, double *lo, double *hi);
/* The map back (w x h floats, g_free), or NULL with UAD_ERROR_FORMAT when the bytes are
 * damaged. */
float *workbench_map_decode (const guint8 *data, gsize len, int w, int h, double lo, double hi,
                             GError **error);
