//! Stage programs: what a worker does to the rows of a stage, as serializable steps.
//!
//! Druid describes a stage's work as a native query (scan, groupBy) inside its processor; the
//! query kit still writes that JSON for the report (`processor.query`), but what Acorn's workers
//! execute is the [`Program`] beside it. A program is a short list of [`Step`]s applied in
//! order to the stage's rows:
//!
//! - *streaming* steps ([`Step::Filter`], [`Step::Project`], [`Step::Join`]) map each batch as
//!   it arrives;
//! - *blocking* steps ([`Step::Aggregate`], [`Step::Sort`], [`Step::Limit`]) see all of the
//!   worker's rows for the stage (a limit may stop reading early).
//!
//! Every step's input schema is the previous step's output (the first step's is the stage's
//! main input signature); [`ScalarExpr::Column`] indexes refer to that schema. The last step's
//! output is the stage's `signature`, which its `shuffleSpec` keys name.
//!
//! Inputs: a stage's non-broadcast inputs (all [`crate::InputSpec`]s not listed in
//! [`Program::broadcast_inputs`]) share one signature and are read one after another (that is
//! how `UNION ALL` is planned); broadcast inputs are read whole before the first batch and are
//! the build side of [`Step::Join`]s.

use crate::expr::{NamedAggregate, NamedExpr, ScalarExpr, SortKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The steps a stage's workers apply to its rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    /// Input numbers read whole as join build sides, not as rows of the stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broadcast_inputs: Vec<usize>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Program {
    /// A program of `steps` with no broadcast inputs.
    pub fn new(steps: Vec<Step>) -> Self {
        Self {
            broadcast_inputs: Vec::new(),
            steps,
        }
    }

    /// Whether the program does nothing (rows pass through unchanged).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The positions of the streaming input's columns the program reads, or `None` when its
    /// output carries input columns through (so every column is needed).
    ///
    /// Workers use this to decode only those columns of a datasource's segments (a column
    /// store's projection pushdown; Druid's scan and groupBy engines likewise read only the
    /// columns their query names). Filters, sorts and limits keep the input's schema, so the
    /// walk goes on through them; a projection or a raw-row aggregate ends it (later steps
    /// read their output, not the input). A join passes the left rows through whole, and a
    /// `Final` aggregate reads partial states by position, so those need everything.
    pub fn input_columns(&self) -> Option<BTreeSet<usize>> {
        self.columns_read_from(0)
    }

    /// The positions of step `start`'s input columns that steps `start..` read (the same walk
    /// as [`Program::input_columns`], from step `start`), or `None` when they need them all.
    /// A filter at step `start - 1` keeps only these columns of the rows it passes (late
    /// materialisation: the columns only the filter itself read are not gathered).
    pub fn columns_read_from(&self, start: usize) -> Option<BTreeSet<usize>> {
        let steps = self.steps.get(start..).unwrap_or_default();
        let (mut used, first) = leading_reads(steps);
        match first? {
            Step::Project(exprs) => exprs.iter().for_each(|e| e.expr.collect_columns(&mut used)),
            Step::Aggregate(aggregate) if aggregate.mode != AggregateMode::Final => {
                for key in &aggregate.group_by {
                    key.expr.collect_columns(&mut used);
                }
                for named in &aggregate.aggregates {
                    named.aggregate.collect_columns(&mut used);
                }
            }
            _ => return None,
        }
        Some(used)
    }

    /// How the order of the input rows shows in the program's output (see [`InputOrder`]).
    ///
    /// Only a program that opens with an aggregation can be indifferent: a hash aggregation
    /// groups the same rows into the same groups in any order, as long as each aggregate is
    /// [order-insensitive](crate::expr::AggregateExpr::is_order_insensitive) and no `LIMIT`
    /// later keeps some rows by position. Its rows then come out in an order that depends on
    /// the input (groups appear as first seen) — unless the last aggregation has no keys and
    /// only filters and projections follow it: one row (per worker), whatever the order.
    pub fn input_order(&self) -> InputOrder {
        if !matches!(self.steps.first(), Some(Step::Aggregate(_))) {
            return InputOrder::Matters;
        }
        let mut last_global = false;
        for step in &self.steps {
            match step {
                Step::Aggregate(aggregate) => {
                    if !(aggregate.aggregates.iter()).all(|a| a.aggregate.is_order_insensitive()) {
                        return InputOrder::Matters;
                    }
                    last_global = aggregate.group_by.is_empty();
                }
                Step::Limit { .. } => return InputOrder::Matters,
                Step::Filter(_) | Step::Project(_) => {}
                Step::Join(_) | Step::Sort(_) => last_global = false,
            }
        }
        if last_global {
            InputOrder::Ignored
        } else {
            InputOrder::Reorders
        }
    }

    /// Input columns a table read may hand over as the segments store them (dictionary-encoded
    /// strings). When every read of the input goes through expressions — leading filters, then
    /// a projection or a raw-row aggregate, no leading sort that would move raw columns between
    /// batches of different encodings — that is every column read: evaluating a column makes
    /// it plain where needed, a filter moves only dictionary keys, and a string comparison
    /// with a literal runs once per dictionary value (`msq-exec`). Otherwise it is the bare
    /// group keys ([`Program::bare_key_columns`]).
    pub fn encodable_columns(&self) -> BTreeSet<usize> {
        let (_, first) = leading_reads(&self.steps);
        let leading_sort = self
            .steps
            .iter()
            .take_while(|s| !matches!(s, Step::Project(_) | Step::Aggregate(_) | Step::Join(_)))
            .any(|s| matches!(s, Step::Sort(_)));
        match (self.input_columns(), first) {
            (Some(read), Some(Step::Project(_) | Step::Aggregate(_))) if !leading_sort => read,
            _ => self.bare_key_columns(),
        }
    }

    /// Input columns whose only use is as a bare group key of the program's raw-row
    /// aggregation, before any projection: a table read may hand those over as the segments
    /// store them (dictionary-encoded strings), since no expression ever evaluates them and
    /// the aggregation groups by the dictionary (`msq-exec`'s aggregate operator).
    pub fn bare_key_columns(&self) -> BTreeSet<usize> {
        let (mut other, first) = leading_reads(&self.steps);
        let Some(Step::Aggregate(aggregate)) = first else {
            return BTreeSet::new();
        };
        if aggregate.mode == AggregateMode::Final {
            return BTreeSet::new();
        }
        let mut keys = BTreeSet::new();
        for key in &aggregate.group_by {
            match &key.expr {
                ScalarExpr::Column { index, .. } => {
                    keys.insert(*index);
                }
                expr => expr.collect_columns(&mut other),
            }
        }
        for named in &aggregate.aggregates {
            named.aggregate.collect_columns(&mut other);
        }
        keys.difference(&other).copied().collect()
    }
}

/// The input columns the leading filters and sorts of `steps` read (steps that keep the
/// input's schema), and the first step that does not keep it (`None` when there is none).
fn leading_reads(steps: &[Step]) -> (BTreeSet<usize>, Option<&Step>) {
    let mut used = BTreeSet::new();
    for step in steps {
        match step {
            Step::Filter(predicate) => predicate.collect_columns(&mut used),
            Step::Sort(keys) => keys.iter().for_each(|k| k.expr.collect_columns(&mut used)),
            Step::Limit { .. } => {}
            other => return (used, Some(other)),
        }
    }
    (used, None)
}

/// What reading its input in another order does to a [`Program`]'s output
/// ([`Program::input_order`]). The runtime skips sorting rows nobody reads in order
/// ([`crate::QueryDefinition::reads_in_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOrder {
    /// Other rows may come out.
    Matters,
    /// The same rows come out, possibly in another order.
    Reorders,
    /// The same rows come out in the same order.
    Ignored,
}

/// One step of a [`Program`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// Keeps rows whose predicate is true (false and null drop the row).
    Filter(ScalarExpr),
    /// Replaces the columns by these expressions, in order.
    Project(Vec<NamedExpr>),
    /// Joins each row with the rows of a broadcast input (hash join on equal keys).
    Join(JoinStep),
    /// Groups and aggregates (see [`AggregateMode`]).
    Aggregate(AggregateStep),
    /// Sorts all rows by the keys (stable).
    Sort(Vec<SortKey>),
    /// Skips `offset` rows then keeps at most `limit`.
    Limit {
        /// Rows to skip.
        offset: u64,
        /// Rows to keep after skipping; all when `None`.
        limit: Option<u64>,
    },
}

/// `INNER` or `LEFT` join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JoinKind {
    /// Rows with a match only.
    Inner,
    /// Every left row; right columns null when nothing matches.
    Left,
}

/// A broadcast hash join of the streaming rows (left) with a broadcast input (right).
///
/// Output schema: the left columns, then the right input's columns. Keys compare with SQL
/// equality (null never matches). `condition`, when present, is evaluated over that joined
/// schema and must be true for a pair to match (for LEFT joins a left row whose candidates all
/// fail it still appears once with null right columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinStep {
    /// INNER or LEFT.
    pub kind: JoinKind,
    /// The input number (index into the stage's inputs) of the build side.
    pub broadcast_input: usize,
    /// Key expressions over the left (streaming) schema.
    pub left_keys: Vec<ScalarExpr>,
    /// Key expressions over the right (broadcast input) schema, paired with `left_keys`.
    pub right_keys: Vec<ScalarExpr>,
    /// Extra non-equi condition over the joined schema.
    pub condition: Option<ScalarExpr>,
}

/// How an [`AggregateStep`] treats its input and what it emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggregateMode {
    /// Raw rows in; group keys then each aggregate's *partial state* columns out
    /// (`groupByPreShuffle`).
    Partial,
    /// The `Partial` output of the same step in (group keys at positions `0..k`, then state
    /// columns); group keys then final values out (`groupByPostShuffle`). The `group_by` and
    /// aggregate expressions are the ones of the partial step (they define names and types);
    /// the merge reads by position.
    Final,
    /// Raw rows in, final values out, in one step.
    Single,
}

/// `GROUP BY group_by` computing `aggregates`.
///
/// Output columns: one per `group_by` entry (its name), then per aggregate either its final
/// value (`Final`, `Single`) or its state columns (`Partial`). With no `group_by` the step is a
/// global aggregate and emits exactly one row even over no input (`Single`, `Final`), as SQL
/// requires (`COUNT(*)` of nothing is 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregateStep {
    /// Partial, final or single.
    pub mode: AggregateMode,
    /// Grouping keys (evaluated over the raw input rows).
    pub group_by: Vec<NamedExpr>,
    /// The aggregates.
    pub aggregates: Vec<NamedAggregate>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{
        AggregateExpr, AggregateFunction, BinaryOp, Literal, NamedAggregate, SqlType,
    };

    fn col(index: usize) -> ScalarExpr {
        ScalarExpr::column(index, format!("c{index}"), SqlType::Bigint)
    }

    fn gt(left: ScalarExpr, value: i64) -> ScalarExpr {
        ScalarExpr::Binary {
            op: BinaryOp::Gt,
            left: Box::new(left),
            right: Box::new(ScalarExpr::literal(Literal::Long(value))),
            ty: SqlType::Boolean,
        }
    }

    fn set(items: &[usize]) -> Option<BTreeSet<usize>> {
        Some(items.iter().copied().collect())
    }

    fn aggregate(mode: AggregateMode) -> Step {
        Step::Aggregate(AggregateStep {
            mode,
            group_by: vec![NamedExpr::new("k", col(4))],
            aggregates: vec![NamedAggregate {
                name: "s".into(),
                aggregate: AggregateExpr {
                    func: AggregateFunction::Sum,
                    args: vec![col(7)],
                    filter: Some(gt(col(9), 0)),
                    ty: SqlType::Bigint,
                },
            }],
        })
    }

    #[test]
    fn input_order_shows_unless_an_order_free_aggregation_leads() {
        let keyed = aggregate(AggregateMode::Final);
        let Step::Aggregate(mut global) = aggregate(AggregateMode::Final) else {
            unreachable!()
        };
        global.group_by.clear();
        let global = Step::Aggregate(global);
        let order = |steps: Vec<Step>| Program::new(steps).input_order();
        assert_eq!(order(vec![keyed.clone()]), InputOrder::Reorders);
        let having = Step::Filter(gt(col(1), 0));
        assert_eq!(
            order(vec![global.clone(), having.clone()]),
            InputOrder::Ignored
        );
        assert_eq!(
            order(vec![having.clone(), keyed.clone()]),
            InputOrder::Matters
        );
        let limit = Step::Limit {
            offset: 0,
            limit: Some(3),
        };
        assert_eq!(order(vec![keyed.clone(), limit]), InputOrder::Matters);
        assert_eq!(order(Vec::new()), InputOrder::Matters);
        // A floating-point sum rounds by the order it adds in.
        let Step::Aggregate(mut float) = keyed else {
            unreachable!()
        };
        float.aggregates[0].aggregate.ty = SqlType::Double;
        assert_eq!(order(vec![Step::Aggregate(float)]), InputOrder::Matters);
    }

    #[test]
    fn filters_and_sorts_accumulate_until_a_projection() {
        let program = Program::new(vec![
            Step::Filter(gt(col(3), 1)),
            Step::Sort(vec![SortKey {
                expr: col(5),
                descending: false,
                nulls_first: true,
            }]),
            Step::Limit {
                offset: 0,
                limit: Some(10),
            },
            Step::Project(vec![
                NamedExpr::new("a", col(0)),
                NamedExpr::new("b", col(3)),
            ]),
            // Reads the projection's output, not the input.
            Step::Filter(gt(col(1), 5)),
        ]);
        assert_eq!(program.input_columns(), set(&[0, 3, 5]));
    }

    #[test]
    fn raw_row_aggregates_read_keys_arguments_and_filters() {
        let program = Program::new(vec![
            Step::Filter(gt(col(1), 0)),
            aggregate(AggregateMode::Partial),
        ]);
        assert_eq!(program.input_columns(), set(&[1, 4, 7, 9]));
        let single = Program::new(vec![aggregate(AggregateMode::Single)]);
        assert_eq!(single.input_columns(), set(&[4, 7, 9]));
        // After the filter only the aggregate's columns are read: column 1 is not kept.
        assert_eq!(program.columns_read_from(1), set(&[4, 7, 9]));
        assert_eq!(
            program.columns_read_from(2),
            None,
            "past the end: pass-through"
        );
        assert_eq!(program.columns_read_from(9), None);
    }

    #[test]
    fn bare_keys_not_read_elsewhere_may_stay_encoded() {
        let mut grouped = aggregate(AggregateMode::Partial);
        if let Step::Aggregate(step) = &mut grouped {
            step.group_by.push(NamedExpr::new("k2", col(5)));
            step.group_by.push(NamedExpr::new("k3", col(1)));
            step.group_by.push(NamedExpr::new("k4", gt(col(6), 1)));
        }
        // Keys 4, 5 and 1 are bare; 1 is also filtered on, 6 is inside an expression, 7 and 9
        // are aggregate inputs.
        let program = Program::new(vec![Step::Filter(gt(col(1), 0)), grouped]);
        assert_eq!(program.bare_key_columns(), set(&[4, 5]).unwrap());
        let projected = Program::new(vec![
            Step::Project(vec![NamedExpr::new("a", col(4))]),
            aggregate(AggregateMode::Partial),
        ]);
        assert!(projected.bare_key_columns().is_empty());
        assert!(Program::new(vec![aggregate(AggregateMode::Final)])
            .bare_key_columns()
            .is_empty());
        // Read only through expressions: every column read may stay encoded.
        assert_eq!(
            program.encodable_columns(),
            set(&[1, 4, 5, 6, 7, 9]).unwrap()
        );
        assert_eq!(
            projected.encodable_columns(),
            set(&[4]).unwrap(),
            "a projection evaluates what it reads"
        );
        // A leading sort moves raw columns between batches: only the bare keys.
        let sorted = Program::new(vec![
            Step::Sort(vec![SortKey {
                expr: col(1),
                descending: false,
                nulls_first: true,
            }]),
            Step::Project(vec![NamedExpr::new("a", col(4))]),
        ]);
        assert!(sorted.encodable_columns().is_empty());
        // Rows passed through whole: only the bare keys (none).
        assert!(Program::new(vec![Step::Filter(gt(col(2), 0))])
            .encodable_columns()
            .is_empty());
    }

    #[test]
    fn pass_through_programs_need_every_column() {
        assert_eq!(Program::default().input_columns(), None);
        assert_eq!(
            Program::new(vec![Step::Filter(gt(col(2), 0))]).input_columns(),
            None
        );
        assert_eq!(
            Program::new(vec![aggregate(AggregateMode::Final)]).input_columns(),
            None
        );
        let join = Step::Join(JoinStep {
            kind: JoinKind::Inner,
            broadcast_input: 1,
            left_keys: vec![col(0)],
            right_keys: vec![col(0)],
            condition: None,
        });
        let program = Program::new(vec![join, Step::Project(vec![NamedExpr::new("a", col(0))])]);
        assert_eq!(program.input_columns(), None);
    }

    #[test]
    fn every_expression_kind_reports_its_columns() {
        let expr = ScalarExpr::Case {
            branches: vec![(
                ScalarExpr::InList {
                    expr: Box::new(col(1)),
                    list: vec![col(2)],
                    negated: false,
                },
                ScalarExpr::Cast {
                    expr: Box::new(ScalarExpr::Not(Box::new(col(3)))),
                    to: SqlType::Varchar,
                },
            )],
            otherwise: Some(Box::new(ScalarExpr::Function {
                func: crate::expr::ScalarFunction::Abs,
                args: vec![ScalarExpr::Negative(Box::new(col(4)))],
                ty: SqlType::Bigint,
            })),
            ty: SqlType::Varchar,
        };
        let mut out = BTreeSet::new();
        expr.collect_columns(&mut out);
        assert_eq!(Some(out), set(&[1, 2, 3, 4]));
    }
}
