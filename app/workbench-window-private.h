/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-window-private.h: what workbench-window.c (layout, viewer, session signals) and
 * workbench-window-actions.c (the actions and their dialogs) share. */
#pragma once

#include "workbench-details.h"
#include "workbench-gallery.h"
#include "workbench-history-page.h"
#include "workbench-line-mode.h"
#include "workbench-sidebar.h"
#include "workbench-viewer-feed.h"
#include "workbench-viewer.h"
#include "workbench-window.h"

struct _WorkbenchWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkButton *cancel_button;
  GtkButton *inspect_button;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack *view_stack;
  GtkBox *inspect_page;
  GtkRevealer *sidebar_revealer;
  WorkbenchSidebar *sidebar;
  GtkPaned *paned;
  WorkbenchGallery *gallery;
  GtkRevealer *progress_revealer;
  GtkProgressBar *progress_bar;
  GtkLabel *progress_label;
  AdwBin *viewer_bin;
  WorkbenchDetails *details;
  WorkbenchHistoryPage *history_page;
  GtkRevealer *history_banner;
  GtkLabel *history_banner_title;
  GtkLabel *history_banner_reason;
  GtkButton *history_new_button;
  GtkButton *history_retry_button;
  GtkButton *history_dismiss_button;
  WorkbenchLineMode *line_mode;
  WorkbenchItem *followed;    /* selected by following the line's results (no ref); NULL
                               * until the line's first results */

  WorkbenchViewer *viewer;
  GSettings *settings;
  WorkbenchSession *session;

  WorkbenchItem *selected;    /* the gallery's, shown in the viewer and the details */
  WorkbenchViewerFeed *feed;
  gboolean history_dismissed; /* the operator chose to work without the history */
};

void workbench_window_toast (WorkbenchWindow *self, const char *text);
/* Shows, shrinks (dismissed) or hides the notice that the history file cannot be used. */
void workbench_window_update_history_banner (WorkbenchWindow *self);
/* Opens folders in the session and remembers them for the next start. */
void workbench_window_open_folders (WorkbenchWindow *self, const char *const *folders);

/* workbench-window-actions.c */
void workbench_window_install_actions (WorkbenchWindow *self);
/* Enables the actions as the session's state allows. */
void workbench_window_update_actions (WorkbenchWindow *self);
/* The operator-verdict action follows the selected image. */
void workbench_window_update_verdict_action (WorkbenchWindow *self);
/* The session could not find the weights of model: asks the operator for them. */
void workbench_window_ask_for_weights (WorkbenchWindow *self, const char *model);
