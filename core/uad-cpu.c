/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-cpu.h"

#include <cblas.h>
#include <glib.h>
#include <unistd.h>

static const char *
best_coretype (void)
{
#if defined(__x86_64__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
#endif
  return NULL;
}

static gboolean
is_generic (const char *corename)
{
  static const char *const generic[] = { "prescott", "core2", "penryn", "dunnington",
                                         "nehalem", "atom", "katmai", "coppermine",
                                         "northwood", "banias", "generic", "unknown" };
  for (guint i = 0; i < G_N_ELEMENTS (generic); i++)
    if (g_ascii_strcasecmp (corename, generic[i]) == 0)
      return TRUE;
  return FALSE;
}

void
uad_cpu_select_blas_kernels (char **argv)
{
  if (g_getenv ("OPENBLAS_CORETYPE") != NULL)
    return;
  const char *corename = openblas_get_corename ();
  const char *best = best_coretype ();
  if (best == NULL || corename == NULL || !is_generic (corename))
    return;
  g_setenv ("OPENBLAS_CORETYPE", best, TRUE);
  /* OpenBLAS only ever runs single-threaded inside our pool (uad-parallel.h): spare it starting
   * a thread server of its own. */
  g_setenv ("OPENBLAS_NUM_THREADS", "1", FALSE);
  execv ("/proc/self/exe", argv);
  /* Could not restart: carry on with the generic kernels (slower, still correct). */
}
