//! INSERT/REPLACE planning (spec `druid-msq.md` §1.3–§1.6, §4.3–§4.5): the query's last stage
//! gains `__bucket` (`TIME_FLOOR(__time, period)`, 0 for `ALL`) and `__boost` columns and a
//! `targetSize` shuffle by `[__bucket, clustered…, __boost]`; a `segmentGenerator` stage
//! (Druid's dataSchema/columnMappings/tuningConfig JSON) writes the segments.
//!
//! # Layout
//! - [`plan_ingest`] — output checks (`__time`, reserved names, column count), the bucketing
//!   projection and shuffle, the `segmentGenerator` stage and the [`IngestSpec`].
//! - `resolve_clustered_by` — `CLUSTERED BY` names, ordinals and expressions (§1.4) to shuffle
//!   keys; an expression that is no output column becomes a hidden column `v<n>` of the
//!   bucketing stage: in its Project and its clusterBy (after `__bucket`, before `__boost`),
//!   but not in the columnMappings, so it orders the shuffle and is never stored.

use super::binder::Scope;
use super::{
    ctx_bool, ctx_u64, signature, CteEnv, Draft, DraftKind, IngestSpec, PlanRequest, PlannedKind,
    PlannedQuery, Planner, ReplaceScope, ETERNITY,
};
use crate::expr::{Literal, NamedExpr, ScalarExpr, ScalarFunction, SqlType};
use crate::input::InputSpec;
use crate::processor::{ProcessorSpec, SegmentGeneratorProcessor};
use crate::program::{Program, Step};
use crate::shuffle::{ClusterBy, KeyColumn, ShuffleSpec};
use crate::types::ColumnType;
use msq_common::{ErrorCategory, ErrorCode, MsqError, Result, StageNumber};
use msq_model::ColumnMapping;
use msq_sql::sqlparser::ast::{Expr, Query, SelectItem, SetExpr};
use msq_sql::{ClusterExpr, Granularity, Ingest, Overwrite};
use serde_json::{json, Value as Json};

/// Default `rowsPerSegment`.
pub const DEFAULT_ROWS_PER_SEGMENT: usize = 3_000_000;

/// Druid's limit on columns per stage (`TooManyColumns`).
const MAX_COLUMNS: usize = 2_000;

/// Plans an INSERT (`replace == false`) or REPLACE.
pub(super) fn plan_ingest(
    mut planner: Planner<'_>,
    ing: &Ingest,
    replace: bool,
) -> Result<PlannedQuery> {
    let req: &PlanRequest<'_> = planner.req;
    let kind = if replace { "REPLACE" } else { "INSERT" };
    let q = ing.query.as_ref();
    if q.order_by.is_some() {
        return Err(MsqError::plan(format!(
            "Cannot use an ORDER BY clause on a Query of type [{kind}], use CLUSTERED BY instead"
        )));
    }
    let finalize_off = ctx_bool(req.context, "finalizeAggregations") == Some(false);
    planner.rollup = finalize_off;
    let (draft, limit) = planner.plan_query_open(q, &CteEnv::default())?;
    if limit.offset > 0 {
        return Err(MsqError::plan(
            "INSERT and REPLACE queries cannot have an OFFSET",
        ));
    }
    if limit.limit.is_some() && ing.partitioned_by != Granularity::All {
        return Err(MsqError::plan(format!(
            "INSERT and REPLACE queries cannot have a LIMIT unless PARTITIONED BY is \"ALL\" \
             (found PARTITIONED BY {})",
            ing.partitioned_by.to_sql()
        )));
    }
    // Output columns and their checks.
    let columns: Vec<(String, SqlType)> = draft.columns[..draft.visible].to_vec();
    for (name, _) in &columns {
        if name == "__bucket" || name == "__boost" {
            return Err(MsqError::new(
                ErrorCategory::Plan,
                ErrorCode::ColumnNameRestricted,
                format!(
                    "[{name}] column name is reserved for MSQ's internal purpose. Please retry \
                     the query after renaming the column."
                ),
            ));
        }
    }
    if columns.len() > MAX_COLUMNS {
        return Err(MsqError::new(
            ErrorCategory::Plan,
            ErrorCode::TooManyColumns,
            format!(
                "Too many output columns (requested = {}, max = {MAX_COLUMNS})",
                columns.len()
            ),
        ));
    }
    let time = columns.iter().position(|(n, _)| n == "__time");
    match time {
        Some(i) if columns[i].1 != SqlType::Timestamp => {
            return Err(MsqError::plan(format!(
                "Field [__time] was the wrong type [{}], expected TIMESTAMP",
                columns[i].1
            )))
        }
        None if ing.partitioned_by != Granularity::All => {
            return Err(MsqError::plan(format!(
                "{kind} queries with PARTITIONED BY {} must have a __time column of type \
                 TIMESTAMP in their output (use an alias: ... AS __time)",
                ing.partitioned_by.to_sql()
            )))
        }
        _ => {}
    }
    let clusters = resolve_clustered_by(&planner, q, &ing.clustered_by, &columns)?;
    let clustered_by: Vec<String> = clusters.iter().map(|c| c.display.clone()).collect();
    let rows_per_segment = ctx_u64(req.context, "rowsPerSegment")
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_ROWS_PER_SEGMENT);
    let is_group_by = draft.kind == DraftKind::GroupByPost;
    let rollup = is_group_by && finalize_off;
    let metrics: Vec<(String, Json)> = if rollup {
        rollup_metrics(&draft)
    } else {
        Vec::new()
    };
    let replace_scope =
        match (&ing.overwrite, replace) {
            (_, false) => None,
            (Some(Overwrite::All), true) => Some(ReplaceScope::All),
            (Some(_), true) => Some(ReplaceScope::Intervals(
                ing.overwrite_intervals()?.unwrap_or_default(),
            )),
            (None, true) => return Err(MsqError::plan(
                "Missing time chunk information in OVERWRITE clause for REPLACE. Use OVERWRITE \
                 WHERE <__time based condition> or OVERWRITE ALL to overwrite the entire table.",
            )),
        };

    // The bucketing projection, on the last stage (or after the LIMIT stage).
    let mut out_columns = columns.clone();
    let mut project: Vec<NamedExpr> = Vec::new();
    let time_expr = match time {
        Some(i) => ScalarExpr::column(i, "__time", SqlType::Timestamp),
        None => ScalarExpr::Literal(Literal::Timestamp(0)),
    };
    let bucket = match ing.partitioned_by.period() {
        None => ScalarExpr::Literal(Literal::Long(0)),
        Some(period) => ScalarExpr::Cast {
            expr: Box::new(ScalarExpr::Function {
                func: ScalarFunction::TimeFloor,
                args: vec![
                    time_expr.clone(),
                    ScalarExpr::Literal(Literal::String(period.into())),
                    ScalarExpr::Literal(Literal::Null(SqlType::Timestamp)),
                    ScalarExpr::Literal(Literal::String("UTC".into())),
                ],
                ty: SqlType::Timestamp,
            }),
            to: SqlType::Bigint,
        },
    };
    project.push(NamedExpr::new("__bucket", bucket));
    project.push(NamedExpr::new(
        "__boost",
        ScalarExpr::Literal(Literal::Long(0)),
    ));
    if time.is_none() {
        project.push(NamedExpr::new("__time", time_expr));
        out_columns.insert(0, ("__time".into(), SqlType::Timestamp));
    }
    for (i, (name, ty)) in columns.iter().enumerate() {
        project.push(NamedExpr::new(
            name.clone(),
            ScalarExpr::column(i, name, ty.clone()),
        ));
    }
    // Hidden CLUSTERED BY expressions: computed here, shuffled on, never stored (they are not
    // in `out_columns`, so not in the segment generator's columnMappings).
    for c in &clusters {
        if let Some(expr) = &c.hidden {
            project.push(NamedExpr::new(c.key.clone(), expr.clone()));
        }
    }
    let bucketed: Vec<(String, SqlType)> = project
        .iter()
        .map(|p| (p.name.clone(), p.expr.sql_type()))
        .collect();
    let mut keys = vec![KeyColumn::ascending("__bucket")];
    keys.extend(clusters.iter().map(|c| KeyColumn::ascending(&c.key)));
    keys.push(KeyColumn::ascending("__boost"));
    let shuffle = ShuffleSpec::TargetSize {
        cluster_by: ClusterBy::bucketed(keys, 1),
        target_size: u64::try_from(rows_per_segment).unwrap_or(u64::MAX),
        aggregate: false,
    };
    let mut ctx = req.context.clone();
    // Druid writes `finalize: false` into ingest scans (docs report); GROUP BY finalizes unless rollup.
    ctx.insert("finalize".into(), Json::Bool(is_group_by && !rollup));
    for (k, v) in ing.query_context()? {
        ctx.insert(k, v);
    }
    let mut draft = draft;
    if let Some(obj) = draft.query_json.as_object_mut() {
        obj.insert("context".into(), Json::Object(ctx));
    }
    let feeding = if limit.limit.is_some() {
        let planned = planner.close(draft, limit)?;
        let d = Draft {
            inputs: vec![InputSpec::Stage {
                stage: StageNumber(planned.stage),
            }],
            kind: DraftKind::Scan,
            program: Program::new(vec![Step::Project(project)]),
            query_json: json!({"queryType": "scan", "dataSource": {"type": "inputNumber", "inputNumber": 0}}),
            columns: bucketed.clone(),
            visible: bucketed.len(),
            sort: Vec::new(),
            max_workers: 1,
        };
        push_bucketed(&mut planner, d, shuffle)
    } else {
        let mut d = draft;
        d.columns.truncate(d.visible);
        d.program.steps.push(Step::Project(project));
        d.columns = bucketed.clone();
        d.visible = bucketed.len();
        d.sort.clear();
        push_bucketed(&mut planner, d, shuffle)
    };

    // segmentGenerator.
    let intervals: Vec<String> = match &replace_scope {
        Some(ReplaceScope::Intervals(iv)) => iv
            .iter()
            .map(|i| msq_sql::time::format_interval(*i))
            .collect(),
        _ => vec![ETERNITY.to_owned()],
    };
    let dimensions: Vec<Json> = out_columns
        .iter()
        .filter(|(n, _)| n != "__time" && !metrics.iter().any(|(m, _)| m == n))
        .map(|(n, t)| {
            let ct = t.column_type();
            let ty = match &ct {
                ColumnType::Long => "long".to_owned(),
                ColumnType::Double => "double".to_owned(),
                ColumnType::Float => "float".to_owned(),
                ColumnType::String => "string".to_owned(),
                other => other.to_string(),
            };
            let string = ct == ColumnType::String;
            json!({"type": ty, "name": n, "multiValueHandling": "SORTED_ARRAY",
                   "createBitmapIndex": string})
        })
        .collect();
    let mut data_schema = json!({
        "dataSource": ing.table,
        "timestampSpec": {"column": "__time", "format": "millis", "missingValue": null},
        "dimensionsSpec": {
            "dimensions": dimensions,
            "dimensionExclusions": ["__time"],
            "includeAllDimensions": false
        },
        "metricsSpec": metrics.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
        "granularitySpec": {"type": "arbitrary", "queryGranularity": {"type": "none"},
                            "rollup": rollup, "intervals": intervals},
        "transformSpec": {"filter": null, "transforms": []}
    });
    // Druid's arbitrary granularitySpec has no segment granularity; Acorn's segment generator
    // reads PARTITIONED BY from `segmentGranularity` here (absent = ALL).
    if ing.partitioned_by != Granularity::All {
        if let Some(spec) = data_schema
            .pointer_mut("/granularitySpec")
            .and_then(Json::as_object_mut)
        {
            spec.insert(
                "segmentGranularity".into(),
                ing.partitioned_by.to_druid_json(),
            );
        }
    }
    let mappings = out_columns
        .iter()
        .map(|(n, _)| ColumnMapping {
            query_column: n.clone(),
            output_column: n.clone(),
        })
        .collect();
    let tuning = json!({"maxNumWorkers": planner.max_workers, "maxRowsInMemory": 100000,
                        "rowsPerSegment": rows_per_segment});
    let max_workers = planner.max_workers;
    let generator = planner.push_stage(
        vec![InputSpec::Stage {
            stage: StageNumber(feeding),
        }],
        ProcessorSpec::SegmentGenerator(SegmentGeneratorProcessor::new(
            data_schema,
            mappings,
            tuning,
        )),
        Vec::new(),
        None,
        max_workers,
    );
    let query = planner.finish(generator)?;
    Ok(PlannedQuery {
        query,
        kind: PlannedKind::Ingest(IngestSpec {
            data_source: ing.table.clone(),
            replace: replace_scope,
            granularity: ing.partitioned_by,
            clustered_by,
            rows_per_segment,
            rollup,
        }),
    })
}

/// The combining aggregators of a rollup ingest's metrics (spec `druid-msq.md` §1.6:
/// `COUNT(*) AS cnt` → `longSum(cnt)`, a sketch → `HLLSketchMerge`), as `(output column,
/// aggregator JSON)`: one per output column that is an aggregate's value as it is. Other
/// output columns (group keys, expressions over aggregates) stay dimensions.
fn rollup_metrics(draft: &Draft) -> Vec<(String, Json)> {
    use crate::expr::AggregateFunction as A;
    let Some(agg) = draft.program.steps.iter().find_map(|s| match s {
        Step::Aggregate(a) => Some(a),
        _ => None,
    }) else {
        return Vec::new();
    };
    let Some(outputs) = draft.program.steps.iter().rev().find_map(|s| match s {
        Step::Project(p) => Some(p),
        _ => None,
    }) else {
        return Vec::new();
    };
    let keys = agg.group_by.len();
    let mut metrics = Vec::new();
    for out in outputs.iter().take(draft.visible) {
        let ScalarExpr::Column { index, .. } = &out.expr else {
            continue;
        };
        let Some(a) = index.checked_sub(keys).and_then(|j| agg.aggregates.get(j)) else {
            continue;
        };
        let prefix = match a.aggregate.ty {
            SqlType::Double => "double",
            SqlType::Float => "float",
            SqlType::Varchar | SqlType::Null => "string",
            _ => "long",
        };
        let kind = match a.aggregate.func {
            A::CountStar | A::Count => "longSum".to_owned(),
            A::Sum => format!("{prefix}Sum"),
            A::Min => format!("{prefix}Min"),
            A::Max => format!("{prefix}Max"),
            A::Earliest => format!("{prefix}First"),
            A::Latest => format!("{prefix}Last"),
            A::AnyValue => format!("{prefix}Any"),
            A::HllSketch => "HLLSketchMerge".to_owned(),
            A::Avg | A::CountDistinct | A::ApproxCountDistinct | A::ApproxCountDistinctMerge => {
                continue
            }
        };
        metrics.push((
            out.name.clone(),
            json!({"type": kind, "name": out.name, "fieldName": out.name}),
        ));
    }
    metrics
}

fn push_bucketed(planner: &mut Planner<'_>, draft: Draft, shuffle: ShuffleSpec) -> u32 {
    let sig = signature(&draft.columns);
    let number = planner.push(draft, Some(shuffle));
    if let Some(stage) = planner.stages.last_mut() {
        stage.signature = sig;
        stage.shuffle_check_has_multiple_values = true;
    }
    number
}

/// One resolved `CLUSTERED BY` item (spec `druid-msq.md` §1.4).
#[derive(Debug)]
struct ClusterKey {
    /// The shuffle key column: an output column, or a hidden column of the bucketing stage.
    key: String,
    /// What [`IngestSpec::clustered_by`] reports: the output column name, or the expression's
    /// SQL text for a hidden expression.
    display: String,
    /// For an expression that is no output column: its value over the output columns.
    hidden: Option<ScalarExpr>,
}

/// Resolves `CLUSTERED BY` items against the query's output `columns`, as Druid does
/// (spec `druid-msq.md` §1.4: "column names, ordinals into the SELECT list, or expressions"):
/// - a name must be an output column;
/// - an ordinal `n` is the `n`-th output column;
/// - an expression equal to a select-list item is that item's output column; any other
///   expression is bound over the output columns and becomes a hidden column `v<n>` (Druid's
///   virtual column naming) that orders the shuffle but is not written to the segments.
fn resolve_clustered_by(
    planner: &Planner<'_>,
    q: &Query,
    items: &[ClusterExpr],
    columns: &[(String, SqlType)],
) -> Result<Vec<ClusterKey>> {
    let scope = Scope::new(None, columns);
    let mut keys: Vec<ClusterKey> = Vec::with_capacity(items.len());
    let mut next_virtual = 0usize;
    for item in items {
        let output = match item {
            ClusterExpr::Column(n) => columns.iter().position(|(c, _)| c == n),
            ClusterExpr::Ordinal(o) => o.checked_sub(1).filter(|i| *i < columns.len()),
            ClusterExpr::Expr(e) => select_item_position(q, e).filter(|i| *i < columns.len()),
        };
        if let Some(i) = output {
            let name = columns[i].0.clone();
            keys.push(ClusterKey {
                key: name.clone(),
                display: name,
                hidden: None,
            });
            continue;
        }
        let e = match item {
            ClusterExpr::Expr(e) => e,
            ClusterExpr::Column(n) => {
                return Err(MsqError::plan(format!(
                    "CLUSTERED BY column [{n}] must be an output column of the query"
                )))
            }
            ClusterExpr::Ordinal(o) => {
                return Err(MsqError::plan(format!(
                    "CLUSTERED BY column [{o}] must be an output column of the query"
                )))
            }
        };
        let bound = planner.binder(&scope).bind(e)?;
        if let ScalarExpr::Column { index, .. } = &bound {
            if let Some((name, _)) = columns.get(*index) {
                keys.push(ClusterKey {
                    key: name.clone(),
                    display: name.clone(),
                    hidden: None,
                });
                continue;
            }
        }
        let key = loop {
            let candidate = format!("v{next_virtual}");
            next_virtual += 1;
            if !columns.iter().any(|(c, _)| *c == candidate)
                && !keys.iter().any(|k| k.key == candidate)
            {
                break candidate;
            }
        };
        keys.push(ClusterKey {
            key,
            display: e.to_string(),
            hidden: Some(bound),
        });
    }
    Ok(keys)
}

/// The 0-based output position of the select-list item whose expression is `e` (names and
/// aliases aside), when the query is a plain SELECT without `*` (whose expansion would shift
/// positions).
fn select_item_position(q: &Query, e: &Expr) -> Option<usize> {
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return None;
    };
    let mut found = None;
    for (i, item) in sel.projection.iter().enumerate() {
        match item {
            SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } => {
                if found.is_none() && x == e {
                    found = Some(i);
                }
            }
            _ => return None,
        }
    }
    found
}
