/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-driver.h"

#include "test-workbench-util.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <unistd.h>

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
wb_wait_for (WbCondition cond, gpointer data, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * (gint64) 1000;
  /* Wakes the loop up now and then, so that the condition is looked at again. */
  guint source = g_timeout_add (10, tick, NULL);
  gboolean ok;
  while (!(ok = cond (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  return ok;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
wb_spin (int ms)
{
  wb_wait_for (never, NULL, ms);
}

GtkWidget *
wb_find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = wb_find_named (c, name);
      if (found)
        return found;
    }
  return NULL;
}

GtkWidget *
wb_find_type (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = wb_find_type (c, type);
      if (found)
        return found;
    }
  return NULL;
}

GtkWidget *
wb_find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWidget) w = g_list_model_get_item (toplevels, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
        return w; /* the list keeps it */
    }
  return NULL;
}

gboolean
wb_shared_material (char **weights, char **industrial, gboolean need_cli)
{
  *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  *industrial = uad_test_shared_path ("data/industrial");
  if (*weights != NULL && *industrial != NULL && (!need_cli || g_getenv ("UNIAD_CLI") != NULL))
    return TRUE;
  g_test_skip (need_cli ? "no shared test material (UNIAD_SHARED) or UNIAD_CLI"
                        : "no shared test material (UNIAD_SHARED)");
  g_clear_pointer (weights, g_free);
  g_clear_pointer (industrial, g_free);
  return FALSE;
}

void
wb_run_cli (const char **argv)
{
  argv[0] = g_getenv ("UNIAD_CLI");
  g_assert_nonnull (argv[0]);
  int status;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, &error));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("uniad %s failed: %s", argv[1], err);
}

void
wb_train_model (const char *data_root, const char *weights, int epochs, const char *out)
{
  g_autofree char *n = g_strdup_printf ("%d", epochs);
  wb_run_cli ((const char *[]) { NULL, "train", "--data", data_root, "--backbone",
                                 "mobilenet_v2", "--weights", weights, "--epochs", n,
                                 "--no-disk-cache", "--out", out, NULL });
}

WorkbenchApplication *
wb_start (const char *data_home, const char *weights, const char *operator)
{
  g_autofree char *weights_dir = g_build_filename (data_home, "uniad-workbench", "weights", NULL);
  g_assert_cmpint (g_mkdir_with_parents (weights_dir, 0755), ==, 0);
  g_autofree char *name = g_path_get_basename (weights);
  g_autofree char *link = g_build_filename (weights_dir, name, NULL);
  g_assert_cmpint (symlink (weights, link), ==, 0);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);

  if (!gtk_init_check ())
    {
      g_test_message ("no display (run under xvfb-run)");
      return NULL;
    }
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APP_ID, TRUE)
                                              : NULL;
  if (schema == NULL)
    {
      g_test_message ("the settings schema %s is not installed (set GSETTINGS_SCHEMA_DIR)", APP_ID);
      return NULL;
    }
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_settings_set_string (settings, "operator", operator);

  WorkbenchApplication *app = workbench_application_new ();
  /* Not unique: no session bus is needed, and a workbench the user runs is left alone. */
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  return app;
}

WorkbenchWindow *
wb_open (WorkbenchApplication *app, const char *const *paths)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  for (const char *const *p = paths; *p; p++)
    g_ptr_array_add (files, g_file_new_for_path (*p));
  g_application_open (G_APPLICATION (app), (GFile **) files->pdata, (int) files->len, "");
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_nonnull (window);
  return WORKBENCH_WINDOW (window);
}

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer data)
{
  gboolean *flushed = data;
  *flushed = workbench_inspector_flush_finish (WORKBENCH_INSPECTOR (source), result, NULL);
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

void
wb_flush (WorkbenchSession *session)
{
  gboolean flushed = FALSE;
  workbench_inspector_flush_async (workbench_session_get_inspector (session), on_flushed, &flushed);
  g_assert_true (wb_wait_for (is_true, &flushed, 10000));
}

gboolean
wb_session_flag (WorkbenchSession *session, const char *name)
{
  gboolean value;
  g_object_get (session, name, &value, NULL);
  return value;
}

typedef struct {
  GtkWidget *widget;
  GskRenderNode *node;
} Drawing;

/* The paintable of a widget has its picture once the widget has been drawn since. */
static gboolean
drawn (gpointer data)
{
  Drawing *d = data;
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (d->widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, gtk_widget_get_width (d->widget),
                          gtk_widget_get_height (d->widget));
  d->node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (d->node == NULL)
    gtk_widget_queue_draw (d->widget);
  return d->node != NULL;
}

void
wb_screenshot (GtkWidget *widget, const char *name)
{
  wb_spin (300);
  Drawing d = { widget, NULL };
  g_assert_true (wb_wait_for (drawn, &d, 10000));
  g_autoptr (GdkTexture) texture = gsk_renderer_render_texture (
    gtk_native_get_renderer (GTK_NATIVE (widget)), d.node,
    &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget)));
  gsk_render_node_unref (d.node);
  const char *dir = g_getenv ("UNIAD_TEST_ARTIFACTS");
  g_autofree char *path = g_build_filename (dir ? dir : ".", name, NULL);
  if (dir)
    g_mkdir_with_parents (dir, 0755);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

static struct {
  guint source;
  gint64 last, longest;
} stalls;

static gboolean
stall_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  if (stalls.last)
    stalls.longest = MAX (stalls.longest, now - stalls.last);
  stalls.last = now;
  return G_SOURCE_CONTINUE;
}

void
wb_stalls_start (void)
{
  g_assert_cmpuint (stalls.source, ==, 0);
  stalls.last = stalls.longest = 0;
  stalls.source = g_timeout_add_full (G_PRIORITY_HIGH, 1, stall_tick, NULL, NULL);
}

gint64
wb_stalls_stop (void)
{
  g_clear_handle_id (&stalls.source, g_source_remove);
  return stalls.longest;
}

void
wb_finish (WorkbenchWindow *window, WorkbenchApplication *app, char *root)
{
  if (window)
    gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&app);
  if (root)
    wb_test_remove_tree (root);
  g_free (root);
}
