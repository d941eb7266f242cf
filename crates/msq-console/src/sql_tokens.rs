//! A small, forgiving Druid SQL tokenizer for syntax highlighting.
//!
//! It never fails and never drops a character: concatenating the text of the tokens gives
//! back the input exactly, so the highlighted `<pre>` under the editor's transparent
//! `<textarea>` lines up character for character. Unterminated strings, quoted identifiers and
//! block comments run to the end of the text, as they would while the user is still typing.

/// What a token is, which decides its colour (the CSS class from [`TokenKind::class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A reserved word of Druid SQL (`SELECT`, `PARTITIONED`, `EXTERN`, …).
    Keyword,
    /// A function name: a known Druid function, or any identifier followed by `(`.
    Function,
    /// A `'single quoted'` string literal (`''` escapes a quote).
    String,
    /// A `"double quoted"` identifier.
    QuotedIdentifier,
    /// A numeric literal (`42`, `0.5`, `1e6`).
    Number,
    /// A `-- line` or `/* block */` comment.
    Comment,
    /// Operators and punctuation.
    Operator,
    /// An unquoted identifier that is not a keyword.
    Identifier,
    /// Spaces, tabs and newlines.
    Whitespace,
}

impl TokenKind {
    /// The CSS class the editor gives this kind of token.
    pub fn class(self) -> &'static str {
        match self {
            TokenKind::Keyword => "tok-keyword",
            TokenKind::Function => "tok-function",
            TokenKind::String => "tok-string",
            TokenKind::QuotedIdentifier => "tok-quoted",
            TokenKind::Number => "tok-number",
            TokenKind::Comment => "tok-comment",
            TokenKind::Operator => "tok-operator",
            TokenKind::Identifier => "tok-ident",
            TokenKind::Whitespace => "tok-space",
        }
    }
}

/// One token: its kind and its exact text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// What the token is.
    pub kind: TokenKind,
    /// The token's text, a slice of the input.
    pub text: &'a str,
}

/// Reserved words of Druid SQL (Calcite's, restricted to those a Druid user meets), upper case.
pub const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BOTH",
    "BY",
    "CASE",
    "CAST",
    "CHAR",
    "CLUSTERED",
    "CROSS",
    "CURRENT",
    "DATE",
    "DAY",
    "DECIMAL",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DOUBLE",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "EXTEND",
    "EXTERN",
    "FALSE",
    "FETCH",
    "FILTER",
    "FIRST",
    "FLOAT",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "HAVING",
    "HOUR",
    "ILIKE",
    "IN",
    "INNER",
    "INSERT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LAST",
    "LATERAL",
    "LEADING",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MINUTE",
    "MONTH",
    "NATURAL",
    "NEXT",
    "NOT",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "ONLY",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "OVERWRITE",
    "PARTITION",
    "PARTITIONED",
    "PLAN",
    "PRECEDING",
    "QUARTER",
    "RANGE",
    "REAL",
    "REPLACE",
    "RIGHT",
    "ROW",
    "ROWS",
    "SECOND",
    "SELECT",
    "SETS",
    "SMALLINT",
    "SOME",
    "TABLE",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TINYINT",
    "TO",
    "TRAILING",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNKNOWN",
    "UNNEST",
    "USING",
    "VALUES",
    "VARCHAR",
    "WEEK",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "YEAR",
];

/// Druid SQL functions highlighted even without a following `(`, upper case.
pub const FUNCTIONS: &[&str] = &[
    "ABS",
    "ANY_VALUE",
    "APPROX_COUNT_DISTINCT",
    "APPROX_COUNT_DISTINCT_DS_HLL",
    "APPROX_COUNT_DISTINCT_DS_THETA",
    "APPROX_QUANTILE",
    "APPROX_QUANTILE_DS",
    "ARRAY_AGG",
    "ARRAY_CONCAT",
    "ARRAY_CONTAINS",
    "ARRAY_LENGTH",
    "ARRAY_OVERLAP",
    "ARRAY_TO_MV",
    "AVG",
    "CEIL",
    "CHAR_LENGTH",
    "COALESCE",
    "CONCAT",
    "COUNT",
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "DATE_TRUNC",
    "DS_HLL",
    "DS_THETA",
    "EARLIEST",
    "EARLIEST_BY",
    "EXTRACT",
    "FLOOR",
    "GREATEST",
    "HTTP",
    "ICONTAINS_STRING",
    "INLINE",
    "IPV4_MATCH",
    "JSON_KEYS",
    "JSON_OBJECT",
    "JSON_QUERY",
    "JSON_VALUE",
    "LATEST",
    "LATEST_BY",
    "LEAST",
    "LENGTH",
    "LOCALFILES",
    "LOOKUP",
    "LOWER",
    "LPAD",
    "LTRIM",
    "MAX",
    "MILLIS_TO_TIMESTAMP",
    "MIN",
    "MOD",
    "MV_CONTAINS",
    "MV_TO_ARRAY",
    "NULLIF",
    "NVL",
    "PARSE_JSON",
    "POSITION",
    "POWER",
    "REGEXP_EXTRACT",
    "REGEXP_LIKE",
    "REPLACE",
    "ROUND",
    "RPAD",
    "RTRIM",
    "S3",
    "STRING_AGG",
    "STRING_FORMAT",
    "STRLEN",
    "SUBSTRING",
    "SUM",
    "TIMESTAMPADD",
    "TIMESTAMPDIFF",
    "TIMESTAMP_TO_MILLIS",
    "TIME_CEIL",
    "TIME_EXTRACT",
    "TIME_FLOOR",
    "TIME_FORMAT",
    "TIME_IN_INTERVAL",
    "TIME_PARSE",
    "TIME_SHIFT",
    "TRIM",
    "TRUNCATE",
    "UPPER",
];

fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

fn is_function(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    FUNCTIONS.binary_search(&upper.as_str()).is_ok()
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Splits `sql` into tokens; see the module doc for the guarantees.
pub fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = sql;
    while let Some(first) = rest.chars().next() {
        let (kind, len) = next_token(rest, first);
        // `len` is always ≥ the first char's width, so the loop always advances.
        let len = len.max(first.len_utf8());
        let (text, tail) = rest.split_at(len);
        tokens.push(Token { kind, text });
        rest = tail;
    }
    // A keyword-looking word followed by `(` is a function call (`REPLACE(...)`, `LEFT(...)`
    // stay keywords only where they are clauses); any identifier before `(` is a function.
    for i in 0..tokens.len() {
        if matches!(tokens[i].kind, TokenKind::Identifier) {
            let next = tokens[i + 1..]
                .iter()
                .find(|t| t.kind != TokenKind::Whitespace);
            if next.is_some_and(|t| t.text == "(") || is_function(tokens[i].text) {
                tokens[i].kind = TokenKind::Function;
            }
        }
    }
    tokens
}

/// Byte length of the prefix of `s` whose chars satisfy `pred`.
fn take_while(s: &str, pred: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .find(|&(_, c)| !pred(c))
        .map_or(s.len(), |(i, _)| i)
}

/// Byte length of a quoted run starting at `s[0] == quote`, where a doubled quote escapes
/// itself; unterminated runs take the rest of the text.
fn quoted_len(s: &str, quote: char) -> usize {
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|&(_, n)| n == quote) {
                chars.next();
            } else {
                return i + c.len_utf8();
            }
        }
    }
    s.len()
}

fn number_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = take_while(s, |c| c.is_ascii_digit());
    if bytes.get(i) == Some(&b'.') {
        i += 1 + take_while(&s[i + 1..], |c| c.is_ascii_digit());
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp = take_while(&s[j..], |c| c.is_ascii_digit());
        if exp > 0 {
            i = j + exp;
        }
    }
    i
}

fn next_token(s: &str, first: char) -> (TokenKind, usize) {
    if first.is_whitespace() {
        return (TokenKind::Whitespace, take_while(s, char::is_whitespace));
    }
    if s.starts_with("--") {
        return (TokenKind::Comment, s.find('\n').unwrap_or(s.len()));
    }
    if let Some(body) = s.strip_prefix("/*") {
        return (
            TokenKind::Comment,
            body.find("*/").map_or(s.len(), |i| i + 4),
        );
    }
    match first {
        '\'' => return (TokenKind::String, quoted_len(s, '\'')),
        '"' => return (TokenKind::QuotedIdentifier, quoted_len(s, '"')),
        '`' => return (TokenKind::QuotedIdentifier, quoted_len(s, '`')),
        _ => {}
    }
    let starts_number = first.is_ascii_digit()
        || (first == '.' && s[1..].chars().next().is_some_and(|c| c.is_ascii_digit()));
    if starts_number {
        return (TokenKind::Number, number_len(s));
    }
    if is_ident_start(first) {
        let len = take_while(s, is_ident_part);
        let kind = if is_keyword(&s[..len]) {
            TokenKind::Keyword
        } else {
            TokenKind::Identifier
        };
        return (kind, len);
    }
    for op in ["<>", "<=", ">=", "!=", "||", "::"] {
        if s.starts_with(op) {
            return (TokenKind::Operator, op.len());
        }
    }
    (TokenKind::Operator, first.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(FUNCTIONS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn concatenation_gives_back_the_input() {
        for sql in [
            "",
            "SELECT 1",
            "INSERT INTO \"wiki\" SELECT TIME_PARSE(\"timestamp\") AS __time, * FROM TABLE(EXTERN('{\"a\":1}', '{}'))\nPARTITIONED BY DAY",
            "select 'unterminated",
            "/* open comment",
            "-- trailing\n",
            "é ü 日本 'ünï' \"日\" 1.5e-3 .5 a<>b",
        ] {
            let joined: String = tokenize(sql).iter().map(|t| t.text).collect();
            assert_eq!(joined, sql);
        }
    }

    #[test]
    fn classifies_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("REPLACE INTO t OVERWRITE ALL SELECT COUNT(*) AS cnt, 'it''s' FROM \"my table\" -- hi\nLIMIT 10.5e2"),
            vec![
                (Keyword, "REPLACE"),
                (Keyword, "INTO"),
                (Identifier, "t"),
                (Keyword, "OVERWRITE"),
                (Keyword, "ALL"),
                (Keyword, "SELECT"),
                (Function, "COUNT"),
                (Operator, "("),
                (Operator, "*"),
                (Operator, ")"),
                (Keyword, "AS"),
                (Identifier, "cnt"),
                (Operator, ","),
                (String, "'it''s'"),
                (Keyword, "FROM"),
                (QuotedIdentifier, "\"my table\""),
                (Comment, "-- hi"),
                (Keyword, "LIMIT"),
                (Number, "10.5e2"),
            ]
        );
    }

    #[test]
    fn functions_and_lowercase_keywords() {
        use TokenKind::*;
        assert_eq!(
            kinds("select time_floor (__time, 'P1D') from tbl partitioned by day"),
            vec![
                (Keyword, "select"),
                (Function, "time_floor"),
                (Operator, "("),
                (Identifier, "__time"),
                (Operator, ","),
                (String, "'P1D'"),
                (Operator, ")"),
                (Keyword, "from"),
                (Identifier, "tbl"),
                (Keyword, "partitioned"),
                (Keyword, "by"),
                (Keyword, "day"),
            ]
        );
        assert_eq!(kinds("TIME_PARSE")[0].0, Function);
        assert_eq!(kinds("a /* x */ >= 2")[1], (Comment, "/* x */"));
        assert_eq!(kinds("a >= 2")[1], (Operator, ">="));
    }
}
