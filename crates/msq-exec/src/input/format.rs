//! Druid input formats (`inputFormat` JSON of `EXTERN`, spec `druid-msq.md` §1.2), parsed into
//! [`InputFormat`].
//!
//! Parsing follows Druid's Jackson rules: the `type` tag picks the format, unknown fields are
//! ignored (Druid's object mapper does not fail on unknown properties), and a known field with the
//! wrong JSON type is an error naming the field. Errors are planning errors (`InvalidInput`):
//! Druid rejects a bad `inputFormat` before any task runs.

use msq_common::{plan_err, MsqError, Result};
use serde_json::{Map, Value};

/// Druid's default list delimiter for multi-value CSV/TSV fields (`\u0001`, Ctrl-A).
pub const DEFAULT_LIST_DELIMITER: &str = "\u{1}";

/// An input format: how the bytes of one input file become rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// `{"type":"json"}`: newline-delimited JSON objects, one row per line.
    Json(JsonFormat),
    /// `{"type":"csv",...}`: comma-separated values with RFC 4180 quoting.
    Csv(DelimitedFormat),
    /// `{"type":"tsv","delimiter":"\t",...}`: delimiter-separated values without quoting.
    Tsv(DelimitedFormat),
}

/// Options of the `json` format.
///
/// `flattenSpec` with field definitions (JSONPath extraction) is not supported yet and is
/// rejected; a `flattenSpec` that only discovers top-level fields (the default) is accepted.
/// `featureSpec`, `keepNullColumns`, `assumeNewlineDelimited` and `useJsonNodeReader` change
/// nothing for line-delimited input and are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonFormat {
    /// `keepNullColumns` as given (informational).
    pub keep_null_columns: bool,
}

/// Options of the `csv` and `tsv` formats (Druid's `FlatTextInputFormat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelimitedFormat {
    /// `columns`: the names of the fields of each line, in order. Empty when they come from
    /// the header (`findColumnsFromHeader`).
    pub columns: Vec<String>,
    /// `findColumnsFromHeader` (legacy `hasHeaderRow`): the first line after the skipped ones
    /// names the columns.
    pub find_columns_from_header: bool,
    /// `skipHeaderRows`: lines skipped at the start of every file, before any header.
    pub skip_header_rows: usize,
    /// `listDelimiter`: separator of multi-value fields. Multi-value strings are kept as the raw
    /// text for now (no splitting); the value is validated and kept for later layers.
    pub list_delimiter: String,
    /// The field delimiter byte: `,` for CSV, `delimiter` (default tab) for TSV.
    pub delimiter: u8,
}

impl InputFormat {
    /// Lines at the start of every file that are not rows: `skipHeaderRows`, plus the header of
    /// `findColumnsFromHeader` (none for JSON).
    pub fn header_lines(&self) -> usize {
        match self {
            InputFormat::Json(_) => 0,
            InputFormat::Csv(d) | InputFormat::Tsv(d) => {
                d.skip_header_rows + usize::from(d.find_columns_from_header)
            }
        }
    }

    /// Parses an `inputFormat` JSON object.
    ///
    /// # Errors
    /// `InvalidInput` for a missing or unknown `type`, a field of the wrong JSON type, a CSV/TSV
    /// format with neither `columns` nor `findColumnsFromHeader`, duplicate column names, or a
    /// delimiter that is not a single ASCII character.
    pub fn from_json(value: &Value) -> Result<InputFormat> {
        let Value::Object(obj) = value else {
            plan_err!("inputFormat must be a JSON object, got [{value}]")
        };
        let kind = match obj.get("type") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => plan_err!("inputFormat field [type] must be a string, got [{other}]"),
            None => plan_err!("inputFormat is missing its [type] (one of json, csv, tsv)"),
        };
        match kind {
            "json" => json_format(obj).map(InputFormat::Json),
            "csv" => delimited_format(obj, "csv").map(InputFormat::Csv),
            "tsv" => delimited_format(obj, "tsv").map(InputFormat::Tsv),
            "parquet" | "orc" | "avro_ocf" | "avro_stream" | "protobuf" | "regex" | "kafka"
            | "kinesis" | "iceberg" | "delta" | "delimited" => plan_err!(
                "Input format [{kind}] is not supported by Acorn (supported: json, csv, tsv)"
            ),
            other => plan_err!(
                "Could not resolve type id '{other}' as a subtype of InputFormat: known type ids = \
                 [csv, json, tsv]"
            ),
        }
    }

    /// Parses an `inputFormat` given as JSON text (the second `EXTERN` argument).
    ///
    /// # Errors
    /// `InvalidInput` when the text is not JSON or [`InputFormat::from_json`] rejects it.
    pub fn from_json_str(text: &str) -> Result<InputFormat> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| MsqError::plan(format!("inputFormat is not valid JSON: {e}")))?;
        InputFormat::from_json(&value)
    }

    /// The format's Druid `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            InputFormat::Json(_) => "json",
            InputFormat::Csv(_) => "csv",
            InputFormat::Tsv(_) => "tsv",
        }
    }
}

fn json_format(obj: &Map<String, Value>) -> Result<JsonFormat> {
    let keep_null_columns = opt_bool(obj, "json", "keepNullColumns")?.unwrap_or(false);
    opt_bool(obj, "json", "assumeNewlineDelimited")?;
    opt_bool(obj, "json", "useJsonNodeReader")?;
    match obj.get("flattenSpec") {
        None | Some(Value::Null) => {}
        Some(Value::Object(spec)) => {
            let has_fields = match spec.get("fields") {
                None | Some(Value::Null) => false,
                Some(Value::Array(fields)) => !fields.is_empty(),
                Some(other) => {
                    plan_err!("json inputFormat field [flattenSpec.fields] must be an array, got [{other}]")
                }
            };
            if has_fields {
                plan_err!(
                    "json inputFormat [flattenSpec] with [fields] is not supported by Acorn yet; \
                     select nested fields with JSON_VALUE in SQL instead"
                )
            }
        }
        Some(other) => {
            plan_err!("json inputFormat field [flattenSpec] must be an object, got [{other}]")
        }
    }
    Ok(JsonFormat { keep_null_columns })
}

fn delimited_format(obj: &Map<String, Value>, kind: &str) -> Result<DelimitedFormat> {
    let columns = match obj.get("columns") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => names.push(s.clone()),
                    other => plan_err!(
                        "{kind} inputFormat field [columns] must hold strings, got [{other}]"
                    ),
                }
            }
            names
        }
        Some(other) => {
            plan_err!("{kind} inputFormat field [columns] must be an array, got [{other}]")
        }
    };
    let find = match (
        opt_bool(obj, kind, "findColumnsFromHeader")?,
        opt_bool(obj, kind, "hasHeaderRow")?,
    ) {
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => false,
    };
    let skip_header_rows = match obj.get("skipHeaderRows") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => n,
            None => plan_err!(
                "{kind} inputFormat field [skipHeaderRows] must be a non-negative integer, got [{n}]"
            ),
        },
        Some(other) => plan_err!(
            "{kind} inputFormat field [skipHeaderRows] must be a non-negative integer, got [{other}]"
        ),
    };
    let list_delimiter =
        opt_string(obj, kind, "listDelimiter")?.unwrap_or_else(|| DEFAULT_LIST_DELIMITER.into());
    let delimiter = if kind == "tsv" {
        let text = opt_string(obj, kind, "delimiter")?.unwrap_or_else(|| "\t".into());
        match text.as_bytes() {
            [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => *b,
            _ => plan_err!(
                "tsv inputFormat field [delimiter] must be a single ASCII character other than a \
                 line break, got [{text:?}]"
            ),
        }
    } else {
        b','
    };
    if !find && columns.is_empty() {
        plan_err!(
            "If [columns] is not set, the first row of your data must have your header and \
             [findColumnsFromHeader] must be set to true ({kind} inputFormat)"
        )
    }
    check_column_names(&columns, delimiter)?;
    Ok(DelimitedFormat {
        columns,
        find_columns_from_header: find,
        skip_header_rows,
        list_delimiter,
        delimiter,
    })
}

/// Druid rejects duplicate names (`Duplicate column entries found : [..]`) and names containing
/// the delimiter; the same check runs on header rows.
pub(crate) fn check_column_names(columns: &[String], delimiter: u8) -> Result<()> {
    for (i, name) in columns.iter().enumerate() {
        if name.as_bytes().contains(&delimiter) {
            plan_err!(
                "Column[{name}] cannot have the delimiter[{}] in its name",
                char::from(delimiter).escape_default()
            )
        }
        if columns[..i].contains(name) {
            plan_err!("Duplicate column entries found : [{i}, {name}]")
        }
    }
    Ok(())
}

fn opt_bool(obj: &Map<String, Value>, kind: &str, field: &str) -> Result<Option<bool>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => {
            plan_err!("{kind} inputFormat field [{field}] must be a boolean, got [{other}]")
        }
    }
}

fn opt_string(obj: &Map<String, Value>, kind: &str, field: &str) -> Result<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            plan_err!("{kind} inputFormat field [{field}] must be a string, got [{other}]")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use msq_common::ErrorCode;
    use serde_json::json;

    #[test]
    fn json_format_with_druid_defaults_and_unknown_fields() {
        let f = InputFormat::from_json(&json!({"type": "json", "keepNullColumns": true,
            "flattenSpec": {"useFieldDiscovery": true, "fields": []}, "featureSpec": {}, "x": 1}))
        .unwrap();
        assert_eq!(
            f,
            InputFormat::Json(JsonFormat {
                keep_null_columns: true
            })
        );
        assert_eq!(f.type_name(), "json");
    }

    #[test]
    fn csv_format_fields() {
        let f = InputFormat::from_json_str(
            r#"{"type":"csv","columns":["a","b"],"findColumnsFromHeader":false,"skipHeaderRows":2,"listDelimiter":"|"}"#,
        )
        .unwrap();
        let InputFormat::Csv(d) = f else {
            panic!("not csv")
        };
        assert_eq!(d.columns, ["a", "b"]);
        assert!(!d.find_columns_from_header);
        assert_eq!(
            (d.skip_header_rows, d.list_delimiter.as_str(), d.delimiter),
            (2, "|", b',')
        );
    }

    #[test]
    fn tsv_format_delimiter_and_header() {
        let f =
            InputFormat::from_json(&json!({"type": "tsv", "findColumnsFromHeader": true})).unwrap();
        let InputFormat::Tsv(d) = f else {
            panic!("not tsv")
        };
        assert_eq!(
            (d.delimiter, d.list_delimiter.as_str()),
            (b'\t', DEFAULT_LIST_DELIMITER)
        );
        let f = InputFormat::from_json(&json!({"type": "tsv", "delimiter": "|", "columns": ["x"]}))
            .unwrap();
        assert!(matches!(
            f,
            InputFormat::Tsv(DelimitedFormat {
                delimiter: b'|',
                ..
            })
        ));
    }

    #[test]
    fn bad_formats_have_clear_errors() {
        let cases = [
            (json!({"type": "xml"}), "Could not resolve type id 'xml'"),
            (json!({"type": "parquet"}), "[parquet] is not supported"),
            (json!({"columns": []}), "missing its [type]"),
            (json!([1]), "must be a JSON object"),
            (
                json!({"type": "csv"}),
                "[findColumnsFromHeader] must be set",
            ),
            (
                json!({"type": "csv", "columns": "a"}),
                "[columns] must be an array",
            ),
            (
                json!({"type": "csv", "columns": ["a", 1]}),
                "[columns] must hold strings",
            ),
            (
                json!({"type": "csv", "columns": ["a", "a"]}),
                "Duplicate column entries found : [1, a]",
            ),
            (
                json!({"type": "csv", "columns": ["a,b"]}),
                "cannot have the delimiter",
            ),
            (
                json!({"type": "csv", "columns": ["a"], "skipHeaderRows": -1}),
                "non-negative",
            ),
            (
                json!({"type": "csv", "columns": ["a"], "findColumnsFromHeader": "yes"}),
                "must be a boolean",
            ),
            (
                json!({"type": "tsv", "columns": ["a"], "delimiter": "ab"}),
                "single ASCII character",
            ),
            (
                json!({"type": "json", "flattenSpec": {"fields": [{"type": "path"}]}}),
                "not supported by Acorn yet",
            ),
        ];
        for (value, expected) in cases {
            let err = InputFormat::from_json(&value).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidInput, "{value}");
            assert!(
                err.message().contains(expected),
                "{value}: {}",
                err.message()
            );
        }
        assert!(InputFormat::from_json_str("{")
            .unwrap_err()
            .message()
            .contains("not valid JSON"));
    }
}
