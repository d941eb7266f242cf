//! Segment generation: sorted rows of one time chunk → Arrow IPC *file* bytes, split at
//! `rowsPerSegment` (design README "Data"; spec `druid-msq.md` §1.3/§1.4 for PARTITIONED BY /
//! CLUSTERED BY, §3.2 for `TooManySegmentsInTimeChunk`, `InsertTimeNull`,
//! `InsertTimeOutOfBounds` and `ColumnTypeNotSupported`).
//!
//! A segment is one IPC file. Its string columns are `Dictionary<Int32, Utf8>` with one sorted
//! dictionary per column per segment, shared by every record batch of the file (so the IPC
//! file format, which forbids dictionary replacement, holds several batches without copying
//! rows together) — except columns that hardly repeat a value, which are plain `Utf8` (see
//! `string_storage` for the rule and why Acorn departs from Druid there). Numbers stay as
//! `Int64` / `Float64` / `Float32`; `__time` is an `Int64` of
//! UTC milliseconds, as the input readers produce it. `Binary` columns (serialized aggregate
//! state such as a rollup's HyperLogLog sketch) are stored as they are and recorded as
//! `COMPLEX<name>` ([`COMPLEX_TYPE_METADATA`], default [`DEFAULT_COMPLEX_TYPE`]).
//!
//! The writer trusts but checks its input: rows must already be sorted by `__time` (the
//! CLUSTERED BY order inside equal times is the caller's business and is kept as given), every
//! `__time` must be non-null and inside the chunk's interval.

use std::collections::HashSet;
use std::hash::Hasher as _;
use std::io::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_buffer::Buffer;
use arrow_ipc::convert::try_fb_to_schema;
use arrow_ipc::reader::{read_footer_length, FileDecoder};
use arrow_ipc::writer::FileWriter;
use arrow_ipc::{root_as_footer, Block, Footer};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use msq_common::{exec_err, internal_err, msq_ensure, MsqError, Result};
use msq_sql::DruidType;

use crate::ops::ByteHasher;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

/// The name of the time column every segment has.
pub const TIME_COLUMN: &str = "__time";

/// Druid's default `rowsPerSegment` (spec `druid-msq.md` §2).
pub const DEFAULT_ROWS_PER_SEGMENT: usize = 3_000_000;

/// The most rows of one record batch in a segment file. A segment's rows arrive as the
/// shuffle's frames (about 2,000 rows of a wide table each); stored as they came, a query
/// paid its per-batch costs (a filter's mask and gathers, re-typing the columns it reads,
/// building each batch) some 500 times over a million rows. Batches are joined up to this
/// size before they are encoded, which costs one copy of the rows at ingest.
pub const SEGMENT_BATCH_ROWS: usize = 65_536;

/// The identity of one segment: Druid's `SegmentId` (data source, interval, version,
/// partition number).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentId {
    /// The datasource the segment belongs to.
    pub data_source: String,
    /// Start of the time chunk, UTC milliseconds, inclusive.
    pub interval_start_ms: i64,
    /// End of the time chunk, UTC milliseconds, exclusive.
    pub interval_end_ms: i64,
    /// The version (Druid uses the ISO time the task took its lock).
    pub version: String,
    /// Position of the segment in its time chunk, from 0.
    pub partition_num: u32,
}

impl std::fmt::Display for SegmentId {
    /// Druid's spelling: `<dataSource>_<start>_<end>_<version>[_<partitionNum>]`, partition 0
    /// without suffix, e.g. `wiki_2016-06-27T00:00:00.000Z_2016-06-28T00:00:00.000Z_v1_2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}_{}_{}_{}",
            self.data_source,
            format_iso_millis(self.interval_start_ms),
            format_iso_millis(self.interval_end_ms),
            self.version
        )?;
        if self.partition_num != 0 {
            write!(f, "_{}", self.partition_num)?;
        }
        Ok(())
    }
}

/// What the manifest records about a written segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentMeta {
    /// Which segment.
    pub id: SegmentId,
    /// Rows in the segment.
    pub num_rows: usize,
    /// Size of the IPC file in bytes.
    pub size_bytes: usize,
    /// Column names and Druid types, `__time` first.
    pub columns: Vec<(String, DruidType)>,
}

/// A written segment: its metadata and its IPC file bytes. Serialised, it is only its
/// metadata: the bytes travel beside it (in a `postMessage` transfer list between workers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// What the manifest records.
    pub meta: SegmentMeta,
    /// The Arrow IPC file (empty when [`Segment::file`] says where it already is).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Where the worker that generated the segment already wrote its file in the segment
    /// store, under a name of its own, when it can reach the store itself (the browser's stage
    /// workers write OPFS): the controller then adopts the file under the segment's path
    /// ([`super::SegmentStore::adopt_segment`]) instead of receiving its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// Writes the segments of one time chunk.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
/// use msq_exec::segment::writer::{decode_segment, SegmentWriter};
///
/// let day = 86_400_000;
/// let time: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 2]));
/// let page: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "b"]));
/// let batch = RecordBatch::try_from_iter([("__time", time), ("page", page)])?;
/// let segments = SegmentWriter::new("wiki", 0, day, "v1", 2)?.write(&[batch])?;
/// assert_eq!(segments.len(), 2);
/// assert_eq!(segments[1].meta.id.to_string(),
///            "wiki_1970-01-01T00:00:00.000Z_1970-01-02T00:00:00.000Z_v1_1");
/// assert_eq!(decode_segment(&segments[0].bytes)?[0].num_rows(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentWriter {
    data_source: String,
    interval_start_ms: i64,
    interval_end_ms: i64,
    version: String,
    rows_per_segment: usize,
    first_partition_num: u32,
    max_num_segments: Option<usize>,
    batch_rows: usize,
}

impl SegmentWriter {
    /// A writer for the chunk `[interval_start_ms, interval_end_ms)` of `data_source`.
    ///
    /// # Errors
    /// An internal error for an empty interval or `rows_per_segment == 0`.
    pub fn new(
        data_source: impl Into<String>,
        interval_start_ms: i64,
        interval_end_ms: i64,
        version: impl Into<String>,
        rows_per_segment: usize,
    ) -> Result<Self> {
        if interval_start_ms >= interval_end_ms {
            internal_err!("empty segment interval [{interval_start_ms}, {interval_end_ms})")
        }
        if rows_per_segment == 0 {
            internal_err!("rowsPerSegment must be positive")
        }
        Ok(Self {
            data_source: data_source.into(),
            interval_start_ms,
            interval_end_ms,
            version: version.into(),
            rows_per_segment,
            first_partition_num: 0,
            max_num_segments: None,
            batch_rows: SEGMENT_BATCH_ROWS,
        })
    }

    /// Numbers partitions from `n` (an INSERT appending to a chunk that already has `n`
    /// partitions of this version).
    pub fn with_first_partition_num(mut self, n: u32) -> Self {
        self.first_partition_num = n;
        self
    }

    /// Fails with `TooManySegmentsInTimeChunk` past `max` segments (context `maxNumSegments`).
    pub fn with_max_num_segments(mut self, max: usize) -> Self {
        self.max_num_segments = Some(max);
        self
    }

    /// Writes the rows as record batches of at most `rows` rows ([`SEGMENT_BATCH_ROWS`]
    /// unless set).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Writes `batches` (one schema, sorted by `__time`) as segments of at most
    /// `rows_per_segment` rows each, each file in memory. No rows give no segments.
    ///
    /// # Errors
    /// As [`SegmentWriter::segments`] and [`ChunkSegments::write_into`].
    pub fn write(&self, batches: &[RecordBatch]) -> Result<Vec<Segment>> {
        let order: Vec<(usize, usize)> = (batches.iter().enumerate())
            .flat_map(|(b, batch)| (0..batch.num_rows()).map(move |row| (b, row)))
            .collect();
        let chunk = self.segments(batches, &order)?;
        (0..chunk.len())
            .map(|index| {
                let (meta, bytes) = chunk.write_into(index, Vec::new())?;
                Ok(Segment {
                    meta,
                    bytes,
                    file: None,
                })
            })
            .collect()
    }

    /// The segments of one time chunk whose rows, in segment order (by `__time`, then
    /// CLUSTERED BY), are the `(batch, row)` positions `order` lists of `batches` (one schema)
    /// — each row once, as [`crate::ops::sort_positions`] gives them. The rows are checked
    /// here; each segment is then encoded on its own ([`ChunkSegments::write_into`]), so a
    /// sorted copy of the chunk never exists.
    ///
    /// # Errors
    /// `InsertTimeNull` for a null `__time`, `InsertTimeOutOfBounds` for a time outside the
    /// chunk, `ColumnTypeNotSupported` for a column that is not a long, double, float,
    /// string or complex (Binary), `TooManySegmentsInTimeChunk` past `maxNumSegments`, and
    /// internal errors for a missing or non-`Int64` `__time`, mixed schemas, a position
    /// outside `batches` or unsorted times.
    pub fn segments<'a>(
        &'a self,
        batches: &'a [RecordBatch],
        order: &'a [(usize, usize)],
    ) -> Result<ChunkSegments<'a>> {
        let Some(first) = batches.first() else {
            if !order.is_empty() {
                internal_err!("segment rows point into no batches")
            }
            return Ok(ChunkSegments {
                writer: self,
                batches,
                order,
                columns: Vec::new(),
                count: 0,
            });
        };
        let input_schema = first.schema();
        let same_columns = |b: &RecordBatch| {
            let schema = b.schema();
            schema.fields().len() == input_schema.fields().len()
                && schema
                    .fields()
                    .iter()
                    .zip(input_schema.fields())
                    .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
        };
        if !batches.iter().all(same_columns) {
            internal_err!("segment input batches have different schemas")
        }
        let columns = druid_columns(&input_schema)?;
        let time_index = columns
            .iter()
            .position(|(name, _)| name == TIME_COLUMN)
            .ok_or_else(|| MsqError::internal("segment input has no __time column"))?;
        if input_schema.field(time_index).data_type() != &DataType::Int64 {
            internal_err!("__time must be Int64 milliseconds")
        }
        self.check_times(batches, order, time_index)?;

        let count = order.len().div_ceil(self.rows_per_segment);
        if let Some(max) = self.max_num_segments {
            msq_ensure!(
                count <= max,
                TooManySegmentsInTimeChunk,
                "Too many segments requested for time chunk [{}/{}] (requested = [{count}], \
                 maximum = [{max}]). Please try breaking up your query or change the segment \
                 granularity.",
                format_iso_millis(self.interval_start_ms),
                format_iso_millis(self.interval_end_ms)
            );
        }
        Ok(ChunkSegments {
            writer: self,
            batches,
            order,
            columns,
            count,
        })
    }

    fn check_times(
        &self,
        batches: &[RecordBatch],
        order: &[(usize, usize)],
        time_index: usize,
    ) -> Result<()> {
        let mut times = Vec::with_capacity(batches.len());
        for batch in batches {
            let column = batch
                .column(time_index)
                .as_primitive::<arrow_array::types::Int64Type>();
            msq_ensure!(
                column.null_count() == 0,
                InsertTimeNull,
                // Druid's `InsertTimeNullFault` message (spec `druid-msq.md` §1.5).
                "Null timestamp (__time) encountered during INSERT or REPLACE."
            );
            times.push(column.values());
        }
        let mut previous = i64::MIN;
        for &(b, row) in order {
            let Some(&t) = times.get(b).and_then(|t| t.get(row)) else {
                internal_err!("segment row ({b}, {row}) is outside its batches")
            };
            msq_ensure!(
                (self.interval_start_ms..self.interval_end_ms).contains(&t),
                InsertTimeOutOfBounds,
                "Query generated time chunk [{}] out of bounds specified by \
                 replaceExistingTimeChunks [{}/{}]",
                format_iso_millis(t),
                format_iso_millis(self.interval_start_ms),
                format_iso_millis(self.interval_end_ms)
            );
            if t < previous {
                internal_err!("segment input is not sorted by __time")
            }
            previous = t;
        }
        Ok(())
    }
}

/// The segments of one time chunk, checked and numbered, each written when asked
/// ([`SegmentWriter::segments`]).
#[derive(Debug)]
pub struct ChunkSegments<'a> {
    writer: &'a SegmentWriter,
    batches: &'a [RecordBatch],
    order: &'a [(usize, usize)],
    columns: Vec<(String, DruidType)>,
    count: usize,
}

impl ChunkSegments<'_> {
    /// How many segments the chunk's rows make.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the chunk has no rows.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The id of segment `index` (partitions numbered from the writer's first).
    ///
    /// # Errors
    /// An internal error for a partition number past `u32`.
    pub fn id(&self, index: usize) -> Result<SegmentId> {
        let w = self.writer;
        let partition_num = u32::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(w.first_partition_num))
            .ok_or_else(|| MsqError::internal("partition number overflow"))?;
        Ok(SegmentId {
            data_source: w.data_source.clone(),
            interval_start_ms: w.interval_start_ms,
            interval_end_ms: w.interval_end_ms,
            version: w.version.clone(),
            partition_num,
        })
    }

    /// Encodes segment `index` as an Arrow IPC file into `sink`, and returns its metadata and
    /// the sink. Each string column's storage is chosen over the segment's rows first
    /// (`plan_columns`: a sorted dictionary with the rows' keys, or plain); then the rows
    /// are gathered and written a record batch of at most `batch_rows` rows at a time
    /// ([`SegmentWriter::with_batch_rows`]). So at most one record batch of the segment exists
    /// at a time, and the file itself only in `sink`: a stage worker's sink writes it to the
    /// segment store as it goes. At 1M rows a day's segment is ~40 MB; its sorted copy and
    /// its file in memory were what set a stage thread's peak memory.
    ///
    /// # Errors
    /// An internal error for an index past [`ChunkSegments::len`], a failed write to `sink`,
    /// or input Arrow cannot gather.
    pub fn write_into<W: Write>(&self, index: usize, sink: W) -> Result<(SegmentMeta, W)> {
        if index >= self.count {
            internal_err!("segment {index} of a chunk with {} segments", self.count)
        }
        let per_segment = self.writer.rows_per_segment;
        let start = index * per_segment;
        let rows = &self.order[start..self.order.len().min(start + per_segment)];
        let plans = plan_columns(self.batches, rows, &self.columns)?;
        // Each string column is a dictionary or plain as `string_storage` chose for this segment.
        let schema = Arc::new(Schema::new(
            (self.columns.iter().enumerate())
                .zip(&plans)
                .map(|((c, (name, _)), plan)| {
                    let data_type = match plan {
                        ColumnPlan::Dictionary(..) => DataType::Dictionary(
                            Box::new(DataType::Int32),
                            Box::new(DataType::Utf8),
                        ),
                        ColumnPlan::Plain => DataType::Utf8,
                        ColumnPlan::Gather => self.batches[0].column(c).data_type().clone(),
                    };
                    Field::new(name, data_type, true)
                })
                .collect::<Vec<_>>(),
        ));
        let write_err = |e| MsqError::internal(format!("writing a segment: {e}"));
        let mut writer =
            FileWriter::try_new(CountingWriter::new(sink), &schema).map_err(write_err)?;
        let mut offset = 0;
        for part in rows.chunks(self.writer.batch_rows) {
            let columns = (plans.iter().enumerate())
                .map(|(c, plan)| plan.column(c, self.batches, part, offset))
                .collect::<Result<Vec<_>>>()?;
            let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
                .map_err(|e| MsqError::internal(format!("encoding a segment: {e}")))?;
            writer.write(&batch).map_err(write_err)?;
            offset += part.len();
        }
        writer.finish().map_err(write_err)?;
        let file = writer.into_inner().map_err(write_err)?;
        let meta = SegmentMeta {
            id: self.id(index)?,
            num_rows: rows.len(),
            size_bytes: file.written,
            columns: self.columns.clone(),
        };
        Ok((meta, file.inner))
    }
}

/// A [`Write`] that counts the bytes written through it (a segment's size, wherever its
/// file goes).
struct CountingWriter<W> {
    inner: W,
    written: usize,
}

impl<W> CountingWriter<W> {
    fn new(inner: W) -> Self {
        Self { inner, written: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How one column of a segment is written.
enum ColumnPlan {
    /// Gathered from the input as it is: numbers, complex values, and string columns that
    /// are stored plain and arrive plain.
    Gather,
    /// Plain `Utf8` built from dictionary-encoded input.
    Plain,
    /// Against one sorted dictionary shared by every batch of the file, with the keys of the
    /// segment's rows in order.
    Dictionary(ArrayRef, Int32Array),
}

/// Each column's [`ColumnPlan`] for the segment of rows `rows`: string columns as
/// [`string_storage`] decides over those rows.
fn plan_columns(
    batches: &[RecordBatch],
    rows: &[(usize, usize)],
    columns: &[(String, DruidType)],
) -> Result<Vec<ColumnPlan>> {
    (columns.iter().enumerate())
        .map(|(c, (_, ty))| {
            if *ty != DruidType::String {
                return Ok(ColumnPlan::Gather);
            }
            let sources = (batches.iter())
                .map(|b| StringColumn::new(b.column(c)))
                .collect::<Result<Vec<_>>>()?;
            let values = rows.iter().map(|&(b, row)| sources[b].value(row));
            Ok(match string_storage(rows.len(), values)? {
                StringStorage::Dictionary(dictionary, keys) => {
                    ColumnPlan::Dictionary(dictionary, keys)
                }
                StringStorage::Plain
                    if sources.iter().all(|s| matches!(s, StringColumn::Plain(_))) =>
                {
                    ColumnPlan::Gather
                }
                StringStorage::Plain => ColumnPlan::Plain,
            })
        })
        .collect()
}

impl ColumnPlan {
    /// Column `c` of the record batch holding rows `part` of `batches`, which start at row
    /// `offset` of the segment.
    fn column(
        &self,
        c: usize,
        batches: &[RecordBatch],
        part: &[(usize, usize)],
        offset: usize,
    ) -> Result<ArrayRef> {
        let gather_err = |e| MsqError::internal(format!("gathering a segment's rows: {e}"));
        match self {
            Self::Gather => {
                // Rows already in order within one batch (time-sorted input) are a slice.
                if let (Some(&(b, first)), true) = (
                    part.first(),
                    part.windows(2).all(|w| w[1] == (w[0].0, w[0].1 + 1)),
                ) {
                    return Ok(batches[b].column(c).slice(first, part.len()));
                }
                let arrays: Vec<&dyn Array> =
                    batches.iter().map(|b| b.column(c).as_ref()).collect();
                arrow_select::interleave::interleave(&arrays, part).map_err(gather_err)
            }
            Self::Plain => {
                let sources = (batches.iter())
                    .map(|b| StringColumn::new(b.column(c)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(StringArray::from_iter(
                    part.iter().map(|&(b, row)| sources[b].value(row)),
                )))
            }
            Self::Dictionary(dictionary, keys) => {
                let array = DictionaryArray::<Int32Type>::try_new(
                    keys.slice(offset, part.len()),
                    Arc::clone(dictionary),
                )
                .map_err(|e| MsqError::internal(format!("dictionary encoding: {e}")))?;
                Ok(Arc::new(array))
            }
        }
    }
}

/// The Arrow field metadata key naming the complex type of a `Binary` column
/// (`COMPLEX<name>`); see [`DEFAULT_COMPLEX_TYPE`] when it is absent.
pub const COMPLEX_TYPE_METADATA: &str = "druid.complexType";

/// The complex type a `Binary` column without [`COMPLEX_TYPE_METADATA`] is stored as:
/// `HLLSketch`, the one complex value an ingest writes (a rollup's `APPROX_COUNT_DISTINCT`
/// sketch, spec `druid-msq.md` §1.6).
pub const DEFAULT_COMPLEX_TYPE: &str = "HLLSketch";

/// The Druid type of each column, or `ColumnTypeNotSupported`: Int64 → `LONG`, Float64 →
/// `DOUBLE`, Float32 → `FLOAT`, Utf8 (or dictionary-encoded Utf8) → `STRING`, Binary →
/// `COMPLEX<name>` (serialized state, kept as Binary in the segment).
fn druid_columns(schema: &Schema) -> Result<Vec<(String, DruidType)>> {
    schema
        .fields()
        .iter()
        .map(|field| {
            let ty = match field.data_type() {
                DataType::Int64 => DruidType::Long,
                DataType::Float64 => DruidType::Double,
                DataType::Float32 => DruidType::Float,
                DataType::Utf8 => DruidType::String,
                DataType::Binary => DruidType::Complex(
                    field
                        .metadata()
                        .get(COMPLEX_TYPE_METADATA)
                        .cloned()
                        .unwrap_or_else(|| DEFAULT_COMPLEX_TYPE.to_owned()),
                ),
                DataType::Dictionary(key, value)
                    if **key == DataType::Int32 && **value == DataType::Utf8 =>
                {
                    DruidType::String
                }
                other => exec_err!(
                    ColumnTypeNotSupported,
                    "Column [{}] has type [{other}], which segments cannot store",
                    field.name()
                ),
            };
            Ok((field.name().clone(), ty))
        })
        .collect()
}

/// A `Utf8` or `Dictionary<Int32, Utf8>` column read value by value.
enum StringColumn<'a> {
    Plain(&'a StringArray),
    Dictionary(&'a DictionaryArray<Int32Type>, &'a StringArray),
}

impl<'a> StringColumn<'a> {
    /// The column `array`, its dictionary keys checked to point into its values.
    fn new(array: &'a ArrayRef) -> Result<Self> {
        if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
            return Ok(Self::Plain(s));
        }
        let Some(d) = array.as_any().downcast_ref::<DictionaryArray<Int32Type>>() else {
            internal_err!("not a string column")
        };
        let values = d
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| MsqError::internal("dictionary values are not Utf8"))?;
        let in_range = |&k: &i32| usize::try_from(k).is_ok_and(|k| k < values.len());
        if !(d.keys().iter().flatten()).all(|k| in_range(&k)) {
            internal_err!("dictionary key out of range")
        }
        Ok(Self::Dictionary(d, values))
    }

    /// The value of row `row`.
    fn value(&self, row: usize) -> Option<&'a str> {
        match self {
            Self::Plain(s) => s.is_valid(row).then(|| s.value(row)),
            Self::Dictionary(d, values) => {
                let k = d
                    .keys()
                    .is_valid(row)
                    .then(|| d.keys().value(row) as usize)?;
                values.is_valid(k).then(|| values.value(k))
            }
        }
    }
}

/// How one string column of a segment is stored.
enum StringStorage {
    /// A sorted dictionary (distinct, no nulls) and the keys into it, row by row (null where
    /// the value is null).
    Dictionary(ArrayRef, Int32Array),
    /// Plain `Utf8`, as the rows came.
    Plain,
}

/// The predicted distinct share above which a column is stored plain after its first
/// [`PLAIN_MIN_VALUES`] values. The prediction misses by a few points, and this verdict is
/// final while a dictionary is checked again at the end, so it takes a clear majority: with a
/// half, one day of the benchmark's `user` column (predicted 0.52, in the end 0.49 distinct)
/// was stored plain among six with dictionaries, and `COUNT(DISTINCT "user")` hashed that
/// day's every row and lost the other days' carried groups.
const EARLY_PLAIN_SHARE: f64 = 0.6;

/// Columns with fewer non-null values than this are always dictionary-encoded.
const PLAIN_MIN_VALUES: usize = 4096;

/// Chooses how to store one string column and builds its dictionary when it has one.
///
/// Druid dictionary-encodes every string column. Acorn's segments are Arrow IPC, where a
/// column can be either, so a column that hardly repeats a value (an ISO timestamp kept as
/// text, a comment, a diff URL) is stored plain: its dictionary would be as large as the
/// column, cost a hash lookup per row and a sort of every value, and give queries nothing
/// (at 1M rows those sorts were a sixth of the ingest). A column of at least
/// [`PLAIN_MIN_VALUES`] values is plain when over half its values are distinct: decided early
/// from its first [`PLAIN_MIN_VALUES`] values when they predict it
/// ([`expected_distinct_share`]), so unique columns are not hashed to the end, and otherwise
/// in the end. The early verdict is final, so it needs a margin ([`EARLY_PLAIN_SHARE`]). A
/// column drawn from a pool of values repeats them (a user name in an edit log: 96 % of its
/// first 4096 values distinct, a third to a half of a day's 143k) and keeps its dictionary,
/// which grouping and filtering by it use.
///
/// The dictionary is built in two passes, so that only the distinct values are sorted: every
/// row is interned once (one hash lookup, first-seen ids), then the distinct values are
/// sorted and each first-seen id is mapped to its rank.
fn string_storage<'s>(
    rows: usize,
    column: impl IntoIterator<Item = Option<&'s str>>,
) -> Result<StringStorage> {
    let too_large = || MsqError::internal("dictionary too large");
    // Ids of the distinct values, looked up by the value's hash and compared with `distinct`:
    // one hash per row, none again on insertion or growth.
    let mut ids: HashTable<(u64, u32)> = HashTable::with_capacity(rows.min(1 << 16));
    let mut distinct: Vec<&str> = Vec::new();
    let mut first_seen: Vec<Option<u32>> = Vec::with_capacity(rows);
    let mut values = 0_usize;
    for value in column {
        first_seen.push(match value {
            None => None,
            Some(v) => {
                values += 1;
                if values == PLAIN_MIN_VALUES {
                    // Non-null values expected in the whole column, at the share seen so far.
                    let expected = rows as f64 * values as f64 / first_seen.len() as f64;
                    let share = expected_distinct_share(values, distinct.len(), expected);
                    if share > EARLY_PLAIN_SHARE {
                        return Ok(StringStorage::Plain);
                    }
                }
                let hash = {
                    let mut hasher = ByteHasher::default();
                    hasher.write(v.as_bytes());
                    hasher.finish()
                };
                let same = |&(h, id): &(u64, u32)| h == hash && distinct[id as usize] == v;
                Some(match ids.find(hash, same) {
                    Some(&(_, id)) => id,
                    None => {
                        let id = u32::try_from(distinct.len()).map_err(|_| too_large())?;
                        ids.insert_unique(hash, (hash, id), |&(h, _)| h);
                        distinct.push(v);
                        id
                    }
                })
            }
        });
    }
    if values >= PLAIN_MIN_VALUES && distinct.len() * 2 > values {
        return Ok(StringStorage::Plain);
    }
    // Sort (8-byte big-endian prefix, id) pairs: most comparisons end on the prefix, in cache,
    // without following the pointer to the string (a byte-wise comparison, like Druid's).
    let mut order: Vec<(u64, u32)> = distinct
        .iter()
        .zip(0_u32..)
        .map(|(v, id)| (byte_prefix(v), id))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| distinct[a.1 as usize].cmp(distinct[b.1 as usize]))
    });
    let mut rank = vec![0_i32; distinct.len()];
    for (r, &(_, id)) in order.iter().enumerate() {
        rank[id as usize] = i32::try_from(r).map_err(|_| too_large())?;
    }
    let dictionary: ArrayRef = Arc::new(StringArray::from_iter_values(
        order.iter().map(|&(_, id)| distinct[id as usize]),
    ));
    let keys = (first_seen.iter())
        .map(|id| id.map(|id| rank[id as usize]))
        .collect::<Int32Array>();
    Ok(StringStorage::Dictionary(dictionary, keys))
}

/// The share of distinct values expected among `total` values of a column whose first `seen`
/// values held `distinct` distinct ones, taking the values as drawn uniformly from a pool.
///
/// The pool's size `D` is solved from `distinct = D·(1 − e^(−seen/D))` (the expected distinct
/// count of `seen` draws; increasing in `D`, so by bisection), and the answer is
/// `D·(1 − e^(−total/D)) / total`. A skewed column repeats more than a uniform one, so the
/// estimate errs towards a dictionary, which the end-of-column check then corrects.
fn expected_distinct_share(seen: usize, distinct: usize, total: f64) -> f64 {
    if distinct >= seen || total <= 0.0 {
        return 1.0;
    }
    let (seen, distinct) = (seen as f64, distinct as f64);
    let draws = |pool: f64, n: f64| pool * -(-n / pool).exp_m1();
    let (mut low, mut high) = (distinct, 1e15_f64);
    for _ in 0..100 {
        let mid = (low * high).sqrt();
        if draws(mid, seen) < distinct {
            low = mid;
        } else {
            high = mid;
        }
    }
    (draws(high, total) / total).min(1.0)
}

/// The first 8 bytes of `v`, big-endian, zero-padded: `byte_prefix(a) < byte_prefix(b)`
/// implies `a < b` byte-wise, and equal prefixes leave the order to the whole strings.
fn byte_prefix(v: &str) -> u64 {
    let mut word = [0_u8; 8];
    let n = v.len().min(8);
    word[..n].copy_from_slice(&v.as_bytes()[..n]);
    u64::from_be_bytes(word)
}

/// Decodes the record batches of a segment's IPC file.
///
/// # Errors
/// An internal error when the bytes are not a valid Arrow IPC file.
pub fn decode_segment(bytes: &[u8]) -> Result<Vec<RecordBatch>> {
    decode_segment_columns(&Buffer::from(bytes), None)
}

/// Decodes the record batches of a segment's IPC file, keeping only the columns named in
/// `columns` (all when `None`; names the segment lacks are ignored), in the file's order.
/// When none of the names is in the file, the first column is read, for the row counts.
///
/// The arrays are slices of `file` wherever its buffers are aligned (the IPC writer pads every
/// buffer to 64 bytes), so reading a segment a worker keeps in memory copies no column data;
/// the columns left out are not decoded at all. This is the column store's half of projection
/// pushdown (the plan's half is `msq_plan::Program::input_columns`).
///
/// # Errors
/// An internal error naming the problem when the bytes are not a valid Arrow IPC file.
pub fn decode_segment_columns(
    file: &Buffer,
    columns: Option<&HashSet<&str>>,
) -> Result<Vec<RecordBatch>> {
    decode_projected(file, columns).map(|(_, batches)| batches)
}

/// A segment file cut down to the columns named in `columns` (names it lacks are left out):
/// what a stage thread asks the segment store's owner for, so a query moves only the columns
/// it reads between threads. The file is a shared buffer (the store's own bytes,
/// [`super::SegmentStore::get_shared`]): only the columns kept are copied, and when the file
/// has no other columns and no other owner, the same allocation comes back uncopied.
///
/// # Errors
/// An internal error naming the problem when the bytes are not a valid Arrow IPC file.
pub fn project_segment(file: Buffer, columns: &HashSet<&str>) -> Result<Vec<u8>> {
    let (_, _, whole) = read_footer(&file)?;
    if (whole.fields().iter()).all(|field| columns.contains(field.name().as_str())) {
        return Ok(file.into_vec::<u8>().unwrap_or_else(|file| file.to_vec()));
    }
    let (schema, batches) = decode_projected(&file, Some(columns))?;
    let write_err = |e| MsqError::internal(format!("cutting a segment to its read columns: {e}"));
    let mut writer = FileWriter::try_new(Vec::new(), &schema).map_err(write_err)?;
    for batch in &batches {
        writer.write(batch).map_err(write_err)?;
    }
    writer.finish().map_err(write_err)?;
    writer.into_inner().map_err(write_err)
}

/// The footer of a segment's IPC file, where it starts, and the schema it records (no column
/// is decoded).
fn read_footer(file: &Buffer) -> Result<(Footer<'_>, usize, SchemaRef)> {
    let read_err =
        |e: String| MsqError::internal(format!("reading a segment of {} bytes: {e}", file.len()));
    // The file ends with the footer, its length (4 bytes) and the magic "ARROW1" (6 bytes).
    let trailer_start = file
        .len()
        .checked_sub(10)
        .ok_or_else(|| read_err("too short for an Arrow IPC file".into()))?;
    let trailer: [u8; 10] = file[trailer_start..]
        .try_into()
        .map_err(|_| read_err("no IPC trailer".into()))?;
    let footer_len = read_footer_length(trailer).map_err(|e| read_err(e.to_string()))?;
    let footer_start = trailer_start
        .checked_sub(footer_len)
        .ok_or_else(|| read_err(format!("footer of {footer_len} bytes overruns the file")))?;
    let footer = root_as_footer(&file[footer_start..trailer_start])
        .map_err(|e| read_err(format!("unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| read_err("the footer has no schema".into()))?;
    let schema = try_fb_to_schema(ipc_schema).map_err(|e| read_err(e.to_string()))?;
    Ok((footer, footer_start, Arc::new(schema)))
}

/// The schema indices a read of `columns` decodes: those named (all for `None`), or the first
/// column when none is named, since a batch of no columns has no row count in IPC (`COUNT(*)`
/// still reads one column).
pub(crate) fn projection_of(schema: &Schema, columns: Option<&HashSet<&str>>) -> Vec<usize> {
    let projection: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| columns.is_none_or(|names| names.contains(field.name().as_str())))
        .map(|(i, _)| i)
        .collect();
    match projection.is_empty() && !schema.fields().is_empty() {
        true => vec![0],
        false => projection,
    }
}

/// [`decode_segment_columns`], with the schema of the columns read.
fn decode_projected(
    file: &Buffer,
    columns: Option<&HashSet<&str>>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let read_err =
        |e: String| MsqError::internal(format!("reading a segment of {} bytes: {e}", file.len()));
    let arrow_err = |e: ArrowError| read_err(e.to_string());
    let (footer, footer_start, schema) = read_footer(file)?;

    let mut decoder = FileDecoder::new(Arc::clone(&schema), footer.version());
    let mut read_schema = Arc::clone(&schema);
    if columns.is_some() {
        let projection = projection_of(&schema, columns);
        read_schema = Arc::new(schema.project(&projection).map_err(arrow_err)?);
        decoder = decoder.with_projection(projection);
    }
    let block_bytes = |block: &Block| -> Result<Buffer> {
        let start = usize::try_from(block.offset()).ok();
        let len = usize::try_from(block.metaDataLength())
            .ok()
            .zip(usize::try_from(block.bodyLength()).ok())
            .map(|(meta, body)| meta + body);
        match start.zip(len) {
            Some((start, len))
                if start
                    .checked_add(len)
                    .is_some_and(|end| end <= footer_start) =>
            {
                Ok(file.slice_with_length(start, len))
            }
            _ => Err(read_err(format!(
                "a block at {} of {} bytes lies outside the file",
                block.offset(),
                block.bodyLength()
            ))),
        }
    };
    for block in footer.dictionaries().iter().flatten() {
        decoder
            .read_dictionary(block, &block_bytes(block)?)
            .map_err(arrow_err)?;
    }
    let mut batches = Vec::new();
    for block in footer.recordBatches().iter().flatten() {
        if let Some(batch) = decoder
            .read_record_batch(block, &block_bytes(block)?)
            .map_err(arrow_err)?
        {
            batches.push(batch);
        }
    }
    Ok((read_schema, batches))
}

/// The `__time` values of a batch, for tests and verification.
///
/// # Errors
/// An internal error when the batch has no `Int64` `__time` column.
pub fn time_values(batch: &RecordBatch) -> Result<Vec<i64>> {
    batch
        .column_by_name(TIME_COLUMN)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .map(|a| a.values().to_vec())
        .ok_or_else(|| MsqError::internal("batch has no Int64 __time column"))
}

/// Formats UTC milliseconds as Druid (Joda) prints instants: `2016-06-27T00:00:00.000Z`.
/// Years outside 0..=9999 print with their sign and all digits, as Joda does for
/// `-146136543-09-08T08:23:32.096Z` (Druid's `MIN_INSTANT`).
pub fn format_iso_millis(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    let days = ms.div_euclid(DAY);
    let in_day = ms.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day) (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow_array::Float64Array;
    use msq_common::ErrorCode;

    const DAY: i64 = 86_400_000;

    /// A string column's values, row by row.
    fn strings(array: &ArrayRef) -> Result<Vec<Option<&str>>> {
        let column = StringColumn::new(array)?;
        Ok((0..array.len()).map(|row| column.value(row)).collect())
    }

    /// [`string_storage`] over a column given as a slice.
    fn storage(column: &[Option<&str>]) -> StringStorage {
        string_storage(column.len(), column.iter().copied()).unwrap()
    }

    fn batch(times: Vec<i64>, pages: Vec<Option<&str>>) -> RecordBatch {
        let n = times.len();
        RecordBatch::try_from_iter([
            ("__time", Arc::new(Int64Array::from(times)) as ArrayRef),
            ("page", Arc::new(StringArray::from(pages)) as ArrayRef),
            (
                "added",
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn iso_formatting_matches_joda() {
        assert_eq!(format_iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_iso_millis(1_466_985_600_000),
            "2016-06-27T00:00:00.000Z"
        );
        assert_eq!(
            format_iso_millis(951_827_696_789),
            "2000-02-29T12:34:56.789Z"
        );
        assert_eq!(
            format_iso_millis(-2_203_891_200_000),
            "1900-03-01T00:00:00.000Z"
        );
        assert_eq!(
            format_iso_millis(i64::MIN / 2),
            "-146136543-09-08T08:23:32.096Z"
        );
        assert_eq!(
            format_iso_millis(i64::MAX / 2),
            "146140482-04-24T15:36:27.903Z"
        );
    }

    #[test]
    fn segment_ids_print_like_druid() {
        let mut id = SegmentId {
            data_source: "wiki".into(),
            interval_start_ms: 1_466_985_600_000,
            interval_end_ms: 1_466_985_600_000 + DAY,
            version: "2024-01-01T00:00:00.000Z".into(),
            partition_num: 0,
        };
        assert_eq!(
            id.to_string(),
            "wiki_2016-06-27T00:00:00.000Z_2016-06-28T00:00:00.000Z_2024-01-01T00:00:00.000Z"
        );
        id.partition_num = 3;
        assert!(id.to_string().ends_with("2024-01-01T00:00:00.000Z_3"));
    }

    #[test]
    fn round_trip_keeps_rows_and_dictionary_encodes_strings() {
        let input = batch(
            vec![1, 2, 3, 4, 5],
            vec![Some("b"), None, Some("a"), Some("b"), Some("c")],
        );
        let segments = SegmentWriter::new("wiki", 0, DAY, "v1", 2)
            .unwrap()
            .write(&[input])
            .unwrap();
        assert_eq!(
            segments.iter().map(|s| s.meta.num_rows).collect::<Vec<_>>(),
            [2, 2, 1]
        );
        assert_eq!(
            segments
                .iter()
                .map(|s| s.meta.id.partition_num)
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let seg = &segments[1];
        assert_eq!(seg.meta.size_bytes, seg.bytes.len());
        assert_eq!(
            seg.meta.columns,
            vec![
                ("__time".to_owned(), DruidType::Long),
                ("page".to_owned(), DruidType::String),
                ("added".to_owned(), DruidType::Double)
            ]
        );
        let back = decode_segment(&seg.bytes).unwrap();
        assert_eq!(back.len(), 1);
        let page = back[0].column(1).as_dictionary::<Int32Type>();
        let dict = page.values().as_string::<i32>();
        // Sorted, per-segment dictionary: only this segment's values.
        assert_eq!(dict.iter().collect::<Vec<_>>(), [Some("a"), Some("b")]);
        assert_eq!(strings(back[0].column(1)).unwrap(), [Some("a"), Some("b")]);
        assert_eq!(time_values(&back[0]).unwrap(), [3, 4]);
    }

    #[test]
    fn pieces_of_several_batches_share_one_dictionary() {
        let a = batch(vec![1, 2], vec![Some("x"), Some("y")]);
        let b = batch(vec![3, 4, 5], vec![Some("z"), Some("x"), None]);
        let segments = SegmentWriter::new("wiki", 0, DAY, "v1", 4)
            .unwrap()
            .with_batch_rows(2)
            .write(&[a, b])
            .unwrap();
        assert_eq!(segments.len(), 2);
        let back = decode_segment(&segments[0].bytes).unwrap();
        assert_eq!(
            back.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
            [2, 2]
        );
        let all: Vec<Option<&str>> = back
            .iter()
            .flat_map(|b| strings(b.column(1)).unwrap())
            .collect();
        assert_eq!(all, [Some("x"), Some("y"), Some("z"), Some("x")]);
        let tail = decode_segment(&segments[1].bytes).unwrap();
        assert_eq!(strings(tail[0].column(1)).unwrap(), [None]);
    }

    #[test]
    fn the_dictionary_is_sorted_and_keys_rank_values() {
        let column = [
            Some("pear"),
            None,
            Some("apple"),
            Some("pear"),
            Some("fig"),
            Some("apple"),
            None,
            Some("Zebra"),
        ];
        let StringStorage::Dictionary(dictionary, keys) = storage(&column) else {
            panic!("a small column is dictionary-encoded");
        };
        let dictionary = dictionary.as_string::<i32>();
        // Byte order, as Druid sorts dictionaries: upper case first.
        assert_eq!(
            dictionary.iter().flatten().collect::<Vec<_>>(),
            ["Zebra", "apple", "fig", "pear"]
        );
        assert_eq!(dictionary.null_count(), 0);
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            [
                Some(3),
                None,
                Some(1),
                Some(3),
                Some(2),
                Some(1),
                None,
                Some(0)
            ]
        );
        // Values sharing their first 8 bytes (and one that is a prefix of another).
        let long = [
            "#en.wikipedia-b",
            "#en.wiki",
            "#en.wikipedia",
            "#en.wikipedia-a",
            "#en.wik",
            "#en.wiki\u{0}",
        ];
        let StringStorage::Dictionary(dictionary, _) =
            storage(&long.iter().copied().map(Some).collect::<Vec<_>>())
        else {
            panic!("a small column is dictionary-encoded");
        };
        let mut expected = long.to_vec();
        expected.sort_unstable();
        assert_eq!(
            dictionary
                .as_string::<i32>()
                .iter()
                .flatten()
                .collect::<Vec<_>>(),
            expected
        );
        let StringStorage::Dictionary(empty, none) = storage(&[None, None]) else {
            panic!("an all-null column is dictionary-encoded");
        };
        assert_eq!(empty.len(), 0);
        assert_eq!(none.null_count(), 2);
    }

    #[test]
    fn a_column_drawn_from_a_pool_keeps_its_dictionary() {
        // 150k draws from 40k names: 95 % of the first 4096 are distinct, a quarter in the end.
        let mut state = 7_u64;
        let names: Vec<String> = (0..150_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                format!("editor {}", (state >> 33) % 40_000)
            })
            .collect();
        let column: Vec<Option<&str>> = names.iter().map(|v| Some(v.as_str())).collect();
        let StringStorage::Dictionary(dictionary, keys) = storage(&column) else {
            panic!("stored plain")
        };
        assert!(
            (30_000..40_000).contains(&dictionary.len()),
            "{}",
            dictionary.len()
        );
        let values = dictionary.as_string::<i32>();
        let first = keys.value(0) as usize;
        assert_eq!(values.value(first), names[0]);
    }

    #[test]
    fn the_distinct_share_is_predicted_from_the_first_values() {
        assert_eq!(
            expected_distinct_share(4096, 4096, 1e6),
            1.0,
            "unique so far"
        );
        // 4096 draws from a pool of 50k show ~3930 distinct: the pool is found again.
        let share = expected_distinct_share(4096, 3930, 143_000.0);
        assert!((0.3..0.36).contains(&share), "{share}");
        // A handful of values, repeated: no dictionary could be smaller.
        assert!(expected_distinct_share(4096, 8, 1e6) < 1e-4);
        // As many values as seen: the share seen.
        let same = expected_distinct_share(4096, 3000, 4096.0);
        assert!((same - 3000.0 / 4096.0).abs() < 1e-6, "{same}");
    }

    #[test]
    fn a_column_predicted_just_over_half_distinct_is_counted_to_the_end() {
        // 3,290 distinct among the first 4,096 predicts ~0.55 distinct over 12,288 values;
        // the rest repeats them, so the column ends 0.27 distinct: a dictionary.
        let first: Vec<String> = (0..PLAIN_MIN_VALUES)
            .map(|i| format!("u{}", i % 3290))
            .collect();
        let column: Vec<Option<&str>> = (0..3 * PLAIN_MIN_VALUES)
            .map(|i| Some(first[i % PLAIN_MIN_VALUES].as_str()))
            .collect();
        let predicted = expected_distinct_share(PLAIN_MIN_VALUES, 3290, column.len() as f64);
        assert!((0.5..EARLY_PLAIN_SHARE).contains(&predicted), "{predicted}");
        assert!(matches!(storage(&column), StringStorage::Dictionary(..)));
    }

    #[test]
    fn near_unique_string_columns_are_stored_plain() {
        let n = 3 * PLAIN_MIN_VALUES;
        // Distinct from the start: plain, decided at the early check.
        let unique: Vec<Option<String>> = (0..n).map(|i| Some(format!("comment {i}"))).collect();
        let repeated: Vec<Option<String>> = (0..n)
            .map(|i| Some(format!("#{}.wikipedia", i % 8)))
            .collect();
        // A third distinct, with nulls: a dictionary.
        let users: Vec<Option<String>> = (0..n)
            .map(|i| (i % 5 != 0).then(|| format!("user {}", i % 3000)))
            .collect();
        // Repeats at first, then distinct: passes the early check, plain in the end.
        let late: Vec<Option<String>> = (0..n)
            .map(|i| {
                Some(format!(
                    "page {}",
                    if i < 2 * PLAIN_MIN_VALUES / 3 {
                        i % 100
                    } else {
                        i
                    }
                ))
            })
            .collect();
        let columns = [&unique, &repeated, &users, &late];
        let mut arrays: Vec<(&str, ArrayRef)> = vec![(
            "__time",
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        )];
        for (name, values) in ["comment", "channel", "user", "page"]
            .into_iter()
            .zip(columns)
        {
            arrays.push((name, Arc::new(StringArray::from(values.clone()))));
        }
        let input = RecordBatch::try_from_iter(arrays).unwrap();
        let writer = SegmentWriter::new("wiki", 0, DAY, "v1", n).unwrap();
        // Two pieces: a plain column keeps both as they are.
        let segments = writer
            .write(&[input.slice(0, 100), input.slice(100, n - 100)])
            .unwrap();
        assert_eq!(segments.len(), 1);
        assert!(segments[0].meta.columns[1..]
            .iter()
            .all(|(_, ty)| *ty == DruidType::String));
        let back = decode_segment(&segments[0].bytes).unwrap();
        let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let types: Vec<DataType> = back[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Utf8,
                dictionary.clone(),
                dictionary,
                DataType::Utf8
            ]
        );
        for (c, expected) in columns.into_iter().enumerate() {
            let values: Vec<Option<String>> = back
                .iter()
                .flat_map(|b| strings(b.column(c + 1)).unwrap())
                .map(|v| v.map(str::to_owned))
                .collect();
            assert_eq!(&values, expected, "column {c}");
        }
    }

    #[test]
    fn a_permuted_chunk_is_written_a_record_batch_at_a_time_into_its_sink() {
        let n = 5 * PLAIN_MIN_VALUES;
        // Slices of wider batches, as a partition's frames decode, with times out of order.
        let wide = |values: ArrayRef| values.slice(1000, n);
        let time: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..n as i64 + 2000).map(|i| (i * 7919) % (n as i64 + 2000)),
        ));
        let added: ArrayRef = Arc::new(Float64Array::from_iter(
            (0..n + 2000).map(|i| (i % 7 != 0).then_some(i as f64)),
        ));
        let channel: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..n + 2000).map(|i| format!("#{}.wikipedia", i % 40)),
        ));
        // Unique, arriving dictionary-encoded (a REPLACE reading a datasource): stored plain.
        let comment: ArrayRef = Arc::new(
            (0..n + 2000)
                .map(|i| format!("comment number {i}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<DictionaryArray<Int32Type>>(),
        );
        let input = RecordBatch::try_from_iter([
            ("__time", wide(time)),
            ("added", wide(added)),
            ("channel", wide(channel)),
            ("comment", wide(comment)),
        ])
        .unwrap();
        let pieces: Vec<RecordBatch> = [0, 3000, 3001, 9000, n]
            .windows(2)
            .map(|w| input.slice(w[0], w[1] - w[0]))
            .collect();
        let order =
            crate::ops::sort_positions(&input.schema(), &pieces, &[(0, false, true)]).unwrap();
        let columns = druid_columns(&input.schema()).unwrap();
        let plans = plan_columns(&pieces, &order, &columns).unwrap();
        assert!(matches!(
            plans.as_slice(),
            [
                ColumnPlan::Gather,
                ColumnPlan::Gather,
                ColumnPlan::Dictionary(..),
                ColumnPlan::Plain
            ]
        ));

        let writer = SegmentWriter::new("wiki", 0, DAY, "v1", n / 2)
            .unwrap()
            .with_batch_rows(5000);
        let chunk = writer.segments(&pieces, &order).unwrap();
        assert_eq!(chunk.len(), 2);
        assert!(chunk.write_into(2, Vec::new()).is_err());
        let mut rows = 0;
        for index in 0..chunk.len() {
            let (meta, file) = chunk.write_into(index, Vec::new()).unwrap();
            assert_eq!(meta.id, chunk.id(index).unwrap());
            assert_eq!(meta.id.partition_num, index as u32);
            assert_eq!((meta.num_rows, meta.size_bytes), (n / 2, file.len()));
            let back = decode_segment(&file).unwrap();
            assert_eq!(
                back.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
                [5000, 5000, n / 2 - 10_000]
            );
            assert_eq!(back[0].column(3).data_type(), &DataType::Utf8);
            for batch in back {
                for row in 0..batch.num_rows() {
                    // Each row is the input row the sort put here, every column alike.
                    let (b, r) = order[rows];
                    let time = batch
                        .column(0)
                        .as_primitive::<arrow_array::types::Int64Type>();
                    let source = &pieces[b];
                    let source_time = source
                        .column(0)
                        .as_primitive::<arrow_array::types::Int64Type>();
                    assert_eq!(time.value(row), source_time.value(r));
                    assert_eq!(
                        batch.column(1).is_null(row),
                        source.column(1).is_null(r),
                        "row {rows}"
                    );
                    for c in [2, 3] {
                        assert_eq!(
                            strings(&batch.column(c).slice(row, 1)).unwrap(),
                            strings(&source.column(c).slice(r, 1)).unwrap(),
                        );
                    }
                    rows += 1;
                }
            }
        }
        assert_eq!(rows, n);
    }

    /// One segment of two record batches (3 and 2 rows, from input batches of 2 and 3) with `__time`, `page` and `added`.
    fn two_batch_segment() -> Vec<Segment> {
        let a = batch(vec![1, 2], vec![Some("x"), Some("y")]);
        let b = batch(vec![3, 4, 5], vec![Some("z"), Some("x"), None]);
        SegmentWriter::new("wiki", 0, DAY, "v1", 10)
            .unwrap()
            .with_batch_rows(3)
            .write(&[a, b])
            .unwrap()
    }

    #[test]
    fn a_projected_read_decodes_only_the_named_columns_without_copying() {
        let segments = two_batch_segment();
        let file = Buffer::from_vec(segments[0].bytes.clone());
        let wanted: HashSet<&str> = ["added", "page", "not-in-this-segment"].into();
        let back = decode_segment_columns(&file, Some(&wanted)).unwrap();
        assert_eq!(back.len(), 2);
        let schema = back[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            ["page", "added"],
            "the file's order, __time left out"
        );
        let pages: Vec<_> = back
            .iter()
            .flat_map(|b| strings(b.column(0)).unwrap())
            .collect();
        assert_eq!(pages, [Some("x"), Some("y"), Some("z"), Some("x"), None]);
        // The added values point into the file's buffer.
        let added = back[1].column(1).to_data();
        let range = file.as_ptr() as usize..file.as_ptr() as usize + file.len();
        assert!(range.contains(&(added.buffers()[0].as_ptr() as usize)));
        // No column named still gives the rows (COUNT(*) reads none).
        let none = decode_segment_columns(&file, Some(&HashSet::new())).unwrap();
        let rows: usize = none.iter().map(RecordBatch::num_rows).sum();
        assert_eq!((rows, none[0].num_columns()), (5, 1));
        let everything = decode_segment_columns(&file, None).unwrap();
        assert_eq!(everything[0].num_columns(), 3);
    }

    #[test]
    fn a_segment_cut_to_some_columns_keeps_their_values_and_batches() {
        let segments = two_batch_segment();
        let file = Buffer::from_vec(segments[0].bytes.clone());
        let wanted: HashSet<&str> = ["__time", "page", "not-in-this-segment"].into();
        let cut = Buffer::from_vec(
            project_segment(Buffer::from_vec(segments[0].bytes.clone()), &wanted).unwrap(),
        );
        assert!(cut.len() < file.len());
        let back = decode_segment_columns(&cut, None).unwrap();
        assert_eq!(
            back.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
            [3, 2]
        );
        assert_eq!(
            back,
            decode_segment_columns(&file, Some(&wanted)).unwrap(),
            "the same batches as a projected read of the whole file"
        );
        // Naming every column hands the file back as it is.
        let all: HashSet<&str> = ["__time", "page", "added", "extra"].into();
        let whole = segments[0].bytes.clone();
        let at = whole.as_ptr();
        let back = project_segment(Buffer::from_vec(whole), &all).unwrap();
        assert_eq!(
            (back.as_ptr(), &back),
            (at, &segments[0].bytes),
            "the same allocation"
        );
        assert!(project_segment(Buffer::from_vec(vec![1_u8, 2, 3]), &all).is_err());
    }

    #[test]
    fn damaged_segment_files_are_errors_not_panics() {
        let segments = SegmentWriter::new("wiki", 0, DAY, "v1", 10)
            .unwrap()
            .write(&[batch(vec![1, 2, 3], vec![Some("a"), None, Some("b")])])
            .unwrap();
        let bytes = &segments[0].bytes;
        for cut in [
            0,
            5,
            9,
            10,
            bytes.len() / 2,
            bytes.len() - 11,
            bytes.len() - 1,
        ] {
            let err = decode_segment(&bytes[..cut]).unwrap_err();
            assert!(
                err.message().contains("reading a segment"),
                "{}",
                err.message()
            );
        }
        // A footer length that points before the file's start.
        let mut bad = bytes.clone();
        let at = bad.len() - 10;
        let too_long = (bad.len() as i32 * 2).to_le_bytes();
        bad[at..at + 4].copy_from_slice(&too_long);
        assert!(decode_segment(&bad).is_err());
        // A scrambled footer fails the flatbuffer verifier.
        let mut flipped = bytes.clone();
        let trailer = flipped.len() - 10;
        let footer_len = i32::from_le_bytes(flipped[trailer..trailer + 4].try_into().unwrap());
        for byte in &mut flipped[trailer - footer_len as usize..trailer] {
            *byte ^= 0x5a;
        }
        let err = decode_segment(&flipped).unwrap_err();
        assert!(err.message().contains("footer"), "{}", err.message());
    }

    #[test]
    fn bad_input_gets_druid_codes() {
        let w = SegmentWriter::new("wiki", DAY, 2 * DAY, "v1", 10).unwrap();
        let out = w
            .write(&[batch(vec![DAY - 1], vec![Some("a")])])
            .unwrap_err();
        assert_eq!(out.code(), ErrorCode::InsertTimeOutOfBounds);
        let null_time = RecordBatch::try_from_iter([(
            "__time",
            Arc::new(Int64Array::from(vec![None, Some(DAY)])) as ArrayRef,
        )])
        .unwrap();
        assert_eq!(
            w.write(&[null_time]).unwrap_err().code(),
            ErrorCode::InsertTimeNull
        );
        let unsorted = w
            .write(&[batch(vec![DAY + 2, DAY + 1], vec![None, None])])
            .unwrap_err();
        assert_eq!(unsorted.code(), ErrorCode::UnknownError);
        let bool_col = RecordBatch::try_from_iter([
            ("__time", Arc::new(Int64Array::from(vec![DAY])) as ArrayRef),
            (
                "b",
                Arc::new(arrow_array::BooleanArray::from(vec![true])) as ArrayRef,
            ),
        ])
        .unwrap();
        assert_eq!(
            w.write(&[bool_col]).unwrap_err().code(),
            ErrorCode::ColumnTypeNotSupported
        );
        let many = w
            .clone()
            .with_max_num_segments(1)
            .write(&[batch((DAY..DAY + 11).collect(), vec![None; 11])])
            .unwrap_err();
        assert_eq!(many.code(), ErrorCode::TooManySegmentsInTimeChunk);
        assert!(w.write(&[]).unwrap().is_empty());
        assert!(SegmentWriter::new("wiki", 0, 0, "v1", 1).is_err());
        assert!(decode_segment(b"nope").is_err());
    }

    #[test]
    fn binary_columns_store_as_complex_and_decode_as_binary() {
        let sketch = arrow_array::BinaryArray::from(vec![Some(&b"\x01\x02"[..]), None]);
        let named = Field::new("typed", DataType::Binary, true)
            .with_metadata([(COMPLEX_TYPE_METADATA.to_owned(), "thetaSketch".to_owned())]);
        let schema = Arc::new(Schema::new(vec![
            Field::new("__time", DataType::Int64, false),
            Field::new("u", DataType::Binary, true),
            named,
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
                Arc::new(sketch.clone()),
                Arc::new(sketch),
            ],
        )
        .unwrap();
        let segments = SegmentWriter::new("wiki", 0, DAY, "v1", 10)
            .unwrap()
            .write(&[batch])
            .unwrap();
        assert_eq!(segments.len(), 1);
        assert_eq!(
            segments[0].meta.columns[1..],
            [
                ("u".to_owned(), DruidType::Complex("HLLSketch".into())),
                ("typed".to_owned(), DruidType::Complex("thetaSketch".into())),
            ]
        );
        let decoded = decode_segment(&segments[0].bytes).unwrap();
        let u = decoded[0].column(1).as_binary::<i32>();
        assert_eq!(u.value(0), b"\x01\x02");
        assert!(u.is_null(1));
    }

    #[test]
    fn first_partition_num_offsets_ids() {
        let segs = SegmentWriter::new("wiki", 0, DAY, "v1", 1)
            .unwrap()
            .with_first_partition_num(5)
            .write(&[batch(vec![0, 1], vec![None, None])])
            .unwrap();
        assert_eq!(segs[1].meta.id.partition_num, 6);
    }
}
