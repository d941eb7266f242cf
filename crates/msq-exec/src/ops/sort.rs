//! Sorting: [`Step::Sort`](msq_plan::Step::Sort) and [`sort_batches`] for the runtime.
//!
//! Rows are ordered by arrow-row encodings of the key columns (one [`SortField`] per key with
//! its `descending`/`nulls_first` options), which compare as plain bytes; the sort is stable, so
//! rows with equal keys keep their input order (SQL `ORDER BY` then behaves like Druid's
//! merge-sort of frames).

use super::arrow_err;
use crate::expr::evaluate;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{SchemaRef, SortOptions};
use arrow_select::concat::concat;
use arrow_select::interleave::interleave_record_batch;
use arrow_select::take::take_record_batch;
use msq_common::{internal_err, Result};
use msq_plan::SortKey;
use std::sync::Arc;

/// The permutation that stably sorts rows by `keys` (`(column, descending, nulls_first)`).
fn sort_indices(keys: &[(ArrayRef, bool, bool)], num_rows: usize) -> Result<UInt32Array> {
    let mut indices: Vec<u32> = (0..num_rows as u32).collect();
    if keys.is_empty() {
        return Ok(UInt32Array::from(indices));
    }
    let fields = keys
        .iter()
        .map(|(a, descending, nulls_first)| {
            SortField::new_with_options(
                a.data_type().clone(),
                SortOptions {
                    descending: *descending,
                    nulls_first: *nulls_first,
                },
            )
        })
        .collect();
    let converter = RowConverter::new(fields).map_err(arrow_err)?;
    let columns: Vec<ArrayRef> = keys.iter().map(|(a, _, _)| a.clone()).collect();
    let rows = converter.convert_columns(&columns).map_err(arrow_err)?;
    // Sort (encoded key, row index) pairs: the bytes compare like the keys, and ties break on
    // the index, so the (faster) unstable sort is stable — equal keys keep input order.
    let mut keyed: Vec<(&[u8], u32)> = indices
        .iter()
        .map(|&i| (rows.row(i as usize).data(), i))
        .collect();
    keyed.sort_unstable();
    for (slot, (_, i)) in indices.iter_mut().zip(keyed) {
        *slot = i;
    }
    Ok(UInt32Array::from(indices))
}

/// Sorts the rows of `batches` (all of `schema`) by key columns, each
/// `(column index, descending, nulls_first)`, stably.
///
/// Only the key columns are concatenated to find the order; see [`gather`] for how the rows
/// follow (not at all when they are already in order, the common case when a stage merges
/// the sorted output of its upstream workers or a segment's rows arrive time-sorted).
pub fn sort_batches(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[(usize, bool, bool)],
) -> Result<Vec<RecordBatch>> {
    gather(batches.to_vec(), &key_columns(schema, batches, keys)?)
}

/// Where each row of `batches` (all of `schema`) goes when they are sorted by key columns as
/// in [`sort_batches`]: the `(batch, row)` positions in sorted order, stably. Nothing but the
/// key columns is copied, so a caller that writes the rows out a piece at a time (the segment
/// writer, `crate::segment::ChunkSegments`) never holds a sorted copy of them all.
///
/// # Errors
/// An internal error for a key column out of range.
pub fn sort_positions(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[(usize, bool, bool)],
) -> Result<Vec<(usize, usize)>> {
    let num_rows = batches.iter().map(RecordBatch::num_rows).sum();
    let indices = sort_indices(&key_columns(schema, batches, keys)?, num_rows)?;
    Ok(positions(batches, &indices))
}

/// The key columns of `keys` over all of `batches`, each with its sort options.
fn key_columns(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[(usize, bool, bool)],
) -> Result<Vec<(ArrayRef, bool, bool)>> {
    let mut key_columns = Vec::with_capacity(keys.len());
    for &(index, descending, nulls_first) in keys {
        if index >= schema.fields().len() {
            internal_err!(
                "Sort key column {index} is out of range for {} columns",
                schema.fields().len()
            );
        }
        let parts: Vec<&ArrayRef> = batches.iter().map(|b| b.column(index)).collect();
        key_columns.push((concat_columns(&parts)?, descending, nulls_first));
    }
    Ok(key_columns)
}

/// The `(batch, row)` position of each row index of `indices` over all of `batches`.
fn positions(batches: &[RecordBatch], indices: &UInt32Array) -> Vec<(usize, usize)> {
    let mut location = Vec::with_capacity(indices.len());
    for (b, batch) in batches.iter().enumerate() {
        location.extend((0..batch.num_rows()).map(|row| (b, row)));
    }
    (indices.values().iter())
        .map(|&i| location[i as usize])
        .collect()
}

/// One array of `parts` in order (the only part itself, without copying).
fn concat_columns(parts: &[&ArrayRef]) -> Result<ArrayRef> {
    match parts {
        [one] => Ok(Arc::clone(one)),
        _ => {
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            concat(&refs).map_err(arrow_err)
        }
    }
}

/// The rows of `batches` ordered by `keys` (arrays over all their rows, in batch order).
///
/// Already-ordered input is returned as it is, without copying a value; otherwise the rows
/// are gathered once into one batch (`take` from a single batch, `interleave` across several),
/// instead of concatenating every column and then taking from the copy.
fn gather(
    mut batches: Vec<RecordBatch>,
    keys: &[(ArrayRef, bool, bool)],
) -> Result<Vec<RecordBatch>> {
    batches.retain(|b| b.num_rows() > 0);
    let num_rows = batches.iter().map(RecordBatch::num_rows).sum();
    let indices = sort_indices(keys, num_rows)?;
    if indices
        .values()
        .iter()
        .enumerate()
        .all(|(i, &row)| row as usize == i)
    {
        return Ok(batches);
    }
    if let [batch] = batches.as_slice() {
        return Ok(vec![take_record_batch(batch, &indices).map_err(arrow_err)?]);
    }
    let order = positions(&batches, &indices);
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    Ok(vec![
        interleave_record_batch(&refs, &order).map_err(arrow_err)?
    ])
}

/// The operator of a [`Step::Sort`](msq_plan::Step::Sort): buffers batches and their
/// evaluated keys, sorts on finish.
pub(crate) struct SortOp {
    keys: Vec<SortKey>,
    batches: Vec<RecordBatch>,
    key_values: Vec<Vec<ArrayRef>>,
}

impl SortOp {
    /// A sort of batches by `keys`.
    pub(crate) fn new(keys: &[SortKey]) -> Self {
        Self {
            keys: keys.to_vec(),
            batches: Vec::new(),
            key_values: vec![Vec::new(); keys.len()],
        }
    }

    /// Buffers one batch.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (k, values) in self.keys.iter().zip(&mut self.key_values) {
            values.push(evaluate(&k.expr, &batch)?);
        }
        self.batches.push(batch);
        Ok(())
    }

    /// Sorts everything buffered (no batches when there were no rows).
    pub(crate) fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        let batches = std::mem::take(&mut self.batches);
        let key_values = std::mem::replace(&mut self.key_values, vec![Vec::new(); self.keys.len()]);
        let mut keys = Vec::with_capacity(self.keys.len());
        for (k, values) in self.keys.iter().zip(&key_values) {
            let refs: Vec<&ArrayRef> = values.iter().collect();
            keys.push((concat_columns(&refs)?, k.descending, k.nulls_first));
        }
        gather(batches, &keys)
    }
}
