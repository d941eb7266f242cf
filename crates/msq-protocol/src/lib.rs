//! The messages a controller (today: the console's worker pool) and an Acorn worker exchange,
//! as plain serde types with no browser dependency.
//!
//! The shape follows duckdb-wasm's worker protocol and rule 7 of
//! `../shared/design/style-and-layout.md`: one enum per direction ([`ToWorker`],
//! [`FromWorker`]), an [`Envelope`] that gives every request an `id` and every reply a
//! `replyTo`, and errors travelling as data ([`FromWorker::Fault`]) rather than as exceptions
//! across the boundary. Bulk data never goes inside the JSON: a [`Packet`] carries an optional
//! binary `frame` *beside* its envelope so that the browser glue (`msq-wasm`) can put the bytes
//! in `postMessage`'s transfer list instead of copying or encoding them.
//!
//! ```text
//!  pool (page)                               worker (Web Worker)
//!  ───────────                               ───────────────────
//!                     ◄── Hello                 wasm loaded, handler installed
//!  Init{worker} ──────────────────────────►
//!                     ◄── Ready{memory}
//!  Ping ──────────────────────────────────►
//!                     ◄── Pong{memory, uptime}
//!  Digest + frame ────────────────────────►    (frame moved, not copied)
//!                     ◄── DigestReply + frame  (moved back)
//!  anything invalid ──────────────────────►
//!                     ◄── Fault{code, message}
//! ```
//!
//! # Layout
//! - [`api`]: Druid's HTTP endpoints as messages ([`api::ApiCall`], [`api::ApiRequest`],
//!   [`api::ApiResponse`]) and [`api::route`] from method + path to a call.
//! - [`envelope`]: [`MessageId`], [`Envelope`], [`Packet`].
//! - [`to_worker`]: [`ToWorker`] and its message structs.
//! - [`from_worker`]: [`FromWorker`] and its message structs.
//! - [`handler`]: [`WorkerHandler`], the worker-side dispatcher as a pure function of a packet,
//!   so its every branch is tested natively; `msq-wasm` only moves bytes in and out.
//! - [`sizing`]: [`sizing::worker_count`], how many workers a query context asks for.
//! - [`digest`]: the FNV-1a checksum used to prove a transferred frame arrived intact.
#![deny(missing_docs)]

pub mod api;
pub mod digest;
pub mod envelope;
pub mod from_worker;
pub mod handler;
pub mod sizing;
pub mod to_worker;

pub use envelope::{Envelope, MessageId, Packet};
pub use from_worker::FromWorker;
pub use handler::{WorkerEnv, WorkerHandler};
pub use to_worker::ToWorker;
