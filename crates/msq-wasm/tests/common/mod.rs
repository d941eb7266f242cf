//! What the OPFS tests share: fixtures, and the read-back case that runs both on the main
//! thread (`tests/opfs.rs`) and in a dedicated worker (`tests/opfs_worker.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use msq_exec::segment::{
    decode_segment, decode_segment_columns, manifest_path, segment_path, Publisher, Segment,
    SegmentStore, SegmentWriter,
};
use msq_wasm::opfs::{self, OpfsSegmentStore};

pub const DAY: i64 = 86_400_000;

/// A root of its own for one test run, cleared first.
pub async fn fresh_root(test: &str) -> String {
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    let root = format!("acorn-tests/{test}-{nonce}");
    opfs::clear(&root).await.unwrap();
    root
}

/// Segments of `data_source` for the day starting at `start`, one row per time in `times`.
pub fn segments(data_source: &str, start: i64, version: &str, times: &[i64]) -> Vec<Segment> {
    let names: Vec<String> = times.iter().map(|t| format!("{version}-{t}")).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "__time",
            Arc::new(Int64Array::from(times.to_vec())) as ArrayRef,
        ),
        ("page", Arc::new(StringArray::from(names)) as ArrayRef),
    ])
    .unwrap();
    SegmentWriter::new(data_source, start, start + DAY, version, 2)
        .unwrap()
        .write(&[batch])
        .unwrap()
}

/// The `page` values of the current version of `data_source`, its segment files read the way
/// a query reads them (`SegmentStore::read`: from OPFS when not in memory).
pub async fn pages(publisher: &Publisher<OpfsSegmentStore>, data_source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for meta in publisher
        .manifest(data_source)
        .unwrap()
        .iter()
        .flat_map(|m| &m.segments)
    {
        let path = segment_path(&meta.id);
        let bytes = publisher.store().read(&path).await.unwrap().expect(&path);
        for batch in decode_segment(&bytes).unwrap() {
            out.extend(arrow_cast_to_strings(batch.column_by_name("page").unwrap()));
        }
    }
    out.sort();
    out
}

pub fn arrow_cast_to_strings(column: &ArrayRef) -> Vec<String> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    if let Some(dict) = column.as_dictionary_opt::<Int32Type>() {
        let values = dict.values().as_string::<i32>();
        dict.keys()
            .iter()
            .map(|k| values.value(k.unwrap() as usize).to_owned())
            .collect()
    } else {
        column
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap().to_owned())
            .collect()
    }
}

/// Segment files are read back from OPFS and cached within the store's limit; `test` names
/// the store's root. Run on the main thread (`Blob` reads) and in a dedicated worker
/// (synchronous access handles).
pub async fn read_back_and_cache(test: &str) {
    let root = fresh_root(test).await;
    let store = OpfsSegmentStore::open(&root).await.unwrap();
    let mut publisher = Publisher::new(store.clone());
    let manifest = publisher
        .publish_insert("wiki", segments("wiki", 0, "v1", &[1, 2, 3]))
        .unwrap();
    let paths: Vec<String> = manifest
        .segments
        .iter()
        .map(|m| segment_path(&m.id))
        .collect();
    let sizes: Vec<usize> = paths
        .iter()
        .map(|p| store.get_shared(p).unwrap().unwrap().len())
        .collect();
    let originals: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| store.get(p).unwrap().unwrap())
        .collect();
    assert_eq!(paths.len(), 2);
    assert_eq!(store.cached_bytes(), 0, "files being written are not cache");
    store.flush().await.unwrap();
    assert_eq!(
        store.cached_bytes(),
        sizes.iter().sum::<usize>(),
        "durable files are"
    );

    // With no room, durable segment files live on disk only: `get_shared` says so, `read`
    // fetches them (and keeps nothing), manifests stay in memory.
    store.set_cache_bytes(0);
    assert_eq!(store.cached_bytes(), 0);
    let err = store.get_shared(&paths[0]).unwrap_err();
    assert!(err.to_string().contains("on disk only"), "{err}");
    assert!(store.get(&manifest_path("wiki")).unwrap().is_some());
    for (path, original) in paths.iter().zip(&originals) {
        let read = store.read(path).await.unwrap().expect(path);
        assert_eq!(read.as_slice(), original.as_slice(), "{path}");
    }
    assert_eq!(store.cached_bytes(), 0);
    assert_eq!(pages(&publisher, "wiki").await, ["v1-1", "v1-2", "v1-3"]);

    // Room for one file: the most recently read one stays.
    store.set_cache_bytes(sizes[0].max(sizes[1]));
    store.read(&paths[0]).await.unwrap().unwrap();
    assert_eq!(store.cached_bytes(), sizes[0]);
    assert_eq!(store.get(&paths[0]).unwrap().as_ref(), Some(&originals[0]));
    store.read(&paths[1]).await.unwrap().unwrap();
    assert_eq!(store.cached_bytes(), sizes[1]);
    assert!(store.get_shared(&paths[0]).is_err(), "evicted");
    assert_eq!(store.get(&paths[1]).unwrap().as_ref(), Some(&originals[1]));

    // A file deleted before its read completes reads as missing; so does a deleted file.
    let reading = store.read(&paths[0]);
    publisher.store_mut().delete(&paths[0]).unwrap();
    assert_eq!(reading.await.unwrap(), None);
    assert_eq!(store.read(&paths[0]).await.unwrap(), None);
    store.flush().await.unwrap();

    // A re-opened store reads only the manifest up front.
    let reopened = OpfsSegmentStore::open(&root).await.unwrap();
    assert_eq!(reopened.cached_bytes(), 0);
    assert!(reopened.get_shared(&paths[1]).is_err());
    assert_eq!(
        reopened.read(&paths[1]).await.unwrap().unwrap().as_slice(),
        originals[1].as_slice()
    );
    assert_eq!(reopened.cached_bytes(), sizes[1]);
    assert_eq!(
        reopened.list("").unwrap(),
        [manifest_path("wiki"), paths[1].clone()]
    );
    opfs::clear(&root).await.unwrap();
}

/// Segment files a stage worker wrote itself (`opfs::write_worker_segment`) are not listed
/// until the store adopts them; adopted, they publish, read (waiting for the journal's rename;
/// and by workers themselves, `opfs::read_worker_segment_columns`) and survive a re-open under their
/// segment paths, with no worker file left. Adopting a file
/// no worker wrote fails the journal, naming it. `test` names the store's root.
pub async fn adopt_worker_files(test: &str) {
    let root = fresh_root(test).await;
    let store = OpfsSegmentStore::open(&root).await.unwrap();
    let mut written = Vec::new();
    for (worker, mut segment) in segments("wiki", 0, "v1", &[1, 2, 3])
        .into_iter()
        .enumerate()
    {
        let file = format!("{}.w{worker}", segment_path(&segment.meta.id));
        opfs::write_worker_segment(&root, &file, &segment.bytes)
            .await
            .unwrap();
        segment.bytes = Vec::new();
        segment.file = Some(file);
        written.push(segment);
    }
    assert_eq!(store.list("").unwrap(), Vec::<String>::new());

    let mut publisher = Publisher::new(store.clone());
    let metas: Vec<_> = written
        .into_iter()
        .map(|segment| publisher.write_segment(segment).unwrap())
        .collect();
    let mut expected: Vec<String> = metas.iter().map(|m| segment_path(&m.id)).collect();
    publisher.commit_insert("wiki", metas).unwrap();
    assert_eq!(pages(&publisher, "wiki").await, ["v1-1", "v1-2", "v1-3"]);
    store.flush().await.unwrap();

    // Stage workers read the columns they need of published files themselves; a file not
    // (yet) there is `None`.
    let page = vec!["page".to_owned()];
    for path in &expected {
        let own = opfs::read_worker_segment_columns(&root, path, &page)
            .await
            .unwrap()
            .unwrap();
        let file = store.read(path).await.unwrap().unwrap();
        let names = std::collections::HashSet::from(["page"]);
        let whole = decode_segment_columns(&file, Some(&names)).unwrap();
        assert_eq!(own, whole, "{path}");
        assert_eq!(own[0].num_columns(), 1);
    }
    for absent in [
        "wiki/segments/absent.arrow",
        "nowhere/segments/absent.arrow",
    ] {
        let read = opfs::read_worker_segment_columns(&root, absent, &page).await;
        assert_eq!(read.unwrap(), None, "{absent}");
    }

    let reopened = OpfsSegmentStore::open(&root).await.unwrap();
    expected.insert(0, manifest_path("wiki"));
    assert_eq!(reopened.list("").unwrap(), expected);
    assert_eq!(
        pages(&Publisher::new(reopened.clone()), "wiki").await,
        ["v1-1", "v1-2", "v1-3"]
    );

    let mut broken = reopened.clone();
    broken
        .adopt_segment("wiki/segments/none.arrow.w9", "wiki/segments/none.arrow")
        .unwrap();
    let err = broken.flush().await.unwrap_err();
    assert!(err.to_string().contains("none.arrow.w9"), "{err}");
    opfs::clear(&root).await.unwrap();
}
