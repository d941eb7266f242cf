//! Running records against a [`SqlEngine`], and `--complete`.
//!
//! [`run_script`] works on text (no filesystem: the browser runner uses it); [`run_file`] and
//! [`run_file_with`] read a file, give it a fresh engine and, in complete mode, write the
//! file back with every `query`/`report` expected block replaced by what the engine returned
//! (`statement` expectations are never rewritten: an error pattern is a human decision).

use crate::engine::{EngineError, Outcome, SqlEngine};
use crate::normalize::normalize_ids;
use crate::normalize::normalize_report;
use crate::parser::{parse, ColumnType, Record, RecordKind, SortMode};
use crate::render::{check_types, letters_for, render_row};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;

/// How to run a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Rewrite `query`/`report` expected blocks with the actual output instead of comparing.
    pub complete: bool,
}

/// What a file's run achieved when every record passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// The file's name as given.
    pub file: String,
    /// Records run (including `context` records).
    pub records: usize,
    /// Records that passed (all of them, in a successful run).
    pub passed: usize,
    /// In complete mode: `query`/`report` blocks that were rewritten because they differed.
    pub completed: usize,
}

/// One failed record: where, what ran, what was expected and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file's name as given.
    pub file: String,
    /// 1-based line of the record's header (0 when the file could not be read).
    pub line: usize,
    /// The record's SQL.
    pub sql: String,
    /// Why it failed, in one line.
    pub message: String,
    /// The expectation, as written in the file.
    pub expected: String,
    /// What the engine gave, in the same form.
    pub actual: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}: {}", self.file, self.line, self.message)?;
        if !self.sql.is_empty() {
            writeln!(f, "[SQL] {}", self.sql.replace('\n', "\n      "))?;
        }
        if !self.expected.is_empty() || !self.actual.is_empty() {
            writeln!(f, "[expected]\n{}", self.expected)?;
            write!(f, "[actual]\n{}", self.actual)?;
        }
        Ok(())
    }
}

/// The outcome of [`run_script`].
#[derive(Debug, Clone, Default)]
pub struct ScriptRun {
    /// Counts (also filled when some records failed).
    pub summary: FileSummary,
    /// The failed records, in file order.
    pub failures: Vec<Failure>,
    /// In complete mode, the rewritten text when anything changed.
    pub completed_text: Option<String>,
}

/// A replacement of lines `[start, end)` of the file by `lines`.
struct Edit {
    start: usize,
    end: usize,
    lines: Vec<String>,
}

/// Runs every record of an `.slt` text on `engine`.
///
/// # Example
/// ```
/// use msq_slt::engine::{EngineError, Outcome, SqlEngine};
/// use msq_slt::runner::{run_script, RunOptions};
/// use serde_json::{json, Map, Value};
///
/// struct One;
/// impl SqlEngine for One {
///     fn execute(&mut self, _sql: &str, _ctx: &Map<String, Value>) -> Result<Outcome, EngineError> {
///         Ok(Outcome::Rows { sql_types: vec!["BIGINT".into()], rows: vec![vec![json!(1)]] })
///     }
///     fn last_report(&self) -> Option<Value> { None }
/// }
/// let run = run_script("one.slt", "query I\nSELECT 1\n----\n1\n", &mut One, RunOptions::default());
/// assert!(run.failures.is_empty());
/// assert_eq!(run.summary.passed, 1);
/// ```
pub fn run_script(
    name: &str,
    text: &str,
    engine: &mut dyn SqlEngine,
    options: RunOptions,
) -> ScriptRun {
    let mut run = ScriptRun {
        summary: FileSummary {
            file: name.to_string(),
            ..FileSummary::default()
        },
        ..ScriptRun::default()
    };
    let records = match parse(text) {
        Ok(r) => r,
        Err(e) => {
            run.failures.push(Failure {
                file: name.to_string(),
                line: e.line,
                sql: String::new(),
                message: format!("parse error: {}", e.message),
                expected: String::new(),
                actual: String::new(),
            });
            return run;
        }
    };
    let mut context = Map::new();
    let mut edits = Vec::new();
    for record in &records {
        run.summary.records += 1;
        let fail = |message: String, expected: String, actual: String| Failure {
            file: name.to_string(),
            line: record.line,
            sql: record.sql.clone(),
            message,
            expected,
            actual,
        };
        let result = run_record(record, engine, &mut context);
        match result {
            Checked::Pass => run.summary.passed += 1,
            Checked::Fail {
                message,
                expected,
                actual,
            } => run.failures.push(fail(message, expected, actual)),
            Checked::Mismatch {
                message,
                expected,
                actual,
                edit,
            } => {
                if options.complete {
                    edits.extend(edit);
                    run.summary.passed += 1;
                    run.summary.completed += 1;
                } else {
                    run.failures.push(fail(message, expected, actual));
                }
            }
        }
    }
    if options.complete && !edits.is_empty() {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.start));
        for e in edits {
            let end = e.end.min(lines.len());
            let start = e.start.min(end);
            lines.splice(start..end, e.lines);
        }
        let mut out = lines.join("\n");
        out.push('\n');
        run.completed_text = Some(out);
    }
    run
}

enum Checked {
    Pass,
    Fail {
        message: String,
        expected: String,
        actual: String,
    },
    /// A `query`/`report` whose output differs; `edit` fixes the file in complete mode.
    Mismatch {
        message: String,
        expected: String,
        actual: String,
        edit: Vec<Edit>,
    },
}

fn fail(
    message: impl Into<String>,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Checked {
    Checked::Fail {
        message: message.into(),
        expected: expected.into(),
        actual: actual.into(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn compare_rows(sort: SortMode, expected: &[String], actual: &[String]) -> bool {
    match sort {
        SortMode::NoSort => expected == actual,
        SortMode::RowSort => sorted(expected.to_vec()) == sorted(actual.to_vec()),
        SortMode::ValueSort => {
            let split = |rows: &[String]| -> Vec<String> {
                sorted(
                    rows.iter()
                        .flat_map(|r| r.split(' ').map(str::to_string))
                        .collect(),
                )
            };
            split(expected) == split(actual)
        }
    }
}

fn header_line(types: &[ColumnType], sort: SortMode) -> String {
    let mut h = format!(
        "query {}",
        types.iter().map(|t| t.letter()).collect::<String>()
    );
    match sort {
        SortMode::NoSort => {}
        SortMode::RowSort => h.push_str(" rowsort"),
        SortMode::ValueSort => h.push_str(" valuesort"),
    }
    h
}

/// The edits that make a record's expected block read `block`.
fn block_edits(record: &Record, block: Vec<String>) -> Vec<Edit> {
    let Some((start, end)) = record.expected_span else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if !record.has_separator {
        lines.push("----".to_string());
    }
    lines.extend(block);
    vec![Edit { start, end, lines }]
}

fn run_record(
    record: &Record,
    engine: &mut dyn SqlEngine,
    context: &mut Map<String, Value>,
) -> Checked {
    match &record.kind {
        RecordKind::Context(map) => {
            for (k, v) in map {
                context.insert(k.clone(), v.clone());
            }
            Checked::Pass
        }
        RecordKind::ContextReset => {
            context.clear();
            Checked::Pass
        }
        RecordKind::StatementOk => match engine.execute(&record.sql, context) {
            Ok(_) => Checked::Pass,
            Err(e) => fail("statement failed", "ok", e.to_string()),
        },
        RecordKind::StatementError(pattern) => match engine.execute(&record.sql, context) {
            Ok(_) => fail(
                "statement succeeded, but an error was expected",
                pattern.to_string(),
                "ok",
            ),
            Err(e) if pattern.matches(&e.to_string()) => Checked::Pass,
            Err(e) => fail("error does not match", pattern.to_string(), e.to_string()),
        },
        RecordKind::Query {
            types,
            sort,
            expected,
        } => {
            let (sql_types, rows) = match engine.execute(&record.sql, context) {
                Ok(Outcome::Rows { sql_types, rows }) => (sql_types, rows),
                Ok(Outcome::Done) => {
                    return fail(
                        "query returned no result set",
                        expected.join("\n"),
                        "(done)",
                    )
                }
                Err(e) => return fail("query failed", expected.join("\n"), e.to_string()),
            };
            let type_error = check_types(types, &sql_types);
            let render_types: Vec<ColumnType> = if type_error.is_some() {
                letters_for(&sql_types)
            } else {
                types.clone()
            };
            let mut actual: Vec<String> = rows
                .iter()
                .map(|r| normalize_ids(&render_row(r, &render_types)))
                .collect();
            if *sort == SortMode::RowSort {
                actual.sort();
            }
            if type_error.is_none() && compare_rows(*sort, expected, &actual) {
                return Checked::Pass;
            }
            let mut edit = block_edits(record, actual.clone());
            let message = match &type_error {
                Some(t) => {
                    let new_types = letters_for(&sql_types);
                    edit.push(Edit {
                        start: record.line - 1,
                        end: record.line,
                        lines: vec![header_line(&new_types, *sort)],
                    });
                    format!("column types differ: {t}")
                }
                None => "query result mismatch".to_string(),
            };
            Checked::Mismatch {
                message,
                expected: expected.join("\n"),
                actual: actual.join("\n"),
                edit,
            }
        }
        RecordKind::Report { expected } => {
            let outcome: Result<Outcome, EngineError> = engine.execute(&record.sql, context);
            let Some(mut report) = engine.last_report() else {
                let got = match outcome {
                    Ok(_) => "no report".to_string(),
                    Err(e) => e.to_string(),
                };
                return fail("the engine produced no task report", expected.clone(), got);
            };
            normalize_report(&mut report);
            let actual = serde_json::to_string_pretty(&report).unwrap_or_default();
            let matches = match serde_json::from_str::<Value>(expected) {
                Ok(mut exp) => {
                    normalize_report(&mut exp);
                    exp == report
                }
                Err(_) => false,
            };
            if matches {
                return Checked::Pass;
            }
            let edit = block_edits(record, actual.lines().map(str::to_string).collect());
            Checked::Mismatch {
                message: "normalised report differs".into(),
                expected: expected.clone(),
                actual,
                edit,
            }
        }
    }
}

/// Runs one file with a fresh engine from `engine_factory` and default options.
///
/// # Errors
/// Every failed record (or one failure at line 0 if the file cannot be read).
pub fn run_file(
    path: &Path,
    engine_factory: &mut dyn FnMut() -> Box<dyn SqlEngine>,
) -> Result<FileSummary, Vec<Failure>> {
    run_file_with(path, engine_factory, RunOptions::default())
}

/// Runs one file with a fresh engine from `engine_factory`. In complete mode the file is
/// rewritten in place when any `query`/`report` block changed.
///
/// # Errors
/// Every failed record, or one failure at line 0 if the file cannot be read or written.
pub fn run_file_with(
    path: &Path,
    engine_factory: &mut dyn FnMut() -> Box<dyn SqlEngine>,
    options: RunOptions,
) -> Result<FileSummary, Vec<Failure>> {
    let name = path.display().to_string();
    let io_failure = |message: String| {
        vec![Failure {
            file: name.clone(),
            line: 0,
            sql: String::new(),
            message,
            expected: String::new(),
            actual: String::new(),
        }]
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| io_failure(format!("cannot read: {e}")))?;
    let mut engine = engine_factory();
    let run = run_script(&name, &text, engine.as_mut(), options);
    if let Some(new_text) = &run.completed_text {
        std::fs::write(path, new_text).map_err(|e| io_failure(format!("cannot write: {e}")))?;
    }
    if run.failures.is_empty() {
        Ok(run.summary)
    } else {
        Err(run.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A scripted engine: answers by SQL text, records contexts, keeps one report.
    struct Fake {
        contexts: Vec<Map<String, Value>>,
        report: Option<Value>,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                contexts: Vec::new(),
                report: None,
            }
        }
    }

    impl SqlEngine for Fake {
        fn execute(
            &mut self,
            sql: &str,
            context: &Map<String, Value>,
        ) -> Result<Outcome, EngineError> {
            self.contexts.push(context.clone());
            self.report = Some(
                json!({"multiStageQuery": {"taskId": format!("query-{}", self.contexts.len()),
                "payload": {"status": {"status": "SUCCESS", "durationMs": 7}}}}),
            );
            match sql {
                "SELECT dim1, cnt FROM foo" => Ok(Outcome::Rows {
                    sql_types: vec!["VARCHAR".into(), "BIGINT".into()],
                    rows: vec![
                        vec![json!("b"), json!(2)],
                        vec![json!(""), json!(null)],
                        vec![json!("a"), json!(1)],
                    ],
                }),
                "SELECT 1.5" => Ok(Outcome::Rows {
                    sql_types: vec!["DOUBLE".into()],
                    rows: vec![vec![json!(1.5)]],
                }),
                "INSERT INTO t SELECT 1" => Ok(Outcome::Done),
                "BAD" => {
                    self.report = None;
                    Err(EngineError::new(
                        "InvalidInput",
                        "Incorrect syntax near BAD",
                    ))
                }
                _ => Err(EngineError::new(
                    "InsertTimeNull",
                    "Null timestamp (__time) encountered",
                )),
            }
        }

        fn last_report(&self) -> Option<Value> {
            self.report.clone()
        }
    }

    fn run(text: &str) -> ScriptRun {
        run_script("t.slt", text, &mut Fake::new(), RunOptions::default())
    }

    #[test]
    fn passing_records() {
        let r = run("statement ok\nINSERT INTO t SELECT 1\n\n\
             statement error InsertTimeNull\nINSERT INTO t SELECT NULL\n\n\
             statement error /^InvalidInput: .*BAD$/\nBAD\n\n\
             statement error\nBAD\n\n\
             query TI rowsort\nSELECT dim1, cnt FROM foo\n----\n(empty) NULL\na 1\nb 2\n\n\
             query TI valuesort\nSELECT dim1, cnt FROM foo\n----\n1 2 a\nb NULL (empty)\n\n\
             query R\nSELECT 1.5\n----\n1.5\n\n\
             report\nSELECT 1.5\n----\n{\"multiStageQuery\": {\"taskId\": \"<taskId>\", \"payload\": {\"status\": {\"status\": \"SUCCESS\", \"durationMs\": \"__DURATION__\"}}}}\n");
        assert!(run_ok(&r), "{:?}", r.failures);
        assert_eq!(r.summary.records, 8);
        assert_eq!(r.summary.passed, 8);
    }

    fn run_ok(r: &ScriptRun) -> bool {
        r.failures.is_empty()
    }

    #[test]
    fn mismatches_report_line_expected_and_actual() {
        let r = run(
            "\n# header\nquery TI\nSELECT dim1, cnt FROM foo\n----\na 1\n\n\
             query II\nSELECT dim1, cnt FROM foo\n----\n\n\
             statement ok\nINSERT INTO t SELECT NULL\n\n\
             statement error Canceled\nINSERT INTO t SELECT NULL\n\n\
             statement error InsertTimeNull\nINSERT INTO t SELECT 1\n\n\
             query I\nINSERT INTO t SELECT 1\n\n\
             report\nBAD\n----\n{}\n",
        );
        let lines: Vec<usize> = r.failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![3, 8, 12, 15, 18, 21, 24]);
        let f = &r.failures[0];
        assert_eq!(f.message, "query result mismatch");
        assert_eq!(f.expected, "a 1");
        assert_eq!(f.actual, "b 2\n(empty) NULL\na 1");
        assert!(f
            .to_string()
            .starts_with("t.slt:3: query result mismatch\n[SQL] SELECT dim1"));
        assert!(
            r.failures[1].message.contains("column 1 is VARCHAR"),
            "{}",
            r.failures[1].message
        );
        assert_eq!(
            r.failures[2].actual,
            "InsertTimeNull: Null timestamp (__time) encountered"
        );
        assert_eq!(r.failures[3].message, "error does not match");
        assert_eq!(
            r.failures[4].message,
            "statement succeeded, but an error was expected"
        );
        assert_eq!(r.failures[5].message, "query returned no result set");
        assert_eq!(
            r.failures[6].actual,
            "InvalidInput: Incorrect syntax near BAD"
        );
        assert_eq!(r.summary.passed, 0);
    }

    #[test]
    fn context_records_merge_and_reset() {
        let mut engine = Fake::new();
        let text = "context {\"maxNumTasks\": 3}\n\nstatement ok\nINSERT INTO t SELECT 1\n\n\
                    context {\"rowsPerSegment\": 2, \"maxNumTasks\": 4}\n\nstatement ok\nINSERT INTO t SELECT 1\n\n\
                    context reset\n\nstatement ok\nINSERT INTO t SELECT 1\n";
        let r = run_script("c.slt", text, &mut engine, RunOptions::default());
        assert!(r.failures.is_empty());
        assert_eq!(
            engine.contexts[0],
            json!({"maxNumTasks": 3}).as_object().cloned().unwrap()
        );
        assert_eq!(
            engine.contexts[1],
            json!({"maxNumTasks": 4, "rowsPerSegment": 2})
                .as_object()
                .cloned()
                .unwrap()
        );
        assert!(engine.contexts[2].is_empty());
    }

    #[test]
    fn parse_errors_are_failures() {
        let r = run("statement ok\nSELECT 1\n\nbogus\n");
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].line, 4);
        assert!(r.failures[0].message.starts_with("parse error"));
    }

    #[test]
    fn complete_rewrites_query_and_report_blocks_only() {
        let text = "# keep me\nquery TI rowsort\nSELECT dim1, cnt FROM foo\n----\nstale 0\n\n\
                    query T\nSELECT 1.5\n\n\
                    statement error WrongCode\nINSERT INTO t SELECT NULL\n\n\
                    report\nINSERT INTO t SELECT 1\n----\n{}\n";
        let dir = std::env::temp_dir().join(format!("msq-slt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("complete.slt");
        std::fs::write(&path, text).unwrap();
        let mut factory = || -> Box<dyn SqlEngine> { Box::new(Fake::new()) };
        let res = run_file_with(&path, &mut factory, RunOptions { complete: true });
        // The statement error expectation is not rewritten, so it still fails.
        let failures = res.unwrap_err();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].line, 10);
        let new_text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            new_text,
            "# keep me\nquery TI rowsort\nSELECT dim1, cnt FROM foo\n----\n(empty) NULL\na 1\nb 2\n\n\
             query R\nSELECT 1.5\n----\n1.5\n\n\
             statement error WrongCode\nINSERT INTO t SELECT NULL\n\n\
             report\nINSERT INTO t SELECT 1\n----\n{\n  \"multiStageQuery\": {\n    \"taskId\": \"<taskId>\",\n    \
             \"payload\": {\n      \"status\": {\n        \"status\": \"SUCCESS\",\n        \"durationMs\": \"__DURATION__\"\n      }\n    }\n  }\n}\n"
        );
        // The completed file now passes (but for the hand-written error pattern).
        let again = run_file(&path, &mut factory).unwrap_err();
        assert_eq!(again.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_file_is_a_line_zero_failure() {
        let mut factory = || -> Box<dyn SqlEngine> { Box::new(Fake::new()) };
        let f = run_file(Path::new("/nonexistent/x.slt"), &mut factory).unwrap_err();
        assert_eq!(f[0].line, 0);
        assert!(f[0].message.starts_with("cannot read"));
    }
}
