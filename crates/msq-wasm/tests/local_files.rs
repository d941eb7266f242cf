//! `msq_wasm::local_files` in a real browser (`wasm-pack test --headless --chrome --test
//! local_files`): files copied into OPFS `files/` and read back through the engine's fetcher
//! as Druid's `local` input source (`files` paths and `baseDir` + `filter`), `.gz` files
//! passed on byte-identical, Druid-style errors for a missing file, and an engine query over
//! a local gzip file.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use js_sys::{Array, Uint8Array};
use msq_common::ErrorCode;
use msq_exec::segment::MemorySegmentStore;
use msq_runtime::env::{ByteStream, Fetcher};
use msq_runtime::store::SharedStore;
use msq_runtime::{Engine, EngineEnv};
use msq_wasm::engine::{JsClock, LocalSpawner};
use msq_wasm::fetch::HttpFetcher;
use msq_wasm::local_files;
use std::rc::Rc;
use wasm_bindgen_test::*;
use web_sys::File;

wasm_bindgen_test_configure!(run_in_browser);

/// A gzip file (`{"page":"Acorn","added":1}` three times), as `gzip.compress(..., mtime=0)`.
const GZIP: [u8; 50] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x2a, 0x48, 0x4c, 0x4f,
    0x55, 0xb2, 0x52, 0x72, 0x4c, 0xce, 0x2f, 0xca, 0x53, 0xd2, 0x51, 0x4a, 0x4c, 0x49, 0x49, 0x4d,
    0x51, 0xb2, 0x32, 0xac, 0xe5, 0xaa, 0x26, 0x4b, 0x0a, 0x00, 0x8c, 0xa1, 0x4d, 0xc0, 0x51, 0x00,
    0x00, 0x00,
];

/// A `File` named `name` holding `bytes` (what a drop or a file input hands the page).
fn file(name: &str, bytes: &[u8]) -> File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    File::new_with_u8_array_sequence(&parts, name).unwrap()
}

/// Every chunk of `stream`, failing the test on a stream error.
async fn chunks(mut stream: ByteStream) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.push(chunk.unwrap());
    }
    out
}

/// A deterministic, non-repeating-looking test body.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 37 + i / 241) as u8).collect()
}

#[wasm_bindgen_test]
async fn added_file_is_listed_and_read_through_the_fetcher() {
    let bytes = b"{\"page\":\"Acorn\",\"added\":1}\n".to_vec();
    let added = local_files::add_file(&file("lf-plain.json", &bytes))
        .await
        .unwrap();
    assert_eq!(added.name, "lf-plain.json");
    assert_eq!(added.size, bytes.len() as u64);
    assert_eq!(added.path(), "/lf-plain.json");

    let listed = local_files::list().await.unwrap();
    let entry = listed.iter().find(|f| f.name == "lf-plain.json").unwrap();
    assert_eq!(entry.size, bytes.len() as u64);

    let fetcher = HttpFetcher::new();
    for path in [
        "/lf-plain.json",
        "/files/lf-plain.json",
        "file:///lf-plain.json",
    ] {
        let got = chunks(fetcher.open(path).await.unwrap()).await.concat();
        assert_eq!(got, bytes, "{path}");
    }
    local_files::remove("lf-plain.json").await.unwrap();
}

#[wasm_bindgen_test]
async fn large_file_is_streamed_in_chunks() {
    let bytes = pattern(3 * 1024 * 1024 + 5);
    local_files::add_file(&file("lf-large.bin", &bytes))
        .await
        .unwrap();
    let got = chunks(HttpFetcher::new().open("/lf-large.bin").await.unwrap()).await;
    assert!(got.len() > 1, "a 3 MiB file arrives in several chunks");
    assert_eq!(got.concat(), bytes);
    local_files::remove("lf-large.bin").await.unwrap();
}

#[wasm_bindgen_test]
async fn gzip_file_comes_back_byte_identical() {
    local_files::add_file(&file("lf-gzip.json.gz", &GZIP))
        .await
        .unwrap();
    let got = chunks(HttpFetcher::new().open("/lf-gzip.json.gz").await.unwrap())
        .await
        .concat();
    assert_eq!(
        got,
        GZIP.to_vec(),
        "the engine's reader gunzips, not the fetcher"
    );
    local_files::remove("lf-gzip.json.gz").await.unwrap();
}

#[wasm_bindgen_test]
async fn adding_a_file_again_replaces_it() {
    local_files::add_file(&file("lf-again.csv", b"a,b\n1,2\n"))
        .await
        .unwrap();
    let again = local_files::add_file(&file("lf-again.csv", b"a\n"))
        .await
        .unwrap();
    assert_eq!(again.size, 2);
    let got = chunks(HttpFetcher::new().open("/lf-again.csv").await.unwrap())
        .await
        .concat();
    assert_eq!(got, b"a\n");
    local_files::remove("lf-again.csv").await.unwrap();
}

#[wasm_bindgen_test]
async fn missing_file_is_a_druid_style_error_naming_it() {
    let path = "/lf-no-such-file.json";
    let error = match HttpFetcher::new().open(path).await {
        Ok(_) => panic!("a missing local file must not open"),
        Err(error) => error,
    };
    assert_eq!(error.code(), ErrorCode::QueryRuntimeError);
    assert!(
        error.message().starts_with(&format!(
            "Cannot read input [{path}]: No such file or directory"
        )),
        "{error}"
    );
    assert!(
        error.message().contains("[lf-no-such-file.json]"),
        "{error}"
    );
    assert!(error.message().contains("Files panel"), "{error}");

    let error = match HttpFetcher::new().open("/tmp/x/a.json").await {
        Ok(_) => panic!("nested paths are refused"),
        Err(error) => error,
    };
    assert!(error
        .message()
        .starts_with("Cannot read input [/tmp/x/a.json]: "));
    assert!(error.message().contains("flat"), "{error}");

    // Removing a file that is not there is fine.
    local_files::remove("lf-no-such-file.json").await.unwrap();
}

#[wasm_bindgen_test]
async fn base_dir_and_filter_list_the_local_files() {
    local_files::add_file(&file("lf-list-a.json", b"{}\n"))
        .await
        .unwrap();
    local_files::add_file(&file("lf-list-b.json", b"{}\n"))
        .await
        .unwrap();
    local_files::add_file(&file("lf-list-c.csv", b"x\n"))
        .await
        .unwrap();
    let fetcher = HttpFetcher::new();
    assert_eq!(
        fetcher.list("/", "lf-list-*.json").await.unwrap(),
        vec!["/lf-list-a.json", "/lf-list-b.json"]
    );
    assert_eq!(
        fetcher.list("/files/", "lf-list-?.csv").await.unwrap(),
        vec!["/files/lf-list-c.csv"]
    );
    assert!(fetcher
        .list("/", "lf-list-*.parquet")
        .await
        .unwrap()
        .is_empty());
    let error = fetcher
        .list("/data", "*.json")
        .await
        .expect_err("only / and /files are local directories");
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert!(error.message().contains("baseDir [/data]"), "{error}");
    for name in ["lf-list-a.json", "lf-list-b.json", "lf-list-c.csv"] {
        local_files::remove(name).await.unwrap();
    }
    assert!(fetcher.list("/", "lf-list-*").await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn engine_reads_a_local_gzip_file() {
    local_files::add_file(&file("lf-engine.json.gz", &GZIP))
        .await
        .unwrap();
    let engine = Engine::new(EngineEnv::local(
        Rc::new(HttpFetcher::new()),
        SharedStore::new(MemorySegmentStore::new()),
        Rc::new(JsClock),
        Rc::new(LocalSpawner),
    ));
    let query = "SELECT \"page\", SUM(\"added\") AS \"added\" FROM TABLE(EXTERN(\
                 '{\"type\":\"local\",\"files\":[\"/lf-engine.json.gz\"]}', \
                 '{\"type\":\"json\"}')) EXTEND (\"page\" VARCHAR, \"added\" BIGINT) \
                 GROUP BY 1";
    let request = serde_json::from_value(serde_json::json!({ "query": query })).unwrap();
    let rows = engine.sql(&request).await.unwrap();
    assert_eq!(rows, serde_json::json!([{"page": "Acorn", "added": 3}]));

    let missing = query.replace("lf-engine", "lf-engine-missing");
    let request = serde_json::from_value(serde_json::json!({ "query": missing })).unwrap();
    let error = engine.sql(&request).await.expect_err("missing local file");
    assert!(
        error.message().contains("lf-engine-missing.json.gz"),
        "{}",
        error.message()
    );
    local_files::remove("lf-engine.json.gz").await.unwrap();
}
