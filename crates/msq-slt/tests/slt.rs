//! The golden corpus: runs every `tests/slt/**/*.slt` of the workspace on
//! [`msq_slt::engine::default_engine`], each file on a fresh engine.
//!
//! `cargo test -p msq-slt --test slt -- [--complete] [filter]`: `--complete` rewrites the
//! `query`/`report` expected blocks in place; `filter` keeps files whose path contains it.
//! Without an engine (until `msq-runtime` provides one) it checks that every file parses and
//! skips the run. Ends with `N records passed, M failed`; exits non-zero on any failure.

use msq_slt::runner::{run_script, RunOptions};
use msq_slt::SqlEngine;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

/// Stage hosts of the corpus's second run: more than the default two workers, so some stages
/// run fewer workers than hosts and others share one.
const REMOTE_HOSTS: u32 = 3;

/// Makes a fresh engine for each file.
type EngineFactory = dyn Fn() -> Box<dyn SqlEngine>;

fn main() -> ExitCode {
    let mut complete = false;
    let mut filter: Option<String> = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--complete" => complete = true,
            a if a.starts_with('-') => {} // libtest flags passed by `cargo test` (e.g. --nocapture)
            a => filter = Some(a.to_string()),
        }
    }
    // Run from the workspace root: failures then name `tests/slt/<area>/<file>.slt:<line>`, and
    // the `local` input source's relative paths (`tests/data/...`) resolve as in the corpus.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!(
            "slt: cannot enter the workspace root {}: {e}",
            root.display()
        );
        return ExitCode::FAILURE;
    }
    let slt_dir = PathBuf::from("tests/slt");
    let mut files = Vec::new();
    collect(&slt_dir, &mut files);
    files.sort();
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|p| {
            filter
                .as_deref()
                .is_none_or(|f| p.to_string_lossy().contains(f))
        })
        .collect();

    // Every file must parse, engine or not.
    let mut parse_failed = 0usize;
    let mut records = 0usize;
    for f in &files {
        match std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|text| msq_slt::parser::parse(&text).map_err(|e| e.to_string()))
        {
            Ok(parsed) => records += parsed.len(),
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                parse_failed += 1;
            }
        }
    }
    if msq_slt::engine::default_engine().is_none() {
        println!(
            "slt: no engine on this target; {} files ({records} records) parsed, run skipped",
            files.len()
        );
        println!("0 records passed, {parse_failed} failed");
        return if parse_failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let mut passed = 0usize;
    let mut failed = parse_failed;
    // The corpus runs twice: workers as futures beside the controller, then workers on three
    // stage hosts reached only through the remote protocol (as the browser's Web Workers are:
    // work orders, events, frames and segments all cross it, serialised).
    let local = || -> Box<dyn SqlEngine> {
        match msq_slt::engine::default_engine() {
            Some(e) => e,
            None => unreachable_engine(),
        }
    };
    let remote = || -> Box<dyn SqlEngine> {
        match msq_slt::engine::remote_engine(REMOTE_HOSTS) {
            Some(e) => e,
            None => unreachable_engine(),
        }
    };
    let modes: [(&str, &EngineFactory); 2] = [("local workers", &local), ("remote hosts", &remote)];
    for (mode, factory) in modes {
        let (passed_before, failed_before) = (passed, failed);
        for f in &files {
            let text = match std::fs::read_to_string(f) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("{}: cannot read: {e}", f.display());
                    failed += 1;
                    continue;
                }
            };
            let mut engine = factory();
            let name = f.display().to_string();
            let run = run_script(&name, &text, engine.as_mut(), RunOptions { complete });
            if let Some(new_text) = &run.completed_text {
                if let Err(e) = std::fs::write(f, new_text) {
                    eprintln!("{name}: cannot write: {e}");
                    failed += 1;
                }
            }
            passed += run.summary.passed;
            failed += run.failures.len();
            for failure in run.failures {
                eprintln!("[{mode}] {failure}\n");
            }
        }
        println!(
            "slt ({mode}): {} passed, {} failed",
            passed - passed_before,
            failed - failed_before
        );
    }
    // The last line is the one scripts/test.sh counts ("N passed, N failed").
    println!("slt: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// An engine whose every statement fails: only reachable if `default_engine` stops returning
/// an engine between two files.
fn unreachable_engine() -> Box<dyn SqlEngine> {
    struct NoEngine;
    impl SqlEngine for NoEngine {
        fn execute(
            &mut self,
            _sql: &str,
            _context: &serde_json::Map<String, serde_json::Value>,
        ) -> Result<msq_slt::Outcome, msq_slt::EngineError> {
            Err(msq_slt::EngineError::new("UnknownError", "no engine"))
        }
        fn last_report(&self) -> Option<serde_json::Value> {
            None
        }
    }
    Box::new(NoEngine)
}
