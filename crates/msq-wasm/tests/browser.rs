//! msq-wasm in a real browser (`wasm-pack test --headless --chrome`): the codec's transfer
//! semantics and the pool's failure reporting. The happy path with the real worker binary is
//! covered end to end (tests/e2e), where trunk has built it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use gloo::timers::future::TimeoutFuture;
use js_sys::Array;
use msq_protocol::to_worker::{Digest, Ping};
use msq_protocol::{Packet, ToWorker};
use msq_wasm::codec::{decode, encode, peek_id};
use msq_wasm::pool::{PoolSnapshot, WorkerPool, WorkerState};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn codec_round_trips_envelope_and_frame() {
    let packet = Packet::new(42, ToWorker::Digest(Digest {})).with_frame(vec![1, 2, 3, 255]);
    let encoded = encode(&packet).unwrap();
    assert_eq!(
        encoded.transfer.length(),
        1,
        "the frame's buffer is in the transfer list"
    );
    assert_eq!(peek_id(&encoded.message), Some(42));
    let back = decode::<ToWorker>(&encoded.message).unwrap();
    assert_eq!(back, packet);
}

#[wasm_bindgen_test]
fn codec_without_frame_transfers_nothing() {
    let encoded = encode(&Packet::new(1, ToWorker::Ping(Ping {}))).unwrap();
    assert_eq!(encoded.transfer.length(), 0);
    assert_eq!(decode::<ToWorker>(&encoded.message).unwrap().frame, None);
}

#[wasm_bindgen_test]
fn transferred_frames_are_moved_not_copied() {
    let packet = Packet::new(2, ToWorker::Digest(Digest {})).with_frame(vec![7; 1024]);
    let encoded = encode(&packet).unwrap();
    let buffer: js_sys::ArrayBuffer = encoded.transfer.get(0).into();
    assert_eq!(buffer.byte_length(), 1024);
    let channel = web_sys::MessageChannel::new().unwrap();
    channel
        .port1()
        .post_message_with_transferable(&encoded.message, &encoded.transfer)
        .unwrap();
    assert_eq!(
        buffer.byte_length(),
        0,
        "the sender's buffer is detached after postMessage"
    );
}

#[wasm_bindgen_test]
fn codec_rejects_malformed_messages_with_reasons() {
    let err = decode::<ToWorker>(&JsValue::from_str("hi")).unwrap_err();
    assert!(err.contains("expected a message object"), "{err}");
    let obj = js_sys::JSON::parse(r#"{"envelope":{"id":1,"message":{"type":"explode"}}}"#).unwrap();
    let err = decode::<ToWorker>(&obj).unwrap_err();
    assert!(err.contains("explode"), "{err}");
    assert_eq!(peek_id(&obj), Some(1));
    let obj = js_sys::JSON::parse(r#"{"envelope":{"id":1,"message":{"type":"ping"}},"frame":5}"#)
        .unwrap();
    let err = decode::<ToWorker>(&obj).unwrap_err();
    assert!(err.contains("frame must be an ArrayBuffer"), "{err}");
}

/// Starts a pool over `script_url` and waits until no worker is `Starting` (or 10 s pass).
async fn settle(script_url: &str, count: usize) -> PoolSnapshot {
    let last = Rc::new(RefCell::new(PoolSnapshot::default()));
    let sink = last.clone();
    let pool = WorkerPool::start(script_url, count, move |s| *sink.borrow_mut() = s.clone());
    for _ in 0..200 {
        let done = last
            .borrow()
            .workers
            .iter()
            .all(|w| w.state != WorkerState::Starting);
        if done {
            break;
        }
        TimeoutFuture::new(50).await;
    }
    pool.terminate();
    let snapshot = last.borrow().clone();
    snapshot
}

fn blob_url(js: &str) -> String {
    let parts = Array::of1(&JsValue::from_str(js));
    let blob = web_sys::Blob::new_with_str_sequence(&parts).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

#[wasm_bindgen_test]
async fn missing_worker_script_is_reported_failed() {
    let snapshot = settle("./no-such-worker.js", 2).await;
    assert_eq!(snapshot.workers.len(), 2);
    for w in &snapshot.workers {
        match &w.state {
            WorkerState::Failed { reason } => {
                assert!(reason.contains("no-such-worker.js"), "{reason}")
            }
            other => panic!("expected failed, got {other:?}"),
        }
    }
    assert_eq!(snapshot.failed_count(), 2);
}

#[wasm_bindgen_test]
async fn worker_that_throws_is_reported_with_its_message() {
    let url = blob_url("throw new Error('boom at startup');");
    let snapshot = settle(&url, 1).await;
    match &snapshot.workers[0].state {
        WorkerState::Failed { reason } => assert!(reason.contains("boom at startup"), "{reason}"),
        other => panic!("expected failed, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn worker_speaking_garbage_is_reported() {
    let url = blob_url("postMessage({envelope: {id: 1, message: {type: 'gibberish'}}});");
    let snapshot = settle(&url, 1).await;
    match &snapshot.workers[0].state {
        WorkerState::Failed { reason } => {
            assert!(reason.contains("unreadable message"), "{reason}")
        }
        other => panic!("expected failed, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn fault_from_worker_is_reported_with_code() {
    let url = blob_url(
        "postMessage({envelope: {id: 0, message: {type: 'fault', errorCode: 'WorkerFailed', \
         errorMessage: 'worker panicked: index out of bounds'}}});",
    );
    let snapshot = settle(&url, 1).await;
    match &snapshot.workers[0].state {
        WorkerState::Failed { reason } => {
            assert_eq!(reason, "WorkerFailed: worker panicked: index out of bounds")
        }
        other => panic!("expected failed, got {other:?}"),
    }
}

/// A JS stand-in that speaks the protocol correctly proves the pool's handshake, Init,
/// memory and transfer check without the real binary (which e2e covers).
#[wasm_bindgen_test]
async fn protocol_speaking_worker_becomes_ready_with_transfer_check() {
    let js = r#"
      const fnv = (bytes) => { let h = 0xcbf29ce484222325n;
        for (const b of bytes) { h ^= BigInt(b); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
        return h.toString(16).padStart(16, '0'); };
      let n = 0;
      onmessage = (e) => {
        const env = e.data.envelope, m = env.message;
        if (m.type === 'init') postMessage({envelope: {id: ++n, replyTo: env.id,
            message: {type: 'ready', workerNumber: m.workerNumber, memoryBytes: 1114112}}});
        if (m.type === 'digest') { const f = e.data.frame;
          postMessage({envelope: {id: ++n, replyTo: env.id, message: {type: 'digestReply',
            bytes: f.byteLength, fnv1a: fnv(new Uint8Array(f))}}, frame: f}, [f]); }
      };
      postMessage({envelope: {id: ++n, message: {type: 'hello'}}});
    "#;
    let url = blob_url(js);
    let last = Rc::new(RefCell::new(PoolSnapshot::default()));
    let sink = last.clone();
    let pool = WorkerPool::start(&url, 2, move |s| *sink.borrow_mut() = s.clone());
    for _ in 0..200 {
        if last
            .borrow()
            .workers
            .iter()
            .all(|w| w.transfer_check.is_some())
        {
            break;
        }
        TimeoutFuture::new(25).await;
    }
    let snapshot = last.borrow().clone();
    pool.terminate();
    assert_eq!(snapshot.ready_count(), 2, "{snapshot:?}");
    for w in &snapshot.workers {
        assert_eq!(w.memory_bytes, Some(1_114_112));
        assert_eq!(
            w.transfer_check,
            Some(true),
            "worker {} transfer check",
            w.number
        );
    }
}
