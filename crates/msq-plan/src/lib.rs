//! Query plans of the Acorn MSQ engine: the data model of a multi-stage query, as Druid's
//! controller holds it (spec `druid-msq.md` §4.1–§4.5).
//!
//! A plan is a [`QueryDefinition`]: a DAG of [`StageDefinition`]s, each reading
//! [`InputSpec`]s (external files, earlier stages, datasource segments), running a
//! [`ProcessorSpec`] on up to `max_worker_count` workers and handing its output on through a
//! [`ShuffleSpec`]. [`StageDefinition::to_model`] writes a stage exactly as Druid's task report
//! shows it (`stages[].definition`), so the console and golden tests see Druid's JSON.
//!
//! The SQL → stages planner is the [`querykit`] ([`querykit::plan_statement`]); the state
//! machines that run a plan live elsewhere (`msq-kernel`). No I/O; builds for `wasm32-unknown-unknown`.
//!
//! ```text
//!   SQL ──(query kit)──▶ QueryDefinition { stages: [StageDefinition ...], final_stage }
//!                                              │ inputs ─▶ InputSpec::{External, Stage, Table}
//!                                              │ processor ─▶ ProcessorSpec
//!                                              │ shuffle ─▶ ShuffleSpec{Mix,Hash,MaxCount,TargetSize}
//!                                              ▼
//!                                   to_model() ─▶ msq_model::StageDefinition (report JSON)
//! ```
//!
//! # Layout
//! - [`query`] — [`QueryDefinition`] and its validation (numbering, DAG, one sink).
//! - [`stage`] — [`StageDefinition`] and its report JSON.
//! - [`input`] — [`InputSpec`].
//! - [`processor`] — [`ProcessorSpec`] with [`QueryProcessor`], [`LimitProcessor`],
//!   [`SegmentGeneratorProcessor`].
//! - [`shuffle`] — [`ShuffleSpec`], [`ShuffleKind`], [`ClusterBy`], [`KeyColumn`], [`KeyOrder`].
//! - [`types`] — [`ColumnType`] and [`Signature`].
//! - [`expr`] — bound expressions ([`ScalarExpr`], [`AggregateExpr`], [`SqlType`]) and the
//!   SQL-type ↔ Arrow contract shared by the binder and the evaluator.
//! - [`program`] — [`Program`]/[`Step`]: what a stage's workers do to its rows.
//! - [`querykit`] — the binder and query kit: SQL statement → bound expressions →
//!   [`QueryDefinition`] ([`querykit::plan_statement`]).
//!
//! # Example
//! ```
//! use msq_common::StageNumber;
//! use msq_plan::*;
//! use serde_json::json;
//!
//! let mut scan = StageDefinition::new(
//!     0,
//!     vec![InputSpec::External {
//!         input_source: json!({"type": "inline", "data": "a\nb\n"}),
//!         input_format: json!({"type": "csv", "columns": ["x"]}),
//!         signature: vec![("x".into(), ColumnType::String)],
//!     }],
//!     ProcessorSpec::Scan(QueryProcessor::new(json!({"queryType": "scan"}))),
//! );
//! scan.signature = vec![("x".into(), ColumnType::String)];
//! scan.shuffle_spec = Some(ShuffleSpec::Mix);
//! let limit = StageDefinition::new(
//!     1,
//!     vec![InputSpec::Stage { stage: StageNumber(0) }],
//!     ProcessorSpec::Limit(LimitProcessor::new(0, Some(10))),
//! );
//! let query = QueryDefinition::new("q1", vec![scan, limit], StageNumber(1))?;
//! let json = serde_json::to_value(query.stages[1].to_model(&query.query_id)).unwrap();
//! assert_eq!(json["id"], "q1_1");
//! assert_eq!(json["processor"], json!({"type": "limit", "offset": 0, "limit": 10}));
//! # Ok::<(), msq_common::MsqError>(())
//! ```
#![deny(missing_docs)]

pub mod expr;
pub mod input;
pub mod processor;
pub mod program;
pub mod query;
pub mod querykit;
pub mod shuffle;
pub mod stage;
pub mod types;

pub use expr::{
    AggregateExpr, AggregateFunction, BinaryOp, Literal, NamedAggregate, NamedExpr, ScalarExpr,
    ScalarFunction, SortKey, SqlType, TimeUnit, TrimWhere,
};
pub use input::InputSpec;
pub use processor::{LimitProcessor, ProcessorSpec, QueryProcessor, SegmentGeneratorProcessor};
pub use program::{AggregateMode, AggregateStep, InputOrder, JoinKind, JoinStep, Program, Step};
pub use query::QueryDefinition;
pub use shuffle::{ClusterBy, KeyColumn, KeyOrder, ShuffleKind, ShuffleSpec};
pub use stage::StageDefinition;
pub use types::{ColumnType, Signature};
