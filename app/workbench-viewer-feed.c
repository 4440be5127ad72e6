/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-viewer-feed.h"

#include <glib/gi18n.h>
#include <math.h>

#include "uad-error.h"
#include "workbench-gallery-cell.h"

struct WorkbenchViewerFeed {
  WorkbenchViewer *viewer;
  WorkbenchSession *session;
  WorkbenchFeedReport report;
  gpointer report_data;

  /* The item shown and what has been loaded of it so far. */
  WorkbenchItem *item;
  GCancellable *cancellable;
  GdkTexture *texture;
  GCancellable *render_cancellable; /* the render for the open model */
  WorkbenchReconstructionState render_state;
  GdkTexture *decoded_input, *reconstruction;
  guint8 *mask;
  float *map;
  float range_hi;       /* the heatmap's scale as last given to the viewer (kept by it from
                         * image to image) */
};

static void
add_fact (GPtrArray *facts, const char *name, char *value)
{
  g_ptr_array_add (facts, g_strdup (name));
  g_ptr_array_add (facts, value);
}

static void
update_facts (WorkbenchViewerFeed *self)
{
  WorkbenchItem *item = self->item;
  if (item == NULL)
    {
      workbench_viewer_set_facts (self->viewer, NULL);
      workbench_viewer_set_verdict (self->viewer, UAD_VERDICT_NONE);
      return;
    }
  g_autoptr (GPtrArray) facts = g_ptr_array_new_with_free_func (g_free);
  UadVerdict model = workbench_item_get_model_verdict (item);
  UadVerdict op = workbench_item_get_operator_verdict (item);
  if (workbench_item_get_error (item))
    add_fact (facts, _("Error"), g_strdup (workbench_item_get_error (item)));
  if (workbench_item_get_inspected (item))
    {
      add_fact (facts, _("Score"), workbench_format_score (workbench_item_get_score (item)));
      add_fact (facts, _("Model verdict"), g_strdup (workbench_verdict_label (model)));
    }
  if (op != UAD_VERDICT_NONE)
    add_fact (facts, _("Your verdict"), g_strdup (workbench_verdict_label (op)));
  const char *class_name = workbench_item_get_class_name (item);
  add_fact (facts, _("Class"), g_strdup (class_name ? class_name : _("Unknown")));
  if (workbench_item_get_defect (item))
    add_fact (facts, _("Label"), g_strdup (workbench_item_get_defect (item)));
  add_fact (facts, _("File"), g_strdup (workbench_item_get_name (item)));
  if (self->texture)
    add_fact (facts, _("Size"), g_strdup_printf ("%d × %d", gdk_texture_get_width (self->texture),
                                                 gdk_texture_get_height (self->texture)));
  add_fact (facts, _("Bytes"), g_format_size (workbench_item_get_size (item)));
  if (workbench_item_get_mtime (item) > 0)
    {
      g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (workbench_item_get_mtime (item)
                                                                 / G_USEC_PER_SEC);
      add_fact (facts, _("Modified"), g_date_time_format (t, "%x %H:%M"));
    }
  add_fact (facts, _("Folder"), g_path_get_dirname (workbench_item_get_path (item)));
  g_ptr_array_add (facts, NULL);
  workbench_viewer_set_facts (self->viewer, (const char *const *) facts->pdata);
  workbench_viewer_set_verdict (self->viewer, model);
}

/* The class's thresholds as the viewer draws them: regions above the pixel threshold, and the
 * colour scale up to twice the fail threshold (as the reports and `uniad infer` draw it). */
void
workbench_viewer_feed_update_thresholds (WorkbenchViewerFeed *self)
{
  UadVerdictThresholds th;
  gboolean known = self->item
                   && workbench_session_get_item_thresholds (self->session, self->item, &th);
  workbench_viewer_set_pixel_threshold (self->viewer, known ? (float) th.pixel : INFINITY);
  /* Recolouring the heatmap is not free: only when the scale changes (not for every batch of
   * results that re-labels the images). */
  float hi = known ? uad_verdict_heatmap_max (th.fail_above) : 0;
  if (hi != self->range_hi)
    {
      self->range_hi = hi;
      workbench_viewer_set_map_range (self->viewer, 0, hi);
    }
}

static void
update_viewer (WorkbenchViewerFeed *self)
{
  workbench_viewer_set_image (self->viewer, self->texture, self->map, self->mask);
  workbench_viewer_set_reconstruction (self->viewer, self->render_state, self->decoded_input,
                                       self->reconstruction);
  workbench_viewer_feed_update_thresholds (self);
  update_facts (self);
}

static void
on_map_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  float *map = workbench_session_get_map_finish (WORKBENCH_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  WorkbenchViewerFeed *self = data;
  if (map == NULL)
    {
      self->report (error->message, self->report_data);
      return;
    }
  g_free (self->map);
  self->map = map;
  update_viewer (self);
}

/* The shown image got (or lost) its result: fetch its map. */
static void
load_map (WorkbenchViewerFeed *self)
{
  g_clear_pointer (&self->map, g_free);
  update_viewer (self);
  if (self->texture && workbench_item_get_inspection_id (self->item) > 0)
    workbench_session_get_map_async (self->session, self->item, self->cancellable,
                                     on_map_loaded, self);
}

static GdkTexture *
texture_from_image (const UadImage *img)
{
  g_autoptr (GBytes) bytes = g_bytes_new (img->rgb, (gsize) img->width * img->height * 3);
  return gdk_memory_texture_new (img->width, img->height, GDK_MEMORY_R8G8B8, bytes,
                                 img->width * 3);
}

static void
on_rendered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WorkbenchRendering) r = workbench_session_render_finish (WORKBENCH_SESSION (source),
                                                                      result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  WorkbenchViewerFeed *self = data;
  if (r == NULL)
    {
      /* UNSUPPORTED: the model the render ran with truly has no decoder (a model opened
       * since is asked again). */
      self->render_state = g_error_matches (error, UAD_ERROR, UAD_ERROR_UNSUPPORTED)
                           ? WORKBENCH_RECONSTRUCTION_NO_DECODER : WORKBENCH_RECONSTRUCTION_FAILED;
      if (self->render_state == WORKBENCH_RECONSTRUCTION_FAILED)
        self->report (error->message, self->report_data);
      update_viewer (self);
      return;
    }
  self->decoded_input = texture_from_image (r->decoded_input);
  self->reconstruction = texture_from_image (r->reconstruction);
  self->render_state = WORKBENCH_RECONSTRUCTION_READY;
  update_viewer (self);
}

/* Drops the reconstruction and the render under way (the state is not drawn without an
 * image). */
static void
forget_reconstruction (WorkbenchViewerFeed *self)
{
  g_cancellable_cancel (self->render_cancellable);
  g_clear_object (&self->render_cancellable);
  g_clear_object (&self->decoded_input);
  g_clear_object (&self->reconstruction);
  self->render_state = WORKBENCH_RECONSTRUCTION_NO_MODEL;
}

/* The open model's pictures of the shown image, when it has an image decoder; asked again
 * whenever the model changes. Meanwhile the viewer says it is coming. */
static void
render_reconstruction (WorkbenchViewerFeed *self)
{
  forget_reconstruction (self);
  const WorkbenchModelInfo *m = workbench_session_get_model (self->session);
  if (m != NULL && !m->has_decoder)
    self->render_state = WORKBENCH_RECONSTRUCTION_NO_DECODER;
  else if (m != NULL)
    {
      self->render_state = WORKBENCH_RECONSTRUCTION_PENDING;
      self->render_cancellable = g_cancellable_new ();
      workbench_session_render_async (self->session, self->item, self->render_cancellable,
                                      on_rendered, self);
    }
  update_viewer (self);
}

static void
on_model_changed (WorkbenchViewerFeed *self)
{
  if (self->texture != NULL)
    render_reconstruction (self);
}

static void
on_picture_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  guint8 *mask = NULL;
  g_autoptr (GdkTexture) texture = workbench_session_load_picture_finish (WORKBENCH_SESSION (source),
                                                                          result, &mask, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  WorkbenchViewerFeed *self = data;
  if (texture == NULL)
    {
      update_facts (self);
      self->report (error->message, self->report_data);
      return;
    }
  g_set_object (&self->texture, texture);
  g_free (self->mask);
  self->mask = mask;
  load_map (self);
  render_reconstruction (self);
}

WorkbenchViewerFeed *
workbench_viewer_feed_new (WorkbenchViewer *viewer, WorkbenchSession *session,
                           WorkbenchFeedReport report, gpointer report_data)
{
  WorkbenchViewerFeed *self = g_new0 (WorkbenchViewerFeed, 1);
  self->viewer = viewer;
  self->session = session;
  self->report = report;
  self->report_data = report_data;
  g_signal_connect_swapped (session, "notify::model-name", G_CALLBACK (on_model_changed), self);
  return self;
}

void
workbench_viewer_feed_show (WorkbenchViewerFeed *self, WorkbenchItem *item)
{
  if (item == self->item)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  forget_reconstruction (self);
  if (self->item)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_set_object (&self->item, item);
  g_clear_object (&self->texture);
  g_clear_pointer (&self->mask, g_free);
  g_clear_pointer (&self->map, g_free);
  update_viewer (self);
  if (item == NULL)
    return;
  g_signal_connect_swapped (item, "notify::score", G_CALLBACK (load_map), self);
  g_signal_connect_swapped (item, "notify::model-verdict", G_CALLBACK (update_facts), self);
  g_signal_connect_swapped (item, "notify::operator-verdict", G_CALLBACK (update_facts), self);
  g_signal_connect_swapped (item, "notify::error", G_CALLBACK (update_facts), self);
  g_signal_connect_swapped (item, "notify::class-name", G_CALLBACK (update_viewer), self);
  self->cancellable = g_cancellable_new ();
  workbench_session_load_picture_async (self->session, item, self->cancellable,
                                        on_picture_loaded, self);
}

void
workbench_viewer_feed_free (WorkbenchViewerFeed *self)
{
  if (self == NULL)
    return;
  /* What is still loading answers to nobody. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  forget_reconstruction (self);
  g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->item)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_object (&self->item);
  g_clear_object (&self->texture);
  g_free (self->mask);
  g_free (self->map);
  g_free (self);
}
