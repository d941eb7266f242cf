#!/usr/bin/env bash
# Runs every test Acorn has, at all three levels, after installing what they need:
#   1. static checks  cargo fmt, clippy (native and wasm32), the wasm dependency line
#   2. native          cargo test --workspace (unit, integration, doc tests)
#   3. browser         wasm-pack test --headless --chrome for the crates with browser tests
#   4. end to end      trunk build --release, dist/ served on 127.0.0.1, driven in headless
#                      Chromium by tests/e2e/run.mjs the way a user drives it
# Ends with one line "N passed, N failed" over all levels (a check step counts as one test;
# a test runner's step counts its tests). Exit status is non-zero when anything failed.
#
#   scripts/test.sh            everything
#   SKIP_SETUP=1 scripts/test.sh   skip the installer (tools already present)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -z "${SKIP_SETUP:-}" ]; then
  bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
fi
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# A fresh CI clone builds everything once: incremental caches would only add gigabytes to target/.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

passed=0
failed=0
failures=()
LOG_DIR=$(mktemp -d)
started=$(date +%s)

# Engine-side crates: every crate left of the wasm line, which must not depend on browser crates.
BROWSER_CRATES='^(msq-wasm|msq-worker|msq-console)$'
mapfile -t ENGINE_CRATES < <(ls crates | grep -vE "$BROWSER_CRATES")
# Crates with wasm-bindgen-test browser tests (msq-slt: the golden corpus through the wasm build).
BROWSER_TEST_CRATES=(msq-wasm msq-console msq-slt)

banner() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }

# Adds the counts from every "test result:" / "N passed, N failed" line in a log.
count_tests() {
  python3 - "$1" <<'PY'
import re, sys
p = f = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m is None:
        m = re.match(r"^\s*(?:\w+: )?(\d+) passed, (\d+) failed", line)
    if m:
        p += int(m.group(1)); f += int(m.group(2))
print(p, f)
PY
}

# check NAME CMD...: a step that passes or fails as one.
check() {
  local name=$1; shift
  banner "$name"
  local log="$LOG_DIR/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
  local t0=$(date +%s)
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok ($(( $(date +%s) - t0 )) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); tail -n 60 "$log"; echo "FAILED ($(( $(date +%s) - t0 )) s)"
  fi
}

# suite NAME CMD...: a step whose log reports test counts; those counts are added. A runner
# that exits non-zero without reporting a failed test counts as one failure.
suite() {
  local name=$1; shift
  banner "$name"
  local log="$LOG_DIR/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
  local t0=$(date +%s) rc=0
  "$@" >"$log" 2>&1 || rc=$?
  read -r p f < <(count_tests "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  grep -E "^test .* FAILED|^test result|passed, [0-9]+ failed|^(✓|✗)" "$log" | tail -n 40
  if [ "$rc" -ne 0 ]; then failures+=("$name"); tail -n 80 "$log"; fi
  echo "$name: $p passed, $f failed ($(( $(date +%s) - t0 )) s)"
}

wasm_line() {
  local bad=0
  for c in "${ENGINE_CRATES[@]}"; do
    if cargo tree -p "$c" -e normal --target wasm32-unknown-unknown --prefix none 2>/dev/null \
        | grep -E '^(wasm-bindgen|web-sys|js-sys|gloo)' ; then
      echo "$c depends on a browser crate (see above): only msq-wasm, msq-worker and msq-console may"
      bad=1
    fi
  done
  return $bad
}

wasm_pack_tests() {
  local rc=0
  for c in "${BROWSER_TEST_CRATES[@]}"; do
    (cd "crates/$c" && wasm-pack test --headless --chrome) || rc=1
  done
  return $rc
}

e2e() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 tests/e2e/serve.py --port "$port" --dir dist --data "$ROOT/../shared/data/druid" >"$LOG_DIR/server.log" 2>&1 &
  local srv=$!
  local rc=0
  node tests/e2e/run.mjs "http://127.0.0.1:$port/" || rc=$?
  kill "$srv" 2>/dev/null
  return $rc
}

check "cargo fmt --check"                cargo fmt --all -- --check
check "clippy wasm32 (all crates)"       cargo clippy --workspace --target wasm32-unknown-unknown -- -D warnings
check "clippy native (all targets)"      cargo clippy --workspace --all-targets -- -D warnings
check "wasm dependency line"             wasm_line
suite "cargo test (native)"              cargo test --workspace
suite "wasm-pack test (headless Chrome)" wasm_pack_tests
check "trunk build --release"            trunk build --release
suite "end to end (headless Chromium)"   e2e

elapsed=$(( $(date +%s) - started ))
echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed steps: ${failures[*]}"
fi
echo "total time: ${elapsed} s; logs in $LOG_DIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
