//! The moving parts of the Acorn MSQ engine: async drivers that carry out what the kernels
//! decide, the Druid task API over them, and [`LocalCluster`] — the whole engine in one thread.
//!
//! ```text
//!   Engine::submit(sql) ── msq-sql parse ── msq-plan query kit ──▶ PlannedQuery
//!        │                                                             │
//!        │ spawn                                                        ▼
//!        ▼                                      ┌───────────── controller::run_query ─────────────┐
//!   status / report / shutdown ◀── live ─────── │ ControllerQueryKernel (decides)                  │
//!                                   report      │  StartStage ──▶ spawn worker::run_work_order ×N  │
//!                                               │  SendPartitionBoundaries ──▶ oneshot per worker  │
//!                                               │  QueryComplete ──▶ results / publish segments    │
//!                                               └──────────────▲───────────────────────────────────┘
//!                                                              │ WorkerEvent (counters, statistics,
//!                                                              │ parse exceptions, segments, done)
//!   worker::run_work_order: inputs (Fetcher / ShuffleStore / SharedStore) → ProgramExecutor
//!                           → partition + sort → frames in ShuffleStore
//! ```
//!
//! Everything is single-threaded and generic over the world: [`env::Fetcher`] (bytes),
//! [`env::Clock`] (time), [`env::Spawner`] (concurrency), [`transport::Transport`] (how the
//! controller reaches workers) and a segment store
//! ([`store::SharedStore`] over `msq_exec::segment::SegmentStore`). Natively these are files,
//! the system clock and a `futures` `LocalPool`; in the browser, `fetch`, `Date.now`, Web
//! Workers and OPFS. Nothing here names a browser type.
//!
//! # Layout
//! - [`api`] — [`api::handle`]: Druid endpoint calls (`msq_protocol::api`) answered by the
//!   [`Engine`] with Druid's statuses and bodies.
//! - [`env`] — the [`env::Fetcher`], [`env::Clock`] and [`env::Spawner`] seams.
//! - [`fetch`] — [`fetch::MemoryFetcher`] and (native) [`fetch::FileFetcher`].
//! - [`store`] — [`store::SharedStore`]: manifests, datasource columns, segment bytes.
//! - [`split`] — [`split::line_range`]: one large file read by several workers in byte ranges.
//! - [`shuffle`] — cluster keys ([`shuffle::KeyEncoder`]), [`shuffle::Partitioner`],
//!   [`shuffle::ShuffleStore`].
//! - [`spill`] — [`spill::FrameSpill`]: scratch storage for frames over a worker's memory
//!   budget.
//! - [`transport`] — [`transport::Transport`] (controller ⇄ workers) and
//!   [`transport::LocalTransport`] (workers as futures, frames in memory).
//! - [`worker`] — [`worker::run_work_order`], [`worker::WorkerEvent`] and
//!   [`worker::WorkerInputs`] (where stage and table inputs are read from).
//! - [`remote`] — workers on other threads: [`remote::RemoteHosts`] (the controller's
//!   transport factory) and [`remote::StageHost`] (a worker thread), speaking
//!   [`remote::RemoteMessage`]s; [`remote::loopback`] runs them in one thread for tests.
//! - [`segment_cache`] — the segment columns a worker thread has read, kept for later queries.
//! - [`controller`] — [`controller::run_query`]: kernel loop, live report, results, publishing.
//! - [`results`] — Arrow → the report's `results`.
//! - [`system`] — `INFORMATION_SCHEMA` and `sys` tables for the interactive API.
//! - [`engine`] — [`Engine`]: submit / status / report / shutdown, Druid's JSON.
//! - [`cluster`] — [`LocalCluster`].
//! - [`bench`] — `POST /acorn/v1/bench/decode`: one thread's decode speed, Acorn's reader
//!   against serde_json alone.
#![deny(missing_docs)]

pub mod api;
pub mod bench;
pub mod cluster;
pub mod controller;
pub mod engine;
pub mod env;
pub mod fetch;
pub mod remote;
pub mod results;
pub mod segment_cache;
pub mod shuffle;
pub mod spill;
pub mod split;
pub mod store;
pub mod system;
pub mod transport;
pub mod worker;

pub use cluster::LocalCluster;
pub use engine::{ApiError, Engine, EngineEnv, Storage};
