//! The one error type of the engine.
//!
//! Borrowed from DataFusion's `DataFusionError` split between *expected* and *unexpected*
//! errors: every [`MsqError`] says whose fault it is ([`ErrorCategory`]) and carries the Druid
//! fault code ([`ErrorCode`]) that ends up in a report's `errorReport.error.errorCode`
//! (spec `druid-msq.md` §3.2). A user sees `"<errorCode>: <errorMessage>"`, as Druid's console
//! shows it.
//!
//! Call sites stay one line with the macros ([`plan_err!`](crate::plan_err),
//! [`exec_err!`](crate::exec_err), [`internal_err!`](crate::internal_err),
//! [`msq_ensure!`](crate::msq_ensure)), in the manner of polars' `polars_bail!`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `Result` with [`MsqError`] as the error.
pub type Result<T, E = MsqError> = std::result::Result<T, E>;

/// Whose fault an error is. Decides how the console words it and whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCategory {
    /// The user's statement or context is invalid (a planning/validation error: HTTP 400, no task).
    Plan,
    /// The statement is valid but its data or a limit made it fail while running (a task fault).
    Execution,
    /// The engine's environment failed: network, storage, a worker that died.
    Resource,
    /// The user or the system canceled the task.
    Canceled,
    /// A bug in Acorn. Shown to the user as Druid's `UnknownError`.
    Internal,
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident),* $(,)?) => {
        /// A Druid MSQ fault code (`errorCode`), spec `druid-msq.md` §3.2, plus the SQL
        /// planning codes Druid's broker returns for invalid statements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code exactly as Druid spells it in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => stringify!($variant),)*
                }
            }

            /// Looks a code up by its Druid spelling.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $(stringify!($variant) => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// Broadcast join sides exceed memory.
    BroadcastTablesTooLarge,
    /// The task was shut down by the user or the system.
    Canceled,
    /// External input could not be parsed (also the usual warning).
    CannotParseExternalData,
    /// A restricted column name was used.
    ColumnNameRestricted,
    /// A column type cannot be stored in frames or segments.
    ColumnTypeNotSupported,
    /// `failOnEmptyInsert` and no rows were produced.
    InsertCannotBeEmpty,
    /// DESC ordering was requested in CLUSTERED BY.
    InsertCannotOrderByDescending,
    /// A null `__time` reached the segment generator.
    InsertTimeNull,
    /// A REPLACE row lies outside the OVERWRITE WHERE interval.
    InsertTimeOutOfBounds,
    /// Writing a field failed.
    InvalidField,
    /// A string contained a `\0` byte.
    InvalidNullByte,
    /// Not enough memory to run.
    NotEnoughMemory,
    /// The query planner could not translate the statement.
    QueryNotSupported,
    /// A runtime error inside an operator.
    QueryRuntimeError,
    /// A single row is larger than a frame.
    RowTooLarge,
    /// More time chunks than the engine allows.
    TooManyBuckets,
    /// Too many CLUSTERED BY / sort key columns.
    TooManyClusteredByColumns,
    /// Too many columns in a stage.
    TooManyColumns,
    /// Too many input files for one worker.
    TooManyInputFiles,
    /// Too many output partitions in a stage.
    TooManyPartitions,
    /// Too many rows share one key in a window.
    TooManyRowsInAWindow,
    /// Sort-merge join key skew.
    TooManyRowsWithSameKey,
    /// Too many segments in one time chunk.
    TooManySegmentsInTimeChunk,
    /// More warnings of one code than `maxParseExceptions` allows.
    TooManyWarnings,
    /// More workers than the engine allows.
    TooManyWorkers,
    /// A worker died.
    WorkerFailed,
    /// A message to a worker could not be delivered.
    WorkerRpcFailed,
    /// Anything else, including engine bugs.
    UnknownError,
    /// SQL planning/validation error (Druid's broker answers HTTP 400 with `invalidInput`).
    InvalidInput,
    /// SQL could not be parsed (Druid's broker: `errorCode` `sqlParseError` in older versions).
    SqlParseError,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the engine, the model or the console's clients. Serialisable, so a worker on
/// another thread can hand it to the controller as it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct MsqError {
    category: ErrorCategory,
    code: ErrorCode,
    message: String,
}

impl MsqError {
    /// A new error with an explicit category and code.
    pub fn new(category: ErrorCategory, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            category,
            code,
            message: message.into(),
        }
    }

    /// An invalid statement or context (the user's SQL): code `InvalidInput` unless given.
    pub fn plan(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Plan, ErrorCode::InvalidInput, message)
    }

    /// A fault while running, with its Druid code.
    pub fn execution(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Execution, code, message)
    }

    /// A bug in Acorn; surfaces as Druid's `UnknownError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Internal, ErrorCode::UnknownError, message)
    }

    /// The task was canceled.
    pub fn canceled(message: impl Into<String>) -> Self {
        Self::new(ErrorCategory::Canceled, ErrorCode::Canceled, message)
    }

    /// Whose fault it is.
    pub fn category(&self) -> ErrorCategory {
        self.category
    }

    /// The Druid `errorCode`.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with where it happened, keeping code and category.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// Returns early with a planning error (`InvalidInput`): `plan_err!("bad {thing}")`.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => {
        return Err($crate::MsqError::plan(format!($($arg)*)))
    };
}

/// Returns early with an execution fault: `exec_err!(RowTooLarge, "row of {n} bytes")`.
#[macro_export]
macro_rules! exec_err {
    ($code:ident, $($arg:tt)*) => {
        return Err($crate::MsqError::execution($crate::ErrorCode::$code, format!($($arg)*)))
    };
}

/// Returns early with an internal error (a bug): `internal_err!("stage {s} missing")`.
#[macro_export]
macro_rules! internal_err {
    ($($arg:tt)*) => {
        return Err($crate::MsqError::internal(format!($($arg)*)))
    };
}

/// Returns an execution fault with `code` unless `cond` holds:
/// `msq_ensure!(n <= max, TooManyColumns, "{n} columns")`.
#[macro_export]
macro_rules! msq_ensure {
    ($cond:expr, $code:ident, $($arg:tt)*) => {
        if !$cond {
            $crate::exec_err!($code, $($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_by_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert_eq!(ErrorCode::parse("NoSuchCode"), None);
    }

    #[test]
    fn display_is_code_colon_message() {
        let e = MsqError::execution(ErrorCode::InsertTimeNull, "Null timestamp");
        assert_eq!(e.to_string(), "InsertTimeNull: Null timestamp");
        assert_eq!(e.category(), ErrorCategory::Execution);
        let e = e.context("stage 1");
        assert_eq!(e.message(), "stage 1: Null timestamp");
    }

    #[test]
    fn macros_return_early() {
        fn plan() -> Result<()> {
            plan_err!("INSERT statements must specify PARTITIONED BY clause explicitly")
        }
        fn internal() -> Result<()> {
            internal_err!("stage {} missing", 3)
        }
        let p = plan().unwrap_err();
        assert_eq!(
            (p.category(), p.code()),
            (ErrorCategory::Plan, ErrorCode::InvalidInput)
        );
        let i = internal().unwrap_err();
        assert_eq!(i.code(), ErrorCode::UnknownError);
        assert_eq!(i.message(), "stage 3 missing");
    }
}
