//! [`OpfsSegmentStore`]: segment files and datasource manifests in the browser's Origin Private
//! File System (OPFS), behind the engine's synchronous [`SegmentStore`] trait (design README
//! "Data": segments live in the page's OPFS, or in memory where OPFS is missing).
//!
//! # The key decision: a synchronous catalog over an asynchronous file system
//! [`SegmentStore`] is synchronous, but every OPFS handle comes from a promise (and the
//! synchronous access handles exist only in dedicated workers, so they are not used for
//! reads: this store works the same on the page's main thread and in a worker). The store
//! therefore splits what must be synchronous from what need not be:
//!
//! ```text
//!   OpfsSegmentStore::open(root) ── async: lists every file, reads the manifests ──┐
//!                                                                                   ▼
//!   list / get (manifests) ─────────────────────────► catalog: every path (exact, sync)
//!   read (segment files) ──► in memory? ──yes──────► its bytes        │
//!                                 └──no──► read from OPFS ─► cached ──┘  (bounded, LRU)
//!   put_segment / delete / put_manifest_atomic ──┬──► catalog updated at once
//!                                                └──► journal (FIFO) ─► drain future
//!                                                     (spawn_local)     applies writes to
//!                                                                       OPFS one by one
//!   flush().await ─────────── resolves when every write queued before the call is durable
//! ```
//!
//! - **The catalog is exact and synchronous**: [`open`](OpfsSegmentStore::open) lists every
//!   file and keeps the manifests in memory (small, and what the planner and the publisher
//!   read synchronously); writes change the catalog before they return.
//! - **Segment files are read when a query asks** ([`SegmentStore::read`]) and kept in a
//!   least-recently-used cache of [`DEFAULT_CACHE_BYTES`]
//!   ([`set_cache_bytes`](OpfsSegmentStore::set_cache_bytes)). A written segment stays in
//!   memory until its write is durable, then joins the cache. So the engine's memory is
//!   bounded by the cache and the writes in flight, not by the size of the store (sessions 1–11
//!   mirrored every file: a 1M-row datasource kept 232 MB resident in the engine worker, read
//!   in whole at every page load). [`SegmentStore::get_shared`] reaches only what is in memory
//!   and names a segment file that is on disk only as an error: every reader of segment files
//!   in the engine goes through [`SegmentStore::read`]. Stage hosts keep the columns they
//!   decoded (`msq_runtime::segment_cache`), so warm queries do not come back for the file.
//! - **Writes are an ordered write-behind journal**: one background future applies them
//!   strictly in call order, so the [`Publisher`](msq_exec::segment::Publisher)'s rule
//!   "segment files first, then the manifest" holds on disk too. [`flush`](OpfsSegmentStore::flush)
//!   resolves once everything queued so far is durable; through
//!   [`SegmentStore::durable`] the controller awaits it before an INSERT/REPLACE reports
//!   SUCCESS, so a reload right after SUCCESS finds the new segments.
//! - **Stage workers write and read segment files themselves.** A segment generator in a
//!   stage worker writes its file into this store's directory as it encodes it
//!   ([`SegmentFileWriter`], at the segment's path plus `.w<worker>`), and the engine adopts it when it numbers the
//!   segment ([`SegmentStore::adopt_segment`]: listed at once, renamed in its turn in the
//!   journal). A worker scanning a datasource reads the columns it needs from the segment
//!   files ([`read_worker_segment_columns`]: only those columns' bytes) and asks the engine,
//!   whose reads go through the cache above, only for a file not yet renamed into place. So
//!   segment bytes seldom cross to the engine's thread, and the workers read and write in
//!   parallel. A worker's file that the engine never adopted (the task failed first) is not
//!   listed until the store is next [`open`](OpfsSegmentStore::open)ed; then it is garbage
//!   like any unreferenced segment file (see "Garbage").
//! - **Failures are sticky**: the first failed write is kept, the journal behind it is dropped
//!   (applying a manifest after a lost segment file would publish a broken version), and from
//!   then on [`flush`](OpfsSegmentStore::flush) returns it, [`last_error`](OpfsSegmentStore::last_error)
//!   shows it and every further write is refused. What is on disk is then a consistent prefix of
//!   the journal; re-opening the store recovers it.
//!
//! # Atomic manifests
//! OPFS has no rename in every browser, but a `createWritable()` stream writes to a swap file
//! and only replaces the target on `close()`: close is the commit point. A manifest is written
//! as `<ds>/manifest.json.tmp` first (create, write, close: proves the whole text fits before
//! the live file is touched), then `<ds>/manifest.json` the same way, then the `.tmp` is removed.
//! Until the second `close()` resolves the old `manifest.json` stays intact, so a reader or a
//! restarted engine sees the whole previous manifest or the whole new one. Leftover `.tmp` files
//! of an interrupted write are deleted by [`open`](OpfsSegmentStore::open); names ending in
//! `.tmp` are reserved and refused as store paths.
//!
//! # Garbage
//! Segment files written by a task that never published (a crash between the segments and the
//! manifest) are listed like any other file, and the engine's
//! [`Publisher::collect_garbage`](msq_exec::segment::Publisher::collect_garbage) deletes them
//! (it runs after every publish and datasource drop); the store itself does not interpret
//! manifests.
//!
//! # Layout
//! - [`OpfsSegmentStore`]: `open`, `flush`, `last_error`, `pending_writes`, the cache's
//!   `set_cache_bytes` / `cached_bytes`, and the [`SegmentStore`] impl (a cheap, cloneable
//!   handle: clones share catalog, cache and journal).
//! - [`SegmentFileWriter`] (and [`write_worker_segment`], in one piece) /
//!   [`read_worker_segment_columns`]: a stage worker's own write of a segment file into a
//!   store, and its own read of some columns of one.
//! - [`is_available`]: whether `navigator.storage.getDirectory()` exists and works here.
//! - [`clear`]: removes a store's root directory (tests, "reset storage").
//! - private: the catalog's [`Entry`], the journal ([`Write`]), its drain loop, the read-back
//!   of segment files and the OPFS helpers.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::io::Write as _;
use std::rc::Rc;

use arrow_array::RecordBatch;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use msq_common::{MsqError, Result};
use msq_exec::segment::ranges::{read_segment_columns, ReadAt};
use msq_exec::segment::store::{manifest_path, validate_path, Buffer, Durable, Read, SegmentStore};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemHandle, FileSystemHandleKind, FileSystemReadWriteOptions,
    FileSystemRemoveOptions, FileSystemSyncAccessHandle, FileSystemWritableFileStream,
    StorageManager,
};

/// Suffix of a manifest being written: never a store path, removed by [`OpfsSegmentStore::open`].
pub const TMP_SUFFIX: &str = ".tmp";

/// Suffix of Chromium's swap files behind an open writable stream; never listed.
const SWAP_SUFFIX: &str = ".crswap";

/// How many bytes of durable segment files the store keeps in memory by default. The engine
/// reads and writes few segment files itself (stage workers read and write their own; see the
/// module docs): it reads a file a worker asks for before its rename is applied, and reads and
/// writes everything only when stage work runs inside the engine's worker (where Web Workers
/// cannot start). A cold read costs about 1 ms per MB here, so the cache holds a datasource of
/// about a million rows, and larger stores no longer have to fit in the engine's memory.
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// A [`SegmentStore`] in the Origin Private File System: a synchronous catalog, a bounded cache
/// of segment files and an ordered write-behind journal (see the module docs for the design and
/// its guarantees).
///
/// Cloning gives another handle on the same store, so the engine can hand one to
/// `SharedStore` and keep one to [`flush`](OpfsSegmentStore::flush).
#[derive(Clone)]
pub struct OpfsSegmentStore {
    inner: Rc<Inner>,
}

/// One queued write.
enum Write {
    /// Write (or overwrite) a segment file.
    Put { path: String, bytes: Buffer },
    /// Delete a file (missing is fine).
    Delete { path: String },
    /// Replace a manifest: `.tmp` first, then the file itself, then drop the `.tmp`.
    Manifest { path: String, bytes: Buffer },
    /// Rename a segment file a stage worker wrote (at `from`, a path the catalog never listed)
    /// to the segment's path `to`.
    Adopt { from: String, to: String },
}

/// A file of the store, as the catalog knows it.
enum Entry {
    /// Its bytes are in memory.
    Memory {
        /// The file's content.
        bytes: Buffer,
        /// Whether it is a cached segment file (durable, so it may be dropped); manifests and
        /// segment files whose write is still queued are kept.
        cached: bool,
        /// When it was last read, on the store's clock (for least-recently-used eviction).
        used: u64,
    },
    /// A durable segment file that is not in memory: [`SegmentStore::read`] fetches it.
    Disk,
}

/// The state every handle shares.
struct Inner {
    /// The root's path below the OPFS root, as given to `open`.
    root_name: String,
    /// The root directory.
    root: FileSystemDirectoryHandle,
    /// Every file of the store, as it will be once the journal is applied.
    files: RefCell<BTreeMap<String, Entry>>,
    /// The bytes of the cached (`cached: true`) entries.
    cached_bytes: Cell<usize>,
    /// How many bytes of cached entries to keep; eviction drops the least recently used.
    cache_limit: Cell<usize>,
    /// The clock behind [`Entry::Memory::used`]: one tick per read or write.
    clock: Cell<u64>,
    /// Writes not yet applied, oldest first.
    journal: RefCell<VecDeque<Write>>,
    /// How many writes were ever queued.
    queued: Cell<u64>,
    /// How many queued writes are finished (applied, or dropped after a failure).
    finished: Cell<u64>,
    /// Whether a drain future is running.
    draining: Cell<bool>,
    /// The first failed write, sticky.
    error: RefCell<Option<MsqError>>,
    /// `flush` calls waiting for `finished` to reach their target: (target, resolve).
    waiters: RefCell<Vec<(u64, Function)>>,
}

impl fmt::Debug for OpfsSegmentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpfsSegmentStore")
            .field("root_name", &self.inner.root_name)
            .field("files", &self.inner.files.borrow().len())
            .field("pending_writes", &self.pending_writes())
            .field("error", &*self.inner.error.borrow())
            .finish()
    }
}

impl OpfsSegmentStore {
    /// Opens (creating if needed) the store rooted at `<opfs>/<root_name>` (`root_name` may
    /// be a `/`-separated path): lists every file, reads the manifests (segment files are read
    /// when a query asks) and deletes leftover `.tmp` manifests of an interrupted write.
    ///
    /// # Errors
    /// An internal error when OPFS is unavailable, `root_name` is not a valid relative path
    /// or a directory or file cannot be read.
    pub async fn open(root_name: &str) -> Result<Self> {
        let root = store_root(root_name).await?;
        let mut files = BTreeMap::new();
        let mut stale = Vec::new();
        let mut dirs = vec![(root.clone(), String::new())];
        while let Some((dir, prefix)) = dirs.pop() {
            let entries = dir.values();
            loop {
                let next = entries
                    .next()
                    .map_err(|e| js_error("listing", &prefix, &e))?;
                let step: js_sys::IteratorNext =
                    await_js(next, "listing", &prefix).await?.unchecked_into();
                if step.done() {
                    break;
                }
                let handle: FileSystemHandle = step.value().unchecked_into();
                let name = handle.name();
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                match handle.kind() {
                    FileSystemHandleKind::Directory => dirs.push((handle.unchecked_into(), path)),
                    FileSystemHandleKind::File if name.ends_with(TMP_SUFFIX) => stale.push(path),
                    FileSystemHandleKind::File
                        if !name.ends_with(SWAP_SUFFIX) && validate_path(&path).is_ok() =>
                    {
                        let entry = if is_manifest(&path) {
                            let file: FileSystemFileHandle = handle.unchecked_into();
                            Entry::Memory {
                                bytes: Buffer::from_vec(read_file(&file, &path).await?),
                                cached: false,
                                used: 0,
                            }
                        } else {
                            Entry::Disk
                        };
                        files.insert(path, entry);
                    }
                    _ => {}
                }
            }
        }
        for path in &stale {
            remove_file(&root, path).await?;
        }
        Ok(Self {
            inner: Rc::new(Inner {
                root_name: root_name.to_owned(),
                root,
                files: RefCell::new(files),
                cached_bytes: Cell::new(0),
                cache_limit: Cell::new(DEFAULT_CACHE_BYTES),
                clock: Cell::new(0),
                journal: RefCell::new(VecDeque::new()),
                queued: Cell::new(0),
                finished: Cell::new(0),
                draining: Cell::new(false),
                error: RefCell::new(None),
                waiters: RefCell::new(Vec::new()),
            }),
        })
    }

    /// The root's path below the OPFS root, as given to [`OpfsSegmentStore::open`].
    pub fn root_name(&self) -> &str {
        &self.inner.root_name
    }

    /// Resolves when every write queued before this call is durable in OPFS.
    ///
    /// # Errors
    /// The first write that failed (sticky: every later flush reports it too, and the store
    /// refuses further writes; re-open it to recover the consistent on-disk state).
    pub async fn flush(&self) -> Result<()> {
        self.inner.settle().await?;
        match self.last_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The first write that failed, if any (see [`OpfsSegmentStore::flush`]).
    pub fn last_error(&self) -> Option<MsqError> {
        self.inner.error.borrow().clone()
    }

    /// How many queued writes are not yet finished.
    pub fn pending_writes(&self) -> u64 {
        self.inner.queued.get() - self.inner.finished.get()
    }

    /// Keeps at most `bytes` of durable segment files in memory (dropping the least recently
    /// read ones now if there are more); [`DEFAULT_CACHE_BYTES`] until set. Manifests and
    /// segment files whose write is queued stay in memory whatever the limit.
    pub fn set_cache_bytes(&self, bytes: usize) {
        self.inner.cache_limit.set(bytes);
        self.inner.evict();
    }

    /// How many bytes of durable segment files are in memory now (at most the cache limit).
    pub fn cached_bytes(&self) -> usize {
        self.inner.cached_bytes.get()
    }

    /// Refuses writes after a failure.
    fn ensure_healthy(&self) -> Result<()> {
        match &*self.inner.error.borrow() {
            Some(e) => Err(MsqError::internal(format!(
                "the OPFS segment store [{}] refuses writes after an earlier failure: {e}",
                self.inner.root_name
            ))),
            None => Ok(()),
        }
    }

    /// Checks a path about to be written: valid, not reserved, and not clashing with a file
    /// that is (or lies inside) a directory of it.
    fn check_writable(&self, path: &str) -> Result<()> {
        validate_path(path)?;
        if path.ends_with(TMP_SUFFIX) || path.ends_with(SWAP_SUFFIX) {
            return Err(MsqError::internal(format!(
                "invalid segment store path [{path}]: names ending in [{TMP_SUFFIX}] or \
                 [{SWAP_SUFFIX}] are reserved"
            )));
        }
        self.ensure_healthy()?;
        let files = self.inner.files.borrow();
        let file_ancestor = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .find(|dir| files.contains_key(*dir));
        if let Some(file) = file_ancestor {
            return Err(MsqError::internal(format!(
                "cannot write [{path}]: [{file}] is a file, not a directory"
            )));
        }
        let dir = format!("{path}/");
        if files
            .range(dir.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&dir))
        {
            return Err(MsqError::internal(format!(
                "cannot write [{path}]: it is a directory"
            )));
        }
        Ok(())
    }

    /// Queues `write` and makes sure a drain future is running.
    fn enqueue(&self, write: Write) {
        let inner = &self.inner;
        inner.journal.borrow_mut().push_back(write);
        inner.queued.set(inner.queued.get() + 1);
        if !inner.draining.get() {
            inner.draining.set(true);
            wasm_bindgen_futures::spawn_local(drain(Rc::clone(inner)));
        }
    }
}

impl Inner {
    /// Resolves once every write queued before the call is finished (applied, or dropped
    /// after a failure, which this does not report).
    async fn settle(&self) -> Result<()> {
        let target = self.queued.get();
        if self.finished.get() < target {
            let mut resolver = None;
            let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
            let Some(resolve) = resolver else {
                return Err(MsqError::internal(
                    "OPFS: a flush promise was created without a resolver",
                ));
            };
            self.waiters.borrow_mut().push((target, resolve));
            // Only ever resolved, by the drain future.
            let _ = JsFuture::from(promise).await;
        }
        Ok(())
    }

    /// The next tick of the store's clock.
    fn tick(&self) -> u64 {
        let now = self.clock.get() + 1;
        self.clock.set(now);
        now
    }

    /// Keeps `bytes` in memory as the file at `path`, read now: `cached` (durable, so it joins
    /// the cache, which then drops what no longer fits) or kept until written.
    fn keep(&self, path: &str, bytes: &Buffer, cached: bool) {
        let used = self.tick();
        self.set(
            path,
            Some(Entry::Memory {
                bytes: bytes.clone(),
                cached,
                used,
            }),
        );
        if cached {
            self.evict();
        }
    }

    /// Puts `entry` at `path` (or removes the file, for `None`), keeping the cache's byte
    /// count, and returns what was there.
    fn set(&self, path: &str, entry: Option<Entry>) -> Option<Entry> {
        let mut files = self.files.borrow_mut();
        if let Some(Entry::Memory {
            bytes,
            cached: true,
            ..
        }) = &entry
        {
            self.cached_bytes.set(self.cached_bytes.get() + bytes.len());
        }
        let old = match entry {
            Some(entry) => files.insert(path.to_owned(), entry),
            None => files.remove(path),
        };
        if let Some(Entry::Memory {
            bytes,
            cached: true,
            ..
        }) = &old
        {
            self.cached_bytes.set(self.cached_bytes.get() - bytes.len());
        }
        old
    }

    /// Drops the least recently read cached segment files until the cache fits its limit.
    fn evict(&self) {
        while self.cached_bytes.get() > self.cache_limit.get() {
            let oldest = self
                .files
                .borrow()
                .iter()
                .filter_map(|(path, entry)| match entry {
                    Entry::Memory {
                        cached: true, used, ..
                    } => Some((*used, path.clone())),
                    _ => None,
                })
                .min();
            let Some((_, path)) = oldest else { break };
            self.set(&path, Some(Entry::Disk));
        }
    }

    /// The write of `bytes` to `path` is durable: unless the file changed since, its bytes
    /// join the cache.
    fn written(&self, path: &str, bytes: &Buffer) {
        let durable = matches!(
            self.files.borrow().get(path),
            Some(Entry::Memory { bytes: now, cached: false, .. }) if now.ptr_eq(bytes)
        );
        if durable {
            self.keep(path, bytes, true);
        }
    }

    /// The bytes of `path` if they are in memory (marking them read), `Ok(None)` for a file
    /// that does not exist, `Err(())` for a segment file on disk only.
    fn in_memory(&self, path: &str) -> std::result::Result<Option<Buffer>, ()> {
        let now = self.tick();
        match self.files.borrow_mut().get_mut(path) {
            None => Ok(None),
            Some(Entry::Memory { bytes, used, .. }) => {
                *used = now;
                Ok(Some(bytes.clone()))
            }
            Some(Entry::Disk) => Err(()),
        }
    }
}

impl SegmentStore for OpfsSegmentStore {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
        self.check_writable(path)?;
        let bytes = Buffer::from_vec(bytes);
        self.inner.keep(path, &bytes, false);
        self.enqueue(Write::Put {
            path: path.to_owned(),
            bytes,
        });
        Ok(())
    }

    /// The file a stage worker wrote at `written` ([`write_worker_segment`]) is listed at
    /// `path` at once, on disk only, and renamed in its turn in the journal (so a read of it
    /// waits for the rename, and a manifest naming it is written after it).
    fn adopt_segment(&mut self, written: &str, path: &str) -> Result<()> {
        validate_path(written)?;
        self.check_writable(path)?;
        self.inner.set(path, Some(Entry::Disk));
        self.enqueue(Write::Adopt {
            from: written.to_owned(),
            to: path.to_owned(),
        });
        Ok(())
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_shared(path)?.map(|bytes| bytes.to_vec()))
    }

    /// The store's own buffer, with no copy, for a file in memory (every manifest, a segment
    /// file being written or cached).
    ///
    /// # Errors
    /// For a segment file on disk only: read it with [`SegmentStore::read`].
    fn get_shared(&self, path: &str) -> Result<Option<Buffer>> {
        validate_path(path)?;
        self.inner.in_memory(path).map_err(|()| {
            MsqError::internal(format!(
                "the OPFS segment store [{}] keeps [{path}] on disk only: it is read \
                 asynchronously (SegmentStore::read)",
                self.inner.root_name
            ))
        })
    }

    /// A file in memory at once; a segment file on disk only is read from OPFS and cached.
    fn read(&self, path: &str) -> Read {
        if let Err(e) = validate_path(path) {
            return Box::pin(std::future::ready(Err(e)));
        }
        match self.inner.in_memory(path) {
            Ok(found) => Box::pin(std::future::ready(Ok(found))),
            Err(()) => Box::pin(read_back(Rc::clone(&self.inner), path.to_owned())),
        }
    }

    /// The journal's [`flush`](OpfsSegmentStore::flush): the controller awaits it before an
    /// INSERT/REPLACE reports SUCCESS.
    fn durable(&self) -> Option<Durable> {
        let store = self.clone();
        Some(Box::pin(async move { store.flush().await }))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .inner
            .files
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn delete(&mut self, path: &str) -> Result<()> {
        validate_path(path)?;
        self.ensure_healthy()?;
        // The catalog is exact, so a file it does not hold is not on disk either (once the
        // journal is applied): nothing to queue.
        if self.inner.set(path, None).is_some() {
            self.enqueue(Write::Delete {
                path: path.to_owned(),
            });
        }
        Ok(())
    }

    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> Result<()> {
        let path = manifest_path(data_source);
        self.check_writable(&path)?;
        let bytes = Buffer::from(bytes);
        self.inner.keep(&path, &bytes, false);
        self.enqueue(Write::Manifest { path, bytes });
        Ok(())
    }
}

/// Whether `path` is a datasource manifest ([`manifest_path`]: `<ds>/manifest.json`, whose
/// escaped `<ds>` has no `/`), which the store keeps in memory.
fn is_manifest(path: &str) -> bool {
    matches!(path.split_once('/'), Some((_, "manifest.json")))
}

/// Reads the segment file `path`, which the catalog lists as on disk only, from OPFS into the
/// cache, once the writes queued before are applied. The store may change while the file is
/// read: a file deleted meanwhile reads as missing, one written again meanwhile as its new
/// bytes.
async fn read_back(inner: Rc<Inner>, path: String) -> Result<Option<Buffer>> {
    // A file adopted from a stage worker is on disk under its path once the journal has
    // renamed it.
    inner.settle().await?;
    let read = async {
        let (dir, name) = parent_dir(&inner.root, &path, false)
            .await?
            .ok_or_else(|| missing(&path))?;
        let file: FileSystemFileHandle = await_js(dir.get_file_handle(name), "opening", &path)
            .await?
            .unchecked_into();
        read_segment_file(&file, &path).await
    }
    .await;
    match inner.in_memory(&path) {
        Ok(now) => Ok(now),
        Err(()) => {
            let bytes = Buffer::from_vec(read?);
            inner.keep(&path, &bytes, true);
            Ok(Some(bytes))
        }
    }
}

/// Applies the journal in order until it is empty; on the first failure keeps the error and
/// drops the rest (see the module docs). Wakes `flush` callers as writes finish.
async fn drain(inner: Rc<Inner>) {
    loop {
        // The borrow ends with the statement: writes may be queued while this one runs.
        let next = inner.journal.borrow_mut().pop_front();
        let Some(write) = next else { break };
        let result = apply(&inner.root, &write).await;
        if let (Ok(()), Write::Put { path, bytes }) = (&result, &write) {
            inner.written(path, bytes);
        }
        let mut finished = inner.finished.get() + 1;
        if let Err(e) = result {
            let dropped = {
                let mut journal = inner.journal.borrow_mut();
                let n = journal.len();
                journal.clear();
                n
            };
            finished += dropped as u64;
            inner.error.borrow_mut().get_or_insert(e);
        }
        inner.finished.set(finished);
        let ready: Vec<Function> = {
            let mut waiters = inner.waiters.borrow_mut();
            let (ready, waiting): (Vec<_>, Vec<_>) = waiters
                .drain(..)
                .partition(|(target, _)| *target <= finished);
            *waiters = waiting;
            ready.into_iter().map(|(_, resolve)| resolve).collect()
        };
        for resolve in ready {
            // Resolving a fresh promise cannot throw.
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
    inner.draining.set(false);
}

/// Applies one write to OPFS.
async fn apply(root: &FileSystemDirectoryHandle, write: &Write) -> Result<()> {
    match write {
        Write::Put { path, bytes } => {
            let (dir, name) = parent_dir(root, path, true)
                .await?
                .ok_or_else(|| missing(path))?;
            write_segment_file(&dir, name, bytes, path).await
        }
        Write::Delete { path } => remove_file(root, path).await,
        Write::Adopt { from, to } => adopt_file(root, from, to).await,
        Write::Manifest { path, bytes } => {
            let (dir, name) = parent_dir(root, path, true)
                .await?
                .ok_or_else(|| missing(path))?;
            let tmp_name = format!("{name}{TMP_SUFFIX}");
            let tmp_path = format!("{path}{TMP_SUFFIX}");
            write_file(&dir, &tmp_name, bytes, &tmp_path).await?;
            // The commit point: this stream's close() swaps the new manifest in whole.
            write_file(&dir, name, bytes, path).await?;
            remove_entry(&dir, &tmp_name, &tmp_path).await
        }
    }
}

/// Renames the file at store path `from` to `to` with `FileSystemHandle.move()` (Chromium,
/// Firefox and Safari have it in OPFS), or copies and deletes it where that is missing.
async fn adopt_file(root: &FileSystemDirectoryHandle, from: &str, to: &str) -> Result<()> {
    let (from_dir, from_name) = parent_dir(root, from, false)
        .await?
        .ok_or_else(|| missing(from))?;
    let file: FileSystemFileHandle = await_js(from_dir.get_file_handle(from_name), "opening", from)
        .await?
        .unchecked_into();
    let (to_dir, to_name) = parent_dir(root, to, true)
        .await?
        .ok_or_else(|| missing(to))?;
    let rename = Reflect::get(&file, &JsValue::from_str("move"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(rename) = rename {
        let moved = rename
            .call2(&file, &to_dir, &JsValue::from_str(to_name))
            .map_err(|e| js_error("renaming", from, &e))?;
        await_js(moved.unchecked_into(), "renaming", from).await?;
        return Ok(());
    }
    let bytes = read_segment_file(&file, from).await?;
    write_segment_file(&to_dir, to_name, &bytes, to).await?;
    remove_entry(&from_dir, from_name, from).await
}

/// Writes a segment file a stage worker generated at store path `path` of the store rooted at
/// `<opfs>/<root_name>`, from the worker's own thread, in one piece ([`SegmentFileWriter`]).
///
/// # Errors
/// As [`SegmentFileWriter::open`] and [`SegmentFileWriter::finish`].
pub async fn write_worker_segment(root_name: &str, path: &str, bytes: &[u8]) -> Result<()> {
    let mut file = SegmentFileWriter::open(root_name, path).await?;
    file.write_all(bytes)
        .map_err(|e| MsqError::internal(format!("OPFS: writing [{path}]: {e}")))?;
    file.finish().await
}

/// A segment file written as it is encoded: by a stage worker, at a store path of the
/// controller's segment store (`msq_runtime::remote::HostLinks::segment_sink`), which the
/// store's engine then adopts ([`SegmentStore::adopt_segment`]), so the file's bytes never
/// cross to the engine and never exist whole in the worker either; and by the store itself,
/// for files it is given whole.
///
/// Stage workers and the engine run in dedicated workers, so the file is written through a
/// synchronous access handle, [`SEGMENT_WRITE_BYTES`] at a time straight from wasm memory, with
/// no JavaScript copy and no swap file (a 1M-row ingest's 232 MB of segments took 1.8 s
/// through writable streams and well under a second this way; README "Browser benchmark").
/// Where there is none (the main thread, browsers without the API) the bytes are kept and
/// written like a manifest, through a writable stream, when the file is finished. The write is
/// not atomic, which a segment file does not need (module docs: an unpublished or torn
/// segment is garbage).
pub struct SegmentFileWriter {
    path: String,
    file: FileSystemFileHandle,
    /// The open handle; `None` where there are no sync access handles.
    handle: Option<FileSystemSyncAccessHandle>,
    /// Bytes not yet written (all of them without a handle).
    pending: Vec<u8>,
    /// Where the next write goes.
    at: u64,
}

/// How many bytes of a segment file are collected before they are written
/// ([`SegmentFileWriter`]): large enough that an IPC writer's many small buffers become a few
/// writes, small next to a segment (a 1M-row day is ~40 MB).
pub const SEGMENT_WRITE_BYTES: usize = 1 << 20;

impl SegmentFileWriter {
    /// Creates (or empties) the file at store path `path` of the store rooted at
    /// `<opfs>/<root_name>`.
    ///
    /// # Errors
    /// An internal error when OPFS is unavailable, a path is invalid or the file cannot be
    /// opened.
    pub async fn open(root_name: &str, path: &str) -> Result<Self> {
        validate_path(path)?;
        let root = store_root(root_name).await?;
        let (dir, name) = parent_dir(&root, path, true)
            .await?
            .ok_or_else(|| missing(path))?;
        Self::create(&dir, name, path).await
    }

    /// Creates (or empties) the file `name` of `dir`, at store path `path`.
    async fn create(dir: &FileSystemDirectoryHandle, name: &str, path: &str) -> Result<Self> {
        let file = open_file(dir, name, path).await?;
        let sync_handles =
            Reflect::has(&file, &JsValue::from_str("createSyncAccessHandle")).unwrap_or(false);
        let handle = if sync_handles {
            let handle: FileSystemSyncAccessHandle = await_js(
                file.create_sync_access_handle(),
                "opening a sync access handle on",
                path,
            )
            .await?
            .unchecked_into();
            if let Err(e) = handle.truncate_with_f64(0.0) {
                handle.close();
                return Err(js_error("emptying", path, &e));
            }
            Some(handle)
        } else {
            None
        };
        Ok(Self {
            path: path.to_owned(),
            file,
            pending: Vec::new(),
            handle,
            at: 0,
        })
    }

    /// The store path being written.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes `bytes` at the file's end through the handle.
    fn write_out(
        handle: &FileSystemSyncAccessHandle,
        at: &mut u64,
        bytes: &[u8],
        path: &str,
    ) -> std::io::Result<()> {
        write_all_at(handle, *at, bytes, path, "writing")
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        *at += bytes.len() as u64;
        Ok(())
    }

    /// Writes out what is pending and closes the file: everything written is in it.
    ///
    /// # Errors
    /// An internal error when a write or the flush fails.
    pub async fn finish(mut self) -> Result<()> {
        let io = |e: std::io::Error| MsqError::internal(e.to_string());
        match self.handle.take() {
            Some(handle) => {
                let written = Self::write_out(&handle, &mut self.at, &self.pending, &self.path)
                    .map_err(io)
                    .and_then(|()| {
                        handle
                            .flush()
                            .map_err(|e| js_error("flushing", &self.path, &e))
                    });
                handle.close();
                written
            }
            None => write_stream(&self.file, &self.pending, &self.path).await,
        }
    }
}

impl std::io::Write for SegmentFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(handle) = &self.handle else {
            self.pending.extend_from_slice(buf);
            return Ok(buf.len());
        };
        if self.pending.len() + buf.len() > SEGMENT_WRITE_BYTES {
            Self::write_out(handle, &mut self.at, &self.pending, &self.path)?;
            self.pending.clear();
        }
        if buf.len() >= SEGMENT_WRITE_BYTES {
            Self::write_out(handle, &mut self.at, buf, &self.path)?;
        } else {
            self.pending.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(handle) = &self.handle {
            Self::write_out(handle, &mut self.at, &self.pending, &self.path)?;
            self.pending.clear();
        }
        Ok(())
    }
}

impl Drop for SegmentFileWriter {
    /// A file dropped unfinished (a failed or canceled ingest) has its handle closed; what it
    /// holds is garbage nobody publishes.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.close();
        }
    }
}

/// Reads columns `columns` of the segment file at store path `path` of the store rooted at
/// `<opfs>/<root_name>` from a stage worker's own thread (`msq_runtime::remote::HostLinks`),
/// reading only the parts of the file those columns need
/// ([`msq_exec::segment::read_segment_columns`], through a synchronous access handle), so a
/// query's segment bytes never pass through the engine: `None` when there is no such file
/// (yet: the engine renames an adopted file in its journal's turn). Where another worker holds
/// the file's handle it is read whole, as a `Blob`.
///
/// # Errors
/// An internal error when OPFS is unavailable, a path is invalid, the read fails or the file
/// is not a segment.
pub async fn read_worker_segment_columns(
    root_name: &str,
    path: &str,
    columns: &[String],
) -> Result<Option<Vec<RecordBatch>>> {
    validate_path(path)?;
    let names: HashSet<&str> = columns.iter().map(String::as_str).collect();
    let root = store_root(root_name).await?;
    let Some((dir, name)) = parent_dir(&root, path, false).await? else {
        return Ok(None);
    };
    let file: FileSystemFileHandle = match JsFuture::from(dir.get_file_handle(name)).await {
        Ok(file) => file.unchecked_into(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(js_error("opening", path, &e)),
    };
    if let Some(handle) = sync_handle(&file).await {
        let file = SyncFile::open(handle, path)?;
        return read_segment_columns(&file, &names).map(Some);
    }
    let bytes = read_file(&file, path).await?;
    read_segment_columns(bytes.as_slice(), &names).map(Some)
}

/// A segment file being read through a synchronous access handle, at random ([`ReadAt`]);
/// the handle (and with it the file's lock) is closed when this is dropped.
struct SyncFile<'a> {
    handle: FileSystemSyncAccessHandle,
    path: &'a str,
    size: usize,
}

impl<'a> SyncFile<'a> {
    /// Reads through `handle` on the file at `path`.
    fn open(handle: FileSystemSyncAccessHandle, path: &'a str) -> Result<Self> {
        let mut file = Self {
            handle,
            path,
            size: 0,
        };
        file.size = file
            .handle
            .get_size()
            .map_err(|e| js_error("sizing", path, &e))? as usize;
        Ok(file)
    }
}

impl Drop for SyncFile<'_> {
    fn drop(&mut self) {
        self.handle.close();
    }
}

impl ReadAt for SyncFile<'_> {
    fn size(&self) -> usize {
        self.size
    }

    fn read_at(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        read_exact_at(&self.handle, offset as u64, len, self.path)
    }
}

/// Reads `len` bytes at `offset` of the file behind `handle` (at `path`, for errors), through
/// as many reads as it takes.
pub(crate) fn read_exact_at(
    handle: &FileSystemSyncAccessHandle,
    offset: u64,
    len: usize,
    path: &str,
) -> Result<Vec<u8>> {
    let mut bytes = vec![0_u8; len];
    let mut filled = 0;
    while filled < len {
        let options = FileSystemReadWriteOptions::new();
        options.set_at((offset + filled as u64) as f64);
        // Synchronous: wasm memory cannot grow while `read` fills the view of `bytes`.
        let n = handle
            .read_with_u8_array_and_options(&mut bytes[filled..], &options)
            .map_err(|e| js_error("reading", path, &e))?;
        if n <= 0.0 {
            break;
        }
        filled += n as usize;
    }
    if filled != len {
        return Err(MsqError::internal(format!(
            "OPFS: reading [{path}] found {filled} of {len} bytes at {offset}"
        )));
    }
    Ok(bytes)
}

/// Writes all of `bytes` at `offset` of the file behind `handle` (at `path`; `doing` words
/// the errors, e.g. "writing"), in one synchronous call: wasm memory cannot grow while `write`
/// reads the view of `bytes`.
pub(crate) fn write_all_at(
    handle: &FileSystemSyncAccessHandle,
    offset: u64,
    bytes: &[u8],
    path: &str,
    doing: &str,
) -> Result<()> {
    let options = FileSystemReadWriteOptions::new();
    options.set_at(offset as f64);
    let n = handle
        .write_with_u8_array_and_options(bytes, &options)
        .map_err(|e| js_error(doing, path, &e))?;
    if n as usize != bytes.len() {
        return Err(MsqError::internal(format!(
            "OPFS: {doing} [{path}] stored {n} of {} bytes (is the disk full?)",
            bytes.len()
        )));
    }
    Ok(())
}

/// A synchronous access handle on `file` where the API exists (dedicated workers) and no other
/// handle holds the file.
pub(crate) async fn sync_handle(file: &FileSystemFileHandle) -> Option<FileSystemSyncAccessHandle> {
    if !Reflect::has(file, &JsValue::from_str("createSyncAccessHandle")).unwrap_or(false) {
        return None;
    }
    JsFuture::from(file.create_sync_access_handle())
        .await
        .ok()
        .map(JsCast::unchecked_into)
}

/// Whether the Origin Private File System can be used here: `navigator.storage.getDirectory`
/// exists and resolves, and file handles have `createWritable` (Safari before 17.4 lacks it
/// on the main thread). The console falls back to `MemorySegmentStore` when this is `false`.
pub async fn is_available() -> bool {
    let Some(storage) = storage_manager() else {
        return false;
    };
    let writable = Reflect::get(
        &js_sys::global(),
        &JsValue::from_str("FileSystemFileHandle"),
    )
    .and_then(|class| Reflect::get(&class, &JsValue::from_str("prototype")))
    .and_then(|proto| Reflect::get(&proto, &JsValue::from_str("createWritable")))
    .is_ok_and(|f| f.is_function());
    writable && JsFuture::from(storage.get_directory()).await.is_ok()
}

/// Deletes the store rooted at `<opfs>/<root_name>` with everything in it; a missing root is
/// not an error. Open handles on it must not be used afterwards.
///
/// # Errors
/// An internal error when OPFS is unavailable, `root_name` is invalid or the removal fails.
pub async fn clear(root_name: &str) -> Result<()> {
    validate_path(root_name)?;
    let opfs = opfs_root().await?;
    let Some((dir, name)) = parent_dir(&opfs, root_name, false).await? else {
        return Ok(());
    };
    let options = FileSystemRemoveOptions::new();
    options.set_recursive(true);
    match JsFuture::from(dir.remove_entry_with_options(name, &options)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(js_error("clearing", root_name, &e)),
    }
}

/// `navigator.storage`, when it has `getDirectory` (checked by reflection: the typed bindings
/// would throw where `navigator.storage` is missing, e.g. outside a secure context).
pub(crate) fn storage_manager() -> Option<StorageManager> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    if !navigator.is_object() {
        return None;
    }
    let storage = Reflect::get(&navigator, &JsValue::from_str("storage")).ok()?;
    if !storage.is_object() {
        return None;
    }
    let get_directory = Reflect::get(&storage, &JsValue::from_str("getDirectory")).ok()?;
    get_directory
        .is_function()
        .then(|| storage.unchecked_into())
}

/// The OPFS root directory.
pub(crate) async fn opfs_root() -> Result<FileSystemDirectoryHandle> {
    let storage = storage_manager().ok_or_else(|| {
        MsqError::internal(
            "the Origin Private File System is not available here \
             (navigator.storage.getDirectory is missing)",
        )
    })?;
    Ok(
        await_js(storage.get_directory(), "opening", "the OPFS root")
            .await?
            .unchecked_into(),
    )
}

/// The directory `<opfs>/<root_name>` of a store (`root_name` may be a `/`-separated path),
/// created when missing.
pub(crate) async fn store_root(root_name: &str) -> Result<FileSystemDirectoryHandle> {
    validate_path(root_name)?;
    let mut root = opfs_root().await?;
    for part in root_name.split('/') {
        root = child_dir(&root, part, true, root_name)
            .await?
            .ok_or_else(|| missing(root_name))?;
    }
    Ok(root)
}

/// The child directory `name` of `dir`; `None` when it is missing and `create` is false.
async fn child_dir(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    create: bool,
    path: &str,
) -> Result<Option<FileSystemDirectoryHandle>> {
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    match JsFuture::from(dir.get_directory_handle_with_options(name, &options)).await {
        Ok(handle) => Ok(Some(handle.unchecked_into())),
        Err(e) if !create && is_not_found(&e) => Ok(None),
        Err(e) => Err(js_error("opening the directory of", path, &e)),
    }
}

/// The directory holding `path` (a validated store path) and the file's name in it; `None`
/// when a directory on the way is missing and `create` is false.
async fn parent_dir<'p>(
    root: &FileSystemDirectoryHandle,
    path: &'p str,
    create: bool,
) -> Result<Option<(FileSystemDirectoryHandle, &'p str)>> {
    let (dirs, name) = match path.rsplit_once('/') {
        Some((dirs, name)) => (Some(dirs), name),
        None => (None, path),
    };
    let mut dir = root.clone();
    for part in dirs.into_iter().flat_map(|d| d.split('/')) {
        match child_dir(&dir, part, create, path).await? {
            Some(child) => dir = child,
            None => return Ok(None),
        }
    }
    Ok(Some((dir, name)))
}

/// Writes a segment file in one piece ([`SegmentFileWriter`]: through a synchronous access
/// handle where there is one).
async fn write_segment_file(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    bytes: &[u8],
    path: &str,
) -> Result<()> {
    let mut file = SegmentFileWriter::create(dir, name, path).await?;
    file.write_all(bytes)
        .map_err(|e| MsqError::internal(e.to_string()))?;
    file.finish().await
}

/// Writes `bytes` as the file `name` of `dir` through a writable stream; the file changes only
/// when the stream's `close()` resolves.
async fn write_file(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    bytes: &[u8],
    path: &str,
) -> Result<()> {
    write_stream(&open_file(dir, name, path).await?, bytes, path).await
}

/// The file `name` of `dir`, created when missing.
pub(crate) async fn open_file(
    dir: &FileSystemDirectoryHandle,
    name: &str,
    path: &str,
) -> Result<FileSystemFileHandle> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    Ok(await_js(
        dir.get_file_handle_with_options(name, &options),
        "opening",
        path,
    )
    .await?
    .unchecked_into())
}

/// Writes `file` through a writable stream, whose `close()` swaps the new content in whole.
async fn write_stream(file: &FileSystemFileHandle, bytes: &[u8], path: &str) -> Result<()> {
    let stream: FileSystemWritableFileStream =
        await_js(file.create_writable(), "opening a writable stream on", path)
            .await?
            .unchecked_into();
    // A copy owned by JavaScript: the write completes asynchronously, and a view into wasm
    // memory could be detached by a memory.grow before the browser reads it.
    let data = Uint8Array::from(bytes);
    let written = match stream.write_with_js_u8_array(&data) {
        Ok(promise) => await_js(promise, "writing", path).await.map(drop),
        Err(e) => Err(js_error("writing", path, &e)),
    };
    if let Err(e) = written {
        // Aborting discards the swap file, so the previous content stays; the write's own
        // error is the one worth reporting.
        let _ = JsFuture::from(stream.abort()).await;
        return Err(e);
    }
    await_js(stream.close(), "committing (closing)", path).await?;
    Ok(())
}

/// Reads a whole segment file through a synchronous access handle where there is one (a
/// dedicated worker, where the engine runs): the bytes go from the file straight into wasm
/// memory, where reading a `Blob` copies them through the browser process and a JavaScript
/// `ArrayBuffer` first. A file another handle holds (another tab's engine writing it) is read
/// as a `Blob`, like everywhere without the API.
async fn read_segment_file(file: &FileSystemFileHandle, path: &str) -> Result<Vec<u8>> {
    let Some(handle) = sync_handle(file).await else {
        return read_file(file, path).await;
    };
    let file = SyncFile::open(handle, path)?;
    file.read_at(0, file.size)
}

/// Reads a whole file.
async fn read_file(file: &FileSystemFileHandle, path: &str) -> Result<Vec<u8>> {
    let blob: File = await_js(file.get_file(), "opening", path)
        .await?
        .unchecked_into();
    let buffer = await_js(blob.array_buffer(), "reading", path).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Deletes the file at `path` (a store path); missing files and directories are fine.
async fn remove_file(root: &FileSystemDirectoryHandle, path: &str) -> Result<()> {
    match parent_dir(root, path, false).await? {
        Some((dir, name)) => remove_entry(&dir, name, path).await,
        None => Ok(()),
    }
}

/// How long a delete waits, at most, for a stage worker reading the file to let go of it.
const LOCKED_WAIT_MS: i32 = 2_000;

/// Between tries of a delete that found the file locked.
const LOCKED_RETRY_MS: i32 = 5;

/// Removes the file `name` of `dir`; a missing one is fine. A file a stage worker is reading
/// through a synchronous access handle (held for the few milliseconds of a read,
/// [`read_worker_segment_columns`]) cannot be removed: the delete tries again until the reader
/// lets go, up to [`LOCKED_WAIT_MS`], rather than fail the journal (whose failures are sticky).
async fn remove_entry(dir: &FileSystemDirectoryHandle, name: &str, path: &str) -> Result<()> {
    let mut waited = 0;
    loop {
        match JsFuture::from(dir.remove_entry(name)).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if is_locked(&e) && waited < LOCKED_WAIT_MS => {
                crate::engine::sleep_ms(LOCKED_RETRY_MS).await;
                waited += LOCKED_RETRY_MS;
            }
            Err(e) => return Err(js_error("deleting", path, &e)),
        }
    }
}

/// Whether a rejection says another handle holds the file (`NoModificationAllowedError`).
fn is_locked(error: &JsValue) -> bool {
    js_field(error, "name").as_deref() == Some("NoModificationAllowedError")
}

/// Awaits an OPFS promise, turning a rejection into an internal error about `what` on `path`.
async fn await_js(promise: Promise, what: &str, path: &str) -> Result<JsValue> {
    JsFuture::from(promise)
        .await
        .map_err(|e| js_error(what, path, &e))
}

/// Whether a rejection is a `NotFoundError` `DOMException`.
pub(crate) fn is_not_found(error: &JsValue) -> bool {
    js_field(error, "name").as_deref() == Some("NotFoundError")
}

/// A string property of a JS value, if it has one.
pub(crate) fn js_field(value: &JsValue, field: &str) -> Option<String> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str(field))
        .ok()?
        .as_string()
}

/// A `DOMException` as `"<name>: <message>"`.
pub(crate) fn js_detail(error: &JsValue) -> String {
    match (js_field(error, "name"), js_field(error, "message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (Some(name), None) => name,
        (None, Some(message)) => message,
        (None, None) => crate::codec::describe(error),
    }
}

/// An internal error for a failed OPFS operation, with the `DOMException`'s name and message.
pub(crate) fn js_error(what: &str, path: &str, error: &JsValue) -> MsqError {
    MsqError::internal(format!(
        "OPFS: {what} [{path}] failed: {}",
        js_detail(error)
    ))
}

/// The error for a directory that `create: true` did not produce (OPFS would have rejected).
fn missing(path: &str) -> MsqError {
    MsqError::internal(format!("OPFS: the directory of [{path}] is missing"))
}
