//! The task report (`GET /druid/indexer/v1/task/<id>/reports`; spec `druid-msq.md` §5,
//! example in `sql-ingestion-api.md`, "Get the report for a query task").
//!
//! ```text
//! TaskReport { "multiStageQuery": MultiStageQueryReport {
//!     "type", "taskId", "payload": ReportPayload {
//!         "status":   ReportStatus { status, errorReport?, warnings?, startTime?, durationMs, ... },
//!         "stages":   [StageReport { stageNumber, definition, phase?, workerCount?, ... }],
//!         "counters": CounterSnapshotsTree,
//!         "results"?: ResultsReport (SELECT only) } } }
//! ```
//!
//! Druid's Jackson writes reports sparsely: nulls, empty lists and some zeros/falses are
//! omitted (§5 "Field rules"). The types here follow those rules so that a parsed report is
//! written back as an equal JSON value, and keep fields they do not know in `extra`.

use crate::api::TaskState;
use crate::counters::{CounterSnapshot, CounterSnapshotsTree};
use crate::definition::{ColumnSignature, InputSpec, ProcessorSpec, ShuffleSpec, StageDefinition};
use crate::jackson::{is_false, is_none_or_zero};
use crate::stages::Stages;
use msq_common::{ErrorCategory, ErrorCode, MsqError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The body of the reports endpoint: `{"multiStageQuery": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// The MSQ report.
    #[serde(rename = "multiStageQuery")]
    pub multi_stage_query: MultiStageQueryReport,
    /// Other reports of the task (unknown to this model), kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `multiStageQuery`: the controller's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiStageQueryReport {
    /// Always `multiStageQuery`.
    #[serde(rename = "type", default = "multi_stage_query_type")]
    pub report_type: String,
    /// The controller task id.
    pub task_id: String,
    /// Status, stages, counters and results.
    pub payload: ReportPayload,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn multi_stage_query_type() -> String {
    "multiStageQuery".to_owned()
}

/// `multiStageQuery.payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPayload {
    /// Query status.
    pub status: ReportStatus,
    /// Stages of the query plan, by stage number. Omitted when empty (before planning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageReport>,
    /// Counters by stage and worker. Omitted when empty.
    #[serde(default, skip_serializing_if = "CounterSnapshotsTree::is_empty")]
    pub counters: CounterSnapshotsTree,
    /// SELECT results written to the report (`selectDestination: taskReport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsReport>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `payload.status`: where the query as a whole stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportStatus {
    /// `RUNNING`, `SUCCESS` or `FAILED` (the console also accepts `WAITING`, `PENDING`).
    pub status: TaskState,
    /// Why the query failed; only on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_report: Option<ErrorReport>,
    /// Warnings (same shape as the error report). Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ErrorReport>,
    /// ISO start time; omitted until the query starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Milliseconds since start; `-1` before it starts.
    #[serde(default = "minus_one")]
    pub duration_ms: i64,
    /// Worker tasks by worker number (`[{workerId, status, durationMs}]`), kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Value>,
    /// Tasks not fully started; `-1` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_tasks: Option<i64>,
    /// Tasks running, the controller included; `-1` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_tasks: Option<i64>,
    /// Segment loading, under the name the documentation's example uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_load_status: Option<SegmentLoadStatus>,
    /// Segment loading, under the name Druid's code writes (`waitUntilSegmentsLoad`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_load_waiter_status: Option<SegmentLoadStatus>,
    /// Fields this model does not know (e.g. `segmentReport`), kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn minus_one() -> i64 {
    -1
}

impl ReportStatus {
    /// A status with nothing but its state: not started (`durationMs: -1`).
    pub fn new(status: TaskState) -> Self {
        Self {
            status,
            error_report: None,
            warnings: Vec::new(),
            start_time: None,
            duration_ms: -1,
            workers: None,
            pending_tasks: None,
            running_tasks: None,
            segment_load_status: None,
            segment_load_waiter_status: None,
            extra: Map::new(),
        }
    }

    /// Segment loading under whichever name the report used (Druid's code name first).
    pub fn segment_load(&self) -> Option<&SegmentLoadStatus> {
        self.segment_load_waiter_status
            .as_ref()
            .or(self.segment_load_status.as_ref())
    }
}

/// Progress of loading the published segments onto historicals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentLoadStatus {
    /// `INIT`, `WAITING`, `SUCCESS`, `FAILED` or `TIMED_OUT`.
    pub state: String,
    /// The datasource loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// ISO time waiting started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Milliseconds waited.
    #[serde(default)]
    pub duration: i64,
    /// Segments generated, tombstones included.
    #[serde(default)]
    pub total_segments: i64,
    /// Segments marked used by the load rules.
    #[serde(default)]
    pub used_segments: i64,
    /// Segments loaded onto historicals.
    #[serde(default)]
    pub precached_segments: i64,
    /// Segments not loaded on any historical.
    #[serde(default)]
    pub on_demand_segments: i64,
    /// Segments still to load.
    #[serde(default)]
    pub pending_segments: i64,
    /// Segments of unknown state.
    #[serde(default)]
    pub unknown_segments: i64,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An error or warning with where it happened (`MSQErrorReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// Task that reported it (controller or worker), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `host:port` of that task, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Stage that failed, if the error belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_number: Option<u32>,
    /// The fault itself.
    pub error: MsqFault,
    /// Java-style stack trace, for server-side exceptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_stack_trace: Option<String>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ErrorReport {
    /// A report of `error` with no location.
    pub fn new(error: MsqFault) -> Self {
        Self {
            task_id: None,
            host: None,
            stage_number: None,
            error,
            exception_stack_trace: None,
            extra: Map::new(),
        }
    }

    /// The console's one-line message (`Execution.getErrorMessage`,
    /// `druid-console-query-view.md` §2.2): `"<errorCode>: <errorMessage>"`, falling back to
    /// the first line of the stack trace when there is no message.
    pub fn summary(&self) -> String {
        let detail = match self.error.error_message.as_deref() {
            Some(message) if !message.is_empty() => Some(message),
            _ => self
                .exception_stack_trace
                .as_deref()
                .and_then(|t| t.lines().next()),
        };
        join_code(&self.error.error_code, detail)
    }
}

fn join_code(code: &str, detail: Option<&str>) -> String {
    match detail {
        Some(detail) if !detail.is_empty() => format!("{code}: {detail}"),
        _ => code.to_owned(),
    }
}

/// A fault: `{"errorCode": "TooManyBuckets", "errorMessage": "...", "maxBuckets": 5000}`
/// (`MSQFault`; codes and extra fields in spec `druid-msq.md` §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MsqFault {
    /// Druid's fault code.
    pub error_code: String,
    /// User-facing message; not always present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The fault's own fields (`maxBuckets`, `columnName`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl MsqFault {
    /// A fault with a code and a message.
    pub fn new(error_code: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_code: error_code.into(),
            error_message: Some(error_message.into()),
            fields: Map::new(),
        }
    }

    /// Adds one of the fault's own fields.
    pub fn with_field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.insert(name.into(), value);
        self
    }

    /// The code as a known [`ErrorCode`], if it is one.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(&self.error_code)
    }

    /// `"<errorCode>: <errorMessage>"`, or just the code without a message.
    pub fn summary(&self) -> String {
        join_code(&self.error_code, self.error_message.as_deref())
    }
}

impl From<&MsqError> for MsqFault {
    fn from(error: &MsqError) -> Self {
        MsqFault::new(error.code().as_str(), error.message())
    }
}

impl From<MsqError> for MsqFault {
    fn from(error: MsqError) -> Self {
        MsqFault::from(&error)
    }
}

/// One stage's entry in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    /// Position in the DAG.
    pub stage_number: u32,
    /// What the stage does.
    pub definition: StageDefinition,
    /// Controller phase; omitted until the stage starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<StagePhase>,
    /// Workers running the stage. Omitted when 0 or unknown (`druid-msq.md` §5).
    #[serde(default, skip_serializing_if = "is_none_or_zero")]
    pub worker_count: Option<u32>,
    /// Output partitions. Omitted when 0 or unknown (`druid-msq.md` §5).
    #[serde(default, skip_serializing_if = "is_none_or_zero")]
    pub partition_count: Option<u32>,
    /// ISO start time; omitted until the stage starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Milliseconds the stage has run. Omitted when 0 or unknown (`druid-msq.md` §5).
    #[serde(default, skip_serializing_if = "is_none_or_zero")]
    pub duration: Option<i64>,
    /// Whether the stage sorts while shuffling. Omitted when false (`druid-msq.md` §5).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sort: bool,
    /// Fields this model does not know (newer `shuffle`, `output`), kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StageReport {
    /// A stage that has not started: no phase, counts or times.
    pub fn new(stage_number: u32, definition: StageDefinition) -> Self {
        Self {
            stage_number,
            definition,
            phase: None,
            worker_count: None,
            partition_count: None,
            start_time: None,
            duration: None,
            sort: false,
            extra: Map::new(),
        }
    }

    /// The processor type (`scan`, `segmentGenerator`, ...).
    pub fn processor_type(&self) -> &str {
        self.definition.processor.type_name()
    }
}

/// A stage's phase as the controller sees it (`ControllerStagePhase`; spec `druid-msq.md`
/// §4.6): `NEW → READING_INPUT → [POST_READING] → RESULTS_READY → FINISHED`, or `FAILED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StagePhase {
    /// Created, workers not started.
    New,
    /// Workers read their input.
    ReadingInput,
    /// Input read; sorting and partitioning (only for stages that gather key statistics).
    PostReading,
    /// Output ready for the next stage.
    ResultsReady,
    /// Done; outputs may be cleaned up, counters remain.
    Finished,
    /// Failed.
    Failed,
    /// `RESULTS_COMPLETE`: the older documentation's name for `RESULTS_READY`.
    ResultsComplete,
}

impl StagePhase {
    /// The phase as Druid spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StagePhase::New => "NEW",
            StagePhase::ReadingInput => "READING_INPUT",
            StagePhase::PostReading => "POST_READING",
            StagePhase::ResultsReady => "RESULTS_READY",
            StagePhase::Finished => "FINISHED",
            StagePhase::Failed => "FAILED",
            StagePhase::ResultsComplete => "RESULTS_COMPLETE",
        }
    }

    /// The console's label: `_` becomes a space and only the first letter stays capital
    /// ("Reading input", "Results ready"; `druid-console-query-view.md` §3).
    pub fn label(self) -> String {
        let lower = self.as_str().replace('_', " ").to_lowercase();
        let mut chars = lower.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// Workers are at work: `READING_INPUT` or `POST_READING`.
    pub fn is_running(self) -> bool {
        matches!(self, StagePhase::ReadingInput | StagePhase::PostReading)
    }

    /// Finished successfully: `RESULTS_READY`, `FINISHED` (or the older `RESULTS_COMPLETE`).
    pub fn is_done(self) -> bool {
        matches!(
            self,
            StagePhase::ResultsReady | StagePhase::Finished | StagePhase::ResultsComplete
        )
    }
}

impl fmt::Display for StagePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SELECT results written into the report (`MSQResultsReport`), truncated to 3,000 rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsReport {
    /// Result columns; names may repeat.
    pub signature: Vec<ColumnSignature>,
    /// SQL type of each column (`BIGINT`, `VARCHAR`, `TIMESTAMP`, ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_type_names: Option<Vec<String>>,
    /// Rows as arrays of JSON values, in signature order.
    pub results: Vec<Vec<Value>>,
    /// Whether rows were cut off; written by Druid, kept absent when it came absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_truncated: Option<bool>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResultsReport {
    /// Whether the rows were truncated.
    pub fn is_truncated(&self) -> bool {
        self.results_truncated == Some(true)
    }
}

impl ReportPayload {
    /// A payload with a status and nothing else.
    pub fn new(status: ReportStatus) -> Self {
        Self {
            status,
            stages: Vec::new(),
            counters: CounterSnapshotsTree::new(),
            results: None,
            extra: Map::new(),
        }
    }

    /// The progress math over this payload's stages and counters.
    pub fn stages(&self) -> Stages<'_> {
        Stages::new(&self.stages, &self.counters)
    }

    /// The console's `hasPotentiallyStuckStage` (`druid-console-query-view.md` §2.2): the
    /// query runs, tasks are pending, and a stage has not started although the stage before
    /// it is past reading input.
    pub fn has_potentially_stuck_stage(&self) -> bool {
        self.status.status == TaskState::Running
            && self.status.pending_tasks.unwrap_or(0) > 0
            && self.stages().potentially_stuck_stage_index().is_some()
    }
}

impl TaskReport {
    /// A report for `task_id` with the given payload.
    pub fn new(task_id: impl Into<String>, payload: ReportPayload) -> Self {
        Self {
            multi_stage_query: MultiStageQueryReport {
                report_type: multi_stage_query_type(),
                task_id: task_id.into(),
                payload,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }

    /// Parses the reports endpoint's body (or a console "query detail archive", whose
    /// `reports` key holds it).
    ///
    /// # Errors
    /// [`ReportError`] saying whether the text is not JSON, not a report, or a report with a
    /// field of the wrong shape (with its path).
    ///
    /// # Example
    /// ```
    /// use msq_model::TaskReport;
    ///
    /// let err = TaskReport::from_json(r#"{"multiStageQuery": {"type": "multiStageQuery"}}"#);
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "invalid task report at multiStageQuery: missing field `taskId`"
    /// );
    /// ```
    pub fn from_json(text: &str) -> Result<Self, ReportError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ReportError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Like [`from_json`](Self::from_json), from parsed JSON.
    ///
    /// # Errors
    /// As for [`from_json`](Self::from_json), minus the not-JSON case.
    pub fn from_value(value: Value) -> Result<Self, ReportError> {
        let (value, prefix) = match value {
            Value::Object(mut map)
                if !map.contains_key(MSQ_KEY) && is_report(map.get("reports")) =>
            {
                (map.remove("reports").unwrap_or_default(), "reports.")
            }
            other => (other, ""),
        };
        if !is_report(Some(&value)) {
            return Err(ReportError::NotAReport {
                found: describe_found(&value),
            });
        }
        match TaskReport::deserialize(&value) {
            Ok(report) => Ok(report),
            Err(e) => {
                let (path, message) =
                    locate_error(&value).unwrap_or_else(|| (MSQ_KEY.to_owned(), e.to_string()));
                Err(ReportError::Invalid {
                    path: format!("{prefix}{path}"),
                    message,
                })
            }
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serializing the model cannot fail: every map key is a string and every tagged
        // variant holds a struct or map.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The controller task id.
    pub fn task_id(&self) -> &str {
        &self.multi_stage_query.task_id
    }

    /// The payload: status, stages, counters, results.
    pub fn payload(&self) -> &ReportPayload {
        &self.multi_stage_query.payload
    }

    /// The query status.
    pub fn status(&self) -> &ReportStatus {
        &self.multi_stage_query.payload.status
    }

    /// The progress math over the report's stages and counters.
    pub fn stages(&self) -> Stages<'_> {
        self.multi_stage_query.payload.stages()
    }
}

const MSQ_KEY: &str = "multiStageQuery";

fn is_report(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(MSQ_KEY))
}

fn describe_found(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "found an empty object".to_owned(),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("found keys: {}", keys.join(", "))
        }
        Value::Array(_) => "found an array".to_owned(),
        Value::String(_) => "found a string".to_owned(),
        Value::Number(_) => "found a number".to_owned(),
        Value::Bool(_) => "found a boolean".to_owned(),
        Value::Null => "found null".to_owned(),
    }
}

/// Why a report could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// The text is not JSON; serde_json's message (with line and column).
    NotJson(String),
    /// JSON, but not an object with a `multiStageQuery` key; `found` describes what it is.
    NotAReport {
        /// What was found instead, e.g. `found keys: a, b` or `found an array`.
        found: String,
    },
    /// A report whose field at `path` has the wrong shape.
    Invalid {
        /// Dotted path to the deepest part that failed, e.g.
        /// `multiStageQuery.payload.stages[1].definition.processor`.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NotJson(message) => write!(f, "not JSON: {message}"),
            ReportError::NotAReport { found } => write!(
                f,
                "JSON is not a Druid task report: expected an object with a \"{MSQ_KEY}\" key ({found})"
            ),
            ReportError::Invalid { path, message } => write!(f, "invalid task report at {path}: {message}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<ReportError> for MsqError {
    fn from(error: ReportError) -> Self {
        MsqError::new(
            ErrorCategory::Plan,
            ErrorCode::InvalidInput,
            error.to_string(),
        )
    }
}

/// The error of reading `value` as `T`, if any. An absent part (`null` from indexing a
/// missing key) is not looked into: its parent reports it as a missing field.
fn error_of<T: DeserializeOwned>(value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    T::deserialize(value).err().map(|e| e.to_string())
}

/// Finds the deepest failing part of a report that does not parse: `(path, message)`.
/// Best effort, top-down: each level is tried whole, then its parts.
fn locate_error(report: &Value) -> Option<(String, String)> {
    let msq = &report[MSQ_KEY];
    let payload = &msq["payload"];
    let Some(payload_error) = error_of::<ReportPayload>(payload) else {
        return error_of::<MultiStageQueryReport>(msq).map(|e| (MSQ_KEY.to_owned(), e));
    };
    let base = format!("{MSQ_KEY}.payload");
    Some(locate_in_payload(payload, &base).unwrap_or((base, payload_error)))
}

fn locate_in_payload(payload: &Value, base: &str) -> Option<(String, String)> {
    let status = &payload["status"];
    if let Some(e) = error_of::<ReportStatus>(status) {
        let base = format!("{base}.status");
        let parts = std::iter::once(("errorReport".to_owned(), &status["errorReport"]))
            .chain(indexed("warnings", &status["warnings"]));
        return Some(first_failing::<ErrorReport, _>(&base, parts).unwrap_or((base, e)));
    }
    for (name, stage) in indexed("stages", &payload["stages"]) {
        if let Some(e) = error_of::<StageReport>(stage) {
            let base = format!("{base}.{name}");
            return Some(locate_in_stage(stage, &base).unwrap_or((base, e)));
        }
    }
    let counters = &payload["counters"];
    if let Some(e) = error_of::<CounterSnapshotsTree>(counters) {
        for (stage, workers) in counters.as_object().into_iter().flatten() {
            for (worker, snapshots) in workers.as_object().into_iter().flatten() {
                for (name, snapshot) in snapshots.as_object().into_iter().flatten() {
                    if let Some(e) = error_of::<CounterSnapshot>(snapshot) {
                        return Some((format!("{base}.counters.{stage}.{worker}.{name}"), e));
                    }
                }
            }
        }
        return Some((format!("{base}.counters"), e));
    }
    error_of::<ResultsReport>(&payload["results"]).map(|e| (format!("{base}.results"), e))
}

fn locate_in_stage(stage: &Value, base: &str) -> Option<(String, String)> {
    let definition = &stage["definition"];
    let e = error_of::<StageDefinition>(definition)?;
    let base = format!("{base}.definition");
    let parts = indexed("input", &definition["input"]);
    let found = first_failing::<InputSpec, _>(&base, parts)
        .or_else(|| {
            let processor = &definition["processor"];
            error_of::<ProcessorSpec>(processor).map(|e| (format!("{base}.processor"), e))
        })
        .or_else(|| {
            let shuffle = &definition["shuffleSpec"];
            error_of::<ShuffleSpec>(shuffle).map(|e| (format!("{base}.shuffleSpec"), e))
        });
    Some(found.unwrap_or((base, e)))
}

/// `name[i]` and the element, for each element of an array (nothing for a non-array).
fn indexed<'a>(name: &'a str, array: &'a Value) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    let elements = array.as_array().into_iter().flatten().enumerate();
    elements.map(move |(i, v)| (format!("{name}[{i}]"), v))
}

/// The first of `parts` that fails to read as `T`, with its path under `base`.
fn first_failing<'a, T: DeserializeOwned, I: Iterator<Item = (String, &'a Value)>>(
    base: &str,
    mut parts: I,
) -> Option<(String, String)> {
    parts.find_map(|(name, v)| error_of::<T>(v).map(|e| (format!("{base}.{name}"), e)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phase_labels_follow_the_console() {
        assert_eq!(StagePhase::ReadingInput.label(), "Reading input");
        assert_eq!(StagePhase::PostReading.label(), "Post reading");
        assert_eq!(StagePhase::ResultsReady.label(), "Results ready");
        assert_eq!(StagePhase::Finished.label(), "Finished");
        assert_eq!(StagePhase::New.label(), "New");
        let old: StagePhase = serde_json::from_value(json!("RESULTS_COMPLETE")).unwrap();
        assert!(old.is_done() && !old.is_running());
        assert!(StagePhase::PostReading.is_running());
        assert!(!StagePhase::Failed.is_done());
    }

    #[test]
    fn error_summary_falls_back_to_the_first_stack_line() {
        let mut report = ErrorReport::new(MsqFault::new("InsertTimeNull", "Null timestamp"));
        assert_eq!(report.summary(), "InsertTimeNull: Null timestamp");
        report.error.error_message = None;
        assert_eq!(report.summary(), "InsertTimeNull");
        report.exception_stack_trace = Some("java.lang.Oops: bad\n\tat x.y(Z.java:1)".into());
        assert_eq!(report.summary(), "InsertTimeNull: java.lang.Oops: bad");
    }

    #[test]
    fn faults_keep_their_own_fields_and_convert_from_msq_error() {
        let json =
            json!({"errorCode": "TooManyBuckets", "errorMessage": "Too many", "maxBuckets": 5000});
        let fault: MsqFault = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(fault.fields["maxBuckets"], json!(5000));
        assert_eq!(fault.code(), Some(ErrorCode::TooManyBuckets));
        assert_eq!(serde_json::to_value(&fault).unwrap(), json);
        let from_error = MsqFault::from(MsqError::canceled("Shutdown request from user"));
        assert_eq!(from_error.summary(), "Canceled: Shutdown request from user");
        let unknown = MsqFault::new("SomethingNew", "x").with_field("n", json!(1));
        assert_eq!(unknown.code(), None);
    }

    #[test]
    fn both_segment_load_names_round_trip_under_their_own_name() {
        let load = json!({"state": "WAITING", "startTime": "2024-01-01T00:00:00.000Z", "duration": 5,
            "totalSegments": 2, "usedSegments": 2, "precachedSegments": 1, "onDemandSegments": 0,
            "pendingSegments": 1, "unknownSegments": 0});
        for key in ["segmentLoadStatus", "segmentLoadWaiterStatus"] {
            let json = json!({"status": "SUCCESS", "durationMs": 1, key: load.clone()});
            let status: ReportStatus = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(status.segment_load().unwrap().pending_segments, 1);
            assert_eq!(serde_json::to_value(&status).unwrap(), json);
        }
    }

    #[test]
    fn stage_report_omits_druid_defaults() {
        let mut stage = StageReport::new(
            0,
            serde_json::from_value(
                json!({"id": "q_0", "input": [], "processor": {"type": "limit"},
                "signature": [], "maxWorkerCount": 1}),
            )
            .unwrap(),
        );
        stage.worker_count = Some(0);
        stage.duration = Some(0);
        let json = serde_json::to_value(&stage).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["stageNumber", "definition"]
        );
        assert_eq!(stage.processor_type(), "limit");
    }

    #[test]
    fn a_new_report_serializes_the_fixed_type() {
        let report = TaskReport::new(
            "query-1",
            ReportPayload::new(ReportStatus::new(TaskState::Running)),
        );
        assert_eq!(
            report.to_value(),
            json!({"multiStageQuery": {"type": "multiStageQuery", "taskId": "query-1",
                "payload": {"status": {"status": "RUNNING", "durationMs": -1}}}})
        );
        assert_eq!(
            TaskReport::from_json(&report.to_json_pretty()).unwrap(),
            report
        );
    }
}
