/* SPDX-License-Identifier: Apache-2.0 */
/* The workbench's image viewer: contour extraction (pure) and their Cairo path, textures, and
 * the widget under a display (Xvfb in the test suite): zoom actions and pane synchronisation,
 * properties, the defect contour in the rendered pixels, what the reconstruction pane says,
 * the Decoded Input toggle, the height the panes get, and screenshots of the rendered widget
 * (VIEWER_SCREENSHOT_DIR, default "."), to be looked at. Without a display the widget
 * tests are skipped. */
#include <adwaita.h>
#include <math.h>

#include "uad-anomaly-map.h"
#include "workbench-contours.h"
#include "workbench-image-pane.h"
#include "workbench-texture.h"
#include "workbench-viewer.h"

/* The workbench's resources (the viewer's template, the style sheet), compiled in. */
void workbench_register_resource (void);

#define N UAD_ANOMALY_MAP_SIZE

static gboolean have_display;

/* ---- Contours ---- */

static double
contour_length (const WorkbenchContours *c, int i)
{
  double length = 0;
  int first = c->starts[i], n = c->starts[i + 1] - first;
  for (int k = 0; k < n; k++)
    {
      const float *a = c->xy + 2 * (first + k), *b = c->xy + 2 * (first + (k + 1) % n);
      length += hypot (b[0] - a[0], b[1] - a[1]);
    }
  return length;
}

/* Shoelace area: negative for the outlines of regions (anticlockwise on screen, y down). */
static double
contour_area (const WorkbenchContours *c, int i)
{
  double area = 0;
  int first = c->starts[i], n = c->starts[i + 1] - first;
  for (int k = 0; k < n; k++)
    {
      const float *a = c->xy + 2 * (first + k), *b = c->xy + 2 * (first + (k + 1) % n);
      area += (double) a[0] * b[1] - (double) b[0] * a[1];
    }
  return area / 2;
}

static float *
square_map (int x0, int y0, int side, float value)
{
  float *map = g_new0 (float, N * N);
  for (int y = y0; y < y0 + side; y++)
    for (int x = x0; x < x0 + side; x++)
      map[y * N + x] = value;
  return map;
}

/* A k x k square of samples above the threshold: the crossings lie on the pixel boundary,
 * and each corner cell cuts the corner by a diagonal of half a pixel's legs. */
static void
test_contours_square (void)
{
  const int k = 30, x0 = 60, y0 = 50;
  g_autofree float *map = square_map (x0, y0, k, 1.0f);
  g_autoptr (WorkbenchContours) c = workbench_contours_trace (map, N, N, 0.5f);

  g_assert_cmpint (c->width, ==, N);
  g_assert_cmpint (c->n_contours, ==, 1);
  g_assert_cmpint (c->starts[1] - c->starts[0], ==, 8); /* 4 sides + 4 cut corners */
  g_assert_cmpfloat_with_epsilon (contour_length (c, 0), 4 * (k - 1) + 4 * sqrt (0.5), 1e-4);
  g_assert_cmpfloat_with_epsilon (contour_area (c, 0), -(k * k - 4 * 0.125), 1e-3);
  for (int i = 0; i < c->starts[1]; i++)
    {
      g_assert_cmpfloat (c->xy[2 * i], >=, x0);
      g_assert_cmpfloat (c->xy[2 * i], <=, x0 + k);
      g_assert_cmpfloat (c->xy[2 * i + 1], >=, y0);
      g_assert_cmpfloat (c->xy[2 * i + 1], <=, y0 + k);
    }

  /* The same square as a mask gives the same outline. */
  g_autofree guint8 *mask = g_new0 (guint8, N * N);
  for (int i = 0; i < N * N; i++)
    mask[i] = map[i] > 0 ? 255 : 0;
  g_autoptr (WorkbenchContours) m = workbench_contours_trace_mask (mask, N, N);
  g_assert_cmpint (m->n_contours, ==, 1);
  g_assert_cmpint (m->starts[1], ==, c->starts[1]);
  g_assert_cmpfloat_with_epsilon (contour_length (m, 0), contour_length (c, 0), 1e-4);

  /* Nothing above: no contour. */
  g_autoptr (WorkbenchContours) none = workbench_contours_trace (map, N, N, 1.0f);
  g_assert_cmpint (none->n_contours, ==, 0);
}

/* A cone v = R - distance: linear interpolation puts every crossing on the circle of radius R
 * (to within the distance's curvature over one pixel). */
static void
test_contours_circle (void)
{
  const double r = 40, cx = 100.3, cy = 120.6;
  g_autofree float *map = g_new (float, N * N);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      map[y * N + x] = (float) (r - hypot (x + 0.5 - cx, y + 0.5 - cy));
  g_autoptr (WorkbenchContours) c = workbench_contours_trace (map, N, N, 0.0f);

  g_assert_cmpint (c->n_contours, ==, 1);
  double worst = 0;
  for (int i = 0; i < c->starts[1]; i++)
    worst = MAX (worst, fabs (hypot (c->xy[2 * i] - cx, c->xy[2 * i + 1] - cy) - r));
  g_test_message ("circle r = %g: worst radius error %.4f px, length %.3f (2 pi r = %.3f)", r,
                  worst, contour_length (c, 0), 2 * G_PI * r);
  g_assert_cmpfloat (worst, <, 0.02);
  g_assert_cmpfloat (fabs (contour_length (c, 0) / (2 * G_PI * r) - 1), <, 1e-3);
  g_assert_cmpfloat (contour_area (c, 0), <, 0);
}

/* A region touching the border is closed along the border itself (its corners cut like any
 * other). */
static void
test_contours_border (void)
{
  const int w = 7, h = 5;
  float map[7 * 5];
  for (int i = 0; i < w * h; i++)
    map[i] = 1;
  g_autoptr (WorkbenchContours) c = workbench_contours_trace (map, w, h, 0.5f);
  g_assert_cmpint (c->n_contours, ==, 1);
  g_assert_cmpint (c->starts[1], ==, 8);
  g_assert_cmpfloat_with_epsilon (contour_length (c, 0), 2 * (w + h) - 4 + 4 * sqrt (0.5), 1e-5);
  g_assert_cmpfloat_with_epsilon (contour_area (c, 0), -(w * h - 0.5), 1e-5);
  for (int i = 0; i < 8; i++)
    g_assert_true (c->xy[2 * i] == 0 || c->xy[2 * i] == w || c->xy[2 * i + 1] == 0
                   || c->xy[2 * i + 1] == h);

  /* One sample in the corner: a diamond of half-pixel legs touching both sides. */
  float one[7 * 5] = { 0 };
  one[0] = 1;
  g_autoptr (WorkbenchContours) d = workbench_contours_trace (one, w, h, 0.5f);
  g_assert_cmpint (d->n_contours, ==, 1);
  g_assert_cmpfloat_with_epsilon (contour_length (d, 0), 4 * sqrt (0.5), 1e-5);
  g_assert_cmpfloat_with_epsilon (contour_area (d, 0), -0.5, 1e-6);
}

/* A ring: the outer outline and the hole's, in opposite senses; a NaN sample is outside and is
 * cut off by a small diamond through the midpoints. */
static void
test_contours_holes (void)
{
  g_autofree float *map = square_map (20, 20, 40, 1.0f);
  for (int y = 30; y < 50; y++)
    for (int x = 30; x < 50; x++)
      map[y * N + x] = 0;
  map[22 * N + 40] = NAN;
  g_autoptr (WorkbenchContours) c = workbench_contours_trace (map, N, N, 0.5f);

  g_assert_cmpint (c->n_contours, ==, 3);
  int outer = 0, holes = 0;
  gboolean diamond = FALSE;
  for (int i = 0; i < c->n_contours; i++)
    {
      double area = contour_area (c, i);
      if (area < 0)
        {
          outer++;
          g_assert_cmpfloat_with_epsilon (area, -(40 * 40 - 0.5), 1e-3);
        }
      else
        holes++;
      if (fabs (area - 0.5) < 1e-5)
        {
          diamond = TRUE;
          g_assert_cmpfloat_with_epsilon (contour_length (c, i), 4 * sqrt (0.5), 1e-5);
        }
      else if (area > 0)
        g_assert_cmpfloat_with_epsilon (area, 20 * 20 - 0.5, 1e-3); /* corners cut too */
    }
  g_assert_cmpint (outer, ==, 1);
  g_assert_cmpint (holes, ==, 2);
  g_assert_true (diamond);
}

/* Two diagonal samples: joined through the saddle cell when its mean is above the threshold. */
static void
test_contours_saddle (void)
{
  float map[4 * 4] = { 0 };
  map[1 * 4 + 1] = 1;
  map[2 * 4 + 2] = 1;
  g_autoptr (WorkbenchContours) joined = workbench_contours_trace (map, 4, 4, 0.4f);
  g_autoptr (WorkbenchContours) apart = workbench_contours_trace (map, 4, 4, 0.6f);
  g_assert_cmpint (joined->n_contours, ==, 1);
  g_assert_cmpint (apart->n_contours, ==, 2);
  g_assert_cmpfloat (contour_area (joined, 0), <, 0);
  for (int i = 0; i < 2; i++)
    g_assert_cmpfloat (contour_area (apart, i), <, 0);
}

/* Defect pixels in three corners of the map: three regions, each closed on its own. Drawn as
 * one path, every contour must be a sub-path of its own: no line from one region to the next
 * (they were once joined by a diagonal across the image and a line down its edge). */
#define CORNER 20

/* The corner square (0 top-left, 1 top-right, 2 bottom-left) that (x, y) lies on, or -1. */
static int
corner_of (double x, double y)
{
  const double lo = CORNER + 1, hi = N - CORNER - 1;
  if (x <= lo && y <= lo)
    return 0;
  if (x >= hi && y <= lo)
    return 1;
  if (x <= lo && y >= hi)
    return 2;
  return -1;
}

static void
test_contours_path (void)
{
  g_autofree float *map = g_new0 (float, N * N);
  for (int y = 0; y < CORNER; y++)
    for (int x = 0; x < CORNER; x++)
      {
        map[y * N + x] = 1;
        map[y * N + N - 1 - x] = 1;
        map[(N - 1 - y) * N + x] = 1;
      }
  g_autoptr (WorkbenchContours) c = workbench_contours_trace (map, N, N, 0.5f);
  g_assert_cmpint (c->n_contours, ==, 3);

  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, N, N);
  cairo_t *cr = cairo_create (surface);
  workbench_contours_append_path (c, cr, 0, 0, 1, 1);
  cairo_path_t *path = cairo_copy_path (cr);
  g_assert_cmpint (path->status, ==, CAIRO_STATUS_SUCCESS);

  /* Sub-paths by their points: each lies on one corner, a different one, and is closed. */
  gboolean seen[3] = { FALSE, FALSE, FALSE };
  int n_subpaths = 0, corner = -1, n_points = 0;
  gboolean closed = TRUE;
  for (int i = 0; i < path->num_data; i += path->data[i].header.length)
    {
      const cairo_path_data_t *d = &path->data[i];
      switch (d->header.type)
        {
        case CAIRO_PATH_MOVE_TO:
          corner = corner_of (d[1].point.x, d[1].point.y);
          g_assert_cmpint (corner, >=, 0);
          n_points = 1;
          break;
        case CAIRO_PATH_LINE_TO:
          /* A line from one corner to another is what joined the regions. */
          g_assert_cmpint (corner_of (d[1].point.x, d[1].point.y), ==, corner);
          if (n_points++ == 1)
            {
              g_assert_true (closed);
              g_assert_false (seen[corner]);
              seen[corner] = TRUE;
              n_subpaths++;
              closed = FALSE;
            }
          break;
        case CAIRO_PATH_CLOSE_PATH:
          closed = TRUE;
          break;
        case CAIRO_PATH_CURVE_TO:
          g_assert_not_reached ();
        }
    }
  g_assert_true (closed);
  g_assert_cmpint (n_subpaths, ==, 3);
  cairo_path_destroy (path);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* ---- Textures ---- */

static void
test_textures (void)
{
  g_autoptr (UadImage) img = uad_image_new (5, 3);
  for (int i = 0; i < 5 * 3 * 3; i++)
    img->rgb[i] = (guint8) (i * 7);
  g_autoptr (GdkTexture) t = workbench_texture_new_from_image (img);
  g_assert_cmpint (gdk_texture_get_width (t), ==, 5);
  g_assert_cmpint (gdk_texture_get_height (t), ==, 3);
  guint8 bgra[5 * 3 * 4];
  gdk_texture_download (t, bgra, 5 * 4);
  for (int i = 0; i < 5 * 3; i++)
    {
      /* GDK_MEMORY_DEFAULT: B G R A in memory on little-endian machines. */
      g_assert_cmpint (bgra[4 * i + 2], ==, img->rgb[3 * i]);
      g_assert_cmpint (bgra[4 * i + 1], ==, img->rgb[3 * i + 1]);
      g_assert_cmpint (bgra[4 * i], ==, img->rgb[3 * i + 2]);
    }

  const float map[4] = { -1, 2, 0.5f, NAN };
  g_autoptr (GdkTexture) h = workbench_texture_new_heatmap (map, 2, 2, 0, 1, UAD_COLORMAP_INFERNO);
  guint8 out[2 * 2 * 4];
  gdk_texture_download (h, out, 2 * 4);
  const float expect_t[4] = { 0, 1, 0.5f, 0 };
  for (int i = 0; i < 4; i++)
    {
      guint8 rgb[3];
      uad_colormap_rgb (UAD_COLORMAP_INFERNO, expect_t[i], rgb);
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (abs (out[4 * i + 2 - c] - rgb[c]), <=, 2); /* 256-entry table */
    }

  /* The enum's nicks are the core's colour map names (GSettings stores them). */
  g_autoptr (GEnumClass) e = g_type_class_ref (WORKBENCH_TYPE_COLORMAP);
  for (int m = UAD_COLORMAP_JET; m <= UAD_COLORMAP_GRAY; m++)
    g_assert_cmpstr (g_enum_get_value (e, m)->value_nick, ==, uad_colormap_name (m));
}

/* ---- The widget ---- */

typedef struct {
  GtkWidget *window;
  WorkbenchViewer *viewer;
  WorkbenchImagePane *panes[2];
  GdkTexture *original, *reconstruction;
  float *map;
  guint8 *mask;
} Fixture;

#define IMG_W 448
#define IMG_H 336
/* The defect: a Gaussian bump centred here in map coordinates, and the truth mask's disc. */
#define BUMP_X 150.0
#define BUMP_Y 90.0
#define BUMP_SIGMA 11.0

static void
find_panes (GtkWidget *widget, Fixture *f, int *n)
{
  if (WORKBENCH_IS_IMAGE_PANE (widget) && *n < 2)
    f->panes[(*n)++] = WORKBENCH_IMAGE_PANE (widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    find_panes (c, f, n);
}

/* The toolbar button bound to an action: insensitive while the action is disabled. */
static GtkWidget *
find_action_button (GtkWidget *widget, const char *action)
{
  if (GTK_IS_ACTIONABLE (widget)
      && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_action_button (c, action);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
action_enabled (Fixture *f, const char *action)
{
  GtkWidget *button = find_action_button (GTK_WIDGET (f->viewer), action);
  g_assert_nonnull (button);
  return gtk_widget_get_sensitive (button);
}

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  (*(int *) data)--;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until n frames have been drawn (at most 5 s). */
static void
wait_frames (GtkWidget *widget, int n)
{
  gboolean timed_out = FALSE;
  guint tick = gtk_widget_add_tick_callback (widget, on_tick, &n, NULL);
  guint timeout = g_timeout_add (5000, on_timeout, &timed_out);
  while (n > 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (widget, tick);
  if (!timed_out)
    g_source_remove (timeout);
  g_assert_false (timed_out);
}

/* A brushed-metal plate with a round part on it; the defect is a dark scratch on the part. */
static UadImage *
synthetic_image (gboolean with_defect)
{
  UadImage *img = uad_image_new (IMG_W, IMG_H);
  double sx = (double) IMG_W / N, sy = (double) IMG_H / N;
  for (int y = 0; y < IMG_H; y++)
    for (int x = 0; x < IMG_W; x++)
      {
        double brushed = 8 * sin (y * 0.9 + sin (x * 0.05) * 3);
        double v = 70 + 40.0 * y / IMG_H + brushed;
        double d = hypot (x - 0.45 * IMG_W, y - 0.5 * IMG_H);
        if (d < 0.36 * IMG_H)
          v = 170 + 30 * cos (d * 0.08) + brushed / 2; /* the part */
        if (with_defect)
          {
            double mx = x / sx - BUMP_X, my = y / sy - BUMP_Y;
            if (fabs (mx * 0.6 + my * 0.8) < 1.3 && hypot (mx, my) < 12)
              v = 45; /* the scratch */
          }
        guint8 *p = img->rgb + 3 * ((size_t) y * IMG_W + x);
        p[0] = (guint8) CLAMP (v + 6, 0, 255);
        p[1] = (guint8) CLAMP (v + 2, 0, 255);
        p[2] = (guint8) CLAMP (v - 6, 0, 255);
      }
  return img;
}

/* Shows original with its reconstruction, or as from a model without an image decoder. */
static void
show_image (Fixture *f, GdkTexture *original, const float *map, const guint8 *mask,
            GdkTexture *reconstruction)
{
  workbench_viewer_set_image (f->viewer, original, map, mask);
  workbench_viewer_set_reconstruction (f->viewer,
                                       reconstruction ? WORKBENCH_RECONSTRUCTION_READY
                                                      : WORKBENCH_RECONSTRUCTION_NO_DECODER,
                                       NULL, reconstruction);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  if (!have_display)
    return;

  f->window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (f->window), "Viewer test");
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  f->viewer = WORKBENCH_VIEWER (workbench_viewer_new ());
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->viewer));
  int n = 0;
  find_panes (GTK_WIDGET (f->viewer), f, &n);
  g_assert_cmpint (n, ==, 2);

  g_autoptr (UadImage) original = synthetic_image (TRUE);
  g_autoptr (UadImage) reconstruction = synthetic_image (FALSE);
  f->original = workbench_texture_new_from_image (original);
  f->reconstruction = workbench_texture_new_from_image (reconstruction);
  f->map = g_new (float, N * N);
  f->mask = g_new0 (guint8, N * N);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      {
        double d = hypot (x + 0.5 - BUMP_X, y + 0.5 - BUMP_Y);
        f->map[y * N + x] = (float) (0.05 + 0.02 * sin (x * 0.07) * cos (y * 0.05)
                                     + exp (-d * d / (2 * BUMP_SIGMA * BUMP_SIGMA)));
        f->mask[y * N + x] = hypot (x + 0.5 - BUMP_X - 2, y + 0.5 - BUMP_Y + 1) < 9;
      }

  gtk_window_present (GTK_WINDOW (f->window));
  wait_frames (f->window, 2);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->original);
  g_clear_object (&f->reconstruction);
  g_free (f->map);
  g_free (f->mask);
}

static void
assert_in_step (Fixture *f)
{
  /* The toolbar's zoom label is up to date. */
  char label[32];
  g_snprintf (label, sizeof label, "%.0f %%", 100 * workbench_viewer_get_zoom (f->viewer));
  GtkWidget *button = find_action_button (GTK_WIDGET (f->viewer), "viewer.zoom-100");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, label);

  double x0, y0, x1, y1;
  workbench_image_pane_get_center (f->panes[0], &x0, &y0);
  workbench_image_pane_get_center (f->panes[1], &x1, &y1);
  g_assert_cmpfloat (workbench_image_pane_get_zoom (f->panes[0]), ==,
                     workbench_image_pane_get_zoom (f->panes[1]));
  g_assert_cmpfloat (x0, ==, x1);
  g_assert_cmpfloat (y0, ==, y1);
  g_assert_cmpint (workbench_image_pane_get_fit (f->panes[0]), ==,
                   workbench_image_pane_get_fit (f->panes[1]));
  g_assert_cmpfloat (workbench_viewer_get_zoom (f->viewer), ==,
                     workbench_image_pane_get_zoom (f->panes[0]));
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(int *) data)++;
}

static void
test_viewer_zoom (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  GtkWidget *viewer = GTK_WIDGET (f->viewer);
  int zoom_notes = 0;
  g_signal_connect (viewer, "notify::zoom", G_CALLBACK (on_notify), &zoom_notes);

  /* No image: nothing to zoom. */
  g_assert_false (action_enabled (f, "viewer.zoom-100"));

  show_image (f, f->original, f->map, f->mask, f->reconstruction);
  wait_frames (f->window, 2);
  g_assert_true (action_enabled (f, "viewer.zoom-100"));
  g_assert_true (action_enabled (f, "viewer.zoom-in"));
  int pw = gtk_widget_get_width (GTK_WIDGET (f->panes[0]));
  int ph = gtk_widget_get_height (GTK_WIDGET (f->panes[0]));
  g_assert_cmpint (pw, >, 100);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (f->panes[1])), ==, pw);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (f->panes[1])), ==, ph);

  /* Fit: the whole image, centred. */
  g_assert_true (workbench_image_pane_get_fit (f->panes[0]));
  g_assert_cmpfloat_with_epsilon (workbench_viewer_get_zoom (f->viewer),
                                  MIN ((double) pw / IMG_W, (double) ph / IMG_H), 1e-12);
  assert_in_step (f);

  g_assert_true (gtk_widget_activate_action (viewer, "viewer.zoom-100", NULL));
  g_assert_cmpfloat (workbench_viewer_get_zoom (f->viewer), ==, 1.0);
  g_assert_false (workbench_image_pane_get_fit (f->panes[0]));
  assert_in_step (f);

  g_assert_true (gtk_widget_activate_action (viewer, "viewer.zoom-in", NULL));
  g_assert_cmpfloat_with_epsilon (workbench_viewer_get_zoom (f->viewer), 1.25, 1e-12);
  assert_in_step (f);

  /* Gestures on the right pane move the left one too. */
  double x0, y0, x1, y1;
  workbench_image_pane_get_center (f->panes[0], &x0, &y0);
  workbench_image_pane_pan (f->panes[1], 50, -25);
  workbench_image_pane_get_center (f->panes[0], &x1, &y1);
  g_assert_cmpfloat_with_epsilon (x1, x0 - 50 / 1.25, 1e-9);
  g_assert_cmpfloat_with_epsilon (y1, y0 + 25 / 1.25, 1e-9);
  assert_in_step (f);

  /* Zooming at a point keeps the image point under it in place. */
  double px = 0.3 * pw, py = 0.7 * ph, zoom = workbench_viewer_get_zoom (f->viewer);
  double ix = x1 + (px - pw / 2.0) / zoom, iy = y1 + (py - ph / 2.0) / zoom;
  workbench_image_pane_zoom_at (f->panes[1], 2.0, px, py);
  zoom = workbench_viewer_get_zoom (f->viewer);
  g_assert_cmpfloat_with_epsilon (zoom, 2.5, 1e-12);
  workbench_image_pane_get_center (f->panes[0], &x1, &y1);
  g_assert_cmpfloat_with_epsilon (x1 + (px - pw / 2.0) / zoom, ix, 1e-9);
  g_assert_cmpfloat_with_epsilon (y1 + (py - ph / 2.0) / zoom, iy, 1e-9);
  assert_in_step (f);

  /* Limits. */
  workbench_image_pane_zoom_at (f->panes[0], 1e6, px, py);
  g_assert_cmpfloat (workbench_viewer_get_zoom (f->viewer), ==, 64.0);
  g_assert_true (gtk_widget_activate_action (viewer, "viewer.zoom-out", NULL));
  g_assert_cmpfloat_with_epsilon (workbench_viewer_get_zoom (f->viewer), 64.0 / 1.25, 1e-9);
  assert_in_step (f);

  g_assert_true (gtk_widget_activate_action (viewer, "viewer.zoom-fit", NULL));
  g_assert_true (workbench_image_pane_get_fit (f->panes[0]));
  assert_in_step (f);
  g_assert_cmpint (zoom_notes, >=, 6);

  /* Another image of the same size keeps the view; another size returns to fit. */
  g_assert_true (gtk_widget_activate_action (viewer, "viewer.zoom-100", NULL));
  show_image (f, f->reconstruction, NULL, NULL, NULL);
  g_assert_cmpfloat (workbench_viewer_get_zoom (f->viewer), ==, 1.0);
  g_autoptr (UadImage) small = uad_image_new (100, 80);
  g_autoptr (GdkTexture) small_texture = workbench_texture_new_from_image (small);
  show_image (f, small_texture, NULL, NULL, NULL);
  g_assert_true (workbench_image_pane_get_fit (f->panes[0]));
  assert_in_step (f);

  show_image (f, NULL, NULL, NULL, NULL);
  g_assert_false (action_enabled (f, "viewer.zoom-in"));
  g_assert_false (action_enabled (f, "viewer.zoom-fit"));
}

static void
test_viewer_properties (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  int notes = 0;
  g_signal_connect (f->viewer, "notify::heatmap-opacity", G_CALLBACK (on_notify), &notes);
  g_signal_connect (f->viewer, "notify::colormap", G_CALLBACK (on_notify), &notes);

  g_assert_cmpfloat (workbench_viewer_get_heatmap_opacity (f->viewer), ==, 0.5);
  g_object_set (f->viewer, "heatmap-opacity", 0.8, NULL);
  g_assert_cmpfloat (workbench_viewer_get_heatmap_opacity (f->viewer), ==, 0.8);
  g_assert_cmpint (notes, ==, 1);
  workbench_viewer_set_heatmap_opacity (f->viewer, 0.8); /* unchanged: no notify */
  g_assert_cmpint (notes, ==, 1);
  workbench_viewer_set_heatmap_opacity (f->viewer, 7);
  g_assert_cmpfloat (workbench_viewer_get_heatmap_opacity (f->viewer), ==, 1.0);
  g_assert_cmpint (notes, ==, 2);

  g_assert_cmpint (workbench_viewer_get_colormap (f->viewer), ==, UAD_COLORMAP_JET);
  workbench_viewer_set_colormap (f->viewer, UAD_COLORMAP_INFERNO);
  UadColormap cmap;
  g_object_get (f->viewer, "colormap", &cmap, NULL);
  g_assert_cmpint (cmap, ==, UAD_COLORMAP_INFERNO);
  g_assert_cmpint (notes, ==, 3);

  /* GSettings-style binding by nick through the enum type. */
  GValue value = G_VALUE_INIT;
  g_value_init (&value, WORKBENCH_TYPE_COLORMAP);
  g_autoptr (GEnumClass) e = g_type_class_ref (WORKBENCH_TYPE_COLORMAP);
  g_value_set_enum (&value, g_enum_get_value_by_nick (e, "gray")->value);
  g_object_set_property (G_OBJECT (f->viewer), "colormap", &value);
  g_assert_cmpint (workbench_viewer_get_colormap (f->viewer), ==, UAD_COLORMAP_GRAY);
  g_assert_cmpint (notes, ==, 4);

  workbench_viewer_set_pixel_threshold (f->viewer, 0.5f);
  g_assert_cmpfloat (workbench_viewer_get_pixel_threshold (f->viewer), ==, 0.5f);
}

/* The window rendered offscreen by its own renderer. */
static GdkTexture *
render_window (Fixture *f)
{
  wait_frames (f->window, 2);
  int w = gtk_widget_get_width (f->window), h = gtk_widget_get_height (f->window);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (f->window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (f->window));
  GdkTexture *texture = gsk_renderer_render_texture (renderer, node,
                                                     &GRAPHENE_RECT_INIT (0, 0, w, h));
  gsk_render_node_unref (node);
  return texture;
}

static void
save_screenshot (GdkTexture *texture, const char *name)
{
  const char *dir = g_getenv ("VIEWER_SCREENSHOT_DIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* Counts the strongly red pixels (the defect contour; the gray colour map has none) within
 * 3 px of the circle where the bump crosses the threshold, in window coordinates. */
static int
red_on_contour (Fixture *f, GdkTexture *texture, float threshold)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  g_autofree guint8 *px = g_malloc ((size_t) w * h * 4);
  gdk_texture_download (texture, px, (size_t) w * 4);

  /* The bump is above the threshold within this radius (the background adds about 0.05). */
  double radius = BUMP_SIGMA * sqrt (-2 * log (threshold - 0.05));
  double zoom = workbench_viewer_get_zoom (f->viewer), cx, cy;
  workbench_image_pane_get_center (f->panes[0], &cx, &cy);
  double pw = gtk_widget_get_width (GTK_WIDGET (f->panes[0]));
  double ph = gtk_widget_get_height (GTK_WIDGET (f->panes[0]));
  int red = 0;
  for (int k = 0; k < 64; k++)
    {
      double a = 2 * G_PI * k / 64;
      double mx = BUMP_X + radius * cos (a), my = BUMP_Y + radius * sin (a);
      double ix = mx * IMG_W / N, iy = my * IMG_H / N;
      graphene_point_t in = GRAPHENE_POINT_INIT ((ix - cx) * zoom + pw / 2, (iy - cy) * zoom + ph / 2);
      graphene_point_t out;
      g_assert_true (gtk_widget_compute_point (GTK_WIDGET (f->panes[0]), f->window, &in, &out));
      gboolean found = FALSE;
      for (int dy = -3; dy <= 3 && !found; dy++)
        for (int dx = -3; dx <= 3 && !found; dx++)
          {
            int x = (int) out.x + dx, y = (int) out.y + dy;
            if (x < 0 || y < 0 || x >= w || y >= h)
              continue;
            const guint8 *p = px + ((size_t) y * w + x) * 4; /* B G R A */
            found = p[2] > 180 && p[1] < 90 && p[0] < 100;
          }
      red += found;
    }
  return red;
}

/* The label in the reconstruction pane's placeholder, and whether the picture is shown. */
static const char *
reconstruction_placeholder (Fixture *f, gboolean *shown)
{
  GtkWidget *stack = gtk_widget_get_ancestor (GTK_WIDGET (f->panes[1]), GTK_TYPE_STACK);
  *shown = g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (stack)), "image") == 0;
  GtkWidget *placeholder = gtk_stack_get_child_by_name (GTK_STACK (stack), "placeholder");
  for (GtkWidget *c = gtk_widget_get_first_child (placeholder); c;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LABEL (c))
      return gtk_label_get_label (GTK_LABEL (c));
  g_assert_not_reached ();
}

/* The reconstruction pane says where the reconstruction is: a render under way is not a
 * model without a decoder. */
static void
test_viewer_reconstruction_state (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  gboolean shown;
  workbench_viewer_set_image (f->viewer, f->original, f->map, f->mask);
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_PENDING, NULL, NULL);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==, "Rendering reconstruction…");
  g_assert_false (shown);
  g_autoptr (GdkTexture) pending = render_window (f);
  save_screenshot (pending, "viewer-rendering.png");

  /* A new map (the image was inspected meanwhile) does not change that. */
  workbench_viewer_set_image (f->viewer, f->original, f->map, f->mask);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==, "Rendering reconstruction…");

  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_READY, NULL,
                                       f->reconstruction);
  reconstruction_placeholder (f, &shown);
  g_assert_true (shown);
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_NO_DECODER, NULL,
                                       NULL);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==, "This model has no image decoder");
  g_assert_false (shown);
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_FAILED, NULL, NULL);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==,
                   "The reconstruction could not be drawn");
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_NO_MODEL, NULL, NULL);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==, "No model is open");

  /* Without an image the left pane alone says so. */
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_READY, NULL,
                                       f->reconstruction);
  workbench_viewer_set_image (f->viewer, NULL, NULL, NULL);
  g_assert_cmpstr (reconstruction_placeholder (f, &shown), ==, "");
  g_assert_false (shown);
}

/* The window pixel (B G R A) at the centre of the left pane. */
static void
left_pane_centre (Fixture *f, guint8 bgra[4])
{
  g_autoptr (GdkTexture) shot = render_window (f);
  int w = gdk_texture_get_width (shot), h = gdk_texture_get_height (shot);
  g_autofree guint8 *px = g_malloc ((size_t) w * h * 4);
  gdk_texture_download (shot, px, (size_t) w * 4);
  GtkWidget *pane = GTK_WIDGET (f->panes[0]);
  graphene_point_t in = GRAPHENE_POINT_INIT (gtk_widget_get_width (pane) / 2.0,
                                             gtk_widget_get_height (pane) / 2.0);
  graphene_point_t out;
  g_assert_true (gtk_widget_compute_point (pane, f->window, &in, &out));
  memcpy (bgra, px + ((size_t) out.y * w + (size_t) out.x) * 4, 4);
}

static gboolean
is_green (const guint8 bgra[4])
{
  return bgra[1] > 150 && bgra[2] < 60 && bgra[0] < 60;
}

static const char *
left_pane_title (Fixture *f)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (f->panes[0]), GTK_TYPE_OVERLAY);
  for (GtkWidget *c = gtk_widget_get_first_child (overlay); c; c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LABEL (c))
      return gtk_label_get_label (GTK_LABEL (c));
  g_assert_not_reached ();
}

/* The fair comparison: the input through the same image decoder as the reconstruction, in
 * the left pane instead of the photograph, while the toggle is on. */
static void
test_viewer_decoded_input (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  g_autoptr (UadImage) flat = uad_image_new (56, 42);
  for (int i = 0; i < 56 * 42; i++)
    flat->rgb[3 * i + 1] = 220; /* green: the decoded input, as the test tells it */
  g_autoptr (GdkTexture) decoded = workbench_texture_new_from_image (flat);
  workbench_viewer_set_heatmap_opacity (f->viewer, 0);
  guint8 px[4];

  /* No decoded input yet: nothing to toggle. */
  workbench_viewer_set_image (f->viewer, f->original, f->map, f->mask);
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_PENDING, NULL, NULL);
  g_assert_false (action_enabled (f, "viewer.decoded-input"));
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_READY, decoded,
                                       f->reconstruction);
  g_assert_true (action_enabled (f, "viewer.decoded-input"));
  left_pane_centre (f, px);
  g_assert_false (is_green (px));
  g_assert_cmpstr (left_pane_title (f), ==, "Input · heatmap");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->viewer), "viewer.decoded-input",
                                             NULL));
  left_pane_centre (f, px);
  g_assert_true (is_green (px));
  g_assert_cmpstr (left_pane_title (f), ==, "Decoded input · heatmap");
  GtkWidget *toggle = find_action_button (GTK_WIDGET (f->viewer), "viewer.decoded-input");
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (toggle)));
  g_autoptr (GdkTexture) shot = render_window (f);
  save_screenshot (shot, "viewer-decoded-input.png");

  /* The choice stays for the next image; until its decoded input comes, the photograph. */
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_PENDING, NULL, NULL);
  g_assert_false (action_enabled (f, "viewer.decoded-input"));
  left_pane_centre (f, px);
  g_assert_false (is_green (px));
  g_assert_cmpstr (left_pane_title (f), ==, "Input · heatmap");
  workbench_viewer_set_reconstruction (f->viewer, WORKBENCH_RECONSTRUCTION_READY, decoded,
                                       f->reconstruction);
  left_pane_centre (f, px);
  g_assert_true (is_green (px));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->viewer), "viewer.decoded-input",
                                             NULL));
  left_pane_centre (f, px);
  g_assert_false (is_green (px));
}

/* The first widget of type under root (root included) that has no action, depth first. */
static GtkWidget *
find_plain (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type)
      && !(GTK_IS_ACTIONABLE (root) && gtk_actionable_get_action_name (GTK_ACTIONABLE (root))))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_plain (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Looking at the image is the job: the panes take the height, the details fold away under
 * one line (the verdict, the details button, the legend) until asked for. */
static void
test_viewer_space (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  static const char *const facts[] = {
    "Score", "40.0", "Model verdict", "Fail", "Class", "magnetic_tile", "Label", "blowhole",
    "File", "test/blowhole/exp1_num_4894.png", "Size", "448 × 336", "Bytes", "120.3 kB",
    "Folder", "/home/operator/mvtec/magnetic_tile/test/blowhole", NULL,
  };
  show_image (f, f->original, f->map, f->mask, f->reconstruction);
  workbench_viewer_set_pixel_threshold (f->viewer, 0.5f);
  workbench_viewer_set_facts (f->viewer, facts);
  workbench_viewer_set_verdict (f->viewer, UAD_VERDICT_FAIL);
  wait_frames (f->window, 2);
  int window_h = gtk_widget_get_height (f->window);
  int pane_w = gtk_widget_get_width (GTK_WIDGET (f->panes[0]));
  int pane_h = gtk_widget_get_height (GTK_WIDGET (f->panes[0]));
  g_test_message ("panes %d x %d in a %d x %d window", pane_w, pane_h,
                  gtk_widget_get_width (f->window), window_h);
  g_assert_cmpint (pane_h, >=, window_h - 170);

  /* The details on request, below the panes, which keep most of the height; the button is in
   * the line above them. */
  GtkRevealer *revealer = GTK_REVEALER (find_plain (GTK_WIDGET (f->viewer), GTK_TYPE_REVEALER));
  GtkWidget *strip = gtk_widget_get_prev_sibling (GTK_WIDGET (revealer));
  GtkWidget *button = find_plain (strip, GTK_TYPE_TOGGLE_BUTTON);
  g_assert_false (gtk_revealer_get_child_revealed (revealer));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), TRUE);
  for (int i = 0; i < 100 && !gtk_revealer_get_child_revealed (revealer); i++)
    wait_frames (f->window, 1);
  g_assert_true (gtk_revealer_get_child_revealed (revealer));
  g_autoptr (GdkTexture) shot = render_window (f);
  save_screenshot (shot, "viewer-details.png");
  int details_h = gtk_widget_get_height (GTK_WIDGET (revealer));
  g_test_message ("details open: %d px high; panes %d px", details_h,
                  gtk_widget_get_height (GTK_WIDGET (f->panes[0])));
  g_assert_cmpint (details_h, >, 0);
  g_assert_cmpint (details_h, <, gtk_widget_get_height (GTK_WIDGET (f->panes[0])) / 2);
}

/* A model without reconstructions (PaDiM) gets no reconstruction pane: the original takes
 * its room. */
static void
test_viewer_no_reconstruction (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  show_image (f, f->original, f->map, f->mask, f->reconstruction);
  wait_frames (f->window, 2);
  int both = gtk_widget_get_width (GTK_WIDGET (f->panes[0]));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (f->panes[1])));

  workbench_viewer_set_reconstruction_shown (f->viewer, FALSE);
  wait_frames (f->window, 2);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (f->panes[1])));
  int alone = gtk_widget_get_width (GTK_WIDGET (f->panes[0]));
  g_test_message ("original pane %d px wide beside the reconstruction, %d alone", both, alone);
  g_assert_cmpint (alone, >, 2 * both - 50);
  g_autoptr (GdkTexture) shot = render_window (f);
  save_screenshot (shot, "viewer-no-reconstruction.png");

  workbench_viewer_set_reconstruction_shown (f->viewer, TRUE);
  wait_frames (f->window, 2);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (f->panes[1])));
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (f->panes[0])), ==, both);
}

static void
test_viewer_render (Fixture *f, gconstpointer data)
{
  if (!have_display)
    {
      g_test_skip ("no display");
      return;
    }
  static const char *const facts[] = {
    "Score", "0.812", "Class", "metal_nut", "File", "scratch/017.png", "Size", "448 × 336",
    "Model", "uniad-mvtec.safetensors", NULL,
  };
  show_image (f, f->original, f->map, f->mask, f->reconstruction);
  workbench_viewer_set_map_range (f->viewer, 0, 1);
  workbench_viewer_set_facts (f->viewer, facts);
  workbench_viewer_set_verdict (f->viewer, UAD_VERDICT_FAIL);

  /* The defect contour appears where the map crosses the threshold, and follows it. */
  workbench_viewer_set_colormap (f->viewer, UAD_COLORMAP_GRAY);
  g_autoptr (GdkTexture) none = render_window (f);
  g_assert_cmpint (red_on_contour (f, none, 0.5f), ==, 0);
  workbench_viewer_set_pixel_threshold (f->viewer, 0.5f);
  g_autoptr (GdkTexture) half = render_window (f);
  int found = red_on_contour (f, half, 0.5f);
  g_test_message ("contour found at %d of 64 points of the threshold circle", found);
  g_assert_cmpint (found, >=, 60);
  workbench_viewer_set_pixel_threshold (f->viewer, 0.25f);
  g_autoptr (GdkTexture) quarter = render_window (f);
  g_assert_cmpint (red_on_contour (f, quarter, 0.25f), >=, 60);
  save_screenshot (quarter, "viewer-gray.png");

  workbench_viewer_set_pixel_threshold (f->viewer, 0.4f);
  workbench_viewer_set_colormap (f->viewer, UAD_COLORMAP_JET);
  workbench_viewer_set_heatmap_opacity (f->viewer, 0.45);
  g_autoptr (GdkTexture) fit = render_window (f);
  save_screenshot (fit, "viewer.png");

  /* Zoomed in on the defect, both panes alike, without a decoder. */
  show_image (f, f->original, f->map, f->mask, NULL);
  workbench_viewer_set_colormap (f->viewer, UAD_COLORMAP_INFERNO);
  workbench_viewer_set_verdict (f->viewer, UAD_VERDICT_PASS);
  workbench_image_pane_zoom_to (f->panes[0], 3.0);
  double cx, cy;
  workbench_image_pane_get_center (f->panes[0], &cx, &cy);
  workbench_image_pane_pan (f->panes[0], (cx - BUMP_X * IMG_W / N) * 3, (cy - BUMP_Y * IMG_H / N) * 3);
  g_autoptr (GdkTexture) zoomed = render_window (f);
  save_screenshot (zoomed, "viewer-zoomed.png");

  show_image (f, NULL, NULL, NULL, NULL);
  workbench_viewer_set_facts (f->viewer, NULL);
  workbench_viewer_set_verdict (f->viewer, UAD_VERDICT_NONE);
  g_autoptr (GdkTexture) empty = render_window (f);
  save_screenshot (empty, "viewer-empty.png");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  have_display = gtk_init_check ();
  workbench_register_resource ();
  if (have_display)
    {
      adw_init ();
      /* The application's style sheet, as AdwApplication loads it. */
      g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
      gtk_css_provider_load_from_resource (css, "/org/uniad/Workbench/style.css");
      gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                  GTK_STYLE_PROVIDER (css),
                                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    }

  g_test_add_func ("/viewer/contours/square", test_contours_square);
  g_test_add_func ("/viewer/contours/circle", test_contours_circle);
  g_test_add_func ("/viewer/contours/border", test_contours_border);
  g_test_add_func ("/viewer/contours/holes", test_contours_holes);
  g_test_add_func ("/viewer/contours/saddle", test_contours_saddle);
  g_test_add_func ("/viewer/contours/path", test_contours_path);
  g_test_add_func ("/viewer/textures", test_textures);
  g_test_add ("/viewer/widget/zoom", Fixture, NULL, fixture_setup, test_viewer_zoom,
              fixture_teardown);
  g_test_add ("/viewer/widget/properties", Fixture, NULL, fixture_setup, test_viewer_properties,
              fixture_teardown);
  g_test_add ("/viewer/widget/render", Fixture, NULL, fixture_setup, test_viewer_render,
              fixture_teardown);
  g_test_add ("/viewer/widget/reconstruction-state", Fixture, NULL, fixture_setup,
              test_viewer_reconstruction_state, fixture_teardown);
  g_test_add ("/viewer/widget/decoded-input", Fixture, NULL, fixture_setup,
              test_viewer_decoded_input, fixture_teardown);
  g_test_add ("/viewer/widget/space", Fixture, NULL, fixture_setup, test_viewer_space,
              fixture_teardown);
  g_test_add ("/viewer/widget/no-reconstruction", Fixture, NULL, fixture_setup,
              test_viewer_no_reconstruction, fixture_teardown);
  return g_test_run ();
}
