//! Streaming gzip decompression for `.gz` input files (spec `druid-msq.md` §1.2: "gzip
//! (`.gz`) decompression by extension"; design README "Input": bodies are decompressed as they
//! stream).
//!
//! [`GzipDecoder`] is push-based like the readers: each compressed chunk from the network goes
//! in, the bytes it inflates to come out, and nothing buffers the whole file. Multi-member gzip
//! files (concatenated `gzip` outputs, as `cat a.gz b.gz` makes) decode as one stream. Every
//! member's CRC-32 and length are checked, and a truncated or corrupt stream is an error naming
//! the source. Uses flate2's pure-Rust (`miniz_oxide`) backend, which builds for wasm32.

use flate2::write::MultiGzDecoder;
use msq_common::{ErrorCode, MsqError, Result};
use std::io::Write;

/// The two magic bytes that open every gzip member (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether a file is gzip by its name: Druid decides by the `.gz` extension (case-insensitive,
/// query string and fragment of a URL ignored).
pub fn is_gzip_name(name: &str) -> bool {
    let path = name.split(['?', '#']).next().unwrap_or(name);
    path.len() >= 3 && path[path.len() - 3..].eq_ignore_ascii_case(".gz")
}

/// Whether bytes start like a gzip member. Needs the first two bytes of the file.
pub fn has_gzip_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Push-based, multi-member gzip decoder.
#[derive(Debug)]
pub struct GzipDecoder {
    inner: MultiGzDecoder<Vec<u8>>,
    source: String,
    bytes_in: u64,
    finished: bool,
}

impl GzipDecoder {
    /// A decoder for the file or URI `source` (used in error messages).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            inner: MultiGzDecoder::new(Vec::new()),
            source: source.into(),
            bytes_in: 0,
            finished: false,
        }
    }

    /// Compressed bytes consumed so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Decompresses `chunk`, appending what it inflates to onto `out`.
    ///
    /// # Errors
    /// `CannotParseExternalData` naming the source when the bytes are not valid gzip, or when
    /// called after [`GzipDecoder::finish`].
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Err(MsqError::internal(format!(
                "gzip decoder for [{}] received data after finish",
                self.source
            )));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        self.bytes_in += chunk.len() as u64;
        let result = self
            .inner
            .write_all(chunk)
            .and_then(|()| self.inner.flush());
        self.drain(out);
        result.map_err(|e| self.error(&e))
    }

    /// Ends the stream, appending the last inflated bytes onto `out`. An input of zero bytes is
    /// an empty file, not an error.
    ///
    /// # Errors
    /// `CannotParseExternalData` naming the source when the stream is truncated or its
    /// checksum does not match.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if self.bytes_in == 0 {
            return Ok(());
        }
        let result = self.inner.try_finish();
        self.drain(out);
        result.map_err(|e| self.error(&e))
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        let produced = self.inner.get_mut();
        if out.is_empty() {
            std::mem::swap(out, produced);
        } else {
            out.append(produced);
        }
    }

    fn error(&self, e: &std::io::Error) -> MsqError {
        MsqError::execution(
            ErrorCode::CannotParseExternalData,
            format!(
                "Cannot decompress gzip input (Path: {}, after {} compressed bytes): {e}",
                self.source, self.bytes_in
            ),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode_in_chunks(bytes: &[u8], chunk: usize) -> Result<Vec<u8>> {
        let mut d = GzipDecoder::new("http://x/a.json.gz");
        let mut out = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            d.push(c, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn names_and_magic() {
        assert!(is_gzip_name("http://h/wikipedia.json.gz"));
        assert!(is_gzip_name("A.GZ?sig=1"));
        assert!(!is_gzip_name("a.json"));
        assert!(!is_gzip_name("gz"));
        assert!(has_gzip_magic(&gzip(b"x")));
        assert!(!has_gzip_magic(b"{}"));
    }

    #[test]
    fn chunked_and_multi_member() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        let mut two = gzip(&text[..1000]);
        two.extend(gzip(&text[1000..]));
        for chunk in [1, 7, 64, 4096, 1 << 20] {
            assert_eq!(
                decode_in_chunks(&two, chunk).unwrap(),
                text,
                "chunk {chunk}"
            );
        }
        assert_eq!(decode_in_chunks(&[], 1).unwrap(), b"");
    }

    #[test]
    fn corrupt_and_truncated_name_the_source() {
        let good = gzip(b"hello world hello world");
        let truncated = &good[..good.len() - 5];
        let err = decode_in_chunks(truncated, 3).unwrap_err();
        assert_eq!(err.code(), ErrorCode::CannotParseExternalData);
        assert!(
            err.message().contains("Path: http://x/a.json.gz"),
            "{}",
            err.message()
        );

        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        assert!(decode_in_chunks(&bad_crc, 4).is_err());

        assert!(decode_in_chunks(b"not gzip at all", 4).is_err());
        assert!(decode_in_chunks(&good[..5], 2).is_err());
    }
}
