#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The translations are complete: every file with translatable strings is in po/POTFILES.in,
# and every string of a freshly extracted template has a (non-fuzzy) translation in each
# catalogue of po/LINGUAS, with matching format directives. Skipped without gettext.
set -euo pipefail
src="$1"
for tool in xgettext msgcmp msgfmt; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 77; }
done
cd "$src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d')
for f in $(grep -l -E '_\("|N_\("|ngettext \(|translatable="yes"' app/*.c ui/*.ui); do
  grep -qx "$f" <<<"$listed" || { echo "$f has translatable strings but is not in po/POTFILES.in"; status=1; }
done

# The same extraction as meson's i18n.gettext (preset glib).
xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
  --keyword=g_dpgettext2:2c,3 --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format \
  --flag=NC_:2:pass-c-format --flag=g_dngettext:2:pass-c-format \
  --flag=g_strdup_printf:1:c-format --flag=g_string_printf:2:c-format \
  --flag=g_string_append_printf:2:c-format --flag=g_error_new:3:c-format \
  --flag=g_set_error:4:c-format --files-from=po/POTFILES.in -o "$tmp/template.pot"

for lang in $(grep -v '^#' po/LINGUAS); do
  msgfmt --check -o /dev/null "po/$lang.po" || status=1
  # Fails on any string of the template without a translation (fuzzy ones count as missing).
  msgcmp "po/$lang.po" "$tmp/template.pot" || status=1
  stats=$(msgfmt --statistics -o /dev/null "po/$lang.po" 2>&1)
  echo "$lang: $stats"
  grep -q -E 'fuzzy|untranslated' <<<"$stats" && { echo "po/$lang.po has fuzzy or untranslated strings"; status=1; }
done
exit $status
