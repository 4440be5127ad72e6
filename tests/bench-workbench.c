/* SPDX-License-Identifier: Apache-2.0 */
/* bench-workbench.c: how the real workbench responds on a folder of 1,000 images (a benchmark,
 * not a test: `meson test -C BUILD --benchmark workbench`, or under xvfb-run by hand):
 *
 *   1. from opening a model and the folder to the first thumbnail, and to every thumbnail of
 *      the first screen of the gallery;
 *   2. while the model inspects all 1,000: the main loop's idle latency (gaps between runs of a
 *      1 ms high-priority timeout: longest, 99th percentile, how many over 16 ms), the frame
 *      clock's longest interval, and the longest time the main thread spent on one batch of
 *      results;
 *   3. how long a threshold slider takes to re-label the 1,000 images and recount.
 *
 * The images are 1,000 of UNIAD_SHARED/data/industrial/pcb (320 x 320 PNG), linked into one
 * folder; the model is MobileNetV2, trained for one epoch on 16 good ones. The renderer in use
 * is printed: under Xvfb, GTK's GL renderer runs on the CPU (llvmpipe), so GSK_RENDERER=cairo
 * gives the more telling numbers there. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-cpu.h"
#include "uad-dataset.h"
#include "workbench-driver.h"
#include "workbench-gallery-cell.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_IMAGES 1000
#define N_TRAIN 16

static struct {
  WorkbenchWindow *window;
  WorkbenchSession *session;
  GtkGridView *grid;
  GArray *gaps;          /* gint64 microseconds between high-priority ticks */
  gint64 last_tick, last_tick_cpu;
  guint busy_gaps;       /* gaps over 16 ms in which the main thread itself ran 16 ms or more */
  gint64 busy_max;       /* the longest of those, in CPU time */
  gint64 busy_max_at;    /* and when it ended */
  gint64 last_frame, frame_max;
  gint64 batch_start, batch_max;           /* wall time */
  gint64 batch_cpu_start, batch_cpu_max;   /* the main thread's CPU time */
} b;

static gint64
now (void)
{
  return g_get_monotonic_time ();
}

/* CPU time of the calling thread: what it did itself, without the waits for a core on a busy
 * machine. */
static gint64
thread_cpu (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Links the first n images of pcb (train and test, not masks) into folder as img_NNNN.png. */
static void
link_images (const char *pcb, const char *folder, int n, gboolean train_only)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *from = g_build_filename (pcb, train_only ? "train" : "", NULL);
  g_auto (GStrv) all = uad_list_images (from, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  int k = 0;
  for (char **p = all; *p && k < n; p++)
    {
      if (strstr (*p, "ground_truth") != NULL)
        continue;
      g_autofree char *name = g_strdup_printf ("img_%04d.png", k++);
      g_autofree char *link = g_build_filename (folder, name, NULL);
      g_assert_cmpint (symlink (*p, link), ==, 0);
    }
  g_assert_cmpint (k, ==, n);
}

static gboolean
has_items (gpointer data)
{
  guint n;
  g_object_get (b.session, "n-items", &n, NULL);
  return n == N_IMAGES;
}

static gboolean
any_thumbnail (gpointer data)
{
  GListModel *items = workbench_session_get_items (b.session);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr (WorkbenchItem) item = g_list_model_get_item (items, i);
      if (workbench_item_get_thumbnail (item))
        return TRUE;
    }
  return FALSE;
}

/* Every cell the gallery shows on screen has its thumbnail. */
static gboolean
first_screen (gpointer data)
{
  int *shown = data;
  int visible = 0, ready = 0, height = gtk_widget_get_height (GTK_WIDGET (b.grid));
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (b.grid)); child;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *cell = gtk_widget_get_first_child (child);
      graphene_rect_t r;
      if (!WORKBENCH_IS_GALLERY_CELL (cell) || !gtk_widget_get_mapped (child)
          || !gtk_widget_compute_bounds (child, GTK_WIDGET (b.grid), &r)
          || r.origin.y + r.size.height <= 0 || r.origin.y >= height)
        continue;
      WorkbenchItem *item = workbench_gallery_cell_get_item (WORKBENCH_GALLERY_CELL (cell));
      visible++;
      ready += item && workbench_item_get_thumbnail (item) != NULL;
    }
  *shown = visible;
  return visible > 0 && ready == visible;
}

static gboolean
model_loaded (gpointer data)
{
  gboolean has_model, loading;
  g_object_get (b.session, "has-model", &has_model, "loading", &loading, NULL);
  return has_model && !loading;
}

static gboolean
inspected (gpointer data)
{
  gboolean inspecting;
  g_object_get (b.session, "inspecting", &inspecting, NULL);
  return !inspecting && workbench_session_get_run_id (b.session) > 0;
}

/* A long gap is either the main thread working (handling results, laying out, drawing) or
 * the main thread waiting for a core that other processes hold: its CPU time tells which. */
static gboolean
on_tick (gpointer data)
{
  gint64 t = now (), cpu = thread_cpu ();
  if (b.last_tick)
    {
      gint64 gap = t - b.last_tick;
      g_array_append_val (b.gaps, gap);
      if (gap > 16000 && cpu - b.last_tick_cpu >= 16000)
        {
          b.busy_gaps++;
          if (cpu - b.last_tick_cpu > b.busy_max)
            {
              b.busy_max = cpu - b.last_tick_cpu;
              b.busy_max_at = t;
            }
        }
    }
  b.last_tick = t;
  b.last_tick_cpu = cpu;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_frame (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  gint64 t = gdk_frame_clock_get_frame_time (clock);
  if (b.last_frame)
    b.frame_max = MAX (b.frame_max, t - b.last_frame);
  b.last_frame = t;
  return G_SOURCE_CONTINUE;
}

static gboolean
batch_begins (GSignalInvocationHint *hint, guint n, const GValue *values, gpointer data)
{
  b.batch_start = now ();
  b.batch_cpu_start = thread_cpu ();
  return TRUE;
}

static void
batch_ends (WorkbenchInspector *inspector, GPtrArray *results, gpointer data)
{
  b.batch_max = MAX (b.batch_max, now () - b.batch_start);
  b.batch_cpu_max = MAX (b.batch_cpu_max, thread_cpu () - b.batch_cpu_start);
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static void
bench (void)
{
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *pcb = uad_test_shared_path ("data/industrial/pcb");
  if (weights == NULL || pcb == NULL)
    return;
  g_autofree char *root = wb_test_make_dir ();
  g_autofree char *train = g_build_filename (root, "data", "pcb", "train", "good", NULL);
  g_autofree char *folder = g_build_filename (root, "images", NULL);
  link_images (pcb, train, N_TRAIN, TRUE);
  link_images (pcb, folder, N_IMAGES, FALSE);
  g_autofree char *data = g_build_filename (root, "data", NULL);
  g_autofree char *model = g_build_filename (root, "pcb.uniad", NULL);
  wb_train_model (data, weights, 1, model);
  g_autofree char *data_home = g_build_filename (root, "xdg-data", NULL);
  g_autoptr (WorkbenchApplication) app = wb_start (data_home, weights, "Benchmark");
  if (app == NULL)
    {
      g_test_skip ("no display or settings schema");
      wb_test_remove_tree (root);
      return;
    }

  /* 1. First thumbnails: the window is up with the model loaded, then the folder opens. */
  b.window = wb_open (app, (const char *const[]) { model, NULL });
  b.session = workbench_window_get_session (b.window);
  b.grid = GTK_GRID_VIEW (wb_find_type (GTK_WIDGET (b.window), GTK_TYPE_GRID_VIEW));
  g_assert_true (wb_wait_for (model_loaded, NULL, 60000));
  wb_spin (500);
  gint64 t0 = now ();
  wb_open (app, (const char *const[]) { folder, NULL });
  g_assert_true (wb_wait_for (has_items, NULL, 30000));
  gint64 t_items = now ();
  g_assert_true (wb_wait_for (any_thumbnail, NULL, 30000));
  gint64 t_first = now ();
  int shown = 0;
  g_assert_true (wb_wait_for (first_screen, &shown, 30000));
  gint64 t_screen = now ();
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (b.window));
  g_test_message ("renderer %s, window %d x %d", G_OBJECT_TYPE_NAME (renderer),
                  gtk_widget_get_width (GTK_WIDGET (b.window)),
                  gtk_widget_get_height (GTK_WIDGET (b.window)));
  g_test_message ("opening the folder: %d images listed after %.0f ms, the first thumbnail after "
                  "%.0f ms, the first screen (%d thumbnails) after %.0f ms", N_IMAGES,
                  (t_items - t0) / 1e3, (t_first - t0) / 1e3, shown, (t_screen - t0) / 1e3);

  /* 2. Inspecting. */
  WorkbenchInspector *inspector = workbench_session_get_inspector (b.session);
  guint signal = g_signal_lookup ("results", WORKBENCH_TYPE_INSPECTOR);
  gulong hook = g_signal_add_emission_hook (signal, 0, batch_begins, NULL, NULL);
  g_signal_connect_after (inspector, "results", G_CALLBACK (batch_ends), NULL);
  b.gaps = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint tick = g_timeout_add_full (G_PRIORITY_HIGH, 1, on_tick, NULL, NULL);
  guint frames = gtk_widget_add_tick_callback (GTK_WIDGET (b.window), on_frame, NULL, NULL);
  gint64 t_run = now ();
  g_action_group_activate_action (G_ACTION_GROUP (b.window), "inspect", NULL);
  g_assert_true (wb_wait_for (inspected, NULL, 600000));
  gint64 t_done = now ();
  g_source_remove (tick);
  gtk_widget_remove_tick_callback (GTK_WIDGET (b.window), frames);
  g_signal_remove_emission_hook (signal, hook);

  g_array_sort (b.gaps, compare_gint64);
  guint n = b.gaps->len, over = 0;
  for (guint i = 0; i < n; i++)
    over += g_array_index (b.gaps, gint64, i) > 16000;
  g_test_message ("inspected %d images in %.1f s (%.1f images/s)", N_IMAGES, (t_done - t_run) / 1e6,
           N_IMAGES / ((t_done - t_run) / 1e6));
  g_test_message ("main loop while inspecting: %u ticks of a 1 ms timeout; gaps: median %.1f ms, "
           "99th percentile %.1f ms, longest %.1f ms, %u over 16 ms", n,
           g_array_index (b.gaps, gint64, n / 2) / 1e3,
           g_array_index (b.gaps, gint64, n * 99 / 100) / 1e3,
           g_array_index (b.gaps, gint64, n - 1) / 1e3, over);
  if (b.busy_gaps)
    g_test_message ("of the gaps over 16 ms, %u had the main thread itself busy for 16 ms or "
                    "more (longest %.1f ms of CPU time, %.1f s into the run of %.1f s); in the "
                    "rest it waited (for a core, or the renderer)", b.busy_gaps,
                    b.busy_max / 1e3, (b.busy_max_at - t_run) / 1e6, (t_done - t_run) / 1e6);
  else
    g_test_message ("in none of the gaps over 16 ms was the main thread itself busy for 16 ms: "
                    "it waited (for a core, or the renderer)");
  g_test_message ("frame clock: longest interval %.1f ms; results: the longest batch took the "
                  "main thread %.2f ms (%.2f ms of its own CPU time)", b.frame_max / 1e3,
                  b.batch_max / 1e3, b.batch_cpu_max / 1e3);

  /* 3. A slider re-labels every image. */
  GListModel *classes = workbench_session_get_classes (b.session);
  g_autoptr (WorkbenchClass) c = g_list_model_get_item (classes, 0);
  double fail_above = workbench_class_get_fail_above (c);
  gint64 t_slide = now ();
  g_object_set (c, "fail-above", fail_above * 0.99, NULL);
  gint64 t_slid = now ();
  g_test_message ("moving a threshold re-labels and recounts %d images in %.2f ms", N_IMAGES,
           (t_slid - t_slide) / 1e3);

  g_array_unref (b.gaps);
  gtk_window_destroy (GTK_WINDOW (b.window));
  wb_test_remove_tree (root);
}

int
main (int argc, char **argv)
{
  /* As uniad-workbench does: OpenBLAS's fast kernels, or the model runs 2-3x slower. */
  uad_cpu_select_blas_kernels (argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/workbench/bench", bench);
  return g_test_run ();
}
