//! Messages from a worker to the controller side.

use msq_common::{ErrorCode, WorkerNumber};
use serde::{Deserialize, Serialize};

/// Everything a worker says. Internally tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FromWorker {
    /// Unsolicited, once: the worker's wasm has loaded and its handler is installed. Messages
    /// posted to a worker before this are lost, so the pool waits for it before `Init`.
    Hello(Hello),
    /// Reply to `Init`.
    Ready(Ready),
    /// Reply to `Ping`.
    Pong(Pong),
    /// Reply to `Digest`; the frame comes back with it.
    DigestReply(DigestReply),
    /// Something went wrong: the reply to a request the worker could not serve, or,
    /// unsolicited, a panic reported just before the worker dies.
    Fault(Fault),
}

/// See [`FromWorker::Hello`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hello {}

/// See [`FromWorker::Ready`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// The number the worker was given.
    pub worker_number: WorkerNumber,
    /// Size of the worker's wasm linear memory, in bytes.
    pub memory_bytes: u64,
}

/// See [`FromWorker::Pong`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pong {
    /// The worker's number, or `None` before `Init`.
    pub worker_number: Option<WorkerNumber>,
    /// Size of the worker's wasm linear memory, in bytes.
    pub memory_bytes: u64,
    /// Milliseconds since the worker's wasm started.
    pub uptime_ms: f64,
}

/// See [`FromWorker::DigestReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestReply {
    /// Length of the frame received.
    pub bytes: u64,
    /// FNV-1a 64 of the frame received, as hex ([`crate::digest::fnv1a_hex`]).
    pub fnv1a: String,
}

/// See [`FromWorker::Fault`]. Mirrors Druid's `{errorCode, errorMessage}` fault shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Druid fault code.
    pub error_code: ErrorCode,
    /// What went wrong, for a person.
    pub error_message: String,
}
