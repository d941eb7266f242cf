//! The Druid SQL front end of Acorn: SQL text in, a typed and validated [`Statement`] out.
//!
//! This is the first stage of the engine pipeline:
//!
//! ```text
//! SQL text ──msq-sql──▶ Statement ──msq-plan──▶ QueryDefinition ──msq-kernel──▶ WorkOrders ──msq-exec──▶ frames
//!           (this crate)            (binds to Arrow types, plans stages)
//! ```
//!
//! It parses the statements Druid's multi-stage query engine accepts (spec `druid-msq.md` §1):
//! `SELECT`, `INSERT INTO … PARTITIONED BY … [CLUSTERED BY …]`, `REPLACE INTO … OVERWRITE
//! ALL|WHERE …`, `EXPLAIN PLAN FOR …` and `SET key = value;` prefixes, with `TABLE(EXTERN(…))`
//! and the `http`/`inline`/`localfiles` table functions. The query part stays a
//! [`sqlparser`] AST ([`Query`]); the Druid clauses become typed values ([`Ingest`],
//! [`Granularity`], [`Overwrite`], [`ClusterExpr`], [`ExternalInput`]). It does **not** resolve
//! names or types and builds no logical plan: that is `msq-plan`'s job.
//!
//! Errors are [`msq_common::MsqError`]s worded as Druid words them: syntax errors carry code
//! `SqlParseError` and a `(Line l, Column c)` position; validation errors are `InvalidInput`
//! (or Druid's fault code where Druid has one, e.g. `InsertCannotOrderByDescending`).
//!
//! # Layout
//! - [`dialect`] — [`DruidDialect`], the sqlparser dialect closest to Druid's Calcite grammar.
//! - `lexer` — the token-level pre-pass that splits statements and cuts `PARTITIONED BY`,
//!   `CLUSTERED BY`, `OVERWRITE` and `EXTEND` off before sqlparser sees the rest (private).
//! - [`syntax`] — syntax errors with positions, [`error_location`].
//! - [`statement`] — [`Statement`], [`Ingest`], [`Overwrite`], [`ClusterExpr`],
//!   [`ParsedQuery`] and the statement builder.
//! - [`granularity`] — [`Granularity`]: `PARTITIONED BY` forms, Druid JSON, UTC bucketing.
//! - [`overwrite`] — `OVERWRITE WHERE` → time chunk intervals, alignment checks.
//! - [`external`] — [`ExternalInput`], [`DruidType`], [`extern_inputs`] for EXTERN and the
//!   ad-hoc table functions.
//! - [`tables`] — [`referenced_tables`].
//! - `validate` — Druid's parse-time validation rules (private).
//! - `context` — `SET` statements → context overrides (private).
//! - [`params`] — [`SqlParameter`] and binding of `?` parameters.
//! - [`time`] — civil-date arithmetic, `TIMESTAMP` literals, Joda-style ISO rendering.
//!
//! # Example
//! ```
//! use msq_sql::{Granularity, Overwrite, Statement};
//!
//! let statements = msq_sql::parse("REPLACE INTO t OVERWRITE ALL SELECT 1 PARTITIONED BY ALL")?;
//! let Statement::Replace(ingest) = &statements[0] else { panic!("not a REPLACE") };
//! assert_eq!(statements[0].kind(), "REPLACE");
//! assert_eq!(ingest.table, "t");
//! assert_eq!(ingest.overwrite, Some(Overwrite::All));
//! assert_eq!(ingest.partitioned_by, Granularity::All);
//!
//! let err = msq_sql::parse_one("INSERT INTO t SELECT 1").unwrap_err();
//! assert_eq!(err.message(), "INSERT statements must specify PARTITIONED BY clause explicitly");
//! # Ok::<(), msq_common::MsqError>(())
//! ```
#![deny(missing_docs)]

mod context;
pub mod dialect;
pub mod external;
pub mod granularity;
mod lexer;
pub mod overwrite;
pub mod params;
pub mod statement;
pub mod syntax;
pub mod tables;
pub mod time;
pub mod tz;
mod validate;

pub use dialect::DruidDialect;
pub use external::{extern_inputs, DruidType, ExternalInput};
pub use granularity::Granularity;
pub use params::SqlParameter;
pub use sqlparser;
pub use sqlparser::ast::{Expr, Query};
pub use statement::{ClusterExpr, Ingest, Overwrite, ParsedQuery, Statement};
pub use syntax::error_location;
pub use tables::referenced_tables;

use msq_common::Result;
use serde_json::Map;
use syntax::syntax_error;

/// Parses every statement of `sql` (separated by `;`).
///
/// `SET` statements are rejected here: they configure the one statement that follows them in a
/// request, which is what [`parse_query`] reads. Empty text gives no statements.
///
/// # Errors
/// The first syntax or validation error, worded as Druid words it.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    lexer::split_statements(lexer::tokenize(sql)?)
        .into_iter()
        .map(|tokens| {
            if statement::is_set_statement(&tokens) {
                let at = lexer::Cursor::new(&tokens).location();
                return Err(syntax_error(
                    "SET statements are only allowed before the statement of a request \
                     (see msq_sql::parse_query)",
                    at,
                ));
            }
            statement::build_statement(tokens)
        })
        .collect()
}

/// Parses exactly one statement (a trailing `;` is fine).
///
/// # Errors
/// As [`parse`], plus an error when `sql` holds no statement or more than one.
pub fn parse_one(sql: &str) -> Result<Statement> {
    let mut statements = parse(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(syntax_error(
            "SQL text contains no statement",
            sqlparser::tokenizer::Location::new(1, 1),
        )),
        n => Err(msq_common::MsqError::plan(format!(
            "SQL text must contain exactly one statement, found {n}"
        ))),
    }
}

/// Parses a SQL request's text: any number of `SET key = value;` statements, then exactly one
/// statement. The SETs become [`ParsedQuery::context_overrides`].
///
/// # Errors
/// As [`parse`]; also when a SET follows the statement, or there are two statements.
pub fn parse_query(sql: &str) -> Result<ParsedQuery> {
    parse_query_with_parameters(sql, &[])
}

/// [`parse_query`] with the request's dynamic `parameters` bound to the `?` placeholders, in
/// textual order (Druid's `"parameters": [{"type": "VARCHAR", "value": ...}]`).
///
/// # Errors
/// As [`parse_query`], and `Parameter at position [n] is not bound` when there are fewer
/// parameters than placeholders (with no parameters at all, placeholders stay `?`).
pub fn parse_query_with_parameters(sql: &str, parameters: &[SqlParameter]) -> Result<ParsedQuery> {
    let tokens = params::bind_parameters(lexer::tokenize(sql)?, parameters)?;
    let mut context_overrides = Map::new();
    let mut statement = None;
    for tokens in lexer::split_statements(tokens) {
        let at = lexer::Cursor::new(&tokens).location();
        if statement::is_set_statement(&tokens) {
            if statement.is_some() {
                return Err(syntax_error(
                    "SET statements must come before the statement they configure",
                    at,
                ));
            }
            let (key, value) = context::parse_set(&tokens)?;
            context_overrides.insert(key, value);
        } else if statement.is_some() {
            return Err(syntax_error(
                "A SQL request may contain SET statements followed by exactly one other \
                 statement; found another statement",
                at,
            ));
        } else {
            statement = Some(statement::build_statement(tokens)?);
        }
    }
    match statement {
        Some(statement) => Ok(ParsedQuery {
            context_overrides,
            statement,
        }),
        None => Err(syntax_error(
            "SQL text contains no statement after its SET statements",
            sqlparser::tokenizer::Location::new(1, 1),
        )),
    }
}
