//! Messages from the controller side to a worker.

use msq_common::WorkerNumber;
use serde::{Deserialize, Serialize};

/// Everything a worker can be asked. Internally tagged by `type`, so the JSON reads
/// `{"type":"ping"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToWorker {
    /// Assigns the worker its number; answered by [`crate::FromWorker::Ready`].
    Init(Init),
    /// Asks for the worker's vital signs; answered by [`crate::FromWorker::Pong`].
    Ping(Ping),
    /// Asks for a checksum of the packet's frame, which must be present; answered by
    /// [`crate::FromWorker::DigestReply`] carrying the same bytes back. The pool uses it to
    /// prove that frames move through the transfer list intact in both directions.
    Digest(Digest),
}

/// See [`ToWorker::Init`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Init {
    /// The worker's number within the pool (`<taskId>-worker<N>_0` in Druid's naming).
    pub worker_number: WorkerNumber,
}

/// See [`ToWorker::Ping`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {}

/// See [`ToWorker::Digest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Digest {}
