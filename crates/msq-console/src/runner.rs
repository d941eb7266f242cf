//! Run, poll and cancel for one tab (≙ Druid's `sql-task-execution.ts` driven by its
//! `QueryManager`, spec §2.1): submit the tab's SQL and context, then fetch the task report
//! until it is `SUCCESS` or `FAILED` — every second from a Druid router (Druid's pace), four
//! times a second from the in-browser engine (a live stage table is the point of running here).
//!
//! With no router URL set, Run goes to Acorn's own engine in a Web Worker, started when the
//! page opens and shared by every tab ([`in_browser_engine`]); the same engine answers
//! `window.acorn` and, through the Service Worker, `fetch('/druid/…')` from page scripts
//! ([`msq_wasm::bridge`]).
//!
//! Like Druid's console, a network error while polling does not stop the poll (the output shows
//! it as stale) while any other error does; a 404 from the reports endpoint means the task is
//! still starting. Each run has a token ([`TabState::next_run_token`]); a poll loop whose token
//! is no longer current (a newer Run, the tab closed) stops quietly.

use crate::api::{ApiError, DruidHttpApi, ReportPoll, IN_BROWSER_ENGINE};
use crate::execution::{Execution, LiveRun, LoadedReport, ReportRef};
use crate::workbench_state::TabState;
use gloo::timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_model::SqlTaskRequest;
use std::sync::Arc;

/// Delay before the first report poll of a router (Druid: `backgroundStatusCheckInitDelay`).
pub const FIRST_POLL_MS: u32 = 500;
/// Delay between report polls of a Druid router (Druid: `backgroundStatusCheckDelay`).
pub const POLL_EVERY_MS: u32 = 1000;
/// Delay between report polls of the in-browser engine (≥ 4 updates a second).
pub const IN_BROWSER_POLL_EVERY_MS: u32 = 250;

/// The message shown when Run finds no engine (the in-browser engine's worker could not start
/// and no router URL is set).
pub const NO_ENGINE_MESSAGE: &str =
    "No engine available: the in-browser engine could not start in this browser; set a Druid router URL in the context panel, or use Load report to open a report.";

thread_local! {
    static ENGINE: std::cell::RefCell<Option<msq_wasm::engine::EngineClient>> =
        const { std::cell::RefCell::new(None) };
}

/// The in-browser engine, started on first use (the page's entry point starts it at once),
/// with `window.acorn` and the Service Worker relay installed over it.
///
/// # Errors
/// Why its Web Worker could not be started.
pub fn in_browser_engine() -> Result<msq_wasm::engine::EngineClient, String> {
    ENGINE.with(|cell| {
        if let Some(client) = cell.borrow().as_ref() {
            return Ok(client.clone());
        }
        let client = msq_wasm::engine::EngineClient::start(msq_wasm::hosts::WORKER_SCRIPT)?;
        *cell.borrow_mut() = Some(client.clone());
        msq_wasm::bridge::install_window_api(client.clone());
        msq_wasm::bridge::serve_service_worker(client.clone());
        Ok(client)
    })
}

/// Where the in-browser engine keeps its segments, from its `GET /status` (`storage.kind` —
/// `"opfs"` or `"memory"` — and, for memory, why OPFS was not used); `None` when the engine
/// cannot be reached.
pub async fn in_browser_storage() -> Option<(String, Option<String>)> {
    let engine = in_browser_engine().ok()?;
    let status = engine.call(msq_protocol::api::ApiCall::ServerStatus).await;
    let storage = status.body.get("storage")?;
    let kind = storage.get("kind")?.as_str()?.to_owned();
    let note = storage
        .get("note")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Some((kind, note))
}

/// The API a run at `router` talks to: that router, or the in-browser engine when it is blank
/// (or is [`IN_BROWSER_ENGINE`], the label live runs keep).
fn api_for(router: &str) -> Option<DruidHttpApi> {
    if router == IN_BROWSER_ENGINE {
        return in_browser_engine().ok().map(DruidHttpApi::in_browser);
    }
    DruidHttpApi::new(router).or_else(|| in_browser_engine().ok().map(DruidHttpApi::in_browser))
}

/// Submits the tab's SQL to the router at `router_url` (the in-browser engine when blank) and
/// polls its report.
pub fn run(tab: TabState, router_url: &str) {
    let Some(api) = api_for(router_url) else {
        tab.next_run_token();
        tab.execution.set(Execution::NoEngine);
        return;
    };
    let token = tab.next_run_token();
    let mut request = SqlTaskRequest::new(tab.sql.get_untracked());
    request.context = tab.context.with_untracked(|c| c.to_druid());
    tab.execution.set(Execution::Submitting {
        router: api.router().to_owned(),
    });
    let submitted_ms = js_sys::Date::now();
    spawn_local(async move {
        let submitted = api.submit_sql_task(&request).await;
        if !tab.is_current(token) {
            return;
        }
        match submitted {
            Err(e) => {
                tab.execution.try_set(Execution::SubmitFailed(e));
            }
            Ok(response) => {
                tab.execution.try_set(Execution::Live(LiveRun {
                    router: api.router().to_owned(),
                    task_id: response.task_id.clone(),
                    report: None,
                    polling: true,
                    canceling: false,
                    stale: None,
                    error: None,
                    submitted_ms,
                }));
                poll(tab, token, api, response.task_id).await;
            }
        }
    });
}

/// Applies `f` to the tab's live run, if the tab still shows run `token`.
fn update_live(tab: TabState, token: u64, f: impl FnOnce(&mut LiveRun)) {
    if !tab.is_current(token) {
        return;
    }
    tab.execution.try_update(|e| {
        if let Execution::Live(run) = e {
            f(run);
        }
    });
}

async fn poll(tab: TabState, token: u64, api: DruidHttpApi, task_id: String) {
    TimeoutFuture::new(if api.router() == IN_BROWSER_ENGINE {
        IN_BROWSER_POLL_EVERY_MS
    } else {
        FIRST_POLL_MS
    })
    .await;
    loop {
        if !tab.is_current(token) {
            return;
        }
        let mut done = false;
        match api.task_report(&task_id).await {
            Ok(ReportPoll::Report(report, raw)) => {
                done = report.status().status.is_terminal();
                if done {
                    crate::recent_tasks::record_finished(&report, &raw, api.router());
                }
                let loaded = ReportRef(Arc::new(LoadedReport {
                    report: *report,
                    raw,
                    source: api.router().to_owned(),
                }));
                update_live(tab, token, |run| {
                    run.report = Some(loaded);
                    run.stale = None;
                    run.polling = !done;
                    if done {
                        run.canceling = false;
                    }
                });
            }
            Ok(ReportPoll::NotYet) => update_live(tab, token, |run| run.stale = None),
            Err(ApiError::Network { message, .. }) => {
                update_live(tab, token, |run| run.stale = Some(message));
            }
            Err(e) => {
                update_live(tab, token, |run| {
                    run.error = Some(e);
                    run.polling = false;
                    run.canceling = false;
                });
                return;
            }
        }
        if done {
            return;
        }
        TimeoutFuture::new(if api.router() == IN_BROWSER_ENGINE {
            IN_BROWSER_POLL_EVERY_MS
        } else {
            POLL_EVERY_MS
        })
        .await;
    }
}

/// Asks the engine to shut the tab's live task down (`POST …/shutdown`); polling goes on until
/// the report says `FAILED` (`Canceled`).
pub fn cancel(tab: TabState) {
    let token = tab.run_token.get_value();
    let live = tab.execution.with_untracked(|e| match e {
        Execution::Live(run) if run.polling && !run.canceling => {
            Some((run.router.clone(), run.task_id.clone()))
        }
        _ => None,
    });
    let Some((router, task_id)) = live else {
        return;
    };
    let Some(api) = api_for(&router) else {
        return;
    };
    update_live(tab, token, |run| run.canceling = true);
    spawn_local(async move {
        if let Err(e) = api.cancel_task(&task_id).await {
            update_live(tab, token, |run| {
                run.canceling = false;
                run.error = Some(e);
            });
        }
    });
}

/// Stops any poll of the tab (it is being closed); the task itself keeps running, as in
/// Druid's console.
pub fn detach(tab: TabState) {
    tab.next_run_token();
}
