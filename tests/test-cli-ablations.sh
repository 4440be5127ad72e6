#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The paper's experiments from the command line, on a few real images: the ablation flags of
# `uniad train` recorded in the model and reproduced by eval; the semantic protocol on a few
# CIFAR-10 images per class; the identical-shortcut study's CSV (a row per network, class set
# and checkpoint) and plots. Needs UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 6
train=(train --data "$data" "${bb[@]}" --batch 4 --feature-cache "$tmp/cache" --epochs 1 --no-decoder)

# config_of MODEL: the transformer's neighbour mask, layer-wise queries and jitter scale.
config_of () {
  python3 - "$1" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
c = json.loads(header["__metadata__"]["uniad"])["config"]
embeds = sum(k.endswith("learned_embed.weight") for k in header)
print(c["neighbour_h"], c["neighbour_w"], c["layer_queries"], c["jitter_scale"], embeds)
PY
}

run 0 "${train[@]}" --out "$tmp/u.uniad"
[[ $(config_of "$tmp/u.uniad") == "7 7 1 10 2" ]] || fail "default: $(config_of "$tmp/u.uniad")"
run 0 "${train[@]}" --mask 0 --queries 0 --jitter 0 --out "$tmp/a.uniad"
[[ $(config_of "$tmp/a.uniad") == "0 0 0 0 1" ]] || fail "ablated: $(config_of "$tmp/a.uniad")"
run 0 "${train[@]}" --recipe fast:mask=5 --out "$tmp/m.uniad"
[[ $(config_of "$tmp/m.uniad") == "5 5 1 10 2" ]] || fail "mask=5: $(config_of "$tmp/m.uniad")"
run 0 eval --model "$tmp/a.uniad" --weights "$weights" --data "$data"
grep -q "image AUROC" "$tmp/out" || fail "eval of the ablated model: $(cat "$tmp/out")"
run 2 "${train[@]}" --mask 4 --out "$tmp/x.uniad"
grep -q "'mask=4'" "$tmp/out" || fail "--mask 4: $(cat "$tmp/out")"
run 2 "${train[@]}" --queries yes --out "$tmp/x.uniad"
[[ ! -e $tmp/x.uniad ]] || fail "a refused command wrote a model"

# The semantic protocol: 3 training and 2 test images per CIFAR-10 class, one epoch per split.
cifar=$shared/data/cifar10
sem=$tmp/cifar
for part in train:3 test:2; do
  for cls in $(ls "$cifar/${part%:*}"); do
    mkdir -p "$sem/${part%:*}/$cls"
    for f in $(ls "$cifar/${part%:*}/$cls" | head -"${part#*:}"); do
      ln -s "$cifar/${part%:*}/$cls/$f" "$sem/${part%:*}/$cls/$f"
    done
  done
done
semantic=(eval --protocol semantic --data "$sem" "${bb[@]}" --epochs 1 --feature-cache "$tmp/cache")
run 0 "${semantic[@]}" --normal 0,1,2,3,4 --json "$tmp/sem.json"
grep -q "^0,1,2,3,4 *15 *20 *10 *1 .* [0-9]*\.[0-9]$" "$tmp/out" || fail "semantic: $(cat "$tmp/out")"
grep -q "^classes: 0 airplane, 1 automobile," "$tmp/out" || fail "semantic classes: $(cat "$tmp/out")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["score"]=="mean" and 0<=j["mean_image_auroc"]<=1' \
  "$tmp/sem.json" || fail "semantic JSON: $(cat "$tmp/sem.json")"
run 0 "${semantic[@]}" --splits paper
[[ $(grep -cE "^(0,1,2,3,4|5,6,7,8,9|0,2,4,6,8|1,3,5,7,9) " "$tmp/out") -eq 4 ]] && grep -q "^mean " "$tmp/out" \
  || fail "semantic paper splits: $(cat "$tmp/out")"
run 1 "${semantic[@]}" --normal 0,10
grep -q "'10' is not a new class index in 0..9" "$tmp/out" || fail "semantic, bad split: $(cat "$tmp/out")"
run 2 "${semantic[@]}" --normal 0 --splits paper
run 2 eval --data "$sem" --normal 0

# The identical-shortcut study: 4 networks x 3 checkpoints (epochs 1 and 2 of --every 1, and 3,
# the last), unified; then 4 networks x 2 classes x 1 checkpoint, one network per class.
shortcut=(study shortcut --data "$data" "${bb[@]}" --feature-cache "$tmp/cache")
run 0 "${shortcut[@]}" --epochs 3 --every 2 --out "$tmp/sc"
csv=$tmp/sc/shortcut.csv
head -1 "$csv" | grep -q "^model,classes,epoch,minutes,loss,image_auroc,pixel_auroc$" \
  || fail "shortcut CSV header: $(head -1 "$csv")"
for net in UniAD Transformer MLP CNN; do
  [[ $(grep -cE "^$net,all,[23],[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$" "$csv") -eq 2 ]] \
    || fail "shortcut CSV, $net: $(cat "$csv")"
done
[[ $(wc -l < "$csv") -eq 9 ]] || fail "shortcut CSV rows: $(cat "$csv")"
[[ $(head -c 8 "$tmp/sc/shortcut.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] \
  || fail "shortcut.png is not a PNG"
grep -q "<svg" "$tmp/sc/shortcut.svg" || fail "shortcut.svg is not SVG"
grep -qE "^pcb( +[0-9.]+){8}$" "$tmp/out" || fail "shortcut table: $(cat "$tmp/out")"
run 0 "${shortcut[@]}" --epochs 1 --separate --out "$tmp/sc2"
[[ $(grep -cE "^[A-Za-z]+,(magnetic_tile|pcb),1," "$tmp/sc2/shortcut.csv") -eq 8 ]] \
  || fail "shortcut --separate CSV: $(cat "$tmp/sc2/shortcut.csv")"
run 2 "${shortcut[@]}" --out "$tmp/sc3"

finish "paper-experiment command-line"
