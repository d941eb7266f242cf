//! Rendering result values as `.slt` text, and the type-letter check.
//!
//! Rules (DataFusion's conventions, adapted to Druid's report JSON):
//! - one row per line, values separated by a single space;
//! - `null` → `NULL`; the empty string → `(empty)`; other strings as they are;
//! - integers plainly (`-3`, `24433`);
//! - reals (`R` columns, or any non-integral JSON number) rounded to 6 decimal places with
//!   trailing zeros and a trailing `.` trimmed: `2.5`, `0.333333`, `6` (for `6.0`), `-0.5`;
//!   `-0` prints `0`; `NaN`, `Infinity`, `-Infinity` as Druid spells them;
//! - booleans `true`/`false` (Druid may send `1`/`0` for BOOLEAN columns: rendered the same);
//! - `D` (TIMESTAMP) values arrive as epoch milliseconds or as ISO strings and are rendered
//!   `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC (`2016-06-27T00:00:00.000Z`), the form Druid's reports use;
//! - arrays and objects as compact JSON.

use crate::parser::ColumnType;
use serde_json::Value;

/// Renders a real number by the 6-decimal rule above.
///
/// ```
/// assert_eq!(msq_slt::render::render_real(2.5), "2.5");
/// assert_eq!(msq_slt::render::render_real(1.0 / 3.0), "0.333333");
/// assert_eq!(msq_slt::render::render_real(6.0), "6");
/// ```
pub fn render_real(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let mut s = format!("{f:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC), as Druid writes times.
///
/// ```
/// assert_eq!(msq_slt::render::format_millis(1466985600000), "2016-06-27T00:00:00.000Z");
/// ```
pub fn format_millis(ms: i64) -> String {
    msq_sql::time::format_millis(ms)
}

/// Parses an ISO-8601 timestamp (`2016-06-27`, `2016-06-27T01:02:03`, `…03.5Z`,
/// `2016-06-27 01:02:03.123`, with an optional `Z` or `±HH:MM` offset) into epoch millis, with
/// the engine's own literal parser. Returns `None` for anything else.
///
/// ```
/// assert_eq!(msq_slt::render::parse_iso_millis("2016-06-27T00:00:11.080Z"), Some(1466985611080));
/// ```
pub fn parse_iso_millis(s: &str) -> Option<i64> {
    msq_sql::time::parse_timestamp_millis(s).ok()
}

/// Renders one JSON value of a column with type letter `ty` (see the module rules).
pub fn render_value(value: &Value, ty: ColumnType) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) if s.is_empty() => "(empty)".into(),
        Value::String(s) => {
            if ty == ColumnType::Timestamp {
                if let Some(ms) = parse_iso_millis(s) {
                    return format_millis(ms);
                }
            }
            s.clone()
        }
        Value::Number(n) => match ty {
            ColumnType::Timestamp => match n.as_i64() {
                Some(ms) => format_millis(ms),
                None => n
                    .as_f64()
                    .map(|f| format_millis(f as i64))
                    .unwrap_or_else(|| n.to_string()),
            },
            ColumnType::Boolean => match n.as_f64() {
                Some(f) => (f != 0.0).to_string(),
                None => n.to_string(),
            },
            ColumnType::Real => n.as_f64().map(render_real).unwrap_or_else(|| n.to_string()),
            ColumnType::Integer => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (_, Some(u), _) => u.to_string(),
                (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
                (_, _, Some(f)) => render_real(f),
                _ => n.to_string(),
            },
            ColumnType::Text | ColumnType::Any => {
                if n.is_i64() || n.is_u64() {
                    n.to_string()
                } else {
                    n.as_f64().map(render_real).unwrap_or_else(|| n.to_string())
                }
            }
        },
        other => other.to_string(),
    }
}

/// Renders a row as one line: values by [`render_value`], joined by single spaces.
/// Columns beyond `types` render as [`ColumnType::Any`].
pub fn render_row(row: &[Value], types: &[ColumnType]) -> String {
    row.iter()
        .enumerate()
        .map(|(i, v)| render_value(v, types.get(i).copied().unwrap_or(ColumnType::Any)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a `query` header's letters against the engine's SQL type names. Returns a message
/// describing the first mismatch (count or letter), `None` when they agree. `?` matches any
/// type; a SQL type no letter covers matches only `?`.
pub fn check_types(letters: &[ColumnType], sql_types: &[String]) -> Option<String> {
    if letters.len() != sql_types.len() {
        return Some(format!(
            "expected {} columns ({}), got {} ({})",
            letters.len(),
            letters.iter().map(|t| t.letter()).collect::<String>(),
            sql_types.len(),
            sql_types.join(", ")
        ));
    }
    for (i, (l, t)) in letters.iter().zip(sql_types).enumerate() {
        if *l == ColumnType::Any {
            continue;
        }
        if ColumnType::for_sql_type(t) != Some(*l) {
            return Some(format!(
                "column {} is {t}, which is not type letter {}",
                i + 1,
                l.letter()
            ));
        }
    }
    None
}

/// The type letters that describe `sql_types` (`?` for a type no letter covers); used by
/// `--complete` to write a `query` header.
pub fn letters_for(sql_types: &[String]) -> Vec<ColumnType> {
    sql_types
        .iter()
        .map(|t| ColumnType::for_sql_type(t).unwrap_or(ColumnType::Any))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_by_kind_and_letter() {
        use ColumnType::*;
        assert_eq!(render_value(&json!(null), Text), "NULL");
        assert_eq!(render_value(&json!(""), Text), "(empty)");
        assert_eq!(render_value(&json!("a b"), Text), "a b");
        assert_eq!(render_value(&json!(-7), Integer), "-7");
        assert_eq!(render_value(&json!(7.0), Integer), "7");
        assert_eq!(render_value(&json!(7), Real), "7");
        assert_eq!(render_value(&json!(2.25), Real), "2.25");
        assert_eq!(render_value(&json!(0.1 + 0.2), Real), "0.3");
        assert_eq!(render_value(&json!(-0.0000001), Real), "0");
        assert_eq!(
            render_value(&json!(1234567.1234567), Real),
            "1234567.123457"
        );
        assert_eq!(render_value(&json!(true), Boolean), "true");
        assert_eq!(render_value(&json!(0), Boolean), "false");
        assert_eq!(
            render_value(&json!(946684800000_i64), Timestamp),
            "2000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            render_value(&json!("2016-06-27T00:00:11.08Z"), Timestamp),
            "2016-06-27T00:00:11.080Z"
        );
        assert_eq!(
            render_value(&json!("2016-06-27 02:00:00+02:00"), Timestamp),
            "2016-06-27T00:00:00.000Z"
        );
        assert_eq!(render_value(&json!(["a", "b"]), Text), "[\"a\",\"b\"]");
        assert_eq!(render_value(&json!(1.5), Any), "1.5");
    }

    #[test]
    fn timestamps_round_trip_across_eras() {
        for ms in [
            0_i64,
            -1,
            951_782_400_000,
            4_102_444_800_000,
            -62_135_596_800_000,
            1_466_985_611_080,
        ] {
            assert_eq!(parse_iso_millis(&format_millis(ms)), Some(ms), "{ms}");
        }
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(parse_iso_millis("2000-13-01"), None);
        assert_eq!(parse_iso_millis("yesterday"), None);
    }

    #[test]
    fn type_check_messages() {
        use ColumnType::*;
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_types(&[Text, Integer], &t(&["VARCHAR", "BIGINT"])),
            None
        );
        assert_eq!(check_types(&[Any, Real], &t(&["ARRAY", "FLOAT"])), None);
        assert!(check_types(&[Text], &t(&["VARCHAR", "BIGINT"]))
            .unwrap()
            .contains("expected 1 columns"));
        assert!(check_types(&[Integer], &t(&["DOUBLE"]))
            .unwrap()
            .contains("column 1 is DOUBLE"));
        assert_eq!(
            letters_for(&t(&["TIMESTAMP", "OTHER", "ARRAY"])),
            vec![Timestamp, Text, Any]
        );
        assert_eq!(render_row(&[json!("x"), json!(null)], &[Text]), "x NULL");
    }
}
