//! `msq_wasm::fetch::HttpFetcher` in a real browser (`wasm-pack test --headless --chrome
//! --test fetch`): bodies streamed from `blob:` and `data:` URLs and from the test runner's
//! own server (which serves this crate's directory), Druid-style errors naming the URL, and
//! byte ranges.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt;
use js_sys::{Array, Uint8Array};
use msq_common::ErrorCode;
use msq_runtime::env::{ByteStream, Fetcher};
use msq_wasm::fetch::{content_length_and_ranges, HttpFetcher, NETWORK_OR_CORS};
use wasm_bindgen_test::*;
use web_sys::{Blob, Url};

wasm_bindgen_test_configure!(run_in_browser);

/// A gzip file (`{"page":"Acorn","added":1}` three times), as `gzip.compress(..., mtime=0)`.
const GZIP: [u8; 50] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x2a, 0x48, 0x4c, 0x4f,
    0x55, 0xb2, 0x52, 0x72, 0x4c, 0xce, 0x2f, 0xca, 0x53, 0xd2, 0x51, 0x4a, 0x4c, 0x49, 0x49, 0x4d,
    0x51, 0xb2, 0x32, 0xac, 0xe5, 0xaa, 0x26, 0x4b, 0x0a, 0x00, 0x8c, 0xa1, 0x4d, 0xc0, 0x51, 0x00,
    0x00, 0x00,
];

/// A `blob:` URL serving `bytes`.
fn blob_url(bytes: &[u8]) -> String {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let blob = Blob::new_with_u8_array_sequence(&parts).unwrap();
    Url::create_object_url_with_blob(&blob).unwrap()
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
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

#[wasm_bindgen_test]
async fn multi_chunk_body_streams_every_byte_in_order() {
    let bytes = pattern(3 * 1024 * 1024 + 17);
    let url = blob_url(&bytes);
    let got = chunks(HttpFetcher::new().open(&url).await.unwrap()).await;
    assert!(
        got.len() > 1,
        "a 3 MiB body arrives in several chunks, got {}",
        got.len()
    );
    assert!(got.iter().all(|c| !c.is_empty()), "no empty chunks");
    assert_eq!(got.concat(), bytes);
    Url::revoke_object_url(&url).unwrap();
}

#[wasm_bindgen_test]
async fn gzip_body_comes_back_byte_identical() {
    let url = blob_url(&GZIP);
    let got = chunks(HttpFetcher::new().open(&url).await.unwrap())
        .await
        .concat();
    assert_eq!(&got[..2], &[0x1f, 0x8b], "still gzip: nothing decoded it");
    assert_eq!(got, GZIP.to_vec());
}

#[wasm_bindgen_test]
async fn data_url_is_read() {
    let got = chunks(
        HttpFetcher::new()
            .open("data:text/csv,a%2Cb%0A1%2C2")
            .await
            .unwrap(),
    )
    .await
    .concat();
    assert_eq!(got, b"a,b\n1,2");
}

#[wasm_bindgen_test]
async fn relative_uri_resolves_against_the_page_origin() {
    // The test runner serves this crate's directory at the page's origin.
    let got = chunks(HttpFetcher::new().open("Cargo.toml").await.unwrap())
        .await
        .concat();
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with("[package]"), "{text}");
    assert!(text.contains("name = \"msq-wasm\""));
}

#[wasm_bindgen_test]
async fn missing_file_is_404_naming_the_url() {
    // Relative: an absolute path such as `/x.csv` is a `local` file (msq_wasm::local_files).
    let uri = "acorn-h7-no-such-file.csv";
    let error = match HttpFetcher::new().open(uri).await {
        Ok(_) => panic!("a missing file must not open"),
        Err(error) => error,
    };
    assert_eq!(error.code(), ErrorCode::QueryRuntimeError);
    assert_eq!(
        error.message(),
        format!("Cannot read input [{uri}]: 404 Not Found")
    );
}

#[wasm_bindgen_test]
async fn refused_connection_gets_the_cors_hint() {
    let uri = "http://127.0.0.1:9/x";
    let error = match HttpFetcher::new().open(uri).await {
        Ok(_) => panic!("nothing listens on port 9"),
        Err(error) => error,
    };
    assert_eq!(error.code(), ErrorCode::QueryRuntimeError);
    assert_eq!(
        error.message(),
        format!("Cannot read input [{uri}]: {NETWORK_OR_CORS}")
    );
    assert!(error.message().contains("Access-Control-Allow-Origin"));
}

#[wasm_bindgen_test]
async fn invalid_url_is_named() {
    let uri = "http://[not-a-host/x";
    let error = match HttpFetcher::new().open(uri).await {
        Ok(_) => panic!("an invalid URL must not open"),
        Err(error) => error,
    };
    assert_eq!(
        error.message(),
        format!("Cannot read input [{uri}]: invalid URL")
    );
}

#[wasm_bindgen_test]
async fn listing_is_refused_with_invalid_input() {
    let error = HttpFetcher::new()
        .list("/data", "*.json")
        .await
        .expect_err("no listing over HTTP");
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert!(error.message().contains("baseDir [/data]"), "{error}");
    assert!(error.message().contains("filter [*.json]"), "{error}");
    assert!(
        error.message().contains("files given to the page"),
        "{error}"
    );
}

#[wasm_bindgen_test]
async fn range_of_a_blob_is_exactly_those_bytes() {
    let bytes = pattern(100_000);
    let url = blob_url(&bytes);
    let got = chunks(
        HttpFetcher::new()
            .open_range(&url, 1000, 50_999)
            .await
            .unwrap(),
    )
    .await
    .concat();
    assert_eq!(got, bytes[1000..=50_999].to_vec());
}

#[wasm_bindgen_test]
async fn ignored_range_is_an_error() {
    // The test runner's server answers a Range request with the whole file (200). The query
    // (ignored by that server) keeps the URL out of Chrome's HTTP cache, which would otherwise
    // answer the range itself (206) from the full copy another test fetched.
    let uri = "Cargo.toml?h7-range-ignored";
    let error = match HttpFetcher::new().open_range(uri, 0, 9).await {
        Ok(_) => panic!("a 200 reply to a range request must not be read"),
        Err(error) => error,
    };
    assert_eq!(error.code(), ErrorCode::QueryRuntimeError);
    assert!(
        error
            .message()
            .starts_with(&format!("Cannot read input [{uri}]: ")),
        "{error}"
    );
    assert!(
        error.message().contains("does not serve byte ranges"),
        "{error}"
    );
}

#[wasm_bindgen_test]
async fn empty_range_is_an_error() {
    let error = match HttpFetcher::new().open_range("Cargo.toml", 10, 9).await {
        Ok(_) => panic!("start after end"),
        Err(error) => error,
    };
    assert!(error.message().contains("bytes=10-9"), "{error}");
}

#[wasm_bindgen_test]
async fn head_reports_length_and_range_support() {
    let body = chunks(HttpFetcher::new().open("Cargo.toml").await.unwrap())
        .await
        .concat();
    let (length, ranges) = content_length_and_ranges("Cargo.toml").await.unwrap();
    assert_eq!(length, Some(body.len() as u64));
    assert!(!ranges, "the test server does not advertise Accept-Ranges");

    let error = content_length_and_ranges("/acorn-h7-no-such-file.csv")
        .await
        .expect_err("missing file");
    assert!(error.message().contains("404 Not Found"), "{error}");
}

#[wasm_bindgen_test]
async fn dropping_a_stream_early_leaves_the_fetcher_usable() {
    let bytes = pattern(2 * 1024 * 1024);
    let url = blob_url(&bytes);
    let fetcher = HttpFetcher::new();
    let mut stream = fetcher.open(&url).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first, bytes[..first.len()].to_vec());
    drop(stream); // cancels the body
    let again = chunks(fetcher.open(&url).await.unwrap()).await.concat();
    assert_eq!(again, bytes);
}
