//! Segments end to end: writing, publishing (INSERT / REPLACE), crash recovery and the
//! directory store (design README "Data"; spec `druid-msq.md` §1.1).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use msq_common::{ErrorCode, MsqError, Result};
use msq_exec::segment::store::{manifest_path, segment_path};
#[cfg(not(target_arch = "wasm32"))]
use msq_exec::segment::DirSegmentStore;
use msq_exec::segment::{
    decode_segment, MemorySegmentStore, Overwrite, Publisher, Segment, SegmentStore, SegmentWriter,
    SEGMENT_BATCH_ROWS,
};

const DAY: i64 = 86_400_000;
/// 2016-06-27T00:00:00.000Z, the day of Druid's wikipedia sample.
const D0: i64 = 1_466_985_600_000;

/// `n` rows in day `day` (from D0), pages cycling through `pages`.
fn rows(day: i64, n: usize, pages: &[&str]) -> RecordBatch {
    let start = D0 + day * DAY;
    let times: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..n as i64).map(|i| start + i),
    ));
    let page: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| pages[i % pages.len()]),
    ));
    let added: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
    RecordBatch::try_from_iter([("__time", times), ("page", page), ("added", added)]).unwrap()
}

fn write_day(day: i64, version: &str, n: usize, rows_per_segment: usize) -> Vec<Segment> {
    SegmentWriter::new(
        "wiki",
        D0 + day * DAY,
        D0 + (day + 1) * DAY,
        version,
        rows_per_segment,
    )
    .unwrap()
    .write(&[rows(day, n, &["Main", "Talk", "User"])])
    .unwrap()
}

fn times(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_primitive::<arrow_array::types::Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn days(batches: &[RecordBatch]) -> Vec<i64> {
    let mut d: Vec<i64> = times(batches).iter().map(|t| (t - D0) / DAY).collect();
    d.dedup();
    d
}

#[test]
fn round_trip_keeps_dictionary_columns() {
    let mut publisher = Publisher::new(MemorySegmentStore::new());
    publisher
        .publish_insert("wiki", write_day(0, "v1", 10, 100))
        .unwrap();
    let back = publisher.read_datasource("wiki").unwrap();
    assert_eq!(back.len(), 1);
    let page = back[0].column(1);
    assert_eq!(
        page.data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    let dict = page.as_dictionary::<Int32Type>();
    assert_eq!(dict.values().len(), 3);
    let decoded: Vec<&str> = dict
        .keys()
        .iter()
        .map(|k| dict.values().as_string::<i32>().value(k.unwrap() as usize))
        .collect();
    assert_eq!(&decoded[..4], ["Main", "Talk", "User", "Main"]);
    assert_eq!(times(&back), (0..10).map(|i| D0 + i).collect::<Vec<_>>());
}

#[test]
fn splits_at_rows_per_segment() {
    let segments = write_day(0, "v1", 25, 10);
    assert_eq!(
        segments.iter().map(|s| s.meta.num_rows).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert_eq!(
        segments[2].meta.id.to_string(),
        "wiki_2016-06-27T00:00:00.000Z_2016-06-28T00:00:00.000Z_v1_2"
    );
    let mut publisher = Publisher::new(MemorySegmentStore::new());
    let manifest = publisher.publish_insert("wiki", segments).unwrap();
    assert_eq!(manifest.segments.len(), 3);
    assert_eq!(times(&publisher.read_datasource("wiki").unwrap()).len(), 25);
}

#[test]
fn small_input_batches_are_stored_as_few_large_ones() {
    // 100,000 rows arriving as 50 frames of 2,000: stored as record batches of
    // SEGMENT_BATCH_ROWS, then the rest.
    let all = rows(0, 100_000, &["Main", "Talk", "User"]);
    let frames: Vec<RecordBatch> = (0..50).map(|i| all.slice(i * 2_000, 2_000)).collect();
    let segments = SegmentWriter::new("wiki", D0, D0 + DAY, "v1", 1_000_000)
        .unwrap()
        .write(&frames)
        .unwrap();
    assert_eq!(segments.len(), 1);
    let batches = decode_segment(&segments[0].bytes).unwrap();
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, [SEGMENT_BATCH_ROWS, 100_000 - SEGMENT_BATCH_ROWS]);
    assert_eq!(times(&batches), times(&[all]));
    // The pages share one dictionary across the batches (the very same values, which the
    // aggregation's dictionary memo relies on).
    let dictionary = |b: &RecordBatch| b.column(1).as_dictionary::<Int32Type>().values().to_data();
    assert_eq!(dictionary(&batches[0]).len(), 3);
    assert!(dictionary(&batches[0]).ptr_eq(&dictionary(&batches[1])));
}

/// The publish rules against any store; returns the store for more checks.
fn publish_rules<S: SegmentStore>(store: S) -> S {
    let mut p = Publisher::new(store);
    assert_eq!(p.manifest("wiki").unwrap(), None);
    assert!(p.read_datasource("wiki").unwrap().is_empty());

    // INSERT appends.
    let m = p
        .publish_insert("wiki", write_day(0, "v1", 5, 100))
        .unwrap();
    assert_eq!(m.version, 1);
    let m = p
        .publish_insert("wiki", write_day(1, "v1", 5, 100))
        .unwrap();
    assert_eq!((m.version, m.segments.len()), (2, 2));
    let more = SegmentWriter::new("wiki", D0, D0 + DAY, "v1", 100)
        .unwrap()
        .with_first_partition_num(1)
        .write(&[rows(0, 3, &["Extra"])])
        .unwrap();
    let m = p.publish_insert("wiki", more).unwrap();
    assert_eq!(m.segments.len(), 3);
    assert_eq!(times(&p.read_datasource("wiki").unwrap()).len(), 13);

    // Publishing an id twice is refused and changes nothing.
    let err = p
        .publish_insert("wiki", write_day(0, "v1", 1, 100))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownError);
    assert_eq!(p.manifest("wiki").unwrap().unwrap().version, 3);

    // REPLACE of one day leaves the other day.
    let m = p
        .publish_replace(
            "wiki",
            &Overwrite::Intervals(vec![(D0, D0 + DAY)]),
            write_day(0, "v2", 2, 100),
        )
        .unwrap();
    assert_eq!((m.version, m.segments.len()), (4, 2));
    let back = p.read_datasource("wiki").unwrap();
    assert_eq!(days(&back), [0, 1]);
    assert_eq!(times(&back).len(), 2 + 5);

    // A REPLACE interval cutting a segment is refused; so is a new segment outside it.
    let err = p
        .publish_replace(
            "wiki",
            &Overwrite::Intervals(vec![(D0, D0 + DAY / 2)]),
            Vec::new(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::QueryNotSupported);
    assert!(err.message().contains("Cannot replace existing segment"));
    let err = p
        .publish_replace(
            "wiki",
            &Overwrite::Intervals(vec![(D0, D0 + DAY)]),
            write_day(1, "v3", 1, 100),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsertTimeOutOfBounds);
    assert_eq!(p.manifest("wiki").unwrap().unwrap().version, 4);

    // REPLACE OVERWRITE ALL replaces everything.
    let m = p
        .publish_replace("wiki", &Overwrite::All, write_day(5, "v3", 4, 100))
        .unwrap();
    assert_eq!((m.version, m.segments.len()), (5, 1));
    assert_eq!(days(&p.read_datasource("wiki").unwrap()), [5]);

    // Files of replaced versions are garbage now; the current ones survive.
    let deleted = p.collect_garbage().unwrap();
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert_eq!(times(&p.read_datasource("wiki").unwrap()).len(), 4);
    assert!(p.collect_garbage().unwrap().is_empty());
    p.into_store()
}

#[test]
fn insert_appends_and_replace_swaps_time_chunks() {
    let store = publish_rules(MemorySegmentStore::new());
    assert_eq!(
        store.list("").unwrap(),
        [
            manifest_path("wiki"),
            segment_path(&write_day(5, "v3", 4, 100)[0].meta.id)
        ]
    );
}

#[test]
fn segments_written_ahead_publish_with_only_a_manifest() {
    let mut p = Publisher::new(MemorySegmentStore::new());
    p.publish_insert("wiki", write_day(1, "v1", 3, 100))
        .unwrap();
    // Written ahead: files only, nothing visible, garbage unless spared.
    let ahead: Vec<_> = (write_day(2, "v2", 4, 2).into_iter())
        .map(|s| p.write_segment(s).unwrap())
        .collect();
    assert_eq!(p.store().list("wiki/segments/").unwrap().len(), 1 + 2);
    assert_eq!(days(&p.read_datasource("wiki").unwrap()), [1]);
    let spared: Vec<String> = ahead.iter().map(|m| segment_path(&m.id)).collect();
    assert!(p
        .collect_garbage_sparing(|path| spared.iter().any(|s| s == path))
        .unwrap()
        .is_empty());
    // The commit writes the manifest alone, under the same rules as a publish.
    let m = p
        .commit_replace(
            "wiki",
            &Overwrite::Intervals(vec![(D0, D0 + 2 * DAY)]),
            ahead.clone(),
        )
        .unwrap_err();
    assert_eq!(m.code(), ErrorCode::InsertTimeOutOfBounds, "{m}");
    let m = p.commit_insert("wiki", ahead.clone()).unwrap();
    assert_eq!((m.version, m.segments.len()), (2, 3));
    assert_eq!(days(&p.read_datasource("wiki").unwrap()), [1, 2]);
    assert_eq!(times(&p.read_datasource("wiki").unwrap()).len(), 3 + 4);
    assert!(p.collect_garbage().unwrap().is_empty());
    let again = p.commit_insert("wiki", ahead).unwrap_err();
    assert!(again.message().contains("already published"), "{again}");
}

#[test]
fn a_memory_store_lends_its_bytes_without_copying() {
    let mut store = MemorySegmentStore::new();
    let segment = write_day(1, "v1", 3, 100).remove(0);
    let path = segment_path(&segment.meta.id);
    store.put_segment(&path, segment.bytes.clone()).unwrap();
    let (a, b) = (
        store.get_shared(&path).unwrap().unwrap(),
        store.get_shared(&path).unwrap().unwrap(),
    );
    assert_eq!(a.as_ptr(), b.as_ptr(), "one allocation, lent twice");
    assert_eq!(a.as_slice(), segment.bytes.as_slice());
    assert_eq!(store.get(&path).unwrap().unwrap(), segment.bytes);
    assert!(store
        .get_shared("wiki/segments/none.arrow")
        .unwrap()
        .is_none());
    assert!(store.get_shared("../x").is_err());
}

/// A store whose manifest swap fails, as a crash between the two publish steps would.
struct CrashBeforeManifest(MemorySegmentStore);

impl SegmentStore for CrashBeforeManifest {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
        self.0.put_segment(path, bytes)
    }
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.0.get(path)
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.0.list(prefix)
    }
    fn delete(&mut self, path: &str) -> Result<()> {
        self.0.delete(path)
    }
    fn put_manifest_atomic(&mut self, _: &str, _: &[u8]) -> Result<()> {
        Err(MsqError::canceled("tab closed"))
    }
}

#[test]
fn a_crash_before_the_manifest_leaves_the_previous_version() {
    let mut p = Publisher::new(MemorySegmentStore::new());
    p.publish_insert("wiki", write_day(0, "v1", 5, 2)).unwrap();
    let before = p.read_datasource("wiki").unwrap();

    // The task writes its segments, then dies before swapping the manifest.
    let mut crashing = Publisher::new(CrashBeforeManifest(p.into_store()));
    let err = crashing
        .publish_replace("wiki", &Overwrite::All, write_day(1, "v2", 7, 2))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Canceled);
    // A first publish of another datasource dies too: it has segments but no manifest.
    assert!(crashing
        .publish_insert(
            "other",
            SegmentWriter::new("other", 0, DAY, "v1", 10)
                .unwrap()
                .write(&[RecordBatch::try_from_iter([(
                    "__time",
                    Arc::new(Int64Array::from(vec![1])) as ArrayRef
                )])
                .unwrap()])
                .unwrap()
        )
        .is_err());
    let store = crashing.into_store().0;
    assert_eq!(store.list("wiki/segments/").unwrap().len(), 3 + 4);

    // Restart: the previous version is what readers see, and the orphans get collected.
    let mut p = Publisher::new(store);
    assert_eq!(p.manifest("wiki").unwrap().unwrap().version, 1);
    assert_eq!(p.read_datasource("wiki").unwrap(), before);
    assert_eq!(p.manifest("other").unwrap(), None);
    let deleted = p.collect_garbage().unwrap();
    assert_eq!(deleted.len(), 4 + 1, "{deleted:?}");
    assert!(p.store().list("other/").unwrap().is_empty());
    assert_eq!(p.store().list("wiki/segments/").unwrap().len(), 3);
    assert_eq!(p.read_datasource("wiki").unwrap(), before);

    // A later task with the same segment ids publishes cleanly.
    let m = p
        .publish_replace("wiki", &Overwrite::All, write_day(1, "v2", 7, 2))
        .unwrap();
    assert_eq!(m.version, 2);
    assert_eq!(days(&p.read_datasource("wiki").unwrap()), [1]);
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn dir_store_behaves_like_the_memory_store() {
    let root = std::env::temp_dir().join(format!(
        "acorn-segments-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let outcome = std::panic::catch_unwind(|| {
        let store = publish_rules(DirSegmentStore::open(&root).unwrap());
        let memory = publish_rules(MemorySegmentStore::new());
        assert_eq!(store.list("").unwrap(), memory.list("").unwrap());
        for path in memory.list("").unwrap() {
            assert_eq!(store.get(&path).unwrap(), memory.get(&path).unwrap());
        }

        // A stale temporary manifest from a crash is neither listed nor kept.
        let tmp = root.join("wiki").join("manifest.json.tmp");
        std::fs::write(&tmp, b"{half").unwrap();
        assert!(!store.list("").unwrap().iter().any(|p| p.ends_with(".tmp")));
        let reopened = Publisher::new(DirSegmentStore::open(&root).unwrap());
        assert!(!tmp.exists());
        assert_eq!(times(&reopened.read_datasource("wiki").unwrap()).len(), 4);
        assert_eq!(reopened.store().get("wiki/nope.arrow").unwrap(), None);
        assert!(reopened.store().get("../escape").is_err());
    });
    std::fs::remove_dir_all(&root).unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
