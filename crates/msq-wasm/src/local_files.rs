//! The page's local files: what Druid's `local` input source reads in a browser tab.
//!
//! On a Druid server, `{"type":"local","files":["/path/a.json"]}` and
//! `{"type":"local","baseDir":"/path","filter":"*.json"}` read the server's disk (spec
//! `druid-msq.md` §1.2). In a tab the "server's disk" is the set of files the user gave the
//! page — dropped onto it or picked with a file input — copied into the Origin Private File
//! System under [`FILES_DIR`] (`<opfs>/files/<name>`, a flat directory). They survive a
//! reload like the engine's datasources do, and the engine's Web Worker reads them through
//! [`crate::fetch::HttpFetcher`], which sends every `local` path here.
//!
//! ```text
//!   page: drop / <input type=file> ──► add_file(File) ── File.stream().pipeTo(createWritable())
//!                                                              │   (streamed, never whole)
//!                                                              ▼
//!                                                       <opfs>/files/<name>
//!                                                              ▲
//!   engine worker: HttpFetcher::open("/<name>") ──► open ── getFile().stream() ─► ByteStream
//!                  HttpFetcher::list("/", "*.json") ──► list_paths
//! ```
//!
//! # Paths
//! A `local` path is an absolute path without a URL scheme (`/a.json`), or a `file:` URI
//! (`file:///a.json`); anything else (`http(s)://…`, `data:`, `blob:`, a relative URI) is
//! read over `fetch`. The directory `/` — also spelled `/files` — is [`FILES_DIR`]:
//! `/a.json` and `/files/a.json` name the same file, and `baseDir` `/` or `/files` lists it.
//! The directory is flat, so a path with more components is refused with a message saying
//! so. Gzip is not undone here: like an `http` body, a `.gz` file's bytes are passed on and
//! the engine's input reader gunzips by name and magic number.
//!
//! # Errors
//! Reading errors read like Druid's for an input that cannot be opened (`QueryRuntimeError`,
//! `Cannot read input [<path>]: …`, via [`msq_runtime::fetch::cannot_open`]); a missing file
//! says `No such file or directory` (as Java's `FileNotFoundException` does on a Druid
//! server) and where files come from. A `filter` that matches nothing is an empty list, as in
//! Druid (which only logs it).
//!
//! # Layout
//! - [`LocalFile`], [`list`], [`add_file`], [`remove`]: the page's side (the Files panel).
//! - [`is_local`], [`file_name`], [`is_files_dir`]: path rules (plain functions, unit tested).
//! - [`open`], [`list_paths`]: the engine's side (called by the fetcher).

use crate::opfs::{is_not_found, js_detail, js_field, storage_manager};
use msq_common::{MsqError, Result};
use msq_runtime::env::{glob_matches, ByteStream};
use msq_runtime::fetch::cannot_open;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    File, FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions,
    FileSystemGetFileOptions, FileSystemHandle, FileSystemHandleKind, FileSystemWritableFileStream,
};

/// The OPFS directory holding the page's local files (a sibling of the engine's
/// [`crate::engine::STORE_ROOT`]).
pub const FILES_DIR: &str = "files";

/// Suffix of Chromium's swap files behind an open writable stream: never listed, never a name.
const SWAP_SUFFIX: &str = ".crswap";

/// One of the page's local files.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFile {
    /// The file's name in [`FILES_DIR`].
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since the Unix epoch.
    pub last_modified_ms: f64,
}

impl LocalFile {
    /// The path a `local` input source names it by: `/<name>`.
    pub fn path(&self) -> String {
        format!("/{}", self.name)
    }
}

/// Whether `uri` names a local file rather than something to `fetch`: an absolute path
/// without a scheme (`/a.json`, not `//host/a.json`) or a `file:` URI.
pub fn is_local(uri: &str) -> bool {
    strip_file_scheme(uri).is_some() || (uri.starts_with('/') && !uri.starts_with("//"))
}

/// `file:///a.json` → `/a.json`, `file:/a.json` → `/a.json`; `None` for other URIs.
fn strip_file_scheme(uri: &str) -> Option<&str> {
    let rest = uri
        .get(..5)
        .filter(|s| s.eq_ignore_ascii_case("file:"))
        .map(|_| &uri[5..])?;
    Some(rest.strip_prefix("//").unwrap_or(rest))
}

/// The path part of a local `uri` (the `file:` scheme removed).
fn local_path(uri: &str) -> &str {
    strip_file_scheme(uri).unwrap_or(uri)
}

/// Whether the local directory `base_dir` is [`FILES_DIR`]: `/`, `/files` (trailing slashes
/// and a `file:` scheme allowed).
pub fn is_files_dir(base_dir: &str) -> bool {
    let dir = local_path(base_dir).trim_end_matches('/');
    (dir.is_empty() && local_path(base_dir).starts_with('/')) || dir == "/files"
}

/// The name in [`FILES_DIR`] of the local path `uri` (`/a.json`, `/files/a.json`,
/// `file:///a.json` → `a.json`).
///
/// # Errors
/// The reason the path names no file there: not absolute, a directory, or nested (the
/// directory is flat).
pub fn file_name(uri: &str) -> std::result::Result<&str, String> {
    let path = local_path(uri);
    let Some(rest) = path.strip_prefix('/') else {
        return Err("a local path must be absolute, e.g. [/data.json]".to_owned());
    };
    let name = rest.strip_prefix("files/").unwrap_or(rest);
    if name.is_empty() {
        return Err("it is a directory, not a file".to_owned());
    }
    if name.contains('/') {
        return Err(
            "the page's local files are one flat directory: name a file as [/<name>]".to_owned(),
        );
    }
    if name == "." || name == ".." {
        return Err("it is a directory, not a file".to_owned());
    }
    Ok(name)
}

/// Checks a name a new file is stored under.
fn check_new_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(MsqError::plan(format!(
            "Cannot add the file [{name}]: not a valid file name"
        )));
    }
    if name.ends_with(SWAP_SUFFIX) {
        return Err(MsqError::plan(format!(
            "Cannot add the file [{name}]: names ending in [{SWAP_SUFFIX}] are reserved"
        )));
    }
    Ok(())
}

/// The page's local files, sorted by name.
///
/// # Errors
/// An internal error when OPFS is unavailable or the directory cannot be read.
pub async fn list() -> Result<Vec<LocalFile>> {
    let dir = files_dir(false, FILES_DIR).await?;
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for handle in entries(&dir).await? {
        let name = handle.name();
        if handle.kind() != FileSystemHandleKind::File || name.ends_with(SWAP_SUFFIX) {
            continue;
        }
        let handle: FileSystemFileHandle = handle.unchecked_into();
        let file: File = await_js(handle.get_file(), "reading", &name)
            .await?
            .unchecked_into();
        files.push(LocalFile {
            name,
            size: file.size() as u64,
            last_modified_ms: file.last_modified(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Copies `file` into [`FILES_DIR`] under its own name, replacing a file of that name.
///
/// The bytes are streamed (`file.stream().pipeTo(writable)`), so a large file never sits
/// whole in memory; the stored file changes only when the copy completes (the writable's
/// swap file is committed on close), so a failed copy leaves a previous version intact.
///
/// # Errors
/// `InvalidInput` for a name that cannot be stored; an internal error when OPFS is
/// unavailable or the copy fails.
pub async fn add_file(file: &File) -> Result<LocalFile> {
    let name = file.name();
    check_new_name(&name)?;
    let Some(dir) = files_dir(true, &name).await? else {
        return Err(MsqError::internal(format!(
            "OPFS: the directory [{FILES_DIR}] could not be created"
        )));
    };
    let options = FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle: FileSystemFileHandle = await_js(
        dir.get_file_handle_with_options(&name, &options),
        "creating",
        &name,
    )
    .await?
    .unchecked_into();
    let writable: FileSystemWritableFileStream = await_js(
        handle.create_writable(),
        "opening a writable stream on",
        &name,
    )
    .await?
    .unchecked_into();
    // pipeTo closes the writable when the source ends (committing the copy) and aborts it
    // when either side fails (discarding the swap file).
    await_js(file.stream().pipe_to(&writable), "copying", &name).await?;
    let stored: File = await_js(handle.get_file(), "reading", &name)
        .await?
        .unchecked_into();
    Ok(LocalFile {
        name,
        size: stored.size() as u64,
        last_modified_ms: stored.last_modified(),
    })
}

/// Deletes the local file `name`; a missing one is fine.
///
/// # Errors
/// An internal error when OPFS is unavailable or the removal fails.
pub async fn remove(name: &str) -> Result<()> {
    let Some(dir) = files_dir(false, name).await? else {
        return Ok(());
    };
    match JsFuture::from(dir.remove_entry(name)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(js_error("deleting", name, &e)),
    }
}

/// Opens the local file `uri` names (see [`file_name`]) as a stream of chunks, read from
/// OPFS as the engine consumes them (`getFile().stream()`).
///
/// # Errors
/// `QueryRuntimeError` naming `uri`: not a file path, no such file, OPFS unavailable, or a
/// read that fails.
pub async fn open(uri: &str) -> Result<ByteStream> {
    let name = file_name(uri).map_err(|reason| cannot_open(uri, reason))?;
    let dir = files_dir(false, name)
        .await
        .map_err(|e| cannot_open(uri, e.message()))?
        .ok_or_else(|| not_found(uri, name))?;
    let handle: FileSystemFileHandle = match JsFuture::from(dir.get_file_handle(name)).await {
        Ok(handle) => handle.unchecked_into(),
        Err(e) if is_not_found(&e) => return Err(not_found(uri, name)),
        Err(e) if js_field(&e, "name").as_deref() == Some("TypeMismatchError") => {
            return Err(cannot_open(uri, "it is a directory, not a file"))
        }
        Err(e) => return Err(cannot_open(uri, js_detail(&e))),
    };
    let file: File = match JsFuture::from(handle.get_file()).await {
        Ok(file) => file.unchecked_into(),
        Err(e) if is_not_found(&e) => return Err(not_found(uri, name)),
        Err(e) => return Err(cannot_open(uri, js_detail(&e))),
    };
    crate::fetch::readable_stream(uri.to_owned(), &file.stream())
}

/// The paths (`<base_dir>/<name>`, as Druid joins them) of the local files matching the glob
/// `filter`, sorted; `base_dir` must be [`FILES_DIR`] (`/` or `/files`, see
/// [`is_files_dir`]).
///
/// # Errors
/// `InvalidInput` for another directory; `QueryRuntimeError` when OPFS cannot be read.
pub async fn list_paths(base_dir: &str, filter: &str) -> Result<Vec<String>> {
    if !is_files_dir(base_dir) {
        return Err(MsqError::plan(format!(
            "Cannot list input files under baseDir [{base_dir}] with filter [{filter}]: in \
             the browser, the `local` input source reads the files given to the page (the \
             Files panel), whose baseDir is [/] (or [/files]). Use an `http` input source \
             with `uris` for files on a server."
        )));
    }
    let files = list()
        .await
        .map_err(|e| cannot_open(base_dir, e.message()))?;
    let prefix = base_dir.trim_end_matches('/');
    Ok(files
        .into_iter()
        .filter(|f| glob_matches(filter, &f.name))
        .map(|f| format!("{prefix}/{}", f.name))
        .collect())
}

/// The error for a local file that does not exist.
fn not_found(uri: &str, name: &str) -> MsqError {
    cannot_open(
        uri,
        format!(
            "No such file or directory: the page has no local file [{name}] (add it in the \
             Files panel: drop it on the page or pick it with Add files)"
        ),
    )
}

/// The [`FILES_DIR`] directory, created when `create`; `None` when it is missing. `what`
/// names the file the caller is after, for errors.
async fn files_dir(create: bool, what: &str) -> Result<Option<FileSystemDirectoryHandle>> {
    let storage = storage_manager().ok_or_else(|| {
        MsqError::internal(format!(
            "the Origin Private File System is not available here \
             (navigator.storage.getDirectory is missing), so local file [{what}] cannot be used"
        ))
    })?;
    let root: FileSystemDirectoryHandle =
        await_js(storage.get_directory(), "opening", "the OPFS root")
            .await?
            .unchecked_into();
    let options = FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    match JsFuture::from(root.get_directory_handle_with_options(FILES_DIR, &options)).await {
        Ok(handle) => Ok(Some(handle.unchecked_into())),
        Err(e) if !create && is_not_found(&e) => Ok(None),
        Err(e) => Err(js_error("opening", FILES_DIR, &e)),
    }
}

/// Every entry of `dir`.
async fn entries(dir: &FileSystemDirectoryHandle) -> Result<Vec<FileSystemHandle>> {
    let iterator = dir.values();
    let mut out = Vec::new();
    loop {
        let next = iterator
            .next()
            .map_err(|e| js_error("listing", FILES_DIR, &e))?;
        let step: js_sys::IteratorNext =
            await_js(next, "listing", FILES_DIR).await?.unchecked_into();
        if step.done() {
            return Ok(out);
        }
        out.push(step.value().unchecked_into());
    }
}

/// Awaits an OPFS promise; a rejection becomes an internal error about `what` on `name`.
async fn await_js(promise: js_sys::Promise, what: &str, name: &str) -> Result<JsValue> {
    JsFuture::from(promise)
        .await
        .map_err(|e| js_error(what, name, &e))
}

/// An internal error for a failed OPFS operation on a local file.
fn js_error(what: &str, name: &str, error: &JsValue) -> MsqError {
    MsqError::internal(format!(
        "OPFS: {what} local file [{name}] failed: {}",
        js_detail(error)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_uris() {
        assert!(is_local("/a.json"));
        assert!(is_local("/files/a.json"));
        assert!(is_local("file:///a.json"));
        assert!(is_local("FILE:/a.json"));
        assert!(!is_local("//cdn.example.com/a.json"));
        assert!(!is_local("https://example.com/a.json"));
        assert!(!is_local("data:text/csv,a"));
        assert!(!is_local("blob:http://x/1"));
        assert!(!is_local("Cargo.toml"));
    }

    #[test]
    fn names_of_paths() {
        assert_eq!(file_name("/a.json"), Ok("a.json"));
        assert_eq!(file_name("/files/a.json.gz"), Ok("a.json.gz"));
        assert_eq!(file_name("file:///b c.csv"), Ok("b c.csv"));
        assert!(file_name("a.json").unwrap_err().contains("absolute"));
        assert!(file_name("/").unwrap_err().contains("directory"));
        assert!(file_name("/files/").unwrap_err().contains("directory"));
        assert!(file_name("/..").unwrap_err().contains("directory"));
        assert!(file_name("/tmp/x/a.json").unwrap_err().contains("flat"));
    }

    #[test]
    fn the_files_directory() {
        for dir in ["/", "/files", "/files/", "file:///", "file:///files"] {
            assert!(is_files_dir(dir), "{dir}");
        }
        for dir in ["", "/tmp", "/data/", "files", "/files/x"] {
            assert!(!is_files_dir(dir), "{dir}");
        }
    }

    #[test]
    fn new_names() {
        assert!(check_new_name("wikipedia.json.gz").is_ok());
        assert!(check_new_name("").is_err());
        assert!(check_new_name("..").is_err());
        assert!(check_new_name("a/b").is_err());
        assert!(check_new_name("x.crswap").is_err());
    }
}
