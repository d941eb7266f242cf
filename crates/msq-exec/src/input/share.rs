//! One compressed file parsed by several workers at once, each taking a share of its lines.
//!
//! A gzip stream cannot be entered in the middle, so the byte ranges that split a large plain
//! file (`msq_runtime::split`) do not apply to it, and one worker would inflate *and parse* the
//! whole file while the stage's other workers idle. Parsing costs several times what inflating
//! does, so instead share `i` of `n` ([`LineShare`]) inflates the file from its start and parses
//! only the lines whose first byte falls in its `i`-th of the decompressed text
//! ([`LineShare::range`]), then stops reading: the rule of byte ranges applied after
//! decompression, so the shares together read every line exactly once, in contiguous runs
//! (a time-ordered file stays time-ordered in each share, and the next stage finds its input
//! already sorted).
//!
//! The decompressed size comes from the gzip trailer (`ISIZE`, the size modulo 2³², of the
//! last member), which every share reads alike; a wrong guess (a file over 4 GiB, several
//! members) only unbalances the shares, since the last one reads to the end whatever the size.
//!
//! The first `header_lines` lines (CSV/TSV `skipHeaderRows` and the header) go to every share,
//! as a byte range after the first reads them too. Skipped lines are counted, so line numbers
//! in parse exceptions stay those of the whole file.
//!
//! Druid never splits a file; this is an Acorn addition (see `msq_kernel::slicer`).

use msq_common::{internal_err, Result};

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

    fn cut(&self, total: u64, at: u64) -> u64 {
        (u128::from(total) * u128::from(at) / u128::from(self.of)) as u64
    }

    /// Whether this is the file's first share (the one the file's count goes with).
    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    /// This share's part of `total` bytes: the parts of all shares sum to `total` exactly
    /// (input byte counters count the file once).
    pub fn part_of(&self, total: u64) -> u64 {
        self.cut(total, self.index + 1) - self.cut(total, self.index)
    }

    /// The offsets of the decompressed text whose lines this share reads, for a text of about
    /// `decompressed` bytes: the last share reads to the end, however long the text is.
    pub fn range(&self, decompressed: u64) -> (u64, u64) {
        let end = if self.index + 1 == self.of {
            u64::MAX
        } else {
            self.cut(decompressed, self.index + 1)
        };
        (self.cut(decompressed, self.index), end)
    }

    /// The decompressed size to cut a gzip file of `compressed` bytes by, from the `ISIZE`
    /// field of its trailer (its last four bytes, little-endian): taken as at least the
    /// compressed size, adding 4 GiB while it is less (`ISIZE` is the size modulo 2³²).
    pub fn decompressed_size(trailer: [u8; 4], compressed: u64) -> u64 {
        let mut size = u64::from(u32::from_le_bytes(trailer));
        while size < compressed {
            size += 1 << 32;
        }
        size
    }
}

/// Where a [`LineFilter`] is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Passing the first lines to every share.
    Header,
    /// Skipping to the first line starting at or after the range's start.
    Skipping,
    /// Passing lines until the one holding the range's last byte.
    Emitting,
    /// Past the range.
    Done,
}

/// Picks the lines whose first byte lies in `start..end` out of a stream of decompressed
/// bytes; see the module doc.
#[derive(Debug)]
pub(crate) struct LineFilter {
    start: u64,
    end: u64,
    /// Offset in the stream of the next byte.
    pos: u64,
    /// Lines still to pass whatever the range.
    header_left: usize,
    run: Run,
    /// Newlines skipped before the range.
    skipped_lines: u64,
}

impl LineFilter {
    /// A filter of the lines starting in `start..end`, passing the first `header_lines` lines
    /// too.
    pub(crate) fn new(start: u64, end: u64, header_lines: usize) -> Self {
        let mut filter = Self {
            start,
            end,
            pos: 0,
            header_left: header_lines,
            run: Run::Header,
            skipped_lines: 0,
        };
        if header_lines == 0 {
            filter.line_starts_at(0);
        }
        filter
    }

    /// Whether every line of the range has been passed on.
    pub(crate) fn is_done(&self) -> bool {
        self.run == Run::Done
    }

    fn line_starts_at(&mut self, at: u64) {
        self.run = if at >= self.end {
            Run::Done
        } else if at >= self.start {
            Run::Emitting
        } else {
            Run::Skipping
        };
    }

    /// The first newline at or after this offset ends the current run.
    fn run_ends_after(&self) -> u64 {
        match self.run {
            Run::Skipping => self.start.saturating_sub(1),
            Run::Emitting => self.end.saturating_sub(1),
            Run::Header | Run::Done => 0,
        }
    }

    /// Splits `chunk`, the next bytes of the stream, into the runs to read and calls `emit`
    /// on each, in order, with the number of lines skipped since the previous run.
    pub(crate) fn split<'a>(
        &mut self,
        chunk: &'a [u8],
        mut emit: impl FnMut(&'a [u8], u64) -> Result<()>,
    ) -> Result<()> {
        let mut i = 0;
        while i < chunk.len() && self.run != Run::Done {
            let at = self.pos + i as u64;
            let search =
                usize::try_from(self.run_ends_after().saturating_sub(at)).unwrap_or(usize::MAX);
            let newline = i
                .checked_add(search)
                .filter(|&from| from < chunk.len())
                .and_then(|from| memchr::memchr(b'\n', &chunk[from..]).map(|n| from + n));
            let end = newline.map_or(chunk.len(), |n| n + 1);
            let bytes = &chunk[i..end];
            match self.run {
                Run::Header | Run::Emitting => {
                    emit(bytes, std::mem::take(&mut self.skipped_lines))?;
                }
                Run::Skipping => {
                    self.skipped_lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
                }
                Run::Done => {}
            }
            i = end;
            if newline.is_some() {
                if self.run == Run::Header {
                    self.header_left -= 1;
                    if self.header_left == 0 {
                        self.line_starts_at(self.pos + i as u64);
                    }
                } else {
                    self.line_starts_at(self.pos + i as u64);
                }
            }
        }
        self.pos += chunk.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines (with their line numbers, counting skipped lines) that `start..end` reads
    /// from `data` fed in chunks of `chunk` bytes, and whether the filter finished early.
    fn read(
        data: &[u8],
        (start, end): (u64, u64),
        header: usize,
        chunk: usize,
    ) -> Vec<(u64, Vec<u8>)> {
        let mut filter = LineFilter::new(start, end, header);
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut line = 0_u64;
        let mut pending: Vec<u8> = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            if filter.is_done() {
                break;
            }
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

    /// Lines of varied lengths, some long, the last without a newline.
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
    fn the_shares_read_every_line_once_in_order_with_its_line_number() {
        let data = sample();
        let all = lines(&data);
        // A right, a short and a long guess of the size, and one far off.
        for guess in [data.len() as u64, 100, 3000, 1 << 40] {
            for of in 1..=4 {
                for chunk in [1, 3, 17, 1000] {
                    let got: Vec<(u64, Vec<u8>)> = (0..of)
                        .flat_map(|index| {
                            let share = LineShare::new(index, of).unwrap();
                            read(&data, share.range(guess), 0, chunk)
                        })
                        .collect();
                    assert_eq!(got, all, "guess {guess}, of {of}, chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn every_share_reads_the_header_lines() {
        let data = b"h1\nh2\na\nbb\nccc\ndddd\neeeee\n".to_vec();
        let all = lines(&data);
        for chunk in [1, 2, 5, 100] {
            let mut body = Vec::new();
            for index in 0..3 {
                let share = LineShare::new(index, 3).unwrap();
                let got = read(&data, share.range(data.len() as u64), 2, chunk);
                assert_eq!(got[..2], all[..2], "chunk {chunk}");
                body.extend_from_slice(&got[2..]);
            }
            assert_eq!(body, all[2..], "chunk {chunk}");
        }
    }

    #[test]
    fn a_share_stops_after_its_range() {
        let data = b"aaa\nbbb\nccc\nddd\neee\nfff\n";
        let mut filter = LineFilter::new(0, 6, 0);
        let mut runs = Vec::new();
        filter
            .split(&data[..10], |run, _| {
                runs.push(run.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(runs, [b"aaa\nbbb\n".to_vec()]);
        assert!(filter.is_done());
    }

    #[test]
    fn the_decompressed_size_comes_from_the_trailer() {
        assert_eq!(
            LineShare::decompressed_size(1000_u32.to_le_bytes(), 10),
            1000
        );
        // Over 4 GiB, ISIZE wraps: taken as at least the compressed size.
        assert_eq!(
            LineShare::decompressed_size(5_u32.to_le_bytes(), 1 << 33),
            (2 << 32) + 5
        );
        let last = LineShare::new(2, 3).unwrap();
        assert_eq!(last.range(300), (200, u64::MAX));
        assert_eq!(LineShare::new(0, 3).unwrap().range(300), (0, 100));
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
