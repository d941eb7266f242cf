//! One query tab (≙ Druid's `QueryTab`): the SQL editor on top, the run panel, and the output
//! area, which shows exactly one of: the placeholder, the "no engine" notice, a submit loader,
//! a submit error, a report (live or loaded), or an EXPLAIN (loader, error, plan). This
//! component only wires; the run logic is in [`crate::runner`] and [`crate::explain`], the
//! panes in [`ExecutionReportPane`] and [`ExplainPane`].

use crate::api::IN_BROWSER_ENGINE;
use crate::execution::Execution;
use crate::explain;
use crate::runner::{self, NO_ENGINE_MESSAGE};
use crate::views::workbench::execution_error_pane::{ErrorView, ExecutionErrorPane};
use crate::views::workbench::execution_report_pane::ExecutionReportPane;
use crate::views::workbench::explain_pane::ExplainPane;
use crate::views::workbench::flexible_query_input::FlexibleQueryInput;
use crate::views::workbench::run_panel::RunPanel;
use crate::workbench_state::TabState;
use leptos::prelude::*;

/// Which pane fills the output area; a new `Report` key means a different report.
#[derive(Debug, Clone, PartialEq)]
enum OutputMode {
    Idle,
    NoEngine,
    Submitting(String),
    SubmitFailed,
    Waiting(String),
    Report(String),
    Explaining(String),
    ExplainFailed,
    Explained(String),
}

fn output_mode(e: &Execution) -> OutputMode {
    match e {
        Execution::Idle => OutputMode::Idle,
        Execution::NoEngine => OutputMode::NoEngine,
        Execution::Submitting { router } => OutputMode::Submitting(router.clone()),
        Execution::SubmitFailed(_) => OutputMode::SubmitFailed,
        Execution::Live(run) if run.report.is_none() => OutputMode::Waiting(run.task_id.clone()),
        Execution::Live(run) => OutputMode::Report(format!("live:{}", run.task_id)),
        Execution::Loaded(r) => {
            OutputMode::Report(format!("loaded:{:p}", std::sync::Arc::as_ptr(&r.0)))
        }
        Execution::Explaining { router } => OutputMode::Explaining(router.clone()),
        Execution::ExplainFailed(_) => OutputMode::ExplainFailed,
        Execution::Explained(p) => {
            OutputMode::Explained(format!("{:p}", std::sync::Arc::as_ptr(&p.0)))
        }
    }
}

/// The live-run line: task id, polling state, staleness, a poll error.
#[derive(Debug, Clone, PartialEq)]
struct LiveLine {
    task_id: String,
    router: String,
    polling: bool,
    canceling: bool,
    stale: Option<String>,
    error: Option<ErrorView>,
    submitted_ms: f64,
}

/// The editor, run panel and output of one tab.
#[component]
pub fn QueryTab(
    /// The tab.
    tab: TabState,
    /// The Druid router URL Run submits to.
    #[prop(into)]
    router_url: Signal<String>,
    /// Opens the Load report dialog.
    on_load_report: Callback<()>,
) -> impl IntoView {
    let execution = tab.execution;
    let mode = Memo::new(move |_| execution.with(output_mode));
    let report = Memo::new(move |_| execution.with(Execution::report));
    let running = Signal::derive(move || execution.with(Execution::is_running));
    let live = Memo::new(move |_| {
        execution.with(|e| match e {
            Execution::Live(run) => Some(LiveLine {
                task_id: run.task_id.clone(),
                router: run.router.clone(),
                polling: run.polling,
                canceling: run.canceling,
                stale: run.stale.clone(),
                submitted_ms: run.submitted_ms,
                error: run
                    .error
                    .as_ref()
                    .map(|e| ErrorView::from_api("Polling the task report failed", e)),
            }),
            _ => None,
        })
    });
    let canceling = Signal::derive(move || live.with(|l| l.as_ref().is_some_and(|l| l.canceling)));
    let on_run = Callback::new(move |()| {
        if !execution.with_untracked(Execution::is_running) {
            runner::run(tab, &router_url.get_untracked());
        }
    });
    let on_cancel = Callback::new(move |()| runner::cancel(tab));
    let explaining = Signal::derive(move || execution.with(Execution::is_explaining));
    let on_explain = Callback::new(move |()| {
        let busy = execution.with_untracked(|e| e.is_running() || e.is_explaining());
        if !busy {
            explain::explain(tab, &router_url.get_untracked());
        }
    });

    let output = move || {
        match mode.get() {
        OutputMode::Idle => view! {
            <div class="output-placeholder" id="output-placeholder">
                "Enter a query and click Run, or Load report to open a Druid task report"
            </div>
        }
        .into_any(),
        OutputMode::NoEngine => view! {
            <div class="callout callout-primary" id="run-notice" role="status">{NO_ENGINE_MESSAGE}</div>
        }
        .into_any(),
        OutputMode::Submitting(router) => view! {
            <div class="output-loading" id="output-loading">
                <span class="spinner"></span>
                {format!("Submitting the query to {router}…")}
            </div>
        }
        .into_any(),
        OutputMode::SubmitFailed => {
            let error = Signal::derive(move || {
                execution.with(|e| match e {
                    Execution::SubmitFailed(err) => ErrorView::from_api("Submitting the query failed", err),
                    _ => ErrorView { title: String::new(), summary: String::new(), details: Vec::new(), stack_trace: None },
                })
            });
            view! { <ExecutionErrorPane error /> }.into_any()
        }
        OutputMode::Waiting(task_id) => view! {
            <div class="output-loading" id="output-loading">
                <span class="spinner"></span>
                {format!("Task {task_id} submitted; waiting for its report…")}
            </div>
        }
        .into_any(),
        OutputMode::Report(_) => match report.get_untracked() {
            Some(first) => {
                let current = Signal::derive(move || report.get().unwrap_or_else(|| first.clone()));
                view! { <ExecutionReportPane report=current /> }.into_any()
            }
            None => ().into_any(),
        },
        OutputMode::Explaining(router) => view! {
            <div class="output-loading" id="output-loading">
                <span class="spinner"></span>
                {format!("Explaining the query on {router}…")}
            </div>
        }
        .into_any(),
        OutputMode::ExplainFailed => {
            let error = Signal::derive(move || {
                execution.with(|e| match e {
                    Execution::ExplainFailed(err) => ErrorView::from_api("Explaining the query failed", err),
                    _ => ErrorView { title: String::new(), summary: String::new(), details: Vec::new(), stack_trace: None },
                })
            });
            view! { <ExecutionErrorPane error /> }.into_any()
        }
        OutputMode::Explained(_) => match execution.with_untracked(|e| match e {
            Execution::Explained(p) => Some(p.clone()),
            _ => None,
        }) {
            Some(plan) => view! { <ExplainPane plan /> }.into_any(),
            None => ().into_any(),
        },
    }
    };

    view! {
        <div class="query-tab" data-tab=tab.id>
            <div class="query-editor-pane">
                <FlexibleQueryInput sql=tab.sql on_run />
            </div>
            <RunPanel running canceling router_url on_run on_cancel explaining on_explain on_load_report />
            <div class="query-output" id="query-output">
                {move || live.get().map(live_bar)}
                {output}
            </div>
        </div>
    }
}

fn live_bar(l: LiveLine) -> impl IntoView {
    let state = if l.canceling {
        "canceling…"
    } else if l.polling && l.router == IN_BROWSER_ENGINE {
        "polling 4× a second"
    } else if l.polling {
        "polling every second"
    } else {
        "finished"
    };
    view! {
        <div class="live-bar" id="live-bar" data-polling=l.polling.to_string()>
            <span class="live-dot" class:live-dot-on=l.polling></span>
            <span>{format!("Task {} on {} · {state}", l.task_id, l.router)}</span>
            {l.polling.then(|| view! { <ElapsedTimer since_ms=l.submitted_ms /> })}
            {l.stale.map(|s| view! { <span class="tag tag-warning" id="live-stale">{format!("Network connectivity issues, showing the last report: {s}")}</span> })}
        </div>
        {l.error.map(|e| view! { <ExecutionErrorPane error=e /> })}
    }
}

/// Time since Run, ticking ten times a second while mounted (≙ Druid's
/// `execution-timer-panel`); the finished report's own duration replaces it.
#[component]
fn ElapsedTimer(since_ms: f64) -> impl IntoView {
    let now = RwSignal::new(js_sys::Date::now());
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(js_sys::Date::now()),
        std::time::Duration::from_millis(100),
    ) {
        on_cleanup(move || handle.clear());
    }
    view! {
        <span class="live-elapsed mono" id="live-elapsed">
            {move || format!("{:.1} s", ((now.get() - since_ms) / 1000.0).max(0.0))}
        </span>
    }
}
