/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-details.h"

struct _WorkbenchDetails
{
  AdwBin parent_instance;

  GtkEntry *note_entry;

  WorkbenchSession *session;
  WorkbenchItem *item;
};

G_DEFINE_FINAL_TYPE (WorkbenchDetails, workbench_details, ADW_TYPE_BIN)

/* A note goes with a verdict: the entry is editable once the operator has given one. */
static void
update (WorkbenchDetails *self)
{
  gboolean judged = self->item
                    && workbench_item_get_operator_verdict (self->item) != UAD_VERDICT_NONE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->note_entry), judged);
  const char *note = self->item ? workbench_item_get_note (self->item) : NULL;
  gtk_editable_set_text (GTK_EDITABLE (self->note_entry), note ? note : "");
}

static void
store_note (WorkbenchDetails *self)
{
  if (self->item == NULL)
    return;
  UadVerdict verdict = workbench_item_get_operator_verdict (self->item);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->note_entry));
  const char *note = workbench_item_get_note (self->item);
  if (verdict == UAD_VERDICT_NONE || g_strcmp0 (text, note ? note : "") == 0)
    return;
  workbench_session_set_operator_verdict (self->session, self->item, verdict, text);
}

void
workbench_details_set_item (WorkbenchDetails *self, WorkbenchItem *item)
{
  if (self->item == item)
    return;
  /* A note typed for the previous image is kept, not lost by moving on. */
  store_note (self);
  if (self->item)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_set_object (&self->item, item);
  if (item)
    {
      g_signal_connect_swapped (item, "notify::operator-verdict", G_CALLBACK (update), self);
      g_signal_connect_swapped (item, "notify::note", G_CALLBACK (update), self);
    }
  update (self);
}

void
workbench_details_set_session (WorkbenchDetails *self, WorkbenchSession *session)
{
  g_set_object (&self->session, session);
}

static void
workbench_details_dispose (GObject *object)
{
  WorkbenchDetails *self = WORKBENCH_DETAILS (object);
  if (self->item)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_object (&self->item);
  gtk_widget_dispose_template (GTK_WIDGET (self), WORKBENCH_TYPE_DETAILS);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (workbench_details_parent_class)->dispose (object);
}

static void
workbench_details_class_init (WorkbenchDetailsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = workbench_details_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/uniad/Workbench/workbench-details.ui");
  gtk_widget_class_bind_template_child (widget_class, WorkbenchDetails, note_entry);
}

static void
workbench_details_init (WorkbenchDetails *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->note_entry, "activate", G_CALLBACK (store_note), self);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (store_note), self);
  gtk_widget_add_controller (GTK_WIDGET (self->note_entry), focus);
}
