//! Stage work on other threads: the controller's [`RemoteHosts`] (a [`TransportFactory`]) and
//! the [`StageHost`] in each worker thread, speaking [`RemoteMessage`]s carried as [`Wire`]s —
//! JSON control text plus bulk frames, which the browser moves in `postMessage`'s transfer
//! list (never copied into JSON).
//!
//! ```text
//!   engine worker                                         stage host h (a Web Worker)
//!   RemoteHosts ── Query · Start · Boundaries · Clean · ──▶ StageHost ── run_work_order …
//!      ▲           Cancel · End · Fetch (final results)        │    ▲
//!      └──── Event · Frames · ReadSegment · Columns ───────────┘    │ Frames (the bytes)
//!                                                           Fetch   │
//!                                                              ▼    │  a direct channel
//!                                                             StageHost h′ (wrote them)
//! ```
//!
//! Druid numbers workers per stage; hosts are the threads that run them. Worker `w` of stage
//! `s` runs on host [`host_of`]`(s, w, hosts)`, a rule every party computes, so a consumer
//! knows which host to ask for an upstream worker's frames without a directory. A query uses
//! `min(max worker count of its stages, the pool's capacity)` hosts: Druid's `maxNumTasks − 1`
//! workers become that many Web Workers up to the pool's size, and beyond it several Druid
//! workers share a host (each still reported under its own worker number).
//!
//! Frames stay where they were written: a consumer fetches them from the producing host over
//! the host ↔ host channel ("pull", as Druid's workers fetch partitions from each other's
//! `/channels` endpoint), and the controller fetches the final stage's frames the same way.
//! The controller owns the segment store (manifests, publishing, garbage). Where a host reaches
//! the store's storage itself (the browser's stage workers reach OPFS; see
//! [`HostLinks::read_segment_columns`]), it writes the segment files it generates into it, which
//! the controller adopts, and reads the segments a query scans from it, so segment bytes do
//! not cross to the controller's thread. Otherwise (or for a file not yet in place) a host
//! asks the controller for the columns it reads of each segment (a file cut to them). Either
//! way it asks the controller for a datasource's columns and keeps the segment columns it read
//! for later queries ([`crate::segment_cache`]).
//!
//! Natively, [`loopback`] wires a controller to `n` hosts through queues — every message
//! serialised and parsed on the way, as in the browser — so the whole golden corpus runs over
//! this protocol in `cargo test`.

use crate::env::{Clock, Fetcher, Spawner};
use crate::segment_cache::{read_through, SegmentCache};
use crate::shuffle::ShuffleStore;
use crate::spill::FrameSpill;
use crate::store::SharedStore;
use crate::transport::{EventSink, Transport, TransportFactory, WorkerSettings};
use crate::worker::{run_work_order, SegmentSink, WorkerContext, WorkerEvent, WorkerInputs};
use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use msq_common::{ErrorCode, MsqError, PartitionNumber, Result, StageNumber, WorkerNumber};
use msq_exec::segment::{segment_path, SegmentId};
use msq_kernel::{ClusterByPartitions, WorkOrder};
use msq_plan::{ColumnType, QueryDefinition};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::{Rc, Weak};

/// The host that runs worker `worker` of `stage` when a query has `hosts` hosts. Stages shift
/// by their number so that single-worker stages do not all land on host 0.
pub fn host_of(stage: StageNumber, worker: WorkerNumber, hosts: u32) -> u32 {
    (stage.0 + worker.0) % hosts.max(1)
}

/// One message as it crosses a thread boundary: its JSON text and its bulk frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wire {
    /// The [`RemoteMessage`] as JSON.
    pub text: String,
    /// Bulk bytes (stage frames, segment files), in the order the message names them.
    pub frames: Vec<Vec<u8>>,
}

impl Wire {
    /// Encodes `message` with its frames.
    pub fn new(message: &RemoteMessage, frames: Vec<Vec<u8>>) -> Self {
        let text = serde_json::to_string(message).unwrap_or_else(|e| {
            // Only a bug in a message type can get here; say so to whoever receives it.
            format!(r#"{{"type":"unreadable","reason":"cannot encode a message: {e}"}}"#)
        });
        Self { text, frames }
    }

    /// Parses the message back.
    ///
    /// # Errors
    /// `WorkerRpcFailed` naming what could not be read.
    pub fn message(&self) -> Result<RemoteMessage> {
        serde_json::from_str(&self.text).map_err(|e| {
            MsqError::execution(
                ErrorCode::WorkerRpcFailed,
                format!("unreadable message between workers: {e}"),
            )
        })
    }
}

/// Moves the bytes of a segments event's segments into frames (in order), leaving the event
/// with their metadata only; every other event has no frames.
pub fn take_event_frames(mut event: WorkerEvent) -> (WorkerEvent, Vec<Vec<u8>>) {
    let frames = match &mut event {
        WorkerEvent::Segments { segments, .. } => segments
            .iter_mut()
            .map(|s| std::mem::take(&mut s.bytes))
            .collect(),
        _ => Vec::new(),
    };
    (event, frames)
}

/// Puts the frames of [`take_event_frames`] back into the event's segments.
///
/// # Errors
/// `WorkerRpcFailed` when a segments event does not come with one frame per segment.
pub fn restore_event_frames(mut event: WorkerEvent, frames: Vec<Vec<u8>>) -> Result<WorkerEvent> {
    match &mut event {
        WorkerEvent::Segments {
            stage,
            worker,
            segments,
        } => {
            if segments.len() != frames.len() {
                return Err(rpc_error(format!(
                    "worker {} of stage {} sent {} segments with {} files",
                    worker.0,
                    stage.0,
                    segments.len(),
                    frames.len()
                )));
            }
            for (segment, bytes) in segments.iter_mut().zip(frames) {
                segment.bytes = bytes;
            }
        }
        _ if !frames.is_empty() => {
            return Err(rpc_error(format!(
                "an event without segments came with {} files",
                frames.len()
            )))
        }
        _ => {}
    }
    Ok(event)
}

/// Everything the controller and the hosts say to each other. Internally tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RemoteMessage {
    /// Controller → host: a query begins; its plan and settings.
    Query {
        /// The query's id (the controller's count).
        query: u64,
        /// The plan.
        definition: Box<QueryDefinition>,
        /// `maxFrameSize`.
        max_frame_size: usize,
        /// Version of the segments it writes.
        segment_version: String,
        /// How many hosts the query uses (for [`host_of`]).
        hosts: u32,
        /// The Druid task running the query (reported in `runningTasks`).
        task_id: String,
        /// [`WorkerSettings::spill_budget`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spill_budget: Option<usize>,
        /// The columns of the datasources the query reads, as the store had them when it
        /// began, so a worker scanning one need not ask ([`RemoteMessage::Columns`] remains
        /// for any other).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        columns: BTreeMap<String, Vec<(String, ColumnType)>>,
    },
    /// Controller → host: run a work order.
    Start {
        /// The query.
        query: u64,
        /// The order.
        order: Box<WorkOrder>,
    },
    /// Controller → host: a globally sorted stage's partition boundaries.
    Boundaries {
        /// The query.
        query: u64,
        /// The stage.
        stage: StageNumber,
        /// Its partitions.
        partitions: ClusterByPartitions,
    },
    /// Controller → host: every consumer of the stage is done; drop its frames.
    Clean {
        /// The query.
        query: u64,
        /// The stage.
        stage: StageNumber,
    },
    /// Controller → host: the query failed or was canceled.
    Cancel {
        /// The query.
        query: u64,
    },
    /// Controller → host: the query is over; forget it.
    End {
        /// The query.
        query: u64,
    },
    /// Anyone → host: the frames `worker` wrote to `partition` of `stage`; answered by
    /// [`RemoteMessage::Frames`].
    Fetch {
        /// The query.
        query: u64,
        /// The asker's request id.
        request: u64,
        /// The stage.
        stage: StageNumber,
        /// The partition.
        partition: PartitionNumber,
        /// The worker that wrote them.
        worker: WorkerNumber,
        /// The asker is their only reader: the host hands them over and forgets them
        /// ([`WorkerInputs::take_stage_frames`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        take: bool,
    },
    /// Answer to [`RemoteMessage::Fetch`] or [`RemoteMessage::ReadSegment`]: the bytes are
    /// the wire's frames, unless `error` says why there are none.
    Frames {
        /// The request answered.
        request: u64,
        /// Why the bytes could not be given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<MsqError>,
        /// More of the answer follows in further `Frames` messages: a partition taken from a
        /// host goes in pieces of about [`FRAME_REPLY_BYTES`], so the host never holds all of
        /// it read back from its spill at once.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// Host → controller: a worker's event.
    Event {
        /// The query.
        query: u64,
        /// The event (segment files in the wire's frames).
        event: WorkerEvent,
    },
    /// Host → controller: the events without files a host's workers sent in one turn, in
    /// order ([`EventBatch`]).
    Events {
        /// The query.
        query: u64,
        /// The events.
        events: Vec<WorkerEvent>,
    },
    /// Host → controller: a published segment's file cut to some columns
    /// ([`msq_exec::segment::project_segment`]); answered by `Frames`.
    ReadSegment {
        /// The asker's request id.
        request: u64,
        /// The datasource.
        data_source: String,
        /// The segment id.
        id: String,
        /// The columns wanted (those the segment lacks are left out of the answer).
        columns: Vec<String>,
    },
    /// Host → controller: a datasource's columns; answered by `ColumnsAre`.
    Columns {
        /// The asker's request id.
        request: u64,
        /// The datasource.
        data_source: String,
    },
    /// Controller → host: how are you? Answered by `Pong`.
    Ping {
        /// The asker's request id.
        request: u64,
    },
    /// Answer to [`RemoteMessage::Ping`].
    Pong {
        /// The request answered.
        request: u64,
        /// The host's vital signs.
        vitals: HostVitals,
    },
    /// Answer to [`RemoteMessage::Columns`].
    ColumnsAre {
        /// The request answered.
        request: u64,
        /// The columns, `__time` first.
        columns: Vec<(String, ColumnType)>,
        /// Why there are none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<MsqError>,
    },
}

/// What a host says about itself (`GET /druid/indexer/v1/workers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVitals {
    /// The host's number.
    pub number: u32,
    /// Its wasm linear memory (0 where the host cannot tell).
    pub memory_bytes: u64,
    /// Bytes of stage output it holds for consumers.
    pub shuffle_bytes: u64,
    /// Work orders running now.
    pub running_work_orders: u32,
    /// Work orders it has finished (succeeded or failed) since it started.
    pub work_orders_run: u64,
    /// Tasks with work orders running here.
    pub running_tasks: Vec<String>,
}

fn rpc_error(message: impl Into<String>) -> MsqError {
    MsqError::execution(ErrorCode::WorkerRpcFailed, message)
}

/// Answers waited for, by request id.
struct Waiting<T> {
    next: Cell<u64>,
    senders: RefCell<HashMap<u64, oneshot::Sender<Result<T>>>>,
}

impl<T> Default for Waiting<T> {
    fn default() -> Self {
        Self {
            next: Cell::new(0),
            senders: RefCell::new(HashMap::new()),
        }
    }
}

impl<T: 'static> Waiting<T> {
    /// A fresh request id and the future of its answer; `gone` words a dropped answer.
    fn register(&self, gone: String) -> (u64, LocalBoxFuture<'static, Result<T>>) {
        let request = self.next.get() + 1;
        self.next.set(request);
        let (tx, rx) = oneshot::channel();
        self.senders.borrow_mut().insert(request, tx);
        let answer = async move { rx.await.unwrap_or_else(|_| Err(rpc_error(gone))) };
        (request, answer.boxed_local())
    }

    fn fail_all(&self, error: impl Fn() -> MsqError) {
        let waiting: Vec<_> = self.senders.borrow_mut().drain().collect();
        for (_, tx) in waiting {
            let _ = tx.send(Err(error()));
        }
    }

    /// Answers `request` with `value`, or with `error` when the answer carries one.
    fn settle(&self, request: u64, error: Option<MsqError>, value: T) {
        self.answer(request, error.map_or(Ok(value), Err));
    }

    fn answer(&self, request: u64, value: Result<T>) {
        if let Some(tx) = self.senders.borrow_mut().remove(&request) {
            // The asker may have stopped waiting (canceled); nothing to do then.
            let _ = tx.send(value);
        }
    }
}

/// How many bytes of frames one [`RemoteMessage::Frames`] answering a take carries at most
/// (beyond one frame): a host reads a taken partition back from its spill a piece at a time and
/// posts each piece before reading the next, instead of holding half a time chunk's rows
/// beside its own generator's.
pub const FRAME_REPLY_BYTES: usize = 4 << 20;

/// Answers to frame requests, which may arrive in several [`RemoteMessage::Frames`] (`more`).
#[derive(Default)]
struct FrameAnswers {
    waiting: Waiting<Vec<Vec<u8>>>,
    /// Pieces of answers not complete yet.
    arrived: RefCell<HashMap<u64, Vec<Vec<u8>>>>,
}

impl FrameAnswers {
    fn register(&self, gone: String) -> (u64, LocalBoxFuture<'static, Result<Vec<Vec<u8>>>>) {
        self.waiting.register(gone)
    }

    fn fail_all(&self, error: impl Fn() -> MsqError) {
        self.arrived.borrow_mut().clear();
        self.waiting.fail_all(error);
    }

    /// One piece of the answer to `request`; the last (`more` false) or an error settles it.
    fn receive(&self, request: u64, error: Option<MsqError>, frames: Vec<Vec<u8>>, more: bool) {
        let mut arrived = self.arrived.borrow_mut();
        if let Some(error) = error {
            arrived.remove(&request);
            drop(arrived);
            self.waiting.answer(request, Err(error));
            return;
        }
        if more {
            arrived.entry(request).or_default().extend(frames);
            return;
        }
        let mut all = arrived.remove(&request).unwrap_or_default();
        drop(arrived);
        all.extend(frames);
        self.waiting.answer(request, Ok(all));
    }
}

// ─── the host side ───────────────────────────────────────────────────────────────────────────

/// Who sent a message to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The controller (the engine's thread).
    Controller,
    /// Another host.
    Host(u32),
}

/// How a host reaches the others.
pub trait HostLinks {
    /// Sends to the controller.
    fn to_controller(&self, wire: Wire);
    /// Sends to host `host` over the direct channel between the two.
    fn to_host(&self, host: u32, wire: Wire);
    /// The size of this host's memory, for its vital signs (0 where unknown).
    fn memory_bytes(&self) -> u64 {
        0
    }

    /// Where this host spills frames over its memory budget, and that budget in bytes
    /// ([`ShuffleStore::with_spill`]); `None` (the default) keeps every frame in memory.
    /// Asked for each query.
    fn frame_spill(&self) -> Option<(Rc<dyn FrameSpill>, usize)> {
        None
    }
    /// Whether this host reaches the controller's segment store itself
    /// ([`HostLinks::segment_sink`]); `false` (the default) sends segment bytes to the
    /// controller.
    fn writes_segment_files(&self) -> bool {
        false
    }
    /// Reads columns `columns` of the segment file at store path `path` of the controller's
    /// segment store, when this host reaches the store itself, reading only what those columns
    /// need ([`msq_exec::segment::read_segment_columns`]): `None` (the default) when it does
    /// not, so the controller sends segments; the future's `Ok(None)` when there is no such
    /// file (yet).
    fn read_segment_columns(
        &self,
        path: String,
        columns: Vec<String>,
    ) -> Option<LocalBoxFuture<'static, Result<Option<Vec<RecordBatch>>>>> {
        let _ = (path, columns);
        None
    }
    /// A sink writing a generated segment's file at store path `path` of the controller's
    /// segment store as it is encoded; its segment names the file
    /// ([`msq_exec::segment::Segment::file`]), which the controller then adopts: the file's
    /// bytes never cross to the controller's thread. Only called when
    /// [`HostLinks::writes_segment_files`].
    fn segment_sink(&self, path: String) -> LocalBoxFuture<'static, Result<Box<dyn SegmentSink>>> {
        futures::future::ready(Err(MsqError::internal(format!(
            "this stage host cannot write segment files (asked to write [{path}])"
        ))))
        .boxed_local()
    }
}

/// One query as a host knows it.
struct HostQuery {
    task_id: String,
    /// Work orders of this query running here.
    running: Rc<Cell<u32>>,
    context: WorkerContext,
    boundaries: BTreeMap<(StageNumber, WorkerNumber), oneshot::Sender<ClusterByPartitions>>,
}

struct HostInner {
    number: u32,
    links: Rc<dyn HostLinks>,
    fetcher: Rc<dyn Fetcher>,
    clock: Rc<dyn Clock>,
    spawner: Rc<dyn Spawner>,
    queries: RefCell<HashMap<u64, HostQuery>>,
    frames: FrameAnswers,
    columns: Waiting<Vec<(String, ColumnType)>>,
    work_orders_run: Cell<u64>,
    segments: Rc<RefCell<SegmentCache>>,
}

/// The worker side: runs the work orders the controller sends, keeps their output frames, and
/// serves them to whoever fetches them.
#[derive(Clone)]
pub struct StageHost(Rc<HostInner>);

impl std::fmt::Debug for StageHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageHost")
            .field("number", &self.0.number)
            .field("queries", &self.0.queries.borrow().len())
            .finish()
    }
}

impl StageHost {
    /// Host number `number`, reaching the others through `links`, reading external input with
    /// `fetcher`.
    pub fn new(
        number: u32,
        links: Rc<dyn HostLinks>,
        fetcher: Rc<dyn Fetcher>,
        clock: Rc<dyn Clock>,
        spawner: Rc<dyn Spawner>,
    ) -> Self {
        Self(Rc::new(HostInner {
            number,
            links,
            fetcher,
            clock,
            spawner,
            queries: RefCell::new(HashMap::new()),
            frames: FrameAnswers::default(),
            columns: Waiting::default(),
            work_orders_run: Cell::new(0),
            segments: Rc::default(),
        }))
    }

    /// This host's number.
    pub fn number(&self) -> u32 {
        self.0.number
    }

    /// The host's vital signs.
    pub fn vitals(&self) -> HostVitals {
        let queries = self.0.queries.borrow();
        HostVitals {
            number: self.0.number,
            memory_bytes: self.0.links.memory_bytes(),
            shuffle_bytes: queries
                .values()
                .map(|q| q.context.shuffle.size_bytes() as u64)
                .sum(),
            running_work_orders: queries.values().map(|q| q.running.get()).sum(),
            work_orders_run: self.0.work_orders_run.get(),
            running_tasks: queries
                .values()
                .filter(|q| q.running.get() > 0)
                .map(|q| q.task_id.clone())
                .collect(),
        }
    }

    /// Handles one message from `from`.
    ///
    /// # Errors
    /// A message that cannot be read or that a host never receives (`WorkerRpcFailed`); the
    /// caller logs it — a host cannot tell whom to fail.
    pub fn receive(&self, from: Sender, wire: Wire) -> Result<()> {
        let inner = &self.0;
        match wire.message()? {
            RemoteMessage::Query {
                query,
                definition,
                max_frame_size,
                segment_version,
                hosts,
                task_id,
                spill_budget,
                columns,
            } => {
                let shuffle = match inner.links.frame_spill() {
                    Some((spill, budget)) => {
                        ShuffleStore::with_spill(spill, spill_budget.unwrap_or(budget))
                    }
                    None => ShuffleStore::new(),
                };
                let batch = EventBatch::new(query, inner.links.clone(), inner.spawner.clone());
                let events = EventSink::new(move |event| batch.send(event));
                let context = WorkerContext {
                    fetcher: inner.fetcher.clone(),
                    inputs: Rc::new(HostInputs {
                        host: Rc::downgrade(&self.0),
                        query,
                        hosts,
                        shuffle: shuffle.clone(),
                        columns,
                    }),
                    shuffle,
                    events,
                    canceled: Rc::new(Cell::new(false)),
                    max_frame_size,
                    segment_version,
                    clock: inner.clock.clone(),
                    query: Rc::new(*definition),
                };
                inner.queries.borrow_mut().insert(
                    query,
                    HostQuery {
                        task_id,
                        running: Rc::new(Cell::new(0)),
                        context,
                        boundaries: BTreeMap::new(),
                    },
                );
            }
            RemoteMessage::Start { query, order } => {
                let mut queries = inner.queries.borrow_mut();
                // A query already ended (canceled while the order was on its way): drop it.
                let Some(q) = queries.get_mut(&query) else {
                    return Ok(());
                };
                let boundaries = order.stage_definition.needs_statistics().then(|| {
                    let (tx, rx) = oneshot::channel();
                    q.boundaries
                        .insert((order.stage_number, order.worker_number), tx);
                    rx
                });
                let context = q.context.clone();
                let running = q.running.clone();
                drop(queries);
                running.set(running.get() + 1);
                let host = Rc::downgrade(&self.0);
                inner.spawner.spawn(Box::pin(async move {
                    run_work_order(context, *order, boundaries).await;
                    running.set(running.get().saturating_sub(1));
                    if let Some(host) = host.upgrade() {
                        host.work_orders_run.set(host.work_orders_run.get() + 1);
                    }
                }));
            }
            RemoteMessage::Boundaries {
                query,
                stage,
                partitions,
            } => {
                if let Some(q) = inner.queries.borrow_mut().get_mut(&query) {
                    let waiting: Vec<_> = q
                        .boundaries
                        .keys()
                        .filter(|(s, _)| *s == stage)
                        .copied()
                        .collect();
                    for key in waiting {
                        if let Some(tx) = q.boundaries.remove(&key) {
                            let _ = tx.send(partitions.clone());
                        }
                    }
                }
            }
            RemoteMessage::Clean { query, stage } => {
                if let Some(q) = inner.queries.borrow().get(&query) {
                    q.context.shuffle.clean(stage);
                }
            }
            RemoteMessage::Cancel { query } => {
                if let Some(q) = inner.queries.borrow_mut().get_mut(&query) {
                    q.context.canceled.set(true);
                    // Dropping the senders wakes workers waiting for boundaries.
                    q.boundaries.clear();
                }
            }
            RemoteMessage::End { query } => {
                if let Some(q) = inner.queries.borrow_mut().remove(&query) {
                    q.context.canceled.set(true);
                }
            }
            RemoteMessage::Fetch {
                query,
                request,
                stage,
                partition,
                worker,
                take,
            } => {
                let shuffle =
                    (inner.queries.borrow().get(&query)).map(|q| q.context.shuffle.clone());
                let reply = |frames, error, more| {
                    let reply = Wire::new(
                        &RemoteMessage::Frames {
                            request,
                            error,
                            more,
                        },
                        frames,
                    );
                    match from {
                        Sender::Controller => inner.links.to_controller(reply),
                        Sender::Host(host) => inner.links.to_host(host, reply),
                    }
                };
                match shuffle {
                    None => reply(
                        Vec::new(),
                        Some(rpc_error(format!(
                            "host {} no longer holds the output of query {query}",
                            inner.number
                        ))),
                        false,
                    ),
                    // Read back and posted a piece at a time (see FRAME_REPLY_BYTES).
                    Some(shuffle) if take => {
                        let (mut piece, mut bytes, mut error) = (Vec::new(), 0, None);
                        for frame in shuffle.take_each(stage, partition, worker) {
                            match frame {
                                Ok(frame) => {
                                    bytes += frame.len();
                                    piece.push(frame);
                                    if bytes >= FRAME_REPLY_BYTES {
                                        reply(std::mem::take(&mut piece), None, true);
                                        bytes = 0;
                                    }
                                }
                                Err(e) => {
                                    error = Some(e);
                                    break;
                                }
                            }
                        }
                        match error {
                            Some(e) => reply(Vec::new(), Some(e), false),
                            None => reply(piece, None, false),
                        }
                    }
                    Some(shuffle) => match shuffle.get(stage, partition, worker) {
                        Ok(frames) => reply(frames, None, false),
                        Err(e) => reply(Vec::new(), Some(e), false),
                    },
                }
            }
            RemoteMessage::Ping { request } => {
                let pong = RemoteMessage::Pong {
                    request,
                    vitals: self.vitals(),
                };
                inner.links.to_controller(Wire::new(&pong, Vec::new()));
            }
            RemoteMessage::Frames {
                request,
                error,
                more,
            } => {
                inner.frames.receive(request, error, wire.frames, more);
            }
            RemoteMessage::ColumnsAre {
                request,
                columns,
                error,
            } => inner.columns.settle(request, error, columns),
            other @ (RemoteMessage::Event { .. }
            | RemoteMessage::Events { .. }
            | RemoteMessage::ReadSegment { .. }
            | RemoteMessage::Columns { .. }
            | RemoteMessage::Pong { .. }) => {
                return Err(rpc_error(format!(
                    "host {} received a controller's message: {other:?}",
                    inner.number
                )));
            }
        }
        Ok(())
    }
}

/// A host's events for the controller, a turn's worth per message.
///
/// A work order sends several events in one synchronous stretch (counters snapshots, then
/// `resultsComplete`), and each message costs a `postMessage` and a wake-up of the engine's
/// thread: a `SELECT` over a datasource sent 36 messages between the engine and two stage
/// threads, 12 of them counters. Events are held until the host's current turn ends and go
/// as one [`RemoteMessage::Events`]; a counters snapshot replaces the one just before it from
/// the same worker (each is cumulative, spec `druid-msq.md` §5). Segments events carry files
/// and go at once, as [`RemoteMessage::Event`], after what was held.
struct EventBatch {
    query: u64,
    links: Rc<dyn HostLinks>,
    spawner: Rc<dyn Spawner>,
    held: RefCell<Vec<WorkerEvent>>,
    me: std::rc::Weak<EventBatch>,
}

impl EventBatch {
    fn new(query: u64, links: Rc<dyn HostLinks>, spawner: Rc<dyn Spawner>) -> Rc<Self> {
        Rc::new_cyclic(|me| Self {
            query,
            links,
            spawner,
            held: RefCell::new(Vec::new()),
            me: me.clone(),
        })
    }

    fn send(&self, event: WorkerEvent) {
        if matches!(event, WorkerEvent::Segments { .. }) {
            self.flush();
            let (event, frames) = take_event_frames(event);
            let query = self.query;
            self.links
                .to_controller(Wire::new(&RemoteMessage::Event { query, event }, frames));
            return;
        }
        let mut held = self.held.borrow_mut();
        let first = held.is_empty();
        let supersedes = matches!(
            (held.last(), &event),
            (
                Some(WorkerEvent::Counters { stage: s0, worker: w0, .. }),
                WorkerEvent::Counters { stage, worker, .. },
            ) if s0 == stage && w0 == worker
        );
        if supersedes {
            held.pop();
        }
        held.push(event);
        drop(held);
        if first {
            // The first event of a turn schedules the flush at its end.
            if let Some(me) = self.me.upgrade() {
                self.spawner.spawn(Box::pin(async move { me.flush() }));
            }
        }
    }

    fn flush(&self) {
        let events = std::mem::take(&mut *self.held.borrow_mut());
        if !events.is_empty() {
            let query = self.query;
            self.links.to_controller(Wire::new(
                &RemoteMessage::Events { query, events },
                Vec::new(),
            ));
        }
    }
}

/// [`WorkerInputs`] of a host: its own frames locally, other hosts' frames over their
/// channels, segments and columns from the controller.
struct HostInputs {
    host: Weak<HostInner>,
    query: u64,
    hosts: u32,
    shuffle: ShuffleStore,
    /// Datasource columns sent with the query.
    columns: BTreeMap<String, Vec<(String, ColumnType)>>,
}

impl HostInputs {
    fn host(&self) -> Result<Rc<HostInner>> {
        self.host
            .upgrade()
            .ok_or_else(|| MsqError::canceled("the worker is shutting down"))
    }
}

impl HostInputs {
    /// Frames from this host's shuffle store or, over its channel, from the host that holds
    /// them; `take` as in [`RemoteMessage::Fetch`].
    fn frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
        take: bool,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        let host = match self.host() {
            Ok(host) => host,
            Err(e) => return futures::future::ready(Err(e)).boxed_local(),
        };
        let owner = host_of(stage, worker, self.hosts);
        if owner == host.number {
            let frames = if take {
                self.shuffle.take(stage, partition, worker)
            } else {
                self.shuffle.get(stage, partition, worker)
            };
            return futures::future::ready(frames).boxed_local();
        }
        let (request, answer) = host.frames.register(format!(
            "host {owner} stopped before sending partition {} of stage {} (worker {})",
            partition.0, stage.0, worker.0
        ));
        let fetch = RemoteMessage::Fetch {
            query: self.query,
            request,
            stage,
            partition,
            worker,
            take,
        };
        host.links.to_host(owner, Wire::new(&fetch, Vec::new()));
        answer
    }
}

impl WorkerInputs for HostInputs {
    fn stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        self.frames(stage, partition, worker, false)
    }

    fn take_stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        self.frames(stage, partition, worker, true)
    }

    fn make_room_for(&self, stage: StageNumber, partition: PartitionNumber) -> Result<()> {
        self.shuffle.spill_others(stage, partition).map(drop)
    }

    fn datasource_columns(
        &self,
        data_source: &str,
    ) -> LocalBoxFuture<'static, Result<Vec<(String, ColumnType)>>> {
        if let Some(columns) = self.columns.get(data_source) {
            return futures::future::ready(Ok(columns.clone())).boxed_local();
        }
        let host = match self.host() {
            Ok(host) => host,
            Err(e) => return futures::future::ready(Err(e)).boxed_local(),
        };
        let (request, answer) = host.columns.register(format!(
            "the controller did not answer for the columns of [{data_source}]"
        ));
        let ask = RemoteMessage::Columns {
            request,
            data_source: data_source.to_owned(),
        };
        host.links.to_controller(Wire::new(&ask, Vec::new()));
        answer
    }

    /// From this host's cache; else read from the store by this host where it can reach it
    /// ([`HostLinks::read_segment_columns`]: only those columns' bytes), or else asked of the
    /// controller (a file cut to them). Either way the cache holds only the columns asked for.
    fn segment_columns(
        &self,
        data_source: &str,
        id: &str,
        columns: &[String],
    ) -> LocalBoxFuture<'static, Result<Vec<RecordBatch>>> {
        let host = match self.host() {
            Ok(host) => host,
            Err(e) => return futures::future::ready(Err(e)).boxed_local(),
        };
        let (ds, segment) = (data_source.to_owned(), id.to_owned());
        read_through(&host.segments, data_source, id, columns, |asked| {
            let local = host.links.read_segment_columns(
                msq_exec::segment::segment_path_of(&ds, &segment),
                asked.clone(),
            );
            let host = Rc::downgrade(&host);
            async move {
                // A file the store has not renamed into place yet (just published) or that
                // cannot be read here is the controller's to send.
                let own = match local {
                    Some(read) => read.await.ok().flatten(),
                    None => None,
                };
                match own {
                    Some(batches) => Ok(batches),
                    None => {
                        let file = ask_for_segment(&host, &ds, &segment, &asked)?.await?;
                        msq_exec::segment::decode_segment_columns(&file, None)
                    }
                }
            }
        })
    }

    /// Written by this host straight into the controller's store where it can
    /// ([`HostLinks::segment_sink`]), at the segment's path plus `.w<worker>` (unique: a
    /// segment's id differs between tasks by version, and workers number their segments of a
    /// chunk independently); the controller renames the file when it numbers the segment.
    fn segment_sink(
        &self,
        worker: WorkerNumber,
        id: &SegmentId,
    ) -> LocalBoxFuture<'static, Result<Box<dyn SegmentSink>>> {
        let host = match self.host() {
            Ok(host) => host,
            Err(e) => return futures::future::ready(Err(e)).boxed_local(),
        };
        if !host.links.writes_segment_files() {
            return futures::future::ready(Ok(Box::new(Vec::new()) as Box<dyn SegmentSink>))
                .boxed_local();
        }
        host.links
            .segment_sink(format!("{}.w{}", segment_path(id), worker.0))
    }
}

// ─── the controller side ─────────────────────────────────────────────────────────────────────

/// The hosts as the controller sees them (implemented by the browser glue over Web Workers,
/// and by [`loopback`] natively).
pub trait HostPool {
    /// How many hosts the pool can run.
    fn capacity(&self) -> u32;
    /// Sends to host `host`.
    fn send(&self, host: u32, wire: Wire);
    /// Why the pool can run nothing (its threads keep failing to start), if so: work orders
    /// then fail at once instead of waiting for a host that will never answer.
    fn broken(&self) -> Option<String> {
        None
    }
}

struct HostsInner {
    pool: Rc<dyn HostPool>,
    store: SharedStore,
    spawner: Rc<dyn Spawner>,
    next_query: Cell<u64>,
    queries: RefCell<HashMap<u64, Weak<RemoteTransport>>>,
    frames: FrameAnswers,
    pings: Waiting<HostVitals>,
}

/// The columns of every datasource `query` reads that has been written (for
/// [`RemoteMessage::Query`]).
fn table_columns(
    query: &QueryDefinition,
    store: &SharedStore,
) -> BTreeMap<String, Vec<(String, ColumnType)>> {
    let mut columns = BTreeMap::new();
    for stage in &query.stages {
        for input in &stage.inputs {
            if let msq_plan::InputSpec::Table { data_source, .. } = input {
                if columns.contains_key(data_source) {
                    continue;
                }
                if let Ok(found) = store.datasource_columns(data_source) {
                    if !found.is_empty() {
                        columns.insert(data_source.clone(), found);
                    }
                }
            }
        }
    }
    columns
}

/// Asks the controller for columns `asked` of segment `id` of `data_source`: a future of the
/// file it cuts to them.
fn ask_for_segment(
    host: &Weak<HostInner>,
    data_source: &str,
    id: &str,
    asked: &[String],
) -> Result<LocalBoxFuture<'static, Result<Buffer>>> {
    let host = host
        .upgrade()
        .ok_or_else(|| MsqError::canceled("the worker is shutting down"))?;
    let (request, answer) = host
        .frames
        .register(format!("the controller did not send segment [{id}]"));
    let ask = RemoteMessage::ReadSegment {
        request,
        data_source: data_source.to_owned(),
        id: id.to_owned(),
        columns: asked.to_vec(),
    };
    host.links.to_controller(Wire::new(&ask, Vec::new()));
    let id = id.to_owned();
    Ok(async move {
        let mut frames = answer.await?;
        match (frames.pop(), frames.is_empty()) {
            (Some(bytes), true) => Ok(Buffer::from_vec(bytes)),
            _ => Err(rpc_error(format!(
                "segment [{id}] arrived as {} files",
                frames.len() + 1
            ))),
        }
    }
    .boxed_local())
}

/// The controller's side: a [`TransportFactory`] whose workers run on a pool of hosts.
#[derive(Clone)]
pub struct RemoteHosts(Rc<HostsInner>);

impl std::fmt::Debug for RemoteHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteHosts")
            .field("capacity", &self.0.pool.capacity())
            .field("queries", &self.0.queries.borrow().len())
            .finish()
    }
}

impl RemoteHosts {
    /// Workers on `pool`'s hosts; table inputs read from `store`, segment reads answered on
    /// futures run by `spawner`.
    pub fn new(pool: Rc<dyn HostPool>, store: SharedStore, spawner: Rc<dyn Spawner>) -> Self {
        Self(Rc::new(HostsInner {
            pool,
            store,
            spawner,
            next_query: Cell::new(0),
            queries: RefCell::new(HashMap::new()),
            frames: FrameAnswers::default(),
            pings: Waiting::default(),
        }))
    }

    /// Every host's vital signs (or why it did not answer), by host number.
    pub fn vitals(&self) -> LocalBoxFuture<'static, Vec<Result<HostVitals>>> {
        if let Some(reason) = self.0.pool.broken() {
            let failed = (0..self.0.pool.capacity())
                .map(|_| Err(MsqError::execution(ErrorCode::WorkerFailed, reason.clone())))
                .collect();
            return futures::future::ready(failed).boxed_local();
        }
        let answers: Vec<_> = (0..self.0.pool.capacity())
            .map(|host| {
                let (request, answer) = self
                    .0
                    .pings
                    .register(format!("worker thread {host} did not answer"));
                let ping = RemoteMessage::Ping { request };
                self.0.pool.send(host, Wire::new(&ping, Vec::new()));
                answer
            })
            .collect();
        futures::future::join_all(answers).boxed_local()
    }

    fn transport(&self, query: u64) -> Option<Rc<RemoteTransport>> {
        self.0.queries.borrow().get(&query).and_then(Weak::upgrade)
    }

    /// Handles one message from host `host`.
    ///
    /// # Errors
    /// A message that cannot be read or that the controller never receives (`WorkerRpcFailed`);
    /// the caller logs it.
    pub fn receive(&self, host: u32, wire: Wire) -> Result<()> {
        let inner = &self.0;
        match wire.message()? {
            RemoteMessage::Event { query, event } => {
                // Events of a query that is over (late counters) are dropped.
                if let Some(transport) = self.transport(query) {
                    let event = restore_event_frames(event, wire.frames)?;
                    transport.deliver(event);
                }
            }
            RemoteMessage::Events { query, events } => {
                if let Some(transport) = self.transport(query) {
                    for event in events {
                        transport.deliver(event);
                    }
                }
            }
            RemoteMessage::Pong { request, vitals } => inner.pings.answer(request, Ok(vitals)),
            RemoteMessage::Frames {
                request,
                error,
                more,
            } => {
                inner.frames.receive(request, error, wire.frames, more);
            }
            RemoteMessage::ReadSegment {
                request,
                data_source,
                id,
                columns,
            } => {
                // The store may have to fetch the file (OPFS keeps segment files on disk), so
                // the answer is sent when the read completes; other messages go on meanwhile.
                let bytes = inner.store.segment_bytes(&data_source, &id);
                let pool = Rc::clone(&inner.pool);
                inner.spawner.spawn(Box::pin(async move {
                    let cut = bytes.await.and_then(|bytes| {
                        let columns = columns.iter().map(String::as_str).collect();
                        msq_exec::segment::project_segment(bytes, &columns)
                    });
                    let (frames, error) = match cut {
                        Ok(bytes) => (vec![bytes], None),
                        Err(e) => (Vec::new(), Some(e)),
                    };
                    let reply = RemoteMessage::Frames {
                        request,
                        error,
                        more: false,
                    };
                    pool.send(host, Wire::new(&reply, frames));
                }));
            }
            RemoteMessage::Columns {
                request,
                data_source,
            } => {
                let (columns, error) = match inner.store.datasource_columns(&data_source) {
                    Ok(columns) => (columns, None),
                    Err(e) => (Vec::new(), Some(e)),
                };
                let reply = RemoteMessage::ColumnsAre {
                    request,
                    columns,
                    error,
                };
                inner.pool.send(host, Wire::new(&reply, Vec::new()));
            }
            other => {
                return Err(rpc_error(format!(
                    "the controller received a host's message: {other:?}"
                )))
            }
        }
        Ok(())
    }

    /// Host `host` died (its thread crashed or stopped answering). The pool is restarted
    /// whole (the dead host's channels are gone, and with them every shuffle in flight), so
    /// every work order still running fails with `WorkerFailed` naming the host, and every
    /// fetch and ping in flight fails.
    pub fn host_failed(&self, host: u32, reason: &str) {
        let message = format!("worker thread {host} failed: {reason}");
        let transports: Vec<_> = self
            .0
            .queries
            .borrow()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for transport in transports {
            transport.lost(&message);
        }
        let error = || MsqError::execution(ErrorCode::WorkerFailed, message.clone());
        self.0.frames.fail_all(error);
        self.0.pings.fail_all(error);
    }
}

impl TransportFactory for RemoteHosts {
    fn worker_threads(&self) -> LocalBoxFuture<'static, Vec<Result<HostVitals>>> {
        self.vitals()
    }

    fn connect(
        &self,
        query: Rc<QueryDefinition>,
        events: EventSink,
        settings: WorkerSettings,
    ) -> Rc<dyn Transport> {
        let id = self.0.next_query.get() + 1;
        self.0.next_query.set(id);
        let wanted = query
            .stages
            .iter()
            .map(|s| s.max_worker_count)
            .max()
            .unwrap_or(1);
        let hosts = wanted.clamp(1, self.0.pool.capacity().max(1));
        let begin = RemoteMessage::Query {
            query: id,
            definition: Box::new((*query).clone()),
            max_frame_size: settings.max_frame_size,
            segment_version: settings.segment_version,
            hosts,
            task_id: settings.task_id,
            spill_budget: settings.spill_budget,
            columns: table_columns(&query, &self.0.store),
        };
        let wire = Wire::new(&begin, Vec::new());
        for host in 0..hosts {
            self.0.pool.send(host, wire.clone());
        }
        let transport = Rc::new(RemoteTransport {
            hosts: self.0.clone(),
            query: id,
            host_count: hosts,
            events,
            running: RefCell::new(BTreeSet::new()),
        });
        self.0
            .queries
            .borrow_mut()
            .insert(id, Rc::downgrade(&transport));
        transport
    }
}

/// One query's transport over the hosts.
struct RemoteTransport {
    hosts: Rc<HostsInner>,
    query: u64,
    host_count: u32,
    events: EventSink,
    /// Work orders started and not yet complete or failed.
    running: RefCell<BTreeSet<(StageNumber, WorkerNumber)>>,
}

impl RemoteTransport {
    fn to_all(&self, message: &RemoteMessage) {
        let wire = Wire::new(message, Vec::new());
        for host in 0..self.host_count {
            self.hosts.pool.send(host, wire.clone());
        }
    }

    fn deliver(&self, event: WorkerEvent) {
        match &event {
            WorkerEvent::ResultsComplete { stage, worker, .. }
            | WorkerEvent::Failed { stage, worker, .. } => {
                self.running.borrow_mut().remove(&(*stage, *worker));
            }
            _ => {}
        }
        self.events.send(event);
    }

    fn lost(&self, message: &str) {
        let lost: Vec<_> = self.running.borrow().iter().copied().collect();
        for (stage, worker) in lost {
            self.deliver(WorkerEvent::Failed {
                stage,
                worker,
                error: MsqError::execution(
                    ErrorCode::WorkerFailed,
                    format!(
                        "worker {} of stage {} was lost: {message}",
                        worker.0, stage.0
                    ),
                ),
            });
        }
    }
}

impl Drop for RemoteTransport {
    fn drop(&mut self) {
        self.to_all(&RemoteMessage::End { query: self.query });
        self.hosts.queries.borrow_mut().remove(&self.query);
    }
}

impl Transport for RemoteTransport {
    fn start_work_order(&self, order: WorkOrder) {
        let host = host_of(order.stage_number, order.worker_number, self.host_count);
        self.running
            .borrow_mut()
            .insert((order.stage_number, order.worker_number));
        if let Some(reason) = self.hosts.pool.broken() {
            return self.deliver(WorkerEvent::Failed {
                stage: order.stage_number,
                worker: order.worker_number,
                error: MsqError::execution(ErrorCode::WorkerFailed, reason),
            });
        }
        let start = RemoteMessage::Start {
            query: self.query,
            order: Box::new(order),
        };
        self.hosts.pool.send(host, Wire::new(&start, Vec::new()));
    }

    fn post_partition_boundaries(&self, stage: StageNumber, partitions: &ClusterByPartitions) {
        self.to_all(&RemoteMessage::Boundaries {
            query: self.query,
            stage,
            partitions: partitions.clone(),
        });
    }

    fn clean_stage(&self, stage: StageNumber) {
        self.to_all(&RemoteMessage::Clean {
            query: self.query,
            stage,
        });
    }

    fn fetch_partition(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'_, Result<Vec<Vec<u8>>>> {
        let host = host_of(stage, worker, self.host_count);
        let (request, answer) = self.hosts.frames.register(format!(
            "worker thread {host} stopped before sending the results of stage {}",
            stage.0
        ));
        let fetch = RemoteMessage::Fetch {
            query: self.query,
            request,
            stage,
            partition,
            worker,
            take: false,
        };
        self.hosts.pool.send(host, Wire::new(&fetch, Vec::new()));
        answer
    }

    fn cancel(&self) {
        self.to_all(&RemoteMessage::Cancel { query: self.query });
    }
}

pub mod loopback {
    //! A controller and `n` hosts in one thread, joined by queues: every message is encoded,
    //! queued and parsed as in the browser, and each receiver handles its messages in order on
    //! its own pump future. Native tests and the golden corpus run over it.
    //!
    //! The hosts spill every frame (a budget of 0 bytes, into a [`MemoryFrameSpill`]), so
    //! what runs over them runs every spilling path.

    use crate::spill::MemoryFrameSpill;

    use super::*;
    use futures::channel::mpsc;
    use futures::StreamExt;

    type Queue = mpsc::UnboundedSender<(Sender, Wire)>;

    /// The hosts' queues, the controller's queue, and the controller's store when the hosts
    /// write segment files into it (as the browser's stage workers write OPFS).
    struct Links {
        hosts: Vec<Queue>,
        controller: mpsc::UnboundedSender<(u32, Wire)>,
        me: u32,
        segment_store: Option<SharedStore>,
        spill: Rc<MemoryFrameSpill>,
    }

    /// A segment file put into the controller's store when finished, as a stage worker's
    /// OPFS sink leaves it there.
    struct StoreSink {
        store: SharedStore,
        path: String,
        bytes: Vec<u8>,
    }

    impl std::io::Write for StoreSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl SegmentSink for StoreSink {
        fn finish(
            self: Box<Self>,
            meta: msq_exec::segment::SegmentMeta,
        ) -> LocalBoxFuture<'static, Result<msq_exec::segment::Segment>> {
            use msq_exec::segment::SegmentStore;
            let StoreSink {
                mut store,
                path,
                bytes,
            } = *self;
            let segment = store
                .put_segment(&path, bytes)
                .map(|()| msq_exec::segment::Segment {
                    meta,
                    bytes: Vec::new(),
                    file: Some(path),
                });
            futures::future::ready(segment).boxed_local()
        }
    }

    impl HostLinks for Links {
        fn to_controller(&self, wire: Wire) {
            let _ = self.controller.unbounded_send((self.me, wire));
        }

        fn frame_spill(&self) -> Option<(Rc<dyn FrameSpill>, usize)> {
            Some((self.spill.clone(), 0))
        }

        fn writes_segment_files(&self) -> bool {
            self.segment_store.is_some()
        }

        fn read_segment_columns(
            &self,
            path: String,
            columns: Vec<String>,
        ) -> Option<LocalBoxFuture<'static, Result<Option<Vec<RecordBatch>>>>> {
            use msq_exec::segment::{read_segment_columns, SegmentStore};
            let read = self.segment_store.as_ref()?.read(&path);
            Some(
                async move {
                    let names: HashSet<&str> = columns.iter().map(String::as_str).collect();
                    read.await?
                        .map(|file| read_segment_columns(file.as_slice(), &names))
                        .transpose()
                }
                .boxed_local(),
            )
        }

        fn segment_sink(
            &self,
            path: String,
        ) -> LocalBoxFuture<'static, Result<Box<dyn SegmentSink>>> {
            let sink = match &self.segment_store {
                Some(store) => Ok(Box::new(StoreSink {
                    store: store.clone(),
                    path,
                    bytes: Vec::new(),
                }) as Box<dyn SegmentSink>),
                None => Err(MsqError::internal("this host writes no segment files")),
            };
            futures::future::ready(sink).boxed_local()
        }

        fn to_host(&self, host: u32, wire: Wire) {
            if let Some(queue) = self.hosts.get(host as usize) {
                let _ = queue.unbounded_send((Sender::Host(self.me), wire));
            }
        }
    }

    struct Pool {
        hosts: Vec<Queue>,
    }

    impl HostPool for Pool {
        fn capacity(&self) -> u32 {
            self.hosts.len() as u32
        }

        fn send(&self, host: u32, wire: Wire) {
            if let Some(queue) = self.hosts.get(host as usize) {
                let _ = queue.unbounded_send((Sender::Controller, wire));
            }
        }
    }

    /// A [`RemoteHosts`] over `n` [`StageHost`]s, all pumped by futures on `spawner`. Errors a
    /// receiver reports (unreadable messages) panic: in tests they are bugs. With
    /// `hosts_write_segments` the hosts reach `store` themselves, as the browser's stage
    /// workers reach OPFS: they write the segment files they generate into it, which the
    /// controller adopts ([`msq_exec::segment::SegmentStore::adopt_segment`]), and read the
    /// segments queries ask for from it; else the bytes travel through the controller.
    pub fn hosts(
        n: u32,
        store: SharedStore,
        hosts_write_segments: bool,
        fetcher: Rc<dyn Fetcher>,
        clock: Rc<dyn Clock>,
        spawner: Rc<dyn Spawner>,
    ) -> RemoteHosts {
        let (controller_tx, mut controller_rx) = mpsc::unbounded::<(u32, Wire)>();
        let mut queues = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..n.max(1) {
            let (tx, rx) = mpsc::unbounded::<(Sender, Wire)>();
            queues.push(tx);
            receivers.push(rx);
        }
        for (number, mut rx) in receivers.into_iter().enumerate() {
            let links = Rc::new(Links {
                hosts: queues.clone(),
                controller: controller_tx.clone(),
                me: number as u32,
                segment_store: hosts_write_segments.then(|| store.clone()),
                spill: Rc::new(MemoryFrameSpill::new()),
            });
            let host = StageHost::new(
                number as u32,
                links,
                fetcher.clone(),
                clock.clone(),
                spawner.clone(),
            );
            spawner.spawn(Box::pin(async move {
                while let Some((from, wire)) = rx.next().await {
                    if let Err(e) = host.receive(from, wire) {
                        panic!("host {number}: {e}");
                    }
                }
            }));
        }
        let remote = RemoteHosts::new(Rc::new(Pool { hosts: queues }), store, spawner.clone());
        let controller = remote.clone();
        spawner.spawn(Box::pin(async move {
            while let Some((host, wire)) = controller_rx.next().await {
                if let Err(e) = controller.receive(host, wire) {
                    panic!("controller: {e}");
                }
            }
        }));
        remote
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_in_pieces_settles_with_all_of_them_or_with_its_error() {
        let answers = FrameAnswers::default();
        let (whole, mut answer) = answers.register("gone".into());
        let (broken, mut failed) = answers.register("gone".into());
        answers.receive(whole, None, vec![vec![1], vec![2]], true);
        answers.receive(broken, None, vec![vec![9]], true);
        assert!((&mut answer).now_or_never().is_none(), "not all there yet");
        answers.receive(whole, None, vec![vec![3]], false);
        assert_eq!(
            answer.now_or_never().unwrap().unwrap(),
            [vec![1], vec![2], vec![3]]
        );
        // A spill read failing half-way: the pieces already there are dropped with it.
        answers.receive(
            broken,
            Some(MsqError::internal("spill lost")),
            Vec::new(),
            false,
        );
        let error = (&mut failed).now_or_never().unwrap().unwrap_err();
        assert!(error.to_string().contains("spill lost"), "{error}");
        assert!(answers.arrived.borrow().is_empty());
    }

    #[test]
    fn hosts_spread_stages_and_workers() {
        assert_eq!(host_of(StageNumber(0), WorkerNumber(0), 2), 0);
        assert_eq!(host_of(StageNumber(0), WorkerNumber(1), 2), 1);
        assert_eq!(host_of(StageNumber(1), WorkerNumber(0), 2), 1);
        assert_eq!(host_of(StageNumber(3), WorkerNumber(2), 1), 0);
        assert_eq!(host_of(StageNumber(3), WorkerNumber(2), 0), 0);
    }

    #[test]
    fn events_survive_the_wire_with_their_segment_files() {
        let error = MsqError::execution(ErrorCode::TooManyWarnings, "too many");
        let failed = WorkerEvent::Failed {
            stage: StageNumber(1),
            worker: WorkerNumber(0),
            error: error.clone(),
        };
        let (event, frames) = take_event_frames(failed.clone());
        let wire = Wire::new(&RemoteMessage::Event { query: 7, event }, frames);
        let RemoteMessage::Event { query, event } = wire.message().unwrap() else {
            panic!("not an event")
        };
        assert_eq!(query, 7);
        assert_eq!(restore_event_frames(event, wire.frames).unwrap(), failed);

        let bad = WorkerEvent::Segments {
            stage: StageNumber(0),
            worker: WorkerNumber(0),
            segments: Vec::new(),
        };
        let err = restore_event_frames(bad, vec![vec![1, 2, 3]]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::WorkerRpcFailed);
        assert!(err.message().contains("0 segments with 1 files"));
    }

    /// Links that keep what a host sends the controller.
    #[derive(Default)]
    struct Recorder(RefCell<Vec<RemoteMessage>>);

    impl HostLinks for Recorder {
        fn to_controller(&self, wire: Wire) {
            self.0.borrow_mut().push(wire.message().unwrap());
        }

        fn to_host(&self, _host: u32, _wire: Wire) {}
    }

    #[test]
    fn a_turns_events_go_in_one_message_with_the_last_counters_of_each_run() {
        use futures::executor::LocalPool;
        let mut pool = LocalPool::new();
        let links = Rc::new(Recorder::default());
        let spawner = Rc::new(crate::env::PoolSpawner(pool.spawner()));
        let batch = EventBatch::new(3, links.clone(), spawner);
        let counters = |stage: u32, rows: u64| WorkerEvent::Counters {
            stage: StageNumber(stage),
            worker: WorkerNumber(0),
            counters: {
                let mut tracker = msq_exec::counters::CounterTracker::default();
                tracker.output().add_frame(0, rows, rows);
                tracker.snapshot()
            },
        };
        let done = WorkerEvent::ResultsComplete {
            stage: StageNumber(0),
            worker: WorkerNumber(0),
            partition_sizes: vec![2],
        };
        for event in [counters(0, 1), counters(0, 2), counters(1, 5), done.clone()] {
            batch.send(event);
        }
        assert!(links.0.borrow().is_empty(), "held until the turn ends");
        pool.run_until_stalled();
        let sent = std::mem::take(&mut *links.0.borrow_mut());
        let [RemoteMessage::Events { query: 3, events }] = sent.as_slice() else {
            panic!("{sent:?}")
        };
        assert_eq!(events, &vec![counters(0, 2), counters(1, 5), done]);

        // A segments event carries files: what was held goes first, then it, at once.
        batch.send(counters(2, 7));
        let segments = WorkerEvent::Segments {
            stage: StageNumber(2),
            worker: WorkerNumber(0),
            segments: Vec::new(),
        };
        batch.send(segments.clone());
        let sent = std::mem::take(&mut *links.0.borrow_mut());
        assert!(
            matches!(sent.as_slice(), [RemoteMessage::Events { events, .. }, RemoteMessage::Event { event, .. }]
                if events == &vec![counters(2, 7)] && event == &segments),
            "{sent:?}"
        );
        pool.run_until_stalled();
        assert!(links.0.borrow().is_empty(), "nothing left to flush");
    }

    #[test]
    fn an_unreadable_message_names_the_problem() {
        let wire = Wire {
            text: r#"{"type":"explode"}"#.into(),
            frames: Vec::new(),
        };
        let err = wire.message().unwrap_err();
        assert_eq!(err.code(), ErrorCode::WorkerRpcFailed);
        assert!(err.message().contains("explode"), "{}", err.message());
    }
}
