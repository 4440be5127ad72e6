/* SPDX-License-Identifier: Apache-2.0 */
#include "workbench-verdict.h"

#include <glib/gi18n.h>

GType
workbench_verdict_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { UAD_VERDICT_NONE, "UAD_VERDICT_NONE", "none" },
    { UAD_VERDICT_PASS, "UAD_VERDICT_PASS", "pass" },
    { UAD_VERDICT_REVIEW, "UAD_VERDICT_REVIEW", "review" },
    { UAD_VERDICT_FAIL, "UAD_VERDICT_FAIL", "fail" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WorkbenchUadVerdict", values));
  return type;
}

const char *
workbench_verdict_css_class (UadVerdict verdict)
{
  switch (verdict)
    {
    case UAD_VERDICT_PASS:
      return "verdict-pass";
    case UAD_VERDICT_REVIEW:
      return "verdict-review";
    case UAD_VERDICT_FAIL:
      return "verdict-fail";
    case UAD_VERDICT_NONE:
    default:
      return "verdict-none";
    }
}

const char *
workbench_verdict_label (UadVerdict verdict)
{
  switch (verdict)
    {
    case UAD_VERDICT_PASS:
      return _("Pass");
    case UAD_VERDICT_REVIEW:
      return _("Review");
    case UAD_VERDICT_FAIL:
      return _("Fail");
    case UAD_VERDICT_NONE:
    default:
      return _("Not inspected");
    }
}
