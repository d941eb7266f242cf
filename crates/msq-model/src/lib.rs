//! Apache Druid's MSQ JSON contract as Rust types, plus the web console's progress math.
//!
//! Acorn's engine writes these types and its console reads them, so the console speaks exactly
//! what a real Druid serves: the SQL task API bodies, the task status, and the task report
//! with its stage definitions and counters (spec `druid-msq.md` §0, §4, §5). Every type
//! follows Druid's Jackson rules — fields omitted when null, empty or default, polymorphic
//! objects tagged by `type` — and keeps what it does not know (unknown fields in `extra`,
//! unknown `type`s as raw JSON), so parsing a report and writing it back gives an equal JSON
//! value. [`Stages`] turns a report into the numbers the Query view shows
//! (`druid-console-query-view.md` §3).
//!
//! What it is not: no planning, execution, HTTP or browser code. Times are ISO strings and
//! durations milliseconds, as in the JSON; the crate builds for `wasm32-unknown-unknown`.
//!
//! # Layout
//! - [`api`]: HTTP bodies — [`SqlTaskRequest`], [`SqlTaskResponse`], [`TaskStatusResponse`],
//!   [`ShutdownResponse`], [`TaskPayloadResponse`], and [`TaskState`].
//! - [`report`]: the task report — [`TaskReport`], [`ReportPayload`], [`ReportStatus`],
//!   [`StageReport`], [`StagePhase`], [`ErrorReport`], [`MsqFault`], [`ResultsReport`],
//!   [`SegmentLoadStatus`], and [`ReportError`] for unreadable input.
//! - [`definition`]: what a stage does — [`StageDefinition`], [`InputSpec`],
//!   [`ProcessorSpec`], [`ShuffleSpec`], [`ClusterBy`].
//! - [`counters`]: what workers did — [`CounterSnapshotsTree`], [`WorkerCounters`],
//!   [`CounterSnapshot`] and its kinds ([`ChannelCounters`], [`SortProgress`], ...).
//! - [`stages`]: [`Stages`], the console's progress, rate and table math.
//!
//! # Example
//! ```
//! use msq_model::{StagePhase, TaskReport, TaskState};
//!
//! let report = TaskReport::from_json(r#"{"multiStageQuery": {
//!     "type": "multiStageQuery", "taskId": "query-1",
//!     "payload": {
//!         "status": {"status": "RUNNING", "durationMs": 1500},
//!         "stages": [{"stageNumber": 0, "phase": "READING_INPUT", "workerCount": 1,
//!             "definition": {"id": "q_0", "input": [{"type": "stage", "stage": 0}],
//!                 "processor": {"type": "scan", "query": {}}, "signature": [], "maxWorkerCount": 1}}],
//!         "counters": {"0": {"0": {"input0": {"type": "channel", "rows": [10], "files": [1], "totalFiles": [4]}}}}
//!     }}}"#)?;
//!
//! assert_eq!(report.task_id(), "query-1");
//! assert_eq!(report.status().status, TaskState::Running);
//! let stage = &report.payload().stages[0];
//! assert_eq!(stage.phase.map(StagePhase::label).as_deref(), Some("Reading input"));
//! let stages = report.stages();
//! assert_eq!(stages.input_files(stage, 0), Some((1, 4)));
//! assert_eq!(stages.stage_progress(stage), 0.25);
//! # Ok::<(), msq_model::ReportError>(())
//! ```
#![deny(missing_docs)]

pub mod api;
pub mod counters;
pub mod definition;
mod jackson;
pub mod report;
pub mod stages;

pub use api::{
    ShutdownResponse, SqlParameter, SqlTaskRequest, SqlTaskResponse, TaskLocation,
    TaskPayloadResponse, TaskState, TaskStatus, TaskStatusResponse,
};
pub use counters::{
    ChannelCounters, ChannelTotals, CounterSnapshot, CounterSnapshotsTree, CpuCounter, CpuCounters,
    SegmentGenerationProgress, SortProgress, StorageCounters, WarningCounters, WorkerCounters,
};
pub use definition::{
    ClusterBy, ColumnMapping, ColumnSignature, ExternalInputSpec, InputSpec, KeyColumn, KeyOrder,
    LimitProcessorSpec, ProcessorSpec, QueryProcessorSpec, SegmentGeneratorSpec, ShuffleSpec,
    StageDefinition, StageInputSpec, TableInputSpec,
};
pub use report::{
    ErrorReport, MsqFault, MultiStageQueryReport, ReportError, ReportPayload, ReportStatus,
    ResultsReport, SegmentLoadStatus, StagePhase, StageReport, TaskReport,
};
pub use stages::{IngestSummary, PartitionRow, Stages, WorkerRow};
