#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time to accuracy from the command line, on a few real industrial images: recipes, a time
# budget that includes the image decoder, continuing a finished model, the validation estimate
# with --until-plateau, and `uniad study convergence` writing its table and plots. Needs
# UNIAD_SHARED (exit 77 = skipped without it).
set -u
source "$(dirname "$0")/cli-test-lib.sh"

data=$tmp/data
make_dataset "$data" 12
train=(train --data "$data" "${bb[@]}" --batch 4 --feature-cache "$tmp/cache")

# Usage errors name what is wrong.
run 0 train --help
grep -q -- "--minutes" "$tmp/out" && grep -q -- "--continue" "$tmp/out" && grep -q "official" "$tmp/out" \
  || fail "train --help: $(cat "$tmp/out")"
run 2 "${train[@]}" --recipe nope --out "$tmp/x.uniad"
grep -q "known: fast, official" "$tmp/out" || fail "unknown recipe: $(cat "$tmp/out")"
run 2 "${train[@]}" --minutes 1 --epochs 2 --out "$tmp/x.uniad"
run 2 "${train[@]}" --validation 1.5 --out "$tmp/x.uniad"
[[ ! -e $tmp/x.uniad ]] || fail "a refused command wrote a model"

# A time budget: the transformer, then the image decoder in what is left.
run 0 "${train[@]}" --minutes 0.4 --out "$tmp/b.uniad"
grep -q "a budget of 0.4 minutes" "$tmp/out" || fail "budget: $(cat "$tmp/out")"
grep -q "validation: 4 training images held out" "$tmp/out" || fail "budget: no validation: $(cat "$tmp/out")"
grep -q "decoder: trained" "$tmp/out" || fail "budget: no decoder: $(cat "$tmp/out")"
grep -q "validation AUROC [0-9.]* with the residual distance" "$tmp/out" \
  || fail "budget: no estimate under the residual distance: $(cat "$tmp/out")"

# The model's residual Gaussians, packed in half precision: one set and one per class by
# default, the first alone with distance=mahalanobis, none for the official recipe or
# distance=l2.
residual_sets () {
  python3 - "$1" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
meta = json.loads(header["__metadata__"]["uniad"])
sets = [k for k in header if k.endswith("residual.cholesky_inverse_packed")]
assert all(header[k]["shape"] == [196, 168 * 169 // 2] and header[k]["dtype"] == "F16"
           for k in sets)
assert (meta["format"] == 4) == bool(sets) and ("residual" in meta) == bool(sets)
print(len(sets))
PY
}
[[ $(residual_sets "$tmp/b.uniad") == 3 ]] || fail "fast: not 1 + 2 sets of residual Gaussians"
run 0 "${train[@]}" --recipe fast:distance=mahalanobis --epochs 1 --no-decoder --out "$tmp/c.uniad"
[[ $(residual_sets "$tmp/c.uniad") == 1 ]] || fail "distance=mahalanobis: not one set"
run 0 "${train[@]}" --recipe fast:distance=l2 --epochs 1 --no-decoder --out "$tmp/l.uniad"
[[ $(residual_sets "$tmp/l.uniad") == 0 ]] || fail "distance=l2: residual Gaussians"
run 2 "${train[@]}" --recipe fast:distance=cosine --epochs 1 --out "$tmp/x.uniad"
grep -q "expected l2, mahalanobis or class-mahalanobis" "$tmp/out" || fail "bad distance: $(cat "$tmp/out")"
# Per-class Gaussians serve images whose class the path names: eval runs on both kinds.
run 0 eval --model "$tmp/b.uniad" --weights "$weights" --data "$data"
grep -q "residual Mahalanobis distance per class" "$tmp/out" || fail "eval: $(cat "$tmp/out")"

run 0 infer --model "$tmp/b.uniad" --weights "$weights" "$data/pcb/test" --reconstructions "$tmp/rec"
[[ $(find "$tmp/rec" -name '*_reconstruction.png' | wc -l) -eq 4 ]] || fail "budget: no reconstructions"

# Validation after each epoch, and --until-plateau ending the run before its epochs.
run 0 "${train[@]}" --epochs 40 --lr 1e-2 --until-plateau --no-decoder --out "$tmp/p.uniad"
[[ $(grep -c "validation AUROC (synthetic anomalies)" "$tmp/out") -ge 4 ]] \
  || fail "until-plateau: no estimates: $(cat "$tmp/out")"
grep -q "training ends here" "$tmp/out" || fail "until-plateau did not stop: $(tail -5 "$tmp/out")"

# The official recipe by epochs; then more training for the finished model, in place.
run 0 "${train[@]}" --recipe official --epochs 2 --no-decoder --out "$tmp/o.uniad"
grep -q "recipe official" "$tmp/out" && grep -q "trained 2 epochs" "$tmp/out" \
  || fail "official: $(cat "$tmp/out")"
[[ $(residual_sets "$tmp/o.uniad") == 0 ]] || fail "official: residual Gaussians"
run 0 "${train[@]}" --recipe official --continue "$tmp/o.uniad" --out "$tmp/o.uniad" --epochs 3
grep -q "continuing" "$tmp/out" && grep -q "trained 5 epochs" "$tmp/out" \
  || fail "continue: $(cat "$tmp/out")"
run 0 eval --model "$tmp/o.uniad" --weights "$weights" --data "$data"
run 1 train --data "$data" --classes pcb --continue "$tmp/o.uniad" --out "$tmp/o2.uniad" --epochs 1
grep -q "other classes" "$tmp/out" || fail "continue on other classes: $(cat "$tmp/out")"
run 2 "${train[@]}" --continue "$tmp/o.uniad" --resume --out "$tmp/o.uniad"

# The study: PaDiM lines, each recipe evaluated along the way, a CSV and two plots.
run 0 study convergence --data "$data" "${bb[@]}" --minutes 0.1 --eval-every 0.05 \
  --recipes fast,official:lr=3e-4 --out "$tmp/study" --feature-cache "$tmp/cache"
csv=$tmp/study/convergence.csv
head -1 "$csv" | grep -q "^recipe,minutes,epoch,loss,image_auroc,pixel_auroc,validation_auroc$" \
  || fail "study CSV header: $(head -1 "$csv")"
grep -q "^PaDiM unified,,,,[0-9.]*,[0-9.]*," "$csv" || fail "study CSV: no PaDiM line: $(cat "$csv")"
[[ $(grep -c "^fast," "$csv") -ge 2 && $(grep -c "^official:lr=3e-4," "$csv") -ge 2 ]] \
  || fail "study CSV: too few evaluations: $(cat "$csv")"
[[ $(head -c 8 "$tmp/study/convergence.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] \
  || fail "study: convergence.png is not a PNG"
grep -q "<svg" "$tmp/study/convergence.svg" || fail "study: convergence.svg is not SVG"
run 1 study convergence --data "$data" "${bb[@]}" --recipes nope --out "$tmp/study2"
grep -q "no recipe called 'nope'" "$tmp/out" || fail "study, unknown recipe: $(cat "$tmp/out")"

finish "time-to-accuracy command-line"
