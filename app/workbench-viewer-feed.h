/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-viewer-feed.h: the viewer fed from an item. Given the item to show, it loads
 * through the session the picture and its ground-truth mask, the stored anomaly map and (with
 * a decoder) the model's reconstruction, fills the facts and the verdict badge, and follows the
 * item (a new result, verdicts, class), the class thresholds (pixel threshold and heatmap
 * scale, as uad-verdict.h draws them) and the open model (its reconstruction is asked for
 * again when another model opens; the viewer says while it is being rendered). A newer item
 * cancels what the older one was loading. Main thread only. */
#pragma once

#include "workbench-session.h"
#include "workbench-viewer.h"

G_BEGIN_DECLS

typedef struct WorkbenchViewerFeed WorkbenchViewerFeed;

/* Told what could not be loaded (a message for the user). */
typedef void (*WorkbenchFeedReport) (const char *message, gpointer data);

/* Borrows viewer and session, which must outlive the feed. */
WorkbenchViewerFeed *workbench_viewer_feed_new (WorkbenchViewer *viewer,
                                                WorkbenchSession *session,
                                                WorkbenchFeedReport report, gpointer report_data);
void workbench_viewer_feed_free (WorkbenchViewerFeed *self);

/* Shows item (NULL: nothing). */
void workbench_viewer_feed_show (WorkbenchViewerFeed *self, WorkbenchItem *item);
/* The thresholds may have moved (the session relabelled): redraws with them. */
void workbench_viewer_feed_update_thresholds (WorkbenchViewerFeed *self);

G_END_DECLS
