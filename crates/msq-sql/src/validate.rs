//! Parse-time validation Druid performs before planning (spec `druid-msq.md` §1.1 "Validation
//! errors seen in tests", §1.4, §1.7). Every message is Druid's wording, so a console or test
//! written against Druid sees the same text.

use crate::granularity::Granularity;
use crate::statement::ClusterExpr;
use crate::time::parse_timestamp_millis;
use msq_common::{plan_err, ErrorCategory, ErrorCode, MsqError, Result};
use sqlparser::ast::{
    DataType, Expr, Ident, LimitClause, OrderByExpr, OrderBySort, Query, SelectItem, SetExpr,
    UnaryOperator, Value, Visit, Visitor,
};
use std::ops::ControlFlow;

/// The ingest operation, as Druid names it in messages (`[INSERT]`, `[REPLACE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IngestKind {
    Insert,
    Replace,
}

impl IngestKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IngestKind::Insert => "INSERT",
            IngestKind::Replace => "REPLACE",
        }
    }
}

/// The datasource an INSERT/REPLACE writes: `t` or `druid.t`; other schemas are not Druid
/// datasources. The name must be a valid Druid id (`IdUtils.validateId`).
pub(crate) fn target_table(kind: IngestKind, name: &[Ident]) -> Result<String> {
    let table = match name {
        [table] => table,
        [schema, table] if schema.value == "druid" => table,
        _ => {
            let full: Vec<&str> = name.iter().map(|i| i.value.as_str()).collect();
            plan_err!(
                "Table [{}] does not support operation [{}] because it is not a Druid datasource",
                full.join("."),
                kind.as_str()
            )
        }
    };
    let value = &table.value;
    if value.is_empty() {
        plan_err!("Invalid value for field [table]: must not be null or empty")
    }
    if value.starts_with('.') {
        plan_err!("Invalid value for field [table]: Value [{value}] cannot start with '.'.")
    }
    if value.contains('/') {
        plan_err!("Invalid value for field [table]: Value [{value}] cannot contain '/'.")
    }
    if value.chars().any(|c| c.is_whitespace() && c != ' ') {
        plan_err!(
            "Invalid value for field [table]: Value [{value}] contains illegal whitespace \
             characters.  Only space is allowed."
        )
    }
    Ok(value.clone())
}

/// The outer query of an INSERT/REPLACE: no ORDER BY (use CLUSTERED BY), LIMIT only with
/// `PARTITIONED BY ALL`, no OFFSET (Druid's `validateNoIllegalRightmostSort` and
/// `DruidSqlIngest` checks).
pub(crate) fn check_ingest_query(
    kind: IngestKind,
    query: &Query,
    granularity: Granularity,
) -> Result<()> {
    // `INSERT INTO t (SELECT ... ORDER BY x)`: look through redundant parentheses.
    let mut outer = query;
    loop {
        if outer.order_by.is_some() {
            plan_err!(
                "Cannot use an ORDER BY clause on a Query of type [{}], use CLUSTERED BY instead",
                kind.as_str()
            )
        }
        let (limit, offset) = match &outer.limit_clause {
            None => (false, false),
            Some(LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.is_some(), offset.is_some())
            }
            Some(LimitClause::OffsetCommaLimit { .. }) => (true, true),
        };
        if (limit || outer.fetch.is_some()) && granularity != Granularity::All {
            plan_err!(
                "INSERT and REPLACE queries cannot have a LIMIT unless PARTITIONED BY is \"ALL\"."
            )
        }
        if offset {
            plan_err!("INSERT and REPLACE queries cannot have an OFFSET.")
        }
        match outer.body.as_ref() {
            SetExpr::Query(inner) if outer.limit_clause.is_none() && outer.fetch.is_none() => {
                outer = inner
            }
            _ => return Ok(()),
        }
    }
}

/// Every `TIMESTAMP '...'` literal must be a valid timestamp (Calcite checks this while
/// parsing).
pub(crate) fn check_timestamp_literals(query: &Query) -> Result<()> {
    struct Check;
    impl Visitor for Check {
        type Break = MsqError;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<MsqError> {
            if let Expr::TypedString(typed) = expr {
                if let (DataType::Timestamp(_, _), Value::SingleQuotedString(text)) =
                    (&typed.data_type, &typed.value.value)
                {
                    if let Err(e) = parse_timestamp_millis(text) {
                        return ControlFlow::Break(e);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    match query.visit(&mut Check) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Converts and checks the `CLUSTERED BY` items (Druid's `validateClusteredByColumns`): no
/// `DESC`, ordinals positive and within the select list when it is known.
pub(crate) fn cluster_exprs(items: Vec<OrderByExpr>, query: &Query) -> Result<Vec<ClusterExpr>> {
    let output_columns = select_list_len(query);
    items
        .into_iter()
        .map(|item| {
            if matches!(item.options.sort, Some(OrderBySort::Desc)) {
                return Err(MsqError::new(
                    ErrorCategory::Plan,
                    ErrorCode::InsertCannotOrderByDescending,
                    format!(
                        "Invalid CLUSTERED BY clause [{} DESC]: cannot sort in descending order.",
                        item.expr
                    ),
                ));
            }
            if let Some(OrderBySort::Using(_)) = item.options.sort {
                plan_err!("Invalid CLUSTERED BY clause [{item}]: USING is not supported.")
            }
            Ok(match item.expr {
                Expr::Identifier(ident) => ClusterExpr::Column(ident.value),
                expr => match ordinal(&expr) {
                    Some(n) if n < 1 => plan_err!(
                        "Ordinal [{n}] specified in the CLUSTERED BY clause is invalid. It must \
                         be a positive integer."
                    ),
                    Some(n) => {
                        let n = usize::try_from(n).unwrap_or(usize::MAX);
                        if output_columns.is_some_and(|len| n > len) {
                            plan_err!("Ordinal out of range")
                        }
                        ClusterExpr::Ordinal(n)
                    }
                    None => ClusterExpr::Expr(Box::new(expr)),
                },
            })
        })
        .collect()
}

/// An integer literal (possibly negated): a CLUSTERED BY ordinal.
fn ordinal(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => ordinal(expr).map(|n| -n),
        _ => None,
    }
}

/// Number of output columns of a plain SELECT without wildcards, if that is what `query` is.
fn select_list_len(query: &Query) -> Option<usize> {
    match query.body.as_ref() {
        SetExpr::Select(select) => {
            let wildcard = select.projection.iter().any(|item| {
                matches!(
                    item,
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(_, _)
                )
            });
            (!wildcard).then_some(select.projection.len())
        }
        SetExpr::Query(inner) => select_list_len(inner),
        _ => None,
    }
}
