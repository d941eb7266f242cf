//! `SET key = value;` prefix statements: query context set from the SQL text (spec
//! `druid-msq.md` §1.1, §2), e.g. `SET sqlJoinAlgorithm = 'sortMerge';`.
//!
//! The value must be a literal: a string, a number, `TRUE`/`FALSE`, `NULL`, or an
//! `ARRAY[...]` of those. It becomes the JSON value of the context key; the request's own
//! `"context"` is overridden by it.

use crate::external::number_json;
use crate::lexer::{parse_all, Cursor, Tok};
use crate::syntax::syntax_error;
use msq_common::Result;
use serde_json::Value as Json;
use sqlparser::ast::{Expr, UnaryOperator, Value};
use sqlparser::tokenizer::Token;

/// Parses one `SET <key> = <literal>` statement into its context entry.
pub(crate) fn parse_set(tokens: &[Tok]) -> Result<(String, Json)> {
    let mut cursor = Cursor::new(tokens);
    cursor.expect_word("SET")?;
    let key_at = cursor.location();
    let key: Vec<String> = cursor.object_name()?.into_iter().map(|i| i.value).collect();
    let key = key.join(".");
    match cursor.next() {
        Some(t) if t.token == Token::Eq => {}
        Some(t) => return Err(crate::syntax::unexpected(&t.token, t.span.start, "=")),
        None => return Err(cursor.unexpected("=")),
    }
    let value_at = cursor.location();
    let expr = parse_all(
        tokens,
        cursor.index()..tokens.len(),
        "end of SET statement",
        |p| p.parse_expr(),
    )?;
    let value = literal_json(&expr).ok_or_else(|| {
        syntax_error(
            format!("The value of SET [{key}] must be a literal, got [{expr}]"),
            value_at,
        )
    })?;
    if key.is_empty() {
        return Err(syntax_error("SET needs a context key", key_at));
    }
    Ok((key, value))
}

/// A literal expression as JSON; `None` for anything else.
fn literal_json(expr: &Expr) -> Option<Json> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                Some(Json::String(s.clone()))
            }
            Value::Number(n, _) => number_json(n),
            Value::Boolean(b) => Some(Json::Bool(*b)),
            Value::Null => Some(Json::Null),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal_json(expr)? {
            Json::Number(n) => number_json(&format!("-{n}")),
            _ => None,
        },
        Expr::Array(array) => array.elem.iter().map(literal_json).collect::<Option<_>>(),
        Expr::Nested(inner) => literal_json(inner),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;
    use serde_json::json;

    fn set(sql: &str) -> Result<(String, Json)> {
        parse_set(&tokenize(sql).unwrap())
    }

    #[test]
    fn literals_become_json() {
        assert_eq!(
            set("SET sqlJoinAlgorithm = 'sortMerge'").unwrap(),
            ("sqlJoinAlgorithm".into(), json!("sortMerge"))
        );
        assert_eq!(set("set maxNumTasks = 3").unwrap().1, json!(3));
        assert_eq!(set("SET x = -1.5").unwrap().1, json!(-1.5));
        assert_eq!(
            set("SET \"finalizeAggregations\" = FALSE").unwrap(),
            ("finalizeAggregations".into(), json!(false))
        );
        assert_eq!(set("SET x = NULL").unwrap().1, Json::Null);
        assert_eq!(set("SET x = ARRAY['a', 'b']").unwrap().1, json!(["a", "b"]));
    }

    #[test]
    fn non_literals_are_rejected_with_a_position() {
        let err = set("SET x = 1 + 1").unwrap_err();
        assert_eq!(
            err.message(),
            "The value of SET [x] must be a literal, got [1 + 1] (line [1], column [9])"
        );
        let err = set("SET x 1").unwrap_err();
        assert_eq!(
            err.message(),
            "Received an unexpected token [1] (line [1], column [7]), expected: ="
        );
    }
}
