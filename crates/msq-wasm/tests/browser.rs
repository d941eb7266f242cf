//! msq-wasm in a real browser (`wasm-pack test --headless --chrome`): the codec's transfer
//! semantics. The stage-host pool is tested in `tests/hosts.rs`; the real worker binary end to
//! end (tests/e2e), where trunk has built it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use msq_protocol::to_worker::{Digest, Ping};
use msq_protocol::{Packet, ToWorker};
use msq_wasm::codec::{decode, encode, peek_id};
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
