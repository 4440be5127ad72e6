/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-item.h"

#include <glib/gi18n.h>
#include <math.h>

struct _WorkbenchItem
{
  GObject parent_instance;

  char *path, *name, *path_class, *defect, *mask_path;
  guint folder;
  gint64 size, mtime;
  gint64 arrived;

  int class_index;
  char *class_name;
  double score;
  gint64 inspection_id;
  char *error;
  UadVerdict model_verdict, operator_verdict;
  char *note;
  GdkPaintable *thumbnail;
};

G_DEFINE_FINAL_TYPE (WorkbenchItem, workbench_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_NAME,
  PROP_CLASS_NAME,
  PROP_INSPECTED,
  PROP_SCORE,
  PROP_ERROR,
  PROP_MODEL_VERDICT,
  PROP_OPERATOR_VERDICT,
  PROP_NOTE,
  PROP_FINAL_VERDICT,
  PROP_THUMBNAIL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];


static void
workbench_item_finalize (GObject *object)
{
  WorkbenchItem *self = WORKBENCH_ITEM (object);
  g_free (self->path);
  g_free (self->name);
  g_free (self->path_class);
  g_free (self->defect);
  g_free (self->mask_path);
  g_free (self->class_name);
  g_free (self->error);
  g_free (self->note);
  g_clear_object (&self->thumbnail);
  G_OBJECT_CLASS (workbench_item_parent_class)->finalize (object);
}

static void
workbench_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WorkbenchItem *self = WORKBENCH_ITEM (object);
  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_CLASS_NAME:
      g_value_set_string (value, self->class_name);
      break;
    case PROP_INSPECTED:
      g_value_set_boolean (value, workbench_item_get_inspected (self));
      break;
    case PROP_SCORE:
      g_value_set_double (value, self->score);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_MODEL_VERDICT:
      g_value_set_enum (value, self->model_verdict);
      break;
    case PROP_OPERATOR_VERDICT:
      g_value_set_enum (value, self->operator_verdict);
      break;
    case PROP_NOTE:
      g_value_set_string (value, self->note);
      break;
    case PROP_FINAL_VERDICT:
      g_value_set_enum (value, workbench_item_get_final_verdict (self));
      break;
    case PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_item_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  WorkbenchItem *self = WORKBENCH_ITEM (object);
  switch (prop_id)
    {
    case PROP_THUMBNAIL:
      workbench_item_set_thumbnail (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_item_class_init (WorkbenchItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = workbench_item_finalize;
  object_class->get_property = workbench_item_get_property;
  object_class->set_property = workbench_item_set_property;

  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL, ro);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_CLASS_NAME] = g_param_spec_string ("class-name", NULL, NULL, NULL, ro);
  properties[PROP_INSPECTED] = g_param_spec_boolean ("inspected", NULL, NULL, FALSE, ro);
  properties[PROP_SCORE] = g_param_spec_double ("score", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE,
                                                0, ro);
  properties[PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL, ro);
  properties[PROP_MODEL_VERDICT] = g_param_spec_enum ("model-verdict", NULL, NULL,
                                                      WORKBENCH_TYPE_VERDICT, UAD_VERDICT_NONE, ro);
  properties[PROP_OPERATOR_VERDICT] = g_param_spec_enum ("operator-verdict", NULL, NULL,
                                                         WORKBENCH_TYPE_VERDICT, UAD_VERDICT_NONE,
                                                         ro);
  properties[PROP_NOTE] = g_param_spec_string ("note", NULL, NULL, NULL, ro);
  properties[PROP_FINAL_VERDICT] = g_param_spec_enum ("final-verdict", NULL, NULL,
                                                      WORKBENCH_TYPE_VERDICT, UAD_VERDICT_NONE, ro);
  properties[PROP_THUMBNAIL] = g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_PAINTABLE,
                                                    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                    | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
workbench_item_init (WorkbenchItem *self)
{
  self->class_index = -1;
  self->score = NAN;
}

WorkbenchItem *
workbench_item_new (const char *path, guint folder, const char *name, const char *path_class,
                    const char *defect, const char *mask_path, gint64 size, gint64 mtime)
{
  WorkbenchItem *self = g_object_new (WORKBENCH_TYPE_ITEM, NULL);
  self->path = g_strdup (path);
  self->name = g_strdup (name);
  self->folder = folder;
  self->path_class = g_strdup (path_class);
  self->defect = g_strdup (defect);
  self->mask_path = g_strdup (mask_path);
  self->size = size;
  self->mtime = mtime;
  return self;
}

const char *
workbench_item_get_path (WorkbenchItem *self)
{
  return self->path;
}

const char *
workbench_item_get_name (WorkbenchItem *self)
{
  return self->name;
}

guint
workbench_item_get_folder (WorkbenchItem *self)
{
  return self->folder;
}

const char *
workbench_item_get_path_class (WorkbenchItem *self)
{
  return self->path_class;
}

const char *
workbench_item_get_defect (WorkbenchItem *self)
{
  return self->defect;
}

const char *
workbench_item_get_mask_path (WorkbenchItem *self)
{
  return self->mask_path;
}

gint64
workbench_item_get_size (WorkbenchItem *self)
{
  return self->size;
}

gint64
workbench_item_get_mtime (WorkbenchItem *self)
{
  return self->mtime;
}

gint64
workbench_item_get_arrived (WorkbenchItem *self)
{
  return self->arrived;
}

void
workbench_item_set_arrived (WorkbenchItem *self, gint64 arrived)
{
  self->arrived = arrived;
}

int
workbench_item_get_class_index (WorkbenchItem *self)
{
  return self->class_index;
}

const char *
workbench_item_get_class_name (WorkbenchItem *self)
{
  return self->class_name;
}

void
workbench_item_set_class (WorkbenchItem *self, int class_index, const char *class_name)
{
  self->class_index = class_index;
  if (g_strcmp0 (self->class_name, class_name) == 0)
    return;
  g_free (self->class_name);
  self->class_name = g_strdup (class_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_NAME]);
}

gboolean
workbench_item_get_inspected (WorkbenchItem *self)
{
  return !isnan (self->score);
}

double
workbench_item_get_score (WorkbenchItem *self)
{
  return self->score;
}

gint64
workbench_item_get_inspection_id (WorkbenchItem *self)
{
  return self->inspection_id;
}

void
workbench_item_set_result (WorkbenchItem *self, double score, gint64 inspection_id)
{
  gboolean was_inspected = workbench_item_get_inspected (self);
  self->inspection_id = inspection_id;
  if (score != self->score)
    {
      self->score = score;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCORE]);
    }
  if (was_inspected != workbench_item_get_inspected (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSPECTED]);
  workbench_item_set_error (self, NULL);
}

void
workbench_item_reset (WorkbenchItem *self)
{
  workbench_item_set_result (self, NAN, 0);
  workbench_item_set_model_verdict (self, UAD_VERDICT_NONE);
  workbench_item_set_operator_verdict (self, UAD_VERDICT_NONE, NULL);
}

const char *
workbench_item_get_error (WorkbenchItem *self)
{
  return self->error;
}

void
workbench_item_set_error (WorkbenchItem *self, const char *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

UadVerdict
workbench_item_get_model_verdict (WorkbenchItem *self)
{
  return self->model_verdict;
}

void
workbench_item_set_model_verdict (WorkbenchItem *self, UadVerdict verdict)
{
  if (self->model_verdict == verdict)
    return;
  UadVerdict final = workbench_item_get_final_verdict (self);
  self->model_verdict = verdict;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_VERDICT]);
  if (final != workbench_item_get_final_verdict (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINAL_VERDICT]);
}

UadVerdict
workbench_item_get_operator_verdict (WorkbenchItem *self)
{
  return self->operator_verdict;
}

const char *
workbench_item_get_note (WorkbenchItem *self)
{
  return self->note;
}

void
workbench_item_set_operator_verdict (WorkbenchItem *self, UadVerdict verdict, const char *note)
{
  UadVerdict final = workbench_item_get_final_verdict (self);
  if (note != NULL && *note == '\0')
    note = NULL;
  if (self->operator_verdict != verdict)
    {
      self->operator_verdict = verdict;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPERATOR_VERDICT]);
    }
  if (g_strcmp0 (self->note, note) != 0)
    {
      g_free (self->note);
      self->note = g_strdup (note);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTE]);
    }
  if (final != workbench_item_get_final_verdict (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINAL_VERDICT]);
}

UadVerdict
workbench_item_get_final_verdict (WorkbenchItem *self)
{
  return self->operator_verdict != UAD_VERDICT_NONE ? self->operator_verdict : self->model_verdict;
}

GdkPaintable *
workbench_item_get_thumbnail (WorkbenchItem *self)
{
  return self->thumbnail;
}

void
workbench_item_set_thumbnail (WorkbenchItem *self, GdkPaintable *thumbnail)
{
  if (g_set_object (&self->thumbnail, thumbnail))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
}
