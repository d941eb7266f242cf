//! Fetchers that need no browser: [`MemoryFetcher`] (URIs → bytes held in memory, both
//! targets) and, natively, [`FileFetcher`] (URI prefixes mapped onto directories, plain paths
//! read from disk).
//!
//! Both stream in chunks of [`CHUNK_SIZE`] so readers see the same chunked input they get from
//! a browser `fetch` body. Errors name the URI and read like Druid's when an input cannot be
//! opened.

use crate::env::{glob_matches, ByteStream, Fetcher};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use msq_common::{ErrorCode, MsqError, Result};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Bytes per chunk handed to readers.
pub const CHUNK_SIZE: usize = 1 << 20;

/// The error for an input that cannot be opened (Druid reports these as
/// `CannotParseExternalData`-adjacent runtime errors; we use `QueryRuntimeError` with the URI).
pub fn cannot_open(uri: &str, reason: impl std::fmt::Display) -> MsqError {
    MsqError::execution(
        ErrorCode::QueryRuntimeError,
        format!("Cannot read input [{uri}]: {reason}"),
    )
}

fn chunked(bytes: Rc<Vec<u8>>) -> ByteStream {
    let total = bytes.len();
    let starts: Vec<usize> = (0..total).step_by(CHUNK_SIZE).collect();
    Box::pin(futures::stream::iter(starts.into_iter().map(
        move |start| {
            let end = (start + CHUNK_SIZE).min(total);
            Ok(bytes[start..end].to_vec())
        },
    )))
}

/// URIs answered from memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryFetcher {
    files: BTreeMap<String, Rc<Vec<u8>>>,
}

impl MemoryFetcher {
    /// An empty fetcher: every URI is not found.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `bytes` at `uri`.
    pub fn with_file(mut self, uri: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.files.insert(uri.into(), Rc::new(bytes));
        self
    }
}

impl Fetcher for MemoryFetcher {
    fn open(&self, uri: &str) -> LocalBoxFuture<'_, Result<ByteStream>> {
        let result = match self.files.get(uri) {
            Some(bytes) => Ok(chunked(bytes.clone())),
            None => Err(cannot_open(uri, "404 Not Found")),
        };
        futures::future::ready(result).boxed_local()
    }

    fn probe(&self, uri: &str) -> LocalBoxFuture<'_, Option<u64>> {
        let size = self.files.get(uri).map(|b| b.len() as u64);
        futures::future::ready(size).boxed_local()
    }

    fn open_range(
        &self,
        uri: &str,
        start: u64,
        end_inclusive: u64,
    ) -> LocalBoxFuture<'_, Result<ByteStream>> {
        let result = match self.files.get(uri) {
            None => Err(cannot_open(uri, "404 Not Found")),
            Some(bytes) => {
                let len = bytes.len() as u64;
                if start > end_inclusive || start >= len {
                    Err(cannot_open(
                        uri,
                        format!(
                            "416 Range Not Satisfiable: bytes={start}-{end_inclusive} of {len}"
                        ),
                    ))
                } else {
                    let end = end_inclusive.min(len - 1) as usize + 1;
                    Ok(chunked(Rc::new(bytes[start as usize..end].to_vec())))
                }
            }
        };
        futures::future::ready(result).boxed_local()
    }

    fn list(&self, base_dir: &str, filter: &str) -> LocalBoxFuture<'_, Result<Vec<String>>> {
        let prefix = format!("{}/", base_dir.trim_end_matches('/'));
        let names = self
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/') && glob_matches(filter, rest))
            .map(|rest| format!("{prefix}{rest}"))
            .collect();
        futures::future::ready(Ok(names)).boxed_local()
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::FileFetcher;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    /// Reads URIs from the local disk: URIs starting with a mapped prefix (e.g.
    /// `http://acorn.test/data/` → `tests/data/`) and plain filesystem paths.
    #[derive(Debug, Clone, Default)]
    pub struct FileFetcher {
        mounts: Vec<(String, PathBuf)>,
    }

    impl FileFetcher {
        /// A fetcher reading plain paths only.
        pub fn new() -> Self {
            Self::default()
        }

        /// Serves files under `dir` at URIs starting with `prefix`.
        pub fn with_mount(mut self, prefix: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
            self.mounts.push((prefix.into(), dir.into()));
            self
        }

        fn resolve(&self, uri: &str) -> Result<PathBuf> {
            for (prefix, dir) in &self.mounts {
                if let Some(rest) = uri.strip_prefix(prefix.as_str()) {
                    if rest.split('/').any(|c| c == "..") {
                        return Err(cannot_open(uri, "path escapes its mount"));
                    }
                    return Ok(dir.join(rest));
                }
            }
            if uri.contains("://") {
                return Err(cannot_open(
                    uri,
                    "no network access in this fetcher (only mounted prefixes and local paths)",
                ));
            }
            Ok(PathBuf::from(uri))
        }
    }

    fn read_chunks(path: &Path, uri: &str) -> Result<ByteStream> {
        let mut file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                cannot_open(uri, "404 Not Found")
            } else {
                cannot_open(uri, e)
            }
        })?;
        let uri = uri.to_owned();
        let mut done = false;
        Ok(Box::pin(futures::stream::poll_fn(move |_| {
            if done {
                return std::task::Poll::Ready(None);
            }
            let mut chunk = vec![0u8; CHUNK_SIZE];
            let mut filled = 0;
            while filled < CHUNK_SIZE {
                match file.read(&mut chunk[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => {
                        done = true;
                        return std::task::Poll::Ready(Some(Err(cannot_open(&uri, e))));
                    }
                }
            }
            if filled == 0 {
                done = true;
                return std::task::Poll::Ready(None);
            }
            chunk.truncate(filled);
            std::task::Poll::Ready(Some(Ok(chunk)))
        })))
    }

    impl Fetcher for FileFetcher {
        fn open(&self, uri: &str) -> LocalBoxFuture<'_, Result<ByteStream>> {
            let result = self.resolve(uri).and_then(|path| read_chunks(&path, uri));
            futures::future::ready(result).boxed_local()
        }

        fn list(&self, base_dir: &str, filter: &str) -> LocalBoxFuture<'_, Result<Vec<String>>> {
            let result = self.resolve(base_dir).and_then(|dir| {
                let entries = std::fs::read_dir(&dir).map_err(|e| cannot_open(base_dir, e))?;
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| glob_matches(filter, n))
                    .map(|n| format!("{}/{n}", base_dir.trim_end_matches('/')))
                    .collect();
                names.sort();
                Ok(names)
            });
            futures::future::ready(result).boxed_local()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn read_all(fetcher: &dyn Fetcher, uri: &str) -> Result<Vec<u8>> {
        futures::executor::block_on(async {
            let mut stream = fetcher.open(uri).await?;
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend(chunk?);
            }
            Ok(out)
        })
    }

    #[test]
    fn memory_fetcher_streams_and_lists() {
        let big = vec![7u8; CHUNK_SIZE + 3];
        let fetcher = MemoryFetcher::new()
            .with_file("mem://d/a.json", big.clone())
            .with_file("mem://d/b.csv", b"x".to_vec());
        assert_eq!(read_all(&fetcher, "mem://d/a.json").unwrap(), big);
        let err = read_all(&fetcher, "mem://d/nope").unwrap_err();
        assert_eq!(
            err.message(),
            "Cannot read input [mem://d/nope]: 404 Not Found"
        );
        let listed = futures::executor::block_on(fetcher.list("mem://d", "*.json")).unwrap();
        assert_eq!(listed, vec!["mem://d/a.json"]);
    }

    #[test]
    fn file_fetcher_maps_prefixes_and_refuses_the_network() {
        let dir = std::env::temp_dir().join(format!("acorn-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f.txt"), b"hello").unwrap();
        let fetcher = FileFetcher::new().with_mount("http://acorn.test/data/", &dir);
        assert_eq!(
            read_all(&fetcher, "http://acorn.test/data/f.txt").unwrap(),
            b"hello"
        );
        let err = read_all(&fetcher, "https://example.com/x").unwrap_err();
        assert!(err.message().contains("no network access"), "{err}");
        let err = read_all(&fetcher, "http://acorn.test/data/missing").unwrap_err();
        assert!(err.message().ends_with("404 Not Found"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
