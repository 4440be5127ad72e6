/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-class.h"

#include <math.h>

struct _WorkbenchClass
{
  GObject parent_instance;

  int index;
  char *name;
  WorkbenchClassStats stats;
  double pass_below, fail_above, pixel, scale_max;
  char *changed_by;
  gint64 changed_at;
  int counts[UAD_N_VERDICTS];
};

G_DEFINE_FINAL_TYPE (WorkbenchClass, workbench_class, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_PASS_BELOW,
  PROP_FAIL_ABOVE,
  PROP_PIXEL,
  PROP_SCALE_MAX,
  PROP_CHANGED_BY,
  PROP_CHANGED_AT,
  PROP_N_NONE,
  PROP_N_PASS,
  PROP_N_REVIEW,
  PROP_N_FAIL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* PROP_N_NONE + verdict is the count property of that verdict. */
G_STATIC_ASSERT (PROP_N_PASS == PROP_N_NONE + UAD_VERDICT_PASS);
G_STATIC_ASSERT (PROP_N_REVIEW == PROP_N_NONE + UAD_VERDICT_REVIEW);
G_STATIC_ASSERT (PROP_N_FAIL == PROP_N_NONE + UAD_VERDICT_FAIL);

static void
workbench_class_finalize (GObject *object)
{
  WorkbenchClass *self = WORKBENCH_CLASS (object);
  g_free (self->name);
  g_free (self->changed_by);
  G_OBJECT_CLASS (workbench_class_parent_class)->finalize (object);
}

static void
set_value (WorkbenchClass *self, double *field, int prop, double value)
{
  if (*field == value || !isfinite (value))
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/* A slider moved: keep pass-below <= fail-above by pushing the other one along. */
static void
set_pass_below (WorkbenchClass *self, double value)
{
  g_object_freeze_notify (G_OBJECT (self));
  set_value (self, &self->pass_below, PROP_PASS_BELOW, value);
  if (self->fail_above < value)
    set_value (self, &self->fail_above, PROP_FAIL_ABOVE, value);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
set_fail_above (WorkbenchClass *self, double value)
{
  g_object_freeze_notify (G_OBJECT (self));
  set_value (self, &self->fail_above, PROP_FAIL_ABOVE, value);
  if (self->pass_below > value)
    set_value (self, &self->pass_below, PROP_PASS_BELOW, value);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
workbench_class_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WorkbenchClass *self = WORKBENCH_CLASS (object);
  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_PASS_BELOW:
      g_value_set_double (value, self->pass_below);
      break;
    case PROP_FAIL_ABOVE:
      g_value_set_double (value, self->fail_above);
      break;
    case PROP_PIXEL:
      g_value_set_double (value, self->pixel);
      break;
    case PROP_SCALE_MAX:
      g_value_set_double (value, self->scale_max);
      break;
    case PROP_CHANGED_BY:
      g_value_set_string (value, self->changed_by);
      break;
    case PROP_CHANGED_AT:
      g_value_set_int64 (value, self->changed_at);
      break;
    case PROP_N_NONE:
    case PROP_N_PASS:
    case PROP_N_REVIEW:
    case PROP_N_FAIL:
      g_value_set_int (value, self->counts[prop_id - PROP_N_NONE]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_class_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  WorkbenchClass *self = WORKBENCH_CLASS (object);
  switch (prop_id)
    {
    case PROP_PASS_BELOW:
      set_pass_below (self, g_value_get_double (value));
      break;
    case PROP_FAIL_ABOVE:
      set_fail_above (self, g_value_get_double (value));
      break;
    case PROP_PIXEL:
      set_value (self, &self->pixel, PROP_PIXEL, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
workbench_class_class_init (WorkbenchClassClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = workbench_class_finalize;
  object_class->get_property = workbench_class_get_property;
  object_class->set_property = workbench_class_set_property;

  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_PASS_BELOW] = g_param_spec_double ("pass-below", NULL, NULL, -G_MAXDOUBLE,
                                                     G_MAXDOUBLE, 0, rw);
  properties[PROP_FAIL_ABOVE] = g_param_spec_double ("fail-above", NULL, NULL, -G_MAXDOUBLE,
                                                     G_MAXDOUBLE, 0, rw);
  properties[PROP_PIXEL] = g_param_spec_double ("pixel", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE,
                                                0, rw);
  properties[PROP_SCALE_MAX] = g_param_spec_double ("scale-max", NULL, NULL, 0, G_MAXDOUBLE, 1, ro);
  properties[PROP_CHANGED_BY] = g_param_spec_string ("changed-by", NULL, NULL, NULL, ro);
  properties[PROP_CHANGED_AT] = g_param_spec_int64 ("changed-at", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_N_NONE] = g_param_spec_int ("n-none", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_PASS] = g_param_spec_int ("n-pass", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_REVIEW] = g_param_spec_int ("n-review", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_N_FAIL] = g_param_spec_int ("n-fail", NULL, NULL, 0, G_MAXINT, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
workbench_class_init (WorkbenchClass *self)
{
  self->scale_max = 1;
}

WorkbenchClass *
workbench_class_new (int index, const char *name, const WorkbenchClassStats *stats)
{
  WorkbenchClass *self = g_object_new (WORKBENCH_TYPE_CLASS, NULL);
  self->index = index;
  self->name = g_strdup (name);
  self->stats = *stats;
  workbench_class_cover_score (self, stats->max);
  return self;
}

int
workbench_class_get_index (WorkbenchClass *self)
{
  return self->index;
}

const char *
workbench_class_get_name (WorkbenchClass *self)
{
  return self->name;
}

const WorkbenchClassStats *
workbench_class_get_stats (WorkbenchClass *self)
{
  return &self->stats;
}

double
workbench_class_get_pass_below (WorkbenchClass *self)
{
  return self->pass_below;
}

double
workbench_class_get_fail_above (WorkbenchClass *self)
{
  return self->fail_above;
}

double
workbench_class_get_pixel (WorkbenchClass *self)
{
  return self->pixel;
}

void
workbench_class_set_thresholds (WorkbenchClass *self, double pass_below, double fail_above,
                                double pixel, const char *changed_by, gint64 changed_at)
{
  g_object_freeze_notify (G_OBJECT (self));
  /* Grow the range first, so that bound sliders never clamp the new values. */
  workbench_class_cover_score (self, 2 * MAX (MAX (fail_above, pass_below), pixel));
  set_value (self, &self->fail_above, PROP_FAIL_ABOVE, MAX (fail_above, pass_below));
  set_value (self, &self->pass_below, PROP_PASS_BELOW, pass_below);
  set_value (self, &self->pixel, PROP_PIXEL, pixel);
  workbench_class_set_changed (self, changed_by, changed_at);
  g_object_thaw_notify (G_OBJECT (self));
}

void
workbench_class_set_changed (WorkbenchClass *self, const char *changed_by, gint64 changed_at)
{
  if (g_strcmp0 (self->changed_by, changed_by) != 0)
    {
      g_free (self->changed_by);
      self->changed_by = g_strdup (changed_by);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANGED_BY]);
    }
  if (self->changed_at != changed_at)
    {
      self->changed_at = changed_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANGED_AT]);
    }
}

const char *
workbench_class_get_changed_by (WorkbenchClass *self)
{
  return self->changed_by;
}

gint64
workbench_class_get_changed_at (WorkbenchClass *self)
{
  return self->changed_at;
}

double
workbench_class_get_scale_max (WorkbenchClass *self)
{
  return self->scale_max;
}

void
workbench_class_cover_score (WorkbenchClass *self, double score)
{
  /* 10 % headroom, so that the highest score is not at the very end of a slider. */
  double wanted = 1.1 * score;
  if (isfinite (wanted) && wanted > self->scale_max)
    {
      self->scale_max = wanted;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE_MAX]);
    }
}

UadVerdict
workbench_class_verdict (WorkbenchClass *self, double score)
{
  return uad_verdict_from_score (score, self->pass_below, self->fail_above);
}

int
workbench_class_get_count (WorkbenchClass *self, UadVerdict verdict)
{
  return self->counts[verdict];
}

void
workbench_class_set_counts (WorkbenchClass *self, const int counts[UAD_N_VERDICTS])
{
  for (int v = 0; v < UAD_N_VERDICTS; v++)
    if (self->counts[v] != counts[v])
      {
        self->counts[v] = counts[v];
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_NONE + v]);
      }
}
