//! One stage of a plan (`StageDefinition`; spec `druid-msq.md` §4.2).

use crate::input::InputSpec;
use crate::processor::ProcessorSpec;
use crate::shuffle::ShuffleSpec;
use crate::types::{signature_to_model, Signature};
use msq_common::StageNumber;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::BTreeSet;

/// What a stage reads, runs, outputs and how it shuffles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageDefinition {
    /// Position in the plan, `0..stages.len()`.
    pub stage_number: StageNumber,
    /// What the stage reads; counter `input<N>` reports input N.
    pub inputs: Vec<InputSpec>,
    /// Input numbers sent whole to every worker (broadcast join sides).
    pub broadcast_inputs: BTreeSet<usize>,
    /// What each worker runs.
    pub processor: ProcessorSpec,
    /// Output columns in order (`[]` for `segmentGenerator`).
    pub signature: Signature,
    /// How output is partitioned and sorted; `None` when the stage does not shuffle (each
    /// worker's output is then one partition).
    pub shuffle_spec: Option<ShuffleSpec>,
    /// Most workers the stage may use (at least 1).
    pub max_worker_count: u32,
    /// Whether the shuffle checks cluster keys for multi-value strings (ingestion with
    /// CLUSTERED BY string columns).
    pub shuffle_check_has_multiple_values: bool,
}

impl StageDefinition {
    /// A stage that reads `inputs` and runs `processor` on one worker, without broadcast
    /// inputs, signature or shuffle; set the other fields directly.
    pub fn new(stage_number: u32, inputs: Vec<InputSpec>, processor: ProcessorSpec) -> Self {
        Self {
            stage_number: StageNumber(stage_number),
            inputs,
            broadcast_inputs: BTreeSet::new(),
            processor,
            signature: Vec::new(),
            shuffle_spec: None,
            max_worker_count: 1,
            shuffle_check_has_multiple_values: false,
        }
    }

    /// Druid's stage id, `<queryId>_<stageNumber>`.
    pub fn id(&self, query_id: &str) -> String {
        format!("{query_id}_{}", self.stage_number)
    }

    /// Stages read through `stage` inputs, broadcast or not, without duplicates, ascending.
    pub fn input_stages(&self) -> BTreeSet<StageNumber> {
        self.inputs
            .iter()
            .filter_map(InputSpec::stage_number)
            .collect()
    }

    /// Whether input `input_number` is broadcast.
    pub fn is_broadcast(&self, input_number: usize) -> bool {
        self.broadcast_inputs.contains(&input_number)
    }

    /// Whether the controller must gather key statistics before partitioning this stage's
    /// output (and so whether the stage passes through `POST_READING`).
    pub fn needs_statistics(&self) -> bool {
        self.shuffle_spec
            .as_ref()
            .is_some_and(ShuffleSpec::needs_statistics)
    }

    /// Whether the stage sorts its output; the report's `sort` flag.
    pub fn does_sort(&self) -> bool {
        self.shuffle_spec
            .as_ref()
            .is_some_and(ShuffleSpec::does_sort)
    }

    /// The stage as Druid's report JSON (`stages[].definition`): `id`, `input`, `broadcast`
    /// (omitted when empty), `processor`, `signature`, `shuffleSpec` (omitted without a
    /// shuffle), `maxWorkerCount` and `shuffleCheckHasMultipleValues` (omitted when false).
    pub fn to_model(&self, query_id: &str) -> msq_model::StageDefinition {
        msq_model::StageDefinition {
            id: self.id(query_id),
            input: self.inputs.iter().map(InputSpec::to_model).collect(),
            broadcast: self
                .broadcast_inputs
                .iter()
                .filter_map(|&i| u32::try_from(i).ok())
                .collect(),
            processor: self.processor.to_model(),
            signature: signature_to_model(&self.signature),
            shuffle_spec: self.shuffle_spec.as_ref().map(ShuffleSpec::to_model),
            max_worker_count: self.max_worker_count,
            shuffle_check_has_multiple_values: self.shuffle_check_has_multiple_values,
            max_input_bytes_per_worker: None,
            extra: Map::new(),
        }
    }
}
