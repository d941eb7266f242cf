//! The golden SQL corpus runner of Acorn (not published).
//!
//! Acorn's behaviour is pinned by `.slt` files under `tests/slt/` (design
//! `style-and-layout.md` §3.4, rule 9): SQL results, error texts, EXPLAIN output and normalised
//! task reports. This crate reads those files, runs them on an engine behind the [`SqlEngine`]
//! trait and compares, in the manner of DataFusion's `sqllogictest` — but with a small parser of
//! its own (no `sqllogictest` crate: its dependencies are not known to build for wasm32), so the
//! same corpus can later run in the browser.
//!
//! What it is not: the engine. [`engine::default_engine`] is where the runtime's `LocalCluster`
//! plugs in; this crate depends only on `msq-common`, `serde_json` and `regex-lite`.
//!
//! ```text
//!   .slt text ──parser::parse──▶ [Record] ──runner::run_script──▶ SqlEngine::execute
//!                                                 │                   │ Outcome / EngineError
//!                                                 │◀── render (rows) ─┤
//!                                                 │◀── normalize (report JSON)
//!                                                 ▼
//!                               FileSummary | [Failure]   (--complete: rewritten text)
//! ```
//!
//! # Layout
//! - [`parser`] — records (`statement ok|error`, `query`, `report`, `context`), their lines,
//!   and [`parser::to_slt`] for writing them back.
//! - [`render`] — JSON value → `.slt` text rules (NULL, `(empty)`, reals, ISO timestamps) and
//!   the type-letter check.
//! - [`normalize`] — [`normalize_report`]: placeholders for task ids, times, durations, bytes.
//! - [`engine`] — the [`SqlEngine`] seam, [`Outcome`], [`EngineError`],
//!   [`engine::default_engine`], [`engine::ClusterEngine`].
//! - [`corpus`] — the `.slt` files and `tests/data` embedded at compile time (`build.rs`) and
//!   a fetcher serving them, for the browser run `tests/wasm_corpus.rs`.
//! - [`runner`] — [`run_script`] (text, no I/O), [`run_file`]/[`run_file_with`] (a file, a
//!   fresh engine each, `--complete`), [`FileSummary`], [`Failure`].
//!
//! The test target `tests/slt.rs` walks `tests/slt/**/*.slt` of the workspace:
//! `cargo test -p msq-slt --test slt [-- [--complete] [name-filter]]`. The test target
//! `tests/wasm_corpus.rs` runs the embedded corpus on the wasm build in headless Chrome:
//! `cd crates/msq-slt && wasm-pack test --headless --chrome --test wasm_corpus`.

pub mod corpus;
pub mod engine;
pub mod normalize;
pub mod parser;
pub mod render;
pub mod runner;

pub use engine::{EngineError, Outcome, SqlEngine};
pub use normalize::normalize_report;
pub use parser::{parse, ParseError, Record, RecordKind};
pub use runner::{
    run_file, run_file_with, run_script, Failure, FileSummary, RunOptions, ScriptRun,
};
