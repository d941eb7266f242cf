//! Browser glue for Acorn: the only engine-side crate that names `wasm-bindgen`, `web-sys`,
//! `js-sys` or `gloo` (rule 2 of `../shared/design/style-and-layout.md`; CI fails if a crate
//! left of this one depends on them).
//!
//! It moves [`msq_protocol`] packets across the Web Worker boundary and nothing more: every
//! decision a worker makes lives in [`msq_protocol::WorkerHandler`], which is tested natively.
//!
//! ```text
//!   msq-console (page, main thread)          msq-worker (one per Web Worker)
//!   ──────────────────────────────           ─────────────────────────────────
//!   pool::WorkerPool ── codec::encode ──►    worker::run: codec::decode
//!        ▲                postMessage(       └─► WorkerHandler::handle
//!        │                  {envelope,        ┌── codec::encode
//!        └──── codec::decode ◄── frame}, [frame])
//! ```
//!
//! # Layout
//! - [`codec`]: `Packet` ⇄ `{envelope, frame}` JS objects; frames go in the transfer list.
//! - [`fetch`]: [`fetch::HttpFetcher`], the engine's `Fetcher` over the browser's `fetch`
//!   (streamed bodies, Druid-style errors naming the URL, byte ranges).
//! - [`local_files`]: the page's local files (`<opfs>/files/`), what Druid's `local` input
//!   source reads in the tab: added from dropped or picked files, read by [`fetch`].
//! - [`opfs`]: [`opfs::OpfsSegmentStore`], segments and manifests in the Origin Private File
//!   System (a synchronous mirror over an ordered write-behind journal).
//! - [`engine`]: the engine in a Web Worker ([`engine::handle_message`], worker side) and the
//!   page's [`engine::EngineClient`]: Druid's endpoints as JSON messages.
//! - [`hosts`]: stage work across Web Workers — the engine worker's stage hosts
//!   ([`hosts::WebWorkerHosts`]) and the host side in each (shuffle frames go host → host over
//!   `MessageChannel`s).
//! - [`bridge`]: Druid's endpoints for page scripts: the Service Worker relay (`web/sw.js`)
//!   and `window.acorn`.
//! - [`pool`]: [`pool::WorkerPool`], the page's pool of dedicated workers and their live state
//!   ([`pool::PoolSnapshot`]), built from real replies: handshake, memory, a transfer check.
//! - [`worker`]: [`worker::run`], the entry point of the worker binary.
#![deny(missing_docs)]

pub mod bridge;
pub mod codec;
pub mod engine;
pub mod fetch;
pub mod hosts;
pub mod local_files;
pub mod opfs;
pub mod pool;
pub mod worker;
