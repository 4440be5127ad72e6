/* SPDX-License-Identifier: Apache-2.0 */
/* uad-progress.h: how long-running core work (decoding many images) reports its progress. */
#pragma once

#include <glib.h>

/* Reports progress: done of total images. Return FALSE to cancel. */
typedef gboolean (*UadProgressFunc) (int done, int total, void *user_data);
