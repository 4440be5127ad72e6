/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-preferences.h"

#include "app-folders.h"
#include "workbench-history.h"

struct _WorkbenchPreferences
{
  AdwPreferencesWindow parent_instance;

  AdwEntryRow *operator_row;
  AdwComboRow *colormap_row;
  GtkAdjustment *opacity_adjustment;
  AdwActionRow *history_row;
  AdwActionRow *weights_row;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (WorkbenchPreferences, workbench_preferences, ADW_TYPE_PREFERENCES_WINDOW)

/* The colour map setting (an enum nick) <-> the combo row's position. */
static const char *const colormaps[] = { "jet", "inferno", "gray" };

static gboolean
colormap_to_row (GValue *value, GVariant *variant, gpointer data)
{
  const char *nick = g_variant_get_string (variant, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (colormaps); i++)
    if (g_strcmp0 (nick, colormaps[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
row_to_colormap (const GValue *value, const GVariantType *type, gpointer data)
{
  guint i = g_value_get_uint (value);
  return i < G_N_ELEMENTS (colormaps) ? g_variant_new_string (colormaps[i]) : NULL;
}

static void
workbench_preferences_dispose (GObject *object)
{
  WorkbenchPreferences *self = WORKBENCH_PREFERENCES (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_PREFERENCES);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (workbench_preferences_parent_class)->dispose (object);
}

static void
workbench_preferences_class_init (WorkbenchPreferencesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_preferences_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchPreferences, operator_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchPreferences, colormap_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchPreferences, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchPreferences, history_row);
  gtk_widget_class_bind_template_child (widget_class, WorkbenchPreferences, weights_row);
}

static void
workbench_preferences_init (WorkbenchPreferences *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "operator", self->operator_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "colormap", self->colormap_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, colormap_to_row, row_to_colormap, NULL,
                                NULL);
  g_settings_bind (self->settings, "opacity", self->opacity_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_autofree char *history = app_history_default_path ();
  g_autofree char *weights = app_weights_dir ();
  adw_action_row_set_subtitle (self->history_row, history);
  adw_action_row_set_subtitle (self->weights_row, weights);
}

WorkbenchPreferences *
workbench_preferences_new (GtkWindow *parent)
{
  return g_object_new (WORKBENCH_TYPE_PREFERENCES, "transient-for", parent, NULL);
}
