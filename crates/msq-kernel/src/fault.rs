//! Druid's limits (`Limits.java`; spec `druid-msq.md` §3.1) and the faults the kernel raises
//! when a query exceeds them, with Druid's `errorCode`, `errorMessage` and fields (§3.2).
//!
//! Faults are data ([`MsqFault`]): the controller kernel does not return them as errors but
//! emits [`KernelAction::QueryFailed`](crate::KernelAction::QueryFailed), so the driver puts
//! them in the report as they are.

use msq_model::MsqFault;
use serde_json::json;

/// Most input files or segments one worker reads (`TooManyInputFiles`).
pub const MAX_INPUT_FILES_PER_WORKER: usize = 10_000;
/// Most output partitions of a stage (`TooManyPartitions`).
pub const MAX_PARTITIONS: usize = 25_000;
/// Most time chunks (partition buckets) of a stage (`TooManyBuckets`).
pub const MAX_PARTITION_BUCKETS: usize = 5_000;
/// Most columns of a stage's signature (`TooManyColumns`).
pub const MAX_FRAME_COLUMNS: usize = 2_000;
/// Most CLUSTERED BY / sort key columns: 0.75 × [`MAX_FRAME_COLUMNS`]
/// (`TooManyClusteredByColumns`).
pub const MAX_CLUSTERED_BY_COLUMNS: usize = MAX_FRAME_COLUMNS * 3 / 4;
/// Most workers of a stage (`TooManyWorkers`).
pub const MAX_WORKERS: usize = 1_000;

fn n(v: usize) -> serde_json::Value {
    json!(v)
}

/// Formats like Java's `%,d`: `5000` → `5,000`.
fn thousands(v: usize) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `TooManyInputFiles`: a work order reads `num_input_files` > [`MAX_INPUT_FILES_PER_WORKER`];
/// `minNumWorkers` is how many workers would keep each under the limit.
pub fn too_many_input_files(num_input_files: usize) -> MsqFault {
    let max = MAX_INPUT_FILES_PER_WORKER;
    let min_workers = num_input_files.div_ceil(max);
    MsqFault::new(
        "TooManyInputFiles",
        format!(
            "Too many input files/segments [{num_input_files}] encountered. Maximum input \
             files/segments per worker is set to [{max}]. Try breaking your query up into smaller \
             queries, or increasing the number of workers to at least [{min_workers}] by setting \
             maxNumTasks in your query context"
        ),
    )
    .with_field("numInputFiles", n(num_input_files))
    .with_field("maxInputFiles", n(max))
    .with_field("minNumWorkers", n(min_workers))
}

/// `TooManyPartitions`: more than [`MAX_PARTITIONS`] output partitions.
pub fn too_many_partitions() -> MsqFault {
    MsqFault::new(
        "TooManyPartitions",
        format!(
            "Too many partitions (max = {MAX_PARTITIONS}); try breaking your query up into \
             smaller queries or using a larger target size"
        ),
    )
    .with_field("maxPartitions", n(MAX_PARTITIONS))
}

/// `TooManyBuckets`: more than [`MAX_PARTITION_BUCKETS`] time chunks.
pub fn too_many_buckets() -> MsqFault {
    MsqFault::new(
        "TooManyBuckets",
        format!(
            "Too many partition buckets (max = {}); try breaking your query up into smaller \
             queries or using a wider segmentGranularity",
            thousands(MAX_PARTITION_BUCKETS)
        ),
    )
    .with_field("maxBuckets", n(MAX_PARTITION_BUCKETS))
}

/// `TooManyColumns`: a stage signature wider than [`MAX_FRAME_COLUMNS`].
pub fn too_many_columns(num_columns: usize) -> MsqFault {
    MsqFault::new(
        "TooManyColumns",
        format!("Too many output columns (requested = {num_columns}, max = {MAX_FRAME_COLUMNS})"),
    )
    .with_field("numColumns", n(num_columns))
    .with_field("maxColumns", n(MAX_FRAME_COLUMNS))
}

/// `TooManyClusteredByColumns`: a shuffle key longer than [`MAX_CLUSTERED_BY_COLUMNS`].
pub fn too_many_clustered_by_columns(num_columns: usize, stage: u32) -> MsqFault {
    MsqFault::new(
        "TooManyClusteredByColumns",
        format!(
            "Too many cluster by columns present in stage [{stage}] (requested = {num_columns}, \
             max = {MAX_CLUSTERED_BY_COLUMNS})"
        ),
    )
    .with_field("numColumns", n(num_columns))
    .with_field("maxColumns", n(MAX_CLUSTERED_BY_COLUMNS))
    .with_field("stage", json!(stage))
}

/// `TooManyWorkers`: a stage asks for more than [`MAX_WORKERS`] workers.
pub fn too_many_workers(workers: usize) -> MsqFault {
    MsqFault::new(
        "TooManyWorkers",
        format!("Too many workers (current = {workers}; max = {MAX_WORKERS})"),
    )
    .with_field("workers", n(workers))
    .with_field("maxWorkers", n(MAX_WORKERS))
}

/// `Canceled`: the task was shut down.
pub fn canceled() -> MsqFault {
    MsqFault::new("Canceled", "Query canceled by user or by task shutdown.")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn faults_carry_druid_fields() {
        let f = serde_json::to_value(too_many_input_files(10_001)).unwrap();
        assert_eq!(f["errorCode"], "TooManyInputFiles");
        assert_eq!(
            (
                &f["numInputFiles"],
                &f["maxInputFiles"],
                &f["minNumWorkers"]
            ),
            (&json!(10_001), &json!(10_000), &json!(2))
        );
        assert!(f["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Too many input files/segments [10001] encountered."));
        let b = too_many_buckets();
        assert_eq!(
            b.error_message.as_deref(),
            Some("Too many partition buckets (max = 5,000); try breaking your query up into smaller queries or using a wider segmentGranularity")
        );
        assert_eq!(b.fields["maxBuckets"], json!(5000));
        assert_eq!(too_many_partitions().fields["maxPartitions"], json!(25_000));
        assert_eq!(MAX_CLUSTERED_BY_COLUMNS, 1_500);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
