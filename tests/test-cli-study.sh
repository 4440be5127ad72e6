#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The studies' output on a few real images: values that were not measured (pixel AUROC of a
# class without masks) are empty CSV fields, never "nan"; `study unified` tables every class
# under every network trained both ways. Needs UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 4
rm -r "$data/pcb/ground_truth"
shortcut=(study shortcut --data "$data" "${bb[@]}" --feature-cache "$tmp/cache" --threads 1)

run 0 "${shortcut[@]}" --epochs 1 --separate --out "$tmp/sep"
csv=$tmp/sep/shortcut.csv
grep -qi "nan" "$csv" && fail "a 'nan' in the CSV: $(cat "$csv")"
[[ $(grep -cE "^[A-Za-z]+,pcb,1,[0-9.]+,[0-9.]+,[0-9.]+,$" "$csv") -eq 4 ]] \
  || fail "pcb (no masks) has an empty pixel AUROC: $(cat "$csv")"
[[ $(grep -cE "^[A-Za-z]+,magnetic_tile,1,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$" "$csv") -eq 4 ]] \
  || fail "magnetic_tile has a pixel AUROC: $(cat "$csv")"

# Unified against separate: one epoch of 4 networks, each unified and per class.
run 0 study unified --data "$data" "${bb[@]}" --feature-cache "$tmp/cache" --threads 1 --epochs 1 --out "$tmp/uni"
table=$tmp/uni/unified-table.csv
for net in UniAD Transformer MLP CNN; do
  for way in unified separate; do
    head -1 "$table" | grep -q ",$net:$way:image_auroc,$net:$way:pixel_auroc" \
      || fail "unified table, $net $way: $(head -1 "$table")"
  done
done
[[ $(cut -d, -f1 "$table" | tr '\n' ' ') == "class magnetic_tile pcb mean " ]] \
  || fail "unified table rows: $(cat "$table")"
[[ $(awk -F, 'NR > 1 && NF == 17' "$table" | wc -l) -eq 3 ]] || fail "unified table fields: $(cat "$table")"
grep -qE "^pcb( +([0-9.]+|-)){16}$" "$tmp/out" || fail "printed unified table: $(cat "$tmp/out")"
[[ $(grep -c "^| " "$tmp/uni/unified-table.md") -eq 4 ]] || fail "Markdown table: $(cat "$tmp/uni/unified-table.md")"
[[ $(wc -l < "$tmp/uni/unified.csv") -eq 13 ]] || fail "unified curves, 12 networks: $(cat "$tmp/uni/unified.csv")"

finish "study output"
