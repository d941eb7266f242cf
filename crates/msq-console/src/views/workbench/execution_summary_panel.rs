//! The line above a report (≙ Druid's `ExecutionSummaryPanel` + `ExecutionProgressBarPane`):
//! status badge, task id, start, duration, rows in, and while running the overall and
//! current-stage progress bars.

use crate::components::progress_bar::ProgressBar;
use crate::execution::ReportRef;
use crate::format;
use leptos::prelude::*;
use msq_model::TaskState;

/// The summary of one report.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    status: TaskState,
    task_id: String,
    start: Option<String>,
    duration: Option<String>,
    rows_in: String,
    results: Option<(usize, bool)>,
    warnings: usize,
    tasks: Option<String>,
    overall: f64,
    current: Option<(usize, usize, f64)>,
    source: String,
}

fn summarize(r: &ReportRef) -> Summary {
    let report = &r.report;
    let status = report.status();
    let stages = report.stages();
    let tasks = match (status.running_tasks, status.pending_tasks) {
        (Some(run), Some(pend)) if run >= 0 && pend >= 0 => Some(format!(
            "{} running, {} pending",
            format::thousands(run.into()),
            format::thousands(pend.into())
        )),
        _ => None,
    };
    Summary {
        status: status.status.normalized(),
        task_id: report.task_id().to_owned(),
        start: status.start_time.as_deref().map(format::pretty_iso),
        duration: (status.duration_ms >= 0)
            .then(|| format::millis(status.duration_ms.unsigned_abs())),
        rows_in: format::thousands(stages.total_rows_in().into()),
        results: report
            .payload()
            .results
            .as_ref()
            .map(|res| (res.results.len(), res.is_truncated())),
        warnings: status.warnings.len(),
        tasks,
        overall: stages.overall_progress(),
        current: stages.current_stage_index().map(|i| {
            (
                i + 1,
                stages.stage_count(),
                stages.stage_progress(&stages.stages()[i]),
            )
        }),
        source: r.source.clone(),
    }
}

/// Status, ids and timings of a report; progress bars while it runs.
#[component]
pub fn ExecutionSummaryPanel(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let summary = Memo::new(move |_| report.with(summarize));
    let status = move || summary.with(|s| s.status.as_str());
    let running = move || summary.with(|s| s.status == TaskState::Running);
    let field = |label: &'static str, id: &'static str, value: Signal<Option<String>>| {
        move || {
            value.get().map(|v| {
                view! {
                    <span class="summary-field">
                        <span class="summary-label">{label}</span>
                        <span class="summary-value" id=id>{v}</span>
                    </span>
                }
            })
        }
    };
    let start = Signal::derive(move || summary.with(|s| s.start.clone()));
    let duration = Signal::derive(move || summary.with(|s| s.duration.clone()));
    let rows_in = Signal::derive(move || summary.with(|s| Some(s.rows_in.clone())));
    let tasks = Signal::derive(move || summary.with(|s| s.tasks.clone()));
    let results = Signal::derive(move || {
        summary.with(|s| {
            s.results.map(|(n, truncated)| {
                format!(
                    "{}{}",
                    format::thousands(n as i128),
                    if truncated { " (truncated)" } else { "" }
                )
            })
        })
    });
    let warnings =
        Signal::derive(move || summary.with(|s| (s.warnings > 0).then(|| s.warnings.to_string())));
    view! {
        <div class="execution-summary" id="execution-summary">
            <div class="summary-line">
                <span
                    id="execution-status"
                    class=move || format!("status-badge status-{}", status().to_ascii_lowercase())
                    data-status=status
                >
                    {status}
                </span>
                <span class="summary-field">
                    <span class="summary-label">"Task"</span>
                    <span class="summary-value mono" id="execution-task-id">{move || summary.with(|s| s.task_id.clone())}</span>
                </span>
                {field("Started", "execution-start", start)}
                {field("Duration", "execution-duration", duration)}
                {field("Rows in", "execution-rows-in", rows_in)}
                {field("Results", "execution-results-count", results)}
                {field("Warnings", "execution-warnings-count", warnings)}
                {field("Tasks", "execution-tasks", tasks)}
                <span class="summary-source">{move || summary.with(|s| format!("from {}", s.source))}</span>
            </div>
            <Show when=running>
                <div class="summary-progress">
                    <div class="progress-row" id="overall-progress">
                        <span class="progress-title">"Overall"</span>
                        <ProgressBar
                            fraction=Signal::derive(move || summary.with(|s| s.overall))
                            class="progress-running"
                            label=Signal::derive(move || summary.with(|s| format::percent(s.overall)))
                        />
                    </div>
                    {move || {
                        summary
                            .with(|s| s.current)
                            .map(|(i, n, p)| {
                                view! {
                                    <div class="progress-row" id="current-stage-progress">
                                        <span class="progress-title">{format!("Current stage ({i} of {n})")}</span>
                                        <ProgressBar fraction=p class="progress-running" label=format::percent(p) />
                                    </div>
                                }
                            })
                    }}
                </div>
            </Show>
        </div>
    }
}
