//! [`Step::Limit`](msq_plan::Step::Limit): `OFFSET`/`LIMIT` across batches.

use arrow_array::RecordBatch;

/// Skips `offset` rows, then passes at most `limit` rows (all when `None`).
pub(crate) struct LimitOp {
    to_skip: u64,
    remaining: Option<u64>,
}

impl LimitOp {
    /// A limit of `limit` rows after `offset`.
    pub(crate) fn new(offset: u64, limit: Option<u64>) -> Self {
        Self {
            to_skip: offset,
            remaining: limit,
        }
    }

    /// Whether no further row can pass.
    pub(crate) fn is_full(&self) -> bool {
        self.remaining == Some(0)
    }

    /// The rows of `batch` that pass, if any.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Option<RecordBatch> {
        if self.is_full() {
            return None;
        }
        let rows = batch.num_rows() as u64;
        let skip = self.to_skip.min(rows);
        self.to_skip -= skip;
        let available = rows - skip;
        let take = match self.remaining {
            Some(r) => {
                let t = r.min(available);
                self.remaining = Some(r - t);
                t
            }
            None => available,
        };
        (take > 0).then(|| batch.slice(skip as usize, take as usize))
    }
}
