//! The worker driver: runs one [`WorkOrder`] — read the stage's input slices, run the stage's
//! program, partition (and sort) its output into frames — and tells the controller what
//! happened through [`WorkerEvent`]s.
//!
//! ```text
//!  input slices ──▶ batches ──▶ ProgramExecutor ──▶ output batches
//!  (external: Fetcher → InputReader;                     │
//!   stage: ShuffleStore frames, merged in key order;     ├─ global sort: key statistics ──▶ controller
//!   table: segment files)                                │      ◀── partition boundaries ──┘
//!                                                        ▼
//!                               Partitioner → (sort) → FrameWriter → ShuffleStore
//!                               segmentGenerator: time chunks → SegmentWriter → controller
//! ```
//!
//! Counters follow Druid's names (spec `druid-msq.md` §5): `input<N>` per input, `output` and
//! `shuffle` per output partition, `sortProgress` for sorting stages,
//! `segmentGenerationProgress` for the segment generator, `warnings` per warning code. They are
//! sent to the controller as snapshots whenever something notable happened, so the live
//! report moves while a worker runs.

use crate::env::{Clock, Fetcher};
use crate::segment_cache::{read_through, SegmentCache};
use crate::shuffle::{arrow_error, KeyEncoder, Partitioner, ShuffleStore};
use crate::store::SharedStore;
use crate::transport::EventSink;
use arrow_array::{Array, ArrayRef, NullArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use msq_common::{ErrorCode, MsqError, PartitionNumber, Result, StageNumber, WorkerNumber};
use msq_exec::counters::CounterTracker;
use msq_exec::frame::{decode_owned_frame, FrameWriter};
use msq_exec::input::{InputFormat, InputReader, LineShare, ParseException, ReaderOptions};
use msq_exec::ops::{sort_batches, sort_positions, ProgramExecutor};
use msq_exec::segment::{Segment, SegmentId, SegmentMeta, SegmentWriter};
use msq_kernel::{ClusterByPartitions, ClusterByStatistics, InputSlice, WorkOrder};
use msq_plan::{
    AggregateMode, ColumnType, ProcessorSpec, Program, SegmentGeneratorProcessor, ShuffleSpec,
    SqlType, StageDefinition, Step,
};

/// How often a worker streaming a large external file sends its input counters, so the live
/// report (polled 4×/s in the browser) moves within the file.
const LIVE_COUNTERS_EVERY_MS: i64 = 100;
use msq_sql::{DruidType, Granularity};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;

/// What a worker tells the controller. Serialisable (a segment without its bytes, see
/// [`Segment`]) for workers on other threads ([`crate::remote`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum WorkerEvent {
    /// A fresh snapshot of the worker's counters for the stage.
    Counters {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// All its counters.
        counters: msq_model::WorkerCounters,
    },
    /// Rows that could not be parsed (the controller applies `maxParseExceptions`).
    ParseExceptions {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// The exceptions, in input order.
        exceptions: Vec<ParseException>,
    },
    /// Key statistics of the stage's output (globally sorted shuffles only).
    KeyStatistics {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// The sample.
        statistics: ClusterByStatistics,
    },
    /// Segments a segment generator worker generated, not yet published: one event per time
    /// chunk, sent as soon as the chunk is written (the controller stores them meanwhile).
    Segments {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// The segments.
        segments: Vec<Segment>,
    },
    /// The worker's output is complete; rows per output partition.
    ResultsComplete {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// Rows in each of its output partitions.
        partition_sizes: Vec<u64>,
    },
    /// The work order failed.
    Failed {
        /// The stage.
        stage: StageNumber,
        /// The worker.
        worker: WorkerNumber,
        /// Why.
        error: MsqError,
    },
}

/// Where a worker reads its inputs other than external files (upstream stages' frames and
/// datasources' segments) and hands over the segments it generates. In one thread ([`LocalInputs`]) both are at hand; a worker in another
/// Web Worker asks the worker that wrote the frames, and the controller that owns the segment
/// store ([`crate::remote`]).
pub trait WorkerInputs {
    /// The frames `worker` of `stage` wrote to `partition` (empty when it wrote none).
    fn stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>>;

    /// [`WorkerInputs::stage_frames`] for their only reader: whoever holds the frames hands
    /// them over and forgets them, so they are not kept (or copied) after the read. By
    /// default they are read as by `stage_frames`.
    fn take_stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        self.stage_frames(stage, partition, worker)
    }

    /// Makes room for this thread's reader of partition `partition` of `stage` whole (a
    /// segment generator): frames held in memory here for the stage's other partitions are
    /// spilled when there are many ([`ShuffleStore::spill_others`]). By default nothing.
    ///
    /// # Errors
    /// When a spill fails.
    fn make_room_for(&self, stage: StageNumber, partition: PartitionNumber) -> Result<()> {
        let _ = (stage, partition);
        Ok(())
    }

    /// The columns of `data_source` (`__time` first), empty when it has never been written.
    fn datasource_columns(
        &self,
        data_source: &str,
    ) -> LocalBoxFuture<'static, Result<Vec<(String, ColumnType)>>>;

    /// Columns `columns` of published segment `id` of `data_source`: its record batches, in
    /// the file's order, holding the named columns the segment has (a batch holding none of
    /// them still has its row count).
    fn segment_columns(
        &self,
        data_source: &str,
        id: &str,
        columns: &[String],
    ) -> LocalBoxFuture<'static, Result<Vec<RecordBatch>>>;

    /// Where `worker` writes the file of generated segment `id` as it encodes it. The default
    /// keeps it in memory, to travel with [`WorkerEvent::Segments`] to the controller, which
    /// writes the file; a worker that reaches the segment store itself writes the file there
    /// as it goes and announces the segment naming it
    /// ([`msq_exec::segment::Segment::file`]).
    fn segment_sink(
        &self,
        worker: WorkerNumber,
        id: &SegmentId,
    ) -> LocalBoxFuture<'static, Result<Box<dyn SegmentSink>>> {
        let _ = (worker, id);
        futures::future::ready(Ok(Box::new(Vec::new()) as Box<dyn SegmentSink>)).boxed_local()
    }
}

/// Where a generated segment's file goes as it is encoded
/// ([`msq_exec::segment::ChunkSegments::write_into`]; [`WorkerInputs::segment_sink`]).
pub trait SegmentSink: std::io::Write {
    /// Completes the file and gives the segment to announce: with its bytes in
    /// [`Segment::bytes`] when they travel to the controller, or naming where the file already
    /// is in [`Segment::file`].
    fn finish(self: Box<Self>, meta: SegmentMeta) -> LocalBoxFuture<'static, Result<Segment>>;
}

/// A file kept in memory: the controller receives the bytes and writes the file.
impl SegmentSink for Vec<u8> {
    fn finish(self: Box<Self>, meta: SegmentMeta) -> LocalBoxFuture<'static, Result<Segment>> {
        futures::future::ready(Ok(Segment {
            meta,
            bytes: *self,
            file: None,
        }))
        .boxed_local()
    }
}

/// [`WorkerInputs`] of workers sharing one thread with their query's shuffle store and the
/// segment store.
#[derive(Debug, Clone)]
pub struct LocalInputs {
    /// Every worker's output frames.
    pub shuffle: ShuffleStore,
    /// Segments.
    pub store: SharedStore,
    /// The columns of segments read so far, shared by the queries of one
    /// [`crate::transport::LocalTransports`]: a repeated query decodes nothing again.
    pub(crate) segments: Rc<std::cell::RefCell<SegmentCache>>,
}

impl WorkerInputs for LocalInputs {
    fn stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        futures::future::ready(self.shuffle.get(stage, partition, worker)).boxed_local()
    }

    fn take_stage_frames(
        &self,
        stage: StageNumber,
        partition: PartitionNumber,
        worker: WorkerNumber,
    ) -> LocalBoxFuture<'static, Result<Vec<Vec<u8>>>> {
        futures::future::ready(self.shuffle.take(stage, partition, worker)).boxed_local()
    }

    fn make_room_for(&self, stage: StageNumber, partition: PartitionNumber) -> Result<()> {
        self.shuffle.spill_others(stage, partition).map(drop)
    }

    fn datasource_columns(
        &self,
        data_source: &str,
    ) -> LocalBoxFuture<'static, Result<Vec<(String, ColumnType)>>> {
        futures::future::ready(self.store.datasource_columns(data_source)).boxed_local()
    }

    fn segment_columns(
        &self,
        data_source: &str,
        id: &str,
        columns: &[String],
    ) -> LocalBoxFuture<'static, Result<Vec<RecordBatch>>> {
        let store = self.store.clone();
        let (ds, segment) = (data_source.to_owned(), id.to_owned());
        read_through(
            &self.segments,
            data_source,
            id,
            columns,
            |asked| async move {
                let names = asked.iter().map(String::as_str).collect();
                let file = store.segment_bytes(&ds, &segment).await?;
                msq_exec::segment::decode_segment_columns(&file, Some(&names))
            },
        )
    }
}

/// One file an external input reads.
struct FileToRead {
    /// Its URI or path (`inline` for inline data).
    name: String,
    /// The data of an `inline` source.
    inline: Option<String>,
    /// `(start, end, size)`: only the lines starting in bytes `start..end` of a file of `size`
    /// bytes.
    range: Option<(u64, u64, u64)>,
    /// Only this share of the lines of a gzip file of `size` bytes
    /// (`msq_exec::input::share`).
    share: Option<(LineShare, u64)>,
}

impl FileToRead {
    fn whole(name: String) -> Self {
        Self {
            name,
            inline: None,
            range: None,
            share: None,
        }
    }

    /// Whether this is a whole file or the first part of one read in parts (byte ranges or
    /// line shares, possibly by several workers): the `files` and `totalFiles` counters count a
    /// file once, with its first part, so a file read in two parts shows as one file.
    fn counts_as_file(&self) -> bool {
        self.range.is_none_or(|(start, _, _)| start == 0)
            && self
                .share
                .as_ref()
                .is_none_or(|(share, _)| share.is_first())
    }
}

/// What every work order of one query shares.
#[derive(Clone)]
pub struct WorkerContext {
    /// Reads external input.
    pub fetcher: Rc<dyn Fetcher>,
    /// Upstream frames and segments (stage and table inputs).
    pub inputs: Rc<dyn WorkerInputs>,
    /// Where this worker's output frames go.
    pub shuffle: ShuffleStore,
    /// Where events go.
    pub events: EventSink,
    /// Set when the query is canceled or failed: work stops at the next chunk.
    pub canceled: Rc<Cell<bool>>,
    /// `maxFrameSize`.
    pub max_frame_size: usize,
    /// Segment version (the task's lock time, ISO).
    pub segment_version: String,
    /// Time, for nothing but progress stamps.
    pub clock: Rc<dyn Clock>,
    /// The whole plan: a worker reading a stage input looks up how that stage shuffled.
    pub query: Rc<msq_plan::QueryDefinition>,
}

impl std::fmt::Debug for WorkerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerContext")
            .field("max_frame_size", &self.max_frame_size)
            .finish_non_exhaustive()
    }
}

/// Runs one work order to completion, reporting through `context.events`. Every failure
/// becomes a [`WorkerEvent::Failed`]; so does a panic (an engine bug), as an internal error that
/// the report shows as `UnknownError` — where panics unwind (native builds; the browser build
/// aborts the Web Worker instead, which its pool reports).
pub async fn run_work_order(
    context: WorkerContext,
    order: WorkOrder,
    boundaries: Option<oneshot::Receiver<ClusterByPartitions>>,
) {
    let stage = order.stage_number;
    let worker = order.worker_number;
    let mut run = WorkRun::new(context.clone(), &order);
    let outcome = AssertUnwindSafe(run.run(&order, boundaries))
        .catch_unwind()
        .await;
    let error = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error)) => error,
        Err(panic) => MsqError::internal(format!(
            "worker {} of stage {} failed unexpectedly: {}",
            worker.0,
            stage.0,
            panic_message(panic.as_ref())
        )),
    };
    context.events.send(WorkerEvent::Failed {
        stage,
        worker,
        error,
    });
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

struct WorkRun {
    context: WorkerContext,
    stage: StageNumber,
    worker: WorkerNumber,
    counters: CounterTracker,
}

impl WorkRun {
    fn new(context: WorkerContext, order: &WorkOrder) -> Self {
        Self {
            context,
            stage: order.stage_number,
            worker: order.worker_number,
            counters: CounterTracker::new(),
        }
    }

    fn send(&self, event: WorkerEvent) {
        self.context.events.send(event);
    }

    fn send_counters(&self) {
        self.send(WorkerEvent::Counters {
            stage: self.stage,
            worker: self.worker,
            counters: self.counters.snapshot(),
        });
    }

    fn check_canceled(&self) -> Result<()> {
        if self.context.canceled.get() {
            return Err(MsqError::canceled("Query canceled"));
        }
        Ok(())
    }

    async fn run(
        &mut self,
        order: &WorkOrder,
        boundaries: Option<oneshot::Receiver<ClusterByPartitions>>,
    ) -> Result<()> {
        let definition = &order.stage_definition;
        if let ProcessorSpec::SegmentGenerator(generator) = &definition.processor {
            return self.generate_segments(order, generator).await;
        }
        let program = match &definition.processor {
            ProcessorSpec::Scan(p)
            | ProcessorSpec::GroupByPreShuffle(p)
            | ProcessorSpec::GroupByPostShuffle(p) => p.program.clone(),
            ProcessorSpec::Limit(limit) => Program::new(vec![Step::Limit {
                offset: limit.offset,
                limit: limit.limit,
            }]),
            ProcessorSpec::SelectResults | ProcessorSpec::SegmentGenerator(_) => Program::default(),
        };

        // Broadcast inputs first: the join build sides.
        let mut broadcast = Vec::new();
        for (number, slice) in order.input_slices.iter().enumerate() {
            if definition.is_broadcast(number) {
                let mut batches = (self.read_whole_input(number, slice, FrameRead::Shared)).await?;
                if batches.is_empty() {
                    // The join still needs the build side's columns.
                    let schema = self.input_schema(order, definition, number).await?;
                    batches.push(RecordBatch::new_empty(schema));
                }
                broadcast.push((number, batches));
            }
        }

        let observed = self.context.query.output_order_observed(self.stage);
        let staging = self.context.shuffle.spill_budget().map(|budget| Staging {
            shuffle: self.context.shuffle.clone(),
            stage: self.stage,
            worker: self.worker,
            budget,
        });
        let max_frame_size = self.context.max_frame_size;
        let mut output = OutputCollector::new(definition, observed, max_frame_size, staging)?;
        let mut executor: Option<ProgramExecutor> = None;
        let distinct_groups = self.reads_one_workers_groups(order, definition);
        let read = ColumnUse::of(&program);
        let mut broadcast = Some(broadcast);
        for (number, slice) in order.input_slices.iter().enumerate() {
            if definition.is_broadcast(number) {
                continue;
            }
            let mut feed = |batch: RecordBatch| {
                push_through(
                    &mut executor,
                    &program,
                    distinct_groups,
                    &mut broadcast,
                    &mut output,
                    batch,
                )
            };
            if let InputSlice::External {
                input_sources,
                input_format,
                signature,
            } = slice
            {
                // Batches go through the program as the files stream in, so its work fills
                // the gaps while the thread waits for the network.
                self.read_external(number, input_sources, input_format, signature, &mut feed)
                    .await?;
                continue;
            }
            for batch in (self.read_input(number, slice, &read, FrameRead::Shared)).await? {
                self.check_canceled()?;
                if feed(batch)? {
                    break;
                }
            }
        }
        let mut exec = match executor {
            Some(exec) => exec,
            None => ProgramExecutor::new(
                &program,
                self.empty_input_schema(order, definition).await?,
                broadcast.take().unwrap_or_default(),
            )?,
        };
        for out in exec.finish()? {
            output.push(out)?;
        }
        self.send_counters();

        let partitioner = match &definition.shuffle_spec {
            Some(shuffle) if definition.needs_statistics() => {
                let statistics = output.statistics()?;
                self.send(WorkerEvent::KeyStatistics {
                    stage: self.stage,
                    worker: self.worker,
                    statistics,
                });
                let receiver = boundaries.ok_or_else(|| {
                    MsqError::internal("a globally sorted stage started without a boundary channel")
                })?;
                let partitions = receiver
                    .await
                    .map_err(|_| MsqError::canceled("Query canceled"))?;
                let _ = shuffle;
                Partitioner::Range(partitions)
            }
            Some(ShuffleSpec::Hash { partitions, .. }) => Partitioner::Hash(*partitions),
            _ => Partitioner::Single,
        };
        self.check_canceled()?;
        let partition_offset = if definition.shuffle_spec.is_none() {
            // No shuffle: each worker's output is its own partition (kernel: "collected").
            self.worker.0
        } else {
            0
        };
        let written = output.write(
            &partitioner,
            &self.context.shuffle,
            self.stage,
            self.worker,
            partition_offset,
            &mut self.counters,
        )?;
        self.send_counters();
        self.send(WorkerEvent::ResultsComplete {
            stage: self.stage,
            worker: self.worker,
            partition_sizes: written,
        });
        Ok(())
    }

    /// Whether this stage's rows are the groups of one upstream worker's `Partial`
    /// aggregation: its one streaming input is a stage whose program ends with that
    /// aggregation, and every partition read was written by the same single worker. One
    /// worker's partial output has each key once, so the rows reaching this stage's `Final`
    /// aggregation are already distinct groups ([`ProgramExecutor::assume_distinct_groups`]).
    /// With Druid's default `maxNumTasks` of 2 every stage has one worker, so a GROUP BY's
    /// post-shuffle stage regrouped every group the pre-shuffle one had just made.
    fn reads_one_workers_groups(&self, order: &WorkOrder, definition: &StageDefinition) -> bool {
        let mut streaming = (order.input_slices.iter().enumerate())
            .filter(|(number, _)| !definition.is_broadcast(*number));
        let (Some((_, InputSlice::Stage { stage, partitions })), None) =
            (streaming.next(), streaming.next())
        else {
            return false;
        };
        let writers: BTreeSet<WorkerNumber> = (partitions.iter())
            .flat_map(|p| p.workers.iter().copied())
            .collect();
        let upstream_last = (self.context.query.stage(*stage))
            .and_then(|d| d.processor.program())
            .and_then(|p| p.steps.last());
        writers.len() <= 1
            && matches!(upstream_last, Some(Step::Aggregate(a)) if a.mode == AggregateMode::Partial)
    }

    /// Reads all of one input slice as batches (counted in `input<number>`).
    async fn read_whole_input(
        &mut self,
        number: usize,
        slice: &InputSlice,
        frames: FrameRead,
    ) -> Result<Vec<RecordBatch>> {
        self.read_input(number, slice, &ColumnUse::default(), frames)
            .await
    }

    /// Reads all of one input slice as batches (counted in `input<number>`), a datasource's
    /// segments as `read` allows (see [`ColumnUse`]); other inputs arrive whole.
    async fn read_input(
        &mut self,
        number: usize,
        slice: &InputSlice,
        read: &ColumnUse,
        frames: FrameRead,
    ) -> Result<Vec<RecordBatch>> {
        match slice {
            InputSlice::Nil => Ok(Vec::new()),
            InputSlice::External {
                input_sources,
                input_format,
                signature,
            } => {
                let mut batches = Vec::new();
                let mut keep = |batch| {
                    batches.push(batch);
                    Ok(false)
                };
                self.read_external(number, input_sources, input_format, signature, &mut keep)
                    .await?;
                Ok(batches)
            }
            InputSlice::Stage { stage, partitions } => {
                let mut batches = Vec::new();
                let mut sorted_by = None;
                for readable in partitions {
                    let mut partition_batches = Vec::new();
                    for w in &readable.workers {
                        let inputs = &self.context.inputs;
                        let read = match frames {
                            FrameRead::Shared => {
                                inputs.stage_frames(*stage, readable.partition, *w)
                            }
                            FrameRead::Taken => {
                                inputs.take_stage_frames(*stage, readable.partition, *w)
                            }
                        };
                        for frame in read.await? {
                            let len = frame.len() as u64;
                            let decoded = decode_owned_frame(frame)?;
                            let rows: usize = decoded.iter().map(RecordBatch::num_rows).sum();
                            self.counters.input(number as u32).add_frame(
                                readable.partition.0 as usize,
                                rows as u64,
                                len,
                            );
                            partition_batches.extend(decoded);
                        }
                    }
                    if sorted_by.is_none() {
                        sorted_by = Some(self.upstream_sort_keys(*stage, &partition_batches)?);
                    }
                    match (&sorted_by, partition_batches.first()) {
                        (Some(Some(keys)), Some(first)) if partition_batches.len() > 1 => {
                            // Workers sorted their parts; merge them into key order.
                            let schema = first.schema();
                            batches.extend(sort_batches(&schema, &partition_batches, keys)?);
                        }
                        _ => batches.extend(partition_batches),
                    }
                }
                self.send_counters();
                Ok(batches)
            }
            InputSlice::Segments {
                data_source,
                segments,
            } => {
                let columns = self.context.inputs.datasource_columns(data_source).await?;
                let names: Vec<String> = (columns.iter().enumerate())
                    .filter(|(i, _)| read.needed.as_ref().is_none_or(|n| n.contains(i)))
                    .map(|(_, (name, _))| name.clone())
                    .collect();
                let mut batches = Vec::new();
                for descriptor in segments {
                    self.check_canceled()?;
                    let decoded = (self.context.inputs)
                        .segment_columns(data_source, &descriptor.id, &names)
                        .await?;
                    let rows: usize = decoded.iter().map(RecordBatch::num_rows).sum();
                    // Druid counts the segment's bytes, however few of its columns are read.
                    self.counters
                        .input(number as u32)
                        .add_file(rows as u64, descriptor.size_bytes);
                    batches.extend(decoded);
                }
                let batches = align_to_columns(batches, &columns, read)?;
                self.send_counters();
                Ok(batches)
            }
        }
    }

    /// The schema a program starts from when a worker got no rows at all: that of its first
    /// streaming input.
    async fn empty_input_schema(
        &self,
        order: &WorkOrder,
        definition: &StageDefinition,
    ) -> Result<SchemaRef> {
        match (0..definition.inputs.len()).find(|n| !definition.is_broadcast(*n)) {
            Some(number) => self.input_schema(order, definition, number).await,
            None => Ok(schema_of_signature(&[])),
        }
    }

    /// The schema of input `number` as its signature declares it (an EXTERN signature, an
    /// upstream stage's signature or a datasource's columns).
    async fn input_schema(
        &self,
        order: &WorkOrder,
        definition: &StageDefinition,
        number: usize,
    ) -> Result<SchemaRef> {
        let signature = match (
            definition.inputs.get(number),
            order.input_slices.get(number),
        ) {
            (_, Some(InputSlice::External { signature, .. })) => signature.clone(),
            (Some(msq_plan::InputSpec::External { signature, .. }), _) => signature.clone(),
            (Some(msq_plan::InputSpec::Stage { stage }), _) => self
                .context
                .query
                .stage(*stage)
                .map(|d| d.signature.clone())
                .unwrap_or_default(),
            (Some(msq_plan::InputSpec::Table { data_source, .. }), _) => {
                self.context.inputs.datasource_columns(data_source).await?
            }
            (None, _) => Vec::new(),
        };
        Ok(schema_of_signature(&signature))
    }

    /// The sort keys a stage's output partitions are sorted by, when its shuffle sorts and
    /// this stage reads them in order (otherwise the upstream workers left their partitions
    /// unsorted, and the parts need no merge).
    fn upstream_sort_keys(
        &self,
        upstream: StageNumber,
        batches: &[RecordBatch],
    ) -> Result<Option<Vec<(usize, bool, bool)>>> {
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        if !self.context.query.reads_in_order(self.stage) {
            return Ok(None);
        }
        let shuffle = self
            .context
            .query
            .stage(upstream)
            .and_then(|d| d.shuffle_spec.as_ref());
        match shuffle {
            Some(spec) if spec.does_sort() => match spec.cluster_by() {
                Some(cluster_by) if !cluster_by.columns.is_empty() => Ok(Some(
                    KeyEncoder::new(&first.schema(), cluster_by)?
                        .sort_keys()
                        .to_vec(),
                )),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// CLUSTERED BY columns of an ingest: the upstream stage's cluster key after its time
    /// bucket columns, without `__boost`.
    fn clustered_by(&self, order: &WorkOrder) -> Vec<String> {
        order
            .input_slices
            .iter()
            .find_map(|slice| match slice {
                InputSlice::Stage { stage, .. } => self.context.query.stage(*stage),
                _ => None,
            })
            .and_then(|d| d.shuffle_spec.as_ref())
            .and_then(|s| s.cluster_by())
            .map(|c| {
                c.columns
                    .iter()
                    .skip(c.bucket_by_count)
                    .map(|k| k.name.clone())
                    .filter(|n| n != "__boost" && n != "__bucket")
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reads the files of an external input, handing each batch to `sink` as soon as it is
    /// decoded. Every file is read to its end even once `sink` wants no more (it returns
    /// `true`), so the input counters are the same whatever the query does with the rows.
    async fn read_external(
        &mut self,
        number: usize,
        input_sources: &[serde_json::Value],
        input_format: &serde_json::Value,
        signature: &[(String, ColumnType)],
        sink: &mut dyn FnMut(RecordBatch) -> Result<bool>,
    ) -> Result<()> {
        let format = InputFormat::from_json(input_format)?;
        let druid_signature: Vec<(String, DruidType)> = signature
            .iter()
            .map(|(n, t)| Ok((n.clone(), DruidType::from_signature_type(&t.to_string())?)))
            .collect::<Result<_>>()?;
        let mut files: Vec<FileToRead> = Vec::new();
        for source in input_sources {
            files.extend(self.files_of(source).await?);
        }
        let total_files = files.iter().filter(|f| f.counts_as_file()).count();
        self.counters
            .input(number as u32)
            .set_total_files(total_files as u64);
        for file in files {
            self.check_canceled()?;
            let counts_as_file = file.counts_as_file();
            let FileToRead {
                name,
                inline,
                range,
                share,
            } = file;
            // A share of a gzip file reads the lines of its share of the decompressed text,
            // cut by the size in the file's trailer. Shares read overlapping bytes, so each
            // counts its part of the file's bytes: the stage counts the file once.
            let line_range = match share {
                Some((share, size)) => {
                    let fetcher = self.context.fetcher.as_ref();
                    let trailer = crate::split::gzip_trailer(fetcher, &name, size).await?;
                    Some(share.range(LineShare::decompressed_size(trailer, size)))
                }
                None => None,
            };
            let bytes_read = |reader: &InputReader| match share {
                Some((share, size)) if reader.is_done() => share.part_of(size),
                Some((share, size)) => reader.bytes_read().min(share.part_of(size)),
                None => reader.bytes_read(),
            };
            let options = ReaderOptions {
                max_frame_size: self.context.max_frame_size,
                line_range,
                ..ReaderOptions::default()
            };
            let mut reader = InputReader::new(&format, &druid_signature, name.clone(), options)?;
            // Rows and bytes of this file already in the counters (sent as the file streams).
            let mut counted = (0, 0);
            // A part of a file after the first reads the file's header lines first; their
            // bytes are another part's, so they count as counted.
            if let Some((start, _, size)) = range.filter(|&(start, _, _)| start > 0) {
                let lines = format.header_lines();
                if lines > 0 {
                    let prelude = crate::split::first_lines(
                        self.context.fetcher.as_ref(),
                        &name,
                        size.min(start),
                        lines,
                    )
                    .await?;
                    reader.feed(&prelude)?;
                    counted.1 = prelude.len() as u64;
                }
            }
            match inline {
                Some(data) => reader.feed(data.as_bytes())?,
                None => {
                    let mut stream = match range {
                        Some((start, end, size)) => crate::split::line_range(
                            self.context.fetcher.clone(),
                            name.clone(),
                            start,
                            end,
                            size,
                        ),
                        None => self.context.fetcher.open(&name).await?,
                    };
                    let mut last_sent = self.context.clock.now_ms();
                    // Dropping the stream of a share that has read its lines cancels the rest.
                    while let Some(chunk) = stream.next().await {
                        self.check_canceled()?;
                        reader.feed(&chunk?)?;
                        if reader.is_done() {
                            break;
                        }
                        for batch in reader.drain_batches() {
                            sink(batch)?;
                        }
                        let now = self.context.clock.now_ms();
                        if now - last_sent >= LIVE_COUNTERS_EVERY_MS {
                            last_sent = now;
                            let (rows, bytes) = (reader.rows_read(), bytes_read(&reader));
                            self.counters
                                .input(number as u32)
                                .add_read(rows - counted.0, bytes - counted.1);
                            counted = (rows, bytes);
                            self.send_counters();
                        }
                    }
                }
            }
            reader.finish()?;
            for batch in reader.drain_batches() {
                sink(batch)?;
            }
            let exceptions = reader.take_parse_exceptions();
            if !exceptions.is_empty() {
                self.counters
                    .warnings()
                    .add(ErrorCode::CannotParseExternalData, exceptions.len() as u64);
                self.send(WorkerEvent::ParseExceptions {
                    stage: self.stage,
                    worker: self.worker,
                    exceptions,
                });
            }
            let input = self.counters.input(number as u32);
            input.add_read(
                reader.rows_read() - counted.0,
                bytes_read(&reader) - counted.1,
            );
            if counts_as_file {
                input.finish_file();
            }
            self.send_counters();
        }
        Ok(())
    }

    /// The files one input source names: `(uri or path, inline data)`.
    async fn files_of(&self, source: &serde_json::Value) -> Result<Vec<FileToRead>> {
        let kind = source.get("type").and_then(serde_json::Value::as_str);
        let strings = |field: &str| -> Vec<String> {
            source
                .get(field)
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        match kind {
            Some("inline") => {
                let data = source
                    .get("data")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                Ok(vec![FileToRead {
                    inline: Some(data.to_owned()),
                    ..FileToRead::whole("inline".to_owned())
                }])
            }
            Some("http") => {
                // A byte range of one large file (msq_kernel::slicer cut it; see crate::split).
                let range = source.get("acornByteRange").and_then(|r| {
                    let at = |k: &str| r.get(k).and_then(serde_json::Value::as_u64);
                    Some((at("start")?, at("end")?, at("size")?))
                });
                // A share of the lines of one large gzip file (cut by the slicer too).
                let share = source
                    .get("acornLineShare")
                    .map(|s| {
                        let at = |k: &str| s.get(k).and_then(serde_json::Value::as_u64);
                        match (at("index"), at("of"), at("size")) {
                            (Some(index), Some(of), Some(size)) => {
                                Ok((LineShare::new(index, of)?, size))
                            }
                            _ => Err(MsqError::internal(format!("bad acornLineShare {s}"))),
                        }
                    })
                    .transpose()?;
                Ok(strings("uris")
                    .into_iter()
                    .map(|u| FileToRead {
                        range,
                        share,
                        ..FileToRead::whole(u)
                    })
                    .collect())
            }
            Some("local") => {
                let base_dir = source.get("baseDir").and_then(serde_json::Value::as_str);
                match base_dir {
                    Some(dir) => {
                        let filter = source
                            .get("filter")
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or("*");
                        let names = self.context.fetcher.list(dir, filter).await?;
                        Ok(names.into_iter().map(FileToRead::whole).collect())
                    }
                    None => Ok(strings("files")
                        .into_iter()
                        .map(FileToRead::whole)
                        .collect()),
                }
            }
            other => Err(MsqError::plan(format!(
                "Unsupported input source type [{}]; Acorn reads http, inline and local",
                other.unwrap_or("(none)")
            ))),
        }
    }

    /// The segment generator (spec `druid-msq.md` §4.3): each input partition holds rows of
    /// one time chunk (the shuffle buckets by `__bucket`); rows are mapped to output columns,
    /// sorted by `__time` then CLUSTERED BY, and written into segments of at most
    /// `rowsPerSegment` rows.
    async fn generate_segments(
        &mut self,
        order: &WorkOrder,
        generator: &SegmentGeneratorProcessor,
    ) -> Result<()> {
        let data_source = generator.data_source().unwrap_or_default().to_owned();
        let granularity = generator
            .data_schema
            .pointer("/granularitySpec/segmentGranularity")
            .map(Granularity::from_druid_json)
            .transpose()?
            .unwrap_or(Granularity::All);
        let rows_per_segment = generator
            .tuning_config
            .get("rowsPerSegment")
            .and_then(serde_json::Value::as_u64)
            .map_or(msq_exec::segment::DEFAULT_ROWS_PER_SEGMENT, |n| n as usize)
            .max(1);
        let clustered_by = self.clustered_by(order);
        let bounds = replace_bounds(&generator.data_schema);

        let (mut rows_processed, mut rows_pushed) = (0u64, 0u64);
        for (number, slice) in order.input_slices.iter().enumerate() {
            let InputSlice::Stage { stage, partitions } = slice else {
                continue;
            };
            for readable in partitions {
                let one = InputSlice::Stage {
                    stage: *stage,
                    partitions: vec![readable.clone()],
                };
                // A generator is its partitions' only reader: their frames are let go as
                // they are read, so the shuffle shrinks while the segments are written.
                self.context
                    .inputs
                    .make_room_for(*stage, readable.partition)?;
                let batches = (self.read_whole_input(number, &one, FrameRead::Taken)).await?;
                // The rest is long and synchronous: answer waiting frame requests first.
                self.context.clock.next_turn().await;
                let mapped = batches
                    .iter()
                    .map(|b| map_columns(b, generator))
                    .collect::<Result<Vec<_>>>()?;
                let rows: u64 = mapped.iter().map(|b| b.num_rows() as u64).sum();
                rows_processed += rows;
                // Chunks share the partition's rows (a batch wholly in one chunk is not copied),
                // and each is let go once its segments are written: the worker holds the
                // partition's rows, their sort order and one record batch being written.
                let chunks = split_by_chunk(&mapped, granularity)?;
                drop((batches, mapped));
                for (chunk, chunk_batches) in chunks {
                    self.context.clock.next_turn().await;
                    self.check_canceled()?;
                    check_replace_bounds(chunk, &bounds)?;
                    let order = segment_order(&chunk_batches, &clustered_by)?;
                    let writer = SegmentWriter::new(
                        data_source.clone(),
                        chunk.0,
                        chunk.1,
                        self.context.segment_version.clone(),
                        rows_per_segment,
                    )?;
                    // Each segment is written a record batch at a time, gathered in sorted
                    // order from the chunk's rows, into its sink (the segment store itself
                    // where this worker reaches it). The chunk's segments go out at once: the
                    // controller stores or adopts them while this worker generates the next.
                    let chunk_segments = writer.segments(&chunk_batches, &order)?;
                    let mut segments = Vec::with_capacity(chunk_segments.len());
                    for index in 0..chunk_segments.len() {
                        let id = chunk_segments.id(index)?;
                        let sink = self.context.inputs.segment_sink(self.worker, &id).await?;
                        let (meta, sink) = chunk_segments.write_into(index, sink)?;
                        segments.push(sink.finish(meta).await?);
                    }
                    rows_pushed += segments.iter().map(|s| s.meta.num_rows as u64).sum::<u64>();
                    self.send(WorkerEvent::Segments {
                        stage: self.stage,
                        worker: self.worker,
                        segments,
                    });
                }
                let progress = self.counters.segment_generation_progress();
                progress.rows_processed = rows_processed;
                progress.rows_persisted = rows_processed;
                progress.rows_merged = rows_processed;
                self.send_counters();
            }
        }
        // Druid counts rows as pushed when the worker's segments are all handed off, at the
        // end (a worker that fails half-way has pushed none).
        self.counters.segment_generation_progress().rows_pushed = rows_pushed;
        self.send_counters();
        self.send(WorkerEvent::ResultsComplete {
            stage: self.stage,
            worker: self.worker,
            partition_sizes: Vec::new(),
        });
        Ok(())
    }
}

/// How a worker reads an upstream stage's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameRead {
    /// The frames stay where they are (others may read them too).
    Shared,
    /// This worker is the frames' only reader: they are handed over and forgotten
    /// ([`WorkerInputs::take_stage_frames`]).
    Taken,
}

/// Rows waiting to be partitioned, with the stage's key encoder when it has one.
///
/// Rows whose order nobody observes need no sort, so when the shuffle store has a spill
/// ([`ShuffleStore::spill_budget`]) the collector holds at most that budget of them: beyond
/// it, the rows held are framed into the store ([`ShuffleStore::stage_rows`], which spills
/// them) with only their key statistics kept, and [`OutputCollector::write`] partitions them
/// from there once the boundaries are known.
struct OutputCollector {
    batches: Vec<RecordBatch>,
    keys: Option<KeyEncoder>,
    cluster_by: Option<msq_plan::ClusterBy>,
    /// The shuffle sorts (Druid's stage `sort`; its sort counters are reported).
    sorts: bool,
    /// Rows are put in key order within partitions: the shuffle sorts and some consumer
    /// reads them in that order ([`msq_plan::QueryDefinition::output_order_observed`]).
    /// Otherwise only partitioning by the key is left to do (and the key statistics of a
    /// range shuffle, which sort the keys to build).
    orders: bool,
    /// `batches` are in key order (sorted for the key statistics).
    sorted: bool,
    frame_writer: FrameWriter,
    /// Where rows over the budget go, when they may.
    staging: Option<Staging>,
    /// Memory of `batches`.
    held_bytes: usize,
    /// Rows put in the staging area, and their key statistics.
    staged_rows: u64,
    staged_statistics: Option<ClusterByStatistics>,
}

/// The shuffle store a worker stages its rows in, and how many bytes of rows it may hold.
struct Staging {
    shuffle: ShuffleStore,
    stage: StageNumber,
    worker: WorkerNumber,
    budget: usize,
}

impl OutputCollector {
    fn new(
        definition: &StageDefinition,
        observed: bool,
        max_frame_size: usize,
        staging: Option<Staging>,
    ) -> Result<Self> {
        let cluster_by = definition
            .shuffle_spec
            .as_ref()
            .and_then(|s| s.cluster_by())
            .cloned();
        let orders = definition.does_sort() && observed;
        Ok(Self {
            batches: Vec::new(),
            keys: None,
            cluster_by,
            sorts: definition.does_sort(),
            orders,
            sorted: false,
            frame_writer: FrameWriter::new(max_frame_size),
            // Rows to be sorted are sorted in memory.
            staging: staging.filter(|_| !orders),
            held_bytes: 0,
            staged_rows: 0,
            staged_statistics: None,
        })
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if self.keys.is_none() {
            if let Some(cluster_by) = &self.cluster_by {
                if !cluster_by.columns.is_empty() {
                    self.keys = Some(KeyEncoder::new(&batch.schema(), cluster_by)?);
                }
            }
        }
        self.held_bytes += batch.get_array_memory_size();
        self.batches.push(batch);
        match &self.staging {
            Some(staging) if self.held_bytes > staging.budget => self.stage_held(),
            _ => Ok(()),
        }
    }

    /// Moves the rows held to the staging area, keeping their key statistics.
    fn stage_held(&mut self) -> Result<()> {
        let Some(staging) = &self.staging else {
            return Ok(());
        };
        let batches = std::mem::take(&mut self.batches);
        self.held_bytes = 0;
        if let Some(keys) = &self.keys {
            let statistics = key_statistics(keys, &batches, false)?;
            match &mut self.staged_statistics {
                Some(staged) => staged.merge(&statistics),
                None => self.staged_statistics = Some(statistics),
            }
        }
        for batch in batches {
            self.staged_rows += batch.num_rows() as u64;
            for frame in self.frame_writer.write(&batch)? {
                (staging.shuffle).stage_rows(staging.stage, staging.worker, frame.bytes)?;
            }
        }
        Ok(())
    }

    /// The key statistics of the output.
    ///
    /// When the output's order is observed, the rows are sorted here, once: the statistics
    /// are then built in one pass over ordered keys, and [`OutputCollector::write`] cuts the
    /// sorted rows without sorting again. Otherwise only the keys are sorted (a few bytes a
    /// row), and no sorted copy of the rows is ever made.
    fn statistics(&mut self) -> Result<ClusterByStatistics> {
        let max_keys = msq_kernel::statistics::DEFAULT_MAX_RETAINED_KEYS;
        let Some(keys) = &self.keys else {
            let mut statistics = ClusterByStatistics::new(max_keys);
            let held: u64 = self.batches.iter().map(|b| b.num_rows() as u64).sum();
            let rows = held + self.staged_rows;
            if rows > 0 {
                statistics.add(&[], 0, rows);
            }
            return Ok(statistics);
        };
        if let (true, false, Some(first)) = (self.orders, self.sorted, self.batches.first()) {
            self.batches = sort_batches(&first.schema(), &self.batches, keys.sort_keys())?;
            self.sorted = true;
        }
        let mut statistics = key_statistics(keys, &self.batches, self.sorted)?;
        if let Some(staged) = &self.staged_statistics {
            statistics.merge(staged);
        }
        Ok(statistics)
    }

    /// Partitions the output, sorts it when its order is observed, and stores it as frames;
    /// returns rows per partition (indexed by partition number, `offset` first).
    ///
    /// The collected rows are let go as they are written. Rows already in key order, or in
    /// an order nobody observes, are cut and framed batch by batch, so a batch's memory is
    /// free again before the next one is framed: the stage never holds its rows and all of
    /// their frames at once.
    fn write(
        &mut self,
        partitioner: &Partitioner,
        shuffle: &ShuffleStore,
        stage: StageNumber,
        worker: WorkerNumber,
        offset: u32,
        counters: &mut CounterTracker,
    ) -> Result<Vec<u64>> {
        let mut batches = std::mem::take(&mut self.batches);
        let sort_keys = match (&self.keys, self.orders && !self.sorted) {
            (Some(keys), true) => Some(keys.sort_keys()),
            _ => None,
        };
        let range = matches!(partitioner, Partitioner::Range(_));
        if let (Some(sort_keys), true, Some(first)) = (sort_keys, range, batches.first()) {
            // A range shuffle's partitions are ranges of the sort key: sorting everything
            // once and then cutting it leaves each partition a run of slices, already in
            // order, where cutting first would gather every row once for the cut and again
            // for each sort.
            batches = sort_batches(&first.schema(), &batches, sort_keys)?;
        }
        let partition_count = match partitioner {
            Partitioner::Single => offset + 1,
            Partitioner::Hash(n) => *n,
            Partitioner::Range(p) => p.len() as u32,
        };
        let mut sizes = vec![0u64; partition_count.max(offset + 1) as usize];
        let mut written = BTreeSet::new();
        let sorts = self.sorts;
        let mut emit = |partition: u32, batch: &RecordBatch| -> Result<()> {
            for frame in self.frame_writer.write(batch)? {
                // `output` is what the processor wrote (one channel before a sort, per
                // partition otherwise); `shuffle` is what went to each partition.
                counters.output().add_frame(
                    if sorts { 0 } else { partition as usize },
                    frame.rows as u64,
                    frame.len() as u64,
                );
                counters.shuffle().add_frame(
                    partition as usize,
                    frame.rows as u64,
                    frame.len() as u64,
                );
                shuffle.put(stage, PartitionNumber(partition), worker, frame.bytes)?;
            }
            if let Some(size) = sizes.get_mut(partition as usize) {
                *size += batch.num_rows() as u64;
            }
            written.insert(partition);
            Ok(())
        };
        match sort_keys {
            Some(sort_keys) if !range => {
                // Hash (or single) partitions are sorted one by one.
                let mut by_partition: BTreeMap<u32, Vec<RecordBatch>> = BTreeMap::new();
                for batch in batches {
                    for (partition, piece) in partitioner.split(&batch, self.keys.as_ref())? {
                        by_partition
                            .entry(partition.0 + offset)
                            .or_default()
                            .push(piece);
                    }
                }
                for (partition, pieces) in by_partition {
                    let schema = pieces[0].schema();
                    for batch in sort_batches(&schema, &pieces, sort_keys)? {
                        emit(partition, &batch)?;
                    }
                }
            }
            _ => {
                let keys = self.keys.as_ref();
                let mut cut = |batch: &RecordBatch| -> Result<()> {
                    for (partition, piece) in partitioner.split(batch, keys)? {
                        emit(partition.0 + offset, &piece)?;
                    }
                    Ok(())
                };
                // Staged rows first: they came first.
                let staged = (self.staging.as_ref())
                    .map(|s| s.shuffle.staged_rows(s.stage, s.worker))
                    .into_iter()
                    .flatten();
                for frame in staged {
                    for batch in decode_owned_frame(frame?)? {
                        cut(&batch)?;
                    }
                }
                // Each batch goes once framed.
                for batch in batches {
                    cut(&batch)?;
                }
            }
        }
        if self.sorts {
            let progress = counters.sort_progress();
            progress.set_total_merging_levels(1);
            progress.set_total_batches(0, written.len() as u64);
            progress.add_merged_batches(0, written.len() as u64);
            progress.set_total_mergers_for_ultimate_level(1);
        }
        Ok(sizes)
    }
}

/// The key statistics of `batches`, whose keys are in order when `sorted`
/// ([`ClusterByStatistics::from_rows`]: from a sample of the keys when there are many).
fn key_statistics(
    keys: &KeyEncoder,
    batches: &[RecordBatch],
    sorted: bool,
) -> Result<ClusterByStatistics> {
    let encoded = batches
        .iter()
        .map(|batch| Ok((keys.encode(batch)?, keys.bucket_lengths(batch)?)))
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<(&[u8], usize)> = encoded
        .iter()
        .flat_map(|(rows, buckets)| {
            rows.iter()
                .map(|row| row.data())
                .zip(buckets.iter().copied())
        })
        .collect();
    Ok(ClusterByStatistics::from_rows(
        msq_kernel::statistics::DEFAULT_MAX_RETAINED_KEYS,
        rows,
        sorted,
    ))
}

/// The Arrow schema of a Druid signature (all nullable).
pub fn schema_of_signature(signature: &[(String, ColumnType)]) -> SchemaRef {
    Arc::new(Schema::new(
        signature
            .iter()
            .map(|(name, ty)| {
                let data_type = match ty {
                    ColumnType::Long => DataType::Int64,
                    ColumnType::Double => DataType::Float64,
                    ColumnType::Float => DataType::Float32,
                    ColumnType::String | ColumnType::Array(_) => DataType::Utf8,
                    ColumnType::Complex(_) => DataType::Binary,
                };
                Field::new(name, data_type, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// How a stage's program uses the columns of a table input (positions in the datasource's
/// column list): the segments then decode only what is read and leave encoded what the
/// program reads through expressions or groups by.
#[derive(Debug, Default)]
struct ColumnUse {
    /// The columns the program reads ([`Program::input_columns`]); all when `None`. The
    /// others hold [`NullArray`]s, which cost nothing and which the program never reads.
    needed: Option<BTreeSet<usize>>,
    /// Columns kept as the segments' string dictionaries ([`Program::encodable_columns`]):
    /// the aggregation groups by them directly, filters compare and move their keys.
    encoded: BTreeSet<usize>,
}

impl ColumnUse {
    /// How `program` uses its streaming input's columns.
    fn of(program: &Program) -> Self {
        Self {
            needed: program.input_columns(),
            encoded: program.encodable_columns(),
        }
    }
}

/// Batches of segments with different column sets (appends with new columns) projected onto
/// the datasource's column list, each column in the datasource's Arrow type: missing columns
/// are null, dictionary-encoded strings (as segments store them) become plain `Utf8`. Positions
/// `read` leaves out are [`NullArray`]s of type `Null`; columns it keeps encoded stay
/// `Dictionary<Int32, Utf8>` where a segment has them so (their type then differs between
/// batches, which the program accepts: it reads them only through expressions, which make
/// them plain where needed, and as group keys; see [`Program::encodable_columns`]).
fn align_to_columns(
    batches: Vec<RecordBatch>,
    columns: &[(String, ColumnType)],
    read: &ColumnUse,
) -> Result<Vec<RecordBatch>> {
    let full = schema_of_signature(columns);
    let is_needed = |i: usize| read.needed.as_ref().is_none_or(|n| n.contains(&i));
    batches
        .into_iter()
        .map(|batch| {
            let rows = batch.num_rows();
            let arrays = full
                .fields()
                .iter()
                .zip(columns)
                .enumerate()
                .map(|(i, (field, (_, ty)))| {
                    let column = batch.column_by_name(field.name());
                    match column {
                        _ if !is_needed(i) => Ok(Arc::new(NullArray::new(rows)) as ArrayRef),
                        Some(c)
                            if read.encoded.contains(&i)
                                && matches!(c.data_type(), DataType::Dictionary(..)) =>
                        {
                            Ok(c.clone())
                        }
                        // A dictionary, or segments written at different times that disagree
                        // on a column's type (e.g. FLOAT, then DOUBLE after a REPLACE): read
                        // as the datasource's type.
                        Some(c) if c.data_type() != field.data_type() => {
                            msq_exec::expr::cast_array(c, &SqlType::from_column_type(ty))
                        }
                        Some(c) => Ok(c.clone()),
                        None => Ok(arrow_array::new_null_array(field.data_type(), rows)),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let fields: Vec<Field> = full
                .fields()
                .iter()
                .zip(&arrays)
                .map(|(field, array)| Field::new(field.name(), array.data_type().clone(), true))
                .collect();
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(arrow_error)
        })
        .collect()
}

/// Applies the generator's `columnMappings` (query column → output column); `__time` is kept.
fn map_columns(batch: &RecordBatch, generator: &SegmentGeneratorProcessor) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for mapping in &generator.column_mappings {
        let index = schema.index_of(&mapping.query_column).map_err(|_| {
            MsqError::internal(format!(
                "column mapping names [{}], which the input lacks",
                mapping.query_column
            ))
        })?;
        let column = batch.column(index).clone();
        let column = match column.data_type() {
            // Booleans are stored as LONG 1/0 (Druid has no boolean column type).
            DataType::Boolean => msq_exec::expr::cast_array(&column, &msq_plan::SqlType::Bigint)?,
            _ => column,
        };
        fields.push(Field::new(
            &mapping.output_column,
            column.data_type().clone(),
            true,
        ));
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow_error)
}

/// Runs one input batch through a stage's program, creating the executor on the first batch
/// (with the broadcast inputs, and told when its input rows are one worker's groups, see
/// [`WorkRun::reads_one_workers_groups`]); `true` once the program wants no more rows (later batches are
/// then ignored).
fn push_through(
    executor: &mut Option<ProgramExecutor>,
    program: &Program,
    distinct_groups: bool,
    broadcast: &mut Option<Vec<(usize, Vec<RecordBatch>)>>,
    output: &mut OutputCollector,
    batch: RecordBatch,
) -> Result<bool> {
    if executor.is_none() {
        let mut exec = ProgramExecutor::new(
            program,
            batch.schema(),
            broadcast.take().unwrap_or_default(),
        )?;
        if distinct_groups {
            exec.assume_distinct_groups();
        }
        *executor = Some(exec);
    }
    let Some(exec) = executor.as_mut() else {
        return Ok(true);
    };
    if exec.is_done() {
        return Ok(true);
    }
    for out in exec.push(batch)? {
        output.push(out)?;
    }
    Ok(exec.is_done())
}

/// A `[start, end)` time chunk in UTC milliseconds.
type TimeChunk = (i64, i64);

/// Splits rows by the time chunk of `__time`; `InsertTimeNull` for a null time.
///
/// Rows usually arrive sorted by time (the shuffle sorts by the time chunk first), so each
/// chunk is one run of rows per batch and becomes a zero-copy slice; rows of a chunk that are
/// not adjacent are gathered with `take`.
fn split_by_chunk(
    batches: &[RecordBatch],
    granularity: Granularity,
) -> Result<Vec<(TimeChunk, Vec<RecordBatch>)>> {
    let mut chunks: BTreeMap<TimeChunk, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        let times = msq_exec::segment::time_values(batch)?;
        let chunk_of_row: Vec<TimeChunk> = times.iter().map(|&t| granularity.bucket(t)).collect();
        for (chunk, piece) in crate::shuffle::split_rows(batch, &chunk_of_row)? {
            chunks.entry(chunk).or_default().push(piece);
        }
    }
    Ok(chunks.into_iter().collect())
}

/// The order of one chunk's rows in its segments: by `__time`, then the CLUSTERED BY columns
/// ([`sort_positions`]).
fn segment_order(batches: &[RecordBatch], clustered_by: &[String]) -> Result<Vec<(usize, usize)>> {
    let Some(first) = batches.first() else {
        return Err(MsqError::internal("no rows to sort for a segment"));
    };
    let schema = first.schema();
    let mut keys = Vec::new();
    for name in std::iter::once(msq_exec::segment::TIME_COLUMN)
        .chain(clustered_by.iter().map(String::as_str))
    {
        if let Ok(i) = schema.index_of(name) {
            if !keys.iter().any(|(k, _, _)| *k == i) {
                keys.push((i, false, true));
            }
        }
    }
    sort_positions(&schema, batches, &keys)
}

/// The time chunks a REPLACE may write: `granularitySpec.intervals` of the data schema (the
/// OVERWRITE WHERE intervals; eternity for OVERWRITE ALL and INSERT). `None` when unbounded.
fn replace_bounds(data_schema: &serde_json::Value) -> Option<Vec<(i64, i64)>> {
    let intervals = data_schema
        .pointer("/granularitySpec/intervals")?
        .as_array()?;
    let mut bounds = Vec::with_capacity(intervals.len());
    for interval in intervals {
        let (start, end) = interval.as_str()?.split_once('/')?;
        // Eternity (and anything unparseable as a bound) means no limit.
        let (Ok(start), Ok(end)) = (
            msq_sql::time::parse_timestamp_millis(start),
            msq_sql::time::parse_timestamp_millis(end),
        ) else {
            return None;
        };
        bounds.push((start, end));
    }
    Some(bounds)
}

/// `InsertTimeOutOfBounds` when a generated time chunk is not inside the REPLACE's intervals
/// (spec `druid-msq.md` §1.5: rows outside OVERWRITE WHERE).
fn check_replace_bounds(chunk: (i64, i64), bounds: &Option<Vec<(i64, i64)>>) -> Result<()> {
    let Some(bounds) = bounds else {
        return Ok(());
    };
    if bounds.iter().any(|&(s, e)| s <= chunk.0 && chunk.1 <= e) {
        return Ok(());
    }
    let describe = |(s, e): (i64, i64)| {
        format!(
            "{}/{}",
            msq_exec::segment::format_iso_millis(s),
            msq_exec::segment::format_iso_millis(e)
        )
    };
    Err(MsqError::execution(
        ErrorCode::InsertTimeOutOfBounds,
        format!(
            "Query generated time chunk [{}] out of bounds specified by replaceExistingTimeChunks [{}]",
            describe(chunk),
            bounds.iter().map(|b| describe(*b)).collect::<Vec<_>>().join(", ")
        ),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use msq_plan::{ClusterBy, KeyColumn, QueryProcessor};

    /// Rows `(k, v)` in two batches, keys out of order.
    fn unsorted() -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
        ]));
        [[5, 1, 3], [4, 2, 0]]
            .into_iter()
            .map(|keys| {
                let values = keys.map(|k| k * 10);
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(keys.to_vec())),
                        Arc::new(Int64Array::from(values.to_vec())),
                    ],
                )
                .unwrap()
            })
            .collect()
    }

    /// A stage sorting by `k` into at most two ranges, collecting [`unsorted`] (staging every
    /// batch in `shuffle` when it spills).
    fn collector(observed: bool, shuffle: &ShuffleStore) -> OutputCollector {
        let mut definition = StageDefinition::new(
            0,
            Vec::new(),
            ProcessorSpec::Scan(QueryProcessor::new(serde_json::json!({}))),
        );
        definition.shuffle_spec = Some(ShuffleSpec::MaxCount {
            cluster_by: ClusterBy::new(vec![KeyColumn::ascending("k")]),
            partitions: 2,
            aggregate: false,
        });
        let staging = shuffle.spill_budget().map(|budget| Staging {
            shuffle: shuffle.clone(),
            stage: StageNumber(0),
            worker: WorkerNumber(0),
            budget,
        });
        let mut output = OutputCollector::new(&definition, observed, 1 << 20, staging).unwrap();
        for batch in unsorted() {
            output.push(batch).unwrap();
        }
        output
    }

    /// The `(k, v)` rows each partition of stage 0 got, in frame order.
    fn partitions(shuffle: &ShuffleStore, count: u32) -> Vec<Vec<(i64, i64)>> {
        (0..count)
            .map(|p| {
                let frames = shuffle
                    .get(StageNumber(0), PartitionNumber(p), WorkerNumber(0))
                    .unwrap();
                let mut rows = Vec::new();
                for batch in frames
                    .into_iter()
                    .flat_map(|f| decode_owned_frame(f).unwrap())
                {
                    let column = |i: usize| {
                        let array = batch.column(i).as_any().downcast_ref::<Int64Array>();
                        array.unwrap().values().to_vec()
                    };
                    rows.extend(column(0).into_iter().zip(column(1)));
                }
                rows
            })
            .collect()
    }

    #[test]
    fn an_unobserved_order_gives_the_same_statistics_and_partitions_without_sorting_rows() {
        let spill = Rc::new(crate::spill::MemoryFrameSpill::new());
        let mut answers = Vec::new();
        for (observed, spills) in [(true, false), (false, false), (false, true)] {
            let shuffle = match spills {
                true => ShuffleStore::with_spill(spill.clone(), 0),
                false => ShuffleStore::new(),
            };
            let mut output = collector(observed, &shuffle);
            // Over a budget of 0 bytes every batch is staged (and spilled) as it comes.
            let held = if spills { (0, 2) } else { (2, 0) };
            assert_eq!((output.batches.len(), spill.live()), held);
            let statistics = output.statistics().unwrap();
            // Only an observed order sorts the rows themselves.
            assert_eq!(output.sorted, observed);
            let boundaries = statistics.generate_partitions_with_max_count(2).unwrap();
            let mut counters = CounterTracker::default();
            let sizes = output
                .write(
                    &Partitioner::Range(boundaries.clone()),
                    &shuffle,
                    StageNumber(0),
                    WorkerNumber(0),
                    0,
                    &mut counters,
                )
                .unwrap();
            assert!(output.batches.is_empty(), "written rows are let go");
            assert_eq!(sizes.iter().sum::<u64>(), 6);
            answers.push((statistics, boundaries, partitions(&shuffle, 2)));
        }
        let (sorted, unsorted, staged) = (&answers[0], &answers[1], &answers[2]);
        assert_eq!((&sorted.0, &sorted.1), (&unsorted.0, &unsorted.1));
        assert_eq!(unsorted, staged);
        assert_eq!(spill.live(), 0, "staged rows are released once written");
        assert_eq!(
            sorted.2,
            vec![
                vec![(0, 0), (1, 10), (2, 20)],
                vec![(3, 30), (4, 40), (5, 50)]
            ]
        );
        // The same rows in each partition, in the order they came.
        assert_eq!(
            unsorted.2,
            vec![
                vec![(1, 10), (2, 20), (0, 0)],
                vec![(5, 50), (3, 30), (4, 40)]
            ]
        );
    }
}
