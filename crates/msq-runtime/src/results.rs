//! SELECT results: Arrow batches → the report's `results` (spec `druid-msq.md` §5: rows as
//! arrays of native JSON values, `TIMESTAMP` as epoch milliseconds, at most
//! [`MAX_SELECT_RESULT_ROWS`] rows with `resultsTruncated`).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use msq_common::{MsqError, Result};
use msq_model::{ColumnSignature, ResultsReport};
use msq_plan::SqlType;
use serde_json::{Map, Value};

/// Druid's `MAX_SELECT_RESULT_ROWS` (spec §3.1).
pub const MAX_SELECT_RESULT_ROWS: usize = 3_000;

/// One cell as Druid writes it: numbers as JSON numbers (non-finite doubles as null... Druid
/// writes them as strings `"NaN"`/`"Infinity"`; we do the same), strings as strings, booleans as
/// booleans, nulls as null.
pub fn cell(array: &dyn Array, row: usize) -> Result<Value> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(row)),
        DataType::Boolean => Value::from(array.as_boolean().value(row)),
        DataType::Null => Value::Null,
        DataType::Binary => Value::from(format!(
            "<{} bytes>",
            array.as_binary::<i32>().value(row).len()
        )),
        other => {
            return Err(MsqError::internal(format!(
                "cannot write a [{other}] column into results"
            )))
        }
    })
}

fn float(v: f64) -> Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    } else if v.is_nan() {
        Value::from("NaN")
    } else if v > 0.0 {
        Value::from("Infinity")
    } else {
        Value::from("-Infinity")
    }
}

/// The `results` section for `columns` read from `batches` (columns by position), keeping at
/// most `max_rows` rows ([`MAX_SELECT_RESULT_ROWS`] for task reports; the interactive API keeps
/// all).
///
/// # Errors
/// When a column cannot be rendered.
pub fn results_report(
    columns: &[(String, SqlType)],
    batches: &[RecordBatch],
    max_rows: usize,
) -> Result<(ResultsReport, usize)> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut rows = Vec::with_capacity(total.min(max_rows));
    'outer: for batch in batches {
        for row in 0..batch.num_rows() {
            if rows.len() == max_rows {
                break 'outer;
            }
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let column = batch.columns().get(i).ok_or_else(|| {
                    MsqError::internal("final stage has fewer columns than the SELECT")
                })?;
                values.push(cell(column.as_ref(), row)?);
            }
            rows.push(values);
        }
    }
    let report = ResultsReport {
        signature: columns
            .iter()
            .map(|(name, ty)| ColumnSignature::new(name.clone(), ty.column_type().to_string()))
            .collect(),
        sql_type_names: Some(
            columns
                .iter()
                .map(|(_, t)| t.sql_name().to_owned())
                .collect(),
        ),
        results: rows,
        results_truncated: Some(total > max_rows),
        extra: Map::new(),
    };
    Ok((report, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn cells_and_truncation() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
        ]));
        let n = MAX_SELECT_RESULT_ROWS + 1;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
                Arc::new(StringArray::from(
                    (0..n).map(|i| (i > 0).then_some("x")).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    (0..n)
                        .map(|i| if i == 0 { f64::NAN } else { 1.5 })
                        .collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    (0..n).map(|i| i % 2 == 0).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        let columns = vec![
            ("__time".to_owned(), SqlType::Timestamp),
            ("s".to_owned(), SqlType::Varchar),
            ("d".to_owned(), SqlType::Double),
            ("b".to_owned(), SqlType::Boolean),
        ];
        let (report, total) = results_report(&columns, &[batch], MAX_SELECT_RESULT_ROWS).unwrap();
        assert_eq!(total, n);
        assert_eq!(report.results.len(), MAX_SELECT_RESULT_ROWS);
        assert_eq!(report.results_truncated, Some(true));
        assert_eq!(
            report.results[0],
            vec![
                Value::from(0),
                Value::Null,
                Value::from("NaN"),
                Value::from(true)
            ]
        );
        assert_eq!(report.results[1][2], Value::from(1.5));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["sqlTypeNames"],
            serde_json::json!(["TIMESTAMP", "VARCHAR", "DOUBLE", "BOOLEAN"])
        );
        assert_eq!(
            json["signature"][0],
            serde_json::json!({"name": "__time", "type": "LONG"})
        );
    }
}
