//! `OVERWRITE WHERE <condition>` → the time chunks a REPLACE overwrites.
//!
//! Druid (`DruidSqlParserUtils.validateQueryAndConvertToIntervals`, spec `druid-msq.md` §1.1)
//! turns the condition into a filter on `__time`, moves it into intervals and requires:
//! only `__time` compared with `TIMESTAMP` literals through `>`, `<`, `>=`, `<=`, `BETWEEN`,
//! combined with `AND`, `OR`, `NOT` (we accept `=` as well); a non-empty result; and every
//! interval aligned to the `PARTITIONED BY` granularity. Timestamps are UTC (Druid would apply
//! `sqlTimeZone`; Acorn runs in UTC only).
//!
//! The condition is evaluated as a set of disjoint half-open intervals inside Druid's eternity
//! `[ETERNITY_START, ETERNITY_END)`, so open-ended bounds print like Druid's
//! (`2025-01-01T00:00:00.000Z/146140482-04-24T15:36:27.903Z`).

use crate::granularity::Granularity;
use crate::time::{
    format_interval, parse_timestamp_millis, Interval, ETERNITY_END, ETERNITY_START,
};
use msq_common::{plan_err, Result};
use sqlparser::ast::{BinaryOperator, DataType, Expr, UnaryOperator, Value};

/// The intervals `condition` selects, merged and sorted, checked to be non-empty and aligned
/// with `granularity`. Error texts are Druid's.
pub fn overwrite_where_intervals(
    condition: &Expr,
    granularity: Granularity,
) -> Result<Vec<Interval>> {
    // Druid reports other columns after building its filter, without the clause prefix.
    check_time_columns(condition)?;
    let intervals = condition_intervals(condition)
        .map_err(|e| e.context(format!("Invalid OVERWRITE WHERE clause [{condition}]")))?;
    if intervals.is_empty() {
        plan_err!(
            "The OVERWRITE WHERE clause [{condition}] produced no time intervals, are the bounds \
             overly restrictive?"
        )
    }
    for &interval in &intervals {
        if !granularity.is_aligned(interval.0) || !granularity.is_aligned(interval.1) {
            plan_err!(
                "OVERWRITE WHERE clause identified interval [{}] which is not aligned with \
                 PARTITIONED BY granularity [{granularity}]",
                format_interval(interval)
            )
        }
    }
    Ok(intervals)
}

/// Fails if a comparison in `condition` is on a column other than `__time`.
fn check_time_columns(condition: &Expr) -> Result<()> {
    match condition {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => check_time_columns(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And | BinaryOperator::Or,
            right,
        } => {
            check_time_columns(left)?;
            check_time_columns(right)
        }
        Expr::BinaryOp { left, right, .. } => {
            for side in [left, right] {
                if let Some(name) = column_name(side) {
                    if name != "__time" {
                        plan_err!(
                            "OVERWRITE WHERE clause only supports filtering on the __time \
                             column, got [{condition}]"
                        )
                    }
                }
            }
            Ok(())
        }
        Expr::Between { expr, .. } => match column_name(expr) {
            Some(name) if name != "__time" => plan_err!(
                "OVERWRITE WHERE clause only supports filtering on the __time column, got \
                 [{condition}]"
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The column an identifier names (the last part of a qualified name).
fn column_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Identifier(ident) => Some(&ident.value),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.as_str()),
        _ => None,
    }
}

/// The interval set of a boolean condition over `__time`.
fn condition_intervals(expr: &Expr) -> Result<Vec<Interval>> {
    match expr {
        Expr::Nested(inner) => condition_intervals(inner),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => Ok(intersect(
                &condition_intervals(left)?,
                &condition_intervals(right)?,
            )),
            BinaryOperator::Or => Ok(union(
                condition_intervals(left)?,
                condition_intervals(right)?,
            )),
            BinaryOperator::Gt
            | BinaryOperator::Lt
            | BinaryOperator::GtEq
            | BinaryOperator::LtEq
            | BinaryOperator::Eq => comparison(left, op, right),
            other => plan_err!("Unsupported operation [{other}] in OVERWRITE WHERE clause."),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => Ok(complement(&condition_intervals(inner)?)),
        Expr::Between {
            expr: column,
            negated,
            low,
            high,
        } => {
            time_column(column)?;
            let (low, high) = (timestamp(low)?, timestamp(high)?);
            let selected = if low <= high {
                vec![(low, high.saturating_add(1))]
            } else {
                Vec::new()
            };
            Ok(if *negated {
                complement(&selected)
            } else {
                selected
            })
        }
        Expr::Like { .. } | Expr::ILike { .. } => {
            plan_err!("Unsupported operation [LIKE] in OVERWRITE WHERE clause.")
        }
        Expr::In { .. } => plan_err!("Unsupported operation [IN] in OVERWRITE WHERE clause."),
        Expr::IsNull(_) | Expr::IsNotNull(_) => {
            plan_err!("Unsupported operation [IS NULL] in OVERWRITE WHERE clause.")
        }
        Expr::Function(f) => {
            plan_err!(
                "Unsupported operation [{}] in OVERWRITE WHERE clause.",
                f.name
            )
        }
        _ => plan_err!("expected clause including AND, OR, NOT, >, <, >=, <= OR BETWEEN operators"),
    }
}

/// `__time <op> TIMESTAMP '...'` (either side).
fn comparison(left: &Expr, op: &BinaryOperator, right: &Expr) -> Result<Vec<Interval>> {
    // Put the column on the left: `TIMESTAMP 'x' < __time` is `__time > TIMESTAMP 'x'`.
    let (column, literal, op) = if is_identifier(left) || !is_identifier(right) {
        (left, right, op.clone())
    } else {
        let flipped = match op {
            BinaryOperator::Gt => BinaryOperator::Lt,
            BinaryOperator::Lt => BinaryOperator::Gt,
            BinaryOperator::GtEq => BinaryOperator::LtEq,
            BinaryOperator::LtEq => BinaryOperator::GtEq,
            other => other.clone(),
        };
        (right, left, flipped)
    };
    time_column(column)?;
    let t = timestamp(literal)?;
    let after = |start: i64| {
        if start < ETERNITY_END {
            vec![(start.max(ETERNITY_START), ETERNITY_END)]
        } else {
            Vec::new()
        }
    };
    let before = |end: i64| {
        if end > ETERNITY_START {
            vec![(ETERNITY_START, end.min(ETERNITY_END))]
        } else {
            Vec::new()
        }
    };
    Ok(match op {
        BinaryOperator::GtEq => after(t),
        BinaryOperator::Gt => after(t.saturating_add(1)),
        BinaryOperator::Lt => before(t),
        BinaryOperator::LtEq => before(t.saturating_add(1)),
        _ => intersect(&after(t), &before(t.saturating_add(1))),
    })
}

fn is_identifier(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

/// The compared operand must be a column (checked to be `__time` beforehand).
fn time_column(column: &Expr) -> Result<()> {
    match column_name(column) {
        Some(_) => Ok(()),
        None => plan_err!("Cannot parse column name from SQL expression [{column}]"),
    }
}

/// A `TIMESTAMP '...'` (or `DATE '...'`) literal as UTC millis.
fn timestamp(expr: &Expr) -> Result<i64> {
    match expr {
        Expr::TypedString(typed)
            if matches!(
                typed.data_type,
                DataType::Timestamp(_, _) | DataType::Datetime(_) | DataType::Date
            ) =>
        {
            match &typed.value.value {
                Value::SingleQuotedString(text) => parse_timestamp_millis(text),
                _ => plan_err!("Cannot get a timestamp from sql expression [{expr}]"),
            }
        }
        Expr::Nested(inner) => timestamp(inner),
        _ => plan_err!("Cannot get a timestamp from sql expression [{expr}]"),
    }
}

/// Sorts and merges overlapping or touching intervals, dropping empty ones.
fn normalize(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|(s, e)| s < e);
    intervals.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (s, e) in intervals {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn union(mut a: Vec<Interval>, b: Vec<Interval>) -> Vec<Interval> {
    a.extend(b);
    normalize(a)
}

fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for &(s1, e1) in a {
        for &(s2, e2) in b {
            let (s, e) = (s1.max(s2), e1.min(e2));
            if s < e {
                out.push((s, e));
            }
        }
    }
    normalize(out)
}

fn complement(a: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut cursor = ETERNITY_START;
    for &(s, e) in &normalize(a.to_vec()) {
        if s > cursor {
            out.push((cursor, s));
        }
        cursor = cursor.max(e);
    }
    if cursor < ETERNITY_END {
        out.push((cursor, ETERNITY_END));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dialect::DruidDialect;
    use crate::time::format_interval;
    use sqlparser::parser::Parser;

    fn intervals(condition: &str, g: Granularity) -> Result<Vec<String>> {
        let expr = Parser::new(&DruidDialect)
            .try_with_sql(condition)
            .unwrap()
            .parse_expr()
            .unwrap();
        Ok(overwrite_where_intervals(&expr, g)?
            .into_iter()
            .map(format_interval)
            .collect())
    }

    #[test]
    fn simple_range() {
        assert_eq!(
            intervals(
                "__time >= TIMESTAMP '2000-01-01 00:00:00' AND __time < TIMESTAMP '2000-01-02 00:00:00'",
                Granularity::Day
            )
            .unwrap(),
            ["2000-01-01T00:00:00.000Z/2000-01-02T00:00:00.000Z"]
        );
    }

    #[test]
    fn or_of_ranges_and_between() {
        assert_eq!(
            intervals(
                "__time >= TIMESTAMP '2000-01-01' AND __time < TIMESTAMP '2000-02-01' \
                 OR __time >= TIMESTAMP '2000-03-01' AND __time < TIMESTAMP '2000-04-01'",
                Granularity::Month
            )
            .unwrap(),
            [
                "2000-01-01T00:00:00.000Z/2000-02-01T00:00:00.000Z",
                "2000-03-01T00:00:00.000Z/2000-04-01T00:00:00.000Z"
            ]
        );
        assert_eq!(
            intervals(
                "__time BETWEEN TIMESTAMP '2000-01-01' AND TIMESTAMP '2000-01-31 23:59:59.999'",
                Granularity::Month
            )
            .unwrap(),
            ["2000-01-01T00:00:00.000Z/2000-02-01T00:00:00.000Z"]
        );
    }

    #[test]
    fn not_and_flipped_comparisons() {
        assert_eq!(
            intervals(
                "NOT (__time < TIMESTAMP '2000-01-01') AND TIMESTAMP '2001-01-01' > __time",
                Granularity::Year
            )
            .unwrap(),
            ["2000-01-01T00:00:00.000Z/2001-01-01T00:00:00.000Z"]
        );
    }

    #[test]
    fn misaligned_intervals_are_rejected_like_druid() {
        let err = intervals(
            "__time >= TIMESTAMP '2000-01-05 00:00:00' AND __time <= TIMESTAMP '2000-01-06 00:00:00'",
            Granularity::Month,
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "OVERWRITE WHERE clause identified interval \
             [2000-01-05T00:00:00.000Z/2000-01-06T00:00:00.001Z] which is not aligned with \
             PARTITIONED BY granularity [{type=period, period=P1M, timeZone=UTC, origin=null}]"
        );
        let err = intervals(
            "__time >= TIMESTAMP '2000-01-05 00:00:00' AND __time <= TIMESTAMP '2000-02-05 00:00:00'",
            Granularity::All,
        )
        .unwrap_err();
        assert!(err
            .message()
            .ends_with("PARTITIONED BY granularity [AllGranularity]"));
        let err = intervals("__time >= TIMESTAMP '2025-01-01'", Granularity::Day).unwrap_err();
        assert!(err
            .message()
            .contains("[2025-01-01T00:00:00.000Z/146140482-04-24T15:36:27.903Z]"));
    }

    #[test]
    fn unsupported_conditions() {
        let err = intervals("__time LIKE '20__-02-01'", Granularity::Month).unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid OVERWRITE WHERE clause [__time LIKE '20__-02-01']: Unsupported operation \
             [LIKE] in OVERWRITE WHERE clause."
        );
        let err = intervals("TRUE", Granularity::Month).unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid OVERWRITE WHERE clause [true]: expected clause including AND, OR, NOT, >, \
             <, >=, <= OR BETWEEN operators"
        );
        let err =
            intervals("dim1 > TIMESTAMP '2000-01-05 00:00:00'", Granularity::All).unwrap_err();
        assert_eq!(
            err.message(),
            "OVERWRITE WHERE clause only supports filtering on the __time column, got \
             [dim1 > TIMESTAMP '2000-01-05 00:00:00']"
        );
        let err = intervals(
            "__time < TIMESTAMP '2000-01-01' AND __time > TIMESTAMP '2000-01-01'",
            Granularity::Month,
        )
        .unwrap_err();
        assert!(
            err.message().starts_with("The OVERWRITE WHERE clause ["),
            "{err}"
        );
        assert!(err
            .message()
            .ends_with("produced no time intervals, are the bounds overly restrictive?"));
        let err = intervals("__time >= '2000-01-01'", Granularity::Month).unwrap_err();
        assert!(
            err.message()
                .ends_with("Cannot get a timestamp from sql expression ['2000-01-01']"),
            "{err}"
        );
        let err = intervals(
            "__time >= TIMESTAMP '2000-01-INVALID0:00'",
            Granularity::All,
        )
        .unwrap_err();
        assert!(err.message().contains("Illegal TIMESTAMP literal"), "{err}");
    }

    #[test]
    fn set_operations() {
        assert_eq!(
            union(vec![(0, 5)], vec![(5, 9), (20, 30)]),
            vec![(0, 9), (20, 30)]
        );
        assert_eq!(
            intersect(&[(0, 10), (20, 30)], &[(5, 25)]),
            vec![(5, 10), (20, 25)]
        );
        assert_eq!(
            complement(&[(0, 10)]),
            vec![(ETERNITY_START, 0), (10, ETERNITY_END)]
        );
        assert_eq!(complement(&[(ETERNITY_START, ETERNITY_END)]), vec![]);
    }
}
