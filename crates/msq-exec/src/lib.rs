//! The data path of the Acorn MSQ engine: what a worker does with bytes and rows.
//!
//! This crate reads external input (`EXTERN` JSON/CSV/TSV, gzip or not) into Apache Arrow
//! record batches, packs batches into Arrow IPC *frames* of at most `maxFrameSize` bytes (the
//! unit rows travel in between workers), keeps the live counters a worker reports, and writes
//! and publishes segments (Arrow IPC files behind an atomically swapped manifest). It is not
//! the scheduler (that is `msq-kernel`) nor the driver that fetches URLs or posts messages
//! (`msq-runtime`, the browser glue): everything here is synchronous, push-based and free of
//! I/O, so the same code runs in a Web Worker and in native tests. The one exception is
//! `segment::DirSegmentStore`, a native-only `std::fs` implementation of the byte-oriented
//! [`segment::SegmentStore`] trait that an OPFS store will also implement.
//!
//! ```text
//!  fetch body chunks                                        Druid report JSON
//!        │                                                         ▲
//!        ▼                                                         │ snapshot()
//!  ┌───────────────┐  ┌──────────────┐  RecordBatch   ┌─────────────────────┐
//!  │ input::gzip   │─▶│ input::reader│──────────────▶ │ processors (later)  │
//!  │ (if .gz/1f8b) │  │ lines → rows │  ≤ N rows      │ scan/groupBy/sort … │
//!  └───────────────┘  └──────┬───────┘                └─────────┬───────────┘
//!                            │ ParseException                   │ RecordBatch
//!                            ▼                                  ▼
//!               ParseExceptionPolicy             ┌──────────────────────────┐
//!               (maxParseExceptions)             │ frame::FrameWriter       │
//!                            │                   │ Arrow IPC ≤ maxFrameSize │──▶ other workers
//!                            ▼                   └────────────┬─────────────┘
//!               counters::WarningCounters                     ▼
//!                            └──────────▶ counters::CounterTracker (input0, output, shuffle, …)
//! ```
//!
//! # Layout
//! - [`input`]: [`input::InputFormat`] (parsed `inputFormat` JSON),
//!   [`input::InputReader`] (push bytes, take batches; NDJSON, CSV, TSV),
//!   [`input::GzipDecoder`], [`input::ParseException`] and [`input::ParseExceptionPolicy`].
//! - [`expr`]: the expression evaluator, `msq_plan::expr::ScalarExpr` over record batches:
//!   [`expr::evaluate`], [`expr::evaluate_predicate`], [`expr::filter_batch`],
//!   [`expr::cast_array`] (Druid's casts) and [`expr::arrow_type`] (SQL type → Arrow type);
//!   arithmetic, comparisons, three-valued logic, strings, `LIKE`, regular expressions and
//!   the `TIME_*` functions with Joda patterns and ISO periods.
//! - [`frame`]: [`frame::encode_frame`] / [`frame::decode_frame`] (one IPC stream per frame)
//!   and [`frame::FrameWriter`] (slices batches under `maxFrameSize`).
//! - [`counters`]: live [`counters::ChannelCounters`], [`counters::WarningCounters`],
//!   [`counters::SortProgressCounter`], [`counters::SegmentGenerationProgressCounter`] and the
//!   per-worker [`counters::CounterTracker`], snapshotted into `msq_model::counters`.
//! - [`segment`]: [`segment::SegmentWriter`] (a time chunk's rows in their sort order → Arrow
//!   IPC file segments written a record batch at a time into any `Write`, strings
//!   dictionary-encoded, split at `rowsPerSegment`), the byte-oriented
//!   [`segment::SegmentStore`] (memory; a directory on native builds) and the
//!   [`segment::Publisher`] (atomic manifest swap: INSERT appends, REPLACE swaps time chunks;
//!   design README "Data").
//! - [`ops`]: the stage [`ops::ProgramExecutor`] (runs a `msq_plan::Program`: filter,
//!   project, broadcast hash join, hash aggregate in partial/final/single modes, stable sort,
//!   limit), [`ops::sort_batches`] for the runtime, [`ops::partial_state_fields`] (the
//!   documented partial aggregate state columns) and the [`ops::hll::HyperLogLog`] sketch.
//!
//! # Example
//! ```
//! use msq_exec::input::{InputFormat, InputReader, ReaderOptions};
//! use msq_sql::DruidType;
//!
//! let format = InputFormat::from_json_str(r#"{"type":"json"}"#)?;
//! let signature = vec![("page".to_owned(), DruidType::String), ("added".to_owned(), DruidType::Long)];
//! let mut reader = InputReader::new(&format, &signature, "inline", ReaderOptions::default())?;
//! reader.feed(b"{\"page\":\"Main\",\"added\":3}\n{\"page\":")?;
//! reader.feed(b"\"Talk\",\"added\":\"5\"}\nnot json\n")?;
//! reader.finish()?;
//! let batch = reader.next_batch().expect("one batch");
//! assert_eq!(batch.num_rows(), 2);
//! let warnings = reader.take_parse_exceptions();
//! assert_eq!(warnings[0].message, "Unable to parse row [not json] (Path: inline, Record: 3, Line: 3)");
//! # Ok::<(), msq_common::MsqError>(())
//! ```
#![deny(missing_docs)]

pub mod counters;
pub mod expr;
pub mod frame;
pub mod input;
pub mod ops;
pub mod segment;
