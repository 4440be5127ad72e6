#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uniad study convergence` by epochs: one row per recipe per epoch beside PaDiM's two; stopped
# (Ctrl-C, twice) once its first recipe is done and resumed with --resume, the same rows as an
# uninterrupted run (but for the minutes column, wall time); study.json says "stopped", then
# "done". Needs UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 6
study=(study convergence --data "$data" "${bb[@]}" --feature-cache "$tmp/cache" --threads 1
       --epochs 2 --recipes fast,fast:jitter=0)

# rows CSV: its rows with the minutes column (the 2nd) cut out, sorted (PaDiM's two rows follow
# the kept ones in a resumed table).
rows() { cut -d, -f1,3- "$1" | sort; }

run 0 "${study[@]}" --out "$tmp/whole"
csv=$tmp/whole/convergence.csv
head -1 "$csv" | grep -q "^recipe,minutes,epoch,loss,image_auroc,pixel_auroc,validation_auroc$" \
  || fail "header: $(head -1 "$csv")"
for recipe in fast fast:jitter=0; do
  [[ $(grep -cE "^$recipe,[0-9.]+,[12],[0-9.]+,[0-9.]+,[0-9.]+,$" "$csv") -eq 2 ]] \
    || fail "$recipe: a row per epoch: $(cat "$csv")"
done
[[ $(grep -c "^PaDiM" "$csv") -eq 2 && $(wc -l < "$csv") -eq 7 ]] || fail "rows: $(cat "$csv")"
[[ -f $tmp/whole/convergence.png && -f $tmp/whole/convergence.svg ]] || fail "no plots"

interrupt "$tmp/part/state/fast.done" "$tmp/stopped.out" "${study[@]}" --out "$tmp/part"
[[ $status -eq 130 ]] || fail "stopped study: exit $status: $(tail -3 "$tmp/stopped.out")"
grep -q '"status": "stopped"' "$tmp/part/study.json" || fail "study.json: $(cat "$tmp/part/study.json")"
# In the second recipe, unless the first outlasts interrupt's wait (a slow sanitized build).
compgen -G "$tmp/part/state/*.checkpoint" >/dev/null || fail "no checkpoint of the recipe stopped"
run 1 "${study[@]}" --seed 7 --out "$tmp/part" --resume
grep -q "holds a study run with --seed 133, not 7" "$tmp/out" || fail "other arguments: $(cat "$tmp/out")"
run 0 "${study[@]}" --out "$tmp/part" --resume
diff <(rows "$csv") <(rows "$tmp/part/convergence.csv") >"$tmp/diff" || fail "resumed rows differ: $(cat "$tmp/diff")"
grep -q '"status": "done"' "$tmp/part/study.json" || fail "study.json: $(cat "$tmp/part/study.json")"

finish "study convergence"
