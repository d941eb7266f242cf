//! A whole plan (`QueryDefinition`): a DAG of stages with one final stage.

use crate::processor::ProcessorSpec;
use crate::program::{InputOrder, Program};
use crate::stage::StageDefinition;
use msq_common::{MsqError, Result, StageNumber};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A plan: stages numbered `0..n`, each reading only earlier stages, all flowing into
/// `final_stage` — the only stage nobody reads (the `segmentGenerator`, `limit` or last
/// `scan`/`groupByPostShuffle` whose output is the query's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryDefinition {
    /// Druid's query id; stage ids are `<query_id>_<n>`.
    pub query_id: String,
    /// The stages, `stages[i].stage_number == i`.
    pub stages: Vec<StageDefinition>,
    /// The stage whose output is the query's result.
    pub final_stage: StageNumber,
}

impl QueryDefinition {
    /// A validated plan; see [`validate`](Self::validate).
    pub fn new(
        query_id: impl Into<String>,
        stages: Vec<StageDefinition>,
        final_stage: StageNumber,
    ) -> Result<Self> {
        let query = Self {
            query_id: query_id.into(),
            stages,
            final_stage,
        };
        query.validate()?;
        Ok(query)
    }

    /// Checks the plan's shape. Every failure is a planner bug, so errors are internal:
    /// - at least one stage, numbered `0..n` in order;
    /// - every `stage` input reads an earlier stage (which also makes the plan a DAG);
    /// - broadcast input numbers exist;
    /// - `maxWorkerCount` is at least 1 and shuffle specs are well formed;
    /// - exactly one stage is read by no other (the sink), and it is `final_stage`.
    ///
    /// Druid's user-facing limits (`TooManyColumns`, `TooManyWorkers`, ...) are checked by the
    /// controller kernel, which reports them as faults.
    pub fn validate(&self) -> Result<()> {
        if self.stages.is_empty() {
            return Err(MsqError::internal("query definition has no stages"));
        }
        let mut read = BTreeSet::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if stage.stage_number.index() != i {
                return Err(MsqError::internal(format!(
                    "stage at position {i} is numbered {}",
                    stage.stage_number
                )));
            }
            for input in stage.input_stages() {
                if input >= stage.stage_number {
                    return Err(MsqError::internal(format!(
                        "stage {i} reads stage {input}, which is not an earlier stage"
                    )));
                }
                read.insert(input);
            }
            if let Some(&b) = stage
                .broadcast_inputs
                .iter()
                .find(|&&b| b >= stage.inputs.len())
            {
                return Err(MsqError::internal(format!(
                    "stage {i} broadcasts input {b} but has {} inputs",
                    stage.inputs.len()
                )));
            }
            if stage.max_worker_count == 0 {
                return Err(MsqError::internal(format!(
                    "stage {i} has maxWorkerCount 0"
                )));
            }
            if let Some(shuffle) = &stage.shuffle_spec {
                shuffle
                    .validate()
                    .map_err(|e| e.context(format!("stage {i}")))?;
            }
        }
        let sinks: Vec<StageNumber> = self
            .stages
            .iter()
            .map(|s| s.stage_number)
            .filter(|n| !read.contains(n))
            .collect();
        match sinks.as_slice() {
            [sink] if *sink == self.final_stage => Ok(()),
            [sink] => Err(MsqError::internal(format!(
                "final stage is {} but the only stage nobody reads is {sink}",
                self.final_stage
            ))),
            _ => Err(MsqError::internal(format!(
                "query definition must have exactly one final stage, found {sinks:?}"
            ))),
        }
    }

    /// The stage numbered `stage`.
    pub fn stage(&self, stage: StageNumber) -> Option<&StageDefinition> {
        self.stages.get(stage.index())
    }

    /// Stages that read `stage` (its consumers), ascending.
    pub fn consumers(&self, stage: StageNumber) -> Vec<StageNumber> {
        self.stages
            .iter()
            .filter(|s| s.input_stages().contains(&stage))
            .map(|s| s.stage_number)
            .collect()
    }

    /// Whether the order of `stage`'s output rows can change the query's answer: always for
    /// the final stage (its rows are the results, or what a segment generator writes), and
    /// otherwise when a consumer [reads in order](Self::reads_in_order).
    ///
    /// A sorting shuffle still partitions by its key either way; what a stage whose order
    /// nobody observes skips is sorting within the partitions (and its consumers skip merging
    /// the workers' sorted parts). `COUNT(DISTINCT x)` is the case in point: `GROUP BY x`
    /// sorted by `x` in stage 0, regrouped in stage 1 and then counted, where only the count
    /// shows.
    pub fn output_order_observed(&self, stage: StageNumber) -> bool {
        let consumers = self.consumers(stage);
        consumers.is_empty() || consumers.into_iter().any(|c| self.reads_in_order(c))
    }

    /// Whether `stage`'s answer can depend on the order in which it reads the rows of its
    /// stage inputs: yes unless its program ignores that order ([`Program::input_order`]), or
    /// only reorders its output rows and that order is not observed either.
    ///
    /// [`Program::input_order`]: crate::Program::input_order
    ///
    /// A segment generator does not: it sorts each time chunk's rows itself by `__time` and
    /// the CLUSTERED BY columns, the segment's sort order, so the order it reads in changes
    /// at most the order of rows equal on all of those keys, which Druid leaves undefined
    /// too. Its input stage then only partitions (spec `druid-msq.md` §4.4) and never holds
    /// a sorted copy of every row it read.
    pub fn reads_in_order(&self, stage: StageNumber) -> bool {
        let Some(definition) = self.stage(stage) else {
            return true;
        };
        if matches!(definition.processor, ProcessorSpec::SegmentGenerator(_)) {
            return false;
        }
        let order = definition
            .processor
            .program()
            .map_or(InputOrder::Matters, Program::input_order);
        match order {
            InputOrder::Matters => true,
            InputOrder::Reorders => self.output_order_observed(stage),
            InputOrder::Ignored => false,
        }
    }

    /// Every stage as Druid's report JSON, in order.
    pub fn to_model(&self) -> Vec<msq_model::StageDefinition> {
        self.stages
            .iter()
            .map(|s| s.to_model(&self.query_id))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{InputSpec, LimitProcessor, ProcessorSpec, QueryProcessor, ShuffleSpec};
    use msq_common::ErrorCategory;
    use serde_json::json;

    fn scan(n: u32, inputs: Vec<InputSpec>) -> StageDefinition {
        StageDefinition::new(
            n,
            inputs,
            ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
        )
    }

    fn stage_input(s: u32) -> InputSpec {
        InputSpec::Stage {
            stage: StageNumber(s),
        }
    }

    fn inline() -> InputSpec {
        InputSpec::External {
            input_source: json!({"type": "inline", "data": "a\n"}),
            input_format: json!({"type": "csv"}),
            signature: vec![],
        }
    }

    #[test]
    fn a_chain_is_valid_and_knows_its_consumers() {
        let mut limit = StageDefinition::new(
            1,
            vec![stage_input(0)],
            ProcessorSpec::Limit(LimitProcessor::new(0, Some(10))),
        );
        limit.max_worker_count = 1;
        let mut s0 = scan(0, vec![inline()]);
        s0.shuffle_spec = Some(ShuffleSpec::Mix);
        let q = QueryDefinition::new("q", vec![s0, limit], StageNumber(1)).unwrap();
        assert_eq!(q.consumers(StageNumber(0)), vec![StageNumber(1)]);
        assert!(q.consumers(StageNumber(1)).is_empty());
        assert_eq!(q.to_model()[1].id, "q_1");
    }

    #[test]
    fn malformed_plans_are_internal_errors() {
        let bad = |stages: Vec<StageDefinition>, last: u32| {
            let e = QueryDefinition::new("q", stages, StageNumber(last)).unwrap_err();
            assert_eq!(e.category(), ErrorCategory::Internal, "{e}");
            e.message().to_owned()
        };
        assert!(bad(vec![], 0).contains("no stages"));
        assert!(bad(vec![scan(1, vec![inline()])], 1).contains("numbered 1"));
        assert!(bad(vec![scan(0, vec![stage_input(0)])], 0).contains("not an earlier stage"));
        // Two sinks: stage 0 and stage 1 are both unread.
        assert!(
            bad(vec![scan(0, vec![inline()]), scan(1, vec![inline()])], 1)
                .contains("exactly one final stage")
        );
        // The sink is stage 1, not 0.
        assert!(bad(
            vec![scan(0, vec![inline()]), scan(1, vec![stage_input(0)])],
            0
        )
        .contains("only stage nobody reads is 1"));
        let mut broadcast = scan(0, vec![inline()]);
        broadcast.broadcast_inputs.insert(1);
        assert!(bad(vec![broadcast], 0).contains("broadcasts input 1"));
        let mut zero = scan(0, vec![inline()]);
        zero.max_worker_count = 0;
        assert!(bad(vec![zero], 0).contains("maxWorkerCount 0"));
    }
}
