//! Comparisons and three-valued logic.
//!
//! - `=`, `<>`, `<`, `<=`, `>`, `>=` compare two arrays of the same canonical type: integers
//!   and timestamps as `i64`, floating point numerically (a `NaN` operand compares false for
//!   everything but `<>`, as IEEE and SQL), strings lexicographically by UTF-8 bytes (Druid's
//!   `StringComparators.LEXICOGRAPHIC`), booleans with false < true. A null operand gives null.
//! - `AND` / `OR` / `NOT` are SQL's three-valued logic: `false AND null` is false, `true OR
//!   null` is true, every other combination with a null is null.

use std::cmp::Ordering;

use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayAccessor, ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray, StringArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::DataType;
use msq_common::{MsqError, Result};
use msq_plan::expr::BinaryOp;

use super::downcast;

/// Compares `left op right` row by row; both arrays have the same canonical Arrow type. A
/// side of length 1 (a literal) is compared with every row of the other.
pub(crate) fn compare(op: BinaryOp, left: &ArrayRef, right: &ArrayRef) -> Result<BooleanArray> {
    let test = |ord: Option<Ordering>| -> bool {
        match ord {
            None => op == BinaryOp::NotEq,
            Some(o) => match op {
                BinaryOp::Eq => o == Ordering::Equal,
                BinaryOp::NotEq => o != Ordering::Equal,
                BinaryOp::Lt => o == Ordering::Less,
                BinaryOp::LtEq => o != Ordering::Greater,
                BinaryOp::Gt => o == Ordering::Greater,
                BinaryOp::GtEq => o != Ordering::Less,
                _ => false,
            },
        }
    };
    if left.data_type() != right.data_type() {
        return Err(MsqError::internal(format!(
            "cannot compare {} with {}",
            left.data_type(),
            right.data_type()
        )));
    }
    if left.len() != right.len() && left.len() != 1 && right.len() != 1 {
        return Err(MsqError::internal(format!(
            "cannot compare arrays of {} and {} rows",
            left.len(),
            right.len()
        )));
    }
    Ok(match left.data_type() {
        DataType::Null => (0..left.len().max(right.len()))
            .map(|_| None::<bool>)
            .collect(),
        DataType::Int64 => cmp_primitive(
            downcast::<PrimitiveArray<Int64Type>>(left)?,
            downcast::<PrimitiveArray<Int64Type>>(right)?,
            |a, b| test(Some(a.cmp(&b))),
        ),
        DataType::Float64 => cmp_primitive(
            downcast::<PrimitiveArray<Float64Type>>(left)?,
            downcast::<PrimitiveArray<Float64Type>>(right)?,
            |a, b| test(a.partial_cmp(&b)),
        ),
        DataType::Float32 => cmp_primitive(
            downcast::<PrimitiveArray<Float32Type>>(left)?,
            downcast::<PrimitiveArray<Float32Type>>(right)?,
            |a, b| test(a.partial_cmp(&b)),
        ),
        DataType::Utf8 => cmp_arrays(
            downcast::<StringArray>(left)?,
            downcast::<StringArray>(right)?,
            |a, b| test(Some(a.as_bytes().cmp(b.as_bytes()))),
        ),
        DataType::Boolean => cmp_arrays(
            downcast::<BooleanArray>(left)?,
            downcast::<BooleanArray>(right)?,
            |a, b| test(Some(a.cmp(&b))),
        ),
        other => {
            return Err(MsqError::plan(format!(
                "Cannot apply comparison to values of Arrow type {other}"
            )))
        }
    })
}

/// Applies `f` to pairs of non-null values (a length-1 side is broadcast); a null on either
/// side gives null.
fn cmp_arrays<A: ArrayAccessor + Copy>(
    left: A,
    right: A,
    f: impl Fn(A::Item, A::Item) -> bool,
) -> BooleanArray {
    let len = if left.len() == 1 {
        right.len()
    } else {
        left.len()
    };
    let (lb, rb) = (left.len() == 1, right.len() == 1);
    (0..len)
        .map(|i| {
            let (a, b) = (if lb { 0 } else { i }, if rb { 0 } else { i });
            if left.is_null(a) || right.is_null(b) {
                None
            } else {
                Some(f(left.value(a), right.value(b)))
            }
        })
        .collect()
}

/// [`cmp_arrays`] for numbers: a tight loop over the values into a bitmap, the nulls taken
/// from the operands' null bitmaps (a null literal makes every row null).
fn cmp_primitive<T: ArrowPrimitiveType>(
    left: &PrimitiveArray<T>,
    right: &PrimitiveArray<T>,
    f: impl Fn(T::Native, T::Native) -> bool,
) -> BooleanArray {
    let (l, r) = (left.values(), right.values());
    let (values, nulls) = match (left.len(), right.len()) {
        (1, len) if len != 1 => {
            if left.is_null(0) {
                return BooleanArray::new_null(len);
            }
            let a = l[0];
            (
                BooleanBuffer::collect_bool(len, |i| f(a, r[i])),
                right.nulls().cloned(),
            )
        }
        (len, 1) => {
            if right.is_null(0) {
                return BooleanArray::new_null(len);
            }
            let b = r[0];
            (
                BooleanBuffer::collect_bool(len, |i| f(l[i], b)),
                left.nulls().cloned(),
            )
        }
        (len, _) => (
            BooleanBuffer::collect_bool(len, |i| f(l[i], r[i])),
            NullBuffer::union(left.nulls(), right.nulls()),
        ),
    };
    BooleanArray::new(values, nulls)
}

/// The rows of `array` that are true, and those that are false (a null row is neither).
fn truth(array: &BooleanArray) -> (BooleanBuffer, BooleanBuffer) {
    let values = array.values();
    match array.nulls() {
        None => (values.clone(), !values),
        Some(valid) => (values & valid.inner(), &!values & valid.inner()),
    }
}

/// The array that is true where `t`, false where `f`, and null elsewhere.
fn from_truth(t: BooleanBuffer, f: &BooleanBuffer) -> BooleanArray {
    let valid = &t | f;
    let nulls = (valid.count_set_bits() < valid.len()).then(|| NullBuffer::new(valid));
    BooleanArray::new(t, nulls)
}

/// Three-valued `AND`.
pub(crate) fn and(left: &BooleanArray, right: &BooleanArray) -> BooleanArray {
    if left.len() == right.len() {
        let ((lt, lf), (rt, rf)) = (truth(left), truth(right));
        return from_truth(&lt & &rt, &(&lf | &rf));
    }
    left.iter()
        .zip(right.iter())
        .map(|(a, b)| match (a, b) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        })
        .collect()
}

/// Three-valued `OR`.
pub(crate) fn or(left: &BooleanArray, right: &BooleanArray) -> BooleanArray {
    if left.len() == right.len() {
        let ((lt, lf), (rt, rf)) = (truth(left), truth(right));
        return from_truth(&lt | &rt, &(&lf & &rf));
    }
    left.iter()
        .zip(right.iter())
        .map(|(a, b)| match (a, b) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        })
        .collect()
}

/// Three-valued `NOT` (null stays null).
pub(crate) fn not(values: &BooleanArray) -> BooleanArray {
    BooleanArray::new(!values.values(), values.nulls().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array};
    use std::sync::Arc;

    #[test]
    fn numbers_compare_with_literals_and_arrays_keeping_nulls() {
        let rows: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(5),
            None,
            Some(1000),
            Some(2000),
        ]));
        let literal: ArrayRef = Arc::new(Int64Array::from(vec![1000]));
        let null: ArrayRef = Arc::new(Int64Array::from(vec![None::<i64>]));
        let gt = compare(BinaryOp::Gt, &rows, &literal).unwrap();
        assert_eq!(gt, bools(&[Some(false), None, Some(false), Some(true)]));
        let le = compare(BinaryOp::LtEq, &literal, &rows).unwrap();
        assert_eq!(le, bools(&[Some(false), None, Some(true), Some(true)]));
        let with_null = compare(BinaryOp::Eq, &rows, &null).unwrap();
        assert_eq!(with_null, bools(&[None, None, None, None]));
        let other: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), Some(1), None, Some(1)]));
        let eq = compare(BinaryOp::Eq, &rows, &other).unwrap();
        assert_eq!(eq, bools(&[Some(true), None, None, Some(false)]));
        let one = compare(BinaryOp::Eq, &literal, &literal).unwrap();
        assert_eq!(one, bools(&[Some(true)]));
    }

    fn bools(v: &[Option<bool>]) -> BooleanArray {
        v.iter().copied().collect()
    }

    #[test]
    fn three_valued_logic_truth_table() {
        let t = Some(true);
        let f = Some(false);
        let n = None;
        let l = bools(&[t, t, t, f, f, f, n, n, n]);
        let r = bools(&[t, f, n, t, f, n, t, f, n]);
        let and_want = bools(&[t, f, n, f, f, f, n, f, n]);
        let or_want = bools(&[t, t, t, t, f, n, t, n, n]);
        assert_eq!(and(&l, &r), and_want);
        assert_eq!(or(&l, &r), or_want);
        assert_eq!(not(&bools(&[t, f, n])), bools(&[f, t, n]));
    }

    #[test]
    fn strings_compare_by_utf8_bytes() {
        let l: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("Z"),
            Some("é"),
            None,
            Some(""),
        ]));
        let r: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            Some("a"),
            Some("z"),
            Some("x"),
            Some(""),
        ]));
        let lt = compare(BinaryOp::Lt, &l, &r).unwrap();
        assert_eq!(
            lt,
            bools(&[Some(true), Some(true), Some(false), None, Some(false)])
        );
        let eq = compare(BinaryOp::Eq, &l, &r).unwrap();
        assert!(eq.value(4));
    }

    #[test]
    fn nan_compares_false_except_not_equal() {
        let l: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN, 1.0]));
        let r: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN, 1.0]));
        assert_eq!(
            compare(BinaryOp::Eq, &l, &r).unwrap(),
            bools(&[Some(false), Some(true)])
        );
        assert_eq!(
            compare(BinaryOp::NotEq, &l, &r).unwrap(),
            bools(&[Some(true), Some(false)])
        );
        assert_eq!(
            compare(BinaryOp::GtEq, &l, &r).unwrap(),
            bools(&[Some(false), Some(true)])
        );
    }
}
