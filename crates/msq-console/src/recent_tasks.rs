//! The tasks this browser ran (≙ the list of Druid's recent-tasks panel, spec
//! `druid-console-query-view.md` "recent tasks panel", narrowed to this browser's own runs):
//! kept in `localStorage` so they survive a reload, newest first, at most [`MAX_TASKS`].
//!
//! Each finished task keeps its report JSON under its own key ([`report_key`]) when it is at
//! most [`MAX_REPORT_BYTES`] long and storage has room (when it is full, the oldest kept
//! reports are freed first); otherwise only the summary is kept and the entry says so
//! ([`RecentTask::report_kept`]). The list itself stays small, so one large
//! report can never cost the list.
//!
//! The pure rules (building an entry from a report, adding it, reading a stored list) are plain
//! functions tested natively; [`RecentTasksState`] is the reactive list the panel reads, and
//! [`record_finished`] is the one hook the runner calls when a report reaches a terminal state.

use leptos::prelude::{GetUntracked, RwSignal, Set, Update};
use msq_model::{TaskReport, TaskState};
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// The `localStorage` key of the list.
pub const STORAGE_KEY: &str = "acorn.recentTasks.v1";
/// The prefix of the `localStorage` keys holding kept reports.
pub const REPORT_KEY_PREFIX: &str = "acorn.recentTasks.report.";
/// How many tasks the list keeps.
pub const MAX_TASKS: usize = 50;
/// The largest report JSON kept (bytes of UTF-8 text).
pub const MAX_REPORT_BYTES: usize = 1_000_000;
/// The status Druid's console shows for a task a user shut down (`error_msg` is
/// `"Shutdown request from user"`; in a report, the fault code is `Canceled`).
pub const CANCELED: &str = "CANCELED";
/// The `dataSource` of SELECT tasks (Druid's `INLINE_DATASOURCE_MARKER`).
pub const SELECT_DATA_SOURCE: &str = "__query_select";

/// One finished task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentTask {
    /// The controller task id.
    pub task_id: String,
    /// `SUCCESS`, `FAILED` or `CANCELED`.
    pub status: String,
    /// The datasource written, or [`SELECT_DATA_SOURCE`] for a SELECT.
    pub datasource: String,
    /// How long the task ran (the report's `durationMs`).
    pub duration_ms: i64,
    /// When it started (ISO-8601; the report's `startTime`, else when it was recorded).
    pub created_time: String,
    /// The engine it ran on (a router URL or "the in-browser engine").
    #[serde(default)]
    pub router: String,
    /// The error summary of a failed task.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether the report JSON is kept under [`report_key`].
    #[serde(default)]
    pub report_kept: bool,
}

impl RecentTask {
    /// The entry for a finished `report` run on `router`; `now_iso` is used when the report
    /// has no `startTime`. `report_kept` starts false (the caller sets it once stored).
    pub fn from_report(report: &TaskReport, router: &str, now_iso: &str) -> RecentTask {
        let status = report.status();
        let canceled = status
            .error_report
            .as_ref()
            .is_some_and(|e| e.error.error_code == "Canceled");
        RecentTask {
            task_id: report.multi_stage_query.task_id.clone(),
            status: if canceled {
                CANCELED.to_owned()
            } else {
                status.status.as_str().to_owned()
            },
            datasource: report
                .stages()
                .ingest_summary()
                .map(|s| s.data_source)
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| SELECT_DATA_SOURCE.to_owned()),
            duration_ms: status.duration_ms,
            created_time: status
                .start_time
                .clone()
                .unwrap_or_else(|| now_iso.to_owned()),
            router: router.to_owned(),
            error: status.error_report.as_ref().map(|e| e.summary()),
            report_kept: false,
        }
    }

    /// Whether the task succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == TaskState::Success.as_str()
    }

    /// What the task produced, as Druid's panel words it: "data in report" for a SELECT, else
    /// the datasource.
    pub fn output_text(&self) -> String {
        if self.datasource == SELECT_DATA_SOURCE {
            "data in report".to_owned()
        } else {
            self.datasource.clone()
        }
    }
}

/// The `localStorage` key of a task's kept report.
pub fn report_key(task_id: &str) -> String {
    format!("{REPORT_KEY_PREFIX}{task_id}")
}

/// Whether a report of this JSON text is small enough to keep.
pub fn report_fits(raw: &str) -> bool {
    raw.len() <= MAX_REPORT_BYTES
}

/// Reads a stored list; anything unreadable gives an empty list, never a panic.
pub fn load(stored: Option<&str>) -> Vec<RecentTask> {
    let mut tasks: Vec<RecentTask> = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    tasks.truncate(MAX_TASKS);
    tasks
}

/// The JSON stored under [`STORAGE_KEY`].
pub fn to_json(tasks: &[RecentTask]) -> String {
    // Plain strings, numbers and bools: serialising cannot fail.
    serde_json::to_string(tasks).unwrap_or_default()
}

/// Puts `task` first (replacing an entry with its id) and caps the list at [`MAX_TASKS`];
/// returns the ids of entries pushed off the end (their kept reports should be removed).
pub fn add(tasks: &mut Vec<RecentTask>, task: RecentTask) -> Vec<String> {
    tasks.retain(|t| t.task_id != task.task_id);
    tasks.insert(0, task);
    if tasks.len() > MAX_TASKS {
        tasks
            .split_off(MAX_TASKS)
            .into_iter()
            .map(|t| t.task_id)
            .collect()
    } else {
        Vec::new()
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The kept report JSON of `task_id`, if any.
pub fn stored_report(task_id: &str) -> Option<String> {
    local_storage()?
        .get_item(&report_key(task_id))
        .ok()
        .flatten()
}

/// The reactive list the recent-tasks panel shows, and a counter of successful runs the
/// datasource browser refreshes on. Created once by `WorkbenchView` ([`RecentTasksState::install`]).
#[derive(Debug, Clone, Copy)]
pub struct RecentTasksState {
    /// The tasks, newest first.
    pub tasks: RwSignal<Vec<RecentTask>>,
    /// Bumped whenever a run finishes `SUCCESS`.
    pub successes: RwSignal<u64>,
}

thread_local! {
    static CURRENT: Cell<Option<RecentTasksState>> = const { Cell::new(None) };
}

impl RecentTasksState {
    /// The list from `localStorage`, made the one [`record_finished`] updates.
    pub fn install() -> RecentTasksState {
        let stored = local_storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let state = RecentTasksState {
            tasks: RwSignal::new(load(stored.as_deref())),
            successes: RwSignal::new(0),
        };
        CURRENT.with(|c| c.set(Some(state)));
        state
    }

    /// Forgets every task and its kept report.
    pub fn clear(&self) {
        let tasks = self.tasks.get_untracked();
        if let Some(storage) = local_storage() {
            for t in &tasks {
                let _ = storage.remove_item(&report_key(&t.task_id));
            }
            let _ = storage.remove_item(STORAGE_KEY);
        }
        self.tasks.set(Vec::new());
    }
}

/// Frees the kept report of the oldest task that has one (other than `except`), marking it
/// not kept; false when there is none left to free.
fn free_oldest_report(storage: &web_sys::Storage, tasks: &mut [RecentTask], except: &str) -> bool {
    let Some(oldest) = tasks
        .iter_mut()
        .rev()
        .find(|t| t.report_kept && t.task_id != except)
    else {
        return false;
    };
    let _ = storage.remove_item(&report_key(&oldest.task_id));
    oldest.report_kept = false;
    true
}

/// Records a task whose report reached a terminal state (called by the runner's poll loop):
/// keeps the report when it fits (freeing older kept reports if storage is full), adds the
/// entry, persists, and updates the panel.
pub fn record_finished(report: &TaskReport, raw: &str, router: &str) {
    let now = String::from(js_sys::Date::new_0().to_iso_string());
    let mut task = RecentTask::from_report(report, router, &now);
    let storage = local_storage();
    let state = CURRENT.with(Cell::get);
    let mut tasks = match state {
        Some(s) => s.tasks.get_untracked(),
        None => load(
            storage
                .as_ref()
                .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
                .as_deref(),
        ),
    };
    if let (Some(storage), true) = (&storage, report_fits(raw)) {
        let key = report_key(&task.task_id);
        task.report_kept = loop {
            if storage.set_item(&key, raw).is_ok() {
                break true;
            }
            if !free_oldest_report(storage, &mut tasks, &task.task_id) {
                break false;
            }
        };
    }
    let succeeded = task.succeeded();
    let evicted = add(&mut tasks, task);
    if let Some(storage) = &storage {
        for id in &evicted {
            let _ = storage.remove_item(&report_key(id));
        }
        // The list is small; should storage still be full, older reports make room for it.
        while storage.set_item(STORAGE_KEY, &to_json(&tasks)).is_err() {
            if !free_oldest_report(storage, &mut tasks, "") {
                break;
            }
        }
    }
    if let Some(s) = state {
        s.tasks.set(tasks);
        if succeeded {
            s.successes.update(|n| *n += 1);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(json: &str) -> TaskReport {
        TaskReport::from_json(json).unwrap()
    }

    fn entry(id: &str) -> RecentTask {
        RecentTask {
            task_id: id.to_owned(),
            status: "SUCCESS".to_owned(),
            datasource: SELECT_DATA_SOURCE.to_owned(),
            duration_ms: 5,
            created_time: "2026-01-01T00:00:00.000Z".to_owned(),
            router: String::new(),
            error: None,
            report_kept: true,
        }
    }

    #[test]
    fn entries_come_from_reports() {
        let ok = report(
            r#"{"multiStageQuery":{"type":"multiStageQuery","taskId":"query-1","payload":{"status":{"status":"SUCCESS","startTime":"2026-02-03T04:05:06.007Z","durationMs":1234},"stages":[]}}}"#,
        );
        let t = RecentTask::from_report(&ok, "the in-browser engine", "now");
        assert_eq!(t.task_id, "query-1");
        assert_eq!(t.status, "SUCCESS");
        assert!(t.succeeded());
        assert_eq!(t.datasource, SELECT_DATA_SOURCE);
        assert_eq!(t.output_text(), "data in report");
        assert_eq!(t.duration_ms, 1234);
        assert_eq!(t.created_time, "2026-02-03T04:05:06.007Z");
        assert_eq!(t.error, None);

        let canceled = report(
            r#"{"multiStageQuery":{"type":"multiStageQuery","taskId":"query-2","payload":{"status":{"status":"FAILED","durationMs":10,"errorReport":{"taskId":"query-2","error":{"errorCode":"Canceled","errorMessage":"Query canceled by user or by task shutdown."}}}}}}"#,
        );
        let t = RecentTask::from_report(&canceled, "r", "2026-01-01T00:00:00.000Z");
        assert_eq!(t.status, CANCELED);
        assert!(!t.succeeded());
        assert_eq!(t.created_time, "2026-01-01T00:00:00.000Z");
        assert!(t.error.unwrap().starts_with("Canceled"));
    }

    #[test]
    fn the_list_is_newest_first_capped_and_deduplicated() {
        let mut tasks = Vec::new();
        for i in 0..MAX_TASKS {
            assert!(add(&mut tasks, entry(&format!("q{i}"))).is_empty());
        }
        assert_eq!(tasks[0].task_id, format!("q{}", MAX_TASKS - 1));
        assert_eq!(add(&mut tasks, entry("new")), vec!["q0".to_owned()]);
        assert_eq!(tasks.len(), MAX_TASKS);
        assert!(add(&mut tasks, entry("q5")).is_empty());
        assert_eq!(tasks[0].task_id, "q5");
        assert_eq!(tasks.iter().filter(|t| t.task_id == "q5").count(), 1);
        assert_eq!(tasks.len(), MAX_TASKS);
    }

    #[test]
    fn stored_lists_round_trip_and_bad_ones_are_empty() {
        let tasks = vec![entry("a"), entry("b")];
        assert_eq!(load(Some(&to_json(&tasks))), tasks);
        assert!(load(Some("{not json")).is_empty());
        assert!(load(None).is_empty());
        let old = r#"[{"taskId":"x","status":"FAILED","datasource":"w","durationMs":1,"createdTime":"t"}]"#;
        let read = load(Some(old));
        assert_eq!(read.len(), 1);
        assert!(!read[0].report_kept);
        assert_eq!(report_key("q"), "acorn.recentTasks.report.q");
        assert!(report_fits("{}"));
        assert!(!report_fits(&"x".repeat(MAX_REPORT_BYTES + 1)));
    }
}
