/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-verdict.h: how the workbench shows a verdict (uad-verdict.h decides it): as a
 * GEnum for properties, a CSS class (resources/style.css colours it) and a translated name. */
#pragma once

#include <glib-object.h>

#include "uad-verdict.h"

G_BEGIN_DECLS

#define WORKBENCH_TYPE_VERDICT (workbench_verdict_get_type ())
GType workbench_verdict_get_type (void);

/* A CSS class for a verdict ("verdict-pass", ...; "verdict-none" when not decided), and its
 * translated name ("Pass", ...; "Not inspected" for NONE). */
const char *workbench_verdict_css_class (UadVerdict verdict);
const char *workbench_verdict_label (UadVerdict verdict);

G_END_DECLS
