#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A study of networks stopped (Ctrl-C, twice as an impatient user does) and resumed with
# --resume gives the same rows as an uninterrupted one (all but the minutes column, which is
# wall time), leaves whole rows and status "stopped" in between, and refuses to resume with
# other arguments or to start over in a folder holding a stopped study. Needs UNIAD_SHARED
# (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 6
study=(study shortcut --data "$data" --classes pcb "${bb[@]}" --feature-cache "$tmp/cache" --threads 1
       --epochs 3)

# without_minutes CSV: its rows with the minutes column (the 4th) cut out.
without_minutes() { cut -d, -f1-3,5- "$1"; }

run 0 "${study[@]}" --out "$tmp/whole"
[[ $(wc -l < "$tmp/whole/shortcut.csv") -eq 13 ]] || fail "4 networks x 3 checkpoints: $(cat "$tmp/whole/shortcut.csv")"

interrupt "$tmp/part/state/Transformer-all.safetensors" "$tmp/stopped.out" "${study[@]}" --out "$tmp/part"
[[ $status -eq 130 ]] || fail "stopped study: exit $status: $(tail -3 "$tmp/stopped.out")"
grep -q '"status": "stopped"' "$tmp/part/study.json" || fail "study.json after the stop: $(cat "$tmp/part/study.json")"
rows=$(($(wc -l < "$tmp/part/shortcut.csv") - 1))
[[ $rows -ge 3 && $rows -lt 12 ]] || fail "stopped after $rows rows (expected within the second network)"
[[ -z $(awk -F, 'NF != 7' "$tmp/part/shortcut.csv") ]] || fail "a cut row: $(cat "$tmp/part/shortcut.csv")"

run 1 "${study[@]}" --every 2 --out "$tmp/part" --resume
grep -q "holds a study run with --every 1, not 2" "$tmp/out" || fail "other arguments: $(cat "$tmp/out")"
run 1 "${study[@]}" --out "$tmp/part"
grep -q "add --resume to continue it" "$tmp/out" || fail "starting over a stopped study: $(cat "$tmp/out")"

run 0 "${study[@]}" --out "$tmp/part" --resume
diff <(without_minutes "$tmp/whole/shortcut.csv") <(without_minutes "$tmp/part/shortcut.csv") >"$tmp/diff" \
  || fail "resumed rows differ: $(cat "$tmp/diff")"
diff "$tmp/whole/classes.csv" "$tmp/part/classes.csv" >"$tmp/diff" || fail "resumed classes.csv differs: $(cat "$tmp/diff")"
diff "$tmp/whole/shortcut-table.csv" "$tmp/part/shortcut-table.csv" || fail "resumed table differs"
grep -q '"status": "done"' "$tmp/part/study.json" || fail "study.json after resuming: $(cat "$tmp/part/study.json")"

finish "study stop and resume"
