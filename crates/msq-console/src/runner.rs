//! Run, poll and cancel for one tab (≙ Druid's `sql-task-execution.ts` driven by its
//! `QueryManager`, spec §2.1): submit the tab's SQL and context, wait 500 ms, then fetch the
//! task report every second until it is `SUCCESS` or `FAILED`.
//!
//! Like Druid's console, a network error while polling does not stop the poll (the output shows
//! it as stale) while any other error does; a 404 from the reports endpoint means the task is
//! still starting. Each run has a token ([`TabState::next_run_token`]); a poll loop whose token
//! is no longer current (a newer Run, the tab closed) stops quietly.

use crate::api::{ApiError, DruidHttpApi, ReportPoll};
use crate::execution::{Execution, LiveRun, LoadedReport, ReportRef};
use crate::workbench_state::TabState;
use gloo::timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_model::SqlTaskRequest;
use std::sync::Arc;

/// Delay before the first report poll (Druid: `backgroundStatusCheckInitDelay`).
pub const FIRST_POLL_MS: u32 = 500;
/// Delay between report polls (Druid: `backgroundStatusCheckDelay`).
pub const POLL_EVERY_MS: u32 = 1000;

/// The message shown when Run is pressed without an engine.
pub const NO_ENGINE_MESSAGE: &str =
    "No engine connected: set a Druid router URL in the context panel, or use Load report to open a report.";

/// Submits the tab's SQL to the router at `router_url` and polls its report.
pub fn run(tab: TabState, router_url: &str) {
    let Some(api) = DruidHttpApi::new(router_url) else {
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
    TimeoutFuture::new(FIRST_POLL_MS).await;
    loop {
        if !tab.is_current(token) {
            return;
        }
        let mut done = false;
        match api.task_report(&task_id).await {
            Ok(ReportPoll::Report(report, raw)) => {
                done = report.status().status.is_terminal();
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
        TimeoutFuture::new(POLL_EVERY_MS).await;
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
    let Some(api) = DruidHttpApi::new(&router) else {
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
