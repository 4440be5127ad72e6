/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-contours.h"

#include <math.h>

/* The sample grid is padded with one ring of "outside" samples, so that marching squares closes
 * every contour. Padded sample (p, q) is map sample (p - 1, q - 1), at map position
 * (p - 0.5, q - 0.5).
 *
 * A crossing lies on a grid edge and is named by the edge: horizontal edges (p, q)-(p + 1, q)
 * first, then vertical edges (p, q)-(p, q + 1). Each cell is walked clockwise on screen
 * (top-left, top-right, bottom-right, bottom-left); an edge whose start is outside and end
 * inside is where the contour enters the cell, the opposite where it leaves, and next[entry] =
 * exit links the crossings into loops: the two cells sharing an edge walk it in opposite
 * directions, so each crossing is the entry of exactly one cell. */

typedef struct {
  const float *map;
  int width, height; /* of the map */
  int pw, ph;        /* of the padded grid */
  float threshold;
} Grid;

static inline gboolean
is_pad (const Grid *g, int p, int q)
{
  return p == 0 || q == 0 || p == g->pw - 1 || q == g->ph - 1;
}

static inline float
sample (const Grid *g, int p, int q)
{
  return is_pad (g, p, q) ? -INFINITY : g->map[(size_t) (q - 1) * g->width + (p - 1)];
}

static inline gboolean
inside (const Grid *g, int p, int q)
{
  return sample (g, p, q) > g->threshold; /* false for NaN */
}

static inline int
h_edge (const Grid *g, int p, int q)
{
  return q * (g->pw - 1) + p;
}

static inline int
v_edge (const Grid *g, int p, int q)
{
  return g->ph * (g->pw - 1) + q * g->pw + p;
}

/* Where the threshold is crossed between samples (p0, q0) and (p1, q1) (4-neighbours). */
static void
crossing (const Grid *g, int p0, int q0, int p1, int q1, float *x, float *y)
{
  float v0 = sample (g, p0, q0), v1 = sample (g, p1, q1);
  float t = 0.5f;
  if (isfinite (v0) && isfinite (v1))
    t = CLAMP ((g->threshold - v0) / (v1 - v0), 0.0f, 1.0f);
  *x = p0 - 0.5f + t * (p1 - p0);
  *y = q0 - 0.5f + t * (q1 - q0);
}

static gboolean
collinear (const float *a, const float *b, const float *c)
{
  double cross = ((double) b[0] - a[0]) * ((double) c[1] - a[1])
               - ((double) b[1] - a[1]) * ((double) c[0] - a[0]);
  return fabs (cross) < 1e-9;
}

/* Appends the loop starting at crossing start to out, dropping the points that lie on the
 * straight line through their neighbours (runs along a mask's pixel boundary). */
static void
emit_loop (int start, const int *next, const float *pts, guint8 *visited, GArray *out)
{
  guint first = out->len / 2;
  for (int e = start; !visited[e]; e = next[e])
    {
      visited[e] = 1;
      guint n = out->len / 2 - first;
      float *xy = (float *) out->data + 2 * first;
      if (n >= 2 && collinear (xy + 2 * (n - 2), xy + 2 * (n - 1), pts + 2 * e))
        g_array_set_size (out, out->len - 2);
      g_array_append_vals (out, pts + 2 * e, 2);
    }
  /* The loop closes on its first point: the last and the first may be redundant too. */
  for (gboolean changed = TRUE; changed && out->len / 2 - first > 3;)
    {
      guint n = out->len / 2 - first;
      float *xy = (float *) out->data + 2 * first;
      changed = FALSE;
      if (collinear (xy + 2 * (n - 2), xy + 2 * (n - 1), xy))
        {
          g_array_set_size (out, out->len - 2);
          changed = TRUE;
        }
      else if (collinear (xy + 2 * (n - 1), xy, xy + 2))
        {
          g_array_remove_range (out, 2 * first, 2);
          changed = TRUE;
        }
    }
}

WorkbenchContours *
workbench_contours_trace (const float *map, int width, int height, float threshold)
{
  g_return_val_if_fail (map != NULL && width >= 1 && height >= 1, NULL);

  Grid g = { map, width, height, width + 2, height + 2, threshold };
  int n_edges = g.ph * (g.pw - 1) + (g.ph - 1) * g.pw;
  int *next = g_new (int, n_edges);
  float *pts = g_new (float, 2 * (size_t) n_edges);
  guint8 *visited = g_new0 (guint8, n_edges);
  for (int e = 0; e < n_edges; e++)
    next[e] = -1;

  for (int q = 0; q < g.ph - 1; q++)
    for (int p = 0; p < g.pw - 1; p++)
      {
        /* Corners and edges in clockwise order; edge k runs from corner k to corner k + 1. */
        const int cp[4] = { p, p + 1, p + 1, p };
        const int cq[4] = { q, q, q + 1, q + 1 };
        gboolean in[4];
        int n_in = 0;
        for (int k = 0; k < 4; k++)
          n_in += in[k] = inside (&g, cp[k], cq[k]);
        if (n_in == 0 || n_in == 4)
          continue;

        const int edge[4] = { h_edge (&g, p, q), v_edge (&g, p + 1, q), h_edge (&g, p, q + 1),
                              v_edge (&g, p, q) };
        int exits[2], n_exits = 0;
        for (int k = 0; k < 4; k++)
          if (in[k] != in[(k + 1) % 4])
            {
              int k1 = (k + 1) % 4;
              crossing (&g, cp[k], cq[k], cp[k1], cq[k1], &pts[2 * edge[k]],
                        &pts[2 * edge[k] + 1]);
              if (in[k])
                exits[n_exits++] = k;
            }

        /* A saddle (two inside corners facing each other) has two entries and two exits; its
         * inside corners are joined through the cell when the cell's mean is above. */
        gboolean joined = FALSE;
        if (n_exits == 2)
          {
            double mean = 0.25 * ((double) sample (&g, p, q) + sample (&g, p + 1, q)
                                  + sample (&g, p + 1, q + 1) + sample (&g, p, q + 1));
            joined = mean > threshold;
          }
        for (int k = 0; k < 4; k++)
          if (!in[k] && in[(k + 1) % 4])
            {
              int exit = exits[0];
              if (n_exits == 2)
                exit = joined ? (k + 3) % 4 : (k + 1) % 4; /* the exit before or after */
              next[edge[k]] = edge[exit];
            }
      }

  GArray *xy = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (int));
  for (int e = 0; e < n_edges; e++)
    if (next[e] >= 0 && !visited[e])
      {
        int start = xy->len / 2;
        g_array_append_val (starts, start);
        emit_loop (e, next, pts, visited, xy);
      }
  int end = xy->len / 2;
  g_array_append_val (starts, end);

  g_free (next);
  g_free (pts);
  g_free (visited);

  WorkbenchContours *c = g_new (WorkbenchContours, 1);
  c->width = width;
  c->height = height;
  c->n_contours = starts->len - 1;
  c->starts = (int *) g_array_free (starts, FALSE);
  c->xy = (float *) g_array_free (xy, FALSE);
  return c;
}

WorkbenchContours *
workbench_contours_trace_mask (const guint8 *mask, int width, int height)
{
  g_return_val_if_fail (mask != NULL && width >= 1 && height >= 1, NULL);

  size_t n = (size_t) width * height;
  float *map = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    map[i] = mask[i] != 0;
  WorkbenchContours *c = workbench_contours_trace (map, width, height, 0.5f);
  g_free (map);
  return c;
}

void
workbench_contours_append_path (const WorkbenchContours *contours, cairo_t *cr, double origin_x,
                                double origin_y, double sx, double sy)
{
  g_return_if_fail (contours != NULL && cr != NULL);

  const WorkbenchContours *c = contours;
  for (int i = 0; i < c->n_contours; i++)
    {
      /* After the last close_path the current point is that contour's start: without a new
       * sub-path the first line_to would draw a line from there. */
      cairo_new_sub_path (cr);
      for (int k = c->starts[i]; k < c->starts[i + 1]; k++)
        cairo_line_to (cr, origin_x + c->xy[2 * k] * sx, origin_y + c->xy[2 * k + 1] * sy);
      cairo_close_path (cr);
    }
}

void
workbench_contours_free (WorkbenchContours *contours)
{
  if (contours == NULL)
    return;
  g_free (contours->starts);
  g_free (contours->xy);
  g_free (contours);
}
