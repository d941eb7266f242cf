//! `CAST` with Druid's rules, and the Java-style rendering of numbers as strings.
//!
//! | from \ to | BIGINT / TIMESTAMP | DOUBLE / FLOAT | VARCHAR | BOOLEAN |
//! |---|---|---|---|---|
//! | BIGINT | same (millis ⇄ TIMESTAMP) | widened | `1` | non-zero → true |
//! | TIMESTAMP | millis | millis | `2016-06-27 00:00:00` | non-zero → true |
//! | DOUBLE/FLOAT | truncated toward zero (Java `(long)`) | rounded | `1.0`, `1.0E7` (Java `Double.toString`) | non-zero → true |
//! | VARCHAR | parsed (see below) | parsed, trimmed | same | `'true'`/`'false'`, numbers |
//! | BOOLEAN | 1 / 0 | 1.0 / 0.0 | `true` / `false` | same |
//!
//! Strings parse leniently and give null on failure, as Druid's `ExprEval` casts do: a string
//! becomes a `BIGINT` by parsing it as a long, or else as a double truncated toward zero
//! (`'1.5'` → 1, Druid's `GuavaUtils.tryParseLong` then `Doubles.tryParse` fallback); a string
//! becomes a `TIMESTAMP` by parsing ISO 8601 or SQL `yyyy-MM-dd HH:mm:ss[.SSS]` text in UTC
//! (Druid's `TIMESTAMP_PARSE` default parser). A `TIMESTAMP` becomes a string in the SQL
//! format `yyyy-MM-dd HH:mm:ss` (Druid's cast of a timestamp to `VARCHAR`). `NULL` casts to a
//! null of any type. `COMPLEX` values cast only to themselves.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array,
    Int64Array, StringArray,
};
use arrow_schema::{DataType, TimeUnit as ArrowTimeUnit};
use msq_common::{MsqError, Result};
use msq_plan::expr::SqlType;

use super::{arrow_type, downcast, time};

/// Casts an array to the Arrow form of `to` with Druid/SQL cast rules.
///
/// The source's SQL type is read off its Arrow type: any integer array is `BIGINT`, `Float64`
/// `DOUBLE`, `Float32` `FLOAT`, `Utf8`/`LargeUtf8`/`Utf8View` and `Dictionary<_, Utf8>`
/// `VARCHAR`, `Boolean` `BOOLEAN`, an Arrow `Timestamp`/`Date32` `TIMESTAMP`, `Null` `NULL`.
/// An `Int64` array is therefore treated as `BIGINT`: to render a `TIMESTAMP` as a string,
/// the evaluator casts with the expression's declared type instead. An array already in the
/// target's Arrow form is returned as is.
pub fn cast_array(array: &ArrayRef, to: &SqlType) -> Result<ArrayRef> {
    if array.data_type() == &arrow_type(to) {
        return Ok(array.clone());
    }
    let (array, from) = normalize(array)?;
    convert(&array, &from, to)
}

/// Casts an array known to hold values of SQL type `from` to `to`.
pub(crate) fn cast_from(array: &ArrayRef, from: &SqlType, to: &SqlType) -> Result<ArrayRef> {
    if from == to && array.data_type() == &arrow_type(to) {
        return Ok(array.clone());
    }
    if array.data_type() == &arrow_type(from) {
        return convert(array, from, to);
    }
    // The array is in another physical form (a dictionary, a wider integer…): normalize it,
    // keeping the declared type's meaning for timestamps.
    let (normalized, natural) = normalize(array)?;
    let from = match (from, &natural) {
        (SqlType::Timestamp, SqlType::Bigint) => SqlType::Timestamp,
        _ => natural,
    };
    convert(&normalized, &from, to)
}

/// Brings an array into the canonical Arrow form of the SQL type it represents.
fn normalize(array: &ArrayRef) -> Result<(ArrayRef, SqlType)> {
    let len = array.len();
    Ok(match array.data_type() {
        DataType::Null => (new_null_array(&DataType::Null, len), SqlType::Null),
        DataType::Int64 => (array.clone(), SqlType::Bigint),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => (Arc::new(integers_to_i64(array)?), SqlType::Bigint),
        DataType::Float64 => (array.clone(), SqlType::Double),
        DataType::Float32 => (array.clone(), SqlType::Float),
        DataType::Boolean => (array.clone(), SqlType::Boolean),
        DataType::Utf8 => (array.clone(), SqlType::Varchar),
        DataType::LargeUtf8 => {
            let strings: StringArray = array.as_string::<i64>().iter().collect();
            (Arc::new(strings), SqlType::Varchar)
        }
        DataType::Utf8View => {
            let strings: StringArray = array.as_string_view().iter().collect();
            (Arc::new(strings), SqlType::Varchar)
        }
        DataType::Dictionary(key, _) => {
            let values = match key.as_ref() {
                DataType::Int8 => unpack_dictionary::<Int8Type>(array)?,
                DataType::Int16 => unpack_dictionary::<Int16Type>(array)?,
                DataType::Int32 => unpack_dictionary::<Int32Type>(array)?,
                DataType::Int64 => unpack_dictionary::<Int64Type>(array)?,
                DataType::UInt8 => unpack_dictionary::<UInt8Type>(array)?,
                DataType::UInt16 => unpack_dictionary::<UInt16Type>(array)?,
                DataType::UInt32 => unpack_dictionary::<UInt32Type>(array)?,
                DataType::UInt64 => unpack_dictionary::<UInt64Type>(array)?,
                other => {
                    return Err(MsqError::internal(format!(
                        "unsupported dictionary key type {other}"
                    )))
                }
            };
            normalize(&values)?
        }
        DataType::Timestamp(unit, _) => {
            let raw = array.as_primitive_opt::<arrow_array::types::TimestampMillisecondType>();
            let millis: Int64Array = match (unit, raw) {
                (ArrowTimeUnit::Millisecond, Some(a)) => a.iter().collect(),
                _ => timestamps_to_millis(array, unit)?,
            };
            (Arc::new(millis), SqlType::Timestamp)
        }
        DataType::Date32 => {
            let days = array.as_primitive::<arrow_array::types::Date32Type>();
            let millis: Int64Array = days
                .iter()
                .map(|d| d.map(|d| i64::from(d) * msq_sql::time::MILLIS_PER_DAY))
                .collect();
            (Arc::new(millis), SqlType::Timestamp)
        }
        DataType::Binary => (array.clone(), SqlType::Complex(String::new())),
        other => {
            return Err(MsqError::plan(format!(
                "Cannot evaluate a column of Arrow type {other}"
            )))
        }
    })
}

/// Decodes a dictionary array into an array of its value type.
fn unpack_dictionary<K: ArrowDictionaryKeyType>(array: &ArrayRef) -> Result<ArrayRef> {
    let Some(dict) = array.as_any().downcast_ref::<DictionaryArray<K>>() else {
        return Err(MsqError::internal(
            "dictionary array of unexpected key type",
        ));
    };
    arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)
        .map_err(|e| MsqError::internal(format!("decoding a dictionary column failed: {e}")))
}

/// Widens any integer array to `Int64` (`UInt64` values above `i64::MAX` become null).
fn integers_to_i64(array: &ArrayRef) -> Result<Int64Array> {
    macro_rules! widen {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.and_then(|v| i64::try_from(v).ok()))
                .collect()
        };
    }
    Ok(match array.data_type() {
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        DataType::Int64 => downcast::<Int64Array>(array)?.clone(),
        other => {
            return Err(MsqError::internal(format!(
                "{other} is not an integer type"
            )))
        }
    })
}

/// An Arrow timestamp array of any unit as epoch milliseconds (sub-millisecond precision is
/// floored).
fn timestamps_to_millis(array: &ArrayRef, unit: &ArrowTimeUnit) -> Result<Int64Array> {
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    Ok(match unit {
        ArrowTimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .iter()
            .map(|v| v.map(|v| v.saturating_mul(1000)))
            .collect(),
        ArrowTimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .collect(),
        ArrowTimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| v.map(|v| v.div_euclid(1000)))
            .collect(),
        ArrowTimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .iter()
            .map(|v| v.map(|v| v.div_euclid(1_000_000)))
            .collect(),
    })
}

/// Casts an array in the canonical form of `from` to the canonical form of `to`.
fn convert(array: &ArrayRef, from: &SqlType, to: &SqlType) -> Result<ArrayRef> {
    use SqlType::*;
    let len = array.len();
    if matches!(from, Null) || array.null_count() == len && !matches!(from, Complex(_)) {
        return Ok(new_null_array(&arrow_type(to), len));
    }
    if array.data_type() == &arrow_type(to) && !matches!((from, to), (Timestamp, Varchar)) {
        return Ok(array.clone());
    }
    let out: ArrayRef = match (from, to) {
        (_, Null) => new_null_array(&DataType::Null, len),
        (Complex(a), Complex(_)) if a.is_empty() => array.clone(),
        (Complex(_), _) | (_, Complex(_)) => {
            return Err(MsqError::plan(format!(
                "Cannot apply 'CAST' to arguments of type '{from}' to '{to}'"
            )))
        }
        // To BIGINT / TIMESTAMP (both Int64 millis or integers).
        (Double, Bigint | Timestamp) => Arc::new(map_to::<_, Int64Array>(
            downcast::<Float64Array>(array)?.iter(),
            double_to_long,
        )),
        (Float, Bigint | Timestamp) => Arc::new(map_to::<_, Int64Array>(
            downcast::<Float32Array>(array)?.iter(),
            |v| double_to_long(f64::from(v)),
        )),
        (Varchar, Bigint) => Arc::new(map_to::<_, Int64Array>(
            downcast::<StringArray>(array)?.iter(),
            parse_long,
        )),
        (Varchar, Timestamp) => Arc::new(map_to::<_, Int64Array>(
            downcast::<StringArray>(array)?.iter(),
            |s| time::parse_default(s, time::Zone::UTC),
        )),
        (Boolean, Bigint | Timestamp) => Arc::new(map_to::<_, Int64Array>(
            downcast::<BooleanArray>(array)?.iter(),
            |b| Some(i64::from(b)),
        )),
        // To DOUBLE.
        (Bigint | Timestamp, Double) => Arc::new(map_to::<_, Float64Array>(
            downcast::<Int64Array>(array)?.iter(),
            |v| Some(v as f64),
        )),
        (Float, Double) => Arc::new(map_to::<_, Float64Array>(
            downcast::<Float32Array>(array)?.iter(),
            |v| Some(f64::from(v)),
        )),
        (Varchar, Double) => Arc::new(map_to::<_, Float64Array>(
            downcast::<StringArray>(array)?.iter(),
            parse_double,
        )),
        (Boolean, Double) => Arc::new(map_to::<_, Float64Array>(
            downcast::<BooleanArray>(array)?.iter(),
            |b| Some(if b { 1.0 } else { 0.0 }),
        )),
        // To FLOAT.
        (Bigint | Timestamp, Float) => Arc::new(map_to::<_, Float32Array>(
            downcast::<Int64Array>(array)?.iter(),
            |v| Some(v as f32),
        )),
        (Double, Float) => Arc::new(map_to::<_, Float32Array>(
            downcast::<Float64Array>(array)?.iter(),
            |v| Some(v as f32),
        )),
        (Varchar, Float) => Arc::new(map_to::<_, Float32Array>(
            downcast::<StringArray>(array)?.iter(),
            |s| parse_double(s).map(|v| v as f32),
        )),
        (Boolean, Float) => Arc::new(map_to::<_, Float32Array>(
            downcast::<BooleanArray>(array)?.iter(),
            |b| Some(if b { 1.0 } else { 0.0 }),
        )),
        // To VARCHAR.
        (Bigint, Varchar) => Arc::new(map_to::<_, StringArray>(
            downcast::<Int64Array>(array)?.iter(),
            |v| Some(v.to_string()),
        )),
        (Timestamp, Varchar) => Arc::new(map_to::<_, StringArray>(
            downcast::<Int64Array>(array)?.iter(),
            |v| Some(time::format_sql_timestamp(v)),
        )),
        (Double, Varchar) => Arc::new(map_to::<_, StringArray>(
            downcast::<Float64Array>(array)?.iter(),
            |v| Some(java_double_to_string(v)),
        )),
        (Float, Varchar) => Arc::new(map_to::<_, StringArray>(
            downcast::<Float32Array>(array)?.iter(),
            |v| Some(java_float_to_string(v)),
        )),
        (Boolean, Varchar) => Arc::new(map_to::<_, StringArray>(
            downcast::<BooleanArray>(array)?.iter(),
            |b| Some(b.to_string()),
        )),
        // To BOOLEAN.
        (Bigint | Timestamp, Boolean) => Arc::new(map_to::<_, BooleanArray>(
            downcast::<Int64Array>(array)?.iter(),
            |v| Some(v != 0),
        )),
        (Double, Boolean) => Arc::new(map_to::<_, BooleanArray>(
            downcast::<Float64Array>(array)?.iter(),
            |v| Some(v != 0.0 && !v.is_nan()),
        )),
        (Float, Boolean) => Arc::new(map_to::<_, BooleanArray>(
            downcast::<Float32Array>(array)?.iter(),
            |v| Some(v != 0.0 && !v.is_nan()),
        )),
        (Varchar, Boolean) => Arc::new(map_to::<_, BooleanArray>(
            downcast::<StringArray>(array)?.iter(),
            parse_boolean,
        )),
        // Same Arrow form (BIGINT ⇄ TIMESTAMP, identical types).
        _ if array.data_type() == &arrow_type(to) => array.clone(),
        _ => {
            return Err(MsqError::internal(format!(
                "no cast from {from} to {to} for an array of {}",
                array.data_type()
            )))
        }
    };
    Ok(out)
}

/// Maps the non-null values of `values` through `f` (a `None` result is a null) and collects.
pub(crate) fn map_to<T, A>(
    values: impl Iterator<Item = Option<T>>,
    f: impl Fn(T) -> Option<<A as Collectable>::Item>,
) -> A
where
    A: Collectable,
{
    A::collect_options(values.map(|v| v.and_then(&f)))
}

/// Arrays that can be collected from an iterator of optional values (the glue that lets
/// [`map_to`] build any of the canonical array types).
pub(crate) trait Collectable: Sized {
    /// The value type.
    type Item;
    /// Collects optional values.
    fn collect_options(values: impl Iterator<Item = Option<Self::Item>>) -> Self;
}

impl Collectable for Int64Array {
    type Item = i64;
    fn collect_options(values: impl Iterator<Item = Option<i64>>) -> Self {
        values.collect()
    }
}

impl Collectable for Float64Array {
    type Item = f64;
    fn collect_options(values: impl Iterator<Item = Option<f64>>) -> Self {
        values.collect()
    }
}

impl Collectable for Float32Array {
    type Item = f32;
    fn collect_options(values: impl Iterator<Item = Option<f32>>) -> Self {
        values.collect()
    }
}

impl Collectable for BooleanArray {
    type Item = bool;
    fn collect_options(values: impl Iterator<Item = Option<bool>>) -> Self {
        values.collect()
    }
}

impl Collectable for StringArray {
    type Item = String;
    fn collect_options(values: impl Iterator<Item = Option<String>>) -> Self {
        values.collect()
    }
}

/// Java's `(long) d`: truncation toward zero, saturating at the `long` range, NaN → 0.
fn double_to_long(d: f64) -> Option<i64> {
    Some(d as i64)
}

/// A string as a `BIGINT`: trimmed, parsed as a long, else as a double truncated toward zero;
/// null when neither parses.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    parse_double(t).and_then(double_to_long)
}

/// A string as a `DOUBLE` (Java/Guava `Doubles.tryParse` syntax: decimal and exponent forms,
/// `NaN`, `Infinity`); trimmed; null when it does not parse.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Rust also accepts "inf"/"nan" spellings Java does not; allow only number syntax.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// A string as a `BOOLEAN`: `true`/`false` (any case, trimmed), or a number (non-zero is
/// true); null otherwise.
fn parse_boolean(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        parse_double(t).map(|v| v != 0.0 && !v.is_nan())
    }
}

/// Java's `Double.toString`: shortest round-trip digits, at least one fractional digit,
/// scientific notation (`1.0E7`, `1.0E-4`) outside `[1e-3, 1e7)`; `NaN`, `Infinity`.
pub fn java_double_to_string(v: f64) -> String {
    java_format(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        v.abs(),
        &format!("{v}"),
        &format!("{v:e}"),
    )
}

/// Java's `Float.toString`, the `FLOAT` counterpart of [`java_double_to_string`].
pub fn java_float_to_string(v: f32) -> String {
    java_format(
        v.is_nan(),
        v.is_infinite(),
        v.is_sign_negative(),
        f64::from(v.abs()),
        &format!("{v}"),
        &format!("{v:e}"),
    )
}

/// Shared body of the Java renderings, from Rust's shortest plain and exponent forms.
fn java_format(
    nan: bool,
    infinite: bool,
    negative: bool,
    abs: f64,
    plain: &str,
    sci: &str,
) -> String {
    if nan {
        return "NaN".to_owned();
    }
    if infinite {
        return if negative { "-Infinity" } else { "Infinity" }.to_owned();
    }
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let mut s = plain.to_owned();
        if !s.contains('.') {
            s.push_str(".0");
        }
        return s;
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let mut s = mantissa.to_owned();
    if !s.contains('.') {
        s.push_str(".0");
    }
    format!("{s}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_rendering() {
        let cases = [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.5e10, "1.5E10"),
            (0.001, "0.001"),
            (1e-4, "1.0E-4"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, want) in cases {
            assert_eq!(java_double_to_string(v), want, "{v}");
        }
        assert_eq!(java_float_to_string(0.1), "0.1");
        assert_eq!(java_float_to_string(3.0e9), "3.0E9");
    }

    #[test]
    fn string_parsing() {
        assert_eq!(parse_long(" 42 "), Some(42));
        assert_eq!(parse_long("1.5"), Some(1));
        assert_eq!(parse_long("-1.9"), Some(-1));
        assert_eq!(parse_long("1e3"), Some(1000));
        assert_eq!(parse_long("abc"), None);
        assert_eq!(parse_long(""), None);
        assert_eq!(parse_long("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_double("2.5"), Some(2.5));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_boolean("TRUE"), Some(true));
        assert_eq!(parse_boolean("0"), Some(false));
        assert_eq!(parse_boolean("yes"), None);
    }
}
