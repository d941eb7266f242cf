//! Druid's HTTP API as messages: what the page (or a Service Worker answering `fetch`) sends to
//! the engine's worker, and what comes back (spec `sql-ingestion-api.md`, `druid-msq.md` §0).
//!
//! | HTTP | [`ApiCall`] |
//! |---|---|
//! | `POST /druid/v2/sql/task` | [`ApiCall::Submit`] |
//! | `GET /druid/indexer/v1/task/<id>/status` | [`ApiCall::Status`] |
//! | `GET /druid/indexer/v1/task/<id>/reports` | [`ApiCall::Report`] |
//! | `POST /druid/indexer/v1/task/<id>/shutdown` | [`ApiCall::Shutdown`] |
//! | `GET /druid/indexer/v1/task/<id>` | [`ApiCall::TaskPayload`] |
//! | `POST /druid/v2/sql` | [`ApiCall::Sql`] |
//! | `DELETE /druid/coordinator/v1/datasources/<dataSource>` | [`ApiCall::DropDatasource`] |
//! | `GET /status` | [`ApiCall::ServerStatus`] |
//! | `GET /druid/indexer/v1/workers` | [`ApiCall::Workers`] |
//! | `POST /acorn/v1/bench/decode` (Acorn's own) | [`ApiCall::BenchDecode`] |
//!
//! [`route`] maps a method and path (and body) to a call ([`route_http`] from the raw request), so the Service Worker and any other
//! HTTP front end share one routing table; the answer is an [`ApiResponse`]: an HTTP status and
//! the JSON body Druid would send.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One Druid endpoint call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "camelCase")]
pub enum ApiCall {
    /// `POST /druid/v2/sql/task` with its JSON body.
    Submit {
        /// `{"query", "context", "parameters", …}`.
        request: Value,
    },
    /// `GET /druid/indexer/v1/task/<id>/status`.
    #[serde(rename_all = "camelCase")]
    Status {
        /// The task id.
        task_id: String,
    },
    /// `GET /druid/indexer/v1/task/<id>/reports`.
    #[serde(rename_all = "camelCase")]
    Report {
        /// The task id.
        task_id: String,
    },
    /// `POST /druid/indexer/v1/task/<id>/shutdown`.
    #[serde(rename_all = "camelCase")]
    Shutdown {
        /// The task id.
        task_id: String,
    },
    /// `GET /druid/indexer/v1/task/<id>`.
    #[serde(rename_all = "camelCase")]
    TaskPayload {
        /// The task id.
        task_id: String,
    },
    /// `POST /druid/v2/sql` with its JSON body.
    Sql {
        /// `{"query", "context", "resultFormat", "header", …}`.
        request: Value,
    },
    /// `GET /status`: Druid's server status (`version`, `modules`), plus where this engine
    /// keeps its segments (`storage`).
    ServerStatus,
    /// `GET /druid/indexer/v1/workers`: the threads stage work runs on, as Druid's overlord
    /// lists its workers (`worker`, `currCapacityUsed`, `runningTasks`, …) plus each thread's
    /// vital signs under `acorn`.
    Workers,
    /// `DELETE /druid/coordinator/v1/datasources/<dataSource>`: marks every segment of the
    /// datasource unused (Druid's data management API); answers `{"numChangedSegments": N}`.
    #[serde(rename_all = "camelCase")]
    DropDatasource {
        /// The datasource name (percent-decoded).
        data_source: String,
    },
    /// `POST /acorn/v1/bench/decode` (not Druid's): times one thread decoding a file with
    /// Acorn's reader or serde_json alone, for the browser benchmark (`msq_runtime::bench`).
    BenchDecode {
        /// `{"uri", "inputFormat", "signature", "reader"}`.
        request: Value,
    },
}

/// A call with the id its response will name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRequest {
    /// Chosen by the caller, echoed in [`ApiResponse::reply_to`].
    pub id: u64,
    /// The call.
    #[serde(flatten)]
    pub call: ApiCall,
}

/// The answer to an [`ApiRequest`]: an HTTP status and Druid's JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResponse {
    /// The request's id.
    pub reply_to: u64,
    /// HTTP status (200, 400, 404, 500).
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl ApiResponse {
    /// A 200 with `body`.
    pub fn ok(reply_to: u64, body: Value) -> Self {
        Self {
            reply_to,
            status: 200,
            body,
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request matches no endpoint: a 404 or 405 with a Druid-style body.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteError {
    /// 404 (no such path) or 405 (wrong method) or 400 (bad body).
    pub status: u16,
    /// The body.
    pub body: Value,
}

const TASK_PREFIX: &str = "/druid/indexer/v1/task/";
const DATASOURCES_PREFIX: &str = "/druid/coordinator/v1/datasources/";

/// Druid's 400 body for a request it cannot read (`DruidException`, `invalidInput`, persona
/// `USER`): shared by routing and the engine's request parsing so every bad request reads alike.
pub fn invalid_input_body(message: impl Into<String>) -> Value {
    json!({
        "error": "druidException",
        "errorCode": "invalidInput",
        "persona": "USER",
        "category": "INVALID_INPUT",
        "errorMessage": message.into(),
        "context": {},
    })
}

/// The call an HTTP request makes. `path` is the URL path (no query string); `body` the
/// parsed JSON body of a POST.
///
/// # Errors
/// 404 for paths that are not Druid endpoints, 405 for a wrong method, 400 for a POST whose
/// body is missing or not a JSON object.
pub fn route(method: &str, path: &str, body: Option<Value>) -> Result<ApiCall, RouteError> {
    let method = method.to_ascii_uppercase();
    let path = path.trim_end_matches('/');
    let post_body = |body: Option<Value>| match body {
        Some(Value::Object(map)) => Ok(Value::Object(map)),
        _ => Err(RouteError {
            status: 400,
            body: invalid_input_body(
                "The request body must be a JSON object such as {\"query\": \"SELECT 1\"}",
            ),
        }),
    };
    let expect = |wanted: &str| {
        if method == wanted {
            Ok(())
        } else {
            Err(RouteError {
                status: 405,
                body: json!({"error": format!("Method {method} is not allowed on {path}; use {wanted}")}),
            })
        }
    };
    match path {
        "/druid/v2/sql/task" => {
            expect("POST")?;
            return Ok(ApiCall::Submit {
                request: post_body(body)?,
            });
        }
        "/status" => {
            expect("GET")?;
            return Ok(ApiCall::ServerStatus);
        }
        "/druid/indexer/v1/workers" => {
            expect("GET")?;
            return Ok(ApiCall::Workers);
        }
        "/acorn/v1/bench/decode" => {
            expect("POST")?;
            return Ok(ApiCall::BenchDecode {
                request: post_body(body)?,
            });
        }
        "/druid/v2/sql" => {
            expect("POST")?;
            return Ok(ApiCall::Sql {
                request: post_body(body)?,
            });
        }
        _ => {}
    }
    if let Some(data_source) = path.strip_prefix(DATASOURCES_PREFIX) {
        if !data_source.is_empty() && !data_source.contains('/') {
            expect("DELETE")?;
            return Ok(ApiCall::DropDatasource {
                data_source: data_source.to_owned(),
            });
        }
    }
    if let Some(rest) = path.strip_prefix(TASK_PREFIX) {
        let mut parts = rest.splitn(2, '/');
        let task_id = parts.next().unwrap_or_default().to_owned();
        if !task_id.is_empty() {
            match parts.next() {
                None => {
                    expect("GET")?;
                    return Ok(ApiCall::TaskPayload { task_id });
                }
                Some("status") => {
                    expect("GET")?;
                    return Ok(ApiCall::Status { task_id });
                }
                Some("reports") => {
                    expect("GET")?;
                    return Ok(ApiCall::Report { task_id });
                }
                Some("shutdown") => {
                    expect("POST")?;
                    return Ok(ApiCall::Shutdown { task_id });
                }
                Some(_) => {}
            }
        }
    }
    Err(RouteError {
        status: 404,
        body: json!({"error": format!("No Druid endpoint at {path}")}),
    })
}

/// [`route`] for an HTTP request as it arrives: `target` is the request path as sent
/// (percent-encoded, maybe with a `?query`), `body` the body text (blank means none). Task ids
/// and datasource names are percent-decoded after routing, so an encoded `/` in a name cannot
/// change the endpoint.
///
/// # Errors
/// Those of [`route`], and a 400 with a Druid `invalidInput` body when the body is not JSON.
pub fn route_http(method: &str, target: &str, body: Option<&str>) -> Result<ApiCall, RouteError> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let body = match body.map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(serde_json::from_str::<Value>(text).map_err(|e| RouteError {
            status: 400,
            body: invalid_input_body(format!("The request body is not valid JSON: {e}")),
        })?),
    };
    Ok(match route(method, path, body)? {
        ApiCall::Status { task_id } => ApiCall::Status {
            task_id: percent_decode(&task_id),
        },
        ApiCall::Report { task_id } => ApiCall::Report {
            task_id: percent_decode(&task_id),
        },
        ApiCall::Shutdown { task_id } => ApiCall::Shutdown {
            task_id: percent_decode(&task_id),
        },
        ApiCall::TaskPayload { task_id } => ApiCall::TaskPayload {
            task_id: percent_decode(&task_id),
        },
        ApiCall::DropDatasource { data_source } => ApiCall::DropDatasource {
            data_source: percent_decode(&data_source),
        },
        call => call,
    })
}

/// Decodes `%XX` escapes (invalid escapes stay as written; invalid UTF-8 becomes U+FFFD).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn server_status() {
        assert_eq!(
            route("GET", "/status", None).unwrap(),
            ApiCall::ServerStatus
        );
        assert_eq!(route("POST", "/status", None).unwrap_err().status, 405);
        assert_eq!(
            route("GET", "/druid/indexer/v1/workers", None).unwrap(),
            ApiCall::Workers
        );
        assert_eq!(
            route("POST", "/acorn/v1/bench/decode", Some(json!({"uri": "u"}))).unwrap(),
            ApiCall::BenchDecode {
                request: json!({"uri": "u"})
            }
        );
        assert_eq!(
            route("GET", "/acorn/v1/bench/decode", None)
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn http_requests_route_with_decoded_task_ids_and_json_bodies() {
        assert_eq!(
            route_http(
                "GET",
                "/druid/indexer/v1/task/query-3dc0%2F..%2Fx/reports?x=1",
                None
            )
            .unwrap(),
            ApiCall::Report {
                task_id: "query-3dc0/../x".to_owned()
            }
        );
        assert_eq!(
            route_http(
                "POST",
                "/druid/v2/sql/task",
                Some(r#"{"query":"SELECT 1"}"#)
            )
            .unwrap(),
            ApiCall::Submit {
                request: json!({"query": "SELECT 1"})
            }
        );
        let bad = route_http("POST", "/druid/v2/sql/task", Some("{query")).unwrap_err();
        assert_eq!(bad.status, 400);
        assert!(bad.body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("The request body is not valid JSON"));
        assert_eq!(
            route_http("POST", "/druid/v2/sql", Some("  "))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(percent_decode("/a%zz%41"), "/a%zzA");
    }

    #[test]
    fn datasource_deletes_route_with_decoded_names() {
        assert_eq!(
            route_http(
                "DELETE",
                "/druid/coordinator/v1/datasources/wiki%2F%22x%22?kill=false",
                None
            )
            .unwrap(),
            ApiCall::DropDatasource {
                data_source: "wiki/\"x\"".to_owned()
            }
        );
        assert_eq!(
            route("GET", "/druid/coordinator/v1/datasources/wikipedia", None)
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(
            route(
                "DELETE",
                "/druid/coordinator/v1/datasources/wikipedia/intervals/x",
                None
            )
            .unwrap_err()
            .status,
            404
        );
        assert_eq!(
            serde_json::to_value(ApiCall::DropDatasource {
                data_source: "w".into()
            })
            .unwrap(),
            json!({"call": "dropDatasource", "dataSource": "w"})
        );
    }

    #[test]
    fn druid_paths_route_to_calls() {
        let body = json!({"query": "SELECT 1"});
        assert_eq!(
            route("POST", "/druid/v2/sql/task", Some(body.clone())).unwrap(),
            ApiCall::Submit {
                request: body.clone()
            }
        );
        assert_eq!(
            route("post", "/druid/v2/sql/", Some(body.clone())).unwrap(),
            ApiCall::Sql { request: body }
        );
        let id = "query-5f1c2d3e";
        let call = |m: &str, suffix: &str| route(m, &format!("{TASK_PREFIX}{id}{suffix}"), None);
        assert_eq!(
            call("GET", "/status").unwrap(),
            ApiCall::Status { task_id: id.into() }
        );
        assert_eq!(
            call("GET", "/reports").unwrap(),
            ApiCall::Report { task_id: id.into() }
        );
        assert_eq!(
            call("POST", "/shutdown").unwrap(),
            ApiCall::Shutdown { task_id: id.into() }
        );
        assert_eq!(
            call("GET", "").unwrap(),
            ApiCall::TaskPayload { task_id: id.into() }
        );
    }

    #[test]
    fn wrong_methods_paths_and_bodies_are_http_errors() {
        assert_eq!(
            route("GET", "/druid/v2/sql/task", None).unwrap_err().status,
            405
        );
        assert_eq!(
            route("POST", "/druid/v2/sql/task", None)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            route("POST", "/druid/v2/sql/task", Some(json!([1])))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            route("GET", "/druid/v2/other", None).unwrap_err().status,
            404
        );
        assert_eq!(
            route("GET", "/druid/indexer/v1/task/x/logs", None)
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route("GET", "/druid/indexer/v1/task/x/shutdown", None)
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn requests_and_responses_are_plain_json() {
        let request = ApiRequest {
            id: 7,
            call: ApiCall::Report {
                task_id: "query-1".into(),
            },
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            json!({"id": 7, "call": "report", "taskId": "query-1"})
        );
        assert_eq!(serde_json::from_value::<ApiRequest>(json).unwrap(), request);
        let response = ApiResponse::ok(7, json!({"task": "query-1"}));
        assert!(response.is_success());
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"replyTo": 7, "status": 200, "body": {"task": "query-1"}})
        );
    }
}
