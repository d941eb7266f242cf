//! Input slices and work orders: what one worker of one stage is told to do.
//!
//! Druid's chain is `InputSpec` (plan, `msq-plan`) → `InputSpecSlicer` (controller,
//! [`crate::slicer`]) → `InputSlice` (here, sent to a worker inside a [`WorkOrder`]) →
//! `InputSliceReader` (worker, the exec layer).

use msq_common::{PartitionNumber, StageNumber, WorkerNumber};
use msq_plan::{Signature, StageDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The part of one input that one worker reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum InputSlice {
    /// Nothing to read (Druid's `NilInputSlice`): the worker has no share of this input.
    Nil,
    /// Some files of an external input: one input source per file, so counters can report
    /// files read out of `totalFiles`.
    #[serde(rename_all = "camelCase")]
    External {
        /// One input source JSON per file (`{"type": "http", "uris": ["<one uri>"], ...}`).
        input_sources: Vec<Value>,
        /// The input format JSON.
        input_format: Value,
        /// Columns read.
        signature: Signature,
    },
    /// Some output partitions of an earlier stage.
    Stage {
        /// The stage read.
        stage: StageNumber,
        /// The partitions this worker reads, each with the upstream workers holding it.
        partitions: Vec<ReadablePartition>,
    },
    /// Some segments of a datasource.
    #[serde(rename_all = "camelCase")]
    Segments {
        /// The datasource.
        data_source: String,
        /// The segments this worker reads.
        segments: Vec<SegmentDescriptor>,
    },
}

impl InputSlice {
    /// Files or segments in the slice (Druid's `InputSlice.fileCount`): what the
    /// `TooManyInputFiles` limit counts. Stage slices count 0.
    pub fn file_count(&self) -> usize {
        match self {
            InputSlice::External { input_sources, .. } => input_sources.len(),
            InputSlice::Segments { segments, .. } => segments.len(),
            InputSlice::Nil | InputSlice::Stage { .. } => 0,
        }
    }

    /// Whether this is [`InputSlice::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, InputSlice::Nil)
    }
}

/// One output partition of a stage and the workers holding pieces of it: all workers of the
/// stage for a shuffled ("striped") output, the one worker that wrote it for an unshuffled
/// ("collected") output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadablePartition {
    /// The partition.
    pub partition: PartitionNumber,
    /// Workers of the upstream stage that hold pieces of it, ascending.
    pub workers: Vec<WorkerNumber>,
}

/// A stage's complete output: its partitions and who holds them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadablePartitions {
    /// Every output partition, by number.
    pub partitions: Vec<ReadablePartition>,
    /// How many workers ran the stage.
    pub worker_count: u32,
}

impl ReadablePartitions {
    /// `partition_count` partitions, each spread over all `worker_count` workers (any
    /// shuffling stage).
    pub fn striped(worker_count: u32, partition_count: u32) -> Self {
        let workers: Vec<WorkerNumber> = (0..worker_count).map(WorkerNumber).collect();
        Self {
            partitions: (0..partition_count)
                .map(|p| ReadablePartition {
                    partition: PartitionNumber(p),
                    workers: workers.clone(),
                })
                .collect(),
            worker_count,
        }
    }

    /// One partition per worker, partition `w` held by worker `w` (a stage without shuffle).
    pub fn collected(worker_count: u32) -> Self {
        Self {
            partitions: (0..worker_count)
                .map(|w| ReadablePartition {
                    partition: PartitionNumber(w),
                    workers: vec![WorkerNumber(w)],
                })
                .collect(),
            worker_count,
        }
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }
}

/// A segment to read, as the driver found it (already pruned to the input's intervals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentDescriptor {
    /// Druid's segment id.
    pub id: String,
    /// Its ISO-8601 interval.
    pub interval: String,
    /// Its size in bytes; slicing balances bytes.
    pub size_bytes: u64,
}

/// What one worker of one stage must do (Druid's `WorkOrder`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOrder {
    /// The query.
    pub query_id: String,
    /// The stage.
    pub stage_number: StageNumber,
    /// This worker's number within the stage, `0..worker_count`.
    pub worker_number: WorkerNumber,
    /// The stage to run (processor, signature, shuffle).
    pub stage_definition: StageDefinition,
    /// One slice per input of the stage, in input order ([`InputSlice::Nil`] for none).
    pub input_slices: Vec<InputSlice>,
    /// Processor-specific extra information the driver attaches (Druid's `extraInfo`, e.g.
    /// the segment ids a segment generator writes); `None` from the kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Value>,
}

impl WorkOrder {
    /// Files and segments over all slices, as the `TooManyInputFiles` limit counts them.
    pub fn input_file_count(&self) -> usize {
        self.input_slices.iter().map(InputSlice::file_count).sum()
    }
}
