//! Bound expressions: the typed, serializable expression language stage programs are written
//! in (the engine's counterpart of Druid's virtual columns, filters and aggregator specs).
//!
//! A [`ScalarExpr`] is resolved: columns are positions in the batch it is evaluated over, every
//! node knows its [`SqlType`], functions are a closed enum ([`ScalarFunction`]). The binder
//! (SQL → expressions) lives in `msq-plan`'s query kit; the evaluator over Arrow arrays lives in
//! `msq-exec::expr`. Expressions travel to workers inside work orders, so they are plain serde
//! data.
//!
//! # Types and their Arrow representation (shared contract of binder and evaluator)
//! | [`SqlType`] | Druid column type | Arrow array |
//! |---|---|---|
//! | `Timestamp` | `LONG` (`__time`) | `Int64`, UTC milliseconds |
//! | `Bigint` | `LONG` | `Int64` |
//! | `Double` | `DOUBLE` | `Float64` |
//! | `Float` | `FLOAT` | `Float32` |
//! | `Varchar` | `STRING` | `Utf8` |
//! | `Boolean` | `LONG` (1/0 when stored) | `Boolean` |
//! | `Null` | `STRING` | `Null` or any all-null array |
//! | `Complex(name)` | `COMPLEX<name>` | `Binary` (serialized state) |
//!
//! Null semantics are SQL's (Druid's SQL-compatible null handling): any null operand makes an
//! arithmetic, comparison or string result null; `AND`/`OR` are three-valued; `""` and null are
//! distinct.

use crate::types::ColumnType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The SQL type of an expression or column (see the module table for its Arrow form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SqlType {
    /// `TIMESTAMP`: UTC milliseconds in an `Int64` array.
    Timestamp,
    /// `BIGINT`.
    Bigint,
    /// `DOUBLE`.
    Double,
    /// `FLOAT`.
    Float,
    /// `VARCHAR`.
    Varchar,
    /// `BOOLEAN`.
    Boolean,
    /// The type of an untyped `NULL` literal.
    Null,
    /// An opaque aggregate state or sketch, `COMPLEX<name>`.
    Complex(String),
}

impl SqlType {
    /// The Druid column type this SQL type is stored and shown as in signatures.
    pub fn column_type(&self) -> ColumnType {
        match self {
            SqlType::Timestamp | SqlType::Bigint | SqlType::Boolean => ColumnType::Long,
            SqlType::Double => ColumnType::Double,
            SqlType::Float => ColumnType::Float,
            SqlType::Varchar | SqlType::Null => ColumnType::String,
            SqlType::Complex(name) => ColumnType::Complex(name.clone()),
        }
    }

    /// The SQL type a Druid column type reads as (`LONG` → `BIGINT`; `__time` is the caller's
    /// business: it reads as `TIMESTAMP`).
    pub fn from_column_type(ty: &ColumnType) -> SqlType {
        match ty {
            ColumnType::Long => SqlType::Bigint,
            ColumnType::Double => SqlType::Double,
            ColumnType::Float => SqlType::Float,
            ColumnType::String | ColumnType::Array(_) => SqlType::Varchar,
            ColumnType::Complex(name) => SqlType::Complex(name.clone()),
        }
    }

    /// Whether this is a number type (`BIGINT`, `DOUBLE`, `FLOAT`; also `TIMESTAMP`, which
    /// arithmetic treats as milliseconds).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Bigint | SqlType::Double | SqlType::Float | SqlType::Timestamp
        )
    }

    /// The name Druid's SQL layer gives the type (`sqlTypeNames` of a result).
    pub fn sql_name(&self) -> &str {
        match self {
            SqlType::Timestamp => "TIMESTAMP",
            SqlType::Bigint => "BIGINT",
            SqlType::Double => "DOUBLE",
            SqlType::Float => "FLOAT",
            SqlType::Varchar => "VARCHAR",
            SqlType::Boolean => "BOOLEAN",
            SqlType::Null => "NULL",
            SqlType::Complex(_) => "OTHER",
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Complex(name) => write!(f, "COMPLEX<{name}>"),
            other => f.write_str(other.sql_name()),
        }
    }
}

/// A constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    /// A typed null.
    Null(SqlType),
    /// A `BIGINT` constant.
    Long(i64),
    /// A `DOUBLE` constant (also `FLOAT` literals after a cast).
    Double(f64),
    /// A `VARCHAR` constant.
    String(String),
    /// A `BOOLEAN` constant.
    Boolean(bool),
    /// A `TIMESTAMP` constant, UTC milliseconds.
    Timestamp(i64),
}

impl Literal {
    /// The literal's type.
    pub fn sql_type(&self) -> SqlType {
        match self {
            Literal::Null(ty) => ty.clone(),
            Literal::Long(_) => SqlType::Bigint,
            Literal::Double(_) => SqlType::Double,
            Literal::String(_) => SqlType::Varchar,
            Literal::Boolean(_) => SqlType::Boolean,
            Literal::Timestamp(_) => SqlType::Timestamp,
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Multiply,
    /// `/`: integer division (truncating) for two `BIGINT`s, as in Druid; division by zero
    /// gives null for integers and IEEE infinity/NaN for floating point.
    Divide,
    /// `%` (same as `MOD`)
    Modulo,
    /// `=`
    Eq,
    /// `<>` / `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND` (three-valued)
    And,
    /// `OR` (three-valued)
    Or,
    /// `||` string concatenation (null if either side is null)
    Concat,
}

/// Which side(s) `TRIM` removes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrimWhere {
    /// `TRIM(BOTH …)` / `TRIM(x)` / `BTRIM`
    Both,
    /// `TRIM(LEADING …)` / `LTRIM`
    Leading,
    /// `TRIM(TRAILING …)` / `RTRIM`
    Trailing,
}

/// A calendar unit of `EXTRACT`, `TIME_EXTRACT`, `FLOOR/CEIL(… TO unit)`, `TIMESTAMPADD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeUnit {
    /// Milliseconds.
    Millisecond,
    /// Seconds.
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days (`DAY` of month for extract).
    Day,
    /// ISO day of week, Monday = 1 (`DOW` in Druid's `EXTRACT` is Calcite's: Sunday = 1; the
    /// binder maps names to units and the evaluator documents each).
    DayOfWeek,
    /// ISO day of week, Monday = 1 … Sunday = 7 (`ISODOW`).
    IsoDayOfWeek,
    /// Day of year, 1-based (`DOY`).
    DayOfYear,
    /// ISO week of year (`WEEK`).
    Week,
    /// Month 1–12.
    Month,
    /// Quarter 1–4.
    Quarter,
    /// Year.
    Year,
    /// `EPOCH`: seconds since 1970 (extract only).
    Epoch,
}

/// A scalar function. Arguments are positional, as in the SQL call; the binder checks arity and
/// types and fills defaulted arguments (e.g. the time zone from `sqlTimeZone`) so the evaluator
/// sees every argument explicitly. Arguments documented as "constant" are always
/// [`ScalarExpr::Literal`]s after binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScalarFunction {
    /// `LOWER(s)`
    Lower,
    /// `UPPER(s)`
    Upper,
    /// `CONCAT(a, b, …)`: null if any argument is null (Druid SQL-compatible mode).
    Concat,
    /// `SUBSTRING(s, start [, length])`, 1-based start, characters not bytes.
    Substring,
    /// `TRIM([BOTH|LEADING|TRAILING] [chars FROM] s)`: args `(s, chars)`, chars constant
    /// (default `' '`).
    Trim(TrimWhere),
    /// `LENGTH(s)` / `CHAR_LENGTH`: characters.
    Length,
    /// `REPLACE(s, from, to)`.
    Replace,
    /// `STRPOS(s, needle)`: 1-based character position, 0 when absent.
    Strpos,
    /// `REGEXP_EXTRACT(s, pattern [, group])`: pattern constant; null when no match.
    RegexpExtract,
    /// `REGEXP_LIKE(s, pattern)`: pattern constant; true when the pattern matches anywhere.
    RegexpLike,
    /// `ABS(x)`
    Abs,
    /// `FLOOR(x)` on numbers.
    Floor,
    /// `CEIL(x)` on numbers.
    Ceil,
    /// `ROUND(x [, digits])`: half away from zero.
    Round,
    /// `MOD(a, b)`
    Mod,
    /// `POWER(a, b)`: DOUBLE.
    Power,
    /// `LN(x)`: DOUBLE.
    Ln,
    /// `SQRT(x)`: DOUBLE.
    Sqrt,
    /// `COALESCE(a, b, …)`: first non-null.
    Coalesce,
    /// `NULLIF(a, b)`: null when `a = b`, else `a`.
    Nullif,
    /// `TIME_PARSE(s, [pattern], [timezone])` → TIMESTAMP: args `(s, pattern, tz)` with pattern
    /// and tz constants (`Literal::Null(Varchar)` pattern = ISO 8601); unparseable → null.
    TimeParse,
    /// `TIME_FORMAT(t, [pattern], [timezone])` → VARCHAR: args `(t, pattern, tz)`, constants as
    /// for [`ScalarFunction::TimeParse`]; null pattern = ISO 8601 with millis and `Z`.
    TimeFormat,
    /// `TIME_FLOOR(t, period, [origin], [timezone])` → TIMESTAMP: args `(t, period, origin,
    /// tz)`, all but `t` constant; `period` an ISO 8601 period string (`PT1H`, `P1D`, `P1M`,
    /// `P1W`, …); origin null = epoch. `FLOOR(t TO DAY)` binds to this with `P1D`.
    TimeFloor,
    /// `TIME_CEIL(t, period, [origin], [timezone])`; `CEIL(t TO unit)` binds to this.
    TimeCeil,
    /// `TIME_SHIFT(t, period, step, [timezone])`: args `(t, period, step, tz)`; step may vary.
    TimeShift,
    /// `TIME_EXTRACT(t, unit, [timezone])` and `EXTRACT(unit FROM t)`: args `(t, tz)` → BIGINT.
    TimeExtract(TimeUnit),
    /// `MILLIS_TO_TIMESTAMP(n)`.
    MillisToTimestamp,
    /// `TIMESTAMP_TO_MILLIS(t)`.
    TimestampToMillis,
}

/// A resolved scalar expression over the columns of one record batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScalarExpr {
    /// The column at `index` of the input batch.
    Column {
        /// Position in the input batch's schema.
        index: usize,
        /// The column's name (for EXPLAIN and error messages only).
        name: String,
        /// Its type.
        ty: SqlType,
    },
    /// A constant.
    Literal(Literal),
    /// `CAST(expr AS to)`: Druid's casts (numbers ↔ strings parse leniently to null on
    /// failure; `TIMESTAMP` ↔ strings via ISO 8601 / `yyyy-MM-dd HH:mm:ss`; BOOLEAN → 1/0).
    Cast {
        /// The operand.
        expr: Box<ScalarExpr>,
        /// The target type.
        to: SqlType,
    },
    /// `left op right`. Operands already have compatible types: the binder inserts casts so
    /// both sides of arithmetic/comparison share one type (BIGINT op DOUBLE → both DOUBLE).
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<ScalarExpr>,
        /// Right operand.
        right: Box<ScalarExpr>,
        /// The result type.
        ty: SqlType,
    },
    /// `NOT expr` (three-valued).
    Not(Box<ScalarExpr>),
    /// `-expr`.
    Negative(Box<ScalarExpr>),
    /// `expr IS [NOT] NULL` (never null itself).
    IsNull {
        /// The operand.
        expr: Box<ScalarExpr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// `expr [NOT] IN (list…)`: list items are constants of the operand's type.
    InList {
        /// The operand.
        expr: Box<ScalarExpr>,
        /// The candidates.
        list: Vec<ScalarExpr>,
        /// `NOT IN` when true.
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE c]` with a constant pattern (`%`, `_`).
    Like {
        /// The operand.
        expr: Box<ScalarExpr>,
        /// The SQL pattern.
        pattern: String,
        /// The escape character, if any.
        escape: Option<char>,
        /// `NOT LIKE` when true.
        negated: bool,
    },
    /// `CASE WHEN c THEN v … ELSE e END` (a simple `CASE x WHEN …` binds to this with
    /// `x = value` conditions). A null or false condition falls through.
    Case {
        /// `(condition, value)` in order.
        branches: Vec<(ScalarExpr, ScalarExpr)>,
        /// The `ELSE` value; null when absent.
        otherwise: Option<Box<ScalarExpr>>,
        /// The result type.
        ty: SqlType,
    },
    /// A function call.
    Function {
        /// Which function.
        func: ScalarFunction,
        /// Its arguments, positional.
        args: Vec<ScalarExpr>,
        /// The result type.
        ty: SqlType,
    },
}

impl ScalarExpr {
    /// The expression's type.
    pub fn sql_type(&self) -> SqlType {
        match self {
            ScalarExpr::Column { ty, .. }
            | ScalarExpr::Binary { ty, .. }
            | ScalarExpr::Case { ty, .. }
            | ScalarExpr::Function { ty, .. } => ty.clone(),
            ScalarExpr::Literal(l) => l.sql_type(),
            ScalarExpr::Cast { to, .. } => to.clone(),
            ScalarExpr::Not(_)
            | ScalarExpr::IsNull { .. }
            | ScalarExpr::InList { .. }
            | ScalarExpr::Like { .. } => SqlType::Boolean,
            ScalarExpr::Negative(e) => e.sql_type(),
        }
    }

    /// A column reference.
    pub fn column(index: usize, name: impl Into<String>, ty: SqlType) -> Self {
        ScalarExpr::Column {
            index,
            name: name.into(),
            ty,
        }
    }

    /// A constant.
    pub fn literal(value: Literal) -> Self {
        ScalarExpr::Literal(value)
    }

    /// Adds the positions of every column the expression reads to `out`.
    pub fn collect_columns(&self, out: &mut BTreeSet<usize>) {
        match self {
            ScalarExpr::Column { index, .. } => {
                out.insert(*index);
            }
            ScalarExpr::Literal(_) => {}
            ScalarExpr::Cast { expr, .. }
            | ScalarExpr::Not(expr)
            | ScalarExpr::Negative(expr)
            | ScalarExpr::IsNull { expr, .. }
            | ScalarExpr::Like { expr, .. } => expr.collect_columns(out),
            ScalarExpr::Binary { left, right, .. } => {
                left.collect_columns(out);
                right.collect_columns(out);
            }
            ScalarExpr::InList { expr, list, .. } => {
                expr.collect_columns(out);
                list.iter().for_each(|e| e.collect_columns(out));
            }
            ScalarExpr::Case {
                branches,
                otherwise,
                ..
            } => {
                for (condition, value) in branches {
                    condition.collect_columns(out);
                    value.collect_columns(out);
                }
                if let Some(e) = otherwise {
                    e.collect_columns(out);
                }
            }
            ScalarExpr::Function { args, .. } => args.iter().for_each(|e| e.collect_columns(out)),
        }
    }
}

/// An aggregate function. Each has a *partial state* (the columns a pre-shuffle stage emits)
/// and a *final value*; `msq-exec::ops::aggregate` defines both and documents the state columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggregateFunction {
    /// `COUNT(*)` (no argument) → BIGINT.
    CountStar,
    /// `COUNT(x)`: non-null values → BIGINT.
    Count,
    /// `SUM(x)` → BIGINT for integers, DOUBLE otherwise; null when no non-null input.
    Sum,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
    /// `AVG(x)`: Calcite's return type, the argument's (a BIGINT average is truncated, as
    /// Druid's sum ÷ count post-aggregation cast to BIGINT gives); DOUBLE for floating point.
    Avg,
    /// `COUNT(DISTINCT x)` with `useApproximateCountDistinct: false`: exact.
    CountDistinct,
    /// `APPROX_COUNT_DISTINCT(x)` and `COUNT(DISTINCT x)` by default: HyperLogLog, exact
    /// while the distinct count is small.
    ApproxCountDistinct,
    /// `EARLIEST(x)`: the value at the smallest `__time` (the second argument of the
    /// aggregate is the time column).
    Earliest,
    /// `LATEST(x)`: the value at the largest `__time`.
    Latest,
    /// `ANY_VALUE(x)`: any value (first non-null seen).
    AnyValue,
    /// `APPROX_COUNT_DISTINCT(s)` / approximate `COUNT(DISTINCT s)` over a stored
    /// `COMPLEX<HLLSketch>` column `s` (a rollup datasource's sketch metric, spec
    /// `druid-msq.md` §1.6): merges the serialized HyperLogLog sketches (Druid's
    /// `HLLSketchMerge`) and estimates → BIGINT. Same partial state as
    /// [`AggregateFunction::ApproxCountDistinct`].
    ApproxCountDistinctMerge,
    /// The HyperLogLog sketch itself, `COMPLEX<HLLSketch>` (serialized bytes): what
    /// `APPROX_COUNT_DISTINCT(x)` stores in a rollup ingest with `finalizeAggregations: false`
    /// (spec `druid-msq.md` §1.6). Values of `x` are added; an `x` of type `COMPLEX<HLLSketch>`
    /// is merged instead. Same partial state as [`AggregateFunction::ApproxCountDistinct`].
    HllSketch,
}

/// One aggregate call: `func(args…) [FILTER (WHERE filter)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateExpr {
    /// The function.
    pub func: AggregateFunction,
    /// Arguments: none for `COUNT(*)`; `[x]` for most; `[x, time]` for EARLIEST/LATEST.
    pub args: Vec<ScalarExpr>,
    /// Rows for which this is false or null are skipped by this aggregate only.
    pub filter: Option<ScalarExpr>,
    /// The final result type.
    pub ty: SqlType,
}

impl AggregateExpr {
    /// Whether the call's value is the same whatever order its rows arrive in. Not for
    /// `EARLIEST`/`LATEST` (a tie on time keeps the first row seen), `ANY_VALUE` (the first
    /// value seen), nor a floating-point `SUM`/`AVG` (addition rounds differently in another
    /// order).
    pub fn is_order_insensitive(&self) -> bool {
        match self.func {
            AggregateFunction::CountStar
            | AggregateFunction::Count
            | AggregateFunction::Min
            | AggregateFunction::Max
            | AggregateFunction::CountDistinct
            | AggregateFunction::ApproxCountDistinct
            | AggregateFunction::ApproxCountDistinctMerge
            | AggregateFunction::HllSketch => true,
            AggregateFunction::Sum | AggregateFunction::Avg => self.ty == SqlType::Bigint,
            AggregateFunction::Earliest
            | AggregateFunction::Latest
            | AggregateFunction::AnyValue => false,
        }
    }

    /// Adds the positions of every column the call reads (its arguments and filter) to `out`.
    pub fn collect_columns(&self, out: &mut BTreeSet<usize>) {
        self.args.iter().for_each(|e| e.collect_columns(out));
        if let Some(filter) = &self.filter {
            filter.collect_columns(out);
        }
    }
}

/// An expression with the output column name it produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedExpr {
    /// Output column name.
    pub name: String,
    /// The expression.
    pub expr: ScalarExpr,
}

impl NamedExpr {
    /// Pairs a name and an expression.
    pub fn new(name: impl Into<String>, expr: ScalarExpr) -> Self {
        Self {
            name: name.into(),
            expr,
        }
    }
}

/// An aggregate with the output column name it produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedAggregate {
    /// Output column name (of the final value; partial state columns derive from it).
    pub name: String,
    /// The aggregate.
    pub aggregate: AggregateExpr,
}

/// A sort key over the columns of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortKey {
    /// The value sorted by (usually a column).
    pub expr: ScalarExpr,
    /// Descending when true.
    pub descending: bool,
    /// Nulls sort first when true. SQL/Druid default: nulls first ascending, last descending.
    pub nulls_first: bool,
}
