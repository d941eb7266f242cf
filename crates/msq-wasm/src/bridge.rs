//! Druid's endpoints for page scripts: the Service Worker relay and `window.acorn`.
//!
//! ```text
//!   fetch('/druid/v2/sql/task', …)            window.acorn.submit(sql, context)
//!        │ (page or devtools)                        │
//!        ▼                                           │
//!   web/sw.js (Service Worker) ── postMessage ──▶ page: serve_http ─┬─▶ EngineClient::call
//!        ▲   {acornApi: {method, path, body}}     (route_http)       │   (engine worker)
//!        └──────────── {status, body} on a MessageChannel ◀──────────┘
//! ```
//!
//! The Service Worker only relays (a Service Worker cannot reach a worker the page started);
//! routing is [`msq_protocol::api::route_http`] and answering is the engine's
//! `msq_runtime::api::handle`, so `fetch`, `window.acorn` and the console cannot disagree.
//! Only small JSON crosses the page's thread this way; no stage data.

use crate::codec::describe;
use crate::engine::EngineClient;
use js_sys::{Object, Promise, Reflect};
use msq_protocol::api::{route_http, ApiCall, ApiResponse};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{MessageEvent, MessagePort};

/// Where the Service Worker script is served (the site root, so its scope covers `/druid/`).
pub const SERVICE_WORKER_SCRIPT: &str = "./sw.js";

/// Answers one HTTP request (method, request target, body text) with the engine: the status
/// and JSON body Druid would send.
pub async fn serve_http(
    engine: &EngineClient,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> ApiResponse {
    match route_http(method, target, body) {
        Ok(call) => engine.call(call).await,
        Err(e) => ApiResponse {
            reply_to: 0,
            status: e.status,
            body: e.body,
        },
    }
}

fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}

/// Registers [`SERVICE_WORKER_SCRIPT`] and answers the requests it relays from this page. Where
/// Service Workers are unavailable (not a secure context, a private mode that refuses them) it
/// logs a warning: `window.acorn` and the console still work.
pub fn serve_service_worker(engine: EngineClient) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if !Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).unwrap_or(false) {
        warn("acorn: Service Workers are unavailable here; the Druid endpoints answer only through window.acorn");
        return;
    }
    let container = navigator.service_worker();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Ok(request) = Reflect::get(&event.data(), &JsValue::from_str("acornApi")) else {
            return;
        };
        if request.is_undefined() {
            return;
        }
        let Some(port) = event.ports().get(0).dyn_into::<MessagePort>().ok() else {
            return;
        };
        let field = |name: &str| {
            Reflect::get(&request, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
        };
        let method = field("method").unwrap_or_else(|| "GET".to_owned());
        let path = field("path").unwrap_or_default();
        let body = field("body");
        let engine = engine.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let response = serve_http(&engine, &method, &path, body.as_deref()).await;
            let answer = Object::new();
            let _ = Reflect::set(&answer, &"status".into(), &response.status.into());
            let _ = Reflect::set(&answer, &"body".into(), &response.body.to_string().into());
            if let Err(e) = port.post_message(&answer) {
                warn(&format!(
                    "acorn: cannot answer the Service Worker: {}",
                    describe(&e)
                ));
            }
        });
    });
    container.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let registration = container.register(SERVICE_WORKER_SCRIPT);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(registration).await {
            warn(&format!(
                "acorn: the Service Worker for the Druid endpoints did not register: {}",
                describe(&e)
            ));
        }
    });
}

/// The JSON `body` as a JS value (`JSON.parse` of its text: plain objects and arrays).
fn to_js(body: &Value) -> JsValue {
    js_sys::JSON::parse(&body.to_string()).unwrap_or(JsValue::NULL)
}

/// Resolves with the body of a 2xx answer; rejects with an `Error` whose message is Druid's
/// `errorMessage` (or `error`) and which carries `status` and `body`.
fn settle(response: ApiResponse) -> Result<JsValue, JsValue> {
    if response.is_success() {
        return Ok(to_js(&response.body));
    }
    let message = ["errorMessage", "error"]
        .iter()
        .find_map(|k| response.body.get(*k).and_then(Value::as_str))
        .map_or_else(|| response.body.to_string(), str::to_owned);
    let error = js_sys::Error::new(&format!("HTTP {}: {message}", response.status));
    let _ = Reflect::set(&error, &"status".into(), &response.status.into());
    let _ = Reflect::set(&error, &"body".into(), &to_js(&response.body));
    Err(error.into())
}

/// A JSON object argument (`undefined`/`null` → `{}`).
fn object_arg(value: &JsValue) -> Value {
    if value.is_undefined() || value.is_null() {
        return json!({});
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({}))
}

fn sql_request(query: &JsValue, context: &JsValue) -> Value {
    json!({
        "query": query.as_string().unwrap_or_default(),
        "context": object_arg(context),
    })
}

/// Builds an [`ApiCall`] from a `window.acorn` method's first two arguments.
type MakeCall = fn(JsValue, JsValue) -> ApiCall;

fn method(target: &Object, name: &str, f: Closure<dyn Fn(JsValue, JsValue, JsValue) -> Promise>) {
    let _ = Reflect::set(target, &JsValue::from_str(name), f.as_ref());
    f.forget();
}

/// Installs `window.acorn`, Druid's endpoints as promises (typed in `web/acorn.d.ts`):
///
/// | call | endpoint |
/// |---|---|
/// | `submit(query, context?)` | `POST /druid/v2/sql/task` → `{taskId, state}` |
/// | `status(taskId)` | `GET /druid/indexer/v1/task/<id>/status` |
/// | `report(taskId)` | `GET /druid/indexer/v1/task/<id>/reports` |
/// | `shutdown(taskId)` | `POST /druid/indexer/v1/task/<id>/shutdown` |
/// | `task(taskId)` | `GET /druid/indexer/v1/task/<id>` |
/// | `sql(query, context?)` | `POST /druid/v2/sql` (array of row objects) |
/// | `dropDatasource(name)` | `DELETE /druid/coordinator/v1/datasources/<name>` → `{numChangedSegments}` |
/// | `request(method, path, body?)` | any of the above by HTTP method and path |
///
/// A non-2xx answer rejects with an `Error` carrying `status` and Druid's error `body`.
pub fn install_window_api(engine: EngineClient) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let api = Object::new();
    let calls: [(&str, MakeCall); 7] = [
        ("submit", |q, c| ApiCall::Submit {
            request: sql_request(&q, &c),
        }),
        ("sql", |q, c| ApiCall::Sql {
            request: sql_request(&q, &c),
        }),
        ("status", |id, _| ApiCall::Status {
            task_id: id.as_string().unwrap_or_default(),
        }),
        ("report", |id, _| ApiCall::Report {
            task_id: id.as_string().unwrap_or_default(),
        }),
        ("shutdown", |id, _| ApiCall::Shutdown {
            task_id: id.as_string().unwrap_or_default(),
        }),
        ("task", |id, _| ApiCall::TaskPayload {
            task_id: id.as_string().unwrap_or_default(),
        }),
        ("dropDatasource", |name, _| ApiCall::DropDatasource {
            data_source: name.as_string().unwrap_or_default(),
        }),
    ];
    for (name, make) in calls {
        let engine = engine.clone();
        method(
            &api,
            name,
            Closure::new(move |a: JsValue, b: JsValue, _: JsValue| {
                let engine = engine.clone();
                let call = make(a, b);
                future_to_promise(async move { settle(engine.call(call).await) })
            }),
        );
    }
    method(
        &api,
        "request",
        Closure::new(move |m: JsValue, path: JsValue, body: JsValue| {
            let engine = engine.clone();
            let method = m.as_string().unwrap_or_else(|| "GET".to_owned());
            let path = path.as_string().unwrap_or_default();
            let body = if body.is_undefined() || body.is_null() {
                None
            } else {
                Some(
                    body.as_string()
                        .unwrap_or_else(|| object_arg(&body).to_string()),
                )
            };
            future_to_promise(async move {
                settle(serve_http(&engine, &method, &path, body.as_deref()).await)
            })
        }),
    );
    let _ = Reflect::set(&window, &JsValue::from_str("acorn"), &api);
}
