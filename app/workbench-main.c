/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-main.c: entry point of `uniad-workbench`, the GTK inspection workbench.
 *
 *   uniad-workbench [MODEL.uniad] [FOLDER…]
 *
 * UNIAD_WORKBENCH_LOCALEDIR overrides where translations are looked for (the build folder's
 * po/ when running uninstalled, see scripts/run). */
#include "uad-cpu.h"
#include "workbench-application.h"

#include <glib/gi18n.h>
#include <locale.h>

int
main (int argc, char **argv)
{
  uad_cpu_select_blas_kernels (argv);
  setlocale (LC_ALL, "");
  const char *localedir = g_getenv ("UNIAD_WORKBENCH_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("UniAD Workbench"));

  g_autoptr (WorkbenchApplication) app = workbench_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
