//! Reading external input (`EXTERN`, spec `druid-msq.md` §1.2): formats, the push-based reader,
//! gzip, and the parse-exception rule.
//!
//! - [`format`]: `inputFormat` JSON → [`InputFormat`] (json, csv, tsv).
//! - [`reader`]: [`InputReader`], bytes of one file → Arrow batches of the signature.
//! - [`gzip`]: [`GzipDecoder`], streaming multi-member gzip.
//! - [`share`]: [`LineShare`], one compressed file parsed by several workers, each taking
//!   one contiguous share of its decompressed lines.
//! - [`parse_exception`]: [`ParseException`] (Druid's `CannotParseExternalData` warning) and
//!   [`ParseExceptionPolicy`] (`maxParseExceptions`).

mod columns;
mod delimited;
mod flat_json;
pub mod format;
pub mod gzip;
mod json;
pub mod parse_exception;
pub mod reader;
pub mod share;

pub use format::{DelimitedFormat, InputFormat, JsonFormat};
pub use gzip::GzipDecoder;
pub use parse_exception::{ParseException, ParseExceptionPolicy};
pub use reader::{arrow_schema, Compression, InputReader, ReadOutput, ReaderOptions};
pub use share::LineShare;
