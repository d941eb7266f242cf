//! `OpfsSegmentStore` inside a dedicated worker, where the engine runs and where it reads and
//! writes segment files through synchronous access handles
//! (`wasm-pack test --headless --chrome --test opfs_worker`).
#![cfg(target_arch = "wasm32")]

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
