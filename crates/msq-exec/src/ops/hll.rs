//! A mergeable HyperLogLog distinct-count sketch that is exact while small, the state of
//! `APPROX_COUNT_DISTINCT` (and of `COUNT(DISTINCT x)` under the default
//! `useApproximateCountDistinct: true`, spec `druid-msq.md` §1.7).
//!
//! Druid's default sketch (DataSketches HLL, `lgK = 12`) keeps a list of coupons while the
//! count is small, so small distinct counts come out exact. [`HyperLogLog`] mirrors that:
//!
//! - *sparse*: a sorted set of the 64-bit value hashes, up to [`SPARSE_LIMIT`] entries; the
//!   estimate is the set's size (exact up to 64-bit hash collisions);
//! - *dense*: [`REGISTERS`] one-byte registers (precision [`PRECISION`]); the estimate is the
//!   classic HLL estimator with linear counting for small cardinalities (relative standard
//!   error ≈ 1.04 / √2^14 ≈ 0.8%).
//!
//! Values are hashed with [`hash64`], a fixed (platform-independent) 64-bit hash, so sketches
//! built on different workers — native or wasm32 — merge. [`HyperLogLog::to_bytes`] is
//! deterministic: byte 0 is the kind (`0` sparse, `1` dense); sparse is followed by a
//! little-endian `u32` count and that many little-endian `u64` hashes in ascending order, dense
//! by the [`REGISTERS`] register bytes.

use msq_common::{MsqError, Result};

/// Register-index bits of the dense form.
pub const PRECISION: u32 = 14;
/// Number of registers of the dense form (`2^PRECISION`).
pub const REGISTERS: usize = 1 << PRECISION;
/// The largest number of hashes kept exactly before switching to registers.
pub const SPARSE_LIMIT: usize = 1000;

const KIND_SPARSE: u8 = 0;
const KIND_DENSE: u8 = 1;

/// A HyperLogLog sketch (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HyperLogLog {
    /// The exact, sorted set of hashes seen.
    Sparse(Vec<u64>),
    /// [`REGISTERS`] registers, each the largest rank seen for its index.
    Dense(Box<[u8]>),
}

impl Default for HyperLogLog {
    fn default() -> Self {
        HyperLogLog::Sparse(Vec::new())
    }
}

impl HyperLogLog {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the value whose bytes are `bytes`.
    pub fn insert_bytes(&mut self, bytes: &[u8]) {
        self.insert_hash(hash64(bytes));
    }

    /// Adds a value by its [`hash64`].
    pub fn insert_hash(&mut self, hash: u64) {
        match self {
            HyperLogLog::Sparse(hashes) => {
                if let Err(pos) = hashes.binary_search(&hash) {
                    hashes.insert(pos, hash);
                    if hashes.len() > SPARSE_LIMIT {
                        self.densify();
                    }
                }
            }
            HyperLogLog::Dense(registers) => add_to_registers(registers, hash),
        }
    }

    /// Whether the sketch is still exact (sparse).
    pub fn is_exact(&self) -> bool {
        matches!(self, HyperLogLog::Sparse(_))
    }

    fn densify(&mut self) {
        if let HyperLogLog::Sparse(hashes) = self {
            let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
            for &h in hashes.iter() {
                add_to_registers(&mut registers, h);
            }
            *self = HyperLogLog::Dense(registers);
        }
    }

    /// Merges `other` into `self` (the union of both value sets).
    pub fn merge(&mut self, other: &HyperLogLog) {
        match other {
            HyperLogLog::Sparse(theirs) => {
                for &h in theirs {
                    self.insert_hash(h);
                }
            }
            HyperLogLog::Dense(theirs) => {
                self.densify();
                if let HyperLogLog::Dense(mine) = self {
                    for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                        *m = (*m).max(*t);
                    }
                }
            }
        }
    }

    /// The estimated number of distinct values (exact while sparse).
    pub fn estimate(&self) -> u64 {
        match self {
            HyperLogLog::Sparse(hashes) => hashes.len() as u64,
            HyperLogLog::Dense(registers) => {
                let m = REGISTERS as f64;
                let mut sum = 0.0f64;
                let mut zeros = 0usize;
                for &r in registers.iter() {
                    sum += 1.0 / ((1u64 << r) as f64);
                    if r == 0 {
                        zeros += 1;
                    }
                }
                let alpha = 0.7213 / (1.0 + 1.079 / m);
                let raw = alpha * m * m / sum;
                let estimate = if raw <= 2.5 * m && zeros > 0 {
                    m * (m / zeros as f64).ln()
                } else {
                    raw
                };
                estimate.round() as u64
            }
        }
    }

    /// Serializes the sketch deterministically (format in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            HyperLogLog::Sparse(hashes) => {
                let mut out = Vec::with_capacity(5 + 8 * hashes.len());
                out.push(KIND_SPARSE);
                out.extend_from_slice(&(hashes.len() as u32).to_le_bytes());
                for h in hashes {
                    out.extend_from_slice(&h.to_le_bytes());
                }
                out
            }
            HyperLogLog::Dense(registers) => {
                let mut out = Vec::with_capacity(1 + REGISTERS);
                out.push(KIND_DENSE);
                out.extend_from_slice(registers);
                out
            }
        }
    }

    /// Reads a sketch written by [`HyperLogLog::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = || MsqError::internal("Corrupt HyperLogLog sketch state");
        match bytes.split_first() {
            Some((&KIND_SPARSE, rest)) => {
                let (count, body) = rest.split_at_checked(4).ok_or_else(corrupt)?;
                let count = u32::from_le_bytes(count.try_into().map_err(|_| corrupt())?) as usize;
                if body.len() != count * 8 {
                    return Err(corrupt());
                }
                let mut hashes: Vec<u64> = body
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect();
                hashes.sort_unstable();
                hashes.dedup();
                let mut sketch = HyperLogLog::Sparse(hashes);
                if let HyperLogLog::Sparse(h) = &sketch {
                    if h.len() > SPARSE_LIMIT {
                        sketch.densify();
                    }
                }
                Ok(sketch)
            }
            Some((&KIND_DENSE, rest)) if rest.len() == REGISTERS => {
                Ok(HyperLogLog::Dense(rest.to_vec().into_boxed_slice()))
            }
            _ => Err(corrupt()),
        }
    }
}

fn add_to_registers(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - PRECISION)) as usize;
    let rest = hash << PRECISION;
    // Rank: position of the first 1 bit in the remaining 64 - PRECISION bits (1-based).
    let rank = (rest.leading_zeros().min(64 - PRECISION) + 1) as u8;
    if let Some(r) = registers.get_mut(index) {
        if rank > *r {
            *r = rank;
        }
    }
}

const K1: u64 = 0x87c3_7b91_1142_53d5;
const K2: u64 = 0x4cf5_ad43_2745_937f;

/// MurmurHash3's 64-bit finalizer: full avalanche of a 64-bit word.
#[inline]
pub(crate) fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// A fixed, platform-independent 64-bit hash of `bytes`: each 8-byte little-endian word (the
/// tail zero-padded) is fully mixed with MurmurHash3's finalizer before it is folded in, and the
/// length is folded in last. Used for sketch hashes, so it must never change: serialized
/// sketches depend on it.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ fmix64(w.wrapping_add(K1)))
            .wrapping_mul(K2)
            .rotate_left(29);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut buf = [0u8; 8];
        buf[..tail.len()].copy_from_slice(tail);
        let w = u64::from_le_bytes(buf);
        h = (h ^ fmix64(w.wrapping_add(K1)))
            .wrapping_mul(K2)
            .rotate_left(29);
    }
    fmix64(h ^ (bytes.len() as u64).wrapping_mul(K1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_are_exact() {
        let mut s = HyperLogLog::new();
        for i in 0..500u64 {
            s.insert_bytes(&i.to_le_bytes());
            s.insert_bytes(&i.to_le_bytes());
        }
        assert!(s.is_exact());
        assert_eq!(s.estimate(), 500);
        assert_eq!(HyperLogLog::new().estimate(), 0);
    }

    #[test]
    fn large_sets_are_within_two_percent() {
        let mut s = HyperLogLog::new();
        for i in 0..100_000u64 {
            s.insert_bytes(format!("value-{i}").as_bytes());
        }
        assert!(!s.is_exact());
        let e = s.estimate() as f64;
        assert!((e - 100_000.0).abs() / 100_000.0 < 0.02, "estimate {e}");
    }

    #[test]
    fn merge_and_round_trip() {
        let mut a = HyperLogLog::new();
        let mut b = HyperLogLog::new();
        for i in 0..800u64 {
            a.insert_bytes(&i.to_le_bytes());
        }
        for i in 400..1200u64 {
            b.insert_bytes(&i.to_le_bytes());
        }
        let mut ab = a.clone();
        ab.merge(&b);
        // 1200 distinct > SPARSE_LIMIT: dense, but close.
        assert!(!ab.is_exact());
        let e = ab.estimate() as f64;
        assert!((e - 1200.0).abs() < 1200.0 * 0.03, "estimate {e}");
        for s in [&a, &b, &ab] {
            let back = HyperLogLog::from_bytes(&s.to_bytes()).unwrap();
            assert_eq!(&back, s);
        }
        assert!(HyperLogLog::from_bytes(&[7]).is_err());
        assert!(HyperLogLog::from_bytes(&[0, 1, 0, 0, 0]).is_err());
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(hash64(b"druid"), hash64(b"druid"));
        assert_ne!(hash64(b"druid"), hash64(b"druie"));
        assert_ne!(hash64(b""), hash64(b"\0"));
    }
}
