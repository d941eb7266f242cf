//! The console's one door to a query engine: Druid's SQL-task API.
//!
//! [`DruidHttpApi`] speaks Druid's endpoints exactly as Druid's (2022-23) console did for MSQ
//! (spec `druid-console-query-view.md` §2.1, `druid-msq.md` §0):
//! `POST /druid/v2/sql/task` to submit, `GET /druid/indexer/v1/task/<id>/reports` to poll,
//! `POST /druid/indexer/v1/task/<id>/shutdown` to cancel — either to a Druid router over HTTP,
//! or to Acorn's own engine in a Web Worker ([`msq_wasm::engine::EngineClient`]), which answers
//! the same calls with the same statuses and JSON bodies (the call is routed with
//! [`msq_protocol::api::route`], the table the Service Worker shares). Everything after the
//! transport — reading bodies, error panes — is one code path.
//!
//! Fetching goes through `web_sys::fetch`; everything that interprets an answer
//! ([`DruidHttpApi::url`], [`ApiError::from_http`]) is plain Rust and tested natively.

use msq_model::{SqlTaskRequest, SqlTaskResponse, TaskReport};
use serde_json::Value;
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A failed request, worded for the error pane.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an HTTP answer: connection refused, DNS, CORS, mixed content.
    Network {
        /// The URL requested.
        url: String,
        /// What the browser said.
        message: String,
    },
    /// The server answered with a non-2xx status.
    Http {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// Druid's error body (`error`, `errorMessage`, `errorClass`, `errorCode`, `host`, …)
        /// when the body was a JSON object.
        druid: Option<DruidErrorBody>,
        /// The body as text (shortened), when it was not a Druid error object.
        body: String,
    },
    /// A 2xx answer that is not what the endpoint returns.
    BadResponse {
        /// The URL requested.
        url: String,
        /// Why it could not be read.
        message: String,
    },
}

/// The fields of a Druid error response body the console shows; both the classic
/// (`error`, `errorMessage`, `errorClass`, `host`) and the newer `DruidException` shapes
/// (`errorCode`, `persona`, `category`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DruidErrorBody {
    /// `error`: short error name, e.g. `"Plan validation failed"` or `"druidException"`.
    pub error: Option<String>,
    /// `errorMessage`: the message for a person.
    pub error_message: Option<String>,
    /// `errorClass`: the Java exception class.
    pub error_class: Option<String>,
    /// `errorCode`: e.g. `"invalidInput"`.
    pub error_code: Option<String>,
    /// `host`: the server that failed.
    pub host: Option<String>,
}

impl DruidErrorBody {
    /// Reads the known fields of a JSON object body; `None` when `body` is not a JSON object
    /// with at least `error` or `errorMessage`.
    pub fn parse(body: &str) -> Option<DruidErrorBody> {
        let Value::Object(map) = serde_json::from_str::<Value>(body).ok()? else {
            return None;
        };
        let text = |k: &str| -> Option<String> {
            match map.get(k)? {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        };
        let parsed = DruidErrorBody {
            error: text("error"),
            error_message: text("errorMessage"),
            error_class: text("errorClass"),
            error_code: text("errorCode"),
            host: text("host"),
        };
        (parsed.error.is_some() || parsed.error_message.is_some()).then_some(parsed)
    }
}

impl ApiError {
    /// Interprets a non-2xx answer.
    pub fn from_http(url: &str, status: u16, body: &str) -> ApiError {
        let druid = DruidErrorBody::parse(body);
        let body = if druid.is_some() {
            String::new()
        } else {
            shorten(body, 2000)
        };
        ApiError::Http {
            url: url.to_owned(),
            status,
            druid,
            body,
        }
    }

    /// The one-line summary, like Druid's `"<error>: <errorMessage>"`.
    pub fn summary(&self) -> String {
        match self {
            ApiError::Network { message, .. } => format!("Network error: {message}"),
            ApiError::Http {
                status,
                druid: Some(d),
                ..
            } => {
                let head = d.error.clone().unwrap_or_else(|| format!("HTTP {status}"));
                match &d.error_message {
                    Some(m) => format!("{head}: {m}"),
                    None => head,
                }
            }
            ApiError::Http { status, body, .. } => {
                let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                if first.is_empty() {
                    format!("HTTP {status} {}", reason(*status))
                } else {
                    format!("HTTP {status} {}: {first}", reason(*status))
                }
            }
            ApiError::BadResponse { message, .. } => format!("Unexpected response: {message}"),
        }
    }

    /// Label/value pairs shown under the summary.
    pub fn details(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        match self {
            ApiError::Network { url, .. } | ApiError::BadResponse { url, .. } => {
                rows.push(("URL".to_owned(), url.clone()));
            }
            ApiError::Http {
                url,
                status,
                druid,
                body,
            } => {
                rows.push((
                    "HTTP status".to_owned(),
                    format!("{status} {}", reason(*status)),
                ));
                rows.push(("URL".to_owned(), url.clone()));
                if let Some(d) = druid {
                    for (label, value) in [
                        ("Error code", &d.error_code),
                        ("Error class", &d.error_class),
                        ("Host", &d.host),
                    ] {
                        if let Some(v) = value {
                            rows.push((label.to_owned(), v.clone()));
                        }
                    }
                } else if body.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
                    rows.push(("Response".to_owned(), body.clone()));
                }
            }
        }
        if let ApiError::Network { .. } = self {
            rows.push((
                "Hint".to_owned(),
                "Is the router running, and does it allow requests from this page's origin (CORS)?"
                    .to_owned(),
            ));
        }
        rows
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn shorten(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// A report poll's outcome.
#[derive(Debug, Clone)]
pub enum ReportPoll {
    /// The report, and its raw text (kept for the JSON viewer and download).
    Report(Box<TaskReport>, String),
    /// `404`: the report does not exist yet (the task is starting).
    NotYet,
}

/// What [`DruidHttpApi::router`] says for the in-browser engine.
pub const IN_BROWSER_ENGINE: &str = "the in-browser engine";

/// Druid's SQL task API on a router, e.g. `http://localhost:8888`, or on the in-browser engine.
#[derive(Debug, Clone)]
pub struct DruidHttpApi {
    router: String,
    engine: Option<msq_wasm::engine::EngineClient>,
}

impl DruidHttpApi {
    /// An API client for `router_url` (scheme, host, port; a trailing `/` is ignored).
    /// `None` when the URL is blank.
    pub fn new(router_url: &str) -> Option<DruidHttpApi> {
        let router = router_url.trim().trim_end_matches('/');
        (!router.is_empty()).then(|| DruidHttpApi {
            router: router.to_owned(),
            engine: None,
        })
    }

    /// The same API answered by Acorn's engine in a Web Worker.
    pub fn in_browser(engine: msq_wasm::engine::EngineClient) -> DruidHttpApi {
        DruidHttpApi {
            router: IN_BROWSER_ENGINE.to_owned(),
            engine: Some(engine),
        }
    }

    /// The router URL this client talks to ([`IN_BROWSER_ENGINE`] for the in-browser engine).
    pub fn router(&self) -> &str {
        &self.router
    }

    /// The full URL of an API `path` (which starts with `/`); the task id is URL-encoded.
    pub fn url(&self, path: &str) -> String {
        if self.engine.is_some() {
            return path.to_owned();
        }
        format!("{}{path}", self.router)
    }

    /// One call: over HTTP to the router, or as a message to the in-browser engine.
    async fn request(
        &self,
        method: &str,
        url: &str,
        body: Option<&str>,
    ) -> Result<String, ApiError> {
        let Some(engine) = &self.engine else {
            return fetch_text(method, url, body).await;
        };
        let call = msq_protocol::api::route_http(method, url, body)
            .map_err(|e| ApiError::from_http(url, e.status, &e.body.to_string()))?;
        let response = engine.call(call).await;
        let text = response.body.to_string();
        if response.is_success() {
            Ok(text)
        } else {
            Err(ApiError::from_http(url, response.status, &text))
        }
    }

    fn task_url(&self, task_id: &str, tail: &str) -> String {
        let id: String = js_free_encode(task_id);
        self.url(&format!("/druid/indexer/v1/task/{id}{tail}"))
    }

    /// `POST /druid/v2/sql/task`.
    ///
    /// # Errors
    /// Network failures, non-2xx answers (a planning error is HTTP 400 with a Druid error
    /// body), or a body without `taskId`.
    pub async fn submit_sql_task(
        &self,
        request: &SqlTaskRequest,
    ) -> Result<SqlTaskResponse, ApiError> {
        let url = self.url("/druid/v2/sql/task");
        let body = serde_json::to_string(request).map_err(|e| ApiError::BadResponse {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let text = self.request("POST", &url, Some(&body)).await?;
        serde_json::from_str::<SqlTaskResponse>(&text).map_err(|e| ApiError::BadResponse {
            url,
            message: format!("not a SQL task response ({e})"),
        })
    }

    /// `GET /druid/indexer/v1/task/<id>/reports`.
    ///
    /// # Errors
    /// Network failures, non-2xx answers other than 404, or a body that is not a task report.
    pub async fn task_report(&self, task_id: &str) -> Result<ReportPoll, ApiError> {
        let url = self.task_url(task_id, "/reports");
        match self.request("GET", &url, None).await {
            Ok(text) => match TaskReport::from_json(&text) {
                Ok(report) => Ok(ReportPoll::Report(Box::new(report), text)),
                Err(e) => Err(ApiError::BadResponse {
                    url,
                    message: e.to_string(),
                }),
            },
            Err(ApiError::Http { status: 404, .. }) => Ok(ReportPoll::NotYet),
            Err(e) => Err(e),
        }
    }

    /// `POST /druid/indexer/v1/task/<id>/shutdown` with body `{}`.
    ///
    /// # Errors
    /// Network failures and non-2xx answers.
    pub async fn cancel_task(&self, task_id: &str) -> Result<(), ApiError> {
        let url = self.task_url(task_id, "/shutdown");
        self.request("POST", &url, Some("{}")).await.map(|_| ())
    }

    /// `POST /druid/v2/sql`, the interactive API, for the EXPLAIN button: `request.query` is
    /// an `EXPLAIN PLAN FOR …` statement (see [`crate::explain::explain_statement`]); asks for
    /// `resultFormat: "object"` and returns the body, Druid's
    /// `[{"PLAN": "…", "RESOURCES": "…", "ATTRIBUTES": "…"}]`.
    ///
    /// # Errors
    /// Network failures, non-2xx answers (bad SQL is HTTP 400 with Druid's error body), or a
    /// body that is not JSON.
    pub async fn explain_plan(&self, request: &SqlTaskRequest) -> Result<Value, ApiError> {
        let url = self.url("/druid/v2/sql");
        let mut request = request.clone();
        request.ignored_result_format = Some(Value::from("object"));
        let body = serde_json::to_string(&request).map_err(|e| ApiError::BadResponse {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let text = self.request("POST", &url, Some(&body)).await?;
        serde_json::from_str::<Value>(&text).map_err(|e| ApiError::BadResponse {
            url,
            message: format!("the EXPLAIN answer is not JSON ({e})"),
        })
    }

    /// `POST /druid/v2/sql`, the interactive API, for a metadata query (the datasource
    /// browser's `INFORMATION_SCHEMA` and `sys` queries): asks for `resultFormat: "object"`
    /// and returns the rows, one JSON object per row keyed by column name.
    ///
    /// # Errors
    /// Network failures, non-2xx answers (bad SQL is HTTP 400 with Druid's error body), or a
    /// body that is not a JSON array of objects.
    pub async fn sql_rows(
        &self,
        query: &str,
    ) -> Result<Vec<serde_json::Map<String, Value>>, ApiError> {
        let url = self.url("/druid/v2/sql");
        let body = serde_json::json!({"query": query, "resultFormat": "object"}).to_string();
        let text = self.request("POST", &url, Some(&body)).await?;
        parse_object_rows(&text).map_err(|message| ApiError::BadResponse { url, message })
    }

    /// `DELETE /druid/coordinator/v1/datasources/<dataSource>` (Druid's data management API:
    /// marks every segment of the datasource unused); returns `numChangedSegments`.
    ///
    /// # Errors
    /// Network failures, non-2xx answers, or a body without `numChangedSegments`.
    pub async fn drop_datasource(&self, data_source: &str) -> Result<u64, ApiError> {
        let url = self.url(&format!(
            "/druid/coordinator/v1/datasources/{}",
            js_free_encode(data_source)
        ));
        let text = self.request("DELETE", &url, None).await?;
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("numChangedSegments").and_then(Value::as_u64))
            .ok_or_else(|| ApiError::BadResponse {
                url,
                message: format!(
                    "expected {{\"numChangedSegments\": N}}, got {}",
                    shorten(&text, 200)
                ),
            })
    }
}

/// The rows of an interactive-API answer in `resultFormat: "object"`.
///
/// # Errors
/// Why the text is not a JSON array of objects.
pub fn parse_object_rows(text: &str) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(rows)) => rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| match row {
                Value::Object(map) => Ok(map),
                other => Err(format!(
                    "row {} is not a JSON object: {}",
                    i + 1,
                    shorten(&other.to_string(), 100)
                )),
            })
            .collect(),
        Ok(other) => Err(format!(
            "expected a JSON array of rows, got {}",
            shorten(&other.to_string(), 100)
        )),
        Err(e) => Err(format!("the SQL answer is not JSON ({e})")),
    }
}

/// Percent-encodes everything but unreserved characters (task ids are `query-<uuid>`, but a
/// pasted id must not be able to change the path).
fn js_free_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn js_error_text(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| "request failed".to_owned())
}

/// Fetches `url` and returns the body of a 2xx answer.
async fn fetch_text(method: &str, url: &str, body: Option<&str>) -> Result<String, ApiError> {
    let network = |e: JsValue| ApiError::Network {
        url: url.to_owned(),
        message: js_error_text(&e),
    };
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(network)?;
    headers.set("Accept", "application/json").map_err(network)?;
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(network)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(network)?;
    let window = web_sys::window().ok_or_else(|| ApiError::Network {
        url: url.to_owned(),
        message: "no window".to_owned(),
    })?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    let text = JsFuture::from(response.text().map_err(network)?)
        .await
        .map_err(network)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        Err(ApiError::from_http(url, response.status(), &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(DruidHttpApi::new("  ").is_none());
        let api = DruidHttpApi::new(" http://localhost:8888/ ").expect("url");
        assert_eq!(api.router(), "http://localhost:8888");
        assert_eq!(
            api.url("/druid/v2/sql/task"),
            "http://localhost:8888/druid/v2/sql/task"
        );
        assert_eq!(
            api.task_url("query-3dc0/../x", "/reports"),
            "http://localhost:8888/druid/indexer/v1/task/query-3dc0%2F..%2Fx/reports"
        );
    }

    #[test]
    fn object_rows_and_datasource_urls() {
        let rows = parse_object_rows(r#"[{"TABLE_NAME":"w"},{"TABLE_NAME":"x"}]"#).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["TABLE_NAME"], "x");
        assert!(parse_object_rows("[1]")
            .unwrap_err()
            .starts_with("row 1 is not"));
        assert!(parse_object_rows("{}")
            .unwrap_err()
            .starts_with("expected a JSON array"));
        assert!(parse_object_rows("nope").unwrap_err().contains("not JSON"));
        assert_eq!(js_free_encode("wiki/x y"), "wiki%2Fx%20y");
    }

    #[test]
    fn druid_error_bodies() {
        let e = ApiError::from_http(
            "http://r/druid/v2/sql/task",
            400,
            r#"{"error":"Plan validation failed","errorMessage":"Column 'x' not found","errorClass":"org.apache.calcite.tools.ValidationException","host":null}"#,
        );
        assert_eq!(e.summary(), "Plan validation failed: Column 'x' not found");
        let details = e.details();
        assert!(details.contains(&("HTTP status".to_owned(), "400 Bad Request".to_owned())));
        assert!(details
            .iter()
            .any(|(k, v)| k == "Error class" && v.ends_with("ValidationException")));
        assert!(!details.iter().any(|(k, _)| k == "Host"));

        let e = ApiError::from_http(
            "u",
            400,
            r#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","errorMessage":"Bad"}"#,
        );
        assert_eq!(e.summary(), "druidException: Bad");
        assert!(e
            .details()
            .contains(&("Error code".to_owned(), "invalidInput".to_owned())));
    }

    #[test]
    fn non_json_bodies() {
        assert_eq!(
            ApiError::from_http("u", 502, "").summary(),
            "HTTP 502 Bad Gateway"
        );
        assert_eq!(
            ApiError::from_http("u", 500, "\n<html>oops</html>").summary(),
            "HTTP 500 Internal Server Error: <html>oops</html>"
        );
        let long = "x".repeat(3000);
        match ApiError::from_http("u", 500, &long) {
            ApiError::Http { body, .. } => assert_eq!(body.chars().count(), 2001),
            other => panic!("{other:?}"),
        }
        let n = ApiError::Network {
            url: "http://r".into(),
            message: "Failed to fetch".into(),
        };
        assert_eq!(n.summary(), "Network error: Failed to fetch");
        assert!(n.details().iter().any(|(k, _)| k == "Hint"));
    }
}
