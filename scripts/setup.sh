#!/usr/bin/env bash
# Installs everything Acorn needs to build, serve and test, on a Debian machine whose only
# network is the package registries (crates.io, Debian, npm). Safe to rerun: each step checks
# first and does nothing when the tool is already there at the pinned version.
#
# Pins (see ../shared/toolchain.md for why each one is what it is):
#   trunk 0.21.14            (0.22 needs rustc >= 1.96.1)
#   wasm-bindgen-cli 0.2.130 (must equal wasm-bindgen in Cargo.lock; installed without --locked)
#   wasm-pack 0.15.1
#   binaryen 132 from npm    (Debian's wasm-opt 108 breaks release builds)
#   playwright-core 1.65.1   (drives Debian's /usr/bin/chromium; never downloads a browser)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
WASM_PACK_VERSION=0.15.1

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "apt: chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  rustup component list --installed | grep -q "^$comp" || rustup component add "$comp"
done

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if ! wasm-pack --version 2>/dev/null | grep -q " $WASM_PACK_VERSION"; then
  log "cargo install wasm-pack $WASM_PACK_VERSION"
  cargo install --locked wasm-pack --version "$WASM_PACK_VERSION" --force
fi
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  log "cargo install trunk $TRUNK_VERSION"
  cargo install --locked trunk --version "$TRUNK_VERSION" --force
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  log "npm ci (binaryen, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "toolchain ready"
