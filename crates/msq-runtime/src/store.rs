//! The engine's handle on segment storage: a cloneable [`SharedStore`] over any
//! [`SegmentStore`] (memory, a directory natively, OPFS in the browser), plus what the engine
//! reads from it — datasource manifests, their columns (the catalog the planner binds
//! against) and segment bytes.

use futures::future::{FutureExt, LocalBoxFuture};
use msq_common::{MsqError, Result};
use msq_exec::segment::store::{Buffer, Read};
use msq_exec::segment::{
    segment_path, DatasourceManifest, Durable, Publisher, Segment, SegmentMeta, SegmentStore,
};
use msq_plan::ColumnType;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

/// A segment store shared by the controller and the workers of every task.
#[derive(Clone)]
pub struct SharedStore {
    store: Rc<RefCell<Box<dyn SegmentStore>>>,
    /// Segment files running tasks wrote ahead of their publish ([`SharedStore::write_ahead`]):
    /// referenced by no manifest yet, and spared by [`SharedStore::collect_garbage`].
    ahead: Rc<RefCell<BTreeSet<String>>>,
    /// The last segment version handed out ([`SharedStore::new_version`]), in UTC ms.
    last_version: Rc<Cell<i64>>,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedStore")
    }
}

impl SharedStore {
    /// Shares `store`.
    pub fn new(store: impl SegmentStore + 'static) -> Self {
        Self {
            store: Rc::new(RefCell::new(Box::new(store))),
            ahead: Rc::default(),
            last_version: Rc::new(Cell::new(i64::MIN)),
        }
    }

    /// A segment version (UTC ms, shown as its ISO time in segment ids) for an ingest
    /// starting at `now_ms`: `now_ms`, or one past the last version handed out when that is
    /// later. Druid versions come from task locks and never repeat for an interval; here
    /// they never repeat within the engine, so two ingests started in the same millisecond
    /// cannot write segments of the same id (one's file would replace the other's).
    pub fn new_version(&self, now_ms: i64) -> i64 {
        let version = now_ms.max(self.last_version.get().saturating_add(1));
        self.last_version.set(version);
        version
    }

    /// Writes a generated segment's file before the task publishes
    /// ([`Publisher::write_segment`]), so the store's writes overlap the rest of the task;
    /// the file stays invisible, and safe from [`SharedStore::collect_garbage`], until the task
    /// publishes it or lets it go ([`SharedStore::release_ahead`]).
    ///
    /// # Errors
    /// An internal error when another running task is writing a segment of the same id, or
    /// when the store fails.
    pub fn write_ahead(&self, segment: Segment) -> Result<SegmentMeta> {
        let path = segment_path(&segment.meta.id);
        if self.ahead.borrow().contains(&path) {
            return Err(MsqError::internal(format!(
                "segment [{}] is being written by another task",
                segment.meta.id
            )));
        }
        let meta = self.publisher().write_segment(segment)?;
        self.ahead.borrow_mut().insert(path);
        Ok(meta)
    }

    /// Ends the protection of segments [`SharedStore::write_ahead`] wrote: once a manifest
    /// names them (`published`), or else deleting their files (best effort: a file left behind
    /// is garbage the next collection removes).
    pub fn release_ahead(&self, segments: &[SegmentMeta], published: bool) {
        for meta in segments {
            let path = segment_path(&meta.id);
            self.ahead.borrow_mut().remove(&path);
            if !published {
                let _ = self.store.borrow_mut().delete(&path);
            }
        }
    }

    /// Deletes the segment files no manifest references, except those running tasks wrote
    /// ahead ([`Publisher::collect_garbage_sparing`]); returns the deleted paths.
    ///
    /// # Errors
    /// When the store fails or a manifest is malformed.
    pub fn collect_garbage(&self) -> Result<Vec<String>> {
        let ahead = Rc::clone(&self.ahead);
        self.publisher()
            .collect_garbage_sparing(move |path| ahead.borrow().contains(path))
    }

    /// Resolves once every write made so far is durable (at once for a store whose writes
    /// are durable when they return; see [`SegmentStore::durable`]).
    ///
    /// # Errors
    /// The error of a write the store could not apply.
    pub async fn flush(&self) -> Result<()> {
        // The future is taken out of the borrow before it is awaited.
        let durable = self.store.borrow().durable();
        match durable {
            Some(durable) => durable.await,
            None => Ok(()),
        }
    }

    /// A publisher over this store.
    pub fn publisher(&self) -> Publisher<SharedStore> {
        Publisher::new(self.clone())
    }

    /// The manifest of `data_source`, `None` when it has never been written.
    ///
    /// # Errors
    /// When the store cannot be read or the manifest is corrupt.
    pub fn manifest(&self, data_source: &str) -> Result<Option<DatasourceManifest>> {
        self.publisher().manifest(data_source)
    }

    /// Every datasource with a manifest, sorted by name.
    ///
    /// # Errors
    /// When the store cannot be listed or read.
    pub fn datasources(&self) -> Result<Vec<DatasourceManifest>> {
        let paths = self.store.borrow().list("")?;
        let mut manifests = Vec::new();
        for path in paths.iter().filter(|p| p.ends_with("/manifest.json")) {
            if let Some(bytes) = self.store.borrow().get(path)? {
                manifests.push(DatasourceManifest::from_json_bytes(&bytes)?);
            }
        }
        manifests.retain(|m| !m.segments.is_empty());
        manifests.sort_by(|a, b| a.data_source.cmp(&b.data_source));
        Ok(manifests)
    }

    /// The columns of a datasource: `__time` first, then every other column in the order
    /// segments first show it (segments appended later may add columns). Empty when unknown.
    ///
    /// # Errors
    /// When the manifest cannot be read.
    pub fn datasource_columns(&self, data_source: &str) -> Result<Vec<(String, ColumnType)>> {
        Ok(self
            .manifest(data_source)?
            .map(|m| columns_of(&m.segments))
            .unwrap_or_default())
    }

    /// The bytes of a published segment, found by its id string, read the way a query reads
    /// ([`SegmentStore::read`]): the store's own buffer where it keeps the file in memory, not
    /// a copy; fetched first where the store keeps it on disk only (OPFS).
    ///
    /// # Errors
    /// When the segment is not in the manifest or its file is missing or unreadable.
    pub fn segment_bytes(
        &self,
        data_source: &str,
        id: &str,
    ) -> LocalBoxFuture<'static, Result<Buffer>> {
        let path = match self.published_path(data_source, id) {
            Ok(path) => path,
            Err(e) => return futures::future::ready(Err(e)).boxed_local(),
        };
        let read = self.store.borrow().read(&path);
        async move {
            read.await?
                .ok_or_else(|| MsqError::internal(format!("segment file [{path}] is missing")))
        }
        .boxed_local()
    }

    /// The file of the published segment `id` of `data_source`.
    fn published_path(&self, data_source: &str, id: &str) -> Result<String> {
        let manifest = self.manifest(data_source)?.ok_or_else(|| {
            MsqError::internal(format!("datasource [{data_source}] has no manifest"))
        })?;
        let meta = manifest
            .segments
            .iter()
            .find(|s| s.id.to_string() == id)
            .ok_or_else(|| MsqError::internal(format!("segment [{id}] is not published")))?;
        Ok(segment_path(&meta.id))
    }

    /// Removes a datasource: its manifest first (so it disappears at once), then its files.
    ///
    /// # Errors
    /// When the store fails.
    pub fn drop_datasource(&self, data_source: &str) -> Result<bool> {
        let Some(manifest) = self.manifest(data_source)? else {
            return Ok(false);
        };
        let mut emptied = manifest.clone();
        emptied.segments.clear();
        emptied.version += 1;
        self.store
            .borrow_mut()
            .put_manifest_atomic(data_source, &emptied.to_json_bytes()?)?;
        self.collect_garbage()?;
        Ok(true)
    }
}

/// The union of the segments' columns, `__time` first. A column whose type differs between
/// segments takes the type that holds both ([`wider`]).
pub fn columns_of(segments: &[SegmentMeta]) -> Vec<(String, ColumnType)> {
    let mut columns: Vec<(String, ColumnType)> = vec![("__time".to_owned(), ColumnType::Long)];
    for segment in segments {
        for (name, ty) in &segment.columns {
            let ty = ColumnType::parse(&ty.as_druid_str()).unwrap_or(ColumnType::String);
            match columns.iter_mut().find(|(n, _)| n == name) {
                Some((n, existing)) if n != "__time" => *existing = wider(existing, &ty),
                Some(_) => {}
                None => columns.push((name.clone(), ty)),
            }
        }
    }
    columns
}

/// The narrowest type holding values of both `a` and `b`: numbers widen to DOUBLE (FLOAT with
/// FLOAT stays FLOAT), anything mixed with a string is a string.
pub fn wider(a: &ColumnType, b: &ColumnType) -> ColumnType {
    use ColumnType::{Double, Float, Long};
    match (a, b) {
        (x, y) if x == y => x.clone(),
        (Long | Float | Double, Long | Float | Double) => Double,
        _ => ColumnType::String,
    }
}

impl SegmentStore for SharedStore {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
        self.store.borrow_mut().put_segment(path, bytes)
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.store.borrow().get(path)
    }

    fn get_shared(&self, path: &str) -> Result<Option<Buffer>> {
        self.store.borrow().get_shared(path)
    }

    fn read(&self, path: &str) -> Read {
        self.store.borrow().read(path)
    }

    fn adopt_segment(&mut self, written: &str, path: &str) -> Result<()> {
        self.store.borrow_mut().adopt_segment(written, path)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.store.borrow().list(prefix)
    }

    fn delete(&mut self, path: &str) -> Result<()> {
        self.store.borrow_mut().delete(path)
    }

    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> Result<()> {
        self.store
            .borrow_mut()
            .put_manifest_atomic(data_source, bytes)
    }

    fn durable(&self) -> Option<Durable> {
        self.store.borrow().durable()
    }
}
