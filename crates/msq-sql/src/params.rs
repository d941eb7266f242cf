//! Dynamic parameters: `?` in the SQL text, values in the request's `"parameters"` (spec
//! `druid-msq.md` §0, §1.2: `uris => ?` with `[{"type":"VARCHAR","value":["a.csv","b.csv"]}]`).
//!
//! Parameters are bound *before* parsing, by replacing each `?` token with the tokens of its
//! literal (in textual order), keeping the `?`'s position. Everything after (OVERWRITE WHERE
//! intervals, table function arguments, validation) then sees ordinary literals.

use crate::lexer::Tok;
use crate::syntax::syntax_error;
use msq_common::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan};

/// One entry of a Druid SQL request's `"parameters"`: `{"type":"VARCHAR","value":"x"}`.
/// The type is the SQL type name (`VARCHAR`, `BIGINT`, `DOUBLE`, `BOOLEAN`, `TIMESTAMP`,
/// `DATE`, …); for arrays it is the element type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlParameter {
    /// The SQL type name, as Druid's `TypedValue.type`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The value: a JSON scalar, `null`, or an array of scalars.
    pub value: Json,
}

impl SqlParameter {
    /// A parameter of type `type_name` with `value`.
    pub fn new(type_name: impl Into<String>, value: impl Into<Json>) -> Self {
        SqlParameter {
            type_name: type_name.into(),
            value: value.into(),
        }
    }
}

/// Replaces the `?` placeholders of `tokens` by `parameters`, in order. With no parameters the
/// tokens are returned unchanged (placeholders stay in the AST as `?`).
pub(crate) fn bind_parameters(tokens: Vec<Tok>, parameters: &[SqlParameter]) -> Result<Vec<Tok>> {
    if parameters.is_empty() {
        return Ok(tokens);
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut position = 0;
    for tok in tokens {
        if !matches!(&tok.token, Token::Placeholder(p) if p == "?") {
            out.push(tok);
            continue;
        }
        position += 1;
        let Some(parameter) = parameters.get(position - 1) else {
            return Err(syntax_error(
                format!("Parameter at position [{position}] is not bound"),
                tok.span.start,
            ));
        };
        literal_tokens(parameter, &parameter.value, tok.span, &mut out).map_err(|message| {
            syntax_error(
                format!("Invalid value for parameter at position [{position}]: {message}"),
                tok.span.start,
            )
        })?;
    }
    Ok(out)
}

/// Appends the tokens of `value` as a SQL literal of the parameter's type.
fn literal_tokens(
    parameter: &SqlParameter,
    value: &Json,
    span: Span,
    out: &mut Vec<Tok>,
) -> std::result::Result<(), String> {
    let push = |out: &mut Vec<Tok>, token: Token| out.push(TokenWithSpan::new(token, span));
    let type_name = parameter.type_name.to_ascii_uppercase();
    match value {
        Json::Null => push(out, Token::make_keyword("NULL")),
        Json::Bool(b) => push(out, Token::make_keyword(if *b { "TRUE" } else { "FALSE" })),
        Json::Number(n) => {
            let text = n.to_string();
            match text.strip_prefix('-') {
                Some(abs) => {
                    push(out, Token::Minus);
                    push(out, Token::Number(abs.to_string(), false));
                }
                None => push(out, Token::Number(text, false)),
            }
        }
        Json::String(s) => {
            // Typed strings keep their type: TIMESTAMP '2000-01-01', DATE '2000-01-01'.
            if type_name == "TIMESTAMP" || type_name == "DATE" {
                push(out, Token::make_keyword(&type_name));
            }
            push(out, Token::SingleQuotedString(s.clone()));
        }
        Json::Array(items) => {
            push(out, Token::make_keyword("ARRAY"));
            push(out, Token::LBracket);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    push(out, Token::Comma);
                }
                if item.is_array() || item.is_object() {
                    return Err("array elements must be scalars".into());
                }
                literal_tokens(parameter, item, span, out)?;
            }
            push(out, Token::RBracket);
        }
        Json::Object(_) => return Err("objects are not SQL values".into()),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;
    use serde_json::json;

    fn bound(sql: &str, params: &[SqlParameter]) -> Result<String> {
        let tokens = bind_parameters(tokenize(sql).unwrap(), params)?;
        Ok(tokens
            .iter()
            .map(|t| t.token.to_string())
            .collect::<Vec<_>>()
            .join(""))
    }

    #[test]
    fn binds_in_textual_order() {
        let sql = bound(
            "SELECT ? , ? , ? , ? , ?",
            &[
                SqlParameter::new("VARCHAR", "it's"),
                SqlParameter::new("BIGINT", -3),
                SqlParameter::new("BOOLEAN", true),
                SqlParameter::new("TIMESTAMP", "2000-01-01 00:00:00"),
                SqlParameter::new("VARCHAR", json!(["a.csv", "b.csv"])),
            ],
        )
        .unwrap();
        // Token display does not re-escape quotes; the parsed literal holds `it's`.
        assert_eq!(
            sql,
            "SELECT 'it's' , -3 , TRUE , TIMESTAMP'2000-01-01 00:00:00' , ARRAY['a.csv','b.csv']"
        );
    }

    #[test]
    fn missing_parameters_are_reported_at_their_placeholder() {
        let err = bound("SELECT ?,\n  ?", &[SqlParameter::new("VARCHAR", "a")]).unwrap_err();
        assert_eq!(
            err.message(),
            "Parameter at position [2] is not bound (line [2], column [3])"
        );
        assert_eq!(bound("SELECT ?", &[]).unwrap(), "SELECT ?");
    }

    #[test]
    fn parameters_deserialize_from_druid_json() {
        let p: Vec<SqlParameter> =
            serde_json::from_value(json!([{"type": "VARCHAR", "value": ["a.csv"]}])).unwrap();
        assert_eq!(p[0], SqlParameter::new("VARCHAR", json!(["a.csv"])));
    }
}
