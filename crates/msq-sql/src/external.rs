//! External data: `TABLE(EXTERN(...))` and the ad-hoc table functions `http`, `inline` and
//! `localfiles` (spec `druid-msq.md` §1.2), resolved into Druid's input source / input format /
//! row signature triple ([`ExternalInput`]).
//!
//! # Where the `EXTEND` columns live
//!
//! `TABLE(fn(...)) [EXTEND] (x VARCHAR, y BIGINT)` is not SQL sqlparser knows. The
//! `lexer` removes the column list before parsing and the statement builder
//! stores it back into the AST as the table factor's **typed alias columns**
//! (`TableAlias.columns[i].data_type`), the node sqlparser uses for PostgreSQL's column
//! definition lists, which mean the same thing: the schema of a table function's rows. When the
//! statement gives no alias the alias name is the empty identifier, so the AST prints back as
//! Druid's `TABLE(fn(...))  (x VARCHAR, ...)` and reparses to the same tree. Everything an
//! [`ExternalInput`] needs is therefore in the `Query` itself: [`extern_inputs`] and
//! [`ExternalInput::from_table_factor`] read it without any side table.
//!
//! Untyped alias columns (`AS t (a, b)`) are renames, not a schema, and are ignored here.

use msq_common::{plan_err, MsqError, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value as Json};
use sqlparser::ast::{
    DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, TableAlias,
    TableFactor, UnaryOperator, Value, Visit, Visitor,
};
use std::fmt;
use std::ops::ControlFlow;

/// A Druid column type (`ColumnType`), as EXTERN signatures and EXTEND lists declare them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DruidType {
    /// `LONG`: 64-bit integers; also timestamps (`__time`), booleans and SQL integer types.
    Long,
    /// `DOUBLE`.
    Double,
    /// `FLOAT` (32-bit; SQL `FLOAT` and `REAL`).
    Float,
    /// `STRING` (SQL `VARCHAR`).
    String,
    /// `ARRAY<element>` (SQL `VARCHAR ARRAY`, `BIGINT ARRAY`, …).
    Array(Box<DruidType>),
    /// `COMPLEX<name>`, e.g. `COMPLEX<json>`; the name is kept as written.
    Complex(String),
}

impl DruidType {
    /// Parses a type as Druid's `ColumnType.fromString` spells it in signatures: `long`,
    /// `STRING`, `double`, `float` (any case), `COMPLEX<json>`, `ARRAY<STRING>`.
    pub fn from_signature_type(name: &str) -> Result<DruidType> {
        let trimmed = name.trim();
        let upper = trimmed.to_ascii_uppercase();
        Ok(match upper.as_str() {
            "LONG" => DruidType::Long,
            "DOUBLE" => DruidType::Double,
            "FLOAT" => DruidType::Float,
            "STRING" => DruidType::String,
            _ => {
                if let Some(inner) = angle_inner(trimmed, "ARRAY") {
                    DruidType::Array(Box::new(DruidType::from_signature_type(inner)?))
                } else if let Some(inner) = angle_inner(trimmed, "COMPLEX") {
                    if inner.trim().is_empty() {
                        plan_err!("Unknown column type [{name}]")
                    }
                    DruidType::Complex(inner.trim().to_string())
                } else {
                    plan_err!("Unknown column type [{name}]")
                }
            }
        })
    }

    /// Maps a SQL type name from an EXTEND list to the Druid type Druid stores it as
    /// (`Columns.SQL_TO_DRUID_TYPES`, widened with Calcite's other integer and floating types):
    /// `BIGINT`/`INTEGER`/`SMALLINT`/`TINYINT`/`BOOLEAN`/`TIMESTAMP`/`DATE` → `LONG`,
    /// `DOUBLE`/`DECIMAL` → `DOUBLE`, `FLOAT`/`REAL` → `FLOAT`, `VARCHAR`/`CHAR` → `STRING`,
    /// `<type> ARRAY` → `ARRAY<type>`. Druid spellings (`LONG`, `COMPLEX<json>`) are accepted
    /// too. A length or precision (`VARCHAR(10)`) is ignored.
    pub fn from_sql_type(name: &str) -> Result<DruidType> {
        let normalized = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let upper = normalized.to_ascii_uppercase();
        if let Some(element) = upper.strip_suffix(" ARRAY") {
            return Ok(DruidType::Array(Box::new(DruidType::from_sql_type(
                element,
            )?)));
        }
        let base = match upper.find('(') {
            Some(idx) if upper.ends_with(')') => upper[..idx].trim(),
            _ => upper.as_str(),
        };
        Ok(match base {
            "BIGINT" | "INTEGER" | "INT" | "SMALLINT" | "TINYINT" | "BOOLEAN" | "TIMESTAMP"
            | "DATE" => DruidType::Long,
            "DOUBLE" | "DOUBLE PRECISION" | "DECIMAL" | "NUMERIC" => DruidType::Double,
            "FLOAT" | "REAL" => DruidType::Float,
            "VARCHAR" | "CHAR" | "CHARACTER" | "CHARACTER VARYING" => DruidType::String,
            _ => DruidType::from_signature_type(&normalized)
                .map_err(|_| MsqError::plan(format!("Unknown column type [{name}]")))?,
        })
    }

    /// The Druid type of a column declared with a sqlparser [`DataType`] (an EXTEND entry).
    pub fn from_data_type(data_type: &DataType) -> Result<DruidType> {
        match data_type {
            // Custom names carry the type verbatim (`"COMPLEX<json>"`, `VARCHAR ARRAY`).
            DataType::Custom(name, modifiers) if modifiers.is_empty() && name.0.len() == 1 => {
                let text = name.0[0]
                    .as_ident()
                    .map(|i| i.value.clone())
                    .unwrap_or_else(|| name.to_string());
                DruidType::from_sql_type(&text)
            }
            other => DruidType::from_sql_type(&other.to_string()),
        }
    }

    /// Druid's spelling: `LONG`, `DOUBLE`, `FLOAT`, `STRING`, `ARRAY<STRING>`,
    /// `COMPLEX<json>`.
    pub fn as_druid_str(&self) -> String {
        match self {
            DruidType::Long => "LONG".into(),
            DruidType::Double => "DOUBLE".into(),
            DruidType::Float => "FLOAT".into(),
            DruidType::String => "STRING".into(),
            DruidType::Array(element) => format!("ARRAY<{}>", element.as_druid_str()),
            DruidType::Complex(name) => format!("COMPLEX<{name}>"),
        }
    }
}

/// `"ARRAY<STRING>"` → `Some("STRING")` for `keyword` `ARRAY` (case-insensitive).
fn angle_inner<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    text[keyword.len()..]
        .trim_start()
        .strip_prefix('<')?
        .strip_suffix('>')
}

impl fmt::Display for DruidType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_druid_str())
    }
}

impl Serialize for DruidType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_druid_str())
    }
}

impl<'de> Deserialize<'de> for DruidType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DruidType::from_signature_type(&text).map_err(serde::de::Error::custom)
    }
}

/// One external table read by a query: Druid's `ExternalDataSource`
/// (`{"type":"external","inputSource":..,"inputFormat":..,"signature":[..]}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalInput {
    /// The input source JSON (`{"type":"http","uris":[..]}`, `{"type":"inline","data":".."}`,
    /// `{"type":"local",..}`).
    pub input_source: Json,
    /// The input format JSON (`{"type":"csv","columns":[..],..}`, `{"type":"json"}`, …).
    pub input_format: Json,
    /// Column names and types of the rows, in declaration order.
    pub signature: Vec<(String, DruidType)>,
}

/// The table functions Acorn resolves.
const TABLE_FUNCTIONS: &str = "EXTERN, http, inline and localfiles";

impl ExternalInput {
    /// The external input of a `FROM` item: `Ok(None)` for anything that is not
    /// `TABLE(<function>(...))`, an error for unknown table functions or bad arguments.
    pub fn from_table_factor(factor: &TableFactor) -> Result<Option<ExternalInput>> {
        match factor {
            TableFactor::TableFunction { expr, alias } => {
                ExternalInput::from_table_function(expr, alias.as_ref()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Resolves `TABLE(<expr>) [alias with typed columns]`.
    pub fn from_table_function(expr: &Expr, alias: Option<&TableAlias>) -> Result<ExternalInput> {
        let Expr::Function(function) = expr else {
            plan_err!("TABLE(...) must contain a table function call, got [{expr}]")
        };
        let name = function.name.to_string();
        let args = function_args(&name, &function.args)?;
        let extend = extend_columns(alias)?;
        match name.to_ascii_lowercase().as_str() {
            "extern" => extern_input(args, extend),
            "http" => ad_hoc_input("http", args, extend, http_source),
            "inline" => ad_hoc_input("inline", args, extend, inline_source),
            "localfiles" => ad_hoc_input("localfiles", args, extend, local_source),
            _ => plan_err!(
                "Unsupported table function [{name}]: Acorn reads {TABLE_FUNCTIONS} table functions"
            ),
        }
    }

    /// The signature as Druid's JSON: `[{"name":"x","type":"STRING"}, ...]`.
    pub fn signature_json(&self) -> Json {
        Json::Array(
            self.signature
                .iter()
                .map(|(name, ty)| json!({ "name": name, "type": ty.as_druid_str() }))
                .collect(),
        )
    }

    /// Druid's `ExternalDataSource` JSON, as it appears in native queries and EXPLAIN output.
    pub fn to_druid_json(&self) -> Json {
        json!({
            "type": "external",
            "inputSource": self.input_source,
            "inputFormat": self.input_format,
            "signature": self.signature_json(),
        })
    }
}

/// Every external input of `query`, in the order the table functions appear (subqueries and
/// CTEs included).
pub fn extern_inputs(query: &Query) -> Result<Vec<ExternalInput>> {
    struct Collect(Vec<ExternalInput>);
    impl Visitor for Collect {
        type Break = MsqError;
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<MsqError> {
            match ExternalInput::from_table_factor(factor) {
                Ok(Some(input)) => self.0.push(input),
                Ok(None) => {}
                Err(e) => return ControlFlow::Break(e),
            }
            ControlFlow::Continue(())
        }
    }
    let mut collect = Collect(Vec::new());
    match query.visit(&mut collect) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(collect.0),
    }
}

/// Checks every table function of `query` whose arguments hold no `?` parameter; those are
/// checked once parameters are bound (see [`crate::parse_query_with_parameters`]).
pub(crate) fn validate_table_functions(query: &Query) -> Result<()> {
    struct Check;
    impl Visitor for Check {
        type Break = MsqError;
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<MsqError> {
            if let TableFactor::TableFunction { expr, .. } = factor {
                if has_placeholder(expr) {
                    return ControlFlow::Continue(());
                }
            }
            match ExternalInput::from_table_factor(factor) {
                Err(e) => ControlFlow::Break(e),
                Ok(_) => ControlFlow::Continue(()),
            }
        }
    }
    match query.visit(&mut Check) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Whether `expr` contains a `?` parameter.
pub(crate) fn has_placeholder(expr: &Expr) -> bool {
    sqlparser::ast::visit_expressions(expr, |e| match e {
        Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// A table function argument: its name (for `name => value`) and value expression.
struct Arg<'a> {
    name: Option<String>,
    value: &'a Expr,
}

fn function_args<'a>(function: &str, args: &'a FunctionArguments) -> Result<Vec<Arg<'a>>> {
    let list = match args {
        FunctionArguments::List(list) => &list.args,
        FunctionArguments::None => return Ok(Vec::new()),
        FunctionArguments::Subquery(_) => {
            plan_err!("Table function [{function}] does not take a subquery")
        }
    };
    list.iter()
        .map(|arg| {
            let (name, value) = match arg {
                FunctionArg::Named { name, arg, .. } => (Some(name.value.clone()), arg),
                FunctionArg::ExprNamed { name, arg, .. } => (Some(name.to_string()), arg),
                FunctionArg::Unnamed(arg) => (None, arg),
            };
            match value {
                FunctionArgExpr::Expr(value) => Ok(Arg { name, value }),
                other => plan_err!("Invalid argument [{other}] for table function [{function}]"),
            }
        })
        .collect()
}

/// The typed alias columns (the EXTEND list), if any.
fn extend_columns(alias: Option<&TableAlias>) -> Result<Option<Vec<(String, DruidType)>>> {
    let Some(alias) = alias else {
        return Ok(None);
    };
    let typed: Vec<_> = alias
        .columns
        .iter()
        .filter_map(|c| c.data_type.as_ref().map(|t| (c.name.value.clone(), t)))
        .collect();
    if typed.is_empty() {
        return Ok(None);
    }
    if typed.len() != alias.columns.len() {
        plan_err!("Every column of an EXTEND list needs a type: [{alias}]")
    }
    typed
        .into_iter()
        .map(|(name, data_type)| {
            let ty = column_type(&name, || DruidType::from_data_type(data_type))?;
            Ok((name, ty))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `__time` is always `LONG`, whatever is declared (Druid's `Columns.druidType`).
fn column_type(name: &str, declared: impl FnOnce() -> Result<DruidType>) -> Result<DruidType> {
    if name == "__time" {
        return Ok(DruidType::Long);
    }
    declared().map_err(|e| MsqError::plan(format!("{} for column [{name}]", e.message())))
}

/// A literal argument as JSON. `?` parameters must have been bound.
fn literal(function: &str, arg: &str, expr: &Expr) -> Result<Json> {
    Ok(match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s)
            | Value::DoubleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::NationalStringLiteral(s) => Json::String(s.clone()),
            Value::Number(n, _) => number_json(n).ok_or_else(|| {
                MsqError::plan(format!("Invalid number [{n}] for argument [{arg}]"))
            })?,
            Value::Boolean(b) => Json::Bool(*b),
            Value::Null => Json::Null,
            Value::Placeholder(p) => plan_err!(
                "Dynamic parameter [{p}] for argument [{arg}] of [{function}] has no value: \
                 pass it in the request's \"parameters\""
            ),
            other => plan_err!(
                "Argument [{arg}] of table function [{function}] must be a literal, got [{other}]"
            ),
        },
        Expr::Array(array) => Json::Array(
            array
                .elem
                .iter()
                .map(|e| literal(function, arg, e))
                .collect::<Result<_>>()?,
        ),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => match literal(function, arg, inner)? {
            Json::Number(n) => number_json(&format!("-{n}")).unwrap_or(Json::Null),
            _ => plan_err!(
                "Argument [{arg}] of table function [{function}] must be a literal, got [{expr}]"
            ),
        },
        Expr::Nested(inner) => literal(function, arg, inner)?,
        other => plan_err!(
            "Argument [{arg}] of table function [{function}] must be a literal, got [{other}]"
        ),
    })
}

/// A SQL number as a JSON number (integers stay integers).
pub(crate) fn number_json(text: &str) -> Option<Json> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Json::from(i));
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Json::Number)
}

// ---------------------------------------------------------------------------------------------
// EXTERN
// ---------------------------------------------------------------------------------------------

/// `EXTERN('<inputSource>', '<inputFormat>'[, '<signature>'])`, positionally or by name.
fn extern_input(
    args: Vec<Arg<'_>>,
    extend: Option<Vec<(String, DruidType)>>,
) -> Result<ExternalInput> {
    const NAMES: [&str; 3] = ["inputSource", "inputFormat", "signature"];
    let mut slots: [Option<&Expr>; 3] = [None; 3];
    for (position, arg) in args.iter().enumerate() {
        let slot = match &arg.name {
            None if position < NAMES.len() => position,
            None => plan_err!("EXTERN takes at most 3 arguments, got {}", args.len()),
            Some(name) => match NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) {
                Some(slot) => slot,
                None => plan_err!(
                    "Unknown argument [{name}] for EXTERN: expected inputSource, inputFormat \
                     and signature"
                ),
            },
        };
        if slots[slot].replace(arg.value).is_some() {
            plan_err!("Argument [{}] of EXTERN is given twice", NAMES[slot])
        }
    }
    let json_arg = |slot: usize| -> Result<Option<Json>> {
        let Some(expr) = slots[slot] else {
            return Ok(None);
        };
        let name = NAMES[slot];
        let text = match literal("EXTERN", name, expr)? {
            Json::String(s) => s,
            _ => {
                plan_err!("Argument [{name}] of EXTERN must be a string holding JSON, got [{expr}]")
            }
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            MsqError::plan(format!("Invalid JSON in argument [{name}] of EXTERN: {e}"))
        })
    };
    let typed_object = |slot: usize, value: Option<Json>| -> Result<Json> {
        let name = NAMES[slot];
        match value {
            Some(Json::Object(o)) if o.get("type").is_some_and(Json::is_string) => {
                Ok(Json::Object(o))
            }
            Some(other) => plan_err!(
                "Argument [{name}] of EXTERN must be a JSON object with a \"type\", got [{other}]"
            ),
            None => plan_err!("EXTERN requires the argument [{name}]"),
        }
    };
    let input_source = typed_object(0, json_arg(0)?)?;
    let input_format = typed_object(1, json_arg(1)?)?;
    let signature = match (json_arg(2)?, extend) {
        (Some(_), Some(_)) => {
            plan_err!("EXTERN takes either a signature argument or an EXTEND column list, not both")
        }
        (Some(json), None) => signature_from_json(&json)?,
        (None, Some(columns)) => columns,
        (None, None) => plan_err!(
            "EXTERN requires a signature: pass it as the third argument or declare the columns \
             with EXTEND (<column> <type>, ...)"
        ),
    };
    Ok(ExternalInput {
        input_source,
        input_format,
        signature,
    })
}

/// `[{"name":"x","type":"string"}, ...]`; a missing type reads as `STRING`, as in Druid.
fn signature_from_json(json: &Json) -> Result<Vec<(String, DruidType)>> {
    let shape_error = || {
        MsqError::plan(format!(
            "Argument [signature] of EXTERN must be a JSON array of {{\"name\": ..., \"type\": \
             ...}} objects, got [{json}]"
        ))
    };
    let columns = json.as_array().ok_or_else(shape_error)?;
    columns
        .iter()
        .map(|column| {
            let name = column
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(shape_error)?
                .to_string();
            let ty = match column.get("type") {
                None | Some(Json::Null) => DruidType::String,
                Some(Json::String(t)) => {
                    column_type(&name, || DruidType::from_signature_type(t))
                        .map_err(|e| e.context("Argument [signature] of EXTERN"))?
                }
                Some(_) => return Err(shape_error()),
            };
            Ok((name, ty))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ad-hoc table functions: http, inline, localfiles (Druid's *InputSourceDefn + InputFormats)
// ---------------------------------------------------------------------------------------------

/// Named arguments of an ad-hoc table function, by lower-cased name.
struct NamedArgs<'a> {
    function: &'static str,
    args: Vec<(String, &'a Expr)>,
}

impl NamedArgs<'_> {
    fn get(&self, name: &str) -> Result<Option<Json>> {
        match self.args.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            None => Ok(None),
            Some((_, expr)) => match literal(self.function, name, expr)? {
                Json::Null => Ok(None),
                value => Ok(Some(value)),
            },
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>> {
        match self.get(name)? {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => plan_err!(
                "Argument [{name}] of table function [{}] must be a string, got [{other}]",
                self.function
            ),
        }
    }

    /// An `ARRAY['a', 'b']`, or a string of comma-separated values (Druid's
    /// `CatalogUtils.getStringArray`).
    fn string_array(&self, name: &str) -> Result<Option<Vec<String>>> {
        let strings = match self.get(name)? {
            None => return Ok(None),
            Some(Json::String(s)) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            Some(Json::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Json::String(s) => Ok(s),
                    other => plan_err!(
                        "Argument [{name}] of table function [{}] must be an array of strings, \
                         got element [{other}]",
                        self.function
                    ),
                })
                .collect::<Result<_>>()?,
            Some(other) => plan_err!(
                "Argument [{name}] of table function [{}] must be an array of strings, got \
                 [{other}]",
                self.function
            ),
        };
        Ok(Some(strings))
    }
}

/// Arguments every formatted input source accepts (`FormattedInputSourceDefn` + formats).
const FORMAT_ARGS: [&str; 4] = ["format", "listDelimiter", "skipHeaderRows", "delimiter"];

type SourceBuilder = fn(&NamedArgs<'_>) -> Result<Json>;

fn ad_hoc_input(
    function: &'static str,
    args: Vec<Arg<'_>>,
    extend: Option<Vec<(String, DruidType)>>,
    source: SourceBuilder,
) -> Result<ExternalInput> {
    let source_args: &[&str] = match function {
        "http" => &["uris", "userName", "password", "passwordEnvVar", "headers"],
        "inline" => &["data"],
        _ => &["baseDir", "filter", "files"],
    };
    let mut named = Vec::with_capacity(args.len());
    for arg in args {
        let Some(name) = arg.name else {
            plan_err!(
                "Table function [{function}] takes named arguments, as in \
                 {function}(format => 'csv', ...)"
            )
        };
        let known = source_args.iter().chain(FORMAT_ARGS.iter());
        if !known.clone().any(|k| k.eq_ignore_ascii_case(&name)) {
            let valid: Vec<&str> = known.copied().collect();
            plan_err!(
                "Unknown argument [{name}] for table function [{function}]; valid arguments: {}",
                valid.join(", ")
            )
        }
        if named
            .iter()
            .any(|(n, _): &(String, &Expr)| n.eq_ignore_ascii_case(&name))
        {
            plan_err!("Argument [{name}] of table function [{function}] is given twice")
        }
        named.push((name, arg.value));
    }
    let named = NamedArgs {
        function,
        args: named,
    };
    let Some(signature) = extend else {
        plan_err!(
            "Table function [{function}] needs its columns declared: \
             TABLE({function}(...)) EXTEND (<column> <type>, ...)"
        )
    };
    let input_source = source(&named)?;
    let input_format = format_json(&named, &signature)?;
    Ok(ExternalInput {
        input_source,
        input_format,
        signature,
    })
}

/// `http(uris => ..., userName => ..., password => ... | passwordEnvVar => ..., headers => ...)`
/// → `{"type":"http", "uris":[..], "httpAuthenticationUsername":.., "httpAuthenticationPassword":
/// {"type":"default"|"environment",..}, "requestHeaders":{..}}` (`HttpInputSourceDefn`).
fn http_source(args: &NamedArgs<'_>) -> Result<Json> {
    let uris = args.string_array("uris")?.unwrap_or_default();
    if uris.is_empty() {
        plan_err!("One or more URIs is required in parameter uris")
    }
    let mut source = Map::new();
    source.insert("type".into(), json!("http"));
    source.insert("uris".into(), json!(uris));
    if let Some(user) = args.string("userName")? {
        source.insert("httpAuthenticationUsername".into(), json!(user));
    }
    match (args.string("password")?, args.string("passwordEnvVar")?) {
        (Some(_), Some(_)) => plan_err!("Specify only one of password or passwordEnvVar"),
        (Some(password), None) => {
            source.insert(
                "httpAuthenticationPassword".into(),
                json!({ "type": "default", "password": password }),
            );
        }
        (None, Some(variable)) => {
            source.insert(
                "httpAuthenticationPassword".into(),
                json!({ "type": "environment", "variable": variable }),
            );
        }
        (None, None) => {}
    }
    if let Some(headers) = args.string("headers")? {
        let parsed: Map<String, Json> = serde_json::from_str(&headers).map_err(|e| {
            MsqError::plan(format!("Invalid JSON in argument [headers] of [http]: {e}"))
        })?;
        source.insert("requestHeaders".into(), Json::Object(parsed));
    }
    Ok(Json::Object(source))
}

/// `inline(data => ARRAY['line1', 'line2'])` → `{"type":"inline","data":"line1\nline2\n"}`
/// (`InlineInputSourceDefn`: lines joined with `\n`, a trailing newline added).
fn inline_source(args: &NamedArgs<'_>) -> Result<Json> {
    let lines = args.string_array_raw("data")?.unwrap_or_default();
    if lines.is_empty() {
        plan_err!("An inline table requires one or more rows of data in the 'data' property")
    }
    let mut data = lines.join("\n");
    if !data.ends_with('\n') {
        data.push('\n');
    }
    Ok(json!({ "type": "inline", "data": data }))
}

impl NamedArgs<'_> {
    /// Like [`NamedArgs::string_array`] but a plain string is one element (inline data lines
    /// contain commas).
    fn string_array_raw(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.get(name)? {
            Some(Json::String(s)) => Ok(Some(vec![s])),
            _ => self.string_array(name),
        }
    }
}

/// `localfiles(baseDir => .., filter => .., files => ARRAY[..])` → `{"type":"local",..}`
/// (`LocalInputSourceDefn`).
fn local_source(args: &NamedArgs<'_>) -> Result<Json> {
    let base_dir = args.string("baseDir")?.filter(|s| !s.is_empty());
    let filter = args.string("filter")?.filter(|s| !s.is_empty());
    let files = args.string_array("files")?.filter(|f| !f.is_empty());
    match (base_dir, filter, files) {
        (None, _, None) => {
            plan_err!("A local input source requires one parameter of baseDir or files")
        }
        (Some(_), Some(_), Some(_)) => {
            plan_err!("A local input source can set parameter files or filter, but not both.")
        }
        (None, Some(_), Some(_)) => plan_err!(
            "If a local input source sets parameter filter, it must also set parameter baseDir"
        ),
        // A base directory and files: the files become paths under the directory.
        (Some(base), None, Some(files)) => {
            let base = base.trim_end_matches('/');
            let files: Vec<String> = files
                .iter()
                .map(|f| format!("{base}/{}", f.trim_start_matches('/')))
                .collect();
            Ok(json!({ "type": "local", "files": files }))
        }
        (Some(base), filter, None) => Ok(json!({
            "type": "local",
            "baseDir": base,
            "filter": filter.unwrap_or_else(|| "*".into()),
        })),
        (None, None, Some(files)) => Ok(json!({ "type": "local", "files": files })),
    }
}

/// The input format from `format => 'csv'|'tsv'|'json'` and its options (`InputFormats`).
/// CSV and TSV take their column names from the signature and never read a header.
fn format_json(args: &NamedArgs<'_>, signature: &[(String, DruidType)]) -> Result<Json> {
    let Some(format) = args.string("format")? else {
        plan_err!("Must provide a value for the [format] parameter")
    };
    let kind = format.to_ascii_lowercase();
    if kind == "json" {
        return Ok(json!({ "type": "json" }));
    }
    if kind != "csv" && kind != "tsv" {
        plan_err!("Format type [{format}] for property [format] is not valid")
    }
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    let columns: Vec<&str> = signature.iter().map(|(n, _)| n.as_str()).collect();
    out.insert("columns".into(), json!(columns));
    if let Some(list_delimiter) = args.string("listDelimiter")? {
        out.insert("listDelimiter".into(), json!(list_delimiter));
    }
    if kind == "tsv" {
        if let Some(delimiter) = args.string("delimiter")? {
            out.insert("delimiter".into(), json!(delimiter));
        }
    }
    out.insert("findColumnsFromHeader".into(), json!(false));
    let skip = match args.get("skipHeaderRows")? {
        None => 0,
        Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
        Some(Json::String(s)) if s.trim().parse::<u64>().is_ok() => s.trim().parse().unwrap_or(0),
        Some(Json::Bool(b)) => u64::from(b),
        Some(other) => plan_err!(
            "Argument [skipHeaderRows] of table function [{}] must be a non-negative integer, \
             got [{other}]",
            args.function
        ),
    };
    out.insert("skipHeaderRows".into(), json!(skip));
    Ok(Json::Object(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn druid_types_from_signatures_and_sql() {
        assert_eq!(
            DruidType::from_signature_type("long").unwrap(),
            DruidType::Long
        );
        assert_eq!(
            DruidType::from_signature_type("STRING").unwrap(),
            DruidType::String
        );
        assert_eq!(
            DruidType::from_signature_type("COMPLEX<json>").unwrap(),
            DruidType::Complex("json".into())
        );
        assert_eq!(
            DruidType::from_signature_type("ARRAY<LONG>").unwrap(),
            DruidType::Array(Box::new(DruidType::Long))
        );
        assert!(DruidType::from_signature_type("int").is_err());
        for (sql, ty) in [
            ("VARCHAR", DruidType::String),
            ("varchar(10)", DruidType::String),
            ("BIGINT", DruidType::Long),
            ("INTEGER", DruidType::Long),
            ("TIMESTAMP", DruidType::Long),
            ("DOUBLE", DruidType::Double),
            ("FLOAT", DruidType::Float),
            ("REAL", DruidType::Float),
            (
                "VARCHAR ARRAY",
                DruidType::Array(Box::new(DruidType::String)),
            ),
            ("LONG", DruidType::Long),
        ] {
            assert_eq!(DruidType::from_sql_type(sql).unwrap(), ty, "{sql}");
        }
        let err = DruidType::from_sql_type("GEOMETRY").unwrap_err();
        assert_eq!(err.message(), "Unknown column type [GEOMETRY]");
        assert_eq!(
            DruidType::Array(Box::new(DruidType::Double)).to_string(),
            "ARRAY<DOUBLE>"
        );
        let json = serde_json::to_string(&DruidType::Complex("json".into())).unwrap();
        assert_eq!(json, "\"COMPLEX<json>\"");
        assert_eq!(
            serde_json::from_str::<DruidType>("\"long\"").unwrap(),
            DruidType::Long
        );
    }

    #[test]
    fn numbers_stay_integers_when_they_can() {
        assert_eq!(number_json("3"), Some(json!(3)));
        assert_eq!(number_json("-3"), Some(json!(-3)));
        assert_eq!(number_json("1.5"), Some(json!(1.5)));
        assert_eq!(number_json("x"), None);
    }
}
