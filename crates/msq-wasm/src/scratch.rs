//! [`OpfsFrameSpill`]: a stage worker's scratch file in the Origin Private File System, where
//! its shuffle spills the frames its memory budget has no room for
//! ([`msq_runtime::spill`]; Druid's workers spill to local disk the same way).
//!
//! ```text
//!   <opfs>/acorn-scratch/host-<n>-<random>   one file per stage worker, opened at its setup
//!        ▲ write at the end ─ read at a range ─ truncated to 0 once nothing in it is needed
//!        └─ FileSystemSyncAccessHandle (dedicated workers only), held while the worker lives
//! ```
//!
//! The file is named at random so that two tabs' workers never share one; the handle locks it,
//! so [`clear_scratch`] (run by the engine before it starts its workers) removes the files of
//! workers gone with an earlier page and cannot remove a live worker's.

use crate::opfs::{js_error, opfs_root, read_exact_at, store_root, sync_handle, write_all_at};
use msq_common::Result;
use msq_runtime::spill::{FrameSpill, SpillRange, SpillSpace};
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemRemoveOptions, FileSystemSyncAccessHandle};

/// The OPFS directory holding stage workers' scratch files.
pub const SCRATCH_DIR: &str = "acorn-scratch";

/// A [`FrameSpill`] over one OPFS file written and read through a synchronous access handle.
pub struct OpfsFrameSpill {
    handle: FileSystemSyncAccessHandle,
    path: String,
    space: SpillSpace,
}

impl std::fmt::Debug for OpfsFrameSpill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpfsFrameSpill")
            .field("path", &self.path)
            .field("live", &self.space.live())
            .finish()
    }
}

impl OpfsFrameSpill {
    /// Creates an empty scratch file for stage worker `host` and holds it open. `Ok(None)`
    /// where synchronous access handles do not exist (anywhere but a dedicated worker).
    ///
    /// # Errors
    /// When OPFS is unavailable or the file cannot be created.
    pub async fn create(host: u32) -> Result<Option<Self>> {
        let dir = store_root(SCRATCH_DIR).await?;
        let name = format!(
            "host-{host}-{:012x}",
            (js_sys::Math::random() * 2f64.powi(48)) as u64
        );
        let path = format!("{SCRATCH_DIR}/{name}");
        let file = crate::opfs::open_file(&dir, &name, &path).await?;
        let Some(handle) = sync_handle(&file).await else {
            return Ok(None);
        };
        Ok(Some(Self {
            handle,
            path,
            space: SpillSpace::default(),
        }))
    }

    /// The file's OPFS path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Frames written and not released.
    pub fn live(&self) -> usize {
        self.space.live()
    }

    /// The file's size in bytes.
    ///
    /// # Errors
    /// When the handle cannot say.
    pub fn size(&self) -> Result<u64> {
        (self.handle.get_size())
            .map(|n| n as u64)
            .map_err(|e| js_error("sizing", &self.path, &e))
    }
}

impl FrameSpill for OpfsFrameSpill {
    fn write(&self, bytes: &[u8]) -> Result<SpillRange> {
        let range = self.space.allocate(bytes.len());
        // No flush: a scratch file need not survive the worker.
        let written = write_all_at(&self.handle, range.offset, bytes, &self.path, "spilling to");
        if written.is_err() {
            self.release(range);
        }
        written.map(|()| range)
    }

    fn read(&self, range: SpillRange) -> Result<Vec<u8>> {
        read_exact_at(&self.handle, range.offset, range.len, &self.path)
    }

    fn release(&self, _range: SpillRange) {
        if self.space.release() {
            // Nothing in the file is needed: give its space back to the disk.
            if let Err(e) = self.handle.truncate_with_f64(0.0) {
                web_sys::console::warn_1(&js_error("emptying", &self.path, &e).to_string().into());
            }
        }
    }
}

impl Drop for OpfsFrameSpill {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Removes the scratch files of stage workers that are gone (best effort: a live worker's
/// file is locked by its handle and stays).
pub async fn clear_scratch() {
    let Ok(root) = opfs_root().await else {
        return;
    };
    let options = FileSystemRemoveOptions::new();
    options.set_recursive(true);
    // A rejection means some file is in use (another tab's workers) or there is no
    // directory: either way nothing of ours is left to remove.
    let _ = JsFuture::from(root.remove_entry_with_options(SCRATCH_DIR, &options)).await;
}
