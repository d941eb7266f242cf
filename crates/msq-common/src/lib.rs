//! Shared vocabulary of the Acorn MSQ engine: the newtype ids that name stages, workers and
//! partitions, and the one error type every crate returns.
//!
//! This crate is the root of the dependency graph (see `../shared/design/style-and-layout.md`
//! §3.2): it depends on nothing but `serde` and `thiserror`, builds for `wasm32-unknown-unknown`
//! and natively, and never names a browser type.
//!
//! # Layout
//! - [`ids`]: [`StageNumber`], [`WorkerNumber`], [`PartitionNumber`] — small `Copy` newtypes that
//!   serialize as plain numbers, as they appear in Druid's JSON.
//! - [`error`]: [`MsqError`], its [`ErrorCategory`] (whose fault it is), [`ErrorCode`] (Druid's
//!   `errorCode` strings, spec `druid-msq.md` §3.2) and the one-line macros [`plan_err!`],
//!   [`exec_err!`], [`internal_err!`] and [`msq_ensure!`].
//!
//! # Example
//! ```
//! use msq_common::{msq_ensure, ErrorCode, MsqError, Result};
//!
//! fn check_columns(n: usize) -> Result<()> {
//!     msq_ensure!(n <= 2000, TooManyColumns, "Too many output columns (requested = {n}, max = 2000)");
//!     Ok(())
//! }
//!
//! let err = check_columns(2001).unwrap_err();
//! assert_eq!(err.code(), ErrorCode::TooManyColumns);
//! assert_eq!(err.code().as_str(), "TooManyColumns");
//! ```
#![deny(missing_docs)]

pub mod error;
pub mod ids;

pub use error::{ErrorCategory, ErrorCode, MsqError, Result};
pub use ids::{PartitionNumber, StageNumber, WorkerNumber};
