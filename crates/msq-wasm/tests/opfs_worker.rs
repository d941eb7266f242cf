//! `OpfsSegmentStore` inside a dedicated worker, where the engine runs and where it reads and
//! writes segment files through synchronous access handles
//! (`wasm-pack test --headless --chrome --test opfs_worker`).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use wasm_bindgen_test::*;

mod common;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn segment_files_are_read_back_through_sync_access_handles_and_cached() {
    common::read_back_and_cache("cache-worker").await;
}

#[wasm_bindgen_test]
async fn segment_files_written_by_stage_workers_are_adopted_with_sync_access_handles() {
    common::adopt_worker_files("adopt-worker").await;
}

/// A synchronous access handle on the file at `path` below the store root `root`, as a stage
/// worker holds one while it reads a segment.
async fn hold(root: &str, path: &str) -> web_sys::FileSystemSyncAccessHandle {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let mut dir: web_sys::FileSystemDirectoryHandle =
        JsFuture::from(scope.navigator().storage().get_directory())
            .await
            .unwrap()
            .unchecked_into();
    let (dirs, name) = path.rsplit_once('/').unwrap();
    for part in root.split('/').chain(dirs.split('/')) {
        dir = JsFuture::from(dir.get_directory_handle(part))
            .await
            .unwrap()
            .unchecked_into();
    }
    let file: web_sys::FileSystemFileHandle = JsFuture::from(dir.get_file_handle(name))
        .await
        .unwrap()
        .unchecked_into();
    JsFuture::from(file.create_sync_access_handle())
        .await
        .unwrap()
        .unchecked_into()
}

/// Deleting a file a stage worker is reading (a REPLACE's garbage while a query still scans the
/// old segments) waits for the reader to let go instead of failing the store's journal.
#[wasm_bindgen_test]
async fn a_delete_waits_for_a_worker_reading_the_file() {
    use msq_exec::segment::SegmentStore;
    use msq_wasm::opfs::{self, OpfsSegmentStore};
    let root = common::fresh_root("locked").await;
    let mut store = OpfsSegmentStore::open(&root).await.unwrap();
    let path = "wiki/segments/a.arrow";
    store.put_segment(path, vec![1, 2, 3]).unwrap();
    store.flush().await.unwrap();

    let reader = hold(&root, path).await;
    store.delete(path).unwrap();
    let release = async {
        gloo::timers::future::TimeoutFuture::new(60).await;
        reader.close();
    };
    let (flushed, ()) = futures::join!(store.flush(), release);
    flushed.unwrap();
    let reopened = OpfsSegmentStore::open(&root).await.unwrap();
    assert_eq!(reopened.list("").unwrap(), Vec::<String>::new());
    opfs::clear(&root).await.unwrap();
}
