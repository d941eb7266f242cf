//! The console's progress math over a report's stages and counters
//! (`druid-console-query-view.md` §2.3 and §3): per-stage and overall progress, rows, files,
//! rates, per-worker and per-partition tables.
//!
//! These are the numbers the Query view shows; components only format them. The weights follow
//! the console: a stage that shuffles gives half its progress to reading input and half to
//! sorting; `limit` stages weigh a tenth; the query gets 5% for starting and keeps 5% until it
//! ends.

use crate::counters::{
    ChannelTotals, CounterSnapshotsTree, SegmentGenerationProgress, WorkerCounters,
};
use crate::definition::{InputSpec, ProcessorSpec};
use crate::report::{StagePhase, StageReport};
use std::collections::BTreeMap;

/// Share of a shuffling stage's progress that is the sort (`POST_READING`).
const SHUFFLE_WEIGHT: f64 = 0.5;
/// Share of overall progress for the query having started.
const QUERY_START_FACTOR: f64 = 0.05;
/// Share of overall progress held back until the query ends.
const QUERY_END_FACTOR: f64 = 0.05;

/// A view over a report's stages and counters that computes what the console shows.
#[derive(Debug, Clone, Copy)]
pub struct Stages<'a> {
    stages: &'a [StageReport],
    counters: &'a CounterSnapshotsTree,
}

/// One worker's row of a stage's per-worker table.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRow {
    /// Worker number (the task is `<controllerId>-worker<n>_0`).
    pub worker: u32,
    /// Totals of each input channel, one per entry of the stage's `input` (zeros when the
    /// worker has no counter for it).
    pub inputs: Vec<ChannelTotals>,
    /// Processor output totals; `None` for stages without output (`segmentGenerator`).
    pub output: Option<ChannelTotals>,
    /// Shuffle output totals; `None` for stages that do not shuffle.
    pub shuffle: Option<ChannelTotals>,
    /// Segment generation progress ("Merged"/"Pushed"), when the worker reports it.
    pub segment_generation: Option<SegmentGenerationProgress>,
}

/// One partition's row of a per-partition table: a channel summed over workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRow {
    /// Partition number.
    pub partition: u32,
    /// Rows.
    pub rows: i64,
    /// Bytes.
    pub bytes: i64,
    /// Frames.
    pub frames: i64,
}

fn is_segment_generator(stage: &StageReport) -> bool {
    matches!(
        stage.definition.processor,
        ProcessorSpec::SegmentGenerator(_)
    )
}

fn zero_divide(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// What an INSERT/REPLACE wrote ([`Stages::ingest_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSummary {
    /// The datasource written.
    pub data_source: String,
    /// Rows written.
    pub rows: i64,
}

impl<'a> Stages<'a> {
    /// A view over `stages` (in stage-number order, as reports list them) and `counters`.
    pub fn new(stages: &'a [StageReport], counters: &'a CounterSnapshotsTree) -> Self {
        Self { stages, counters }
    }

    /// The stages.
    pub fn stages(&self) -> &'a [StageReport] {
        self.stages
    }

    /// Number of stages.
    pub fn stage_count(&self) -> usize {
        self.stages.len()
    }

    /// A stage by its number.
    pub fn get_stage(&self, stage_number: u32) -> Option<&'a StageReport> {
        match self.stages.get(stage_number as usize) {
            Some(s) if s.stage_number == stage_number => Some(s),
            _ => self.stages.iter().find(|s| s.stage_number == stage_number),
        }
    }

    /// The last stage (the one producing the query's result).
    pub fn last_stage(&self) -> Option<&'a StageReport> {
        self.stages.last()
    }

    /// What an INSERT/REPLACE wrote, for the console's ingest-success pane (≙ Druid's
    /// `IngestSuccessPane`): the datasource of the final `segmentGenerator` stage and the rows
    /// its workers pushed. `None` when the query is not an ingest.
    pub fn ingest_summary(&self) -> Option<IngestSummary> {
        let stage = self.last_stage()?;
        let ProcessorSpec::SegmentGenerator(generator) = &stage.definition.processor else {
            return None;
        };
        let progress = self.segment_generation(stage);
        Some(IngestSummary {
            data_source: generator.data_source().unwrap_or_default().to_owned(),
            rows: progress
                .rows_pushed
                .or(progress.rows_processed)
                .unwrap_or_else(|| self.total_input_rows(stage)),
        })
    }

    fn workers(&self, stage: &StageReport) -> impl Iterator<Item = &'a WorkerCounters> {
        self.counters.workers(stage.stage_number).map(|(_, c)| c)
    }

    /// Whether any worker of `stage` has a counter called `name`.
    pub fn has_counter(&self, stage: &StageReport, name: &str) -> bool {
        self.workers(stage).any(|w| w.get(name).is_some())
    }

    /// Whether the stage produces output rows (every processor but `segmentGenerator`).
    pub fn has_output(&self, stage: &StageReport) -> bool {
        !is_segment_generator(stage)
    }

    /// Whether the stage shuffles: it has output and either sorts or has a `shuffle` counter.
    pub fn has_shuffle(&self, stage: &StageReport) -> bool {
        self.has_output(stage) && (stage.sort || self.has_counter(stage, "shuffle"))
    }

    /// The counter holding what the stage hands on: `shuffle` if it shuffles, else `output`.
    pub fn final_counter_name(&self, stage: &StageReport) -> &'static str {
        if self.has_shuffle(stage) {
            "shuffle"
        } else {
            "output"
        }
    }

    /// A channel counter summed over the stage's workers and partitions.
    pub fn channel_totals(&self, stage: &StageReport, counter_name: &str) -> ChannelTotals {
        let mut totals = ChannelTotals::default();
        for worker in self.workers(stage) {
            if let Some(channel) = worker.channel(counter_name) {
                totals += channel.totals();
            }
        }
        totals
    }

    /// Rows read through input `input_index` (all workers).
    pub fn input_rows(&self, stage: &StageReport, input_index: usize) -> i64 {
        self.channel_totals(stage, &format!("input{input_index}"))
            .rows
    }

    /// `(files read, total files)` of input `input_index`, when the input reports files.
    pub fn input_files(&self, stage: &StageReport, input_index: usize) -> Option<(i64, i64)> {
        let name = format!("input{input_index}");
        let reports_files = self
            .workers(stage)
            .any(|w| w.channel(&name).is_some_and(|c| !c.total_files.is_empty()));
        let totals = self.channel_totals(stage, &name);
        reports_files.then_some((totals.files, totals.total_files))
    }

    fn total_input(&self, stage: &StageReport) -> ChannelTotals {
        let mut totals = ChannelTotals::default();
        for i in 0..stage.definition.input.len() {
            totals += self.channel_totals(stage, &format!("input{i}"));
        }
        totals
    }

    /// Rows read over all inputs of the stage.
    pub fn total_input_rows(&self, stage: &StageReport) -> i64 {
        self.total_input(stage).rows
    }

    /// Rows the stage hands on: its final counter (`shuffle` or `output`).
    pub fn total_output_rows(&self, stage: &StageReport) -> i64 {
        self.channel_totals(stage, self.final_counter_name(stage))
            .rows
    }

    /// Rows read from outside the query (`table` and `external` inputs of every stage): the
    /// "rows processed" of a summary.
    pub fn total_rows_in(&self) -> i64 {
        self.stages
            .iter()
            .map(|stage| {
                (0..stage.definition.input.len())
                    .filter(|&i| !matches!(stage.definition.input[i], InputSpec::Stage(_)))
                    .map(|i| self.input_rows(stage, i))
                    .sum::<i64>()
            })
            .sum()
    }

    /// Segment generation progress summed over the stage's workers.
    pub fn segment_generation(&self, stage: &StageReport) -> SegmentGenerationProgress {
        let mut total = SegmentGenerationProgress::default();
        for worker in self.workers(stage) {
            if let Some(progress) = worker.segment_generation_progress() {
                total.add(progress);
            }
        }
        total
    }

    /// Overall progress, 0–1: `(0.05 + Σ progress·weight) / (0.05 + Σ weight + 0.05)` with
    /// weight 0.1 for `limit` stages and 1 otherwise; 0 without stages. Stays below 1 even when
    /// every stage is done (the last 5% is the query finishing), as in the console.
    pub fn overall_progress(&self) -> f64 {
        if self.stages.is_empty() {
            return 0.0;
        }
        let weight = |s: &StageReport| {
            if matches!(s.definition.processor, ProcessorSpec::Limit(_)) {
                0.1
            } else {
                1.0
            }
        };
        let done: f64 = self
            .stages
            .iter()
            .map(|s| self.stage_progress(s) * weight(s))
            .sum();
        let total: f64 = self.stages.iter().map(weight).sum();
        (QUERY_START_FACTOR + done) / (QUERY_START_FACTOR + total + QUERY_END_FACTOR)
    }

    /// Progress of one stage, 0–1: reading input counts fully (or half, if the stage
    /// shuffles), `POST_READING` is half plus half the sort, `RESULTS_READY`/`FINISHED` is 1,
    /// and a stage not started or failed is 0.
    pub fn stage_progress(&self, stage: &StageReport) -> f64 {
        match stage.phase {
            Some(StagePhase::ReadingInput) => {
                let share = if self.has_shuffle(stage) {
                    1.0 - SHUFFLE_WEIGHT
                } else {
                    1.0
                };
                share * self.reading_input_progress(stage)
            }
            Some(StagePhase::PostReading) => {
                (1.0 - SHUFFLE_WEIGHT) + SHUFFLE_WEIGHT * self.sort_fraction(stage)
            }
            Some(phase) if phase.is_done() => 1.0,
            _ => 0.0,
        }
    }

    /// Progress of reading input, 0–1: files read / total files when inputs count files;
    /// otherwise rows read from non-broadcast stage inputs (rows pushed, for a
    /// `segmentGenerator`) over the rows those upstream stages handed on.
    pub fn reading_input_progress(&self, stage: &StageReport) -> f64 {
        let input = self.total_input(stage);
        if input.total_files != 0 {
            return input.files as f64 / input.total_files as f64;
        }
        // Non-broadcast stage inputs and the stages they read.
        let sources: Vec<(usize, &StageReport)> = (stage.definition.input.iter().enumerate())
            .filter(|(i, _)| !stage.definition.is_broadcast(*i))
            .filter_map(|(i, spec)| Some((i, self.get_stage(spec.stage_number()?)?)))
            .collect();
        let read: i64 = if is_segment_generator(stage) {
            self.segment_generation(stage).rows_pushed.unwrap_or(0)
        } else {
            sources
                .iter()
                .map(|(i, _)| self.input_rows(stage, *i))
                .sum()
        };
        let expected: i64 = sources
            .iter()
            .map(|(_, source)| self.total_output_rows(source))
            .sum();
        zero_divide(read as f64, expected as f64)
    }

    /// Fraction sorted, 0–1: Σ over workers of ⌊output rows × `progressDigest`⌋ over all
    /// output rows.
    pub fn sort_fraction(&self, stage: &StageReport) -> f64 {
        let sorted: f64 = self
            .workers(stage)
            .map(|w| {
                let rows = w.output().map_or(0, |c| c.total_rows()) as f64;
                let digest = w.sort_progress().and_then(|s| s.digest()).unwrap_or(0.0);
                (rows * digest).floor()
            })
            .sum();
        zero_divide(sorted, self.channel_totals(stage, "output").rows as f64)
    }

    /// The "xx% sorted" the console shows next to shuffle rows:
    /// [`sort_fraction`](Self::sort_fraction), only when some worker reports a non-zero
    /// `progressDigest`, the sort is not trivially complete, and the stage is past reading
    /// input.
    pub fn sort_progress(&self, stage: &StageReport) -> Option<f64> {
        if stage.phase == Some(StagePhase::ReadingInput) {
            return None;
        }
        let shown = self.workers(stage).any(|w| {
            w.sort_progress()
                .is_some_and(|s| s.digest().is_some_and(|d| d != 0.0) && !s.is_trivially_complete())
        });
        shown.then(|| self.sort_fraction(stage))
    }

    /// Index of the first stage reading input or sorting.
    pub fn current_stage_index(&self) -> Option<usize> {
        self.stages
            .iter()
            .position(|s| s.phase.is_some_and(StagePhase::is_running))
    }

    /// Index of the first stage without a phase, unless the stage before it is still `NEW`
    /// or reading input (then it is just waiting). See
    /// [`ReportPayload::has_potentially_stuck_stage`](crate::ReportPayload::has_potentially_stuck_stage).
    pub fn potentially_stuck_stage_index(&self) -> Option<usize> {
        let index = self.stages.iter().position(|s| s.phase.is_none())?;
        let waiting = index > 0
            && matches!(
                self.stages[index - 1].phase,
                Some(StagePhase::New | StagePhase::ReadingInput)
            );
        (!waiting).then_some(index)
    }

    /// Rows per second: `round(max(input rows, output rows) / (duration / 1000))`, when the
    /// stage has a duration.
    pub fn processing_rate(&self, stage: &StageReport) -> Option<f64> {
        let rows = self
            .total_input(stage)
            .rows
            .max(self.channel_totals(stage, "output").rows);
        Self::rate(stage, rows)
    }

    /// Bytes per second, like [`processing_rate`](Self::processing_rate); `None` when an input
    /// is not a stage (external and table inputs may not count bytes).
    pub fn byte_rate(&self, stage: &StageReport) -> Option<f64> {
        if stage
            .definition
            .input
            .iter()
            .any(|i| !matches!(i, InputSpec::Stage(_)))
        {
            return None;
        }
        let bytes = self
            .total_input(stage)
            .bytes
            .max(self.channel_totals(stage, "output").bytes);
        Self::rate(stage, bytes)
    }

    fn rate(stage: &StageReport, amount: i64) -> Option<f64> {
        let duration = stage.duration.filter(|&d| d != 0)?;
        Some((amount as f64 / (duration as f64 / 1000.0)).round())
    }

    /// "Read N times" of a broadcast input: its rows over the rows its source stage handed on.
    pub fn broadcast_read_times(&self, stage: &StageReport, input_index: usize) -> Option<f64> {
        if !stage.definition.is_broadcast(input_index) {
            return None;
        }
        let source = self.get_stage(stage.definition.input.get(input_index)?.stage_number()?)?;
        let source_rows = self.total_output_rows(source);
        (source_rows != 0).then(|| self.input_rows(stage, input_index) as f64 / source_rows as f64)
    }

    /// The stage's per-worker table: inputs, output, shuffle and segment generation per worker.
    pub fn per_worker(&self, stage: &StageReport) -> Vec<WorkerRow> {
        let has_output = self.has_output(stage);
        let has_shuffle = self.has_shuffle(stage);
        let totals = |w: &WorkerCounters, name: &str| {
            w.channel(name).map(|c| c.totals()).unwrap_or_default()
        };
        self.counters
            .workers(stage.stage_number)
            .map(|(worker, counters)| WorkerRow {
                worker,
                inputs: (0..stage.definition.input.len())
                    .map(|i| totals(counters, &format!("input{i}")))
                    .collect(),
                output: has_output.then(|| totals(counters, "output")),
                shuffle: has_shuffle.then(|| totals(counters, "shuffle")),
                segment_generation: counters.segment_generation_progress().cloned(),
            })
            .collect()
    }

    /// Workers with nothing to show: no wall time and all channel rows, files, bytes and
    /// frames zero. `None` when the stage has no counters yet.
    pub fn inactive_worker_count(&self, stage: &StageReport) -> Option<usize> {
        self.counters.stage(stage.stage_number)?;
        let rows = self.per_worker(stage);
        let quiet =
            |t: &ChannelTotals| t.rows == 0 && t.files == 0 && t.bytes == 0 && t.frames == 0;
        let inactive = rows
            .iter()
            .filter(|row| {
                let wall = self
                    .counters
                    .worker(stage.stage_number, row.worker)
                    .and_then(|w| w.cpu())
                    .map_or(0, |c| c.total_wall());
                wall == 0
                    && row
                        .inputs
                        .iter()
                        .chain(row.output.iter())
                        .chain(row.shuffle.iter())
                        .all(quiet)
            })
            .count();
        Some(inactive)
    }

    /// The stage's output partitions: its final counter per partition summed over workers,
    /// padded with zero rows up to `partitionCount`. Empty when no worker reports the counter.
    pub fn per_partition(&self, stage: &StageReport) -> Vec<PartitionRow> {
        let name = self.final_counter_name(stage);
        if !self.has_counter(stage, name) {
            return Vec::new();
        }
        self.partitions(stage, name, stage.partition_count.unwrap_or(0) as usize)
    }

    /// Input `input_index` per partition it read, summed over workers (the "Input partitions"
    /// table; meaningful for `stage` inputs).
    pub fn input_partitions(&self, stage: &StageReport, input_index: usize) -> Vec<PartitionRow> {
        self.partitions(stage, &format!("input{input_index}"), 0)
    }

    fn partitions(&self, stage: &StageReport, name: &str, at_least: usize) -> Vec<PartitionRow> {
        let channels: Vec<_> = self
            .workers(stage)
            .filter_map(|w| w.channel(name))
            .collect();
        let count = channels
            .iter()
            .map(|c| c.rows.len())
            .max()
            .unwrap_or(0)
            .max(at_least);
        let at = |v: &[i64], p: usize| v.get(p).copied().unwrap_or(0);
        (0..count)
            .map(|p| PartitionRow {
                partition: p as u32,
                rows: channels.iter().map(|c| at(&c.rows, p)).sum(),
                bytes: channels.iter().map(|c| at(&c.bytes, p)).sum(),
                frames: channels.iter().map(|c| at(&c.frames, p)).sum(),
            })
            .collect()
    }

    /// Warnings reported by the stage's workers.
    pub fn warnings_count(&self, stage: &StageReport) -> i64 {
        self.workers(stage)
            .filter_map(WorkerCounters::warnings)
            .map(|w| w.total())
            .sum()
    }

    /// The stage's warnings by code (the tooltip breakdown).
    pub fn warnings_breakdown(&self, stage: &StageReport) -> BTreeMap<String, i64> {
        let mut breakdown = BTreeMap::new();
        for warnings in self.workers(stage).filter_map(WorkerCounters::warnings) {
            for (code, n) in &warnings.counts {
                *breakdown.entry(code.clone()).or_insert(0) += n;
            }
        }
        breakdown
    }

    /// Warnings over all counters of the query.
    pub fn total_warnings_count(&self) -> i64 {
        let workers = self.counters.0.values().flat_map(|w| w.values());
        workers
            .filter_map(WorkerCounters::warnings)
            .map(|w| w.total())
            .sum()
    }
}
