//! The shuffle: cluster keys, partitioning, and where stage output frames wait for their
//! readers (spec `druid-msq.md` §4.4).
//!
//! A stage's `shuffleSpec` names its cluster key columns. [`KeyEncoder`] turns those columns of
//! a batch into byte strings with arrow-row, whose byte order *is* the key order (ascending or
//! descending per column, nulls first as Druid sorts them). The same bytes feed the
//! controller's [`ClusterByStatistics`] (with the length of the time-chunk bucket prefix) and
//! [`ClusterByPartitions::partition_for`], so partition boundaries chosen by the controller
//! split rows exactly where workers put them.
//!
//! [`ShuffleStore`] keeps each `(stage, partition, worker)`'s frames until the stage is
//! cleaned or their only reader takes them, in memory up to a budget and in a
//! [`FrameSpill`](crate::spill::FrameSpill) beyond it; frames travel between Web Workers from
//! there (in one thread, readers read the store).

use arrow_array::{RecordBatch, UInt32Array};
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::{SchemaRef, SortOptions};
use msq_common::{MsqError, PartitionNumber, Result, StageNumber, WorkerNumber};
use msq_kernel::ClusterByPartitions;
use msq_plan::{ClusterBy, KeyOrder};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::spill::{FrameSpill, SpillRange};

/// Encodes the cluster key columns of batches into order-preserving byte strings.
#[derive(Debug)]
pub struct KeyEncoder {
    columns: Vec<usize>,
    converter: RowConverter,
    /// Converter over the bucket columns only, to measure the bucket prefix of each key.
    bucket: Option<(usize, RowConverter)>,
    sort_keys: Vec<(usize, bool, bool)>,
}

impl KeyEncoder {
    /// An encoder for `cluster_by` over batches of `schema`.
    ///
    /// # Errors
    /// An internal error when a key column is not in the schema.
    pub fn new(schema: &SchemaRef, cluster_by: &ClusterBy) -> Result<Self> {
        let mut columns = Vec::with_capacity(cluster_by.columns.len());
        let mut fields = Vec::with_capacity(cluster_by.columns.len());
        let mut sort_keys = Vec::with_capacity(cluster_by.columns.len());
        for key in &cluster_by.columns {
            let index = schema.index_of(&key.name).map_err(|_| {
                MsqError::internal(format!(
                    "cluster key column [{}] is not in the stage signature",
                    key.name
                ))
            })?;
            let descending = key.order == KeyOrder::Descending;
            // Druid sorts nulls first ascending (and so last descending).
            let options = SortOptions {
                descending,
                nulls_first: !descending,
            };
            fields.push(SortField::new_with_options(
                schema.field(index).data_type().clone(),
                options,
            ));
            columns.push(index);
            sort_keys.push((index, descending, !descending));
        }
        let converter = RowConverter::new(fields.clone()).map_err(arrow_error)?;
        let bucket_count = cluster_by.bucket_by_count.min(fields.len());
        let bucket = if bucket_count > 0 {
            let fields = fields[..bucket_count].to_vec();
            Some((
                bucket_count,
                RowConverter::new(fields).map_err(arrow_error)?,
            ))
        } else {
            None
        };
        Ok(Self {
            columns,
            converter,
            bucket,
            sort_keys,
        })
    }

    /// Whether the key has no columns (every row has the same, empty key).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `(column, descending, nulls_first)` for sorting rows by this key.
    pub fn sort_keys(&self) -> &[(usize, bool, bool)] {
        &self.sort_keys
    }

    /// The keys of every row of `batch`.
    ///
    /// # Errors
    /// An internal error when arrow-row cannot encode the columns.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Rows> {
        let arrays: Vec<_> = self
            .columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        self.converter.convert_columns(&arrays).map_err(arrow_error)
    }

    /// The byte length of each row's bucket prefix (0 for all rows when unbucketed).
    ///
    /// # Errors
    /// An internal error when arrow-row cannot encode the columns.
    pub fn bucket_lengths(&self, batch: &RecordBatch) -> Result<Vec<usize>> {
        match &self.bucket {
            None => Ok(vec![0; batch.num_rows()]),
            Some((count, converter)) => {
                let arrays: Vec<_> = self.columns[..*count]
                    .iter()
                    .map(|&i| batch.column(i).clone())
                    .collect();
                let rows = converter.convert_columns(&arrays).map_err(arrow_error)?;
                Ok(rows.iter().map(|r| r.as_ref().len()).collect())
            }
        }
    }
}

/// How rows of a stage's output go to partitions.
#[derive(Debug, Clone)]
pub enum Partitioner {
    /// Everything in partition 0.
    Single,
    /// By a hash of the key bytes (FNV-1a, stable across builds and platforms).
    Hash(u32),
    /// By key range, from the controller's boundaries.
    Range(ClusterByPartitions),
}

impl Partitioner {
    /// Splits `batch` into `(partition, rows)` pieces, in partition order.
    ///
    /// # Errors
    /// An internal error from the key encoding or `take`.
    pub fn split(
        &self,
        batch: &RecordBatch,
        keys: Option<&KeyEncoder>,
    ) -> Result<Vec<(PartitionNumber, RecordBatch)>> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let assign: Vec<u32> = match (self, keys) {
            (Partitioner::Single, _) | (_, None) => {
                return Ok(vec![(PartitionNumber(0), batch.clone())])
            }
            (Partitioner::Hash(n), Some(keys)) => {
                let rows = keys.encode(batch)?;
                rows.iter()
                    .map(|r| (fnv1a(r.as_ref()) % u64::from((*n).max(1))) as u32)
                    .collect()
            }
            (Partitioner::Range(partitions), Some(keys)) => {
                let rows = keys.encode(batch)?;
                rows.iter()
                    .map(|r| partitions.partition_for(r.as_ref()).0)
                    .collect()
            }
        };
        Ok(split_rows(batch, &assign)?
            .into_iter()
            .map(|(p, rows)| (PartitionNumber(p), rows))
            .collect())
    }
}

/// Splits the rows of `batch` by `key_of_row` (one key per row) into `(key, rows)` pieces in
/// key order, each keeping the rows' order.
///
/// A key whose rows are one contiguous run (every key, when the batch is sorted by it) is a
/// zero-copy slice of `batch`; the rows of any other key are gathered with `take`.
///
/// # Errors
/// An internal error when `key_of_row` is not one key per row, or from arrow's `take`.
pub fn split_rows<K: Ord + Copy>(
    batch: &RecordBatch,
    key_of_row: &[K],
) -> Result<Vec<(K, RecordBatch)>> {
    if key_of_row.len() != batch.num_rows() {
        return Err(MsqError::internal(format!(
            "{} row keys for a batch of {} rows",
            key_of_row.len(),
            batch.num_rows()
        )));
    }
    // Runs of equal keys: (key, start, len).
    let mut runs: Vec<(K, usize, usize)> = Vec::new();
    for (row, &key) in key_of_row.iter().enumerate() {
        match runs.last_mut() {
            Some((last, _, len)) if *last == key => *len += 1,
            _ => runs.push((key, row, 1)),
        }
    }
    let mut by_key: BTreeMap<K, Vec<(usize, usize)>> = BTreeMap::new();
    for &(key, start, len) in &runs {
        by_key.entry(key).or_default().push((start, len));
    }
    by_key
        .into_iter()
        .map(|(key, runs)| {
            let rows = match runs.as_slice() {
                [(_, len)] if *len == batch.num_rows() => batch.clone(),
                [(start, len)] => batch.slice(*start, *len),
                _ => {
                    let indices = runs
                        .iter()
                        .flat_map(|&(start, len)| start as u32..(start + len) as u32)
                        .collect();
                    take_rows(batch, indices)?
                }
            };
            Ok((key, rows))
        })
        .collect()
}

/// The rows of `batch` at `indices`, in that order.
///
/// # Errors
/// An internal error from arrow's `take`.
pub fn take_rows(batch: &RecordBatch, indices: Vec<u32>) -> Result<RecordBatch> {
    let indices = UInt32Array::from(indices);
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(arrow_error)?;
    RecordBatch::try_new(batch.schema(), columns).map_err(arrow_error)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

pub(crate) fn arrow_error(error: arrow_schema::ArrowError) -> MsqError {
    MsqError::internal(format!("Arrow: {error}"))
}

/// Where one worker's frames of one output partition of one stage are kept.
type FrameKey = (StageNumber, PartitionNumber, WorkerNumber);

/// The partition number under which a worker keeps rows it framed before it knew their
/// partitions ([`ShuffleStore::stage_rows`]); no stage has that many partitions.
const UNPARTITIONED: PartitionNumber = PartitionNumber(u32::MAX);

/// One frame held by a [`ShuffleStore`].
#[derive(Debug)]
enum Held {
    Memory(Vec<u8>),
    Spilled(SpillRange),
}

/// Frames of stage outputs, by `(stage, partition, worker)`, shared by one query's workers.
///
/// With a [`FrameSpill`] ([`ShuffleStore::with_spill`]) the store keeps frames in memory up
/// to a budget and spills the rest; reads bring spilled frames back one at a time.
#[derive(Clone, Default)]
pub struct ShuffleStore {
    inner: Rc<RefCell<Frames>>,
}

#[derive(Default)]
struct Frames {
    by_key: BTreeMap<FrameKey, Vec<Held>>,
    memory_bytes: usize,
    spilled_bytes: usize,
    spill: Option<(Rc<dyn FrameSpill>, usize)>,
}

impl Frames {
    fn forget(&mut self, frames: &[Held]) {
        for frame in frames {
            match frame {
                Held::Memory(bytes) => self.memory_bytes -= bytes.len(),
                Held::Spilled(range) => {
                    self.spilled_bytes -= range.len;
                    if let Some((spill, _)) = &self.spill {
                        spill.release(*range);
                    }
                }
            }
        }
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        // A query's store goes when the query ends: its spilled frames are free again.
        let held = std::mem::take(&mut self.by_key);
        for frames in held.values() {
            self.forget(frames);
        }
    }
}

impl std::fmt::Debug for ShuffleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("ShuffleStore")
            .field("keys", &inner.by_key.len())
            .field("memory_bytes", &inner.memory_bytes)
            .field("spilled_bytes", &inner.spilled_bytes)
            .field(
                "spill_budget",
                &inner.spill.as_ref().map(|(_, budget)| *budget),
            )
            .finish()
    }
}

impl ShuffleStore {
    /// An empty store that keeps every frame in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that keeps up to `memory_budget` bytes of frames in memory and writes
    /// the others to `spill`.
    pub fn with_spill(spill: Rc<dyn FrameSpill>, memory_budget: usize) -> Self {
        let store = Self::default();
        store.inner.borrow_mut().spill = Some((spill, memory_budget));
        store
    }

    /// The memory budget when this store spills.
    pub fn spill_budget(&self) -> Option<usize> {
        self.inner
            .borrow()
            .spill
            .as_ref()
            .map(|(_, budget)| *budget)
    }

    /// Appends a frame to a worker's output partition.
    ///
    /// # Errors
    /// When the frame had to be spilled and the spill failed.
    pub fn put(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
        frame: Vec<u8>,
    ) -> Result<()> {
        let mut inner = self.inner.borrow_mut();
        let held = match &inner.spill {
            Some((spill, budget)) if inner.memory_bytes + frame.len() > *budget => {
                let range = spill.write(&frame)?;
                inner.spilled_bytes += range.len;
                Held::Spilled(range)
            }
            _ => {
                inner.memory_bytes += frame.len();
                Held::Memory(frame)
            }
        };
        inner
            .by_key
            .entry((stage, partition, worker))
            .or_default()
            .push(held);
        Ok(())
    }

    /// The frames one worker wrote to one partition (empty when it wrote none).
    ///
    /// # Errors
    /// When a spilled frame cannot be read back.
    pub fn get(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> Result<Vec<Vec<u8>>> {
        let inner = self.inner.borrow();
        let Some(frames) = inner.by_key.get(&(stage, partition, worker)) else {
            return Ok(Vec::new());
        };
        frames
            .iter()
            .map(|frame| match (frame, &inner.spill) {
                (Held::Memory(bytes), _) => Ok(bytes.clone()),
                (Held::Spilled(range), Some((spill, _))) => spill.read(*range),
                (Held::Spilled(_), None) => {
                    Err(MsqError::internal("a spilled frame without a spill"))
                }
            })
            .collect()
    }

    /// Spills the frames held in memory for partitions other than `partition` of `stage`, when
    /// they take more than half the memory budget, and returns the bytes spilled (none
    /// without a spill).
    ///
    /// For a reader about to take a partition whole (a segment generator, which holds a time
    /// chunk's rows while it writes their segments): the frames kept in memory while the
    /// stage ran would otherwise stay beside that working set until their own turn, and a
    /// thread's peak memory is for good. At 1M rows that was a 32 MiB budget's worth next to a
    /// day's ~42 MiB of rows; at 100k (~15 MiB of frames per worker) nothing is spilled.
    ///
    /// # Errors
    /// When a spill fails (the frames not yet spilled stay in memory).
    pub fn spill_others(&self, stage: StageNumber, partition: PartitionNumber) -> Result<usize> {
        let mut inner = self.inner.borrow_mut();
        let Some((spill, budget)) = inner.spill.clone() else {
            return Ok(0);
        };
        if inner.memory_bytes <= budget / 2 {
            return Ok(0);
        }
        let Frames {
            by_key,
            memory_bytes,
            spilled_bytes,
            ..
        } = &mut *inner;
        let mut moved = 0;
        for (&(s, p, _), frames) in by_key.iter_mut() {
            if (s, p) == (stage, partition) {
                continue;
            }
            for held in frames.iter_mut() {
                if let Held::Memory(bytes) = held {
                    let range = spill.write(bytes)?;
                    *memory_bytes -= bytes.len();
                    *spilled_bytes += range.len;
                    moved += bytes.len();
                    *held = Held::Spilled(range);
                }
            }
        }
        Ok(moved)
    }

    /// Hands over the frames one worker wrote to one partition and forgets them, for the
    /// partition's only reader (empty when it wrote none).
    ///
    /// # Errors
    /// When a spilled frame cannot be read back.
    pub fn take(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> Result<Vec<Vec<u8>>> {
        self.take_each(stage, partition, worker).collect()
    }

    /// Like [`ShuffleStore::take`], one frame at a time: a spilled frame is read back only
    /// when its turn comes.
    pub fn take_each(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> TakenFrames {
        let key = (stage, partition, worker);
        let mut inner = self.inner.borrow_mut();
        let frames = inner.by_key.remove(&key).unwrap_or_default();
        for frame in &frames {
            match frame {
                Held::Memory(bytes) => inner.memory_bytes -= bytes.len(),
                Held::Spilled(range) => inner.spilled_bytes -= range.len,
            }
        }
        TakenFrames {
            frames: frames.into_iter(),
            spill: inner.spill.as_ref().map(|(spill, _)| Rc::clone(spill)),
        }
    }

    /// Keeps `frame`, rows a worker of `stage` collected before their partitions are known,
    /// under the same budget as the partitions' frames: what the budget has no room for is
    /// spilled, so a worker need not hold all its output in memory while the controller
    /// chooses partition boundaries.
    ///
    /// # Errors
    /// When the frame had to be spilled and the spill failed.
    pub fn stage_rows(
        &self,
        stage: StageNumber,
        worker: WorkerNumber,
        frame: Vec<u8>,
    ) -> Result<()> {
        self.put(stage, UNPARTITIONED, worker, frame)
    }

    /// Hands back, one frame at a time and in order, what [`ShuffleStore::stage_rows`] kept.
    pub fn staged_rows(&self, stage: StageNumber, worker: WorkerNumber) -> TakenFrames {
        self.take_each(stage, UNPARTITIONED, worker)
    }

    /// Drops every frame of a stage (its consumers are done).
    pub fn clean(&self, stage: StageNumber) {
        let mut inner = self.inner.borrow_mut();
        let keys: Vec<FrameKey> = (inner.by_key.keys())
            .filter(|(s, _, _)| *s == stage)
            .copied()
            .collect();
        for key in keys {
            if let Some(frames) = inner.by_key.remove(&key) {
                inner.forget(&frames);
            }
        }
    }

    /// Bytes of frames currently held, in memory or spilled.
    pub fn size_bytes(&self) -> usize {
        let inner = self.inner.borrow();
        inner.memory_bytes + inner.spilled_bytes
    }

    /// Bytes of frames currently held in memory.
    pub fn memory_bytes(&self) -> usize {
        self.inner.borrow().memory_bytes
    }
}

/// Frames handed over by a [`ShuffleStore`], read back from its spill one by one; those not
/// read are released when this is dropped.
pub struct TakenFrames {
    frames: std::vec::IntoIter<Held>,
    spill: Option<Rc<dyn FrameSpill>>,
}

impl Iterator for TakenFrames {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match (self.frames.next()?, &self.spill) {
            (Held::Memory(bytes), _) => Ok(bytes),
            (Held::Spilled(range), Some(spill)) => {
                let bytes = spill.read(range);
                spill.release(range);
                bytes
            }
            (Held::Spilled(_), None) => Err(MsqError::internal("a spilled frame without a spill")),
        })
    }
}

impl Drop for TakenFrames {
    fn drop(&mut self) {
        for frame in self.frames.by_ref() {
            if let (Held::Spilled(range), Some(spill)) = (frame, &self.spill) {
                spill.release(range);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use msq_plan::KeyColumn;
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(2), Some(1), None, Some(1)])),
                Arc::new(StringArray::from(vec![
                    Some("x"),
                    Some("yy"),
                    Some("z"),
                    None,
                ])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn keys_sort_like_druid_and_measure_bucket_prefixes() {
        let batch = batch();
        let cluster_by = ClusterBy::bucketed(
            vec![KeyColumn::ascending("b"), KeyColumn::descending("s")],
            1,
        );
        let encoder = KeyEncoder::new(&batch.schema(), &cluster_by).unwrap();
        let rows = encoder.encode(&batch).unwrap();
        let mut order: Vec<usize> = (0..4).collect();
        order.sort_by(|&a, &b| rows.row(a).cmp(&rows.row(b)));
        // null b first; among b = 1, descending s puts "yy" before null (nulls last descending).
        assert_eq!(order, vec![2, 1, 3, 0]);
        let lengths = encoder.bucket_lengths(&batch).unwrap();
        assert!(lengths
            .iter()
            .all(|&l| l > 0 && l < rows.row(0).as_ref().len()));
    }

    #[test]
    fn hash_partitioning_is_stable_and_complete() {
        let batch = batch();
        let encoder = KeyEncoder::new(
            &batch.schema(),
            &ClusterBy::new(vec![KeyColumn::ascending("b")]),
        )
        .unwrap();
        let pieces = Partitioner::Hash(3).split(&batch, Some(&encoder)).unwrap();
        let total: usize = pieces.iter().map(|(_, b)| b.num_rows()).sum();
        assert_eq!(total, 4);
        let again = Partitioner::Hash(3).split(&batch, Some(&encoder)).unwrap();
        assert_eq!(
            pieces
                .iter()
                .map(|(p, b)| (*p, b.num_rows()))
                .collect::<Vec<_>>(),
            again
                .iter()
                .map(|(p, b)| (*p, b.num_rows()))
                .collect::<Vec<_>>()
        );
        // Equal keys land together: the two b = 1 rows share a partition.
        let with_two = pieces.iter().filter(|(_, b)| b.num_rows() >= 2).count();
        assert!(with_two >= 1);
    }

    #[test]
    fn split_rows_slices_runs_and_gathers_scattered_keys() {
        let batch = batch();
        let values = |b: &RecordBatch| -> Vec<Option<i64>> {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .iter()
                .collect()
        };
        // Keys in runs: every piece is a slice sharing the batch's buffers.
        let pieces = split_rows(&batch, &[5, 5, 7, 7]).unwrap();
        assert_eq!(pieces.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [5, 7]);
        assert_eq!(values(&pieces[1].1), [None, Some(1)]);
        assert_eq!(
            pieces[1].1.column(1).to_data().buffers()[1].as_ptr(),
            batch.column(1).to_data().buffers()[1].as_ptr(),
            "a run is a zero-copy slice"
        );
        // One key: the batch itself.
        let whole = split_rows(&batch, &[0, 0, 0, 0]).unwrap();
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].1, batch);
        // Scattered keys: gathered in row order, pieces in key order.
        let pieces = split_rows(&batch, &[9, 3, 9, 3]).unwrap();
        assert_eq!(pieces.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [3, 9]);
        assert_eq!(values(&pieces[0].1), [Some(1), Some(1)]);
        assert_eq!(values(&pieces[1].1), [Some(2), None]);
        assert!(split_rows(&batch, &[1, 2]).is_err());
        assert!(split_rows(&batch.slice(0, 0), &[] as &[u32])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn store_keeps_frames_per_worker_until_cleaned() {
        let store = ShuffleStore::new();
        let (s0, p1, w0) = (StageNumber(0), PartitionNumber(1), WorkerNumber(0));
        store.put(s0, p1, w0, vec![1, 2]).unwrap();
        store.put(s0, p1, w0, vec![3]).unwrap();
        store
            .put(StageNumber(1), PartitionNumber(0), WorkerNumber(1), vec![4])
            .unwrap();
        assert_eq!(store.get(s0, p1, w0).unwrap(), vec![vec![1, 2], vec![3]]);
        assert_eq!(store.size_bytes(), 4);
        store.clean(s0);
        assert!(store.get(s0, p1, w0).unwrap().is_empty());
        assert_eq!(store.size_bytes(), 1);
        // The only reader takes them: handed over once, then gone.
        let key = (StageNumber(1), PartitionNumber(0), WorkerNumber(1));
        assert_eq!(store.take(key.0, key.1, key.2).unwrap(), vec![vec![4]]);
        assert!(store.take(key.0, key.1, key.2).unwrap().is_empty());
        assert_eq!(store.size_bytes(), 0);
    }

    #[test]
    fn frames_over_the_budget_are_spilled_and_read_back_in_order() {
        let spill = Rc::new(crate::spill::MemoryFrameSpill::new());
        let store = ShuffleStore::with_spill(spill.clone(), 4);
        let (s0, p0, w0) = (StageNumber(0), PartitionNumber(0), WorkerNumber(0));
        for frame in [vec![1, 2, 3], vec![4, 5], vec![6]] {
            store.put(s0, p0, w0, frame).unwrap();
        }
        // [1,2,3] and [6] fit in 4 bytes; [4,5] did not.
        assert_eq!(
            (store.memory_bytes(), store.size_bytes(), spill.live()),
            (4, 6, 1)
        );
        let all = vec![vec![1, 2, 3], vec![4, 5], vec![6]];
        assert_eq!(store.get(s0, p0, w0).unwrap(), all);
        assert_eq!(store.take(s0, p0, w0).unwrap(), all);
        assert_eq!((store.size_bytes(), spill.live()), (0, 0));

        // Rows staged before partitioning come back one by one; what is not read back, or
        // still held when the stage is cleaned or the store dropped, is released.
        for frame in [vec![7; 3], vec![8; 3], vec![9; 3]] {
            store.stage_rows(s0, w0, frame).unwrap();
        }
        store.put(s0, p0, w0, vec![0; 9]).unwrap();
        assert_eq!(spill.live(), 3);
        let mut staged = store.staged_rows(s0, w0);
        assert_eq!(staged.next().unwrap().unwrap(), vec![7; 3]);
        assert_eq!(staged.next().unwrap().unwrap(), vec![8; 3]);
        drop(staged);
        assert_eq!(spill.live(), 1);
        store.clean(s0);
        assert_eq!((store.size_bytes(), spill.live()), (0, 0));
        store.put(s0, p0, w0, vec![0; 9]).unwrap();
        drop(store);
        assert_eq!(spill.live(), 0);
    }

    #[test]
    fn a_whole_partitions_reader_has_the_other_partitions_spilled() {
        let spill = Rc::new(crate::spill::MemoryFrameSpill::new());
        let store = ShuffleStore::with_spill(spill.clone(), 8);
        let (s0, w0, w1) = (StageNumber(0), WorkerNumber(0), WorkerNumber(1));
        let (p0, p1) = (PartitionNumber(0), PartitionNumber(1));
        store.put(s0, p0, w0, vec![1, 2]).unwrap();
        // Under half the budget in memory: nothing moves.
        assert_eq!(store.spill_others(s0, p0).unwrap(), 0);
        store.put(s0, p1, w0, vec![3, 4, 5]).unwrap();
        store.put(s0, p1, w1, vec![6]).unwrap();
        store.put(s0, p0, w1, vec![7]).unwrap();
        assert_eq!((store.memory_bytes(), spill.live()), (7, 0));
        // Partition 0 stays in memory for its reader; partition 1's frames go to the spill
        // and come back, in order, when their turn comes.
        assert_eq!(store.spill_others(s0, p0).unwrap(), 4);
        assert_eq!((store.memory_bytes(), spill.live()), (3, 2));
        assert_eq!(store.take(s0, p0, w0).unwrap(), [vec![1, 2]]);
        assert_eq!(store.take(s0, p1, w0).unwrap(), [vec![3, 4, 5]]);
        assert_eq!(store.get(s0, p1, w1).unwrap(), [vec![6]]);
        assert_eq!(store.spill_others(s0, p1).unwrap(), 0);
        // Without a spill there is nowhere to put them.
        let plain = ShuffleStore::new();
        plain.put(s0, p1, w0, vec![0; 100]).unwrap();
        assert_eq!(plain.spill_others(s0, p0).unwrap(), 0);
    }
}
