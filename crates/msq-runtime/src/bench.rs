//! `POST /acorn/v1/bench/decode`: how fast one thread turns a file into Arrow batches, with
//! Acorn's reader or with serde_json alone (issue 6's decode ceiling, measured by the browser
//! benchmark in the same wasm build the engine runs).
//!
//! The body names a file, its `inputFormat` and a `signature` as `EXTERN` takes them, and the
//! `reader`: `"acorn"` (the reader ingestion uses) or `"serde_json"` (every JSON line through
//! serde_json's `Deserializer`, the general path of the same reader). The file is fetched whole
//! first; only the decoding is timed, on the engine's clock. The answer:
//! `{"reader", "rows", "bytes", "ms", "rowsPerSecond", "parseExceptions"}`.

use crate::engine::ApiError;
use crate::env::{Clock, Fetcher};
use futures::StreamExt;
use msq_common::{MsqError, Result};
use msq_exec::input::format::InputFormat;
use msq_exec::input::reader::{InputReader, ReaderOptions};
use msq_sql::DruidType;
use serde::Deserialize;
use serde_json::{json, Value};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecodeRequest {
    uri: String,
    input_format: Value,
    signature: Vec<SignatureColumn>,
    reader: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureColumn {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

/// Answers `POST /acorn/v1/bench/decode` (see the module docs).
///
/// # Errors
/// 400 naming the problem: a malformed body, an unknown `reader`, an invalid format or
/// signature, a file that cannot be fetched.
pub async fn decode(
    fetcher: &dyn Fetcher,
    clock: &dyn Clock,
    body: Value,
) -> Result<Value, ApiError> {
    run(fetcher, clock, body)
        .await
        .map_err(|e| ApiError::bad_request(&e))
}

async fn run(fetcher: &dyn Fetcher, clock: &dyn Clock, body: Value) -> Result<Value> {
    let request: DecodeRequest = serde_json::from_value(body)
        .map_err(|e| MsqError::plan(format!("Malformed decode benchmark request: {e}")))?;
    let json_scanner = match request.reader.as_str() {
        "acorn" => true,
        "serde_json" => false,
        other => {
            return Err(MsqError::plan(format!(
                "Unknown reader [{other}]: use \"acorn\" or \"serde_json\""
            )))
        }
    };
    let format = InputFormat::from_json(&request.input_format)?;
    let signature = request
        .signature
        .iter()
        .map(|c| Ok((c.name.clone(), DruidType::from_signature_type(&c.ty)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut bytes = Vec::new();
    let mut stream = fetcher.open(&request.uri).await?;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    let options = ReaderOptions {
        json_scanner,
        ..ReaderOptions::default()
    };
    let started = clock.now_ms();
    let out = InputReader::read_all(&format, &signature, request.uri.as_str(), &bytes, options)?;
    let ms = (clock.now_ms() - started).max(0);
    let rows = out.num_rows() as u64;
    Ok(json!({
        "reader": request.reader,
        "rows": rows,
        "bytes": bytes.len(),
        "ms": ms,
        "rowsPerSecond": if ms > 0 { rows * 1000 / ms as u64 } else { 0 },
        "parseExceptions": out.parse_exceptions.len(),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::env::ManualClock;
    use crate::fetch::MemoryFetcher;

    fn body(reader: &str) -> Value {
        json!({
            "uri": "mem://d.json",
            "inputFormat": {"type": "json"},
            "signature": [{"name": "s", "type": "string"}, {"name": "n", "type": "long"}],
            "reader": reader,
        })
    }

    #[test]
    fn both_readers_decode_the_same_rows_and_bad_requests_are_named() {
        let fetcher = MemoryFetcher::new().with_file(
            "mem://d.json",
            b"{\"s\":\"a\",\"n\":1}\n{\"s\":\"b\\\"\",\"n\":2.5}\nnot json\n".to_vec(),
        );
        let clock = ManualClock::new(0);
        for reader in ["acorn", "serde_json"] {
            let answer =
                futures::executor::block_on(decode(&fetcher, &clock, body(reader))).unwrap();
            assert_eq!(answer["reader"], reader);
            assert_eq!(answer["rows"], 2);
            assert_eq!(answer["parseExceptions"], 1);
            assert_eq!(answer["bytes"], 45);
        }
        let mut unknown = body("simd");
        let error =
            futures::executor::block_on(decode(&fetcher, &clock, unknown.clone())).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message().contains("simd"), "{}", error.message());
        unknown["reader"] = json!("acorn");
        unknown["uri"] = json!("mem://missing.json");
        let error = futures::executor::block_on(decode(&fetcher, &clock, unknown)).unwrap_err();
        assert!(
            error.message().contains("missing.json"),
            "{}",
            error.message()
        );
    }
}
