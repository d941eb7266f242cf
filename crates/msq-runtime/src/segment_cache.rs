//! The columns of published segments a stage host has read, kept for later queries.
//!
//! A host reads a table by asking the controller (which owns the segment store) for the
//! columns its query reads ([`msq_exec::segment::project_segment`]), so a `GROUP BY channel`
//! over a wide datasource moves one dictionary column and not the whole file. What arrives is
//! kept column by column: the next query asks only for the columns it reads that are not here
//! yet, and a repeated query asks for nothing. A published segment never changes (a new
//! version has a new id), so nothing cached is ever stale.
//!
//! The least recently used columns are dropped beyond [`SEGMENT_CACHE_BYTES`]. The count is of
//! the columns' own bytes; columns that arrived together share one received buffer, which is
//! freed when the last of them is dropped.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{FieldRef, Schema};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use msq_common::{MsqError, Result};
use msq_exec::segment::TIME_COLUMN;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

/// Bytes of segment columns one host keeps.
pub const SEGMENT_CACHE_BYTES: usize = 256 << 20;

/// One column of one segment: its field and its array in each of the segment's batches.
#[derive(Debug, Clone)]
struct CachedColumn {
    field: FieldRef,
    arrays: Vec<ArrayRef>,
    bytes: usize,
    last_used: u64,
}

/// What a host knows of one segment.
#[derive(Debug, Default)]
struct CachedSegment {
    /// The rows of each of the file's record batches.
    batch_rows: Vec<usize>,
    /// Column name → the column, or `None` when the segment does not have it.
    columns: HashMap<String, Option<CachedColumn>>,
}

/// A read of some columns of a segment, between [`SegmentCache::start`] and
/// [`SegmentCache::finish`].
#[derive(Debug)]
pub(crate) struct Pending {
    /// The columns to ask the segment's owner for (none: the cache had everything).
    pub(crate) asked: Vec<String>,
    /// The segment's batch row counts, when the cache knew them.
    batch_rows: Option<Vec<usize>>,
    /// The columns named that the cache had (`None`: the segment lacks it).
    kept: HashMap<String, Option<CachedColumn>>,
}

/// Columns `columns` of segment `id` of `data_source` through `cache`: what it holds comes
/// from it, and the rest is read by `read` (given the names the cache lacks, as
/// [`Pending::asked`]) and kept for later reads. Used by stage hosts and by workers beside the
/// controller alike; only how they read a file differs.
pub(crate) fn read_through<F>(
    cache: &Rc<RefCell<SegmentCache>>,
    data_source: &str,
    id: &str,
    columns: &[String],
    read: impl FnOnce(Vec<String>) -> F,
) -> LocalBoxFuture<'static, Result<Vec<RecordBatch>>>
where
    F: Future<Output = Result<Vec<RecordBatch>>> + 'static,
{
    let pending = cache.borrow_mut().start(data_source, id, columns);
    if pending.asked.is_empty() {
        let kept = cache
            .borrow_mut()
            .finish(data_source, id, columns, pending, &[]);
        return futures::future::ready(kept).boxed_local();
    }
    let arrived = read(pending.asked.clone());
    let cache = Rc::clone(cache);
    let (data_source, id, columns) = (data_source.to_owned(), id.to_owned(), columns.to_vec());
    async move {
        let arrived = arrived.await?;
        let batches = (cache.borrow_mut()).finish(&data_source, &id, &columns, pending, &arrived);
        batches
    }
    .boxed_local()
}

/// Columns of segments, by `(datasource, segment id)`; see the module docs.
#[derive(Debug)]
pub(crate) struct SegmentCache {
    segments: HashMap<(String, String), CachedSegment>,
    bytes: usize,
    limit: usize,
    clock: u64,
}

impl Default for SegmentCache {
    fn default() -> Self {
        Self::with_limit(SEGMENT_CACHE_BYTES)
    }
}

impl SegmentCache {
    /// An empty cache holding at most `limit` bytes of columns.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            segments: HashMap::new(),
            bytes: 0,
            limit,
            clock: 0,
        }
    }

    /// The bytes of columns held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Starts a read of `columns` of a segment: takes what the cache holds of them (so the
    /// read does not depend on the cache still holding it when the rest arrives; another read
    /// may evict meanwhile) and names the rest, [`Pending::asked`]. A segment whose batches
    /// are not known yet is also asked for `__time`, which every segment has, so their row
    /// counts are learnt even when it lacks every column named.
    pub(crate) fn start(&mut self, data_source: &str, id: &str, columns: &[String]) -> Pending {
        self.clock += 1;
        let now = self.clock;
        let key = (data_source.to_owned(), id.to_owned());
        let mut kept = HashMap::new();
        let mut batch_rows = None;
        if let Some(segment) = self.segments.get_mut(&key) {
            batch_rows = Some(segment.batch_rows.clone());
            for name in columns {
                if let Some(column) = segment.columns.get_mut(name) {
                    if let Some(column) = column.as_mut() {
                        column.last_used = now;
                    }
                    kept.insert(name.clone(), column.clone());
                }
            }
        }
        let mut asked: Vec<String> = (columns.iter())
            .filter(|name| !kept.contains_key(name.as_str()))
            .cloned()
            .collect();
        if batch_rows.is_none() && !asked.iter().any(|name| name == TIME_COLUMN) {
            asked.push(TIME_COLUMN.to_owned());
        }
        Pending {
            asked,
            batch_rows,
            kept,
        }
    }

    /// Finishes a read begun with [`Self::start`]: `arrived` holds the batches of the file cut
    /// to [`Pending::asked`] (none when nothing was asked), which are kept for later reads.
    /// Batches come back in the file's order holding the named columns the segment has, in
    /// the order named; a batch holding none of them still has its row count.
    ///
    /// # Errors
    /// An internal error when the arrived batches do not match the segment's known batches.
    pub(crate) fn finish(
        &mut self,
        data_source: &str,
        id: &str,
        columns: &[String],
        pending: Pending,
        arrived: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>> {
        let Pending {
            asked,
            batch_rows,
            mut kept,
        } = pending;
        let arrived_rows: Vec<usize> = arrived.iter().map(RecordBatch::num_rows).collect();
        let batch_rows = match batch_rows {
            Some(rows) if !asked.is_empty() && rows != arrived_rows => {
                return Err(MsqError::internal(format!(
                    "segment [{id}] arrived as batches of {arrived_rows:?} rows, it had {rows:?}"
                )))
            }
            Some(rows) => rows,
            None => arrived_rows,
        };
        let now = self.clock;
        let key = (data_source.to_owned(), id.to_owned());
        let segment = self.segments.entry(key).or_insert_with(|| CachedSegment {
            batch_rows: batch_rows.clone(),
            columns: HashMap::new(),
        });
        for name in &asked {
            let column = arrived
                .first()
                .and_then(|b| b.schema().index_of(name).ok())
                .map(|i| {
                    let arrays: Vec<ArrayRef> =
                        arrived.iter().map(|b| Arc::clone(b.column(i))).collect();
                    CachedColumn {
                        field: Arc::clone(&arrived[0].schema().fields()[i]),
                        bytes: column_bytes(&arrays),
                        arrays,
                        last_used: now,
                    }
                });
            // An empty segment has no batches to show a column in: it has none to read.
            if !segment.columns.contains_key(name) {
                self.bytes += column.as_ref().map_or(0, |c| c.bytes);
                segment.columns.insert(name.clone(), column.clone());
            }
            kept.insert(name.clone(), column);
        }
        let mut fields = Vec::new();
        let mut chosen = Vec::new();
        for column in columns.iter().filter_map(|name| kept.get(name)).flatten() {
            fields.push(Arc::clone(&column.field));
            chosen.push(&column.arrays);
        }
        let schema = Arc::new(Schema::new(fields));
        let batches = (batch_rows.iter().enumerate())
            .map(|(b, &rows)| {
                let arrays = chosen.iter().map(|c| Arc::clone(&c[b])).collect();
                let options = RecordBatchOptions::new().with_row_count(Some(rows));
                RecordBatch::try_new_with_options(Arc::clone(&schema), arrays, &options)
                    .map_err(|e| MsqError::internal(format!("segment [{id}]: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.evict();
        Ok(batches)
    }

    /// Drops the least recently used columns until the cache is within its limit; a segment
    /// left with no column held is forgotten.
    fn evict(&mut self) {
        while self.bytes > self.limit {
            let oldest = (self.segments.iter())
                .flat_map(|(key, segment)| {
                    (segment.columns.iter())
                        .filter_map(move |(name, c)| c.as_ref().map(|c| (c.last_used, key, name)))
                })
                .min_by_key(|(used, ..)| *used)
                .map(|(_, key, name)| (key.clone(), name.clone()));
            let Some((key, name)) = oldest else { break };
            if let Some(segment) = self.segments.get_mut(&key) {
                if let Some(Some(column)) = segment.columns.remove(&name) {
                    self.bytes -= column.bytes;
                }
                if segment.columns.values().all(Option::is_none) {
                    self.segments.remove(&key);
                }
            }
        }
    }
}

/// The bytes a column's arrays hold: each array's own values (not the whole buffer it may be
/// a slice of), and a dictionary its batches share counted once.
fn column_bytes(arrays: &[ArrayRef]) -> usize {
    let own = |array: &dyn Array| array.to_data().get_slice_memory_size().unwrap_or(0);
    let mut shared: Option<&ArrayRef> = None;
    let mut total = 0;
    for array in arrays {
        match array.as_any_dictionary_opt() {
            Some(dictionary) => {
                total += own(dictionary.keys());
                let values = dictionary.values();
                if !shared.is_some_and(|s| s.to_data().ptr_eq(&values.to_data())) {
                    total += own(values.as_ref());
                    shared = Some(values);
                }
            }
            None => total += own(array.as_ref()),
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::Field;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Two batches (2 and 1 rows) of a segment with `__time`, `page` and `added`, cut to `cut`.
    fn file_cut_to(cut: &[String]) -> Vec<RecordBatch> {
        let full = [
            (vec![1, 2], ["a", "b"].as_slice(), vec![10, 20]),
            (vec![3], &["c"], vec![30]),
        ];
        full.iter()
            .map(|(time, page, added)| {
                let mut fields = Vec::new();
                let mut arrays: Vec<ArrayRef> = Vec::new();
                for name in cut {
                    match name.as_str() {
                        "__time" => arrays.push(Arc::new(Int64Array::from(time.clone()))),
                        "page" => arrays.push(Arc::new(StringArray::from(page.to_vec()))),
                        "added" => arrays.push(Arc::new(Int64Array::from(added.clone()))),
                        _ => continue,
                    }
                    let ty = arrays.last().unwrap().data_type().clone();
                    fields.push(Field::new(name, ty, true));
                }
                RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
            })
            .collect()
    }

    /// Reads `columns` as a host does: asks for what is missing, "sends" it, reads.
    fn read(
        cache: &mut SegmentCache,
        id: &str,
        columns: &[&str],
    ) -> (Vec<String>, Vec<RecordBatch>) {
        let columns = names(columns);
        let pending = cache.start("ds", id, &columns);
        let asked = pending.asked.clone();
        let arrived = match asked.is_empty() {
            true => Vec::new(),
            false => file_cut_to(&asked),
        };
        let batches = cache.finish("ds", id, &columns, pending, &arrived).unwrap();
        (asked, batches)
    }

    #[test]
    fn a_segment_is_read_once_per_column() {
        let mut cache = SegmentCache::default();
        let (asked, batches) = read(&mut cache, "s1", &["page"]);
        assert_eq!(
            asked,
            ["page", "__time"],
            "first read learns the row counts too"
        );
        assert_eq!(
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(batches[0].schema().field(0).name(), "page");
        assert_eq!(batches[0].num_columns(), 1);

        let (asked, batches) = read(&mut cache, "s1", &["added", "page"]);
        assert_eq!(asked, ["added"], "page is kept");
        let schema = batches[0].schema();
        let order: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(order, ["added", "page"], "the order named");
        assert_eq!(
            batches[1].column(0).as_ref(),
            &Int64Array::from(vec![30]) as &dyn arrow_array::Array
        );

        let (asked, _) = read(&mut cache, "s1", &["page", "added"]);
        assert!(asked.is_empty(), "a repeated read asks for nothing");
    }

    #[test]
    fn columns_a_segment_lacks_are_remembered_and_rows_still_counted() {
        let mut cache = SegmentCache::default();
        let (asked, batches) = read(&mut cache, "s1", &["cityName"]);
        assert_eq!(asked, ["cityName", "__time"]);
        assert_eq!(
            batches
                .iter()
                .map(|b| (b.num_columns(), b.num_rows()))
                .collect::<Vec<_>>(),
            [(0, 2), (0, 1)]
        );
        let (asked, _) = read(&mut cache, "s1", &["cityName"]);
        assert!(asked.is_empty());
    }

    #[test]
    fn the_least_recently_used_columns_go_first_beyond_the_limit() {
        let mut cache = SegmentCache::with_limit(0);
        read(&mut cache, "s1", &["page"]);
        assert_eq!(cache.bytes(), 0, "nothing fits in nothing");
        assert_eq!(read(&mut cache, "s1", &["page"]).0, ["page", "__time"]);

        let mut cache = SegmentCache::default();
        read(&mut cache, "s1", &["page", "added"]);
        let all = cache.bytes();
        read(&mut cache, "s1", &["added", "__time"]);
        // Room for all but one of the three columns: page (least recently used) goes.
        cache.limit = all - 1;
        cache.evict();
        assert_eq!(
            read(&mut cache, "s1", &["added", "__time"]).0,
            Vec::<String>::new()
        );
        assert_eq!(cache.start("ds", "s1", &names(&["page"])).asked, ["page"]);
    }

    #[test]
    fn a_dictionary_shared_by_a_segments_batches_is_counted_once() {
        use arrow_array::types::Int32Type;
        use arrow_array::DictionaryArray;
        let values: ArrayRef =
            Arc::new(StringArray::from(vec!["x".repeat(1000), "y".repeat(1000)]));
        let keys = arrow_array::Int32Array::from(vec![0, 1, 1, 0]);
        let whole: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::clone(&values)).unwrap());
        let one = column_bytes(&[whole.slice(0, 2)]);
        let two = column_bytes(&[whole.slice(0, 2), whole.slice(2, 2)]);
        assert!(one >= 2000, "{one}");
        assert!(two < one + 100, "{one} then {two}");
    }

    #[test]
    fn a_read_keeps_what_it_started_with_when_another_read_evicts_it() {
        let mut cache = SegmentCache::default();
        read(&mut cache, "s1", &["page"]);
        let columns = names(&["page", "added"]);
        let pending = cache.start("ds", "s1", &columns);
        assert_eq!(pending.asked, ["added"]);
        // Meanwhile another read fills the cache and page is dropped.
        cache.limit = 0;
        cache.evict();
        assert_eq!(cache.bytes(), 0);
        let batches = cache
            .finish(
                "ds",
                "s1",
                &columns,
                pending,
                &file_cut_to(&names(&["added"])),
            )
            .unwrap();
        assert_eq!(batches[0].num_columns(), 2);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    }

    #[test]
    fn batches_that_disagree_with_the_known_ones_are_an_error() {
        let mut cache = SegmentCache::default();
        read(&mut cache, "s1", &["page"]);
        let asked = names(&["added"]);
        let pending = cache.start("ds", "s1", &asked);
        let wrong = file_cut_to(&asked)[..1].to_vec();
        let err = cache
            .finish("ds", "s1", &asked, pending, &wrong)
            .unwrap_err();
        assert!(
            err.message().contains("segment [s1] arrived as batches"),
            "{}",
            err.message()
        );
    }
}
