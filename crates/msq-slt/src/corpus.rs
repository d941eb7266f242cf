//! The golden corpus embedded at compile time, for targets without a filesystem.
//!
//! `build.rs` walks the workspace's `tests/slt` (every `.slt` file) and `tests/data` (every
//! file) and generates [`SLT_FILES`] and [`DATA_FILES`]; the browser runner
//! (`tests/wasm_corpus.rs`) runs each script on a fresh [`crate::engine::ClusterEngine`] whose
//! fetcher is [`memory_fetcher`]. Unused tables cost nothing in a binary: the linker drops them.

use crate::engine::TEST_DATA_URL;
use msq_runtime::fetch::MemoryFetcher;

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));

/// The directory `local` input sources of the corpus name (`"files":["tests/data/foo.json"]`,
/// `"baseDir":"tests/data"`), relative to the workspace root.
pub const LOCAL_DATA_DIR: &str = "tests/data";

/// A fetcher serving every embedded data file where the corpus looks for it: at
/// `http://acorn.test/data/<name>` ([`TEST_DATA_URL`], the `http` input source) and at
/// `tests/data/<name>` (the `local` input source, listable by `baseDir` + `filter`).
pub fn memory_fetcher() -> MemoryFetcher {
    DATA_FILES
        .iter()
        .fold(MemoryFetcher::new(), |fetcher, (name, bytes)| {
            fetcher
                .with_file(format!("{TEST_DATA_URL}{name}"), bytes.to_vec())
                .with_file(format!("{LOCAL_DATA_DIR}/{name}"), bytes.to_vec())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    fn on_disk(sub: &str, keep: impl Fn(&Path) -> bool) -> Vec<(String, Vec<u8>)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let base = root.join(sub);
        let mut files = Vec::new();
        walk(&base, &mut files);
        let mut named: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .filter(|p| keep(p))
            .map(|p| {
                let rel = p
                    .strip_prefix(&base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                (rel, std::fs::read(&p).unwrap())
            })
            .collect();
        named.sort();
        named
    }

    #[test]
    fn embedded_corpus_matches_the_files_on_disk() {
        let slt: Vec<(String, Vec<u8>)> =
            on_disk("tests/slt", |p| p.extension().is_some_and(|e| e == "slt"))
                .into_iter()
                .map(|(rel, bytes)| (format!("tests/slt/{rel}"), bytes))
                .collect();
        let embedded: Vec<(String, Vec<u8>)> = SLT_FILES
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.as_bytes().to_vec()))
            .collect();
        assert!(!embedded.is_empty());
        assert_eq!(embedded, slt);

        let data = on_disk("tests/data", |_| true);
        let embedded: Vec<(String, Vec<u8>)> = DATA_FILES
            .iter()
            .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
            .collect();
        assert_eq!(embedded, data);
    }

    #[test]
    fn memory_fetcher_serves_http_and_local_names() {
        use futures::StreamExt;
        use msq_runtime::env::Fetcher;
        let fetcher = memory_fetcher();
        let read = |uri: &str| {
            futures::executor::block_on(async {
                let mut stream = fetcher.open(uri).await.unwrap();
                let mut out = Vec::new();
                while let Some(chunk) = stream.next().await {
                    out.extend(chunk.unwrap());
                }
                out
            })
        };
        let foo = DATA_FILES
            .iter()
            .find(|(n, _)| *n == "foo.json")
            .map(|(_, b)| b.to_vec())
            .unwrap();
        assert_eq!(read("http://acorn.test/data/foo.json"), foo);
        assert_eq!(read("tests/data/foo.json"), foo);
        let listed =
            futures::executor::block_on(fetcher.list("tests/data", "edits_part*.json")).unwrap();
        assert_eq!(
            listed,
            vec!["tests/data/edits_part1.json", "tests/data/edits_part2.json"]
        );
    }
}
