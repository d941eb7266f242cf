//! The `.slt` parser: text in, [`Record`]s out, no filesystem.
//!
//! The format is the subset of sqllogictest that DataFusion documents
//! (`datafusion/sqllogictest/README.md`, design `style-and-layout.md` §3.4), plus two records of
//! ours (`context` and `report`):
//!
//! ```text
//! # a comment line (outside records)
//! statement ok
//! INSERT INTO t SELECT ...          -- SQL runs until a blank line
//!
//! statement error <substring or /regex/ of "ErrorCode: message">
//! SELECT ...
//!
//! query TIRBD [rowsort|valuesort]   -- one type letter per column
//! SELECT ...
//! ----
//! a 1 2.5 true 2016-06-27T00:00:00.000Z
//!
//! context {"maxNumTasks": 3}        -- merged into the context of the following records
//! context reset                     -- clears it
//!
//! report
//! INSERT INTO ...
//! ----
//! { normalised task report JSON }
//! ```
//!
//! `query error <pattern>` is accepted as a synonym of `statement error` (DataFusion writes both).
//! Inside SQL, lines starting with `#` are comments and are dropped; inside an expected block
//! they are data (a value may start with `#`, e.g. `#en.wikipedia`). Every record remembers the
//! 1-based line of its header and the line span of its expected block, so `--complete` can
//! rewrite exactly that span.

use serde_json::{Map, Value};
use std::fmt;

/// A column type letter of a `query` record, checked against the engine's SQL type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `T`: text (`VARCHAR`, `CHAR`, and Druid's `OTHER` for complex values).
    Text,
    /// `I`: integer (`BIGINT`, `INTEGER`, `SMALLINT`, `TINYINT`).
    Integer,
    /// `R`: real (`DOUBLE`, `FLOAT`, `REAL`, `DECIMAL`).
    Real,
    /// `B`: boolean (`BOOLEAN`).
    Boolean,
    /// `D`: timestamp (`TIMESTAMP`, `DATE`), rendered as ISO-8601 UTC with milliseconds.
    Timestamp,
    /// `?`: any type (no check); values are rendered by their JSON kind.
    Any,
}

impl ColumnType {
    /// The letter for this type as written in a `query` header.
    pub fn letter(self) -> char {
        match self {
            ColumnType::Text => 'T',
            ColumnType::Integer => 'I',
            ColumnType::Real => 'R',
            ColumnType::Boolean => 'B',
            ColumnType::Timestamp => 'D',
            ColumnType::Any => '?',
        }
    }

    /// Parses one type letter.
    pub fn from_letter(c: char) -> Option<Self> {
        Some(match c {
            'T' => ColumnType::Text,
            'I' => ColumnType::Integer,
            'R' => ColumnType::Real,
            'B' => ColumnType::Boolean,
            'D' => ColumnType::Timestamp,
            '?' => ColumnType::Any,
            _ => return None,
        })
    }

    /// The letter that describes a Druid SQL type name (`sqlTypeNames` of a report), or `None`
    /// for a type no letter covers. Matching ignores case and any `(precision)` suffix.
    pub fn for_sql_type(sql_type: &str) -> Option<Self> {
        let base = sql_type
            .split(['(', ' '])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        Some(match base.as_str() {
            "VARCHAR" | "CHAR" | "OTHER" | "COMPLEX" => ColumnType::Text,
            "BIGINT" | "INTEGER" | "SMALLINT" | "TINYINT" => ColumnType::Integer,
            "DOUBLE" | "FLOAT" | "REAL" | "DECIMAL" => ColumnType::Real,
            "BOOLEAN" => ColumnType::Boolean,
            "TIMESTAMP" | "DATE" => ColumnType::Timestamp,
            _ => return None,
        })
    }
}

/// How a `query` record orders its rows before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortMode {
    /// Rows are compared in the order the engine returns them (use with `ORDER BY`).
    #[default]
    NoSort,
    /// Rendered rows are sorted as strings on both sides before comparing.
    RowSort,
    /// All values are split out of their rows and sorted before comparing.
    ValueSort,
}

impl SortMode {
    fn keyword(self) -> Option<&'static str> {
        match self {
            SortMode::NoSort => None,
            SortMode::RowSort => Some("rowsort"),
            SortMode::ValueSort => Some("valuesort"),
        }
    }
}

/// What a `statement error` record expects of the error text `"<code>: <message>"`.
#[derive(Debug, Clone)]
pub enum ErrorPattern {
    /// Any error passes (the header had no pattern).
    Any,
    /// The error text must contain this substring.
    Substring(String),
    /// The error text must match this regular expression (written `/re/`).
    Regex(regex_lite::Regex),
}

impl ErrorPattern {
    /// Parses the text after `statement error`: empty → [`ErrorPattern::Any`], `/re/` →
    /// [`ErrorPattern::Regex`], anything else → [`ErrorPattern::Substring`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(ErrorPattern::Any);
        }
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            let re = &text[1..text.len() - 1];
            return regex_lite::Regex::new(re)
                .map(ErrorPattern::Regex)
                .map_err(|e| format!("invalid error regex /{re}/: {e}"));
        }
        Ok(ErrorPattern::Substring(text.to_string()))
    }

    /// Whether an error text satisfies the pattern.
    pub fn matches(&self, error_text: &str) -> bool {
        match self {
            ErrorPattern::Any => true,
            ErrorPattern::Substring(s) => error_text.contains(s.as_str()),
            ErrorPattern::Regex(re) => re.is_match(error_text),
        }
    }
}

impl fmt::Display for ErrorPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorPattern::Any => Ok(()),
            ErrorPattern::Substring(s) => f.write_str(s),
            ErrorPattern::Regex(re) => write!(f, "/{}/", re.as_str()),
        }
    }
}

/// The kind of one record and what it expects.
#[derive(Debug, Clone)]
pub enum RecordKind {
    /// `statement ok`: the SQL must succeed.
    StatementOk,
    /// `statement error <pattern>` (or `query error <pattern>`): the SQL must fail and the text
    /// `"<code>: <message>"` must match.
    StatementError(ErrorPattern),
    /// `query <letters> [sort]`: the SQL must return rows of these column types equal to the
    /// expected lines.
    Query {
        /// One letter per column.
        types: Vec<ColumnType>,
        /// Ordering before comparison.
        sort: SortMode,
        /// Expected rows, one rendered row per line.
        expected: Vec<String>,
    },
    /// `report`: after running the SQL (success or failure) the engine's normalised task
    /// report must equal the expected JSON.
    Report {
        /// Expected JSON text (lines after `----`).
        expected: String,
    },
    /// `context {json}`: merge an object into the file's context.
    Context(Map<String, Value>),
    /// `context reset`: clear the file's context.
    ContextReset,
}

/// One parsed record.
#[derive(Debug, Clone)]
pub struct Record {
    /// 1-based line of the record's header.
    pub line: usize,
    /// The SQL text (empty for `context` records), lines joined with `\n`.
    pub sql: String,
    /// What the record is and expects.
    pub kind: RecordKind,
    /// For `query`/`report`: 0-based line range `[start, end)` of the expected block (the lines
    /// after `----`), or where it would be inserted when the record has no `----` yet.
    pub expected_span: Option<(usize, usize)>,
    /// Whether the record had a `----` separator line.
    pub has_separator: bool,
}

/// A syntax error in an `.slt` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the offending text.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Parses a whole `.slt` text into records.
///
/// # Errors
/// A [`ParseError`] naming the line of an unknown record header, a bad type letter, an invalid
/// `context` JSON object or `/regex/`, or a record without SQL.
///
/// # Example
/// ```
/// use msq_slt::parser::{parse, RecordKind, SortMode};
/// let records = parse("query TI rowsort\nSELECT dim1, cnt FROM foo\n----\na 1\n").unwrap();
/// assert_eq!(records.len(), 1);
/// match &records[0].kind {
///     RecordKind::Query { types, sort, expected } => {
///         assert_eq!(types.len(), 2);
///         assert_eq!(*sort, SortMode::RowSort);
///         assert_eq!(expected, &vec!["a 1".to_string()]);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse(text: &str) -> Result<Vec<Record>, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if is_blank(line) || line.trim_start().starts_with('#') {
            i += 1;
            continue;
        }
        let header_line = i + 1;
        let err = |message: String| ParseError {
            line: header_line,
            message,
        };
        let mut words = line.split_whitespace();
        let head = words.next().unwrap_or_default();
        match head {
            "context" => {
                let rest = line.trim_start()["context".len()..].trim();
                let kind = if rest == "reset" {
                    RecordKind::ContextReset
                } else {
                    match serde_json::from_str::<Value>(rest) {
                        Ok(Value::Object(map)) => RecordKind::Context(map),
                        Ok(_) => return Err(err("context expects a JSON object".into())),
                        Err(e) => return Err(err(format!("invalid context JSON: {e}"))),
                    }
                };
                records.push(Record {
                    line: header_line,
                    sql: String::new(),
                    kind,
                    expected_span: None,
                    has_separator: false,
                });
                i += 1;
            }
            "statement" | "query" | "report" => {
                let second = words.next().unwrap_or_default();
                let rest_after = |w: &str| -> String {
                    let t = line.trim_start();
                    let after_head = t[head.len()..].trim_start();
                    after_head[w.len()..].trim().to_string()
                };
                let mut kind = match (head, second) {
                    ("statement", "ok") => RecordKind::StatementOk,
                    ("statement", "error") | ("query", "error") => RecordKind::StatementError(
                        ErrorPattern::parse(&rest_after("error")).map_err(err)?,
                    ),
                    ("statement", other) => {
                        return Err(err(format!(
                            "expected `statement ok` or `statement error`, got `{other}`"
                        )))
                    }
                    ("query", letters) => {
                        if letters.is_empty() {
                            return Err(err("`query` needs column type letters".into()));
                        }
                        let types = letters
                            .chars()
                            .map(|c| {
                                ColumnType::from_letter(c).ok_or_else(|| {
                                    err(format!(
                                        "unknown column type letter `{c}` (use T, I, R, B, D or ?)"
                                    ))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        let sort = match words.next() {
                            None => SortMode::NoSort,
                            Some("rowsort") => SortMode::RowSort,
                            Some("valuesort") => SortMode::ValueSort,
                            Some(other) => return Err(err(format!("unknown sort mode `{other}`"))),
                        };
                        RecordKind::Query {
                            types,
                            sort,
                            expected: Vec::new(),
                        }
                    }
                    ("report", "") => RecordKind::Report {
                        expected: String::new(),
                    },
                    _ => return Err(err(format!("unexpected text after `report`: `{second}`"))),
                };
                let wants_results =
                    matches!(kind, RecordKind::Query { .. } | RecordKind::Report { .. });
                i += 1;
                let mut sql_lines = Vec::new();
                let mut has_separator = false;
                while i < lines.len() && !is_blank(lines[i]) {
                    let l = lines[i].trim_end();
                    if wants_results && l == "----" {
                        has_separator = true;
                        i += 1;
                        break;
                    }
                    if !l.trim_start().starts_with('#') {
                        sql_lines.push(l);
                    }
                    i += 1;
                }
                if sql_lines.is_empty() {
                    return Err(err(format!("`{head}` record without SQL")));
                }
                let mut expected_span = None;
                if wants_results {
                    let start = i;
                    let mut block = Vec::new();
                    if has_separator {
                        while i < lines.len() && !is_blank(lines[i]) {
                            block.push(lines[i].trim_end().to_string());
                            i += 1;
                        }
                    }
                    expected_span = Some((start, i));
                    match &mut kind {
                        RecordKind::Query { expected, .. } => *expected = block,
                        RecordKind::Report { expected } => *expected = block.join("\n"),
                        _ => {}
                    }
                }
                records.push(Record {
                    line: header_line,
                    sql: sql_lines.join("\n"),
                    kind,
                    expected_span,
                    has_separator,
                });
            }
            other => return Err(err(format!("unknown record type `{other}`"))),
        }
    }
    Ok(records)
}

/// Writes a record back as `.slt` text (header, SQL, and for `query`/`report` the separator
/// and expected block), ending with a newline. `parse(&to_slt(r))` gives back an equal record;
/// the runner's `--complete` mode uses the same header shapes.
pub fn to_slt(record: &Record) -> String {
    let mut out = String::new();
    match &record.kind {
        RecordKind::Context(map) => {
            out.push_str("context ");
            out.push_str(&Value::Object(map.clone()).to_string());
            out.push('\n');
            return out;
        }
        RecordKind::ContextReset => return "context reset\n".to_string(),
        RecordKind::StatementOk => out.push_str("statement ok\n"),
        RecordKind::StatementError(p) => {
            let p = p.to_string();
            if p.is_empty() {
                out.push_str("statement error\n");
            } else {
                out.push_str(&format!("statement error {p}\n"));
            }
        }
        RecordKind::Query { types, sort, .. } => {
            out.push_str("query ");
            out.extend(types.iter().map(|t| t.letter()));
            if let Some(k) = sort.keyword() {
                out.push(' ');
                out.push_str(k);
            }
            out.push('\n');
        }
        RecordKind::Report { .. } => out.push_str("report\n"),
    }
    out.push_str(&record.sql);
    out.push('\n');
    match &record.kind {
        RecordKind::Query { expected, .. } => {
            out.push_str("----\n");
            for row in expected {
                out.push_str(row);
                out.push('\n');
            }
        }
        RecordKind::Report { expected } => {
            out.push_str("----\n");
            if !expected.is_empty() {
                out.push_str(expected);
                out.push('\n');
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# a comment
statement ok
INSERT INTO t
SELECT 1

statement error /TooMany(Buckets|Columns)/
SELECT 2

query TIR rowsort
SELECT a,
# not SQL
  b, c FROM t
----
#en.wikipedia 1 2.5
(empty) NULL 0

context {\"maxNumTasks\": 3}

context reset

report
SELECT 1
----
{
  \"a\": 1
}

query error InvalidInput
SELECT x
";

    #[test]
    fn parses_every_record_kind_with_lines() {
        let recs = parse(SAMPLE).unwrap();
        assert_eq!(recs.len(), 7);
        assert!(matches!(recs[0].kind, RecordKind::StatementOk));
        assert_eq!(recs[0].line, 2);
        assert_eq!(recs[0].sql, "INSERT INTO t\nSELECT 1");
        match &recs[1].kind {
            RecordKind::StatementError(p) => {
                assert!(p.matches("TooManyBuckets: too many"));
                assert!(!p.matches("InsertTimeNull: x"));
            }
            k => panic!("{k:?}"),
        }
        match &recs[2].kind {
            RecordKind::Query {
                types,
                sort,
                expected,
            } => {
                assert_eq!(
                    types,
                    &[ColumnType::Text, ColumnType::Integer, ColumnType::Real]
                );
                assert_eq!(*sort, SortMode::RowSort);
                assert_eq!(expected, &["#en.wikipedia 1 2.5", "(empty) NULL 0"]);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(recs[2].sql, "SELECT a,\n  b, c FROM t");
        assert_eq!(recs[2].expected_span, Some((13, 15)));
        match &recs[3].kind {
            RecordKind::Context(m) => assert_eq!(m["maxNumTasks"], 3),
            k => panic!("{k:?}"),
        }
        assert!(matches!(recs[4].kind, RecordKind::ContextReset));
        match &recs[5].kind {
            RecordKind::Report { expected } => assert_eq!(expected, "{\n  \"a\": 1\n}"),
            k => panic!("{k:?}"),
        }
        match &recs[6].kind {
            RecordKind::StatementError(ErrorPattern::Substring(s)) => assert_eq!(s, "InvalidInput"),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn round_trips_through_to_slt() {
        let recs = parse(SAMPLE).unwrap();
        let text: String = recs.iter().map(to_slt).collect::<Vec<_>>().join("\n");
        let again = parse(&text).unwrap();
        assert_eq!(recs.len(), again.len());
        for (a, b) in recs.iter().zip(&again) {
            assert_eq!(a.sql, b.sql);
            assert_eq!(format!("{:?}", a.kind), format!("{:?}", b.kind));
        }
    }

    #[test]
    fn query_without_separator_has_empty_span_for_completion() {
        let recs = parse("query I\nSELECT 1\n\nstatement ok\nSELECT 2\n").unwrap();
        assert!(!recs[0].has_separator);
        assert_eq!(recs[0].expected_span, Some((2, 2)));
    }

    #[test]
    fn rejects_bad_input_with_line_numbers() {
        let e = parse("\n\nquery TX\nSELECT 1\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("`X`"), "{e}");
        assert_eq!(parse("frobnicate\n").unwrap_err().line, 1);
        assert!(parse("context [1]\n")
            .unwrap_err()
            .message
            .contains("JSON object"));
        assert!(parse("statement ok\n\n")
            .unwrap_err()
            .message
            .contains("without SQL"));
        assert!(parse("statement error /(/\nSELECT 1\n").is_err());
        assert!(parse("query I sideways\nSELECT 1\n").is_err());
    }

    #[test]
    fn sql_type_letters() {
        assert_eq!(ColumnType::for_sql_type("VARCHAR"), Some(ColumnType::Text));
        assert_eq!(
            ColumnType::for_sql_type("bigint"),
            Some(ColumnType::Integer)
        );
        assert_eq!(
            ColumnType::for_sql_type("DECIMAL(10, 2)"),
            Some(ColumnType::Real)
        );
        assert_eq!(
            ColumnType::for_sql_type("TIMESTAMP(3)"),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            ColumnType::for_sql_type("BOOLEAN"),
            Some(ColumnType::Boolean)
        );
        assert_eq!(ColumnType::for_sql_type("ARRAY"), None);
    }
}
