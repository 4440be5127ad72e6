#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tests scripts/fetch-weights against a local HTTP server (tests/range-server.py): a fresh
# download, resuming a half-written .part with a 206, starting over when the server cannot
# resume, a server that is down, the check deciding whether the file is kept (with a stand-in
# checker, and with the real `uniad check-weights` once $UNIAD_CLI has that command).
#
# Usage: test-fetch-weights.sh FETCH_WEIGHTS RANGE_SERVER   (exit 77 = skipped)
set -u

fetch=${1:?usage: test-fetch-weights.sh FETCH_WEIGHTS RANGE_SERVER}
range_server=${2:?usage: test-fetch-weights.sh FETCH_WEIGHTS RANGE_SERVER}
for tool in curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done

tmp=$(mktemp -d)
server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
  fi
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Served files: a small valid safetensors file and a text file that is not one.
mkdir -p "$tmp/www"
python3 - "$tmp/www/model.safetensors" <<'EOF' || exit 1
import json, struct, sys
tensors = [("conv_stem.weight", [48, 3, 3, 3]), ("bn1.weight", [48]), ("classifier.weight", [10, 1792])]
header, data = {"__metadata__": {"format": "pt"}}, b""
for name, shape in tensors:
    n = 1
    for d in shape:
        n *= d
    values = struct.pack("<%df" % n, *[(i % 97) / 97.0 for i in range(n)])
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(values)]}
    data += values
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
EOF
printf '<html><body>Repository not found</body></html>\n' >"$tmp/www/broken.safetensors"
source=$tmp/www/model.safetensors
size=$(stat -c %s "$source")

# Starts the server on a free port (extra arguments go to range-server.py); sets $base.
start_server() {
  rm -f "$tmp/port"
  python3 "$range_server" --dir "$tmp/www" --port-file "$tmp/port" "$@" 2>>"$tmp/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    [[ -s $tmp/port ]] && break
    sleep 0.05
  done
  [[ -s $tmp/port ]] || { echo "the test server did not start"; exit 1; }
  base=http://127.0.0.1:$(cat "$tmp/port")
}

# Runs fetch-weights with the given arguments, output in $tmp/out; sets $rc.
run_fetch() {
  rc=0
  bash "$fetch" "$@" >"$tmp/out" 2>&1 || rc=$?
}

start_server

# Fresh download into a folder that does not exist yet.
dest=$tmp/data/weights/b4.safetensors
run_fetch --no-check --url "$base/model.safetensors" --dest "$dest"
[[ $rc -eq 0 ]] || fail "fresh download: exit $rc: $(cat "$tmp/out")"
cmp -s "$source" "$dest" || fail "fresh download: the file differs from the served one"
[[ ! -e $dest.part ]] || fail "fresh download: $dest.part left behind"

# An existing file is kept unless --force.
run_fetch --no-check --url "$base/missing" --dest "$dest"
[[ $rc -eq 0 ]] && grep -q "already there" "$tmp/out" || fail "existing file: exit $rc: $(cat "$tmp/out")"
cmp -s "$source" "$dest" || fail "existing file: it was changed"

# Resume from a half-written part: one range request, answered with 206.
dest=$tmp/resume/b4.safetensors
mkdir -p "$tmp/resume"
half=$((size / 2))
head -c "$half" "$source" >"$dest.part"
: >"$tmp/server.log"
run_fetch --no-check --url "$base/model.safetensors" --dest "$dest"
[[ $rc -eq 0 ]] || fail "resume: exit $rc: $(cat "$tmp/out")"
cmp -s "$source" "$dest" || fail "resume: the file differs from the served one"
grep -q "range=bytes=$half- status=206" "$tmp/server.log" \
  || fail "resume: no 206 answer to a range request from byte $half: $(cat "$tmp/server.log")"
[[ $(grep -c "^GET" "$tmp/server.log") -eq 1 ]] || fail "resume: not exactly one request: $(cat "$tmp/server.log")"

# --force downloads again; a complete leftover part (416 to the range request) starts over.
cp "$source" "$dest.part"
run_fetch --no-check --force --url "$base/model.safetensors" --dest "$dest"
[[ $rc -eq 0 ]] && grep -q "starting over" "$tmp/out" || fail "complete part: exit $rc: $(cat "$tmp/out")"
cmp -s "$source" "$dest" || fail "complete part: the file differs from the served one"

# A server that ignores ranges: the part is dropped and the download starts over.
stop_server
start_server --no-ranges
dest=$tmp/norange/b4.safetensors
mkdir -p "$tmp/norange"
head -c "$half" "$source" >"$dest.part"
run_fetch --no-check --url "$base/model.safetensors" --dest "$dest"
[[ $rc -eq 0 ]] && grep -q "starting over" "$tmp/out" || fail "no ranges: exit $rc: $(cat "$tmp/out")"
cmp -s "$source" "$dest" || fail "no ranges: the file differs from the served one"

# Missing on the server: a clear failure and nothing saved.
dest=$tmp/notfound/b4.safetensors
run_fetch --no-check --url "$base/nothing-here" --dest "$dest"
[[ $rc -ne 0 ]] && grep -q "HTTP status 404" "$tmp/out" || fail "404: exit $rc: $(cat "$tmp/out")"
[[ ! -e $dest && ! -e $dest.part ]] || fail "404: a file was left"

# Server down: a clear failure, the part kept for a later resume, nothing at the destination.
stop_server
dest=$tmp/down/b4.safetensors
mkdir -p "$tmp/down"
head -c "$half" "$source" >"$dest.part"
run_fetch --no-check --url "$base/model.safetensors" --dest "$dest"
[[ $rc -ne 0 ]] || fail "server down: exit 0"
grep -q "failed.*run again to resume" "$tmp/out" || fail "server down: unclear message: $(cat "$tmp/out")"
[[ ! -e $dest ]] || fail "server down: $dest exists"
[[ $(stat -c %s "$dest.part") -eq $half ]] || fail "server down: the part was changed"
start_server

# The check decides, shown with a stand-in checker that records how it was called.
cat >"$tmp/fake-uniad" <<EOF
#!/usr/bin/env bash
echo "\$*" >"$tmp/fake-args"
exec cmp -s "\$2" "$source"
EOF
chmod +x "$tmp/fake-uniad"
dest=$tmp/fake/good.safetensors
UNIAD_CLI=$tmp/fake-uniad run_fetch --url "$base/model.safetensors" --dest "$dest"
[[ $rc -eq 0 ]] || fail "accepted by the check: exit $rc: $(cat "$tmp/out")"
[[ $(cat "$tmp/fake-args" 2>/dev/null) == "check-weights $dest.part --backbone efficientnet_b4" ]] \
  || fail "the checker was called as: $(cat "$tmp/fake-args" 2>/dev/null)"
cmp -s "$source" "$dest" || fail "accepted by the check: the file differs"
dest=$tmp/fake/broken.safetensors
UNIAD_CLI=$tmp/fake-uniad run_fetch --url "$base/broken.safetensors" --dest "$dest"
[[ $rc -ne 0 ]] && grep -q "not usable" "$tmp/out" || fail "refused by the check: exit $rc: $(cat "$tmp/out")"
[[ ! -e $dest && ! -e $dest.part ]] || fail "refused by the check: a file was left"

# No checker: refused before downloading anything.
: >"$tmp/server.log"
dest=$tmp/nochecker/b4.safetensors
UNIAD_CLI=$tmp/no-such-program run_fetch --url "$base/model.safetensors" --dest "$dest"
[[ $rc -ne 0 ]] && grep -q "cannot check" "$tmp/out" || fail "no checker: exit $rc: $(cat "$tmp/out")"
[[ ! -s $tmp/server.log && ! -e $dest ]] || fail "no checker: something was downloaded"

# The real check: `uniad check-weights` refuses a text file and, when the shared material is
# there, accepts real EfficientNet-b4 weights (UniAD's blocks 0-21 in the original naming).
if [[ -x ${UNIAD_CLI:-} ]]; then
  dest=$tmp/real/broken.safetensors
  run_fetch --url "$base/broken.safetensors" --dest "$dest"
  [[ $rc -ne 0 ]] || fail "uniad check-weights accepted a text file: $(cat "$tmp/out")"
  [[ ! -e $dest && ! -e $dest.part ]] || fail "real check: a refused file was left"
  golden=${UNIAD_SHARED:-../shared}/golden/uniad/weights.safetensors
  if [[ -f $golden ]]; then
    ln -s "$(realpath "$golden")" "$tmp/www/b4.safetensors"
    dest=$tmp/real/b4.safetensors
    run_fetch --url "$base/b4.safetensors" --dest "$dest"
    [[ $rc -eq 0 ]] || fail "real check refused EfficientNet-b4 weights: $(cat "$tmp/out")"
    cmp -s "$golden" "$dest" || fail "real check: the kept file differs from the served one"
  else
    echo "note: $golden is absent; the real check was run on a refused file only"
  fi
  echo "ran the transfer tests and the real check"
else
  echo "FAIL: UNIAD_CLI (${UNIAD_CLI:-unset}) is not the uniad program"
  failures=$((failures + 1))
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all fetch-weights tests passed"
