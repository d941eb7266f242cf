//! `OpfsSegmentStore` in a real browser's Origin Private File System
//! (`wasm-pack test --headless --chrome --test opfs`): publishes through msq-exec's `Publisher`,
//! re-opens fresh stores on the same root to see what is durable, simulates a crash before the
//! manifest, a REPLACE, a leftover `.tmp` manifest and a failing write. Every test uses its own
//! root and clears it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use msq_exec::segment::{manifest_path, segment_path, Overwrite, Publisher, SegmentStore};
use msq_wasm::opfs::{self, OpfsSegmentStore};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{fresh_root, pages, segments, DAY};

/// The OPFS directory of `root` (a `/`-separated path), created if missing.
async fn raw_dir(root: &str) -> web_sys::FileSystemDirectoryHandle {
    let storage = web_sys::window().unwrap().navigator().storage();
    let mut dir: web_sys::FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .unwrap()
        .unchecked_into();
    let options = web_sys::FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    for part in root.split('/') {
        dir = JsFuture::from(dir.get_directory_handle_with_options(part, &options))
            .await
            .unwrap()
            .unchecked_into();
    }
    dir
}

/// Writes a file directly into OPFS, bypassing the store (a crash's leftovers).
async fn raw_write(root: &str, dir: &str, name: &str, bytes: &[u8]) {
    let dir = raw_dir(&format!("{root}/{dir}")).await;
    let options = web_sys::FileSystemGetFileOptions::new();
    options.set_create(true);
    let file: web_sys::FileSystemFileHandle =
        JsFuture::from(dir.get_file_handle_with_options(name, &options))
            .await
            .unwrap()
            .unchecked_into();
    let stream: web_sys::FileSystemWritableFileStream = JsFuture::from(file.create_writable())
        .await
        .unwrap()
        .unchecked_into();
    JsFuture::from(stream.write_with_u8_array(bytes).unwrap())
        .await
        .unwrap();
    JsFuture::from(stream.close()).await.unwrap();
}

#[wasm_bindgen_test]
async fn opfs_is_available_in_chrome() {
    assert!(opfs::is_available().await);
}

#[wasm_bindgen_test]
async fn published_segments_and_manifest_survive_reopen() {
    let root = fresh_root("reopen").await;
    let store = OpfsSegmentStore::open(&root).await.unwrap();
    assert_eq!(store.list("").unwrap(), Vec::<String>::new());
    let mut publisher = Publisher::new(store.clone());
    publisher
        .publish_insert("wiki", segments("wiki", 0, "v1", &[1, 2, 3]))
        .unwrap();
    let manifest = publisher
        .publish_insert("wiki", segments("wiki", DAY, "v1", &[DAY + 1]))
        .unwrap();
    assert_eq!((manifest.version, manifest.segments.len()), (2, 3));
    assert!(
        store.pending_writes() > 0,
        "writes are queued, not yet applied"
    );
    store.flush().await.unwrap();
    assert_eq!(store.pending_writes(), 0);
    assert!(store.last_error().is_none());

    let reopened = OpfsSegmentStore::open(&root).await.unwrap();
    assert_eq!(reopened.list("").unwrap(), store.list("").unwrap());
    assert_eq!(
        reopened.list("").unwrap().len(),
        4,
        "three segment files and one manifest: {:?}",
        reopened.list("").unwrap()
    );
    for path in store.list("").unwrap() {
        assert_eq!(
            reopened.read(&path).await.unwrap(),
            store.read(&path).await.unwrap(),
            "{path}"
        );
    }
    let fresh = Publisher::new(reopened);
    assert_eq!(fresh.manifest("wiki").unwrap(), Some(manifest.clone()));
    for meta in &manifest.segments {
        assert!(fresh
            .store()
            .read(&segment_path(&meta.id))
            .await
            .unwrap()
            .is_some());
    }
    assert_eq!(
        pages(&fresh, "wiki").await,
        ["v1-1", "v1-2", "v1-3", "v1-86400001"]
    );
    opfs::clear(&root).await.unwrap();
}

#[wasm_bindgen_test]
async fn crash_before_publish_hides_the_datasource_and_gc_removes_orphans() {
    let root = fresh_root("crash").await;
    {
        let mut store = OpfsSegmentStore::open(&root).await.unwrap();
        // The publisher's step 1 only: segment files, then the "crash" (no manifest).
        for segment in segments("wiki", 0, "v1", &[1, 2, 3]) {
            store
                .put_segment(&segment_path(&segment.meta.id), segment.bytes.clone())
                .unwrap();
        }
        store.flush().await.unwrap();
    }
    // A leftover of an interrupted manifest write, too.
    raw_write(&root, "wiki", "manifest.json.tmp", b"{\"dataSou").await;

    let reopened = OpfsSegmentStore::open(&root).await.unwrap();
    let mut publisher = Publisher::new(reopened.clone());
    assert_eq!(publisher.manifest("wiki").unwrap(), None);
    assert!(pages(&publisher, "wiki").await.is_empty());
    let orphans = reopened.list("wiki/segments/").unwrap();
    assert_eq!(orphans.len(), 2, "orphans are listed: {orphans:?}");
    assert!(
        reopened
            .list("")
            .unwrap()
            .iter()
            .all(|p| !p.ends_with(".tmp")),
        "the .tmp manifest is not a store file"
    );
    let deleted = publisher.collect_garbage().unwrap();
    assert_eq!(deleted, orphans);
    reopened.flush().await.unwrap();

    let after = OpfsSegmentStore::open(&root).await.unwrap();
    assert_eq!(after.list("").unwrap(), Vec::<String>::new());
    // The .tmp was deleted from OPFS by the first re-open.
    let dir = raw_dir(&format!("{root}/wiki")).await;
    let tmp = JsFuture::from(dir.get_file_handle("manifest.json.tmp")).await;
    assert_eq!(
        js_sys::Reflect::get(&tmp.unwrap_err(), &"name".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("NotFoundError")
    );
    opfs::clear(&root).await.unwrap();
}

#[wasm_bindgen_test]
async fn replace_keeps_the_old_version_until_the_new_manifest_is_flushed() {
    let root = fresh_root("replace").await;
    let store = OpfsSegmentStore::open(&root).await.unwrap();
    let mut publisher = Publisher::new(store.clone());
    publisher
        .publish_insert("wiki", segments("wiki", 0, "v1", &[1, 2]))
        .unwrap();
    store.flush().await.unwrap();

    // New segment files are durable, the manifest is not written yet: readers see v1.
    let replacement = segments("wiki", 0, "v2", &[5, 6, 7]);
    for segment in &replacement {
        publisher
            .store_mut()
            .put_segment(&segment_path(&segment.meta.id), segment.bytes.clone())
            .unwrap();
    }
    store.flush().await.unwrap();
    let midway = Publisher::new(OpfsSegmentStore::open(&root).await.unwrap());
    assert_eq!(midway.manifest("wiki").unwrap().unwrap().version, 1);
    assert_eq!(pages(&midway, "wiki").await, ["v1-1", "v1-2"]);

    // The whole REPLACE (rewriting the same files, then the manifest): visible at once in
    // this store, durable after the flush.
    let v2 = publisher
        .publish_replace("wiki", &Overwrite::All, replacement)
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(pages(&publisher, "wiki").await, ["v2-5", "v2-6", "v2-7"]);
    store.flush().await.unwrap();

    let after = Publisher::new(OpfsSegmentStore::open(&root).await.unwrap());
    assert_eq!(after.manifest("wiki").unwrap(), Some(v2.clone()));
    assert_eq!(pages(&after, "wiki").await, ["v2-5", "v2-6", "v2-7"]);

    // The replaced v1 files are garbage now.
    let deleted = publisher.collect_garbage().unwrap();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(deleted[0].contains("v1"), "{deleted:?}");
    store.flush().await.unwrap();
    let last = OpfsSegmentStore::open(&root).await.unwrap();
    let mut expected: Vec<String> = v2.segments.iter().map(|m| segment_path(&m.id)).collect();
    expected.insert(0, manifest_path("wiki"));
    assert_eq!(last.list("wiki/").unwrap(), expected);
    opfs::clear(&root).await.unwrap();
}

#[wasm_bindgen_test]
async fn segment_files_are_read_back_from_opfs_and_cached_within_the_limit() {
    common::read_back_and_cache("cache").await;
}

#[wasm_bindgen_test]
async fn segment_files_written_by_stage_workers_are_adopted() {
    common::adopt_worker_files("adopt").await;
}

#[wasm_bindgen_test]
async fn invalid_paths_are_errors() {
    let root = fresh_root("paths").await;
    let mut store = OpfsSegmentStore::open(&root).await.unwrap();
    for bad in ["", "/a", "a/", "a//b", "a/../b", "./a", "a\\b"] {
        assert!(
            store.put_segment(bad, b"x".to_vec()).is_err(),
            "put [{bad}]"
        );
        assert!(store.get(bad).is_err(), "get [{bad}]");
        assert!(store.delete(bad).is_err(), "delete [{bad}]");
    }
    let reserved = store.put_segment("a/x.tmp", b"x".to_vec()).unwrap_err();
    assert!(reserved.to_string().contains("reserved"), "{reserved}");

    store.put_segment("a/b", b"file".to_vec()).unwrap();
    let under_file = store.put_segment("a/b/c", b"x".to_vec()).unwrap_err();
    assert!(under_file.to_string().contains("is a file"), "{under_file}");
    let over_dir = store.put_segment("a", b"x".to_vec()).unwrap_err();
    assert!(
        over_dir.to_string().contains("is a directory"),
        "{over_dir}"
    );
    assert_eq!(store.list("").unwrap(), ["a/b"]);
    store.flush().await.unwrap();
    store.delete("a/b").unwrap();
    store.delete("a/b").unwrap();
    store.flush().await.unwrap();
    assert_eq!(
        OpfsSegmentStore::open(&root)
            .await
            .unwrap()
            .list("")
            .unwrap(),
        Vec::<String>::new()
    );

    for bad_root in ["", "a/../b", "/abs"] {
        assert!(
            OpfsSegmentStore::open(bad_root).await.is_err(),
            "root [{bad_root}]"
        );
    }
    opfs::clear(&root).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_failed_write_is_reported_by_flush_and_refuses_later_writes() {
    let root = fresh_root("failure").await;
    let mut store = OpfsSegmentStore::open(&root).await.unwrap();
    // The root directory disappears under the store: its handle can no longer create files.
    opfs::clear(&root).await.unwrap();
    store
        .put_segment("wiki/segments/1.arrow", b"1".to_vec())
        .unwrap();
    store.put_manifest_atomic("wiki", b"{}").unwrap();
    let err = store.flush().await.unwrap_err();
    assert!(err.to_string().contains("OPFS"), "{err}");
    assert_eq!(store.last_error(), Some(err.clone()));
    assert_eq!(
        store.pending_writes(),
        0,
        "the rest of the journal is dropped"
    );
    assert!(store.flush().await.is_err(), "the failure is sticky");
    let refused = store
        .put_segment("wiki/segments/2.arrow", b"2".to_vec())
        .unwrap_err();
    assert!(refused.to_string().contains("refuses writes"), "{refused}");
    opfs::clear(&root).await.unwrap();
}
