//! [`HttpFetcher`]: the engine's external input read over the browser's `fetch`.
//!
//! The engine reads every input through [`msq_runtime::env::Fetcher`]; natively that is a
//! disk or memory fetcher, in a page or a Web Worker it is this one. A body is streamed as the
//! network delivers it: each chunk a `ReadableStreamDefaultReader::read()` yields becomes one
//! `Vec<u8>` of the [`ByteStream`], so a large file never sits whole in memory. Bytes are passed
//! on as they arrive: gzip is *not* undone here (the engine's input reader gunzips by name and
//! magic number while it streams), and the browser itself only decodes a
//! `Content-Encoding`, never a `.gz` file's contents.
//!
//! Errors read like Druid's for an input that cannot be opened (spec `druid-msq.md` §3.2, code
//! `QueryRuntimeError`, via [`msq_runtime::fetch::cannot_open`]) and always name the URI:
//! `Cannot read input [<uri>]: 404 Not Found`. A browser hides why a cross-origin request was
//! refused (`fetch` rejects with a bare `TypeError`), so network failures say so and point at
//! the usual cause, the server's `Access-Control-Allow-Origin` ([`NETWORK_OR_CORS`]).
//!
//! # Layout
//! - [`HttpFetcher`]: the [`Fetcher`] (`open`; `list` and absolute paths such as `/a.json`
//!   go to the page's local files, [`crate::local_files`]) plus
//!   [`HttpFetcher::open_range`] for one `Range: bytes=a-b` slice of a file.
//! - [`content_length_and_ranges`]: a `HEAD` request telling a file's size and whether its
//!   server serves byte ranges ([`Fetcher::probe`]: the controller splits one large
//!   uncompressed file across workers, `msq_runtime::split`).
//! - private helpers: URL resolution against the global scope's location, the `fetch` call on
//!   whatever global scope runs (`Window` or `WorkerGlobalScope`), status checks and the body
//!   reader that turns `read()` results into stream items ([`readable_stream`], shared with
//!   the local files, whose `Blob.stream()` is read the same way).

use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use msq_common::{MsqError, Result};
use msq_runtime::env::{ByteStream, Fetcher};
use msq_runtime::fetch::cannot_open;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, ReadableStream, ReadableStreamDefaultReader, Request, RequestInit, Response,
};

/// The reason given when `fetch` itself fails: the browser does not say whether the network
/// failed or the server refused this origin (CORS), so both are named.
pub const NETWORK_OR_CORS: &str = "network error or CORS refusal \
     (the server must allow this origin: Access-Control-Allow-Origin)";

/// Reads `http(s)://`, relative, `data:` and `blob:` URIs with the browser's `fetch`, and
/// `local` paths (`/<name>`, `file:///<name>`) from the page's local files in OPFS
/// ([`crate::local_files`]).
///
/// Works in a page and in a Web Worker: `fetch` is looked up on the running global scope.
/// Relative URIs resolve against that scope's location (the page, or the worker script, which
/// trunk serves next to the page).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpFetcher;

impl HttpFetcher {
    /// A fetcher using the running global scope's `fetch`.
    pub fn new() -> Self {
        Self
    }

    /// Opens bytes `start..=end_inclusive` of `uri` with `Range: bytes=<start>-<end_inclusive>`.
    ///
    /// Only a `206 Partial Content` reply is accepted: a `200` means the server ignored the
    /// range and would send the whole file, which is reported as an error rather than
    /// silently read. When the reply's `Content-Range` is visible (same origin, or exposed by
    /// CORS) its first byte must be `start`. The browser's HTTP cache may answer the range
    /// itself (a `206` cut from a full copy it holds), which is just as good.
    ///
    /// # Errors
    /// `QueryRuntimeError` naming `uri` when the range is empty (`start > end_inclusive`), the
    /// URI is invalid, the request fails, the status is not `206`, or the body breaks off.
    pub fn open_range(
        &self,
        uri: &str,
        start: u64,
        end_inclusive: u64,
    ) -> LocalBoxFuture<'static, Result<ByteStream>> {
        let uri = uri.to_string();
        async move {
            if start > end_inclusive {
                return Err(cannot_open(
                    &uri,
                    format!("empty byte range bytes={start}-{end_inclusive} (start after end)"),
                ));
            }
            let response = send(&uri, "GET", Some((start, end_inclusive))).await?;
            check_ok(&uri, &response)?;
            match response.status() {
                206 => {}
                200 => {
                    return Err(cannot_open(
                        &uri,
                        format!(
                            "the server ignored the request for bytes={start}-{end_inclusive} \
                             (it replied 200 OK with the whole file instead of 206 Partial \
                             Content): it does not serve byte ranges"
                        ),
                    ))
                }
                other => {
                    return Err(cannot_open(
                        &uri,
                        format!(
                            "expected 206 Partial Content for bytes={start}-{end_inclusive}, \
                             got {}",
                            status_line(other, &response.status_text())
                        ),
                    ))
                }
            }
            if let Some(range) = header(&uri, &response, "content-range")? {
                match content_range_start(&range) {
                    Some(first) if first == start => {}
                    _ => {
                        return Err(cannot_open(
                            &uri,
                            format!(
                                "asked for bytes={start}-{end_inclusive} but the server sent \
                                 Content-Range [{range}]"
                            ),
                        ))
                    }
                }
            }
            body_stream(uri, &response)
        }
        .boxed_local()
    }
}

impl Fetcher for HttpFetcher {
    /// `GET uri` and stream the body chunk by chunk as it arrives.
    fn open(&self, uri: &str) -> LocalBoxFuture<'_, Result<ByteStream>> {
        let uri = uri.to_string();
        async move {
            if crate::local_files::is_local(&uri) {
                return crate::local_files::open(&uri).await;
            }
            let response = send(&uri, "GET", None).await?;
            check_ok(&uri, &response)?;
            body_stream(uri, &response)
        }
        .boxed_local()
    }

    /// The `local` input source's `baseDir` + `filter`: the page's local files when
    /// `base_dir` is `/` or `/files` ([`crate::local_files::list_paths`]); any other directory
    /// is an `InvalidInput` error (HTTP has no directory listing).
    fn list(&self, base_dir: &str, filter: &str) -> LocalBoxFuture<'_, Result<Vec<String>>> {
        let (base_dir, filter) = (base_dir.to_string(), filter.to_string());
        async move { crate::local_files::list_paths(&base_dir, &filter).await }.boxed_local()
    }

    /// A `HEAD` ([`content_length_and_ranges`]): the size when the server serves byte ranges
    /// of the file as stored (no `Content-Encoding`, whose ranges would count encoded bytes).
    /// Local files are read whole.
    fn probe(&self, uri: &str) -> LocalBoxFuture<'_, Option<u64>> {
        let uri = uri.to_string();
        async move {
            if crate::local_files::is_local(&uri) {
                return None;
            }
            match content_length_and_ranges(&uri).await {
                Ok((Some(size), true)) => Some(size),
                _ => None,
            }
        }
        .boxed_local()
    }

    fn open_range(
        &self,
        uri: &str,
        start: u64,
        end_inclusive: u64,
    ) -> LocalBoxFuture<'_, Result<ByteStream>> {
        HttpFetcher::open_range(self, uri, start, end_inclusive)
    }
}

/// The size of `uri` (`Content-Length`) and whether its server serves byte ranges
/// (`Accept-Ranges: bytes`), from a `HEAD` request.
///
/// `Content-Length` is visible cross-origin; `Accept-Ranges` only from the same origin or when
/// the server lists it in `Access-Control-Expose-Headers` — otherwise the answer is `false`,
/// which only means "do not split this file".
///
/// # Errors
/// `QueryRuntimeError` naming `uri` when the URI is invalid, the request fails or the status is
/// not 2xx.
pub async fn content_length_and_ranges(uri: &str) -> Result<(Option<u64>, bool)> {
    let response = send(uri, "HEAD", None).await?;
    check_ok(uri, &response)?;
    let length = header(uri, &response, "content-length")?.and_then(|v| v.trim().parse().ok());
    let encoded = header(uri, &response, "content-encoding")?
        .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("identity"));
    let ranges = !encoded
        && header(uri, &response, "accept-ranges")?.is_some_and(|v| {
            v.split(',')
                .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
        });
    Ok((length, ranges))
}

/// The running global scope (`Window`, `DedicatedWorkerGlobalScope`, …).
fn global() -> JsValue {
    js_sys::global().into()
}

/// `uri` made absolute against the global scope's `location.href`, or an "invalid URL" error.
fn resolve(uri: &str) -> Result<String> {
    let base = Reflect::get(&global(), &JsValue::from_str("location"))
        .ok()
        .filter(|location| location.is_object())
        .and_then(|location| Reflect::get(&location, &JsValue::from_str("href")).ok())
        .and_then(|href| href.as_string());
    let url = match &base {
        Some(base) => web_sys::Url::new_with_base(uri, base),
        None => web_sys::Url::new(uri),
    };
    url.map(|url| url.href())
        .map_err(|_| cannot_open(uri, "invalid URL"))
}

/// Sends one request with the global scope's `fetch` and waits for the response headers.
async fn send(uri: &str, method: &str, range: Option<(u64, u64)>) -> Result<Response> {
    let url = resolve(uri)?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((start, end)) = range {
        let headers = Headers::new().map_err(|e| cannot_open(uri, js_message(&e)))?;
        headers
            .set("Range", &format!("bytes={start}-{end}"))
            .map_err(|e| cannot_open(uri, js_message(&e)))?;
        init.set_headers(&headers);
    }
    let request = Request::new_with_str_and_init(&url, &init)
        .map_err(|e| cannot_open(uri, format!("invalid request: {}", js_message(&e))))?;
    let scope = global();
    let fetch = Reflect::get(&scope, &JsValue::from_str("fetch"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| cannot_open(uri, "this JavaScript global scope has no fetch()"))?;
    let promise = fetch
        .call1(&scope, &request)
        .map_err(|e| network_error(uri, &e))?
        .dyn_into::<Promise>()
        .map_err(|_| cannot_open(uri, "fetch() did not return a Promise"))?;
    let response = JsFuture::from(promise)
        .await
        .map_err(|e| network_error(uri, &e))?;
    response
        .dyn_into::<Response>()
        .map_err(|_| cannot_open(uri, "fetch() did not resolve to a Response"))
}

/// The error for a rejected `fetch`: a `TypeError` is the browser's opaque "network error",
/// which includes CORS refusals; anything else (an abort) keeps its own message.
fn network_error(uri: &str, error: &JsValue) -> MsqError {
    if error.is_instance_of::<js_sys::TypeError>() {
        cannot_open(uri, NETWORK_OR_CORS)
    } else {
        cannot_open(uri, format!("{NETWORK_OR_CORS}: {}", js_message(error)))
    }
}

/// Fails unless the status is 2xx, with `"<status> <status text>"` as the reason.
fn check_ok(uri: &str, response: &Response) -> Result<()> {
    if response.ok() {
        Ok(())
    } else {
        Err(cannot_open(
            uri,
            status_line(response.status(), &response.status_text()),
        ))
    }
}

/// `404 Not Found`, or `HTTP status 404` when the server sent no reason phrase (HTTP/2).
fn status_line(status: u16, text: &str) -> String {
    if text.trim().is_empty() {
        format!("HTTP status {status}")
    } else {
        format!("{status} {}", text.trim())
    }
}

/// A response header (case-insensitive name), if present and visible to this origin.
fn header(uri: &str, response: &Response, name: &str) -> Result<Option<String>> {
    response
        .headers()
        .get(name)
        .map_err(|e| cannot_open(uri, js_message(&e)))
}

/// The first byte of a `Content-Range: bytes <first>-<last>/<size>` value.
fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

/// The response body as a [`ByteStream`]: one item per `read()` chunk; empty when there is no
/// body (e.g. `204 No Content`).
fn body_stream(uri: String, response: &Response) -> Result<ByteStream> {
    match response.body() {
        Some(body) => readable_stream(uri, &body),
        None => Ok(futures::stream::empty().boxed_local()),
    }
}

/// A `ReadableStream` of bytes (a response body, a `Blob`'s `stream()`) as a [`ByteStream`]:
/// one item per non-empty `read()` chunk; dropping the stream early cancels the source.
/// Errors name `uri`.
pub(crate) fn readable_stream(uri: String, body: &ReadableStream) -> Result<ByteStream> {
    let reader = ReadableStreamDefaultReader::new(body)
        .map_err(|e| cannot_open(&uri, format!("cannot read the body: {}", js_message(&e))))?;
    let state = BodyReader {
        uri,
        reader,
        finished: false,
    };
    Ok(futures::stream::unfold(Some(state), |state| async move {
        let mut reader = state?;
        match reader.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(reader))),
            Ok(None) => None,
            Err(error) => Some((Err(error), None)),
        }
    })
    .boxed_local())
}

/// A body being read. Dropping it before the end cancels the body, so the browser stops
/// downloading a file nobody reads any more (e.g. a `LIMIT` was reached).
struct BodyReader {
    uri: String,
    reader: ReadableStreamDefaultReader,
    /// The body ended or failed: nothing to cancel.
    finished: bool,
}

impl BodyReader {
    /// The next non-empty chunk, or `None` at the end of the body.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let result = JsFuture::from(self.reader.read()).await.map_err(|e| {
                self.finished = true;
                cannot_open(
                    &self.uri,
                    format!(
                        "the connection failed while reading the body: {}",
                        js_message(&e)
                    ),
                )
            })?;
            let done = Reflect::get(&result, &JsValue::from_str("done"))
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(false);
            if done {
                self.finished = true;
                return Ok(None);
            }
            let value = Reflect::get(&result, &JsValue::from_str("value")).unwrap_or_default();
            let Some(bytes) = value.dyn_ref::<Uint8Array>() else {
                self.finished = true;
                return Err(cannot_open(
                    &self.uri,
                    "the body yielded a chunk that is not bytes",
                ));
            };
            if bytes.length() > 0 {
                return Ok(Some(bytes.to_vec()));
            }
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if !self.finished {
            // The returned promise settles on its own; there is nothing left to wait for.
            let _ = self.reader.cancel();
        }
    }
}

/// A JS exception as `"<name>: <message>"` (or its string form).
fn js_message(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        let name = String::from(error.name());
        let message = String::from(error.message());
        if name.is_empty() {
            message
        } else {
            format!("{name}: {message}")
        }
    } else if let Some(text) = error.as_string() {
        text
    } else {
        format!("{error:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_line(404, "Not Found"), "404 Not Found");
        assert_eq!(status_line(503, ""), "HTTP status 503");
    }

    #[test]
    fn content_range_first_byte() {
        assert_eq!(content_range_start("bytes 10-19/100"), Some(10));
        assert_eq!(content_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(content_range_start("bytes */100"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
