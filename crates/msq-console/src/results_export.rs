//! SELECT results as files: "Download CSV" and "Download JSON" of every row of a report's
//! `results` section (not only the page on screen), and the text a copied cell puts on the
//! clipboard.
//!
//! Druid's console downloads results from its execution summary panel as
//! `results-<id>.<ext>` (spec `druid-console-query-view.md` §1, "execution-summary-panel");
//! here:
//! - CSV follows RFC 4180: a header row of the column names, `CRLF` line ends, and a field is
//!   quoted (`"` doubled inside) when it holds a comma, a quote, `CR` or `LF`. SQL NULL is an
//!   empty field.
//! - JSON is an array of row objects keyed by column name, what Druid's interactive API answers
//!   with `resultFormat: "object"` (spec `sql-ingestion-api.md`); one row per line.
//!
//! In both, `TIMESTAMP`/`DATE` columns (stored as epoch millis in the report) become ISO-8601
//! strings, as the Broker writes them and as the table shows them; arrays and objects stay
//! JSON. Everything here is plain Rust, tested natively.

use crate::format;
use msq_model::ResultsReport;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The columns of a results section: `(name, type)`, the type from `sqlTypeNames` or else the
/// signature's native type (empty when neither is known).
pub fn result_columns(results: &ResultsReport) -> Vec<(String, String)> {
    results
        .signature
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sql = results
                .sql_type_names
                .as_ref()
                .and_then(|t| t.get(i))
                .cloned();
            (
                c.name.clone(),
                sql.or_else(|| c.column_type.clone()).unwrap_or_default(),
            )
        })
        .collect()
}

fn is_time_type(sql_type: &str) -> bool {
    matches!(sql_type, "TIMESTAMP" | "DATE")
}

/// A result value as exported: epoch millis of a `TIMESTAMP`/`DATE` column as an ISO string,
/// anything else unchanged.
pub fn export_value(value: &Value, sql_type: &str) -> Value {
    match value {
        Value::Number(n) if is_time_type(sql_type) => match n.as_i64() {
            Some(ms) => Value::String(format::iso_from_millis(ms)),
            None => value.clone(),
        },
        other => other.clone(),
    }
}

/// The plain text of a value (a copied cell, a CSV field): strings as they are, numbers and
/// booleans as JSON writes them, arrays and objects as compact JSON, and `None` for SQL NULL.
pub fn value_text(value: &Value, sql_type: &str) -> Option<String> {
    match export_value(value, sql_type) {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// One CSV field per RFC 4180: quoted when it holds `,`, `"`, `CR` or `LF`, with inner quotes
/// doubled.
pub fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

fn csv_line<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f));
    }
    out.push_str("\r\n");
}

/// Every row as RFC 4180 CSV, after a header row of column names. A row shorter than the
/// signature gets empty fields; extra values are dropped.
pub fn results_csv(results: &ResultsReport) -> String {
    let columns = result_columns(results);
    let mut out = String::new();
    csv_line(&mut out, columns.iter().map(|(name, _)| name.as_str()));
    for row in &results.results {
        let fields: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| {
                row.get(i)
                    .and_then(|v| value_text(v, ty))
                    .unwrap_or_default()
            })
            .collect();
        csv_line(&mut out, fields.iter().map(String::as_str));
    }
    out
}

/// Every row as a JSON array of objects keyed by column name (Druid's `resultFormat:
/// "object"`), one row per line. When two columns share a name the later one wins, as in
/// Druid's object format. A missing value is `null`.
pub fn results_json(results: &ResultsReport) -> String {
    let columns = result_columns(results);
    let mut out = String::from("[");
    for (n, row) in results.results.iter().enumerate() {
        let object: Map<String, Value> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let value = row.get(i).map_or(Value::Null, |v| export_value(v, ty));
                (name.clone(), value)
            })
            .collect();
        out.push_str(if n == 0 { "\n" } else { ",\n" });
        out.push_str(&Value::Object(object).to_string());
    }
    if !results.results.is_empty() {
        out.push('\n');
    }
    out.push_str("]\n");
    out
}

/// The download's file name, Druid's `results-<id>.<ext>`; characters that file systems
/// reject are replaced by `_`.
pub fn results_file_name(task_id: &str, extension: &str) -> String {
    let id: String = task_id
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let id = if id.trim().is_empty() {
        "query".to_owned()
    } else {
        id
    };
    format!("results-{id}.{extension}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use msq_model::ColumnSignature;
    use serde_json::json;

    fn report(columns: &[(&str, &str)], rows: Vec<Vec<Value>>) -> ResultsReport {
        ResultsReport {
            signature: columns
                .iter()
                .map(|(n, _)| ColumnSignature::new(*n, "STRING"))
                .collect(),
            sql_type_names: Some(columns.iter().map(|(_, t)| (*t).to_owned()).collect()),
            results: rows,
            results_truncated: None,
            extra: Map::new(),
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(csv_field("héllo wörld ☃"), "héllo wörld ☃");
    }

    #[test]
    fn csv_has_a_header_and_every_row() {
        let r = report(
            &[
                ("__time", "TIMESTAMP"),
                ("page", "VARCHAR"),
                ("n", "BIGINT"),
            ],
            vec![
                vec![json!(1_566_691_200_000i64), json!("Main, Page"), json!(3)],
                vec![json!(0), json!(null), json!(-1)],
                vec![json!(0), json!("日本語 \"q\""), json!(2.5)],
                vec![json!(0), json!(["a", 1])],
            ],
        );
        assert_eq!(
            results_csv(&r),
            "__time,page,n\r\n\
             2019-08-25T00:00:00.000Z,\"Main, Page\",3\r\n\
             1970-01-01T00:00:00.000Z,,-1\r\n\
             1970-01-01T00:00:00.000Z,\"日本語 \"\"q\"\"\",2.5\r\n\
             1970-01-01T00:00:00.000Z,\"[\"\"a\"\",1]\",\r\n"
        );
    }

    #[test]
    fn csv_quotes_column_names_and_multiline_values() {
        let r = report(
            &[("a,b", "VARCHAR")],
            vec![vec![json!("line1\r\nline2")], vec![json!(true)]],
        );
        assert_eq!(results_csv(&r), "\"a,b\"\r\n\"line1\r\nline2\"\r\ntrue\r\n");
    }

    #[test]
    fn json_is_an_array_of_row_objects() {
        let r = report(
            &[
                ("__time", "TIMESTAMP"),
                ("page", "VARCHAR"),
                ("tags", "ARRAY"),
            ],
            vec![
                vec![
                    json!(1_566_691_200_000i64),
                    json!("Ünïcode ☃"),
                    json!(["x"]),
                ],
                vec![json!(0), json!(null), json!(null)],
            ],
        );
        let text = results_json(&r);
        assert_eq!(text.lines().count(), 4, "{text}");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed,
            json!([
                {"__time": "2019-08-25T00:00:00.000Z", "page": "Ünïcode ☃", "tags": ["x"]},
                {"__time": "1970-01-01T00:00:00.000Z", "page": null, "tags": null}
            ])
        );
        // Column order is kept in each object.
        let r = report(
            &[("z", "BIGINT"), ("a", "BIGINT")],
            vec![vec![json!(1), json!(2)]],
        );
        assert_eq!(results_json(&r), "[\n{\"z\":1,\"a\":2}\n]\n");
    }

    #[test]
    fn empty_results() {
        let r = report(&[("a", "VARCHAR"), ("b", "BIGINT")], Vec::new());
        assert_eq!(results_csv(&r), "a,b\r\n");
        assert_eq!(results_json(&r), "[]\n");
    }

    #[test]
    fn types_fall_back_to_the_signature() {
        let mut r = report(&[("t", "")], vec![vec![json!(5)]]);
        r.sql_type_names = None;
        assert_eq!(
            result_columns(&r),
            vec![("t".to_owned(), "STRING".to_owned())]
        );
        assert_eq!(
            value_text(&json!(5), "TIMESTAMP").unwrap(),
            "1970-01-01T00:00:00.005Z"
        );
        assert_eq!(value_text(&json!(null), "VARCHAR"), None);
        assert_eq!(value_text(&json!({"k": 1}), "OTHER").unwrap(), "{\"k\":1}");
    }

    #[test]
    fn file_names() {
        assert_eq!(
            results_file_name("query-abc", "csv"),
            "results-query-abc.csv"
        );
        assert_eq!(results_file_name("a/b:c", "json"), "results-a_b_c.json");
        assert_eq!(results_file_name(" ", "csv"), "results-query.csv");
    }
}
