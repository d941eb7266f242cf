//! Where segment files and manifests live: a small synchronous, byte-oriented [`SegmentStore`]
//! trait (design README "Data": segments in the page's OPFS, or in memory where OPFS is
//! missing), with [`MemorySegmentStore`] and, off wasm32, [`DirSegmentStore`] (`std::fs`).
//!
//! The trait is sync, so the publisher and the planner read manifests without awaiting, and
//! byte-oriented so an OPFS implementation needs nothing from Arrow. The one asynchronous
//! method, [`SegmentStore::read`], is for segment files: a store may keep those on disk only
//! (the OPFS store keeps a bounded cache of them) and fetch them when a query asks.
//!
//! # Paths
//! Paths are `/`-separated and relative, with no empty, `.` or `..` component. The publisher
//! uses [`manifest_path`] (`<ds>/manifest.json`) and [`segment_path`]
//! (`<ds>/segments/<segment id>.arrow`), with names escaped by [`escape_name`] so any
//! datasource name or version maps to one safe path component and distinct names never
//! collide.

use std::collections::BTreeMap;

pub use arrow_buffer::Buffer;
use msq_common::{internal_err, Result};

use super::writer::SegmentId;

/// A place to keep segment files and datasource manifests.
///
/// Implementations must make [`SegmentStore::put_manifest_atomic`] atomic: a reader (or a
/// restarted engine) sees either the whole previous manifest or the whole new one, never a
/// mix or nothing. Segment writes need no such guarantee: an unreferenced or torn segment file
/// is garbage that [`super::manifest::Publisher::collect_garbage`] deletes.
pub trait SegmentStore {
    /// Writes (or overwrites) a segment file. The bytes are handed over, so a store that keeps
    /// files in memory keeps them without a copy.
    ///
    /// # Errors
    /// An internal error for an invalid path or a failed write.
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()>;

    /// Reads a file, `None` when it does not exist.
    ///
    /// # Errors
    /// An internal error for an invalid path or a failed read.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>>;

    /// Reads a file as a shared buffer, `None` when it does not exist. A store that keeps its
    /// files in memory hands out its own bytes without copying them, so reading a few columns
    /// of a large segment copies only those columns; the default copies through
    /// [`SegmentStore::get`].
    ///
    /// # Errors
    /// As [`SegmentStore::get`].
    fn get_shared(&self, path: &str) -> Result<Option<Buffer>> {
        Ok(self.get(path)?.map(Buffer::from_vec))
    }

    /// Reads a file the way a query does: like [`SegmentStore::get_shared`], but a store that
    /// keeps segment files on disk only (where [`SegmentStore::get_shared`] cannot reach them
    /// synchronously) fetches the file. The future owns what it needs, so it can outlive the
    /// borrow of the store. The default is [`SegmentStore::get_shared`], ready at once.
    fn read(&self, path: &str) -> Read {
        Box::pin(std::future::ready(self.get_shared(path)))
    }

    /// Takes in, under the segment path `path`, a segment file that a stage worker wrote into
    /// this store's storage itself at `written` (see `Segment::file`): the file is renamed
    /// (or copied) to `path` and is then like any file [`SegmentStore::put_segment`] wrote. A
    /// store whose storage no worker can reach refuses, which is the default.
    ///
    /// # Errors
    /// An internal error for an invalid path, a store that cannot adopt files, or one whose
    /// storage has no file at `written`.
    fn adopt_segment(&mut self, written: &str, path: &str) -> Result<()> {
        internal_err!(
            "this segment store cannot take in [{written}] as [{path}]: its storage is not \
             shared with the workers"
        )
    }

    /// Every stored path starting with `prefix` (a plain string prefix), sorted.
    ///
    /// # Errors
    /// An internal error when the store cannot be listed.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Deletes a file; deleting a missing file is not an error.
    ///
    /// # Errors
    /// An internal error for an invalid path or a failed delete.
    fn delete(&mut self, path: &str) -> Result<()>;

    /// Replaces the manifest of `data_source` (at [`manifest_path`]) in one atomic step.
    ///
    /// # Errors
    /// An internal error when the manifest cannot be written; the previous one then stays.
    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> Result<()>;

    /// For a store that writes behind (OPFS applies its writes after they return): a future
    /// that resolves once every write made so far is durable, or fails with the write that
    /// failed. `None` (the default) when a write is durable by the time it returns.
    ///
    /// The controller awaits it after publishing an INSERT/REPLACE, so SUCCESS means what it
    /// means in Druid — the segments and the manifest are in deep storage — and a reload
    /// right after SUCCESS still finds them.
    fn durable(&self) -> Option<Durable> {
        None
    }
}

/// What [`SegmentStore::durable`] returns: resolves once the writes are durable.
pub type Durable = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>>>>;

/// What [`SegmentStore::read`] returns: the file's bytes, `None` when it does not exist.
pub type Read = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Buffer>>>>>;

/// Escapes a name into one path component: ASCII letters, digits, `.`, `-` and `_` stay,
/// every other byte becomes `%XX`, and a leading `.` is escaped too (so no `.`/`..`/hidden
/// names). The mapping is injective.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

/// Where the manifest of `data_source` lives.
pub fn manifest_path(data_source: &str) -> String {
    format!("{}/manifest.json", escape_name(data_source))
}

/// The directory prefix of `data_source`'s segment files.
pub fn segments_prefix(data_source: &str) -> String {
    format!("{}/segments/", escape_name(data_source))
}

/// Where the segment `id` is stored.
pub fn segment_path(id: &SegmentId) -> String {
    segment_path_of(&id.data_source, &id.to_string())
}

/// [`segment_path`] from a datasource and a segment id's string form (what a worker's input
/// slice names).
pub fn segment_path_of(data_source: &str, id: &str) -> String {
    format!("{}{}.arrow", segments_prefix(data_source), escape_name(id))
}

/// Checks the path rules of the module doc.
///
/// # Errors
/// An internal error naming the bad path.
pub fn validate_path(path: &str) -> Result<()> {
    if path.is_empty()
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        || path.contains('\\')
    {
        internal_err!("invalid segment store path [{path}]")
    }
    Ok(())
}

/// Segments and manifests in memory: the fallback where OPFS is missing, and the test store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemorySegmentStore {
    files: BTreeMap<String, Buffer>,
}

impl MemorySegmentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SegmentStore for MemorySegmentStore {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
        validate_path(path)?;
        self.files.insert(path.to_owned(), Buffer::from_vec(bytes));
        Ok(())
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_shared(path)?.map(|bytes| bytes.to_vec()))
    }

    fn get_shared(&self, path: &str) -> Result<Option<Buffer>> {
        validate_path(path)?;
        Ok(self.files.get(path).cloned())
    }

    /// A rename within the map: a worker sharing this store (a test's loopback host) put the
    /// file at `written` first.
    fn adopt_segment(&mut self, written: &str, path: &str) -> Result<()> {
        validate_path(path)?;
        match self.files.remove(written) {
            Some(bytes) => {
                self.files.insert(path.to_owned(), bytes);
                Ok(())
            }
            None => internal_err!("cannot take in [{written}] as [{path}]: no such file"),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .files
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn delete(&mut self, path: &str) -> Result<()> {
        validate_path(path)?;
        self.files.remove(path);
        Ok(())
    }

    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> Result<()> {
        // One map insert: atomic by construction.
        self.files
            .insert(manifest_path(data_source), Buffer::from(bytes));
        Ok(())
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use dir::DirSegmentStore;

#[cfg(not(target_arch = "wasm32"))]
mod dir {
    use std::fs;
    use std::io::{ErrorKind, Write};
    use std::path::{Path, PathBuf};

    use msq_common::{MsqError, Result};

    use super::{manifest_path, validate_path, SegmentStore};

    /// Suffix of a manifest being written; never listed, removed by [`DirSegmentStore::open`].
    const TMP_SUFFIX: &str = ".tmp";

    /// Segments and manifests as files under a root directory (native builds only: wasm32
    /// has no file system). Manifests are swapped by writing `manifest.json.tmp`, syncing it
    /// and renaming it over `manifest.json`, which POSIX makes atomic.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DirSegmentStore {
        root: PathBuf,
    }

    fn io_err(what: &str, path: &Path, e: std::io::Error) -> MsqError {
        MsqError::internal(format!("{what} [{}]: {e}", path.display()))
    }

    impl DirSegmentStore {
        /// Opens (creating if needed) a store rooted at `root`, removing temporary files a
        /// crash left behind.
        ///
        /// # Errors
        /// An internal error when the directory cannot be created or read.
        pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
            let root = root.into();
            fs::create_dir_all(&root).map_err(|e| io_err("creating", &root, e))?;
            let store = Self { root };
            let mut all = Vec::new();
            store.walk(&store.root, &mut all)?;
            for path in all {
                if path.extension().is_some_and(|e| e == &TMP_SUFFIX[1..]) {
                    fs::remove_file(&path).map_err(|e| io_err("removing", &path, e))?;
                }
            }
            Ok(store)
        }

        /// The root directory.
        pub fn root(&self) -> &Path {
            &self.root
        }

        fn full(&self, path: &str) -> Result<PathBuf> {
            validate_path(path)?;
            Ok(path.split('/').fold(self.root.clone(), |p, c| p.join(c)))
        }

        fn walk(&self, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
            let entries = match fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_err("listing", dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_err("listing", dir, e))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|e| io_err("listing", &path, e))?;
                if kind.is_dir() {
                    self.walk(&path, out)?;
                } else {
                    out.push(path);
                }
            }
            Ok(())
        }

        fn write_file(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err("creating", parent, e))?;
            }
            let mut file = fs::File::create(path).map_err(|e| io_err("creating", path, e))?;
            file.write_all(bytes)
                .map_err(|e| io_err("writing", path, e))?;
            if sync {
                file.sync_all().map_err(|e| io_err("syncing", path, e))?;
            }
            Ok(())
        }
    }

    impl SegmentStore for DirSegmentStore {
        fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
            // Synced so a manifest written afterwards never references a lost file.
            Self::write_file(&self.full(path)?, &bytes, true)
        }

        fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
            let full = self.full(path)?;
            match fs::read(&full) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err("reading", &full, e)),
            }
        }

        fn list(&self, prefix: &str) -> Result<Vec<String>> {
            let mut all = Vec::new();
            self.walk(&self.root, &mut all)?;
            let mut paths: Vec<String> = all
                .iter()
                .filter_map(|p| p.strip_prefix(&self.root).ok())
                .filter_map(|rel| {
                    let parts: Option<Vec<&str>> =
                        rel.components().map(|c| c.as_os_str().to_str()).collect();
                    parts.map(|p| p.join("/"))
                })
                .filter(|p| p.starts_with(prefix) && !p.ends_with(TMP_SUFFIX))
                .collect();
            paths.sort();
            Ok(paths)
        }

        fn delete(&mut self, path: &str) -> Result<()> {
            let full = self.full(path)?;
            match fs::remove_file(&full) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err("deleting", &full, e)),
            }
        }

        fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> Result<()> {
            let target = self.full(&manifest_path(data_source))?;
            let mut tmp = target.clone().into_os_string();
            tmp.push(TMP_SUFFIX);
            let tmp = PathBuf::from(tmp);
            Self::write_file(&tmp, bytes, true)?;
            fs::rename(&tmp, &target).map_err(|e| io_err("renaming", &tmp, e))?;
            if let Some(parent) = target.parent() {
                // Make the rename itself durable; best effort where directories cannot be
                // opened for syncing.
                if let Ok(dir) = fs::File::open(parent) {
                    let _ = dir.sync_all();
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_escape_injectively() {
        assert_eq!(escape_name("wiki"), "wiki");
        assert_eq!(escape_name("a/b:c"), "a%2Fb%3Ac");
        assert_eq!(escape_name(".."), "%2E.");
        assert_eq!(escape_name(""), "%");
        assert_ne!(escape_name("a%2F"), escape_name("a/"));
        assert_eq!(manifest_path("w/x"), "w%2Fx/manifest.json");
        assert!(validate_path(&manifest_path("..")).is_ok());
    }

    #[test]
    fn memory_store_basics() {
        let mut s = MemorySegmentStore::new();
        s.put_segment("a/segments/1.arrow", b"1".to_vec()).unwrap();
        s.put_segment("a/segments/2.arrow", b"2".to_vec()).unwrap();
        s.put_segment("b/segments/1.arrow", b"3".to_vec()).unwrap();
        s.put_manifest_atomic("a", b"{}").unwrap();
        assert_eq!(
            s.list("a/").unwrap(),
            [
                "a/manifest.json",
                "a/segments/1.arrow",
                "a/segments/2.arrow"
            ]
        );
        assert_eq!(s.get("a/manifest.json").unwrap().unwrap(), b"{}");
        s.delete("a/segments/1.arrow").unwrap();
        s.delete("a/segments/1.arrow").unwrap();
        assert_eq!(s.get("a/segments/1.arrow").unwrap(), None);
        assert_eq!(s.list("").unwrap().len(), 3);
        for bad in ["", "/a", "a//b", "a/../b", "./a", "a\\b"] {
            assert!(s.put_segment(bad, b"x".to_vec()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_a_worker_wrote_is_adopted_under_its_segment_path() {
        let mut s = MemorySegmentStore::new();
        s.put_segment("a/segments/1.arrow.w3", b"1".to_vec())
            .unwrap();
        s.adopt_segment("a/segments/1.arrow.w3", "a/segments/1.arrow")
            .unwrap();
        assert_eq!(s.list("").unwrap(), ["a/segments/1.arrow"]);
        assert_eq!(s.get("a/segments/1.arrow").unwrap().unwrap(), b"1");
        let missing = s.adopt_segment("a/segments/2.arrow.w3", "a/segments/2.arrow");
        assert!(missing.unwrap_err().to_string().contains("no such file"));
        assert!(s.adopt_segment("a/segments/1.arrow", "a//b").is_err());
    }
}
