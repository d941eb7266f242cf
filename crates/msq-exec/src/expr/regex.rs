//! `REGEXP_EXTRACT` and `REGEXP_LIKE`.
//!
//! Druid evaluates both with Java's `java.util.regex` and `Matcher.find()`: the pattern may
//! match anywhere in the string (anchor it with `^…$` for a whole-string match). Here patterns
//! are compiled once per evaluation with `regex-lite` (small enough for the wasm build), whose
//! syntax covers the common Java constructs (classes, `\d \w \s`, groups, `(?:…)`, lazy and
//! bounded repetition, `(?i)`); Java-only features (look-around, back-references, Unicode
//! `\p{…}` classes) are rejected as invalid patterns.
//!
//! - `REGEXP_EXTRACT(s, pattern [, group])`: the text of capture `group` (default 0, the whole
//!   match) of the first match; null when nothing matches, when the group did not take part
//!   in the match, or when `s` is null.
//! - `REGEXP_LIKE(s, pattern)`: whether the pattern matches anywhere; null when `s` is null.
//!
//! An invalid pattern or a group beyond the pattern's groups is a `QueryRuntimeError` naming
//! the function, as Druid fails the query.

use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_schema::DataType;
use msq_common::{internal_err, ErrorCode, MsqError, Result};
use msq_plan::expr::{Literal, ScalarExpr, ScalarFunction, SqlType};
use regex_lite::Regex;

use super::{constant_arg, constant_string, downcast, eval_as};

/// Compiles a `REGEXP_*` pattern, worded like Druid's failure.
pub(crate) fn compile(function: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        MsqError::execution(
            ErrorCode::QueryRuntimeError,
            format!(
                "Function[{function}] pattern [{pattern}] is not a valid regular expression: {e}"
            ),
        )
    })
}

/// Evaluates `REGEXP_EXTRACT` / `REGEXP_LIKE`.
pub(crate) fn eval_function(
    func: &ScalarFunction,
    args: &[ScalarExpr],
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let rows = batch.num_rows();
    let (name, out_type) = match func {
        ScalarFunction::RegexpExtract => ("regexp_extract", DataType::Utf8),
        ScalarFunction::RegexpLike => ("regexp_like", DataType::Boolean),
        other => internal_err!("{other:?} is not a regular expression function"),
    };
    let Some(input) = args.first() else {
        internal_err!("Function[{name}] needs an input argument");
    };
    // A null pattern (or group) makes every row null.
    let Some(pattern) = constant_string(name, args, 1)? else {
        return Ok(new_null_array(&out_type, rows));
    };
    let regex = compile(name, &pattern)?;
    let values = eval_as(input, batch, &SqlType::Varchar)?;
    let values = downcast::<StringArray>(&values)?;
    if *func == ScalarFunction::RegexpLike {
        let out: BooleanArray = values
            .iter()
            .map(|v| v.map(|v| regex.is_match(v)))
            .collect();
        return Ok(Arc::new(out));
    }
    let group = match constant_arg(name, args, 2)? {
        None if args.len() > 2 => return Ok(new_null_array(&out_type, rows)),
        None => 0,
        Some(Literal::Long(g)) => g,
        Some(other) => {
            return Err(MsqError::plan(format!(
                "Function[{name}] group index must be an integer literal, got {other:?}"
            )))
        }
    };
    let groups = regex.captures_len();
    let group = match usize::try_from(group) {
        Ok(g) if g < groups => g,
        _ => {
            return Err(MsqError::execution(
                ErrorCode::QueryRuntimeError,
                format!(
                    "Function[{name}] group index [{group}] is out of range: pattern [{pattern}] has {} group(s)",
                    groups - 1
                ),
            ))
        }
    };
    let out: StringArray = values
        .iter()
        .map(|v| {
            let v = v?;
            if group == 0 {
                regex.find(v).map(|m| m.as_str().to_owned())
            } else {
                regex
                    .captures(v)
                    .and_then(|c| c.get(group))
                    .map(|m| m.as_str().to_owned())
            }
        })
        .collect();
    Ok(Arc::new(out))
}
