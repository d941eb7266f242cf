//! Slicing inputs among workers (Druid's `*InputSpecSlicer`, `SlicerUtils`, `WorkerInputs`,
//! `WorkerAssignmentStrategy`).
//!
//! Rules followed (spec `druid-msq.md` §1.2, §2 `taskAssignment`, §3.1):
//! - The unit of external input is one file (one `uri`, one `files` entry); an input source
//!   that cannot be split by file (`inline`, `local` with `baseDir`) is one unit. Acorn adds one
//!   exception Druid does not have: when an input has fewer files than the stage has workers, a
//!   large uncompressed line-based file known to serve byte ranges
//!   ([`ExternalInputSpecSlicer::ranged_files`]) is cut into byte ranges of at least
//!   [`MIN_PART_BYTES`], each a unit (`acornByteRange` on its source; read by
//!   `msq_runtime::split`), and a large gzip file, which cannot be entered in the middle, is
//!   read by several workers that each inflate it from the start and parse one share of its
//!   lines (at least [`MIN_SHARE_BYTES`] of it each; `acornLineShare` on its source; read by
//!   `msq_exec::input::share`).
//! - `taskAssignment: max` ([`WorkerAssignment::Max`]) uses as many workers as the stage's
//!   `maxWorkerCount` allows **but never more than there are units**: Druid's slicer drops
//!   empty slices and `WorkerInputs` drops workers left without non-broadcast input, except
//!   worker 0, which always runs (so 0 files → 1 worker with a nil slice). Units are dealt
//!   round-robin, or to the lightest worker when every unit's size is known.
//! - `taskAssignment: auto` ([`WorkerAssignment::Auto`]) uses the fewest workers that keep
//!   each under 10,000 files and `maxInputBytesPerWorker` bytes, when sizes are known; with
//!   unknown sizes (`http`) it behaves like `max`, as in Druid. Stage inputs under `auto` carry
//!   forward the largest worker count of the input stages.
//! - Stage inputs: partition `p` goes to slice `p % n`; slices without partitions are dropped.
//! - Broadcast inputs: every worker gets the whole input.
//! - More than 10,000 files/segments in one work order → `TooManyInputFiles`, checked by
//!   [`check_work_order`].

use crate::fault;
use crate::slice::{InputSlice, ReadablePartitions, SegmentDescriptor, WorkOrder};
use msq_common::{MsqError, StageNumber};
use msq_model::MsqFault;
use msq_plan::{InputSpec, StageDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Druid's default `maxInputBytesPerWorker` for `taskAssignment: auto`: 512 MiB.
pub const DEFAULT_MAX_INPUT_BYTES_PER_WORKER: u64 = 512 * 1024 * 1024;

/// How many workers a stage uses (`taskAssignment` context parameter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkerAssignment {
    /// `max` (the default): as many workers as `maxWorkerCount` and the input allow.
    #[default]
    Max,
    /// `auto`: as few workers as keep each within the file and byte limits.
    Auto {
        /// `maxInputBytesPerWorker`.
        max_input_bytes_per_worker: u64,
    },
}

/// Deals `items` into at most `max_slices` non-empty lists, preserving item order within each
/// list. With `weights` (one per item), each item goes to the lightest list (ties: fewer items,
/// then lower position — Druid breaks ties by position only, which piles zero-weight items onto
/// one list); without, round-robin.
fn deal<T>(items: Vec<T>, weights: Option<&[u64]>, max_slices: usize) -> Vec<Vec<T>> {
    let n = max_slices.max(1).min(items.len());
    let mut lists: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
    let mut load = vec![0u64; n];
    for (i, item) in items.into_iter().enumerate() {
        let target = match weights {
            Some(_) => (0..n)
                .min_by_key(|&j| (load[j], lists[j].len(), j))
                .unwrap_or(0),
            None => i % n,
        };
        if let (Some(w), Some(l)) = (weights.and_then(|w| w.get(i)), load.get_mut(target)) {
            *l = l.saturating_add(*w);
        }
        if let Some(list) = lists.get_mut(target) {
            list.push(item);
        }
    }
    lists.retain(|l| !l.is_empty());
    lists
}

/// How many slices `auto` wants for `count` units weighing `total` bytes.
fn auto_slice_count(count: usize, total: u64, max_bytes: u64, max_slices: usize) -> usize {
    let by_files = count.div_ceil(fault::MAX_INPUT_FILES_PER_WORKER);
    let by_bytes = usize::try_from(total.div_ceil(max_bytes.max(1))).unwrap_or(usize::MAX);
    by_files.max(by_bytes).max(1).min(max_slices.max(1))
}

/// Smallest byte range of one file worth its own worker.
pub const MIN_PART_BYTES: u64 = 8 << 20;

/// Smallest share of a gzip file (compressed bytes) worth its own worker: text inflates
/// four to ten times, so a share parses at least about [`MIN_PART_BYTES`].
pub const MIN_SHARE_BYTES: u64 = MIN_PART_BYTES / 4;

/// Extensions of compressed files, which cannot be read from the middle.
const COMPRESSED: &[&str] = &[
    ".gz", ".bz2", ".xz", ".zst", ".zip", ".sz", ".snappy", ".lz4", ".z",
];

/// Whether files of `input_format` can be cut at line boundaries: JSON lines, CSV and TSV
/// (one row per line, as Druid's line-based text readers). A part of a CSV/TSV file with
/// header lines (`skipHeaderRows`, `findColumnsFromHeader`) reads those lines from the start
/// of the file before its own (`msq_runtime::split::first_lines`).
pub fn line_splittable(input_format: &Value) -> bool {
    matches!(
        input_format.get("type").and_then(Value::as_str),
        Some("json" | "csv" | "tsv")
    )
}

/// The path of a file name or URI, lower-cased, without query string or fragment: what
/// its extension is read from.
fn lower_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Whether `name` looks compressed (by its extension).
pub fn is_compressed(name: &str) -> bool {
    let path = lower_path(name);
    COMPRESSED.iter().any(|ext| path.ends_with(ext))
}

/// Whether `name` is gzip by its extension, the one compression Acorn reads.
fn is_gzip(name: &str) -> bool {
    lower_path(name).ends_with(".gz")
}

/// The files of `input` that may be cut into byte ranges (or gzip shares) for a stage of
/// `max_workers` workers — those the controller asks the server about
/// ([`ExternalInputSpecSlicer::ranged_files`]): uncompressed or gzip files of a line-based
/// external input with fewer files than workers.
pub fn range_candidates(input: &InputSpec, max_workers: usize) -> Vec<String> {
    let InputSpec::External {
        input_source,
        input_format,
        ..
    } = input
    else {
        return Vec::new();
    };
    if !line_splittable(input_format) {
        return Vec::new();
    }
    match ExternalInputSpecSlicer::split_by_file(input_source) {
        Some(files) if files.len() < max_workers => files
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !is_compressed(name) || is_gzip(name))
            .collect(),
        _ => Vec::new(),
    }
}

/// Slices `external` inputs by file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalInputSpecSlicer {
    /// Known file sizes in bytes, by uri or path (as written in the input source). When every
    /// file of an input has a size, files are balanced by size; otherwise dealt round-robin.
    pub file_sizes: BTreeMap<String, u64>,
    /// Files that may be read in byte ranges (uncompressed) or shares (gzip), with their
    /// sizes in bytes (the controller probes the files of stages with fewer files than
    /// workers).
    pub ranged_files: BTreeMap<String, u64>,
}

impl ExternalInputSpecSlicer {
    /// A slicer without known sizes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The input source split into one source per file, with each file's name, or `None`
    /// when the source cannot be split by file (`inline`, `local` with `baseDir`, unknown
    /// types).
    pub fn split_by_file(input_source: &Value) -> Option<Vec<(String, Value)>> {
        let kind = input_source.get("type").and_then(Value::as_str)?;
        let field = match kind {
            "http" => "uris",
            "local" => {
                let has_base_dir = input_source.get("baseDir").is_some_and(|b| !b.is_null());
                if has_base_dir {
                    return None;
                }
                "files"
            }
            _ => return None,
        };
        let files = input_source.get(field)?.as_array()?;
        // Clone the source without its file list once, not once per file: a list of n files
        // would otherwise cost n² to split.
        let mut template = input_source.as_object()?.clone();
        template.insert(field.to_owned(), Value::Null);
        Some(
            files
                .iter()
                .map(|f| {
                    let mut one = template.clone();
                    one.insert(field.to_owned(), Value::Array(vec![f.clone()]));
                    (
                        f.as_str().unwrap_or_default().to_owned(),
                        Value::Object(one),
                    )
                })
                .collect(),
        )
    }

    /// Slices an `external` input into at most `max_slices` non-empty slices.
    pub fn slice(
        &self,
        input_source: &Value,
        input_format: &Value,
        signature: &msq_plan::Signature,
        max_slices: usize,
        assignment: WorkerAssignment,
    ) -> Vec<InputSlice> {
        let make = |sources: Vec<Value>| InputSlice::External {
            input_sources: sources,
            input_format: input_format.clone(),
            signature: signature.clone(),
        };
        let Some(files) = Self::split_by_file(input_source) else {
            return vec![make(vec![input_source.clone()])];
        };
        let sizes: Option<Vec<u64>> = files
            .iter()
            .map(|(name, _)| self.file_sizes.get(name).copied())
            .collect();
        let slices = match (assignment, &sizes) {
            (
                WorkerAssignment::Auto {
                    max_input_bytes_per_worker,
                },
                Some(sizes),
            ) => auto_slice_count(
                files.len(),
                sizes.iter().sum(),
                max_input_bytes_per_worker,
                max_slices,
            ),
            _ => max_slices,
        };
        if files.len() < slices && line_splittable(input_format) {
            let per_file = slices / files.len().max(1);
            let parts = self.cut(files, per_file);
            let weights: Option<Vec<u64>> = parts.iter().map(|(_, w)| *w).collect();
            let sources: Vec<Value> = parts.into_iter().map(|(s, _)| s).collect();
            return deal(sources, weights.as_deref(), slices)
                .into_iter()
                .map(make)
                .collect();
        }
        let sources: Vec<Value> = files.into_iter().map(|(_, s)| s).collect();
        deal(sources, sizes.as_deref(), slices)
            .into_iter()
            .map(make)
            .collect()
    }
}

impl ExternalInputSpecSlicer {
    /// Cuts each ranged, uncompressed file into at most `per_file` byte ranges of at least
    /// [`MIN_PART_BYTES`], and each ranged gzip file into at most `per_file` line shares of at
    /// least [`MIN_SHARE_BYTES`]; other files stay whole. Returns each unit's source and
    /// weight.
    fn cut(&self, files: Vec<(String, Value)>, per_file: usize) -> Vec<(Value, Option<u64>)> {
        let mut units = Vec::new();
        for (name, source) in files {
            let size = self.ranged_files.get(&name).copied();
            let gzip = is_gzip(&name);
            let parts = match size {
                Some(size) if gzip || !is_compressed(&name) => {
                    let min = if gzip {
                        MIN_SHARE_BYTES
                    } else {
                        MIN_PART_BYTES
                    };
                    usize::try_from(size / min).map_or(per_file, |n| n.min(per_file))
                }
                _ => 1,
            };
            match size {
                Some(size) if parts >= 2 => {
                    let parts = parts as u64;
                    for p in 0..parts {
                        let (start, end) = (size * p / parts, size * (p + 1) / parts);
                        let (field, unit) = if gzip {
                            (
                                "acornLineShare",
                                serde_json::json!({"index": p, "of": parts, "size": size}),
                            )
                        } else {
                            (
                                "acornByteRange",
                                serde_json::json!({"start": start, "end": end, "size": size}),
                            )
                        };
                        let mut part = source.clone();
                        if let Some(object) = part.as_object_mut() {
                            object.insert(field.to_owned(), unit);
                        }
                        units.push((part, Some(end - start)));
                    }
                }
                _ => {
                    let weight = self.file_sizes.get(&name).copied().or(size);
                    units.push((source, weight));
                }
            }
        }
        units
    }
}

/// Slices `stage` inputs by output partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInputSlicer {
    /// The output of every stage that has produced results.
    pub stage_partitions: BTreeMap<StageNumber, ReadablePartitions>,
}

impl StageInputSlicer {
    /// Slices stage `stage`'s partitions into at most `max_slices` non-empty slices,
    /// partition `p` going to slice `p % n`. Errors (internal) when the stage has no results.
    pub fn slice(
        &self,
        stage: StageNumber,
        max_slices: usize,
    ) -> Result<Vec<InputSlice>, MsqError> {
        let output = self.output(stage)?;
        Ok(deal(output.partitions.clone(), None, max_slices)
            .into_iter()
            .map(|partitions| InputSlice::Stage { stage, partitions })
            .collect())
    }

    /// The whole output of `stage` as one slice (broadcast inputs).
    pub fn slice_whole(&self, stage: StageNumber) -> Result<InputSlice, MsqError> {
        Ok(InputSlice::Stage {
            stage,
            partitions: self.output(stage)?.partitions.clone(),
        })
    }

    fn output(&self, stage: StageNumber) -> Result<&ReadablePartitions, MsqError> {
        self.stage_partitions
            .get(&stage)
            .ok_or_else(|| MsqError::internal(format!("Stage [{stage}] not available")))
    }
}

/// Slices `table` inputs by segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInputSpecSlicer {
    /// Segments of each datasource, already pruned to the queried intervals by the driver.
    pub segments: BTreeMap<String, Vec<SegmentDescriptor>>,
}

impl TableInputSpecSlicer {
    /// Slices the datasource's segments into at most `max_slices` non-empty slices balanced
    /// by size (a datasource without segments gives no slices).
    pub fn slice(
        &self,
        data_source: &str,
        max_slices: usize,
        assignment: WorkerAssignment,
    ) -> Vec<InputSlice> {
        let segments = self.segments.get(data_source).cloned().unwrap_or_default();
        let sizes: Vec<u64> = segments.iter().map(|s| s.size_bytes).collect();
        let slices = match assignment {
            WorkerAssignment::Max => max_slices,
            WorkerAssignment::Auto {
                max_input_bytes_per_worker,
            } => auto_slice_count(
                segments.len(),
                sizes.iter().sum(),
                max_input_bytes_per_worker,
                max_slices,
            ),
        };
        deal(segments, Some(&sizes), slices)
            .into_iter()
            .map(|segments| InputSlice::Segments {
                data_source: data_source.to_owned(),
                segments,
            })
            .collect()
    }
}

/// The three slicers together, as the controller kernel uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSlicers {
    /// For `external` inputs.
    pub external: ExternalInputSpecSlicer,
    /// For `stage` inputs.
    pub stage: StageInputSlicer,
    /// For `table` inputs.
    pub table: TableInputSpecSlicer,
}

impl InputSlicers {
    /// Slices one input into at most `max_slices` non-empty slices.
    pub fn slice(
        &self,
        input: &InputSpec,
        max_slices: usize,
        assignment: WorkerAssignment,
    ) -> Result<Vec<InputSlice>, MsqError> {
        match input {
            InputSpec::External {
                input_source,
                input_format,
                signature,
            } => Ok(self.external.slice(
                input_source,
                input_format,
                signature,
                max_slices,
                assignment,
            )),
            InputSpec::Stage { stage } => self.stage.slice(*stage, max_slices),
            InputSpec::Table { data_source, .. } => {
                Ok(self.table.slice(data_source, max_slices, assignment))
            }
        }
    }

    /// The whole input as one slice (broadcast), [`InputSlice::Nil`] when it is empty.
    fn slice_whole(&self, input: &InputSpec) -> Result<InputSlice, MsqError> {
        match input {
            InputSpec::Stage { stage } => self.stage.slice_whole(*stage),
            other => {
                let mut slices = self.slice(other, 1, WorkerAssignment::Max)?;
                Ok(slices.pop().unwrap_or(InputSlice::Nil))
            }
        }
    }

    /// Most workers `auto` gives a stage reading `input` with an unsliceable-by-size input:
    /// the largest worker count of the stages it reads, or 1.
    fn carried_worker_count(&self, stage: &StageDefinition) -> usize {
        stage
            .input_stages()
            .iter()
            .filter_map(|s| self.stage.stage_partitions.get(s))
            .map(|p| p.worker_count as usize)
            .max()
            .unwrap_or(1)
    }

    /// Assigns every input of `stage` to workers (Druid's `WorkerInputs.create`): the result
    /// has one entry per worker, each with one slice per input. Workers are numbered
    /// `0..result.len()`; there is always at least one worker.
    pub fn worker_inputs(
        &self,
        stage: &StageDefinition,
        assignment: WorkerAssignment,
    ) -> Result<Vec<Vec<InputSlice>>, MsqError> {
        let num_inputs = stage.inputs.len();
        let max_workers = stage.max_worker_count.max(1) as usize;
        if num_inputs == 0 {
            // No inputs: one worker, which may generate rows out of nowhere.
            return Ok(vec![Vec::new()]);
        }
        let mut assignments: Vec<Vec<InputSlice>> = Vec::new();
        let mut place = |worker: usize, input: usize, slice: InputSlice| {
            while assignments.len() <= worker {
                assignments.push(vec![InputSlice::Nil; num_inputs]);
            }
            if let Some(cell) = assignments.get_mut(worker).and_then(|w| w.get_mut(input)) {
                *cell = slice;
            }
        };
        for (i, input) in stage.inputs.iter().enumerate() {
            if stage.is_broadcast(i) {
                let whole = self.slice_whole(input)?;
                for w in 0..max_workers {
                    place(w, i, whole.clone());
                }
            } else {
                let limit = match (assignment, input) {
                    (WorkerAssignment::Auto { .. }, InputSpec::Stage { .. }) => {
                        self.carried_worker_count(stage).min(max_workers)
                    }
                    _ => max_workers,
                };
                for (w, slice) in self
                    .slice(input, limit, assignment)?
                    .into_iter()
                    .enumerate()
                {
                    place(w, i, slice);
                }
            }
        }
        // Drop workers with no non-nil, non-broadcast input, except the first: if all input
        // is nil, some worker still has to run.
        let mut first = true;
        assignments.retain(|slices| {
            let keep = first
                || slices
                    .iter()
                    .enumerate()
                    .any(|(i, s)| !s.is_nil() && !stage.is_broadcast(i));
            first = false;
            keep
        });
        if assignments.is_empty() {
            assignments.push(vec![InputSlice::Nil; num_inputs]);
        }
        Ok(assignments)
    }
}

/// Druid's `validateWorkOrder`: a work order may read at most 10,000 files/segments, else
/// `TooManyInputFiles` (with `minNumWorkers` = ⌈files / 10,000⌉).
pub fn check_work_order(order: &WorkOrder) -> Result<(), MsqFault> {
    let files = order.input_file_count();
    if files > fault::MAX_INPUT_FILES_PER_WORKER {
        return Err(fault::too_many_input_files(files));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use msq_common::{PartitionNumber, WorkerNumber};
    use msq_plan::{ProcessorSpec, QueryProcessor};
    use serde_json::json;

    fn http(n: usize) -> InputSpec {
        InputSpec::External {
            input_source: json!({
                "type": "http",
                "uris": (0..n).map(|i| format!("http://h/{i}.csv")).collect::<Vec<_>>(),
                "httpAuthenticationUsername": null
            }),
            input_format: json!({"type": "csv"}),
            signature: vec![],
        }
    }

    fn stage_with(inputs: Vec<InputSpec>, max_workers: u32) -> StageDefinition {
        let mut s = StageDefinition::new(
            3,
            inputs,
            ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
        );
        s.max_worker_count = max_workers;
        s
    }

    fn files_of(slice: &InputSlice) -> Vec<String> {
        match slice {
            InputSlice::External { input_sources, .. } => input_sources
                .iter()
                .map(|s| s["uris"][0].as_str().unwrap().to_owned())
                .collect(),
            _ => vec![],
        }
    }

    #[test]
    fn a_large_ranged_file_is_cut_into_byte_ranges_one_per_worker() {
        let mut slicers = InputSlicers::default();
        let size = 5 * MIN_PART_BYTES + 3;
        slicers
            .external
            .ranged_files
            .insert("http://h/0.csv".into(), size);
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(1)], 4), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 4);
        let mut covered = 0;
        for w in &workers {
            let InputSlice::External { input_sources, .. } = &w[0] else {
                panic!("external slice expected")
            };
            assert_eq!(input_sources.len(), 1);
            let range = &input_sources[0]["acornByteRange"];
            assert_eq!(range["start"], covered, "contiguous: {range}");
            assert_eq!(range["size"], size);
            covered = range["end"].as_u64().unwrap();
        }
        assert_eq!(covered, size, "the parts cover the file");

        // Small files, compressed files and CSV read by header stay whole.
        let mut slicers = InputSlicers::default();
        slicers
            .external
            .ranged_files
            .insert("http://h/0.csv".into(), MIN_PART_BYTES + 1);
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(1)], 4), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 1, "too small to cut");
        assert!(is_compressed("http://h/x.json.GZ?sig=1"));
        assert!(!is_compressed("http://h/x.json"));
        assert!(line_splittable(&json!({"type": "json"})));
        assert!(line_splittable(
            &json!({"type": "csv", "findColumnsFromHeader": true})
        ));
        assert!(line_splittable(
            &json!({"type": "tsv", "skipHeaderRows": 1})
        ));
        assert!(!line_splittable(&json!({"type": "parquet"})));
        assert_eq!(range_candidates(&http(1), 4), vec!["http://h/0.csv"]);
        assert!(
            range_candidates(&http(4), 4).is_empty(),
            "a file per worker already"
        );
    }

    #[test]
    fn a_large_gzip_file_is_read_in_line_shares_one_per_worker() {
        let stage = |uri: &str| {
            let InputSpec::External {
                input_format,
                signature,
                ..
            } = http(1)
            else {
                unreachable!()
            };
            let input_source = json!({"type": "http", "uris": [uri]});
            stage_with(
                vec![InputSpec::External {
                    input_source,
                    input_format,
                    signature,
                }],
                4,
            )
        };
        let uri = "http://h/big.csv.gz";
        assert_eq!(range_candidates(&stage(uri).inputs[0], 4), vec![uri]);
        let mut slicers = InputSlicers::default();
        slicers
            .external
            .ranged_files
            .insert(uri.into(), 3 * MIN_SHARE_BYTES + 1);
        let workers = slicers
            .worker_inputs(&stage(uri), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 3);
        for (p, w) in workers.iter().enumerate() {
            let InputSlice::External { input_sources, .. } = &w[0] else {
                panic!("external slice expected")
            };
            assert_eq!(
                input_sources[0]["acornLineShare"],
                json!({"index": p, "of": 3, "size": 3 * MIN_SHARE_BYTES + 1})
            );
            assert!(input_sources[0].get("acornByteRange").is_none());
        }
        // A small one is read whole; other compressions are never probed.
        slicers
            .external
            .ranged_files
            .insert(uri.into(), 2 * MIN_SHARE_BYTES - 1);
        let workers = slicers
            .worker_inputs(&stage(uri), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 1);
        assert!(range_candidates(&stage("http://h/big.csv.bz2").inputs[0], 4).is_empty());
    }

    #[test]
    fn files_are_dealt_round_robin_and_never_split() {
        let slicers = InputSlicers::default();
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(5)], 2), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 2);
        assert_eq!(
            files_of(&workers[0][0]),
            vec!["http://h/0.csv", "http://h/2.csv", "http://h/4.csv"]
        );
        assert_eq!(
            files_of(&workers[1][0]),
            vec!["http://h/1.csv", "http://h/3.csv"]
        );
        // Each per-file source keeps the other fields, explicit nulls included.
        let InputSlice::External { input_sources, .. } = &workers[1][0] else {
            panic!("external slice expected")
        };
        assert_eq!(
            input_sources[0],
            json!({"type": "http", "uris": ["http://h/1.csv"], "httpAuthenticationUsername": null})
        );
    }

    #[test]
    fn more_workers_than_files_uses_one_worker_per_file() {
        let slicers = InputSlicers::default();
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(2)], 5), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 2);
        assert!(workers.iter().all(|w| w[0].file_count() == 1));
    }

    #[test]
    fn zero_files_still_runs_one_worker_with_a_nil_slice() {
        let slicers = InputSlicers::default();
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(0)], 4), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers, vec![vec![InputSlice::Nil]]);
        // No inputs at all: one worker, no slices.
        let none = slicers
            .worker_inputs(&stage_with(vec![], 4), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(none, vec![Vec::<InputSlice>::new()]);
    }

    #[test]
    fn unsplittable_sources_are_one_unit() {
        let inline = InputSpec::External {
            input_source: json!({"type": "inline", "data": "a\nb\n"}),
            input_format: json!({"type": "csv"}),
            signature: vec![],
        };
        let workers = InputSlicers::default()
            .worker_inputs(&stage_with(vec![inline], 3), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 1);
        assert_eq!(workers[0][0].file_count(), 1);
        let local = json!({"type": "local", "baseDir": "/tmp", "filter": "*.csv"});
        assert!(ExternalInputSpecSlicer::split_by_file(&local).is_none());
        let files = json!({"type": "local", "files": ["/a", "/b"]});
        assert_eq!(
            ExternalInputSpecSlicer::split_by_file(&files)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn known_sizes_balance_bytes_and_auto_uses_few_workers() {
        let mut slicers = InputSlicers::default();
        for (i, size) in [100u64, 10, 10, 10, 10, 10, 10, 10, 10, 10]
            .iter()
            .enumerate()
        {
            slicers
                .external
                .file_sizes
                .insert(format!("http://h/{i}.csv"), *size);
        }
        let workers = slicers
            .worker_inputs(&stage_with(vec![http(10)], 2), WorkerAssignment::Max)
            .unwrap();
        // The 100-byte file alone on worker 0, the nine small ones on worker 1.
        assert_eq!(files_of(&workers[0][0]), vec!["http://h/0.csv"]);
        assert_eq!(workers[1][0].file_count(), 9);
        let auto = WorkerAssignment::Auto {
            max_input_bytes_per_worker: 1_000,
        };
        let few = slicers
            .worker_inputs(&stage_with(vec![http(10)], 8), auto)
            .unwrap();
        assert_eq!(few.len(), 1, "190 bytes fit one worker");
        let tight = WorkerAssignment::Auto {
            max_input_bytes_per_worker: 50,
        };
        assert_eq!(
            slicers
                .worker_inputs(&stage_with(vec![http(10)], 8), tight)
                .unwrap()
                .len(),
            4
        );
        // Unknown sizes: auto behaves like max.
        let unknown = InputSlicers::default()
            .worker_inputs(&stage_with(vec![http(10)], 3), auto)
            .unwrap();
        assert_eq!(unknown.len(), 3);
    }

    #[test]
    fn stage_inputs_deal_partitions_and_broadcast_goes_everywhere() {
        let mut slicers = InputSlicers::default();
        slicers
            .stage
            .stage_partitions
            .insert(StageNumber(0), ReadablePartitions::striped(2, 5));
        slicers
            .stage
            .stage_partitions
            .insert(StageNumber(1), ReadablePartitions::collected(1));
        let mut stage = stage_with(
            vec![
                InputSpec::Stage {
                    stage: StageNumber(0),
                },
                InputSpec::Stage {
                    stage: StageNumber(1),
                },
            ],
            3,
        );
        stage.broadcast_inputs.insert(1);
        let workers = slicers
            .worker_inputs(&stage, WorkerAssignment::Max)
            .unwrap();
        assert_eq!(workers.len(), 3);
        let parts = |slice: &InputSlice| match slice {
            InputSlice::Stage { partitions, .. } => {
                partitions.iter().map(|p| p.partition.0).collect::<Vec<_>>()
            }
            _ => vec![],
        };
        assert_eq!(parts(&workers[0][0]), vec![0, 3]);
        assert_eq!(parts(&workers[1][0]), vec![1, 4]);
        assert_eq!(parts(&workers[2][0]), vec![2]);
        let InputSlice::Stage { partitions, .. } = &workers[0][0] else {
            panic!()
        };
        assert_eq!(
            partitions[0].workers,
            vec![WorkerNumber(0), WorkerNumber(1)]
        );
        for w in &workers {
            assert_eq!(parts(&w[1]), vec![0], "broadcast input to every worker");
        }
        // A broadcast-only worker beyond the partitions is dropped.
        slicers
            .stage
            .stage_partitions
            .insert(StageNumber(0), ReadablePartitions::striped(2, 1));
        assert_eq!(
            slicers
                .worker_inputs(&stage, WorkerAssignment::Max)
                .unwrap()
                .len(),
            1
        );
        // Auto carries the input stages' worker count forward.
        slicers
            .stage
            .stage_partitions
            .insert(StageNumber(0), ReadablePartitions::striped(2, 5));
        let auto = WorkerAssignment::Auto {
            max_input_bytes_per_worker: DEFAULT_MAX_INPUT_BYTES_PER_WORKER,
        };
        assert_eq!(slicers.worker_inputs(&stage, auto).unwrap().len(), 2);
        // A stage input whose stage has no results is a bug.
        let missing = stage_with(
            vec![InputSpec::Stage {
                stage: StageNumber(2),
            }],
            1,
        );
        assert!(slicers
            .worker_inputs(&missing, WorkerAssignment::Max)
            .is_err());
        assert_eq!(
            ReadablePartitions::collected(2).partitions[1].partition,
            PartitionNumber(1)
        );
    }

    #[test]
    fn table_inputs_balance_segments() {
        let mut slicers = InputSlicers::default();
        let seg = |id: &str, size| SegmentDescriptor {
            id: id.into(),
            interval: "2000/2001".into(),
            size_bytes: size,
        };
        slicers.table.segments.insert(
            "foo".into(),
            vec![seg("a", 50), seg("b", 10), seg("c", 10), seg("d", 30)],
        );
        let table = InputSpec::Table {
            data_source: "foo".into(),
            intervals: vec![],
        };
        let workers = slicers
            .worker_inputs(&stage_with(vec![table.clone()], 2), WorkerAssignment::Max)
            .unwrap();
        let ids = |s: &InputSlice| match s {
            InputSlice::Segments { segments, .. } => {
                segments.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
            }
            _ => vec![],
        };
        assert_eq!(ids(&workers[0][0]), vec!["a"]);
        assert_eq!(ids(&workers[1][0]), vec!["b", "c", "d"]);
        let empty = InputSpec::Table {
            data_source: "nothing".into(),
            intervals: vec![],
        };
        assert_eq!(
            slicers
                .worker_inputs(&stage_with(vec![empty], 2), WorkerAssignment::Max)
                .unwrap(),
            vec![vec![InputSlice::Nil]]
        );
    }

    #[test]
    fn more_than_ten_thousand_files_on_one_worker_is_too_many_input_files() {
        let slicers = InputSlicers::default();
        let stage = stage_with(vec![http(10_001)], 1);
        let workers = slicers
            .worker_inputs(&stage, WorkerAssignment::Max)
            .unwrap();
        let order = WorkOrder {
            query_id: "q".into(),
            stage_number: StageNumber(3),
            worker_number: WorkerNumber(0),
            stage_definition: stage.clone(),
            input_slices: workers[0].clone(),
            extra: None,
        };
        let f = check_work_order(&order).unwrap_err();
        assert_eq!(f.error_code, "TooManyInputFiles");
        assert_eq!(f.fields["numInputFiles"], json!(10_001));
        assert_eq!(f.fields["minNumWorkers"], json!(2));
        // Two workers: 5,001 and 5,000 files, both fine.
        let two = slicers
            .worker_inputs(&stage_with(vec![http(10_001)], 2), WorkerAssignment::Max)
            .unwrap();
        assert_eq!(two[0][0].file_count(), 5_001);
        let ok = WorkOrder {
            input_slices: two[0].clone(),
            ..order
        };
        assert!(check_work_order(&ok).is_ok());
    }
}
