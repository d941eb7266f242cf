//! The JS shape of a [`Packet`]: `{ envelope: <object>, frame?: ArrayBuffer }`.
//!
//! The envelope goes through `serde-wasm-bindgen` as a plain object (structured clone copies
//! it, which is fine for small control data). The frame is copied once out of wasm memory into
//! a fresh `ArrayBuffer`, which is then *transferred* — detached on the sending side — so bulk
//! bytes are never cloned by `postMessage` nor encoded as JSON (rule 8).

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use msq_protocol::{Envelope, Packet};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

const ENVELOPE: &str = "envelope";
const FRAME: &str = "frame";

/// A message ready for `postMessage`: the value and its transfer list.
pub struct Encoded {
    /// The object to post.
    pub message: JsValue,
    /// Buffers to transfer with it (empty when the packet has no frame).
    pub transfer: Array,
}

/// Encodes a packet for `postMessage(message, transfer)`.
///
/// # Errors
/// When the envelope cannot be represented as a JS value (a bug in a message type).
pub fn encode<M: Serialize>(packet: &Packet<M>) -> Result<Encoded, String> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let envelope = packet
        .envelope
        .serialize(&serializer)
        .map_err(|e| format!("cannot encode message envelope: {e}"))?;
    let message = Object::new();
    let transfer = Array::new();
    set(&message, ENVELOPE, &envelope)?;
    if let Some(frame) = &packet.frame {
        let bytes = Uint8Array::new_with_length(frame.len() as u32);
        bytes.copy_from(frame);
        let buffer = bytes.buffer();
        set(&message, FRAME, &buffer)?;
        transfer.push(&buffer);
    }
    Ok(Encoded {
        message: message.into(),
        transfer,
    })
}

/// Decodes a posted message back into a packet.
///
/// # Errors
/// A message that is not `{envelope, frame?}` or whose envelope does not match `M`, described
/// with serde's words (e.g. "unknown variant `explode`").
pub fn decode<M: DeserializeOwned>(data: &JsValue) -> Result<Packet<M>, String> {
    if !data.is_object() {
        return Err(format!("expected a message object, got {}", describe(data)));
    }
    let envelope_value = get(data, ENVELOPE)?;
    if envelope_value.is_undefined() {
        return Err("message has no envelope".into());
    }
    let envelope: Envelope<M> = serde_wasm_bindgen::from_value(envelope_value)
        .map_err(|e| format!("malformed message envelope: {e}"))?;
    let frame_value = get(data, FRAME)?;
    let frame = if frame_value.is_undefined() || frame_value.is_null() {
        None
    } else {
        let buffer: ArrayBuffer = frame_value
            .dyn_into()
            .map_err(|v| format!("message frame must be an ArrayBuffer, got {}", describe(&v)))?;
        Some(Uint8Array::new(&buffer).to_vec())
    };
    Ok(Packet { envelope, frame })
}

/// The `id` of a message's envelope, if it has one: lets a receiver correlate a fault with a
/// request whose body could not be decoded.
pub fn peek_id(data: &JsValue) -> Option<u64> {
    let envelope = Reflect::get(data, &JsValue::from_str(ENVELOPE)).ok()?;
    let id = Reflect::get(&envelope, &JsValue::from_str("id"))
        .ok()?
        .as_f64()?;
    (id >= 0.0 && id.fract() == 0.0).then_some(id as u64)
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| format!("cannot set {key}: {}", describe(&e)))
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
    Reflect::get(target, &JsValue::from_str(key))
        .map_err(|e| format!("cannot read {key}: {}", describe(&e)))
}

/// A short description of a JS value for error messages.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    value
        .js_typeof()
        .as_string()
        .unwrap_or_else(|| "a value".into())
}
