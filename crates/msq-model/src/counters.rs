//! Counters: what each worker of each stage has done (`payload.counters` of a report;
//! spec `druid-msq.md` §4.2 and §5).
//!
//! The tree is stage → worker → counter name → snapshot, with stage and worker numbers as
//! JSON string keys (`"0"`, `"1"`). Counter names are `input<N>` (N indexes the stage's
//! `input`), `output`, `shuffle`, `sortProgress`, `segmentGenerationProgress`, `warnings`,
//! `cpu` and `storage`. Channel counter arrays are indexed by partition (input counters use
//! index 0) and omitted when all zero.

use crate::jackson;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// All counters of a query: stage number → worker number → that worker's counters
/// (Druid's `CounterSnapshotsTree`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CounterSnapshotsTree(pub BTreeMap<u32, BTreeMap<u32, WorkerCounters>>);

impl CounterSnapshotsTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no stage has counters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The workers of a stage, by worker number.
    pub fn stage(&self, stage: u32) -> Option<&BTreeMap<u32, WorkerCounters>> {
        self.0.get(&stage)
    }

    /// One worker's counters.
    pub fn worker(&self, stage: u32, worker: u32) -> Option<&WorkerCounters> {
        self.stage(stage).and_then(|workers| workers.get(&worker))
    }

    /// The counters of every worker of a stage, in worker order (empty if none).
    pub fn workers(&self, stage: u32) -> impl Iterator<Item = (u32, &WorkerCounters)> {
        self.stage(stage)
            .into_iter()
            .flat_map(|w| w.iter().map(|(n, c)| (*n, c)))
    }

    /// Sets one counter of one worker, replacing a counter of the same name.
    pub fn insert(
        &mut self,
        stage: u32,
        worker: u32,
        name: impl Into<String>,
        snapshot: CounterSnapshot,
    ) {
        self.0
            .entry(stage)
            .or_default()
            .entry(worker)
            .or_default()
            .insert(name, snapshot);
    }
}

// Read by hand: inside a struct with `#[serde(flatten)]` (the report payload) serde buffers
// the JSON and can no longer turn the string keys "0", "1" into numbers by itself.
impl<'de> Deserialize<'de> for CounterSnapshotsTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn number<E: de::Error>(key: &str, what: &str) -> Result<u32, E> {
            key.parse()
                .map_err(|_| E::custom(format_args!("{what} key \"{key}\" is not a number")))
        }
        let raw = BTreeMap::<String, BTreeMap<String, WorkerCounters>>::deserialize(deserializer)?;
        let mut tree = BTreeMap::new();
        for (stage, workers) in raw {
            let mut by_worker = BTreeMap::new();
            for (worker, counters) in workers {
                by_worker.insert(number(&worker, "worker")?, counters);
            }
            tree.insert(number(&stage, "stage")?, by_worker);
        }
        Ok(Self(tree))
    }
}

/// One worker's counters for one stage, by name, in the order they came (Druid writes them
/// inputs first, then `output`, `shuffle`, `sortProgress`, `warnings`; see
/// [`sorted`](Self::sorted)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerCounters(Vec<(String, CounterSnapshot)>);

impl WorkerCounters {
    /// No counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a counter, replacing one of the same name in place.
    pub fn insert(&mut self, name: impl Into<String>, snapshot: CounterSnapshot) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = snapshot,
            None => self.0.push((name, snapshot)),
        }
    }

    /// Number of counters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no counters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A counter by name.
    pub fn get(&self, name: &str) -> Option<&CounterSnapshot> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The counters in JSON order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CounterSnapshot)> {
        self.0.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// The counters in Druid's display order (`CounterNames` comparator): `input<N>` by N,
    /// then `output`, `shuffle`, `sortProgress`, `warnings`, then the rest by name.
    pub fn sorted(&self) -> Vec<(&str, &CounterSnapshot)> {
        let mut all: Vec<_> = self.iter().collect();
        all.sort_by(|a, b| compare_counter_names(a.0, b.0));
        all
    }

    /// A channel counter by name (`input0`, `output`, `shuffle`).
    pub fn channel(&self, name: &str) -> Option<&ChannelCounters> {
        match self.get(name) {
            Some(CounterSnapshot::Channel(c)) => Some(c),
            _ => None,
        }
    }

    /// The channel counter of input `n` (`input<n>`).
    pub fn input(&self, n: usize) -> Option<&ChannelCounters> {
        self.channel(&format!("input{n}"))
    }

    /// The processor output counter (`output`).
    pub fn output(&self) -> Option<&ChannelCounters> {
        self.channel("output")
    }

    /// The shuffle output counter (`shuffle`).
    pub fn shuffle(&self) -> Option<&ChannelCounters> {
        self.channel("shuffle")
    }

    /// The `sortProgress` counter.
    pub fn sort_progress(&self) -> Option<&SortProgress> {
        match self.get("sortProgress") {
            Some(CounterSnapshot::SortProgress(c)) => Some(c),
            _ => None,
        }
    }

    /// The `segmentGenerationProgress` counter.
    pub fn segment_generation_progress(&self) -> Option<&SegmentGenerationProgress> {
        match self.get("segmentGenerationProgress") {
            Some(CounterSnapshot::SegmentGenerationProgress(c)) => Some(c),
            _ => None,
        }
    }

    /// The `warnings` counter.
    pub fn warnings(&self) -> Option<&WarningCounters> {
        match self.get("warnings") {
            Some(CounterSnapshot::Warnings(c)) => Some(c),
            _ => None,
        }
    }

    /// The `cpu` counter.
    pub fn cpu(&self) -> Option<&CpuCounters> {
        match self.get("cpu") {
            Some(CounterSnapshot::Cpus(c)) => Some(c),
            _ => None,
        }
    }

    /// The `storage` counter.
    pub fn storage(&self) -> Option<&StorageCounters> {
        match self.get("storage") {
            Some(CounterSnapshot::Storage(c)) => Some(c),
            _ => None,
        }
    }
}

impl<N: Into<String>> FromIterator<(N, CounterSnapshot)> for WorkerCounters {
    fn from_iter<I: IntoIterator<Item = (N, CounterSnapshot)>>(iter: I) -> Self {
        let mut counters = Self::new();
        for (name, snapshot) in iter {
            counters.insert(name, snapshot);
        }
        counters
    }
}

/// Druid's counter name order: inputs first (by number), then `output`, `shuffle`,
/// `sortProgress`, `warnings`, then other names alphabetically.
fn compare_counter_names(a: &str, b: &str) -> Ordering {
    fn rank(name: &str) -> (u8, u64) {
        if let Some(n) = name.strip_prefix("input") {
            return (0, n.parse().unwrap_or(u64::MAX));
        }
        match name {
            "output" => (1, 0),
            "shuffle" => (2, 0),
            "sortProgress" => (3, 0),
            "warnings" => (4, 0),
            _ => (5, 0),
        }
    }
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

impl Serialize for WorkerCounters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, snapshot) in &self.0 {
            map.serialize_entry(name, snapshot)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WorkerCounters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountersVisitor;

        impl<'de> Visitor<'de> for CountersVisitor {
            type Value = WorkerCounters;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of counters by name")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WorkerCounters, A::Error> {
                let mut counters = WorkerCounters::new();
                while let Some((name, snapshot)) = map.next_entry::<String, CounterSnapshot>()? {
                    counters.insert(name, snapshot);
                }
                Ok(counters)
            }
        }

        deserializer.deserialize_map(CountersVisitor)
    }
}

/// One counter's snapshot, tagged by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum CounterSnapshot {
    /// `channel`: rows/bytes/frames/files through an input, output or shuffle channel.
    Channel(ChannelCounters),
    /// `sortProgress`: progress of the shuffle's merge sort.
    SortProgress(SortProgress),
    /// `segmentGenerationProgress`: rows through the segment generator.
    SegmentGenerationProgress(SegmentGenerationProgress),
    /// `warnings`: count per warning `errorCode`.
    Warnings(WarningCounters),
    /// `cpus` (counter name `cpu`): CPU and wall time per activity.
    Cpus(CpuCounters),
    /// `storage`: local and durable storage use.
    Storage(StorageCounters),
    /// Any other type, kept verbatim.
    Other(Value),
}

impl CounterSnapshot {
    /// The JSON `type`, or the unknown type (`""` if none).
    pub fn type_name(&self) -> &str {
        match self {
            CounterSnapshot::Channel(_) => "channel",
            CounterSnapshot::SortProgress(_) => "sortProgress",
            CounterSnapshot::SegmentGenerationProgress(_) => "segmentGenerationProgress",
            CounterSnapshot::Warnings(_) => "warnings",
            CounterSnapshot::Cpus(_) => "cpus",
            CounterSnapshot::Storage(_) => "storage",
            CounterSnapshot::Other(v) => jackson::type_of(v).unwrap_or(""),
        }
    }
}

const COUNTER_TYPES: &[&str] = &[
    "channel",
    "sortProgress",
    "segmentGenerationProgress",
    "warnings",
    "cpus",
    "storage",
];

impl Serialize for CounterSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let type_name = self.type_name();
        match self {
            CounterSnapshot::Channel(c) => jackson::serialize_tagged(serializer, type_name, c),
            CounterSnapshot::SortProgress(c) => jackson::serialize_tagged(serializer, type_name, c),
            CounterSnapshot::SegmentGenerationProgress(c) => {
                jackson::serialize_tagged(serializer, type_name, c)
            }
            CounterSnapshot::Warnings(c) => jackson::serialize_tagged(serializer, type_name, c),
            CounterSnapshot::Cpus(c) => jackson::serialize_tagged(serializer, type_name, c),
            CounterSnapshot::Storage(c) => jackson::serialize_tagged(serializer, type_name, c),
            CounterSnapshot::Other(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CounterSnapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        jackson::deserialize_tagged(
            deserializer,
            "counter",
            COUNTER_TYPES,
            |type_name, fields| match type_name {
                "channel" => jackson::parse(fields).map(CounterSnapshot::Channel),
                "sortProgress" => jackson::parse(fields).map(CounterSnapshot::SortProgress),
                "segmentGenerationProgress" => {
                    jackson::parse(fields).map(CounterSnapshot::SegmentGenerationProgress)
                }
                "warnings" => jackson::parse(fields).map(CounterSnapshot::Warnings),
                "cpus" => jackson::parse(fields).map(CounterSnapshot::Cpus),
                _ => jackson::parse(fields).map(CounterSnapshot::Storage),
            },
            CounterSnapshot::Other,
        )
    }
}

/// A channel's counters (`ChannelCounters.Snapshot`): one array entry per partition, each
/// array omitted when empty (Druid omits all-zero arrays; `druid-msq.md` §5).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelCounters {
    /// Rows per partition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<i64>,
    /// Bytes per partition (uncompressed frame bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bytes: Vec<i64>,
    /// Frames per partition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<i64>,
    /// Input files read so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<i64>,
    /// Input files to read in total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub total_files: Vec<i64>,
    /// Bytes loaded from deep storage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_bytes: Vec<i64>,
    /// Time spent loading, ms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_time: Vec<i64>,
    /// Time spent waiting for loads, ms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_wait: Vec<i64>,
    /// Files loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_files: Vec<i64>,
    /// Realtime queries issued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<i64>,
    /// Realtime queries to issue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub total_queries: Vec<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelCounters {
    /// Sums over all partitions.
    pub fn totals(&self) -> ChannelTotals {
        ChannelTotals {
            rows: self.rows.iter().sum(),
            bytes: self.bytes.iter().sum(),
            frames: self.frames.iter().sum(),
            files: self.files.iter().sum(),
            total_files: self.total_files.iter().sum(),
        }
    }

    /// Rows over all partitions.
    pub fn total_rows(&self) -> i64 {
        self.rows.iter().sum()
    }

    /// Bytes over all partitions.
    pub fn total_bytes(&self) -> i64 {
        self.bytes.iter().sum()
    }

    /// Counts one frame of `rows` rows and `bytes` bytes written to `partition`, growing the
    /// arrays as needed (what a worker does as it writes).
    pub fn add_frame(&mut self, partition: usize, rows: i64, bytes: i64) {
        for (array, amount) in [
            (&mut self.rows, rows),
            (&mut self.bytes, bytes),
            (&mut self.frames, 1),
        ] {
            if array.len() <= partition {
                array.resize(partition + 1, 0);
            }
            array[partition] += amount;
        }
    }
}

/// Channel counters summed over partitions (and, in [`Stages`](crate::Stages), over workers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelTotals {
    /// Rows.
    pub rows: i64,
    /// Bytes.
    pub bytes: i64,
    /// Frames.
    pub frames: i64,
    /// Input files read.
    pub files: i64,
    /// Input files in total.
    pub total_files: i64,
}

impl std::ops::AddAssign for ChannelTotals {
    fn add_assign(&mut self, other: Self) {
        self.rows += other.rows;
        self.bytes += other.bytes;
        self.frames += other.frames;
        self.files += other.files;
        self.total_files += other.total_files;
    }
}

/// Progress of the shuffle's merge sort (`SuperSorterProgressSnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SortProgress {
    /// Merge levels, `-1` while unknown.
    #[serde(default)]
    pub total_merging_levels: i64,
    /// Level → batches to merge.
    #[serde(default)]
    pub level_to_total_batches: BTreeMap<String, i64>,
    /// Level → batches merged.
    #[serde(default)]
    pub level_to_merged_batches: BTreeMap<String, i64>,
    /// Mergers of the last level, `-1` while unknown.
    #[serde(default)]
    pub total_mergers_for_ultimate_level: i64,
    /// Fraction sorted, 0–1. Kept as a JSON number so an integer `1` stays `1` (not `1.0`);
    /// read it with [`digest`](Self::digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_digest: Option<Number>,
    /// True when there was nothing to sort. Omitted when false or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trivially_complete: Option<bool>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SortProgress {
    /// `progressDigest` as a fraction.
    pub fn digest(&self) -> Option<f64> {
        self.progress_digest.as_ref().and_then(Number::as_f64)
    }

    /// Whether there was nothing to sort.
    pub fn is_trivially_complete(&self) -> bool {
        self.trivially_complete == Some(true)
    }
}

/// Rows through the segment generator (`SegmentGenerationProgressCounter.Snapshot`); each
/// field omitted when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentGenerationProgress {
    /// Rows read into the appenderator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_processed: Option<i64>,
    /// Rows persisted to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_persisted: Option<i64>,
    /// Rows merged into segments ("Merged" in the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_merged: Option<i64>,
    /// Rows in pushed segments ("Pushed" in the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_pushed: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SegmentGenerationProgress {
    /// Adds another worker's progress: a field is `Some` if either side has it.
    pub fn add(&mut self, other: &SegmentGenerationProgress) {
        fn add(a: &mut Option<i64>, b: Option<i64>) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0) + b);
            }
        }
        add(&mut self.rows_processed, other.rows_processed);
        add(&mut self.rows_persisted, other.rows_persisted);
        add(&mut self.rows_merged, other.rows_merged);
        add(&mut self.rows_pushed, other.rows_pushed);
    }
}

/// Warnings by `errorCode`: `{"type": "warnings", "CannotParseExternalData": 3}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WarningCounters {
    /// Count per warning code.
    pub counts: BTreeMap<String, i64>,
}

impl WarningCounters {
    /// All warnings.
    pub fn total(&self) -> i64 {
        self.counts.values().sum()
    }
}

/// CPU time per activity (`CpuCounters.Snapshot`, counter name `cpu`): `main`,
/// `collectKeyStatistics`, `mergeInput`, `hashPartitionOutput`, `mixOutput`, `sortOutput`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CpuCounters {
    /// Activity name → time.
    pub counters: BTreeMap<String, CpuCounter>,
}

impl CpuCounters {
    /// Wall time of all activities, ns.
    pub fn total_wall(&self) -> i64 {
        self.counters.values().filter_map(|c| c.wall).sum()
    }

    /// CPU time of all activities, ns.
    pub fn total_cpu(&self) -> i64 {
        self.counters.values().filter_map(|c| c.cpu).sum()
    }
}

/// `{"type": "cpu", "cpu": ns, "wall": ns}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuCounter {
    /// `cpu` when written.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub counter_type: Option<String>,
    /// CPU time, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    /// Wall time, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Storage use of a worker (`storage`); fields omitted when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageCounters {
    /// Local bytes allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_bytes_max: Option<i64>,
    /// Local bytes reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_bytes_reserved: Option<i64>,
    /// Local files written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_files_written: Option<i64>,
    /// Local bytes written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_bytes_written: Option<i64>,
    /// Durable storage files written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable_file_count: Option<i64>,
    /// Durable storage bytes written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable_bytes_written: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tree_round_trips_with_string_keys_and_counter_order() {
        let json = json!({
            "0": {
                "10": {"output": {"type": "channel", "rows": [1]}},
                "2": {
                    "input0": {"type": "channel", "rows": [5], "files": [1], "totalFiles": [3]},
                    "output": {"type": "channel", "rows": [5], "bytes": [100], "frames": [1]},
                    "sortProgress": {
                        "type": "sortProgress", "totalMergingLevels": 3,
                        "levelToTotalBatches": {"0": 1}, "levelToMergedBatches": {"0": 1},
                        "totalMergersForUltimateLevel": 1, "progressDigest": 1
                    },
                    "warnings": {"type": "warnings", "CannotParseExternalData": 3},
                    "cpu": {"type": "cpus", "main": {"type": "cpu", "cpu": 10, "wall": 20}},
                    "storage": {"type": "storage", "localBytesReserved": 0, "durableFileCount": 2},
                    "future": {"type": "fancy", "x": null}
                }
            }
        });
        let tree: CounterSnapshotsTree = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&tree).unwrap(), json);
        let worker = tree.worker(0, 2).unwrap();
        let names: Vec<&str> = worker.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "input0",
                "output",
                "sortProgress",
                "warnings",
                "cpu",
                "storage",
                "future"
            ]
        );
        assert_eq!(worker.input(0).unwrap().totals().total_files, 3);
        assert_eq!(worker.sort_progress().unwrap().digest(), Some(1.0));
        assert_eq!(worker.warnings().unwrap().total(), 3);
        assert_eq!(worker.cpu().unwrap().total_wall(), 20);
        assert_eq!(worker.storage().unwrap().durable_file_count, Some(2));
        assert_eq!(worker.get("future").unwrap().type_name(), "fancy");
        let workers: Vec<u32> = tree.workers(0).map(|(w, _)| w).collect();
        assert_eq!(workers, [2, 10]);
    }

    #[test]
    fn integer_progress_digest_stays_an_integer() {
        let json = json!({"type": "sortProgress", "totalMergingLevels": -1, "levelToTotalBatches": {},
            "levelToMergedBatches": {}, "totalMergersForUltimateLevel": -1, "progressDigest": 1});
        let parsed: CounterSnapshot = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            serde_json::to_string(&parsed)
                .unwrap()
                .matches("\"progressDigest\":1}")
                .count(),
            1
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
    }

    #[test]
    fn sorted_follows_druid_counter_names_order() {
        let counters: WorkerCounters = [
            (
                "warnings",
                CounterSnapshot::Warnings(WarningCounters::default()),
            ),
            (
                "shuffle",
                CounterSnapshot::Channel(ChannelCounters::default()),
            ),
            (
                "input10",
                CounterSnapshot::Channel(ChannelCounters::default()),
            ),
            ("cpu", CounterSnapshot::Cpus(CpuCounters::default())),
            (
                "output",
                CounterSnapshot::Channel(ChannelCounters::default()),
            ),
            (
                "input2",
                CounterSnapshot::Channel(ChannelCounters::default()),
            ),
        ]
        .into_iter()
        .collect();
        let names: Vec<&str> = counters.sorted().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["input2", "input10", "output", "shuffle", "warnings", "cpu"]
        );
    }

    #[test]
    fn add_frame_grows_partition_arrays() {
        let mut channel = ChannelCounters::default();
        channel.add_frame(2, 10, 100);
        channel.add_frame(0, 1, 10);
        channel.add_frame(2, 5, 50);
        assert_eq!(channel.rows, [1, 0, 15]);
        assert_eq!(channel.frames, [1, 0, 2]);
        assert_eq!(
            channel.totals(),
            ChannelTotals {
                rows: 16,
                bytes: 160,
                frames: 3,
                files: 0,
                total_files: 0
            }
        );
    }

    #[test]
    fn bad_keys_and_bad_known_counters_are_errors() {
        let err = serde_json::from_value::<CounterSnapshotsTree>(json!({"x": {}})).unwrap_err();
        assert_eq!(err.to_string(), "stage key \"x\" is not a number");
        let err =
            serde_json::from_value::<CounterSnapshot>(json!({"type": "channel", "rows": "many"}))
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("counter of type \"channel\": invalid type"),
            "{err}"
        );
    }
}
