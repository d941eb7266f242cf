#!/usr/bin/env bash
# Browser benchmark of issue 6: Acorn's built page (dist/) against DuckDB-Wasm, in the same
# headless Debian Chromium, on generated Wikipedia-edit-like data served from 127.0.0.1.
# Prints one table and writes target/bench-out/browser-bench.json (see tests/bench/run.mjs).
#
#   scripts/bench-browser.sh                                          # 100k and 1M rows, 3 runs
#   ACORN_BENCH_ROWS=100000 ACORN_BENCH_RUNS=3 scripts/bench-browser.sh   # quick run
#
# Needs dist/ (a `trunk build --release`; this script does not build it), node and Debian's
# chromium. npm: playwright-core comes from the root project (root node_modules, as installed by
# scripts/setup.sh; `npm ci` here if missing); DuckDB-Wasm comes from the benchmark's own project,
# tests/bench/package.json, installed here with `npm ci --prefix tests/bench` when
# tests/bench/node_modules is missing or was installed from another tests/bench/package-lock.json
# (kept out of the root package.json so CI's `npm ci` does not fetch its ~250 MB). Generates data under
# target/bench-data/ (reused when already there with the same parameters).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[bench-browser]\033[0m %s\n' "$*"; }

if [ ! -f dist/index.html ]; then
  echo "dist/ is missing: build the page first (trunk build --release, or scripts/test.sh)" >&2
  exit 2
fi
if ! command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null; then
  echo "no Chromium at ${CHROMIUM:-/usr/bin/chromium}: run scripts/setup.sh (apt-get install chromium)" >&2
  exit 2
fi
if [ ! -f node_modules/playwright-core/package.json ]; then
  log "npm ci (root: binaryen, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi
# tests/bench/node_modules is current only if it was installed from exactly the current lock file
# (npm's own node_modules/.package-lock.json is not a byte copy of it), so keep a stamp of the
# lock's hash in it; a missing package or a different hash means `npm ci` again.
bench_stamp=tests/bench/node_modules/.acorn-lock.sha256
bench_lock_hash=$(sha256sum tests/bench/package-lock.json | cut -d' ' -f1)
need_bench_npm=0
[ "$(cat "$bench_stamp" 2>/dev/null)" = "$bench_lock_hash" ] || need_bench_npm=1
for pkg in @duckdb/duckdb-wasm @malloydata/duckdb-wasm; do
  [ -f "tests/bench/node_modules/$pkg/package.json" ] || need_bench_npm=1
done
if [ "$need_bench_npm" = 1 ]; then
  log "npm ci --prefix tests/bench (@duckdb/duckdb-wasm, @malloydata/duckdb-wasm)"
  npm ci --prefix tests/bench --no-audit --no-fund --loglevel=error
  printf '%s\n' "$bench_lock_hash" > "$bench_stamp"
fi

exec node tests/bench/run.mjs
