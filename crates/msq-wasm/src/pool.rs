//! The page's pool of dedicated Web Workers.
//!
//! Each worker's state in a [`PoolSnapshot`] comes from what that worker actually said, never
//! from what the pool hopes: `Starting` until its `Ready` reply, `Ready` with the memory it
//! reported, `Failed` with a reason when it could not load, panicked, faulted or stayed silent.
//! After `Ready` the pool sends one `Digest` with a test frame in the transfer list and checks
//! that the worker saw every byte and moved the frame back ([`WorkerView::transfer_check`]).
//!
//! The pool calls `on_change` with a fresh snapshot after every change, never while it holds
//! its own state borrowed, so the callback may call back into the pool.

use crate::codec::{decode, describe, encode};
use msq_common::WorkerNumber;
use msq_protocol::digest::fnv1a_hex;
use msq_protocol::to_worker::{Digest, Init, Ping};
use msq_protocol::{FromWorker, MessageId, Packet, ToWorker};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, Event, MessageEvent, Worker};

/// URL of the worker loader shim trunk writes next to the page (`filehash = false`).
pub const WORKER_SCRIPT: &str = "./msq-worker_loader.js";

/// How long a worker may take to say `Hello` and `Ready` before it is declared failed.
pub const START_TIMEOUT_MS: u32 = 15_000;

/// Size of the frame used for the transfer check.
pub const TRANSFER_CHECK_BYTES: usize = 64 * 1024;

/// The lifecycle state of one worker.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerState {
    /// Created; its wasm is loading or it has not answered `Init` yet.
    Starting,
    /// Answered `Init`.
    Ready,
    /// Could not start, panicked, faulted or timed out.
    Failed {
        /// Why, for a person.
        reason: String,
    },
}

impl WorkerState {
    /// `"starting" | "ready" | "failed"`, for CSS classes and data attributes.
    pub fn as_str(&self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Ready => "ready",
            WorkerState::Failed { .. } => "failed",
        }
    }
}

/// What the pool knows about one worker, from its replies.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerView {
    /// The worker's number.
    pub number: u32,
    /// Its state.
    pub state: WorkerState,
    /// Its wasm memory in bytes, from its latest `Ready` or `Pong`.
    pub memory_bytes: Option<u64>,
    /// Whether a frame sent in the transfer list came back intact (`None` until checked).
    pub transfer_check: Option<bool>,
    /// Round trip of the latest request, in milliseconds.
    pub round_trip_ms: Option<f64>,
}

/// The state of every worker at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolSnapshot {
    /// One entry per worker, by number.
    pub workers: Vec<WorkerView>,
}

impl PoolSnapshot {
    /// Workers in state `Ready`.
    pub fn ready_count(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.state == WorkerState::Ready)
            .count()
    }

    /// Workers in state `Failed`.
    pub fn failed_count(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| matches!(w.state, WorkerState::Failed { .. }))
            .count()
    }
}

/// `navigator.hardwareConcurrency` of the page (1 if unknown).
pub fn hardware_concurrency() -> u32 {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .filter(|n| *n >= 1.0)
        .map_or(1, |n| n as u32)
}

/// What a request is waiting for.
enum Pending {
    Init {
        sent_ms: f64,
    },
    Ping {
        sent_ms: f64,
    },
    Digest {
        sent_ms: f64,
        expected: String,
        len: u64,
        frame: Vec<u8>,
    },
}

struct Slot {
    worker: Option<Worker>,
    view: WorkerView,
    pending: HashMap<MessageId, Pending>,
    _on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    _on_error: Option<Closure<dyn FnMut(Event)>>,
    _timeout: Option<gloo::timers::callback::Timeout>,
}

struct PoolInner {
    slots: Vec<Slot>,
    next_id: MessageId,
    on_change: Rc<dyn Fn(&PoolSnapshot)>,
}

impl PoolInner {
    fn snapshot(&self) -> PoolSnapshot {
        PoolSnapshot {
            workers: self.slots.iter().map(|s| s.view.clone()).collect(),
        }
    }

    fn next_id(&mut self) -> MessageId {
        self.next_id += 1;
        self.next_id
    }

    fn fail(&mut self, n: usize, reason: String) {
        if let Some(slot) = self.slots.get_mut(n) {
            // The first reason is the root cause; later ones (the error event after a panic
            // fault, say) add nothing.
            if !matches!(slot.view.state, WorkerState::Failed { .. }) {
                slot.view.state = WorkerState::Failed { reason };
            }
            // The start timeout is left to fire as a no-op: this may run inside its callback.
            slot.pending.clear();
        }
    }

    /// Sends `message` (with `frame`) to worker `n`, remembering what the reply will answer.
    fn send(&mut self, n: usize, message: ToWorker, frame: Option<Vec<u8>>, pending: Pending) {
        let id = self.next_id();
        let mut packet = Packet::new(id, message);
        packet.frame = frame;
        let Some(slot) = self.slots.get_mut(n) else {
            return;
        };
        let Some(worker) = &slot.worker else { return };
        let sent = encode(&packet).and_then(|e| {
            worker
                .post_message_with_transfer(&e.message, &e.transfer)
                .map_err(|e| describe(&e))
        });
        match sent {
            Ok(()) => {
                slot.pending.insert(id, pending);
            }
            Err(e) => self.fail(n, format!("could not send to worker: {e}")),
        }
    }

    fn on_message(&mut self, n: usize, data: &JsValue) {
        let packet = match decode::<FromWorker>(data) {
            Ok(p) => p,
            Err(e) => return self.fail(n, format!("sent an unreadable message: {e}")),
        };
        let pending = packet
            .envelope
            .reply_to
            .and_then(|id| self.slots[n].pending.remove(&id));
        let now = js_sys::Date::now();
        match (packet.envelope.message, pending) {
            (FromWorker::Hello(_), _) => {
                let init = ToWorker::Init(Init {
                    worker_number: WorkerNumber(n as u32),
                });
                self.send(n, init, None, Pending::Init { sent_ms: now });
            }
            (FromWorker::Ready(ready), Some(Pending::Init { sent_ms })) => {
                let slot = &mut self.slots[n];
                if ready.worker_number != WorkerNumber(n as u32) {
                    let reason =
                        format!("answered as worker {} instead of {n}", ready.worker_number);
                    return self.fail(n, reason);
                }
                slot.view.state = WorkerState::Ready;
                slot.view.memory_bytes = Some(ready.memory_bytes);
                slot.view.round_trip_ms = Some(now - sent_ms);
                slot._timeout = None;
                let frame = test_frame(n);
                let pending = Pending::Digest {
                    sent_ms: now,
                    expected: fnv1a_hex(&frame),
                    len: frame.len() as u64,
                    frame: frame.clone(),
                };
                self.send(n, ToWorker::Digest(Digest {}), Some(frame), pending);
            }
            (FromWorker::Pong(pong), Some(Pending::Ping { sent_ms })) => {
                let view = &mut self.slots[n].view;
                view.memory_bytes = Some(pong.memory_bytes);
                view.round_trip_ms = Some(now - sent_ms);
            }
            (
                FromWorker::DigestReply(reply),
                Some(Pending::Digest {
                    sent_ms,
                    expected,
                    len,
                    frame,
                }),
            ) => {
                let view = &mut self.slots[n].view;
                let ok = reply.bytes == len
                    && reply.fnv1a == expected
                    && packet.frame.as_ref() == Some(&frame);
                view.transfer_check = Some(ok);
                view.round_trip_ms = Some(now - sent_ms);
            }
            (FromWorker::Fault(fault), _) => {
                self.fail(n, format!("{}: {}", fault.error_code, fault.error_message));
            }
            (other, pending) => {
                let expected = match pending {
                    None => "nothing",
                    Some(Pending::Init { .. }) => "ready",
                    Some(Pending::Ping { .. }) => "pong",
                    Some(Pending::Digest { .. }) => "digestReply",
                };
                self.fail(
                    n,
                    format!("sent an unexpected {other:?} while the pool expected {expected}"),
                );
            }
        }
    }
}

/// A deterministic frame, different per worker, so a mixed-up reply cannot pass the check.
fn test_frame(n: usize) -> Vec<u8> {
    (0..TRANSFER_CHECK_BYTES)
        .map(|i| ((i * 31 + n * 7) % 251) as u8)
        .collect()
}

/// A pool of dedicated workers. Cloning gives another handle to the same pool.
#[derive(Clone)]
pub struct WorkerPool {
    inner: Rc<RefCell<PoolInner>>,
}

impl WorkerPool {
    /// Starts `count` workers from `script_url` and reports every change to `on_change`.
    /// A worker that cannot even be created is reported `Failed` at once; the others report
    /// as they come up.
    pub fn start(
        script_url: &str,
        count: usize,
        on_change: impl Fn(&PoolSnapshot) + 'static,
    ) -> WorkerPool {
        let inner = Rc::new(RefCell::new(PoolInner {
            slots: Vec::new(),
            next_id: 0,
            on_change: Rc::new(on_change),
        }));
        let weak = Rc::downgrade(&inner);
        let slots = (0..count)
            .map(|n| start_worker(script_url, n, &weak))
            .collect();
        inner.borrow_mut().slots = slots;
        let pool = WorkerPool { inner };
        pool.notify();
        pool
    }

    /// The current state of every worker.
    pub fn snapshot(&self) -> PoolSnapshot {
        self.inner.borrow().snapshot()
    }

    /// Pings every ready worker; the replies refresh memory and round-trip times.
    pub fn refresh(&self) {
        let mut inner = self.inner.borrow_mut();
        let now = js_sys::Date::now();
        for n in 0..inner.slots.len() {
            if inner.slots[n].view.state == WorkerState::Ready {
                inner.send(
                    n,
                    ToWorker::Ping(Ping {}),
                    None,
                    Pending::Ping { sent_ms: now },
                );
            }
        }
        drop(inner);
        self.notify();
    }

    /// Terminates every worker. The pool reports nothing afterwards.
    pub fn terminate(&self) {
        let mut inner = self.inner.borrow_mut();
        for slot in inner.slots.drain(..) {
            if let Some(worker) = &slot.worker {
                worker.set_onmessage(None);
                worker.set_onerror(None);
                worker.terminate();
            }
        }
    }

    fn notify(&self) {
        notify(&self.inner);
    }
}

fn notify(inner: &Rc<RefCell<PoolInner>>) {
    let (snapshot, callback) = {
        let inner = inner.borrow();
        (inner.snapshot(), inner.on_change.clone())
    };
    callback(&snapshot);
}

/// Runs `f` on the pool behind `weak` (if it still exists) and then reports the change.
fn with_pool(weak: &Weak<RefCell<PoolInner>>, f: impl FnOnce(&mut PoolInner)) {
    let Some(inner) = weak.upgrade() else { return };
    // A worker that was terminated may still deliver a queued event: ignore it.
    let Ok(mut borrowed) = inner.try_borrow_mut() else {
        return;
    };
    f(&mut borrowed);
    drop(borrowed);
    notify(&inner);
}

fn start_worker(script_url: &str, n: usize, weak: &Weak<RefCell<PoolInner>>) -> Slot {
    let view = WorkerView {
        number: n as u32,
        state: WorkerState::Starting,
        memory_bytes: None,
        transfer_check: None,
        round_trip_ms: None,
    };
    let worker = match Worker::new(script_url) {
        Ok(w) => w,
        Err(e) => {
            let reason = format!(
                "could not create a worker from {script_url}: {}",
                describe(&e)
            );
            return Slot {
                worker: None,
                view: WorkerView {
                    state: WorkerState::Failed { reason },
                    ..view
                },
                pending: HashMap::new(),
                _on_message: None,
                _on_error: None,
                _timeout: None,
            };
        }
    };

    let w = weak.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        with_pool(&w, |pool| {
            if pool.slots.len() > n {
                pool.on_message(n, &data);
            }
        });
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

    let w = weak.clone();
    let url = script_url.to_owned();
    let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        // A script that fails to load raises a plain Event; an uncaught exception or a wasm
        // trap (a panic) raises an ErrorEvent with a message.
        let reason = match event.dyn_ref::<ErrorEvent>() {
            Some(e) if !e.message().is_empty() => format!("worker error: {}", e.message()),
            _ => format!("could not load worker script {url} (missing, blocked, or not a script)"),
        };
        event.prevent_default();
        with_pool(&w, |pool| {
            if pool.slots.len() > n {
                pool.fail(n, reason);
            }
        });
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

    let w = weak.clone();
    let timeout = gloo::timers::callback::Timeout::new(START_TIMEOUT_MS, move || {
        with_pool(&w, |pool| {
            if pool
                .slots
                .get(n)
                .is_some_and(|s| s.view.state == WorkerState::Starting)
            {
                pool.fail(
                    n,
                    format!("did not become ready within {} s", START_TIMEOUT_MS / 1000),
                );
            }
        });
    });

    Slot {
        worker: Some(worker),
        view,
        pending: HashMap::new(),
        _on_message: Some(on_message),
        _on_error: Some(on_error),
        _timeout: Some(timeout),
    }
}
