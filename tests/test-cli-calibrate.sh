#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `uniad calibrate` on a small real PaDiM model: the false-reject-rate target fails the requested
# fraction of the good test images (within one image), the thresholds land in the model file,
# and `uniad infer` then decides with them; --pixel-f1 sets the pixel threshold from the masks. A class without a test split is calibrated on its
# training images (false-reject target only). Needs UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

# pcb: 4 good training images, 10 good and 3 defective test images; magnetic_tile: 10 good
# training images and no test split.
data=$tmp/data
mkdir -p "$data/pcb/train/good" "$data/pcb/test/good" "$data/pcb/test/defective" \
  "$data/magnetic_tile/train/good"
link() { # link SRC_DIR DST_DIR N
  local f
  for f in $(ls "$1" | head -"$3"); do ln -s "$1/$f" "$2/$f"; done
}
link "$industrial/pcb/train/good" "$data/pcb/train/good" 4
link "$industrial/pcb/test/good" "$data/pcb/test/good" 10
link "$industrial/pcb/test/defective" "$data/pcb/test/defective" 3
link "$industrial/magnetic_tile/train/good" "$data/magnetic_tile/train/good" 10

model=$tmp/m.uniad
run 0 train --method padim --separate --data "$data" "${bb[@]}" --no-disk-cache --out "$model" -t 1
cp "$model" "$tmp/before.uniad"

# Usage errors: no target, two fail targets, a rate that is not a fraction.
cal=(calibrate --model "$model" --data "$data" --weights "$weights" -t 1)
run 2 "${cal[@]}"
run 2 "${cal[@]}" --target-frr 0.1 --f1
run 2 "${cal[@]}" --target-frr 5

# A dry run prints and leaves the file alone.
run 0 "${cal[@]}" --target-frr 0.2 --target-escape 0.34 --dry-run
grep -q "^pcb  *10  *3 " "$tmp/out" || fail "dry run: no pcb row: $(cat "$tmp/out")"
cmp -s "$model" "$tmp/before.uniad" || fail "dry run changed the model file"

# The real run; the escape target cannot apply to magnetic_tile (no defective images).
run 0 "${cal[@]}" --target-frr 0.2 --target-escape 0.34
grep -q "magnetic_tile: there are no defective images" "$tmp/out" \
  || fail "no note on the escape target of magnetic_tile: $(cat "$tmp/out")"
grep -q "^thresholds written to $model" "$tmp/out" || fail "not written: $(cat "$tmp/out")"
grep -q "^magnetic_tile  *10  *0 .* 20.0%" "$tmp/out" \
  || fail "magnetic_tile: FRR 20% on its training images: $(cat "$tmp/out")"
cp "$tmp/out" "$tmp/calibrate.out"

# The file holds the printed thresholds (pcb's pass threshold below its fail threshold).
python3 - "$model" "$tmp/calibrate.out" > "$tmp/th" <<'PY' || fail "thresholds in the file: $(cat "$tmp/calibrate.out")"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
meta = json.loads(header["__metadata__"]["uniad"])
rows = {l.split()[0]: l.split() for l in open(sys.argv[2]) if l.split() and l.split()[0] in ("pcb", "magnetic_tile")}
for c in meta["classes"]:
    t = c["thresholds"]
    assert t["pass_below"] <= t["fail_above"], t
    assert abs(float(rows[c["name"]][3]) - t["pass_below"]) <= 1e-5 * abs(t["pass_below"]), (rows, t)
    assert abs(float(rows[c["name"]][4]) - t["fail_above"]) <= 1e-5 * abs(t["fail_above"]), (rows, t)
    if c["name"] == "pcb":
        print(t["pass_below"], t["fail_above"])
PY
read -r pass_below fail_above < "$tmp/th"

# Infer on the 10 good test images of pcb: 2 fail (20%, within one image), decided with the
# thresholds of the file.
run 0 infer --model "$model" --weights "$weights" --class pcb --csv "$tmp/r.csv" -t 1 \
  "$data/pcb/test/good"
python3 - "$tmp/r.csv" "$pass_below" "$fail_above" <<'PY' || fail "infer does not use the calibrated thresholds: $(cat "$tmp/r.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 10, rows
assert all(abs(float(r["fail_above"]) - float(sys.argv[3])) <= 1e-6 * abs(float(sys.argv[3])) for r in rows)
assert all(abs(float(r["pass_below"]) - float(sys.argv[2])) <= 1e-6 * abs(float(sys.argv[2])) for r in rows)
failed = sum(r["verdict"] == "fail" for r in rows)
assert 1 <= failed <= 3, failed
PY

# Thresholds that cannot decide are refused on load, naming the file.
python3 - "$model" "$tmp/bad.uniad" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
meta = json.loads(header["__metadata__"]["uniad"])
t = meta["classes"][0]["thresholds"]
t["pass_below"], t["fail_above"] = t["fail_above"] + 1, t["fail_above"]
header["__metadata__"]["uniad"] = json.dumps(meta)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + data[8 + n:])
PY
run 1 infer --model "$tmp/bad.uniad" --weights "$weights" "$data/pcb/test/good"
grep -q "bad.uniad: thresholds of class" "$tmp/out" || fail "bad thresholds: $(cat "$tmp/out")"

# --pixel-f1 with pcb's defect masks: its pixel threshold becomes the F1-best one, printed with
# its pixel F1, and lands in the file; the image thresholds stay; magnetic_tile (no test split)
# keeps its pixel threshold, with a note.
mkdir -p "$data/pcb/ground_truth/defective"
for f in $(ls "$data/pcb/test/defective"); do
  ln -s "$industrial/pcb/ground_truth/defective/${f%.*}_mask.png" "$data/pcb/ground_truth/defective/"
done
cp "$model" "$tmp/before-pixel.uniad"
run 0 "${cal[@]}" --pixel-f1
grep -q "magnetic_tile: no defect masks" "$tmp/out" || fail "no note on magnetic_tile's masks: $(cat "$tmp/out")"
grep -qE "^pcb  *10  *3 .* [0-9.e+-]+  *0\.[0-9]{3}$" "$tmp/out" || fail "pcb's pixel threshold and F1: $(cat "$tmp/out")"
python3 - "$tmp/before-pixel.uniad" "$model" "$tmp/out" <<'PY' || fail "pixel thresholds in the file: $(cat "$tmp/out")"
import json, struct, sys
def classes(path):
    with open(path, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return {c["name"]: c["thresholds"] for c in json.loads(header["__metadata__"]["uniad"])["classes"]}
before, after = classes(sys.argv[1]), classes(sys.argv[2])
row = [l.split() for l in open(sys.argv[3]) if l.startswith("pcb ")][0]
assert abs(float(row[10]) - after["pcb"]["pixel"]) <= 1e-5 * abs(after["pcb"]["pixel"]), (row, after)
assert after["pcb"]["pixel"] != before["pcb"]["pixel"], (before, after)
assert 0 < float(row[11]) <= 1, row
for c in before:
    assert before[c]["pass_below"] == after[c]["pass_below"] and before[c]["fail_above"] == after[c]["fail_above"], (before, after)
assert after["magnetic_tile"]["pixel"] == before["magnetic_tile"]["pixel"], (before, after)
PY

finish calibrate
