//! The engine through its Druid API on a LocalCluster: statement forms, faults, cancel, the
//! live report, and that a failed ingest publishes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use msq_model::SqlTaskRequest;
use msq_runtime::env::ManualClock;
use msq_runtime::fetch::MemoryFetcher;
use msq_runtime::LocalCluster;
use serde_json::{json, Map, Value};

const EDITS: &str = "\
{\"ts\":\"2016-06-27T00:00:11.080Z\",\"channel\":\"#en\",\"user\":\"a\",\"added\":10}
{\"ts\":\"2016-06-27T01:00:00.000Z\",\"channel\":\"#de\",\"user\":\"b\",\"added\":5}
{\"ts\":\"2016-06-28T02:00:00.000Z\",\"channel\":\"#en\",\"user\":\"a\",\"added\":7}
{\"ts\":\"2016-06-28T03:00:00.000Z\",\"channel\":null,\"user\":\"c\",\"added\":1}
";

const EXTERN: &str = "TABLE(EXTERN('{\"type\":\"http\",\"uris\":[\"http://t/edits.json\"]}', \
    '{\"type\":\"json\"}', '[{\"name\":\"ts\",\"type\":\"string\"},{\"name\":\"channel\",\"type\":\"string\"},\
    {\"name\":\"user\",\"type\":\"string\"},{\"name\":\"added\",\"type\":\"long\"}]'))";

fn cluster_with(files: &[(&str, &str)]) -> LocalCluster {
    let mut fetcher = MemoryFetcher::new();
    for (uri, text) in files {
        fetcher = fetcher.with_file(*uri, text.as_bytes().to_vec());
    }
    LocalCluster::new(fetcher, ManualClock::new(1_700_000_000_000))
}

fn cluster() -> LocalCluster {
    cluster_with(&[("http://t/edits.json", EDITS)])
}

fn ctx(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn payload(report: &msq_model::TaskReport) -> Value {
    report.to_value()["multiStageQuery"]["payload"].clone()
}

fn ingest(cluster: &mut LocalCluster, sql: &str) -> Value {
    let report = cluster.run(sql, Map::new()).unwrap();
    let p = payload(&report);
    assert_eq!(p["status"]["status"], "SUCCESS", "{p:#}");
    p
}

fn select(cluster: &mut LocalCluster, sql: &str) -> Value {
    let report = cluster.run(sql, Map::new()).unwrap();
    let p = payload(&report);
    assert_eq!(p["status"]["status"], "SUCCESS", "{sql}: {p:#}");
    p["results"]["results"].clone()
}

fn insert_edits(cluster: &mut LocalCluster) {
    ingest(
        cluster,
        &format!(
            "INSERT INTO edits SELECT TIME_PARSE(ts) AS __time, channel, \"user\", added \
             FROM {EXTERN} PARTITIONED BY DAY"
        ),
    );
}

#[test]
fn insert_by_day_makes_a_segment_per_day_and_reads_back() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    let manifest = cluster.engine().store().manifest("edits").unwrap().unwrap();
    assert_eq!(manifest.segments.len(), 2);
    assert_eq!(
        select(&mut cluster, "SELECT COUNT(*), SUM(added) FROM edits"),
        json!([[4, 23]])
    );
    assert_eq!(
        select(
            &mut cluster,
            "SELECT __time, channel FROM edits WHERE added > 5 ORDER BY __time"
        ),
        json!([
            [1_466_985_611_080_i64, "#en"],
            [1_467_079_200_000_i64, "#en"]
        ])
    );
}

#[test]
fn select_from_extern_with_group_by_order_and_limit() {
    let mut cluster = cluster();
    let rows = select(
        &mut cluster,
        &format!(
            "SELECT channel, COUNT(*) AS c, SUM(added) AS s FROM {EXTERN} \
             GROUP BY channel ORDER BY s DESC LIMIT 2"
        ),
    );
    assert_eq!(rows, json!([["#en", 2, 17], ["#de", 1, 5]]));
}

#[test]
fn replace_overwrites_only_its_interval() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    ingest(
        &mut cluster,
        &format!(
            "REPLACE INTO edits OVERWRITE WHERE __time >= TIMESTAMP '2016-06-27' AND \
             __time < TIMESTAMP '2016-06-28' SELECT TIME_PARSE(ts) AS __time, channel, \
             \"user\", added * 100 AS added FROM {EXTERN} WHERE TIME_PARSE(ts) < TIMESTAMP \
             '2016-06-28' PARTITIONED BY DAY"
        ),
    );
    assert_eq!(
        select(&mut cluster, "SELECT SUM(added) FROM edits"),
        json!([[1500 + 8]])
    );
}

#[test]
fn null_time_fails_with_insert_time_null_and_publishes_nothing() {
    let mut cluster = cluster_with(&[(
        "http://t/edits.json",
        "{\"ts\":\"not a time\",\"channel\":\"x\",\"user\":\"u\",\"added\":1}\n",
    )]);
    let report = cluster
        .run(
            &format!(
                "INSERT INTO edits SELECT TIME_PARSE(ts) AS __time, channel FROM {EXTERN} \
                 PARTITIONED BY DAY"
            ),
            Map::new(),
        )
        .unwrap();
    let p = payload(&report);
    assert_eq!(p["status"]["status"], "FAILED");
    assert_eq!(
        p["status"]["errorReport"]["error"]["errorCode"],
        "InsertTimeNull"
    );
    assert!(cluster
        .engine()
        .store()
        .manifest("edits")
        .unwrap()
        .is_none());
}

/// The files under `prefix` in the engine's store.
fn stored(cluster: &LocalCluster, prefix: &str) -> Vec<String> {
    use msq_exec::segment::SegmentStore;
    cluster.engine().store().list(prefix).unwrap()
}

#[test]
fn an_ingest_that_fails_after_writing_segments_leaves_none() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    let before = stored(&cluster, "edits/");
    // 2016-06-27 is in bounds: its segment is written ahead (as chunks arrive) before
    // 2016-06-28 fails the task.
    let report = cluster
        .run(
            &format!(
                "REPLACE INTO edits OVERWRITE WHERE __time >= TIMESTAMP '2016-06-27' AND \
                 __time < TIMESTAMP '2016-06-28' SELECT TIME_PARSE(ts) AS __time, channel \
                 FROM {EXTERN} PARTITIONED BY DAY"
            ),
            Map::new(),
        )
        .unwrap();
    let p = payload(&report);
    assert_eq!(
        p["status"]["errorReport"]["error"]["errorCode"], "InsertTimeOutOfBounds",
        "{p:#}"
    );
    assert_eq!(stored(&cluster, "edits/"), before);
    assert_eq!(
        select(&mut cluster, "SELECT COUNT(*), SUM(added) FROM edits"),
        json!([[4, 23]])
    );
}

#[test]
fn segments_written_ahead_survive_other_tasks_garbage_collection() {
    use msq_exec::segment::{SegmentStore, SegmentWriter};
    let cluster = cluster();
    let store = cluster.engine().store().clone();
    let rows = arrow_array::RecordBatch::try_from_iter([(
        "__time",
        std::sync::Arc::new(arrow_array::Int64Array::from(vec![5])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let segment = || {
        let mut written = SegmentWriter::new("edits", 0, 10, "v1", 100)
            .unwrap()
            .write(std::slice::from_ref(&rows))
            .unwrap();
        written.remove(0)
    };
    let meta = store.write_ahead(segment()).unwrap();
    // A second task writing the same segment id is refused rather than overwriting it.
    let err = store.write_ahead(segment()).unwrap_err();
    assert!(
        err.message().contains("being written by another task"),
        "{err}"
    );
    // Another task's publish collects garbage: the unpublished file stays.
    assert!(store.collect_garbage().unwrap().is_empty());
    assert_eq!(stored(&cluster, "edits/").len(), 1);
    // Let go without a publish, it is deleted.
    store.release_ahead(&[meta], false);
    assert!(stored(&cluster, "edits/").is_empty());
    assert!(store.list("").unwrap().is_empty());
    // Versions never repeat, even for ingests started in the same millisecond.
    let versions: Vec<i64> = [5, 5, 3, 100].map(|now| store.new_version(now)).to_vec();
    assert_eq!(versions, [5, 6, 7, 100]);
}

#[test]
fn a_missing_url_fails_naming_it() {
    let mut cluster = cluster();
    let report = cluster
        .run(
            "SELECT * FROM TABLE(EXTERN('{\"type\":\"http\",\"uris\":[\"http://t/missing.json\"]}', \
             '{\"type\":\"json\"}', '[{\"name\":\"x\",\"type\":\"string\"}]'))",
            Map::new(),
        )
        .unwrap();
    let p = payload(&report);
    assert_eq!(p["status"]["status"], "FAILED");
    let message = p["status"]["errorReport"]["error"]["errorMessage"]
        .as_str()
        .unwrap();
    assert!(message.contains("http://t/missing.json"), "{message}");
    assert!(message.contains("404"), "{message}");
}

#[test]
fn parse_exceptions_follow_max_parse_exceptions() {
    let bad = "{\"ts\":\"2016-06-27T00:00:00Z\",\"channel\":\"a\",\"user\":\"u\",\"added\":1}\nnot json\n";
    let sql = format!("SELECT COUNT(*) FROM {EXTERN}");
    let mut cluster = cluster_with(&[("http://t/edits.json", bad)]);
    let strict = payload(&cluster.run(&sql, Map::new()).unwrap());
    assert_eq!(strict["status"]["status"], "FAILED");
    assert_eq!(
        strict["status"]["errorReport"]["error"]["errorCode"],
        "CannotParseExternalData"
    );
    let lenient = payload(
        &cluster
            .run(&sql, ctx(json!({"maxParseExceptions": 1})))
            .unwrap(),
    );
    assert_eq!(lenient["status"]["status"], "SUCCESS", "{lenient:#}");
    assert_eq!(lenient["results"]["results"], json!([[1]]));
    assert_eq!(
        lenient["status"]["warnings"][0]["error"]["errorCode"],
        "CannotParseExternalData"
    );
}

#[test]
fn bad_sql_is_a_400_with_druids_error_body() {
    let mut cluster = cluster();
    let err = cluster.run("SELEC 1", Map::new()).unwrap_err();
    assert_eq!(err.status, 400);
    assert_eq!(err.body["error"], "druidException");
    assert_eq!(err.body["category"], "INVALID_INPUT");
    assert!(
        cluster.engine().task_ids().is_empty(),
        "nothing was started"
    );
}

#[test]
fn shutdown_cancels_a_running_task() {
    let mut cluster = cluster();
    let response = cluster
        .engine()
        .submit(&SqlTaskRequest::new(format!("SELECT * FROM {EXTERN}")))
        .unwrap();
    assert_eq!(serde_json::to_value(&response).unwrap()["state"], "RUNNING");
    let status = cluster.engine().status(&response.task_id).unwrap();
    assert_eq!(
        serde_json::to_value(&status).unwrap()["status"]["statusCode"],
        "RUNNING"
    );
    cluster.engine().shutdown(&response.task_id).unwrap();
    cluster.run_until_stalled();
    let report = payload(&cluster.engine().report(&response.task_id).unwrap());
    assert_eq!(report["status"]["status"], "FAILED");
    assert_eq!(
        report["status"]["errorReport"]["error"]["errorCode"],
        "Canceled"
    );
    let status = serde_json::to_value(cluster.engine().status(&response.task_id).unwrap()).unwrap();
    assert_eq!(status["status"]["statusCode"], "FAILED");
    assert_eq!(status["status"]["type"], "query_controller");
    assert_eq!(status["status"]["dataSource"], "__query_select");
}

#[test]
fn explain_returns_the_stage_definitions() {
    let mut cluster = cluster();
    let rows = select(
        &mut cluster,
        &format!("EXPLAIN PLAN FOR INSERT INTO edits SELECT TIME_PARSE(ts) AS __time, channel FROM {EXTERN} PARTITIONED BY DAY"),
    );
    let plan: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
    let processors: Vec<&str> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["processor"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(processors, vec!["scan", "segmentGenerator"]);
    assert!(cluster
        .engine()
        .store()
        .manifest("edits")
        .unwrap()
        .is_none());
}

#[test]
fn parameters_bind() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    let mut request = SqlTaskRequest::new("SELECT COUNT(*) FROM edits WHERE channel = ?");
    request.parameters = vec![msq_model::SqlParameter::new("VARCHAR", json!("#en"))];
    let report = cluster.run_request(&request).unwrap();
    assert_eq!(payload(&report)["results"]["results"], json!([[2]]));
}

fn interactive(cluster: &mut LocalCluster, sql: &str) -> Value {
    cluster.sql(&SqlTaskRequest::new(sql)).unwrap()
}

#[test]
fn the_interactive_api_answers_metadata_tables_as_objects() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    assert_eq!(
        interactive(
            &mut cluster,
            "SELECT TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid'"
        ),
        json!([{"TABLE_NAME": "edits", "TABLE_TYPE": "TABLE"}])
    );
    assert_eq!(
        interactive(
            &mut cluster,
            "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS \
             WHERE TABLE_NAME = 'edits' ORDER BY ORDINAL_POSITION"
        ),
        json!([
            {"COLUMN_NAME": "__time", "DATA_TYPE": "TIMESTAMP"},
            {"COLUMN_NAME": "channel", "DATA_TYPE": "VARCHAR"},
            {"COLUMN_NAME": "user", "DATA_TYPE": "VARCHAR"},
            {"COLUMN_NAME": "added", "DATA_TYPE": "BIGINT"}
        ])
    );
    assert_eq!(
        interactive(
            &mut cluster,
            "SELECT datasource, COUNT(*) AS segments, SUM(num_rows) AS \"rows\" FROM sys.segments GROUP BY 1"
        ),
        json!([{"datasource": "edits", "segments": 2, "rows": 4}])
    );
    let tasks = interactive(
        &mut cluster,
        "SELECT task_id, status, datasource FROM sys.tasks WHERE \"type\" = 'query_controller'",
    );
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(tasks[0]["status"], "SUCCESS");
    assert_eq!(tasks[0]["datasource"], "edits");
    // TIMESTAMPs are ISO strings in the interactive API, as a Broker answers.
    assert_eq!(
        interactive(&mut cluster, "SELECT MIN(__time) AS t FROM edits"),
        json!([{"t": "2016-06-27T00:00:11.080Z"}])
    );
}

#[test]
fn the_interactive_api_formats_arrays_and_refuses_ingest() {
    let mut cluster = cluster();
    insert_edits(&mut cluster);
    let mut request = SqlTaskRequest::new(
        "SELECT channel, SUM(added) AS s FROM edits GROUP BY 1 ORDER BY 2 DESC",
    );
    request.ignored_result_format = Some(json!("array"));
    request.ignored_header = Some(json!(true));
    assert_eq!(
        cluster.sql(&request).unwrap(),
        json!([["channel", "s"], ["#en", 17], ["#de", 5], [null, 1]])
    );
    let err = cluster
        .sql(&SqlTaskRequest::new(format!(
            "INSERT INTO x SELECT TIME_PARSE(ts) AS __time FROM {EXTERN} PARTITIONED BY DAY"
        )))
        .unwrap_err();
    assert_eq!(err.status, 400);
    // The task engine still refuses metadata tables, with Druid's message.
    let err = cluster
        .run("SELECT * FROM sys.segments", Map::new())
        .unwrap_err();
    assert_eq!(
        err.message(),
        "Cannot query table(s) [sys.segments] with SQL engine [msq-task]"
    );
}

/// A store that writes behind, like OPFS: its writes become durable when the test opens the
/// gate, and then they succeed or fail as the test says.
#[derive(Clone, Default)]
struct WriteBehind {
    files: std::rc::Rc<std::cell::RefCell<msq_exec::segment::MemorySegmentStore>>,
    gate: std::rc::Rc<std::cell::RefCell<Gate>>,
}

#[derive(Default)]
struct Gate {
    /// `Some` once open: what every flush then answers.
    outcome: Option<Result<(), String>>,
    waiting: Vec<std::task::Waker>,
    flushes: usize,
}

impl WriteBehind {
    fn open(&self, outcome: Result<(), String>) {
        let mut gate = self.gate.borrow_mut();
        gate.outcome = Some(outcome);
        gate.waiting.drain(..).for_each(std::task::Waker::wake);
    }
}

impl msq_exec::segment::SegmentStore for WriteBehind {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> msq_common::Result<()> {
        self.files.borrow_mut().put_segment(path, bytes)
    }
    fn get(&self, path: &str) -> msq_common::Result<Option<Vec<u8>>> {
        self.files.borrow().get(path)
    }
    fn list(&self, prefix: &str) -> msq_common::Result<Vec<String>> {
        self.files.borrow().list(prefix)
    }
    fn delete(&mut self, path: &str) -> msq_common::Result<()> {
        self.files.borrow_mut().delete(path)
    }
    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> msq_common::Result<()> {
        self.files
            .borrow_mut()
            .put_manifest_atomic(data_source, bytes)
    }
    fn durable(&self) -> Option<msq_exec::segment::Durable> {
        self.gate.borrow_mut().flushes += 1;
        let gate = std::rc::Rc::clone(&self.gate);
        Some(Box::pin(std::future::poll_fn(move |cx| {
            let mut gate = gate.borrow_mut();
            match &gate.outcome {
                Some(Ok(())) => std::task::Poll::Ready(Ok(())),
                Some(Err(e)) => std::task::Poll::Ready(Err(msq_common::MsqError::internal(e))),
                None => {
                    gate.waiting.push(cx.waker().clone());
                    std::task::Poll::Pending
                }
            }
        })))
    }
}

#[test]
fn an_ingest_succeeds_only_once_its_segments_are_durable() {
    let store = WriteBehind::default();
    let fetcher = MemoryFetcher::new().with_file("http://t/edits.json", EDITS.as_bytes().to_vec());
    let mut cluster =
        LocalCluster::with_store(fetcher, ManualClock::new(1_700_000_000_000), store.clone());
    let insert = format!(
        "INSERT INTO edits SELECT TIME_PARSE(ts) AS __time, channel FROM {EXTERN} \
         PARTITIONED BY DAY"
    );
    let state = |cluster: &LocalCluster, task: &str| {
        serde_json::to_value(cluster.engine().status(task).unwrap()).unwrap()["status"]
            ["statusCode"]
            .clone()
    };
    let task = cluster
        .engine()
        .submit(&SqlTaskRequest::new(insert.clone()))
        .unwrap()
        .task_id;
    cluster.run_until_stalled();
    // Published (the manifest is written) but not yet durable: still running.
    assert_eq!(store.gate.borrow().flushes, 1);
    assert!(cluster
        .engine()
        .store()
        .manifest("edits")
        .unwrap()
        .is_some());
    assert_eq!(state(&cluster, &task), "RUNNING");
    store.open(Ok(()));
    cluster.run_until_stalled();
    assert_eq!(state(&cluster, &task), "SUCCESS");

    // A write that never reaches the disk fails the task, naming the failure.
    *store.gate.borrow_mut() = Gate::default();
    let other = insert.replace("INTO edits", "INTO other_edits");
    let task = cluster
        .engine()
        .submit(&SqlTaskRequest::new(other))
        .unwrap()
        .task_id;
    cluster.run_until_stalled();
    store.open(Err(
        "OPFS: writing edits/segments/x.arrow failed: QuotaExceededError".into(),
    ));
    cluster.run_until_stalled();
    assert_eq!(state(&cluster, &task), "FAILED");
    let report = payload(&cluster.engine().report(&task).unwrap());
    let message = report["status"]["errorReport"]["error"]["errorMessage"].to_string();
    assert!(message.contains("QuotaExceededError"), "{report:#}");
    // A SELECT writes nothing and waits for nothing.
    select(&mut cluster, "SELECT COUNT(*) FROM edits");
    assert_eq!(store.gate.borrow().flushes, 1);
}
