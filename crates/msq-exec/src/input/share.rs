//! One compressed file parsed by several workers at once, each taking a share of its lines.
//!
//! A gzip stream cannot be entered in the middle, so the byte ranges that split a large plain
//! file (`msq_runtime::split`) do not apply to it, and one worker would inflate *and parse* the
//! whole file while the stage's other workers idle. Parsing costs several times what inflating
//! does, so instead every worker of a [`LineShare`] inflates the whole stream and parses only
//! its share of the lines: the decompressed bytes are cut into blocks of [`SHARE_BLOCK_BYTES`],
//! block `k` belongs to share `k mod of`, and a line belongs to the block its first byte falls
//! in — the rule of byte ranges, so the shares together read every line exactly once. Blocks
//! are dealt round-robin rather than cut into `of` runs because the decompressed size is not
//! known before the end (gzip's `ISIZE` is the size modulo 2³²), and so that the shares finish
//! together.
//!
//! The first `header_lines` lines (CSV/TSV `skipHeaderRows` and the header) go to every share,
//! as a byte range after the first reads them too. Skipped lines are counted, so line numbers
//! in parse exceptions stay those of the whole file.
//!
//! Druid never splits a file; this is an Acorn addition (see `msq_kernel::slicer`).

use msq_common::{internal_err, Result};

/// Decompressed bytes per block dealt to the shares.
pub const SHARE_BLOCK_BYTES: u64 = 1 << 20;

/// Share `index` of `of` of a file's lines (`acornLineShare` on an input source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineShare {
    index: u64,
    of: u64,
}

impl LineShare {
    /// Share `index` (from 0) of `of`.
    ///
    /// # Errors
    /// An internal error unless `index < of`.
    pub fn new(index: u64, of: u64) -> Result<Self> {
        if index >= of {
            internal_err!("line share {index} of {of} does not exist")
        }
        Ok(Self { index, of })
    }

    /// Which share this is, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many shares the file is read in.
    pub fn of(&self) -> u64 {
        self.of
    }

    /// This share's part of `total` bytes read by every share alike: the parts of all shares
    /// sum to `total` exactly, whatever `total` is, so input byte counters count the file once
    /// even while it streams.
    pub fn part_of(&self, total: u64) -> u64 {
        let cut = |i: u64| (u128::from(total) * u128::from(i) / u128::from(self.of)) as u64;
        cut(self.index + 1) - cut(self.index)
    }
}

/// Picks a share's lines out of a stream of decompressed bytes; see the module doc.
#[derive(Debug)]
pub(crate) struct ShareFilter {
    share: LineShare,
    block: u64,
    /// Offset in the stream of the next byte.
    pos: u64,
    /// Lines still to pass to every share.
    header_left: usize,
    /// Whether the current line is this share's.
    emitting: bool,
    /// The current run (emitted or skipped) ends at the first newline at or after this offset.
    until: u64,
    /// Newlines skipped since the last emitted run.
    skipped_lines: u64,
}

impl ShareFilter {
    /// A filter for `share`, passing the first `header_lines` lines to every share, with
    /// blocks of `block` bytes (at least 1).
    pub(crate) fn new(share: LineShare, header_lines: usize, block: u64) -> Self {
        let mut filter = Self {
            share,
            block: block.max(1),
            pos: 0,
            header_left: header_lines,
            emitting: true,
            until: 0,
            skipped_lines: 0,
        };
        if header_lines == 0 {
            filter.line_starts_at(0);
        }
        filter
    }

    /// A line starts at offset `at`: it is this share's when its block is, and the run it
    /// starts lasts to the end of the line holding the last byte of its block (emitting) or
    /// the byte before the share's next block (skipping).
    fn line_starts_at(&mut self, at: u64) {
        let (index, of) = (self.share.index, self.share.of);
        let block = at / self.block;
        let position = block % of;
        if position == index {
            self.emitting = true;
            self.until = (block + 1) * self.block - 1;
        } else {
            let next = if position < index {
                block - position + index
            } else {
                block - position + of + index
            };
            self.emitting = false;
            self.until = next * self.block - 1;
        }
    }

    /// Splits `chunk`, the next bytes of the stream, into the runs this share reads and calls
    /// `emit` on each, in order, with the number of lines skipped since the previous run.
    pub(crate) fn split<'a>(
        &mut self,
        chunk: &'a [u8],
        mut emit: impl FnMut(&'a [u8], u64) -> Result<()>,
    ) -> Result<()> {
        let mut i = 0;
        while self.header_left > 0 && i < chunk.len() {
            let Some(newline) = memchr::memchr(b'\n', &chunk[i..]) else {
                break;
            };
            let end = i + newline + 1;
            emit(&chunk[i..end], 0)?;
            i = end;
            self.header_left -= 1;
            if self.header_left == 0 {
                self.line_starts_at(self.pos + i as u64);
            }
        }
        if self.header_left > 0 {
            // Still inside the header: the whole rest of the chunk is one of its lines.
            if i < chunk.len() {
                emit(&chunk[i..], 0)?;
            }
            self.pos += chunk.len() as u64;
            return Ok(());
        }
        while i < chunk.len() {
            let at = self.pos + i as u64;
            let search = usize::try_from(self.until.saturating_sub(at)).unwrap_or(usize::MAX);
            let newline = i
                .checked_add(search)
                .filter(|&from| from < chunk.len())
                .and_then(|from| memchr::memchr(b'\n', &chunk[from..]).map(|n| from + n));
            let end = newline.map_or(chunk.len(), |n| n + 1);
            self.run(&chunk[i..end], &mut emit)?;
            i = end;
            if newline.is_some() {
                self.line_starts_at(self.pos + i as u64);
            }
        }
        self.pos += chunk.len() as u64;
        Ok(())
    }

    fn run<'a>(
        &mut self,
        bytes: &'a [u8],
        emit: &mut impl FnMut(&'a [u8], u64) -> Result<()>,
    ) -> Result<()> {
        if self.emitting {
            emit(bytes, std::mem::take(&mut self.skipped_lines))
        } else {
            self.skipped_lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines (with their offsets) share `index` of `of` reads from `data` fed in chunks of
    /// `chunk` bytes, and the line number of each, counting skipped lines.
    fn read(
        data: &[u8],
        index: u64,
        of: u64,
        header: usize,
        block: u64,
        chunk: usize,
    ) -> Vec<(u64, Vec<u8>)> {
        let mut filter = ShareFilter::new(LineShare::new(index, of).unwrap(), header, block);
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut line = 0_u64;
        let mut pending: Vec<u8> = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            filter
                .split(piece, |run, skipped| {
                    assert!(
                        skipped == 0 || pending.is_empty(),
                        "lines skipped inside a line"
                    );
                    line += skipped;
                    for &b in run {
                        pending.push(b);
                        if b == b'\n' {
                            line += 1;
                            out.push((line, std::mem::take(&mut pending)));
                        }
                    }
                    Ok(())
                })
                .unwrap();
        }
        if !pending.is_empty() {
            out.push((line + 1, pending));
        }
        out
    }

    fn lines(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
        data.split_inclusive(|&b| b == b'\n')
            .zip(1..)
            .map(|(l, n)| (n, l.to_vec()))
            .collect()
    }

    /// Lines of varied lengths, some longer than a block, the last without a newline.
    fn sample() -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..200_usize {
            let len = (i * 7919) % 23 + if i % 37 == 0 { 40 } else { 0 };
            data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            data.push(b'\n');
        }
        data.extend_from_slice(b"last");
        data
    }

    #[test]
    fn the_shares_read_every_line_once_with_its_line_number() {
        let data = sample();
        let all = lines(&data);
        for of in 1..=4 {
            for block in [1, 5, 16, 64, 4096] {
                for chunk in [1, 3, 17, 1000] {
                    let mut got: Vec<(u64, Vec<u8>)> = (0..of)
                        .flat_map(|index| read(&data, index, of, 0, block, chunk))
                        .collect();
                    got.sort();
                    assert_eq!(got, all, "of {of}, block {block}, chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn every_share_reads_the_header_lines() {
        let data = b"h1\nh2\na\nbb\nccc\ndddd\neeeee\n".to_vec();
        let header = lines(&data)[..2].to_vec();
        for chunk in [1, 2, 5, 100] {
            let shares: Vec<_> = (0..3).map(|i| read(&data, i, 3, 2, 4, chunk)).collect();
            for share in &shares {
                assert_eq!(share[..2], header[..], "chunk {chunk}");
            }
            let mut body: Vec<_> = shares.into_iter().flat_map(|s| s[2..].to_vec()).collect();
            body.sort();
            assert_eq!(body, lines(&data)[2..], "chunk {chunk}");
        }
    }

    #[test]
    fn blocks_are_dealt_round_robin() {
        // Lines of 4 bytes, blocks of 8: lines 1–2 are block 0, 3–4 block 1, 5–6 block 2.
        let data = b"aaa\nbbb\nccc\nddd\neee\nfff\n";
        let numbers = |index| -> Vec<u64> {
            read(data, index, 2, 0, 8, 5)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(numbers(0), [1, 2, 5, 6]);
        assert_eq!(numbers(1), [3, 4]);
    }

    #[test]
    fn the_parts_of_a_byte_count_sum_to_it() {
        for of in 1..=7 {
            for total in [0, 1, 6, 7, 1000, u64::MAX] {
                let parts: u128 = (0..of)
                    .map(|i| u128::from(LineShare::new(i, of).unwrap().part_of(total)))
                    .sum();
                assert_eq!(parts, u128::from(total));
            }
        }
        assert!(LineShare::new(2, 2).is_err());
    }
}
