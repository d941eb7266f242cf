//! The controller driver: runs one planned query on workers — the I/O half of Druid's
//! `ControllerImpl`, with every decision left to [`ControllerQueryKernel`] (style rule 1,
//! "kernels decide, drivers do").
//!
//! The loop: feed the kernel an event (start, a worker's statistics or results, a failure, a
//! cancel), carry out the [`KernelAction`]s it returns (start work orders, send partition
//! boundaries, clean stage output), and after every event rewrite the live task report the
//! API serves. When the query completes, SELECT results are read from the final stage and
//! INSERT/REPLACE segments are published atomically (segments, then the manifest; design
//! README "Data") — a failed or canceled query publishes nothing. Segment files are written
//! as the generators hand them over, chunk by chunk (so a write-behind store writes while the
//! rest is generated), and only the manifest waits for the end; files of a query that does
//! not publish are deleted.

use crate::env::{Clock, Fetcher};
use crate::results::results_report;
use crate::shuffle::KeyEncoder;
use crate::store::{columns_of, SharedStore};
use crate::transport::{EventSink, Transport, TransportFactory, WorkerSettings};
use crate::worker::WorkerEvent;
use arrow_array::RecordBatch;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use msq_common::{MsqError, Result, StageNumber, WorkerNumber};
use msq_exec::frame::decode_frame;
use msq_exec::input::ParseExceptionPolicy;
use msq_exec::segment::{format_iso_millis, Overwrite, Segment, SegmentMeta};
use msq_kernel::{
    ControllerQueryKernel, KernelAction, KernelConfig, SegmentDescriptor, WorkerAssignment,
};
use msq_model::{
    CounterSnapshotsTree, ErrorReport, MsqFault, ReportPayload, ReportStatus, StageReport,
    TaskState,
};
use msq_plan::querykit::{IngestSpec, PlannedKind, PlannedQuery, ReplaceScope};
use msq_plan::{InputSpec, QueryDefinition};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How many warnings of one code the report lists (Druid limits warnings per code in the
/// report; the counters still count them all).
pub const MAX_REPORTED_WARNINGS_PER_CODE: usize = 10;

/// What the controller tells whoever watches the task.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryProgress {
    /// The live report payload.
    pub payload: ReportPayload,
    /// Rows the query produced (SELECT) or ingested (INSERT/REPLACE), once done.
    pub rows: Option<u64>,
    /// Segments published, once done.
    pub segments: Option<usize>,
}

/// Everything a controller needs besides the plan.
#[derive(Clone)]
pub struct ControllerEnv {
    /// Reaches the workers.
    pub transports: Rc<dyn TransportFactory>,
    /// Asks servers for file sizes before slicing ([`Fetcher::probe`]).
    pub fetcher: Rc<dyn Fetcher>,
    /// Segments.
    pub store: SharedStore,
    /// Time.
    pub clock: Rc<dyn Clock>,
    /// `maxFrameSize`.
    pub max_frame_size: usize,
    /// `maxParseExceptions`.
    pub max_parse_exceptions: i64,
    /// `taskAssignment`.
    pub assignment: WorkerAssignment,
    /// `acornSpillBudgetBytes` ([`WorkerSettings::spill_budget`]).
    pub spill_budget: Option<usize>,
    /// `acornEngineThreadBytes` ([`WorkerSettings::engine_thread_bytes`]).
    pub engine_thread_bytes: Option<u64>,
    /// SELECT rows kept in the results ([`crate::results::MAX_SELECT_RESULT_ROWS`] for task
    /// reports).
    pub max_result_rows: usize,
}

/// A message into the controller loop.
#[derive(Debug)]
pub enum ControllerInput {
    /// From a worker.
    Worker(WorkerEvent),
    /// The task was shut down.
    Cancel,
}

/// Runs `planned` to the end, updating `progress` after every event.
///
/// Returns when the query has succeeded (results read, segments published) or failed; the final
/// payload is in `progress`, and `done` fires. `inbox` receives cancels; `sender` is its sending
/// half (workers post their events through it).
pub async fn run_query(
    env: ControllerEnv,
    task_id: String,
    planned: PlannedQuery,
    progress: Rc<RefCell<QueryProgress>>,
    sender: mpsc::UnboundedSender<ControllerInput>,
    mut inbox: mpsc::UnboundedReceiver<ControllerInput>,
    done: oneshot::Sender<()>,
) {
    let start_ms = env.clock.now_ms();
    let mut run = ControllerRun::new(env, task_id, planned, progress, start_ms);
    let ranged_files = run.probe_splittable_files().await;
    if let Err(error) = run.start(&sender, ranged_files) {
        run.fail(None, None, fault_of(&error));
    }
    loop {
        if run.completing {
            run.completing = false;
            if let Err(error) = run.complete().await {
                run.fail(None, None, fault_of(&error));
            }
        }
        if run.kernel_done() {
            break;
        }
        let Some(input) = inbox.next().await else {
            break;
        };
        // A panic here is an engine bug: the query fails with UnknownError instead of the
        // controller dying silently (where panics unwind).
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.on_input(input)));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => run.fail(None, None, fault_of(&error)),
            Err(panic) => {
                let message = crate::worker::panic_message(panic.as_ref());
                let error =
                    MsqError::internal(format!("controller failed unexpectedly: {message}"));
                run.fail(None, None, fault_of(&error));
            }
        }
    }
    // A query that succeeded has no work left to stop: its workers let go of it when the
    // transport goes (a host's `End`), without a cancel message each on the way to the answer.
    if let (Some(transport), false) = (&run.transport, run.state == TaskState::Success) {
        transport.cancel();
    }
    run.discard_unpublished();
    run.publish_report();
    let _ = done.send(());
}

/// A fault for the report from an engine error: Druid's code where the error has one, and
/// `UnknownError` for bugs (internal errors), as Druid does for unexpected exceptions.
pub fn fault_of(error: &MsqError) -> MsqFault {
    MsqFault::from(error)
}

struct ControllerRun {
    env: ControllerEnv,
    task_id: String,
    planned: PlannedQuery,
    query: Rc<QueryDefinition>,
    kernel: Option<ControllerQueryKernel>,
    progress: Rc<RefCell<QueryProgress>>,
    transport: Option<Rc<dyn Transport>>,
    /// The kernel said the query is complete; results/segments still to be gathered.
    completing: bool,
    start_ms: i64,
    counters: CounterSnapshotsTree,
    warnings: Vec<ErrorReport>,
    policy: ParseExceptionPolicy,
    /// Segments received from the segment generators, their files already in the store
    /// ([`SharedStore::write_ahead`]), in arrival order; published once the query completes.
    written: Vec<SegmentMeta>,
    /// The next partition number of each time chunk (by start), as segments arrive.
    next_partition: BTreeMap<i64, u32>,
    state: TaskState,
    error: Option<ErrorReport>,
    finished_ms: Option<i64>,
}

impl ControllerRun {
    fn new(
        env: ControllerEnv,
        task_id: String,
        planned: PlannedQuery,
        progress: Rc<RefCell<QueryProgress>>,
        start_ms: i64,
    ) -> Self {
        let query = Rc::new(planned.query.clone());
        let policy = ParseExceptionPolicy::new(env.max_parse_exceptions);
        Self {
            env,
            task_id,
            planned,
            query,
            kernel: None,
            progress,
            transport: None,
            completing: false,
            start_ms,
            counters: CounterSnapshotsTree::new(),
            warnings: Vec::new(),
            policy,
            written: Vec::new(),
            next_partition: BTreeMap::new(),
            state: TaskState::Running,
            error: None,
            finished_ms: None,
        }
    }

    fn now(&self) -> i64 {
        self.env.clock.now_ms()
    }

    fn kernel_done(&self) -> bool {
        self.state != TaskState::Running
    }

    /// The sizes of the files that may be cut into byte ranges (`msq_runtime::split`) or, for
    /// gzip, line shares (`msq_exec::input::share`): files of line-based, uncompressed or gzip
    /// external inputs of stages with fewer files than workers, whose server serves byte
    /// ranges. Asked before slicing; a file that cannot be probed is read whole (its errors
    /// surface when it is read).
    async fn probe_splittable_files(&self) -> BTreeMap<String, u64> {
        let mut sizes = BTreeMap::new();
        for stage in &self.query.stages {
            for input in &stage.inputs {
                let max_workers = stage.max_worker_count as usize;
                for name in msq_kernel::slicer::range_candidates(input, max_workers) {
                    if sizes.contains_key(&name) {
                        continue;
                    }
                    if let Some(size) = self.env.fetcher.probe(&name).await {
                        sizes.insert(name, size);
                    }
                }
            }
        }
        sizes
    }

    fn start(
        &mut self,
        sender: &mpsc::UnboundedSender<ControllerInput>,
        ranged_files: BTreeMap<String, u64>,
    ) -> Result<()> {
        let inbox = sender.clone();
        let events = EventSink::new(move |event| {
            // The controller may be gone (query over); late events are dropped.
            let _ = inbox.unbounded_send(ControllerInput::Worker(event));
        });
        self.transport = Some(self.env.transports.connect(
            self.query.clone(),
            events,
            WorkerSettings {
                max_frame_size: self.env.max_frame_size,
                segment_version: format_iso_millis(match self.planned.kind {
                    PlannedKind::Ingest(_) => self.env.store.new_version(self.start_ms),
                    _ => self.start_ms,
                }),
                task_id: self.task_id.clone(),
                spill_budget: self.env.spill_budget,
                engine_thread_bytes: self.env.engine_thread_bytes,
            },
        ));
        let mut config = KernelConfig {
            assignment: self.env.assignment,
            ..KernelConfig::default()
        };
        config.slicers.external.ranged_files = ranged_files;
        for stage in &self.query.stages {
            for input in &stage.inputs {
                if let InputSpec::Table { data_source, .. } = input {
                    let descriptors = self
                        .env
                        .store
                        .manifest(data_source)?
                        .map(|m| {
                            m.segments
                                .iter()
                                .map(|s| SegmentDescriptor {
                                    id: s.id.to_string(),
                                    interval: format!(
                                        "{}/{}",
                                        format_iso_millis(s.id.interval_start_ms),
                                        format_iso_millis(s.id.interval_end_ms)
                                    ),
                                    size_bytes: s.size_bytes as u64,
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    config
                        .slicers
                        .table
                        .segments
                        .insert(data_source.clone(), descriptors);
                }
            }
        }
        let mut kernel = ControllerQueryKernel::new((*self.query).clone(), config)?;
        let actions = kernel.start(self.now())?;
        self.kernel = Some(kernel);
        self.apply(actions)?;
        self.publish_report();
        Ok(())
    }

    fn kernel(&mut self) -> Result<&mut ControllerQueryKernel> {
        self.kernel
            .as_mut()
            .ok_or_else(|| MsqError::internal("controller kernel not started"))
    }

    fn on_input(&mut self, input: ControllerInput) -> Result<()> {
        let now = self.now();
        let actions = match input {
            ControllerInput::Cancel => self.kernel()?.on_cancel(now),
            ControllerInput::Worker(event) => match event {
                WorkerEvent::Counters {
                    stage,
                    worker,
                    counters,
                } => {
                    self.counters
                        .0
                        .entry(stage.0)
                        .or_default()
                        .insert(worker.0, counters);
                    Vec::new()
                }
                WorkerEvent::ParseExceptions {
                    stage,
                    worker,
                    exceptions,
                } => {
                    let mut actions = Vec::new();
                    for exception in exceptions {
                        let error = exception.to_error();
                        if let Err(limit) = self.policy.record(&exception) {
                            let fault = self.policy.fault(&limit);
                            actions = self.kernel()?.on_worker_failed(stage, worker, fault, now)?;
                            break;
                        }
                        let same = self
                            .warnings
                            .iter()
                            .filter(|w| w.error.error_code == error.code().as_str())
                            .count();
                        if same < MAX_REPORTED_WARNINGS_PER_CODE {
                            let mut report = ErrorReport::new(MsqFault::from(&error));
                            report.task_id = Some(self.task_id.clone());
                            report.stage_number = Some(stage.0);
                            self.warnings.push(report);
                        }
                    }
                    actions
                }
                WorkerEvent::KeyStatistics {
                    stage,
                    worker,
                    statistics,
                } => self
                    .kernel()?
                    .on_worker_key_statistics(stage, worker, &statistics, now)?,
                WorkerEvent::Segments { segments, .. } => {
                    for segment in segments {
                        self.write_segment(segment)?;
                    }
                    Vec::new()
                }
                WorkerEvent::ResultsComplete {
                    stage,
                    worker,
                    partition_sizes,
                } => self.kernel()?.on_worker_results_complete(
                    stage,
                    worker,
                    partition_sizes,
                    now,
                )?,
                WorkerEvent::Failed {
                    stage,
                    worker,
                    error,
                } => {
                    let fault = fault_of(&error);
                    self.kernel()?.on_worker_failed(stage, worker, fault, now)?
                }
            },
        };
        self.apply(actions)?;
        self.publish_report();
        Ok(())
    }

    fn transport(&self) -> Result<Rc<dyn Transport>> {
        self.transport
            .clone()
            .ok_or_else(|| MsqError::internal("controller transport not connected"))
    }

    fn apply(&mut self, actions: Vec<KernelAction>) -> Result<()> {
        for action in actions {
            match action {
                KernelAction::StartStage { stage, work_orders } => {
                    let transport = self.transport()?;
                    for order in work_orders {
                        let worker = order.worker_number;
                        transport.start_work_order(order);
                        self.kernel()?.on_work_order_accepted(stage, worker)?;
                    }
                }
                KernelAction::SendPartitionBoundaries { stage, partitions } => {
                    self.transport()?
                        .post_partition_boundaries(stage, &partitions);
                }
                KernelAction::CleanStage { stage } => self.transport()?.clean_stage(stage),
                KernelAction::QueryComplete => self.completing = true,
                KernelAction::QueryFailed {
                    stage,
                    worker,
                    fault,
                } => self.fail(stage, worker, fault),
            }
        }
        Ok(())
    }

    fn fail(&mut self, stage: Option<StageNumber>, worker: Option<WorkerNumber>, fault: MsqFault) {
        if self.state != TaskState::Running {
            return;
        }
        if let Some(transport) = &self.transport {
            transport.cancel();
        }
        let mut report = ErrorReport::new(fault);
        report.task_id = Some(match worker {
            Some(w) => format!("{}-worker{}_0", self.task_id, w.0),
            None => self.task_id.clone(),
        });
        report.stage_number = stage.map(|s| s.0);
        self.error = Some(report);
        self.state = TaskState::Failed;
        self.finished_ms = Some(self.now());
    }

    /// The query succeeded in the kernel: gather results or publish segments.
    async fn complete(&mut self) -> Result<()> {
        match self.planned.kind.clone() {
            PlannedKind::Select { columns } => {
                let batches = self.final_stage_batches().await?;
                let (report, total) = results_report(&columns, &batches, self.env.max_result_rows)?;
                let mut progress = self.progress.borrow_mut();
                progress.payload.results = Some(report);
                progress.rows = Some(total as u64);
            }
            PlannedKind::Ingest(ingest) => {
                let rows = self.publish_segments(&ingest)?;
                // SUCCESS once the segments and the manifest are on disk, as in Druid (where
                // they are in deep storage): a write-behind store finishes its writes first.
                self.env.store.flush().await?;
                let mut progress = self.progress.borrow_mut();
                progress.rows = Some(rows);
            }
            PlannedKind::Explain { .. } => {
                return Err(MsqError::internal("EXPLAIN plans are not run"));
            }
        }
        self.state = TaskState::Success;
        self.finished_ms = Some(self.now());
        Ok(())
    }

    /// Rows of the final stage, partition by partition, each in key order when it sorts.
    async fn final_stage_batches(&mut self) -> Result<Vec<RecordBatch>> {
        let transport = self.transport()?;
        let final_stage = self.query.final_stage;
        let partitions = self
            .kernel()?
            .output_partitions(final_stage)
            .cloned()
            .ok_or_else(|| MsqError::internal("final stage has no output partitions"))?;
        let definition = self
            .query
            .stage(final_stage)
            .ok_or_else(|| MsqError::internal("no final stage"))?
            .clone();
        let mut out = Vec::new();
        for readable in &partitions.partitions {
            let mut batches = Vec::new();
            for worker in &readable.workers {
                for frame in transport
                    .fetch_partition(final_stage, readable.partition, *worker)
                    .await?
                {
                    batches.extend(decode_frame(&frame)?);
                }
            }
            let sort_keys = match (&definition.shuffle_spec, batches.first()) {
                (Some(spec), Some(first)) if spec.does_sort() && readable.workers.len() > 1 => {
                    match spec.cluster_by() {
                        Some(c) if !c.columns.is_empty() => {
                            Some(KeyEncoder::new(&first.schema(), c)?.sort_keys().to_vec())
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match (sort_keys, batches.first()) {
                (Some(keys), Some(first)) => {
                    let schema = first.schema();
                    out.extend(msq_exec::ops::sort_batches(&schema, &batches, &keys)?);
                }
                _ => out.extend(batches),
            }
        }
        Ok(out)
    }

    /// Numbers a segment within its time chunk (0, 1, 2… in arrival order: the workers
    /// numbered theirs independently) and writes its file at once, so the store writes while
    /// the generators are still at work; the manifest follows in
    /// [`ControllerRun::publish_segments`].
    fn write_segment(&mut self, mut segment: Segment) -> Result<()> {
        let next = (self.next_partition)
            .entry(segment.meta.id.interval_start_ms)
            .or_insert(0);
        segment.meta.id.partition_num = *next;
        *next += 1;
        let meta = self.env.store.write_ahead(segment)?;
        self.written.push(meta);
        Ok(())
    }

    /// Publishes the segments written so far (the manifest naming them); returns the rows
    /// ingested.
    fn publish_segments(&mut self, ingest: &IngestSpec) -> Result<u64> {
        let segments = self.written.clone();
        let rows: u64 = segments.iter().map(|s| s.num_rows as u64).sum();
        let count = segments.len();
        let mut publisher = self.env.store.publisher();
        match &ingest.replace {
            None => {
                publisher.commit_insert(&ingest.data_source, segments)?;
            }
            Some(scope) => {
                let overwrite = match scope {
                    ReplaceScope::All => Overwrite::All,
                    ReplaceScope::Intervals(intervals) => Overwrite::Intervals(intervals.clone()),
                };
                publisher.commit_replace(&ingest.data_source, &overwrite, segments)?;
            }
        }
        let published = std::mem::take(&mut self.written);
        self.env.store.release_ahead(&published, true);
        // Best effort: a leftover file of an older version is only garbage.
        let _ = self.env.store.collect_garbage();
        self.progress.borrow_mut().segments = Some(count);
        Ok(rows)
    }

    /// Deletes the files of segments written but never published (a failed or canceled
    /// ingest).
    fn discard_unpublished(&mut self) {
        let unpublished = std::mem::take(&mut self.written);
        self.env.store.release_ahead(&unpublished, false);
    }

    /// Rewrites the live report payload.
    fn publish_report(&self) {
        let now = self.finished_ms.unwrap_or_else(|| self.now());
        let mut status = ReportStatus::new(self.state);
        status.start_time = Some(format_iso_millis(self.start_ms));
        status.duration_ms = now.saturating_sub(self.start_ms);
        status.error_report = self.error.clone();
        status.warnings = self.warnings.clone();
        let workers = self
            .query
            .stages
            .iter()
            .map(|s| s.max_worker_count)
            .max()
            .unwrap_or(1);
        status.pending_tasks = Some(0);
        status.running_tasks = Some(if self.state == TaskState::Running {
            i64::from(workers) + 1
        } else {
            0
        });
        let mut stages = Vec::with_capacity(self.query.stages.len());
        for definition in &self.query.stages {
            let mut stage = StageReport::new(
                definition.stage_number.0,
                definition.to_model(&self.query.query_id),
            );
            if let Some(fields) = self
                .kernel
                .as_ref()
                .and_then(|k| k.stage_report_fields(definition.stage_number, now))
            {
                stage.phase = fields.phase.map(|p| p.to_model());
                stage.worker_count = Some(fields.worker_count);
                stage.partition_count = Some(fields.partition_count);
                stage.start_time = fields.start_time_ms.map(format_iso_millis);
                stage.duration = Some(fields.duration_ms);
                stage.sort = fields.sort;
            }
            stages.push(stage);
        }
        let mut progress = self.progress.borrow_mut();
        let results = progress.payload.results.take();
        let mut payload = ReportPayload::new(status);
        payload.stages = stages;
        payload.counters = self.counters.clone();
        payload.results = results;
        progress.payload = payload;
    }
}

/// The catalog the planner binds datasource names against: manifests in the store.
#[derive(Debug, Clone)]
pub struct StoreCatalog(pub SharedStore);

impl msq_plan::querykit::Catalog for StoreCatalog {
    fn datasource(&self, name: &str) -> Option<Vec<(String, msq_plan::ColumnType)>> {
        let manifest = self.0.manifest(name).ok()??;
        if manifest.segments.is_empty() {
            return None;
        }
        Some(columns_of(&manifest.segments))
    }
}
