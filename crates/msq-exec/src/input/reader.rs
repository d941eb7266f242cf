//! [`InputReader`]: bytes of one external file → Arrow [`RecordBatch`]es of the signature.
//!
//! Push-based, so it fits a streaming `fetch` body: call [`InputReader::feed`] with each chunk
//! as it arrives, [`InputReader::finish`] at the end, and take batches with
//! [`InputReader::next_batch`] whenever convenient. Only the current incomplete line is kept
//! between chunks; a `.gz` body is inflated chunk by chunk on the way in ([`super::gzip`]).
//!
//! ```text
//! chunk ─▶ gzip? ─▶ line splitter (memchr '\n', '\r\n' ok) ─▶ row parser ─▶ column buffers
//!                                                    │ json: serde visitor per line
//!                                                    │ csv/tsv: field splitter + coercion
//!                                                    └─ bad row ─▶ ParseException (skipped)
//!                           column buffers ── every `max_rows_per_batch` rows ──▶ RecordBatch
//! ```
//!
//! Druid rules kept here (spec `druid-msq.md` §1.2, §3):
//! - one row per line; NDJSON blank lines are parse exceptions like in Druid's
//!   `JsonLineReader` (`Unable to parse row []`), blank CSV/TSV lines are skipped;
//! - CSV/TSV: `skipHeaderRows` lines are dropped, then the header is read when
//!   `findColumnsFromHeader`; fewer fields than columns leave the rest null, extra fields are
//!   ignored (Druid's `Utils.zipMapPartial`); an empty field is null in every column (Druid's
//!   `ParserUtils.nullEmptyStringFunction`; JSON keeps `""` and null apart);
//! - unparsable rows become [`ParseException`]s, never errors; the caller applies
//!   [`super::ParseExceptionPolicy`];
//! - a row whose encoded size exceeds `maxFrameSize` (1,000,000 bytes) fails the read with
//!   `RowTooLarge` (§3.1).
//!
//! Signature types: `long` → `Int64`, `double` → `Float64`, `float` → `Float32`, `string` →
//! `Utf8`. `__time` is an ordinary column here; later layers parse and check it. Arrays and
//! complex types are not read yet (`ColumnTypeNotSupported`).

use super::columns::{ColumnBuffers, ColumnKind, MAX_STRING_BYTES};
use super::delimited::{split_csv, split_plain, Span};
use super::format::{check_column_names, DelimitedFormat, InputFormat};
use super::gzip::{has_gzip_magic, is_gzip_name, GzipDecoder};
use super::json::{parse_number, parse_row, FieldIndex, KeyCache, Number};
use super::parse_exception::ParseException;
use super::share::LineFilter;
use crate::frame::DEFAULT_MAX_FRAME_SIZE;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use msq_common::{msq_ensure, ErrorCode, MsqError, Result};
use msq_sql::DruidType;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

/// Default rows per batch.
pub const DEFAULT_MAX_ROWS_PER_BATCH: usize = 8192;

/// Most columns a stage may have (spec §3.1, `TooManyColumns`).
pub const MAX_COLUMNS: usize = 2000;

/// Default cap on one line's length (the reader must hold a whole line in memory).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// How the reader decides whether the bytes are gzip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// `.gz` source name, or else the gzip magic bytes at the start of the data.
    #[default]
    Auto,
    /// The bytes are the file itself.
    None,
    /// The bytes are gzip.
    Gzip,
}

/// Reader settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Rows per output batch (at least 1).
    pub max_rows_per_batch: usize,
    /// `maxFrameSize`: a row encoding to more bytes fails with `RowTooLarge`.
    pub max_frame_size: usize,
    /// A line longer than this fails with `RowTooLarge` before it is parsed.
    pub max_line_bytes: usize,
    /// Gzip detection.
    pub compression: Compression,
    /// JSON lines try the hand scanner for flat objects before serde_json (the default).
    /// `false` reads every line with serde_json alone: the browser benchmark measures
    /// serde_json's own decode speed that way (`POST /acorn/v1/bench/decode`).
    pub json_scanner: bool,
    /// `(start, end)`: read only the lines whose first byte lies in `start..end` of the
    /// decompressed text, skipping the others unparsed and stopping after the range (one
    /// [`LineShare`](super::share::LineShare) of a gzip file). Header lines are read whatever
    /// the range.
    pub line_range: Option<(u64, u64)>,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_rows_per_batch: DEFAULT_MAX_ROWS_PER_BATCH,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            compression: Compression::Auto,
            json_scanner: true,
            line_range: None,
        }
    }
}

/// The Arrow schema of a signature (all columns nullable).
///
/// # Errors
/// `ColumnTypeNotSupported` for array and complex types, `TooManyColumns` past
/// [`MAX_COLUMNS`], `InvalidInput` for duplicate names.
pub fn arrow_schema(signature: &[(String, DruidType)]) -> Result<SchemaRef> {
    Ok(Arc::new(Schema::new(
        signature
            .iter()
            .zip(column_kinds(signature)?)
            .map(|((name, _), kind)| Field::new(name, data_type(kind), true))
            .collect::<Vec<_>>(),
    )))
}

fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Long => DataType::Int64,
        ColumnKind::Double => DataType::Float64,
        ColumnKind::Float => DataType::Float32,
        ColumnKind::String => DataType::Utf8,
    }
}

fn column_kinds(signature: &[(String, DruidType)]) -> Result<Vec<ColumnKind>> {
    msq_ensure!(
        signature.len() <= MAX_COLUMNS,
        TooManyColumns,
        "Too many output columns (requested = {}, max = {MAX_COLUMNS})",
        signature.len()
    );
    let mut kinds = Vec::with_capacity(signature.len());
    for (i, (name, ty)) in signature.iter().enumerate() {
        if signature[..i].iter().any(|(n, _)| n == name) {
            return Err(MsqError::plan(format!(
                "Duplicate column [{name}] in the signature of an external input"
            )));
        }
        kinds.push(match ty {
            DruidType::Long => ColumnKind::Long,
            DruidType::Double => ColumnKind::Double,
            DruidType::Float => ColumnKind::Float,
            DruidType::String => ColumnKind::String,
            other => {
                return Err(MsqError::execution(
                    ErrorCode::ColumnTypeNotSupported,
                    format!(
                        "Cannot read column [{name}] of type [{other}] from external input yet"
                    ),
                ))
            }
        });
    }
    Ok(kinds)
}

/// Everything a reader produced at once ([`InputReader::read_all`]).
#[derive(Debug, Default)]
pub struct ReadOutput {
    /// The batches, in file order.
    pub batches: Vec<RecordBatch>,
    /// Rows skipped as unparsable.
    pub parse_exceptions: Vec<ParseException>,
}

impl ReadOutput {
    /// Rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Reads one external file; see the module doc.
#[derive(Debug)]
pub struct InputReader {
    decoder: Decoder,
    /// The incomplete last line of the data seen so far.
    pending: Vec<u8>,
    /// Reused output buffer of the gzip decoder.
    inflated: Vec<u8>,
    /// Picks this reader's lines when it reads a range of the file's lines.
    share: Option<LineFilter>,
    sink: Sink,
    bytes_in: u64,
    max_line_bytes: usize,
    finished: bool,
}

#[derive(Debug)]
enum Decoder {
    /// Not decided yet: fewer than two bytes seen.
    Sniff(Vec<u8>),
    Plain,
    Gzip(Box<GzipDecoder>),
}

impl InputReader {
    /// A reader of `format` rows shaped by `signature`, for the file or URI `source` (used in
    /// messages and for `.gz` detection).
    ///
    /// # Errors
    /// As [`arrow_schema`].
    pub fn new(
        format: &InputFormat,
        signature: &[(String, DruidType)],
        source: impl Into<String>,
        options: ReaderOptions,
    ) -> Result<InputReader> {
        let source = source.into();
        let kinds = column_kinds(signature)?;
        let schema = arrow_schema(signature)?;
        let names: Vec<String> = signature.iter().map(|(n, _)| n.clone()).collect();
        let parser = match format {
            InputFormat::Json(_) => RowParser::Json {
                index: FieldIndex::new(&names),
                cache: KeyCache::default(),
                scanner: options.json_scanner,
            },
            InputFormat::Csv(d) => RowParser::delimited(d, true, &names),
            InputFormat::Tsv(d) => RowParser::delimited(d, false, &names),
        };
        let decoder = match options.compression {
            Compression::None => Decoder::Plain,
            Compression::Gzip => Decoder::Gzip(Box::new(GzipDecoder::new(source.clone()))),
            Compression::Auto if is_gzip_name(&source) => {
                Decoder::Gzip(Box::new(GzipDecoder::new(source.clone())))
            }
            Compression::Auto => Decoder::Sniff(Vec::new()),
        };
        let max_rows = options.max_rows_per_batch.max(1);
        Ok(InputReader {
            decoder,
            pending: Vec::new(),
            inflated: Vec::new(),
            share: options
                .line_range
                .map(|(start, end)| LineFilter::new(start, end, format.header_lines())),
            sink: Sink {
                parser,
                buffers: ColumnBuffers::new(schema.clone(), &kinds, max_rows.min(65_536)),
                names,
                schema,
                source,
                line: 0,
                record: 1,
                rows: 0,
                batch_bytes: 0,
                max_rows,
                max_frame_size: options.max_frame_size,
                max_line_bytes: options.max_line_bytes,
                batches: VecDeque::new(),
                exceptions: Vec::new(),
            },
            bytes_in: 0,
            max_line_bytes: options.max_line_bytes,
            finished: false,
        })
    }

    /// Reads a whole file held in memory (inline data, tests).
    ///
    /// # Errors
    /// As [`InputReader::new`], [`InputReader::feed`] and [`InputReader::finish`].
    pub fn read_all(
        format: &InputFormat,
        signature: &[(String, DruidType)],
        source: impl Into<String>,
        bytes: &[u8],
        options: ReaderOptions,
    ) -> Result<ReadOutput> {
        let mut reader = InputReader::new(format, signature, source, options)?;
        reader.feed(bytes)?;
        reader.finish()?;
        Ok(ReadOutput {
            batches: reader.drain_batches().collect(),
            parse_exceptions: reader.take_parse_exceptions(),
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.sink.schema.clone()
    }

    /// The file or URI being read.
    pub fn source(&self) -> &str {
        &self.sink.source
    }

    /// Raw (possibly compressed) bytes fed so far: the input channel's `bytes` counter.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_in
    }

    /// Rows parsed successfully so far (including rows still in the unfinished batch).
    pub fn rows_read(&self) -> u64 {
        self.sink.rows
    }

    /// Lines seen so far (header and skipped lines included).
    pub fn lines_read(&self) -> u64 {
        self.sink.line
    }

    /// Feeds the next chunk of the file.
    ///
    /// # Errors
    /// `RowTooLarge` for an oversized row or line, `CannotParseExternalData` for corrupt gzip
    /// or a bad CSV/TSV header; unparsable rows are *not* errors (see
    /// [`InputReader::take_parse_exceptions`]).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        if self.finished {
            return Err(MsqError::internal(format!(
                "input reader for [{}] received data after finish",
                self.sink.source
            )));
        }
        if self.is_done() {
            return Ok(());
        }
        self.bytes_in += chunk.len() as u64;
        if let Decoder::Sniff(seen) = &mut self.decoder {
            seen.extend_from_slice(chunk);
            if seen.len() < 2 {
                return Ok(());
            }
            let seen = std::mem::take(seen);
            self.decoder = if has_gzip_magic(&seen) {
                Decoder::Gzip(Box::new(GzipDecoder::new(self.sink.source.clone())))
            } else {
                Decoder::Plain
            };
            return self.decode(&seen);
        }
        self.decode(chunk)
    }

    /// Pushes decoded bytes ([`push_decoded`]).
    fn push(&mut self, data: &[u8]) -> Result<()> {
        push_decoded(
            &mut self.pending,
            &mut self.sink,
            &mut self.share,
            data,
            self.max_line_bytes,
        )
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<()> {
        match &mut self.decoder {
            Decoder::Sniff(_) | Decoder::Plain => self.push(chunk),
            Decoder::Gzip(gz) => {
                // (`gz` borrows the decoder, so the lines are pushed field by field.)
                // A slice at a time: a network chunk can be megabytes, which inflate to
                // several times as many, and both the decoder's buffer and this one would
                // keep that capacity for the rest of the file.
                let mut out = std::mem::take(&mut self.inflated);
                let mut result = Ok(());
                for slice in chunk.chunks(INFLATE_SLICE_BYTES) {
                    out.clear();
                    result = gz.push(slice, &mut out).and_then(|()| {
                        push_decoded(
                            &mut self.pending,
                            &mut self.sink,
                            &mut self.share,
                            &out,
                            self.max_line_bytes,
                        )
                    });
                    if result.is_err() || self.share.as_ref().is_some_and(LineFilter::is_done) {
                        break;
                    }
                }
                self.inflated = out;
                result
            }
        }
    }

    /// Ends the file: decodes the last line (a final newline is optional) and flushes the last
    /// batch. Calling it again does nothing.
    ///
    /// # Errors
    /// As [`InputReader::feed`], plus a truncated gzip stream.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if self.is_done() {
            // The range ended on a newline: nothing is pending, and the rest of the file (a
            // gzip stream included) is not this reader's.
            return self.sink.flush();
        }
        match std::mem::replace(&mut self.decoder, Decoder::Plain) {
            Decoder::Sniff(seen) => self.push(&seen)?,
            Decoder::Plain => {}
            Decoder::Gzip(mut gz) => {
                let mut out = std::mem::take(&mut self.inflated);
                out.clear();
                gz.finish(&mut out)?;
                self.push(&out)?;
            }
        }
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.sink.line(&last)?;
        }
        self.sink.flush()
    }

    /// Whether the reader has read every line of its `line_range` ([`ReaderOptions`]): the
    /// rest of the file may be left unread, and further chunks are ignored.
    pub fn is_done(&self) -> bool {
        self.share.as_ref().is_some_and(LineFilter::is_done)
    }

    /// The next complete batch, if any.
    pub fn next_batch(&mut self) -> Option<RecordBatch> {
        self.sink.batches.pop_front()
    }

    /// Every complete batch so far.
    pub fn drain_batches(&mut self) -> impl Iterator<Item = RecordBatch> + '_ {
        self.sink.batches.drain(..)
    }

    /// The parse exceptions since the last call, in file order.
    pub fn take_parse_exceptions(&mut self) -> Vec<ParseException> {
        std::mem::take(&mut self.sink.exceptions)
    }
}

/// Compressed bytes inflated at once: what they inflate to (about 6× for JSON lines) is all
/// the memory decompression holds.
const INFLATE_SLICE_BYTES: usize = 32 * 1024;

/// Hands decoded bytes to [`push_lines`]: all of them, or the runs of this reader's range,
/// with the lines skipped before each run counted (line numbers stay the file's).
fn push_decoded(
    pending: &mut Vec<u8>,
    sink: &mut Sink,
    share: &mut Option<LineFilter>,
    data: &[u8],
    max_line: usize,
) -> Result<()> {
    match share {
        None => push_lines(pending, sink, data, max_line),
        Some(filter) => filter.split(data, |run, skipped| {
            sink.line += skipped;
            push_lines(pending, sink, run, max_line)
        }),
    }
}

/// Splits `data` into lines, completing `pending` first and keeping the new unfinished tail.
fn push_lines(pending: &mut Vec<u8>, sink: &mut Sink, data: &[u8], max_line: usize) -> Result<()> {
    let mut rest = data;
    if !pending.is_empty() {
        match memchr::memchr(b'\n', rest) {
            None => {
                pending.extend_from_slice(rest);
                return check_line_length(pending.len(), max_line, sink);
            }
            Some(i) => {
                pending.extend_from_slice(&rest[..i]);
                check_line_length(pending.len(), max_line, sink)?;
                let line = std::mem::take(pending);
                sink.line(&line)?;
                *pending = line;
                pending.clear();
                rest = &rest[i + 1..];
            }
        }
    }
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', rest) {
        sink.line(&rest[start..i])?;
        start = i + 1;
    }
    pending.extend_from_slice(&rest[start..]);
    check_line_length(pending.len(), max_line, sink)
}

fn check_line_length(len: usize, max_line: usize, sink: &Sink) -> Result<()> {
    if len > max_line {
        return Err(sink.row_too_large(&format!(", line longer than {max_line} bytes")));
    }
    Ok(())
}

/// Thousands separators, as Java's `%,d`.
fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug)]
enum RowParser {
    Json {
        index: FieldIndex,
        cache: KeyCache,
        /// Try the flat-object scanner first (see `ReaderOptions::json_scanner`).
        scanner: bool,
    },
    Delimited {
        csv: bool,
        delimiter: u8,
        skip: usize,
        header_pending: bool,
        /// Per signature column: the field index in the line.
        mapping: Vec<Option<usize>>,
        /// The current line's fields, and the text of its unescaped quoted fields (reused).
        fields: Vec<Span>,
        scratch: String,
    },
}

impl RowParser {
    fn delimited(format: &DelimitedFormat, csv: bool, names: &[String]) -> RowParser {
        RowParser::Delimited {
            csv,
            delimiter: format.delimiter,
            skip: format.skip_header_rows,
            header_pending: format.find_columns_from_header,
            mapping: map_columns(names, &format.columns),
            fields: Vec::new(),
            scratch: String::new(),
        }
    }
}

fn map_columns(signature: &[String], file_columns: &[String]) -> Vec<Option<usize>> {
    signature
        .iter()
        .map(|name| file_columns.iter().position(|c| c == name))
        .collect()
}

/// Line → row, rows → batches (all state except the undecoded bytes).
#[derive(Debug)]
struct Sink {
    parser: RowParser,
    buffers: ColumnBuffers,
    names: Vec<String>,
    schema: SchemaRef,
    source: String,
    /// Lines seen.
    line: u64,
    /// Druid's record number of the next row: 1 + rows parsed so far.
    record: u64,
    rows: u64,
    /// The bytes of the rows in the buffers (exact, or bounded from above).
    batch_bytes: usize,
    max_rows: usize,
    max_frame_size: usize,
    max_line_bytes: usize,
    batches: VecDeque<RecordBatch>,
    exceptions: Vec<ParseException>,
}

impl Sink {
    fn line(&mut self, raw: &[u8]) -> Result<()> {
        check_line_length(raw.len(), self.max_line_bytes, self)?;
        self.line += 1;
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.line == 1 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        match &mut self.parser {
            RowParser::Json {
                index,
                cache,
                scanner,
            } => {
                match parse_row(raw, index, cache, *scanner, &mut self.buffers) {
                    // A scanned row's size is bounded by its line's: exact sizes only near
                    // the frame limit.
                    Ok(true) => self.row_done(Some(raw.len())),
                    Ok(false) => self.row_done(None),
                    Err(reason) => {
                        self.buffers.rollback_row();
                        // Our own coercion errors read like Druid's `Unable to parse value[..] for
                        // field[..]`; serde_json appends ` at line 1 column N`, which we drop.
                        let base = reason.starts_with("Unable to parse value[").then(|| {
                            reason
                                .rsplit_once(" at line ")
                                .map_or(reason.as_str(), |(m, _)| m)
                                .to_owned()
                        });
                        self.exception(raw, base, reason);
                        Ok(())
                    }
                }
            }
            RowParser::Delimited { .. } => self.delimited_line(raw),
        }
    }

    fn delimited_line(&mut self, raw: &[u8]) -> Result<()> {
        let RowParser::Delimited {
            csv,
            delimiter,
            skip,
            header_pending,
            mapping,
            fields,
            scratch,
        } = &mut self.parser
        else {
            return Ok(());
        };
        if *skip > 0 {
            *skip -= 1;
            return Ok(());
        }
        // Invalid UTF-8 becomes U+FFFD, as Java's decoder does; the check is one fast pass.
        let text = match std::str::from_utf8(raw) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let split = if *csv {
            split_csv(&text, *delimiter, fields, scratch)
        } else {
            split_plain(&text, *delimiter, fields);
            Ok(())
        };
        if *header_pending {
            *header_pending = false;
            if let Err(reason) = split {
                return Err(MsqError::execution(
                    ErrorCode::CannotParseExternalData,
                    format!(
                        "Unable to parse header row [{text}] (Path: {}, Line: {}): {reason}",
                        self.source, self.line
                    ),
                ));
            }
            let header: Vec<String> = fields
                .iter()
                .map(|f| f.text(&text, scratch).to_owned())
                .collect();
            check_column_names(&header, *delimiter).map_err(|e| {
                MsqError::execution(
                    ErrorCode::CannotParseExternalData,
                    format!(
                        "{} (Path: {}, Line: {})",
                        e.message(),
                        self.source,
                        self.line
                    ),
                )
            })?;
            *mapping = map_columns(&self.names, &header);
            return Ok(());
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if let Err(reason) = split {
            self.exception(raw, None, reason.to_owned());
            return Ok(());
        }
        for (column, field) in mapping.iter().enumerate() {
            let cell = &mut self.buffers.columns[column];
            match field
                .and_then(|i| fields.get(i))
                .map(|f| f.text(&text, scratch))
            {
                None => cell.push_null(),
                // Druid's flat-text readers map empty fields to null
                // (`ParserUtils.nullEmptyStringFunction`), strings included.
                Some("") => cell.push_null(),
                Some(value) if cell.kind() == ColumnKind::String => cell.push_str(value),
                Some(value) => match parse_number(value, cell.kind()) {
                    Ok(None) => cell.push_null(),
                    Ok(Some(Number::Long(v))) => cell.push_long(v),
                    Ok(Some(Number::Double(v))) => cell.push_double(v),
                    Err(()) => {
                        let base = format!(
                            "Unable to parse value[{value}] for field[{}]",
                            self.names[column]
                        );
                        self.buffers.rollback_row();
                        self.exception(raw, Some(base.clone()), base);
                        return Ok(());
                    }
                },
            }
        }
        self.row_done(None)
    }

    fn exception(&mut self, raw: &[u8], base: Option<String>, reason: String) {
        self.exceptions.push(ParseException::new(
            &self.source,
            self.record,
            self.line,
            raw,
            base,
            reason,
        ));
    }

    /// Completes the row being built; `text_bytes`, when known, bounds the bytes of its string
    /// cells (see [`ColumnBuffers::row_bound`]), sparing the exact count of every cell.
    fn row_done(&mut self, text_bytes: Option<usize>) -> Result<()> {
        self.buffers.end_row();
        let bytes = match text_bytes.map(|n| self.buffers.row_bound(n)) {
            Some(bound) if bound <= self.max_frame_size => bound,
            _ => self.buffers.last_row_bytes(),
        };
        if bytes > self.max_frame_size {
            self.buffers.rollback_row();
            return Err(self.row_too_large(&format!(", row of {bytes} bytes")));
        }
        self.record += 1;
        self.rows += 1;
        // Any column's string bytes are at most the batch's bytes so far (exact or bounded):
        // the columns are only looked at once those could reach the limit.
        self.batch_bytes += bytes;
        if self.buffers.rows() >= self.max_rows
            || (self.batch_bytes >= MAX_STRING_BYTES && self.buffers.strings_full())
        {
            self.flush()?;
        }
        Ok(())
    }

    fn row_too_large(&self, detail: &str) -> MsqError {
        MsqError::execution(
            ErrorCode::RowTooLarge,
            format!(
                "Encountered row that cannot fit in a single frame (max frame size = {}) (Path: {}, Line: {}{detail})",
                with_commas(self.max_frame_size),
                self.source,
                self.line + 1,
            ),
        )
    }

    fn flush(&mut self) -> Result<()> {
        self.batch_bytes = 0;
        if let Some(batch) = self.buffers.take_batch()? {
            self.batches.push_back(batch);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::input::share::LineShare;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int64Type};
    use arrow_array::Array;
    use serde_json::json;

    fn sig(cols: &[(&str, DruidType)]) -> Vec<(String, DruidType)> {
        cols.iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect()
    }

    fn json_format() -> InputFormat {
        InputFormat::from_json(&json!({"type": "json"})).unwrap()
    }

    /// `data` read as JSON lines of `signature` from `mem://t.json`, default options.
    fn read_json(signature: &[(String, DruidType)], data: &[u8]) -> ReadOutput {
        InputReader::read_all(
            &json_format(),
            signature,
            "mem://t.json",
            data,
            ReaderOptions::default(),
        )
        .unwrap()
    }

    fn strings(batch: &RecordBatch, col: usize) -> Vec<Option<String>> {
        batch
            .column(col)
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_owned))
            .collect()
    }

    fn longs(batch: &RecordBatch, col: usize) -> Vec<Option<i64>> {
        batch
            .column(col)
            .as_primitive::<Int64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn json_coercions() {
        let signature = sig(&[
            ("s", DruidType::String),
            ("l", DruidType::Long),
            ("d", DruidType::Double),
            ("f", DruidType::Float),
        ]);
        let data = concat!(
            r#"{"s":"a","l":1,"d":1.5,"f":2.5,"other":{"x":[1,2]}}"#,
            "\n",
            r#"{"s":true,"l":"42","d":"3","f":"+1.25"}"#,
            "\r\n",
            r#"{"s":12,"l":2.9,"d":7,"f":null}"#,
            "\n",
            r#"{"s":100.0,"l":true,"d":"","l":5}"#,
            "\n",
            r#"{"s":{"k":[1,"x",null]},"l":-3}"#,
            "\n",
            r#"{"s":["a","b"]}"#,
            "\n",
            r#"{}"#,
        );
        let out = InputReader::read_all(
            &json_format(),
            &signature,
            "inline",
            data.as_bytes(),
            ReaderOptions::default(),
        )
        .unwrap();
        assert!(
            out.parse_exceptions.is_empty(),
            "{:?}",
            out.parse_exceptions
        );
        let b = &out.batches[0];
        assert_eq!(b.num_rows(), 7);
        assert_eq!(
            strings(b, 0),
            [
                Some("a"),
                Some("true"),
                Some("12"),
                Some("100.0"),
                Some(r#"{"k":[1,"x",null]}"#),
                Some(r#"["a","b"]"#),
                None
            ]
            .map(|s| s.map(str::to_owned))
        );
        assert_eq!(
            longs(b, 1),
            [Some(1), Some(42), Some(2), Some(5), Some(-3), None, None]
        );
        let d: Vec<_> = b.column(2).as_primitive::<Float64Type>().iter().collect();
        assert_eq!(d, [Some(1.5), Some(3.0), Some(7.0), None, None, None, None]);
        let f: Vec<_> = b.column(3).as_primitive::<Float32Type>().iter().collect();
        assert_eq!(f, [Some(2.5), Some(1.25), None, None, None, None, None]);
    }

    #[test]
    fn json_bad_rows_are_parse_exceptions_with_druid_numbering() {
        let signature = sig(&[("a", DruidType::Long), ("b", DruidType::String)]);
        let data = b"{\"a\":1}\n{\"a\":\n\n{\"a\":\"x\",\"b\":\"y\"}\n[1]\n{\"a\":2,\"b\":\"ok\"}\n{\"a\":3} trailing\n";
        let out = read_json(&signature, data);
        assert_eq!(out.num_rows(), 2);
        assert_eq!(longs(&out.batches[0], 0), [Some(1), Some(2)]);
        let messages: Vec<&str> = out
            .parse_exceptions
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "Unable to parse row [{\"a\":] (Path: mem://t.json, Record: 2, Line: 2)",
                "Unable to parse row [] (Path: mem://t.json, Record: 2, Line: 3)",
                "Unable to parse value[x] for field[a] (Path: mem://t.json, Record: 2, Line: 4)",
                "Unable to parse row [[1]] (Path: mem://t.json, Record: 2, Line: 5)",
                "Unable to parse row [{\"a\":3} trailing] (Path: mem://t.json, Record: 3, Line: 7)",
            ]
        );
        assert!(
            out.parse_exceptions[0].reason.contains("EOF"),
            "{}",
            out.parse_exceptions[0].reason
        );
    }

    #[test]
    fn json_lines_that_are_not_utf8_are_parse_exceptions() {
        let signature = sig(&[("a", DruidType::Long), ("b", DruidType::String)]);
        // Line 2 has a lone 0xFF inside a string; lines 1 and 3 are fine (line 3 not ASCII).
        let data = b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"\xFF\"}\n{\"a\":3,\"b\":\"\xC3\xA9t\xC3\xA9\"}\n";
        let out = read_json(&signature, data);
        assert_eq!(longs(&out.batches[0], 0), [Some(1), Some(3)]);
        assert_eq!(
            strings(&out.batches[0], 1),
            [Some("x".to_owned()), Some("été".to_owned())]
        );
        assert_eq!(out.parse_exceptions.len(), 1);
        let e = &out.parse_exceptions[0];
        assert!(e.message.contains("Line: 2"), "{}", e.message);
        assert!(e.reason.contains("invalid unicode"), "{}", e.reason);
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let signature = sig(&[("n", DruidType::Long), ("t", DruidType::String)]);
        let data: String = (0..1000)
            .map(|i| format!("{{\"n\":{i},\"t\":\"v{i}é\"}}\n"))
            .collect();
        for chunk in [1, 2, 3, 17, 4096, 1 << 20] {
            let options = ReaderOptions {
                max_rows_per_batch: 300,
                ..ReaderOptions::default()
            };
            let mut r = InputReader::new(&json_format(), &signature, "x", options).unwrap();
            let mut batches = Vec::new();
            for c in data.as_bytes().chunks(chunk) {
                r.feed(c).unwrap();
                batches.extend(r.drain_batches());
            }
            r.finish().unwrap();
            batches.extend(r.drain_batches());
            assert_eq!(
                batches
                    .iter()
                    .map(RecordBatch::num_rows)
                    .collect::<Vec<_>>(),
                [300, 300, 300, 100]
            );
            assert_eq!(longs(&batches[3], 0)[99], Some(999));
            assert_eq!(strings(&batches[0], 1)[5].as_deref(), Some("v5é"));
            assert_eq!(
                (r.rows_read(), r.lines_read(), r.bytes_read()),
                (1000, 1000, data.len() as u64)
            );
        }
    }

    #[test]
    fn gzip_is_detected_by_name_and_magic() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let signature = sig(&[("n", DruidType::Long)]);
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"{\"n\":1}\n{\"n\":2}").unwrap();
        let gz = e.finish().unwrap();
        for name in ["http://h/a.json.gz", "http://h/a.json"] {
            let mut r =
                InputReader::new(&json_format(), &signature, name, ReaderOptions::default())
                    .unwrap();
            for c in gz.chunks(1) {
                r.feed(c).unwrap();
            }
            r.finish().unwrap();
            assert_eq!(r.rows_read(), 2, "{name}");
            assert_eq!(r.bytes_read(), gz.len() as u64);
        }
        let err = InputReader::read_all(
            &json_format(),
            &signature,
            "bad.gz",
            b"{\"n\":1}",
            ReaderOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::CannotParseExternalData);
        assert!(err.message().contains("Path: bad.gz"));
    }

    #[test]
    fn a_large_gzip_chunk_is_inflated_a_slice_at_a_time() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut json = Vec::new();
        for n in 0..100_000 {
            writeln!(json, "{{\"n\":{n},\"s\":\"{}\"}}", "v".repeat(n % 50)).unwrap();
        }
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&json).unwrap();
        let gz = e.finish().unwrap();
        let signature = sig(&[("n", DruidType::Long), ("s", DruidType::String)]);
        let mut reader = InputReader::new(
            &json_format(),
            &signature,
            "x.json.gz",
            ReaderOptions::default(),
        )
        .unwrap();
        // One chunk of the whole file, as a fast network may deliver it.
        reader.feed(&gz).unwrap();
        let held = reader.inflated.capacity();
        reader.finish().unwrap();
        assert_eq!(reader.rows_read(), 100_000);
        assert!(
            held < json.len() / 8,
            "{held} bytes held to inflate {} (of {} compressed)",
            json.len(),
            gz.len()
        );
    }

    #[test]
    fn shares_of_a_gzip_file_read_every_row_once_in_order_with_the_files_line_numbers() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        // A CSV of 3.5 MB after its header; line 40,003 is bad.
        let mut csv = b"skipped\nn,s\n".to_vec();
        for n in 0..120_000_u64 {
            match n {
                40_000 => csv.extend_from_slice(b"oops,x\n"),
                _ => writeln!(csv, "{n},{}", "v".repeat((n % 40) as usize)).unwrap(),
            }
        }
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&csv).unwrap();
        let gz = e.finish().unwrap();
        let format = InputFormat::from_json(
            &json!({"type": "csv", "findColumnsFromHeader": true, "skipHeaderRows": 1}),
        )
        .unwrap();
        let signature = sig(&[("n", DruidType::Long), ("s", DruidType::String)]);
        let of = 3;
        let trailer: [u8; 4] = gz[gz.len() - 4..].try_into().unwrap();
        let size = LineShare::decompressed_size(trailer, gz.len() as u64);
        assert_eq!(size, csv.len() as u64);
        let mut numbers = Vec::new();
        let mut exceptions = Vec::new();
        for index in 0..of {
            let options = ReaderOptions {
                line_range: Some(LineShare::new(index, of).unwrap().range(size)),
                ..ReaderOptions::default()
            };
            let mut reader = InputReader::new(&format, &signature, "x.csv.gz", options).unwrap();
            let mut fed = 0;
            for chunk in gz.chunks(100_000) {
                if reader.is_done() {
                    break;
                }
                reader.feed(chunk).unwrap();
                fed += chunk.len();
            }
            reader.finish().unwrap();
            // The first shares stop reading after their range.
            assert_eq!(
                fed < gz.len(),
                index + 1 < of,
                "share {index} read {fed} bytes"
            );
            let share: Vec<i64> = reader
                .drain_batches()
                .flat_map(|b| longs(&b, 0))
                .map(Option::unwrap)
                .collect();
            assert!(
                share.len() > 35_000,
                "share {index} read {} rows",
                share.len()
            );
            numbers.extend(share);
            exceptions.extend(reader.take_parse_exceptions());
        }
        let expected: Vec<i64> = (0..120_000).filter(|&n| n != 40_000).collect();
        assert_eq!(numbers, expected);
        assert_eq!(exceptions.len(), 1);
        assert_eq!(exceptions[0].line, 40_003);
    }

    #[test]
    fn csv_header_quotes_and_coercion() {
        let format = InputFormat::from_json(
            &json!({"type": "csv", "findColumnsFromHeader": true, "skipHeaderRows": 1}),
        )
        .unwrap();
        let signature = sig(&[
            ("name", DruidType::String),
            ("n", DruidType::Long),
            ("missing", DruidType::String),
        ]);
        let data = "# comment line\nn,name\n1,\"Smith, J\"\n\n2,\"say \"\"hi\"\"\"\n,\n3\n4,x,extra\nbad,y\n5,\"open\n";
        let out = InputReader::read_all(
            &format,
            &signature,
            "file:/d.csv",
            data.as_bytes(),
            ReaderOptions::default(),
        )
        .unwrap();
        let b = &out.batches[0];
        assert_eq!(
            strings(b, 0),
            [Some("Smith, J"), Some("say \"hi\""), None, None, Some("x")]
                .map(|s| s.map(str::to_owned))
        );
        assert_eq!(longs(b, 1), [Some(1), Some(2), None, Some(3), Some(4)]);
        assert_eq!(b.column(2).null_count(), 5);
        let messages: Vec<&str> = out
            .parse_exceptions
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "Unable to parse value[bad] for field[n] (Path: file:/d.csv, Record: 6, Line: 9)",
                "Unable to parse row [5,\"open] (Path: file:/d.csv, Record: 6, Line: 10)",
            ]
        );
    }

    #[test]
    fn csv_and_tsv_with_columns() {
        let format =
            InputFormat::from_json(&json!({"type": "csv", "columns": ["a", "b"]})).unwrap();
        let signature = sig(&[("b", DruidType::Double), ("a", DruidType::String)]);
        let out = InputReader::read_all(
            &format,
            &signature,
            "x",
            b"p,1.5\nq,2",
            ReaderOptions::default(),
        )
        .unwrap();
        let b = &out.batches[0];
        assert_eq!(strings(b, 1), [Some("p".to_owned()), Some("q".to_owned())]);
        let d: Vec<_> = b.column(0).as_primitive::<Float64Type>().iter().collect();
        assert_eq!(d, [Some(1.5), Some(2.0)]);

        let format = InputFormat::from_json(
            &json!({"type": "tsv", "columns": ["a", "b"], "delimiter": "|"}),
        )
        .unwrap();
        let out = InputReader::read_all(
            &format,
            &signature,
            "x",
            b"\"p\"|3\n",
            ReaderOptions::default(),
        )
        .unwrap();
        assert_eq!(strings(&out.batches[0], 1), [Some("\"p\"".to_owned())]);
    }

    #[test]
    fn header_with_duplicates_fails() {
        let format =
            InputFormat::from_json(&json!({"type": "csv", "findColumnsFromHeader": true})).unwrap();
        let signature = sig(&[("a", DruidType::String)]);
        let err = InputReader::read_all(
            &format,
            &signature,
            "x.csv",
            b"a,a\n1,2\n",
            ReaderOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::CannotParseExternalData);
        assert!(
            err.message()
                .contains("Duplicate column entries found : [1, a]"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn row_too_large() {
        let signature = sig(&[("s", DruidType::String)]);
        let options = ReaderOptions {
            max_frame_size: 100,
            ..ReaderOptions::default()
        };
        let big = format!("{{\"s\":\"{}\"}}\n", "x".repeat(200));
        let err = InputReader::read_all(
            &json_format(),
            &signature,
            "x",
            big.as_bytes(),
            options.clone(),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::RowTooLarge);
        assert!(
            err.message().starts_with(
                "Encountered row that cannot fit in a single frame (max frame size = 100)"
            ),
            "{}",
            err.message()
        );
        // Ignored fields do not count; a line too long to hold does.
        let ignored = format!("{{\"t\":\"{}\",\"s\":\"ok\"}}\n", "x".repeat(200));
        assert_eq!(
            InputReader::read_all(
                &json_format(),
                &signature,
                "x",
                ignored.as_bytes(),
                options.clone()
            )
            .unwrap()
            .num_rows(),
            1
        );
        let options = ReaderOptions {
            max_line_bytes: 50,
            ..options
        };
        let err =
            InputReader::read_all(&json_format(), &signature, "x", ignored.as_bytes(), options)
                .unwrap_err();
        assert_eq!(err.code(), ErrorCode::RowTooLarge);
        assert_eq!(with_commas(1_000_000), "1,000,000");
    }

    #[test]
    fn unsupported_signatures() {
        let err = arrow_schema(&sig(&[(
            "a",
            DruidType::Array(Box::new(DruidType::String)),
        )]))
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ColumnTypeNotSupported);
        let err =
            arrow_schema(&sig(&[("a", DruidType::Long), ("a", DruidType::String)])).unwrap_err();
        assert!(err.message().contains("Duplicate column [a]"));
        let many: Vec<(String, DruidType)> = (0..2001)
            .map(|i| (format!("c{i}"), DruidType::Long))
            .collect();
        assert_eq!(
            arrow_schema(&many).unwrap_err().code(),
            ErrorCode::TooManyColumns
        );
    }
}
