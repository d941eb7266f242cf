//! The engine in a Web Worker, and the page's handle on it.
//!
//! ```text
//!   page (main thread: renders only)              engine worker (a dedicated Web Worker)
//!   ────────────────────────────────              ───────────────────────────────────────
//!   EngineClient::call(ApiCall) ── JSON string ──▶ host: ApiRequest → msq_runtime::api::handle
//!        ▲                                          Engine { HttpFetcher, segment store,
//!        └──────────────────── JSON string ◀────    Date.now clock, spawn_local spawner }
//!                              ApiResponse
//! ```
//!
//! Requests and responses are Druid's endpoints as messages ([`msq_protocol::api`]) carried as
//! JSON strings: the bodies *are* Druid's JSON (task reports, statuses), so text is their
//! natural form, and strings cannot be confused with the worker pool's `{envelope, frame}`
//! packets, which is how one worker binary serves both roles ([`crate::worker::run`] hands
//! strings to [`handle_message`]).
//!
//! The engine is created on the first request, over segments in the Origin Private File System
//! (datasources survive a reload; memory where OPFS is missing). Its stage work runs on a pool
//! of stage hosts — nested Web Workers the engine worker starts ([`crate::hosts`]) — with
//! shuffle frames moving host → host; where workers cannot start workers, stage work runs as
//! futures inside the engine worker (`LocalTransport`), still off the page's thread.

use crate::codec::describe;
use futures::channel::oneshot;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use msq_exec::segment::MemorySegmentStore;
use msq_protocol::api::{ApiCall, ApiRequest, ApiResponse};
use msq_runtime::env::{Clock, Spawner};
use msq_runtime::store::SharedStore;
use msq_runtime::{Engine, EngineEnv, Storage};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Worker};

/// `Date.now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }

    /// `setTimeout(resolve, 0)`: a macrotask, so pending `message` events run first.
    fn next_turn(&self) -> LocalBoxFuture<'static, ()> {
        Box::pin(sleep_ms(0))
    }
}

/// Resolves after `ms` milliseconds (`setTimeout`; at once where there is none). Even at 0 it
/// waits for a macrotask, so pending `message` events run first.
pub(crate) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let scheduled =
            set_timeout.is_some_and(|f| f.call2(&global, &resolve, &JsValue::from(ms)).is_ok());
        if !scheduled {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// `wasm_bindgen_futures::spawn_local`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSpawner;

impl Spawner for LocalSpawner {
    fn spawn(&self, future: LocalBoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(future);
    }
}

/// The OPFS directory the engine keeps its datasources in.
pub const STORE_ROOT: &str = "acorn";

thread_local! {
    static ENGINE: RefCell<Option<Shared<LocalBoxFuture<'static, Engine>>>> =
        const { RefCell::new(None) };
}

/// The worker's engine, created once (concurrent first requests share the creation): over
/// `fetch`, and over segments in OPFS ([`crate::opfs::OpfsSegmentStore`], so datasources
/// survive a reload) — or in memory where OPFS is missing or cannot be opened (logged; the
/// console shows it).
fn engine() -> Shared<LocalBoxFuture<'static, Engine>> {
    ENGINE.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let build: LocalBoxFuture<'static, Engine> = Box::pin(async {
                    let (store, storage) = open_store().await;
                    let storage_kind = storage.kind.clone();
                    let mut env = EngineEnv::local(
                        Rc::new(crate::fetch::HttpFetcher::new()),
                        store.clone(),
                        Rc::new(JsClock),
                        Rc::new(LocalSpawner),
                    )
                    .with_storage(storage);
                    let capacity = crate::hosts::host_capacity();
                    // Hosts write their segment files into the store where it is OPFS, and
                    // spill to scratch files there (an earlier page's are removed first).
                    let segment_root = (storage_kind == "opfs").then_some(STORE_ROOT);
                    if segment_root.is_some() {
                        crate::scratch::clear_scratch().await;
                    }
                    match crate::hosts::WebWorkerHosts::start(
                        crate::hosts::WORKER_SCRIPT,
                        capacity,
                        store,
                        segment_root,
                    ) {
                        Ok(hosts) => {
                            env.transports = Rc::new(hosts);
                            env = env.with_small_queries_here();
                        }
                        Err(e) => web_sys::console::warn_1(
                            &format!(
                                "acorn engine: {e}; stage work runs inside the engine's worker"
                            )
                            .into(),
                        ),
                    }
                    Engine::new(env)
                });
                build.shared()
            })
            .clone()
    })
}

/// The engine's segment store and what it is (answered by `GET /status`, shown by the console).
async fn open_store() -> (SharedStore, Storage) {
    let note = if crate::opfs::is_available().await {
        match crate::opfs::OpfsSegmentStore::open(STORE_ROOT).await {
            Ok(store) => {
                let storage = Storage {
                    kind: "opfs".to_owned(),
                    note: None,
                };
                return (SharedStore::new(store), storage);
            }
            Err(e) => format!("the Origin Private File System could not be opened: {e}"),
        }
    } else {
        "this browser offers no Origin Private File System here".to_owned()
    };
    web_sys::console::warn_1(&format!("acorn engine: {note}; keeping segments in memory").into());
    let storage = Storage {
        kind: "memory".to_owned(),
        note: Some(note),
    };
    (SharedStore::new(MemorySegmentStore::new()), storage)
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Handles one API request (a JSON string) inside the engine worker and posts the JSON
/// response. A request that is not valid JSON is answered with a 400 whose `replyTo` is 0.
pub fn handle_message(text: &str) {
    let request = match serde_json::from_str::<ApiRequest>(text) {
        Ok(request) => request,
        Err(e) => {
            post_response(&ApiResponse {
                reply_to: 0,
                status: 400,
                body: json!({"error": format!("not an API request: {e}")}),
            });
            return;
        }
    };
    let engine = engine();
    wasm_bindgen_futures::spawn_local(async move {
        let engine = engine.await;
        let response = msq_runtime::api::handle(&engine, request).await;
        post_response(&response);
    });
}

fn post_response(response: &ApiResponse) {
    let text = serde_json::to_string(response).unwrap_or_else(|e| {
        format!(
            r#"{{"replyTo":{},"status":500,"body":{{"error":"{e}"}}}}"#,
            response.reply_to
        )
    });
    if let Err(e) = scope().post_message(&JsValue::from_str(&text)) {
        web_sys::console::error_1(
            &format!("acorn engine: cannot post a reply: {}", describe(&e)).into(),
        );
    }
}

/// Replies not yet received, by request id (shared with the worker's message handler).
type Pending = Rc<RefCell<HashMap<u64, oneshot::Sender<ApiResponse>>>>;

struct ClientInner {
    worker: Worker,
    next_id: Cell<u64>,
    pending: Pending,
    /// Resolves at the worker's first packet (its `Hello`): a message posted before the
    /// worker's wasm has installed its handler would be lost, so calls wait for this.
    ready: Shared<oneshot::Receiver<()>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The page's handle on the engine worker: Druid's endpoints as async calls.
#[derive(Clone)]
pub struct EngineClient {
    inner: Rc<ClientInner>,
}

impl std::fmt::Debug for EngineClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineClient")
            .field("pending", &self.inner.pending.borrow().len())
            .finish()
    }
}

impl EngineClient {
    /// Starts the engine worker from `script_url` (the worker binary's loader,
    /// [`crate::hosts::WORKER_SCRIPT`]).
    ///
    /// # Errors
    /// When the browser refuses to create the worker.
    pub fn start(script_url: &str) -> Result<EngineClient, String> {
        let worker = Worker::new(script_url).map_err(|e| {
            format!(
                "could not start the engine worker from {script_url}: {}",
                describe(&e)
            )
        })?;
        let pending: Pending = Rc::default();
        let (ready_tx, ready_rx) = oneshot::channel();
        let mut ready_tx = Some(ready_tx);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let pending = pending.clone();
            move |event: MessageEvent| {
                // Strings are API responses; objects are pool packets, of which only the
                // first (the worker's hello) matters here: the worker is listening.
                let Some(text) = event.data().as_string() else {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(());
                    }
                    return;
                };
                match serde_json::from_str::<ApiResponse>(&text) {
                    Ok(response) => {
                        if let Some(tx) = pending.borrow_mut().remove(&response.reply_to) {
                            let _ = tx.send(response);
                        }
                    }
                    Err(e) => web_sys::console::error_1(
                        &format!("acorn: unreadable engine reply: {e}").into(),
                    ),
                }
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(EngineClient {
            inner: Rc::new(ClientInner {
                worker,
                next_id: Cell::new(1),
                pending,
                ready: ready_rx.shared(),
                _on_message: on_message,
            }),
        })
    }

    /// Calls one endpoint and waits for its answer.
    pub async fn call(&self, call: ApiCall) -> ApiResponse {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        let (tx, rx) = oneshot::channel();
        self.inner.pending.borrow_mut().insert(id, tx);
        let text = serde_json::to_string(&ApiRequest { id, call }).unwrap_or_default();
        if self.inner.ready.clone().await.is_err() {
            self.inner.pending.borrow_mut().remove(&id);
            return ApiResponse {
                reply_to: id,
                status: 503,
                body: json!({"error": "the engine worker stopped before it started listening"}),
            };
        }
        if let Err(e) = self.inner.worker.post_message(&JsValue::from_str(&text)) {
            self.inner.pending.borrow_mut().remove(&id);
            return ApiResponse {
                reply_to: id,
                status: 503,
                body: json!({"error": format!("the engine worker is not reachable: {}", describe(&e))}),
            };
        }
        rx.await.unwrap_or(ApiResponse {
            reply_to: id,
            status: 503,
            body: json!({"error": "the engine worker stopped before answering"}),
        })
    }
}
