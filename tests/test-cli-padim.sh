#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uniad train --method padim` as a user runs it on a few real industrial images: the model it
# writes (Gaussians, no transformer), infer and eval on it saying what it is, and clear refusals
# of what a PaDiM model cannot do (reconstructions, an image decoder, training options). Needs
# UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

# 4 good training images per class, 2 good and 2 defective test images with masks.
data=$tmp/data
make_dataset "$data" 4
train=(train --method padim --data "$data" "${bb[@]}" --no-disk-cache)

# Options that mean nothing to a training-free method are refused, as are unknown methods.
run 2 "${train[@]}" --epochs 3 --out "$tmp/x.uniad"
run 2 train --method knn --data "$data" "${bb[@]}" --out "$tmp/x.uniad"
grep -q "uniad or padim" "$tmp/out" || fail "unknown method: $(cat "$tmp/out")"

for mode in unified separate; do
  model=$tmp/$mode.uniad
  extra=()
  [[ $mode == separate ]] && extra=(--separate)
  run 0 "${train[@]}" "${extra[@]}" --out "$model"
  grep -q "^saved" "$tmp/out" || fail "train $mode: $(cat "$tmp/out")"
  grep -q "^pcb  *4 " "$tmp/out" || fail "train $mode: no class table: $(cat "$tmp/out")"
  python3 - "$model" "$mode" <<'PY' || fail "$mode: the model file is not a PaDiM model"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
meta = json.loads(header["__metadata__"]["uniad"])
names = [k for k in header if k != "__metadata__"]
prefix = "class.1.padim." if sys.argv[2] == "separate" else "padim."
assert meta["method"] == "padim" and meta["format"] == 4 and meta["mode"] == sys.argv[2]
assert header[prefix + "cholesky_inverse_packed"]["shape"] == [196, 168 * 169 // 2]
assert header[prefix + "mean"]["shape"] == [196, 168]
assert not any("reconstruction" in k or "decoder" in k for k in names)
assert all(c["score_std"] > 0 for c in meta["classes"])
PY

  # Infer: scores and verdicts, the model named for what it is.
  run 0 infer --model "$model" --weights "$weights" "$data/pcb/test" "$data/magnetic_tile/test" \
    --csv "$tmp/r.csv" --heatmaps "$tmp/heat-$mode"
  grep -q "^model: PaDiM" "$tmp/out" || fail "infer $mode: no PaDiM header: $(head -3 "$tmp/out")"
  [[ $(grep -c . "$tmp/r.csv") -eq 9 ]] || fail "infer $mode: CSV should have 8 rows: $(cat "$tmp/r.csv")"
  [[ $(find "$tmp/heat-$mode" -name '*_heatmap.png' | wc -l) -eq 8 ]] || fail "infer $mode: 8 heatmaps"

  # Eval: the table and its JSON.
  run 0 eval --model "$model" --weights "$weights" --data "$data" --json "$tmp/e.json"
  grep -q "^model: PaDiM" "$tmp/out" || fail "eval $mode: no PaDiM header: $(cat "$tmp/out")"
  grep -q "^mean" "$tmp/out" || fail "eval $mode: no mean row: $(cat "$tmp/out")"
  python3 - "$tmp/e.json" <<'PY' || fail "eval $mode JSON: $(cat "$tmp/e.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [c["name"] for c in r["classes"]] == ["magnetic_tile", "pcb"]
for c in r["classes"]:
    assert 0 <= c["image_auroc"] <= 1 and 0 <= c["pixel_auroc"] <= 1
PY
done

# What a PaDiM model cannot do: reconstructions, an image decoder, more training.
run 1 infer --model "$tmp/unified.uniad" --weights "$weights" "$data/pcb/test" --reconstructions "$tmp/rec"
grep -q "PaDiM" "$tmp/out" || fail "infer --reconstructions: $(cat "$tmp/out")"
run 1 train-decoder --model "$tmp/unified.uniad" --weights "$weights" --data "$data" --no-disk-cache
grep -q "PaDiM" "$tmp/out" || fail "train-decoder: $(cat "$tmp/out")"
run 1 train --continue "$tmp/unified.uniad" --data "$data" --weights "$weights" --epochs 1 \
  --no-disk-cache --out "$tmp/c.uniad"
grep -q "PaDiM" "$tmp/out" || fail "train --continue: $(cat "$tmp/out")"

finish "PaDiM command-line"
