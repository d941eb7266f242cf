//! The Acorn Web Worker binary. Trunk builds it as a classic (no-modules) worker with a
//! loader shim, `msq-worker_loader.js`, which the console's pool starts. Everything it does
//! lives in [`msq_wasm::worker::run`], so this file stays an entry point.

fn main() {
    msq_wasm::worker::run();
}
