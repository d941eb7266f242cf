//! Broadcast hash join: [`Step::Join`](msq_plan::Step::Join), `INNER` and `LEFT`
//! (spec `druid-msq.md` §1.7, `broadcast` joins).
//!
//! The build side is the whole broadcast input: its `right_keys` are evaluated once, encoded
//! with arrow-row and indexed in a hash table of row chains (`head` per distinct key, `next`
//! per row, chains in input order). Each streaming batch is probed with `left_keys`; matching
//! index pairs are gathered, the optional `condition` is evaluated over the candidate pairs,
//! and the output columns are built with arrow-select `take` (left) and a nullable `take`
//! (right), never row by row. Null keys never match (SQL equality). Output schema: the left
//! columns, then the right columns made nullable.

use super::{arrow_err, ByteMap};
use crate::expr::{arrow_type, cast_array, evaluate, evaluate_predicate};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow_buffer::NullBuffer;
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use arrow_select::concat::concat_batches;
use arrow_select::take::take;
use msq_common::{internal_err, Result};
use msq_plan::{JoinKind, JoinStep, ScalarExpr};
use std::sync::Arc;

const NO_ROW: u32 = u32::MAX;

/// The operator of one [`JoinStep`].
pub(crate) struct JoinOp {
    kind: JoinKind,
    left_keys: Vec<ScalarExpr>,
    key_types: Vec<DataType>,
    condition: Option<ScalarExpr>,
    right: RecordBatch,
    converter: Option<RowConverter>,
    /// First right row per distinct key.
    heads: ByteMap<u32>,
    /// Next right row with the same key, or [`NO_ROW`].
    next: Vec<u32>,
    schema: SchemaRef,
}

/// Evaluates `exprs` and casts each to `types` where they differ.
fn keys_of(exprs: &[ScalarExpr], types: &[DataType], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    let mut out = Vec::with_capacity(exprs.len());
    for (e, t) in exprs.iter().zip(types) {
        let a = evaluate(e, batch)?;
        let a = if a.data_type() == t {
            a
        } else {
            cast_array(&a, &e.sql_type())?
        };
        out.push(a);
    }
    Ok(out)
}

/// Rows where any key is null (they never match).
fn null_keys(keys: &[ArrayRef]) -> Option<NullBuffer> {
    let mut acc: Option<NullBuffer> = None;
    for k in keys {
        acc = NullBuffer::union(acc.as_ref(), k.logical_nulls().as_ref());
    }
    acc
}

impl JoinOp {
    /// Builds the hash table over the broadcast input's batches.
    pub(crate) fn try_new(
        step: &JoinStep,
        left: &SchemaRef,
        broadcast: &[RecordBatch],
    ) -> Result<Self> {
        if step.left_keys.len() != step.right_keys.len() {
            internal_err!(
                "Join has {} left keys but {} right keys",
                step.left_keys.len(),
                step.right_keys.len()
            );
        }
        let Some(first) = broadcast.first() else {
            internal_err!(
                "Broadcast input {} has no batches (pass an empty batch to carry its schema)",
                step.broadcast_input
            )
        };
        let right_schema = first.schema();
        let right = concat_batches(&right_schema, broadcast).map_err(arrow_err)?;
        let key_types: Vec<DataType> = step
            .left_keys
            .iter()
            .map(|k| arrow_type(&k.sql_type()))
            .collect();
        let mut fields: Vec<Field> = left.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(
            right_schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true)),
        );
        let schema = Arc::new(Schema::new(fields));
        let mut op = Self {
            kind: step.kind,
            left_keys: step.left_keys.clone(),
            key_types,
            condition: step.condition.clone(),
            right,
            converter: None,
            heads: ByteMap::default(),
            next: Vec::new(),
            schema,
        };
        if !step.left_keys.is_empty() {
            let converter = RowConverter::new(
                op.key_types
                    .iter()
                    .map(|t| SortField::new(t.clone()))
                    .collect(),
            )
            .map_err(arrow_err)?;
            // Right keys are cast to the left keys' types so equal values encode equally.
            let mut keys = Vec::with_capacity(step.right_keys.len());
            for ((r, l), t) in step
                .right_keys
                .iter()
                .zip(&step.left_keys)
                .zip(&op.key_types)
            {
                let a = evaluate(r, &op.right)?;
                keys.push(if a.data_type() == t {
                    a
                } else {
                    cast_array(&a, &l.sql_type())?
                });
            }
            let nulls = null_keys(&keys);
            let rows = converter.convert_columns(&keys).map_err(arrow_err)?;
            op.next = vec![NO_ROW; rows.num_rows()];
            // Insert back to front so each chain lists rows in input order.
            for i in (0..rows.num_rows()).rev() {
                if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    continue;
                }
                let row = rows.row(i);
                let bytes = row.as_ref();
                match op.heads.get_mut(bytes) {
                    Some(head) => {
                        op.next[i] = *head;
                        *head = i as u32;
                    }
                    None => {
                        op.heads.insert(bytes.into(), i as u32);
                    }
                }
            }
            op.converter = Some(converter);
        }
        Ok(op)
    }

    /// The joined schema.
    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Builds output rows for `(left, right)` index pairs (`None` right = nulls).
    fn build(
        &self,
        batch: &RecordBatch,
        left: &[u32],
        right: &[Option<u32>],
    ) -> Result<RecordBatch> {
        let left_idx = UInt32Array::from(left.to_vec());
        let right_idx = UInt32Array::from(right.to_vec());
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for c in batch.columns() {
            columns.push(take(c.as_ref(), &left_idx, None).map_err(arrow_err)?);
        }
        for c in self.right.columns() {
            columns.push(take(c.as_ref(), &right_idx, None).map_err(arrow_err)?);
        }
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(left.len())),
        )
        .map_err(arrow_err)
    }

    /// Candidate matches per left row: pairs in left order, then right order.
    fn candidates(&self, batch: &RecordBatch) -> Result<(Vec<u32>, Vec<u32>)> {
        let mut left = Vec::new();
        let mut right = Vec::new();
        let n = batch.num_rows();
        match &self.converter {
            None => {
                // No equality keys (cross join): every pair is a candidate.
                let m = self.right.num_rows() as u32;
                for l in 0..n as u32 {
                    for r in 0..m {
                        left.push(l);
                        right.push(r);
                    }
                }
            }
            Some(converter) => {
                let keys = keys_of(&self.left_keys, &self.key_types, batch)?;
                let nulls = null_keys(&keys);
                let rows: Rows = converter.convert_columns(&keys).map_err(arrow_err)?;
                for l in 0..n {
                    if nulls.as_ref().is_some_and(|x| x.is_null(l)) {
                        continue;
                    }
                    let mut r = match self.heads.get(rows.row(l).as_ref()) {
                        Some(&head) => head,
                        None => continue,
                    };
                    while r != NO_ROW {
                        left.push(l as u32);
                        right.push(r);
                        r = self.next.get(r as usize).copied().unwrap_or(NO_ROW);
                    }
                }
            }
        }
        Ok((left, right))
    }

    /// Joins one streaming batch.
    pub(crate) fn push(&self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let (mut left, mut right) = self.candidates(batch)?;
        if let Some(condition) = &self.condition {
            if !left.is_empty() {
                let pairs: Vec<Option<u32>> = right.iter().map(|&r| Some(r)).collect();
                let joined = self.build(batch, &left, &pairs)?;
                let keep = evaluate_predicate(condition, &joined)?;
                let mut kept_left = Vec::with_capacity(left.len());
                let mut kept_right = Vec::with_capacity(right.len());
                for (i, (&l, &r)) in left.iter().zip(&right).enumerate() {
                    if keep.is_valid(i) && keep.value(i) {
                        kept_left.push(l);
                        kept_right.push(r);
                    }
                }
                left = kept_left;
                right = kept_right;
            }
        }
        let (out_left, out_right): (Vec<u32>, Vec<Option<u32>>) = match self.kind {
            JoinKind::Inner => (left, right.into_iter().map(Some).collect()),
            JoinKind::Left => {
                let mut out_left = Vec::with_capacity(left.len());
                let mut out_right = Vec::with_capacity(left.len());
                let mut p = 0;
                for l in 0..batch.num_rows() as u32 {
                    let start = p;
                    while p < left.len() && left[p] == l {
                        out_left.push(l);
                        out_right.push(Some(right[p]));
                        p += 1;
                    }
                    if p == start {
                        out_left.push(l);
                        out_right.push(None);
                    }
                }
                (out_left, out_right)
            }
        };
        if out_left.is_empty() {
            return Ok(None);
        }
        self.build(batch, &out_left, &out_right).map(Some)
    }
}
