//! Frames: Arrow record batches as Arrow IPC stream bytes, the unit rows travel in between
//! workers (design README "Data"; style rule 8: counters count IPC frames and bytes exactly as
//! sent).
//!
//! A frame is one self-contained IPC *stream* (schema message, any dictionary batches, one or
//! more record batches, end marker), so a receiver needs nothing else to decode it. Druid caps
//! frames at `maxFrameSize` (1,000,000 bytes, spec `druid-msq.md` §2/§3.1); [`FrameWriter`]
//! slices a batch into frames under that limit and fails with `RowTooLarge` when a single row
//! cannot fit.
//!
//! Dictionary-encoded columns are written with their dictionaries. A slice keeps its whole
//! dictionary, so slicing does not shrink a column whose dictionary alone is over the limit
//! (such a batch fails with `RowTooLarge`; compacting dictionaries is later work).

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::ArrowError;
use msq_common::{ErrorCode, MsqError, Result};

/// Druid's default `maxFrameSize` in bytes.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1_000_000;

/// Encodes `batch` as one IPC stream (schema + dictionaries + batch).
///
/// # Errors
/// An internal error when Arrow cannot write the batch (an unsupported type).
pub fn encode_frame(batch: &RecordBatch) -> Result<Vec<u8>> {
    encode_frame_into(batch, Vec::with_capacity(estimated_frame_size(batch)))
}

/// [`encode_frame`] into `sink` (empty, its capacity reserved for the frame).
fn encode_frame_into(batch: &RecordBatch, sink: Vec<u8>) -> Result<Vec<u8>> {
    let mut writer = StreamWriter::try_new(sink, batch.schema_ref())
        .map_err(|e| MsqError::internal(format!("writing a frame: {e}")))?;
    writer
        .write(batch)
        .and_then(|()| writer.finish())
        .map_err(|e| MsqError::internal(format!("writing a frame: {e}")))?;
    writer
        .into_inner()
        .map_err(|e| MsqError::internal(format!("writing a frame: {e}")))
}

/// About the bytes [`encode_frame`] writes for `batch`, without writing them: the column data
/// in the batch's row range (a dictionary column's whole dictionary, which a frame carries
/// whatever its slice), plus the IPC messages' framing and padding. Writing into a buffer of
/// this size up front saves growing it as the frame is written, a copy of the frame each time
/// it doubles.
pub fn estimated_frame_size(batch: &RecordBatch) -> usize {
    /// The schema message, the record batch header and the end marker.
    const MESSAGES: usize = 1024;
    /// Per column: its field in the schema, its node and buffers in the header, and the
    /// padding of up to three buffers to the writer's 64-byte alignment. An estimate short of
    /// the frame, even by a byte, would cost the doubling it is there to save.
    const PER_COLUMN: usize = 128 + 3 * 64;
    let data: usize = (batch.columns().iter())
        .map(|column| {
            let data = column.to_data();
            data.get_slice_memory_size()
                .unwrap_or_else(|_| column.get_array_memory_size())
        })
        .sum();
    data + MESSAGES + PER_COLUMN * batch.num_columns()
}

/// Decodes the batches of one IPC stream, copying them out of `bytes`.
///
/// # Errors
/// An internal error when the bytes are not a valid Arrow IPC stream.
pub fn decode_frame(bytes: &[u8]) -> Result<Vec<RecordBatch>> {
    decode_frame_buffer(Buffer::from(bytes))
}

/// Decodes the batches of one IPC stream without copying them: the batches' arrays are
/// slices of `bytes` (a column whose buffer is not aligned for its type is the exception,
/// copied to alignment), which they keep alive. A reader that owns the frame anyway avoids
/// holding it and a decoded copy at once.
///
/// # Errors
/// An internal error when the bytes are not a valid Arrow IPC stream.
pub fn decode_owned_frame(bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    decode_frame_buffer(Buffer::from_vec(bytes))
}

fn decode_frame_buffer(mut buffer: Buffer) -> Result<Vec<RecordBatch>> {
    let len = buffer.len();
    let error = |e: ArrowError| MsqError::internal(format!("reading a frame of {len} bytes: {e}"));
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    while !buffer.is_empty() {
        if let Some(batch) = decoder.decode(&mut buffer).map_err(error)? {
            batches.push(batch);
        }
    }
    decoder.finish().map_err(error)?;
    Ok(batches)
}

/// One encoded frame and what the channel counters need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The IPC stream bytes.
    pub bytes: Vec<u8>,
    /// Rows in the frame.
    pub rows: usize,
}

impl Frame {
    /// Encoded size in bytes (the `bytes` channel counter).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the frame has no bytes (never true for a written frame).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Encodes batches into frames of at most `max_frame_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameWriter {
    max_frame_size: usize,
}

impl Default for FrameWriter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl FrameWriter {
    /// A writer with the given `maxFrameSize`.
    pub fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The frame size limit.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Encodes `batch` as one frame, or as several consecutive row slices when one would be
    /// too big. An empty batch gives no frames.
    ///
    /// # Errors
    /// `RowTooLarge` when a single row's frame exceeds the limit.
    pub fn write(&self, batch: &RecordBatch) -> Result<Vec<Frame>> {
        let mut frames = Vec::new();
        self.split(batch, &mut frames)?;
        Ok(frames)
    }

    fn split(&self, batch: &RecordBatch, frames: &mut Vec<Frame>) -> Result<()> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(());
        }
        // A batch clearly over the limit is sliced before anything is written: encoding it
        // whole only to throw the bytes away doubled the cost of every large batch.
        let estimate = estimated_frame_size(batch);
        if rows > 1 && estimate > self.max_frame_size {
            return self.slice(batch, estimate, frames);
        }
        let bytes = encode_frame_into(batch, Vec::with_capacity(estimate))?;
        if bytes.len() <= self.max_frame_size {
            frames.push(Frame { bytes, rows });
            return Ok(());
        }
        if rows == 1 {
            return Err(MsqError::execution(
                ErrorCode::RowTooLarge,
                format!(
                    "Encountered row that cannot fit in a single frame (max frame size = {}); \
                     the row encodes to {} bytes",
                    self.max_frame_size,
                    bytes.len()
                ),
            ));
        }
        self.slice(batch, bytes.len(), frames)
    }

    /// Writes `batch`, of about `size` encoded bytes, as row slices aimed under the limit with
    /// room for per-frame overhead; a slice that still misses is split again.
    fn slice(&self, batch: &RecordBatch, size: usize, frames: &mut Vec<Frame>) -> Result<()> {
        let rows = batch.num_rows();
        let target = (self.max_frame_size / 10 * 9).max(1);
        let pieces = size.div_ceil(target).clamp(2, rows);
        let per_piece = rows.div_ceil(pieces);
        let mut offset = 0;
        while offset < rows {
            let len = per_piece.min(rows - offset);
            self.split(&batch.slice(offset, len), frames)?;
            offset += len;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(rows: usize, width: usize) -> RecordBatch {
        let n: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows as i64));
        let s: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("{i:0width$}")),
        ));
        let d: ArrayRef = Arc::new(
            (0..rows)
                .map(|i| if i % 2 == 0 { "even" } else { "odd" })
                .collect::<DictionaryArray<Int32Type>>(),
        );
        RecordBatch::try_from_iter([("n", n), ("s", s), ("d", d)]).unwrap()
    }

    #[test]
    fn ipc_round_trip_keeps_dictionaries() {
        let b = batch(100, 5);
        let bytes = encode_frame(&b).unwrap();
        let back = decode_frame(&bytes).unwrap();
        assert_eq!(back, vec![b.clone()]);
        assert!(matches!(
            back[0].schema().field(2).data_type(),
            arrow_schema::DataType::Dictionary(..)
        ));
        assert!(decode_frame(&bytes[..bytes.len() / 2]).is_err());
        assert!(decode_frame(b"nope").is_err());
    }

    #[test]
    fn an_owned_frame_decodes_in_place() {
        let b = batch(1_000, 20);
        let bytes = encode_frame(&b).unwrap();
        let span = bytes.as_ptr_range();
        let span = span.start as usize..span.end as usize;
        let back = decode_owned_frame(bytes.clone()).unwrap();
        assert_eq!(back, vec![b]);
        // The value buffers are the frame's own bytes, not copies.
        let owned = decode_owned_frame(bytes).unwrap();
        let data = owned[0].column(0).to_data();
        let values = data.buffers()[0].as_ptr() as usize;
        assert!(span.contains(&values), "{values:#x} outside {span:x?}");
        assert!(decode_owned_frame(b"nope".to_vec()).is_err());
    }

    #[test]
    fn big_batches_split_under_the_limit() {
        let b = batch(20_000, 100);
        let writer = FrameWriter::new(200_000);
        let frames = writer.write(&b).unwrap();
        assert!(frames.len() > 10, "{}", frames.len());
        assert!(frames.iter().all(|f| f.len() <= 200_000));
        assert_eq!(frames.iter().map(|f| f.rows).sum::<usize>(), 20_000);
        let back: Vec<RecordBatch> = frames
            .iter()
            .flat_map(|f| decode_frame(&f.bytes).unwrap())
            .collect();
        let merged = arrow_select_concat(&back);
        assert_eq!(merged, b);
        assert_eq!(
            FrameWriter::default().write(&batch(10, 1)).unwrap().len(),
            1
        );
        assert!(FrameWriter::default()
            .write(&batch(0, 1))
            .unwrap()
            .is_empty());
    }

    fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
        // Compare column by column without arrow-select: rebuild by values.
        let schema = batches[0].schema();
        let n: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        let s: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
                a.iter().map(|v| v.unwrap().to_owned()).collect::<Vec<_>>()
            })
            .collect();
        let d: DictionaryArray<Int32Type> = (0..n.len())
            .map(|i| if i % 2 == 0 { "even" } else { "odd" })
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(n)),
                Arc::new(StringArray::from(s)),
                Arc::new(d),
            ],
        )
        .unwrap()
    }

    /// `width` columns of each kind: numbers with nulls, strings of varied lengths, and
    /// dictionary strings.
    fn wide_batch(rows: usize, width: usize) -> RecordBatch {
        let columns = (0..width).flat_map(|c| {
            let n: ArrayRef = Arc::new(Int64Array::from_iter(
                (0..rows as i64).map(|i| (i % 7 != c as i64).then_some(i)),
            ));
            let s: ArrayRef = Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| "x".repeat((i * 31 + c) % 50)),
            ));
            let d: ArrayRef = Arc::new(
                (0..rows)
                    .map(|i| ["a", "bb", "ccc"][(i + c) % 3])
                    .collect::<DictionaryArray<Int32Type>>(),
            );
            [
                (format!("n{c}"), n),
                (format!("s{c}"), s),
                (format!("d{c}"), d),
            ]
        });
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn the_size_estimate_is_close_to_the_encoding_of_batches_and_slices() {
        let b = batch(20_000, 100);
        let wide = wide_batch(8_192, 8);
        for piece in [
            b.clone(),
            b.slice(0, 1),
            b.slice(7_000, 5_000),
            batch(3, 1),
            wide.clone(),
            wide.slice(1, 1_000),
            wide.slice(8_000, 192),
        ] {
            let (estimate, actual) = (
                estimated_frame_size(&piece),
                encode_frame(&piece).unwrap().len(),
            );
            assert!(estimate >= actual, "{estimate} < {actual}");
            assert!(
                estimate <= actual + actual / 8 + 2048,
                "{estimate} vs {actual}"
            );
        }
        // A batch over the limit is sliced by the estimate: every frame is under the limit and
        // as full as the 90 % target allows (no frame is written twice).
        let frames = FrameWriter::new(1_000_000).write(&b).unwrap();
        let total: usize = frames.iter().map(Frame::len).sum();
        assert_eq!(frames.len(), total.div_ceil(900_000));
    }

    #[test]
    fn a_row_over_the_limit_is_row_too_large() {
        let err = FrameWriter::new(500).write(&batch(3, 1000)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RowTooLarge);
    }
}
