//! The decision-making core of the Acorn MSQ engine: pure, synchronous state machines for
//! running a query plan, after Druid's `msq.kernel` package.
//!
//! Druid's `ControllerQueryKernel` javadoc states the contract we keep: kernels do not do any
//! RPC or deal with any data; they hold the decision-making in one, easy-to-follow place.
//! So nothing here does I/O, reads a clock (time comes in as `now_ms`), spawns, awaits or
//! panics on a bad event (style rule 1, "kernels decide, drivers do").
//!
//! ```text
//!   driver (msq-runtime / wasm glue)                 ControllerQueryKernel
//!   ────────────────────────────────                 ─────────────────────
//!   start(now) ───────────────────────────────────▶  check limits, slice inputs
//!                         ◀── StartStage{stage, work_orders}   (stages whose inputs are ready)
//!   on_work_order_accepted(stage, w) ─────────────▶  record
//!   on_worker_key_statistics(stage, w, stats) ────▶  merge; when all workers sent:
//!                         ◀── SendPartitionBoundaries{stage, partitions}   NEW→READING_INPUT→POST_READING
//!   on_worker_results_complete(stage, w, sizes) ──▶  when all workers done: RESULTS_READY
//!                         ◀── CleanStage{upstream}  (its consumers are done: FINISHED)
//!                         ◀── StartStage{next, ..}  (its inputs are now ready)
//!                         ◀── QueryComplete         (it was the final stage)
//!   on_worker_failed(stage, w, fault) ────────────▶  stage FAILED
//!                         ◀── QueryFailed{fault}
//!   on_cancel(now) ───────────────────────────────▶  running stages FAILED
//!                         ◀── QueryFailed{Canceled}
//! ```
//!
//! # Layout
//! - [`controller`] — [`ControllerQueryKernel`], [`KernelAction`], [`KernelConfig`],
//!   [`StageReportFields`].
//! - [`phase`] — [`ControllerStagePhase`] and [`WorkerStagePhase`] with their legal transitions.
//! - [`slice`](mod@slice) — [`InputSlice`], [`ReadablePartitions`], [`SegmentDescriptor`], [`WorkOrder`].
//! - [`slicer`] — [`ExternalInputSpecSlicer`], [`StageInputSlicer`], [`TableInputSpecSlicer`],
//!   [`InputSlicers::worker_inputs`], [`WorkerAssignment`], [`check_work_order`].
//! - [`statistics`] — [`ClusterByStatistics`] (bounded, mergeable key sample) and
//!   [`ClusterByPartitions`].
//! - [`fault`] — Druid's limits and the faults raised when they are exceeded.
//!
//! # Example
//! ```
//! use msq_common::{StageNumber, WorkerNumber};
//! use msq_kernel::{ControllerQueryKernel, KernelAction, KernelConfig};
//! use msq_plan::*;
//! use serde_json::json;
//!
//! let scan = StageDefinition::new(
//!     0,
//!     vec![InputSpec::External {
//!         input_source: json!({"type": "inline", "data": "a\n"}),
//!         input_format: json!({"type": "csv", "columns": ["x"]}),
//!         signature: vec![("x".into(), ColumnType::String)],
//!     }],
//!     ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
//! );
//! let query = QueryDefinition::new("q", vec![scan], StageNumber(0))?;
//! let mut kernel = ControllerQueryKernel::new(query, KernelConfig::default())?;
//! let actions = kernel.start(1_000)?;
//! assert!(matches!(&actions[..], [KernelAction::StartStage { work_orders, .. }] if work_orders.len() == 1));
//! let done = kernel.on_worker_results_complete(StageNumber(0), WorkerNumber(0), vec![1], 1_500)?;
//! assert_eq!(done, vec![KernelAction::QueryComplete]);
//! assert_eq!(kernel.stage_report_fields(StageNumber(0), 9_999).unwrap().duration_ms, 500);
//! # Ok::<(), msq_common::MsqError>(())
//! ```
#![deny(missing_docs)]

pub mod controller;
pub mod fault;
pub mod phase;
pub mod slice;
pub mod slicer;
pub mod statistics;

pub use controller::{ControllerQueryKernel, KernelAction, KernelConfig, StageReportFields};
pub use phase::{ControllerStagePhase, WorkerStagePhase};
pub use slice::{InputSlice, ReadablePartition, ReadablePartitions, SegmentDescriptor, WorkOrder};
pub use slicer::{
    check_work_order, ExternalInputSpecSlicer, InputSlicers, StageInputSlicer,
    TableInputSpecSlicer, WorkerAssignment,
};
pub use statistics::{ClusterByPartition, ClusterByPartitions, ClusterByStatistics};
