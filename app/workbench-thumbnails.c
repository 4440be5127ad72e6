/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-thumbnails.h"

struct _WorkbenchThumbnails
{
  GObject parent_instance;

  int size;
  guint capacity;
  GThreadPool *pool;     /* runs one decode per token pushed */
  GMutex lock;           /* guards queue */
  GPtrArray *queue;      /* Request * waiting for a worker */
  gint focus;            /* gallery position the user looks at; atomic */
  gint generation;       /* bumped by clear: older requests are dropped; atomic */
  GQueue lru;            /* items holding a thumbnail, most recently asked for first */
  GHashTable *links;     /* item -> its GList link in lru */
  GHashTable *pending;   /* items queued or being decoded */
  GHashTable *failed;    /* paths that could not be decoded */
};

G_DEFINE_FINAL_TYPE (WorkbenchThumbnails, workbench_thumbnails, G_TYPE_OBJECT)

typedef struct {
  WorkbenchThumbnails *self; /* a reference while the result travels to the main thread */
  WorkbenchItem *item;
  char *path;
  guint position;
  gint generation;
  GdkTexture *texture;       /* the result; NULL when decoding failed */
} Request;

static void
request_free (Request *r)
{
  g_object_unref (r->item);
  g_free (r->path);
  g_clear_object (&r->texture);
  g_free (r);
}

static void
evict_oldest (WorkbenchThumbnails *self)
{
  while (self->lru.length > self->capacity)
    {
      WorkbenchItem *item = g_queue_pop_tail (&self->lru);
      g_hash_table_remove (self->links, item);
      workbench_item_set_thumbnail (item, NULL);
      g_object_unref (item);
    }
}

static void
remember (WorkbenchThumbnails *self, WorkbenchItem *item, GdkPaintable *thumbnail)
{
  workbench_item_set_thumbnail (item, thumbnail);
  g_queue_push_head (&self->lru, g_object_ref (item));
  g_hash_table_insert (self->links, item, self->lru.head);
  evict_oldest (self);
}

static GdkPaintable *
missing_image_icon (void)
{
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gdk_display_get_default ());
  return GDK_PAINTABLE (gtk_icon_theme_lookup_icon (theme, "image-missing-symbolic", NULL, 64, 1,
                                                    GTK_TEXT_DIR_NONE, 0));
}

/* Main thread: a decoded (or failed) request comes back. The request holds a reference to
 * self, so that a disposed object (pool gone) is still there to say so. */
static gboolean
deliver (gpointer data)
{
  Request *r = data;
  g_autoptr (WorkbenchThumbnails) self = r->self;
  if (self->pool != NULL && r->generation == self->generation)
    {
      g_hash_table_remove (self->pending, r->item);
      if (r->texture)
        remember (self, r->item, GDK_PAINTABLE (r->texture));
      else
        {
          g_hash_table_add (self->failed, g_strdup (r->path));
          g_autoptr (GdkPaintable) icon = missing_image_icon ();
          remember (self, r->item, icon);
        }
    }
  request_free (r);
  return G_SOURCE_REMOVE;
}

/* The queued request nearest to what the user looks at (the newest of equals); NULL when the
 * queue is empty. */
static Request *
take_nearest (WorkbenchThumbnails *self)
{
  g_mutex_lock (&self->lock);
  gint64 focus = g_atomic_int_get (&self->focus);
  guint best = 0;
  gint64 best_distance = G_MAXINT64;
  for (guint i = 0; i < self->queue->len; i++)
    {
      Request *r = self->queue->pdata[i];
      gint64 d = ABS ((gint64) r->position - focus);
      if (d <= best_distance)
        {
          best = i;
          best_distance = d;
        }
    }
  Request *r = self->queue->len ? g_ptr_array_steal_index (self->queue, best) : NULL;
  g_mutex_unlock (&self->lock);
  return r;
}

/* Worker thread: one token, one decode. */
static void
decode (gpointer token, gpointer data)
{
  WorkbenchThumbnails *self = data;
  Request *r = take_nearest (self);
  if (r == NULL)
    return;
  /* Requests made before a clear are not decoded, only handed back to be freed. */
  if (r->generation == g_atomic_int_get (&self->generation))
    {
      g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file_at_scale (r->path, self->size,
                                                                        self->size, TRUE, NULL);
      if (pixbuf)
        r->texture = gdk_texture_new_for_pixbuf (pixbuf);
    }
  r->self = g_object_ref (self);
  /* Before the next frame is drawn, but after input; always in the main loop (an invoke from
   * this thread could run deliver here, when the main context happens to be free). */
  g_idle_add_full (G_PRIORITY_HIGH_IDLE, deliver, r, NULL);
}

static void
drop_all (WorkbenchThumbnails *self)
{
  g_atomic_int_inc (&self->generation);
  g_mutex_lock (&self->lock);
  g_ptr_array_set_size (self->queue, 0);
  g_mutex_unlock (&self->lock);
  g_hash_table_remove_all (self->links);
  g_hash_table_remove_all (self->pending);
  WorkbenchItem *item;
  while ((item = g_queue_pop_head (&self->lru)))
    {
      workbench_item_set_thumbnail (item, NULL);
      g_object_unref (item);
    }
}

static void
workbench_thumbnails_dispose (GObject *object)
{
  WorkbenchThumbnails *self = WORKBENCH_THUMBNAILS (object);
  if (self->pool)
    {
      /* Tokens not started are dropped; decodes under way finish first. */
      g_thread_pool_free (g_steal_pointer (&self->pool), TRUE, TRUE);
      drop_all (self);
    }
  G_OBJECT_CLASS (workbench_thumbnails_parent_class)->dispose (object);
}

static void
workbench_thumbnails_finalize (GObject *object)
{
  WorkbenchThumbnails *self = WORKBENCH_THUMBNAILS (object);
  g_ptr_array_unref (self->queue);
  g_mutex_clear (&self->lock);
  g_hash_table_unref (self->links);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->failed);
  G_OBJECT_CLASS (workbench_thumbnails_parent_class)->finalize (object);
}

static void
workbench_thumbnails_class_init (WorkbenchThumbnailsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = workbench_thumbnails_dispose;
  object_class->finalize = workbench_thumbnails_finalize;
}

static void
workbench_thumbnails_init (WorkbenchThumbnails *self)
{
  g_mutex_init (&self->lock);
  self->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) request_free);
  g_queue_init (&self->lru);
  self->links = g_hash_table_new (NULL, NULL);
  self->pending = g_hash_table_new (NULL, NULL);
  self->failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

WorkbenchThumbnails *
workbench_thumbnails_new (int size, guint capacity, int threads)
{
  WorkbenchThumbnails *self = g_object_new (WORKBENCH_TYPE_THUMBNAILS, NULL);
  self->size = size;
  self->capacity = capacity;
  self->pool = g_thread_pool_new (decode, self, threads, FALSE, NULL);
  return self;
}

void
workbench_thumbnails_request (WorkbenchThumbnails *self, WorkbenchItem *item, guint position)
{
  GList *link = g_hash_table_lookup (self->links, item);
  if (link)
    {
      g_queue_unlink (&self->lru, link);
      g_queue_push_head_link (&self->lru, link);
      return;
    }
  if (g_hash_table_contains (self->pending, item))
    return;
  const char *path = workbench_item_get_path (item);
  if (g_hash_table_contains (self->failed, path))
    {
      g_autoptr (GdkPaintable) icon = missing_image_icon ();
      remember (self, item, icon);
      return;
    }
  g_hash_table_add (self->pending, item);
  Request *r = g_new0 (Request, 1);
  r->item = g_object_ref (item);
  r->path = g_strdup (path);
  r->position = position;
  r->generation = g_atomic_int_get (&self->generation);
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->queue, r);
  g_mutex_unlock (&self->lock);
  g_thread_pool_push (self->pool, GUINT_TO_POINTER (1), NULL);
}

void
workbench_thumbnails_set_focus (WorkbenchThumbnails *self, guint position)
{
  g_atomic_int_set (&self->focus, (gint) MIN (position, (guint) G_MAXINT));
}

void
workbench_thumbnails_clear (WorkbenchThumbnails *self)
{
  drop_all (self);
}
