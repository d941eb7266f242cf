//! The typed statements Druid SQL has, and how one statement's tokens become one.
//!
//! ```text
//! tokens ──strip EXTEND──▶ EXPLAIN PLAN FOR? ──▶ INSERT|REPLACE INTO t [OVERWRITE ..] ─┐
//!                                           └──▶ SELECT / WITH / VALUES ──────────────┤
//!   query tokens ─▶ sqlparser ─▶ EXTEND columns folded into the AST ─▶ validation ◀───┘
//!   PARTITIONED BY tokens ─▶ Granularity      CLUSTERED BY tokens ─▶ Vec<ClusterExpr>
//! ```

use crate::external::{has_placeholder, validate_table_functions};
use crate::granularity::Granularity;
use crate::lexer::{
    end_location, find_top_level, is_word, next_significant, parse_all, parse_prefix,
    strip_extend_lists, Cursor, ExtendList, Tok,
};
use crate::overwrite::overwrite_where_intervals;
use crate::syntax::{syntax_error, unexpected};
use crate::time::{format_interval, Interval, ETERNITY_END, ETERNITY_START};
use crate::validate::{
    check_ingest_query, check_timestamp_literals, cluster_exprs, target_table, IngestKind,
};
use crate::ExternalInput;
use msq_common::{ErrorCategory, ErrorCode, MsqError, Result};
use serde_json::{Map, Value as Json};
use sqlparser::ast::{Expr, Ident, Query, TableAlias, TableFactor, VisitMut, VisitorMut};
use sqlparser::tokenizer::Token;
use std::fmt;
use std::ops::{ControlFlow, Range};

/// One Druid SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// A query whose rows are the result (MSQ writes them into the task report).
    Select(Box<Query>),
    /// `INSERT INTO <table> <query> PARTITIONED BY .. [CLUSTERED BY ..]`: appends segments.
    Insert(Ingest),
    /// `REPLACE INTO <table> OVERWRITE .. <query> PARTITIONED BY .. [CLUSTERED BY ..]`:
    /// replaces the overwritten time chunks.
    Replace(Ingest),
    /// `EXPLAIN PLAN FOR <statement>`.
    Explain(Box<Statement>),
}

/// What an INSERT or REPLACE writes and how (spec `druid-msq.md` §1.1, §1.3, §1.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Ingest {
    /// The target datasource (a `druid.` schema prefix is removed).
    pub table: String,
    /// The OVERWRITE clause; always `Some` for REPLACE, `None` for INSERT.
    pub overwrite: Option<Overwrite>,
    /// The query producing the rows. EXTEND column lists are in its table functions' alias
    /// columns (see [`crate::external`]).
    pub query: Box<Query>,
    /// `PARTITIONED BY`: the segment granularity.
    pub partitioned_by: Granularity,
    /// `CLUSTERED BY`: the secondary partitioning and sort keys, ascending, in order.
    pub clustered_by: Vec<ClusterExpr>,
}

/// REPLACE's OVERWRITE clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Overwrite {
    /// `OVERWRITE ALL`: the whole datasource.
    All,
    /// `OVERWRITE WHERE <condition on __time>`: the time chunks the condition selects.
    Where(Box<Expr>),
}

/// One `CLUSTERED BY` item.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterExpr {
    /// A column of the query's output, by name.
    Column(String),
    /// A 1-based position in the select list (`CLUSTERED BY 2`).
    Ordinal(usize),
    /// Any other expression (`CLUSTERED BY FLOOR(m1)`).
    Expr(Box<Expr>),
}

/// A SQL request's text: `SET` context overrides followed by one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQuery {
    /// Context keys set with `SET key = value;` in the text, in order (later wins).
    pub context_overrides: Map<String, Json>,
    /// The statement.
    pub statement: Statement,
}

impl Statement {
    /// `"SELECT"`, `"INSERT"`, `"REPLACE"` or `"EXPLAIN"` (Druid's `statementType` for the
    /// first three).
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Select(_) => "SELECT",
            Statement::Insert(_) => "INSERT",
            Statement::Replace(_) => "REPLACE",
            Statement::Explain(_) => "EXPLAIN",
        }
    }

    /// The query that produces the rows (for EXPLAIN, the explained statement's).
    pub fn query(&self) -> &Query {
        match self {
            Statement::Select(query) => query,
            Statement::Insert(ingest) | Statement::Replace(ingest) => &ingest.query,
            Statement::Explain(inner) => inner.query(),
        }
    }

    /// The ingest clauses of an INSERT or REPLACE (also under EXPLAIN).
    pub fn ingest(&self) -> Option<&Ingest> {
        match self {
            Statement::Select(_) => None,
            Statement::Insert(ingest) | Statement::Replace(ingest) => Some(ingest),
            Statement::Explain(inner) => inner.ingest(),
        }
    }

    /// The external inputs the statement reads (see [`crate::extern_inputs`]).
    pub fn extern_inputs(&self) -> Result<Vec<ExternalInput>> {
        crate::external::extern_inputs(self.query())
    }
}

impl Overwrite {
    /// The time chunks overwritten, checked against `granularity` (Druid's
    /// `validateQueryAndConvertToIntervals`): `OVERWRITE ALL` is Druid's eternity.
    pub fn overwrite_intervals(&self, granularity: &Granularity) -> Result<Vec<Interval>> {
        match self {
            Overwrite::All => Ok(vec![(ETERNITY_START, ETERNITY_END)]),
            Overwrite::Where(condition) => overwrite_where_intervals(condition, *granularity),
        }
    }
}

impl Ingest {
    /// The overwritten intervals of a REPLACE (`None` for INSERT).
    pub fn overwrite_intervals(&self) -> Result<Option<Vec<Interval>>> {
        self.overwrite
            .as_ref()
            .map(|o| o.overwrite_intervals(&self.partitioned_by))
            .transpose()
    }

    /// Druid's `sqlReplaceTimeChunks` context value: `"all"` for `OVERWRITE ALL`, otherwise the
    /// comma-joined ISO intervals; `None` for INSERT.
    pub fn replace_time_chunks(&self) -> Result<Option<String>> {
        Ok(match &self.overwrite {
            None => None,
            Some(Overwrite::All) => Some("all".to_string()),
            Some(overwrite) => {
                let intervals = overwrite.overwrite_intervals(&self.partitioned_by)?;
                Some(
                    intervals
                        .into_iter()
                        .map(format_interval)
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
        })
    }

    /// The context keys Druid's SQL layer adds for an ingest: `sqlInsertSegmentGranularity`
    /// and, for REPLACE, `sqlReplaceTimeChunks` (spec §1.3).
    pub fn query_context(&self) -> Result<Map<String, Json>> {
        let mut context = Map::new();
        context.insert(
            "sqlInsertSegmentGranularity".into(),
            Json::String(self.partitioned_by.sql_insert_segment_granularity()),
        );
        if let Some(chunks) = self.replace_time_chunks()? {
            context.insert("sqlReplaceTimeChunks".into(), Json::String(chunks));
        }
        Ok(context)
    }
}

// ---------------------------------------------------------------------------------------------
// Building statements from tokens
// ---------------------------------------------------------------------------------------------

/// Whether a statement's first word is `SET`.
pub(crate) fn is_set_statement(tokens: &[Tok]) -> bool {
    Cursor::new(tokens).peek_word("SET")
}

/// Builds the statement made of `tokens` (one statement, without its `;`).
pub(crate) fn build_statement(tokens: Vec<Tok>) -> Result<Statement> {
    let (tokens, extend) = strip_extend_lists(tokens)?;
    let mut extend: Vec<Option<ExtendList>> = extend.into_iter().map(Some).collect();
    let statement = build(&tokens, &mut extend, false)?;
    if let Some(unused) = extend.into_iter().flatten().next() {
        return Err(syntax_error(
            "EXTEND must follow a table function: TABLE(<function>(...)) EXTEND (<column> \
             <type>, ...)",
            unused.at,
        ));
    }
    Ok(statement)
}

fn build(tokens: &[Tok], extend: &mut [Option<ExtendList>], explained: bool) -> Result<Statement> {
    let mut cursor = Cursor::new(tokens);
    let Some(first) = cursor.peek() else {
        return Err(cursor.unexpected("a statement"));
    };
    if is_word(&first.token, "EXPLAIN") {
        if explained {
            return Err(syntax_error(
                "EXPLAIN cannot be explained",
                first.span.start,
            ));
        }
        cursor.next();
        cursor.expect_word("PLAN")?;
        // Calcite allows attributes between PLAN and FOR (`WITH TYPE`, `AS JSON`, ...);
        // Druid ignores them, and so do we.
        let Some(for_at) = find_top_level(tokens, cursor.index(), &["FOR"]) else {
            return Err(cursor.unexpected("FOR"));
        };
        let inner = build(&tokens[for_at + 1..], extend, true)?;
        return Ok(Statement::Explain(Box::new(inner)));
    }
    if is_word(&first.token, "INSERT") {
        return Ok(Statement::Insert(build_ingest(
            IngestKind::Insert,
            tokens,
            extend,
        )?));
    }
    if is_word(&first.token, "REPLACE") {
        return Ok(Statement::Replace(build_ingest(
            IngestKind::Replace,
            tokens,
            extend,
        )?));
    }
    let is_query = is_word(&first.token, "SELECT")
        || is_word(&first.token, "WITH")
        || is_word(&first.token, "VALUES")
        || first.token == Token::LParen;
    if !is_query {
        return Err(syntax_error(
            format!(
                "Unsupported statement [{}]: Druid SQL statements are SELECT, INSERT, REPLACE, \
                 EXPLAIN PLAN FOR and SET",
                first.token
            ),
            first.span.start,
        ));
    }
    for clause in [["PARTITIONED", "BY"], ["CLUSTERED", "BY"]] {
        if let Some(at) = find_top_level(tokens, 0, &clause) {
            return Err(syntax_error(
                format!(
                    "{} {} is only valid in INSERT and REPLACE statements",
                    clause[0], clause[1]
                ),
                tokens[at].span.start,
            ));
        }
    }
    let mut query = parse_all(tokens, 0..tokens.len(), "end of statement", |p| {
        p.parse_query()
    })?;
    finish_query(&mut query, extend)?;
    Ok(Statement::Select(query))
}

/// Folds EXTEND lists into the query and runs the checks every statement gets.
fn finish_query(query: &mut Query, extend: &mut [Option<ExtendList>]) -> Result<()> {
    attach_extend_lists(query, extend)?;
    check_timestamp_literals(query)?;
    validate_table_functions(query)?;
    Ok(())
}

fn build_ingest(
    kind: IngestKind,
    tokens: &[Tok],
    extend: &mut [Option<ExtendList>],
) -> Result<Ingest> {
    let mut cursor = Cursor::new(tokens);
    cursor.next(); // INSERT | REPLACE
    cursor.expect_word("INTO")?;
    if cursor.peek_word("EXTERN") {
        return Err(MsqError::new(
            ErrorCategory::Plan,
            ErrorCode::QueryNotSupported,
            "Exporting with INSERT INTO EXTERN(...) is not supported by Acorn",
        ));
    }
    let name = cursor.object_name()?;
    if is_column_list(tokens, cursor.index()) {
        let columns = column_list_text(tokens, cursor.index()).unwrap_or_default();
        let name: Vec<&str> = name.iter().map(|i| i.value.as_str()).collect();
        return Err(MsqError::plan(format!(
            "Operation [{}] cannot be run with a target column list, given [{} ({columns})]",
            kind.as_str(),
            name.join(".")
        )));
    }
    let table = target_table(kind, &name)?;
    let overwrite = match kind {
        IngestKind::Insert => {
            if let Some(t) = cursor.peek().filter(|t| is_word(&t.token, "OVERWRITE")) {
                return Err(syntax_error(
                    "OVERWRITE is only valid in REPLACE statements",
                    t.span.start,
                ));
            }
            None
        }
        IngestKind::Replace => Some(parse_overwrite(tokens, &mut cursor)?),
    };

    // The query runs up to PARTITIONED BY / CLUSTERED BY at depth 0.
    let query_start = cursor.index();
    let partitioned_at = find_top_level(tokens, query_start, &["PARTITIONED", "BY"]);
    let clustered_at = find_top_level(tokens, query_start, &["CLUSTERED", "BY"]);
    let partitioned_at = match (partitioned_at, clustered_at) {
        (Some(p), Some(c)) if c < p => return Err(clustered_before_partitioned()),
        (None, Some(_)) => return Err(clustered_before_partitioned()),
        (None, None) => {
            return Err(MsqError::plan(format!(
                "{} statements must specify PARTITIONED BY clause explicitly",
                kind.as_str()
            )))
        }
        (Some(p), _) => p,
    };
    let mut query = parse_all(tokens, query_start..partitioned_at, "PARTITIONED BY", |p| {
        p.parse_query()
    })?;
    finish_query(&mut query, extend)?;

    let granularity_start = after_keywords(tokens, partitioned_at, 2);
    let granularity_end = clustered_at.unwrap_or(tokens.len());
    let partitioned_by = parse_granularity(tokens, granularity_start..granularity_end)?;

    let clustered_by = match clustered_at {
        None => Vec::new(),
        Some(c) => {
            let items = parse_all(
                tokens,
                after_keywords(tokens, c, 2)..tokens.len(),
                "end of statement",
                |p| p.parse_comma_separated(|p| p.parse_order_by_expr()),
            )?;
            cluster_exprs(items, &query)?
        }
    };

    check_ingest_query(kind, &query, partitioned_by)?;
    if let Some(Overwrite::Where(condition)) = &overwrite {
        if !has_placeholder(condition) {
            overwrite_where_intervals(condition, partitioned_by)?;
        }
    }
    Ok(Ingest {
        table,
        overwrite,
        query,
        partitioned_by,
        clustered_by,
    })
}

fn clustered_before_partitioned() -> MsqError {
    MsqError::plan(
        "CLUSTERED BY found before PARTITIONED BY, CLUSTERED BY must come after the PARTITIONED \
         BY clause",
    )
}

/// `OVERWRITE ALL` or `OVERWRITE WHERE <condition>`; anything else is Druid's "Missing time
/// chunk information" error.
fn parse_overwrite(tokens: &[Tok], cursor: &mut Cursor<'_>) -> Result<Overwrite> {
    let missing = || {
        MsqError::plan(
            "Missing time chunk information in OVERWRITE clause for REPLACE. Use OVERWRITE WHERE \
             <__time based condition> or OVERWRITE ALL to overwrite the entire table.",
        )
    };
    if !cursor.eat_word("OVERWRITE") {
        return Err(missing());
    }
    if cursor.eat_word("ALL") {
        return Ok(Overwrite::All);
    }
    if !cursor.eat_word("WHERE") {
        return Err(missing());
    }
    // The condition ends where the query (or, if it is missing, PARTITIONED BY) starts.
    let start = cursor.index();
    let bound = ["SELECT", "WITH", "VALUES", "PARTITIONED"]
        .iter()
        .filter_map(|w| find_top_level(tokens, start, &[w]))
        .min()
        .unwrap_or(tokens.len());
    let (condition, end) = parse_prefix(tokens, start..bound, |p| p.parse_expr())?;
    cursor.seek(end);
    Ok(Overwrite::Where(Box::new(condition)))
}

/// The token index after `count` significant tokens starting at `at` (`PARTITIONED BY`).
fn after_keywords(tokens: &[Tok], at: usize, count: usize) -> usize {
    let mut index = at;
    for _ in 0..count {
        index = next_significant(tokens, index).map_or(tokens.len(), |i| i + 1);
    }
    index
}

/// The granularity after `PARTITIONED BY`, in `tokens[range]` (which stops before
/// `CLUSTERED BY`, if any).
fn parse_granularity(tokens: &[Tok], range: Range<usize>) -> Result<Granularity> {
    let mut cursor = Cursor::new(&tokens[..range.end]);
    cursor.seek(range.start);
    let first = cursor.index();
    if cursor.at_end() {
        return Err(match next_significant(tokens, range.end) {
            Some(i) => unexpected(&tokens[i].token, tokens[i].span.start, "a granularity"),
            None => unexpected("EOF", end_location(&tokens[..range.end]), "a granularity"),
        });
    }
    let after = "CLUSTERED BY or end of statement";
    if cursor.eat_word("ALL") {
        cursor.eat_word("TIME");
        if let Some(t) = cursor.peek() {
            return Err(unexpected(&t.token, t.span.start, after));
        }
        return Ok(Granularity::All);
    }
    // A bare word is a granularity name or period even where sqlparser reads a keyword.
    if let Token::Word(word) = &tokens[first].token {
        if next_significant(&tokens[..range.end], first + 1).is_none() {
            if let Some(g) = Granularity::from_name_or_period(&word.value) {
                return Ok(g);
            }
        }
    }
    let expr = parse_all(tokens, range, after, |p| p.parse_expr())?;
    Granularity::from_partitioned_by(&expr)
}

/// Whether the `(` at `open` (right after the target table) starts a column list rather than a
/// parenthesised query.
fn is_column_list(tokens: &[Tok], open: usize) -> bool {
    if tokens.get(open).is_none_or(|t| t.token != Token::LParen) {
        return false;
    }
    match next_significant(tokens, open + 1).map(|i| &tokens[i].token) {
        Some(Token::LParen) => false,
        Some(token) => !["SELECT", "WITH", "VALUES"]
            .iter()
            .any(|w| is_word(token, w)),
        None => true,
    }
}

/// The text of a parenthesised column list starting at `open`, as Druid prints it
/// (`` `foo`, `bar` ``).
fn column_list_text(tokens: &[Tok], open: usize) -> Option<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    for tok in &tokens[open..] {
        match &tok.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(names.join(", "));
                }
            }
            Token::Word(w) if depth == 1 => names.push(format!("`{}`", w.value)),
            _ => {}
        }
    }
    None
}

/// Stores each EXTEND list as the typed alias columns of the table function it follows (see
/// [`crate::external`] for why).
fn attach_extend_lists(query: &mut Query, lists: &mut [Option<ExtendList>]) -> Result<()> {
    struct Attach<'a> {
        lists: &'a mut [Option<ExtendList>],
    }
    impl VisitorMut for Attach<'_> {
        type Break = MsqError;
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<MsqError> {
            let TableFactor::TableFunction {
                expr: Expr::Function(function),
                alias,
            } = factor
            else {
                return ControlFlow::Continue(());
            };
            let Some(at) = function
                .name
                .0
                .first()
                .and_then(|part| part.as_ident())
                .map(|ident| ident.span.start)
            else {
                return ControlFlow::Continue(());
            };
            let Some(list) = self
                .lists
                .iter_mut()
                .find(|l| l.as_ref().is_some_and(|l| l.function_at == at))
                .and_then(Option::take)
            else {
                return ControlFlow::Continue(());
            };
            match alias {
                None => {
                    *alias = Some(TableAlias {
                        explicit: false,
                        name: Ident::new(""),
                        columns: list.columns,
                        at: None,
                    })
                }
                Some(alias) if alias.columns.is_empty() => alias.columns = list.columns,
                Some(_) => {
                    return ControlFlow::Break(syntax_error(
                        "A table function cannot have both an EXTEND list and alias columns",
                        list.at,
                    ))
                }
            }
            ControlFlow::Continue(())
        }
    }
    match query.visit(&mut Attach { lists }) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Display: statements print back as Druid SQL that parses to the same statement
// ---------------------------------------------------------------------------------------------

/// A double-quoted identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(query) => write!(f, "{query}"),
            Statement::Insert(ingest) => write!(f, "INSERT INTO {ingest}"),
            Statement::Replace(ingest) => write!(f, "REPLACE INTO {ingest}"),
            Statement::Explain(inner) => write!(f, "EXPLAIN PLAN FOR {inner}"),
        }
    }
}

impl fmt::Display for Ingest {
    /// Everything after `INSERT INTO` / `REPLACE INTO`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", quoted(&self.table))?;
        match &self.overwrite {
            None => {}
            Some(Overwrite::All) => write!(f, " OVERWRITE ALL")?,
            Some(Overwrite::Where(condition)) => write!(f, " OVERWRITE WHERE {condition}")?,
        }
        write!(
            f,
            " {} PARTITIONED BY {}",
            self.query,
            self.partitioned_by.to_sql()
        )?;
        if !self.clustered_by.is_empty() {
            let items: Vec<String> = self.clustered_by.iter().map(|c| c.to_string()).collect();
            write!(f, " CLUSTERED BY {}", items.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for ClusterExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterExpr::Column(name) => f.write_str(&quoted(name)),
            ClusterExpr::Ordinal(n) => write!(f, "{n}"),
            ClusterExpr::Expr(expr) => write!(f, "{expr}"),
        }
    }
}
