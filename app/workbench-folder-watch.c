/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-folder-watch.h"

#include "uad-dataset.h"
#include "uad-image.h"

#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of a file's end is searched for its format's end mark: writers may pad a little. */
#define TAIL_BYTES 64

/* A file seen and not yet reported. */
typedef struct {
  char *path;
  guint64 seq;         /* order of arrival */
  gboolean looked;     /* size and mtime hold the last look's */
  gint64 size, mtime;
  gboolean closed;     /* the writer closed it since the last look */
  gint64 stalled_since; /* monotonic time since which it is unchanged but truncated; 0: not */
} Waiting;

/* One file's look, made on a worker thread. */
typedef struct {
  char *path;
  guint64 seq;
  gboolean looked, closed;
  gint64 size, mtime;  /* before; after the look, the new values */
  gboolean gone, stable, complete;
} Look;

struct _WorkbenchFolderWatch
{
  GObject parent_instance;

  char *folder;
  GFileMonitor *monitor;
  guint poll_ms;
  gint64 give_up_us;
  guint poll_source;
  GHashTable *waiting;       /* path -> Waiting * */
  guint64 next_seq;
  gboolean looking;          /* a look is under way on a worker */
  GCancellable *cancellable; /* cancelled by stop */
};

G_DEFINE_FINAL_TYPE (WorkbenchFolderWatch, workbench_folder_watch, G_TYPE_OBJECT)

enum {
  SIGNAL_FILES_READY,
  SIGNAL_FILE_VANISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
waiting_free (Waiting *w)
{
  g_free (w->path);
  g_free (w);
}

static void
look_free (Look *l)
{
  g_free (l->path);
  g_free (l);
}

/* Does buf (n bytes) contain needle (m bytes)? */
static gboolean
contains (const guint8 *buf, gsize n, const guint8 *needle, gsize m)
{
  for (gsize i = 0; i + m <= n; i++)
    if (memcmp (buf + i, needle, m) == 0)
      return TRUE;
  return FALSE;
}

gboolean
workbench_image_file_is_complete (const char *path)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  guint8 head[8] = { 0 }, tail[TAIL_BYTES];
  struct stat st;
  gboolean ok = fstat (fd, &st) == 0 && read (fd, head, sizeof head) == (ssize_t) sizeof head;
  gsize n = 0;
  if (ok)
    {
      off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
      ssize_t got = pread (fd, tail, sizeof tail, from);
      ok = got > 0;
      n = ok ? (gsize) got : 0;
    }
  close (fd);
  if (!ok)
    return FALSE;
  static const guint8 png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  static const guint8 png_end[8] = { 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
  static const guint8 jpeg_end[2] = { 0xff, 0xd9 };
  if (memcmp (head, png_sig, sizeof png_sig) == 0)
    return contains (tail, n, png_end, sizeof png_end);
  if (head[0] == 0xff && head[1] == 0xd8)
    return contains (tail, n, jpeg_end, sizeof jpeg_end);
  if (head[0] == 'B' && head[1] == 'M')
    {
      guint32 declared = head[2] | head[3] << 8 | head[4] << 16 | (guint32) head[5] << 24;
      return (guint64) st.st_size >= declared;
    }
  /* TIFF and the rest have no end mark: they are complete when they decode. */
  UadImage *img = uad_image_load (path, NULL);
  uad_image_free (img);
  return img != NULL;
}

/* ---- Looking at the files waiting (worker thread) ---- */

static void
look_at_files (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GPtrArray *looks = task_data;
  for (guint i = 0; i < looks->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      Look *l = looks->pdata[i];
      GStatBuf st;
      if (g_stat (l->path, &st) != 0 || !S_ISREG (st.st_mode))
        {
          l->gone = TRUE;
          continue;
        }
      gint64 mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
      l->stable = l->looked && l->size == (gint64) st.st_size && l->mtime == mtime;
      l->size = st.st_size;
      l->mtime = mtime;
      l->complete = l->size > 0 && (l->stable || l->closed)
                    && workbench_image_file_is_complete (l->path);
    }
  g_task_return_boolean (task, TRUE);
}

static int
compare_seq (gconstpointer a, gconstpointer b)
{
  const Waiting *x = *(Waiting *const *) a, *y = *(Waiting *const *) b;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static void schedule_look (WorkbenchFolderWatch *self);

static void
on_looked (GObject *source, GAsyncResult *result, gpointer data)
{
  WorkbenchFolderWatch *self = WORKBENCH_FOLDER_WATCH (source);
  GPtrArray *looks = g_task_get_task_data (G_TASK (result));
  self->looking = FALSE;
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GPtrArray) ready = g_ptr_array_new_with_free_func ((GDestroyNotify) waiting_free);
  g_autoptr (GPtrArray) vanished = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < looks->len; i++)
    {
      Look *l = looks->pdata[i];
      Waiting *w = g_hash_table_lookup (self->waiting, l->path);
      /* Gone meanwhile (the monitor said so), or created again since. */
      if (w == NULL || w->seq != l->seq)
        continue;
      if (l->gone)
        {
          g_ptr_array_add (vanished, g_strdup (l->path));
          g_hash_table_remove (self->waiting, l->path);
          continue;
        }
      gboolean give_up = l->stable && !l->complete && w->stalled_since > 0
                         && now - w->stalled_since >= self->give_up_us;
      if (l->complete || give_up)
        {
          g_hash_table_steal (self->waiting, l->path);
          g_ptr_array_add (ready, w);
          continue;
        }
      w->looked = TRUE;
      w->size = l->size;
      w->mtime = l->mtime;
      if (!l->stable)
        w->stalled_since = 0;
      else if (w->stalled_since == 0)
        w->stalled_since = now;
    }
  for (guint i = 0; i < vanished->len; i++)
    g_signal_emit (self, signals[SIGNAL_FILE_VANISHED], 0, vanished->pdata[i]);
  if (ready->len > 0)
    {
      g_ptr_array_sort (ready, compare_seq);
      g_autofree char **paths = g_new0 (char *, ready->len + 1);
      for (guint i = 0; i < ready->len; i++)
        paths[i] = ((Waiting *) ready->pdata[i])->path;
      g_signal_emit (self, signals[SIGNAL_FILES_READY], 0, paths);
    }
  schedule_look (self);
}

static gboolean
poll_cb (gpointer data)
{
  WorkbenchFolderWatch *self = data;
  self->poll_source = 0;
  if (g_hash_table_size (self->waiting) == 0)
    return G_SOURCE_REMOVE;
  GPtrArray *looks = g_ptr_array_new_with_free_func ((GDestroyNotify) look_free);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, self->waiting);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Waiting *w = value;
      Look *l = g_new0 (Look, 1);
      l->path = g_strdup (w->path);
      l->seq = w->seq;
      l->looked = w->looked;
      l->size = w->size;
      l->mtime = w->mtime;
      l->closed = w->closed;
      w->closed = FALSE;
      g_ptr_array_add (looks, l);
    }
  self->looking = TRUE;
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, on_looked, NULL);
  g_task_set_source_tag (task, poll_cb);
  g_task_set_task_data (task, looks, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, look_at_files);
  return G_SOURCE_REMOVE;
}

/* The next look, poll_ms from now, when files wait and none is under way. */
static void
schedule_look (WorkbenchFolderWatch *self)
{
  if (self->poll_source || self->looking || g_hash_table_size (self->waiting) == 0
      || g_cancellable_is_cancelled (self->cancellable))
    return;
  self->poll_source = g_timeout_add (self->poll_ms, poll_cb, self);
}

/* ---- The monitor (main thread) ---- */

static void
add_waiting (WorkbenchFolderWatch *self, GFile *file)
{
  g_autofree char *name = g_file_get_basename (file);
  if (name == NULL || name[0] == '.' || !uad_is_image_filename (name))
    return;
  Waiting *w = g_new0 (Waiting, 1);
  w->path = g_file_get_path (file);
  w->seq = self->next_seq++;
  /* Created again: it starts over. */
  g_hash_table_replace (self->waiting, w->path, w);
  schedule_look (self);
}

static void
remove_waiting (WorkbenchFolderWatch *self, GFile *file, gboolean vanished)
{
  g_autofree char *path = g_file_get_path (file);
  if (path && g_hash_table_remove (self->waiting, path) && vanished)
    g_signal_emit (self, signals[SIGNAL_FILE_VANISHED], 0, path);
}

static void
on_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
            gpointer data)
{
  WorkbenchFolderWatch *self = data;
  switch (event)
    {
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
      add_waiting (self, file);
      break;
    case G_FILE_MONITOR_EVENT_RENAMED:
      /* A writer's temporary name becoming the image's: the new name arrives. */
      remove_waiting (self, file, FALSE);
      if (other)
        add_waiting (self, other);
      break;
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
      remove_waiting (self, file, TRUE);
      break;
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
      {
        g_autofree char *path = g_file_get_path (file);
        Waiting *w = path ? g_hash_table_lookup (self->waiting, path) : NULL;
        if (w)
          w->closed = TRUE;
        break;
      }
    default:
      /* Changes of files already there (or waiting: the looks see them) do not matter. */
      break;
    }
}

void
workbench_folder_watch_stop (WorkbenchFolderWatch *self)
{
  g_cancellable_cancel (self->cancellable);
  if (self->monitor)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_hash_table_remove_all (self->waiting);
}

static void
workbench_folder_watch_dispose (GObject *object)
{
  workbench_folder_watch_stop (WORKBENCH_FOLDER_WATCH (object));
  G_OBJECT_CLASS (workbench_folder_watch_parent_class)->dispose (object);
}

static void
workbench_folder_watch_finalize (GObject *object)
{
  WorkbenchFolderWatch *self = WORKBENCH_FOLDER_WATCH (object);
  g_free (self->folder);
  g_hash_table_unref (self->waiting);
  g_object_unref (self->cancellable);
  G_OBJECT_CLASS (workbench_folder_watch_parent_class)->finalize (object);
}

static void
workbench_folder_watch_class_init (WorkbenchFolderWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = workbench_folder_watch_dispose;
  object_class->finalize = workbench_folder_watch_finalize;

  signals[SIGNAL_FILES_READY] = g_signal_new ("files-ready", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_STRV);
  signals[SIGNAL_FILE_VANISHED] = g_signal_new ("file-vanished", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
workbench_folder_watch_init (WorkbenchFolderWatch *self)
{
  self->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) waiting_free);
  self->cancellable = g_cancellable_new ();
}

WorkbenchFolderWatch *
workbench_folder_watch_new (const char *folder, guint poll_ms, guint give_up_ms,
                            GError **error)
{
  g_return_val_if_fail (poll_ms > 0, NULL);
  g_autoptr (GFile) dir = g_file_new_for_path (folder);
  if (g_file_query_file_type (dir, G_FILE_QUERY_INFO_NONE, NULL) != G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("%s is not a folder"), folder);
      return NULL;
    }
  GFileMonitor *monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL,
                                                    error);
  if (monitor == NULL)
    return NULL;
  WorkbenchFolderWatch *self = g_object_new (WORKBENCH_TYPE_FOLDER_WATCH, NULL);
  self->folder = g_file_get_path (dir);
  self->poll_ms = poll_ms;
  self->give_up_us = give_up_ms * (gint64) 1000;
  self->monitor = monitor;
  g_signal_connect (monitor, "changed", G_CALLBACK (on_changed), self);
  return self;
}

const char *
workbench_folder_watch_get_folder (WorkbenchFolderWatch *self)
{
  return self->folder;
}

guint
workbench_folder_watch_get_n_waiting (WorkbenchFolderWatch *self)
{
  return g_hash_table_size (self->waiting);
}
