//! The clause pre-pass: tokens in, Druid-only syntax split off, token runs out for sqlparser.
//!
//! Druid's grammar adds clauses sqlparser has never heard of (spec `druid-msq.md` §1.1–§1.4):
//!
//! ```text
//! [EXPLAIN PLAN FOR] INSERT|REPLACE INTO <table> [OVERWRITE ALL | OVERWRITE WHERE <cond>]
//!     <query>
//!     [PARTITIONED BY <granularity>] [CLUSTERED BY <expr>, ...]
//! ... FROM TABLE(<function>(...)) [EXTEND] (<column> <type>, ...)
//! ```
//!
//! Rather than scanning raw text, the pre-pass runs sqlparser's own tokenizer once (so string
//! literals, `"quoted identifiers"`, `--`/`/* */` comments and `?` are lexed exactly as the
//! parser will see them), then works on the token vector: it finds top-level `;`, the
//! `PARTITIONED BY` / `CLUSTERED BY` keywords at parenthesis depth 0, and `EXTEND` lists after
//! `TABLE(...)`. Each remaining run of tokens is handed to a sqlparser [`Parser`] *with its
//! original spans*, so every error still points at the right line and column of the user's text.
//! Words inside literals or comments can never be mistaken for clauses, because they are not
//! `Word` tokens.

use crate::dialect::DruidDialect;
use crate::syntax::{from_parser_error, from_tokenizer_error, syntax_error, unexpected};
use msq_common::Result;
use sqlparser::ast::{DataType, Ident, ObjectName, TableAliasColumnDef};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};
use std::ops::Range;

/// A token with its position in the SQL text.
pub(crate) type Tok = TokenWithSpan;

/// Tokenizes `sql` with the [`DruidDialect`]; whitespace and comments are kept as tokens.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Tok>> {
    Tokenizer::new(&DruidDialect, sql)
        .tokenize_with_location()
        .map_err(from_tokenizer_error)
}

/// Whitespace and comments.
pub(crate) fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// An unquoted word equal to `word`, ignoring case (a quoted `"PARTITIONED"` is an identifier,
/// never a keyword).
pub(crate) fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// How `token` changes the bracket depth.
fn depth_delta(token: &Token) -> i32 {
    match token {
        Token::LParen | Token::LBracket | Token::LBrace => 1,
        Token::RParen | Token::RBracket | Token::RBrace => -1,
        _ => 0,
    }
}

/// Splits a token stream into statements at top-level `;`, dropping statements that hold only
/// whitespace and comments.
pub(crate) fn split_statements(tokens: Vec<Tok>) -> Vec<Vec<Tok>> {
    let mut statements = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0;
    for tok in tokens {
        if depth == 0 && tok.token == Token::SemiColon {
            statements.push(std::mem::take(&mut current));
            continue;
        }
        depth = (depth + depth_delta(&tok.token)).max(0);
        current.push(tok);
    }
    statements.push(current);
    statements.retain(|s| s.iter().any(|t| !is_trivia(&t.token)));
    statements
}

/// Index of the next non-trivia token at or after `from`.
pub(crate) fn next_significant(tokens: &[Tok], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !is_trivia(&tokens[i].token))
}

/// Index of the token closing the bracket opened at `open`.
fn matching_close(tokens: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, tok) in tokens.iter().enumerate().skip(open) {
        depth += depth_delta(&tok.token);
        if depth == 0 {
            return Some(i);
        }
    }
    None
}

/// Index of the first token of the keyword sequence `words` (e.g. `["PARTITIONED", "BY"]`) at
/// bracket depth 0, searching from `from`.
pub(crate) fn find_top_level(tokens: &[Tok], from: usize, words: &[&str]) -> Option<usize> {
    let mut depth = 0;
    for i in from..tokens.len() {
        let token = &tokens[i].token;
        if depth == 0 && words.first().is_some_and(|w| is_word(token, w)) {
            let mut at = i;
            let matched = words[1..]
                .iter()
                .all(|w| match next_significant(tokens, at + 1) {
                    Some(j) if is_word(&tokens[j].token, w) => {
                        at = j;
                        true
                    }
                    _ => false,
                });
            if matched {
                return Some(i);
            }
        }
        depth = (depth + depth_delta(token)).max(0);
    }
    None
}

/// Where the text after the last token ends (for errors at the end of a statement).
pub(crate) fn end_location(tokens: &[Tok]) -> Location {
    tokens
        .iter()
        .rev()
        .find(|t| !is_trivia(&t.token))
        .map(|t| t.span.end)
        .unwrap_or(Location::new(1, 1))
}

/// A forward cursor over the significant tokens of a statement.
pub(crate) struct Cursor<'a> {
    tokens: &'a [Tok],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `tokens`.
    pub(crate) fn new(tokens: &'a [Tok]) -> Self {
        Cursor { tokens, pos: 0 }
    }

    /// Index (into the statement's tokens) of the next significant token, or the length.
    pub(crate) fn index(&self) -> usize {
        next_significant(self.tokens, self.pos).unwrap_or(self.tokens.len())
    }

    /// Moves to token index `index`.
    pub(crate) fn seek(&mut self, index: usize) {
        self.pos = index.min(self.tokens.len());
    }

    /// The next significant token, without consuming it.
    pub(crate) fn peek(&self) -> Option<&'a Tok> {
        self.tokens.get(self.index())
    }

    /// Consumes and returns the next significant token.
    pub(crate) fn next(&mut self) -> Option<&'a Tok> {
        let idx = self.index();
        self.pos = idx + 1;
        self.tokens.get(idx)
    }

    /// Whether the next significant token is the unquoted word `word`.
    pub(crate) fn peek_word(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| is_word(&t.token, word))
    }

    /// Consumes the next token if it is the unquoted word `word`.
    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        if found {
            self.next();
        }
        found
    }

    /// Consumes the unquoted word `word` or fails with a syntax error at the token found.
    pub(crate) fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    /// A syntax error about the next token: "Received an unexpected token [..], expected: ..".
    pub(crate) fn unexpected(&self, expected: &str) -> msq_common::MsqError {
        match self.peek() {
            Some(t) => unexpected(&t.token, t.span.start, expected),
            None => unexpected("EOF", end_location(self.tokens), expected),
        }
    }

    /// Where the next significant token starts (or the end of the statement).
    pub(crate) fn location(&self) -> Location {
        self.peek()
            .map(|t| t.span.start)
            .unwrap_or_else(|| end_location(self.tokens))
    }

    /// Whether only trivia is left.
    pub(crate) fn at_end(&self) -> bool {
        self.peek().is_none()
    }

    /// Reads a possibly qualified name: `word ("." word)*`, words quoted or not.
    pub(crate) fn object_name(&mut self) -> Result<Vec<Ident>> {
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                Some(TokenWithSpan {
                    token: Token::Word(w),
                    span,
                }) => {
                    let mut ident = Ident::with_span(*span, w.value.clone());
                    ident.quote_style = w.quote_style;
                    parts.push(ident);
                    self.next();
                }
                _ => return Err(self.unexpected("an identifier")),
            }
            if self.peek().is_some_and(|t| t.token == Token::Period) {
                self.next();
            } else {
                return Ok(parts);
            }
        }
    }
}

/// Runs `f` with a sqlparser [`Parser`] over `tokens[range]`, which must be consumed entirely.
///
/// sqlparser sees the end of input at `range.end`; when more of the statement follows, errors
/// that say "found EOF" are reported as finding that next token, at its position.
/// `expected_after` words the error when tokens are left over ("end of statement").
pub(crate) fn parse_all<T>(
    tokens: &[Tok],
    range: Range<usize>,
    expected_after: &str,
    f: impl FnOnce(&mut Parser<'_>) -> Result<T, ParserError>,
) -> Result<T> {
    let end = range.end;
    let (value, consumed) = parse_prefix(tokens, range, f)?;
    match next_significant(&tokens[..end], consumed) {
        None => Ok(value),
        Some(i) => Err(unexpected(
            &tokens[i].token,
            tokens[i].span.start,
            expected_after,
        )),
    }
}

/// Runs `f` with a sqlparser [`Parser`] over `tokens[range]` and returns the index (into
/// `tokens`) just after the last token it consumed, so the caller can continue there.
pub(crate) fn parse_prefix<T>(
    tokens: &[Tok],
    range: Range<usize>,
    f: impl FnOnce(&mut Parser<'_>) -> Result<T, ParserError>,
) -> Result<(T, usize)> {
    let next = next_significant(tokens, range.end).map(|i| &tokens[i]);
    // End of input: where the next token starts, or right after the last one before the end.
    let eof_at = match next {
        Some(t) => t.span.start,
        None => end_location(&tokens[..range.end]),
    };
    let mut run = tokens[range.clone()].to_vec();
    run.push(TokenWithSpan::new(Token::EOF, Span::new(eof_at, eof_at)));
    let dialect = DruidDialect;
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(run);
    let next_text = next.map(|t| t.token.to_string());
    let value = f(&mut parser).map_err(|e| from_parser_error(e, next_text.as_deref()))?;
    let consumed = parser.index().min(range.len());
    Ok((value, range.start + consumed))
}

/// An `EXTEND (...)` column list split off the token stream. It belongs to the table function
/// whose name starts at `function_at`.
#[derive(Debug, Clone)]
pub(crate) struct ExtendList {
    /// Start of the function name inside `TABLE(...)`: the key that ties the list to the AST.
    pub(crate) function_at: Location,
    /// Where the list (or its `EXTEND` keyword) starts, for errors.
    pub(crate) at: Location,
    /// The declared columns, as sqlparser's typed alias columns.
    pub(crate) columns: Vec<TableAliasColumnDef>,
}

/// Removes every `[EXTEND] (<column> <type>, ...)` that follows a `TABLE(...)` and returns the
/// remaining tokens with the lists that were removed.
pub(crate) fn strip_extend_lists(tokens: Vec<Tok>) -> Result<(Vec<Tok>, Vec<ExtendList>)> {
    let mut dropped = vec![false; tokens.len()];
    let mut lists = Vec::new();
    for i in 0..tokens.len() {
        if !is_word(&tokens[i].token, "TABLE") || dropped[i] {
            continue;
        }
        let Some(open) = next_significant(&tokens, i + 1) else {
            continue;
        };
        if tokens[open].token != Token::LParen {
            continue;
        }
        let (Some(close), Some(name)) = (
            matching_close(&tokens, open),
            next_significant(&tokens, open + 1),
        ) else {
            continue;
        };
        let Some(after) = next_significant(&tokens, close + 1) else {
            continue;
        };
        let list_open = if is_word(&tokens[after].token, "EXTEND") {
            match next_significant(&tokens, after + 1) {
                Some(j) if tokens[j].token == Token::LParen => j,
                Some(j) => {
                    return Err(unexpected(&tokens[j].token, tokens[j].span.start, "("));
                }
                None => {
                    return Err(unexpected("EOF", end_location(&tokens), "("));
                }
            }
        } else if tokens[after].token == Token::LParen {
            after
        } else {
            continue;
        };
        let Some(list_close) = matching_close(&tokens, list_open) else {
            return Err(unexpected("EOF", end_location(&tokens), ")"));
        };
        let columns = column_defs(&tokens, list_open + 1..list_close)?;
        if columns.is_empty() {
            return Err(syntax_error(
                "The EXTEND column list must declare at least one column",
                tokens[after].span.start,
            ));
        }
        lists.push(ExtendList {
            function_at: tokens[name].span.start,
            at: tokens[after].span.start,
            columns,
        });
        dropped[after..=list_close]
            .iter_mut()
            .for_each(|d| *d = true);
    }
    let kept = tokens
        .into_iter()
        .zip(dropped)
        .filter_map(|(t, d)| (!d).then_some(t))
        .collect();
    Ok((kept, lists))
}

/// Parses `name TYPE, name TYPE, ...` (the inside of an EXTEND list). Types sqlparser knows
/// become its [`DataType`]; others (`VARCHAR ARRAY`, `"COMPLEX<json>"`) are kept verbatim as
/// [`DataType::Custom`].
fn column_defs(tokens: &[Tok], list: Range<usize>) -> Result<Vec<TableAliasColumnDef>> {
    // Token ranges of the comma-separated parts.
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = list.start;
    for i in list.clone() {
        if depth == 0 && tokens[i].token == Token::Comma {
            parts.push(start..i);
            start = i + 1;
        }
        depth += depth_delta(&tokens[i].token);
    }
    parts.push(start..list.end);
    if parts.len() == 1 && next_significant(&tokens[..list.end], list.start).is_none() {
        return Ok(Vec::new());
    }
    let mut columns = Vec::with_capacity(parts.len());
    for part in parts {
        // The token after this part: its comma, or the list's closing parenthesis.
        let follower = &tokens[part.end];
        let mut cursor = Cursor::new(&tokens[..part.end]);
        cursor.seek(part.start);
        if cursor.at_end() {
            return Err(unexpected(
                &follower.token,
                follower.span.start,
                "a column name",
            ));
        }
        let name_at = cursor.location();
        let name = match cursor.object_name()?.as_slice() {
            [single] => single.clone(),
            _ => {
                return Err(syntax_error(
                    "A column name in an EXTEND list cannot be qualified",
                    name_at,
                ))
            }
        };
        let type_start = cursor.index();
        if type_start >= part.end {
            return Err(unexpected(
                &follower.token,
                follower.span.start,
                "a column type",
            ));
        }
        columns.push(TableAliasColumnDef {
            name,
            data_type: Some(column_type(tokens, type_start..part.end)),
        });
    }
    Ok(columns)
}

/// A column type: sqlparser's [`DataType`] when it reads all of `tokens[range]`, otherwise the
/// tokens' text as a custom type name (`VARCHAR ARRAY`, `"COMPLEX<json>"`).
fn column_type(tokens: &[Tok], range: Range<usize>) -> DataType {
    let significant: Vec<&Tok> = tokens[range.clone()]
        .iter()
        .filter(|t| !is_trivia(&t.token))
        .collect();
    if let [TokenWithSpan {
        token: Token::Word(w),
        ..
    }] = significant.as_slice()
    {
        if w.quote_style.is_some() {
            return custom_type(Ident::with_quote('"', w.value.clone()));
        }
    }
    if let Ok(data_type) = parse_all(tokens, range, "a comma", |p| p.parse_data_type()) {
        return data_type;
    }
    let mut text = String::new();
    for tok in significant {
        let glue = !(text.is_empty()
            || text.ends_with('(')
            || matches!(tok.token, Token::RParen | Token::Comma | Token::LParen));
        if glue {
            text.push(' ');
        }
        text.push_str(&tok.token.to_string());
    }
    custom_type(Ident::new(text.to_ascii_uppercase()))
}

fn custom_type(name: Ident) -> DataType {
    DataType::Custom(ObjectName::from(vec![name]), Vec::new())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(tokens: &[Tok]) -> String {
        tokens
            .iter()
            .map(|t| t.token.to_string())
            .collect::<String>()
    }

    #[test]
    fn splits_statements_outside_literals_and_comments() {
        let sql = "SET a = 'x;y'; -- c;\nSELECT ';' /* ; */ FROM t;;  ";
        let stmts = split_statements(tokenize(sql).unwrap());
        assert_eq!(stmts.len(), 2);
        assert_eq!(words(&stmts[0]), "SET a = 'x;y'");
    }

    #[test]
    fn finds_clauses_only_at_top_level_outside_literals() {
        let sql = "SELECT 'PARTITIONED BY DAY', \"PARTITIONED\" -- PARTITIONED BY\n \
                   FROM (SELECT 1 PARTITIONED BY x) PARTITIONED  BY DAY";
        let toks = tokenize(sql).unwrap();
        let at = find_top_level(&toks, 0, &["PARTITIONED", "BY"]).unwrap();
        assert_eq!(toks[at].span.start, Location::new(2, 35));
        assert_eq!(find_top_level(&toks, 0, &["CLUSTERED", "BY"]), None);
    }

    #[test]
    fn strips_extend_lists_keyed_by_function_name() {
        let sql = "SELECT * FROM TABLE(http(uris => ARRAY['a'])) EXTEND (x VARCHAR, \"y\" BIGINT, \
                   z VARCHAR ARRAY, c \"COMPLEX<json>\") AS t";
        let (toks, lists) = strip_extend_lists(tokenize(sql).unwrap()).unwrap();
        assert_eq!(
            words(&toks),
            "SELECT * FROM TABLE(http(uris => ARRAY['a']))  AS t"
        );
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].function_at, Location::new(1, 21));
        let cols: Vec<String> = lists[0].columns.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            cols,
            [
                "x VARCHAR",
                "\"y\" BIGINT",
                "z VARCHAR ARRAY",
                "c \"COMPLEX<json>\""
            ]
        );
    }

    #[test]
    fn strips_bare_column_lists_after_table_functions() {
        let sql = "SELECT * FROM TABLE(inline(data => ARRAY['a'], format => 'csv')) (x VARCHAR)";
        let (toks, lists) = strip_extend_lists(tokenize(sql).unwrap()).unwrap();
        assert!(words(&toks).ends_with("format => 'csv')) "));
        assert_eq!(lists[0].columns.len(), 1);
    }

    #[test]
    fn extend_errors_have_positions() {
        let err = strip_extend_lists(tokenize("SELECT * FROM TABLE(f()) EXTEND (x)").unwrap())
            .unwrap_err();
        assert_eq!(
            err.message(),
            "Received an unexpected token [)] (line [1], column [35]), expected: a column type"
        );
        let err =
            strip_extend_lists(tokenize("SELECT * FROM TABLE(f()) EXTEND x").unwrap()).unwrap_err();
        assert!(err.message().contains("line [1], column [33]"), "{err}");
    }

    #[test]
    fn parse_prefix_reports_consumed_tokens() {
        let toks = tokenize("__time >= TIMESTAMP '2000-01-01' SELECT 1").unwrap();
        let (expr, used) = parse_prefix(&toks, 0..toks.len(), |p| p.parse_expr()).unwrap();
        assert_eq!(expr.to_string(), "__time >= TIMESTAMP '2000-01-01'");
        assert!(is_word(
            &toks[next_significant(&toks, used).unwrap()].token,
            "SELECT"
        ));
    }

    #[test]
    fn parse_all_names_the_following_clause() {
        let toks = tokenize("SELECT x FROM PARTITIONED BY DAY").unwrap();
        let at = find_top_level(&toks, 0, &["PARTITIONED", "BY"]).unwrap();
        let err = parse_all(&toks, 0..at, "end of statement", |p| p.parse_query()).unwrap_err();
        assert_eq!(
            err.message(),
            "Received an unexpected token [PARTITIONED] (line [1], column [15]), expected: identifier"
        );
    }
}
