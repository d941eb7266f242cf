//! Syntax errors with positions a Druid user can act on.
//!
//! Every syntax error is an [`MsqError`] with code [`ErrorCode::SqlParseError`] (category
//! `Plan`) and a message that carries its position as `(line [3], column [9])`, 1-based as in
//! Druid's console. sqlparser's wording (`Expected: end of statement, found: FOR at Line: 1,
//! Column: 14`) is rewritten in Druid's style:
//! `Received an unexpected token [FOR] (line [1], column [14]), expected: end of statement`.
//! [`error_location`] reads the position back, e.g. for an editor to put the cursor there.

use msq_common::{ErrorCategory, ErrorCode, MsqError};
use sqlparser::parser::ParserError;
use sqlparser::tokenizer::{Location, TokenizerError};
use std::fmt;

/// A syntax error at `at`: `"<message> (line [l], column [c])"`, code `SqlParseError`.
pub fn syntax_error(message: impl fmt::Display, at: Location) -> MsqError {
    let message = if at.line == 0 {
        message.to_string()
    } else {
        format!("{message} ({})", position(at))
    };
    MsqError::new(ErrorCategory::Plan, ErrorCode::SqlParseError, message)
}

/// `line [l], column [c]`, as Druid words positions (`DruidException` for SQL errors).
fn position(at: Location) -> String {
    format!("line [{}], column [{}]", at.line, at.column)
}

/// "Received an unexpected token [tok] (line [l], column [c]), expected: what"; a found `EOF`
/// reads "Unexpected end of SQL statement".
pub(crate) fn unexpected(found: impl fmt::Display, at: Location, expected: &str) -> MsqError {
    let found = found.to_string();
    let head = if found == "EOF" {
        "Unexpected end of SQL statement".to_string()
    } else {
        format!("Received an unexpected token [{found}]")
    };
    let at = if at.line == 0 {
        String::new()
    } else {
        format!(" ({})", position(at))
    };
    MsqError::new(
        ErrorCategory::Plan,
        ErrorCode::SqlParseError,
        format!("{head}{at}, expected: {expected}"),
    )
}

/// Translates a tokenizer error (unterminated strings, comments, quoted identifiers).
pub(crate) fn from_tokenizer_error(err: TokenizerError) -> MsqError {
    syntax_error(capitalize(&err.message), err.location)
}

/// Translates a sqlparser error. `next` is the token that ends the slice being parsed, if the
/// slice is followed by more of the statement: when sqlparser says it found `EOF` it really
/// found that token.
pub(crate) fn from_parser_error(err: ParserError, next: Option<&str>) -> MsqError {
    let text = match err {
        ParserError::RecursionLimitExceeded => {
            return syntax_error("SQL statement is nested too deeply", Location::empty())
        }
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
    };
    let (body, at) = split_location(&text);
    if let Some(rest) = body.strip_prefix("Expected: ") {
        if let Some((expected, found)) = rest.split_once(", found: ") {
            let found = match (found, next) {
                ("EOF", Some(next)) => next,
                _ => found,
            };
            return unexpected(found, at, expected);
        }
    }
    syntax_error(capitalize(body), at)
}

/// Splits sqlparser's `"... at Line: 1, Column: 14"` suffix off a message.
fn split_location(text: &str) -> (&str, Location) {
    if let Some(idx) = text.rfind(" at Line: ") {
        let tail = &text[idx + " at Line: ".len()..];
        if let Some((line, column)) = tail.split_once(", Column: ") {
            if let (Ok(line), Ok(column)) = (line.trim().parse(), column.trim().parse()) {
                return (&text[..idx], Location::new(line, column));
            }
        }
    }
    (text, Location::empty())
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The `(line, column)` a syntax error points at, if its message carries one.
pub fn error_location(err: &MsqError) -> Option<(u64, u64)> {
    let message = err.message();
    let idx = message.rfind("(line [")?;
    let tail = &message[idx + "(line [".len()..];
    let (line, rest) = tail.split_once("], column [")?;
    let column = rest.split(']').next()?;
    Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_sqlparser_messages() {
        let err = from_parser_error(
            ParserError::ParserError(
                "Expected: end of statement, found: FOR at Line: 1, Column: 14".into(),
            ),
            None,
        );
        assert_eq!(err.code(), ErrorCode::SqlParseError);
        assert_eq!(err.category(), ErrorCategory::Plan);
        assert_eq!(
            err.message(),
            "Received an unexpected token [FOR] (line [1], column [14]), expected: end of statement"
        );
        assert_eq!(error_location(&err), Some((1, 14)));
    }

    #[test]
    fn eof_becomes_end_of_statement_or_the_next_clause() {
        let eof = || {
            ParserError::ParserError(
                "Expected: an expression, found: EOF at Line: 3, Column: 9".into(),
            )
        };
        assert_eq!(
            from_parser_error(eof(), None).message(),
            "Unexpected end of SQL statement (line [3], column [9]), expected: an expression"
        );
        assert_eq!(
            from_parser_error(eof(), Some("PARTITIONED")).message(),
            "Received an unexpected token [PARTITIONED] (line [3], column [9]), expected: an expression"
        );
    }

    #[test]
    fn other_messages_keep_their_text() {
        let err = from_tokenizer_error(TokenizerError {
            message: "Unterminated string literal".into(),
            location: Location::new(2, 5),
        });
        assert_eq!(
            err.message(),
            "Unterminated string literal (line [2], column [5])"
        );
        let err = from_parser_error(ParserError::RecursionLimitExceeded, None);
        assert_eq!(error_location(&err), None);
        let err = syntax_error(
            "PARTITIONED BY is only valid in INSERT",
            Location::new(4, 1),
        );
        assert_eq!(error_location(&err), Some((4, 1)));
    }
}
