//! Stage work across Web Workers: the engine worker's pool of stage hosts
//! ([`WebWorkerHosts`], a [`HostPool`] for `msq_runtime::remote::RemoteHosts`) and the host
//! side inside each of those workers ([`handle_host_message`]).
//!
//! ```text
//!   engine worker (controller)                    stage host i (nested dedicated worker)
//!   RemoteHosts ─ Worker.postMessage ───────────▶ StageHost::receive(Controller, …)
//!        ▲  ◀──────────── self.postMessage ──────┘   │ ▲
//!        │                                 port[j]   ▼ │  MessageChannel i ⇄ j, made by the
//!                                                 stage host j               engine at start
//! ```
//!
//! The engine worker starts the hosts itself (workers may start workers), so the page's main
//! thread never relays a byte: control goes engine ⇄ host, shuffle frames go host ⇄ host over
//! the `MessageChannel` ports the engine hands out once, in the setup message. Each message is
//! `{acornRemote: <JSON text>, frames: [ArrayBuffer…]}` with the frames in the transfer list.
//!
//! A message posted before a worker's wasm listens would be lost, so messages to a host wait
//! until its `Hello` (the pool protocol's first packet, which every worker sends). A host that
//! panics or fails to load fails the work orders it was running with `WorkerFailed`; the pool is
//! then restarted whole (fresh workers, fresh channels) for later queries.

use crate::codec::{decode, describe};
use crate::fetch::HttpFetcher;
use crate::opfs::SegmentFileWriter;
use crate::scratch::OpfsFrameSpill;
use arrow_array::RecordBatch;
use futures::future::LocalBoxFuture;
use msq_common::{MsqError, Result};
use msq_protocol::FromWorker;
use msq_runtime::remote::{HostLinks, HostPool, RemoteHosts, Sender, StageHost, Wire};
use msq_runtime::spill::{FrameSpill, DEFAULT_SPILL_BUDGET_BYTES};
use msq_runtime::worker::SegmentSink;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    DedicatedWorkerGlobalScope, ErrorEvent, MessageChannel, MessageEvent, MessagePort, Worker,
};

/// URL of the worker loader shim trunk writes next to the page (`filehash = false`): the
/// engine's worker and its stage hosts all run this one binary.
pub const WORKER_SCRIPT: &str = "./msq-worker_loader.js";

/// Key of a remote message's JSON text.
const REMOTE: &str = "acornRemote";
/// Key of a remote message's frames.
const FRAMES: &str = "frames";
/// Key of the setup message that makes a worker a stage host.
const SETUP: &str = "acornHost";
/// Key of the setup message's ports, by host number (`null` at the host's own number).
const PORTS: &str = "ports";
/// Key of the setup's OPFS root of the engine's segment store, when hosts write segment files.
const SEGMENT_ROOT: &str = "segmentRoot";

/// Failures in a row (no worker of the pool said hello in between) after which the pool stops
/// restarting: a worker script that cannot load would otherwise restart forever.
pub const MAX_FAILED_STARTS: u32 = 3;

/// Most hosts an engine starts, whatever `maxNumTasks` asks: beyond the cores, more threads
/// only add memory (Druid workers beyond this share hosts; see `msq_runtime::remote`).
pub const MAX_HOSTS: u32 = 8;

/// How many stage hosts the engine runs: the cores the browser reports, at least two (Druid's
/// default `maxNumTasks` of 3 asks for two workers) and at most [`MAX_HOSTS`].
pub fn host_capacity() -> u32 {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let cores = scope.navigator().hardware_concurrency();
    (cores as u32).clamp(2, MAX_HOSTS)
}

fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a property of a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `wire` as a posted message and its transfer list.
fn encode(wire: &Wire) -> (JsValue, js_sys::Array) {
    let message = js_sys::Object::new();
    let frames = js_sys::Array::new();
    for frame in &wire.frames {
        let bytes = js_sys::Uint8Array::new_with_length(frame.len() as u32);
        bytes.copy_from(frame);
        frames.push(&bytes.buffer());
    }
    set(&message, REMOTE, &JsValue::from_str(&wire.text));
    set(&message, FRAMES, &frames);
    (message.into(), frames)
}

/// The wire in a posted message, `None` when it is not a remote message.
fn wire_of(data: &JsValue) -> Option<Wire> {
    let text = get(data, REMOTE).as_string()?;
    let frames = get(data, FRAMES)
        .dyn_into::<js_sys::Array>()
        .map(|a| {
            a.iter()
                .filter_map(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok())
                .map(|b| js_sys::Uint8Array::new(&b).to_vec())
                .collect()
        })
        .unwrap_or_default();
    Some(Wire { text, frames })
}

/// Whether a posted message is one of this module's (remote or setup).
pub fn is_host_message(data: &JsValue) -> bool {
    data.is_object() && (!get(data, REMOTE).is_undefined() || !get(data, SETUP).is_undefined())
}

fn post(target: &dyn Fn(&JsValue, &js_sys::Array) -> Result<(), JsValue>, wire: &Wire, to: &str) {
    let (message, transfer) = encode(wire);
    if let Err(e) = target(&message, &transfer) {
        web_sys::console::error_1(&format!("acorn: cannot post to {to}: {}", describe(&e)).into());
    }
}

// ─── the engine's side ───────────────────────────────────────────────────────────────────────

struct Slot {
    worker: Worker,
    /// The setup message (and its ports), posted at the worker's `Hello`.
    setup: Option<(JsValue, js_sys::Array)>,
    /// Messages waiting for the worker's `Hello`; `None` once it listens.
    queue: Option<Vec<Wire>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct PoolState {
    slots: Vec<Slot>,
    /// Bumped by every restart: events of the previous workers are ignored.
    generation: u32,
}

/// The engine worker's stage hosts: `capacity` nested Web Workers, fully meshed by
/// `MessageChannel`s.
pub struct WebWorkerHosts {
    me: std::rc::Weak<WebWorkerHosts>,
    script: String,
    /// The OPFS root of the engine's segment store, for hosts to write segment files into.
    segment_root: Option<String>,
    capacity: u32,
    state: RefCell<PoolState>,
    /// Where host messages go (set once, right after creation: the controller side needs the
    /// pool and the pool needs it; both live as long as the engine worker).
    receiver: RefCell<Option<RemoteHosts>>,
    /// Failures since a worker last said hello.
    failures: std::cell::Cell<u32>,
    /// Why the pool gave up restarting ([`MAX_FAILED_STARTS`]).
    dead: RefCell<Option<String>>,
}

impl std::fmt::Debug for WebWorkerHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebWorkerHosts")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl WebWorkerHosts {
    /// Starts `capacity` hosts from `script` and returns the controller's transport factory
    /// over them, reading table inputs from `store`. `segment_root` is the root of `store` in
    /// OPFS when it is an [`crate::opfs::OpfsSegmentStore`]: the hosts then write the segment
    /// files they generate into it themselves ([`crate::opfs::SegmentFileWriter`]).
    ///
    /// # Errors
    /// When the browser refuses to start a worker from inside a worker.
    pub fn start(
        script: &str,
        capacity: u32,
        store: msq_runtime::store::SharedStore,
        segment_root: Option<&str>,
    ) -> Result<RemoteHosts, String> {
        let pool = Rc::new_cyclic(|me| WebWorkerHosts {
            me: me.clone(),
            script: script.to_owned(),
            segment_root: segment_root.map(str::to_owned),
            capacity: capacity.max(1),
            state: RefCell::new(PoolState {
                slots: Vec::new(),
                generation: 0,
            }),
            receiver: RefCell::new(None),
            failures: std::cell::Cell::new(0),
            dead: RefCell::new(None),
        });
        pool.spawn_all()?;
        let remote = RemoteHosts::new(pool.clone(), store, Rc::new(crate::engine::LocalSpawner));
        *pool.receiver.borrow_mut() = Some(remote.clone());
        Ok(remote)
    }

    /// (Re)starts every host and the channels between them.
    fn spawn_all(&self) -> Result<(), String> {
        let generation = {
            let mut state = self.state.borrow_mut();
            for slot in state.slots.drain(..) {
                slot.worker.terminate();
            }
            state.generation += 1;
            state.generation
        };
        let mut slots = Vec::new();
        for number in 0..self.capacity {
            let worker = Worker::new(&self.script).map_err(|e| {
                format!(
                    "could not start stage worker {number} from {}: {}",
                    self.script,
                    describe(&e)
                )
            })?;
            let weak = self.me.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(pool) = weak.upgrade() {
                    pool.on_message(generation, number, &event.data());
                }
            });
            let weak = self.me.clone();
            let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                event.prevent_default();
                if let Some(pool) = weak.upgrade() {
                    let reason = match event.message() {
                        m if m.is_empty() => "the worker's script could not run".to_owned(),
                        m => m,
                    };
                    pool.fail(generation, number, &reason);
                }
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            slots.push(Slot {
                worker,
                setup: None,
                queue: Some(Vec::new()),
                _on_message: on_message,
                _on_error: on_error,
            });
        }
        // The mesh: one channel per pair; each end goes to its host in the setup message.
        let n = self.capacity as usize;
        let ports: Vec<js_sys::Array> = (0..n)
            .map(|_| {
                let a = js_sys::Array::new();
                for _ in 0..n {
                    a.push(&JsValue::NULL);
                }
                a
            })
            .collect();
        for i in 0..n {
            for j in i + 1..n {
                let channel = MessageChannel::new().map_err(|e| describe(&e))?;
                ports[i].set(j as u32, channel.port1().into());
                ports[j].set(i as u32, channel.port2().into());
            }
        }
        for (number, slot) in slots.iter_mut().enumerate() {
            let setup = js_sys::Object::new();
            let info = js_sys::Object::new();
            set(&info, "number", &JsValue::from(number as u32));
            if let Some(root) = &self.segment_root {
                set(&info, SEGMENT_ROOT, &JsValue::from_str(root));
            }
            set(&setup, SETUP, &info);
            set(&setup, PORTS, &ports[number]);
            let transfer: js_sys::Array = ports[number].iter().filter(|p| !p.is_null()).collect();
            slot.setup = Some((setup.into(), transfer));
        }
        self.state.borrow_mut().slots = slots;
        Ok(())
    }

    fn on_message(&self, generation: u32, number: u32, data: &JsValue) {
        if self.state.borrow().generation != generation {
            return;
        }
        if let Some(wire) = wire_of(data) {
            let receiver = self.receiver.borrow().clone();
            if let Some(receiver) = receiver {
                if let Err(e) = receiver.receive(number, wire) {
                    web_sys::console::error_1(&format!("acorn engine: {e}").into());
                }
            }
            return;
        }
        // A pool packet: the worker's Hello (it listens now) or a panic's Fault.
        match decode::<FromWorker>(data).map(|p| p.envelope.message) {
            Ok(FromWorker::Hello(_)) => {
                self.failures.set(0);
                let (worker, setup, queued) = {
                    let mut state = self.state.borrow_mut();
                    let Some(slot) = state.slots.get_mut(number as usize) else {
                        return;
                    };
                    (
                        slot.worker.clone(),
                        slot.setup.take(),
                        slot.queue.take().unwrap_or_default(),
                    )
                };
                if let Some((setup, transfer)) = setup {
                    if let Err(e) = worker.post_message_with_transfer(&setup, &transfer) {
                        let reason = format!("could not be set up: {}", describe(&e));
                        return self.fail(generation, number, &reason);
                    }
                }
                for wire in queued {
                    self.send(number, wire);
                }
            }
            Ok(FromWorker::Fault(fault)) => self.fail(generation, number, &fault.error_message),
            Ok(_) => {}
            Err(e) => web_sys::console::error_1(
                &format!("acorn engine: unreadable message from stage worker {number}: {e}").into(),
            ),
        }
    }

    fn fail(&self, generation: u32, number: u32, reason: &str) {
        if self.state.borrow().generation != generation {
            return;
        }
        web_sys::console::error_1(
            &format!("acorn engine: stage worker {number} failed: {reason}").into(),
        );
        let receiver = self.receiver.borrow().clone();
        if let Some(receiver) = receiver {
            receiver.host_failed(number, reason);
        }
        let failures = self.failures.get() + 1;
        self.failures.set(failures);
        if failures >= MAX_FAILED_STARTS {
            let mut state = self.state.borrow_mut();
            for slot in state.slots.drain(..) {
                slot.worker.terminate();
            }
            state.generation += 1;
            *self.dead.borrow_mut() = Some(format!(
                "the stage workers failed {failures} times in a row and are not restarted; the \
                 last failure: worker {number}: {reason}"
            ));
            return;
        }
        // Its peers' channels are dead too: later queries get a fresh pool.
        if let Err(e) = self.spawn_all() {
            web_sys::console::error_1(
                &format!("acorn engine: could not restart the stage workers: {e}").into(),
            );
        }
    }
}

impl HostPool for WebWorkerHosts {
    fn capacity(&self) -> u32 {
        self.capacity
    }

    fn broken(&self) -> Option<String> {
        self.dead.borrow().clone()
    }

    fn send(&self, host: u32, wire: Wire) {
        let mut state = self.state.borrow_mut();
        let Some(slot) = state.slots.get_mut(host as usize) else {
            return;
        };
        if let Some(queue) = slot.queue.as_mut() {
            queue.push(wire);
            return;
        }
        let worker = slot.worker.clone();
        drop(state);
        post(
            &|m, t| worker.post_message_with_transfer(m, t),
            &wire,
            &format!("stage worker {host}"),
        );
    }
}

// ─── the host's side ─────────────────────────────────────────────────────────────────────────

thread_local! {
    static HOST: RefCell<Option<StageHost>> = const { RefCell::new(None) };
    /// Messages that reached this host before it was set up, in arrival order: the host starts
    /// once its scratch file is open (see [`handle_host_message`]), and the engine and the
    /// other hosts may already be talking to it.
    static EARLY: RefCell<Vec<(Sender, Wire)>> = const { RefCell::new(Vec::new()) };
}

struct BrowserLinks {
    ports: Vec<Option<MessagePort>>,
    /// The OPFS root of the engine's segment store, when this host writes segment files.
    segment_root: Option<String>,
    /// This host's scratch file (only where the store is OPFS and the file could be opened).
    spill: Option<Rc<OpfsFrameSpill>>,
}

impl HostLinks for BrowserLinks {
    fn memory_bytes(&self) -> u64 {
        crate::worker::wasm_memory_bytes()
    }

    fn frame_spill(&self) -> Option<(Rc<dyn FrameSpill>, usize)> {
        let spill: Rc<dyn FrameSpill> = self.spill.clone()?;
        Some((spill, DEFAULT_SPILL_BUDGET_BYTES))
    }

    fn writes_segment_files(&self) -> bool {
        self.segment_root.is_some()
    }

    fn read_segment_columns(
        &self,
        path: String,
        columns: Vec<String>,
    ) -> Option<LocalBoxFuture<'static, Result<Option<Vec<RecordBatch>>>>> {
        let root = self.segment_root.clone()?;
        Some(Box::pin(async move {
            crate::opfs::read_worker_segment_columns(&root, &path, &columns).await
        }))
    }

    fn segment_sink(&self, path: String) -> LocalBoxFuture<'static, Result<Box<dyn SegmentSink>>> {
        let root = self.segment_root.clone();
        Box::pin(async move {
            let root = root.ok_or_else(|| {
                MsqError::internal("this stage worker was not given the segment store's root")
            })?;
            let file = SegmentFileWriter::open(&root, &path).await?;
            Ok(Box::new(file) as Box<dyn SegmentSink>)
        })
    }

    fn to_controller(&self, wire: Wire) {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        post(
            &|m, t| scope.post_message_with_transfer(m, t),
            &wire,
            "the engine",
        );
    }

    fn to_host(&self, host: u32, wire: Wire) {
        match self.ports.get(host as usize).and_then(Option::as_ref) {
            Some(port) => post(
                &|m, t| port.post_message_with_transferable(m, t),
                &wire,
                &format!("stage worker {host}"),
            ),
            None => web_sys::console::error_1(
                &format!("acorn worker: no channel to stage worker {host}").into(),
            ),
        }
    }
}

/// A stage worker's segment file in OPFS: its segment names the file, which the engine adopts.
impl SegmentSink for SegmentFileWriter {
    fn finish(
        self: Box<Self>,
        meta: msq_exec::segment::SegmentMeta,
    ) -> LocalBoxFuture<'static, Result<msq_exec::segment::Segment>> {
        Box::pin(async move {
            let path = self.path().to_owned();
            SegmentFileWriter::finish(*self).await?;
            Ok(msq_exec::segment::Segment {
                meta,
                bytes: Vec::new(),
                file: Some(path),
            })
        })
    }
}

/// Handles a setup or remote message inside a stage host (see [`is_host_message`]).
pub fn handle_host_message(data: &JsValue) {
    if let Some(wire) = wire_of(data) {
        receive(Sender::Controller, wire);
        return;
    }
    let setup = get(data, SETUP);
    let number = get(&setup, "number").as_f64().unwrap_or(0.0) as u32;
    let segment_root = get(&setup, SEGMENT_ROOT).as_string();
    let ports: Vec<Option<MessagePort>> = get(data, PORTS)
        .dyn_into::<js_sys::Array>()
        .map(|a| a.iter().map(|p| p.dyn_into::<MessagePort>().ok()).collect())
        .unwrap_or_default();
    for (peer, port) in ports.iter().enumerate() {
        let Some(port) = port else { continue };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(wire) = wire_of(&event.data()) {
                receive(Sender::Host(peer as u32), wire);
            }
        });
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The handler lives as long as the worker.
        on_message.forget();
    }
    // The host starts once its scratch file is open, so that its first query already spills
    // (a host that started at once and opened the file on the side ran the page's first query
    // with every frame in memory: 224 instead of 137 MiB for a 1M-row ingest). What arrives
    // meanwhile waits in `EARLY`.
    wasm_bindgen_futures::spawn_local(async move {
        let spill = match &segment_root {
            Some(_) => match OpfsFrameSpill::create(number).await {
                Ok(file) => file.map(Rc::new),
                Err(e) => {
                    web_sys::console::warn_1(
                        &format!(
                            "acorn stage worker {number}: no scratch file, frames stay in memory: {e}"
                        )
                        .into(),
                    );
                    None
                }
            },
            None => None,
        };
        let host = StageHost::new(
            number,
            Rc::new(BrowserLinks {
                ports,
                segment_root,
                spill,
            }),
            Rc::new(HttpFetcher::new()),
            Rc::new(crate::engine::JsClock),
            Rc::new(crate::engine::LocalSpawner),
        );
        HOST.with(|cell| *cell.borrow_mut() = Some(host));
        for (from, wire) in EARLY.with(|early| std::mem::take(&mut *early.borrow_mut())) {
            receive(from, wire);
        }
    });
}

fn receive(from: Sender, wire: Wire) {
    let host = HOST.with(|cell| cell.borrow().clone());
    match host {
        Some(host) => {
            if let Err(e) = host.receive(from, wire) {
                web_sys::console::error_1(&format!("acorn stage worker: {e}").into());
            }
        }
        None => EARLY.with(|early| early.borrow_mut().push((from, wire))),
    }
}
