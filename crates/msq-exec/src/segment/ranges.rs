//! Reading some columns of a segment file from storage without reading the whole file: the
//! column store's half of projection pushdown when the file is on disk (OPFS), where
//! [`super::decode_segment_columns`] is the same for a file already in memory.
//!
//! A segment is an Arrow IPC file, and in IPC every record batch's body lays each column's
//! buffers out one after the other, in schema order. So from
//!
//! ```text
//!   trailer (10 bytes) ─► footer (schema, blocks) ─► per record batch: its metadata (a few
//!   hundred bytes) ─► the byte range of each column read ─► a compact body of those ranges
//! ```
//!
//! [`read_segment_columns`] reads the footer, each block's metadata, the dictionaries of the
//! columns read and, of each record batch body, only the ranges of those columns, which it
//! packs into a compact body (64-byte aligned, as the writer aligns them); the buffer offsets
//! of the batch's metadata are rewritten to point into it, and Arrow's own `FileDecoder` decodes
//! the result with the same projection [`super::decode_segment_columns`] uses (it skips the
//! columns left out without touching their buffers). Reading `channel` and `added` of a
//! 24-column segment reads a tenth of the file, and what is decoded holds only those columns.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::convert::try_fb_to_schema;
use arrow_ipc::reader::{read_footer_length, FileDecoder};
use arrow_ipc::{root_as_footer, root_as_message, Block};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use msq_common::{MsqError, Result};

use super::writer::projection_of;

/// Random access to a file's bytes: a file read through a synchronous handle, or bytes in
/// memory (`[u8]`, for tests).
pub trait ReadAt {
    /// The file's size in bytes.
    fn size(&self) -> usize;

    /// `len` bytes of the file from `offset`.
    ///
    /// # Errors
    /// When the range lies outside the file or the read fails.
    fn read_at(&self, offset: usize, len: usize) -> Result<Vec<u8>>;
}

impl ReadAt for [u8] {
    fn size(&self) -> usize {
        self.len()
    }

    fn read_at(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        offset
            .checked_add(len)
            .and_then(|end| self.get(offset..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                MsqError::internal(format!(
                    "reading {len} bytes at {offset} of a file of {} bytes",
                    self.len()
                ))
            })
    }
}

/// Where the IPC body aligns buffers (the writer's default), kept in the compact body.
const ALIGNMENT: usize = 64;

/// The 0xFFFFFFFF that starts an IPC message since format version 0.15.
const CONTINUATION: [u8; 4] = [0xff; 4];

/// The record batches of segment `file`, keeping only the columns named in `columns` (as
/// [`super::decode_segment_columns`]: names the file lacks are ignored, and when none is in it
/// the first column is read, for the row counts), reading from `file` only the footer, the
/// blocks' metadata, the dictionaries of those columns and their ranges of each batch body.
///
/// # Errors
/// An internal error naming the problem when `file` is not a segment's Arrow IPC file or a read
/// fails.
pub fn read_segment_columns<R: ReadAt + ?Sized>(
    file: &R,
    columns: &HashSet<&str>,
) -> Result<Vec<RecordBatch>> {
    let size = file.size();
    let read_err =
        |e: String| MsqError::internal(format!("reading a segment of {size} bytes: {e}"));
    let arrow_err = |e: ArrowError| read_err(e.to_string());

    let trailer_start = size
        .checked_sub(10)
        .ok_or_else(|| read_err("too short for an Arrow IPC file".into()))?;
    let trailer: [u8; 10] = file
        .read_at(trailer_start, 10)?
        .try_into()
        .map_err(|_| read_err("no IPC trailer".into()))?;
    let footer_len = read_footer_length(trailer).map_err(arrow_err)?;
    let footer_start = trailer_start
        .checked_sub(footer_len)
        .ok_or_else(|| read_err(format!("footer of {footer_len} bytes overruns the file")))?;
    let footer_bytes = file.read_at(footer_start, footer_len)?;
    let footer =
        root_as_footer(&footer_bytes).map_err(|e| read_err(format!("unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| read_err("the footer has no schema".into()))?;
    let schema = Arc::new(try_fb_to_schema(ipc_schema).map_err(arrow_err)?);
    let projection = projection_of(&schema, Some(columns));

    // The dictionaries the projected columns (and their children) refer to.
    let mut needed = HashSet::new();
    if let Some(fields) = ipc_schema.fields() {
        for index in &projection {
            if let Some(field) = fields.iter().nth(*index) {
                dictionary_ids(field, &mut needed);
            }
        }
    }

    let within = |block: &Block| -> Result<(usize, usize, usize)> {
        let offset = usize::try_from(block.offset()).ok();
        let meta = usize::try_from(block.metaDataLength()).ok();
        let body = usize::try_from(block.bodyLength()).ok();
        match (offset, meta, body) {
            (Some(offset), Some(meta), Some(body))
                if offset
                    .checked_add(meta)
                    .and_then(|end| end.checked_add(body))
                    .is_some_and(|end| end <= footer_start) =>
            {
                Ok((offset, meta, body))
            }
            _ => Err(read_err(format!(
                "a block at {} of {} bytes lies outside the file",
                block.offset(),
                block.bodyLength()
            ))),
        }
    };

    let mut decoder =
        FileDecoder::new(Arc::clone(&schema), footer.version()).with_projection(projection.clone());
    for block in footer.dictionaries().iter().flatten() {
        let (offset, meta_len, body_len) = within(block)?;
        let meta = file.read_at(offset, meta_len)?;
        let message = parse_message(&meta).map_err(&read_err)?;
        let id = message
            .header_as_dictionary_batch()
            .map(|batch| batch.id())
            .ok_or_else(|| read_err("a dictionary block holds no dictionary".into()))?;
        if needed.contains(&id) {
            let mut whole = meta;
            whole.extend(file.read_at(offset + meta_len, body_len)?);
            decoder
                .read_dictionary(block, &Buffer::from_vec(whole))
                .map_err(arrow_err)?;
        }
    }

    let read: Vec<bool> = (0..schema.fields().len())
        .map(|i| projection.contains(&i))
        .collect();
    let mut batches = Vec::new();
    for block in footer.recordBatches().iter().flatten() {
        let (offset, meta_len, body_len) = within(block)?;
        let mut meta = file.read_at(offset, meta_len)?;
        let (ranges, spans, list_at) = {
            let message = parse_message(&meta).map_err(&read_err)?;
            let Some(batch) = message.header_as_record_batch() else {
                return Err(read_err(
                    "a record batch block holds no record batch".into(),
                ));
            };
            let buffers = batch
                .buffers()
                .ok_or_else(|| read_err("a record batch without buffers".into()))?;
            // Where, in `meta`, the buffer list starts: its entries are rewritten below.
            let list_at = buffers.bytes().as_ptr() as usize - meta.as_ptr() as usize;
            let spans: Vec<(usize, usize)> = buffers
                .iter()
                .map(|b| (b.offset() as usize, b.length() as usize))
                .collect();
            let ranges = column_ranges(&schema, &read, &spans, body_len).map_err(&read_err)?;
            (ranges, spans, list_at)
        };
        // The compact body: each column's range, aligned as the writer aligned it.
        let mut compact = Vec::new();
        let mut moves = Vec::new();
        for range in &ranges {
            let at = compact.len().next_multiple_of(ALIGNMENT);
            compact.resize(at, 0);
            compact.extend(file.read_at(offset + meta_len + range.start, range.end - range.start)?);
            moves.push((range, at));
        }
        // Each buffer entry (offset, length: two little-endian i64) points into the compact
        // body; those of columns left out, never read by the decoder, point at nothing.
        for (entry, &(old, length)) in spans.iter().enumerate() {
            let (offset, length) = moves
                .iter()
                .find(|(range, _)| range.buffers.contains(&entry))
                .map_or((0, 0), |(range, to)| (old - range.start + to, length));
            let at = list_at + entry * 16;
            let bytes = meta
                .get_mut(at..at + 16)
                .ok_or_else(|| read_err("a buffer entry past the metadata".into()))?;
            bytes[..8].copy_from_slice(&(offset as i64).to_le_bytes());
            bytes[8..].copy_from_slice(&(length as i64).to_le_bytes());
        }
        let compact_block =
            Block::new(block.offset(), block.metaDataLength(), compact.len() as i64);
        meta.extend(compact);
        if let Some(batch) = decoder
            .read_record_batch(&compact_block, &Buffer::from_vec(meta))
            .map_err(arrow_err)?
        {
            batches.push(batch);
        }
    }
    Ok(batches)
}

/// The byte range of one column read in a record batch body, and which entries of the batch's
/// buffer list are its buffers.
struct ColumnRange {
    start: usize,
    end: usize,
    buffers: std::ops::Range<usize>,
}

/// The body ranges of the columns `read` (by schema index), from the batch's buffer `spans`
/// (offset, length) in schema order.
///
/// # Errors
/// A message when a column's type is not one a segment holds or the spans do not match the
/// schema.
fn column_ranges(
    schema: &Schema,
    read: &[bool],
    spans: &[(usize, usize)],
    body_len: usize,
) -> std::result::Result<Vec<ColumnRange>, String> {
    let mut ranges = Vec::new();
    let mut next = 0;
    for (field, read) in schema.fields().iter().zip(read) {
        let count = buffer_count(field).ok_or_else(|| {
            format!(
                "column [{}] of type {} cannot be read in ranges",
                field.name(),
                field.data_type()
            )
        })?;
        let own = next..next + count;
        next += count;
        if !read || count == 0 {
            continue;
        }
        let parts = spans
            .get(own.clone())
            .ok_or_else(|| format!("column [{}] lacks buffers", field.name()))?;
        let start = parts.iter().map(|(o, _)| *o).min().unwrap_or(0);
        let end = parts.iter().map(|(o, l)| o + l).max().unwrap_or(0);
        if end > body_len {
            return Err(format!("column [{}] runs past its batch", field.name()));
        }
        ranges.push(ColumnRange {
            start,
            end,
            buffers: own,
        });
    }
    if next != spans.len() {
        return Err(format!(
            "the schema has {next} buffers, the batch {}",
            spans.len()
        ));
    }
    Ok(ranges)
}

/// How many buffers IPC writes for a column of `field`'s type (children included), as Arrow's
/// reader counts them when it skips a column; `None` for types a segment never holds.
fn buffer_count(field: &Field) -> Option<usize> {
    use DataType::*;
    Some(match field.data_type() {
        Null => 0,
        Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16
        | Float32 | Float64 | Timestamp(..) | Date32 | Date64 | Time32(_) | Time64(_)
        | Duration(_) | Interval(_) | Decimal128(..) | Decimal256(..) | FixedSizeBinary(_) => 2,
        Utf8 | Binary | LargeUtf8 | LargeBinary => 3,
        Dictionary(key, _) if key.is_dictionary_key_type() => 2,
        List(child) | LargeList(child) => 2 + buffer_count(child)?,
        FixedSizeList(child, _) => 1 + buffer_count(child)?,
        Struct(children) => {
            1 + children
                .iter()
                .map(|c| buffer_count(c))
                .sum::<Option<usize>>()?
        }
        _ => return None,
    })
}

/// The dictionary ids `field` and its children use.
fn dictionary_ids(field: arrow_ipc::Field<'_>, ids: &mut HashSet<i64>) {
    if let Some(dictionary) = field.dictionary() {
        ids.insert(dictionary.id());
    }
    for child in field.children().iter().flatten() {
        dictionary_ids(child, ids);
    }
}

/// An IPC message from its block's metadata (after the continuation marker and length).
fn parse_message(meta: &[u8]) -> std::result::Result<arrow_ipc::Message<'_>, String> {
    let skip = match meta.get(..4) {
        Some(marker) if marker == CONTINUATION => 8,
        Some(_) => 4,
        None => return Err("a block too short for a message".into()),
    };
    let bytes = meta
        .get(skip..)
        .ok_or_else(|| "a block too short for a message".to_owned())?;
    root_as_message(bytes).map_err(|e| format!("unreadable message: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::cell::Cell;

    use arrow_array::{ArrayRef, BinaryArray, Float64Array, Int64Array, StringArray};

    use super::*;
    use crate::segment::{decode_segment_columns, SegmentWriter};

    /// Bytes in memory that count what is read of them.
    struct Counted<'a> {
        bytes: &'a [u8],
        read: Cell<usize>,
    }

    impl ReadAt for Counted<'_> {
        fn size(&self) -> usize {
            self.bytes.len()
        }
        fn read_at(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
            self.read.set(self.read.get() + len);
            self.bytes.read_at(offset, len)
        }
    }

    /// One segment of 1,000 rows in batches of 300: time, two strings (dictionary-encoded by
    /// the writer, one with nulls), a long, a double and a binary column.
    fn segment() -> Vec<u8> {
        let n = 1_000;
        let text = |f: fn(i64) -> Option<String>| -> ArrayRef {
            Arc::new((0..n).map(f).collect::<StringArray>())
        };
        let batch = RecordBatch::try_from_iter([
            (
                "__time",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            ("channel", text(|i| Some(format!("#c{}", i % 7)))),
            (
                "page",
                text(|i| (i % 5 != 0).then(|| format!("page {i} with a longer title"))),
            ),
            (
                "added",
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 3))) as ArrayRef,
            ),
            (
                "ratio",
                Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| i as f64 / 7.0),
                )),
            ),
            (
                "sketch",
                Arc::new(BinaryArray::from_iter_values(
                    (0..n).map(|i| i.to_le_bytes()),
                )),
            ),
        ])
        .unwrap();
        let mut segments = SegmentWriter::new("wiki", 0, 86_400_000, "v1", 10_000)
            .unwrap()
            .with_batch_rows(300)
            .write(&[batch])
            .unwrap();
        assert_eq!(segments.len(), 1);
        segments.remove(0).bytes
    }

    #[test]
    fn ranged_reads_decode_what_a_read_of_the_whole_file_decodes() {
        let bytes = segment();
        let whole = Buffer::from(bytes.as_slice());
        let sets: [&[&str]; 6] = [
            &["channel", "added"],
            &["page"],
            &["__time", "ratio", "sketch"],
            &["sketch", "channel", "page", "added", "ratio", "__time"],
            &[],
            &["not a column"],
        ];
        for set in sets {
            let names: HashSet<&str> = set.iter().copied().collect();
            let file = Counted {
                bytes: &bytes,
                read: Cell::new(0),
            };
            let ranged = read_segment_columns(&file, &names).unwrap();
            let expected = decode_segment_columns(&whole, Some(&names)).unwrap();
            assert_eq!(ranged, expected, "{set:?}");
            assert_eq!(
                ranged.iter().map(RecordBatch::num_rows).sum::<usize>(),
                1_000
            );
            if set.len() < 3 {
                assert!(
                    file.read.get() * 2 < bytes.len(),
                    "{set:?}: read {} of {} bytes",
                    file.read.get(),
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn what_is_read_holds_only_the_columns_asked_for() {
        let bytes = segment();
        let names: HashSet<&str> = ["added"].into_iter().collect();
        let batches = read_segment_columns(bytes.as_slice(), &names).unwrap();
        let held: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        // 1,000 longs, a few batches' padding: far below the file.
        assert!(
            held < 12_000,
            "{held} bytes held of a {}-byte file",
            bytes.len()
        );
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_problem() {
        let bytes = segment();
        let names: HashSet<&str> = ["added"].into_iter().collect();
        let err = read_segment_columns(&bytes[..5], &names).unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        let mut cut = bytes.clone();
        cut.drain(100..200);
        assert!(read_segment_columns(cut.as_slice(), &names).is_err());
    }
}
