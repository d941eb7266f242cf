//! The Druid task API over the engine: what the Overlord and Broker answer for the SQL-based
//! ingestion API (spec `sql-ingestion-api.md`; `druid-msq.md` §0).
//!
//! | Druid endpoint | [`Engine`] method |
//! |---|---|
//! | `POST /druid/v2/sql/task` | [`Engine::submit`] → `{taskId, state: "RUNNING"}` or a 400 [`ApiError`] |
//! | `GET /druid/indexer/v1/task/<id>/status` | [`Engine::status`] |
//! | `GET /druid/indexer/v1/task/<id>/reports` | [`Engine::report`] (live while running) |
//! | `POST /druid/indexer/v1/task/<id>/shutdown` | [`Engine::shutdown`] → FAILED with `Canceled` |
//! | `DELETE /druid/coordinator/v1/datasources/<ds>` | [`Engine::drop_datasource`] → `{numChangedSegments}` |
//!
//! Submitting parses and plans synchronously (so bad SQL is a 400, as in Druid) and then starts
//! the controller on the [`Spawner`]; the task runs while the caller's executor runs.

use crate::controller::{run_query, ControllerEnv, ControllerInput, QueryProgress, StoreCatalog};
use crate::env::{Clock, Fetcher, Spawner};
use crate::results::MAX_SELECT_RESULT_ROWS;
use crate::store::SharedStore;
use crate::system::{system_table, TaskRow};
use crate::transport::{LocalTransports, TransportFactory};
use futures::channel::{mpsc, oneshot};
use futures::future::{FutureExt, Shared};
use msq_common::{ErrorCategory, MsqError};
use msq_exec::segment::format_iso_millis;
use msq_kernel::WorkerAssignment;
use msq_model::{
    ReportPayload, ReportStatus, ResultsReport, ShutdownResponse, SqlTaskRequest, SqlTaskResponse,
    TaskLocation, TaskReport, TaskState, TaskStatus, TaskStatusResponse,
};
use msq_plan::querykit::{
    plan_statement, Catalog, InlineTable, PlanRequest, PlannedKind, PlannedQuery,
};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Druid's default `maxNumTasks` (spec §2): one controller and one worker.
pub const DEFAULT_MAX_NUM_TASKS: i64 = 2;

/// The `dataSource` Druid gives SELECT tasks.
pub const SELECT_DATA_SOURCE: &str = "__query_select";

/// An HTTP error answer: status code and Druid's error JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (400 for bad requests, 404 for unknown tasks).
    pub status: u16,
    /// The body: Druid's `druidException` shape
    /// (`{"error", "errorCode", "persona", "category", "errorMessage", "context"}`).
    pub body: Value,
}

impl ApiError {
    /// A 400 for a request the planner rejected.
    pub fn bad_request(error: &MsqError) -> Self {
        let (code, category) = match error.category() {
            ErrorCategory::Plan => ("invalidInput", "INVALID_INPUT"),
            ErrorCategory::Resource => ("resourceLimitExceeded", "CAPACITY_EXCEEDED"),
            _ => ("general", "RUNTIME_FAILURE"),
        };
        let mut context = Map::new();
        context.insert("sourceType".into(), json!("sql"));
        context.insert("msqErrorCode".into(), json!(error.code().as_str()));
        Self {
            status: if error.category() == ErrorCategory::Internal {
                500
            } else {
                400
            },
            body: json!({
                "error": "druidException",
                "errorCode": code,
                "persona": "USER",
                "category": category,
                "errorMessage": error.message(),
                "context": context,
            }),
        }
    }

    /// A query that failed while running (interactive API): Druid's error body with the fault.
    pub fn query_failed(fault: &msq_model::MsqFault) -> Self {
        let message = fault.error_message.clone().unwrap_or_default();
        Self {
            status: if fault.error_code == "Canceled" {
                500
            } else {
                400
            },
            body: json!({
                "error": "druidException",
                "errorCode": fault.error_code,
                "persona": "USER",
                "category": "RUNTIME_FAILURE",
                "errorMessage": message,
                "context": {},
            }),
        }
    }

    /// A 404 for an unknown task id.
    pub fn not_found(task_id: &str) -> Self {
        Self {
            status: 404,
            body: json!({"error": format!("Cannot find any task with id: [{task_id}]")}),
        }
    }

    /// The error message.
    pub fn message(&self) -> String {
        self.body
            .get("errorMessage")
            .or_else(|| self.body.get("error"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

/// The version `GET /status` and the worker list report.
const VERSION: &str = concat!("acorn-", env!("CARGO_PKG_VERSION"));

/// What an engine runs on.
#[derive(Clone)]
pub struct EngineEnv {
    /// External input (the controller asks it for file sizes; workers read through their
    /// transports' fetchers).
    pub fetcher: Rc<dyn Fetcher>,
    /// Segments.
    pub store: SharedStore,
    /// Time.
    pub clock: Rc<dyn Clock>,
    /// Starts controller futures.
    pub spawner: Rc<dyn Spawner>,
    /// Reaches each query's workers.
    pub transports: Rc<dyn TransportFactory>,
    /// Where [`EngineEnv::store`] keeps segments, for `GET /status`: `"memory"` unless the host
    /// says otherwise ([`EngineEnv::with_storage`]).
    pub storage: Storage,
}

/// Where an engine keeps its segments (design README "Data": OPFS, or memory where OPFS is
/// missing — which a user must be told, since memory does not survive a reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// `"opfs"`, `"memory"` or `"directory"`.
    pub kind: String,
    /// Why, when it is not what the host wanted (e.g. OPFS refused in a private window).
    pub note: Option<String>,
}

impl Storage {
    /// Segments in memory.
    pub fn memory() -> Self {
        Self {
            kind: "memory".to_owned(),
            note: None,
        }
    }
}

impl EngineEnv {
    /// This environment with queries over small datasources run beside the controller and
    /// everything else on its current transports (the stage threads):
    /// [`crate::transport::SmallQueriesHere`].
    pub fn with_small_queries_here(mut self) -> Self {
        self.transports = Rc::new(crate::transport::SmallQueriesHere {
            here: LocalTransports {
                fetcher: self.fetcher.clone(),
                store: self.store.clone(),
                spawner: self.spawner.clone(),
                clock: self.clock.clone(),
                segments: Default::default(),
            },
            hosts: self.transports,
        });
        self
    }

    /// An engine whose workers are futures on this thread ([`LocalTransports`]).
    pub fn local(
        fetcher: Rc<dyn Fetcher>,
        store: SharedStore,
        clock: Rc<dyn Clock>,
        spawner: Rc<dyn Spawner>,
    ) -> Self {
        let transports = Rc::new(LocalTransports {
            fetcher: fetcher.clone(),
            store: store.clone(),
            spawner: spawner.clone(),
            clock: clock.clone(),
            segments: Default::default(),
        });
        Self {
            fetcher,
            store,
            clock,
            spawner,
            transports,
            storage: Storage::memory(),
        }
    }

    /// The same environment, saying where its store keeps segments.
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }
}

struct TaskRecord {
    sql: String,
    context: Map<String, Value>,
    created_ms: i64,
    data_source: String,
    progress: Rc<RefCell<QueryProgress>>,
    inbox: Option<mpsc::UnboundedSender<ControllerInput>>,
    done: Shared<oneshot::Receiver<()>>,
}

/// A planned request, ready to run.
struct Prepared {
    query_id: String,
    context: Map<String, Value>,
    settings: Settings,
    planned: PlannedQuery,
}

/// The engine behind the API: tasks by id, each a controller running on the spawner.
#[derive(Clone)]
pub struct Engine {
    env: EngineEnv,
    tasks: Rc<RefCell<BTreeMap<String, TaskRecord>>>,
    counter: Rc<Cell<u64>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("tasks", &self.tasks.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Druid's `GET /status` body (`version`, `modules`) plus `storage` (`kind`, `note`).
    pub fn server_status(&self) -> Value {
        serde_json::json!({
            "version": VERSION,
            "modules": [],
            "storage": {"kind": self.env.storage.kind, "note": self.env.storage.note},
        })
    }

    /// `POST /acorn/v1/bench/decode` ([`crate::bench`]): decodes a file on this thread.
    ///
    /// # Errors
    /// 400 naming what is wrong with the request or the file.
    pub async fn bench_decode(&self, request: Value) -> Result<Value, ApiError> {
        crate::bench::decode(self.env.fetcher.as_ref(), self.env.clock.as_ref(), request).await
    }

    /// `GET /druid/indexer/v1/workers`: one entry per thread stage work runs on, in the shape
    /// of Druid's overlord worker list (each a worker of capacity 1 whose `currCapacityUsed`
    /// is its running work orders), with the thread's vital signs under `acorn`; a thread that
    /// did not answer has `acorn.error`. Empty when stage work runs on the engine's own thread.
    pub async fn workers(&self) -> Value {
        let threads = self.env.transports.worker_threads().await;
        let entries: Vec<Value> = threads
            .into_iter()
            .enumerate()
            .map(|(number, vitals)| {
                let (used, tasks, acorn) = match vitals {
                    Ok(v) => (
                        v.running_work_orders,
                        v.running_tasks,
                        serde_json::json!({
                            "state": "ready",
                            "memoryBytes": v.memory_bytes,
                            "shuffleBytes": v.shuffle_bytes,
                            "workOrdersRun": v.work_orders_run,
                        }),
                    ),
                    Err(e) => (
                        0,
                        Vec::new(),
                        serde_json::json!({"state": "failed", "error": e.message()}),
                    ),
                };
                serde_json::json!({
                    "worker": {
                        "scheme": "webworker",
                        "host": format!("stage-worker-{number}"),
                        "ip": "127.0.0.1",
                        "capacity": 1,
                        "version": VERSION,
                        "category": "_default_worker_category",
                    },
                    "currCapacityUsed": used,
                    "currParallelIndexCapacityUsed": 0,
                    "availabilityGroups": [],
                    "runningTasks": tasks,
                    "blacklistedUntil": null,
                    "acorn": acorn,
                })
            })
            .collect();
        Value::Array(entries)
    }

    /// An engine with no tasks.
    pub fn new(env: EngineEnv) -> Self {
        Self {
            env,
            tasks: Rc::new(RefCell::new(BTreeMap::new())),
            counter: Rc::new(Cell::new(0)),
        }
    }

    /// The segment store.
    pub fn store(&self) -> &SharedStore {
        &self.env.store
    }

    /// A fresh UUID-shaped query id (v4 layout; unique per engine, not cryptographic).
    fn next_query_id(&self) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let seed = (self.env.clock.now_ms() as u64).rotate_left(17)
            ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let a = splitmix(seed);
        let b = splitmix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a as u16) & 0x0fff,
            ((b >> 48) as u16 & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Parses, binds and plans a request against `catalog`.
    fn prepare(
        &self,
        request: &SqlTaskRequest,
        catalog: &dyn Catalog,
    ) -> Result<Prepared, ApiError> {
        let query_id = self.next_query_id();
        let parameters: Vec<msq_sql::SqlParameter> = request
            .parameters
            .iter()
            .map(|p| msq_sql::SqlParameter::new(p.param_type.clone(), p.value.clone()))
            .collect();
        let parsed = msq_sql::parse_query_with_parameters(&request.query, &parameters)
            .map_err(|e| ApiError::bad_request(&e))?;
        let mut context = request.context.clone();
        context.extend(parsed.context_overrides.clone());
        let settings = Settings::from_context(&context).map_err(|e| ApiError::bad_request(&e))?;
        let planned = plan_statement(
            &parsed.statement,
            &PlanRequest {
                query_id: &query_id,
                context: &context,
                catalog,
                now_ms: self.env.clock.now_ms(),
            },
        )
        .map_err(|e| ApiError::bad_request(&e))?;
        Ok(Prepared {
            query_id,
            context,
            settings,
            planned,
        })
    }

    /// Starts a prepared query as task `task_id`; the record is not yet registered.
    fn launch(
        &self,
        task_id: &str,
        sql: &str,
        prepared: Prepared,
        max_result_rows: usize,
    ) -> TaskRecord {
        let now = self.env.clock.now_ms();
        let data_source = match &prepared.planned.kind {
            PlannedKind::Ingest(ingest) => ingest.data_source.clone(),
            _ => SELECT_DATA_SOURCE.to_owned(),
        };
        let progress = Rc::new(RefCell::new(QueryProgress {
            payload: ReportPayload::new(ReportStatus::new(TaskState::Running)),
            rows: None,
            segments: None,
        }));
        let (done_tx, done_rx) = oneshot::channel();
        let mut record = TaskRecord {
            sql: sql.to_owned(),
            context: prepared.context,
            created_ms: now,
            data_source,
            progress: progress.clone(),
            inbox: None,
            done: done_rx.shared(),
        };
        match prepared.planned.kind {
            PlannedKind::Explain { inner } => {
                *progress.borrow_mut() = explain_progress(&inner, now);
                let _ = done_tx.send(());
            }
            _ => {
                let (sender, inbox) = mpsc::unbounded();
                record.inbox = Some(sender.clone());
                let env = ControllerEnv {
                    transports: self.env.transports.clone(),
                    fetcher: self.env.fetcher.clone(),
                    store: self.env.store.clone(),
                    clock: self.env.clock.clone(),
                    max_frame_size: prepared.settings.max_frame_size,
                    max_parse_exceptions: prepared.settings.max_parse_exceptions,
                    assignment: prepared.settings.assignment,
                    spill_budget: prepared.settings.spill_budget,
                    engine_thread_bytes: prepared.settings.engine_thread_bytes,
                    max_result_rows,
                };
                self.env.spawner.spawn(Box::pin(run_query(
                    env,
                    task_id.to_owned(),
                    prepared.planned,
                    progress,
                    sender,
                    inbox,
                    done_tx,
                )));
            }
        }
        record
    }

    /// `POST /druid/v2/sql/task`: parses and plans the statement, then starts it.
    ///
    /// # Errors
    /// A 400 [`ApiError`] for SQL or context the planner rejects (nothing is started).
    pub fn submit(&self, request: &SqlTaskRequest) -> Result<SqlTaskResponse, ApiError> {
        let catalog = StoreCatalog(self.env.store.clone());
        let prepared = self.prepare(request, &catalog)?;
        let task_id = format!("query-{}", prepared.query_id);
        let record = self.launch(&task_id, &request.query, prepared, MAX_SELECT_RESULT_ROWS);
        self.tasks.borrow_mut().insert(task_id.clone(), record);
        Ok(SqlTaskResponse {
            task_id,
            state: TaskState::Running,
        })
    }

    /// Resolves when the task has finished (at once for an unknown or finished task).
    pub fn wait(&self, task_id: &str) -> impl std::future::Future<Output = ()> + 'static {
        let done = self.tasks.borrow().get(task_id).map(|t| t.done.clone());
        async move {
            if let Some(done) = done {
                let _ = done.await;
            }
        }
    }

    /// `POST /druid/v2/sql`, the interactive API: runs a SELECT (including over
    /// `INFORMATION_SCHEMA` and `sys` tables) and answers with all its rows, as a Broker does:
    /// `resultFormat` `object` (default, an array of objects) or `array` (arrays, with a first
    /// row of column names when `header` is true); TIMESTAMPs as ISO strings.
    ///
    /// # Errors
    /// A 400 for bad SQL, an INSERT/REPLACE (task engine only) or an unknown `resultFormat`; a
    /// 500-class error body when the query fails while running.
    pub async fn sql(&self, request: &SqlTaskRequest) -> Result<Value, ApiError> {
        let format = request
            .ignored_result_format
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_owned();
        if !matches!(format.as_str(), "object" | "array") {
            return Err(ApiError::bad_request(&MsqError::plan(format!(
                "Unsupported resultFormat [{format}]; Acorn answers object and array"
            ))));
        }
        let header = request.ignored_header.as_ref().and_then(Value::as_bool) == Some(true);
        let catalog = SystemCatalog {
            store: self.env.store.clone(),
            tasks: self.task_rows(),
        };
        let prepared = self.prepare(request, &catalog)?;
        if let PlannedKind::Ingest(_) = prepared.planned.kind {
            return Err(ApiError::bad_request(&MsqError::plan(
                "Cannot execute INSERT or REPLACE with SQL engine [native]: submit it to \
                 /druid/v2/sql/task",
            )));
        }
        let task_id = format!("query-{}", prepared.query_id);
        let record = self.launch(&task_id, &request.query, prepared, usize::MAX);
        let _ = record.done.clone().await;
        let payload = record.progress.borrow().payload.clone();
        if let Some(error) = &payload.status.error_report {
            return Err(ApiError::query_failed(&error.error));
        }
        let results = payload.results.unwrap_or_else(|| ResultsReport {
            signature: Vec::new(),
            sql_type_names: None,
            results: Vec::new(),
            results_truncated: None,
            extra: Map::new(),
        });
        Ok(interactive_rows(&results, &format, header))
    }

    /// Every task as `sys.tasks` lists it.
    fn task_rows(&self) -> Vec<TaskRow> {
        self.task_ids()
            .into_iter()
            .filter_map(|id| {
                let status = self.status(&id)?.status;
                let created_time = status.created_time.clone();
                Some(TaskRow {
                    task_id: id,
                    datasource: status.data_source,
                    created_time,
                    status: status.status_code.as_str().to_owned(),
                    duration: status.duration,
                    error_msg: status.error_msg,
                })
            })
            .collect()
    }

    /// `GET /druid/indexer/v1/task/<id>/status`.
    pub fn status(&self, task_id: &str) -> Option<TaskStatusResponse> {
        let tasks = self.tasks.borrow();
        let task = tasks.get(task_id)?;
        let progress = task.progress.borrow();
        let state = progress.payload.status.status;
        let duration = if state.is_terminal() {
            progress.payload.status.duration_ms
        } else {
            -1
        };
        // The console recognises a user's cancel by this exact text (spec
        // `druid-console-query-view.md`, recent tasks panel).
        let error_msg = progress.payload.status.error_report.as_ref().map(|e| {
            if e.error.error_code == "Canceled" {
                "Shutdown request from user".to_owned()
            } else {
                e.summary()
            }
        });
        Some(TaskStatusResponse {
            task: task_id.to_owned(),
            status: TaskStatus {
                id: task_id.to_owned(),
                group_id: task_id.to_owned(),
                task_type: "query_controller".to_owned(),
                created_time: format_iso_millis(task.created_ms),
                queue_insertion_time: "1970-01-01T00:00:00.000Z".to_owned(),
                status_code: state,
                status: state,
                runner_status_code: if state.is_terminal() {
                    "NONE".to_owned()
                } else {
                    "RUNNING".to_owned()
                },
                duration,
                location: TaskLocation {
                    host: Some("localhost".to_owned()),
                    port: 8100,
                    tls_port: -1,
                    extra: Map::new(),
                },
                data_source: task.data_source.clone(),
                error_msg,
                extra: Map::new(),
            },
        })
    }

    /// `GET /druid/indexer/v1/task/<id>/reports`: the live report.
    pub fn report(&self, task_id: &str) -> Option<TaskReport> {
        let tasks = self.tasks.borrow();
        let task = tasks.get(task_id)?;
        let payload = task.progress.borrow().payload.clone();
        Some(TaskReport::new(task_id, payload))
    }

    /// `POST /druid/indexer/v1/task/<id>/shutdown`: a running task fails with `Canceled`;
    /// a finished one is left as it is.
    pub fn shutdown(&self, task_id: &str) -> Option<ShutdownResponse> {
        let tasks = self.tasks.borrow();
        let task = tasks.get(task_id)?;
        if let Some(inbox) = &task.inbox {
            let _ = inbox.unbounded_send(ControllerInput::Cancel);
        }
        Some(ShutdownResponse {
            task: task_id.to_owned(),
        })
    }

    /// `GET /druid/indexer/v1/task/<id>`: the task payload (the console reads `sqlQuery` and
    /// `sqlQueryContext`).
    pub fn task_payload(&self, task_id: &str) -> Option<Value> {
        let tasks = self.tasks.borrow();
        let task = tasks.get(task_id)?;
        Some(json!({
            "task": task_id,
            "payload": {
                "type": "query_controller",
                "id": task_id,
                "dataSource": task.data_source,
                "sqlQuery": task.sql,
                "sqlQueryContext": task.context,
            }
        }))
    }

    /// `DELETE /druid/coordinator/v1/datasources/<dataSource>` (Druid's data management API:
    /// "marks as unused all segments belonging to a datasource" and answers
    /// `{"numChangedSegments": N}`; `0` for a datasource with no used segments). Acorn keeps no
    /// unused segments: the datasource's manifest is replaced atomically by an empty one (so
    /// the catalog, `INFORMATION_SCHEMA` and `sys.segments` stop listing it at once, and a later
    /// INSERT starts it afresh) and then its segment files are garbage-collected.
    ///
    /// # Errors
    /// A 500 with Druid's error body when the store cannot be read or written.
    pub fn drop_datasource(&self, data_source: &str) -> Result<Value, ApiError> {
        let store_failed = |e: MsqError| ApiError {
            status: 500,
            body: json!({
                "error": "druidException",
                "errorCode": "general",
                "persona": "OPERATOR",
                "category": "RUNTIME_FAILURE",
                "errorMessage": format!(
                    "Could not drop datasource [{data_source}]: {}",
                    e.message()
                ),
                "context": {},
            }),
        };
        let used = self
            .env
            .store
            .manifest(data_source)
            .map_err(store_failed)?
            .map_or(0, |m| m.segments.len());
        if used > 0 {
            self.env
                .store
                .drop_datasource(data_source)
                .map_err(store_failed)?;
        }
        Ok(json!({ "numChangedSegments": used }))
    }

    /// Task ids, oldest first.
    pub fn task_ids(&self) -> Vec<String> {
        let tasks = self.tasks.borrow();
        let mut ids: Vec<(&i64, &String)> =
            tasks.iter().map(|(id, t)| (&t.created_ms, id)).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id.clone()).collect()
    }

    /// Rows and segments of a finished task (for the console's ingest-success pane).
    pub fn outcome(&self, task_id: &str) -> Option<(Option<u64>, Option<usize>)> {
        let tasks = self.tasks.borrow();
        let progress = tasks.get(task_id)?.progress.borrow();
        Some((progress.rows, progress.segments))
    }
}

/// The context values that change how the controller runs (spec `druid-msq.md` §2).
#[derive(Debug, Clone, Copy)]
struct Settings {
    max_frame_size: usize,
    max_parse_exceptions: i64,
    assignment: WorkerAssignment,
    spill_budget: Option<usize>,
    engine_thread_bytes: Option<u64>,
}

impl Settings {
    fn from_context(context: &Map<String, Value>) -> Result<Self, MsqError> {
        let int = |key: &str, default: i64| -> Result<i64, MsqError> {
            match context.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid_context(key, n)),
                Some(Value::String(s)) => s.trim().parse().map_err(|_| invalid_context(key, s)),
                Some(other) => Err(invalid_context(key, other)),
            }
        };
        let max_num_tasks = int("maxNumTasks", DEFAULT_MAX_NUM_TASKS)?;
        if max_num_tasks < 2 {
            return Err(MsqError::plan(format!(
                "maxNumTasks [{max_num_tasks}] must be at least 2 (one controller and one worker)"
            )));
        }
        let assignment = match context.get("taskAssignment").and_then(Value::as_str) {
            None | Some("max") | Some("MAX") => WorkerAssignment::Max,
            Some("auto") | Some("AUTO") => WorkerAssignment::Auto {
                max_input_bytes_per_worker: msq_kernel::slicer::DEFAULT_MAX_INPUT_BYTES_PER_WORKER,
            },
            Some(other) => {
                return Err(MsqError::plan(format!(
                    "Unknown taskAssignment [{other}]; expected max or auto"
                )))
            }
        };
        Ok(Self {
            max_frame_size: usize::try_from(int(
                "maxFrameSize",
                msq_exec::frame::DEFAULT_MAX_FRAME_SIZE as i64,
            )?)
            .unwrap_or(msq_exec::frame::DEFAULT_MAX_FRAME_SIZE)
            .max(1),
            max_parse_exceptions: int("maxParseExceptions", 0)?,
            assignment,
            spill_budget: match context.get(SPILL_BUDGET) {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    usize::try_from(int(SPILL_BUDGET, 0)?)
                        .map_err(|_| invalid_context(SPILL_BUDGET, value))?,
                ),
            },
            engine_thread_bytes: match context.get(ENGINE_THREAD_BYTES) {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    u64::try_from(int(ENGINE_THREAD_BYTES, 0)?)
                        .map_err(|_| invalid_context(ENGINE_THREAD_BYTES, value))?,
                ),
            },
        })
    }
}

/// Acorn's context parameter for its stage workers' spill budget
/// ([`crate::transport::WorkerSettings::spill_budget`]).
pub const SPILL_BUDGET: &str = "acornSpillBudgetBytes";

/// Acorn's context parameter for the most bytes of segments a query may read and still run
/// in the engine's own thread ([`crate::transport::WorkerSettings::engine_thread_bytes`];
/// `0` sends every query to the stage threads).
pub const ENGINE_THREAD_BYTES: &str = "acornEngineThreadBytes";

fn invalid_context(key: &str, value: impl std::fmt::Display) -> MsqError {
    MsqError::plan(format!(
        "Invalid value [{value}] for query context parameter [{key}]"
    ))
}

/// An EXPLAIN task: done at once, its result the plan (Druid's `PLAN`, `RESOURCES`,
/// `ATTRIBUTES` columns).
fn explain_progress(inner: &PlannedQuery, now: i64) -> QueryProgress {
    let plan = serde_json::to_string(&inner.query.to_model()).unwrap_or_default();
    let mut resources: Vec<Value> = Vec::new();
    for stage in &inner.query.stages {
        for input in &stage.inputs {
            let entry = match input {
                msq_plan::InputSpec::Table { data_source, .. } => {
                    json!({"name": data_source, "type": "DATASOURCE"})
                }
                msq_plan::InputSpec::External { .. } => {
                    json!({"name": "EXTERNAL", "type": "EXTERNAL"})
                }
                msq_plan::InputSpec::Stage { .. } => continue,
            };
            if !resources.contains(&entry) {
                resources.push(entry);
            }
        }
    }
    let statement_type = match &inner.kind {
        PlannedKind::Ingest(i) if i.replace.is_some() => "REPLACE",
        PlannedKind::Ingest(_) => "INSERT",
        _ => "SELECT",
    };
    let mut attributes = json!({"statementType": statement_type});
    if let PlannedKind::Ingest(ingest) = &inner.kind {
        attributes["targetDataSource"] = json!(ingest.data_source);
        attributes["partitionedBy"] = ingest.granularity.to_druid_json();
        if !ingest.clustered_by.is_empty() {
            attributes["clusteredBy"] = json!(ingest.clustered_by);
        }
    }
    let mut status = ReportStatus::new(TaskState::Success);
    status.start_time = Some(format_iso_millis(now));
    status.duration_ms = 0;
    let mut payload = ReportPayload::new(status);
    payload.results = Some(ResultsReport {
        signature: ["PLAN", "RESOURCES", "ATTRIBUTES"]
            .iter()
            .map(|n| msq_model::ColumnSignature::new(*n, "STRING"))
            .collect(),
        sql_type_names: Some(vec!["VARCHAR".into(), "VARCHAR".into(), "VARCHAR".into()]),
        results: vec![vec![
            Value::from(plan),
            Value::from(Value::Array(resources).to_string()),
            Value::from(attributes.to_string()),
        ]],
        results_truncated: Some(false),
        extra: Map::new(),
    });
    QueryProgress {
        payload,
        rows: Some(1),
        segments: None,
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The catalog of the interactive API: datasources plus the metadata tables.
struct SystemCatalog {
    store: SharedStore,
    tasks: Vec<TaskRow>,
}

impl Catalog for SystemCatalog {
    fn datasource(&self, name: &str) -> Option<Vec<(String, msq_plan::ColumnType)>> {
        StoreCatalog(self.store.clone()).datasource(name)
    }

    fn inline_table(&self, name: &str) -> Option<InlineTable> {
        let table = system_table(name, &self.store, &self.tasks).ok()??;
        Some(InlineTable {
            input_source: json!({"type": "inline", "data": table.ndjson()}),
            input_format: json!({"type": "json"}),
            signature: table.signature(),
        })
    }
}

/// Report results as the Broker's JSON rows.
fn interactive_rows(results: &ResultsReport, format: &str, header: bool) -> Value {
    let names: Vec<&str> = results.signature.iter().map(|c| c.name.as_str()).collect();
    let types = results.sql_type_names.clone().unwrap_or_default();
    let cell = |i: usize, v: &Value| -> Value {
        match (types.get(i).map(String::as_str), v) {
            (Some("TIMESTAMP"), Value::Number(n)) => n
                .as_i64()
                .map_or(Value::Null, |ms| Value::from(format_iso_millis(ms))),
            _ => v.clone(),
        }
    };
    let mut rows = Vec::with_capacity(results.results.len() + 1);
    if format == "array" {
        if header {
            rows.push(Value::Array(
                names.iter().map(|n| Value::from(*n)).collect(),
            ));
        }
        for row in &results.results {
            rows.push(Value::Array(
                row.iter().enumerate().map(|(i, v)| cell(i, v)).collect(),
            ));
        }
    } else {
        for row in &results.results {
            let mut object = Map::new();
            for (i, v) in row.iter().enumerate() {
                if let Some(name) = names.get(i) {
                    object.insert((*name).to_owned(), cell(i, v));
                }
            }
            rows.push(Value::Object(object));
        }
    }
    Value::Array(rows)
}
