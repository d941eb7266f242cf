//! Exact `COUNT(DISTINCT x)` as a GROUP BY of a GROUP BY, as Druid plans it.
//!
//! With `useApproximateCountDistinct: false`, Druid's SQL layer rewrites an exact distinct
//! count (Calcite's `AggregateExpandDistinctAggregatesRule`) into a groupBy over a groupBy: the
//! inner one groups by the query's keys *and* `x`, the outer one counts the inner rows' non-null
//! `x` per key. In MSQ that is four stages — `groupByPreShuffle`, `groupByPostShuffle` for the
//! inner query, then the same pair for the outer one — and no stage ever holds the set of
//! distinct values in one row: the values are spread over the inner stage's partitions by the
//! shuffle. (Acorn's single-stage plan, a set-valued partial state per group, stays for the
//! shapes this rewrite does not cover, such as distinct counts of two different columns; a
//! set over a large column does not fit a frame row.)
//!
//! The other aggregates of the query split into an inner and an outer half:
//! `COUNT(*)`/`COUNT(y)` → `SUM` of the inner counts (0, not null, over no rows), `SUM` → `SUM`,
//! `MIN`/`MAX` → `MIN`/`MAX`. A query with any other aggregate (`AVG`, `EARLIEST`, sketches …)
//! keeps the single-stage plan.

use crate::expr::{
    AggregateExpr, AggregateFunction as A, Literal, NamedAggregate, NamedExpr, ScalarExpr, SqlType,
};
use crate::querykit::binder::AggState;

/// The two GROUP BYs a query with exact distinct counts becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DistinctSplit {
    /// Grouped by the query's keys, then the distinct argument (named `d<k>`); the query's
    /// other aggregates, as they are.
    pub inner: AggState,
    /// Over the inner output: grouped by its first `k` columns (the query's keys, same names),
    /// aggregates in the query's order with the query's names and types, so everything bound
    /// over the query's aggregation output reads the outer output unchanged.
    pub outer: AggState,
    /// Outer aggregate positions (in `outer.aggs`) that sum inner counts: over no rows at all
    /// they must read 0, as the `COUNT` they stand for does.
    pub counts: Vec<usize>,
}

impl DistinctSplit {
    /// The split of `state`, when it has exact distinct counts that all count the same value
    /// under the same filter and every other aggregate can be split.
    pub(crate) fn of(state: &AggState) -> Option<DistinctSplit> {
        let mut distinct: Option<(&ScalarExpr, Option<&ScalarExpr>)> = None;
        for agg in &state.aggs {
            let call = &agg.aggregate;
            match call.func {
                A::CountDistinct => {
                    let [arg] = call.args.as_slice() else {
                        return None;
                    };
                    let this = (arg, call.filter.as_ref());
                    match distinct {
                        Some(seen) if seen != this => return None,
                        _ => distinct = Some(this),
                    }
                }
                A::CountStar | A::Count | A::Sum | A::Min | A::Max => {}
                _ => return None,
            }
        }
        let (arg, filter) = distinct?;
        let k = state.keys.len();
        // The value counted: null where the aggregate's filter fails, so COUNT skips it.
        let value = match filter {
            None => arg.clone(),
            Some(condition) => ScalarExpr::Case {
                branches: vec![(condition.clone(), arg.clone())],
                otherwise: None,
                ty: arg.sql_type(),
            },
        };
        let mut inner = AggState {
            keys: state.keys.clone(),
            aggs: Vec::new(),
        };
        inner
            .keys
            .push(NamedExpr::new(format!("d{k}"), value.clone()));
        let mut outer = AggState {
            keys: state
                .keys
                .iter()
                .enumerate()
                .map(|(i, key)| {
                    let column = ScalarExpr::column(i, key.name.clone(), key.expr.sql_type());
                    NamedExpr::new(key.name.clone(), column)
                })
                .collect(),
            aggs: Vec::new(),
        };
        let mut counts = Vec::new();
        for agg in &state.aggs {
            let call = &agg.aggregate;
            let (func, arg) = if call.func == A::CountDistinct {
                let column = ScalarExpr::column(k, format!("d{k}"), value.sql_type());
                (A::Count, column)
            } else {
                // The inner half: the aggregate as the query wrote it.
                let position = k + 1 + inner.aggs.len();
                inner.aggs.push(agg.clone());
                let column = ScalarExpr::column(position, agg.name.clone(), call.ty.clone());
                match call.func {
                    A::CountStar | A::Count => {
                        counts.push(outer.aggs.len());
                        (A::Sum, column)
                    }
                    other => (other, column),
                }
            };
            outer.aggs.push(NamedAggregate {
                name: agg.name.clone(),
                aggregate: AggregateExpr {
                    func,
                    args: vec![arg],
                    filter: None,
                    ty: call.ty.clone(),
                },
            });
        }
        Some(DistinctSplit {
            inner,
            outer,
            counts,
        })
    }

    /// A projection of the outer aggregation's output that reads summed counts as 0 where no
    /// row made them (a global aggregate over no input); `None` when nothing needs it.
    pub(crate) fn zero_counts(&self) -> Option<Vec<NamedExpr>> {
        if self.counts.is_empty() {
            return None;
        }
        // The outer keys read positions 0..k under their own names: the same expressions
        // read the aggregation's key outputs.
        let k = self.outer.keys.len();
        let keys = self.outer.keys.iter().cloned();
        let aggs = self.outer.aggs.iter().enumerate().map(|(j, agg)| {
            let ty = agg.aggregate.ty.clone();
            let column = ScalarExpr::column(k + j, agg.name.clone(), ty.clone());
            let expr = if self.counts.contains(&j) {
                ScalarExpr::Case {
                    branches: vec![(
                        ScalarExpr::IsNull {
                            expr: Box::new(column.clone()),
                            negated: false,
                        },
                        ScalarExpr::literal(Literal::Long(0)),
                    )],
                    otherwise: Some(Box::new(column)),
                    ty: SqlType::Bigint,
                }
            } else {
                column
            };
            NamedExpr::new(agg.name.clone(), expr)
        });
        Some(keys.chain(aggs).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(index: usize, name: &str, ty: SqlType) -> ScalarExpr {
        ScalarExpr::column(index, name, ty)
    }

    fn agg(name: &str, func: A, args: Vec<ScalarExpr>, ty: SqlType) -> NamedAggregate {
        NamedAggregate {
            name: name.into(),
            aggregate: AggregateExpr {
                func,
                args,
                filter: None,
                ty,
            },
        }
    }

    /// `channel` at 0, `user` at 1, `added` at 2 of the input.
    fn query(aggs: Vec<NamedAggregate>) -> AggState {
        AggState {
            keys: vec![NamedExpr::new("d0", col(0, "channel", SqlType::Varchar))],
            aggs,
        }
    }

    #[test]
    fn distinct_count_with_other_aggregates_splits_into_two_group_bys() {
        let user = col(1, "user", SqlType::Varchar);
        let added = col(2, "added", SqlType::Bigint);
        let state = query(vec![
            agg("a0", A::CountDistinct, vec![user.clone()], SqlType::Bigint),
            agg("a1", A::CountStar, vec![], SqlType::Bigint),
            agg("a2", A::Sum, vec![added.clone()], SqlType::Bigint),
            agg("a3", A::Max, vec![added], SqlType::Bigint),
        ]);
        let split = DistinctSplit::of(&state).expect("splits");
        // Inner: GROUP BY channel, user with the non-distinct aggregates.
        let inner_keys: Vec<_> = split.inner.keys.iter().map(|k| k.expr.clone()).collect();
        assert_eq!(inner_keys, [col(0, "channel", SqlType::Varchar), user]);
        let inner_aggs: Vec<_> = split.inner.aggs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(inner_aggs, ["a1", "a2", "a3"]);
        // Outer: GROUP BY the inner's first column, same names and order as the query.
        assert_eq!(split.outer.keys[0].expr, col(0, "d0", SqlType::Varchar));
        let outer: Vec<_> = split
            .outer
            .aggs
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.aggregate.func,
                    a.aggregate.args[0].clone(),
                )
            })
            .collect();
        assert_eq!(
            outer,
            [
                ("a0", A::Count, col(1, "d1", SqlType::Varchar)),
                ("a1", A::Sum, col(2, "a1", SqlType::Bigint)),
                ("a2", A::Sum, col(3, "a2", SqlType::Bigint)),
                ("a3", A::Max, col(4, "a3", SqlType::Bigint)),
            ]
        );
        assert_eq!(split.counts, [1]);
        let zero = split.zero_counts().expect("a count to guard");
        assert_eq!(zero.len(), 5);
        assert!(matches!(zero[2].expr, ScalarExpr::Case { .. }));
        assert_eq!(zero[3].expr, col(3, "a2", SqlType::Bigint));
    }

    #[test]
    fn a_filtered_distinct_count_counts_the_value_only_where_the_filter_holds() {
        let mut distinct = agg(
            "a0",
            A::CountDistinct,
            vec![col(1, "user", SqlType::Varchar)],
            SqlType::Bigint,
        );
        let robot = col(3, "isRobot", SqlType::Boolean);
        distinct.aggregate.filter = Some(robot.clone());
        let split = DistinctSplit::of(&AggState {
            keys: Vec::new(),
            aggs: vec![distinct],
        })
        .expect("splits");
        let ScalarExpr::Case { branches, .. } = &split.inner.keys[0].expr else {
            panic!("{:?}", split.inner.keys[0]);
        };
        assert_eq!(branches[0].0, robot);
        assert!(
            split.zero_counts().is_none(),
            "COUNT of no rows is already 0"
        );
    }

    #[test]
    fn shapes_it_cannot_split_keep_the_single_stage_plan() {
        let user = col(1, "user", SqlType::Varchar);
        let page = col(4, "page", SqlType::Varchar);
        let two_columns = query(vec![
            agg("a0", A::CountDistinct, vec![user.clone()], SqlType::Bigint),
            agg("a1", A::CountDistinct, vec![page], SqlType::Bigint),
        ]);
        assert!(DistinctSplit::of(&two_columns).is_none());
        let with_avg = query(vec![
            agg("a0", A::CountDistinct, vec![user.clone()], SqlType::Bigint),
            agg(
                "a1",
                A::Avg,
                vec![col(2, "added", SqlType::Bigint)],
                SqlType::Bigint,
            ),
        ]);
        assert!(DistinctSplit::of(&with_avg).is_none());
        let no_distinct = query(vec![agg("a0", A::CountStar, vec![], SqlType::Bigint)]);
        assert!(DistinctSplit::of(&no_distinct).is_none());
        let same_twice = query(vec![
            agg("a0", A::CountDistinct, vec![user.clone()], SqlType::Bigint),
            agg("a1", A::CountDistinct, vec![user], SqlType::Bigint),
        ]);
        let split = DistinctSplit::of(&same_twice).expect("one distinct value");
        assert!(split.inner.aggs.is_empty());
        assert_eq!(split.outer.aggs.len(), 2);
    }
}
