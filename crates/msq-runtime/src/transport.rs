//! The seam between the controller and its workers (Druid's `WorkerClient` /
//! `ControllerClient`): how work orders, partition boundaries and cleanups reach workers, how
//! stage output frames are fetched, and how workers' events come back.
//!
//! ```text
//!   controller ──Transport::start_work_order──────────▶ worker w (run_work_order)
//!              ──Transport::post_partition_boundaries─▶ worker w (waiting after its statistics)
//!              ──Transport::clean_stage / cancel──────▶ all workers
//!              ──Transport::fetch_partition───────────▶ the frames a worker wrote
//!              ◀──────────────── EventSink(WorkerEvent) ─┘
//! ```
//!
//! [`LocalTransport`] runs workers as futures on the same thread with an in-memory
//! [`ShuffleStore`] (native tests, `LocalCluster`); the browser implements [`Transport`] over
//! Web Workers and `MessageChannel`s. A [`TransportFactory`] makes one transport per query;
//! [`SmallQueriesHere`] chooses between the two per query, by what it reads.

use crate::env::{Clock, Fetcher, Spawner};
use crate::segment_cache::SegmentCache;
use crate::shuffle::ShuffleStore;
use crate::store::SharedStore;
use crate::worker::{run_work_order, LocalInputs, WorkerContext, WorkerEvent};
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use msq_common::{PartitionNumber, Result, StageNumber, WorkerNumber};
use msq_kernel::{ClusterByPartitions, WorkOrder};
use msq_plan::{InputSpec, ProcessorSpec, QueryDefinition};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Where workers send their [`WorkerEvent`]s (the controller's inbox).
#[derive(Clone)]
pub struct EventSink(Rc<dyn Fn(WorkerEvent)>);

impl EventSink {
    /// A sink calling `send` for every event.
    pub fn new(send: impl Fn(WorkerEvent) + 'static) -> Self {
        Self(Rc::new(send))
    }

    /// Delivers one event.
    pub fn send(&self, event: WorkerEvent) {
        (self.0)(event);
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

/// How one query's controller talks to its workers.
pub trait Transport {
    /// Starts a work order on its worker (`order.worker_number`).
    fn start_work_order(&self, order: WorkOrder);

    /// Sends a globally sorted stage's partition boundaries to every worker of the stage.
    fn post_partition_boundaries(&self, stage: StageNumber, partitions: &ClusterByPartitions);

    /// Every consumer of the stage is done: its output may be dropped.
    fn clean_stage(&self, stage: StageNumber);

    /// The frames `worker` wrote to `partition` of `stage` (the final stage's results).
    fn fetch_partition(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'_, Result<Vec<Vec<u8>>>>;

    /// The query failed or was canceled: workers stop at their next chunk.
    fn cancel(&self);
}

/// What a worker needs to know about the query beyond its work order.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `maxFrameSize`.
    pub max_frame_size: usize,
    /// The version of the segments this query writes (the task's lock time, ISO).
    pub segment_version: String,
    /// The Druid task id.
    pub task_id: String,
    /// Bytes of rows, and of frames, a worker holds in memory before it spills, where its
    /// host can spill ([`crate::spill`]); `None` leaves the host's default. Acorn's own
    /// context parameter `acornSpillBudgetBytes` (Druid sizes its workers' memory from the
    /// JVM's instead).
    pub spill_budget: Option<usize>,
    /// The most bytes of segments a query may read and still have its workers run beside the
    /// controller ([`SmallQueriesHere`]); `None` leaves [`DEFAULT_ENGINE_THREAD_BYTES`].
    /// Acorn's own context parameter `acornEngineThreadBytes`.
    pub engine_thread_bytes: Option<u64>,
}

/// Makes the transport of each query.
pub trait TransportFactory {
    /// The threads stage work runs on, with their vital signs (or why one did not answer), by
    /// number; empty when workers run on the controller's own thread.
    fn worker_threads(&self) -> LocalBoxFuture<'static, Vec<Result<crate::remote::HostVitals>>> {
        futures::future::ready(Vec::new()).boxed_local()
    }

    /// A transport for `query`, whose workers report to `events`.
    fn connect(
        &self,
        query: Rc<QueryDefinition>,
        events: EventSink,
        settings: WorkerSettings,
    ) -> Rc<dyn Transport>;
}

/// Workers as futures on this thread, frames in memory.
pub struct LocalTransport {
    context: WorkerContext,
    spawner: Rc<dyn Spawner>,
    boundaries:
        RefCell<BTreeMap<(StageNumber, WorkerNumber), oneshot::Sender<ClusterByPartitions>>>,
}

impl std::fmt::Debug for LocalTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTransport").finish_non_exhaustive()
    }
}

impl Transport for LocalTransport {
    fn start_work_order(&self, order: WorkOrder) {
        let boundaries = order.stage_definition.needs_statistics().then(|| {
            let (tx, rx) = oneshot::channel();
            self.boundaries
                .borrow_mut()
                .insert((order.stage_number, order.worker_number), tx);
            rx
        });
        self.spawner.spawn(Box::pin(run_work_order(
            self.context.clone(),
            order,
            boundaries,
        )));
    }

    fn post_partition_boundaries(&self, stage: StageNumber, partitions: &ClusterByPartitions) {
        let mut waiting = self.boundaries.borrow_mut();
        let workers: Vec<_> = waiting
            .keys()
            .filter(|(s, _)| *s == stage)
            .copied()
            .collect();
        for key in workers {
            if let Some(tx) = waiting.remove(&key) {
                // A worker that already stopped (canceled) no longer listens; nothing to do.
                let _ = tx.send(partitions.clone());
            }
        }
    }

    fn clean_stage(&self, stage: StageNumber) {
        self.context.shuffle.clean(stage);
    }

    fn fetch_partition(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'_, Result<Vec<Vec<u8>>>> {
        futures::future::ready(self.context.shuffle.get(stage, partition, worker)).boxed_local()
    }

    fn cancel(&self) {
        self.context.canceled.set(true);
        // Dropping the senders wakes workers waiting for boundaries; they see the cancel.
        self.boundaries.borrow_mut().clear();
    }
}

/// [`LocalTransport`]s over a fetcher, a segment store and a spawner.
pub struct LocalTransports {
    /// External input.
    pub fetcher: Rc<dyn Fetcher>,
    /// Segments (table inputs).
    pub store: SharedStore,
    /// Runs the worker futures.
    pub spawner: Rc<dyn Spawner>,
    /// Time.
    pub clock: Rc<dyn Clock>,
    /// The columns of segments its queries have read ([`LocalInputs::segments`]).
    pub(crate) segments: Rc<RefCell<SegmentCache>>,
}

impl std::fmt::Debug for LocalTransports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTransports").finish_non_exhaustive()
    }
}

impl TransportFactory for LocalTransports {
    fn connect(
        &self,
        query: Rc<QueryDefinition>,
        events: EventSink,
        settings: WorkerSettings,
    ) -> Rc<dyn Transport> {
        let shuffle = ShuffleStore::new();
        Rc::new(LocalTransport {
            context: WorkerContext {
                fetcher: self.fetcher.clone(),
                inputs: Rc::new(LocalInputs {
                    shuffle: shuffle.clone(),
                    store: self.store.clone(),
                    segments: Rc::clone(&self.segments),
                }),
                shuffle,
                events,
                canceled: Rc::new(Cell::new(false)),
                max_frame_size: settings.max_frame_size,
                segment_version: settings.segment_version,
                clock: self.clock.clone(),
                query,
            },
            spawner: self.spawner.clone(),
            boundaries: RefCell::new(BTreeMap::new()),
        })
    }
}

/// The most bytes of segments a query may read and still run beside the controller
/// ([`SmallQueriesHere`]): 32 MiB, a few milliseconds of work for one thread once its segments'
/// columns are cached. Measured on the 2-core benchmark machine over the benchmark's 100k-row
/// datasource (~23 MB of segments; README "Browser benchmark"), 30 runs each, median ms on the
/// stage threads → here: W3 8.5 → 5.7, W4 10.3 → 6.3, W5 10.6 → 8.6, W6 2.7 → 2.3. A 1M-row
/// datasource (~232 MB) stays on the stage threads, whose parallel scans it is worth.
pub const DEFAULT_ENGINE_THREAD_BYTES: u64 = 32 << 20;

/// Places each query's workers: beside the controller ([`LocalTransports`]) when the query
/// only reads datasources whose segments come to at most
/// [`WorkerSettings::engine_thread_bytes`] in all, on the stage threads (`hosts`) otherwise.
///
/// On the stage threads a query's work orders, events, frames and results each cross threads
/// by `postMessage`; a query over a small datasource does a millisecond or two of real work
/// and spent most of its time in those hops and in waking the threads (on 2 cores, shared with
/// the browser). Beside the controller none of that happens, and the segments are read through
/// the controller's store and its cache. Druid likewise answers small interactive queries
/// without tasks (its Broker); here the stages, counters and report are the same either way —
/// only where the workers ran differs. Anything that reads external input or writes segments
/// (INSERT / REPLACE) always goes to the stage threads: that is work worth spreading, and the
/// engine's thread stays free to answer the console.
pub struct SmallQueriesHere {
    /// Workers on the controller's thread.
    pub here: LocalTransports,
    /// The stage threads.
    pub hosts: Rc<dyn TransportFactory>,
}

impl std::fmt::Debug for SmallQueriesHere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmallQueriesHere").finish_non_exhaustive()
    }
}

impl SmallQueriesHere {
    /// Whether `query` runs beside the controller: it reads datasources only (or nothing),
    /// writes no segments, and its datasources' segments (each time a stage reads one) come
    /// to at most `limit` bytes.
    pub fn runs_here(&self, query: &QueryDefinition, limit: u64) -> bool {
        let mut bytes = 0_u64;
        for stage in &query.stages {
            if matches!(stage.processor, ProcessorSpec::SegmentGenerator(_)) {
                return false;
            }
            for input in &stage.inputs {
                match input {
                    InputSpec::External { .. } => return false,
                    InputSpec::Stage { .. } => {}
                    InputSpec::Table { data_source, .. } => {
                        match self.here.store.manifest(data_source) {
                            Ok(Some(manifest)) => {
                                bytes += (manifest.segments.iter())
                                    .map(|s| s.size_bytes as u64)
                                    .sum::<u64>();
                            }
                            Ok(None) => {}
                            Err(_) => return false,
                        }
                    }
                }
            }
        }
        bytes <= limit
    }
}

impl TransportFactory for SmallQueriesHere {
    fn worker_threads(&self) -> LocalBoxFuture<'static, Vec<Result<crate::remote::HostVitals>>> {
        self.hosts.worker_threads()
    }

    fn connect(
        &self,
        query: Rc<QueryDefinition>,
        events: EventSink,
        settings: WorkerSettings,
    ) -> Rc<dyn Transport> {
        let limit = settings
            .engine_thread_bytes
            .unwrap_or(DEFAULT_ENGINE_THREAD_BYTES);
        if self.runs_here(&query, limit) {
            self.here.connect(query, events, settings)
        } else {
            self.hosts.connect(query, events, settings)
        }
    }
}
