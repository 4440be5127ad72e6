# SPDX-License-Identifier: Apache-2.0
# Sourced by the tests of the `uniad` program: skips (exit 77) without UNIAD_SHARED's material,
# makes a temporary folder ($tmp, removed on exit), and defines fail, run, make_dataset and
# interrupt.
uniad=${UNIAD_CLI:?UNIAD_CLI must name the uniad program}
shared=${UNIAD_SHARED:-../shared}
weights=$shared/weights/mobilenet_v2_1.0_224.safetensors
industrial=$shared/data/industrial
if [[ ! -f $weights || ! -d $industrial ]]; then
  echo "SKIP: shared test material is absent under $shared (set UNIAD_SHARED)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# run EXPECTED_STATUS ARGS...: runs uniad, output in $tmp/out
run() {
  local want=$1
  shift
  "$uniad" "$@" >"$tmp/out" 2>&1
  local rc=$?
  [[ $rc -eq $want ]] || fail "uniad $*: exit $rc, expected $want: $(tail -3 "$tmp/out")"
}
bb=(--backbone mobilenet_v2 --weights "$weights")

# make_dataset DIR N_TRAIN: magnetic_tile and pcb in MVTec layout, linked from the real data:
# N_TRAIN good training images per class, 2 good and 2 defective test images with masks.
make_dataset() {
  local data=$1 n_train=$2 cls f defect mask
  for cls in magnetic_tile pcb; do
    mkdir -p "$data/$cls/train/good" "$data/$cls/test/good"
    for f in $(ls "$industrial/$cls/train/good" | head -"$n_train"); do
      ln -s "$industrial/$cls/train/good/$f" "$data/$cls/train/good/$f"
    done
    for f in $(ls "$industrial/$cls/test/good" | head -2); do
      ln -s "$industrial/$cls/test/good/$f" "$data/$cls/test/good/$f"
    done
    defect=$(ls "$industrial/$cls/test" | grep -v '^good$' | head -1)
    mkdir -p "$data/$cls/test/$defect" "$data/$cls/ground_truth/$defect"
    for f in $(ls "$industrial/$cls/test/$defect" | head -2); do
      ln -s "$industrial/$cls/test/$defect/$f" "$data/$cls/test/$defect/$f"
      mask=${f%.*}_mask.png
      ln -s "$industrial/$cls/ground_truth/$defect/$mask" "$data/$cls/ground_truth/$defect/$mask"
    done
  done
}

# interrupt CHECKPOINT OUTPUT ARGS...: runs uniad ARGS (a training) in the background, output in
# OUTPUT, and when CHECKPOINT appears presses Ctrl-C twice, as an impatient user does; the exit
# status is left in $status.
interrupt() {
  local checkpoint=$1 output=$2 pid
  shift 2
  "$uniad" "$@" >"$output" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    [[ -f $checkpoint ]] && break
    sleep 0.05
  done
  kill -INT "$pid"
  sleep 0.05
  kill -INT "$pid"
  wait "$pid"
  status=$?
}

# finish: the closing line, and the exit status.
finish() {
  if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "all $1 tests passed"
}
