//! How a stage's output is partitioned and sorted (`shuffleSpec`; spec `druid-msq.md` §4.4).
//!
//! | spec | [`ShuffleKind`] | statistics? | sorts? |
//! |---|---|---|---|
//! | [`ShuffleSpec::Mix`] | `MIX` | no | no |
//! | [`ShuffleSpec::Hash`] | `HASH`, or `HASH_LOCAL_SORT` when its key sorts | no | when its key sorts |
//! | [`ShuffleSpec::MaxCount`] | `GLOBAL_SORT` | when `partitions > 1` | yes |
//! | [`ShuffleSpec::TargetSize`] | `GLOBAL_SORT` | always | yes |
//!
//! A globally sorted shuffle needs key statistics from every worker before the controller can
//! pick partition boundaries; that is the stage's `POST_READING` phase (spec §4.6).

use crate::processor::saturating_i64;
use msq_common::{MsqError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// Sort order of a key column (Druid's `KeyOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyOrder {
    /// `NONE`: partition by the column without sorting (hash shuffles).
    None,
    /// `ASCENDING`.
    Ascending,
    /// `DESCENDING`.
    Descending,
}

/// One column of a [`ClusterBy`] key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyColumn {
    /// Column of the stage's signature.
    pub name: String,
    /// Its order.
    pub order: KeyOrder,
}

impl KeyColumn {
    /// An ascending key column.
    pub fn ascending(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            order: KeyOrder::Ascending,
        }
    }

    /// A descending key column.
    pub fn descending(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            order: KeyOrder::Descending,
        }
    }
}

/// A partitioning and sort key. The first `bucket_by_count` columns are time-chunk bucket
/// columns (`__bucket`): a partition never holds rows of two buckets (spec §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterBy {
    /// Key columns in order.
    pub columns: Vec<KeyColumn>,
    /// How many leading columns are bucket columns.
    pub bucket_by_count: usize,
}

impl ClusterBy {
    /// A key of `columns` without bucket columns.
    pub fn new(columns: Vec<KeyColumn>) -> Self {
        Self {
            columns,
            bucket_by_count: 0,
        }
    }

    /// A key whose first `bucket_by_count` columns are bucket columns.
    pub fn bucketed(columns: Vec<KeyColumn>, bucket_by_count: usize) -> Self {
        Self {
            columns,
            bucket_by_count,
        }
    }

    /// Whether the key sorts: it has columns and none is `NONE` (Druid's `ClusterBy.sortable()`).
    pub fn sortable(&self) -> bool {
        !self.columns.is_empty() && self.columns.iter().all(|c| c.order != KeyOrder::None)
    }

    /// The key as Druid's report JSON (`bucketByCount` omitted when 0).
    pub fn to_model(&self) -> msq_model::ClusterBy {
        msq_model::ClusterBy {
            columns: self
                .columns
                .iter()
                .map(|c| msq_model::KeyColumn {
                    column_name: c.name.clone(),
                    order: Some(match c.order {
                        KeyOrder::None => msq_model::KeyOrder::Unordered,
                        KeyOrder::Ascending => msq_model::KeyOrder::Ascending,
                        KeyOrder::Descending => msq_model::KeyOrder::Descending,
                    }),
                    extra: Map::new(),
                })
                .collect(),
            bucket_by_count: u32::try_from(self.bucket_by_count).ok(),
            extra: Map::new(),
        }
    }
}

/// Druid's `ShuffleKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShuffleKind {
    /// Everything into one partition, unsorted.
    Mix,
    /// Hash-partitioned, unsorted.
    Hash,
    /// Hash-partitioned, each partition sorted.
    HashLocalSort,
    /// Range-partitioned on sampled key boundaries, globally sorted.
    GlobalSort,
}

impl ShuffleKind {
    /// Whether output is sorted (Druid's `ShuffleKind.isSort()`).
    pub fn is_sort(self) -> bool {
        matches!(self, ShuffleKind::HashLocalSort | ShuffleKind::GlobalSort)
    }
}

/// A stage's shuffle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ShuffleSpec {
    /// `mix`: everything into one unsorted partition (scan with LIMIT and no ORDER BY).
    Mix,
    /// `hash`: `partitions` partitions by hash of the key (window and sort-merge join inputs).
    #[serde(rename_all = "camelCase")]
    Hash {
        /// The hashed key; sorted within each partition when [`ClusterBy::sortable`].
        cluster_by: ClusterBy,
        /// Number of partitions.
        partitions: u32,
    },
    /// `maxCount`: globally sorted into at most `partitions` ranges (between stages).
    #[serde(rename_all = "camelCase")]
    MaxCount {
        /// The sort key; Druid forbids bucket columns here.
        cluster_by: ClusterBy,
        /// Most partitions, at least 1.
        partitions: u32,
        /// Whether rows with equal keys are combined while sorting.
        aggregate: bool,
    },
    /// `targetSize`: globally sorted into ranges of about `target_size` rows (segments).
    #[serde(rename_all = "camelCase")]
    TargetSize {
        /// The sort key; may start with bucket columns.
        cluster_by: ClusterBy,
        /// Target rows per partition (`rowsPerSegment`, 3,000,000 by default).
        target_size: u64,
        /// Whether rows with equal keys are combined while sorting.
        aggregate: bool,
    },
}

impl ShuffleSpec {
    /// Druid's `shuffleSpec.type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ShuffleSpec::Mix => "mix",
            ShuffleSpec::Hash { .. } => "hash",
            ShuffleSpec::MaxCount { .. } => "maxCount",
            ShuffleSpec::TargetSize { .. } => "targetSize",
        }
    }

    /// The shuffle's kind.
    pub fn kind(&self) -> ShuffleKind {
        match self {
            ShuffleSpec::Mix => ShuffleKind::Mix,
            ShuffleSpec::Hash { cluster_by, .. } if cluster_by.sortable() => {
                ShuffleKind::HashLocalSort
            }
            ShuffleSpec::Hash { .. } => ShuffleKind::Hash,
            ShuffleSpec::MaxCount { .. } | ShuffleSpec::TargetSize { .. } => {
                ShuffleKind::GlobalSort
            }
        }
    }

    /// Whether the controller needs key statistics from every worker to choose partition
    /// boundaries: always for `targetSize`; for `maxCount` only with more than one partition
    /// (Druid's `needsStatistics`/`mustGatherResultKeyStatistics`).
    pub fn needs_statistics(&self) -> bool {
        match self {
            ShuffleSpec::Mix | ShuffleSpec::Hash { .. } => false,
            ShuffleSpec::MaxCount {
                partitions,
                cluster_by,
                ..
            } => *partitions > 1 || cluster_by.bucket_by_count > 0,
            ShuffleSpec::TargetSize { .. } => true,
        }
    }

    /// Whether output is sorted; the report's stage `sort` flag.
    pub fn does_sort(&self) -> bool {
        self.kind().is_sort()
    }

    /// The key, except for `mix`.
    pub fn cluster_by(&self) -> Option<&ClusterBy> {
        match self {
            ShuffleSpec::Mix => None,
            ShuffleSpec::Hash { cluster_by, .. }
            | ShuffleSpec::MaxCount { cluster_by, .. }
            | ShuffleSpec::TargetSize { cluster_by, .. } => Some(cluster_by),
        }
    }

    /// The number of partitions when it is known before the stage runs: 1 for `mix` and for
    /// a one-partition `maxCount`, `partitions` for `hash`.
    pub fn static_partition_count(&self) -> Option<u32> {
        match self {
            ShuffleSpec::Mix => Some(1),
            ShuffleSpec::Hash { partitions, .. } => Some(*partitions),
            ShuffleSpec::MaxCount { .. } if !self.needs_statistics() => Some(1),
            ShuffleSpec::MaxCount { .. } | ShuffleSpec::TargetSize { .. } => None,
        }
    }

    /// Checks Druid's constructor rules: at least one partition, sortable global-sort keys,
    /// bucket columns only for `targetSize` and within the key. Errors are planner bugs
    /// (internal).
    pub fn validate(&self) -> Result<()> {
        if let Some(cluster_by) = self.cluster_by() {
            if cluster_by.bucket_by_count > cluster_by.columns.len() {
                return Err(MsqError::internal(format!(
                    "bucketByCount [{}] exceeds the [{}] key columns",
                    cluster_by.bucket_by_count,
                    cluster_by.columns.len()
                )));
            }
        }
        match self {
            ShuffleSpec::Mix => Ok(()),
            ShuffleSpec::Hash { partitions, .. } if *partitions < 1 => Err(MsqError::internal(
                "Partition count must be at least 1".to_owned(),
            )),
            ShuffleSpec::Hash { .. } => Ok(()),
            ShuffleSpec::MaxCount {
                cluster_by,
                partitions,
                ..
            } => {
                if *partitions < 1 {
                    return Err(MsqError::internal("Partition count must be at least 1"));
                }
                if !cluster_by.columns.is_empty() && !cluster_by.sortable() {
                    return Err(MsqError::internal("ClusterBy key must be sortable"));
                }
                if cluster_by.bucket_by_count > 0 {
                    return Err(MsqError::internal(
                        "Cannot bucket with maxCount partitioning",
                    ));
                }
                Ok(())
            }
            ShuffleSpec::TargetSize {
                cluster_by,
                target_size,
                ..
            } => {
                if !cluster_by.sortable() {
                    return Err(MsqError::internal("ClusterBy key must be sortable"));
                }
                if *target_size == 0 {
                    return Err(MsqError::internal("targetSize must be at least 1"));
                }
                Ok(())
            }
        }
    }

    /// The shuffle as Druid's report JSON: `aggregate` only when true (Jackson `NON_DEFAULT`).
    pub fn to_model(&self) -> msq_model::ShuffleSpec {
        let mut spec = msq_model::ShuffleSpec {
            shuffle_type: self.type_name().to_owned(),
            cluster_by: self.cluster_by().map(ClusterBy::to_model),
            target_size: None,
            partitions: None,
            aggregate: None,
            limit_hint: None,
            extra: Map::new(),
        };
        match self {
            ShuffleSpec::Mix => {}
            ShuffleSpec::Hash { partitions, .. } => spec.partitions = Some(*partitions),
            ShuffleSpec::MaxCount {
                partitions,
                aggregate,
                ..
            } => {
                spec.partitions = Some(*partitions);
                spec.aggregate = aggregate.then_some(true);
            }
            ShuffleSpec::TargetSize {
                target_size,
                aggregate,
                ..
            } => {
                spec.target_size = Some(saturating_i64(*target_size));
                spec.aggregate = aggregate.then_some(true);
            }
        }
        spec
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(names: &[&str]) -> ClusterBy {
        ClusterBy::new(names.iter().map(|n| KeyColumn::ascending(*n)).collect())
    }

    #[test]
    fn kinds_statistics_and_sorting_follow_druid() {
        assert_eq!(ShuffleSpec::Mix.kind(), ShuffleKind::Mix);
        assert!(!ShuffleSpec::Mix.does_sort() && !ShuffleSpec::Mix.needs_statistics());
        let hash = ShuffleSpec::Hash {
            cluster_by: ClusterBy::new(vec![KeyColumn {
                name: "k".into(),
                order: KeyOrder::None,
            }]),
            partitions: 4,
        };
        assert_eq!((hash.kind(), hash.does_sort()), (ShuffleKind::Hash, false));
        let sorted_hash = ShuffleSpec::Hash {
            cluster_by: key(&["k"]),
            partitions: 4,
        };
        assert_eq!(sorted_hash.kind(), ShuffleKind::HashLocalSort);
        assert!(sorted_hash.does_sort() && !sorted_hash.needs_statistics());
        let one = ShuffleSpec::MaxCount {
            cluster_by: key(&["d"]),
            partitions: 1,
            aggregate: true,
        };
        assert!(one.does_sort() && !one.needs_statistics());
        assert_eq!(one.static_partition_count(), Some(1));
        let many = ShuffleSpec::MaxCount {
            cluster_by: key(&["d"]),
            partitions: 3,
            aggregate: false,
        };
        assert!(many.needs_statistics());
        assert_eq!(many.static_partition_count(), None);
        let target = ShuffleSpec::TargetSize {
            cluster_by: key(&["__bucket"]),
            target_size: 10,
            aggregate: false,
        };
        assert_eq!(target.kind(), ShuffleKind::GlobalSort);
        assert!(target.needs_statistics());
    }

    #[test]
    fn validation_rejects_what_druid_rejects() {
        let bucketed_max = ShuffleSpec::MaxCount {
            cluster_by: ClusterBy::bucketed(vec![KeyColumn::ascending("__bucket")], 1),
            partitions: 2,
            aggregate: false,
        };
        assert!(bucketed_max.validate().is_err());
        let zero = ShuffleSpec::Hash {
            cluster_by: key(&["a"]),
            partitions: 0,
        };
        assert!(zero.validate().is_err());
        let overlong = ShuffleSpec::TargetSize {
            cluster_by: ClusterBy::bucketed(vec![KeyColumn::ascending("a")], 2),
            target_size: 5,
            aggregate: false,
        };
        assert!(overlong.validate().is_err());
        assert!(ShuffleSpec::Mix.validate().is_ok());
    }

    #[test]
    fn model_json_matches_druid() {
        let spec = ShuffleSpec::MaxCount {
            cluster_by: ClusterBy::new(vec![KeyColumn::descending("d0")]),
            partitions: 2,
            aggregate: true,
        };
        assert_eq!(
            serde_json::to_value(spec.to_model()).unwrap(),
            json!({"type": "maxCount",
                   "clusterBy": {"columns": [{"columnName": "d0", "order": "DESCENDING"}]},
                   "partitions": 2, "aggregate": true})
        );
        let hash = ShuffleSpec::Hash {
            cluster_by: ClusterBy::new(vec![KeyColumn {
                name: "k".into(),
                order: KeyOrder::None,
            }]),
            partitions: 3,
        };
        assert_eq!(
            serde_json::to_value(hash.to_model()).unwrap(),
            json!({"type": "hash", "clusterBy": {"columns": [{"columnName": "k", "order": "NONE"}]}, "partitions": 3})
        );
        assert_eq!(
            serde_json::to_value(ShuffleSpec::Mix.to_model()).unwrap(),
            json!({"type": "mix"})
        );
    }
}
