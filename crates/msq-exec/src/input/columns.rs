//! Typed column buffers the readers fill row by row (private).
//!
//! Arrow's builders cannot take back a value, but a reader must: a JSON line that fails half
//! way, or a key that appears twice in one object, has already written some cells. These
//! buffers are plain vectors that can [`ColumnBuffers::rollback_row`] and replace the current
//! row's cell, and turn into Arrow arrays without copying the value vectors.

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::SchemaRef;
use msq_common::{MsqError, Result};
use std::sync::Arc;

/// The Arrow type a signature column is read into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// Druid `long` → `Int64`.
    Long,
    /// Druid `double` → `Float64`.
    Double,
    /// Druid `float` → `Float32`.
    Float,
    /// Druid `string` → `Utf8`.
    String,
}

impl ColumnKind {
    /// A cell's bytes in the Arrow encoding besides a string's own bytes: the value, or a
    /// string's offset.
    fn fixed_bytes(self) -> usize {
        match self {
            ColumnKind::Long | ColumnKind::Double => 8,
            ColumnKind::Float | ColumnKind::String => 4,
        }
    }
}

/// One column's values for the rows of the current batch.
#[derive(Debug)]
pub(crate) enum Column {
    Long(Vec<i64>, Vec<bool>),
    Double(Vec<f64>, Vec<bool>),
    Float(Vec<f32>, Vec<bool>),
    /// UTF-8 bytes, offsets (len = rows + 1), validity.
    String(Vec<u8>, Vec<i32>, Vec<bool>),
}

/// Largest string data one batch may hold before it is flushed early (i32 offsets).
pub(crate) const MAX_STRING_BYTES: usize = 1 << 30;

impl Column {
    fn new(kind: ColumnKind, capacity: usize) -> Column {
        match kind {
            ColumnKind::Long => {
                Column::Long(Vec::with_capacity(capacity), Vec::with_capacity(capacity))
            }
            ColumnKind::Double => {
                Column::Double(Vec::with_capacity(capacity), Vec::with_capacity(capacity))
            }
            ColumnKind::Float => {
                Column::Float(Vec::with_capacity(capacity), Vec::with_capacity(capacity))
            }
            ColumnKind::String => {
                let mut offsets = Vec::with_capacity(capacity + 1);
                offsets.push(0);
                Column::String(Vec::new(), offsets, Vec::with_capacity(capacity))
            }
        }
    }

    /// Number of cells written.
    pub(crate) fn len(&self) -> usize {
        match self {
            Column::Long(_, v) | Column::Double(_, v) | Column::Float(_, v) => v.len(),
            Column::String(_, _, v) => v.len(),
        }
    }

    pub(crate) fn kind(&self) -> ColumnKind {
        match self {
            Column::Long(..) => ColumnKind::Long,
            Column::Double(..) => ColumnKind::Double,
            Column::Float(..) => ColumnKind::Float,
            Column::String(..) => ColumnKind::String,
        }
    }

    /// Drops cells beyond `rows`.
    pub(crate) fn truncate(&mut self, rows: usize) {
        match self {
            Column::Long(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Column::Double(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Column::Float(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Column::String(data, offsets, v) => {
                if v.len() > rows {
                    let end = usize::try_from(offsets[rows]).unwrap_or(0);
                    data.truncate(end);
                    offsets.truncate(rows + 1);
                    v.truncate(rows);
                }
            }
        }
    }

    pub(crate) fn push_null(&mut self) {
        match self {
            Column::Long(x, v) => {
                x.push(0);
                v.push(false);
            }
            Column::Double(x, v) => {
                x.push(0.0);
                v.push(false);
            }
            Column::Float(x, v) => {
                x.push(0.0);
                v.push(false);
            }
            Column::String(data, offsets, v) => {
                offsets.push(data.len() as i32);
                v.push(false);
            }
        }
    }

    pub(crate) fn push_long(&mut self, value: i64) {
        match self {
            Column::Long(x, v) => {
                x.push(value);
                v.push(true);
            }
            Column::Double(x, v) => {
                x.push(value as f64);
                v.push(true);
            }
            Column::Float(x, v) => {
                x.push(value as f32);
                v.push(true);
            }
            Column::String(..) => self.push_str(itoa(value).as_str()),
        }
    }

    pub(crate) fn push_double(&mut self, value: f64) {
        match self {
            // Druid: `Number.longValue()` truncates toward zero (saturating, NaN → 0 here).
            Column::Long(x, v) => {
                x.push(value as i64);
                v.push(true);
            }
            Column::Double(x, v) => {
                x.push(value);
                v.push(true);
            }
            Column::Float(x, v) => {
                x.push(value as f32);
                v.push(true);
            }
            // Java's `Double.toString` keeps a `.0` on whole numbers; `{:?}` does too.
            Column::String(..) => self.push_str(&format!("{value:?}")),
        }
    }

    pub(crate) fn push_str(&mut self, value: &str) {
        self.push_utf8(value.as_bytes());
    }

    /// Pushes `value`, which the caller has checked is UTF-8 (the JSON scanner checks only the
    /// strings that are not ASCII). Were it not, the batch would fail to build, with an
    /// internal error: Arrow checks a string column's bytes again in [`Column::take_array`].
    pub(crate) fn push_utf8(&mut self, value: &[u8]) {
        if let Column::String(data, offsets, v) = self {
            data.extend_from_slice(value);
            offsets.push(data.len() as i32);
            v.push(true);
        }
    }

    /// Bytes of the last cell in the Arrow encoding (value + offset/validity overhead).
    fn last_cell_bytes(&self) -> usize {
        match self {
            Column::String(data, offsets, _) => {
                let start = offsets.len().checked_sub(2).map_or(0, |i| offsets[i]);
                data.len() - usize::try_from(start).unwrap_or(0) + ColumnKind::String.fixed_bytes()
            }
            other => other.kind().fixed_bytes(),
        }
    }

    fn string_bytes(&self) -> usize {
        match self {
            Column::String(data, ..) => data.len(),
            _ => 0,
        }
    }

    fn take_array(&mut self, capacity: usize) -> Result<ArrayRef> {
        let kind = self.kind();
        let mut next = Column::new(kind, capacity);
        // The next batch's strings are likely as long as this one's: room for them at once,
        // rather than growing by doubling (a copy of everything so far at each step).
        if let (Column::String(data, ..), Column::String(old, ..)) = (&mut next, &*self) {
            data.reserve(old.len());
        }
        let old = std::mem::replace(self, next);
        fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
            if valid.iter().all(|v| *v) {
                None
            } else {
                Some(NullBuffer::from(valid))
            }
        }
        Ok(match old {
            Column::Long(x, v) => Arc::new(Int64Array::new(ScalarBuffer::from(x), nulls(v))),
            Column::Double(x, v) => Arc::new(Float64Array::new(ScalarBuffer::from(x), nulls(v))),
            Column::Float(x, v) => Arc::new(Float32Array::new(ScalarBuffer::from(x), nulls(v))),
            Column::String(data, offsets, v) => Arc::new(
                StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Buffer::from_vec(data),
                    nulls(v),
                )
                .map_err(|e| MsqError::internal(format!("building a string column: {e}")))?,
            ),
        })
    }
}

/// Small integer formatting without going through `format!`.
fn itoa(value: i64) -> String {
    value.to_string()
}

/// The columns of one batch under construction.
#[derive(Debug)]
pub(crate) struct ColumnBuffers {
    pub(crate) columns: Vec<Column>,
    schema: SchemaRef,
    rows: usize,
    capacity: usize,
    /// Each row's bytes besides its strings' (see [`Column::last_cell_bytes`]).
    fixed_row_bytes: usize,
}

impl ColumnBuffers {
    pub(crate) fn new(schema: SchemaRef, kinds: &[ColumnKind], capacity: usize) -> Self {
        let fixed_row_bytes = kinds.iter().map(|kind| kind.fixed_bytes()).sum();
        Self {
            columns: kinds.iter().map(|k| Column::new(*k, capacity)).collect(),
            schema,
            rows: 0,
            capacity,
            fixed_row_bytes,
        }
    }

    /// Complete rows in the buffers.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Whether `column` already holds a value for the row being built.
    pub(crate) fn is_set(&self, column: usize) -> bool {
        self.columns[column].len() > self.rows
    }

    /// Removes the current row's value of `column` (a duplicate key replaces it).
    pub(crate) fn unset(&mut self, column: usize) {
        let rows = self.rows;
        self.columns[column].truncate(rows);
    }

    /// Forgets every cell of the row being built.
    pub(crate) fn rollback_row(&mut self) {
        let rows = self.rows;
        for c in &mut self.columns {
            c.truncate(rows);
        }
    }

    /// Completes the row: columns without a value get null.
    pub(crate) fn end_row(&mut self) {
        let rows = self.rows;
        for c in &mut self.columns {
            if c.len() == rows {
                c.push_null();
            }
        }
        self.rows += 1;
    }

    /// The encoded size of the last complete row.
    pub(crate) fn last_row_bytes(&self) -> usize {
        self.columns.iter().map(Column::last_cell_bytes).sum()
    }

    /// An upper bound of a row's encoded size when its string cells hold at most `text_bytes`
    /// bytes in all: what [`ColumnBuffers::last_row_bytes`] counts beyond those is fixed.
    pub(crate) fn row_bound(&self, text_bytes: usize) -> usize {
        self.fixed_row_bytes + text_bytes
    }

    /// Whether string data grew so large that the batch must be flushed now.
    pub(crate) fn strings_full(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.string_bytes() >= MAX_STRING_BYTES)
    }

    /// Moves the complete rows out as a batch (`None` when there are none).
    pub(crate) fn take_batch(&mut self) -> Result<Option<RecordBatch>> {
        self.rollback_row();
        if self.rows == 0 {
            return Ok(None);
        }
        let capacity = self.capacity;
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| c.take_array(capacity))
            .collect::<Result<Vec<_>>>()?;
        let rows = std::mem::take(&mut self.rows);
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map(Some)
            .map_err(|e| MsqError::internal(format!("building a record batch: {e}")))
    }
}
