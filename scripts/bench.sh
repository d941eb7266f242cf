#!/usr/bin/env bash
# Native engine benchmark (issue 4): rows/s for NDJSON ingest and GROUP BY with 1, 2 and 4 workers.
# ACORN_BENCH_ROWS=100000 scripts/bench.sh for a quicker run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p msq-runtime --bench engine
