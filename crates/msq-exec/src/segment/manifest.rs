//! Publishing: one JSON [`DatasourceManifest`] per datasource version, swapped in atomically
//! after the segment files are written (design README "Data"; spec `druid-msq.md` §1.1 for
//! INSERT vs REPLACE OVERWRITE ALL / WHERE).
//!
//! The rules [`Publisher`] implements:
//! - **INSERT appends**: the new segments join the current ones.
//! - **REPLACE** drops every current segment whose interval lies inside the replaced
//!   intervals ([`Overwrite::All`] or [`Overwrite::Intervals`]) and adds the new ones. A
//!   current segment that only *partly* overlaps them cannot be replaced: Druid fails with
//!   `InsertCannotReplaceExistingSegment`, which `msq-common` does not have, so the fault here
//!   carries the closest existing code, `QueryNotSupported`, and Druid's message. A new segment
//!   outside the replaced intervals is `InsertTimeOutOfBounds`.
//! - **Order**: segment files first, then the manifest with `version + 1` in one
//!   [`SegmentStore::put_manifest_atomic`]. A failure or crash in between leaves the previous
//!   manifest, so the previous version stays readable; the orphaned files are referenced by
//!   nothing and [`Publisher::collect_garbage`] (run at startup) deletes them. Segment ids are
//!   unique within a manifest, so a new file never overwrites a file the current version uses.
//!   A task may write its files ahead, as its workers hand them over
//!   ([`Publisher::write_segment`]), and then publish only the manifest
//!   ([`Publisher::commit_insert`], [`Publisher::commit_replace`]); garbage collection while
//!   such tasks run must spare their files ([`Publisher::collect_garbage_sparing`]).

use arrow_array::RecordBatch;
use msq_common::{exec_err, internal_err, MsqError, Result};
use serde::{Deserialize, Serialize};

use super::store::{manifest_path, segment_path, segments_prefix, SegmentStore};
use super::writer::{decode_segment, format_iso_millis, Segment, SegmentMeta};

/// The published state of one datasource: which segments make it up, at which version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceManifest {
    /// The datasource.
    pub data_source: String,
    /// Increases by one with every publish; 1 for the first.
    pub version: u64,
    /// The visible segments, sorted by id.
    pub segments: Vec<SegmentMeta>,
}

impl DatasourceManifest {
    /// Parses manifest JSON.
    ///
    /// # Errors
    /// An internal error for malformed JSON.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| MsqError::internal(format!("reading a datasource manifest: {e}")))
    }

    /// Serializes to JSON.
    ///
    /// # Errors
    /// An internal error when serialization fails (it does not for valid manifests).
    pub fn to_json_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| MsqError::internal(format!("writing a datasource manifest: {e}")))
    }
}

/// The time chunks a REPLACE overwrites (spec §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overwrite {
    /// `OVERWRITE ALL`: every existing segment goes.
    All,
    /// `OVERWRITE WHERE ...`: half-open `[start, end)` UTC millisecond intervals.
    Intervals(Vec<(i64, i64)>),
}

impl Overwrite {
    /// Sorted, merged intervals (adjacent and overlapping ones joined).
    fn merged(&self) -> Vec<(i64, i64)> {
        match self {
            Overwrite::All => vec![(i64::MIN, i64::MAX)],
            Overwrite::Intervals(intervals) => {
                let mut sorted: Vec<(i64, i64)> =
                    intervals.iter().copied().filter(|(s, e)| s < e).collect();
                sorted.sort_unstable();
                let mut merged: Vec<(i64, i64)> = Vec::with_capacity(sorted.len());
                for (s, e) in sorted {
                    match merged.last_mut() {
                        Some(last) if s <= last.1 => last.1 = last.1.max(e),
                        _ => merged.push((s, e)),
                    }
                }
                merged
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Overwrite::All => "ALL".to_owned(),
            Overwrite::Intervals(intervals) => intervals
                .iter()
                .map(|(s, e)| format!("{}/{}", format_iso_millis(*s), format_iso_millis(*e)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Where a segment `[start, end)` stands against merged intervals.
#[derive(Debug, PartialEq, Eq)]
enum Coverage {
    Inside,
    Outside,
    Partial,
}

fn coverage(merged: &[(i64, i64)], start: i64, end: i64) -> Coverage {
    if merged.iter().any(|&(s, e)| s <= start && end <= e) {
        Coverage::Inside
    } else if merged.iter().any(|&(s, e)| s < end && start < e) {
        Coverage::Partial
    } else {
        Coverage::Outside
    }
}

/// The new segments of one publish.
enum NewSegments {
    /// Segments whose files the publish writes.
    Files(Vec<Segment>),
    /// Segments whose files [`Publisher::write_segment`] wrote before.
    Written(Vec<SegmentMeta>),
}

impl NewSegments {
    fn metas(&self) -> Box<dyn Iterator<Item = &SegmentMeta> + '_> {
        match self {
            Self::Files(segments) => Box::new(segments.iter().map(|s| &s.meta)),
            Self::Written(metas) => Box::new(metas.iter()),
        }
    }
}

/// Publishes segments into a [`SegmentStore`] under the rules of the module doc.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use msq_exec::segment::{MemorySegmentStore, Overwrite, Publisher, SegmentWriter};
///
/// let day = 86_400_000;
/// let rows = |t: i64| RecordBatch::try_from_iter([("__time", Arc::new(Int64Array::from(vec![t])) as ArrayRef)]);
/// let mut publisher = Publisher::new(MemorySegmentStore::new());
/// let day0 = SegmentWriter::new("wiki", 0, day, "v1", 100)?.write(&[rows(1)?])?;
/// let day1 = SegmentWriter::new("wiki", day, 2 * day, "v1", 100)?.write(&[rows(day + 1)?])?;
/// publisher.publish_insert("wiki", day0)?;
/// let manifest = publisher.publish_insert("wiki", day1)?;
/// assert_eq!((manifest.version, manifest.segments.len()), (2, 2));
///
/// let again = SegmentWriter::new("wiki", 0, day, "v2", 100)?.write(&[rows(2)?])?;
/// let manifest = publisher.publish_replace("wiki", &Overwrite::Intervals(vec![(0, day)]), again)?;
/// assert_eq!(manifest.segments.len(), 2); // day 1 untouched, day 0 replaced
/// assert_eq!(publisher.read_datasource("wiki")?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher<S> {
    store: S,
}

impl<S: SegmentStore> Publisher<S> {
    /// A publisher over `store`. Call [`Publisher::collect_garbage`] once before publishing
    /// when the store may hold leftovers of a crashed task.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (tests simulate crashes through it).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The current manifest of `data_source`, `None` before its first publish.
    ///
    /// # Errors
    /// An internal error when the store fails or the manifest is malformed.
    pub fn manifest(&self, data_source: &str) -> Result<Option<DatasourceManifest>> {
        self.store
            .get(&manifest_path(data_source))?
            .map(|bytes| DatasourceManifest::from_json_bytes(&bytes))
            .transpose()
    }

    /// INSERT: appends `segments` to the datasource (creating it when absent): writes their
    /// files, then the manifest.
    ///
    /// # Errors
    /// An internal error for a segment of another datasource, a duplicate segment id or a
    /// failing store; the previous version then stays visible.
    pub fn publish_insert(
        &mut self,
        data_source: &str,
        segments: Vec<Segment>,
    ) -> Result<DatasourceManifest> {
        self.insert(data_source, NewSegments::Files(segments))
    }

    /// REPLACE: drops the current segments inside `overwrite` and adds `segments` (their files
    /// first, then the manifest).
    ///
    /// # Errors
    /// `QueryNotSupported` (Druid: `InsertCannotReplaceExistingSegment`) when a current
    /// segment partly overlaps the replaced intervals, `InsertTimeOutOfBounds` when a new
    /// segment lies outside them, and the errors of [`Publisher::publish_insert`].
    pub fn publish_replace(
        &mut self,
        data_source: &str,
        overwrite: &Overwrite,
        segments: Vec<Segment>,
    ) -> Result<DatasourceManifest> {
        self.replace(data_source, overwrite, NewSegments::Files(segments))
    }

    /// Writes one segment's file ahead of its publish and returns what the manifest will
    /// record: nothing visible changes until [`Publisher::commit_insert`] or
    /// [`Publisher::commit_replace`] names it, and until then the file is garbage to
    /// [`Publisher::collect_garbage`] (so a caller that writes ahead while other publishes
    /// run must spare its files: [`Publisher::collect_garbage_sparing`]).
    ///
    /// A task writes each segment as it arrives, so the store's writes overlap the
    /// generation of the next ones instead of all following it.
    ///
    /// A segment whose generator already wrote its file into the store's storage
    /// ([`Segment::file`]) is adopted under its path instead
    /// ([`SegmentStore::adopt_segment`]).
    ///
    /// # Errors
    /// An internal error for an invalid path or a failing store.
    pub fn write_segment(&mut self, segment: Segment) -> Result<SegmentMeta> {
        let path = segment_path(&segment.meta.id);
        match &segment.file {
            Some(written) => self.store.adopt_segment(written, &path)?,
            None => self.store.put_segment(&path, segment.bytes)?,
        }
        Ok(segment.meta)
    }

    /// [`Publisher::publish_insert`] of segments whose files [`Publisher::write_segment`]
    /// wrote: only the manifest is written.
    ///
    /// # Errors
    /// As [`Publisher::publish_insert`].
    pub fn commit_insert(
        &mut self,
        data_source: &str,
        segments: Vec<SegmentMeta>,
    ) -> Result<DatasourceManifest> {
        self.insert(data_source, NewSegments::Written(segments))
    }

    /// [`Publisher::publish_replace`] of segments whose files [`Publisher::write_segment`]
    /// wrote: only the manifest is written.
    ///
    /// # Errors
    /// As [`Publisher::publish_replace`].
    pub fn commit_replace(
        &mut self,
        data_source: &str,
        overwrite: &Overwrite,
        segments: Vec<SegmentMeta>,
    ) -> Result<DatasourceManifest> {
        self.replace(data_source, overwrite, NewSegments::Written(segments))
    }

    fn insert(&mut self, data_source: &str, new: NewSegments) -> Result<DatasourceManifest> {
        let current = self.manifest(data_source)?;
        let kept = current
            .as_ref()
            .map(|m| m.segments.clone())
            .unwrap_or_default();
        self.publish(data_source, current, kept, new)
    }

    fn replace(
        &mut self,
        data_source: &str,
        overwrite: &Overwrite,
        new: NewSegments,
    ) -> Result<DatasourceManifest> {
        let merged = overwrite.merged();
        for meta in new.metas() {
            let id = &meta.id;
            if coverage(&merged, id.interval_start_ms, id.interval_end_ms) != Coverage::Inside {
                exec_err!(
                    InsertTimeOutOfBounds,
                    "Query generated time chunk [{}/{}] out of bounds specified by \
                     replaceExistingTimeChunks [{}]",
                    format_iso_millis(id.interval_start_ms),
                    format_iso_millis(id.interval_end_ms),
                    overwrite.describe()
                )
            }
        }
        let current = self.manifest(data_source)?;
        let mut kept = Vec::new();
        for meta in current.iter().flat_map(|m| &m.segments) {
            match coverage(&merged, meta.id.interval_start_ms, meta.id.interval_end_ms) {
                Coverage::Inside => {}
                Coverage::Outside => kept.push(meta.clone()),
                Coverage::Partial => exec_err!(
                    QueryNotSupported,
                    "InsertCannotReplaceExistingSegment: Cannot replace existing segment [{}] \
                     because it is not within the bounds specified by \
                     replaceExistingTimeChunks [{}]. If you want to replace data in this \
                     interval, use a time chunk that covers the whole segment.",
                    meta.id,
                    overwrite.describe()
                ),
            }
        }
        self.publish(data_source, current, kept, new)
    }

    fn publish(
        &mut self,
        data_source: &str,
        current: Option<DatasourceManifest>,
        mut kept: Vec<SegmentMeta>,
        new: NewSegments,
    ) -> Result<DatasourceManifest> {
        let metas: Vec<&SegmentMeta> = new.metas().collect();
        for (i, meta) in metas.iter().enumerate() {
            let id = &meta.id;
            if id.data_source != data_source {
                internal_err!("segment [{id}] does not belong to datasource [{data_source}]")
            }
            if kept.iter().any(|m| m.id == *id) || metas[..i].iter().any(|m| m.id == *id) {
                internal_err!("segment [{id}] is already published or given twice")
            }
        }
        // 1. Segment files (unless written ahead); nothing visible changes yet.
        match new {
            NewSegments::Files(segments) => {
                for segment in segments {
                    let meta = self.write_segment(segment)?;
                    kept.push(meta);
                }
            }
            NewSegments::Written(metas) => kept.extend(metas),
        }
        // 2. The manifest, in one atomic step.
        kept.sort_by(|a, b| a.id.cmp(&b.id));
        let manifest = DatasourceManifest {
            data_source: data_source.to_owned(),
            version: current.map_or(0, |m| m.version) + 1,
            segments: kept,
        };
        self.store
            .put_manifest_atomic(data_source, &manifest.to_json_bytes()?)?;
        Ok(manifest)
    }

    /// Deletes every segment file no current manifest references (leftovers of failed or
    /// crashed publishes, and segments a REPLACE dropped); returns the deleted paths. Run it
    /// at startup, never while a publish is under way.
    ///
    /// # Errors
    /// An internal error when the store fails or a manifest is malformed.
    pub fn collect_garbage(&mut self) -> Result<Vec<String>> {
        self.collect_garbage_sparing(|_| false)
    }

    /// [`Publisher::collect_garbage`], leaving the files for which `spare` is true: those
    /// that running tasks wrote ahead of their publish ([`Publisher::write_segment`]).
    ///
    /// # Errors
    /// As [`Publisher::collect_garbage`].
    pub fn collect_garbage_sparing(&mut self, spare: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        let all = self.store.list("")?;
        let data_dirs: std::collections::BTreeSet<&str> =
            all.iter().filter_map(|p| p.split('/').next()).collect();
        for dir in data_dirs {
            let manifest = match self.store.get(&format!("{dir}/manifest.json"))? {
                Some(bytes) => Some(DatasourceManifest::from_json_bytes(&bytes)?),
                None => None,
            };
            let referenced: std::collections::HashSet<String> = manifest
                .iter()
                .flat_map(|m| m.segments.iter().map(|s| segment_path(&s.id)))
                .collect();
            let prefix = match &manifest {
                Some(m) => segments_prefix(&m.data_source),
                None => format!("{dir}/segments/"),
            };
            for path in all.iter().filter(|p| p.starts_with(&prefix)) {
                if !referenced.contains(path) && !spare(path) {
                    self.store.delete(path)?;
                    deleted.push(path.clone());
                }
            }
        }
        Ok(deleted)
    }

    /// The rows of the current version of `data_source`, segment by segment in id order
    /// (empty when it was never published). For verification and tests.
    ///
    /// # Errors
    /// An internal error when a referenced segment is missing or unreadable.
    pub fn read_datasource(&self, data_source: &str) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        for meta in self.manifest(data_source)?.iter().flat_map(|m| &m.segments) {
            let path = segment_path(&meta.id);
            let bytes = self
                .store
                .get(&path)?
                .ok_or_else(|| MsqError::internal(format!("segment file [{path}] is missing")))?;
            batches.extend(decode_segment(&bytes)?);
        }
        Ok(batches)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn intervals_merge_and_classify() {
        let o = Overwrite::Intervals(vec![(10, 20), (0, 10), (30, 40), (5, 5)]);
        let m = o.merged();
        assert_eq!(m, [(0, 20), (30, 40)]);
        assert_eq!(coverage(&m, 0, 20), Coverage::Inside);
        assert_eq!(coverage(&m, 20, 30), Coverage::Outside);
        assert_eq!(coverage(&m, 15, 35), Coverage::Partial);
        assert_eq!(
            coverage(&Overwrite::All.merged(), i64::MIN / 2, i64::MAX / 2),
            Coverage::Inside
        );
        assert_eq!(Overwrite::All.describe(), "ALL");
    }

    #[test]
    fn manifest_json_round_trips() {
        let m = DatasourceManifest {
            data_source: "wiki".into(),
            version: 3,
            segments: vec![],
        };
        let bytes = m.to_json_bytes().unwrap();
        assert!(std::str::from_utf8(&bytes)
            .unwrap()
            .contains("\"dataSource\""));
        assert_eq!(DatasourceManifest::from_json_bytes(&bytes).unwrap(), m);
        assert!(DatasourceManifest::from_json_bytes(b"{").is_err());
    }
}
