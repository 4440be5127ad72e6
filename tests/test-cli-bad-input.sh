#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A corpus of broken input made on the spot (images, models, weights, datasets, export targets),
# each case checked for what an unattended user needs: a message naming the file, exit 1 when the
# whole command failed, the rest of a batch going on, nothing lost (an existing output stays as it
# was) and nothing partial (no half-written file). A PaDiM model keeps it quick. Needs
# UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 4
model=$tmp/m.uniad
run 0 train --method padim --data "$data" "${bb[@]}" --no-disk-cache --out "$model"
good=$data/pcb/test/good

# expect STATUS TEXT ARGS...: uniad exits with STATUS and says TEXT (an extended regex).
expect() {
  local want=$1 text=$2
  shift 2
  run "$want" "$@"
  grep -Eq -- "$text" "$tmp/out" || fail "uniad $*: no '$text' in: $(cat "$tmp/out")"
}
# unchanged FILE COPY: FILE is still byte for byte COPY.
unchanged() {
  cmp -s "$1" "$2" || fail "$1 was changed"
}
# no_leftovers DIR: nothing but what the test put there (no .part, temporary or half file).
no_leftovers() {
  local extra
  extra=$(find "$1" -newer "$tmp/stamp" ! -path "$1" ! -path "$tmp/out")
  [[ -z $extra ]] || fail "left behind in $1: $extra"
}
# safetensors_header_plus FILE OUT DELTA: a copy whose 8-byte header length is off by DELTA.
safetensors_header_plus() {
  python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[:8] = struct.pack("<Q", struct.unpack("<Q", b[:8])[0] + int(sys.argv[3]))
open(sys.argv[2], "wb").write(b)
PY
}
# png WIDTH HEIGHT OUT: a black greyscale PNG (a mask) of that size.
png() {
  python3 - "$@" <<'PY'
import struct, sys, zlib
w, h, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = b"".join(b"\0" + b"\0" * w for _ in range(h))
open(out, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                      + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
}
infer=(infer --model "$model" --weights "$weights")
a_png=$(ls -d "$good"/* | head -1)

# --- Images: in a batch each broken one is named and the others are scored; exit 1. ---
batch=$tmp/batch
mkdir -p "$batch"
cp "$good"/* "$batch/"
head -c 300 "$a_png" >"$batch/truncated.png"
: >"$batch/empty.png"
echo "not an image" >"$batch/text.png"
expect 1 "5 images: .* 3 could not be inspected" "${infer[@]}" --class pcb "$batch" \
  --csv "$tmp/batch.csv"
for f in truncated.png empty.png text.png; do
  grep -q "$f" "$tmp/out" || fail "broken image $f is not named: $(cat "$tmp/out")"
done
[[ $(grep -Ec '^(PASS|REVIEW|FAIL) ' "$tmp/out") -eq 2 ]] || fail "the good images were not scored: $(cat "$tmp/out")"
[[ $(grep -c . "$tmp/batch.csv") -eq 3 ]] || fail "CSV should hold the 2 scored images: $(cat "$tmp/batch.csv")"
# One broken image named on its own: the whole command failed.
expect 1 "empty.png" "${infer[@]}" --class pcb "$batch/empty.png"

# --- Models: each refused with its name, before an image is read; an existing CSV kept. ---
echo "results of yesterday" >"$tmp/keep.csv"
cp "$tmp/keep.csv" "$tmp/keep.copy"
head -c 5000 "$model" >"$tmp/truncated.uniad"
: >"$tmp/empty.uniad"
echo "not a model" >"$tmp/text.uniad"
safetensors_header_plus "$model" "$tmp/header-plus-1.uniad" 1
safetensors_header_plus "$model" "$tmp/header-minus-1.uniad" -1
cp "$model" "$tmp/nan.uniad"
printf '\x00\x00\xc0\x7f' | dd of="$tmp/nan.uniad" bs=1 seek=$(($(stat -c %s "$model") - 4)) \
  conv=notrunc 2>/dev/null
mkdir "$tmp/folder.uniad"
touch "$tmp/stamp"
for bad in truncated empty text header-plus-1 header-minus-1 nan folder; do
  expect 1 "$bad.uniad" infer --model "$tmp/$bad.uniad" --weights "$weights" "$good" \
    --csv "$tmp/keep.csv"
  unchanged "$tmp/keep.csv" "$tmp/keep.copy"
done
no_leftovers "$tmp"
# Weights other than the model's (a copy with one value changed): refused by their SHA-256.
cp "$weights" "$tmp/other.safetensors"
printf '\x00\x00\x00\x00' | dd of="$tmp/other.safetensors" bs=1 \
  seek=$(($(stat -c %s "$weights") - 4)) conv=notrunc 2>/dev/null
expect 1 "other.safetensors" infer --model "$model" --weights "$tmp/other.safetensors" "$good"

# --- Backbone weights: refused with their name by check-weights and by features. ---
: >"$tmp/empty.safetensors"
safetensors_header_plus "$weights" "$tmp/header-plus-1.safetensors" 1
safetensors_header_plus "$weights" "$tmp/header-huge.safetensors" $((1 << 62))
for bad in empty header-plus-1 header-huge; do
  expect 1 "$bad.safetensors" check-weights "$tmp/$bad.safetensors" --backbone mobilenet_v2
  expect 1 "$bad.safetensors" features "$a_png" --backbone mobilenet_v2 \
    --weights "$tmp/$bad.safetensors"
done
expect 1 "cat.jpg" check-weights "$shared/golden/mobilenet_v2/cat.jpg" --backbone mobilenet_v2

# --- Datasets: a class without train/good, a wrong-size mask; no model left half written. ---
make_dataset "$tmp/nogood" 2
rm -r "$tmp/nogood/pcb/train/good"
touch "$tmp/stamp"
expect 1 "pcb has no training images: .*nogood/pcb/train/good" train --method padim \
  --data "$tmp/nogood" "${bb[@]}" --no-disk-cache --out "$tmp/nogood.uniad"
no_leftovers "$tmp"
# A class folder whose name is not UTF-8 (the model's metadata is JSON): refused by name.
mkdir -p "$tmp/latin1"
mv "$tmp/nogood/magnetic_tile" "$tmp/latin1/$(printf 'caf\xe9')"
expect 1 "caf.*: its name is not UTF-8" train --method padim --data "$tmp/latin1" "${bb[@]}" \
  --no-disk-cache --out "$tmp/latin1.uniad"
[[ ! -e $tmp/latin1.uniad ]] || fail "a model was written for a class named in Latin-1"
make_dataset "$tmp/badmask" 2
mask=$(find "$tmp/badmask/pcb/ground_truth" -name '*_mask.png' | head -1)
rm "$mask"
png 16 16 "$mask"
expect 1 "$(basename "$mask")" eval --model "$model" --weights "$weights" --data "$tmp/badmask"
expect 1 "dataset folder .*absent does not exist" train --method padim --data "$tmp/absent" \
  "${bb[@]}" --out "$tmp/absent.uniad"

# --- A checkpoint of other transformer sizes (a recipe of 1+1 layers) resumed by a run of the
# default 2+2, whose options otherwise match: refused by name, no model written. ---
small=(train --data "$data" "${bb[@]}" --batch 4 --no-disk-cache --epochs 6 --no-decoder)
interrupt "$tmp/c.uniad.checkpoint" "$tmp/c.out" "${small[@]}" --recipe fast:layers=1 \
  --checkpoint-every 1 --out "$tmp/c.uniad"
[[ $status -eq 130 ]] || fail "interrupted training: exit $status: $(cat "$tmp/c.out")"
expect 1 "c.uniad.checkpoint: the checkpoint's transformer has" "${small[@]}" --resume \
  --out "$tmp/c.uniad"
[[ -f $tmp/c.uniad.checkpoint && ! -e $tmp/c.uniad ]] || fail "resume of another size: $(ls "$tmp")"
# A model of a 16x16 feature grid, its position tensors grown to match: refused by name, not run
# past the end of the backbone's 14x14 features.
python3 - "$tmp/c.uniad.checkpoint" "$tmp/grid16.uniad" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    data = f.read()
meta = json.loads(header["__metadata__"]["uniad"])
meta["config"]["grid_h"] = meta["config"]["grid_w"] = 16
header["__metadata__"]["uniad"] = json.dumps(meta)
out = bytearray()
for name, t in header.items():
    if name == "__metadata__":
        continue
    b = data[t["data_offsets"][0]:t["data_offsets"][1]]
    rows = {14: 16, 196: 256}.get(t["shape"][0] if t["shape"] else 0)
    if rows:  # grid rows, or one row per grid position
        b = (b * 2)[:rows * len(b) // t["shape"][0]]
        t["shape"][0] = rows
    t["data_offsets"] = [len(out), len(out) + len(b)]
    out += b
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + out)
PY
expect 1 "grid16.uniad: the model reads features on a 16x16 grid" infer --model "$tmp/grid16.uniad" \
  --weights "$weights" "$good"

# --- Export targets: a folder, a read-only place (/proc refuses even root), a full disk (a
# file size limit: writes fail with EFBIG as on a full disk). Existing files stay whole. ---
mkdir "$tmp/out.csv" "$tmp/out.json"
expect 1 "cannot write .*out.csv: it is a folder" "${infer[@]}" "$good" --csv "$tmp/out.csv"
grep -Eq '^(PASS|REVIEW|FAIL) ' "$tmp/out" && fail "--csv FOLDER: inspected before refusing"
[[ ! -e $tmp/out.csv.part ]] || fail "--csv FOLDER: out.csv.part left behind"
expect 1 "out.json" eval --model "$model" --weights "$weights" --data "$data" --json "$tmp/out.json"
expect 1 "/proc/uniad-test.csv" "${infer[@]}" "$good" --csv /proc/uniad-test.csv
expect 1 "/proc/uniad-test.uniad" train --method padim --data "$data" "${bb[@]}" \
  --no-disk-cache --out /proc/uniad-test.uniad
echo "not a folder" >"$tmp/heat-file"
expect 1 "heat-file" "${infer[@]}" "$good" --heatmaps "$tmp/heat-file"
cp "$model" "$tmp/model.copy"
touch "$tmp/stamp"
# full ARGS...: uniad under a 64 KB file size limit, SIGXFSZ ignored so that write() fails.
full() {
  (trap '' XFSZ; ulimit -f 64; run 1 "$@"; echo "$failures" >"$tmp/failures")
  failures=$(cat "$tmp/failures")
  rm "$tmp/failures"
}
full train --method padim --data "$data" "${bb[@]}" --no-disk-cache --force --out "$model"
grep -q "m.uniad" "$tmp/out" || fail "full disk, model: $(cat "$tmp/out")"
unchanged "$model" "$tmp/model.copy"
full features "$a_png" "${bb[@]}" --out "$tmp/f.safetensors"
grep -q "f.safetensors" "$tmp/out" || fail "full disk, features: $(cat "$tmp/out")"
no_leftovers "$tmp"

# --- A heatmap that cannot be written is counted apart: the image was inspected. ---
mkdir -p "$tmp/heat/good/$(basename "${a_png%.*}")_heatmap.png"
expect 1 "1 heatmaps could not be written" "${infer[@]}" "$good" --heatmaps "$tmp/heat" \
  --csv "$tmp/heat.csv"
grep -q "^2 images: .* 0 could not be inspected" "$tmp/out" || fail "heatmap failure counted as an image: $(cat "$tmp/out")"
[[ $(grep -Ec '^(PASS|REVIEW|FAIL) ' "$tmp/out") -eq 2 ]] || fail "heatmap failure: $(cat "$tmp/out")"
[[ $(grep -c . "$tmp/heat.csv") -eq 3 ]] || fail "heatmap failure: CSV $(cat "$tmp/heat.csv")"
[[ $(find "$tmp/heat" -type f | wc -l) -eq 1 ]] || fail "not the other heatmap alone: $(find "$tmp/heat")"

finish "bad-input"
