//! What a tab's output area shows: the state of its latest run or loaded report.
//!
//! Druid's `QueryTab` switches between an init placeholder, a loader, error panes and result
//! panes (spec §1 "query-tab"); [`Execution`] is that switch as data. A report is held in an
//! [`Arc`] behind [`ReportRef`], whose equality is pointer identity: a new poll result is a new
//! report, the same one is never compared field by field.

use crate::api::ApiError;
use crate::explain::ExplainRef;
use msq_model::TaskReport;
use std::sync::Arc;

/// A task report with the text it was read from.
#[derive(Debug)]
pub struct LoadedReport {
    /// The parsed report.
    pub report: TaskReport,
    /// The JSON text, for the raw JSON viewer and the download button.
    pub raw: String,
    /// Where it came from, e.g. `"file report.json"` or `"http://localhost:8888"`.
    pub source: String,
}

impl LoadedReport {
    /// The controller task id (`multiStageQuery.taskId`).
    pub fn task_id(&self) -> &str {
        &self.report.multi_stage_query.task_id
    }
}

/// A shared report; two `ReportRef`s are equal when they are the same report.
#[derive(Debug, Clone)]
pub struct ReportRef(pub Arc<LoadedReport>);

impl PartialEq for ReportRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for ReportRef {
    type Target = LoadedReport;
    fn deref(&self) -> &LoadedReport {
        &self.0
    }
}

/// A run against an engine that answered with a task id.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    /// The router the task was submitted to (cancel goes there too).
    pub router: String,
    /// The controller task id.
    pub task_id: String,
    /// The latest report, once the reports endpoint has one.
    pub report: Option<ReportRef>,
    /// Whether the console is still polling.
    pub polling: bool,
    /// Whether the user asked to cancel (shutdown sent, waiting for the FAILED report).
    pub canceling: bool,
    /// The latest poll failed with a network error; polling goes on (Druid shows this as
    /// "stale").
    pub stale: Option<String>,
    /// Polling stopped on this error (or the cancel request failed).
    pub error: Option<ApiError>,
    /// When Run submitted the task (`Date.now()`, ms): the run bar's elapsed-time ticker
    /// (≙ Druid's `execution-timer-panel`).
    pub submitted_ms: f64,
}

/// The state of a tab's output area.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Execution {
    /// Nothing run yet: the placeholder.
    #[default]
    Idle,
    /// Run was pressed with no engine connected.
    NoEngine,
    /// The SQL is on its way to the engine.
    Submitting {
        /// The router it was sent to.
        router: String,
    },
    /// The submit request failed (a planning error, the network…).
    SubmitFailed(ApiError),
    /// A submitted task, polled for its report.
    Live(LiveRun),
    /// A report opened with "Load report".
    Loaded(ReportRef),
    /// EXPLAIN was pressed: `EXPLAIN PLAN FOR …` is on its way to the interactive API.
    Explaining {
        /// The router it was sent to.
        router: String,
    },
    /// The EXPLAIN request failed (bad SQL is a 400 with Druid's message, or the network).
    ExplainFailed(ApiError),
    /// The plan EXPLAIN answered.
    Explained(ExplainRef),
}

impl Execution {
    /// The report to render, if any.
    pub fn report(&self) -> Option<ReportRef> {
        match self {
            Execution::Live(run) => run.report.clone(),
            Execution::Loaded(r) => Some(r.clone()),
            _ => None,
        }
    }

    /// Whether an EXPLAIN is in flight (the EXPLAIN button is disabled).
    pub fn is_explaining(&self) -> bool {
        matches!(self, Execution::Explaining { .. })
    }

    /// Whether a run is in flight (Run is disabled, Cancel shown).
    pub fn is_running(&self) -> bool {
        match self {
            Execution::Submitting { .. } => true,
            Execution::Live(run) => run.polling,
            _ => false,
        }
    }
}
