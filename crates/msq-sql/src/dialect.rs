//! [`DruidDialect`]: the sqlparser dialect closest to Druid's Calcite grammar.
//!
//! sqlparser's `GenericDialect` accepts far more than Druid (pipe operators, `FROM`-first
//! selects, MySQL `LIMIT a, b`, backtick identifiers …), which would let statements through that
//! Druid rejects and change how some texts parse. This dialect starts from sqlparser's ANSI
//! defaults and switches on only what Druid SQL has:
//! - identifiers are quoted with `"double quotes"` only; strings use `'single quotes'` with `''`
//!   as the escape and no backslash escapes (so `'{"data":"a\nb"}'` reaches EXTERN's JSON parser
//!   with the backslash intact);
//! - aggregate `FILTER (WHERE …)`, `GROUPING SETS`/`CUBE`/`ROLLUP` (parsed so that the planner can
//!   answer `QueryNotSupported` rather than a syntax error), named window references;
//! - named function arguments `name => value` (sqlparser's default), `ARRAY[...]`,
//!   `TIMESTAMP '…'`, `FLOOR(x TO unit)`, `?` parameters (dialect independent).
//!
//! Druid-only clauses (`PARTITIONED BY`, `CLUSTERED BY`, `OVERWRITE`, `EXTEND`) never reach
//! sqlparser: the `lexer` splits them off first.

use sqlparser::dialect::Dialect;

/// Druid's SQL dialect for sqlparser.
#[derive(Debug, Default, Clone, Copy)]
pub struct DruidDialect;

impl Dialect for DruidDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '$'
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    fn supports_window_clause_named_window_reference(&self) -> bool {
        true
    }

    fn supports_window_function_null_treatment_arg(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sqlparser::parser::Parser;

    fn parses(sql: &str) {
        Parser::parse_sql(&DruidDialect, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    #[test]
    fn accepts_druid_sql_shapes() {
        parses(r#"SELECT "page", COUNT(*) FILTER (WHERE "delta" > 0) FROM "wikipedia" GROUP BY 1"#);
        parses("SELECT TIME_FLOOR(__time, 'PT1H'), FLOOR(__time TO DAY) FROM t");
        parses("SELECT * FROM t WHERE __time >= TIMESTAMP '2000-01-01 00:00:00' AND x = ?");
        parses("SELECT * FROM TABLE(http(uris => ARRAY['a', 'b'], format => 'json'))");
        parses("SELECT d FROM foo, UNNEST(MV_TO_ARRAY(dim3)) AS u(d)");
        parses("SELECT x, LAG(x) OVER (PARTITION BY y ORDER BY __time) FROM t");
        parses("SELECT CAST(x AS VARCHAR), x || 'a' FROM t LIMIT 10 OFFSET 2");
        parses("SELECT __time FROM t WHERE __time > CURRENT_TIMESTAMP - INTERVAL '1' DAY");
        parses("WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2");
    }

    #[test]
    fn backslash_is_not_an_escape() {
        let stmts = Parser::parse_sql(&DruidDialect, r"SELECT 'a\nb'").unwrap();
        assert_eq!(stmts[0].to_string(), r"SELECT 'a\nb'");
    }

    #[test]
    fn rejects_non_druid_syntax() {
        assert!(Parser::parse_sql(&DruidDialect, "SELECT `x` FROM t").is_err());
        assert!(Parser::parse_sql(&DruidDialect, "SELECT x FROM t LIMIT 1, 2").is_err());
    }
}
