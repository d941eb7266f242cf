//! Browser glue for Acorn: the only engine-side crate that names `wasm-bindgen`, `web-sys`,
//! `js-sys` or `gloo` (rule 2 of `../shared/design/style-and-layout.md`; CI fails if a crate
//! left of this one depends on them).
//!
//! One worker binary plays two roles: the **engine** (the first worker the page starts; Druid's
//! endpoints arrive as JSON strings) and a **stage host** (the workers the engine starts; work
//! orders, events and frames arrive as `{acornRemote, frames}` messages). Every decision lives
//! in natively tested crates (`msq_runtime::api`, `msq_runtime::remote`); this crate only moves
//! messages and bytes.
//!
//! ```text
//!   page (main thread)        engine worker                      stage hosts (nested workers)
//!   ──────────────────        ─────────────────────────────      ───────────────────────────
//!   EngineClient ── JSON ───▶ engine::handle_message             hosts::handle_host_message
//!   bridge (window.acorn,      └─ Engine (controller, OPFS) ─▶   StageHost ◀── MessageChannel ──▶
//!     Service Worker relay)       hosts::WebWorkerHosts ◀──────   (frames host → host)
//! ```
//!
//! # Layout
//! - [`codec`]: `Packet` ⇄ `{envelope, frame}` JS objects (a worker's hello and a panic's
//!   fault); frames go in the transfer list.
//! - [`fetch`]: [`fetch::HttpFetcher`], the engine's `Fetcher` over the browser's `fetch`
//!   (streamed bodies, Druid-style errors naming the URL, byte ranges).
//! - [`local_files`]: the page's local files (`<opfs>/files/`), what Druid's `local` input
//!   source reads in the tab: added from dropped or picked files, read by [`fetch`].
//! - [`opfs`]: [`opfs::OpfsSegmentStore`], segments and manifests in the Origin Private File
//!   System (a synchronous catalog, a bounded cache of segment files read back on demand, and
//!   an ordered write-behind journal).
//! - [`engine`]: the engine in a Web Worker ([`engine::handle_message`], worker side) and the
//!   page's [`engine::EngineClient`]: Druid's endpoints as JSON messages.
//! - [`hosts`]: stage work across Web Workers — the engine worker's stage hosts
//!   ([`hosts::WebWorkerHosts`]) and the host side in each (shuffle frames go host → host over
//!   `MessageChannel`s).
//! - [`bridge`]: Druid's endpoints for page scripts: the Service Worker relay (`web/sw.js`)
//!   and `window.acorn`.
//! - [`worker`]: [`worker::run`], the entry point of the worker binary.
#![deny(missing_docs)]

pub mod bridge;
pub mod codec;
pub mod engine;
pub mod fetch;
pub mod hosts;
pub mod local_files;
pub mod opfs;
pub mod scratch;
pub mod worker;
