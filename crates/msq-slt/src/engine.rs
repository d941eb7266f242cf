//! The engine seam: what the runner needs from an SQL engine.
//!
//! The real implementation, [`ClusterEngine`], runs statements on `msq-runtime`'s
//! [`LocalCluster`] through the Druid task API (submit → run → report), reading inputs from
//! `tests/data` at `http://acorn.test/data/` (and plain relative paths for `local` sources):
//! natively from disk ([`ClusterEngine::new`]), in the browser from the files embedded at
//! compile time ([`ClusterEngine::with_env`] over [`crate::corpus::memory_fetcher`]).

use msq_runtime::env::{Clock, Fetcher};
use msq_runtime::LocalCluster;
use serde_json::{Map, Value};
use std::fmt;

/// What a successful statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A SELECT/EXPLAIN: column SQL type names (Druid's `sqlTypeNames`, e.g. `VARCHAR`,
    /// `BIGINT`, `DOUBLE`, `FLOAT`, `TIMESTAMP`, `BOOLEAN`) and rows as JSON values as they
    /// appear in the report's `results`.
    Rows {
        /// One SQL type name per column.
        sql_types: Vec<String>,
        /// The result rows, one JSON value per column.
        rows: Vec<Vec<Value>>,
    },
    /// An INSERT/REPLACE that succeeded.
    Done,
}

/// A failed statement: a Druid error code and message. Displays as `"code: message"`, the text
/// that `statement error` patterns match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    /// Druid's `errorCode` (e.g. `InsertTimeNull`, `InvalidInput`).
    pub code: String,
    /// Druid's `errorMessage`.
    pub message: String,
}

impl EngineError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for EngineError {}

impl From<msq_common::MsqError> for EngineError {
    fn from(e: msq_common::MsqError) -> Self {
        EngineError::new(e.code().as_str(), e.message())
    }
}

/// An SQL engine the runner drives. Each `.slt` file gets a fresh engine, so datasources
/// written in one file are invisible to the others (DataFusion's isolation rule).
pub trait SqlEngine {
    /// Runs one statement with the given context (the file's merged `context` records).
    ///
    /// # Errors
    /// An [`EngineError`] with Druid's code and message when the statement is invalid
    /// (planning error) or its task fails (fault).
    fn execute(&mut self, sql: &str, context: &Map<String, Value>) -> Result<Outcome, EngineError>;

    /// The full task report JSON (`{"multiStageQuery": …}`) of the last statement that ran as
    /// a task, successful or failed; `None` if there was none (e.g. a planning error).
    fn last_report(&self) -> Option<Value>;
}

/// The engine the `slt` test binary runs the corpus on: [`ClusterEngine`] over the workspace's
/// `tests/data` (natively; the browser runner brings its own engine).
pub fn default_engine() -> Option<Box<dyn SqlEngine>> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Some(Box::new(ClusterEngine::new()))
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}

/// As [`default_engine`], with workers on `hosts` stage hosts reached only through
/// `msq_runtime::remote` ([`ClusterEngine::with_hosts`]); `None` on targets without one.
pub fn remote_engine(hosts: u32) -> Option<Box<dyn SqlEngine>> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Some(Box::new(ClusterEngine::with_hosts(hosts)))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = hosts;
        None
    }
}

/// The URL prefix the corpus uses for files under `tests/data`.
pub const TEST_DATA_URL: &str = "http://acorn.test/data/";

/// [`SqlEngine`] over a [`LocalCluster`]: each statement is a task; planning errors come back
/// as Druid's 400 (code from `context.msqErrorCode`), task failures as the report's
/// `errorReport.error`.
///
/// The cluster's executor is a `futures` `LocalPool` driven with `run_until_stalled`, which
/// never blocks the thread, so the same engine runs in a browser tab as long as its fetcher
/// answers without waiting on the event loop (as [`msq_runtime::fetch::MemoryFetcher`] does).
pub struct ClusterEngine {
    cluster: LocalCluster,
    last_report: Option<Value>,
}

impl std::fmt::Debug for ClusterEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterEngine").finish_non_exhaustive()
    }
}

impl ClusterEngine {
    /// A fresh cluster (empty segment store) reading `tests/data` relative to the current
    /// directory, which the `slt` binary sets to the workspace root.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Self {
        let fetcher =
            msq_runtime::fetch::FileFetcher::new().with_mount(TEST_DATA_URL, "tests/data");
        Self::with_env(fetcher, msq_runtime::env::SystemClock)
    }

    /// As [`ClusterEngine::new`], with workers on `hosts` stage hosts that talk to the
    /// controller and each other only through `msq_runtime::remote`'s messages (the protocol
    /// of the browser's worker pool).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_hosts(hosts: u32) -> Self {
        let fetcher =
            msq_runtime::fetch::FileFetcher::new().with_mount(TEST_DATA_URL, "tests/data");
        Self {
            cluster: LocalCluster::with_hosts(fetcher, msq_runtime::env::SystemClock, hosts),
            last_report: None,
        }
    }

    /// A fresh cluster (empty segment store) reading its inputs through `fetcher` and telling
    /// time with `clock` (the browser runner passes the embedded corpus data and `Date.now`).
    pub fn with_env(fetcher: impl Fetcher + 'static, clock: impl Clock + 'static) -> Self {
        Self {
            cluster: LocalCluster::new(fetcher, clock),
            last_report: None,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Default for ClusterEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl SqlEngine for ClusterEngine {
    fn execute(&mut self, sql: &str, context: &Map<String, Value>) -> Result<Outcome, EngineError> {
        self.last_report = None;
        let report = match self.cluster.run(sql, context.clone()) {
            Ok(report) => report.to_value(),
            Err(error) => {
                let code = error
                    .body
                    .pointer("/context/msqErrorCode")
                    .and_then(Value::as_str)
                    .unwrap_or("InvalidInput")
                    .to_owned();
                return Err(EngineError::new(code, error.message()));
            }
        };
        self.last_report = Some(report.clone());
        let payload = &report["multiStageQuery"]["payload"];
        if payload["status"]["status"] != "SUCCESS" {
            let fault = &payload["status"]["errorReport"]["error"];
            return Err(EngineError::new(
                fault["errorCode"].as_str().unwrap_or("UnknownError"),
                fault["errorMessage"].as_str().unwrap_or_default(),
            ));
        }
        match payload.get("results") {
            Some(results) => Ok(Outcome::Rows {
                sql_types: results["sqlTypeNames"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|t| t.as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
                rows: results["results"]
                    .as_array()
                    .map(|rows| {
                        rows.iter()
                            .map(|r| r.as_array().cloned().unwrap_or_default())
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            None => Ok(Outcome::Done),
        }
    }

    fn last_report(&self) -> Option<Value> {
        self.last_report.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msq_common::{ErrorCode, MsqError};

    #[test]
    fn error_text_is_code_colon_message() {
        let e = EngineError::from(MsqError::execution(
            ErrorCode::InsertTimeNull,
            "Null timestamp",
        ));
        assert_eq!(e.to_string(), "InsertTimeNull: Null timestamp");
    }
}
