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
//! Web Workers and `MessageChannel`s. A [`TransportFactory`] makes one transport per query.

use crate::env::{Clock, Fetcher, Spawner};
use crate::shuffle::ShuffleStore;
use crate::store::SharedStore;
use crate::worker::{run_work_order, LocalInputs, WorkerContext, WorkerEvent};
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use msq_common::{PartitionNumber, Result, StageNumber, WorkerNumber};
use msq_kernel::{ClusterByPartitions, WorkOrder};
use msq_plan::QueryDefinition;
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
