//! Key statistics and partition boundaries for globally sorted shuffles (Druid's
//! `ClusterByStatisticsCollector` and `ClusterByPartitions`; spec `druid-msq.md` §4.4).
//!
//! Keys are byte-comparable rows (`Vec<u8>`; the exec layer makes them with arrow-row), so
//! comparing keys is comparing bytes. A key's *bucket* is a byte prefix of it: the encoding
//! of the first `bucketByCount` key columns (the time chunk, `__bucket`). Arrow-row encodes
//! columns one after the other, so that prefix sorts like the bucket columns themselves.
//!
//! # The sketch
//! Each worker feeds every key with a weight (rows) into a [`ClusterByStatistics`]; the
//! controller merges all workers' statistics and cuts the key space into ranges.
//! Memory is bounded by `max_retained_keys`: when more distinct keys are held, the bucket
//! holding the most keys is *compacted* into half as many groups of about equal weight, each
//! kept as its first (smallest) key carrying the group's weight. So:
//! - total weight is exact, and weight only ever moves to a smaller retained key;
//! - each bucket's smallest key is always retained, so bucket boundaries are exact and
//!   a partition never spans two buckets;
//! - compaction is deterministic, so merging statistics in any order gives the same
//!   boundaries for the same inputs when no compaction is needed, and close ones otherwise.
//!
//! A worker whose output is sorted builds its statistics in one pass
//! ([`ClusterByStatistics::from_sorted_rows`]): equal keys are counted by comparing with the
//! previous one, and each bucket's keys are built at once. On the wire keys are hex strings
//! (a byte array in JSON is a list of numbers, four times as long and slow to parse).
//!
//! A retained key stands for all keys from it up to the next retained key; a boundary is
//! always a retained key. Partitions are `[start, end)` with `None` meaning unbounded; the
//! first starts at `None` and the last ends at `None`, so every key has a partition.

use crate::fault;
use msq_common::PartitionNumber;
use msq_model::MsqFault;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Retained keys by default (Druid bounds the sketch by memory; this is our equivalent).
/// Boundaries need far fewer keys than partitions could use: 16,384 keys place each one
/// within 1/8,192 of the rows of a bucket, and keep what every worker sends the controller
/// small (100,000 took a third of a 100k-row `COUNT(DISTINCT)` merging them).
pub const DEFAULT_MAX_RETAINED_KEYS: usize = 1 << 14;

/// Weighted key sample of one stage's output, per bucket; mergeable across workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StatisticsSnapshot", into = "StatisticsSnapshot")]
pub struct ClusterByStatistics {
    max_retained_keys: usize,
    buckets: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, u64>>,
    retained: usize,
    total_weight: u64,
}

/// Wire form of [`ClusterByStatistics`]: buckets and keys as hex strings (JSON maps cannot
/// have byte keys, and byte arrays as number lists are four times as long).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatisticsSnapshot {
    max_retained_keys: usize,
    buckets: Vec<(String, Vec<(String, u64)>)>,
}

impl From<ClusterByStatistics> for StatisticsSnapshot {
    fn from(s: ClusterByStatistics) -> Self {
        Self {
            max_retained_keys: s.max_retained_keys,
            buckets: s
                .buckets
                .into_iter()
                .map(|(b, keys)| {
                    let keys = keys.into_iter().map(|(k, w)| (hex::encode(&k), w));
                    (hex::encode(&b), keys.collect())
                })
                .collect(),
        }
    }
}

impl TryFrom<StatisticsSnapshot> for ClusterByStatistics {
    type Error = String;

    fn try_from(s: StatisticsSnapshot) -> Result<Self, String> {
        let mut stats = ClusterByStatistics::new(s.max_retained_keys);
        for (bucket, keys) in s.buckets {
            let keys = keys
                .into_iter()
                .map(|(k, w)| Ok((hex::decode(&k)?, w)))
                .collect::<Result<Vec<_>, String>>()?;
            stats.absorb(hex::decode(&bucket)?, keys);
        }
        stats.compact_to_limit();
        Ok(stats)
    }
}

/// A retained key and the rows it stands for.
type WeightedKey = (Vec<u8>, u64);

/// Lower-case hex, the wire form of keys.
mod hex {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        out
    }

    pub(super) fn decode(text: &str) -> Result<Vec<u8>, String> {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(format!("bad hex key statistics [{text}]")),
        };
        let bytes = text.as_bytes();
        if !bytes.len().is_multiple_of(2) {
            return Err(format!("bad hex key statistics [{text}]"));
        }
        bytes
            .chunks_exact(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect()
    }
}

impl Default for ClusterByStatistics {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RETAINED_KEYS)
    }
}

impl ClusterByStatistics {
    /// Empty statistics retaining at most `max_retained_keys` keys (at least 2), beyond one
    /// key per bucket.
    pub fn new(max_retained_keys: usize) -> Self {
        Self {
            max_retained_keys: max_retained_keys.max(2),
            buckets: BTreeMap::new(),
            retained: 0,
            total_weight: 0,
        }
    }

    /// Adds `weight` rows of `key`, whose first `bucket_len` bytes are its bucket (0 without
    /// bucket columns; clamped to the key's length).
    pub fn add(&mut self, key: &[u8], bucket_len: usize, weight: u64) {
        let bucket = key.get(..bucket_len).unwrap_or(key).to_vec();
        self.insert(bucket, key.to_vec(), weight);
        self.compact_to_limit();
    }

    /// Statistics of one row per key, the keys (with their bucket lengths, as in
    /// [`ClusterByStatistics::add`]) given in ascending order — a sorted stage's output. A
    /// repeated key is counted by comparing it with the previous one and each bucket's keys
    /// are built at once, where adding row by row costs a map lookup per row. Keys out of
    /// order are counted all the same, only slower.
    pub fn from_sorted_rows<'a>(
        max_retained_keys: usize,
        rows: impl IntoIterator<Item = (&'a [u8], usize)>,
    ) -> Self {
        Self::from_sorted_weighted(
            max_retained_keys,
            rows.into_iter()
                .map(|(key, bucket_len)| (key, bucket_len, 1)),
        )
    }

    /// Statistics of one row per entry of `rows` (a key and its bucket length, as in
    /// [`ClusterByStatistics::add`]), in ascending key order when `sorted`, in any order
    /// otherwise — a stage's output, gathered before it is partitioned.
    ///
    /// Up to `max_retained_keys` rows every row is counted, as
    /// [`ClusterByStatistics::from_sorted_rows`] counts them. Beyond that the statistics are
    /// built from a sample, as Druid's collectors retain a sample of a large output (its
    /// `DistinctKeyCollector` downsamples, its quantiles sketch keeps a summary): every
    /// `k`-th row, `k = ⌈rows / (max_retained_keys / 2)⌉`, stands for itself and the `k − 1`
    /// rows after it (the last one for what is left, so the total weight stays exact), and
    /// each bucket's smallest key is kept at weight 0, so bucket boundaries stay exact. Half
    /// the limit leaves room to merge another worker's sample without compacting. Only the
    /// sample is sorted and copied: a `COUNT(DISTINCT)` over 100,000 values spent most of its
    /// time sorting and retaining every one of them, in each worker and again in the
    /// controller's merge, to cut the key space into a few partitions.
    pub fn from_rows(
        max_retained_keys: usize,
        mut rows: Vec<(&[u8], usize)>,
        sorted: bool,
    ) -> Self {
        let max = max_retained_keys.max(2);
        let n = rows.len();
        if n <= max {
            if !sorted {
                rows.sort_unstable();
            }
            return Self::from_sorted_rows(max, rows);
        }
        let stride = n.div_ceil(max / 2);
        let mut sample: Vec<(&[u8], usize, u64)> = (rows.iter().step_by(stride))
            .enumerate()
            .map(|(j, &(key, bucket_len))| {
                let stands_for = stride.min(n - j * stride);
                (key, bucket_len, stands_for as u64)
            })
            .collect();
        sample.extend(bucket_minimums(&rows).into_iter().map(|(k, b)| (k, b, 0)));
        sample.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Self::from_sorted_weighted(max, sample)
    }

    /// [`ClusterByStatistics::from_sorted_rows`] of rows that each carry a weight.
    fn from_sorted_weighted<'a>(
        max_retained_keys: usize,
        rows: impl IntoIterator<Item = (&'a [u8], usize, u64)>,
    ) -> Self {
        let mut stats = Self::new(max_retained_keys);
        let limit = stats.max_retained_keys.saturating_mul(2);
        // The bucket being read and its keys so far, ascending.
        let mut run: Option<(Vec<u8>, Vec<WeightedKey>)> = None;
        for (key, bucket_len, weight) in rows {
            let bucket = key.get(..bucket_len).unwrap_or(key);
            if let Some((current, keys)) = &mut run {
                if current.as_slice() == bucket {
                    match keys.last_mut() {
                        Some((last, sum)) if last.as_slice() == key => {
                            *sum = sum.saturating_add(weight);
                            continue;
                        }
                        Some((last, _)) if last.as_slice() < key => {
                            keys.push((key.to_vec(), weight));
                            if keys.len() > limit {
                                let compacted = compact(std::mem::take(keys).into_iter().collect());
                                *keys = compacted.into_iter().collect();
                            }
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            if let Some((bucket, keys)) = run.take() {
                stats.absorb(bucket, keys);
            }
            run = Some((bucket.to_vec(), vec![(key.to_vec(), weight)]));
        }
        if let Some((bucket, keys)) = run {
            stats.absorb(bucket, keys);
        }
        stats.compact_to_limit();
        stats
    }

    /// Adds a bucket's weighted keys, built at once when they are ascending and the bucket is
    /// new. Does not compact.
    fn absorb(&mut self, bucket: Vec<u8>, keys: Vec<WeightedKey>) {
        let ascending = keys.windows(2).all(|pair| pair[0].0 < pair[1].0);
        match self.buckets.get(&bucket) {
            None if ascending => {
                let weight = keys.iter().fold(0u64, |a, (_, w)| a.saturating_add(*w));
                self.total_weight = self.total_weight.saturating_add(weight);
                self.retained += keys.len();
                self.buckets.insert(bucket, keys.into_iter().collect());
            }
            _ => {
                for (key, weight) in keys {
                    self.insert(bucket.clone(), key, weight);
                }
            }
        }
    }

    /// Merges another worker's statistics into these: each bucket's keys are merged in one
    /// ordered pass (both sides are ascending), never looked up one by one.
    pub fn merge(&mut self, other: &ClusterByStatistics) {
        for (bucket, theirs) in &other.buckets {
            let weight = theirs.values().fold(0u64, |a, w| a.saturating_add(*w));
            self.total_weight = self.total_weight.saturating_add(weight);
            let Some(mine) = self.buckets.get_mut(bucket) else {
                self.retained += theirs.len();
                self.buckets.insert(bucket.clone(), theirs.clone());
                continue;
            };
            let before = mine.len();
            let mut merged: Vec<WeightedKey> = Vec::with_capacity(before + theirs.len());
            let mut ours = std::mem::take(mine).into_iter().peekable();
            let mut theirs = theirs.iter().peekable();
            loop {
                let next = match (ours.peek(), theirs.peek()) {
                    (Some((a, _)), Some((b, _))) => a.as_slice().cmp(b.as_slice()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => break,
                };
                match next {
                    std::cmp::Ordering::Less => merged.extend(ours.next()),
                    std::cmp::Ordering::Greater => {
                        merged.extend(theirs.next().map(|(k, w)| (k.clone(), *w)));
                    }
                    std::cmp::Ordering::Equal => {
                        if let (Some((key, a)), Some((_, b))) = (ours.next(), theirs.next()) {
                            merged.push((key, a.saturating_add(*b)));
                        }
                    }
                }
            }
            self.retained = self.retained - before + merged.len();
            // Collecting ascending keys builds the map in bulk, without searching it.
            *mine = merged.into_iter().collect();
        }
        self.compact_to_limit();
    }

    fn insert(&mut self, bucket: Vec<u8>, key: Vec<u8>, weight: u64) {
        let keys = self.buckets.entry(bucket).or_default();
        let is_new = !keys.contains_key(&key);
        let slot = keys.entry(key).or_insert(0);
        *slot = slot.saturating_add(weight);
        if is_new {
            self.retained += 1;
        }
        self.total_weight = self.total_weight.saturating_add(weight);
    }

    fn compact_to_limit(&mut self) {
        while self.retained > self.max_retained_keys {
            let Some((_, keys)) = self.buckets.iter_mut().max_by_key(|(_, keys)| keys.len()) else {
                return;
            };
            if keys.len() < 2 {
                // One key per bucket cannot shrink further; TooManyBuckets bounds this.
                return;
            }
            let before = keys.len();
            let compacted = compact(std::mem::take(keys));
            self.retained = self.retained - before + compacted.len();
            *keys = compacted;
        }
    }

    /// Rows seen (exact).
    pub fn total_weight(&self) -> u64 {
        self.total_weight
    }

    /// Distinct buckets (time chunks) seen.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Keys currently retained.
    pub fn retained_keys(&self) -> usize {
        self.retained
    }

    /// Whether no key was added.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn check_buckets(&self) -> Result<(), MsqFault> {
        if self.bucket_count() > fault::MAX_PARTITION_BUCKETS {
            return Err(fault::too_many_buckets());
        }
        Ok(())
    }

    /// Partition starts for a target weight: within each bucket, a new partition starts at a
    /// key when adding it would push a non-empty partition past `target`; every bucket
    /// starts a new partition. The first start is the smallest key.
    fn starts(&self, target: u64) -> Vec<&[u8]> {
        let mut starts = Vec::new();
        for keys in self.buckets.values() {
            let mut current = 0u64;
            for (i, (key, &weight)) in keys.iter().enumerate() {
                if i == 0 || (current > 0 && current.saturating_add(weight) > target) {
                    starts.push(key.as_slice());
                    current = 0;
                }
                current = current.saturating_add(weight);
            }
        }
        starts
    }

    fn partitions_from(starts: Vec<&[u8]>) -> ClusterByPartitions {
        if starts.is_empty() {
            return ClusterByPartitions::one_universal_partition();
        }
        // The first partition reaches down to -∞ so that every key has a partition.
        let mut bounds: Vec<Option<Vec<u8>>> = vec![None];
        bounds.extend(starts.into_iter().skip(1).map(|s| Some(s.to_vec())));
        let partitions = bounds
            .iter()
            .enumerate()
            .map(|(i, start)| ClusterByPartition {
                start: start.clone(),
                end: bounds.get(i + 1).cloned().flatten(),
            })
            .collect();
        ClusterByPartitions { partitions }
    }

    /// Partitions of about `target_weight` rows each (`targetSize` shuffles), never mixing
    /// buckets. Faults: `TooManyBuckets` (> 5,000 buckets), `TooManyPartitions` (> 25,000
    /// partitions, also when the expected count `total / target` already exceeds it).
    pub fn generate_partitions_with_target_weight(
        &self,
        target_weight: u64,
    ) -> Result<ClusterByPartitions, MsqFault> {
        self.check_buckets()?;
        let target = target_weight.max(1);
        let expected = self.total_weight / target;
        if usize::try_from(expected).map_or(true, |e| e > fault::MAX_PARTITIONS) {
            return Err(fault::too_many_partitions());
        }
        let partitions = Self::partitions_from(self.starts(target));
        if partitions.len() > fault::MAX_PARTITIONS {
            return Err(fault::too_many_partitions());
        }
        Ok(partitions)
    }

    /// At most `max_count` partitions of as even weight as the sample allows (`maxCount`
    /// shuffles): the smallest target weight whose partitions number at most `max_count`.
    /// Faults: `TooManyPartitions` when `max_count` > 25,000; `TooManyBuckets`.
    pub fn generate_partitions_with_max_count(
        &self,
        max_count: usize,
    ) -> Result<ClusterByPartitions, MsqFault> {
        self.check_buckets()?;
        if max_count > fault::MAX_PARTITIONS {
            return Err(fault::too_many_partitions());
        }
        let max_count = max_count.max(1);
        if self.is_empty() || max_count == 1 {
            return Ok(ClusterByPartitions::one_universal_partition());
        }
        // Each bucket needs its own partition; more buckets than partitions cannot be honoured.
        if self.bucket_count() > max_count {
            return Err(fault::too_many_partitions());
        }
        let count_ok = |target: u64| self.starts(target).len() <= max_count;
        let mut lo = self.total_weight.div_ceil(max_count as u64).max(1);
        let mut hi = self.total_weight.max(1);
        if !count_ok(hi) {
            return Err(fault::too_many_partitions());
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if count_ok(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(Self::partitions_from(self.starts(lo)))
    }
}

/// Each bucket's smallest key (with its bucket length), of rows in any order. Rows of one
/// bucket mostly come together (a stage's input is often in time order), so the bucket is
/// looked up only when it changes from the row before.
fn bucket_minimums<'a>(rows: &[(&'a [u8], usize)]) -> Vec<(&'a [u8], usize)> {
    let mut minimums: Vec<(&'a [u8], usize)> = Vec::new();
    let mut slots: HashMap<&'a [u8], usize> = HashMap::new();
    let mut current: Option<(&'a [u8], usize)> = None;
    for &(key, bucket_len) in rows {
        let bucket = key.get(..bucket_len).unwrap_or(key);
        let slot = match current {
            Some((last, slot)) if last == bucket => slot,
            _ => *slots.entry(bucket).or_insert_with(|| {
                minimums.push((key, bucket_len));
                minimums.len() - 1
            }),
        };
        current = Some((bucket, slot));
        if key < minimums[slot].0 {
            minimums[slot] = (key, bucket_len);
        }
    }
    minimums
}

/// Halves a bucket's retained keys into groups of about equal weight; each group is kept as
/// its first key carrying the group's weight. The first key always survives and total weight
/// is unchanged. Equal-weight groups (rather than merging neighbours pairwise) keep the sample
/// balanced when keys arrive in order, where pairwise merging would pile weight on the
/// oldest keys.
fn compact(keys: BTreeMap<Vec<u8>, u64>) -> BTreeMap<Vec<u8>, u64> {
    let before = keys.len();
    let groups = (before / 2).max(1) as u64;
    let total: u64 = keys.values().fold(0u64, |a, w| a.saturating_add(*w));
    let per_group = total.div_ceil(groups).max(1);
    let mut out: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut open: Option<(Vec<u8>, u64)> = None;
    for (key, weight) in keys {
        let (start, sum) = open.get_or_insert((key, 0));
        *sum = sum.saturating_add(weight);
        if *sum >= per_group {
            out.insert(std::mem::take(start), *sum);
            open = None;
        }
    }
    if let Some((start, sum)) = open {
        out.insert(start, sum);
    }
    if out.len() >= before {
        // Cannot shrink by weight (e.g. all weights zero): merge neighbours pairwise instead.
        let mut paired = BTreeMap::new();
        let mut it = out.into_iter();
        while let Some((first, w1)) = it.next() {
            let w2 = it.next().map_or(0, |(_, w)| w);
            paired.insert(first, w1.saturating_add(w2));
        }
        return paired;
    }
    out
}

/// One output partition: keys in `[start, end)`, `None` meaning unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterByPartition {
    /// Smallest key (inclusive); `None` = from -∞.
    pub start: Option<Vec<u8>>,
    /// Key where the next partition starts (exclusive); `None` = to +∞.
    pub end: Option<Vec<u8>>,
}

/// A stage's output partitions, contiguous and ascending (Druid's `ClusterByPartitions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterByPartitions {
    /// The partitions, in key order; partition `i` is [`PartitionNumber`] `i`.
    pub partitions: Vec<ClusterByPartition>,
}

impl ClusterByPartitions {
    /// One partition holding every key.
    pub fn one_universal_partition() -> Self {
        Self {
            partitions: vec![ClusterByPartition {
                start: None,
                end: None,
            }],
        }
    }

    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    /// Whether there are no partitions.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The partition a key belongs to (what a worker uses to route rows).
    pub fn partition_for(&self, key: &[u8]) -> PartitionNumber {
        // Partitions after the first start at a key; count how many starts are <= key.
        let later = self.partitions.get(1..).unwrap_or(&[]);
        let index = later.partition_point(|p| p.start.as_deref().is_some_and(|s| s <= key));
        PartitionNumber(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A key: one bucket byte then a big-endian u32.
    fn key(bucket: u8, n: u32) -> Vec<u8> {
        let mut k = vec![bucket];
        k.extend_from_slice(&n.to_be_bytes());
        k
    }

    fn weights(
        stats: &ClusterByStatistics,
        parts: &ClusterByPartitions,
        keys: &[(Vec<u8>, u64)],
    ) -> Vec<u64> {
        let _ = stats;
        let mut w = vec![0u64; parts.len()];
        for (k, weight) in keys {
            w[parts.partition_for(k).0 as usize] += weight;
        }
        w
    }

    #[test]
    fn uniform_keys_split_evenly_by_target() {
        let mut stats = ClusterByStatistics::default();
        let keys: Vec<_> = (0..100).map(|i| (key(0, i), 1u64)).collect();
        for (k, w) in &keys {
            stats.add(k, 0, *w);
        }
        let parts = stats.generate_partitions_with_target_weight(25).unwrap();
        assert_eq!(parts.len(), 4);
        assert_eq!(weights(&stats, &parts, &keys), vec![25, 25, 25, 25]);
        assert_eq!(parts.partitions[0].start, None);
        assert_eq!(parts.partitions[3].end, None);
        assert_eq!(parts.partitions[1].start, Some(key(0, 25)));
        assert_eq!(parts.partitions[0].end, parts.partitions[1].start);
    }

    #[test]
    fn a_skewed_key_gets_its_own_partition() {
        let mut stats = ClusterByStatistics::default();
        let mut keys: Vec<_> = (0..10).map(|i| (key(0, i), 1u64)).collect();
        keys[5].1 = 1_000;
        for (k, w) in &keys {
            stats.add(k, 0, *w);
        }
        let parts = stats.generate_partitions_with_target_weight(5).unwrap();
        let w = weights(&stats, &parts, &keys);
        assert!(w.contains(&1_000), "{w:?}");
        assert!(w.iter().all(|&x| x == 1_000 || x <= 5), "{w:?}");
        assert_eq!(w.iter().sum::<u64>(), 1_009);
    }

    #[test]
    fn partitions_never_span_two_buckets() {
        let mut stats = ClusterByStatistics::default();
        let mut keys = Vec::new();
        for bucket in 0..3u8 {
            for i in 0..7 {
                keys.push((key(bucket, i), 1u64));
            }
        }
        for (k, w) in &keys {
            stats.add(k, 1, *w);
        }
        assert_eq!(stats.bucket_count(), 3);
        let parts = stats.generate_partitions_with_target_weight(100).unwrap();
        assert_eq!(
            parts.len(),
            3,
            "one per bucket even though all fit one target"
        );
        for (k, _) in &keys {
            assert_eq!(parts.partition_for(k).0, u32::from(k[0]));
        }
    }

    #[test]
    fn bounded_memory_keeps_weights_and_bucket_starts() {
        let mut stats = ClusterByStatistics::new(64);
        for bucket in 0..2u8 {
            for i in 0..10_000 {
                stats.add(&key(bucket, i), 1, 1);
            }
        }
        assert!(stats.retained_keys() <= 64);
        assert_eq!(stats.total_weight(), 20_000);
        let parts = stats.generate_partitions_with_target_weight(2_000).unwrap();
        // Bucket 1's first key starts a partition exactly.
        assert!(parts.partitions.iter().any(|p| p.start == Some(key(1, 0))));
        assert_eq!(
            parts.partition_for(&key(0, 9_999)).0 + 1,
            parts.partition_for(&key(1, 0)).0
        );
        // About ten partitions of about 2,000.
        assert!((10..=14).contains(&parts.len()), "{}", parts.len());
    }

    #[test]
    fn merging_workers_equals_one_collector() {
        let mut all = ClusterByStatistics::default();
        let mut a = ClusterByStatistics::default();
        let mut b = ClusterByStatistics::default();
        for i in 0..50 {
            all.add(&key(0, i), 0, 2);
            if i % 2 == 0 {
                a.add(&key(0, i), 0, 2)
            } else {
                b.add(&key(0, i), 0, 2)
            }
        }
        a.merge(&b);
        assert_eq!(a, all);
        let json = serde_json::to_string(&a).unwrap();
        let back: ClusterByStatistics = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn sorted_rows_give_the_statistics_of_adding_them_one_by_one() {
        // Three buckets, repeated keys, one key out of order, and more keys than retained.
        let mut rows: Vec<(Vec<u8>, usize)> = Vec::new();
        for bucket in 0..3u8 {
            for i in 0..500u32 {
                for _ in 0..(i % 3 + 1) {
                    rows.push((key(bucket, i), 1));
                }
            }
        }
        rows.insert(700, (key(0, 3), 1));
        for max in [64, 100_000] {
            let mut one_by_one = ClusterByStatistics::new(max);
            for (k, b) in &rows {
                one_by_one.add(k, *b, 1);
            }
            let sorted =
                ClusterByStatistics::from_sorted_rows(max, rows.iter().map(|(k, b)| (&k[..], *b)));
            assert_eq!(sorted.total_weight(), rows.len() as u64);
            assert_eq!(sorted.bucket_count(), 3);
            assert!(
                sorted.retained_keys() <= max.max(3),
                "{}",
                sorted.retained_keys()
            );
            if max == 100_000 {
                assert_eq!(sorted, one_by_one, "exact below the limit");
            }
            let parts = sorted.generate_partitions_with_max_count(6).unwrap();
            assert_eq!(parts.len(), 6);
        }
    }

    #[test]
    fn a_large_output_in_any_order_is_sampled_with_its_total_and_bucket_starts_exact() {
        // 3 buckets of 40,000 distinct keys each, in a scrambled order (one row per key, a
        // GROUP BY's pre-shuffle output), against 1,000 retained keys.
        let per_bucket = 40_000u32;
        let mut keys: Vec<Vec<u8>> = (0..3u8)
            .flat_map(|b| (0..per_bucket).map(move |i| key(b, i)))
            .collect();
        let n = keys.len();
        // A fixed permutation: i ↦ i·p mod n with p prime to n.
        let scrambled: Vec<Vec<u8>> = (0..n).map(|i| keys[(i * 7_919) % n].clone()).collect();
        keys.sort();
        for (rows, sorted) in [(&scrambled, false), (&keys, true)] {
            let rows_in: Vec<(&[u8], usize)> = rows.iter().map(|k| (&k[..], 1)).collect();
            let stats = ClusterByStatistics::from_rows(1_000, rows_in, sorted);
            assert_eq!(stats.total_weight(), n as u64, "sorted: {sorted}");
            assert_eq!(stats.bucket_count(), 3);
            assert!(stats.retained_keys() <= 503, "{}", stats.retained_keys());
            // Each bucket's smallest key is retained: 3 partitions are the 3 buckets.
            let parts = stats.generate_partitions_with_max_count(3).unwrap();
            let weighted: Vec<(Vec<u8>, u64)> = keys.iter().map(|k| (k.clone(), 1)).collect();
            let exact = vec![u64::from(per_bucket); 3];
            assert_eq!(
                weights(&stats, &parts, &weighted),
                exact,
                "sorted: {sorted}"
            );
            // Finer partitions are as even as a 500-key sample allows.
            let parts = stats.generate_partitions_with_max_count(12).unwrap();
            for w in weights(&stats, &parts, &weighted) {
                assert!((8_000..=12_000).contains(&w), "{w} of a 10,000-row target");
            }
        }
    }

    #[test]
    fn merging_overlapping_statistics_adds_the_weights_of_shared_keys() {
        let mut all = ClusterByStatistics::default();
        let mut a = ClusterByStatistics::default();
        let mut b = ClusterByStatistics::default();
        // Two buckets; each key is added up to three times, spread over both workers.
        for i in 0..300u32 {
            let k = key((i % 2) as u8, i / 3);
            all.add(&k, 1, 1);
            (if i % 5 < 2 { &mut a } else { &mut b }).add(&k, 1, 1);
        }
        a.merge(&b);
        assert_eq!(a, all);
    }

    #[test]
    fn statistics_cross_the_wire_as_hex() {
        let mut stats = ClusterByStatistics::new(10);
        stats.add(&[0, 1, 0xab], 1, 2);
        stats.add(&[0, 0xff], 1, 1);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"maxRetainedKeys": 10, "buckets": [["00", [["0001ab", 2], ["00ff", 1]]]]})
        );
        let back: ClusterByStatistics = serde_json::from_value(json).unwrap();
        assert_eq!(back, stats);
        let bad = serde_json::json!({"maxRetainedKeys": 10, "buckets": [["0g", []]]});
        let error = serde_json::from_value::<ClusterByStatistics>(bad).unwrap_err();
        assert!(error.to_string().contains("bad hex"), "{error}");
    }

    #[test]
    fn max_count_uses_at_most_the_count() {
        let mut stats = ClusterByStatistics::default();
        let keys: Vec<_> = (0..90).map(|i| (key(0, i), 1u64)).collect();
        for (k, w) in &keys {
            stats.add(k, 0, *w);
        }
        let parts = stats.generate_partitions_with_max_count(3).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(weights(&stats, &parts, &keys), vec![30, 30, 30]);
        assert_eq!(
            stats.generate_partitions_with_max_count(1).unwrap().len(),
            1
        );
        let empty = ClusterByStatistics::default();
        assert_eq!(
            empty.generate_partitions_with_target_weight(10).unwrap(),
            ClusterByPartitions::one_universal_partition()
        );
        assert_eq!(
            stats
                .generate_partitions_with_max_count(30_000)
                .unwrap_err()
                .error_code,
            "TooManyPartitions"
        );
    }

    #[test]
    fn too_many_partitions_and_buckets_are_faults() {
        let mut stats = ClusterByStatistics::default();
        for i in 0..30_000 {
            stats.add(&key(0, i), 0, 1);
        }
        let f = stats.generate_partitions_with_target_weight(1).unwrap_err();
        assert_eq!(f.error_code, "TooManyPartitions");
        assert_eq!(f.fields["maxPartitions"], serde_json::json!(25_000));
        let mut buckets = ClusterByStatistics::new(10);
        for i in 0..5_001u32 {
            let k = i.to_be_bytes();
            buckets.add(&k, 4, 1);
        }
        let f = buckets
            .generate_partitions_with_target_weight(1_000_000)
            .unwrap_err();
        assert_eq!(f.error_code, "TooManyBuckets");
        assert_eq!(f.fields["maxBuckets"], serde_json::json!(5_000));
    }
}
