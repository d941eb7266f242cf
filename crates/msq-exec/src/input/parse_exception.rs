//! Unparsable rows and what to do about them (spec `druid-msq.md` §2 `maxParseExceptions`,
//! §3.2 `CannotParseExternalData` / `TooManyWarnings`).
//!
//! A reader never fails on a bad row: it skips the row and records a [`ParseException`] whose
//! message reads exactly like Druid's `CannotParseExternalData` warning:
//!
//! ```text
//! Unable to parse row [<row>] (Path: <uri>, Record: <n>, Line: <m>)
//! ```
//!
//! `Record` is 1 + the number of rows parsed successfully before it, `Line` the physical line
//! number in the (decompressed) file, header lines included — Druid's
//! `IntermediateRowParsingReader` numbering, so after a bad line `Record` lags `Line`.
//! The caller feeds each exception to a [`ParseExceptionPolicy`], which turns the
//! `maxParseExceptions` context value into a task fault when the limit is passed.

use msq_common::{ErrorCode, MsqError, Result};
use msq_model::report::MsqFault;
use serde_json::json;

/// Rows longer than this are cut (at a character boundary) in messages, followed by `...`.
pub const MAX_ROW_TEXT_IN_MESSAGE: usize = 4096;

/// One unparsable row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParseException {
    /// The file or URI the row came from (`Path:` in the message).
    pub source: String,
    /// Druid's record number (see the module doc).
    pub record: u64,
    /// 1-based line number in the decompressed file.
    pub line: u64,
    /// The row text (possibly truncated to [`MAX_ROW_TEXT_IN_MESSAGE`] bytes).
    pub row: String,
    /// Why it failed (the parser's own words), kept apart from the Druid-shaped message.
    pub reason: String,
    /// The warning text, e.g. `Unable to parse row [..] (Path: .., Record: 2, Line: 2)`.
    pub message: String,
}

impl ParseException {
    /// An unparsable row: `base` is Druid's first half (`Unable to parse row [<row>]` or
    /// `Unable to parse value[..] for field[..]`), the location is appended.
    pub(crate) fn new(
        source: &str,
        record: u64,
        line: u64,
        row: &[u8],
        base: Option<String>,
        reason: String,
    ) -> Self {
        let row = truncate_row(row);
        let base = base.unwrap_or_else(|| format!("Unable to parse row [{row}]"));
        let message = format!("{base} (Path: {source}, Record: {record}, Line: {line})");
        Self {
            source: source.to_owned(),
            record,
            line,
            row,
            reason,
            message,
        }
    }

    /// The exception as Druid's `CannotParseExternalData` fault/warning.
    pub fn to_error(&self) -> MsqError {
        MsqError::execution(ErrorCode::CannotParseExternalData, self.message.clone())
    }
}

fn truncate_row(row: &[u8]) -> String {
    if row.len() <= MAX_ROW_TEXT_IN_MESSAGE {
        return String::from_utf8_lossy(row).into_owned();
    }
    let mut cut = MAX_ROW_TEXT_IN_MESSAGE;
    // Step back to a UTF-8 character boundary (continuation bytes are 0b10xxxxxx).
    while cut > 0 && (row[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    let mut text = String::from_utf8_lossy(&row[..cut]).into_owned();
    text.push_str("...");
    text
}

/// Druid's `maxParseExceptions` rule for one task.
///
/// - `0` (the default): the first parse exception fails the task with
///   `CannotParseExternalData` and that exception's message.
/// - `-1` (any negative value): unlimited; every exception is only a warning.
/// - `n > 0`: up to `n` warnings; the `n+1`-th fails the task with `TooManyWarnings`
///   (`rootErrorCode` `CannotParseExternalData`, `maxWarnings` `n`).
///
/// The limit applies to the whole task (all workers): the controller owns one policy and
/// feeds it the warnings every worker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseExceptionPolicy {
    max: Option<u64>,
    seen: u64,
}

impl Default for ParseExceptionPolicy {
    fn default() -> Self {
        Self::new(0)
    }
}

impl ParseExceptionPolicy {
    /// A policy from the `maxParseExceptions` context value.
    pub fn new(max_parse_exceptions: i64) -> Self {
        Self {
            max: u64::try_from(max_parse_exceptions).ok(),
            seen: 0,
        }
    }

    /// The limit, `None` when unlimited.
    pub fn max(&self) -> Option<u64> {
        self.max
    }

    /// Parse exceptions recorded so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Records one exception.
    ///
    /// # Errors
    /// The task fault when this exception passes the limit (see the type doc).
    pub fn record(&mut self, exception: &ParseException) -> Result<()> {
        self.seen += 1;
        match self.max {
            None => Ok(()),
            Some(0) => Err(exception.to_error()),
            Some(max) if self.seen > max => Err(MsqError::execution(
                ErrorCode::TooManyWarnings,
                format!(
                    "Too many warnings of type {} generated (max = {max})",
                    ErrorCode::CannotParseExternalData
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// The fault JSON for an error returned by [`ParseExceptionPolicy::record`], with
    /// `TooManyWarnings`' own fields (`rootErrorCode`, `maxWarnings`) filled in.
    pub fn fault(&self, error: &MsqError) -> MsqFault {
        let fault = MsqFault::from(error);
        match (error.code(), self.max) {
            (ErrorCode::TooManyWarnings, Some(max)) => fault
                .with_field(
                    "rootErrorCode",
                    json!(ErrorCode::CannotParseExternalData.as_str()),
                )
                .with_field("maxWarnings", json!(max)),
            _ => fault,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn exception(line: u64) -> ParseException {
        ParseException::new("file:/tmp/x.json", line, line, b"{bad", None, "EOF".into())
    }

    #[test]
    fn message_reads_like_druid() {
        let e = exception(2);
        assert_eq!(
            e.message,
            "Unable to parse row [{bad] (Path: file:/tmp/x.json, Record: 2, Line: 2)"
        );
        assert_eq!(e.to_error().code(), ErrorCode::CannotParseExternalData);
    }

    #[test]
    fn long_rows_are_cut_at_a_char_boundary() {
        let row = "é".repeat(MAX_ROW_TEXT_IN_MESSAGE);
        let e = ParseException::new("s", 1, 1, row.as_bytes(), None, String::new());
        assert!(e.row.ends_with("é..."));
        assert!(e.row.len() <= MAX_ROW_TEXT_IN_MESSAGE + 3);
    }

    #[test]
    fn zero_fails_on_the_first_exception() {
        let mut p = ParseExceptionPolicy::default();
        let err = p.record(&exception(2)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::CannotParseExternalData);
        assert!(err.message().contains("Record: 2, Line: 2"));
        assert_eq!(p.fault(&err).fields.len(), 0);
    }

    #[test]
    fn unlimited_never_fails() {
        let mut p = ParseExceptionPolicy::new(-1);
        for i in 0..1000 {
            p.record(&exception(i)).unwrap();
        }
        assert_eq!((p.max(), p.seen()), (None, 1000));
    }

    #[test]
    fn limit_fails_with_too_many_warnings() {
        let mut p = ParseExceptionPolicy::new(2);
        p.record(&exception(1)).unwrap();
        p.record(&exception(2)).unwrap();
        let err = p.record(&exception(3)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooManyWarnings);
        assert_eq!(
            err.message(),
            "Too many warnings of type CannotParseExternalData generated (max = 2)"
        );
        assert_eq!(
            serde_json::to_value(p.fault(&err)).unwrap(),
            json!({"errorCode": "TooManyWarnings",
                   "errorMessage": "Too many warnings of type CannotParseExternalData generated (max = 2)",
                   "rootErrorCode": "CannotParseExternalData", "maxWarnings": 2})
        );
    }
}
