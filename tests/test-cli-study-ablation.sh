#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uniad study ablation` on a few real images: every variant in the table and the curves, and
# study.json records the arguments, the files and the summary. Needs UNIAD_SHARED (exit 77 =
# skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 4

# The ablations: every variant, unified, with its curve.
run 0 study ablation --data "$data" "${bb[@]}" --feature-cache "$tmp/cache" --threads 1 --epochs 2 --out "$tmp/abl"
table=$tmp/abl/ablation-table.csv
for variant in default mask=0 queries=0 jitter=0 all-off; do
  head -1 "$table" | grep -q ",$variant:unified:image_auroc,$variant:unified:pixel_auroc" \
    || fail "ablation table, $variant: $(head -1 "$table")"
  [[ $(grep -c "^$variant,all,[12]," "$tmp/abl/ablation.csv") -eq 2 ]] || fail "ablation curve, $variant"
done
grep -qE "^mean,[0-9.]+,[0-9.]+" "$table" || fail "ablation mean: $(cat "$table")"
python3 - "$tmp/abl/study.json" <<'PY' || fail "ablation study.json: $(cat "$tmp/abl/study.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["study"] == "ablation" and j["status"] == "done" and j["arguments"]["epochs"] == "2"
assert j["files"]["table"] == "ablation-table.csv" and j["files"]["plot_png"] == "ablation.png"
assert set(j["summary"]["table"]) == {"default", "mask=0", "queries=0", "jitter=0", "all-off"}
assert j["summary"]["curves"]["default"]["last_epoch"] == 2
PY

finish "study ablation"
