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
