//! One large uncompressed file read by several workers, each through HTTP `Range` requests.
//!
//! Druid never splits a file (its unit of external input is the file). Acorn does when a
//! stage has fewer files than workers and a file is large, uncompressed and line-based (JSON
//! lines, CSV, TSV): the controller asks the server for the file's size ([`Fetcher::probe`], a
//! `HEAD` that also says whether byte ranges are served), the slicer cuts it into byte ranges
//! of at least [`msq_kernel::slicer::MIN_PART_BYTES`], and each worker reads its range with
//! [`line_range`].
//!
//! A line belongs to the part its first byte falls in: a part after the first skips the
//! partial line it starts in (it reads from one byte early, so a line starting exactly at its
//! first byte is kept), and every part reads past its end to finish its last line. Together
//! the parts yield every line of the file exactly once, in order. A CSV/TSV part after the
//! first also needs the file's header lines ([`first_lines`]), which its reader is fed first.

use crate::env::{ByteStream, Fetcher};
use futures::StreamExt;
use msq_common::Result;
use std::rc::Rc;

/// Bytes requested past a part's end for its last line; a longer line is finished with
/// further requests of [`GROW`] bytes.
pub const LOOKAHEAD: u64 = 64 * 1024;
/// Bytes per follow-up request while a part's last line has not ended.
pub const GROW: u64 = 1 << 20;

struct LineRange {
    fetcher: Rc<dyn Fetcher>,
    uri: String,
    end: u64,
    size: u64,
    /// Absolute offset of the next byte the current stream yields.
    pos: u64,
    /// End (exclusive) of the bytes requested so far.
    fetched_to: u64,
    stream: Option<ByteStream>,
    /// Still discarding the partial line the part starts in.
    skipping: bool,
    done: bool,
}

impl LineRange {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>>> {
        loop {
            if self.done {
                return None;
            }
            let Some(stream) = self.stream.as_mut() else {
                if self.fetched_to >= self.size {
                    self.done = true;
                    return None;
                }
                let to = if self.fetched_to < self.end {
                    (self.end + LOOKAHEAD).min(self.size)
                } else {
                    (self.fetched_to + GROW).min(self.size)
                };
                match self
                    .fetcher
                    .open_range(&self.uri, self.fetched_to, to - 1)
                    .await
                {
                    Ok(stream) => {
                        self.pos = self.fetched_to;
                        self.fetched_to = to;
                        self.stream = Some(stream);
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            };
            let chunk = match stream.next().await {
                None => {
                    self.stream = None;
                    continue;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(chunk)) => chunk,
            };
            let chunk_start = self.pos;
            self.pos += chunk.len() as u64;
            let mut from = 0usize;
            if self.skipping {
                let Some(newline) = memchr::memchr(b'\n', &chunk) else {
                    continue;
                };
                self.skipping = false;
                if chunk_start + newline as u64 + 1 >= self.end {
                    // The first line starting in this part would start at or after its end.
                    self.done = true;
                    return None;
                }
                from = newline + 1;
            }
            // The chunk is handed on in place (only the start of a part moves its bytes down).
            let mut rest = chunk;
            rest.drain(..from);
            // The part's last line ends at the first newline at or after byte `end − 1`.
            let rest_start = chunk_start + from as u64;
            let search =
                usize::try_from((self.end - 1).saturating_sub(rest_start)).unwrap_or(usize::MAX);
            if search < rest.len() {
                if let Some(i) = memchr::memchr(b'\n', &rest[search..]) {
                    self.done = true;
                    rest.truncate(search + i + 1);
                    return Some(Ok(rest));
                }
            }
            if !rest.is_empty() {
                return Some(Ok(rest));
            }
        }
    }
}

/// The lines of `uri` (a file of `size` bytes) whose first byte lies in `start..end`, as a
/// stream of chunks, read with byte-range requests through `fetcher`.
pub fn line_range(
    fetcher: Rc<dyn Fetcher>,
    uri: String,
    start: u64,
    end: u64,
    size: u64,
) -> ByteStream {
    let from = start.saturating_sub(1);
    let state = LineRange {
        fetcher,
        uri,
        end: end.min(size),
        size,
        pos: from,
        fetched_to: from,
        stream: None,
        skipping: start > 0,
        done: start >= end.min(size),
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        let chunk = state.next_chunk().await?;
        Some((chunk, state))
    }))
}

/// The first `lines` lines of `uri` (a file of `size` bytes), each with its newline (the last
/// one without, when the file ends first): the header lines a CSV/TSV part after the first
/// reads before its own. Read with byte-range requests of [`LOOKAHEAD`], then [`GROW`] bytes.
///
/// # Errors
/// The fetcher's, naming `uri`.
pub async fn first_lines(
    fetcher: &dyn Fetcher,
    uri: &str,
    size: u64,
    lines: usize,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut seen = 0;
    let mut pos = 0;
    while seen < lines && pos < size {
        let to = (pos + if pos == 0 { LOOKAHEAD } else { GROW }).min(size);
        let mut stream = fetcher.open_range(uri, pos, to - 1).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            for newline in memchr::memchr_iter(b'\n', &chunk) {
                seen += 1;
                if seen == lines {
                    out.extend_from_slice(&chunk[..=newline]);
                    return Ok(out);
                }
            }
            out.extend_from_slice(&chunk);
        }
        pos = to;
    }
    Ok(out)
}

/// The last four bytes of the gzip file `uri` of `size` bytes: its trailer's `ISIZE`, from
/// which the shares of its lines are cut (`msq_exec::input::share`).
///
/// # Errors
/// As [`Fetcher::open_range`], and `CannotParseExternalData` for a file too short to be gzip.
pub async fn gzip_trailer(fetcher: &dyn Fetcher, uri: &str, size: u64) -> Result<[u8; 4]> {
    msq_common::msq_ensure!(
        size >= 18,
        CannotParseExternalData,
        "[{uri}] is {size} bytes, too short to be a gzip file"
    );
    let mut stream = fetcher.open_range(uri, size - 4, size - 1).await?;
    let mut trailer = Vec::with_capacity(4);
    while let Some(chunk) = stream.next().await {
        trailer.extend_from_slice(&chunk?);
    }
    trailer.try_into().map_err(|bytes: Vec<u8>| {
        crate::fetch::cannot_open(
            uri,
            format!("asked for its last 4 bytes, got {}", bytes.len()),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fetch::MemoryFetcher;

    fn read(fetcher: &Rc<dyn Fetcher>, start: u64, end: u64, size: u64) -> Vec<u8> {
        futures::executor::block_on(async {
            let mut stream = line_range(fetcher.clone(), "http://t/f".into(), start, end, size);
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend(chunk.unwrap());
            }
            out
        })
    }

    #[test]
    fn parts_yield_every_line_once_in_order() {
        // Lines of varied length, some longer than the lookahead, with and without a final
        // newline.
        for trailing_newline in [true, false] {
            let mut text = String::new();
            for i in 0..400 {
                let len = if i % 97 == 0 { 70_000 } else { i * 37 % 300 };
                text.push_str(&format!("{i}:{}\n", "x".repeat(len)));
            }
            if !trailing_newline {
                text.pop();
            }
            let bytes = text.into_bytes();
            let size = bytes.len() as u64;
            let fetcher: Rc<dyn Fetcher> =
                Rc::new(MemoryFetcher::new().with_file("http://t/f", bytes.clone()));
            for parts in [1u64, 2, 3, 7, 40] {
                let mut whole = Vec::new();
                for p in 0..parts {
                    let (start, end) = (size * p / parts, size * (p + 1) / parts);
                    let part = read(&fetcher, start, end, size);
                    // Each part is whole lines.
                    if p + 1 < parts || trailing_newline {
                        assert!(part.is_empty() || part.ends_with(b"\n"));
                    }
                    whole.extend(part);
                }
                assert_eq!(whole.len(), bytes.len(), "{parts} parts");
                assert!(whole == bytes, "{parts} parts reassemble the file");
            }
        }
    }

    #[test]
    fn a_part_starting_exactly_at_a_line_keeps_it() {
        let bytes = b"aa\nbb\ncc\n".to_vec();
        let fetcher: Rc<dyn Fetcher> = Rc::new(MemoryFetcher::new().with_file("http://t/f", bytes));
        assert_eq!(read(&fetcher, 0, 3, 9), b"aa\n");
        assert_eq!(read(&fetcher, 3, 6, 9), b"bb\n");
        assert_eq!(read(&fetcher, 6, 9, 9), b"cc\n");
        // A part inside one line owns nothing.
        assert_eq!(read(&fetcher, 4, 5, 9), b"");
    }

    #[test]
    fn the_gzip_trailer_is_the_files_last_four_bytes() {
        let bytes: Vec<u8> = (0..40).collect();
        let fetcher = MemoryFetcher::new()
            .with_file("http://t/f.gz", bytes)
            .with_file("http://t/short.gz", vec![0x1f, 0x8b]);
        let trailer =
            |uri: &str, size| futures::executor::block_on(gzip_trailer(&fetcher, uri, size));
        assert_eq!(trailer("http://t/f.gz", 40).unwrap(), [36, 37, 38, 39]);
        let error = trailer("http://t/short.gz", 2).unwrap_err();
        assert_eq!(error.code(), msq_common::ErrorCode::CannotParseExternalData);
        assert!(
            error.message().contains("too short to be a gzip file"),
            "{error}"
        );
    }
}
