#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The `uniad` program as a user runs it: help and usage errors, features and classify on
# cat.jpg, clear errors for bad input, and a small train -> infer -> eval round on real
# industrial images, including Ctrl-C during training and --resume ending where an
# uninterrupted run ends. Needs UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

# Help and usage.
run 0 --help
run 2 no-such-command
for c in features classify check-weights train infer eval; do
  run 0 "$c" --help
done
run 0 bench --help
run 2 features
run 2 train --data "$industrial"

# Benchmarks run and print their figures (the figures themselves are not checked: noisy).
run 0 bench backbone "${bb[@]}" --batch 2 --iterations 2
grep -q "ms/image (.*median of 2; fastest .* ms/image), .* GFLOP/s, peak RSS" "$tmp/out" \
  || fail "bench backbone: $(cat "$tmp/out")"
run 0 bench train --channels 168 --batch 1 --iterations 1
grep -q "^training step.*ms/image" "$tmp/out" || fail "bench train: $(cat "$tmp/out")"
run 1 bench infer --backbone mobilenet_v2 --weights "$tmp/missing.safetensors"

# Features and classification of a real photo.
cat=$shared/golden/mobilenet_v2/cat.jpg
run 0 features "$cat" "${bb[@]}" --out "$tmp/f.safetensors"
grep -q "features \[1, 168, 14, 14\]" "$tmp/out" || fail "features: $(cat "$tmp/out")"
[[ $(stat -c %s "$tmp/f.safetensors") -gt $((168 * 196 * 4)) ]] || fail "features: --out file too small"
run 0 classify "$cat" "${bb[@]}"
head -1 "$tmp/out" | grep -q "Egyptian cat" || fail "classify top-1: $(head -1 "$tmp/out")"

# Bad input: clear message naming the file, non-zero exit.
printf 'not an image' >"$tmp/fake.png"
run 1 features "$tmp/fake.png" "${bb[@]}"
grep -q "fake.png" "$tmp/out" || fail "non-image: message does not name the file: $(cat "$tmp/out")"
run 1 features "$cat" --backbone efficientnet_b4 --weights "$weights"
grep -qi "not EfficientNet" "$tmp/out" || fail "wrong weights: $(cat "$tmp/out")"
head -c 1000 "$weights" >"$tmp/truncated.safetensors"
run 1 check-weights "$tmp/truncated.safetensors" --backbone mobilenet_v2
# poison_last_float FILE: a copy whose last four bytes (the data area's last float) are NaN.
poison_last_float() {
  cp "$1" "$2"
  printf '\xff\xff\xff\xff' | dd of="$2" bs=1 seek=$(($(stat -c %s "$2") - 4)) conv=notrunc 2>/dev/null
}
poison_last_float "$weights" "$tmp/nan.safetensors"
run 1 check-weights "$tmp/nan.safetensors" --backbone mobilenet_v2
grep -q "nan.safetensors: tensor '.*' holds a non-finite value" "$tmp/out" \
  || fail "NaN weights: $(cat "$tmp/out")"
# A classifier of zero classes (shapes [0, 1280] and [0]) is refused, not a crash.
python3 - "$weights" "$tmp/zero.safetensors" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header, data = json.loads(f.read(n)), f.read()
out = bytearray()
for name, t in header.items():
    if name == "__metadata__":
        continue
    b = data[t["data_offsets"][0]:t["data_offsets"][1]]
    if name.startswith("classifier."):
        t["shape"][0], b = 0, b""
    t["data_offsets"] = [len(out), len(out) + len(b)]
    out += b
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + out)
PY
run 1 classify "$shared/golden/mobilenet_v2/cat.jpg" --backbone mobilenet_v2 --weights "$tmp/zero.safetensors"
grep -q "zero.safetensors: the classifier .* has 0 classes" "$tmp/out" || fail "0 classes: $(cat "$tmp/out")"
run 1 features "$cat" --backbone resnet50 --weights "$weights"

# A small dataset in MVTec layout: 4 good training images per class, 2 good and 2 defective
# test images with masks.
data=$tmp/data
make_dataset "$data" 4
train=(train --data "$data" "${bb[@]}" --batch 4 --no-disk-cache)

run 0 "${train[@]}" --epochs 6 --out "$tmp/m.uniad"
grep -q "saved" "$tmp/out" || fail "train: $(cat "$tmp/out")"
run 1 "${train[@]}" --epochs 6 --out "$tmp/m.uniad"
grep -q "exists" "$tmp/out" || fail "train over an existing model: $(cat "$tmp/out")"

# Ctrl-C: a checkpoint, exit 130, and --resume ends with the same weights.
# Two in a row, as an impatient user does: still a checkpoint, and a word about it.
interrupt "$tmp/r.uniad.checkpoint" "$tmp/r.out" "${train[@]}" --epochs 6 --checkpoint-every 1 \
  --out "$tmp/r.uniad"
[[ $status -eq 130 ]] || fail "Ctrl-C: exit $status: $(cat "$tmp/r.out")"
grep -q "stopping: finishing this step and writing a checkpoint" "$tmp/r.out" \
  || fail "Ctrl-C: nothing said: $(cat "$tmp/r.out")"
[[ -f $tmp/r.uniad.checkpoint && ! -f $tmp/r.uniad ]] || fail "Ctrl-C: no checkpoint, or a model already"
run 1 "${train[@]}" --epochs 6 --out "$tmp/r.uniad"
grep -q -- "--resume" "$tmp/out" || fail "a leftover checkpoint without --resume: $(cat "$tmp/out")"
run 0 "${train[@]}" --epochs 6 --out "$tmp/r.uniad" --resume
python3 - "$tmp/m.uniad" "$tmp/r.uniad" <<'PY' || fail "resumed model differs from the uninterrupted one"
import json, struct, sys
def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
sys.exit(0 if a == b and len(a) > 50 else 1)
PY

# A model that cannot be saved (its path is a folder) keeps the training in the checkpoint, and
# --resume saves it once the path is free.
mkdir "$tmp/dir.uniad"
run 1 "${train[@]}" --epochs 2 --no-decoder --force --out "$tmp/dir.uniad"
grep -q "training is kept in .*dir.uniad.checkpoint" "$tmp/out" || fail "failed save: $(cat "$tmp/out")"
[[ -f $tmp/dir.uniad.checkpoint ]] || fail "failed save: the checkpoint is gone"
rmdir "$tmp/dir.uniad"
run 0 "${train[@]}" --epochs 2 --no-decoder --out "$tmp/dir.uniad" --resume
[[ -f $tmp/dir.uniad && ! -e $tmp/dir.uniad.checkpoint ]] || fail "resumed save: $(cat "$tmp/out")"

# Infer: files and folders, CSV, heatmaps, a corrupt file reported while the rest go on.
cp "$tmp/fake.png" "$data/pcb/test/good/zz-corrupt.png"
run 1 infer --model "$tmp/m.uniad" --weights "$weights" "$data/pcb/test" "$data/magnetic_tile/test" \
  --csv "$tmp/r.csv" --heatmaps "$tmp/heat"
grep -q "zz-corrupt.png" "$tmp/out" || fail "infer: the corrupt file is not named: $(cat "$tmp/out")"
[[ $(grep -c . "$tmp/r.csv") -eq 9 ]] || fail "infer: CSV should have a header and 8 rows: $(cat "$tmp/r.csv")"
[[ $(find "$tmp/heat" -name '*_heatmap.png' | wc -l) -eq 8 ]] || fail "infer: expected 8 heatmaps: $(find "$tmp/heat")"
rm "$data/pcb/test/good/zz-corrupt.png"
run 0 infer --model "$tmp/m.uniad" --weights "$weights" "$data/pcb/test/good"
[[ ! -e $tmp/r.csv.part ]] || fail "infer: the CSV's .part file was left behind"
# CSV fields as RFC 4180 has them, in UTF-8: a name with a comma, a quote and a Hangul syllable.
odd=$tmp/odd
mkdir -p "$odd"
odd_name=$(printf 'caf\xc3\xa9, "\xea\xb0\x80".png')
cp "$(ls -d "$data"/pcb/test/good/* | head -1)" "$odd/$odd_name"
run 0 infer --model "$tmp/m.uniad" --weights "$weights" --class pcb "$odd" --csv "$tmp/odd.csv"
python3 - "$tmp/odd.csv" <<'PY' || fail "infer CSV quoting: $(cat "$tmp/odd.csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline="")))
assert rows[0][0] == "path" and len(rows) == 2, rows
assert rows[1][0].endswith('caf\u00e9, "\uac00".png'), rows[1][0]
assert rows[1][5] in ("pass", "review", "fail"), rows[1]
PY
# Thresholds that are not numbers >= 0, a folder named like an image without images, a pipe.
run 2 infer --model "$tmp/m.uniad" --weights "$weights" --pass-below nan "$data/pcb/test/good"
grep -q "a threshold is a number >= 0" "$tmp/out" || fail "--pass-below nan: $(cat "$tmp/out")"
run 2 infer --model "$tmp/m.uniad" --weights "$weights" --fail-above -5 "$data/pcb/test/good"
mkdir "$tmp/folder.png"
run 1 infer --model "$tmp/m.uniad" --weights "$weights" "$tmp/folder.png"
grep -q "no images in the folder .*folder.png" "$tmp/out" || fail "empty folder: $(cat "$tmp/out")"
mkfifo "$tmp/pipe.png"
run 1 infer --model "$tmp/m.uniad" --weights "$weights" "$tmp/pipe.png"
grep -q "pipe.png is neither a file nor a folder" "$tmp/out" || fail "FIFO: $(cat "$tmp/out")"
# Crafted model metadata: refused with a clear error before anything is allocated (under a
# 2 GB address-space limit, a model of terabytes would abort instead).
for craft in "config grid_h 1024" "config hidden 4096" "config ffn 16384" "config decoder_layers 64" \
  "decoder widths 4096"; do
  python3 - "$tmp/m.uniad" "$tmp/crafted.uniad" $craft <<'PY'
import json, struct, sys
src, dst, part, key, value = sys.argv[1:6]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header, data = json.loads(f.read(n)), f.read()
meta = json.loads(header["__metadata__"]["uniad"])
meta[part][key] = [int(value)] * 4 if key == "widths" else int(value)
header["__metadata__"]["uniad"] = json.dumps(meta)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(dst, "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
  (ulimit -v 2000000; "$uniad" infer --model "$tmp/crafted.uniad" --weights "$weights" \
    "$data/pcb/test/good" >"$tmp/out" 2>&1)
  rc=$?
  [[ $rc -eq 1 ]] && grep -Eq "crafted.uniad: model metadata (.* is 1024, not a whole number|describes .* more than the file's tensors can hold)" "$tmp/out" \
    || fail "crafted metadata ($craft): exit $rc: $(cat "$tmp/out")"
done
poison_last_float "$tmp/m.uniad" "$tmp/nan.uniad"
run 1 infer --model "$tmp/nan.uniad" --weights "$weights" "$data/pcb/test/good"
grep -q "nan.uniad: tensor '.*' holds a non-finite value" "$tmp/out" || fail "NaN model: $(cat "$tmp/out")"
run 0 infer --model "$tmp/m.uniad" --weights "$weights" "$data/pcb/test" --reconstructions "$tmp/rec"
[[ $(find "$tmp/rec" -name '*_reconstruction.png' | wc -l) -eq 4 ]] \
  || fail "infer --reconstructions: expected 4 pictures: $(find "$tmp/rec")"
run 1 infer --model "$tmp/m.uniad" --weights "$cat" "$data/pcb/test/good"

# Eval: the table and its JSON.
run 0 eval --model "$tmp/m.uniad" --weights "$weights" --data "$data" --json "$tmp/e.json"
grep -q "^mean" "$tmp/out" || fail "eval: no mean row: $(cat "$tmp/out")"
python3 - "$tmp/e.json" <<'PY' || fail "eval JSON: $(cat "$tmp/e.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [c["name"] for c in r["classes"]] == ["magnetic_tile", "pcb"]
for c in r["classes"]:
    assert 0 <= c["image_auroc"] <= 1 and 0 <= c["pixel_auroc"] <= 1 and 0 <= c["pixel_aupro"] <= 1
PY

# A missing test mask: training reads only good images and goes on; evaluation names the mask.
make_dataset "$tmp/nomask" 4
rm "$(find "$tmp/nomask/pcb/ground_truth" -name '*_mask.png' | head -1)"
run 0 train --data "$tmp/nomask" "${bb[@]}" --batch 4 --no-disk-cache --epochs 1 --no-decoder \
  --out "$tmp/nomask.uniad"
run 1 eval --model "$tmp/nomask.uniad" --weights "$weights" --data "$tmp/nomask"
grep -q "class pcb: the mask .*_mask.png of the test image .* is missing" "$tmp/out" \
  || fail "eval with a missing mask: $(cat "$tmp/out")"

finish "uniad command-line"
