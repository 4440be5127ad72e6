/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-error.h"

G_DEFINE_QUARK (uad-error-quark, uad_error)
