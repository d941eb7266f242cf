//! The binder: sqlparser expressions → typed [`ScalarExpr`]/[`AggregateExpr`] over a [`Scope`].
//!
//! # Layout
//! - [`Scope`]/[`ScopeCol`] — the columns a clause can see (qualifier, name, type), by position.
//! - [`Binder`] — binds one expression; in *aggregate mode* ([`AggState`]) group-key
//!   expressions and aggregate calls become references to the aggregate step's output.
//! - type helpers: [`common_type`], [`cast_to`], [`sql_type_of`].
//!
//! Names are case-sensitive and never case-folded, quoted or not (Druid's Calcite config,
//! spec `druid-msq.md` §1). Errors name the unknown thing in Druid's (Calcite's) words and
//! carry `(line [l], column [c])` (Druid's wording) when sqlparser gives a span, readable with
//! [`msq_sql::error_location`].

use crate::expr::{
    AggregateExpr, AggregateFunction, BinaryOp, Literal, NamedAggregate, NamedExpr, ScalarExpr,
    ScalarFunction, SqlType, TimeUnit, TrimWhere,
};
use crate::program::{AggregateMode, AggregateStep, Step};
use msq_common::{MsqError, Result};
use msq_sql::sqlparser::ast::{
    self, BinaryOperator, CeilFloorKind, DataType, DuplicateTreatment, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, Ident, Spanned, UnaryOperator, Value,
};
use msq_sql::sqlparser::tokenizer::Span;

/// One column visible to a clause.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeCol {
    /// Table name or alias qualifying the column (`t` in `t.x`), if any.
    pub qualifier: Option<String>,
    /// Column name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
}

/// The columns of the rows a clause is evaluated over; positions are [`ScalarExpr::Column`]
/// indexes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Columns in batch order.
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    /// A scope of `columns`, all qualified by `qualifier`.
    pub fn new(qualifier: Option<&str>, columns: &[(String, SqlType)]) -> Self {
        Scope {
            cols: columns
                .iter()
                .map(|(name, ty)| ScopeCol {
                    qualifier: qualifier.map(str::to_owned),
                    name: name.clone(),
                    ty: ty.clone(),
                })
                .collect(),
        }
    }

    /// Whether an unqualified `name` resolves to some column.
    pub fn has(&self, name: &str) -> bool {
        self.cols.iter().any(|c| c.name == name)
    }
}

/// Aggregate-mode state: the group keys and the aggregates found so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggState {
    /// Group keys, bound over the pre-aggregation scope (output positions `0..k`).
    pub keys: Vec<NamedExpr>,
    /// Aggregates (output positions `k..`).
    pub aggs: Vec<NamedAggregate>,
}

impl AggState {
    /// The aggregation step of these keys and aggregates in `mode`.
    pub fn step(&self, mode: AggregateMode) -> Step {
        Step::Aggregate(AggregateStep {
            mode,
            group_by: self.keys.clone(),
            aggregates: self.aggs.clone(),
        })
    }
}

/// Binds expressions over a [`Scope`].
pub struct Binder<'a> {
    /// What column references resolve against (the pre-aggregation rows in aggregate mode).
    pub scope: &'a Scope,
    /// Default time zone (`sqlTimeZone`).
    pub tz: String,
    /// `CURRENT_TIMESTAMP`.
    pub now_ms: i64,
    /// `useApproximateCountDistinct`.
    pub approx_distinct: bool,
    /// Aggregate mode when set.
    pub agg: Option<AggState>,
    /// Select-list aliases an unqualified name may refer to when no column has that name
    /// (Druid allows them in `HAVING`).
    pub aliases: Vec<(String, Expr)>,
    /// Whether aggregates are finalized (the default). Off for the outermost GROUP BY of a
    /// rollup ingest (`finalizeAggregations: false`, spec `druid-msq.md` §1.6): approximate
    /// distinct counts then bind to [`AggregateFunction::HllSketch`] (the stored sketch) and
    /// `AVG`, which is not rollup-safe, is an error.
    pub finalize: bool,
}

/// The complex type name of a stored HyperLogLog sketch column.
pub const HLL_SKETCH: &str = "HLLSketch";

/// Whether `ty` is a stored HyperLogLog sketch (`COMPLEX<HLLSketch>`, or Druid's older
/// `COMPLEX<hyperUnique>`).
pub fn is_hll_sketch(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Complex(n) if n.eq_ignore_ascii_case(HLL_SKETCH)
        || n.eq_ignore_ascii_case("hyperUnique"))
}

/// ` (line [l], column [c])` for a span, empty when unknown.
pub fn at(span: Span) -> String {
    if span.start.line == 0 {
        String::new()
    } else {
        format!(
            " (line [{}], column [{}])",
            span.start.line, span.start.column
        )
    }
}

fn lit(l: Literal) -> ScalarExpr {
    ScalarExpr::Literal(l)
}

fn str_lit(s: &str) -> ScalarExpr {
    lit(Literal::String(s.to_owned()))
}

/// Whether a function name (any case) is an aggregate this binder knows.
pub fn is_aggregate_name(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "COUNT"
            | "SUM"
            | "MIN"
            | "MAX"
            | "AVG"
            | "APPROX_COUNT_DISTINCT"
            | "EARLIEST"
            | "LATEST"
            | "ANY_VALUE"
    )
}

/// Whether `expr` contains an aggregate call (not looking into subqueries).
pub fn contains_aggregate(expr: &Expr) -> bool {
    struct Finder {
        depth: usize,
    }
    impl ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _: &ast::Query) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &ast::Query) -> std::ops::ControlFlow<()> {
            self.depth = self.depth.saturating_sub(1);
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            match e {
                Expr::Function(f) if self.depth == 0 && is_aggregate_name(&f.name.to_string()) => {
                    std::ops::ControlFlow::Break(())
                }
                _ => std::ops::ControlFlow::Continue(()),
            }
        }
    }
    ast::Visit::visit(expr, &mut Finder { depth: 0 }).is_break()
}

/// The SQL type a `CAST` target or typed literal names.
pub fn sql_type_of(data_type: &DataType) -> Result<SqlType> {
    let name = data_type.to_string().to_ascii_uppercase();
    let starts = |p: &str| name.starts_with(p);
    Ok(
        if starts("VARCHAR") || starts("CHAR") || starts("STRING") || starts("TEXT") {
            SqlType::Varchar
        } else if starts("BIGINT") || starts("INT") || starts("SMALLINT") || starts("TINYINT") {
            SqlType::Bigint
        } else if starts("DOUBLE") || starts("DECIMAL") || starts("NUMERIC") {
            SqlType::Double
        } else if starts("FLOAT") || starts("REAL") {
            SqlType::Float
        } else if starts("TIMESTAMP") || starts("DATE") {
            SqlType::Timestamp
        } else if starts("BOOLEAN") {
            SqlType::Boolean
        } else {
            return Err(MsqError::plan(format!("Unknown type [{name}]")));
        },
    )
}

/// The type two operands are converted to so they can be compared or combined (Calcite's
/// implicit coercion as Druid configures it); `None` when they cannot be.
pub fn common_type(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    Some(match (a, b) {
        (x, y) if x == y => x.clone(),
        (Null, x) | (x, Null) => x.clone(),
        (Timestamp, Bigint | Varchar) | (Bigint | Varchar, Timestamp) => Timestamp,
        (Bigint, Double | Float) | (Double | Float, Bigint) | (Double, Float) | (Float, Double) => {
            Double
        }
        (Varchar, x @ (Bigint | Double | Float)) | (x @ (Bigint | Double | Float), Varchar) => {
            x.clone()
        }
        (Boolean, Bigint) | (Bigint, Boolean) => Bigint,
        (Boolean, Varchar) | (Varchar, Boolean) => Boolean,
        _ => return None,
    })
}

/// `expr` converted to `to`: unchanged when it already has that type, folded for null and
/// string literals read as timestamps, else a [`ScalarExpr::Cast`].
pub fn cast_to(expr: ScalarExpr, to: &SqlType) -> ScalarExpr {
    if &expr.sql_type() == to || *to == SqlType::Null {
        return expr;
    }
    match (&expr, to) {
        (ScalarExpr::Literal(Literal::Null(_)), _) => lit(Literal::Null(to.clone())),
        (ScalarExpr::Literal(Literal::String(s)), SqlType::Timestamp) => {
            match msq_sql::time::parse_timestamp_millis(s) {
                Ok(ms) => lit(Literal::Timestamp(ms)),
                Err(_) => ScalarExpr::Cast {
                    expr: Box::new(expr),
                    to: to.clone(),
                },
            }
        }
        (ScalarExpr::Literal(Literal::Long(n)), SqlType::Double) => lit(Literal::Double(*n as f64)),
        (ScalarExpr::Literal(Literal::Long(n)), SqlType::Timestamp) => lit(Literal::Timestamp(*n)),
        _ => ScalarExpr::Cast {
            expr: Box::new(expr),
            to: to.clone(),
        },
    }
}

/// The constant string of a bound literal.
fn const_str(e: &ScalarExpr) -> Option<&str> {
    match e {
        ScalarExpr::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// A calendar unit name (`DAY`, `dow`, …) as a [`TimeUnit`].
pub fn time_unit(name: &str) -> Option<TimeUnit> {
    Some(match name.to_ascii_uppercase().as_str() {
        "MILLISECOND" | "MILLISECONDS" => TimeUnit::Millisecond,
        "SECOND" | "SECONDS" => TimeUnit::Second,
        "MINUTE" | "MINUTES" => TimeUnit::Minute,
        "HOUR" | "HOURS" => TimeUnit::Hour,
        "DAY" | "DAYS" => TimeUnit::Day,
        "DOW" | "DAYOFWEEK" => TimeUnit::DayOfWeek,
        "ISODOW" => TimeUnit::IsoDayOfWeek,
        "DOY" | "DAYOFYEAR" => TimeUnit::DayOfYear,
        "WEEK" | "WEEKS" | "WEEK_OF_YEAR" => TimeUnit::Week,
        "MONTH" | "MONTHS" => TimeUnit::Month,
        "QUARTER" => TimeUnit::Quarter,
        "YEAR" | "YEARS" => TimeUnit::Year,
        "EPOCH" => TimeUnit::Epoch,
        _ => return None,
    })
}

/// The ISO period `FLOOR(t TO unit)`/`DATE_TRUNC` truncate to.
pub fn unit_period(unit: TimeUnit) -> Option<&'static str> {
    Some(match unit {
        TimeUnit::Millisecond => "PT0.001S",
        TimeUnit::Second => "PT1S",
        TimeUnit::Minute => "PT1M",
        TimeUnit::Hour => "PT1H",
        TimeUnit::Day => "P1D",
        TimeUnit::Week => "P1W",
        TimeUnit::Month => "P1M",
        TimeUnit::Quarter => "P3M",
        TimeUnit::Year => "P1Y",
        _ => return None,
    })
}

/// Positional arguments of a call, whether it is `DISTINCT`, and whether it is `f(*)`.
fn call_args(f: &Function) -> Result<(Vec<&Expr>, bool, bool)> {
    match &f.args {
        FunctionArguments::None => Ok((Vec::new(), false, false)),
        FunctionArguments::Subquery(_) => Err(MsqError::plan(format!(
            "Subquery arguments are not supported in call to [{}]{}",
            f.name,
            at(f.name.span())
        ))),
        FunctionArguments::List(list) => {
            let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            let mut args = Vec::new();
            let mut star = false;
            for arg in &list.args {
                match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                    _ => {
                        return Err(MsqError::plan(format!(
                            "Unsupported argument [{arg}] in call to [{}]{}",
                            f.name,
                            at(f.name.span())
                        )))
                    }
                }
            }
            Ok((args, distinct, star))
        }
    }
}

fn type_family(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Bigint | SqlType::Double | SqlType::Float => "<NUMERIC>",
        SqlType::Varchar => "<CHARACTER>",
        SqlType::Timestamp => "<TIMESTAMP>",
        SqlType::Boolean => "<BOOLEAN>",
        SqlType::Null => "<NULL>",
        SqlType::Complex(_) => "<OTHER>",
    }
}

impl<'a> Binder<'a> {
    /// A plain-mode binder over `scope`.
    pub fn new(scope: &'a Scope, tz: &str, now_ms: i64, approx_distinct: bool) -> Self {
        Binder {
            scope,
            tz: tz.to_owned(),
            now_ms,
            approx_distinct,
            agg: None,
            aliases: Vec::new(),
            finalize: true,
        }
    }

    fn tz_lit(&self) -> ScalarExpr {
        str_lit(&self.tz)
    }

    /// Binds `e` with aggregate mode switched off (group keys and aggregate arguments).
    pub fn bind_plain(&mut self, e: &Expr) -> Result<ScalarExpr> {
        let saved = self.agg.take();
        let r = self.bind(e);
        self.agg = saved;
        r
    }

    /// Binds one expression.
    ///
    /// # Errors
    /// Unknown columns, tables, functions; type mismatches; ungrouped columns in aggregate mode.
    pub fn bind(&mut self, e: &Expr) -> Result<ScalarExpr> {
        if self.agg.is_some() {
            if !matches!(e, Expr::Value(_) | Expr::Nested(_)) {
                if let Ok(plain) = self.bind_plain(e) {
                    if let Some(agg) = &self.agg {
                        if let Some(i) = agg.keys.iter().position(|k| k.expr == plain) {
                            let k = &agg.keys[i];
                            return Ok(ScalarExpr::column(i, k.name.clone(), plain.sql_type()));
                        }
                    }
                }
            }
            if let Expr::Function(f) = e {
                if is_aggregate_name(&f.name.to_string()) {
                    return self.bind_aggregate_ref(f);
                }
            }
        }
        match e {
            Expr::Identifier(id) if !self.scope.has(&id.value) => {
                let alias = self
                    .aliases
                    .iter()
                    .find(|(n, _)| *n == id.value)
                    .map(|(_, a)| a.clone());
                match alias {
                    Some(a) => {
                        // An alias never refers to itself (or another alias) again.
                        let saved = std::mem::take(&mut self.aliases);
                        let r = self.bind(&a);
                        self.aliases = saved;
                        r
                    }
                    None => self.resolve(None, id),
                }
            }
            Expr::Identifier(id) => self.resolve(None, id),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => self.resolve(Some(q), c),
                [_, q, c] => self.resolve(Some(q), c),
                _ => Err(MsqError::plan(format!(
                    "Column '{e}' not found in any table{}",
                    at(e.span())
                ))),
            },
            Expr::Nested(inner) => self.bind(inner),
            Expr::Value(v) => self.bind_value(&v.value, v.span),
            Expr::TypedString(ts) => {
                let ty = sql_type_of(&ts.data_type)?;
                let text = match &ts.value.value {
                    Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                match ty {
                    SqlType::Timestamp => {
                        let local = msq_sql::time::parse_timestamp_millis(&text).map_err(|_| {
                            MsqError::plan(format!(
                                "Illegal TIMESTAMP literal '{text}'{}",
                                at(e.span())
                            ))
                        })?;
                        // A TIMESTAMP literal is wall-clock time in `sqlTimeZone` (Druid's
                        // `Calcites.jodaToCalciteTimestamp` with the query's zone).
                        let zone = msq_sql::tz::Zone::parse("TIMESTAMP", &self.tz)?;
                        Ok(lit(Literal::Timestamp(zone.to_utc(local))))
                    }
                    other => Ok(cast_to(str_lit(&text), &other)),
                }
            }
            Expr::UnaryOp { op, expr } => {
                let inner = self.bind(expr)?;
                match op {
                    UnaryOperator::Not => {
                        Ok(ScalarExpr::Not(Box::new(cast_to(inner, &SqlType::Boolean))))
                    }
                    UnaryOperator::Minus => match inner {
                        ScalarExpr::Literal(Literal::Long(n)) => {
                            Ok(lit(Literal::Long(n.wrapping_neg())))
                        }
                        ScalarExpr::Literal(Literal::Double(d)) => Ok(lit(Literal::Double(-d))),
                        other => {
                            self.ensure_numeric(&other, "-", e)?;
                            Ok(ScalarExpr::Negative(Box::new(other)))
                        }
                    },
                    UnaryOperator::Plus => Ok(inner),
                    _ => Err(MsqError::plan(format!(
                        "Unsupported operator [{op}]{}",
                        at(e.span())
                    ))),
                }
            }
            Expr::BinaryOp { left, op, right } => self.bind_binary(left, op, right, e),
            Expr::IsNull(x) | Expr::IsNotNull(x) => Ok(ScalarExpr::IsNull {
                expr: Box::new(self.bind(x)?),
                negated: matches!(e, Expr::IsNotNull(_)),
            }),
            Expr::IsTrue(x) | Expr::IsFalse(x) | Expr::IsNotTrue(x) | Expr::IsNotFalse(x) => {
                let b = cast_to(self.bind(x)?, &SqlType::Boolean);
                let b = if matches!(e, Expr::IsFalse(_) | Expr::IsNotFalse(_)) {
                    ScalarExpr::Not(Box::new(b))
                } else {
                    b
                };
                let is = ScalarExpr::Function {
                    func: ScalarFunction::Coalesce,
                    args: vec![b, lit(Literal::Boolean(false))],
                    ty: SqlType::Boolean,
                };
                Ok(if matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_)) {
                    ScalarExpr::Not(Box::new(is))
                } else {
                    is
                })
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind(expr)?;
                let lo = self.bind(low)?;
                let hi = self.bind(high)?;
                let ge = self.compare(BinaryOp::GtEq, x.clone(), lo, e)?;
                let le = self.compare(BinaryOp::LtEq, x, hi, e)?;
                let both = ScalarExpr::Binary {
                    op: BinaryOp::And,
                    left: Box::new(ge),
                    right: Box::new(le),
                    ty: SqlType::Boolean,
                };
                Ok(if *negated {
                    ScalarExpr::Not(Box::new(both))
                } else {
                    both
                })
            }
            Expr::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => {
                let x = self.bind(expr)?;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    items.push(self.bind(item)?);
                }
                let mut ty = x.sql_type();
                for item in &items {
                    ty = common_type(&ty, &item.sql_type()).ok_or_else(|| {
                        MsqError::plan(format!(
                            "Values passed to IN operator must have compatible types{}",
                            at(e.span())
                        ))
                    })?;
                }
                let items: Vec<ScalarExpr> = items.into_iter().map(|i| cast_to(i, &ty)).collect();
                let x = cast_to(x, &ty);
                if !items.iter().all(|i| matches!(i, ScalarExpr::Literal(_))) {
                    // Non-constant candidates: `x = a OR x = b …` (InList takes constants).
                    let any = items
                        .into_iter()
                        .map(|i| ScalarExpr::Binary {
                            op: BinaryOp::Eq,
                            left: Box::new(x.clone()),
                            right: Box::new(i),
                            ty: SqlType::Boolean,
                        })
                        .reduce(|a, b| ScalarExpr::Binary {
                            op: BinaryOp::Or,
                            left: Box::new(a),
                            right: Box::new(b),
                            ty: SqlType::Boolean,
                        })
                        .unwrap_or(lit(Literal::Boolean(false)));
                    return Ok(if *negated {
                        ScalarExpr::Not(Box::new(any))
                    } else {
                        any
                    });
                }
                Ok(ScalarExpr::InList {
                    expr: Box::new(x),
                    list: items,
                    negated: *negated,
                })
            }
            Expr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any: false,
            } => {
                let x = cast_to(self.bind(expr)?, &SqlType::Varchar);
                let p = self.bind(pattern)?;
                let Some(pattern) = const_str(&p) else {
                    return Err(MsqError::plan(format!(
                        "LIKE pattern must be a string literal{}",
                        at(pattern.span())
                    )));
                };
                let escape = match escape_char {
                    None => None,
                    Some(c) => {
                        let c = self.bind(c)?;
                        let s = const_str(&c).unwrap_or_default();
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (Some(ch), None) => Some(ch),
                            _ => {
                                return Err(MsqError::plan(format!(
                                    "Invalid escape character '{s}'{}",
                                    at(e.span())
                                )))
                            }
                        }
                    }
                };
                Ok(ScalarExpr::Like {
                    expr: Box::new(x),
                    pattern: pattern.to_owned(),
                    escape,
                    negated: *negated,
                })
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand.as_ref().map(|o| self.bind(o)).transpose()?;
                let mut branches = Vec::new();
                let mut ty = SqlType::Null;
                for when in conditions {
                    let cond = match &operand {
                        Some(x) => {
                            let v = self.bind(&when.condition)?;
                            self.compare(BinaryOp::Eq, x.clone(), v, e)?
                        }
                        None => cast_to(self.bind(&when.condition)?, &SqlType::Boolean),
                    };
                    let value = self.bind(&when.result)?;
                    ty = self.unify(&ty, &value.sql_type(), "CASE", e)?;
                    branches.push((cond, value));
                }
                let otherwise = match else_result {
                    Some(x) => {
                        let v = self.bind(x)?;
                        ty = self.unify(&ty, &v.sql_type(), "CASE", e)?;
                        Some(Box::new(v))
                    }
                    None => None,
                };
                let branches = branches
                    .into_iter()
                    .map(|(c, v)| (c, cast_to(v, &ty)))
                    .collect();
                Ok(ScalarExpr::Case {
                    branches,
                    otherwise: otherwise.map(|o| Box::new(cast_to(*o, &ty))),
                    ty,
                })
            }
            Expr::Cast {
                expr, data_type, ..
            } => {
                let to = sql_type_of(data_type)?;
                let x = self.bind(expr)?;
                Ok(if x.sql_type() == to {
                    x
                } else if matches!(x, ScalarExpr::Literal(Literal::Null(_))) {
                    lit(Literal::Null(to))
                } else {
                    ScalarExpr::Cast {
                        expr: Box::new(x),
                        to,
                    }
                })
            }
            Expr::Extract { field, expr, .. } => {
                let name = field.to_string();
                let unit = time_unit(&name).ok_or_else(|| {
                    MsqError::plan(format!("Unsupported EXTRACT unit [{name}]{}", at(e.span())))
                })?;
                let t = self.timestamp_arg(expr)?;
                Ok(Self::func(
                    ScalarFunction::TimeExtract(unit),
                    vec![t, self.tz_lit()],
                    SqlType::Bigint,
                ))
            }
            Expr::Floor { expr, field } | Expr::Ceil { expr, field } => {
                let is_floor = matches!(e, Expr::Floor { .. });
                match field {
                    CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        let x = self.bind(expr)?;
                        self.ensure_numeric(&x, if is_floor { "FLOOR" } else { "CEIL" }, e)?;
                        let ty = x.sql_type();
                        let func = if is_floor {
                            ScalarFunction::Floor
                        } else {
                            ScalarFunction::Ceil
                        };
                        Ok(Self::func(func, vec![x], ty))
                    }
                    CeilFloorKind::DateTimeField(unit) => {
                        let name = unit.to_string();
                        let period = time_unit(&name).and_then(unit_period).ok_or_else(|| {
                            MsqError::plan(format!(
                                "Unsupported time unit [{name}] in FLOOR/CEIL{}",
                                at(e.span())
                            ))
                        })?;
                        let t = self.timestamp_arg(expr)?;
                        let func = if is_floor {
                            ScalarFunction::TimeFloor
                        } else {
                            ScalarFunction::TimeCeil
                        };
                        Ok(Self::func(
                            func,
                            vec![
                                t,
                                str_lit(period),
                                lit(Literal::Null(SqlType::Timestamp)),
                                self.tz_lit(),
                            ],
                            SqlType::Timestamp,
                        ))
                    }
                    CeilFloorKind::Scale(_) => Err(MsqError::plan(format!(
                        "FLOOR/CEIL with a scale is not supported{}",
                        at(e.span())
                    ))),
                }
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let s = cast_to(self.bind(expr)?, &SqlType::Varchar);
                let start = match substring_from {
                    Some(f) => cast_to(self.bind(f)?, &SqlType::Bigint),
                    None => lit(Literal::Long(1)),
                };
                let mut args = vec![s, start];
                if let Some(len) = substring_for {
                    args.push(cast_to(self.bind(len)?, &SqlType::Bigint));
                }
                Ok(Self::func(
                    ScalarFunction::Substring,
                    args,
                    SqlType::Varchar,
                ))
            }
            Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let w = match trim_where
                    .as_ref()
                    .map(|w| w.to_string().to_ascii_uppercase())
                {
                    Some(w) if w == "LEADING" => TrimWhere::Leading,
                    Some(w) if w == "TRAILING" => TrimWhere::Trailing,
                    _ => TrimWhere::Both,
                };
                let s = cast_to(self.bind(expr)?, &SqlType::Varchar);
                let chars = match (trim_what, trim_characters) {
                    (Some(c), _) => self.bind(c)?,
                    (None, Some(cs)) if cs.len() == 1 => self.bind(&cs[0])?,
                    _ => str_lit(" "),
                };
                Ok(Self::func(
                    ScalarFunction::Trim(w),
                    vec![s, chars],
                    SqlType::Varchar,
                ))
            }
            Expr::Position { expr, r#in } => {
                let needle = cast_to(self.bind(expr)?, &SqlType::Varchar);
                let s = cast_to(self.bind(r#in)?, &SqlType::Varchar);
                Ok(Self::func(
                    ScalarFunction::Strpos,
                    vec![s, needle],
                    SqlType::Bigint,
                ))
            }
            Expr::Function(f) => self.bind_function(f, e),
            Expr::Subquery(_)
            | Expr::Exists { .. }
            | Expr::In {
                target: ast::InTarget::Subquery(_),
                ..
            } => Err(super::subquery::unsupported_here(e)),
            other => Err(MsqError::new(
                msq_common::ErrorCategory::Plan,
                msq_common::ErrorCode::QueryNotSupported,
                format!("Unsupported expression [{other}]{}", at(other.span())),
            )),
        }
    }

    fn func(func: ScalarFunction, args: Vec<ScalarExpr>, ty: SqlType) -> ScalarExpr {
        ScalarExpr::Function { func, args, ty }
    }

    fn ensure_numeric(&self, x: &ScalarExpr, what: &str, e: &Expr) -> Result<()> {
        let ty = x.sql_type();
        if ty.is_numeric() || ty == SqlType::Null {
            Ok(())
        } else {
            Err(MsqError::plan(format!(
                "Cannot apply '{what}' to arguments of type '{what}(<{ty}>)'{}",
                at(e.span())
            )))
        }
    }

    fn unify(&self, a: &SqlType, b: &SqlType, what: &str, e: &Expr) -> Result<SqlType> {
        common_type(a, b).ok_or_else(|| {
            MsqError::plan(format!(
                "Cannot apply '{what}' to arguments of type '<{a}> {what} <{b}>'{}",
                at(e.span())
            ))
        })
    }

    fn compare(&self, op: BinaryOp, l: ScalarExpr, r: ScalarExpr, e: &Expr) -> Result<ScalarExpr> {
        let sym = match op {
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            _ => ">=",
        };
        let ty = self.unify(&l.sql_type(), &r.sql_type(), sym, e)?;
        Ok(ScalarExpr::Binary {
            op,
            left: Box::new(cast_to(l, &ty)),
            right: Box::new(cast_to(r, &ty)),
            ty: SqlType::Boolean,
        })
    }

    fn bind_binary(
        &mut self,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
        e: &Expr,
    ) -> Result<ScalarExpr> {
        // `t ± INTERVAL 'n' UNIT` → TIME_SHIFT(t, unit period, ±n, tz).
        if let (BinaryOperator::Plus | BinaryOperator::Minus, Expr::Interval(iv)) = (op, right) {
            let t = self.timestamp_arg(left)?;
            let unit = iv.leading_field.as_ref().map(|f| f.to_string());
            let period = unit
                .as_deref()
                .and_then(time_unit)
                .and_then(unit_period)
                .ok_or_else(|| {
                    MsqError::plan(format!("Unsupported INTERVAL [{iv}]{}", at(right.span())))
                })?;
            let mut step = cast_to(self.bind_plain(&iv.value)?, &SqlType::Bigint);
            if let ScalarExpr::Cast { expr, .. } = &step {
                if let ScalarExpr::Literal(Literal::String(text)) = expr.as_ref() {
                    let n: i64 = text.trim().parse().map_err(|_| {
                        MsqError::plan(format!("Unsupported INTERVAL [{iv}]{}", at(right.span())))
                    })?;
                    step = lit(Literal::Long(n));
                }
            }
            if matches!(op, BinaryOperator::Minus) {
                step = match step {
                    ScalarExpr::Literal(Literal::Long(n)) => lit(Literal::Long(n.wrapping_neg())),
                    other => ScalarExpr::Negative(Box::new(other)),
                };
            }
            return Ok(Self::func(
                ScalarFunction::TimeShift,
                vec![t, str_lit(period), step, self.tz_lit()],
                SqlType::Timestamp,
            ));
        }
        let l = self.bind(left)?;
        let r = self.bind(right)?;
        let cmp = match op {
            BinaryOperator::Eq => Some(BinaryOp::Eq),
            BinaryOperator::NotEq => Some(BinaryOp::NotEq),
            BinaryOperator::Lt => Some(BinaryOp::Lt),
            BinaryOperator::LtEq => Some(BinaryOp::LtEq),
            BinaryOperator::Gt => Some(BinaryOp::Gt),
            BinaryOperator::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(cmp) = cmp {
            return self.compare(cmp, l, r, e);
        }
        let (op, sym) = match op {
            BinaryOperator::And => (BinaryOp::And, "AND"),
            BinaryOperator::Or => (BinaryOp::Or, "OR"),
            BinaryOperator::StringConcat => (BinaryOp::Concat, "||"),
            BinaryOperator::Plus => (BinaryOp::Plus, "+"),
            BinaryOperator::Minus => (BinaryOp::Minus, "-"),
            BinaryOperator::Multiply => (BinaryOp::Multiply, "*"),
            BinaryOperator::Divide => (BinaryOp::Divide, "/"),
            BinaryOperator::Modulo => (BinaryOp::Modulo, "%"),
            other => {
                return Err(MsqError::plan(format!(
                    "Unsupported operator [{other}]{}",
                    at(e.span())
                )))
            }
        };
        let (ty, result) = match op {
            BinaryOp::And | BinaryOp::Or => (SqlType::Boolean, SqlType::Boolean),
            BinaryOp::Concat => (SqlType::Varchar, SqlType::Varchar),
            _ => {
                let lt = l.sql_type();
                let rt = r.sql_type();
                let mut ty = self.unify(&lt, &rt, sym, e)?;
                if ty == SqlType::Timestamp {
                    ty = SqlType::Bigint;
                }
                if !(ty.is_numeric() || ty == SqlType::Null) {
                    return Err(MsqError::plan(format!(
                        "Cannot apply '{sym}' to arguments of type '<{lt}> {sym} <{rt}>'{}",
                        at(e.span())
                    )));
                }
                (ty.clone(), ty)
            }
        };
        Ok(ScalarExpr::Binary {
            op,
            left: Box::new(cast_to(l, &ty)),
            right: Box::new(cast_to(r, &ty)),
            ty: result,
        })
    }

    fn bind_value(&self, v: &Value, span: Span) -> Result<ScalarExpr> {
        Ok(match v {
            Value::Number(text, _) => {
                if let Ok(n) = text.parse::<i64>() {
                    lit(Literal::Long(n))
                } else if let Ok(d) = text.parse::<f64>() {
                    lit(Literal::Double(d))
                } else {
                    return Err(MsqError::plan(format!(
                        "Invalid number [{text}]{}",
                        at(span)
                    )));
                }
            }
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => str_lit(s),
            Value::Boolean(b) => lit(Literal::Boolean(*b)),
            Value::Null => lit(Literal::Null(SqlType::Null)),
            Value::Placeholder(p) => {
                return Err(MsqError::plan(format!(
                    "Parameter [{p}] is not bound{}",
                    at(span)
                )))
            }
            other => {
                return Err(MsqError::plan(format!(
                    "Unsupported literal [{other}]{}",
                    at(span)
                )))
            }
        })
    }

    fn resolve(&self, qualifier: Option<&Ident>, id: &Ident) -> Result<ScalarExpr> {
        if let Some(q) = qualifier {
            if !self
                .scope
                .cols
                .iter()
                .any(|c| c.qualifier.as_deref() == Some(q.value.as_str()))
            {
                return Err(MsqError::plan(format!(
                    "Table '{}' not found{}",
                    q.value,
                    at(q.span)
                )));
            }
        }
        let mut found = self.scope.cols.iter().enumerate().filter(|(_, c)| {
            c.name == id.value
                && qualifier.is_none_or(|q| c.qualifier.as_deref() == Some(q.value.as_str()))
        });
        let Some((index, col)) = found.next() else {
            return Err(match qualifier {
                Some(q) => MsqError::plan(format!(
                    "Column '{}' not found in table '{}'{}",
                    id.value,
                    q.value,
                    at(id.span)
                )),
                None => MsqError::plan(format!(
                    "Column '{}' not found in any table{}",
                    id.value,
                    at(id.span)
                )),
            });
        };
        if found.next().is_some() {
            return Err(MsqError::plan(format!(
                "Column '{}' is ambiguous{}",
                id.value,
                at(id.span)
            )));
        }
        if self.agg.is_some() {
            return Err(MsqError::plan(format!(
                "Expression '{}' is not being grouped{}",
                id.value,
                at(id.span)
            )));
        }
        Ok(ScalarExpr::column(index, col.name.clone(), col.ty.clone()))
    }

    fn timestamp_arg(&mut self, e: &Expr) -> Result<ScalarExpr> {
        let t = self.bind(e)?;
        match t.sql_type() {
            SqlType::Timestamp | SqlType::Null => Ok(cast_to(t, &SqlType::Timestamp)),
            SqlType::Varchar | SqlType::Bigint => Ok(cast_to(t, &SqlType::Timestamp)),
            other => Err(MsqError::plan(format!(
                "Cannot apply a time function to an argument of type <{other}>{}",
                at(e.span())
            ))),
        }
    }

    fn const_string_arg(&mut self, e: &Expr, what: &str) -> Result<ScalarExpr> {
        let v = self.bind(e)?;
        match &v {
            ScalarExpr::Literal(Literal::String(_)) => Ok(v),
            ScalarExpr::Literal(Literal::Null(_)) => Ok(lit(Literal::Null(SqlType::Varchar))),
            _ => Err(MsqError::plan(format!(
                "The {what} argument must be a literal{}",
                at(e.span())
            ))),
        }
    }

    fn bind_function(&mut self, f: &Function, e: &Expr) -> Result<ScalarExpr> {
        let name = f.name.to_string().to_ascii_uppercase();
        if is_aggregate_name(&name) {
            return Err(MsqError::plan(format!(
                "Aggregate expressions cannot be used in this clause: {name}{}",
                at(e.span())
            )));
        }
        let (args, _, _) = call_args(f)?;
        let n = args.len();
        let arity = |ok: bool| -> Result<()> {
            if ok {
                Ok(())
            } else {
                Err(MsqError::plan(format!(
                    "Invalid number of arguments to function '{name}'. Was expecting a different \
                     number of arguments, got {n}{}",
                    at(e.span())
                )))
            }
        };
        use ScalarFunction as F;
        use SqlType as T;
        let strings = |b: &mut Self, args: &[&Expr]| -> Result<Vec<ScalarExpr>> {
            args.iter()
                .map(|a| b.bind(a).map(|x| cast_to(x, &T::Varchar)))
                .collect()
        };
        let numeric = |b: &mut Self, a: &Expr| -> Result<ScalarExpr> {
            let x = b.bind(a)?;
            b.ensure_numeric(&x, &name, e)?;
            Ok(x)
        };
        match name.as_str() {
            "LOWER" | "UPPER" => {
                arity(n == 1)?;
                let func = if name == "LOWER" { F::Lower } else { F::Upper };
                Ok(Self::func(func, strings(self, &args)?, T::Varchar))
            }
            "CONCAT" => {
                arity(n >= 1)?;
                Ok(Self::func(F::Concat, strings(self, &args)?, T::Varchar))
            }
            "SUBSTRING" | "SUBSTR" => {
                arity(n == 2 || n == 3)?;
                let mut bound = vec![cast_to(self.bind(args[0])?, &T::Varchar)];
                for a in &args[1..] {
                    bound.push(cast_to(self.bind(a)?, &T::Bigint));
                }
                Ok(Self::func(F::Substring, bound, T::Varchar))
            }
            "TRIM" | "BTRIM" | "LTRIM" | "RTRIM" => {
                arity(n == 1 || n == 2)?;
                let w = match name.as_str() {
                    "LTRIM" => TrimWhere::Leading,
                    "RTRIM" => TrimWhere::Trailing,
                    _ => TrimWhere::Both,
                };
                let mut bound = strings(self, &args)?;
                if bound.len() == 1 {
                    bound.push(str_lit(" "));
                }
                Ok(Self::func(F::Trim(w), bound, T::Varchar))
            }
            "LENGTH" | "CHAR_LENGTH" | "CHARACTER_LENGTH" => {
                arity(n == 1)?;
                Ok(Self::func(F::Length, strings(self, &args)?, T::Bigint))
            }
            "REPLACE" => {
                arity(n == 3)?;
                Ok(Self::func(F::Replace, strings(self, &args)?, T::Varchar))
            }
            "STRPOS" => {
                arity(n == 2)?;
                Ok(Self::func(F::Strpos, strings(self, &args)?, T::Bigint))
            }
            "REGEXP_EXTRACT" | "REGEXP_LIKE" => {
                let like = name == "REGEXP_LIKE";
                arity(if like { n == 2 } else { n == 2 || n == 3 })?;
                let s = cast_to(self.bind(args[0])?, &T::Varchar);
                let p = self.const_string_arg(args[1], "pattern")?;
                if like {
                    return Ok(Self::func(F::RegexpLike, vec![s, p], T::Boolean));
                }
                let group = match args.get(2) {
                    Some(g) => cast_to(self.bind(g)?, &T::Bigint),
                    None => lit(Literal::Long(0)),
                };
                Ok(Self::func(F::RegexpExtract, vec![s, p, group], T::Varchar))
            }
            "ABS" | "FLOOR" | "CEIL" | "CEILING" => {
                arity(n == 1)?;
                let x = numeric(self, args[0])?;
                let ty = x.sql_type();
                let func = match name.as_str() {
                    "ABS" => F::Abs,
                    "FLOOR" => F::Floor,
                    _ => F::Ceil,
                };
                Ok(Self::func(func, vec![x], ty))
            }
            "ROUND" => {
                arity(n == 1 || n == 2)?;
                let x = numeric(self, args[0])?;
                let ty = x.sql_type();
                let digits = match args.get(1) {
                    Some(d) => cast_to(self.bind(d)?, &T::Bigint),
                    None => lit(Literal::Long(0)),
                };
                Ok(Self::func(F::Round, vec![x, digits], ty))
            }
            "MOD" => {
                arity(n == 2)?;
                let a = numeric(self, args[0])?;
                let b = numeric(self, args[1])?;
                let ty = self.unify(&a.sql_type(), &b.sql_type(), "MOD", e)?;
                Ok(Self::func(
                    F::Mod,
                    vec![cast_to(a, &ty), cast_to(b, &ty)],
                    ty,
                ))
            }
            "POWER" | "LN" | "SQRT" => {
                arity(if name == "POWER" { n == 2 } else { n == 1 })?;
                let mut bound = Vec::new();
                for a in &args {
                    bound.push(cast_to(numeric(self, a)?, &T::Double));
                }
                let func = match name.as_str() {
                    "POWER" => F::Power,
                    "LN" => F::Ln,
                    _ => F::Sqrt,
                };
                Ok(Self::func(func, bound, T::Double))
            }
            "COALESCE" | "NULLIF" => {
                arity(if name == "NULLIF" { n == 2 } else { n >= 1 })?;
                let mut bound = Vec::new();
                for a in &args {
                    bound.push(self.bind(a)?);
                }
                let mut ty = T::Null;
                for b in &bound {
                    ty = self.unify(&ty, &b.sql_type(), &name, e)?;
                }
                let bound = bound.into_iter().map(|b| cast_to(b, &ty)).collect();
                let func = if name == "NULLIF" {
                    F::Nullif
                } else {
                    F::Coalesce
                };
                Ok(Self::func(func, bound, ty))
            }
            "TIME_PARSE" | "TIME_FORMAT" => {
                arity((1..=3).contains(&n))?;
                let parse = name == "TIME_PARSE";
                let first = if parse {
                    cast_to(self.bind(args[0])?, &T::Varchar)
                } else {
                    self.timestamp_arg(args[0])?
                };
                let pattern = match args.get(1) {
                    Some(p) => self.const_string_arg(p, "pattern")?,
                    None => lit(Literal::Null(T::Varchar)),
                };
                let tz = match args.get(2) {
                    Some(z) => self.const_string_arg(z, "timezone")?,
                    None => self.tz_lit(),
                };
                let (func, ty) = if parse {
                    (F::TimeParse, T::Timestamp)
                } else {
                    (F::TimeFormat, T::Varchar)
                };
                Ok(Self::func(func, vec![first, pattern, tz], ty))
            }
            "TIME_FLOOR" | "TIME_CEIL" => {
                arity((2..=4).contains(&n))?;
                let t = self.timestamp_arg(args[0])?;
                let period = self.const_string_arg(args[1], "period")?;
                let origin = match args.get(2) {
                    Some(o) => {
                        let o = self.bind(o)?;
                        match cast_to(o, &T::Timestamp) {
                            c @ ScalarExpr::Literal(_) => c,
                            _ => {
                                return Err(MsqError::plan(format!(
                                    "The origin argument of {name} must be a literal{}",
                                    at(e.span())
                                )))
                            }
                        }
                    }
                    None => lit(Literal::Null(T::Timestamp)),
                };
                let tz = match args.get(3) {
                    Some(z) => self.const_string_arg(z, "timezone")?,
                    None => self.tz_lit(),
                };
                let func = if name == "TIME_FLOOR" {
                    F::TimeFloor
                } else {
                    F::TimeCeil
                };
                Ok(Self::func(func, vec![t, period, origin, tz], T::Timestamp))
            }
            "TIME_SHIFT" => {
                arity(n == 3 || n == 4)?;
                let t = self.timestamp_arg(args[0])?;
                let period = self.const_string_arg(args[1], "period")?;
                let step = cast_to(self.bind(args[2])?, &T::Bigint);
                let tz = match args.get(3) {
                    Some(z) => self.const_string_arg(z, "timezone")?,
                    None => self.tz_lit(),
                };
                Ok(Self::func(
                    F::TimeShift,
                    vec![t, period, step, tz],
                    T::Timestamp,
                ))
            }
            "TIME_EXTRACT" => {
                arity((1..=3).contains(&n))?;
                let t = self.timestamp_arg(args[0])?;
                let unit_name = match args.get(1) {
                    Some(u) => {
                        let u = self.const_string_arg(u, "unit")?;
                        const_str(&u).unwrap_or("MILLISECOND").to_owned()
                    }
                    None => "MILLISECOND".to_owned(),
                };
                let unit = time_unit(&unit_name).ok_or_else(|| {
                    MsqError::plan(format!(
                        "Unsupported TIME_EXTRACT unit [{unit_name}]{}",
                        at(e.span())
                    ))
                })?;
                let tz = match args.get(2) {
                    Some(z) => self.const_string_arg(z, "timezone")?,
                    None => self.tz_lit(),
                };
                Ok(Self::func(F::TimeExtract(unit), vec![t, tz], T::Bigint))
            }
            "DATE_TRUNC" => {
                arity(n == 2)?;
                let u = self.const_string_arg(args[0], "unit")?;
                let unit_name = const_str(&u).unwrap_or_default().to_owned();
                let period = time_unit(&unit_name).and_then(unit_period).ok_or_else(|| {
                    MsqError::plan(format!(
                        "Unsupported DATE_TRUNC unit [{unit_name}]{}",
                        at(e.span())
                    ))
                })?;
                let t = self.timestamp_arg(args[1])?;
                Ok(Self::func(
                    F::TimeFloor,
                    vec![
                        t,
                        str_lit(period),
                        lit(Literal::Null(T::Timestamp)),
                        self.tz_lit(),
                    ],
                    T::Timestamp,
                ))
            }
            "MILLIS_TO_TIMESTAMP" => {
                arity(n == 1)?;
                let x = cast_to(self.bind(args[0])?, &T::Bigint);
                Ok(Self::func(F::MillisToTimestamp, vec![x], T::Timestamp))
            }
            "TIMESTAMP_TO_MILLIS" => {
                arity(n == 1)?;
                let t = self.timestamp_arg(args[0])?;
                Ok(Self::func(F::TimestampToMillis, vec![t], T::Bigint))
            }
            "CURRENT_TIMESTAMP" | "NOW" => {
                arity(n == 0)?;
                Ok(lit(Literal::Timestamp(self.now_ms)))
            }
            "CURRENT_DATE" => {
                arity(n == 0)?;
                let day = msq_sql::time::MILLIS_PER_DAY;
                Ok(lit(Literal::Timestamp(
                    self.now_ms - self.now_ms.rem_euclid(day),
                )))
            }
            _ => {
                let mut families = Vec::new();
                for a in &args {
                    families.push(match self.bind_plain(a) {
                        Ok(x) => type_family(&x.sql_type()),
                        Err(_) => "<ANY>",
                    });
                }
                Err(MsqError::plan(format!(
                    "No match found for function signature {name}({}){}",
                    families.join(", "),
                    at(f.name.span())
                )))
            }
        }
    }

    /// Binds an aggregate call in aggregate mode and returns the reference to its output.
    fn bind_aggregate_ref(&mut self, f: &Function) -> Result<ScalarExpr> {
        let aggregate = self.bind_aggregate(f)?;
        let Some(state) = self.agg.as_mut() else {
            return Err(MsqError::internal("aggregate outside aggregate mode"));
        };
        let k = state.keys.len();
        let ty = aggregate.ty.clone();
        let j = match state.aggs.iter().position(|a| a.aggregate == aggregate) {
            Some(j) => j,
            None => {
                state.aggs.push(NamedAggregate {
                    name: format!("a{}", state.aggs.len()),
                    aggregate,
                });
                state.aggs.len() - 1
            }
        };
        Ok(ScalarExpr::column(k + j, state.aggs[j].name.clone(), ty))
    }

    /// Binds an aggregate call's arguments and filter over the pre-aggregation scope.
    pub fn bind_aggregate(&mut self, f: &Function) -> Result<AggregateExpr> {
        let name = f.name.to_string().to_ascii_uppercase();
        let (args, distinct, star) = call_args(f)?;
        let bad_args = || {
            MsqError::plan(format!(
                "Invalid number of arguments to function '{name}'{}",
                at(f.name.span())
            ))
        };
        let mut bound = Vec::new();
        for a in &args {
            bound.push(self.bind_plain(a)?);
        }
        let filter = match &f.filter {
            Some(c) => Some(cast_to(self.bind_plain(c)?, &SqlType::Boolean)),
            None => None,
        };
        use AggregateFunction as A;
        let one = |bound: &Vec<ScalarExpr>| -> Result<SqlType> {
            match bound.as_slice() {
                [x] => Ok(x.sql_type()),
                _ => Err(bad_args()),
            }
        };
        // Approximate distinct count: a sketch column merges; unfinalized keeps the sketch.
        let finalize = self.finalize;
        let approx = |t: &SqlType| match (is_hll_sketch(t), finalize) {
            (_, false) => (A::HllSketch, SqlType::Complex(HLL_SKETCH.into())),
            (true, true) => (A::ApproxCountDistinctMerge, SqlType::Bigint),
            (false, true) => (A::ApproxCountDistinct, SqlType::Bigint),
        };
        let (func, ty) = match name.as_str() {
            "COUNT" if star && bound.is_empty() => (A::CountStar, SqlType::Bigint),
            "COUNT" if distinct => {
                let t = one(&bound)?;
                if self.approx_distinct || is_hll_sketch(&t) {
                    approx(&t)
                } else {
                    (A::CountDistinct, SqlType::Bigint)
                }
            }
            "COUNT" => {
                one(&bound)?;
                (A::Count, SqlType::Bigint)
            }
            "APPROX_COUNT_DISTINCT" => approx(&one(&bound)?),
            "SUM" => {
                let t = one(&bound)?;
                let ty = match t {
                    SqlType::Bigint => SqlType::Bigint,
                    t if t.is_numeric() || t == SqlType::Null => SqlType::Double,
                    t => {
                        return Err(MsqError::plan(format!(
                            "Cannot apply 'SUM' to arguments of type 'SUM(<{t}>)'{}",
                            at(f.name.span())
                        )))
                    }
                };
                (A::Sum, ty)
            }
            "AVG" => {
                let t = one(&bound)?;
                if !(t.is_numeric() || t == SqlType::Null) {
                    return Err(MsqError::plan(format!(
                        "Cannot apply 'AVG' to arguments of type 'AVG(<{t}>)'{}",
                        at(f.name.span())
                    )));
                }
                if !self.finalize {
                    // Spec §1.6: AVG is not rollup-safe (its partial state is a sum and a count).
                    return Err(MsqError::plan(format!(
                        "Aggregation [AVG] is not supported in a rollup ingestion \
                         (finalizeAggregations: false): its intermediate state cannot be \
                         stored; store SUM and COUNT instead{}",
                        at(f.name.span())
                    )));
                }
                let ty = if t == SqlType::Timestamp || t == SqlType::Null {
                    SqlType::Bigint
                } else {
                    t
                };
                (A::Avg, ty)
            }
            "MIN" => (A::Min, one(&bound)?),
            "MAX" => (A::Max, one(&bound)?),
            "ANY_VALUE" => (A::AnyValue, one(&bound)?),
            "EARLIEST" | "LATEST" => {
                if bound.is_empty() || bound.len() > 2 {
                    return Err(bad_args());
                }
                let ty = bound[0].sql_type();
                bound.truncate(1);
                let time = self
                    .scope
                    .cols
                    .iter()
                    .position(|c| c.name == "__time")
                    .ok_or_else(|| {
                        MsqError::plan(format!(
                            "{name}() aggregator depends on __time column, the underlying \
                             datasource or extern function you are querying doesn't contain \
                             __time column, Please use {name}_BY() and specify the time column \
                             you want to use{}",
                            at(f.name.span())
                        ))
                    })?;
                let tcol = &self.scope.cols[time];
                bound.push(ScalarExpr::column(time, "__time", tcol.ty.clone()));
                let func = if name == "EARLIEST" {
                    A::Earliest
                } else {
                    A::Latest
                };
                (func, ty)
            }
            _ => return Err(MsqError::internal(format!("unknown aggregate {name}"))),
        };
        Ok(AggregateExpr {
            func,
            args: bound,
            filter,
            ty,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_types_follow_calcite_coercion() {
        use SqlType::*;
        assert_eq!(common_type(&Bigint, &Double), Some(Double));
        assert_eq!(common_type(&Float, &Bigint), Some(Double));
        assert_eq!(common_type(&Null, &Varchar), Some(Varchar));
        assert_eq!(common_type(&Timestamp, &Varchar), Some(Timestamp));
        assert_eq!(common_type(&Varchar, &Bigint), Some(Bigint));
        assert_eq!(common_type(&Timestamp, &Double), None);
        assert_eq!(common_type(&Complex("x".into()), &Bigint), None);
    }

    #[test]
    fn casts_fold_constants() {
        let s = lit(Literal::String("2000-01-01".into()));
        assert_eq!(
            cast_to(s, &SqlType::Timestamp),
            lit(Literal::Timestamp(946_684_800_000))
        );
        assert_eq!(
            cast_to(lit(Literal::Null(SqlType::Null)), &SqlType::Bigint),
            lit(Literal::Null(SqlType::Bigint))
        );
        assert_eq!(
            cast_to(lit(Literal::Long(2)), &SqlType::Double),
            lit(Literal::Double(2.0))
        );
        let c = ScalarExpr::column(0, "x", SqlType::Varchar);
        assert!(matches!(
            cast_to(c, &SqlType::Bigint),
            ScalarExpr::Cast { .. }
        ));
    }

    #[test]
    fn units_and_types_by_name() {
        assert_eq!(time_unit("dow"), Some(TimeUnit::DayOfWeek));
        assert_eq!(unit_period(TimeUnit::Quarter), Some("P3M"));
        assert_eq!(time_unit("fortnight"), None);
        let ty = |t| sql_type_of(&t).unwrap();
        assert_eq!(ty(DataType::Varchar(None)), SqlType::Varchar);
        assert_eq!(ty(DataType::BigInt(None)), SqlType::Bigint);
        assert_eq!(ty(DataType::Real), SqlType::Float);
        assert!(sql_type_of(&DataType::Bytea).is_err());
        assert!(is_aggregate_name("count") && !is_aggregate_name("lower"));
    }
}
