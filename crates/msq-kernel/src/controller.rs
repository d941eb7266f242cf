//! The controller's query kernel (Druid's `ControllerQueryKernel` + `ControllerStageTracker`).
//!
//! It holds every decision about running a [`QueryDefinition`] — which stages start, how their
//! input is sliced, when partition boundaries are chosen, when a stage is done, when the query
//! has succeeded or failed — and nothing else: no RPC, no data, no clock, no threads. A driver
//! feeds it events (with the time, `now_ms`) and carries out the [`KernelAction`]s it returns,
//! **in order**.
//!
//! Errors: an event that cannot happen in the current state (unknown stage or worker, a
//! duplicate, a phase skipped) is refused with an internal [`MsqError`] and changes nothing;
//! a user-facing fault (`TooManyInputFiles`, `TooManyPartitions`, a worker's own fault, ...)
//! is not an error but a [`KernelAction::QueryFailed`]. Events arriving after the query has
//! ended (a worker finishing while a cancel is in flight) are ignored: `Ok(vec![])`.

use crate::fault;
use crate::phase::ControllerStagePhase;
use crate::slice::{ReadablePartitions, WorkOrder};
use crate::slicer::{check_work_order, InputSlicers, WorkerAssignment};
use crate::statistics::{ClusterByPartitions, ClusterByStatistics, DEFAULT_MAX_RETAINED_KEYS};
use msq_common::{MsqError, StageNumber, WorkerNumber};
use msq_model::MsqFault;
use msq_plan::{QueryDefinition, ShuffleSpec, StageDefinition};
use std::collections::{BTreeMap, BTreeSet};

/// How the kernel slices inputs and samples keys.
#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    /// `taskAssignment`.
    pub assignment: WorkerAssignment,
    /// Known external file sizes and datasource segments (stage outputs are added by the
    /// kernel as stages finish).
    pub slicers: InputSlicers,
    /// Bound of the merged key statistics per stage; 0 means
    /// [`DEFAULT_MAX_RETAINED_KEYS`].
    pub max_retained_keys: usize,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelAction {
    /// Launch the stage: send each work order to its worker.
    StartStage {
        /// The stage.
        stage: StageNumber,
        /// One per worker, `work_orders[w].worker_number == w`.
        work_orders: Vec<WorkOrder>,
    },
    /// Send the stage's output partition boundaries to all its workers (globally sorted
    /// shuffles, after every worker's key statistics arrived).
    SendPartitionBoundaries {
        /// The stage.
        stage: StageNumber,
        /// The partitions, in key order.
        partitions: ClusterByPartitions,
    },
    /// Every consumer of the stage is done: workers may drop its output.
    CleanStage {
        /// The stage.
        stage: StageNumber,
    },
    /// The final stage's results are ready; the query succeeded. Read the final stage's
    /// output (see [`ControllerQueryKernel::output_partitions`]) before stopping workers.
    QueryComplete,
    /// The query failed or was canceled; stop all workers.
    QueryFailed {
        /// The stage that failed, when one did (the report's `errorReport.stageNumber`).
        stage: Option<StageNumber>,
        /// The worker that failed, when one did.
        worker: Option<WorkerNumber>,
        /// The fault for `errorReport.error`.
        fault: MsqFault,
    },
}

/// What the report shows of a stage (`stages[]` besides `definition`; spec `druid-msq.md` §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageReportFields {
    /// `None` until the stage starts (the report omits `phase`).
    pub phase: Option<ControllerStagePhase>,
    /// Workers running the stage; 0 before it starts.
    pub worker_count: u32,
    /// Output partitions, once known; 0 before.
    pub partition_count: u32,
    /// When the stage started (epoch ms).
    pub start_time_ms: Option<i64>,
    /// Milliseconds from start to results ready or failure, or to `now` while running; 0 if
    /// not started.
    pub duration_ms: i64,
    /// Whether the stage sorts its output.
    pub sort: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryState {
    NotStarted,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone)]
struct StageTracker {
    phase: ControllerStagePhase,
    start_time_ms: Option<i64>,
    end_time_ms: Option<i64>,
    worker_count: u32,
    accepted: BTreeSet<WorkerNumber>,
    statistics_from: BTreeSet<WorkerNumber>,
    statistics: ClusterByStatistics,
    results_from: BTreeMap<WorkerNumber, Vec<u64>>,
    partition_count: Option<u32>,
    boundaries: Option<ClusterByPartitions>,
}

/// The controller's state machine for one query.
#[derive(Debug, Clone)]
pub struct ControllerQueryKernel {
    query: QueryDefinition,
    assignment: WorkerAssignment,
    slicers: InputSlicers,
    stages: Vec<StageTracker>,
    state: QueryState,
}

fn internal(message: String) -> MsqError {
    MsqError::internal(message)
}

impl ControllerQueryKernel {
    /// A kernel for `query` (validated again here), nothing started.
    pub fn new(query: QueryDefinition, config: KernelConfig) -> Result<Self, MsqError> {
        query.validate()?;
        let max_keys = match config.max_retained_keys {
            0 => DEFAULT_MAX_RETAINED_KEYS,
            n => n,
        };
        let stages = query
            .stages
            .iter()
            .map(|_| StageTracker {
                phase: ControllerStagePhase::New,
                start_time_ms: None,
                end_time_ms: None,
                worker_count: 0,
                accepted: BTreeSet::new(),
                statistics_from: BTreeSet::new(),
                statistics: ClusterByStatistics::new(max_keys),
                results_from: BTreeMap::new(),
                partition_count: None,
                boundaries: None,
            })
            .collect();
        Ok(Self {
            query,
            assignment: config.assignment,
            slicers: config.slicers,
            stages,
            state: QueryState::NotStarted,
        })
    }

    // ---- events -------------------------------------------------------------------------

    /// Starts the query: checks Druid's plan limits (`TooManyColumns`, `TooManyWorkers`,
    /// `TooManyClusteredByColumns`) and starts every stage whose inputs are ready.
    pub fn start(&mut self, now_ms: i64) -> Result<Vec<KernelAction>, MsqError> {
        if self.state != QueryState::NotStarted {
            return Err(internal("query already started".to_owned()));
        }
        self.state = QueryState::Running;
        if let Some(fault) = self.limit_fault() {
            return Ok(self.fail(None, None, fault, now_ms));
        }
        Ok(self.start_ready_stages(now_ms))
    }

    /// A worker accepted its work order. Recorded; no action.
    pub fn on_work_order_accepted(
        &mut self,
        stage: StageNumber,
        worker: WorkerNumber,
    ) -> Result<Vec<KernelAction>, MsqError> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        let tracker = self.running_worker(stage, worker)?;
        tracker.accepted.insert(worker);
        Ok(Vec::new())
    }

    /// A worker of a globally sorting stage sent its key statistics. When all have, the
    /// kernel picks the partition boundaries, moves the stage to `POST_READING` and asks the
    /// driver to send them — or fails the query with `TooManyPartitions`/`TooManyBuckets`.
    pub fn on_worker_key_statistics(
        &mut self,
        stage: StageNumber,
        worker: WorkerNumber,
        statistics: &ClusterByStatistics,
        now_ms: i64,
    ) -> Result<Vec<KernelAction>, MsqError> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        let definition = self.definition(stage)?;
        if !definition.needs_statistics() {
            return Err(internal(format!(
                "stage {stage} does not gather key statistics, but worker {worker} sent some"
            )));
        }
        let shuffle = definition.shuffle_spec.clone();
        let tracker = self.running_worker(stage, worker)?;
        if tracker.phase != ControllerStagePhase::ReadingInput {
            return Err(internal(format!(
                "key statistics from worker {worker} of stage {stage} in phase {:?}",
                tracker.phase
            )));
        }
        if !tracker.statistics_from.insert(worker) {
            return Err(internal(format!(
                "worker {worker} of stage {stage} sent key statistics twice"
            )));
        }
        tracker.statistics.merge(statistics);
        if tracker.statistics_from.len() < tracker.worker_count as usize {
            return Ok(Vec::new());
        }
        let generated = match &shuffle {
            Some(ShuffleSpec::TargetSize { target_size, .. }) => tracker
                .statistics
                .generate_partitions_with_target_weight(*target_size),
            Some(ShuffleSpec::MaxCount { partitions, .. }) => tracker
                .statistics
                .generate_partitions_with_max_count(*partitions as usize),
            _ => Err(fault::too_many_partitions()),
        };
        let partitions = match generated {
            Ok(p) => p,
            Err(fault) => return Ok(self.fail(Some(stage), None, fault, now_ms)),
        };
        self.transition(stage, ControllerStagePhase::PostReading)?;
        let tracker = self.tracker_mut(stage)?;
        tracker.partition_count = u32::try_from(partitions.len()).ok();
        tracker.boundaries = Some(partitions.clone());
        Ok(vec![KernelAction::SendPartitionBoundaries {
            stage,
            partitions,
        }])
    }

    /// A worker finished writing the stage's output; `partition_sizes` are its rows per output
    /// partition. When all workers have, the stage's results are ready: its inputs' stages
    /// finish when all their consumers are done (`CleanStage`), newly runnable stages start,
    /// and when it is the final stage the query completes.
    pub fn on_worker_results_complete(
        &mut self,
        stage: StageNumber,
        worker: WorkerNumber,
        partition_sizes: Vec<u64>,
        now_ms: i64,
    ) -> Result<Vec<KernelAction>, MsqError> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        let needs_statistics = self.definition(stage)?.needs_statistics();
        let tracker = self.running_worker(stage, worker)?;
        let expected_phase = if needs_statistics {
            ControllerStagePhase::PostReading
        } else {
            ControllerStagePhase::ReadingInput
        };
        if tracker.phase != expected_phase {
            return Err(internal(format!(
                "results from worker {worker} of stage {stage} in phase {:?}",
                tracker.phase
            )));
        }
        if tracker.results_from.contains_key(&worker) {
            return Err(internal(format!(
                "worker {worker} of stage {stage} reported results twice"
            )));
        }
        tracker.results_from.insert(worker, partition_sizes);
        if tracker.results_from.len() < tracker.worker_count as usize {
            return Ok(Vec::new());
        }
        self.transition(stage, ControllerStagePhase::ResultsReady)?;
        let output = self.output_of(stage)?;
        let tracker = self.tracker_mut(stage)?;
        tracker.end_time_ms = Some(now_ms);
        tracker.partition_count = u32::try_from(output.partition_count()).ok();
        self.slicers.stage.stage_partitions.insert(stage, output);

        let mut actions = self.finish_consumed_stages()?;
        if stage == self.query.final_stage {
            self.transition(stage, ControllerStagePhase::Finished)?;
            self.state = QueryState::Succeeded;
            actions.push(KernelAction::QueryComplete);
        } else {
            actions.extend(self.start_ready_stages(now_ms));
        }
        Ok(actions)
    }

    /// A worker failed with `fault`: the stage fails, so do all other running stages, and the
    /// query fails with the worker's fault.
    pub fn on_worker_failed(
        &mut self,
        stage: StageNumber,
        worker: WorkerNumber,
        fault: MsqFault,
        now_ms: i64,
    ) -> Result<Vec<KernelAction>, MsqError> {
        if self.is_done() {
            return Ok(Vec::new());
        }
        self.running_worker(stage, worker)?;
        Ok(self.fail(Some(stage), Some(worker), fault, now_ms))
    }

    /// The task was shut down: running stages fail and the query fails with `Canceled`.
    pub fn on_cancel(&mut self, now_ms: i64) -> Vec<KernelAction> {
        if self.is_done() {
            return Vec::new();
        }
        self.state = QueryState::Running;
        self.fail(None, None, fault::canceled(), now_ms)
    }

    // ---- queries ------------------------------------------------------------------------

    /// The plan.
    pub fn query(&self) -> &QueryDefinition {
        &self.query
    }

    /// Whether the query has succeeded or failed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, QueryState::Succeeded | QueryState::Failed)
    }

    /// Whether the query succeeded.
    pub fn is_success(&self) -> bool {
        self.state == QueryState::Succeeded
    }

    /// The stage's phase.
    pub fn phase(&self, stage: StageNumber) -> Option<ControllerStagePhase> {
        self.stages.get(stage.index()).map(|t| t.phase)
    }

    /// The stage's output partitions and who holds them, once its results are ready.
    pub fn output_partitions(&self, stage: StageNumber) -> Option<&ReadablePartitions> {
        self.slicers.stage.stage_partitions.get(&stage)
    }

    /// The partition boundaries chosen for a globally sorting stage.
    pub fn partition_boundaries(&self, stage: StageNumber) -> Option<&ClusterByPartitions> {
        self.stages.get(stage.index())?.boundaries.as_ref()
    }

    /// Rows per output partition reported by each worker of the stage.
    pub fn partition_sizes(&self, stage: StageNumber) -> Option<&BTreeMap<WorkerNumber, Vec<u64>>> {
        self.stages.get(stage.index()).map(|t| &t.results_from)
    }

    /// Workers that accepted their work order for the stage.
    pub fn accepted_workers(&self, stage: StageNumber) -> Option<&BTreeSet<WorkerNumber>> {
        self.stages.get(stage.index()).map(|t| &t.accepted)
    }

    /// The stage's report fields at time `now_ms`; `None` for an unknown stage.
    pub fn stage_report_fields(
        &self,
        stage: StageNumber,
        now_ms: i64,
    ) -> Option<StageReportFields> {
        let tracker = self.stages.get(stage.index())?;
        let definition = self.query.stage(stage)?;
        let duration_ms = tracker.start_time_ms.map_or(0, |start| {
            tracker.end_time_ms.unwrap_or(now_ms).saturating_sub(start)
        });
        Some(StageReportFields {
            phase: tracker.start_time_ms.map(|_| tracker.phase),
            worker_count: tracker.worker_count,
            partition_count: tracker.partition_count.unwrap_or(0),
            start_time_ms: tracker.start_time_ms,
            duration_ms,
            sort: definition.does_sort(),
        })
    }

    // ---- internals ----------------------------------------------------------------------

    fn definition(&self, stage: StageNumber) -> Result<&StageDefinition, MsqError> {
        self.query
            .stage(stage)
            .ok_or_else(|| internal(format!("no stage {stage}")))
    }

    fn tracker_mut(&mut self, stage: StageNumber) -> Result<&mut StageTracker, MsqError> {
        self.stages
            .get_mut(stage.index())
            .ok_or_else(|| internal(format!("no stage {stage}")))
    }

    /// The tracker of a started, running stage, checking the worker number.
    fn running_worker(
        &mut self,
        stage: StageNumber,
        worker: WorkerNumber,
    ) -> Result<&mut StageTracker, MsqError> {
        if self.state != QueryState::Running {
            return Err(internal(format!(
                "event for stage {stage} before the query started"
            )));
        }
        let tracker = self.tracker_mut(stage)?;
        if !tracker.phase.is_running() {
            return Err(internal(format!(
                "event for stage {stage} in phase {:?}",
                tracker.phase
            )));
        }
        if worker.0 >= tracker.worker_count {
            return Err(internal(format!(
                "stage {stage} has {} workers, not worker {worker}",
                tracker.worker_count
            )));
        }
        Ok(tracker)
    }

    fn transition(
        &mut self,
        stage: StageNumber,
        next: ControllerStagePhase,
    ) -> Result<(), MsqError> {
        let gathers = self.definition(stage)?.needs_statistics();
        let tracker = self.tracker_mut(stage)?;
        if !next.can_transition_for_stage(tracker.phase, gathers) {
            return Err(internal(format!(
                "stage {stage} cannot go from {:?} to {next:?}",
                tracker.phase
            )));
        }
        tracker.phase = next;
        Ok(())
    }

    fn limit_fault(&self) -> Option<MsqFault> {
        self.query.stages.iter().find_map(|s| {
            if s.signature.len() > fault::MAX_FRAME_COLUMNS {
                return Some(fault::too_many_columns(s.signature.len()));
            }
            if s.max_worker_count as usize > fault::MAX_WORKERS {
                return Some(fault::too_many_workers(s.max_worker_count as usize));
            }
            let key_columns = s
                .shuffle_spec
                .as_ref()
                .and_then(ShuffleSpec::cluster_by)
                .map_or(0, |c| c.columns.len());
            (key_columns > fault::MAX_CLUSTERED_BY_COLUMNS)
                .then(|| fault::too_many_clustered_by_columns(key_columns, s.stage_number.0))
        })
    }

    /// The stage's output as readable partitions, once all its workers are done.
    fn output_of(&self, stage: StageNumber) -> Result<ReadablePartitions, MsqError> {
        let definition = self.definition(stage)?;
        let tracker = self
            .stages
            .get(stage.index())
            .ok_or_else(|| internal(format!("no stage {stage}")))?;
        let workers = tracker.worker_count;
        Ok(match &definition.shuffle_spec {
            None => ReadablePartitions::collected(workers),
            Some(shuffle) => {
                let count = match (shuffle.static_partition_count(), &tracker.boundaries) {
                    (Some(n), _) => n,
                    (None, Some(b)) => u32::try_from(b.len()).unwrap_or(u32::MAX),
                    (None, None) => {
                        return Err(internal(format!(
                            "stage {stage} has no partition boundaries"
                        )))
                    }
                };
                ReadablePartitions::striped(workers, count)
            }
        })
    }

    fn start_ready_stages(&mut self, now_ms: i64) -> Vec<KernelAction> {
        let mut actions = Vec::new();
        for i in 0..self.stages.len() {
            let Some(definition) = self.query.stages.get(i) else {
                continue;
            };
            let stage = definition.stage_number;
            let ready = self.phase(stage) == Some(ControllerStagePhase::New)
                && definition.input_stages().iter().all(|s| {
                    self.phase(*s)
                        .is_some_and(ControllerStagePhase::is_successful_terminal)
                });
            if !ready {
                continue;
            }
            match self.start_stage(stage, now_ms) {
                Ok(action) => actions.push(action),
                Err(fault) => {
                    actions.extend(self.fail(Some(stage), None, fault, now_ms));
                    return actions;
                }
            }
        }
        actions
    }

    fn start_stage(&mut self, stage: StageNumber, now_ms: i64) -> Result<KernelAction, MsqFault> {
        let definition = self.definition(stage).map_err(MsqFault::from)?.clone();
        let inputs = self
            .slicers
            .worker_inputs(&definition, self.assignment)
            .map_err(MsqFault::from)?;
        let work_orders: Vec<WorkOrder> = inputs
            .into_iter()
            .enumerate()
            .map(|(w, input_slices)| WorkOrder {
                query_id: self.query.query_id.clone(),
                stage_number: stage,
                worker_number: WorkerNumber(u32::try_from(w).unwrap_or(u32::MAX)),
                stage_definition: definition.clone(),
                input_slices,
                extra: None,
            })
            .collect();
        for order in &work_orders {
            check_work_order(order)?;
        }
        self.transition(stage, ControllerStagePhase::ReadingInput)
            .map_err(MsqFault::from)?;
        let worker_count = u32::try_from(work_orders.len()).unwrap_or(u32::MAX);
        let tracker = self.tracker_mut(stage).map_err(MsqFault::from)?;
        tracker.start_time_ms = Some(now_ms);
        tracker.worker_count = worker_count;
        tracker.partition_count = match &definition.shuffle_spec {
            None => Some(worker_count),
            Some(shuffle) => shuffle.static_partition_count(),
        };
        Ok(KernelAction::StartStage { stage, work_orders })
    }

    /// Stages whose results are ready and whose consumers are all done become `FINISHED`.
    fn finish_consumed_stages(&mut self) -> Result<Vec<KernelAction>, MsqError> {
        let mut actions = Vec::new();
        for i in 0..self.stages.len() {
            let stage = StageNumber(u32::try_from(i).unwrap_or(u32::MAX));
            if self.phase(stage) != Some(ControllerStagePhase::ResultsReady)
                || stage == self.query.final_stage
            {
                continue;
            }
            let consumers_done = self.query.consumers(stage).iter().all(|c| {
                self.phase(*c)
                    .is_some_and(ControllerStagePhase::is_successful_terminal)
            });
            if consumers_done {
                self.transition(stage, ControllerStagePhase::Finished)?;
                actions.push(KernelAction::CleanStage { stage });
            }
        }
        Ok(actions)
    }

    /// Fails the query: `stage` (if given and not done) and every running stage become
    /// `FAILED`.
    fn fail(
        &mut self,
        stage: Option<StageNumber>,
        worker: Option<WorkerNumber>,
        fault: MsqFault,
        now_ms: i64,
    ) -> Vec<KernelAction> {
        for (i, tracker) in self.stages.iter_mut().enumerate() {
            let is_culprit = stage.is_some_and(|s| s.index() == i);
            let fails = tracker.phase.is_running()
                || (is_culprit && ControllerStagePhase::Failed.can_transition_from(tracker.phase));
            if fails {
                tracker.phase = ControllerStagePhase::Failed;
                tracker.end_time_ms.get_or_insert(now_ms);
                if tracker.start_time_ms.is_none() {
                    // A stage failing as it starts shows in the report from now.
                    tracker.start_time_ms = Some(now_ms);
                }
            }
        }
        self.state = QueryState::Failed;
        vec![KernelAction::QueryFailed {
            stage,
            worker,
            fault,
        }]
    }
}
