//! Operators and the stage program executor: what a worker does to a stage's rows.
//!
//! A stage's [`Program`](msq_plan::Program) (msq-plan `program.rs`) is a list of steps; the
//! [`ProgramExecutor`] chains one operator per step and is driven push-style by the runtime:
//! `push` each input batch (streaming steps answer at once), `finish` at end of input (blocking
//! steps flush), `is_done` to stop reading early when a limit is full. Expressions are
//! evaluated by [`crate::expr`].
//!
//! ```text
//!  batch ─▶ Filter ─▶ Project ─▶ Join ─▶ Aggregate ─▶ Sort ─▶ Limit ─▶ output batches
//!           (streaming: per batch)  ▲     (blocking: on finish)
//!                                   └── broadcast inputs, hashed once
//! ```
//!
//! # Layout
//! - [`executor`]: [`ProgramExecutor`] (step chaining, schemas, early stop).
//! - [`aggregate`]: hash aggregation in `Partial`/`Final`/`Single` modes, every
//!   `AggregateFunction`, the documented partial state columns ([`partial_state_fields`]).
//! - [`hll`]: [`hll::HyperLogLog`], the mergeable, exact-while-small distinct-count sketch.
//! - [`sort`]: stable multi-key sort on arrow-row keys, [`sort_batches`] for the runtime.
//! - [`join`]: broadcast hash join, `INNER` and `LEFT`, with an optional extra condition.
//! - [`limit`]: `OFFSET`/`LIMIT` across batches.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use arrow_array::{cast::AsArray, types::Int64Type, Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use msq_exec::ops::ProgramExecutor;
//! use msq_plan::{AggregateExpr, AggregateFunction, AggregateMode, AggregateStep, NamedAggregate,
//!     NamedExpr, Program, ScalarExpr, SqlType, Step};
//!
//! // SELECT page, SUM(added) AS total FROM input GROUP BY page
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("page", DataType::Utf8, true),
//!     Field::new("added", DataType::Int64, true),
//! ]));
//! let program = Program::new(vec![Step::Aggregate(AggregateStep {
//!     mode: AggregateMode::Single,
//!     group_by: vec![NamedExpr::new("page", ScalarExpr::column(0, "page", SqlType::Varchar))],
//!     aggregates: vec![NamedAggregate {
//!         name: "total".into(),
//!         aggregate: AggregateExpr {
//!             func: AggregateFunction::Sum,
//!             args: vec![ScalarExpr::column(1, "added", SqlType::Bigint)],
//!             filter: None,
//!             ty: SqlType::Bigint,
//!         },
//!     }],
//! })]);
//! let mut exec = ProgramExecutor::new(&program, schema.clone(), vec![])?;
//! let batch = RecordBatch::try_new(schema, vec![
//!     Arc::new(StringArray::from(vec!["Main", "Talk", "Main"])),
//!     Arc::new(Int64Array::from(vec![3, 5, 4])),
//! ]).expect("valid batch");
//! assert!(exec.push(batch)?.is_empty()); // aggregation is blocking
//! let out = exec.finish()?;
//! let totals = out[0].column(1).as_primitive::<Int64Type>();
//! assert_eq!(totals.values().to_vec(), vec![7, 5]); // groups in first-seen order
//! # Ok::<(), msq_common::MsqError>(())
//! ```

pub mod aggregate;
pub mod executor;
pub mod hll;
pub mod join;
pub mod limit;
pub mod sort;

pub use aggregate::partial_state_fields;
pub use executor::ProgramExecutor;
pub use sort::{sort_batches, sort_positions};

use arrow_schema::ArrowError;
use msq_common::{ErrorCode, MsqError};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An Arrow kernel failure inside an operator (Druid's `QueryRuntimeError`).
pub(crate) fn arrow_err(e: ArrowError) -> MsqError {
    MsqError::execution(ErrorCode::QueryRuntimeError, e.to_string())
}

/// A fast, non-cryptographic hasher for byte keys (arrow-row encodings of group and join
/// keys): 8-byte words mixed multiplicatively, finalized with MurmurHash3's `fmix64`.
#[derive(Default, Clone, Copy)]
pub(crate) struct ByteHasher {
    hash: u64,
}

impl Hasher for ByteHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.hash;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        self.hash = h;
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.hash = (self.hash.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        hll::fmix64(self.hash)
    }
}

/// A hash map keyed by owned byte strings, looked up by `&[u8]` without allocating.
pub(crate) type ByteMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<ByteHasher>>;
