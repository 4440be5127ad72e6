/* SPDX-License-Identifier: Apache-2.0 */
/* uad-error.h: the GError domain of the core library. Every failure in core/ is reported as a
 * GError in this domain with a message a user can act on (which file, which tensor, what is wrong). */
#pragma once

#include <glib.h>

#define UAD_ERROR (uad_error_quark ())

typedef enum {
  UAD_ERROR_IO,          /* a file could not be opened, read, mapped or written */
  UAD_ERROR_FORMAT,      /* a file is not what it claims to be (corrupt, truncated, bad JSON) */
  UAD_ERROR_UNSUPPORTED, /* valid but not handled here (unknown dtype, too large an image) */
  UAD_ERROR_MISMATCH,    /* shapes, names or identities do not fit together */
  UAD_ERROR_INVALID,     /* a bad argument from the caller or the user */
  /* The caller's progress callback asked the work to stop (the core takes no GCancellable;
   * work stopped through a GCancellable, as in the workbench, fails G_IO_ERROR_CANCELLED). */
  UAD_ERROR_CANCELLED,
} UadErrorCode;

GQuark uad_error_quark (void);
