//! The engine's stage-host pool (`msq_wasm::hosts`) in a real browser, with JS stand-ins for
//! the worker binary (the real one is covered end to end, where trunk has built it): the setup
//! message reaches each worker after its hello with its number and one port per peer, pings are
//! answered, and a worker that cannot start fails what waits on it — and, failing again and
//! again, stops being restarted.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use gloo::timers::future::TimeoutFuture;
use js_sys::Array;
use msq_common::ErrorCode;
use msq_exec::segment::MemorySegmentStore;
use msq_runtime::store::SharedStore;
use msq_wasm::hosts::{WebWorkerHosts, MAX_FAILED_STARTS};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn blob_url(js: &str) -> String {
    let parts = Array::of1(&JsValue::from_str(js));
    let blob = web_sys::Blob::new_with_str_sequence(&parts).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

fn store() -> SharedStore {
    SharedStore::new(MemorySegmentStore::new())
}

#[wasm_bindgen_test]
async fn hosts_are_set_up_after_their_hello_and_answer_pings() {
    // Answers a ping with its number and, as shuffleBytes, how many peer ports it was given.
    let js = r#"
      let me = null, peers = 0;
      onmessage = (e) => {
        const d = e.data;
        if (d.acornHost) { me = d.acornHost.number; peers = d.ports.filter((p) => p).length; return; }
        const m = JSON.parse(d.acornRemote);
        if (m.type === 'ping') postMessage({ acornRemote: JSON.stringify({ type: 'pong', request: m.request,
          vitals: { number: me, memoryBytes: 1114112, shuffleBytes: peers, runningWorkOrders: 0,
                    workOrdersRun: 0, runningTasks: [] } }), frames: [] });
      };
      setTimeout(() => postMessage({ envelope: { id: 1, message: { type: 'hello' } } }), 50);
    "#;
    let hosts = WebWorkerHosts::start(&blob_url(js), 3, store(), None).unwrap();
    let vitals = hosts.vitals().await;
    assert_eq!(vitals.len(), 3);
    for (n, v) in vitals.into_iter().enumerate() {
        let v = v.unwrap();
        assert_eq!(v.number, n as u32, "each worker got its own number");
        assert_eq!(v.shuffle_bytes, 2, "and a port to each of its two peers");
        assert_eq!(v.memory_bytes, 1_114_112);
    }
}

#[wasm_bindgen_test]
async fn a_worker_that_cannot_start_fails_what_waits_and_is_not_restarted_forever() {
    let hosts = WebWorkerHosts::start(
        &blob_url("throw new Error('boom at startup');"),
        2,
        store(),
        None,
    )
    .unwrap();
    let first = hosts.vitals().await;
    let err = first[0].as_ref().unwrap_err();
    assert_eq!(err.code(), ErrorCode::WorkerFailed);
    assert!(
        err.message().contains("boom at startup"),
        "{}",
        err.message()
    );

    let mut last = String::new();
    for _ in 0..100 {
        let vitals = hosts.vitals().await;
        last = vitals[0].as_ref().unwrap_err().message().to_owned();
        if last.contains("not restarted") {
            break;
        }
        TimeoutFuture::new(50).await;
    }
    assert!(
        last.contains(&format!("failed {MAX_FAILED_STARTS} times in a row")),
        "{last}"
    );
    assert!(last.contains("boom at startup"), "{last}");
}

#[wasm_bindgen_test]
async fn a_panic_fault_fails_what_waits_with_its_message() {
    let js = "postMessage({envelope: {id: 0, message: {type: 'fault', errorCode: 'WorkerFailed', \
              errorMessage: 'worker panicked: index out of bounds'}}});";
    let hosts = WebWorkerHosts::start(&blob_url(js), 1, store(), None).unwrap();
    let vitals = hosts.vitals().await;
    let err = vitals[0].as_ref().unwrap_err();
    assert!(
        err.message()
            .contains("worker panicked: index out of bounds"),
        "{}",
        err.message()
    );
}
