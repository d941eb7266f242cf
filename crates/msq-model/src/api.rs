//! Bodies of the HTTP calls a console makes to an MSQ controller (spec `druid-msq.md` §0):
//!
//! | Call | Request | Response |
//! |---|---|---|
//! | `POST /druid/v2/sql/task` | [`SqlTaskRequest`] | [`SqlTaskResponse`] |
//! | `GET /druid/indexer/v1/task/<id>/status` | — | [`TaskStatusResponse`] |
//! | `GET /druid/indexer/v1/task/<id>/reports` | — | [`TaskReport`](crate::TaskReport) |
//! | `POST /druid/indexer/v1/task/<id>/shutdown` | `{}` | [`ShutdownResponse`] |
//! | `GET /druid/indexer/v1/task/<id>` | — | [`TaskPayloadResponse`] |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Body of `POST /druid/v2/sql/task`: a SQL statement with its context and `?` parameters.
///
/// Druid accepts the generic SQL-over-HTTP fields `resultFormat`, `header`, `typesHeader` and
/// `sqlTypesHeader` here but ignores them, since results go to the task report
/// (`sql-ingestion-api.md`, "Submit a query"). They are kept in the `ignored_*` fields only so a
/// request round-trips; nothing reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlTaskRequest {
    /// The SQL text (`INSERT`, `REPLACE` or `SELECT`, optionally after `SET k = v;` lines).
    pub query: String,
    /// Query context (`maxNumTasks`, `finalizeAggregations`, ...; spec `druid-msq.md` §2).
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    /// Values of the statement's `?` parameters, in order. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<SqlParameter>,
    /// `resultFormat`: accepted and ignored.
    #[serde(
        rename = "resultFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ignored_result_format: Option<Value>,
    /// `header`: accepted and ignored.
    #[serde(rename = "header", default, skip_serializing_if = "Option::is_none")]
    pub ignored_header: Option<Value>,
    /// `typesHeader`: accepted and ignored.
    #[serde(
        rename = "typesHeader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ignored_types_header: Option<Value>,
    /// `sqlTypesHeader`: accepted and ignored.
    #[serde(
        rename = "sqlTypesHeader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ignored_sql_types_header: Option<Value>,
}

impl SqlTaskRequest {
    /// A request for `query` with an empty context and no parameters.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            context: Map::new(),
            parameters: Vec::new(),
            ignored_result_format: None,
            ignored_header: None,
            ignored_types_header: None,
            ignored_sql_types_header: None,
        }
    }

    /// Sets one context parameter, e.g. `("maxNumTasks", 3.into())`.
    pub fn with_context(mut self, key: impl Into<String>, value: Value) -> Self {
        self.context.insert(key.into(), value);
        self
    }

    /// Appends a `?` parameter value.
    pub fn with_parameter(mut self, parameter: SqlParameter) -> Self {
        self.parameters.push(parameter);
        self
    }
}

/// One dynamic parameter: `{"type": "VARCHAR", "value": ...}`. For an array value, `type` is
/// the element type (spec `druid-msq.md` §1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlParameter {
    /// SQL type name, e.g. `VARCHAR`, `BIGINT`, `DOUBLE`, `TIMESTAMP`.
    #[serde(rename = "type")]
    pub param_type: String,
    /// The value as JSON.
    pub value: Value,
}

impl SqlParameter {
    /// A parameter of SQL type `param_type`.
    pub fn new(param_type: impl Into<String>, value: Value) -> Self {
        Self {
            param_type: param_type.into(),
            value,
        }
    }
}

/// Response of `POST /druid/v2/sql/task`: `{"taskId": "query-<uuid>", "state": "RUNNING"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlTaskResponse {
    /// The controller task id, `query-<sqlQueryId>`.
    pub task_id: String,
    /// The initial state; `RUNNING` on success.
    pub state: TaskState,
}

/// State of a task or a query: the report's `status.status` and the status API's
/// `statusCode` (spec `druid-msq.md` §4.7). Druid writes `RUNNING`, `SUCCESS` and `FAILED`;
/// the console also accepts `WAITING` and `PENDING` (`druid-console-query-view.md` §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// Running (or, for the console, anything not finished).
    Running,
    /// Finished successfully.
    Success,
    /// Finished with an error (including cancellation, `errorCode` `Canceled`).
    Failed,
    /// Waiting for a task slot.
    Waiting,
    /// Assigned, not started yet.
    Pending,
}

impl TaskState {
    /// `SUCCESS` or `FAILED`: the task will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskState::Success | TaskState::Failed)
    }

    /// The console's normalization: `SUCCESS` and `FAILED` are kept, everything else is
    /// `RUNNING` (`druid-console-query-view.md` §2.2).
    pub fn normalized(self) -> TaskState {
        if self.is_terminal() {
            self
        } else {
            TaskState::Running
        }
    }

    /// The state as Druid spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "RUNNING",
            TaskState::Success => "SUCCESS",
            TaskState::Failed => "FAILED",
            TaskState::Waiting => "WAITING",
            TaskState::Pending => "PENDING",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Response of `GET /druid/indexer/v1/task/<id>/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatusResponse {
    /// The task id asked for.
    pub task: String,
    /// The task's status.
    pub status: TaskStatus,
}

/// A task's status as the Overlord reports it (`TaskStatusPlus`; `sql-ingestion-api.md`,
/// "Get the status for a query task").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// Task id.
    pub id: String,
    /// Group id; the task id for MSQ controllers.
    pub group_id: String,
    /// Task type: `query_controller` or `query_worker`.
    #[serde(rename = "type")]
    pub task_type: String,
    /// ISO time the task was created.
    pub created_time: String,
    /// ISO time the task entered the queue (`1970-01-01T00:00:00.000Z` when unknown).
    pub queue_insertion_time: String,
    /// `RUNNING`, `SUCCESS` or `FAILED`.
    pub status_code: TaskState,
    /// Same as `statusCode` (older name).
    pub status: TaskState,
    /// The runner's view: `WAITING`, `PENDING`, `RUNNING` or `NONE`.
    pub runner_status_code: String,
    /// Milliseconds the task ran; `-1` while running.
    pub duration: i64,
    /// Where the task runs.
    pub location: TaskLocation,
    /// The datasource written (or `__query_select` for a SELECT).
    pub data_source: String,
    /// Error message of a failed task; always written, as `null` when there is none.
    pub error_msg: Option<String>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Host and ports of a running task; `host` is `null` and ports `-1` when not running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskLocation {
    /// Host name; written as `null` when unknown.
    pub host: Option<String>,
    /// Plain-text port, `-1` when none.
    pub port: i64,
    /// TLS port, `-1` when none.
    pub tls_port: i64,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Response of `POST /druid/indexer/v1/task/<id>/shutdown`: `{"task": "<id>"}`. The query then
/// ends `FAILED` with `errorCode` `Canceled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownResponse {
    /// The task asked to shut down.
    pub task: String,
}

/// Response of `GET /druid/indexer/v1/task/<id>`: the task's submitted payload. Only the parts
/// the console reads have accessors (spec `druid-msq.md` §5, last paragraph); the rest stays
/// raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPayloadResponse {
    /// The task id.
    pub task: String,
    /// The task spec as submitted.
    pub payload: Value,
}

impl TaskPayloadResponse {
    /// `payload.sqlQuery`: the SQL text.
    pub fn sql_query(&self) -> Option<&str> {
        self.payload.get("sqlQuery").and_then(Value::as_str)
    }

    /// `payload.sqlQueryContext`: the query context as submitted.
    pub fn sql_query_context(&self) -> Option<&Map<String, Value>> {
        self.payload
            .get("sqlQueryContext")
            .and_then(Value::as_object)
    }

    /// `payload.spec.query`: the native query the SQL was planned into.
    pub fn native_query(&self) -> Option<&Value> {
        self.payload.get("spec").and_then(|s| s.get("query"))
    }

    /// `payload.spec.destination`: `{"type": "taskReport" | "durableStorage" | "dataSource", ...}`.
    pub fn destination(&self) -> Option<&Value> {
        self.payload.get("spec").and_then(|s| s.get("destination"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sql_task_request_reads_the_documented_body_and_ignores_result_fields() {
        let body = json!({
            "query": "INSERT INTO t SELECT * FROM x PARTITIONED BY DAY",
            "context": {"maxNumTasks": 3},
            "parameters": [{"type": "VARCHAR", "value": ["a.csv", "b.csv"]}],
            "resultFormat": "array",
            "header": true,
            "typesHeader": true,
            "sqlTypesHeader": true
        });
        let request: SqlTaskRequest = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(request.context["maxNumTasks"], json!(3));
        assert_eq!(request.parameters[0].param_type, "VARCHAR");
        assert_eq!(serde_json::to_value(&request).unwrap(), body);
    }

    #[test]
    fn minimal_sql_task_request_omits_empty_context_and_parameters() {
        let request = SqlTaskRequest::new("SELECT 1");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"query": "SELECT 1"})
        );
        let request = request
            .with_context("maxNumTasks", json!(2))
            .with_parameter(SqlParameter::new("BIGINT", json!(7)));
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "query": "SELECT 1",
                "context": {"maxNumTasks": 2},
                "parameters": [{"type": "BIGINT", "value": 7}]
            })
        );
    }

    #[test]
    fn sql_task_response_and_shutdown_use_druid_names() {
        let response = SqlTaskResponse {
            task_id: "query-1".into(),
            state: TaskState::Running,
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"taskId": "query-1", "state": "RUNNING"})
        );
        let shutdown: ShutdownResponse =
            serde_json::from_value(json!({"task": "query-1"})).unwrap();
        assert_eq!(shutdown.task, "query-1");
    }

    #[test]
    fn task_state_is_terminal_and_normalizes_like_the_console() {
        assert!(TaskState::Success.is_terminal());
        assert!(TaskState::Failed.is_terminal());
        assert!(!TaskState::Running.is_terminal());
        assert_eq!(TaskState::Waiting.normalized(), TaskState::Running);
        assert_eq!(TaskState::Failed.normalized(), TaskState::Failed);
        let parsed: TaskState = serde_json::from_value(json!("PENDING")).unwrap();
        assert_eq!(parsed, TaskState::Pending);
        assert_eq!(TaskState::Pending.to_string(), "PENDING");
    }

    #[test]
    fn error_msg_is_written_as_null() {
        let status = TaskStatus {
            id: "query-1".into(),
            group_id: "query-1".into(),
            task_type: "query_controller".into(),
            created_time: "2022-09-14T22:12:00.183Z".into(),
            queue_insertion_time: "1970-01-01T00:00:00.000Z".into(),
            status_code: TaskState::Running,
            status: TaskState::Running,
            runner_status_code: "RUNNING".into(),
            duration: -1,
            location: TaskLocation {
                host: None,
                port: -1,
                tls_port: -1,
                extra: Map::new(),
            },
            data_source: "wiki".into(),
            error_msg: None,
            extra: Map::new(),
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["errorMsg"], Value::Null);
        assert_eq!(
            json["location"],
            json!({"host": null, "port": -1, "tlsPort": -1})
        );
    }

    #[test]
    fn task_payload_accessors_read_what_the_console_reads() {
        let payload: TaskPayloadResponse = serde_json::from_value(json!({
            "task": "query-1",
            "payload": {
                "type": "query_controller",
                "sqlQuery": "SELECT 1",
                "sqlQueryContext": {"maxNumTasks": 2},
                "spec": {"query": {"queryType": "scan"}, "destination": {"type": "taskReport"}}
            }
        }))
        .unwrap();
        assert_eq!(payload.sql_query(), Some("SELECT 1"));
        assert_eq!(
            payload.sql_query_context().unwrap()["maxNumTasks"],
            json!(2)
        );
        assert_eq!(payload.native_query().unwrap()["queryType"], json!("scan"));
        assert_eq!(payload.destination().unwrap()["type"], json!("taskReport"));
    }
}
