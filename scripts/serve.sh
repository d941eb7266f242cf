#!/usr/bin/env bash
# Installs everything Acorn needs, then serves the Query view at http://127.0.0.1:8080 with
# live reload (trunk serve). Extra arguments go to trunk, e.g. `scripts/serve.sh --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
exec trunk serve "$@"
