//! Answers [`msq_protocol::api`] calls with the [`Engine`]: the one place that turns Druid's
//! endpoints into engine calls and engine answers into Druid's HTTP statuses and bodies, shared
//! by every front end (the page's typed API, the Service Worker, native tests).

use crate::engine::{ApiError, Engine};
use msq_model::SqlTaskRequest;
use msq_protocol::api::{ApiCall, ApiRequest, ApiResponse};
use serde_json::Value;

/// Runs one call to the end (a `Sql` call waits for its query; every other call answers at
/// once) and answers it.
pub async fn handle(engine: &Engine, request: ApiRequest) -> ApiResponse {
    let reply_to = request.id;
    let answer = |result: Result<Value, ApiError>| match result {
        Ok(body) => ApiResponse::ok(reply_to, body),
        Err(error) => ApiResponse {
            reply_to,
            status: error.status,
            body: error.body,
        },
    };
    let not_found = |task_id: &str| Err(ApiError::not_found(task_id));
    match request.call {
        ApiCall::Submit { request } => answer(parse_request(request).and_then(|r| {
            engine
                .submit(&r)
                .map(|response| serde_json::to_value(response).unwrap_or(Value::Null))
        })),
        ApiCall::Sql { request } => match parse_request(request) {
            Ok(r) => answer(engine.sql(&r).await),
            Err(error) => answer(Err(error)),
        },
        ApiCall::Status { task_id } => answer(match engine.status(&task_id) {
            Some(status) => Ok(serde_json::to_value(status).unwrap_or(Value::Null)),
            None => not_found(&task_id),
        }),
        ApiCall::Report { task_id } => answer(match engine.report(&task_id) {
            Some(report) => Ok(report.to_value()),
            None => not_found(&task_id),
        }),
        ApiCall::Shutdown { task_id } => answer(match engine.shutdown(&task_id) {
            Some(reply) => Ok(serde_json::to_value(reply).unwrap_or(Value::Null)),
            None => not_found(&task_id),
        }),
        ApiCall::TaskPayload { task_id } => answer(match engine.task_payload(&task_id) {
            Some(payload) => Ok(payload),
            None => not_found(&task_id),
        }),
        ApiCall::DropDatasource { data_source } => answer(engine.drop_datasource(&data_source)),
        ApiCall::ServerStatus => answer(Ok(engine.server_status())),
        ApiCall::Workers => answer(Ok(engine.workers().await)),
        ApiCall::BenchDecode { request } => answer(engine.bench_decode(request).await),
    }
}

/// A request body as Druid reads it: `query` required, everything else optional.
fn parse_request(body: Value) -> Result<SqlTaskRequest, ApiError> {
    serde_json::from_value::<SqlTaskRequest>(body).map_err(|e| ApiError {
        status: 400,
        body: msq_protocol::api::invalid_input_body(format!("Malformed SQL request: {e}")),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::env::ManualClock;
    use crate::fetch::MemoryFetcher;
    use crate::LocalCluster;
    use serde_json::json;

    fn call(cluster: &mut LocalCluster, id: u64, call: ApiCall) -> ApiResponse {
        let engine = cluster.engine().clone();
        let response = futures::executor::block_on(handle(&engine, ApiRequest { id, call }));
        cluster.run_until_stalled();
        response
    }

    /// `POST /druid/v2/sql` run on the cluster's executor (a `Sql` call waits for its query,
    /// which only the executor can run).
    fn sql(cluster: &mut LocalCluster, query: &str) -> Value {
        cluster
            .sql(&SqlTaskRequest::new(query))
            .unwrap_or_else(|e| panic!("{query}: {:?}", e.body))
    }

    fn insert(cluster: &mut LocalCluster, id: u64, data_source: &str) {
        let submitted = call(
            cluster,
            id,
            ApiCall::Submit {
                request: json!({"query": format!("INSERT INTO \"{data_source}\" SELECT TIME_PARSE(t) AS __time, x FROM TABLE(EXTERN('{{\"type\":\"http\",\"uris\":[\"mem://x.csv\"]}}', '{{\"type\":\"csv\",\"columns\":[\"t\",\"x\"]}}', '[{{\"name\":\"t\",\"type\":\"string\"}},{{\"name\":\"x\",\"type\":\"string\"}}]')) PARTITIONED BY DAY")}),
            },
        );
        assert_eq!(submitted.status, 200, "{}", submitted.body);
        let task_id = submitted.body["taskId"].as_str().unwrap().to_owned();
        let status = call(cluster, id + 1, ApiCall::Status { task_id });
        assert_eq!(
            status.body["status"]["statusCode"], "SUCCESS",
            "{}",
            status.body
        );
    }

    #[test]
    fn server_status_names_the_version_and_the_storage() {
        let mut cluster = LocalCluster::new(MemoryFetcher::new(), ManualClock::new(0));
        let status = call(&mut cluster, 1, ApiCall::ServerStatus);
        assert_eq!(status.status, 200);
        assert!(status.body["version"]
            .as_str()
            .unwrap()
            .starts_with("acorn-"));
        assert_eq!(status.body["modules"], json!([]));
        assert_eq!(
            status.body["storage"],
            json!({"kind": "memory", "note": null})
        );
    }

    #[test]
    fn dropping_a_datasource_removes_it_and_an_insert_recreates_it() {
        let fetcher = MemoryFetcher::new().with_file(
            "mem://x.csv",
            b"2024-01-01T00:00:00Z,a\n2024-01-02T00:00:00Z,b\n".to_vec(),
        );
        let mut cluster = LocalCluster::new(fetcher, ManualClock::new(0));
        insert(&mut cluster, 1, "w");
        insert(&mut cluster, 3, "keep");
        let tables = "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid' ORDER BY TABLE_NAME";
        assert_eq!(
            sql(&mut cluster, tables),
            json!([{"TABLE_NAME": "keep"}, {"TABLE_NAME": "w"}])
        );
        let files_of = |cluster: &LocalCluster, ds: &str| {
            use msq_exec::segment::SegmentStore;
            cluster
                .engine()
                .store()
                .list(&msq_exec::segment::store::segments_prefix(ds))
                .unwrap()
                .len()
        };
        assert_eq!(files_of(&cluster, "w"), 2);

        let dropped = call(
            &mut cluster,
            6,
            ApiCall::DropDatasource {
                data_source: "w".into(),
            },
        );
        assert_eq!(dropped.status, 200);
        assert_eq!(dropped.body, json!({"numChangedSegments": 2}));
        assert_eq!(files_of(&cluster, "w"), 0);
        assert_eq!(sql(&mut cluster, tables), json!([{"TABLE_NAME": "keep"}]));
        assert_eq!(
            sql(
                &mut cluster,
                "SELECT COUNT(*) AS n FROM sys.segments WHERE datasource = 'w'"
            ),
            json!([{"n": 0}])
        );
        assert_eq!(
            sql(
                &mut cluster,
                "SELECT COUNT(*) AS n FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'w'"
            ),
            json!([{"n": 0}])
        );
        let select = cluster
            .sql(&SqlTaskRequest::new("SELECT * FROM w"))
            .unwrap_err();
        assert_eq!(select.status, 400, "{}", select.body);

        for (id, name) in [(11, "w"), (12, "never-there")] {
            let again = call(
                &mut cluster,
                id,
                ApiCall::DropDatasource {
                    data_source: name.into(),
                },
            );
            assert_eq!(
                (again.status, again.body),
                (200, json!({"numChangedSegments": 0}))
            );
        }

        insert(&mut cluster, 13, "w");
        assert_eq!(
            sql(&mut cluster, "SELECT COUNT(*) AS n FROM w"),
            json!([{"n": 2}])
        );
        assert_eq!(
            sql(&mut cluster, tables),
            json!([{"TABLE_NAME": "keep"}, {"TABLE_NAME": "w"}])
        );
    }

    #[test]
    fn the_task_endpoints_answer_as_druid() {
        let fetcher = MemoryFetcher::new().with_file("mem://x.csv", b"a\nb\n".to_vec());
        let mut cluster = LocalCluster::new(fetcher, ManualClock::new(0));
        let submitted = call(
            &mut cluster,
            1,
            ApiCall::Submit {
                request: json!({"query": "SELECT COUNT(*) AS n FROM TABLE(EXTERN('{\"type\":\"http\",\"uris\":[\"mem://x.csv\"]}', '{\"type\":\"csv\",\"columns\":[\"x\"]}', '[{\"name\":\"x\",\"type\":\"string\"}]'))"}),
            },
        );
        assert_eq!((submitted.reply_to, submitted.status), (1, 200));
        assert_eq!(submitted.body["state"], "RUNNING");
        let task_id = submitted.body["taskId"].as_str().unwrap().to_owned();
        assert!(task_id.starts_with("query-"));
        let report = call(
            &mut cluster,
            2,
            ApiCall::Report {
                task_id: task_id.clone(),
            },
        );
        assert_eq!(
            report.body["multiStageQuery"]["payload"]["results"]["results"],
            json!([[2]])
        );
        let status = call(
            &mut cluster,
            3,
            ApiCall::Status {
                task_id: task_id.clone(),
            },
        );
        assert_eq!(status.body["status"]["statusCode"], "SUCCESS");
        let payload = call(&mut cluster, 4, ApiCall::TaskPayload { task_id });
        assert!(payload.body["payload"]["sqlQuery"]
            .as_str()
            .unwrap()
            .starts_with("SELECT"));
        let missing = call(
            &mut cluster,
            5,
            ApiCall::Status {
                task_id: "query-nope".into(),
            },
        );
        assert_eq!(missing.status, 404);
        let bad = call(
            &mut cluster,
            6,
            ApiCall::Submit {
                request: json!({"context": {}}),
            },
        );
        assert_eq!(bad.status, 400);
        assert!(bad.body["errorMessage"].as_str().unwrap().contains("query"));
        let bad_sql = call(
            &mut cluster,
            7,
            ApiCall::Submit {
                request: json!({"query": "SELEC"}),
            },
        );
        assert_eq!(bad_sql.status, 400);
        assert_eq!(bad_sql.body["error"], "druidException");
    }
}
