//! Spilling: where a stage worker puts frames its memory budget has no room for.
//!
//! Druid's workers hold a stage's output within a memory budget and spill the rest to local
//! disk (the "super sorter", spec `druid-msq.md` §4.4 and the `shuffle` counters). Acorn's
//! stage workers do the same with a [`FrameSpill`]: scratch storage written and read
//! synchronously, because its users ([`crate::shuffle::ShuffleStore::put`] and the worker's
//! output collector) are synchronous. In a browser the stage workers are dedicated workers, so
//! an OPFS file read and written through a synchronous access handle serves
//! (`msq_wasm::scratch::OpfsFrameSpill`); [`MemoryFrameSpill`] keeps the bytes in memory, which
//! saves nothing but runs every spilling path in native tests.
//!
//! ```text
//!   frame ──▶ budget left? ──yes──▶ kept in memory
//!                  └──no──▶ FrameSpill::write ──▶ SpillRange ──read / release──▶ bytes
//! ```
//!
//! A spill hands out ranges of one growing scratch space ([`SpillSpace`]) and starts again
//! from the beginning once every range written has been released, so a host's scratch file
//! never outgrows the largest amount it had to hold at once.

use msq_common::{MsqError, Result};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Bytes of frames a host keeps in memory per query before it spills (and, separately, the
/// rows a stage worker collects before it spills them as frames).
///
/// Spilling costs writes and reads of OPFS through synchronous access handles, so the budget
/// trades time for a smaller peak; wasm memory never shrinks, so a stage thread's peak is
/// what it keeps for the rest of the page's life. Measured on the 2-core benchmark machine,
/// 1M-row NDJSON ingest (2 stage workers, ~146 MiB of stage-0 frames each), peak wasm memory
/// per worker and time submit → SUCCESS:
///
/// | budget | peak per worker | time |
/// |---|---|---|
/// | 256 MiB | 257 / 224 MiB | 3.1–3.3 s |
/// | 64 MiB | 171 / 137 MiB | 3.4 s |
/// | 32 MiB | 137 / 122 MiB | 3.4–3.6 s |
/// | 16 MiB | 121 / 120 MiB | 3.3 s |
///
/// (Measured before segments were written from their sort order into OPFS a record batch at
/// a time, and before a segment generator had the other partitions' frames spilled; with
/// both, 32 MiB gives 87 / 73 MiB in the same time: the stage-0 peak — staged rows, held
/// frames and the reader — and a time chunk's rows while its segments are written.) 100k
/// rows (~15 MiB of frames per worker) spill nothing at this budget. Druid's workers likewise keep a bounded amount in
/// memory and spill the rest (spec `druid-msq.md` §4.4).
pub const DEFAULT_SPILL_BUDGET_BYTES: usize = 32 << 20;

/// Where one spilled frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpillRange {
    /// Byte offset in the scratch space.
    pub offset: u64,
    /// Length in bytes.
    pub len: usize,
}

/// Scratch storage for frames that do not fit a worker's memory budget.
pub trait FrameSpill {
    /// Writes `bytes` and says where they went.
    ///
    /// # Errors
    /// When the scratch storage fails (full, gone).
    fn write(&self, bytes: &[u8]) -> Result<SpillRange>;

    /// The bytes written at `range`.
    ///
    /// # Errors
    /// When the scratch storage fails or does not hold `range`.
    fn read(&self, range: SpillRange) -> Result<Vec<u8>>;

    /// `range` is no longer needed.
    fn release(&self, range: SpillRange);
}

/// Bookkeeping of one append-only scratch space: ranges are handed out at its end, and once
/// every range handed out has been released the space starts again from offset 0.
#[derive(Debug, Default)]
pub struct SpillSpace {
    end: Cell<u64>,
    live: Cell<usize>,
}

impl SpillSpace {
    /// Where `len` bytes go next.
    pub fn allocate(&self, len: usize) -> SpillRange {
        let offset = self.end.get();
        self.end.set(offset + len as u64);
        self.live.set(self.live.get() + 1);
        SpillRange { offset, len }
    }

    /// Gives back one range; `true` when none is left, so the space restarts at 0 (the
    /// caller may then shrink its storage).
    pub fn release(&self) -> bool {
        let live = self.live.get().saturating_sub(1);
        self.live.set(live);
        if live == 0 {
            self.end.set(0);
        }
        live == 0
    }

    /// Ranges handed out and not released.
    pub fn live(&self) -> usize {
        self.live.get()
    }
}

/// A [`FrameSpill`] in memory: spills nothing in fact, but drives every spilling path (native
/// tests, loopback hosts).
#[derive(Debug, Default)]
pub struct MemoryFrameSpill {
    space: SpillSpace,
    bytes: RefCell<BTreeMap<u64, Vec<u8>>>,
}

impl MemoryFrameSpill {
    /// An empty spill.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames written and not released.
    pub fn live(&self) -> usize {
        self.space.live()
    }
}

impl FrameSpill for MemoryFrameSpill {
    fn write(&self, bytes: &[u8]) -> Result<SpillRange> {
        let range = self.space.allocate(bytes.len());
        self.bytes.borrow_mut().insert(range.offset, bytes.to_vec());
        Ok(range)
    }

    fn read(&self, range: SpillRange) -> Result<Vec<u8>> {
        match self.bytes.borrow().get(&range.offset) {
            Some(bytes) if bytes.len() == range.len => Ok(bytes.clone()),
            _ => Err(MsqError::internal(format!(
                "no spilled frame of {} bytes at {}",
                range.len, range.offset
            ))),
        }
    }

    fn release(&self, range: SpillRange) {
        self.bytes.borrow_mut().remove(&range.offset);
        if self.space.release() {
            self.bytes.borrow_mut().clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn space_restarts_once_everything_is_released() {
        let spill = MemoryFrameSpill::new();
        let a = spill.write(b"abc").unwrap();
        let b = spill.write(b"de").unwrap();
        assert_eq!((a.offset, b.offset), (0, 3));
        assert_eq!(spill.read(b).unwrap(), b"de");
        spill.release(a);
        assert!(spill.read(a).is_err());
        // `b` is still live: new frames go after it.
        assert_eq!(spill.write(b"f").unwrap().offset, 5);
        spill.release(b);
        assert_eq!(spill.live(), 1);
    }

    #[test]
    fn an_empty_space_starts_over() {
        let spill = MemoryFrameSpill::new();
        let a = spill.write(b"abc").unwrap();
        spill.release(a);
        assert_eq!(spill.live(), 0);
        assert_eq!(spill.write(b"xy").unwrap().offset, 0);
    }
}
