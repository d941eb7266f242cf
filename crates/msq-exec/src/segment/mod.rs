//! Segments and publishing (design README "Data"; spec `druid-msq.md` §1.1, §3.2).
//!
//! ```text
//!  RecordBatches of one time chunk + their sort order ((batch, row) positions)
//!        │
//!        ▼
//!  writer::SegmentWriter::segments ── checked, split at rowsPerSegment (ChunkSegments)
//!        │ write_into(i, sink): strings → Dictionary<Int32, Utf8> or plain, a record batch
//!        │ at a time into any Write (memory, or a stage worker's OPFS file)
//!        ▼
//!  manifest::Publisher ── 1. store.put_segment(each file)
//!        │                2. store.put_manifest_atomic(manifest version + 1)
//!        ▼
//!  store::SegmentStore  (MemorySegmentStore, DirSegmentStore; OPFS later)
//! ```
//!
//! - [`writer`]: [`SegmentWriter`] and its [`ChunkSegments`], [`SegmentId`] (Druid's id
//!   string), [`SegmentMeta`],
//!   [`Segment`], [`writer::decode_segment`] (and [`writer::decode_segment_columns`], which reads
//!   only some columns, zero-copy), [`writer::project_segment`] (a file cut to some columns)
//!   and [`writer::format_iso_millis`].
//! - [`ranges`]: [`ranges::read_segment_columns`], some columns of a segment file read from
//!   storage ([`ranges::ReadAt`]) without reading the rest.
//! - [`store`]: the [`SegmentStore`] trait, path helpers, [`MemorySegmentStore`] and (native
//!   only) `DirSegmentStore`.
//! - [`manifest`]: [`DatasourceManifest`], [`Overwrite`] and the [`Publisher`] (INSERT
//!   appends, REPLACE swaps time chunks, garbage collection, read-back).

pub mod manifest;
pub mod ranges;
pub mod store;
pub mod writer;

pub use manifest::{DatasourceManifest, Overwrite, Publisher};
pub use ranges::{read_segment_columns, ReadAt};
#[cfg(not(target_arch = "wasm32"))]
pub use store::DirSegmentStore;
pub use store::{
    manifest_path, segment_path, segment_path_of, Durable, MemorySegmentStore, Read, SegmentStore,
};
pub use writer::{
    decode_segment, decode_segment_columns, format_iso_millis, project_segment, time_values,
    ChunkSegments, Segment, SegmentId, SegmentMeta, SegmentWriter, DEFAULT_ROWS_PER_SEGMENT,
    SEGMENT_BATCH_ROWS, TIME_COLUMN,
};
