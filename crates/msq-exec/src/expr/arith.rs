//! Arithmetic operators and math functions.
//!
//! Operands of a binary operator are first cast to one type (the binder normally has done it:
//! `BIGINT op DOUBLE` is `DOUBLE op DOUBLE`). Rules, following Druid's expression language
//! (`org.apache.druid.math.expr`) in SQL-compatible null mode:
//!
//! | operation | `BIGINT` (and `TIMESTAMP` millis) | `DOUBLE` / `FLOAT` |
//! |---|---|---|
//! | `+ - *` | two's complement, wrapping on overflow (Java `long`) | IEEE 754 |
//! | `/` | truncates toward zero; `x / 0` is null | IEEE (`1/0.0` = `Infinity`, `0/0.0` = `NaN`) |
//! | `%`, `MOD` | sign follows the dividend; `x % 0` is null | IEEE `fmod` (sign of the dividend) |
//! | `ABS`, `-x` | wrapping (`ABS(i64::MIN)` = `i64::MIN`, as Java) | sign cleared / flipped |
//! | `FLOOR`, `CEIL` | the value itself | toward −∞ / +∞ |
//! | `ROUND(x, d)` | `d ≥ 0`: `x`; `d < 0`: to a multiple of `10^-d`, half away from zero | half away from zero on the decimal value Java prints (`BigDecimal.valueOf(x).setScale(d, HALF_UP)`, so `ROUND(2.675, 2)` = 2.68) |
//!
//! `POWER`, `LN` and `SQRT` compute in `DOUBLE` with Java's `Math` semantics: `LN(0)` is
//! `-Infinity`, `LN(-1)` and `SQRT(-1)` are `NaN` (not null), as Druid returns them.
//! A null operand gives null everywhere.

use std::sync::Arc;

use arrow_array::{
    new_null_array, Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch,
};
use msq_common::{internal_err, MsqError, Result};
use msq_plan::expr::{BinaryOp, ScalarExpr, ScalarFunction, SqlType};

use super::{arrow_type, downcast, eval_as};

/// The type both operands of an arithmetic operator are evaluated as, given the result type
/// `ty` (`TIMESTAMP ± millis` computes on `BIGINT`s).
pub(crate) fn operand_type(ty: &SqlType, left: &SqlType, right: &SqlType) -> SqlType {
    match ty {
        SqlType::Timestamp | SqlType::Bigint => SqlType::Bigint,
        SqlType::Double | SqlType::Float => ty.clone(),
        SqlType::Null => SqlType::Null,
        // Not a number type: fall back on the operands (DOUBLE unless both are integers).
        _ => match (left, right) {
            (SqlType::Bigint | SqlType::Timestamp, SqlType::Bigint | SqlType::Timestamp) => {
                SqlType::Bigint
            }
            _ => SqlType::Double,
        },
    }
}

/// `left op right` on two arrays of the canonical type of `ty`.
pub(crate) fn binary(
    op: BinaryOp,
    left: &ArrayRef,
    right: &ArrayRef,
    ty: &SqlType,
) -> Result<ArrayRef> {
    Ok(match ty {
        SqlType::Bigint | SqlType::Timestamp => {
            let f: fn(i64, i64) -> Option<i64> = match op {
                BinaryOp::Plus => |a, b| Some(a.wrapping_add(b)),
                BinaryOp::Minus => |a, b| Some(a.wrapping_sub(b)),
                BinaryOp::Multiply => |a, b| Some(a.wrapping_mul(b)),
                BinaryOp::Divide => |a, b| (b != 0).then(|| a.wrapping_div(b)),
                BinaryOp::Modulo => |a, b| (b != 0).then(|| a.wrapping_rem(b)),
                other => internal_err!("{other:?} is not an arithmetic operator"),
            };
            Arc::new(zip_map::<i64, Int64Array>(
                downcast::<Int64Array>(left)?.iter(),
                downcast::<Int64Array>(right)?.iter(),
                f,
            ))
        }
        SqlType::Double => {
            let f = float_op::<f64>(op)?;
            Arc::new(zip_map::<f64, Float64Array>(
                downcast::<Float64Array>(left)?.iter(),
                downcast::<Float64Array>(right)?.iter(),
                f,
            ))
        }
        SqlType::Float => {
            let f = float_op::<f32>(op)?;
            Arc::new(zip_map::<f32, Float32Array>(
                downcast::<Float32Array>(left)?.iter(),
                downcast::<Float32Array>(right)?.iter(),
                f,
            ))
        }
        SqlType::Null => new_null_array(&arrow_type(ty), left.len()),
        other => {
            return Err(MsqError::plan(format!(
                "Cannot apply '{}' to arguments of type '{other}'",
                op_symbol(op)
            )))
        }
    })
}

/// The SQL spelling of an arithmetic operator (for messages).
fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Plus => "+",
        BinaryOp::Minus => "-",
        BinaryOp::Multiply => "*",
        BinaryOp::Divide => "/",
        BinaryOp::Modulo => "%",
        _ => "?",
    }
}

/// IEEE arithmetic on `f64` or `f32`.
fn float_op<T>(op: BinaryOp) -> Result<fn(T, T) -> Option<T>>
where
    T: std::ops::Add<Output = T>
        + std::ops::Sub<Output = T>
        + std::ops::Mul<Output = T>
        + std::ops::Div<Output = T>
        + std::ops::Rem<Output = T>,
{
    Ok(match op {
        BinaryOp::Plus => |a, b| Some(a + b),
        BinaryOp::Minus => |a, b| Some(a - b),
        BinaryOp::Multiply => |a, b| Some(a * b),
        BinaryOp::Divide => |a, b| Some(a / b),
        BinaryOp::Modulo => |a, b| Some(a % b),
        other => internal_err!("{other:?} is not an arithmetic operator"),
    })
}

/// Applies `f` to pairs of non-null values (null on either side, or a `None` result, is null).
fn zip_map<T, A: FromIterator<Option<T>>>(
    left: impl Iterator<Item = Option<T>>,
    right: impl Iterator<Item = Option<T>>,
    f: impl Fn(T, T) -> Option<T>,
) -> A {
    left.zip(right)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => f(a, b),
            _ => None,
        })
        .collect()
}

/// Applies `f` to the non-null values of a unary operand.
fn unary_map<T, U, A: FromIterator<Option<U>>>(
    values: impl Iterator<Item = Option<T>>,
    f: impl Fn(T) -> U,
) -> A {
    values.map(|v| v.map(&f)).collect()
}

/// `-x`.
pub(crate) fn negate(array: &ArrayRef, ty: &SqlType) -> Result<ArrayRef> {
    map_number(array, ty, "-", i64::wrapping_neg, |v| -v, |v| -v)
}

/// Applies a per-type unary function to a numeric array.
fn map_number(
    array: &ArrayRef,
    ty: &SqlType,
    name: &str,
    int: impl Fn(i64) -> i64,
    double: impl Fn(f64) -> f64,
    float: impl Fn(f32) -> f32,
) -> Result<ArrayRef> {
    Ok(match ty {
        SqlType::Bigint | SqlType::Timestamp => Arc::new(unary_map::<_, _, Int64Array>(
            downcast::<Int64Array>(array)?.iter(),
            int,
        )),
        SqlType::Double => Arc::new(unary_map::<_, _, Float64Array>(
            downcast::<Float64Array>(array)?.iter(),
            double,
        )),
        SqlType::Float => Arc::new(unary_map::<_, _, Float32Array>(
            downcast::<Float32Array>(array)?.iter(),
            float,
        )),
        SqlType::Null => array.clone(),
        other => {
            return Err(MsqError::plan(format!(
                "Cannot apply '{name}' to arguments of type '{other}'"
            )))
        }
    })
}

/// The math functions.
pub(crate) fn eval_function(
    func: &ScalarFunction,
    args: &[ScalarExpr],
    ty: &SqlType,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    use ScalarFunction as F;
    let name = function_name(func);
    let arg = |i: usize| -> Result<&ScalarExpr> {
        args.get(i).ok_or_else(|| {
            MsqError::plan(format!(
                "Function[{name}] needs at least {} arguments",
                i + 1
            ))
        })
    };
    // The numeric type an argument computes in (a string or boolean argument as DOUBLE).
    let numeric = |e: &ScalarExpr| -> SqlType {
        match e.sql_type() {
            SqlType::Timestamp => SqlType::Bigint,
            t if t.is_numeric() || t == SqlType::Null => t,
            _ => SqlType::Double,
        }
    };
    match func {
        F::Abs | F::Floor | F::Ceil => {
            let x = arg(0)?;
            let t = numeric(x);
            let values = eval_as(x, batch, &t)?;
            match func {
                F::Abs => map_number(&values, &t, name, i64::wrapping_abs, f64::abs, f32::abs),
                F::Floor => map_number(&values, &t, name, |v| v, f64::floor, f32::floor),
                _ => map_number(&values, &t, name, |v| v, f64::ceil, f32::ceil),
            }
        }
        F::Round => {
            let x = arg(0)?;
            let t = numeric(x);
            let values = eval_as(x, batch, &t)?;
            let digits = match args.get(1) {
                Some(d) => eval_as(d, batch, &SqlType::Bigint)?,
                None => Arc::new(Int64Array::from_value(0, batch.num_rows())),
            };
            let digits = downcast::<Int64Array>(&digits)?;
            let d32 = |d: i64| d.clamp(-400, 400) as i32;
            Ok(match t {
                SqlType::Bigint => Arc::new(zip_map::<i64, Int64Array>(
                    downcast::<Int64Array>(&values)?.iter(),
                    digits.iter(),
                    |v, d| Some(round_long(v, d32(d))),
                )),
                SqlType::Float => {
                    let floats = downcast::<Float32Array>(&values)?;
                    let out: Float32Array = floats
                        .iter()
                        .zip(digits.iter())
                        .map(|(v, d)| match (v, d) {
                            (Some(v), Some(d)) => Some(round_double(f64::from(v), d32(d)) as f32),
                            _ => None,
                        })
                        .collect();
                    Arc::new(out)
                }
                SqlType::Null => values,
                _ => {
                    let doubles = downcast::<Float64Array>(&values)?;
                    let out: Float64Array = doubles
                        .iter()
                        .zip(digits.iter())
                        .map(|(v, d)| match (v, d) {
                            (Some(v), Some(d)) => Some(round_double(v, d32(d))),
                            _ => None,
                        })
                        .collect();
                    Arc::new(out)
                }
            })
        }
        F::Mod => {
            let (a, b) = (arg(0)?, arg(1)?);
            let t = operand_type(ty, &a.sql_type(), &b.sql_type());
            let l = eval_as(a, batch, &t)?;
            let r = eval_as(b, batch, &t)?;
            binary(BinaryOp::Modulo, &l, &r, &t)
        }
        F::Power => {
            let l = eval_as(arg(0)?, batch, &SqlType::Double)?;
            let r = eval_as(arg(1)?, batch, &SqlType::Double)?;
            Ok(Arc::new(zip_map::<f64, Float64Array>(
                downcast::<Float64Array>(&l)?.iter(),
                downcast::<Float64Array>(&r)?.iter(),
                |a, b| Some(a.powf(b)),
            )))
        }
        F::Ln | F::Sqrt => {
            let x = eval_as(arg(0)?, batch, &SqlType::Double)?;
            let f = if *func == F::Ln { f64::ln } else { f64::sqrt };
            Ok(Arc::new(unary_map::<_, _, Float64Array>(
                downcast::<Float64Array>(&x)?.iter(),
                f,
            )))
        }
        other => internal_err!("{other:?} is not a math function"),
    }
}

/// The SQL name of a math function (for messages).
fn function_name(func: &ScalarFunction) -> &'static str {
    use ScalarFunction as F;
    match func {
        F::Abs => "ABS",
        F::Floor => "FLOOR",
        F::Ceil => "CEIL",
        F::Round => "ROUND",
        F::Mod => "MOD",
        F::Power => "POWER",
        F::Ln => "LN",
        F::Sqrt => "SQRT",
        _ => "?",
    }
}

/// `ROUND` of an integer to `digits` decimal places: unchanged for `digits >= 0`, else to the
/// nearest multiple of `10^-digits`, half away from zero (saturating).
pub(crate) fn round_long(value: i64, digits: i32) -> i64 {
    if digits >= 0 {
        return value;
    }
    let Some(unit) = 10_i64.checked_pow(digits.unsigned_abs()) else {
        return 0;
    };
    let rem = value % unit;
    let base = value - rem;
    if rem.unsigned_abs() * 2 >= unit.unsigned_abs() {
        if value >= 0 {
            base.saturating_add(unit)
        } else {
            base.saturating_sub(unit)
        }
    } else {
        base
    }
}

/// `ROUND` of a double to `digits` decimal places, half away from zero on the value's shortest
/// decimal representation (Java `BigDecimal.valueOf(x).setScale(digits, HALF_UP)`); `NaN` and
/// infinities are returned unchanged.
pub(crate) fn round_double(value: f64, digits: i32) -> f64 {
    if !value.is_finite() || value == 0.0 {
        return value;
    }
    // Shortest round-trip digits d1.d2d3… × 10^exp.
    let sci = format!("{:e}", value.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return value;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return value;
    };
    let digits_str: String = mantissa.chars().filter(|c| *c != '.').collect();
    let bytes = digits_str.as_bytes();
    // Significant digits kept: those before the (digits)-th decimal place.
    let keep = exp + 1 + digits;
    if keep >= bytes.len() as i32 {
        return value;
    }
    let sign = if value < 0.0 { "-" } else { "" };
    if keep < 0 {
        return if sign.is_empty() { 0.0 } else { -0.0 };
    }
    let keep = keep as usize;
    let mut kept: u128 = 0;
    for b in &bytes[..keep] {
        kept = kept * 10 + u128::from(b - b'0');
    }
    if bytes[keep] >= b'5' {
        kept += 1;
    }
    let scale = exp + 1 - keep as i32;
    format!("{sign}{kept}e{scale}").parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        let cases = [
            (2.5, 0, 3.0),
            (-2.5, 0, -3.0),
            (2.4, 0, 2.0),
            (2.675, 2, 2.68),
            (-2.675, 2, -2.68),
            (1234.5678, -2, 1200.0),
            (1250.0, -2, 1300.0),
            (0.5, 0, 1.0),
            (0.049, 1, 0.0),
            (0.05, 1, 0.1),
            (99.99, 1, 100.0),
            (1.0e20, 2, 1.0e20),
            (123.456, 10, 123.456),
        ];
        for (v, d, want) in cases {
            assert_eq!(round_double(v, d), want, "ROUND({v}, {d})");
        }
        assert!(round_double(f64::NAN, 1).is_nan());
        assert_eq!(round_long(1234, -2), 1200);
        assert_eq!(round_long(1250, -2), 1300);
        assert_eq!(round_long(-1250, -2), -1300);
        assert_eq!(round_long(-1249, -2), -1200);
        assert_eq!(round_long(7, 2), 7);
        assert_eq!(round_long(5, -30), 0);
    }

    #[test]
    fn integer_division_and_modulo() {
        let l: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(7),
            Some(-7),
            Some(7),
            None,
            Some(i64::MIN),
        ]));
        let r: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(2),
            Some(2),
            Some(0),
            Some(1),
            Some(-1),
        ]));
        let div = binary(BinaryOp::Divide, &l, &r, &SqlType::Bigint).unwrap();
        let div = downcast::<Int64Array>(&div).unwrap();
        assert_eq!(
            div,
            &Int64Array::from(vec![Some(3), Some(-3), None, None, Some(i64::MIN)])
        );
        let rem = binary(BinaryOp::Modulo, &l, &r, &SqlType::Bigint).unwrap();
        let rem = downcast::<Int64Array>(&rem).unwrap();
        assert_eq!(
            rem,
            &Int64Array::from(vec![Some(1), Some(-1), None, None, Some(0)])
        );
    }

    #[test]
    fn floating_division_is_ieee() {
        let l: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 0.0, -7.5]));
        let r: ArrayRef = Arc::new(Float64Array::from(vec![0.0, 0.0, 2.0]));
        let div = binary(BinaryOp::Divide, &l, &r, &SqlType::Double).unwrap();
        let div = downcast::<Float64Array>(&div).unwrap();
        assert_eq!(div.value(0), f64::INFINITY);
        assert!(div.value(1).is_nan());
        let rem = binary(BinaryOp::Modulo, &l, &r, &SqlType::Double).unwrap();
        assert_eq!(downcast::<Float64Array>(&rem).unwrap().value(2), -1.5);
    }
}
