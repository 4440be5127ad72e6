#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The studies' output on a few real images: values that were not measured (pixel AUROC of a
# class without masks) are empty CSV fields, never "nan". Needs UNIAD_SHARED (exit 77 = skipped
# without it).
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

finish "study output"
