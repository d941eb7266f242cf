//! Uncorrelated subqueries in expressions, planned as Druid plans them: each subquery becomes
//! its own stage chain, read as a broadcast input and joined to the outer rows (spec
//! `druid-msq.md` §4.5; Calcite decorrelates these to joins before Druid's query kits run).
//!
//! ```text
//!  x > (SELECT AVG(y) FROM t)    LEFT join, no keys, one-row right side   → column $sq<n>
//!  WHERE … AND x IN (SELECT c …) INNER join on x = c, right side DISTINCT → conjunct dropped
//!  x [NOT] IN (SELECT c …)       LEFT join on x = c (DISTINCT right side)
//!   (anywhere else)              + join with (COUNT(*), COUNT(c)) of the subquery
//!                                + Project appending SQL's three-valued IN result
//!  [NOT] EXISTS (SELECT …)       join with COUNT(*) of the subquery       → $sq<n> > 0
//! ```
//!
//! # Layout
//! - [`contains_subquery`] — whether an expression has a subquery to plan.
//! - [`extract`], [`extract_where`] — take the subqueries out of an expression, leaving
//!   placeholder identifiers `$sq<n>` the binder resolves as the joined columns ([`Pending`]).
//! - `Planner::join_subquery` — plans one [`Pending`] subquery and joins it.
//!
//! Correlated subqueries (referring to outer columns) fail to bind inside the subquery, with
//! the binder's "Column … not found" error. A scalar subquery returning more than one row is
//! not detected: each outer row is repeated once per subquery row.

use super::binder::{self, at, Scope, ScopeCol};
use super::{not_supported, template_select, CteEnv, LimitSpec, Planned, Planner, Source};
use crate::expr::{BinaryOp, Literal, NamedExpr, ScalarExpr, SqlType};
use crate::input::InputSpec;
use crate::program::{JoinKind, JoinStep, Program, Step};
use msq_common::{MsqError, Result, StageNumber};
use msq_sql::sqlparser::ast::{
    self, BinaryOperator, Expr, Ident, InTarget, Query, Spanned, Value, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// A subquery taken out of an expression, to be planned and joined.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// `(SELECT one column …)`: its value, as column `name`.
    Scalar {
        /// Placeholder column name.
        name: String,
        /// The subquery.
        query: Box<Query>,
    },
    /// `expr [NOT] IN (SELECT c …)`.
    In {
        /// Placeholder column name (the boolean result; unused for a semi join).
        name: String,
        /// The tested expression (already free of subqueries).
        expr: Box<Expr>,
        /// The subquery.
        query: Box<Query>,
        /// `NOT IN`.
        negated: bool,
        /// A top-level WHERE conjunct: an INNER join on the value is the whole test.
        semi: bool,
    },
    /// `[NOT] EXISTS (SELECT …)`: the subquery's row count, as column `name`.
    Exists {
        /// Placeholder column name.
        name: String,
        /// The subquery.
        query: Box<Query>,
    },
}

/// Whether `e` contains a subquery expression (scalar, `IN`, `EXISTS`).
pub(crate) fn contains_subquery(e: &Expr) -> bool {
    let mut found = false;
    let _ = ast::visit_expressions(e, |x| {
        if matches!(
            x,
            Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::In {
                    target: InTarget::Subquery(_),
                    ..
                }
        ) {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

fn placeholder(counter: &mut usize) -> String {
    let name = format!("$sq{counter}");
    *counter += 1;
    name
}

/// Replaces outermost subquery expressions by placeholders (post-order, so an `IN`'s operand
/// is rewritten before the `IN` itself; subqueries inside subqueries are left to their own
/// planning).
struct Extractor<'a> {
    depth: usize,
    pending: &'a mut Vec<Pending>,
    counter: &'a mut usize,
}

impl VisitorMut for Extractor<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let ident = |name: &str| Expr::Identifier(Ident::new(name));
        match expr {
            Expr::Subquery(query) => {
                let name = placeholder(self.counter);
                self.pending.push(Pending::Scalar {
                    name: name.clone(),
                    query: query.clone(),
                });
                *expr = ident(&name);
            }
            Expr::In {
                expr: operand,
                target: InTarget::Subquery(query),
                negated,
                ..
            } => {
                let name = placeholder(self.counter);
                self.pending.push(Pending::In {
                    name: name.clone(),
                    expr: operand.clone(),
                    query: query.clone(),
                    negated: *negated,
                    semi: false,
                });
                *expr = ident(&name);
            }
            Expr::Exists { subquery, negated } => {
                let name = placeholder(self.counter);
                self.pending.push(Pending::Exists {
                    name: name.clone(),
                    query: subquery.clone(),
                });
                let op = if *negated {
                    BinaryOperator::Eq
                } else {
                    BinaryOperator::Gt
                };
                *expr = Expr::BinaryOp {
                    left: Box::new(ident(&name)),
                    op,
                    right: Box::new(Expr::value(Value::Number("0".into(), false))),
                };
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Takes the subqueries out of `e` (see [`Extractor`]), appending them to `pending`.
pub(crate) fn extract(e: &mut Expr, pending: &mut Vec<Pending>, counter: &mut usize) {
    let mut v = Extractor {
        depth: 0,
        pending,
        counter,
    };
    let _ = e.visit(&mut v);
}

/// [`extract`] for a WHERE clause: a top-level conjunct `x IN (SELECT …)` becomes a semi join
/// and leaves the clause. Returns what remains of the clause.
pub(crate) fn extract_where(
    w: Expr,
    pending: &mut Vec<Pending>,
    counter: &mut usize,
) -> Option<Expr> {
    let mut parts = Vec::new();
    super::conjuncts(&w, &mut parts);
    let mut rest = Vec::new();
    for mut part in parts {
        if let Expr::In {
            expr,
            target: InTarget::Subquery(query),
            negated: false,
            ..
        } = &part
        {
            if !contains_subquery(expr) {
                pending.push(Pending::In {
                    name: placeholder(counter),
                    expr: expr.clone(),
                    query: query.clone(),
                    negated: false,
                    semi: true,
                });
                continue;
            }
        }
        extract(&mut part, pending, counter);
        rest.push(part);
    }
    rest.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
}

/// The type of a subquery's only column.
fn single_column(planned: &Planned, query: &Query) -> Result<SqlType> {
    match planned.columns.as_slice() {
        [(_, ty)] => Ok(ty.clone()),
        cols => Err(MsqError::plan(format!(
            "Subquery must return exactly one column, got {}{}",
            cols.len(),
            at(query.span())
        ))),
    }
}

fn column(i: usize, c: &ScopeCol) -> ScalarExpr {
    ScalarExpr::column(i, c.name.clone(), c.ty.clone())
}

fn when(cond: ScalarExpr, value: Literal) -> (ScalarExpr, ScalarExpr) {
    (cond, ScalarExpr::Literal(value))
}

impl Planner<'_> {
    /// `SELECT COUNT(*) AS c[, COUNT(v) AS nn]` over a planned one-column (or, for `c` only,
    /// any) sub-plan: a one-row stage.
    fn count_rows(&mut self, planned: Planned, non_null: bool, env: &CteEnv) -> Result<Planned> {
        let sql = if non_null {
            "SELECT COUNT(*) AS c, COUNT(v) AS nn FROM t"
        } else {
            "SELECT COUNT(*) AS c FROM t"
        };
        let template = template_select(sql)?;
        let columns = if non_null {
            let ty = planned
                .columns
                .first()
                .map_or(SqlType::Null, |c| c.1.clone());
            vec![("v".to_owned(), ty)]
        } else {
            planned.columns
        };
        let source = Source {
            input: InputSpec::Stage {
                stage: StageNumber(planned.stage),
            },
            qualifier: None,
            columns,
        };
        let draft = self.plan_select_from(&template, None, env, source, &[])?;
        self.close(draft, LimitSpec::default())
    }

    /// Adds `stage` as a broadcast input joined to the rows; its columns join the scope as
    /// `columns` (names the binder resolves, types of the stage's output).
    #[allow(clippy::too_many_arguments)]
    fn join_stage(
        &self,
        kind: JoinKind,
        stage: u32,
        keys: Option<(ScalarExpr, ScalarExpr)>,
        columns: Vec<(String, SqlType)>,
        scope: &mut Scope,
        inputs: &mut Vec<InputSpec>,
        program: &mut Program,
    ) {
        let input = inputs.len();
        inputs.push(InputSpec::Stage {
            stage: StageNumber(stage),
        });
        program.broadcast_inputs.push(input);
        let (left_keys, right_keys) = match keys {
            Some((l, r)) => (vec![l], vec![r]),
            None => (Vec::new(), Vec::new()),
        };
        program.steps.push(Step::Join(JoinStep {
            kind,
            broadcast_input: input,
            left_keys,
            right_keys,
            condition: None,
        }));
        scope
            .cols
            .extend(columns.into_iter().map(|(name, ty)| ScopeCol {
                qualifier: None,
                name,
                ty,
            }));
    }

    /// Plans one subquery taken out of an expression and joins it to the rows of `scope`.
    pub(crate) fn join_subquery(
        &mut self,
        pending: Pending,
        scope: &mut Scope,
        inputs: &mut Vec<InputSpec>,
        program: &mut Program,
        env: &CteEnv,
    ) -> Result<()> {
        match pending {
            Pending::Scalar { name, query } => {
                let planned = self.plan_query(&query, env)?;
                let ty = single_column(&planned, &query)?;
                // LEFT: an empty subquery is a null value, not an empty result.
                self.join_stage(
                    JoinKind::Left,
                    planned.stage,
                    None,
                    vec![(name, ty)],
                    scope,
                    inputs,
                    program,
                );
            }
            Pending::Exists { name, query } => {
                let planned = self.plan_query(&query, env)?;
                let counted = self.count_rows(planned, false, env)?;
                self.join_stage(
                    JoinKind::Inner,
                    counted.stage,
                    None,
                    vec![(name, SqlType::Bigint)],
                    scope,
                    inputs,
                    program,
                );
            }
            Pending::In {
                name,
                expr,
                query,
                negated,
                semi,
            } => {
                let x = self.binder(scope).bind(&expr)?;
                let planned = self.plan_query(&query, env)?;
                let ty = single_column(&planned, &query)?;
                let common = binder::common_type(&x.sql_type(), &ty).ok_or_else(|| {
                    MsqError::plan(format!(
                        "Values passed to IN operator must have compatible types{}",
                        at(expr.span())
                    ))
                })?;
                let value_name = planned.columns[0].0.clone();
                let draft = self.distinct_over(planned, None, env)?;
                let distinct = self.close(draft, LimitSpec::default())?;
                let keys = (
                    binder::cast_to(x.clone(), &common),
                    binder::cast_to(ScalarExpr::column(0, value_name, ty.clone()), &common),
                );
                if semi {
                    self.join_stage(
                        JoinKind::Inner,
                        distinct.stage,
                        Some(keys),
                        vec![(name, ty)],
                        scope,
                        inputs,
                        program,
                    );
                    return Ok(());
                }
                let matched = scope.cols.len();
                self.join_stage(
                    JoinKind::Left,
                    distinct.stage,
                    Some(keys),
                    vec![(format!("{name}$match"), ty)],
                    scope,
                    inputs,
                    program,
                );
                // The subquery again (planned anew: each stage has one consumer) for its
                // row and non-null counts, which decide FALSE vs NULL.
                let again = self.plan_query(&query, env)?;
                let counts = self.count_rows(again, true, env)?;
                let c = scope.cols.len();
                self.join_stage(
                    JoinKind::Inner,
                    counts.stage,
                    None,
                    vec![
                        (format!("{name}$c"), SqlType::Bigint),
                        (format!("{name}$nn"), SqlType::Bigint),
                    ],
                    scope,
                    inputs,
                    program,
                );
                let value = in_result(
                    column(matched, &scope.cols[matched]),
                    x,
                    column(c, &scope.cols[c]),
                    column(c + 1, &scope.cols[c + 1]),
                );
                let value = if negated {
                    ScalarExpr::Not(Box::new(value))
                } else {
                    value
                };
                let mut project: Vec<NamedExpr> = scope
                    .cols
                    .iter()
                    .enumerate()
                    .map(|(i, col)| NamedExpr::new(col.name.clone(), column(i, col)))
                    .collect();
                project.push(NamedExpr::new(name.clone(), value));
                program.steps.push(Step::Project(project));
                scope.cols.push(ScopeCol {
                    qualifier: None,
                    name,
                    ty: SqlType::Boolean,
                });
            }
        }
        Ok(())
    }
}

/// SQL's `x IN S` from a LEFT join with DISTINCT `S` and `S`'s counts:
/// TRUE on a match; FALSE when `S` is empty; NULL when `x` is null or `S` holds a null;
/// FALSE otherwise.
fn in_result(
    matched: ScalarExpr,
    x: ScalarExpr,
    count: ScalarExpr,
    non_null: ScalarExpr,
) -> ScalarExpr {
    let cmp = |op, left, right| ScalarExpr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
        ty: SqlType::Boolean,
    };
    let is_null = |e, negated| ScalarExpr::IsNull {
        expr: Box::new(e),
        negated,
    };
    ScalarExpr::Case {
        branches: vec![
            when(is_null(matched, true), Literal::Boolean(true)),
            when(
                cmp(
                    BinaryOp::Eq,
                    count.clone(),
                    ScalarExpr::Literal(Literal::Long(0)),
                ),
                Literal::Boolean(false),
            ),
            when(is_null(x, false), Literal::Null(SqlType::Boolean)),
            when(
                cmp(BinaryOp::Lt, non_null, count),
                Literal::Null(SqlType::Boolean),
            ),
        ],
        otherwise: Some(Box::new(ScalarExpr::Literal(Literal::Boolean(false)))),
        ty: SqlType::Boolean,
    }
}

/// Subquery expressions the planner did not take out (in GROUP BY, ORDER BY, or in the select
/// list/HAVING of an aggregating query).
pub(crate) fn unsupported_here(e: &Expr) -> MsqError {
    not_supported(format!(
        "Subqueries are supported in WHERE and in the select list of queries without \
         aggregation, not in [{e}]{}",
        at(e.span())
    ))
}
