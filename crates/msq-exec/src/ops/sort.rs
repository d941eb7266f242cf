//! Sorting: [`Step::Sort`](msq_plan::Step::Sort) and [`sort_batches`] for the runtime.
//!
//! Rows are ordered by arrow-row encodings of the key columns (one [`SortField`] per key with
//! its `descending`/`nulls_first` options), which compare as plain bytes; the sort is stable, so
//! rows with equal keys keep their input order (SQL `ORDER BY` then behaves like Druid's
//! merge-sort of frames).

use super::arrow_err;
use crate::expr::evaluate;
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{SchemaRef, SortOptions};
use arrow_select::concat::{concat, concat_batches};
use arrow_select::take::take_record_batch;
use msq_common::{internal_err, Result};
use msq_plan::SortKey;

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
/// `(column index, descending, nulls_first)`, stably, into one batch.
pub fn sort_batches(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    keys: &[(usize, bool, bool)],
) -> Result<RecordBatch> {
    let all = concat_batches(schema, batches).map_err(arrow_err)?;
    let mut key_columns = Vec::with_capacity(keys.len());
    for &(index, descending, nulls_first) in keys {
        if index >= all.num_columns() {
            internal_err!(
                "Sort key column {index} is out of range for {} columns",
                all.num_columns()
            );
        }
        key_columns.push((all.column(index).clone(), descending, nulls_first));
    }
    let indices = sort_indices(&key_columns, all.num_rows())?;
    take_record_batch(&all, &indices).map_err(arrow_err)
}

/// The operator of a [`Step::Sort`](msq_plan::Step::Sort): buffers batches and their
/// evaluated keys, sorts on finish.
pub(crate) struct SortOp {
    keys: Vec<SortKey>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    key_values: Vec<Vec<ArrayRef>>,
}

impl SortOp {
    /// A sort of batches of `schema` by `keys`.
    pub(crate) fn new(keys: &[SortKey], schema: SchemaRef) -> Self {
        Self {
            keys: keys.to_vec(),
            schema,
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

    /// Sorts everything buffered into one batch (none when there were no rows).
    pub(crate) fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        let batches = std::mem::take(&mut self.batches);
        let key_values = std::mem::replace(&mut self.key_values, vec![Vec::new(); self.keys.len()]);
        if batches.is_empty() {
            return Ok(Vec::new());
        }
        let all = concat_batches(&self.schema, &batches).map_err(arrow_err)?;
        let mut keys = Vec::with_capacity(self.keys.len());
        for (k, values) in self.keys.iter().zip(&key_values) {
            let refs: Vec<&dyn arrow_array::Array> = values.iter().map(|a| a.as_ref()).collect();
            keys.push((
                concat(&refs).map_err(arrow_err)?,
                k.descending,
                k.nulls_first,
            ));
        }
        let indices = sort_indices(&keys, all.num_rows())?;
        Ok(vec![take_record_batch(&all, &indices).map_err(arrow_err)?])
    }
}
