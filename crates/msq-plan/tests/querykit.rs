//! Query kit tests: SQL text → `msq_sql::parse_query` → `plan_statement` → stage shapes
//! (spec `druid-msq.md` §4.5), binder types and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use msq_common::{ErrorCode, StageNumber};
use msq_plan::querykit::*;
use msq_plan::*;
use serde_json::{json, Map, Value};

struct TestCatalog;

impl Catalog for TestCatalog {
    fn datasource(&self, name: &str) -> Option<Vec<(String, ColumnType)>> {
        match name {
            "foo" => Some(vec![
                ("__time".into(), ColumnType::Long),
                ("dim1".into(), ColumnType::String),
                ("dim2".into(), ColumnType::String),
                ("cnt".into(), ColumnType::Long),
                ("m1".into(), ColumnType::Float),
                ("m2".into(), ColumnType::Double),
            ]),
            "rolled" => Some(vec![
                ("__time".into(), ColumnType::Long),
                ("channel".into(), ColumnType::String),
                ("u".into(), ColumnType::Complex("HLLSketch".into())),
            ]),
            "lookyloo" => Some(vec![
                ("k".into(), ColumnType::String),
                ("v".into(), ColumnType::String),
            ]),
            _ => None,
        }
    }
}

const NOW: i64 = 1_700_000_000_000;

fn plan_with(sql: &str, context: Value) -> msq_common::Result<PlannedQuery> {
    let parsed = msq_sql::parse_query(sql)?;
    let mut ctx: Map<String, Value> = context.as_object().cloned().unwrap_or_default();
    for (k, v) in parsed.context_overrides {
        ctx.insert(k, v);
    }
    let request = PlanRequest {
        query_id: "q",
        context: &ctx,
        catalog: &TestCatalog,
        now_ms: NOW,
    };
    plan_statement(&parsed.statement, &request)
}

fn plan(sql: &str) -> PlannedQuery {
    plan_with(sql, json!({})).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn plan_err(sql: &str) -> msq_common::MsqError {
    match plan_with(sql, json!({})) {
        Ok(p) => panic!("{sql}: expected an error, got {p:?}"),
        Err(e) => e,
    }
}

fn types(p: &PlannedQuery) -> Vec<&'static str> {
    p.query
        .stages
        .iter()
        .map(|s| s.processor.type_name())
        .collect()
}

fn program(stage: &StageDefinition) -> &Program {
    match &stage.processor {
        ProcessorSpec::Scan(q)
        | ProcessorSpec::GroupByPreShuffle(q)
        | ProcessorSpec::GroupByPostShuffle(q) => &q.program,
        other => panic!("no program in {other:?}"),
    }
}

fn select_columns(p: &PlannedQuery) -> Vec<(String, SqlType)> {
    match &p.kind {
        PlannedKind::Select { columns } => columns.clone(),
        other => panic!("not a select: {other:?}"),
    }
}

/// The type of the single output column of `SELECT <expr> FROM foo`.
fn type_of(expr: &str) -> SqlType {
    let p = plan(&format!("SELECT {expr} FROM foo"));
    select_columns(&p)[0].1.clone()
}

/// The bound expression of `SELECT <expr> FROM foo`.
fn bound(expr: &str) -> ScalarExpr {
    let p = plan(&format!("SELECT {expr} FROM foo"));
    match program(&p.query.stages[0]).steps.last() {
        Some(Step::Project(items)) => items[0].expr.clone(),
        other => panic!("{other:?}"),
    }
}

fn keys(shuffle: &ShuffleSpec) -> Vec<(String, KeyOrder)> {
    shuffle
        .cluster_by()
        .unwrap()
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.order))
        .collect()
}

const WIKI_INSERT: &str = r#"INSERT INTO wikipedia
SELECT
  TIME_PARSE("timestamp") AS __time,
  *
FROM TABLE(
  EXTERN(
    '{"type": "http", "uris": ["https://druid.apache.org/data/wikipedia.json.gz"]}',
    '{"type": "json"}',
    '[{"name": "added", "type": "long"}, {"name": "channel", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "user", "type": "string"}]'
  )
)
PARTITIONED BY DAY"#;

#[test]
fn docs_insert_plans_scan_then_segment_generator() {
    let p = plan_with(WIKI_INSERT, json!({"maxNumTasks": 3})).unwrap();
    assert_eq!(types(&p), ["scan", "segmentGenerator"]);
    let scan = &p.query.stages[0];
    assert_eq!(scan.max_worker_count, 2);
    assert!(
        matches!(&scan.inputs[0], InputSpec::External { signature, .. } if signature.len() == 4)
    );
    let sig: Vec<(&str, ColumnType)> = scan
        .signature
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone()))
        .collect();
    assert_eq!(
        sig,
        [
            ("__bucket", ColumnType::Long),
            ("__boost", ColumnType::Long),
            ("__time", ColumnType::Long),
            ("added", ColumnType::Long),
            ("channel", ColumnType::String),
            ("timestamp", ColumnType::String),
            ("user", ColumnType::String),
        ]
    );
    let shuffle = scan.shuffle_spec.as_ref().unwrap();
    assert!(matches!(
        shuffle,
        ShuffleSpec::TargetSize {
            target_size: 3_000_000,
            ..
        }
    ));
    assert_eq!(
        keys(shuffle),
        [
            ("__bucket".to_owned(), KeyOrder::Ascending),
            ("__boost".to_owned(), KeyOrder::Ascending)
        ]
    );
    assert_eq!(shuffle.cluster_by().unwrap().bucket_by_count, 1);
    assert!(scan.shuffle_check_has_multiple_values);
    // __bucket = TIME_FLOOR(__time, 'P1D').
    let steps = &program(scan).steps;
    let Some(Step::Project(last)) = steps.last() else {
        panic!("{steps:?}")
    };
    assert_eq!(last[0].name, "__bucket");
    let text = format!("{:?}", last[0].expr);
    assert!(text.contains("TimeFloor") && text.contains("P1D"), "{text}");

    let generator = &p.query.stages[1];
    assert!(generator.signature.is_empty());
    assert_eq!(
        generator.inputs,
        [InputSpec::Stage {
            stage: StageNumber(0)
        }]
    );
    let model = serde_json::to_value(generator.to_model("q")).unwrap();
    let processor = &model["processor"];
    assert_eq!(processor["type"], "segmentGenerator");
    assert_eq!(processor["dataSchema"]["dataSource"], "wikipedia");
    assert_eq!(
        processor["dataSchema"]["dimensionsSpec"]["dimensions"][0]["name"],
        "added"
    );
    assert_eq!(
        processor["dataSchema"]["dimensionsSpec"]["dimensions"][0]["type"],
        "long"
    );
    assert_eq!(
        processor["columnMappings"][0],
        json!({"queryColumn": "__time", "outputColumn": "__time"})
    );
    assert_eq!(processor["tuningConfig"]["rowsPerSegment"], 3_000_000);
    assert_eq!(processor["tuningConfig"]["maxNumWorkers"], 2);
    let PlannedKind::Ingest(spec) = &p.kind else {
        panic!()
    };
    assert_eq!(spec.data_source, "wikipedia");
    assert_eq!(spec.replace, None);
    assert_eq!(spec.granularity, msq_sql::Granularity::Day);
    assert!(!spec.rollup);
    // The scan's native query carries the ingest context.
    let query = &model_stage(&p, 0)["processor"]["query"];
    assert_eq!(query["queryType"], "scan");
    assert_eq!(query["context"]["sqlInsertSegmentGranularity"], "\"DAY\"");
}

fn model_stage(p: &PlannedQuery, n: usize) -> Value {
    serde_json::to_value(p.query.stages[n].to_model("q")).unwrap()
}

#[test]
fn replace_all_with_clustering_and_rows_per_segment() {
    let p = plan_with(
        "REPLACE INTO dst OVERWRITE ALL SELECT __time, dim1, cnt FROM foo PARTITIONED BY ALL CLUSTERED BY dim1",
        json!({"rowsPerSegment": 1000}),
    )
    .unwrap();
    assert_eq!(types(&p), ["scan", "segmentGenerator"]);
    let shuffle = p.query.stages[0].shuffle_spec.as_ref().unwrap();
    assert!(matches!(
        shuffle,
        ShuffleSpec::TargetSize {
            target_size: 1000,
            ..
        }
    ));
    assert_eq!(keys(shuffle)[1].0, "dim1");
    assert!(
        matches!(&p.query.stages[0].inputs[0], InputSpec::Table { data_source, intervals } if data_source == "foo" && intervals[0] == ETERNITY)
    );
    let PlannedKind::Ingest(spec) = &p.kind else {
        panic!()
    };
    assert_eq!(spec.replace, Some(ReplaceScope::All));
    assert_eq!(spec.clustered_by, ["dim1"]);
    assert_eq!(spec.rows_per_segment, 1000);
}

fn ingest_spec(p: &PlannedQuery) -> &IngestSpec {
    match &p.kind {
        PlannedKind::Ingest(spec) => spec,
        other => panic!("not an ingest: {other:?}"),
    }
}

fn key_names(p: &PlannedQuery, stage: usize) -> Vec<String> {
    keys(p.query.stages[stage].shuffle_spec.as_ref().unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

fn mapped_columns(p: &PlannedQuery) -> Vec<String> {
    match &p.query.stages.last().unwrap().processor {
        ProcessorSpec::SegmentGenerator(g) => g
            .column_mappings
            .iter()
            .map(|m| m.query_column.clone())
            .collect(),
        other => panic!("not a segment generator: {other:?}"),
    }
}

#[test]
fn clustered_by_ordinals_resolve_to_output_columns() {
    let p = plan("INSERT INTO dst SELECT __time, dim1, dim2, cnt FROM foo PARTITIONED BY DAY CLUSTERED BY 3, 2");
    assert_eq!(types(&p), ["scan", "segmentGenerator"]);
    assert_eq!(key_names(&p, 0), ["__bucket", "dim2", "dim1", "__boost"]);
    assert_eq!(ingest_spec(&p).clustered_by, ["dim2", "dim1"]);
    assert_eq!(mapped_columns(&p), ["__time", "dim1", "dim2", "cnt"]);
}

#[test]
fn clustered_by_expression_is_a_hidden_shuffle_column() {
    let p = plan(
        "INSERT INTO dst SELECT __time, dim1, cnt FROM foo PARTITIONED BY DAY CLUSTERED BY LOWER(dim1), cnt",
    );
    assert_eq!(types(&p), ["scan", "segmentGenerator"]);
    // The key sits after __bucket and before __boost, in CLUSTERED BY order.
    assert_eq!(key_names(&p, 0), ["__bucket", "v0", "cnt", "__boost"]);
    let names: Vec<&str> = p.query.stages[0]
        .signature
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        names,
        ["__bucket", "__boost", "__time", "dim1", "cnt", "v0"]
    );
    assert_eq!(
        p.query.stages[0].signature[5].1,
        ColumnType::String,
        "LOWER is a string"
    );
    // Computed by the stage's last Project over the output columns (dim1 is position 1).
    let Some(Step::Project(project)) = program(&p.query.stages[0]).steps.last() else {
        panic!("no final project")
    };
    let v0 = project.iter().find(|e| e.name == "v0").unwrap();
    assert!(
        matches!(&v0.expr, ScalarExpr::Function { args, ty: SqlType::Varchar, .. }
            if matches!(&args[0], ScalarExpr::Column { index: 1, name, .. } if name == "dim1")),
        "{:?}",
        v0.expr
    );
    // Not stored.
    assert_eq!(mapped_columns(&p), ["__time", "dim1", "cnt"]);
    assert_eq!(ingest_spec(&p).clustered_by, ["LOWER(dim1)", "cnt"]);
}

#[test]
fn clustered_by_expression_matching_a_select_item_uses_its_column() {
    let p = plan(
        "INSERT INTO dst SELECT __time, UPPER(dim1) AS u, cnt FROM foo PARTITIONED BY DAY CLUSTERED BY UPPER(dim1), (cnt)",
    );
    assert_eq!(key_names(&p, 0), ["__bucket", "u", "cnt", "__boost"]);
    assert_eq!(ingest_spec(&p).clustered_by, ["u", "cnt"]);
    assert_eq!(mapped_columns(&p), ["__time", "u", "cnt"]);
}

#[test]
fn clustered_by_expression_after_group_by_and_limit() {
    // The hidden column's name avoids an output column called v0.
    let p = plan(
        "INSERT INTO dst SELECT dim1 AS v0, COUNT(*) AS c FROM foo GROUP BY dim1 \
         PARTITIONED BY ALL CLUSTERED BY c * 2",
    );
    assert_eq!(key_names(&p, 1), ["__bucket", "v1", "__boost"]);
    assert_eq!(mapped_columns(&p), ["__time", "v0", "c"]);
    let p = plan(
        "INSERT INTO dst SELECT __time, dim1 FROM foo LIMIT 10 PARTITIONED BY ALL CLUSTERED BY LOWER(dim1)",
    );
    let last_shuffled = p.query.stages.len() - 2;
    assert_eq!(key_names(&p, last_shuffled), ["__bucket", "v0", "__boost"]);
    assert_eq!(mapped_columns(&p), ["__time", "dim1"]);
}

#[test]
fn clustered_by_unknown_columns_are_errors() {
    let e = plan_err(
        "INSERT INTO dst SELECT __time, dim1 FROM foo PARTITIONED BY DAY CLUSTERED BY dim2",
    );
    assert_eq!(
        e.message(),
        "CLUSTERED BY column [dim2] must be an output column of the query"
    );
    // Expressions see the output columns only.
    let e = plan_err(
        "INSERT INTO dst SELECT __time, dim1 FROM foo PARTITIONED BY DAY CLUSTERED BY LOWER(nope)",
    );
    assert!(
        e.message().contains("Column 'nope' not found in any table"),
        "{e}"
    );
    let e =
        plan_err("INSERT INTO dst SELECT __time, dim1 FROM foo PARTITIONED BY DAY CLUSTERED BY 3");
    assert!(e.message().contains("Ordinal out of range"), "{e}");
}

#[test]
fn replace_where_intervals() {
    let p = plan(
        "REPLACE INTO dst OVERWRITE WHERE __time >= TIMESTAMP '2000-01-01' AND __time < TIMESTAMP '2000-01-02' \
         SELECT __time, dim1 FROM foo PARTITIONED BY DAY",
    );
    let PlannedKind::Ingest(spec) = &p.kind else {
        panic!()
    };
    assert_eq!(
        spec.replace,
        Some(ReplaceScope::Intervals(vec![(
            946_684_800_000,
            946_771_200_000
        )]))
    );
}

#[test]
fn ingest_group_by_and_all_without_time() {
    let p = plan_with(
        "INSERT INTO dst SELECT dim1, COUNT(*) AS c FROM foo GROUP BY dim1 PARTITIONED BY ALL",
        json!({"finalizeAggregations": false}),
    )
    .unwrap();
    assert_eq!(
        types(&p),
        [
            "groupByPreShuffle",
            "groupByPostShuffle",
            "segmentGenerator"
        ]
    );
    let names: Vec<&str> = p.query.stages[1]
        .signature
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["__bucket", "__boost", "__time", "dim1", "c"]);
    let PlannedKind::Ingest(spec) = &p.kind else {
        panic!()
    };
    assert!(spec.rollup);
}

/// Spec §1.6: a rollup ingest keeps sketches unfinalized and records combining aggregators.
#[test]
fn rollup_ingest_stores_sketches_and_lists_combining_metrics() {
    let sql = "INSERT INTO dst SELECT __time, dim1, COUNT(*) AS c, SUM(m2) AS s, \
               APPROX_COUNT_DISTINCT(dim2) AS u, COUNT(DISTINCT dim2) AS u2 \
               FROM foo GROUP BY 1, 2 PARTITIONED BY DAY";
    let p = plan_with(sql, json!({"finalizeAggregations": false})).unwrap();
    let sig: Vec<(String, ColumnType)> = p.query.stages[1].signature.clone();
    let sketch = ColumnType::Complex("HLLSketch".into());
    assert!(sig.contains(&("u".into(), sketch.clone())), "{sig:?}");
    assert!(sig.contains(&("u2".into(), sketch)), "{sig:?}");
    assert!(sig.contains(&("c".into(), ColumnType::Long)), "{sig:?}");
    let Step::Aggregate(post) = &program(&p.query.stages[1]).steps[0] else {
        panic!("post-shuffle stage starts with its aggregation")
    };
    let funcs: Vec<AggregateFunction> = post.aggregates.iter().map(|a| a.aggregate.func).collect();
    assert_eq!(
        funcs,
        [
            AggregateFunction::CountStar,
            AggregateFunction::Sum,
            AggregateFunction::HllSketch
        ],
        "the two distinct counts over dim2 share one sketch"
    );
    let schema = &model_stage(&p, 2)["processor"]["dataSchema"];
    assert_eq!(schema["granularitySpec"]["rollup"], true);
    assert_eq!(
        schema["metricsSpec"],
        json!([
            {"type": "longSum", "name": "c", "fieldName": "c"},
            {"type": "doubleSum", "name": "s", "fieldName": "s"},
            {"type": "HLLSketchMerge", "name": "u", "fieldName": "u"},
            {"type": "HLLSketchMerge", "name": "u2", "fieldName": "u2"},
        ])
    );
    let dims: Vec<&str> = schema["dimensionsSpec"]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(dims, ["dim1"]);
    assert!(ingest_spec(&p).rollup);

    // Finalized (default) ingest: the estimate, no metrics.
    let p = plan_with(sql, json!({})).unwrap();
    let schema = &model_stage(&p, 2)["processor"]["dataSchema"];
    assert_eq!(schema["granularitySpec"]["rollup"], false);
    assert_eq!(schema["metricsSpec"], json!([]));
    assert!(p.query.stages[1]
        .signature
        .contains(&("u".into(), ColumnType::Long)));

    // Subqueries stay finalized: only the outermost GROUP BY stores sketches.
    let p = plan_with(
        "INSERT INTO dst SELECT dim1, SUM(n) AS n FROM (SELECT dim1, dim2, \
         APPROX_COUNT_DISTINCT(m1) AS n FROM foo GROUP BY 1, 2) GROUP BY 1 PARTITIONED BY ALL",
        json!({"finalizeAggregations": false}),
    )
    .unwrap();
    let last = p.query.stages.len() - 2;
    assert!(p.query.stages[last]
        .signature
        .contains(&("n".into(), ColumnType::Long)));

    // AVG is not rollup-safe.
    let err = plan_with(
        "INSERT INTO dst SELECT dim1, AVG(m1) AS a FROM foo GROUP BY 1 PARTITIONED BY ALL",
        json!({"finalizeAggregations": false}),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("Aggregation [AVG] is not supported in a rollup ingestion"),
        "{err}"
    );
}

/// A stored `COMPLEX<HLLSketch>` column is merged, not counted by its bytes.
#[test]
fn distinct_counts_over_sketch_columns_merge() {
    let p =
        plan("SELECT channel, APPROX_COUNT_DISTINCT(u), COUNT(DISTINCT u) FROM rolled GROUP BY 1");
    let Step::Aggregate(pre) = &program(&p.query.stages[0]).steps[0] else {
        panic!("pre-shuffle stage starts with its aggregation")
    };
    assert_eq!(pre.aggregates.len(), 1, "both calls are one merge");
    assert_eq!(
        pre.aggregates[0].aggregate.func,
        AggregateFunction::ApproxCountDistinctMerge
    );
    assert_eq!(pre.aggregates[0].aggregate.ty, SqlType::Bigint);
    // Exact COUNT(DISTINCT) cannot count sketches: it merges them too.
    let p = plan_with(
        "SELECT COUNT(DISTINCT u) FROM rolled",
        json!({"useApproximateCountDistinct": false}),
    )
    .unwrap();
    let Step::Aggregate(pre) = &program(&p.query.stages[0]).steps[0] else {
        panic!("pre-shuffle stage starts with its aggregation")
    };
    assert_eq!(
        pre.aggregates[0].aggregate.func,
        AggregateFunction::ApproxCountDistinctMerge
    );
}

#[test]
fn ingest_errors() {
    let e =
        plan_err("INSERT INTO dst SELECT __time, dim1 FROM foo ORDER BY dim1 PARTITIONED BY DAY");
    assert!(
        e.message()
            .contains("Cannot use an ORDER BY clause on a Query of type [INSERT]"),
        "{e}"
    );
    let e = plan_err("INSERT INTO dst SELECT dim1 AS __time FROM foo PARTITIONED BY DAY");
    assert!(
        e.message()
            .contains("Field [__time] was the wrong type [VARCHAR], expected TIMESTAMP"),
        "{e}"
    );
    let e = plan_err("INSERT INTO dst SELECT __time, dim1 AS __bucket FROM foo PARTITIONED BY DAY");
    assert_eq!(e.code(), ErrorCode::ColumnNameRestricted);
    let e = plan_err(
        "INSERT INTO dst SELECT __time, dim1 FROM foo PARTITIONED BY DAY CLUSTERED BY nope",
    );
    assert!(e.message().contains("nope"), "{e}");
    let e = plan_err("INSERT INTO dst SELECT __time, dim1 FROM foo LIMIT 10 PARTITIONED BY DAY");
    assert!(e.message().contains("LIMIT"), "{e}");
}

#[test]
fn ingest_limit_with_all_adds_limit_stage() {
    let p = plan("INSERT INTO dst SELECT __time, dim1 FROM foo LIMIT 10 PARTITIONED BY ALL");
    assert_eq!(types(&p), ["scan", "limit", "scan", "segmentGenerator"]);
    assert!(matches!(
        p.query.stages[2].shuffle_spec,
        Some(ShuffleSpec::TargetSize { .. })
    ));
}

#[test]
fn plain_scan_is_one_mix_stage() {
    let p = plan("SELECT dim1, cnt + 1 AS c1, m1 FROM foo WHERE dim1 <> 'a'");
    assert_eq!(types(&p), ["scan"]);
    let s = &p.query.stages[0];
    assert_eq!(s.shuffle_spec, Some(ShuffleSpec::Mix));
    assert_eq!(s.max_worker_count, 1);
    assert_eq!(
        select_columns(&p),
        [
            ("dim1".to_owned(), SqlType::Varchar),
            ("c1".to_owned(), SqlType::Bigint),
            ("m1".to_owned(), SqlType::Float)
        ]
    );
    let steps = &program(s).steps;
    assert!(matches!(steps[0], Step::Filter(_)));
    assert!(matches!(steps[1], Step::Project(ref p) if p.len() == 3));
    assert_eq!(s.signature[2], ("m1".to_owned(), ColumnType::Float));
}

#[test]
fn select_star_and_max_num_tasks() {
    let p = plan_with("SELECT * FROM foo", json!({"maxNumTasks": 5})).unwrap();
    assert_eq!(select_columns(&p).len(), 6);
    assert_eq!(
        select_columns(&p)[0],
        ("__time".to_owned(), SqlType::Timestamp)
    );
    assert_eq!(p.query.stages[0].max_worker_count, 4);
}

#[test]
fn limit_offset_shapes() {
    let p = plan("SELECT dim1 FROM foo LIMIT 10 OFFSET 5");
    assert_eq!(types(&p), ["scan", "limit"]);
    assert_eq!(p.query.stages[0].shuffle_spec, Some(ShuffleSpec::Mix));
    assert!(matches!(
        program(&p.query.stages[0]).steps.last(),
        Some(Step::Limit {
            offset: 0,
            limit: Some(15)
        })
    ));
    let ProcessorSpec::Limit(l) = &p.query.stages[1].processor else {
        panic!()
    };
    assert_eq!((l.offset, l.limit), (5, Some(10)));
    assert_eq!(p.query.stages[1].max_worker_count, 1);
}

#[test]
fn order_by_shapes() {
    // ORDER BY + LIMIT: sorted scan → limit.
    let p = plan("SELECT dim1, cnt FROM foo ORDER BY cnt DESC, 1 LIMIT 3");
    assert_eq!(types(&p), ["scan", "limit"]);
    let shuffle = p.query.stages[0].shuffle_spec.as_ref().unwrap();
    assert!(matches!(
        shuffle,
        ShuffleSpec::MaxCount { partitions: 1, .. }
    ));
    assert_eq!(
        keys(shuffle),
        [
            ("cnt".to_owned(), KeyOrder::Descending),
            ("dim1".to_owned(), KeyOrder::Ascending)
        ]
    );
    // ORDER BY a non-selected expression: hidden column dropped by a final stage.
    let p = plan("SELECT dim1 AS d FROM foo ORDER BY m1 + 1");
    assert_eq!(types(&p), ["scan", "scan"]);
    let names: Vec<&str> = p.query.stages[0]
        .signature
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["d", "_s0"]);
    assert_eq!(
        keys(p.query.stages[0].shuffle_spec.as_ref().unwrap())[0].0,
        "_s0"
    );
    assert_eq!(
        p.query.stages[1].signature,
        [("d".to_owned(), ColumnType::String)]
    );
    assert_eq!(select_columns(&p), [("d".to_owned(), SqlType::Varchar)]);
    // ORDER BY alias.
    let p = plan("SELECT dim1 AS d FROM foo ORDER BY d");
    assert_eq!(
        keys(p.query.stages[0].shuffle_spec.as_ref().unwrap())[0].0,
        "d"
    );
}

#[test]
fn group_by_shapes() {
    let p = plan_with(
        "SELECT dim1, COUNT(*) AS c, SUM(cnt) AS s, AVG(m2) FROM foo WHERE cnt > 0 GROUP BY dim1 HAVING COUNT(*) > 1",
        json!({"maxNumTasks": 3}),
    )
    .unwrap();
    assert_eq!(types(&p), ["groupByPreShuffle", "groupByPostShuffle"]);
    let pre = &p.query.stages[0];
    let shuffle = pre.shuffle_spec.as_ref().unwrap();
    assert!(matches!(
        shuffle,
        ShuffleSpec::MaxCount {
            partitions: 2,
            aggregate: true,
            ..
        }
    ));
    assert_eq!(keys(shuffle), [("d0".to_owned(), KeyOrder::Ascending)]);
    let steps = &program(pre).steps;
    assert!(matches!(steps[0], Step::Filter(_)));
    let Step::Aggregate(partial) = &steps[1] else {
        panic!("{steps:?}")
    };
    assert_eq!(partial.mode, AggregateMode::Partial);
    assert_eq!(
        partial.aggregates.len(),
        3,
        "COUNT(*) is shared by SELECT and HAVING"
    );
    let names: Vec<&str> = pre.signature.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["d0", "a0", "a1", "a2$sum", "a2$count"]);
    let post = &p.query.stages[1];
    let steps = &program(post).steps;
    let Step::Aggregate(fin) = &steps[0] else {
        panic!()
    };
    assert_eq!(fin.mode, AggregateMode::Final);
    assert_eq!(fin.aggregates, partial.aggregates);
    assert!(matches!(steps[1], Step::Filter(_)));
    assert!(matches!(steps[2], Step::Project(_)));
    assert_eq!(
        select_columns(&p),
        [
            ("dim1".to_owned(), SqlType::Varchar),
            ("c".to_owned(), SqlType::Bigint),
            ("s".to_owned(), SqlType::Bigint),
            ("EXPR$3".to_owned(), SqlType::Double)
        ]
    );
    assert_eq!(post.shuffle_spec, Some(ShuffleSpec::Mix));
}

#[test]
fn group_by_ordinal_alias_expression_and_order_limit() {
    let p = plan("SELECT SUBSTRING(dim1, 1, 1) AS s, COUNT(*) FROM foo GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 5");
    assert_eq!(
        types(&p),
        ["groupByPreShuffle", "groupByPostShuffle", "limit"]
    );
    let post = &p.query.stages[1];
    assert_eq!(
        keys(post.shuffle_spec.as_ref().unwrap()),
        [("EXPR$1".to_owned(), KeyOrder::Descending)]
    );
    let p2 = plan("SELECT SUBSTRING(dim1, 1, 1) AS s, COUNT(*) FROM foo GROUP BY s");
    let p3 =
        plan("SELECT SUBSTRING(dim1, 1, 1) AS s, COUNT(*) FROM foo GROUP BY SUBSTRING(dim1, 1, 1)");
    assert_eq!(program(&p2.query.stages[0]), program(&p3.query.stages[0]));
    // Global aggregate: no keys → mix, one post worker.
    let p = plan("SELECT COUNT(*), MAX(__time) FROM foo");
    assert_eq!(p.query.stages[0].shuffle_spec, Some(ShuffleSpec::Mix));
    assert_eq!(select_columns(&p)[1].1, SqlType::Timestamp);
}

#[test]
fn aggregate_functions_and_types() {
    let p = plan(
        "SELECT COUNT(DISTINCT dim1), APPROX_COUNT_DISTINCT(dim2), COUNT(dim1), MIN(m1), EARLIEST(dim1), \
         LATEST(cnt), ANY_VALUE(dim2), SUM(m1) FILTER (WHERE dim1 = 'a') FROM foo",
    );
    let Step::Aggregate(a) = &program(&p.query.stages[0]).steps[0] else {
        panic!()
    };
    let funcs: Vec<AggregateFunction> = a.aggregates.iter().map(|x| x.aggregate.func).collect();
    assert_eq!(
        funcs,
        [
            AggregateFunction::ApproxCountDistinct,
            AggregateFunction::ApproxCountDistinct,
            AggregateFunction::Count,
            AggregateFunction::Min,
            AggregateFunction::Earliest,
            AggregateFunction::Latest,
            AggregateFunction::AnyValue,
            AggregateFunction::Sum
        ]
    );
    assert_eq!(
        a.aggregates[4].aggregate.args[1],
        ScalarExpr::column(0, "__time", SqlType::Timestamp)
    );
    assert!(a.aggregates[7].aggregate.filter.is_some());
    let types: Vec<SqlType> = select_columns(&p).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        types,
        [
            SqlType::Bigint,
            SqlType::Bigint,
            SqlType::Bigint,
            SqlType::Float,
            SqlType::Varchar,
            SqlType::Bigint,
            SqlType::Varchar,
            SqlType::Double
        ]
    );
    // Exact COUNT(DISTINCT): Druid's GROUP BY of a GROUP BY, four stages.
    let p = plan_with(
        "SELECT COUNT(DISTINCT dim1), COUNT(*) FROM foo",
        json!({"useApproximateCountDistinct": false}),
    )
    .unwrap();
    assert_eq!(
        self::types(&p),
        [
            "groupByPreShuffle",
            "groupByPostShuffle",
            "groupByPreShuffle",
            "groupByPostShuffle"
        ]
    );
    let Step::Aggregate(inner) = &program(&p.query.stages[0]).steps[0] else {
        panic!()
    };
    assert_eq!(
        inner.group_by[0].expr,
        ScalarExpr::column(1, "dim1", SqlType::Varchar)
    );
    assert_eq!(
        inner.aggregates[0].aggregate.func,
        AggregateFunction::CountStar
    );
    let Step::Aggregate(outer) = &program(&p.query.stages[2]).steps[0] else {
        panic!()
    };
    let funcs: Vec<_> = outer.aggregates.iter().map(|a| a.aggregate.func).collect();
    assert_eq!(funcs, [AggregateFunction::Count, AggregateFunction::Sum]);
    // Shapes the rewrite does not cover keep the one-stage set-valued plan.
    let p = plan_with(
        "SELECT COUNT(DISTINCT dim1), COUNT(DISTINCT dim2) FROM foo",
        json!({"useApproximateCountDistinct": false}),
    )
    .unwrap();
    let Step::Aggregate(a) = &program(&p.query.stages[0]).steps[0] else {
        panic!()
    };
    assert_eq!(
        a.aggregates[0].aggregate.func,
        AggregateFunction::CountDistinct
    );
    let e = plan_err("SELECT LATEST(k) FROM lookyloo");
    assert!(e.message().contains("__time"), "{e}");
}

#[test]
fn functions_bind_with_their_types() {
    use SqlType::*;
    let cases: &[(&str, SqlType)] = &[
        ("LOWER(dim1)", Varchar),
        ("UPPER(dim1)", Varchar),
        ("CONCAT(dim1, 'x', cnt)", Varchar),
        ("dim1 || dim2", Varchar),
        ("SUBSTRING(dim1, 2)", Varchar),
        ("SUBSTR(dim1, 2, 3)", Varchar),
        ("TRIM(dim1)", Varchar),
        ("TRIM(LEADING 'x' FROM dim1)", Varchar),
        ("LTRIM(dim1)", Varchar),
        ("RTRIM(dim1, 'x')", Varchar),
        ("BTRIM(dim1)", Varchar),
        ("LENGTH(dim1)", Bigint),
        ("CHAR_LENGTH(dim1)", Bigint),
        ("REPLACE(dim1, 'a', 'b')", Varchar),
        ("STRPOS(dim1, 'a')", Bigint),
        ("REGEXP_EXTRACT(dim1, 'a(b)', 1)", Varchar),
        ("REGEXP_LIKE(dim1, '^a')", Boolean),
        ("ABS(cnt)", Bigint),
        ("FLOOR(m2)", Double),
        ("CEIL(m1)", Float),
        ("CEILING(m2)", Double),
        ("ROUND(m2, 2)", Double),
        ("MOD(cnt, 3)", Bigint),
        ("POWER(cnt, 2)", Double),
        ("LN(m2)", Double),
        ("SQRT(cnt)", Double),
        ("COALESCE(dim1, 'x')", Varchar),
        ("NULLIF(cnt, 0)", Bigint),
        ("CAST(dim1 AS BIGINT)", Bigint),
        ("CAST(cnt AS VARCHAR)", Varchar),
        ("CAST(cnt AS DOUBLE)", Double),
        ("TIME_PARSE(dim1)", Timestamp),
        ("TIME_PARSE(dim1, 'yyyy', 'America/New_York')", Timestamp),
        ("TIME_FORMAT(__time, 'yyyy-MM')", Varchar),
        ("TIME_FLOOR(__time, 'PT1H')", Timestamp),
        ("TIME_CEIL(__time, 'P1D')", Timestamp),
        ("TIME_SHIFT(__time, 'P1D', -1)", Timestamp),
        ("TIME_EXTRACT(__time, 'HOUR')", Bigint),
        ("FLOOR(__time TO DAY)", Timestamp),
        ("CEIL(__time TO MONTH)", Timestamp),
        ("EXTRACT(YEAR FROM __time)", Bigint),
        ("DATE_TRUNC('week', __time)", Timestamp),
        ("MILLIS_TO_TIMESTAMP(cnt)", Timestamp),
        ("TIMESTAMP_TO_MILLIS(__time)", Bigint),
        ("CURRENT_TIMESTAMP", Timestamp),
        ("TIMESTAMP '2000-01-01 00:00:00'", Timestamp),
        ("CASE WHEN cnt > 1 THEN 'a' ELSE 'b' END", Varchar),
        ("CASE dim1 WHEN 'a' THEN 1 WHEN 'b' THEN 2.5 END", Double),
        ("dim1 IN ('a', 'b')", Boolean),
        ("cnt NOT BETWEEN 1 AND 3", Boolean),
        ("dim1 LIKE 'a%' ESCAPE '!'", Boolean),
        ("dim1 IS NOT NULL", Boolean),
        ("(cnt > 1) IS TRUE", Boolean),
        ("cnt + m2", Double),
        ("cnt / 2", Bigint),
        ("-cnt", Bigint),
    ];
    for (expr, ty) in cases {
        assert_eq!(&type_of(expr), ty, "{expr}");
    }
}

#[test]
fn bound_expressions_fill_defaults_and_cast() {
    let tz = ScalarExpr::literal(Literal::String("UTC".into()));
    let ScalarExpr::Function { func, args, .. } = bound("TIME_FLOOR(__time, 'PT1H')") else {
        panic!()
    };
    assert_eq!(func, ScalarFunction::TimeFloor);
    assert_eq!(args.len(), 4);
    assert_eq!(
        args[2],
        ScalarExpr::literal(Literal::Null(SqlType::Timestamp))
    );
    assert_eq!(args[3], tz);
    // sqlTimeZone from the context.
    let p = plan_with(
        "SELECT EXTRACT(HOUR FROM __time) FROM foo",
        json!({"sqlTimeZone": "Asia/Tokyo"}),
    )
    .unwrap();
    let Some(Step::Project(items)) = program(&p.query.stages[0]).steps.last() else {
        panic!()
    };
    let ScalarExpr::Function { func, args, .. } = &items[0].expr else {
        panic!()
    };
    assert_eq!(*func, ScalarFunction::TimeExtract(TimeUnit::Hour));
    assert_eq!(
        args[1],
        ScalarExpr::literal(Literal::String("Asia/Tokyo".into()))
    );
    // Implicit casts: BIGINT + DOUBLE → both DOUBLE.
    let ScalarExpr::Binary {
        left, right, ty, ..
    } = bound("cnt + m2")
    else {
        panic!()
    };
    assert_eq!(ty, SqlType::Double);
    assert_eq!(left.sql_type(), SqlType::Double);
    assert_eq!(right.sql_type(), SqlType::Double);
    // A timestamp compared with a string literal folds the literal.
    let ScalarExpr::Binary { right, .. } = bound("__time >= '2000-01-01'") else {
        panic!()
    };
    assert_eq!(
        *right,
        ScalarExpr::literal(Literal::Timestamp(946_684_800_000))
    );
    assert_eq!(
        bound("CURRENT_TIMESTAMP"),
        ScalarExpr::literal(Literal::Timestamp(NOW))
    );
    let ScalarExpr::Function { func, args, .. } = bound("FLOOR(__time TO DAY)") else {
        panic!()
    };
    assert_eq!(func, ScalarFunction::TimeFloor);
    assert_eq!(args[1], ScalarExpr::literal(Literal::String("P1D".into())));
    let ScalarExpr::Like {
        pattern, escape, ..
    } = bound("dim1 LIKE 'a!%%' ESCAPE '!'")
    else {
        panic!()
    };
    assert_eq!((pattern.as_str(), escape), ("a!%%", Some('!')));
}

#[test]
fn parameters_are_bound_before_planning() {
    let parsed = msq_sql::parse_query_with_parameters(
        "SELECT dim1 FROM foo WHERE cnt > ? AND dim1 = ?",
        &[
            serde_json::from_value(json!({"type": "BIGINT", "value": 3})).unwrap(),
            serde_json::from_value(json!({"type": "VARCHAR", "value": "x"})).unwrap(),
        ],
    )
    .unwrap();
    let ctx = Map::new();
    let request = PlanRequest {
        query_id: "q",
        context: &ctx,
        catalog: &TestCatalog,
        now_ms: 0,
    };
    let p = plan_statement(&parsed.statement, &request).unwrap();
    let Step::Filter(f) = &program(&p.query.stages[0]).steps[0] else {
        panic!()
    };
    let text = format!("{f:?}");
    assert!(
        text.contains("Long(3)") && text.contains("String(\"x\")"),
        "{text}"
    );
}

#[test]
fn binder_errors_name_the_thing() {
    let e = plan_err("SELECT nope FROM foo");
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message()
            .starts_with("Column 'nope' not found in any table"),
        "{e}"
    );
    assert_eq!(msq_sql::error_location(&e), Some((1, 8)));
    let e = plan_err("SELECT x FROM bar");
    assert!(e.message().starts_with("Object 'bar' not found"), "{e}");
    let e = plan_err("SELECT FOO(dim1) FROM foo");
    assert!(
        e.message()
            .starts_with("No match found for function signature FOO(<CHARACTER>)"),
        "{e}"
    );
    let e = plan_err("SELECT Dim1 FROM foo");
    assert!(
        e.message().contains("'Dim1'"),
        "identifiers are case-sensitive: {e}"
    );
    let e = plan_err("SELECT dim1, COUNT(*) FROM foo GROUP BY dim2");
    assert!(
        e.message()
            .contains("Expression 'dim1' is not being grouped"),
        "{e}"
    );
    let e = plan_err("SELECT dim1 FROM foo WHERE dim1 = TRUE AND cnt = 'a' AND __time = dim1 AND m1 > TIME_PARSE(dim1)");
    assert!(e.message().contains("Cannot apply"), "{e}");
    let e = plan_err("SELECT dim1 FROM foo a JOIN foo b ON a.dim1 = b.dim1");
    assert!(e.message().starts_with("Column 'dim1' is ambiguous"), "{e}");
    let e = plan_err("SELECT z.dim1 FROM foo");
    assert!(e.message().starts_with("Table 'z' not found"), "{e}");
}

#[test]
fn system_tables_are_rejected() {
    let e = plan_with("SELECT * FROM INFORMATION_SCHEMA.TABLES", json!({})).unwrap_err();
    assert!(
        e.message().contains(
            "Cannot query table(s) [INFORMATION_SCHEMA.TABLES] with SQL engine [msq-task]"
        ),
        "{e}"
    );
}

#[test]
fn subqueries_ctes_and_unions() {
    let p = plan("WITH t AS (SELECT dim1, cnt FROM foo WHERE cnt > 1) SELECT x.dim1 FROM t AS x");
    assert_eq!(types(&p), ["scan", "scan"]);
    assert_eq!(
        p.query.stages[1].inputs,
        [InputSpec::Stage {
            stage: StageNumber(0)
        }]
    );
    let p = plan(
        "SELECT d, c FROM (SELECT dim1 AS d, COUNT(*) AS c FROM foo GROUP BY dim1) WHERE c > 2",
    );
    assert_eq!(
        types(&p),
        ["groupByPreShuffle", "groupByPostShuffle", "scan"]
    );
    let p = plan("SELECT dim1 FROM foo UNION ALL SELECT dim2 AS dim1 FROM foo UNION ALL SELECT k AS dim1 FROM lookyloo");
    assert_eq!(types(&p), ["scan", "scan", "scan", "scan"]);
    assert_eq!(p.query.stages[3].inputs.len(), 3);
    assert!(p.query.stages[3].broadcast_inputs.is_empty());
    let e = plan_err("SELECT dim1 FROM foo UNION ALL SELECT cnt AS dim1 FROM foo");
    assert!(e.message().contains("UNION ALL"), "{e}");
}

#[test]
fn joins_broadcast_the_right_side() {
    let p = plan(
        "SELECT f.dim1, l.v FROM foo f LEFT JOIN (SELECT k, v FROM lookyloo) l ON f.dim1 = l.k AND l.v <> 'x' WHERE f.cnt > 0",
    );
    assert_eq!(types(&p), ["scan", "scan"]);
    let s = &p.query.stages[1];
    assert_eq!(
        s.inputs[1],
        InputSpec::Stage {
            stage: StageNumber(0)
        }
    );
    assert!(s.is_broadcast(1));
    let prog = program(s);
    assert_eq!(prog.broadcast_inputs, [1]);
    let Step::Join(j) = &prog.steps[0] else {
        panic!()
    };
    assert_eq!(j.kind, JoinKind::Left);
    assert_eq!(
        j.left_keys,
        [ScalarExpr::column(1, "dim1", SqlType::Varchar)]
    );
    assert_eq!(j.right_keys, [ScalarExpr::column(0, "k", SqlType::Varchar)]);
    assert!(j.condition.is_some());
    assert_eq!(
        select_columns(&p),
        [
            ("dim1".to_owned(), SqlType::Varchar),
            ("v".to_owned(), SqlType::Varchar)
        ]
    );
    // Table inputs join directly.
    let p = plan("SELECT COUNT(*) FROM foo INNER JOIN lookyloo ON dim1 = k");
    assert!(
        matches!(&p.query.stages[0].inputs[1], InputSpec::Table { data_source, .. } if data_source == "lookyloo")
    );
}

#[test]
fn extern_inputs_read_the_declared_signature() {
    let p = plan(
        "SELECT x, y + 1 AS y1 FROM TABLE(inline(data => ARRAY['a,1'], format => 'csv')) (x VARCHAR, y BIGINT)",
    );
    let InputSpec::External {
        signature,
        input_source,
        ..
    } = &p.query.stages[0].inputs[0]
    else {
        panic!()
    };
    assert_eq!(
        signature,
        &vec![
            ("x".to_owned(), ColumnType::String),
            ("y".to_owned(), ColumnType::Long)
        ]
    );
    assert_eq!(input_source["type"], "inline");
    assert_eq!(select_columns(&p)[1], ("y1".to_owned(), SqlType::Bigint));
}

#[test]
fn explain_wraps_the_inner_plan() {
    let p = plan("EXPLAIN PLAN FOR SELECT dim1 FROM foo LIMIT 1");
    let PlannedKind::Explain { inner } = &p.kind else {
        panic!()
    };
    assert!(matches!(inner.kind, PlannedKind::Select { .. }));
    assert_eq!(types(&p), ["scan", "limit"]);
}

/// The docs' example report (spec `sql-ingestion-api.md`; the hand-built plan of
/// tests/golden.rs): everything but the display-only native query must match Druid's JSON.
#[test]
fn kttm_insert_matches_the_documented_report() {
    let sql = r#"INSERT INTO kttm_simple
SELECT TIME_PARSE("timestamp") AS __time, agent_category
FROM TABLE(EXTERN(
  '{"type":"http","uris":["https://static.imply.io/example-data/kttm-v2/kttm-v2-2019-08-25.json.gz"]}',
  '{"type":"json"}',
  '[{"name":"timestamp","type":"string"},{"name":"agent_category","type":"string"}]'
))
PARTITIONED BY DAY"#;
    let parsed = msq_sql::parse_query(sql).unwrap();
    let ctx = Map::new();
    let request = PlanRequest {
        query_id: "71ecb11e-09d7-42f8-9225-1662c8e7e121",
        context: &ctx,
        catalog: &TestCatalog,
        now_ms: 0,
    };
    let p = plan_statement(&parsed.statement, &request).unwrap();
    let mut stages = serde_json::to_value(p.query.to_model()).unwrap();
    let scan = stages[0].as_object_mut().unwrap();
    let query = scan.remove("processor").unwrap()["query"].clone();
    assert_eq!(query["queryType"], "scan");
    assert_eq!(
        query["dataSource"],
        json!({"type": "inputNumber", "inputNumber": 0})
    );
    assert_eq!(query["context"]["finalize"], false);
    assert_eq!(query["context"]["sqlInsertSegmentGranularity"], "\"DAY\"");
    assert_eq!(
        stages[0],
        json!({
            "id": "71ecb11e-09d7-42f8-9225-1662c8e7e121_0",
            "input": [{
                "type": "external",
                "inputSource": {"type": "http", "uris": ["https://static.imply.io/example-data/kttm-v2/kttm-v2-2019-08-25.json.gz"]},
                "inputFormat": {"type": "json"},
                "signature": [{"name": "timestamp", "type": "STRING"}, {"name": "agent_category", "type": "STRING"}]
            }],
            "signature": [
                {"name": "__bucket", "type": "LONG"},
                {"name": "__boost", "type": "LONG"},
                {"name": "__time", "type": "LONG"},
                {"name": "agent_category", "type": "STRING"}
            ],
            "shuffleSpec": {
                "type": "targetSize",
                "clusterBy": {
                    "columns": [
                        {"columnName": "__bucket", "order": "ASCENDING"},
                        {"columnName": "__boost", "order": "ASCENDING"}
                    ],
                    "bucketByCount": 1
                },
                "targetSize": 3000000
            },
            "maxWorkerCount": 1,
            "shuffleCheckHasMultipleValues": true
        })
    );
    assert_eq!(
        stages[1],
        json!({
            "id": "71ecb11e-09d7-42f8-9225-1662c8e7e121_1",
            "input": [{"type": "stage", "stage": 0}],
            "processor": {
                "type": "segmentGenerator",
                "dataSchema": {
                    "dataSource": "kttm_simple",
                    "timestampSpec": {"column": "__time", "format": "millis", "missingValue": null},
                    "dimensionsSpec": {
                        "dimensions": [
                            {"type": "string", "name": "agent_category", "multiValueHandling": "SORTED_ARRAY", "createBitmapIndex": true}
                        ],
                        "dimensionExclusions": ["__time"],
                        "includeAllDimensions": false
                    },
                    "metricsSpec": [],
                    "granularitySpec": {"type": "arbitrary", "queryGranularity": {"type": "none"}, "rollup": false,
                                        "intervals": ["-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z"],
                                        // Acorn's addition: what the segment generator chunks by.
                                        "segmentGranularity": "DAY"},
                    "transformSpec": {"filter": null, "transforms": []}
                },
                "columnMappings": [
                    {"queryColumn": "__time", "outputColumn": "__time"},
                    {"queryColumn": "agent_category", "outputColumn": "agent_category"}
                ],
                "tuningConfig": {"maxNumWorkers": 1, "maxRowsInMemory": 100000, "rowsPerSegment": 3000000}
            },
            "signature": [],
            "maxWorkerCount": 1
        })
    );
}

#[test]
fn duplicate_output_names_are_made_unique() {
    let p = plan("SELECT dim1, dim1, cnt AS dim1 FROM foo");
    let names: Vec<String> = select_columns(&p).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["dim1", "dim10", "dim11"]);
}

#[test]
fn in_with_columns_becomes_equalities() {
    let e = bound("dim1 IN ('a', dim2)");
    assert!(
        matches!(
            e,
            ScalarExpr::Binary {
                op: BinaryOp::Or,
                ..
            }
        ),
        "{e:?}"
    );
    let e = bound("cnt NOT IN (1, 2.5)");
    let ScalarExpr::InList {
        expr,
        list,
        negated,
    } = e
    else {
        panic!()
    };
    assert!(negated);
    assert_eq!(expr.sql_type(), SqlType::Double);
    assert_eq!(
        list,
        [
            ScalarExpr::literal(Literal::Double(1.0)),
            ScalarExpr::literal(Literal::Double(2.5))
        ]
    );
}

#[test]
fn group_by_limit_cuts_off_per_worker() {
    let p = plan("SELECT dim1, COUNT(*) FROM foo GROUP BY dim1 LIMIT 2 OFFSET 1");
    assert_eq!(
        types(&p),
        ["groupByPreShuffle", "groupByPostShuffle", "limit"]
    );
    assert!(matches!(
        program(&p.query.stages[1]).steps.last(),
        Some(Step::Limit {
            offset: 0,
            limit: Some(3)
        })
    ));
    assert_eq!(p.query.stages[1].shuffle_spec, Some(ShuffleSpec::Mix));
}

#[test]
fn having_may_use_select_aliases() {
    let a = plan("SELECT dim1, COUNT(*) AS c FROM foo GROUP BY dim1 HAVING c > 1");
    let b = plan("SELECT dim1, COUNT(*) AS c FROM foo GROUP BY dim1 HAVING COUNT(*) > 1");
    assert_eq!(program(&a.query.stages[1]), program(&b.query.stages[1]));
    let e = plan_err("SELECT dim1 FROM foo WHERE nope > 1");
    assert!(
        e.message()
            .starts_with("Column 'nope' not found in any table"),
        "{e}"
    );
}

#[test]
fn interval_arithmetic_shifts_time() {
    let ScalarExpr::Function { func, args, ty } = bound("__time - INTERVAL '2' DAY") else {
        panic!()
    };
    assert_eq!((func, ty), (ScalarFunction::TimeShift, SqlType::Timestamp));
    assert_eq!(args[1], ScalarExpr::literal(Literal::String("P1D".into())));
    assert_eq!(args[2], ScalarExpr::literal(Literal::Long(-2)));
    assert_eq!(
        type_of("CURRENT_TIMESTAMP + INTERVAL '1' HOUR"),
        SqlType::Timestamp
    );
}

#[test]
fn values_and_select_without_from_read_inline_rows() {
    let p = plan("SELECT x, y FROM (VALUES (1, 'a'), (2.5, NULL)) AS t(x, y) WHERE x > 1");
    assert_eq!(types(&p), ["scan", "scan"]);
    let InputSpec::External {
        input_source,
        input_format,
        signature,
    } = &p.query.stages[0].inputs[0]
    else {
        panic!()
    };
    assert_eq!(input_source["type"], "inline");
    assert_eq!(
        input_source["data"],
        "{\"EXPR$0\":1.0,\"EXPR$1\":\"a\"}\n{\"EXPR$0\":2.5,\"EXPR$1\":null}\n"
    );
    assert_eq!(input_format["type"], "json");
    assert_eq!(
        signature,
        &vec![
            ("EXPR$0".to_owned(), ColumnType::Double),
            ("EXPR$1".to_owned(), ColumnType::String)
        ]
    );
    assert_eq!(
        select_columns(&p),
        [
            ("x".to_owned(), SqlType::Double),
            ("y".to_owned(), SqlType::Varchar)
        ]
    );

    let p = plan("SELECT 1 + 1 AS two, UPPER('a')");
    assert_eq!(types(&p), ["scan"]);
    assert_eq!(
        select_columns(&p),
        [
            ("two".to_owned(), SqlType::Bigint),
            ("EXPR$1".to_owned(), SqlType::Varchar)
        ]
    );
    assert!(
        matches!(&p.query.stages[0].inputs[0], InputSpec::External { input_source, .. } if input_source["data"] == "{\"EXPR$0\":0}\n")
    );
    let e = plan_err("SELECT nope");
    assert!(
        e.message()
            .starts_with("Column 'nope' not found in any table"),
        "{e}"
    );
}

fn join_steps(stage: &StageDefinition) -> Vec<&JoinStep> {
    program(stage)
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Join(j) => Some(j),
            _ => None,
        })
        .collect()
}

#[test]
fn select_distinct_is_a_group_by_over_the_select_list() {
    let p = plan("SELECT DISTINCT dim2 FROM foo");
    assert_eq!(types(&p), ["groupByPreShuffle", "groupByPostShuffle"]);
    assert_eq!(select_columns(&p), [("dim2".to_owned(), SqlType::Varchar)]);
    let Step::Aggregate(a) = program(&p.query.stages[0]).steps.last().unwrap() else {
        panic!()
    };
    assert_eq!(a.mode, AggregateMode::Partial);
    assert_eq!(
        a.group_by,
        [NamedExpr::new(
            "d0",
            ScalarExpr::column(2, "dim2", SqlType::Varchar)
        )]
    );
    assert!(a.aggregates.is_empty());
    // Expressions, `*`, repeated items (one key), ORDER BY and LIMIT.
    let p = plan(
        "SELECT DISTINCT dim1, UPPER(dim2) AS u, dim1 AS again FROM foo ORDER BY u DESC LIMIT 2",
    );
    assert_eq!(
        types(&p),
        ["groupByPreShuffle", "groupByPostShuffle", "limit"]
    );
    let Step::Aggregate(a) = &program(&p.query.stages[0]).steps[0] else {
        panic!()
    };
    assert_eq!(a.group_by.len(), 2);
    assert_eq!(
        keys(p.query.stages[1].shuffle_spec.as_ref().unwrap()),
        [("u".to_owned(), KeyOrder::Descending)]
    );
    let p = plan("SELECT DISTINCT * FROM lookyloo");
    assert_eq!(
        select_columns(&p),
        [
            ("k".to_owned(), SqlType::Varchar),
            ("v".to_owned(), SqlType::Varchar)
        ]
    );
    // Over aggregated rows: the aggregation, then a GROUP BY on its output.
    let p = plan("SELECT DISTINCT COUNT(*) AS c FROM foo GROUP BY dim2 ORDER BY c");
    assert_eq!(
        self::types(&p),
        [
            "groupByPreShuffle",
            "groupByPostShuffle",
            "groupByPreShuffle",
            "groupByPostShuffle",
            "scan"
        ]
    );
    assert_eq!(select_columns(&p), [("c".to_owned(), SqlType::Bigint)]);
    // An ORDER BY outside the select list cannot be grouped.
    let e = plan_err("SELECT DISTINCT dim1 FROM foo ORDER BY dim2");
    assert!(e.message().contains("'dim2' is not being grouped"), "{e}");
    let e = plan_err("SELECT DISTINCT ON (dim1) dim2 FROM foo");
    assert_eq!(e.code(), ErrorCode::QueryNotSupported);
}

#[test]
fn scalar_subqueries_are_broadcast_one_row_joins() {
    let p = plan("SELECT dim1 FROM foo WHERE m1 > (SELECT AVG(m1) FROM foo)");
    assert_eq!(
        types(&p),
        ["groupByPreShuffle", "groupByPostShuffle", "scan"]
    );
    let outer = &p.query.stages[2];
    assert_eq!(
        outer.inputs[1],
        InputSpec::Stage {
            stage: StageNumber(1)
        }
    );
    assert!(outer.is_broadcast(1));
    let prog = program(outer);
    let Step::Join(j) = &prog.steps[0] else {
        panic!("{prog:?}")
    };
    // LEFT: an empty subquery gives null, not an empty result.
    assert_eq!(j.kind, JoinKind::Left);
    assert!(j.left_keys.is_empty() && j.right_keys.is_empty() && j.condition.is_none());
    let Step::Filter(f) = &prog.steps[1] else {
        panic!()
    };
    let text = format!("{f:?}");
    assert!(text.contains("Gt") && text.contains("index: 6"), "{text}");
    // In the select list; its default name is Calcite's, and `*` skips the joined column.
    let p = plan("SELECT *, (SELECT MAX(cnt) FROM foo) FROM lookyloo");
    assert_eq!(
        select_columns(&p),
        [
            ("k".to_owned(), SqlType::Varchar),
            ("v".to_owned(), SqlType::Varchar),
            ("EXPR$1".to_owned(), SqlType::Bigint)
        ]
    );
    // Subqueries inside the subquery are planned with it.
    let p = plan("SELECT k FROM lookyloo WHERE v = (SELECT MIN(dim1) FROM foo WHERE m1 > (SELECT AVG(m2) FROM foo))");
    assert_eq!(join_steps(p.query.stages.last().unwrap()).len(), 1);
    assert_eq!(join_steps(&p.query.stages[2]).len(), 1);
    let e = plan_err("SELECT k FROM lookyloo WHERE v = (SELECT dim1, dim2 FROM foo)");
    assert!(
        e.message()
            .starts_with("Subquery must return exactly one column, got 2"),
        "{e}"
    );
    // Not (yet) after aggregation.
    let e = plan_err("SELECT dim2, COUNT(*) FROM foo GROUP BY 1 HAVING COUNT(*) > (SELECT 1)");
    assert_eq!(e.code(), ErrorCode::QueryNotSupported);
    assert!(
        e.message().starts_with("Subqueries are supported in WHERE"),
        "{e}"
    );
    // WHERE subqueries of an aggregating query join in its pre-shuffle stage.
    let p = plan("SELECT dim2, COUNT(*) FROM foo WHERE m1 > (SELECT AVG(m1) FROM foo) GROUP BY 1");
    assert_eq!(p.query.stages[2].processor.type_name(), "groupByPreShuffle");
    assert_eq!(join_steps(&p.query.stages[2]).len(), 1);
}

#[test]
fn in_subqueries_join_the_distinct_values() {
    // A WHERE conjunct: an INNER join on the value with the de-duplicated subquery.
    let p = plan("SELECT dim1 FROM foo WHERE cnt > 0 AND dim1 IN (SELECT k FROM lookyloo)");
    assert_eq!(
        types(&p),
        ["scan", "groupByPreShuffle", "groupByPostShuffle", "scan"]
    );
    let outer = &p.query.stages[3];
    assert_eq!(
        outer.inputs[1],
        InputSpec::Stage {
            stage: StageNumber(2)
        }
    );
    let j = join_steps(outer);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].kind, JoinKind::Inner);
    assert_eq!(
        j[0].left_keys,
        [ScalarExpr::column(1, "dim1", SqlType::Varchar)]
    );
    assert_eq!(
        j[0].right_keys,
        [ScalarExpr::column(0, "k", SqlType::Varchar)]
    );
    // The remaining conjunct is the filter.
    let Step::Filter(f) = &program(outer).steps[1] else {
        panic!()
    };
    assert!(format!("{f:?}").contains("cnt"));
    // Keys are cast to a common type.
    let p = plan("SELECT dim1 FROM foo WHERE cnt IN (SELECT v FROM lookyloo)");
    let j = join_steps(p.query.stages.last().unwrap());
    assert_eq!(j[0].left_keys[0].sql_type(), SqlType::Bigint);
    assert_eq!(j[0].right_keys[0].sql_type(), SqlType::Bigint);
    // NOT IN (and IN elsewhere): LEFT join + the subquery's counts + SQL's three-valued result.
    let p = plan("SELECT dim1, dim2 NOT IN (SELECT k FROM lookyloo) AS n FROM foo");
    assert_eq!(select_columns(&p)[1], ("n".to_owned(), SqlType::Boolean));
    let outer = p.query.stages.last().unwrap();
    let j = join_steps(outer);
    assert_eq!(j.len(), 2);
    assert_eq!(j[0].kind, JoinKind::Left);
    assert_eq!(j[0].left_keys.len(), 1);
    assert!(j[1].left_keys.is_empty());
    assert_eq!(outer.inputs.len(), 3);
    let steps = &program(outer).steps;
    let Step::Project(last) = steps.last().unwrap() else {
        panic!()
    };
    let Step::Project(appended) = &steps[steps.len() - 2] else {
        panic!("{steps:?}")
    };
    // foo's 6 columns, the match, count and non-null count, then the result.
    assert_eq!(appended.len(), 10);
    assert!(
        matches!(&appended[9].expr, ScalarExpr::Not(inner) if matches!(**inner, ScalarExpr::Case { .. }))
    );
    assert_eq!(
        last[1].expr,
        ScalarExpr::column(9, "$sq0", SqlType::Boolean)
    );
    let e = plan_err("SELECT dim1 FROM foo WHERE __time IN (SELECT m1 FROM foo)");
    assert!(e.message().contains("compatible types"), "{e}");
}

#[test]
fn exists_joins_the_row_count() {
    let p =
        plan("SELECT COUNT(*) FROM foo WHERE NOT EXISTS (SELECT 1 FROM lookyloo WHERE v = 'x')");
    let pre = p
        .query
        .stages
        .iter()
        .rev()
        .find(|s| s.processor.type_name() == "groupByPreShuffle")
        .unwrap();
    let j = join_steps(pre);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].kind, JoinKind::Inner);
    assert!(j[0].left_keys.is_empty());
    let Step::Filter(f) = &program(pre).steps[1] else {
        panic!()
    };
    let text = format!("{f:?}");
    assert!(text.contains("Eq") && text.contains("Long(0)"), "{text}");
}

#[test]
fn cross_and_comma_joins_have_no_keys() {
    for sql in [
        "SELECT f.dim1, l.k FROM foo f CROSS JOIN lookyloo l",
        "SELECT f.dim1, l.k FROM foo f, lookyloo l",
    ] {
        let p = plan(sql);
        assert_eq!(types(&p), ["scan"], "{sql}");
        let j = join_steps(&p.query.stages[0]);
        assert_eq!(j.len(), 1, "{sql}");
        assert_eq!(j[0].kind, JoinKind::Inner);
        assert!(j[0].left_keys.is_empty() && j[0].right_keys.is_empty());
        assert!(j[0].condition.is_none());
        assert!(p.query.stages[0].is_broadcast(1));
    }
    // Three comma items, the last with its own JOIN.
    let p = plan("SELECT COUNT(*) FROM foo a, lookyloo b, lookyloo c JOIN foo d ON c.k = d.dim1");
    let j = join_steps(&p.query.stages[0]);
    assert_eq!(j.len(), 3);
    assert!(j[1].left_keys.is_empty());
    assert_eq!(j[2].left_keys.len(), 1);
    // An ON without equalities is a filtered cross join.
    let p = plan("SELECT COUNT(*) FROM foo a LEFT JOIN foo b ON a.m1 < b.m1");
    let j = join_steps(&p.query.stages[0]);
    assert_eq!(j[0].kind, JoinKind::Left);
    assert!(j[0].left_keys.is_empty() && j[0].condition.is_some());
    let e = plan_err("SELECT COUNT(*) FROM foo a RIGHT JOIN foo b ON a.dim1 = b.dim1");
    assert_eq!(e.code(), ErrorCode::QueryNotSupported);
    let e = plan_err("SELECT COUNT(*) FROM foo a JOIN foo b USING (dim1)");
    assert_eq!(e.code(), ErrorCode::QueryNotSupported);
}

/// [`TestCatalog`] plus an inline `INFORMATION_SCHEMA.TABLES` (and a plain inline table).
struct MetadataCatalog;

fn tables_table() -> InlineTable {
    InlineTable {
        input_source: json!({"type": "inline", "data": "{\"TABLE_SCHEMA\":\"druid\",\"TABLE_NAME\":\"foo\"}\n"}),
        input_format: json!({"type": "json"}),
        signature: vec![
            ("TABLE_SCHEMA".into(), ColumnType::String),
            ("TABLE_NAME".into(), ColumnType::String),
        ],
    }
}

impl Catalog for MetadataCatalog {
    fn datasource(&self, name: &str) -> Option<Vec<(String, ColumnType)>> {
        TestCatalog.datasource(name)
    }

    fn inline_table(&self, name: &str) -> Option<InlineTable> {
        match name {
            "INFORMATION_SCHEMA.TABLES" | "plain_meta" => Some(tables_table()),
            // Datasources win over inline tables of the same name.
            "foo" => panic!("inline_table asked for a datasource"),
            _ => None,
        }
    }
}

/// Plans with [`MetadataCatalog`]. `msq_sql`'s parse-time check rejects `sys.*` and
/// `INFORMATION_SCHEMA.*` names before planning, so the SQL spells the schema `X<schema>` and
/// the `X` is removed from the parsed statement: this exercises the planner's own handling.
fn plan_meta(sql: &str) -> msq_common::Result<PlannedQuery> {
    use msq_sql::sqlparser::ast::{visit_relations_mut, ObjectNamePart};
    let mut parsed = msq_sql::parse_query(sql)?;
    if let msq_sql::Statement::Select(q) = &mut parsed.statement {
        let _ = visit_relations_mut(q, |name| {
            if name.0.len() > 1 {
                if let Some(ObjectNamePart::Identifier(id)) = name.0.first_mut() {
                    if let Some(rest) = id.value.strip_prefix('X') {
                        id.value = rest.to_owned();
                    }
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    let ctx = Map::new();
    let request = PlanRequest {
        query_id: "q",
        context: &ctx,
        catalog: &MetadataCatalog,
        now_ms: NOW,
    };
    plan_statement(&parsed.statement, &request)
}

#[test]
fn catalog_inline_tables_read_as_external_input() {
    for sql in [
        "SELECT TABLE_NAME FROM XINFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'druid'",
        "SELECT TABLES.TABLE_NAME FROM Xinformation_schema.TABLES WHERE TABLE_SCHEMA = 'druid'",
        "SELECT t.TABLE_NAME FROM XINFORMATION_SCHEMA.\"TABLES\" t WHERE t.TABLE_SCHEMA = 'druid'",
        "SELECT TABLE_NAME FROM plain_meta WHERE TABLE_SCHEMA = 'druid'",
    ] {
        let p = plan_meta(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(types(&p), ["scan"], "{sql}");
        let expected = tables_table();
        assert_eq!(
            p.query.stages[0].inputs,
            [InputSpec::External {
                input_source: expected.input_source,
                input_format: expected.input_format,
                signature: expected.signature,
            }],
            "{sql}"
        );
        assert_eq!(
            select_columns(&p),
            [("TABLE_NAME".to_owned(), SqlType::Varchar)]
        );
    }
    // Datasources still read as tables; unknown metadata tables keep Druid's rejection.
    let p = plan_meta("SELECT dim1 FROM foo").unwrap();
    assert!(matches!(
        &p.query.stages[0].inputs[0],
        InputSpec::Table { .. }
    ));
    let e = plan_meta("SELECT * FROM Xsys.tasks").unwrap_err();
    assert!(
        e.message()
            .contains("Cannot query table(s) [sys.tasks] with SQL engine [msq-task]"),
        "{e}"
    );
    let e = plan_meta("SELECT * FROM nope").unwrap_err();
    assert!(e.message().starts_with("Object 'nope' not found"), "{e}");
}

/// Whether each stage of `sql`'s plan has its output order observed, and (for the stages that
/// read other stages) whether it reads them in order.
fn order_use(sql: &str) -> (Vec<bool>, Vec<bool>) {
    let p = plan_with(sql, json!({"useApproximateCountDistinct": false}))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let q = &p.query;
    let observed = (q.stages.iter())
        .map(|s| q.output_order_observed(s.stage_number))
        .collect();
    let reads = (q.stages.iter())
        .filter(|s| !s.input_stages().is_empty())
        .map(|s| q.reads_in_order(s.stage_number))
        .collect();
    (observed, reads)
}

#[test]
fn stages_know_whose_row_order_shows_in_the_answer() {
    // Exact COUNT(DISTINCT): the first GROUP BY's order is regrouped, then counted.
    assert_eq!(
        order_use("SELECT COUNT(DISTINCT dim1), COUNT(*) FROM foo"),
        (vec![false, false, false, true], vec![false, false, false])
    );
    // A plain GROUP BY: its groups are the results, in key order.
    assert_eq!(
        order_use("SELECT dim1, COUNT(*) FROM foo GROUP BY dim1"),
        (vec![true, true], vec![true])
    );
    // An integer total of a subquery's groups ignores their order; a floating-point one
    // rounds by it, and EARLIEST breaks ties on time by it.
    for (outer, metric, observed) in [
        ("SUM(s)", "cnt", false),
        ("SUM(s)", "m2", true),
        ("EARLIEST(dim1)", "cnt", true),
    ] {
        let sql = format!(
            "SELECT {outer} FROM (SELECT __time, dim1, SUM({metric}) AS s FROM foo GROUP BY 1, 2)"
        );
        let stages = order_use(&sql).0;
        assert_eq!(stages[..2], [observed, observed], "{sql}");
    }
    // A scan's rows are its answer.
    assert!(order_use("SELECT dim1 FROM foo ORDER BY dim1 LIMIT 3").0[0]);
    // An ingest writes rows in the segment's own order: the generator sorts each time chunk
    // itself, so neither it nor the GROUP BY feeding it needs its input sorted.
    assert_eq!(
        order_use(
            "INSERT INTO t SELECT __time, dim1, COUNT(*) AS c FROM foo GROUP BY 1, 2 \
             PARTITIONED BY DAY"
        ),
        (vec![false, false, true], vec![false, false])
    );
    // ... unless a floating-point total rounds by the order its parts come in.
    let (observed, _) = order_use(
        "INSERT INTO t SELECT __time, dim1, SUM(m2) AS s FROM foo GROUP BY 1, 2 \
         PARTITIONED BY DAY",
    );
    assert_eq!(observed[..1], [true]);
    let (observed, reads) = order_use(
        "INSERT INTO t SELECT __time, dim1 FROM foo PARTITIONED BY DAY CLUSTERED BY dim1",
    );
    assert_eq!((observed, reads), (vec![false, true], vec![false]));
}
