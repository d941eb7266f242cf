//! The worker side: what runs inside each Web Worker — a pool worker answering protocol
//! packets, and, for JSON-string messages, the engine (see [`crate::engine`]).

use crate::codec::{decode, describe, encode, peek_id};
use msq_common::ErrorCode;
use msq_protocol::{FromWorker, Packet, ToWorker, WorkerEnv, WorkerHandler};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Message id used for the one fault a panicking worker sends; regular ids start at 1.
pub const PANIC_MESSAGE_ID: u64 = 0;

thread_local! {
    static HANDLER: RefCell<WorkerHandler> = RefCell::new(WorkerHandler::new());
    static STARTED_MS: f64 = js_sys::Date::now();
}

/// Facts about this worker's wasm instance.
struct BrowserEnv;

impl WorkerEnv for BrowserEnv {
    fn memory_bytes(&self) -> u64 {
        wasm_memory_bytes()
    }

    fn uptime_ms(&self) -> f64 {
        js_sys::Date::now() - STARTED_MS.with(|s| *s)
    }
}

/// Size of this module's linear memory in bytes.
pub fn wasm_memory_bytes() -> u64 {
    let buffer = wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| m.buffer());
    buffer
        .ok()
        .and_then(|b| js_sys::Reflect::get(&b, &JsValue::from_str("byteLength")).ok())
        .and_then(|n| n.as_f64())
        .map_or(0, |n| n as u64)
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(packet: &Packet<FromWorker>) {
    let result = encode(packet).and_then(|encoded| {
        scope()
            .post_message_with_transfer(&encoded.message, &encoded.transfer)
            .map_err(|e| describe(&e))
    });
    if let Err(e) = result {
        web_sys::console::error_1(&format!("acorn worker: cannot post reply: {e}").into());
    }
}

/// Entry point of the worker binary: installs the panic hook and the message handler, then
/// says `Hello` so the pool knows messages will no longer be lost.
///
/// A panic is reported twice over: as an unsolicited [`FromWorker::Fault`] with code
/// `WorkerFailed` carrying the panic message (so the console can say *why*), and then as the
/// worker's `error` event when the trap unwinds out of the handler (so it is noticed even if
/// the first post fails).
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("worker panicked: {info}");
        web_sys::console::error_1(&message.clone().into());
        let fault = FromWorker::Fault(msq_protocol::from_worker::Fault {
            error_code: ErrorCode::WorkerFailed,
            error_message: message,
        });
        post(&Packet::new(PANIC_MESSAGE_ID, fault));
    }));
    STARTED_MS.with(|_| ());

    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let data = event.data();
        // Strings are Druid API requests for the engine role (crate::engine); objects are the
        // pool protocol's packets.
        if let Some(text) = data.as_string() {
            crate::engine::handle_message(&text);
            return;
        }
        // Stage work from the engine worker (this worker is one of its stage hosts).
        if crate::hosts::is_host_message(&data) {
            crate::hosts::handle_host_message(&data);
            return;
        }
        let reply = match decode::<ToWorker>(&data) {
            Ok(packet) => HANDLER.with(|h| h.borrow_mut().handle(packet, &BrowserEnv)),
            Err(e) => HANDLER.with(|h| {
                h.borrow_mut()
                    .fault(peek_id(&data), ErrorCode::WorkerRpcFailed, e)
            }),
        };
        post(&reply);
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();

    let hello = HANDLER.with(|h| h.borrow_mut().hello());
    post(&hello);
}
