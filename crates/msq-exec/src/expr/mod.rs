//! The expression evaluator: [`ScalarExpr`]s of `msq-plan` over Arrow record batches.
//!
//! Expressions are evaluated column-at-a-time: every node yields an array with one value per
//! row of the input batch (a literal is broadcast to the batch length), of the Arrow type the
//! shared contract assigns to the node's [`SqlType`] (table in `msq_plan::expr`; see
//! [`arrow_type`]). Kernels are typed loops over arrays rather than generic Arrow compute
//! kernels: SQL's (Druid's SQL-compatible) null rules are then explicit in one place per
//! operator and the wasm build stays small.
//!
//! # Layout
//! - this module: the public entry points [`evaluate`], [`evaluate_predicate`],
//!   [`filter_batch`], [`arrow_type`], [`cast_array`], and the per-variant dispatch
//!   (columns, literals, `IS NULL`, `IN`, `CASE`, `COALESCE`, `NULLIF`).
//! - `cast`: `CAST` between every pair of SQL types with Druid's rules, and Java-style number
//!   rendering (`1.0`, `1.0E7`).
//! - `compare`: `=`, `<>`, `<`, … on numbers, strings (UTF-8 byte order) and booleans, and the
//!   three-valued `AND` / `OR` / `NOT`.
//! - `arith`: `+ - * / %`, unary minus and the math functions (`ABS`, `FLOOR`, `CEIL`,
//!   `ROUND`, `MOD`, `POWER`, `LN`, `SQRT`).
//! - `string`: `LOWER`, `UPPER`, `CONCAT`/`||`, `SUBSTRING`, `TRIM`, `LENGTH`, `REPLACE`,
//!   `STRPOS`, and `LIKE` (pattern compiled once per call).
//! - `regex`: `REGEXP_EXTRACT`, `REGEXP_LIKE` (pattern compiled once per call).
//! - `time`: time zones, ISO 8601 periods and the `TIME_*` functions, `EXTRACT`,
//!   `MILLIS_TO_TIMESTAMP`, `TIMESTAMP_TO_MILLIS`.
//! - `joda`: Joda-Time `DateTimeFormat` patterns for `TIME_PARSE` / `TIME_FORMAT`.
//! - `tz`: the built-in table of named (IANA) time zones with their current DST rules.
//!
//! # Null semantics
//! Druid's SQL-compatible null handling: a null operand makes an arithmetic, comparison or
//! string result null, `AND`/`OR`/`NOT` are three-valued, `""` and null are distinct, and a
//! predicate keeps a row only when it is true ([`evaluate_predicate`]).
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Array, Int64Array, RecordBatch};
//! use arrow_schema::{DataType, Field, Schema};
//! use msq_exec::expr::{evaluate, filter_batch};
//! use msq_plan::expr::{BinaryOp, Literal, ScalarExpr, SqlType};
//!
//! let schema = Arc::new(Schema::new(vec![Field::new("added", DataType::Int64, true)]));
//! let added = Int64Array::from(vec![Some(3), None, Some(9)]);
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(added)]).expect("valid batch");
//! let added = ScalarExpr::column(0, "added", SqlType::Bigint);
//! let gt = ScalarExpr::Binary {
//!     op: BinaryOp::Gt,
//!     left: Box::new(added),
//!     right: Box::new(ScalarExpr::literal(Literal::Long(4))),
//!     ty: SqlType::Boolean,
//! };
//! let mask = evaluate(&gt, &batch)?;
//! assert_eq!(mask.null_count(), 1); // null > 4 is null
//! assert_eq!(filter_batch(&batch, &gt)?.num_rows(), 1); // and drops the row
//! # Ok::<(), msq_common::MsqError>(())
//! ```

mod arith;
mod cast;
mod compare;
mod joda;
mod regex;
mod string;
mod time;

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array,
    RecordBatch, RecordBatchOptions, StringArray,
};
use arrow_buffer::BooleanBufferBuilder;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use msq_common::{internal_err, MsqError, Result};
use msq_plan::expr::{BinaryOp, Literal, ScalarExpr, ScalarFunction, SqlType};
use std::collections::BTreeSet;

pub use cast::{cast_array, java_double_to_string, java_float_to_string};

/// Evaluates `expr` over every row of `batch`.
///
/// The result has `batch.num_rows()` rows and the Arrow type [`arrow_type`] gives for
/// `expr.sql_type()`; a literal (or a typed `NULL`) is broadcast to the batch length.
/// Dictionary-encoded string columns come out as plain `Utf8`.
///
/// # Errors
/// `InvalidInput` (a planning error) for arguments Druid rejects when planning: an unknown
/// time zone, an invalid period or Joda pattern, a non-constant pattern argument, an invalid
/// `LIKE` escape; `QueryRuntimeError` for an invalid regular expression or group; an internal
/// error when the expression does not fit the batch (a column index out of range).
pub fn evaluate(expr: &ScalarExpr, batch: &RecordBatch) -> Result<ArrayRef> {
    eval(expr, batch)
}

/// Evaluates a predicate as a selection mask in which null counts as false (the semantics of
/// `WHERE`, `HAVING` and an aggregate's `FILTER (WHERE …)`). The mask has no nulls.
///
/// A conjunction is evaluated conjunct by conjunct, each only over the rows the ones before it
/// kept once those are few (at most a [`NARROW_BELOW`] share of the batch): `channel = '#de'
/// AND added >= 1998` compares `added` on an eighth of the rows. Under `WHERE` a null conjunct
/// drops the row like a false one, so skipping rows an earlier conjunct dropped changes no
/// answer; it can only spare an error a dropped row would have raised (SQL leaves the order in
/// which conjuncts are evaluated open).
pub fn evaluate_predicate(expr: &ScalarExpr, batch: &RecordBatch) -> Result<BooleanArray> {
    let mut conjuncts = Vec::new();
    split_conjunction(expr, &mut conjuncts);
    let rows = batch.num_rows();
    let mut mask: Option<BooleanArray> = None;
    for conjunct in conjuncts {
        mask = Some(match mask {
            None => predicate_mask(conjunct, batch)?,
            Some(mask) => {
                let kept = mask.true_count();
                if kept == 0 {
                    return Ok(mask);
                }
                if (kept as f64) > rows as f64 * NARROW_BELOW {
                    let next = predicate_mask(conjunct, batch)?;
                    BooleanArray::new(mask.values() & next.values(), None)
                } else {
                    let mut columns = BTreeSet::new();
                    conjunct.collect_columns(&mut columns);
                    let narrowed = filter_with_mask(batch, &mask, Some(&columns))?;
                    let next = predicate_mask(conjunct, &narrowed)?;
                    refine(&mask, &next)
                }
            }
        });
    }
    match mask {
        Some(mask) => Ok(mask),
        None => internal_err!("a predicate with no conjuncts"),
    }
}

/// The share of a batch's rows at or below which later conjuncts of a predicate are evaluated
/// over only the rows still kept (gathering the columns they read), rather than over the whole
/// batch and AND-ed.
pub const NARROW_BELOW: f64 = 0.25;

/// The conjuncts of `expr` (`a AND (b AND c)` → `a, b, c`), left to right.
fn split_conjunction<'e>(expr: &'e ScalarExpr, out: &mut Vec<&'e ScalarExpr>) {
    match expr {
        ScalarExpr::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            split_conjunction(left, out);
            split_conjunction(right, out);
        }
        other => out.push(other),
    }
}

/// One predicate's mask over `batch`, null as false.
fn predicate_mask(expr: &ScalarExpr, batch: &RecordBatch) -> Result<BooleanArray> {
    let array = eval_as(expr, batch, &SqlType::Boolean)?;
    let mask = downcast::<BooleanArray>(&array)?;
    Ok(null_as_false(mask))
}

/// `mask` with each kept row further kept only when `next` (one value per kept row, in order)
/// is true.
fn refine(mask: &BooleanArray, next: &BooleanArray) -> BooleanArray {
    let mut out = BooleanBufferBuilder::new(mask.len());
    out.append_n(mask.len(), false);
    for (row, keep) in mask.values().set_indices().zip(next.values().iter()) {
        if keep {
            out.set_bit(row, true);
        }
    }
    BooleanArray::new(out.finish(), None)
}

/// The rows of `batch` for which `predicate` is true (false and null drop the row).
pub fn filter_batch(batch: &RecordBatch, predicate: &ScalarExpr) -> Result<RecordBatch> {
    filter_batch_keeping(batch, predicate, None)
}

/// [`filter_batch`], materialising only the columns at the positions in `keep` (all when
/// `None`): the others become all-null `Null` columns of the filtered length, so a column that
/// only the predicate reads (or nothing reads) is never gathered.
///
/// # Errors
/// As [`filter_batch`].
pub fn filter_batch_keeping(
    batch: &RecordBatch,
    predicate: &ScalarExpr,
    keep: Option<&BTreeSet<usize>>,
) -> Result<RecordBatch> {
    let mask = evaluate_predicate(predicate, batch)?;
    filter_with_mask(batch, &mask, keep)
}

/// The rows of `batch` that `mask` (without nulls) selects, with only the columns in `keep`
/// gathered (as [`filter_batch_keeping`]).
fn filter_with_mask(
    batch: &RecordBatch,
    mask: &BooleanArray,
    keep: Option<&BTreeSet<usize>>,
) -> Result<RecordBatch> {
    let rows = mask.true_count();
    let all_pass = rows == batch.num_rows();
    let filter_err = |e: ArrowError| MsqError::internal(format!("filtering a batch failed: {e}"));
    let Some(keep) = keep else {
        if all_pass {
            return Ok(batch.clone());
        }
        return arrow_select::filter::filter_record_batch(batch, mask).map_err(filter_err);
    };
    let predicate = arrow_select::filter::FilterBuilder::new(mask)
        .optimize()
        .build();
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (i, (field, column)) in schema.fields().iter().zip(batch.columns()).enumerate() {
        if keep.contains(&i) {
            columns.push(if all_pass {
                Arc::clone(column)
            } else {
                predicate.filter(column).map_err(filter_err)?
            });
            fields.push(Arc::clone(field));
        } else {
            columns.push(new_null_array(&DataType::Null, rows));
            fields.push(Arc::new(Field::new(field.name(), DataType::Null, true)));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
        .map_err(filter_err)
}

/// The Arrow type used for a [`SqlType`] (the contract table of `msq_plan::expr`).
pub fn arrow_type(ty: &SqlType) -> DataType {
    match ty {
        SqlType::Timestamp | SqlType::Bigint => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Float => DataType::Float32,
        SqlType::Varchar => DataType::Utf8,
        SqlType::Boolean => DataType::Boolean,
        SqlType::Null => DataType::Null,
        SqlType::Complex(_) => DataType::Binary,
    }
}

/// Evaluates `expr` and makes sure the result has the Arrow form of its SQL type.
fn eval(expr: &ScalarExpr, batch: &RecordBatch) -> Result<ArrayRef> {
    let rows = batch.num_rows();
    let ty = expr.sql_type();
    let array = match expr {
        ScalarExpr::Column { index, name, ty } => {
            let Some(column) = batch.columns().get(*index) else {
                internal_err!(
                    "column {name} refers to position {index} of a batch with {} columns",
                    batch.num_columns()
                );
            };
            cast_array(column, ty)?
        }
        ScalarExpr::Literal(literal) => literal_array(literal, rows),
        ScalarExpr::Cast { expr: inner, to } => {
            let from = inner.sql_type();
            let array = eval(inner, batch)?;
            cast::cast_from(&array, &from, to)?
        }
        ScalarExpr::Binary {
            op,
            left,
            right,
            ty,
        } => eval_binary(*op, left, right, ty, batch)?,
        ScalarExpr::Not(inner) => {
            let array = eval_as(inner, batch, &SqlType::Boolean)?;
            Arc::new(compare::not(downcast::<BooleanArray>(&array)?))
        }
        ScalarExpr::Negative(inner) => {
            let array = eval(inner, batch)?;
            arith::negate(&array, &inner.sql_type())?
        }
        ScalarExpr::IsNull {
            expr: inner,
            negated,
        } => {
            let array = eval(inner, batch)?;
            // Logical nulls: a `NullArray` (an untyped NULL) has no validity buffer.
            let nulls = array.logical_nulls();
            let values: BooleanArray = (0..array.len())
                .map(|i| Some(nulls.as_ref().is_some_and(|n| n.is_null(i)) != *negated))
                .collect();
            Arc::new(values)
        }
        ScalarExpr::InList {
            expr: inner,
            list,
            negated,
        } => eval_in_list(inner, list, *negated, batch)?,
        ScalarExpr::Like {
            expr: inner,
            pattern,
            escape,
            negated,
        } => {
            let array = eval_as(inner, batch, &SqlType::Varchar)?;
            let matcher = string::LikeMatcher::new(pattern, *escape)?;
            Arc::new(matcher.evaluate(downcast::<StringArray>(&array)?, *negated))
        }
        ScalarExpr::Case {
            branches,
            otherwise,
            ty,
        } => eval_case(branches, otherwise.as_deref(), ty, batch)?,
        ScalarExpr::Function { func, args, ty } => eval_function(func, args, ty, batch)?,
    };
    conform(array, &ty, rows)
}

/// Evaluates `expr` and casts the result to `ty` (a no-op when it already has that type).
fn eval_as(expr: &ScalarExpr, batch: &RecordBatch, ty: &SqlType) -> Result<ArrayRef> {
    let array = eval(expr, batch)?;
    let from = expr.sql_type();
    if &from == ty {
        return Ok(array);
    }
    cast::cast_from(&array, &from, ty)
}

/// Evaluates a comparison operand cast to `ty`: a literal as a single value (the comparison
/// kernels broadcast it), anything else over the whole batch.
fn eval_operand(expr: &ScalarExpr, batch: &RecordBatch, ty: &SqlType) -> Result<ArrayRef> {
    match expr {
        ScalarExpr::Literal(literal) if batch.num_rows() > 0 => {
            let one = literal_array(literal, 1);
            cast::cast_from(&one, &literal.sql_type(), ty)
        }
        _ => eval_as(expr, batch, ty),
    }
}

/// Checks an evaluated array against the contract: the batch length and the Arrow form of
/// the node's type (casting when a kernel produced a compatible but different form).
fn conform(array: ArrayRef, ty: &SqlType, rows: usize) -> Result<ArrayRef> {
    if array.len() != rows {
        internal_err!(
            "expression produced {} values for a batch of {rows} rows",
            array.len()
        );
    }
    if array.data_type() == &arrow_type(ty) {
        Ok(array)
    } else {
        cast_array(&array, ty)
    }
}

/// A literal broadcast to `rows` values.
fn literal_array(literal: &Literal, rows: usize) -> ArrayRef {
    match literal {
        Literal::Null(ty) => new_null_array(&arrow_type(ty), rows),
        Literal::Long(v) | Literal::Timestamp(v) => Arc::new(Int64Array::from_value(*v, rows)),
        Literal::Double(v) => Arc::new(Float64Array::from_value(*v, rows)),
        Literal::String(s) => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            s.as_str(),
            rows,
        ))),
        Literal::Boolean(b) => Arc::new(BooleanArray::from(vec![*b; rows])),
    }
}

/// The value of an argument that binding guarantees to be a constant (time zones, patterns,
/// periods, origins). A literal is taken as is; any other expression without column
/// references (`CAST('…' AS TIMESTAMP)`, `'a' || 'b'`) is folded by evaluating it over one
/// row. `None` for null.
fn constant_arg(func: &str, args: &[ScalarExpr], index: usize) -> Result<Option<Literal>> {
    let Some(arg) = args.get(index) else {
        return Ok(None);
    };
    if let ScalarExpr::Literal(literal) = arg {
        return Ok(match literal {
            Literal::Null(_) => None,
            other => Some(other.clone()),
        });
    }
    if !is_constant(arg) {
        return Err(MsqError::plan(format!(
            "Function[{func}] argument #{} must be a literal",
            index + 1
        )));
    }
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::empty()),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| MsqError::internal(format!("building a one-row batch failed: {e}")))?;
    let value = eval(arg, &one_row)?;
    scalar_literal(&value, &arg.sql_type())
}

/// Whether an expression refers to no column (so it is the same on every row).
fn is_constant(expr: &ScalarExpr) -> bool {
    match expr {
        ScalarExpr::Column { .. } => false,
        ScalarExpr::Literal(_) => true,
        ScalarExpr::Cast { expr, .. }
        | ScalarExpr::Not(expr)
        | ScalarExpr::Negative(expr)
        | ScalarExpr::IsNull { expr, .. }
        | ScalarExpr::Like { expr, .. } => is_constant(expr),
        ScalarExpr::Binary { left, right, .. } => is_constant(left) && is_constant(right),
        ScalarExpr::InList { expr, list, .. } => is_constant(expr) && list.iter().all(is_constant),
        ScalarExpr::Case {
            branches,
            otherwise,
            ..
        } => {
            branches
                .iter()
                .all(|(c, v)| is_constant(c) && is_constant(v))
                && otherwise.as_deref().is_none_or(is_constant)
        }
        ScalarExpr::Function { args, .. } => args.iter().all(is_constant),
    }
}

/// Row 0 of an evaluated array as a literal (`None` when null).
fn scalar_literal(array: &ArrayRef, ty: &SqlType) -> Result<Option<Literal>> {
    if array.is_empty() || array.logical_nulls().is_some_and(|n| n.is_null(0)) {
        return Ok(None);
    }
    Ok(Some(match ty {
        SqlType::Timestamp => Literal::Timestamp(downcast::<Int64Array>(array)?.value(0)),
        SqlType::Bigint => Literal::Long(downcast::<Int64Array>(array)?.value(0)),
        SqlType::Double => Literal::Double(downcast::<Float64Array>(array)?.value(0)),
        SqlType::Float => Literal::Double(f64::from(
            downcast::<arrow_array::Float32Array>(array)?.value(0),
        )),
        SqlType::Varchar => Literal::String(downcast::<StringArray>(array)?.value(0).to_owned()),
        SqlType::Boolean => Literal::Boolean(downcast::<BooleanArray>(array)?.value(0)),
        SqlType::Null => return Ok(None),
        SqlType::Complex(_) => internal_err!("a COMPLEX value cannot be a constant argument"),
    }))
}

/// A constant string argument (see [`constant_arg`]).
fn constant_string(func: &str, args: &[ScalarExpr], index: usize) -> Result<Option<String>> {
    match constant_arg(func, args, index)? {
        None => Ok(None),
        Some(Literal::String(s)) => Ok(Some(s)),
        Some(other) => Err(MsqError::plan(format!(
            "Function[{func}] argument #{} must be a string literal, got {other:?}",
            index + 1
        ))),
    }
}

/// `left op right`.
/// `column <op> 'text'` (either way round) over a dictionary-encoded string column: compared
/// once per dictionary value, then each row takes its key's answer (a null key, null). `None`
/// when the operands are not of that shape, for the general path.
fn compare_dictionary_with_literal(
    op: BinaryOp,
    left: &ScalarExpr,
    right: &ScalarExpr,
    batch: &RecordBatch,
) -> Result<Option<BooleanArray>> {
    let (index, literal, column_first) = match (left, right) {
        (ScalarExpr::Column { index, .. }, ScalarExpr::Literal(literal)) => (index, literal, true),
        (ScalarExpr::Literal(literal), ScalarExpr::Column { index, .. }) => (index, literal, false),
        _ => return Ok(None),
    };
    if left.sql_type() != SqlType::Varchar || right.sql_type() != SqlType::Varchar {
        return Ok(None);
    }
    let Some(dictionary) = batch
        .columns()
        .get(*index)
        .and_then(|c| c.as_any().downcast_ref::<DictionaryArray<Int32Type>>())
    else {
        return Ok(None);
    };
    let values = dictionary.values();
    if values.data_type() != &DataType::Utf8 {
        return Ok(None);
    }
    let text = literal_array(literal, values.len());
    let per_value = if column_first {
        compare::compare(op, values, &text)?
    } else {
        compare::compare(op, &text, values)?
    };
    let per_row = arrow_select::take::take(&per_value, dictionary.keys(), None)
        .map_err(|e| MsqError::internal(format!("comparing a dictionary column: {e}")))?;
    Ok(Some(downcast::<BooleanArray>(&per_row)?.clone()))
}

fn eval_binary(
    op: BinaryOp,
    left: &ScalarExpr,
    right: &ScalarExpr,
    ty: &SqlType,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    match op {
        BinaryOp::And | BinaryOp::Or => {
            let l = eval_as(left, batch, &SqlType::Boolean)?;
            let r = eval_as(right, batch, &SqlType::Boolean)?;
            let (l, r) = (downcast::<BooleanArray>(&l)?, downcast::<BooleanArray>(&r)?);
            Ok(Arc::new(if op == BinaryOp::And {
                compare::and(l, r)
            } else {
                compare::or(l, r)
            }))
        }
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => {
            if let Some(result) = compare_dictionary_with_literal(op, left, right, batch)? {
                return Ok(Arc::new(result));
            }
            let common = common_type(&left.sql_type(), &right.sql_type());
            let l = eval_operand(left, batch, &common)?;
            let r = eval_operand(right, batch, &common)?;
            let mut result = compare::compare(op, &l, &r)?;
            if result.len() != batch.num_rows() {
                // Both sides were literals.
                let value = result.iter().next().flatten();
                result = vec![value; batch.num_rows()].into_iter().collect();
            }
            Ok(Arc::new(result))
        }
        BinaryOp::Concat => {
            let l = eval_as(left, batch, &SqlType::Varchar)?;
            let r = eval_as(right, batch, &SqlType::Varchar)?;
            string::concat(&[l, r], batch.num_rows())
        }
        BinaryOp::Plus
        | BinaryOp::Minus
        | BinaryOp::Multiply
        | BinaryOp::Divide
        | BinaryOp::Modulo => {
            let operand_ty = arith::operand_type(ty, &left.sql_type(), &right.sql_type());
            let l = eval_as(left, batch, &operand_ty)?;
            let r = eval_as(right, batch, &operand_ty)?;
            arith::binary(op, &l, &r, &operand_ty)
        }
    }
}

/// The type two operands are compared as when the binder left them different (it normally
/// casts both sides to one type): the non-null one; TIMESTAMP/BIGINT as BIGINT; a TIMESTAMP
/// against a string as TIMESTAMP (the string parsed as a date-time); mixed numbers as DOUBLE;
/// a number against a string as DOUBLE (Druid compares them numerically); anything else as
/// VARCHAR.
fn common_type(left: &SqlType, right: &SqlType) -> SqlType {
    use SqlType::*;
    match (left, right) {
        (a, b) if a == b => a.clone(),
        (Null, other) | (other, Null) => other.clone(),
        (Timestamp, Varchar) | (Varchar, Timestamp) => Timestamp,
        (Timestamp | Bigint, Timestamp | Bigint) => Bigint,
        (a, b) if a.is_numeric() && b.is_numeric() => Double,
        (Boolean, Bigint) | (Bigint, Boolean) => Bigint,
        (a, Varchar) | (Varchar, a) if a.is_numeric() => Double,
        _ => Varchar,
    }
}

/// `expr [NOT] IN (list…)`: an OR of equalities, so `x IN (1, NULL)` is null (not false) when
/// `x <> 1`, as in SQL.
fn eval_in_list(
    expr: &ScalarExpr,
    list: &[ScalarExpr],
    negated: bool,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let ty = list.iter().fold(expr.sql_type(), |acc, item| {
        common_type(&acc, &item.sql_type())
    });
    let value = eval_as(expr, batch, &ty)?;
    if let Some(result) = in_literal_set(&value, list, &ty)? {
        return Ok(Arc::new(if negated {
            compare::not(&result)
        } else {
            result
        }));
    }
    let mut result = BooleanArray::from(vec![false; batch.num_rows()]);
    for item in list {
        let candidate = eval_operand(item, batch, &ty)?;
        let eq = compare::compare(BinaryOp::Eq, &value, &candidate)?;
        result = compare::or(&result, &eq);
    }
    Ok(Arc::new(if negated {
        compare::not(&result)
    } else {
        result
    }))
}

/// The hash-set form of `IN` for a list of `BIGINT`/`TIMESTAMP` or `VARCHAR` literals (the
/// common `dim IN ('a', 'b', …)`), with the same null rules as the OR of equalities: a null
/// value, or no match when the list holds a NULL, gives null. `None` when the list does not
/// have that shape.
fn in_literal_set(
    value: &ArrayRef,
    list: &[ScalarExpr],
    ty: &SqlType,
) -> Result<Option<BooleanArray>> {
    use std::collections::HashSet;
    if list.len() < 4 || !list.iter().all(|e| matches!(e, ScalarExpr::Literal(_))) {
        return Ok(None);
    }
    // Each literal in the comparison type, evaluated as one value.
    let mut values = Vec::with_capacity(list.len());
    for item in list {
        let ScalarExpr::Literal(literal) = item else {
            return Ok(None);
        };
        values.push(cast::cast_from(
            &literal_array(literal, 1),
            &literal.sql_type(),
            ty,
        )?);
    }
    let has_null = values.iter().any(|v| v.logical_null_count() > 0);
    let decide = |found: bool| -> Option<bool> {
        if found {
            Some(true)
        } else if has_null {
            None
        } else {
            Some(false)
        }
    };
    Ok(match ty {
        SqlType::Bigint | SqlType::Timestamp => {
            let mut set = HashSet::new();
            for v in &values {
                set.extend(downcast::<Int64Array>(v)?.iter().flatten());
            }
            let out = downcast::<Int64Array>(value)?
                .iter()
                .map(|v| v.and_then(|v| decide(set.contains(&v))))
                .collect();
            Some(out)
        }
        SqlType::Varchar => {
            let mut set = HashSet::new();
            for v in &values {
                set.extend(downcast::<StringArray>(v)?.iter().flatten());
            }
            let out = downcast::<StringArray>(value)?
                .iter()
                .map(|v| v.and_then(|v| decide(set.contains(v))))
                .collect();
            Some(out)
        }
        _ => None,
    })
}

/// `CASE WHEN c THEN v … ELSE e END`: the first branch whose condition is true gives the
/// row's value (false and null fall through); no match and no `ELSE` gives null.
fn eval_case(
    branches: &[(ScalarExpr, ScalarExpr)],
    otherwise: Option<&ScalarExpr>,
    ty: &SqlType,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let rows = batch.num_rows();
    let mut values: Vec<ArrayRef> = Vec::with_capacity(branches.len() + 1);
    // Row -> index into `values`; `usize::MAX` while undecided.
    let mut chosen = vec![usize::MAX; rows];
    for (condition, value) in branches {
        let mask = evaluate_predicate(condition, batch)?;
        let index = values.len();
        values.push(eval_as(value, batch, ty)?);
        for (row, slot) in chosen.iter_mut().enumerate() {
            if *slot == usize::MAX && mask.value(row) {
                *slot = index;
            }
        }
    }
    let fallback = values.len();
    values.push(match otherwise {
        Some(e) => eval_as(e, batch, ty)?,
        None => new_null_array(&arrow_type(ty), rows),
    });
    pick_rows(&values, &chosen, fallback)
}

/// Builds an array whose row `r` is row `r` of `values[chosen[r]]` (`fallback` where
/// `chosen[r]` is `usize::MAX`).
fn pick_rows(values: &[ArrayRef], chosen: &[usize], fallback: usize) -> Result<ArrayRef> {
    let indices: Vec<(usize, usize)> = chosen
        .iter()
        .enumerate()
        .map(|(row, &i)| (if i == usize::MAX { fallback } else { i }, row))
        .collect();
    if let Some(first) = indices.first().map(|(i, _)| *i) {
        if indices.iter().all(|(i, _)| *i == first) {
            return Ok(values[first].clone());
        }
    } else if let Some(v) = values.first() {
        return Ok(v.slice(0, 0));
    }
    let refs: Vec<&dyn Array> = values.iter().map(|a| a.as_ref()).collect();
    arrow_select::interleave::interleave(&refs, &indices)
        .map_err(|e| MsqError::internal(format!("CASE: interleave failed: {e}")))
}

/// A function call.
fn eval_function(
    func: &ScalarFunction,
    args: &[ScalarExpr],
    ty: &SqlType,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    use ScalarFunction as F;
    match func {
        F::Coalesce => {
            let values = args
                .iter()
                .map(|a| eval_as(a, batch, ty))
                .collect::<Result<Vec<_>>>()?;
            let nulls: Vec<_> = values.iter().map(|v| v.logical_nulls()).collect();
            let chosen: Vec<usize> = (0..batch.num_rows())
                .map(|row| {
                    nulls
                        .iter()
                        .position(|n| n.as_ref().is_none_or(|n| n.is_valid(row)))
                        .unwrap_or(usize::MAX)
                })
                .collect();
            if values.is_empty() {
                return Ok(new_null_array(&arrow_type(ty), batch.num_rows()));
            }
            pick_rows(&values, &chosen, values.len() - 1)
        }
        F::Nullif => {
            let [a, b] = args else {
                internal_err!("NULLIF takes 2 arguments, got {}", args.len());
            };
            let common = common_type(&a.sql_type(), &b.sql_type());
            let left = eval_as(a, batch, &common)?;
            let right = eval_as(b, batch, &common)?;
            let eq = compare::compare(BinaryOp::Eq, &left, &right)?;
            let value = eval_as(a, batch, ty)?;
            arrow_select::nullif::nullif(value.as_ref(), &eq)
                .map_err(|e| MsqError::internal(format!("NULLIF failed: {e}")))
        }
        F::Lower
        | F::Upper
        | F::Concat
        | F::Substring
        | F::Trim(_)
        | F::Length
        | F::Replace
        | F::Strpos => string::eval_function(func, args, batch),
        F::RegexpExtract | F::RegexpLike => regex::eval_function(func, args, batch),
        F::Abs | F::Floor | F::Ceil | F::Round | F::Mod | F::Power | F::Ln | F::Sqrt => {
            arith::eval_function(func, args, ty, batch)
        }
        F::TimeParse
        | F::TimeFormat
        | F::TimeFloor
        | F::TimeCeil
        | F::TimeShift
        | F::TimeExtract(_)
        | F::MillisToTimestamp
        | F::TimestampToMillis => time::eval_function(func, args, batch),
    }
}

/// Downcasts an evaluated array to its concrete type (a mismatch is an evaluator bug).
fn downcast<T: Array + 'static>(array: &ArrayRef) -> Result<&T> {
    match array.as_any().downcast_ref::<T>() {
        Some(a) => Ok(a),
        None => Err(MsqError::internal(format!(
            "expected a {} array, found {}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("different"),
            array.data_type()
        ))),
    }
}

/// A mask with nulls turned into false.
fn null_as_false(mask: &BooleanArray) -> BooleanArray {
    match mask.nulls() {
        None => mask.clone(),
        Some(nulls) => BooleanArray::new(mask.values() & nulls.inner(), None),
    }
}
