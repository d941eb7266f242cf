//! The recent-tasks panel (≙ Druid's `RecentQueryTaskPanel`, spec
//! `druid-console-query-view.md` "recent tasks panel"), for the tasks this browser ran: status,
//! id, output ("data in report" or the datasource), created time and duration, newest first.
//!
//! The list lives in [`crate::recent_tasks`] (persisted in `localStorage`); clicking a task
//! shows its kept report in the active tab, the way "Load report" does. A task whose report
//! was not kept (too large, or storage full) says so instead.

use crate::execution::{LoadedReport, ReportRef};
use crate::format;
use crate::recent_tasks::{stored_report, RecentTask, RecentTasksState, MAX_REPORT_BYTES};
use leptos::prelude::*;
use msq_model::TaskReport;
use std::sync::Arc;

/// The CSS class of a status (`task-status-success`, …).
fn status_class(status: &str) -> String {
    format!("task-status task-status-{}", status.to_ascii_lowercase())
}

/// The status mark Druid's panel shows as an icon.
pub fn status_mark(status: &str) -> &'static str {
    match status {
        "SUCCESS" => "✓",
        "FAILED" => "✗",
        "CANCELED" => "⊘",
        _ => "•",
    }
}

/// The second line of an entry: `"2026-02-03 04:05:06.007 · 1,234 ms"`.
pub fn when_text(task: &RecentTask) -> String {
    format!(
        "{} · {}",
        format::pretty_iso(&task.created_time),
        format::millis(u64::try_from(task.duration_ms).unwrap_or(0))
    )
}

/// The recent tasks (`#recent-tasks-panel`).
#[component]
pub fn RecentTasksPanel(
    /// Shows a report in the active tab.
    on_open: Callback<ReportRef>,
) -> impl IntoView {
    let Some(state) = use_context::<RecentTasksState>() else {
        return view! {
            <section class="side-panel recent-tasks-panel" id="recent-tasks-panel">
                <h3 class="side-panel-title">"Recent tasks"</h3>
            </section>
        }
        .into_any();
    };
    let notice = RwSignal::new(None::<String>);
    let open = move |task: RecentTask| {
        if !task.report_kept {
            notice.set(Some(format!(
                "The report of {} was not kept (reports over {} or beyond the browser's storage quota keep their summary only).",
                task.task_id,
                format::bytes(MAX_REPORT_BYTES as u64)
            )));
            return;
        }
        let Some(raw) = stored_report(&task.task_id) else {
            notice.set(Some(format!(
                "The report of {} is no longer in this browser's storage.",
                task.task_id
            )));
            return;
        };
        match TaskReport::from_json(&raw) {
            Ok(report) => {
                notice.set(None);
                on_open.run(ReportRef(Arc::new(LoadedReport {
                    report,
                    raw,
                    source: format!("recent task {}", task.task_id),
                })));
            }
            Err(e) => notice.set(Some(format!(
                "The kept report of {} cannot be read: {e}",
                task.task_id
            ))),
        }
    };
    let entry = move |task: RecentTask| {
        let title = match &task.error {
            Some(e) => format!("{}\n{}", task.task_id, e),
            None => task.task_id.clone(),
        };
        let id = task.task_id.clone();
        let data_id = id.clone();
        let status = task.status.clone();
        let output = task.output_text();
        let when = when_text(&task);
        let kept = task.report_kept;
        let on_click = move |_| open(task.clone());
        view! {
            <li class="recent-task" data-task-id=data_id>
                <button class="recent-task-button" title=title on:click=on_click>
                    <span class=status_class(&status)>{format!("{} {status}", status_mark(&status))}</span>
                    <span class="recent-task-id">{id}</span>
                    <span class="recent-task-output">{output}</span>
                    <span class="recent-task-when">{when}</span>
                    {(!kept).then(|| view! { <span class="recent-task-no-report">"report not kept"</span> })}
                </button>
            </li>
        }
    };
    view! {
        <section class="side-panel recent-tasks-panel" id="recent-tasks-panel">
            <div class="side-panel-header">
                <h3 class="side-panel-title">"Recent tasks"</h3>
                <button
                    class="button button-small"
                    id="recent-tasks-clear"
                    title="Forget these tasks and their kept reports"
                    disabled=move || state.tasks.with(Vec::is_empty)
                    on:click=move |_| {
                        notice.set(None);
                        state.clear();
                    }
                >
                    "Clear"
                </button>
            </div>
            {move || notice.get().map(|n| view! { <div id="recent-tasks-notice" class="panel-note" role="status">{n}</div> })}
            {move || {
                state
                    .tasks
                    .with(Vec::is_empty)
                    .then(|| view! { <div id="recent-tasks-empty" class="panel-note">"Tasks you run appear here."</div> })
            }}
            <ul class="recent-task-list" id="recent-tasks-list">
                {move || state.tasks.get().into_iter().map(entry).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_as_druid_words_them() {
        let task = RecentTask {
            task_id: "query-1".into(),
            status: "CANCELED".into(),
            datasource: "wikipedia".into(),
            duration_ms: 1234,
            created_time: "2026-02-03T04:05:06.007Z".into(),
            router: String::new(),
            error: None,
            report_kept: false,
        };
        assert_eq!(when_text(&task), "2026-02-03 04:05:06.007 · 1,234 ms");
        assert_eq!(status_mark("CANCELED"), "⊘");
        assert_eq!(status_class("SUCCESS"), "task-status task-status-success");
    }
}
