//! Live counters of one worker in one stage, and their JSON snapshots (spec `druid-msq.md`
//! §4.2 counter names, §5 report `counters`).
//!
//! Druid keeps mutable counters while a stage runs and sends immutable snapshots to the
//! controller; the snapshot types are `msq_model::counters` (the report's JSON). The live types
//! here mirror Druid's (`ChannelCounters`, `WarningCounters`,
//! `SegmentGenerationProgressCounter`, `SuperSorterProgressTracker`) and apply the omission
//! rules when snapshotting: a channel's arrays are per partition and dropped when all zero, and
//! a counter with nothing to say is dropped entirely.
//!
//! The counters are plain `&mut self` values: a worker runs its stage on one thread (one Web
//! Worker), and the driver snapshots between steps.

use msq_common::ErrorCode;
use msq_model::counters as model;
use serde_json::Number;
use std::collections::BTreeMap;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Adds `amount` at `partition`, growing the array with zeros.
fn add_at(array: &mut Vec<u64>, partition: usize, amount: u64) {
    if array.len() <= partition {
        array.resize(partition + 1, 0);
    }
    array[partition] = array[partition].saturating_add(amount);
}

/// Druid's omission rule for a channel array: all zeros (or empty) → omitted.
fn snapshot_array(array: &[u64]) -> Vec<i64> {
    if array.iter().all(|v| *v == 0) {
        Vec::new()
    } else {
        array.iter().map(|v| to_i64(*v)).collect()
    }
}

/// Rows, bytes, frames and files moving through one channel (`input<N>`, `output`,
/// `shuffle`), per partition: index = output partition number; input channels use index 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelCounters {
    rows: Vec<u64>,
    bytes: Vec<u64>,
    frames: Vec<u64>,
    files: Vec<u64>,
    total_files: Vec<u64>,
}

impl ChannelCounters {
    /// A channel with nothing counted.
    pub fn new() -> Self {
        Self::default()
    }

    /// One frame of `rows` rows and `bytes` encoded bytes went to (or came from) `partition`.
    pub fn add_frame(&mut self, partition: usize, rows: u64, bytes: u64) {
        add_at(&mut self.rows, partition, rows);
        add_at(&mut self.bytes, partition, bytes);
        add_at(&mut self.frames, partition, 1);
    }

    /// Rows read without a frame (external input counts rows as it parses them).
    pub fn add_rows(&mut self, partition: usize, rows: u64) {
        add_at(&mut self.rows, partition, rows);
    }

    /// Part of an input file was read: `rows` more rows, `bytes` more raw bytes (partition 0).
    /// Druid counts external rows as it reads them, so a live report moves within a large
    /// file; [`ChannelCounters::finish_file`] then counts the file.
    pub fn add_read(&mut self, rows: u64, bytes: u64) {
        add_at(&mut self.rows, 0, rows);
        add_at(&mut self.bytes, 0, bytes);
    }

    /// One input file was read to its end (its rows and bytes came through
    /// [`ChannelCounters::add_read`]).
    pub fn finish_file(&mut self) {
        add_at(&mut self.files, 0, 1);
    }

    /// One input file finished: `rows` rows, `bytes` raw bytes (Druid's `addFile`; partition 0).
    pub fn add_file(&mut self, rows: u64, bytes: u64) {
        add_at(&mut self.rows, 0, rows);
        add_at(&mut self.bytes, 0, bytes);
        add_at(&mut self.files, 0, 1);
    }

    /// The number of files this worker will read for the channel (Druid's `setTotalFiles`).
    pub fn set_total_files(&mut self, total: u64) {
        if self.total_files.is_empty() {
            self.total_files.push(0);
        }
        self.total_files[0] = total;
    }

    /// Rows over all partitions.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().sum()
    }

    /// Bytes over all partitions.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }

    /// The report JSON, `None` when every array is all zeros.
    pub fn snapshot(&self) -> Option<model::ChannelCounters> {
        let snapshot = model::ChannelCounters {
            rows: snapshot_array(&self.rows),
            bytes: snapshot_array(&self.bytes),
            frames: snapshot_array(&self.frames),
            files: snapshot_array(&self.files),
            total_files: snapshot_array(&self.total_files),
            ..Default::default()
        };
        let empty = snapshot.rows.is_empty()
            && snapshot.bytes.is_empty()
            && snapshot.frames.is_empty()
            && snapshot.files.is_empty()
            && snapshot.total_files.is_empty();
        (!empty).then_some(snapshot)
    }
}

/// Warnings by fault code (`{"type":"warnings","CannotParseExternalData":3}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarningCounters {
    counts: BTreeMap<&'static str, u64>,
}

impl WarningCounters {
    /// No warnings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One more warning of `code`.
    pub fn increment(&mut self, code: ErrorCode) {
        self.add(code, 1);
    }

    /// `n` more warnings of `code`.
    pub fn add(&mut self, code: ErrorCode, n: u64) {
        if n > 0 {
            let count = self.counts.entry(code.as_str()).or_default();
            *count = count.saturating_add(n);
        }
    }

    /// Warnings of `code` so far.
    pub fn get(&self, code: ErrorCode) -> u64 {
        self.counts.get(code.as_str()).copied().unwrap_or(0)
    }

    /// The report JSON, `None` when there are no warnings.
    pub fn snapshot(&self) -> Option<model::WarningCounters> {
        (!self.counts.is_empty()).then(|| model::WarningCounters {
            counts: self
                .counts
                .iter()
                .map(|(code, n)| ((*code).to_owned(), to_i64(*n)))
                .collect(),
        })
    }
}

/// Progress of the segment generator stage (`segmentGenerationProgress`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentGenerationProgressCounter {
    /// Rows read by the generator.
    pub rows_processed: u64,
    /// Rows persisted to intermediate segments.
    pub rows_persisted: u64,
    /// Rows merged into final segments.
    pub rows_merged: u64,
    /// Rows in segments pushed to storage.
    pub rows_pushed: u64,
}

impl SegmentGenerationProgressCounter {
    /// The report JSON; always present once the stage created the counter (Druid writes all
    /// four numbers, zeros included).
    pub fn snapshot(&self) -> Option<model::SegmentGenerationProgress> {
        Some(model::SegmentGenerationProgress {
            rows_processed: Some(to_i64(self.rows_processed)),
            rows_persisted: Some(to_i64(self.rows_persisted)),
            rows_merged: Some(to_i64(self.rows_merged)),
            rows_pushed: Some(to_i64(self.rows_pushed)),
            ..Default::default()
        })
    }
}

/// Progress of a stage's sort (`sortProgress`; Druid's `SuperSorterProgressTracker`).
/// Levels are merge passes; a level's batches are merged runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortProgressCounter {
    total_merging_levels: i64,
    level_to_total_batches: BTreeMap<u32, u64>,
    level_to_merged_batches: BTreeMap<u32, u64>,
    total_mergers_for_ultimate_level: i64,
    trivially_complete: bool,
}

impl Default for SortProgressCounter {
    fn default() -> Self {
        Self {
            total_merging_levels: -1,
            level_to_total_batches: BTreeMap::new(),
            level_to_merged_batches: BTreeMap::new(),
            total_mergers_for_ultimate_level: -1,
            trivially_complete: false,
        }
    }
}

impl SortProgressCounter {
    /// Unknown levels (`-1`), nothing merged.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many merge levels the sort needs.
    pub fn set_total_merging_levels(&mut self, levels: u32) {
        self.total_merging_levels = i64::from(levels);
    }

    /// How many batches `level` will merge.
    pub fn set_total_batches(&mut self, level: u32, batches: u64) {
        self.level_to_total_batches.insert(level, batches);
    }

    /// `batches` more batches of `level` are merged.
    pub fn add_merged_batches(&mut self, level: u32, batches: u64) {
        *self.level_to_merged_batches.entry(level).or_default() += batches;
    }

    /// Mergers (output partitions) of the last level.
    pub fn set_total_mergers_for_ultimate_level(&mut self, mergers: u64) {
        self.total_mergers_for_ultimate_level = to_i64(mergers);
    }

    /// Nothing to sort (no input or no sorting needed): progress is complete.
    pub fn set_trivially_complete(&mut self) {
        self.trivially_complete = true;
    }

    /// Fraction done in `[0, 1]`: the mean over levels of merged / total batches; `None` while
    /// the number of levels is unknown.
    pub fn progress_digest(&self) -> Option<f64> {
        if self.trivially_complete {
            return Some(1.0);
        }
        let levels = u32::try_from(self.total_merging_levels)
            .ok()
            .filter(|l| *l > 0)?;
        let sum: f64 = (0..levels)
            .map(|level| {
                let total = self
                    .level_to_total_batches
                    .get(&level)
                    .copied()
                    .unwrap_or(0);
                let merged = self
                    .level_to_merged_batches
                    .get(&level)
                    .copied()
                    .unwrap_or(0);
                if total == 0 {
                    0.0
                } else {
                    (merged.min(total) as f64) / (total as f64)
                }
            })
            .sum();
        Some(sum / f64::from(levels))
    }

    /// The report JSON (always present once created).
    pub fn snapshot(&self) -> Option<model::SortProgress> {
        let levels = |map: &BTreeMap<u32, u64>| -> BTreeMap<String, i64> {
            map.iter()
                .map(|(l, n)| (l.to_string(), to_i64(*n)))
                .collect()
        };
        Some(model::SortProgress {
            total_merging_levels: self.total_merging_levels,
            level_to_total_batches: levels(&self.level_to_total_batches),
            level_to_merged_batches: levels(&self.level_to_merged_batches),
            total_mergers_for_ultimate_level: self.total_mergers_for_ultimate_level,
            progress_digest: self.progress_digest().and_then(Number::from_f64),
            trivially_complete: Some(self.trivially_complete),
            ..Default::default()
        })
    }
}

/// All counters of one worker in one stage, snapshotted in Druid's order: `input0`, `input1`,
/// …, `output`, `shuffle`, `sortProgress`, `segmentGenerationProgress`, `warnings`.
/// Counters are created on first use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CounterTracker {
    inputs: BTreeMap<u32, ChannelCounters>,
    output: Option<ChannelCounters>,
    shuffle: Option<ChannelCounters>,
    sort_progress: Option<SortProgressCounter>,
    segment_generation_progress: Option<SegmentGenerationProgressCounter>,
    warnings: Option<WarningCounters>,
}

impl CounterTracker {
    /// No counters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `input<n>`: rows read from the stage's n-th input.
    pub fn input(&mut self, n: u32) -> &mut ChannelCounters {
        self.inputs.entry(n).or_default()
    }

    /// `output`: frames the stage's processors produced.
    pub fn output(&mut self) -> &mut ChannelCounters {
        self.output.get_or_insert_with(Default::default)
    }

    /// `shuffle`: frames written per output partition.
    pub fn shuffle(&mut self) -> &mut ChannelCounters {
        self.shuffle.get_or_insert_with(Default::default)
    }

    /// `sortProgress`.
    pub fn sort_progress(&mut self) -> &mut SortProgressCounter {
        self.sort_progress.get_or_insert_with(Default::default)
    }

    /// `segmentGenerationProgress`.
    pub fn segment_generation_progress(&mut self) -> &mut SegmentGenerationProgressCounter {
        self.segment_generation_progress
            .get_or_insert_with(Default::default)
    }

    /// `warnings`.
    pub fn warnings(&mut self) -> &mut WarningCounters {
        self.warnings.get_or_insert_with(Default::default)
    }

    /// The report JSON of every counter with something to say, in Druid's order.
    pub fn snapshot(&self) -> model::WorkerCounters {
        let mut out = model::WorkerCounters::new();
        for (n, channel) in &self.inputs {
            if let Some(s) = channel.snapshot() {
                out.insert(format!("input{n}"), model::CounterSnapshot::Channel(s));
            }
        }
        for (name, channel) in [("output", &self.output), ("shuffle", &self.shuffle)] {
            if let Some(s) = channel.as_ref().and_then(ChannelCounters::snapshot) {
                out.insert(name, model::CounterSnapshot::Channel(s));
            }
        }
        if let Some(s) = self
            .sort_progress
            .as_ref()
            .and_then(SortProgressCounter::snapshot)
        {
            out.insert("sortProgress", model::CounterSnapshot::SortProgress(s));
        }
        if let Some(s) = self
            .segment_generation_progress
            .as_ref()
            .and_then(SegmentGenerationProgressCounter::snapshot)
        {
            out.insert(
                "segmentGenerationProgress",
                model::CounterSnapshot::SegmentGenerationProgress(s),
            );
        }
        if let Some(s) = self.warnings.as_ref().and_then(WarningCounters::snapshot) {
            out.insert("warnings", model::CounterSnapshot::Warnings(s));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn channel_arrays_per_partition_and_omitted_when_zero() {
        let mut c = ChannelCounters::new();
        assert_eq!(c.snapshot(), None);
        c.add_frame(2, 10, 100);
        c.add_frame(0, 5, 50);
        c.add_frame(2, 1, 10);
        let s = serde_json::to_value(c.snapshot().unwrap()).unwrap();
        assert_eq!(
            s,
            json!({"rows": [5, 0, 11], "bytes": [50, 0, 110], "frames": [1, 0, 2]})
        );
        assert_eq!((c.total_rows(), c.total_bytes()), (16, 160));

        let mut input = ChannelCounters::new();
        input.set_total_files(0);
        assert_eq!(input.snapshot(), None);
        input.set_total_files(3);
        input.add_file(0, 0);
        let s = serde_json::to_value(input.snapshot().unwrap()).unwrap();
        assert_eq!(s, json!({"files": [1], "totalFiles": [3]}));
    }

    #[test]
    fn tracker_snapshot_in_druid_order() {
        let mut t = CounterTracker::new();
        assert!(t.snapshot().is_empty());
        t.warnings().increment(ErrorCode::CannotParseExternalData);
        t.warnings().add(ErrorCode::CannotParseExternalData, 2);
        t.shuffle().add_frame(1, 3, 30);
        t.shuffle().add_frame(0, 3, 30);
        t.output().add_frame(0, 6, 60);
        t.input(1).set_total_files(1);
        t.input(0).set_total_files(1);
        t.input(0).add_rows(0, 6);
        t.input(0).add_file(0, 1234);
        t.segment_generation_progress().rows_processed = 6;
        let sort = t.sort_progress();
        sort.set_total_merging_levels(3);
        for level in 0..3 {
            sort.set_total_batches(level, 1);
            sort.add_merged_batches(level, 1);
        }
        sort.set_total_mergers_for_ultimate_level(1);
        t.output(); // touching a counter again changes nothing
        let json = serde_json::to_string(&t.snapshot()).unwrap();
        let expected = concat!(
            r#"{"input0":{"type":"channel","rows":[6],"bytes":[1234],"files":[1],"totalFiles":[1]},"#,
            r#""input1":{"type":"channel","totalFiles":[1]},"#,
            r#""output":{"type":"channel","rows":[6],"bytes":[60],"frames":[1]},"#,
            r#""shuffle":{"type":"channel","rows":[3,3],"bytes":[30,30],"frames":[1,1]},"#,
            r#""sortProgress":{"type":"sortProgress","totalMergingLevels":3,"levelToTotalBatches":{"0":1,"1":1,"2":1},"#,
            r#""levelToMergedBatches":{"0":1,"1":1,"2":1},"totalMergersForUltimateLevel":1,"progressDigest":1.0,"triviallyComplete":false},"#,
            r#""segmentGenerationProgress":{"type":"segmentGenerationProgress","rowsProcessed":6,"rowsPersisted":0,"rowsMerged":0,"rowsPushed":0},"#,
            r#""warnings":{"type":"warnings","CannotParseExternalData":3}}"#,
        );
        assert_eq!(json, expected);
        // The snapshot reads back through the model.
        let back: model::WorkerCounters = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t.snapshot());
    }

    #[test]
    fn sort_progress_digest() {
        let mut s = SortProgressCounter::new();
        assert_eq!(s.progress_digest(), None);
        let json = serde_json::to_value(s.snapshot().unwrap()).unwrap();
        assert_eq!(json["totalMergingLevels"], json!(-1));
        assert!(json.get("progressDigest").is_none());
        s.set_total_merging_levels(2);
        s.set_total_batches(0, 4);
        s.add_merged_batches(0, 2);
        assert_eq!(s.progress_digest(), Some(0.25));
        s.set_trivially_complete();
        assert_eq!(s.progress_digest(), Some(1.0));
    }
}
