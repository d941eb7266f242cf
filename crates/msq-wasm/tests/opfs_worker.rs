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

/// A stage worker's scratch file: frames spilled to it come back, and once none is needed
/// the file is emptied; files of workers that are gone are cleared, a live one's is not.
#[wasm_bindgen_test]
async fn a_stage_workers_scratch_file_gives_back_what_was_spilled() {
    use msq_runtime::spill::FrameSpill;
    use msq_wasm::scratch::{clear_scratch, OpfsFrameSpill};
    let spill = OpfsFrameSpill::create(7).await.unwrap().unwrap();
    assert!(spill.path().starts_with("acorn-scratch/host-7-"));
    let frames: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 1000 + i as usize]).collect();
    let ranges: Vec<_> = frames.iter().map(|f| spill.write(f).unwrap()).collect();
    assert_eq!(spill.size().unwrap(), 3003);
    for (range, frame) in ranges.iter().zip(&frames).rev() {
        assert_eq!(&spill.read(*range).unwrap(), frame);
    }
    spill.release(ranges[0]);
    spill.release(ranges[1]);
    assert_eq!((spill.live(), spill.size().unwrap()), (1, 3003));
    spill.release(ranges[2]);
    assert_eq!((spill.live(), spill.size().unwrap()), (0, 0));
    // The space starts over from the beginning.
    assert_eq!(spill.write(&[9; 10]).unwrap().offset, 0);

    // Clearing cannot remove a file a live worker holds; once it is let go, it can.
    drop(OpfsFrameSpill::create(8).await.unwrap().unwrap());
    assert_eq!(scratch_names().await.len(), 2);
    clear_scratch().await;
    assert_eq!(
        spill.read(spill.write(&[5; 4]).unwrap()).unwrap(),
        vec![5; 4]
    );
    drop(spill);
    clear_scratch().await;
    let listed = scratch_names().await;
    assert!(listed.is_empty(), "{listed:?}");
}

/// The names in the scratch directory (none when it is gone).
async fn scratch_names() -> Vec<String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let root: web_sys::FileSystemDirectoryHandle =
        JsFuture::from(scope.navigator().storage().get_directory())
            .await
            .unwrap()
            .unchecked_into();
    let Ok(dir) = JsFuture::from(root.get_directory_handle(msq_wasm::scratch::SCRATCH_DIR)).await
    else {
        return Vec::new();
    };
    let dir: web_sys::FileSystemDirectoryHandle = dir.unchecked_into();
    let keys = dir.keys();
    let mut names = Vec::new();
    loop {
        let next = JsFuture::from(keys.next().unwrap()).await.unwrap();
        if js_sys::Reflect::get(&next, &"done".into())
            .unwrap()
            .is_truthy()
        {
            return names;
        }
        let value = js_sys::Reflect::get(&next, &"value".into()).unwrap();
        names.push(value.as_string().unwrap());
    }
}

/// A stage worker's segment file, written as its encoder hands over pieces (some tiny, some
/// over `SEGMENT_WRITE_BYTES`), holds exactly those bytes once finished; one dropped
/// unfinished (a failed ingest) lets go of its file.
#[wasm_bindgen_test]
async fn a_segment_file_written_in_pieces_holds_them_all_in_order() {
    use msq_wasm::opfs::{SegmentFileWriter, SEGMENT_WRITE_BYTES};
    use std::io::Write;
    let root = common::fresh_root("pieces").await;
    let path = "wiki/segments/piece.arrow.w0";
    let bytes: Vec<u8> = (0..5 * SEGMENT_WRITE_BYTES / 2 + 7)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let mut file = SegmentFileWriter::open(&root, path).await.unwrap();
    let mut at = 0_usize;
    for size in [10, SEGMENT_WRITE_BYTES + 3, 500_000, 1, usize::MAX] {
        let end = bytes.len().min(at.saturating_add(size));
        file.write_all(&bytes[at..end]).unwrap();
        at = end;
    }
    file.finish().await.unwrap();
    let handle = hold(&root, path).await;
    let mut back = vec![0; handle.get_size().unwrap() as usize];
    handle.read_with_u8_array(&mut back).unwrap();
    handle.close();
    assert!(
        back == bytes,
        "{} bytes back of {}",
        back.len(),
        bytes.len()
    );

    // Rewritten from the start, then dropped half-way: the handle is closed, so the file can
    // be opened again.
    let mut file = SegmentFileWriter::open(&root, path).await.unwrap();
    file.write_all(&bytes[..SEGMENT_WRITE_BYTES * 2]).unwrap();
    drop(file);
    let handle = hold(&root, path).await;
    assert_eq!(handle.get_size().unwrap() as usize, SEGMENT_WRITE_BYTES * 2);
    handle.close();
    msq_wasm::opfs::clear(&root).await.unwrap();
}
