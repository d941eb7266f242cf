//! The query kit: a parsed SQL [`Statement`] → bound expressions → a Druid-shaped
//! [`QueryDefinition`] (spec `druid-msq.md` §4.2–§4.5, Druid's `ScanQueryKit`/`GroupByQueryKit`).
//!
//! ```text
//!  Statement ──plan_statement──▶ PlannedQuery { query: QueryDefinition, kind }
//!    SELECT            scan ─(mix)──────────────────────────────▶ (final)
//!    … ORDER BY/LIMIT  scan ─(maxCount by order keys, 1)──▶ limit / scan (drops hidden keys)
//!    GROUP BY          groupByPreShuffle ─(maxCount by keys, aggregate)─▶ groupByPostShuffle
//!    COUNT(DISTINCT x) the same twice: by keys and x, then by keys (see `distinct`)
//!    FROM (subquery)   one stage chain per subquery/CTE, read as InputSpec::Stage
//!    SELECT DISTINCT   a GROUP BY over the select list (after the aggregation, if any)
//!    JOIN              right side listed in Program::broadcast_inputs, Step::Join
//!    CROSS JOIN, a, b  the same with no keys (every pair; ON without equalities filters)
//!    (subquery) in     its own stage chain, broadcast and joined (see `subquery`)
//!      WHERE/SELECT
//!    UNION ALL         a scan stage with one stage input per branch
//!    VALUES / no FROM  an inline JSON external input of the constant rows
//!    INSERT/REPLACE    … ─(targetSize by [__bucket, clustered…, __boost])─▶ segmentGenerator
//! ```
//!
//! # Layout
//! - this module — the public API ([`Catalog`], [`PlanRequest`], [`plan_statement`],
//!   [`PlannedQuery`], [`PlannedKind`], [`IngestSpec`], [`ReplaceScope`]) and the planner.
//! - [`binder`] — name resolution and typing of expressions ([`binder::Binder`]).
//! - `ingest` — INSERT/REPLACE: output checks, `__bucket`, `segmentGenerator`.
//! - `subquery` — scalar, `IN` and `EXISTS` subqueries in expressions as broadcast joins.
//! - `distinct` — exact `COUNT(DISTINCT x)` as a GROUP BY of a GROUP BY.
//!
//! Tables resolve as: CTE, then datasource ([`Catalog::datasource`]), then
//! [`Catalog::inline_table`] (an external input); `INFORMATION_SCHEMA.*`/`sys.*` names only
//! through `inline_table`, else Druid's "Cannot query table(s)" error.
//!
//! Stage conventions: leaf stages get `maxWorkerCount` = context `maxNumTasks` (default 2)
//! − 1, at least 1; `limit` stages and the final stage after a sort get 1. A stage whose ORDER
//! BY uses expressions outside the select list carries them as hidden columns `_s<n>` after
//! the visible ones; a final `scan` stage drops them. Group keys are named `d<n>` and
//! aggregates `a<n>` (Druid's names), partial states as `msq-exec::ops::aggregate` documents.
//! `__boost` is planned as the constant 0 (no partition boosting yet).
//!
//! Rollup ingestion (`GROUP BY` with `finalizeAggregations: false`, spec §1.6): the
//! outermost GROUP BY binds with [`binder::Binder::finalize`] off, so `APPROX_COUNT_DISTINCT`
//! stores its sketch (`COMPLEX<HLLSketch>`, [`crate::AggregateFunction::HllSketch`]) and `AVG`
//! is rejected; numeric aggregates are stored as they are (their partial state is their
//! value). The segment generator's dataSchema records `rollup: true` and the combining
//! aggregators in `metricsSpec`.

pub mod binder;
mod distinct;
mod ingest;
mod subquery;

use crate::expr::{NamedExpr, ScalarExpr, SqlType};
use crate::input::InputSpec;
use crate::processor::{LimitProcessor, ProcessorSpec, QueryProcessor};
use crate::program::{AggregateMode, JoinKind, JoinStep, Program, Step};
use crate::query::QueryDefinition;
use crate::shuffle::{ClusterBy, KeyColumn, ShuffleSpec};
use crate::stage::StageDefinition;
use crate::types::ColumnType;
use binder::{at, contains_aggregate, AggState, Binder, Scope};
use distinct::DistinctSplit;
use msq_common::{ErrorCategory, ErrorCode, MsqError, Result, StageNumber};
use msq_sql::sqlparser::ast::{
    self, BinaryOperator, Distinct, Expr, GroupByExpr, JoinConstraint, JoinOperator, LimitClause,
    OrderBy, OrderByKind, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Spanned,
    TableFactor, Value,
};
use msq_sql::Statement;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;

pub use ingest::DEFAULT_ROWS_PER_SEGMENT;

/// Druid's "eternity" interval, the `intervals` of a whole-datasource read.
pub const ETERNITY: &str = "-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z";

/// Datasources written earlier (and metadata tables served inline), as the planner sees them.
pub trait Catalog {
    /// Columns of a datasource in stored order (`__time` first, ColumnType::Long, reads as
    /// TIMESTAMP); None if unknown.
    fn datasource(&self, name: &str) -> Option<Vec<(String, ColumnType)>>;

    /// A table whose rows the caller supplies inline, such as the interactive SQL API's
    /// metadata tables (`INFORMATION_SCHEMA.TABLES`, `sys.tasks`). `name` is the table name as
    /// written with the schema canonicalized (`INFORMATION_SCHEMA` upper case, `sys` lower
    /// case): `"INFORMATION_SCHEMA.TABLES"`, `"sys.tasks"`, or a plain `"name"`. None (the
    /// default) keeps Druid's behaviour: metadata tables cannot be queried by the task engine
    /// (spec `druid-msq.md` §3.2, "Cannot query table(s) [...] with SQL engine [msq-task]").
    fn inline_table(&self, name: &str) -> Option<InlineTable> {
        let _ = name;
        None
    }
}

/// The rows of a table served by [`Catalog::inline_table`], read like `EXTERN(...)` input.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineTable {
    /// The `inputSource` JSON (e.g. `{"type": "inline", "data": "..."}`).
    pub input_source: Json,
    /// The `inputFormat` JSON (e.g. `{"type": "json"}`).
    pub input_format: Json,
    /// Column names and types, in order.
    pub signature: Vec<(String, ColumnType)>,
}

/// Everything besides the statement that planning depends on.
pub struct PlanRequest<'a> {
    /// The query id; stage ids are `"<query_id>_<n>"`.
    pub query_id: &'a str,
    /// Request context, SET overrides already merged by the caller.
    pub context: &'a Map<String, Json>,
    /// Known datasources.
    pub catalog: &'a dyn Catalog,
    /// `CURRENT_TIMESTAMP`, UTC milliseconds.
    pub now_ms: i64,
}

/// A planned statement.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    /// The stages to run.
    pub query: QueryDefinition,
    /// What the statement produces.
    pub kind: PlannedKind,
}

/// What a [`PlannedQuery`] produces.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedKind {
    /// Final stage output columns are exactly these, in order; results are read from the final
    /// stage.
    Select {
        /// Output column names and SQL types.
        columns: Vec<(String, SqlType)>,
    },
    /// An INSERT or REPLACE writing segments.
    Ingest(IngestSpec),
    /// EXPLAIN PLAN FOR x: `inner` is what x would run (not run).
    Explain {
        /// The plan of the explained statement.
        inner: Box<PlannedQuery>,
    },
}

/// What an INSERT/REPLACE writes (spec `druid-msq.md` §1.3–§1.6).
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSpec {
    /// Target datasource.
    pub data_source: String,
    /// None = INSERT.
    pub replace: Option<ReplaceScope>,
    /// PARTITIONED BY.
    pub granularity: msq_sql::Granularity,
    /// CLUSTERED BY, in order: output column names (ordinals resolved), or the SQL text of an
    /// expression that is no output column (planned as a hidden, unstored shuffle key).
    pub clustered_by: Vec<String>,
    /// Context `rowsPerSegment`, default 3,000,000.
    pub rows_per_segment: usize,
    /// GROUP BY ingest with `finalizeAggregations: false` (partial aggregates; see module docs).
    pub rollup: bool,
}

/// What a REPLACE overwrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceScope {
    /// `OVERWRITE ALL`.
    All,
    /// `OVERWRITE WHERE …`: UTC ms intervals, `[start, end)`.
    Intervals(Vec<(i64, i64)>),
}

/// Plans one statement.
///
/// # Errors
/// Binder errors (unknown columns, tables, functions; type mismatches) as `InvalidInput`,
/// unsupported shapes as `QueryNotSupported`, ingest validation errors as Druid words them.
pub fn plan_statement(statement: &Statement, request: &PlanRequest<'_>) -> Result<PlannedQuery> {
    match statement {
        Statement::Explain(inner) => {
            let inner = plan_statement(inner, request)?;
            Ok(PlannedQuery {
                query: inner.query.clone(),
                kind: PlannedKind::Explain {
                    inner: Box::new(inner),
                },
            })
        }
        Statement::Select(query) => {
            let mut planner = Planner::new(request);
            let planned = planner.plan_query(query, &CteEnv::default())?;
            let query = planner.finish(planned.stage)?;
            Ok(PlannedQuery {
                query,
                kind: PlannedKind::Select {
                    columns: planned.columns,
                },
            })
        }
        Statement::Insert(ing) | Statement::Replace(ing) => {
            let replace = matches!(statement, Statement::Replace(_));
            ingest::plan_ingest(Planner::new(request), ing, replace)
        }
    }
}

/// A stage not yet numbered: its inputs, work and output columns.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub inputs: Vec<InputSpec>,
    pub kind: DraftKind,
    pub program: Program,
    pub query_json: Json,
    /// Output columns (visible, then hidden sort columns).
    pub columns: Vec<(String, SqlType)>,
    /// How many leading `columns` are the query's result.
    pub visible: usize,
    /// ORDER BY keys over `columns`.
    pub sort: Vec<KeyColumn>,
    pub max_workers: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DraftKind {
    Scan,
    GroupByPost,
}

/// The part of a GROUP BY bound over its aggregation's output (keys, then final aggregate
/// values): what its post-shuffle stage computes after the final aggregation.
struct GroupByPost {
    /// Output columns (visible, then hidden sort columns).
    columns: Vec<(String, SqlType)>,
    visible: usize,
    sort: Vec<KeyColumn>,
    having: Option<ScalarExpr>,
    outputs: Vec<NamedExpr>,
}

impl GroupByPost {
    /// The post-shuffle draft reading stage `pre`: the final aggregation of `state`, then
    /// `adjust` (a projection of its output, when given), HAVING and the select list.
    fn draft(
        self,
        pre: u32,
        state: &AggState,
        adjust: Option<Vec<NamedExpr>>,
        query_json: Json,
        max_workers: u32,
    ) -> Draft {
        let mut steps = vec![state.step(AggregateMode::Final)];
        steps.extend(adjust.map(Step::Project));
        steps.extend(self.having.map(Step::Filter));
        steps.push(Step::Project(self.outputs));
        Draft {
            inputs: vec![InputSpec::Stage {
                stage: StageNumber(pre),
            }],
            kind: DraftKind::GroupByPost,
            program: Program::new(steps),
            query_json,
            columns: self.columns,
            visible: self.visible,
            sort: self.sort,
            // A global aggregate's one row comes from one worker.
            max_workers: if state.keys.is_empty() {
                1
            } else {
                max_workers
            },
        }
    }
}

/// A finished sub-plan: its last stage and its visible columns.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub stage: u32,
    pub columns: Vec<(String, SqlType)>,
}

/// CTEs in scope, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct CteEnv {
    ctes: HashMap<String, Query>,
}

/// A FROM item resolved to an input and its columns.
struct Source {
    input: InputSpec,
    qualifier: Option<String>,
    columns: Vec<(String, SqlType)>,
}

/// Sign of LIMIT/OFFSET.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LimitSpec {
    pub limit: Option<u64>,
    pub offset: u64,
}

impl LimitSpec {
    fn is_some(&self) -> bool {
        self.limit.is_some() || self.offset > 0
    }
}

pub(crate) struct Planner<'a> {
    pub req: &'a PlanRequest<'a>,
    pub stages: Vec<StageDefinition>,
    pub max_workers: u32,
    pub tz: String,
    pub approx_distinct: bool,
    /// Subquery placeholders handed out so far (`$sq<n>`, see the `subquery` module).
    pub subqueries: usize,
    /// A rollup ingest (`finalizeAggregations: false`, spec §1.6): the outermost query's
    /// aggregates keep their partial form (see `plan_ingest`).
    pub rollup: bool,
    /// How many [`Planner::plan_query_open`] calls are in progress (1 = the outermost query).
    pub depth: usize,
}

/// A context value as a number (numbers or numeric strings).
pub(crate) fn ctx_u64(ctx: &Map<String, Json>, key: &str) -> Option<u64> {
    match ctx.get(key)? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A context value as a boolean (booleans or `"true"`/`"false"`).
pub(crate) fn ctx_bool(ctx: &Map<String, Json>, key: &str) -> Option<bool> {
    match ctx.get(key)? {
        Json::Bool(b) => Some(*b),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn not_supported(message: String) -> MsqError {
    MsqError::new(ErrorCategory::Plan, ErrorCode::QueryNotSupported, message)
}

fn druid_to_column_type(t: &msq_sql::DruidType) -> ColumnType {
    match t {
        msq_sql::DruidType::Long => ColumnType::Long,
        msq_sql::DruidType::Double => ColumnType::Double,
        msq_sql::DruidType::Float => ColumnType::Float,
        msq_sql::DruidType::String => ColumnType::String,
        msq_sql::DruidType::Array(e) => ColumnType::Array(Box::new(druid_to_column_type(e))),
        msq_sql::DruidType::Complex(n) => ColumnType::Complex(n.clone()),
    }
}

/// A FROM item read from a [`Catalog::inline_table`]: an external input qualified by its
/// alias or its table name.
fn inline_source(
    table: InlineTable,
    name: Option<&String>,
    alias: Option<&ast::TableAlias>,
) -> Source {
    let columns = table
        .signature
        .iter()
        .map(|(n, t)| (n.clone(), SqlType::from_column_type(t)))
        .collect();
    Source {
        input: InputSpec::External {
            input_source: table.input_source,
            input_format: table.input_format,
            signature: table.signature,
        },
        qualifier: alias
            .map(|a| a.name.value.clone())
            .or_else(|| name.cloned()),
        columns,
    }
}

fn signature(columns: &[(String, SqlType)]) -> Vec<(String, ColumnType)> {
    columns
        .iter()
        .map(|(n, t)| (n.clone(), t.column_type()))
        .collect()
}

/// The partial-state signature of an aggregate (mirrors `msq-exec::ops::aggregate`'s
/// `partial_state_fields`: Int64 → LONG, Float64 → DOUBLE, Utf8 → STRING, Binary → COMPLEX).
fn partial_state_signature(agg: &crate::expr::NamedAggregate) -> Vec<(String, ColumnType)> {
    use crate::expr::AggregateFunction as A;
    let name = agg.name.clone();
    let arg = agg
        .aggregate
        .args
        .first()
        .map(|a| a.sql_type())
        .unwrap_or(SqlType::Bigint);
    let state = |t: &SqlType| match t {
        SqlType::Double | SqlType::Float => ColumnType::Double,
        SqlType::Varchar | SqlType::Null => ColumnType::String,
        SqlType::Complex(n) => ColumnType::Complex(n.clone()),
        _ => ColumnType::Long,
    };
    match agg.aggregate.func {
        A::CountStar | A::Count => vec![(name, ColumnType::Long)],
        A::Sum => vec![(name, state(&agg.aggregate.ty))],
        A::Min | A::Max | A::AnyValue => vec![(name, state(&arg))],
        A::Avg => {
            let t = if matches!(arg, SqlType::Double | SqlType::Float) {
                ColumnType::Double
            } else {
                ColumnType::Long
            };
            vec![
                (format!("{name}$sum"), t),
                (format!("{name}$count"), ColumnType::Long),
            ]
        }
        A::Earliest | A::Latest => vec![
            (format!("{name}$time"), ColumnType::Long),
            (name, state(&arg)),
        ],
        A::CountDistinct => vec![(name, ColumnType::Complex("distinctValueSet".into()))],
        A::ApproxCountDistinct | A::ApproxCountDistinctMerge | A::HllSketch => {
            vec![(name, ColumnType::Complex("hyperUnique".into()))]
        }
    }
}

fn const_u64(e: &Expr, what: &str) -> Result<u64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().map_err(|_| {
                MsqError::plan(format!(
                    "{what} must be a non-negative integer{}",
                    at(v.span)
                ))
            }),
            Value::Null => Ok(u64::MAX),
            _ => Err(MsqError::plan(format!(
                "{what} must be a non-negative integer{}",
                at(v.span)
            ))),
        },
        other => Err(MsqError::plan(format!(
            "{what} must be a non-negative integer literal{}",
            at(other.span())
        ))),
    }
}

/// LIMIT/OFFSET of a query.
pub(crate) fn limit_spec(q: &Query) -> Result<LimitSpec> {
    let mut spec = LimitSpec::default();
    if let Some(fetch) = &q.fetch {
        if let Some(q) = &fetch.quantity {
            spec.limit = Some(const_u64(q, "FETCH")?);
        }
    }
    match &q.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset { limit, offset, .. }) => {
            if let Some(l) = limit {
                let l = const_u64(l, "LIMIT")?;
                spec.limit = (l != u64::MAX).then_some(l);
            }
            if let Some(o) = offset {
                spec.offset = const_u64(&o.value, "OFFSET")?;
            }
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            spec.offset = const_u64(offset, "OFFSET")?;
            spec.limit = Some(const_u64(limit, "LIMIT")?);
        }
    }
    Ok(spec)
}

/// The ordinal of a `GROUP BY 2`/`ORDER BY 2` item.
fn ordinal(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// A `SELECT` the planner writes itself (DISTINCT over a sub-plan, subquery counts), parsed
/// from SQL text; its FROM is ignored (the caller passes the source).
pub(crate) fn template_select(sql: &str) -> Result<Select> {
    let parsed = msq_sql::parse_query(sql)?;
    if let Statement::Select(q) = &parsed.statement {
        if let SetExpr::Select(sel) = q.body.as_ref() {
            return Ok((**sel).clone());
        }
    }
    Err(MsqError::internal(format!("not a SELECT template: {sql}")))
}

/// `a AND b` over bound booleans.
fn and(a: ScalarExpr, b: ScalarExpr) -> ScalarExpr {
    ScalarExpr::Binary {
        op: crate::expr::BinaryOp::And,
        left: Box::new(a),
        right: Box::new(b),
        ty: SqlType::Boolean,
    }
}

/// Splits `a AND b AND c` into its conjuncts.
fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        other => out.push(other.clone()),
    }
}

/// The name a select item gets without an alias: the column name for a column reference,
/// else Calcite's `EXPR$<position>`.
fn default_name(e: &Expr, position: usize) -> String {
    match e {
        Expr::Identifier(id) => id.value.clone(),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(|p| p.value.clone())
            .unwrap_or_else(|| format!("EXPR${position}")),
        Expr::Nested(inner) => default_name(inner, position),
        _ => format!("EXPR${position}"),
    }
}

/// A select list item after `*` expansion.
enum Item {
    Expr { expr: Box<Expr>, name: String },
    Column { index: usize, name: String },
}

impl<'a> Planner<'a> {
    pub(crate) fn new(req: &'a PlanRequest<'a>) -> Self {
        let tasks = ctx_u64(req.context, "maxNumTasks").unwrap_or(2);
        let max_workers = u32::try_from(tasks.saturating_sub(1).max(1)).unwrap_or(u32::MAX);
        let tz = req
            .context
            .get("sqlTimeZone")
            .and_then(Json::as_str)
            .unwrap_or("UTC")
            .to_owned();
        Planner {
            req,
            stages: Vec::new(),
            max_workers,
            tz,
            approx_distinct: ctx_bool(req.context, "useApproximateCountDistinct").unwrap_or(true),
            subqueries: 0,
            rollup: false,
            depth: 0,
        }
    }

    pub(crate) fn binder<'s>(&self, scope: &'s Scope) -> Binder<'s> {
        Binder::new(scope, &self.tz, self.req.now_ms, self.approx_distinct)
    }

    /// The query definition ending at `final_stage`.
    pub(crate) fn finish(self, final_stage: u32) -> Result<QueryDefinition> {
        QueryDefinition::new(self.req.query_id, self.stages, StageNumber(final_stage))
    }

    /// Numbers and records a stage.
    pub(crate) fn push(&mut self, draft: Draft, shuffle: Option<ShuffleSpec>) -> u32 {
        let processor = match draft.kind {
            DraftKind::Scan => ProcessorSpec::Scan(
                QueryProcessor::new(draft.query_json).with_program(draft.program),
            ),
            DraftKind::GroupByPost => ProcessorSpec::GroupByPostShuffle(
                QueryProcessor::new(draft.query_json).with_program(draft.program),
            ),
        };
        self.push_stage(
            draft.inputs,
            processor,
            signature(&draft.columns),
            shuffle,
            draft.max_workers,
        )
    }

    pub(crate) fn push_stage(
        &mut self,
        inputs: Vec<InputSpec>,
        processor: ProcessorSpec,
        signature: Vec<(String, ColumnType)>,
        shuffle: Option<ShuffleSpec>,
        max_workers: u32,
    ) -> u32 {
        let number = u32::try_from(self.stages.len()).unwrap_or(u32::MAX);
        let broadcast: Vec<usize> = match &processor {
            ProcessorSpec::Scan(p)
            | ProcessorSpec::GroupByPreShuffle(p)
            | ProcessorSpec::GroupByPostShuffle(p) => p.program.broadcast_inputs.clone(),
            _ => Vec::new(),
        };
        let mut stage = StageDefinition::new(number, inputs, processor);
        stage.broadcast_inputs = broadcast.into_iter().collect();
        stage.signature = signature;
        stage.shuffle_spec = shuffle;
        stage.max_worker_count = max_workers.max(1);
        self.stages.push(stage);
        number
    }

    /// Druid's scan query JSON (display only).
    fn scan_json(&self, columns: &[(String, SqlType)], filter: Option<&Expr>) -> Json {
        let mut names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let mut q = json!({
            "queryType": "scan",
            "dataSource": {"type": "inputNumber", "inputNumber": 0},
            "intervals": {"type": "intervals", "intervals": [ETERNITY]},
            "resultFormat": "compactedList",
            "columns": names,
            "legacy": false,
            "context": self.req.context.clone(),
            "granularity": {"type": "all"}
        });
        if let (Some(f), Some(obj)) = (filter, q.as_object_mut()) {
            obj.insert(
                "filter".into(),
                json!({"type": "expression", "expression": f.to_string()}),
            );
        }
        q
    }

    /// Plans a query to a finished stage chain (final stage shuffled `mix`).
    pub(crate) fn plan_query(&mut self, q: &Query, env: &CteEnv) -> Result<Planned> {
        let (draft, limit) = self.plan_query_open(q, env)?;
        self.close(draft, limit)
    }

    /// Plans a query up to its last, still open stage, with the LIMIT/OFFSET still to apply.
    pub(crate) fn plan_query_open(
        &mut self,
        q: &Query,
        env: &CteEnv,
    ) -> Result<(Draft, LimitSpec)> {
        self.depth += 1;
        let out = self.plan_query_open_inner(q, env);
        self.depth -= 1;
        out
    }

    fn plan_query_open_inner(&mut self, q: &Query, env: &CteEnv) -> Result<(Draft, LimitSpec)> {
        let mut env = env.clone();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                env.ctes
                    .insert(cte.alias.name.value.clone(), (*cte.query).clone());
            }
        }
        let limit = limit_spec(q)?;
        let draft = match q.body.as_ref() {
            SetExpr::Select(sel) => self.plan_select(sel, q.order_by.as_ref(), &env)?,
            SetExpr::Query(inner) => {
                let planned = self.plan_query(inner, &env)?;
                self.passthrough(planned, q.order_by.as_ref())?
            }
            SetExpr::SetOperation {
                op: SetOperator::Union,
                set_quantifier: SetQuantifier::All,
                ..
            } => {
                let mut branches = Vec::new();
                flatten_union(q.body.as_ref(), &mut branches)?;
                let mut inputs = Vec::new();
                let mut columns: Option<Vec<(String, SqlType)>> = None;
                for b in branches {
                    let bq = Query {
                        with: None,
                        body: Box::new(b.clone()),
                        order_by: None,
                        limit_clause: None,
                        fetch: None,
                        locks: vec![],
                        for_clause: None,
                        settings: None,
                        format_clause: None,
                        pipe_operators: vec![],
                    };
                    let planned = self.plan_query(&bq, &env)?;
                    if let Some(first) = &columns {
                        if first != &planned.columns {
                            return Err(MsqError::plan(format!(
                                "UNION ALL branches must have the same column names and types: \
                                 [{}] vs [{}]",
                                describe(first),
                                describe(&planned.columns)
                            )));
                        }
                    } else {
                        columns = Some(planned.columns.clone());
                    }
                    inputs.push(InputSpec::Stage {
                        stage: StageNumber(planned.stage),
                    });
                }
                let columns = columns.unwrap_or_default();
                let sort = self.order_by_output(q.order_by.as_ref(), &columns)?;
                Draft {
                    inputs,
                    kind: DraftKind::Scan,
                    program: Program::default(),
                    query_json: self.scan_json(&columns, None),
                    visible: columns.len(),
                    columns,
                    sort,
                    max_workers: self.max_workers,
                }
            }
            SetExpr::Values(values) => {
                let rows: Vec<&[Expr]> = values.rows.iter().map(|r| r.content.as_slice()).collect();
                let (source, columns) = self.values_source(&rows)?;
                let project = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (n, t))| {
                        let stored = SqlType::from_column_type(&t.column_type());
                        let col = ScalarExpr::column(i, n, stored);
                        NamedExpr::new(n.clone(), binder::cast_to(col, t))
                    })
                    .collect();
                let sort = self.order_by_output(q.order_by.as_ref(), &columns)?;
                Draft {
                    inputs: vec![source],
                    kind: DraftKind::Scan,
                    program: Program::new(vec![Step::Project(project)]),
                    query_json: self.scan_json(&columns, None),
                    visible: columns.len(),
                    columns,
                    sort,
                    max_workers: 1,
                }
            }
            other => {
                return Err(not_supported(format!(
                    "Unsupported query shape: only SELECT, VALUES, subqueries and UNION ALL \
                     can be planned, got [{}]",
                    other
                )))
            }
        };
        Ok((draft, limit))
    }

    /// `VALUES (…), (…)` (and a SELECT without FROM, one row of no columns) as an inline
    /// JSON input: constant rows, columns `EXPR$<i>` typed by their common type.
    fn values_source(&self, rows: &[&[Expr]]) -> Result<(InputSpec, Vec<(String, SqlType)>)> {
        let empty = Scope::default();
        let width = rows.first().map_or(0, |r| r.len());
        let mut bound: Vec<Vec<ScalarExpr>> = Vec::new();
        let mut types = vec![SqlType::Null; width];
        for row in rows {
            if row.len() != width {
                return Err(MsqError::plan(
                    "Values must have the same number of columns",
                ));
            }
            let mut b = self.binder(&empty);
            let mut out = Vec::new();
            for (i, e) in row.iter().enumerate() {
                let v = b.bind(e)?;
                types[i] = binder::common_type(&types[i], &v.sql_type()).ok_or_else(|| {
                    MsqError::plan(format!(
                        "Values passed to VALUES must have compatible types{}",
                        at(e.span())
                    ))
                })?;
                out.push(v);
            }
            bound.push(out);
        }
        let columns: Vec<(String, SqlType)> = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("EXPR${i}"), t))
            .collect();
        let mut data = String::new();
        for row in bound {
            let mut obj = Map::new();
            for (v, (name, ty)) in row.into_iter().zip(&columns) {
                let value = match binder::cast_to(v, ty) {
                    ScalarExpr::Literal(l) => match l {
                        crate::expr::Literal::Null(_) => Json::Null,
                        crate::expr::Literal::Long(n) | crate::expr::Literal::Timestamp(n) => {
                            json!(n)
                        }
                        crate::expr::Literal::Double(d) => json!(d),
                        crate::expr::Literal::String(s) => json!(s),
                        crate::expr::Literal::Boolean(b) => json!(i64::from(b)),
                    },
                    other => {
                        return Err(not_supported(format!(
                            "VALUES rows must be constants, got [{other:?}]"
                        )))
                    }
                };
                obj.insert(name.clone(), value);
            }
            data.push_str(&Json::Object(obj).to_string());
            data.push('\n');
        }
        let input = InputSpec::External {
            input_source: json!({"type": "inline", "data": data}),
            input_format: json!({"type": "json"}),
            signature: signature(&columns),
        };
        Ok((input, columns))
    }

    /// A scan stage reading a planned sub-query as is (ORDER BY on output names only).
    fn passthrough(&mut self, planned: Planned, order_by: Option<&OrderBy>) -> Result<Draft> {
        let sort = self.order_by_output(order_by, &planned.columns)?;
        Ok(Draft {
            inputs: vec![InputSpec::Stage {
                stage: StageNumber(planned.stage),
            }],
            kind: DraftKind::Scan,
            program: Program::default(),
            query_json: self.scan_json(&planned.columns, None),
            visible: planned.columns.len(),
            columns: planned.columns,
            sort,
            max_workers: self.max_workers,
        })
    }

    /// ORDER BY over output columns by name or ordinal (UNION ALL, subquery bodies).
    fn order_by_output(
        &self,
        order_by: Option<&OrderBy>,
        columns: &[(String, SqlType)],
    ) -> Result<Vec<KeyColumn>> {
        let Some(order_by) = order_by else {
            return Ok(Vec::new());
        };
        let OrderByKind::Expressions(items) = &order_by.kind else {
            return Err(not_supported("ORDER BY ALL is not supported".into()));
        };
        let mut keys = Vec::new();
        for item in items {
            let index = match &item.expr {
                e if ordinal(e).is_some() => ordinal(e).and_then(|o| o.checked_sub(1)),
                Expr::Identifier(id) => columns.iter().position(|(n, _)| *n == id.value),
                _ => None,
            };
            let index = index.filter(|i| *i < columns.len()).ok_or_else(|| {
                MsqError::plan(format!(
                    "ORDER BY item [{}] must name an output column{}",
                    item.expr,
                    at(item.expr.span())
                ))
            })?;
            keys.push(key(&columns[index].0, item));
        }
        Ok(keys)
    }

    /// Closes an open stage: ORDER BY shuffle, LIMIT stage, hidden-column drop (§4.5).
    pub(crate) fn close(&mut self, mut draft: Draft, limit: LimitSpec) -> Result<Planned> {
        let columns: Vec<(String, SqlType)> = draft.columns[..draft.visible].to_vec();
        let hidden = draft.visible < draft.columns.len();
        let sorted = !draft.sort.is_empty();
        if !sorted && !limit.is_some() {
            let stage = self.push(draft, Some(ShuffleSpec::Mix));
            return Ok(Planned { stage, columns });
        }
        let full = draft.columns.clone();
        let shuffle = if sorted {
            ShuffleSpec::MaxCount {
                cluster_by: ClusterBy::new(std::mem::take(&mut draft.sort)),
                partitions: 1,
                aggregate: false,
            }
        } else {
            {
                // Per-worker cutoff: no worker needs more than offset + limit rows (a
                // post-shuffle worker holds complete groups, so this holds there too).
                if let Some(l) = limit.limit {
                    draft.program.steps.push(Step::Limit {
                        offset: 0,
                        limit: Some(l.saturating_add(limit.offset)),
                    });
                }
            }
            ShuffleSpec::Mix
        };
        let mut stage = self.push(draft, Some(shuffle));
        if limit.is_some() {
            stage = self.push_stage(
                vec![InputSpec::Stage {
                    stage: StageNumber(stage),
                }],
                ProcessorSpec::Limit(LimitProcessor::new(limit.offset, limit.limit)),
                signature(&full),
                Some(ShuffleSpec::Mix),
                1,
            );
        }
        if hidden || (sorted && !limit.is_some()) {
            let project = columns
                .iter()
                .enumerate()
                .map(|(i, (n, t))| NamedExpr::new(n.clone(), ScalarExpr::column(i, n, t.clone())))
                .collect();
            let draft = Draft {
                inputs: vec![InputSpec::Stage {
                    stage: StageNumber(stage),
                }],
                kind: DraftKind::Scan,
                program: Program::new(vec![Step::Project(project)]),
                query_json: self.scan_json(&columns, None),
                columns: columns.clone(),
                visible: columns.len(),
                sort: Vec::new(),
                max_workers: 1,
            };
            stage = self.push(draft, Some(ShuffleSpec::Mix));
        }
        Ok(Planned { stage, columns })
    }

    /// Resolves a FROM item.
    fn source(&mut self, factor: &TableFactor, env: &CteEnv) -> Result<Source> {
        if let Some(ext) = msq_sql::ExternalInput::from_table_factor(factor)? {
            let alias = match factor {
                TableFactor::TableFunction { alias, .. } => {
                    alias.as_ref().map(|a| a.name.value.clone())
                }
                _ => None,
            };
            let columns = ext
                .signature
                .iter()
                .map(|(n, t)| {
                    (
                        n.clone(),
                        SqlType::from_column_type(&druid_to_column_type(t)),
                    )
                })
                .collect();
            return Ok(Source {
                input: InputSpec::External {
                    input_source: ext.input_source.clone(),
                    input_format: ext.input_format.clone(),
                    signature: ext
                        .signature
                        .iter()
                        .map(|(n, t)| (n.clone(), druid_to_column_type(t)))
                        .collect(),
                },
                qualifier: alias,
                columns,
            });
        }
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let parts = msq_sql::tables::object_name_parts(name);
                let full = parts.join(".");
                let is_cte = parts.len() == 1 && env.ctes.contains_key(&parts[0]);
                if parts.len() > 1 {
                    let schema = parts[0].to_ascii_uppercase();
                    if schema == "INFORMATION_SCHEMA" || schema == "SYS" {
                        let mut canonical = parts.clone();
                        canonical[0] = if schema == "SYS" {
                            "sys".to_owned()
                        } else {
                            schema
                        };
                        let canonical = canonical.join(".");
                        if let Some(t) = self.req.catalog.inline_table(&canonical) {
                            return Ok(inline_source(t, parts.last(), alias.as_ref()));
                        }
                        return Err(MsqError::plan(format!(
                            "Cannot query table(s) [{full}] with SQL engine [msq-task]"
                        )));
                    }
                    if let Some(t) = self.req.catalog.inline_table(&full) {
                        return Ok(inline_source(t, parts.last(), alias.as_ref()));
                    }
                } else if !is_cte && self.req.catalog.datasource(&full).is_none() {
                    if let Some(t) = self.req.catalog.inline_table(&full) {
                        return Ok(inline_source(t, parts.last(), alias.as_ref()));
                    }
                }
                let table = match parts.as_slice() {
                    [t] => t.clone(),
                    [s, t] if s == "druid" => t.clone(),
                    _ => {
                        return Err(MsqError::plan(format!(
                            "Object '{full}' not found{}",
                            at(name.span())
                        )))
                    }
                };
                let qualifier = Some(
                    alias
                        .as_ref()
                        .map_or(table.clone(), |a| a.name.value.clone()),
                );
                if parts.len() == 1 {
                    if let Some(cte) = env.ctes.get(&table) {
                        let cte = cte.clone();
                        let planned = self.plan_query(&cte, env)?;
                        return Ok(Source {
                            input: InputSpec::Stage {
                                stage: StageNumber(planned.stage),
                            },
                            qualifier,
                            columns: planned.columns,
                        });
                    }
                }
                let cols = self.req.catalog.datasource(&table).ok_or_else(|| {
                    MsqError::plan(format!("Object '{table}' not found{}", at(name.span())))
                })?;
                let columns = cols
                    .iter()
                    .map(|(n, t)| {
                        let ty = if n == "__time" {
                            SqlType::Timestamp
                        } else {
                            SqlType::from_column_type(t)
                        };
                        (n.clone(), ty)
                    })
                    .collect();
                Ok(Source {
                    input: InputSpec::Table {
                        data_source: table,
                        intervals: vec![ETERNITY.to_owned()],
                    },
                    qualifier,
                    columns,
                })
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let mut planned = self.plan_query(subquery, env)?;
                if let Some(a) = alias {
                    if !a.columns.is_empty() {
                        if a.columns.len() != planned.columns.len() {
                            return Err(MsqError::plan(format!(
                                "List of column aliases must have same degree as table; table \
                                 has {} columns, whereas alias list has {} columns",
                                planned.columns.len(),
                                a.columns.len()
                            )));
                        }
                        for (c, def) in planned.columns.iter_mut().zip(&a.columns) {
                            c.0 = def.name.value.clone();
                        }
                    }
                }
                Ok(Source {
                    input: InputSpec::Stage {
                        stage: StageNumber(planned.stage),
                    },
                    qualifier: alias.as_ref().map(|a| a.name.value.clone()),
                    columns: planned.columns,
                })
            }
            other => Err(not_supported(format!(
                "Unsupported FROM item [{other}]{}",
                at(other.span())
            ))),
        }
    }

    fn plan_select(
        &mut self,
        sel: &Select,
        order_by: Option<&OrderBy>,
        env: &CteEnv,
    ) -> Result<Draft> {
        if let Some(Distinct::On(_)) = &sel.distinct {
            return Err(not_supported("SELECT DISTINCT ON is not supported".into()));
        }
        let Some((first, rest)) = sel.from.split_first() else {
            // One row, no columns: a single-row inline input with a placeholder column.
            let (input, _) =
                self.values_source(&[&[Expr::value(Value::Number("0".into(), false))]])?;
            let derived = Source {
                input,
                qualifier: None,
                columns: Vec::new(),
            };
            return self.plan_select_from(sel, order_by, env, derived, &[]);
        };
        let main = self.source(&first.relation, env)?;
        // `FROM a, b` is `a CROSS JOIN b` (each item's own JOINs follow it).
        let mut joins = first.joins.clone();
        for item in rest {
            joins.push(ast::Join {
                relation: item.relation.clone(),
                global: false,
                join_operator: JoinOperator::CrossJoin(JoinConstraint::None),
            });
            joins.extend(item.joins.iter().cloned());
        }
        self.plan_select_from(sel, order_by, env, main, &joins)
    }

    /// `SELECT DISTINCT *` over a planned sub-plan: a GROUP BY on all its columns, with an
    /// ORDER BY over its column names (Druid plans DISTINCT as a groupBy, §4.5).
    pub(crate) fn distinct_over(
        &mut self,
        planned: Planned,
        order_by: Option<&OrderBy>,
        env: &CteEnv,
    ) -> Result<Draft> {
        let template = template_select("SELECT DISTINCT * FROM t")?;
        let source = Source {
            input: InputSpec::Stage {
                stage: StageNumber(planned.stage),
            },
            qualifier: None,
            columns: planned.columns,
        };
        self.plan_select_from(&template, order_by, env, source, &[])
    }

    /// Plans a SELECT over its resolved main FROM item and its JOINs.
    fn plan_select_from(
        &mut self,
        sel: &Select,
        order_by: Option<&OrderBy>,
        env: &CteEnv,
        main: Source,
        joins: &[ast::Join],
    ) -> Result<Draft> {
        let distinct = matches!(sel.distinct, Some(Distinct::Distinct));
        let group_exprs: &[Expr] = match &sel.group_by {
            GroupByExpr::Expressions(exprs, _) => exprs,
            GroupByExpr::All(_) => {
                return Err(not_supported("GROUP BY ALL is not supported".into()));
            }
        };
        let aggregating = !group_exprs.is_empty()
            || sel.having.is_some()
            || sel.projection.iter().any(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    contains_aggregate(e)
                }
                _ => false,
            });
        if distinct && aggregating {
            // DISTINCT over aggregated rows: the aggregation, then a GROUP BY on its output.
            let mut inner = sel.clone();
            inner.distinct = None;
            let draft = self.plan_select_from(&inner, None, env, main, joins)?;
            let planned = self.close(draft, LimitSpec::default())?;
            return self.distinct_over(planned, order_by, env);
        }
        let mut scope = Scope::new(main.qualifier.as_deref(), &main.columns);
        let mut inputs = vec![main.input];
        let mut program = Program::default();
        for join in joins {
            let (kind, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => {
                    (JoinKind::Inner, c)
                }
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                other => {
                    return Err(not_supported(format!(
                        "Unsupported join type [{other:?}]: only INNER, LEFT and CROSS joins \
                         are supported"
                    )))
                }
            };
            let on = match constraint {
                JoinConstraint::On(on) => Some(on),
                JoinConstraint::None => None,
                _ => {
                    return Err(not_supported(
                        "JOIN requires an ON condition (USING and NATURAL are not supported)"
                            .into(),
                    ))
                }
            };
            let right = self.source(&join.relation, env)?;
            let right_scope = Scope::new(right.qualifier.as_deref(), &right.columns);
            let input_number = inputs.len();
            inputs.push(right.input);
            program.broadcast_inputs.push(input_number);
            let mut joined = scope.clone();
            joined.cols.extend(right_scope.cols.iter().cloned());
            let mut parts = Vec::new();
            if let Some(on) = on {
                conjuncts(on, &mut parts);
            }
            let (mut left_keys, mut right_keys, mut extra) = (Vec::new(), Vec::new(), Vec::new());
            for part in parts {
                if let Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right: r,
                } = &part
                {
                    let pair = |a: &Expr, b: &Expr| -> Option<(ScalarExpr, ScalarExpr)> {
                        let l = self.binder(&scope).bind(a).ok()?;
                        let r = self.binder(&right_scope).bind(b).ok()?;
                        let ty = binder::common_type(&l.sql_type(), &r.sql_type())?;
                        Some((binder::cast_to(l, &ty), binder::cast_to(r, &ty)))
                    };
                    if let Some((l, r)) = pair(left, r).or_else(|| pair(r, left)) {
                        left_keys.push(l);
                        right_keys.push(r);
                        continue;
                    }
                }
                extra.push(binder::cast_to(
                    self.binder(&joined).bind(&part)?,
                    &SqlType::Boolean,
                ));
            }
            // No equality: every pair is a candidate (a broadcast cross join, filtered by the
            // condition when there is one).
            let condition = extra.into_iter().reduce(and);
            program.steps.push(Step::Join(JoinStep {
                kind,
                broadcast_input: input_number,
                left_keys,
                right_keys,
                condition,
            }));
            scope = joined;
        }
        // Columns `*` expands to; subquery columns joined below come after them.
        let table_columns = scope.cols.len();
        // Subqueries in WHERE (and in the select list of a non-aggregating query) become
        // broadcast inputs joined to the rows (see the `subquery` module).
        let mut sel = std::borrow::Cow::Borrowed(sel);
        let has_subquery = |e: &Expr| subquery::contains_subquery(e);
        let select_has_subquery = !aggregating
            && sel.projection.iter().any(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    has_subquery(e)
                }
                _ => false,
            });
        if sel.selection.as_ref().is_some_and(has_subquery) || select_has_subquery {
            let s = sel.to_mut();
            let mut pending = Vec::new();
            if let Some(w) = s.selection.take() {
                s.selection = subquery::extract_where(w, &mut pending, &mut self.subqueries);
            }
            if select_has_subquery {
                for (pos, item) in s.projection.iter_mut().enumerate() {
                    if let SelectItem::UnnamedExpr(e) = item {
                        if has_subquery(e) {
                            let alias = ast::Ident::new(default_name(e, pos));
                            *item = SelectItem::ExprWithAlias {
                                expr: e.clone(),
                                alias,
                            };
                        }
                    }
                    if let SelectItem::ExprWithAlias { expr, .. } = item {
                        subquery::extract(expr, &mut pending, &mut self.subqueries);
                    }
                }
            }
            for p in pending {
                self.join_subquery(p, &mut scope, &mut inputs, &mut program, env)?;
            }
        }
        let sel: &Select = &sel;
        // WHERE.
        if let Some(w) = &sel.selection {
            if contains_aggregate(w) {
                return Err(MsqError::plan(format!(
                    "Aggregate expressions cannot be used in WHERE{}",
                    at(w.span())
                )));
            }
            let f = self.binder(&scope).bind(w)?;
            program
                .steps
                .push(Step::Filter(binder::cast_to(f, &SqlType::Boolean)));
        }
        // Select list after `*` expansion.
        let mut items = Vec::new();
        for (pos, item) in sel.projection.iter().enumerate() {
            match item {
                SelectItem::UnnamedExpr(e) => items.push(Item::Expr {
                    expr: Box::new(e.clone()),
                    name: default_name(e, pos),
                }),
                SelectItem::ExprWithAlias { expr, alias } => items.push(Item::Expr {
                    expr: Box::new(expr.clone()),
                    name: alias.value.clone(),
                }),
                SelectItem::Wildcard(_) => {
                    for (index, c) in scope.cols[..table_columns].iter().enumerate() {
                        items.push(Item::Column {
                            index,
                            name: c.name.clone(),
                        });
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let q = kind.to_string();
                    let before = items.len();
                    for (index, c) in scope.cols[..table_columns].iter().enumerate() {
                        if c.qualifier.as_deref() == Some(q.as_str()) {
                            items.push(Item::Column {
                                index,
                                name: c.name.clone(),
                            });
                        }
                    }
                    if items.len() == before {
                        return Err(MsqError::plan(format!("Table '{q}' not found")));
                    }
                }
                other => {
                    return Err(not_supported(format!("Unsupported select item [{other}]")));
                }
            }
        }
        uniquify(&mut items);
        let is_agg = distinct
            || !group_exprs.is_empty()
            || sel.having.is_some()
            || items
                .iter()
                .any(|i| matches!(i, Item::Expr { expr, .. } if contains_aggregate(expr)));
        if !is_agg {
            let mut outputs = Vec::new();
            let mut b = self.binder(&scope);
            for item in &items {
                outputs.push(match item {
                    Item::Expr { expr, name } => NamedExpr::new(name.clone(), b.bind(expr)?),
                    Item::Column { index, name } => NamedExpr::new(
                        name.clone(),
                        ScalarExpr::column(*index, name.clone(), scope.cols[*index].ty.clone()),
                    ),
                });
            }
            let visible = outputs.len();
            let sort = order_keys(order_by, &items, &mut outputs, &mut b)?;
            let columns: Vec<(String, SqlType)> = outputs
                .iter()
                .map(|o| (o.name.clone(), o.expr.sql_type()))
                .collect();
            program.steps.push(Step::Project(outputs));
            return Ok(Draft {
                inputs,
                kind: DraftKind::Scan,
                query_json: self.scan_json(&columns[..visible], sel.selection.as_ref()),
                program,
                columns,
                visible,
                sort,
                max_workers: self.max_workers,
            });
        }
        // GROUP BY: keys by name, alias, ordinal or expression.
        let mut b = self.binder(&scope);
        // Rollup ingest: the outermost GROUP BY keeps sketches unfinalized (§1.6); subqueries
        // are always finalized, as in Druid.
        b.finalize = !(self.rollup && self.depth == 1);
        let mut state = AggState::default();
        if distinct {
            // SELECT DISTINCT: a GROUP BY over the select list (Druid's plan).
            for item in &items {
                let key = match item {
                    Item::Expr { expr, .. } => b.bind_plain(expr)?,
                    Item::Column { index, name } => {
                        ScalarExpr::column(*index, name.clone(), scope.cols[*index].ty.clone())
                    }
                };
                if !state.keys.iter().any(|k| k.expr == key) {
                    state
                        .keys
                        .push(NamedExpr::new(format!("d{}", state.keys.len()), key));
                }
            }
        }
        for g in group_exprs {
            let resolved: Expr = if let Some(o) = ordinal(g) {
                match o.checked_sub(1).and_then(|i| items.get(i)) {
                    Some(Item::Expr { expr, .. }) => (**expr).clone(),
                    Some(Item::Column { name, .. }) => Expr::Identifier(ast::Ident::new(name)),
                    None => {
                        return Err(MsqError::plan(format!(
                            "Ordinal out of range{}",
                            at(g.span())
                        )))
                    }
                }
            } else if let Expr::Identifier(id) = g {
                let alias = items.iter().find_map(|i| match i {
                    Item::Expr { expr, name } if *name == id.value => Some((**expr).clone()),
                    _ => None,
                });
                match alias {
                    Some(e) if !scope.has(&id.value) => e,
                    _ => g.clone(),
                }
            } else {
                g.clone()
            };
            if contains_aggregate(&resolved) {
                return Err(MsqError::plan(format!(
                    "Aggregate expressions cannot be used in GROUP BY{}",
                    at(g.span())
                )));
            }
            let key = b.bind_plain(&resolved)?;
            if !state.keys.iter().any(|k| k.expr == key) {
                state
                    .keys
                    .push(NamedExpr::new(format!("d{}", state.keys.len()), key));
            }
        }
        b.agg = Some(state);
        let mut outputs = Vec::new();
        for item in &items {
            match item {
                Item::Expr { expr, name } => {
                    outputs.push(NamedExpr::new(name.clone(), b.bind(expr)?))
                }
                Item::Column { index, name } => {
                    let column =
                        ScalarExpr::column(*index, name.clone(), scope.cols[*index].ty.clone());
                    let keys = b.agg.as_ref().map_or(&[][..], |a| a.keys.as_slice());
                    let Some(k) = keys.iter().position(|k| k.expr == column) else {
                        return Err(MsqError::plan(format!(
                            "Expression '{name}' is not being grouped"
                        )));
                    };
                    outputs.push(NamedExpr::new(
                        name.clone(),
                        ScalarExpr::column(k, keys[k].name.clone(), column.sql_type()),
                    ))
                }
            }
        }
        let having = match &sel.having {
            Some(h) => {
                b.aliases = items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Expr { expr, name } => Some((name.clone(), (**expr).clone())),
                        Item::Column { .. } => None,
                    })
                    .collect();
                let bound = b.bind(h);
                b.aliases.clear();
                Some(binder::cast_to(bound?, &SqlType::Boolean))
            }
            None => None,
        };
        let visible = outputs.len();
        let sort = order_keys(order_by, &items, &mut outputs, &mut b)?;
        let state = b.agg.take().unwrap_or_default();
        let columns: Vec<(String, SqlType)> = outputs
            .iter()
            .map(|o| (o.name.clone(), o.expr.sql_type()))
            .collect();
        let post = GroupByPost {
            columns,
            visible,
            sort,
            having,
            outputs,
        };
        // A rollup ingest keeps its single-stage plan: its metrics name the query's own
        // aggregators, which the segments must be able to combine.
        let split = if b.finalize {
            DistinctSplit::of(&state)
        } else {
            None
        };
        if let Some(split) = split {
            return self.plan_distinct_split(split, inputs, program, sel, post);
        }
        let group_json = self.group_by_json(&state, sel.selection.as_ref(), sel.having.as_ref());
        let pre = self.push_group_by_pre(inputs, program, &state, group_json.clone());
        Ok(post.draft(pre, &state, None, group_json, self.max_workers))
    }

    /// The stages of a GROUP BY with exact distinct counts ([`DistinctSplit`]): the inner
    /// GROUP BY (keys and the distinct value) as a finished stage pair, then the outer one over
    /// its output, whose post-shuffle stage is the draft returned.
    fn plan_distinct_split(
        &mut self,
        split: DistinctSplit,
        inputs: Vec<InputSpec>,
        program: Program,
        sel: &Select,
        post: GroupByPost,
    ) -> Result<Draft> {
        let inner_json = self.group_by_json(&split.inner, sel.selection.as_ref(), None);
        let inner_pre = self.push_group_by_pre(inputs, program, &split.inner, inner_json.clone());
        let inner_columns: Vec<(String, SqlType)> = split
            .inner
            .keys
            .iter()
            .map(|k| (k.name.clone(), k.expr.sql_type()))
            .chain(
                split
                    .inner
                    .aggs
                    .iter()
                    .map(|a| (a.name.clone(), a.aggregate.ty.clone())),
            )
            .collect();
        let inner = Draft {
            inputs: vec![InputSpec::Stage {
                stage: StageNumber(inner_pre),
            }],
            kind: DraftKind::GroupByPost,
            program: Program::new(vec![split.inner.step(AggregateMode::Final)]),
            query_json: inner_json,
            visible: inner_columns.len(),
            columns: inner_columns,
            sort: Vec::new(),
            max_workers: self.max_workers,
        };
        let inner = self.close(inner, LimitSpec::default())?;

        let outer_json = self.group_by_json(&split.outer, None, sel.having.as_ref());
        let outer_input = vec![InputSpec::Stage {
            stage: StageNumber(inner.stage),
        }];
        let outer_pre = self.push_group_by_pre(
            outer_input,
            Program::default(),
            &split.outer,
            outer_json.clone(),
        );
        let zero_counts = split.zero_counts();
        Ok(post.draft(
            outer_pre,
            &split.outer,
            zero_counts,
            outer_json,
            self.max_workers,
        ))
    }

    /// Pushes the `groupByPreShuffle` stage of a GROUP BY: `program` (the rows' filters and
    /// joins) then the partial aggregation, shuffled by the keys (mixed when there are none).
    fn push_group_by_pre(
        &mut self,
        inputs: Vec<InputSpec>,
        mut program: Program,
        state: &AggState,
        group_json: Json,
    ) -> u32 {
        let mut signature: Vec<(String, ColumnType)> = state
            .keys
            .iter()
            .map(|k| (k.name.clone(), k.expr.sql_type().column_type()))
            .collect();
        for a in &state.aggs {
            signature.extend(partial_state_signature(a));
        }
        program.steps.push(state.step(AggregateMode::Partial));
        let shuffle = if state.keys.is_empty() {
            ShuffleSpec::Mix
        } else {
            ShuffleSpec::MaxCount {
                cluster_by: ClusterBy::new(
                    state
                        .keys
                        .iter()
                        .map(|k| KeyColumn::ascending(&k.name))
                        .collect(),
                ),
                partitions: self.max_workers,
                aggregate: true,
            }
        };
        self.push_stage(
            inputs,
            ProcessorSpec::GroupByPreShuffle(QueryProcessor::new(group_json).with_program(program)),
            signature,
            Some(shuffle),
            self.max_workers,
        )
    }

    /// Druid's groupBy query JSON (display only).
    fn group_by_json(
        &self,
        state: &AggState,
        filter: Option<&Expr>,
        having: Option<&Expr>,
    ) -> Json {
        let dimensions: Vec<Json> = state
            .keys
            .iter()
            .map(|k| {
                json!({"type": "default", "dimension": expr_label(&k.expr), "outputName": k.name,
                       "outputType": k.expr.sql_type().column_type().to_string()})
            })
            .collect();
        let aggregations: Vec<Json> = state
            .aggs
            .iter()
            .map(|a| native_aggregator_json(&a.name, &a.aggregate))
            .collect();
        let mut q = json!({
            "queryType": "groupBy",
            "dataSource": {"type": "inputNumber", "inputNumber": 0},
            "intervals": {"type": "intervals", "intervals": [ETERNITY]},
            "granularity": {"type": "all"},
            "dimensions": dimensions,
            "aggregations": aggregations,
            "context": self.req.context.clone(),
        });
        if let Some(obj) = q.as_object_mut() {
            if let Some(f) = filter {
                obj.insert(
                    "filter".into(),
                    json!({"type": "expression", "expression": f.to_string()}),
                );
            }
            if let Some(h) = having {
                obj.insert(
                    "having".into(),
                    json!({"type": "expression", "expression": h.to_string()}),
                );
            }
        }
        q
    }
}

/// Makes output names unique as Calcite does (`dim1`, `dim10`, `dim11`, …), so stage
/// signatures never repeat a column.
fn uniquify(items: &mut [Item]) {
    let mut seen = std::collections::HashSet::new();
    for item in items.iter_mut() {
        let name = match item {
            Item::Expr { name, .. } | Item::Column { name, .. } => name,
        };
        if !seen.insert(name.clone()) {
            let mut n = 0usize;
            while seen.contains(&format!("{name}{n}")) {
                n += 1;
            }
            *name = format!("{name}{n}");
            seen.insert(name.clone());
        }
    }
}

/// A short label of a bound expression for display JSON.
fn expr_label(e: &ScalarExpr) -> String {
    match e {
        ScalarExpr::Column { name, .. } => name.clone(),
        other => format!("{other:?}"),
    }
}

fn describe(columns: &[(String, SqlType)]) -> String {
    columns
        .iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key(name: &str, item: &ast::OrderByExpr) -> KeyColumn {
    if matches!(item.options.sort, Some(ast::OrderBySort::Desc)) {
        KeyColumn::descending(name)
    } else {
        KeyColumn::ascending(name)
    }
}

/// ORDER BY keys: ordinals and output aliases name output columns; other expressions are
/// bound (in the binder's mode) and reuse an equal output or become hidden columns `_s<n>`.
fn order_keys(
    order_by: Option<&OrderBy>,
    items: &[Item],
    outputs: &mut Vec<NamedExpr>,
    b: &mut Binder<'_>,
) -> Result<Vec<KeyColumn>> {
    let Some(order_by) = order_by else {
        return Ok(Vec::new());
    };
    let OrderByKind::Expressions(exprs) = &order_by.kind else {
        return Err(not_supported("ORDER BY ALL is not supported".into()));
    };
    let visible = items.len().min(outputs.len());
    let mut keys = Vec::new();
    for item in exprs {
        if let Some(o) = ordinal(&item.expr) {
            let i = o.checked_sub(1).filter(|i| *i < visible).ok_or_else(|| {
                MsqError::plan(format!("Ordinal out of range{}", at(item.expr.span())))
            })?;
            keys.push(key(&outputs[i].name, item));
            continue;
        }
        if let Expr::Identifier(id) = &item.expr {
            if let Some(i) = outputs[..visible].iter().position(|o| o.name == id.value) {
                keys.push(key(&outputs[i].name, item));
                continue;
            }
        }
        let bound = b.bind(&item.expr)?;
        if let Some(i) = outputs.iter().position(|o| o.expr == bound) {
            keys.push(key(&outputs[i].name, item));
            continue;
        }
        let name = format!("_s{}", outputs.len() - visible);
        outputs.push(NamedExpr::new(name.clone(), bound));
        keys.push(key(&name, item));
    }
    Ok(keys)
}

fn flatten_union<'q>(body: &'q SetExpr, out: &mut Vec<&'q SetExpr>) -> Result<()> {
    match body {
        SetExpr::SetOperation {
            op: SetOperator::Union,
            set_quantifier: SetQuantifier::All,
            left,
            right,
        } => {
            flatten_union(left, out)?;
            flatten_union(right, out)
        }
        SetExpr::SetOperation { .. } => Err(not_supported(
            "Only UNION ALL set operations are supported".into(),
        )),
        other => {
            out.push(other);
            Ok(())
        }
    }
}

/// A Druid native aggregator spec for an aggregate (display only): Druid's type names
/// (`count`, `longSum`, `doubleMin`, `HLLSketchBuild`, `stringFirst`, …) with `fieldName` for a
/// plain column argument, or `expression` otherwise.
fn native_aggregator_json(name: &str, aggregate: &crate::AggregateExpr) -> Json {
    use crate::AggregateFunction as A;
    let arg = aggregate.args.first();
    let prefix = match arg.map(|a| a.sql_type()) {
        Some(SqlType::Double) => "double",
        Some(SqlType::Float) => "float",
        Some(SqlType::Varchar) | Some(SqlType::Null) => "string",
        _ => "long",
    };
    let kind = match aggregate.func {
        A::CountStar | A::Count => "count".to_owned(),
        A::Sum => format!("{prefix}Sum"),
        A::Min => format!("{prefix}Min"),
        A::Max => format!("{prefix}Max"),
        A::Avg => format!("{prefix}Sum"),
        A::CountDistinct => "cardinality".to_owned(),
        A::ApproxCountDistinct => "HLLSketchBuild".to_owned(),
        A::HllSketch if matches!(arg.map(|a| a.sql_type()), Some(SqlType::Complex(_))) => {
            "HLLSketchMerge".to_owned()
        }
        A::HllSketch => "HLLSketchBuild".to_owned(),
        A::ApproxCountDistinctMerge => "HLLSketchMerge".to_owned(),
        A::Earliest => format!("{prefix}First"),
        A::Latest => format!("{prefix}Last"),
        A::AnyValue => format!("{prefix}Any"),
    };
    let mut spec = json!({"type": kind, "name": name});
    if let (Some(obj), Some(arg)) = (spec.as_object_mut(), arg) {
        match arg {
            crate::ScalarExpr::Column { name, .. } => {
                obj.insert("fieldName".into(), json!(name));
            }
            other => {
                obj.insert("expression".into(), json!(expr_label(other)));
            }
        }
    }
    if let (Some(obj), Some(filter)) = (spec.as_object_mut(), &aggregate.filter) {
        // Druid wraps filtered aggregators: {"type": "filtered", "filter": …, "aggregator": …}.
        let inner = Json::Object(obj.clone());
        return json!({"type": "filtered", "filter": {"type": "expression", "expression": expr_label(filter)}, "aggregator": inner, "name": name});
    }
    spec
}
