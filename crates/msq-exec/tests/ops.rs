//! Stage program executor and operators: every step and aggregate function, nulls, empty
//! input, FILTER, partial → final round trips, multi-batch input, joins, sort, limit.
#![allow(clippy::unwrap_used)]

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use msq_exec::ops::{partial_state_fields, sort_batches, ProgramExecutor};
use msq_plan::{
    AggregateExpr, AggregateFunction, AggregateMode, AggregateStep, BinaryOp, JoinKind, JoinStep,
    Literal, NamedAggregate, NamedExpr, Program, ScalarExpr, SortKey, SqlType, Step,
};
use std::sync::Arc;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("page", DataType::Utf8, true),
        Field::new("added", DataType::Int64, true),
        Field::new("delta", DataType::Float64, true),
        Field::new("__time", DataType::Int64, true),
    ]))
}

/// One input row: page, added, delta, __time.
type Row<'a> = (Option<&'a str>, Option<i64>, Option<f64>, Option<i64>);

fn batch(rows: &[Row<'_>]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>()),
            Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|r| r.2).collect::<Float64Array>()),
            Arc::new(rows.iter().map(|r| r.3).collect::<Int64Array>()),
        ],
    )
    .unwrap()
}

/// Two batches: page A/B/null with values; nulls sprinkled in.
fn input() -> Vec<RecordBatch> {
    vec![
        batch(&[
            (Some("A"), Some(1), Some(1.5), Some(30)),
            (Some("B"), Some(10), None, Some(10)),
            (Some("A"), None, Some(2.5), Some(10)),
        ]),
        batch(&[
            (None, Some(5), Some(-1.0), Some(5)),
            (Some("A"), Some(3), Some(0.5), Some(20)),
            (Some("B"), Some(20), Some(4.0), Some(50)),
        ]),
    ]
}

fn page() -> ScalarExpr {
    ScalarExpr::column(0, "page", SqlType::Varchar)
}
fn added() -> ScalarExpr {
    ScalarExpr::column(1, "added", SqlType::Bigint)
}
fn delta() -> ScalarExpr {
    ScalarExpr::column(2, "delta", SqlType::Double)
}
fn time() -> ScalarExpr {
    ScalarExpr::column(3, "__time", SqlType::Timestamp)
}
fn gt(left: ScalarExpr, v: i64) -> ScalarExpr {
    ScalarExpr::Binary {
        op: BinaryOp::Gt,
        left: Box::new(left),
        right: Box::new(ScalarExpr::literal(Literal::Long(v))),
        ty: SqlType::Boolean,
    }
}

fn agg(name: &str, func: AggregateFunction, args: Vec<ScalarExpr>, ty: SqlType) -> NamedAggregate {
    NamedAggregate {
        name: name.into(),
        aggregate: AggregateExpr {
            func,
            args,
            filter: None,
            ty,
        },
    }
}

fn all_aggs() -> Vec<NamedAggregate> {
    use AggregateFunction::*;
    let mut filtered = agg("cnt_big", CountStar, vec![], SqlType::Bigint);
    filtered.aggregate.filter = Some(gt(added(), 2));
    vec![
        agg("cnt", CountStar, vec![], SqlType::Bigint),
        agg("cnt_added", Count, vec![added()], SqlType::Bigint),
        agg("sum_added", Sum, vec![added()], SqlType::Bigint),
        agg("sum_delta", Sum, vec![delta()], SqlType::Double),
        agg("min_added", Min, vec![added()], SqlType::Bigint),
        agg("max_delta", Max, vec![delta()], SqlType::Double),
        agg("avg_added", Avg, vec![added()], SqlType::Bigint),
        agg("avg_delta", Avg, vec![delta()], SqlType::Double),
        agg("dist", CountDistinct, vec![added()], SqlType::Bigint),
        agg(
            "approx",
            ApproxCountDistinct,
            vec![added()],
            SqlType::Bigint,
        ),
        agg("first", Earliest, vec![added(), time()], SqlType::Bigint),
        agg("last", Latest, vec![added(), time()], SqlType::Bigint),
        agg("any", AnyValue, vec![added()], SqlType::Bigint),
        filtered,
    ]
}

fn aggregate(mode: AggregateMode, group_by: Vec<NamedExpr>, aggs: Vec<NamedAggregate>) -> Program {
    Program::new(vec![Step::Aggregate(AggregateStep {
        mode,
        group_by,
        aggregates: aggs,
    })])
}

fn run(program: &Program, input_schema: SchemaRef, batches: Vec<RecordBatch>) -> RecordBatch {
    run_with(program, input_schema, batches, vec![])
}

fn run_with(
    program: &Program,
    input_schema: SchemaRef,
    batches: Vec<RecordBatch>,
    broadcast: Vec<(usize, Vec<RecordBatch>)>,
) -> RecordBatch {
    let mut exec = ProgramExecutor::new(program, input_schema, broadcast).unwrap();
    let out_schema = exec.output_schema();
    let mut out = Vec::new();
    for b in batches {
        out.extend(exec.push(b).unwrap());
    }
    out.extend(exec.finish().unwrap());
    for b in &out {
        assert_eq!(b.schema(), out_schema);
    }
    arrow_select::concat::concat_batches(&out_schema, &out).unwrap()
}

fn i64s(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let c = b.column_by_name(name).unwrap();
    c.as_primitive::<Int64Type>().iter().collect()
}
fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = b.column_by_name(name).unwrap();
    c.as_primitive::<Float64Type>().iter().collect()
}
fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap();
    c.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}

fn by_page() -> Vec<NamedExpr> {
    vec![NamedExpr::new("page", page())]
}

#[test]
fn grouped_single_covers_every_function() {
    let out = run(
        &aggregate(AggregateMode::Single, by_page(), all_aggs()),
        schema(),
        input(),
    );
    // Groups in first-seen order: A, B, null.
    assert_eq!(
        strs(&out, "page"),
        vec![Some("A".into()), Some("B".into()), None]
    );
    assert_eq!(i64s(&out, "cnt"), vec![Some(3), Some(2), Some(1)]);
    assert_eq!(i64s(&out, "cnt_added"), vec![Some(2), Some(2), Some(1)]);
    assert_eq!(i64s(&out, "sum_added"), vec![Some(4), Some(30), Some(5)]);
    assert_eq!(
        f64s(&out, "sum_delta"),
        vec![Some(4.5), Some(4.0), Some(-1.0)]
    );
    assert_eq!(i64s(&out, "min_added"), vec![Some(1), Some(10), Some(5)]);
    assert_eq!(
        f64s(&out, "max_delta"),
        vec![Some(2.5), Some(4.0), Some(-1.0)]
    );
    assert_eq!(i64s(&out, "avg_added"), vec![Some(2), Some(15), Some(5)]);
    assert_eq!(
        f64s(&out, "avg_delta"),
        vec![Some(1.5), Some(4.0), Some(-1.0)]
    );
    assert_eq!(i64s(&out, "dist"), vec![Some(2), Some(2), Some(1)]);
    assert_eq!(i64s(&out, "approx"), vec![Some(2), Some(2), Some(1)]);
    // A: added 1 @30, null @10, 3 @20 → earliest null (Druid keeps the null), latest 1.
    assert_eq!(i64s(&out, "first"), vec![None, Some(10), Some(5)]);
    assert_eq!(i64s(&out, "last"), vec![Some(1), Some(20), Some(5)]);
    assert_eq!(i64s(&out, "any"), vec![Some(1), Some(10), Some(5)]);
    // FILTER (WHERE added > 2).
    assert_eq!(i64s(&out, "cnt_big"), vec![Some(1), Some(2), Some(1)]);
    let schema = out.schema();
    assert_eq!(
        schema.field_with_name("cnt").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        schema.field_with_name("sum_delta").unwrap().data_type(),
        &DataType::Float64
    );
}

#[test]
fn global_aggregate_over_no_rows_is_one_row_of_sql_nulls() {
    let out = run(
        &aggregate(AggregateMode::Single, vec![], all_aggs()),
        schema(),
        vec![],
    );
    assert_eq!(out.num_rows(), 1);
    assert_eq!(i64s(&out, "cnt"), vec![Some(0)]);
    assert_eq!(i64s(&out, "cnt_added"), vec![Some(0)]);
    assert_eq!(i64s(&out, "sum_added"), vec![None]);
    assert_eq!(f64s(&out, "sum_delta"), vec![None]);
    assert_eq!(i64s(&out, "min_added"), vec![None]);
    assert_eq!(i64s(&out, "avg_added"), vec![None]);
    assert_eq!(i64s(&out, "dist"), vec![Some(0)]);
    assert_eq!(i64s(&out, "approx"), vec![Some(0)]);
    assert_eq!(i64s(&out, "first"), vec![None]);
    assert_eq!(i64s(&out, "any"), vec![None]);
    // A grouped aggregate over nothing has no rows.
    let out = run(
        &aggregate(AggregateMode::Single, by_page(), all_aggs()),
        schema(),
        vec![],
    );
    assert_eq!(out.num_rows(), 0);
}

#[test]
fn all_null_input_gives_null_sum_and_zero_count() {
    let rows = vec![batch(&[
        (Some("A"), None, None, Some(1)),
        (Some("A"), None, None, None),
    ])];
    let out = run(
        &aggregate(AggregateMode::Single, vec![], all_aggs()),
        schema(),
        rows,
    );
    assert_eq!(i64s(&out, "cnt"), vec![Some(2)]);
    assert_eq!(i64s(&out, "cnt_added"), vec![Some(0)]);
    assert_eq!(i64s(&out, "sum_added"), vec![None]);
    assert_eq!(f64s(&out, "max_delta"), vec![None]);
    assert_eq!(f64s(&out, "avg_delta"), vec![None]);
    assert_eq!(i64s(&out, "last"), vec![None]);
}

#[test]
fn partial_then_final_equals_single() {
    let single = run(
        &aggregate(AggregateMode::Single, by_page(), all_aggs()),
        schema(),
        input(),
    );
    // Two workers' partials, one batch each, then a final merge of both.
    let partial = aggregate(AggregateMode::Partial, by_page(), all_aggs());
    let mut partials = Vec::new();
    for b in input() {
        partials.push(run(&partial, schema(), vec![b]));
    }
    let partial_schema = partials[0].schema();
    let mut expected: Vec<Field> = vec![Field::new("page", DataType::Utf8, true)];
    for a in all_aggs() {
        expected.extend(partial_state_fields(&a));
    }
    assert_eq!(partial_schema.fields().len(), expected.len());
    for (f, e) in partial_schema.fields().iter().zip(&expected) {
        assert_eq!(f.as_ref(), e);
    }
    assert!(partial_schema.field_with_name("avg_added$sum").is_ok());
    assert!(partial_schema.field_with_name("first$time").is_ok());
    let final_ = run(
        &aggregate(AggregateMode::Final, by_page(), all_aggs()),
        partial_schema,
        partials,
    );
    assert_eq!(final_.schema(), single.schema());
    // Same groups (order may differ): sort both by page.
    let sorted = |b: &RecordBatch| {
        sort_batches(&b.schema(), std::slice::from_ref(b), &[(0, false, true)]).unwrap()
    };
    assert_eq!(sorted(&final_), sorted(&single));
}

#[test]
fn a_string_key_keeps_null_and_the_empty_string_apart_across_encodings() {
    // Plain batches, then a dictionary-encoded one (a segment's column) in the same query.
    let plain = batch(&[
        (Some(""), Some(1), None, None),
        (None, Some(2), None, None),
        (Some("a"), Some(4), None, None),
        (Some(""), Some(8), None, None),
    ]);
    let pages: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        vec![None, Some("b"), Some(""), Some("a"), None]
            .into_iter()
            .collect();
    let values = Int64Array::from(vec![16, 32, 64, 128, 256]);
    let nothing = || Arc::new(Float64Array::from(vec![None::<f64>; 5])) as ArrayRef;
    let encoded_schema = Arc::new(Schema::new(vec![
        Field::new("page", pages.data_type().clone(), true),
        Field::new("added", DataType::Int64, true),
        Field::new("delta", DataType::Float64, true),
        Field::new("__time", DataType::Int64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(pages),
        Arc::new(values),
        nothing(),
        Arc::new(Int64Array::from(vec![None::<i64>; 5])),
    ];
    let encoded = RecordBatch::try_new(encoded_schema, columns).unwrap();
    let sum = vec![agg(
        "s",
        AggregateFunction::Sum,
        vec![added()],
        SqlType::Bigint,
    )];
    let program = aggregate(AggregateMode::Single, by_page(), sum);
    let mut exec = ProgramExecutor::new(&program, schema(), vec![]).unwrap();
    exec.push(plain).unwrap();
    exec.push(encoded).unwrap();
    let out = exec.finish().unwrap();
    let out = &out[0];
    let pages: Vec<Option<&str>> = out.column(0).as_string::<i32>().iter().collect();
    // First-seen order; null is a group of its own, not the empty string's.
    assert_eq!(pages, [Some(""), None, Some("a"), Some("b")]);
    assert_eq!(
        i64s(out, "s"),
        [
            Some(1 + 8 + 64),
            Some(2 + 16 + 256),
            Some(4 + 128),
            Some(32)
        ]
    );
}

#[test]
fn a_final_over_one_workers_groups_takes_each_row_as_a_group() {
    // One worker's partial output (each page once, null included), split over two batches
    // as frames would arrive, with a filter before the final aggregation.
    let partial = run(
        &aggregate(AggregateMode::Partial, by_page(), all_aggs()),
        schema(),
        input(),
    );
    let frames = vec![
        partial.slice(0, 2),
        partial.slice(2, partial.num_rows() - 2),
    ];
    let mut steps = vec![Step::Filter(ScalarExpr::literal(Literal::Boolean(true)))];
    steps.extend(aggregate(AggregateMode::Final, by_page(), all_aggs()).steps);
    let program = Program::new(steps);
    let hashed = run(&program, partial.schema(), frames.clone());

    let mut exec = ProgramExecutor::new(&program, partial.schema(), vec![]).unwrap();
    assert!(exec.assume_distinct_groups());
    let mut out = Vec::new();
    for frame in frames {
        out.extend(exec.push(frame).unwrap());
    }
    out.extend(exec.finish().unwrap());
    let assumed = arrow_select::concat::concat_batches(&exec.output_schema(), &out).unwrap();
    // Groups in input order either way.
    assert_eq!(assumed, hashed);
    assert_eq!(assumed.num_rows(), 3);

    // Only a leading final aggregation with keys can take it.
    let single = aggregate(AggregateMode::Single, by_page(), all_aggs());
    let global = aggregate(AggregateMode::Final, vec![], all_aggs());
    let global_partial = aggregate(AggregateMode::Partial, vec![], all_aggs());
    let global_states =
        (ProgramExecutor::new(&global_partial, schema(), vec![]).unwrap()).output_schema();
    for (program, input) in [(single, schema()), (global, global_states)] {
        let mut exec = ProgramExecutor::new(&program, input, vec![]).unwrap();
        assert!(!exec.assume_distinct_groups());
    }
}

#[test]
fn global_partial_final_over_empty_input() {
    let partial = aggregate(AggregateMode::Partial, vec![], all_aggs());
    let exec = ProgramExecutor::new(&partial, schema(), vec![]).unwrap();
    let partial_schema = exec.output_schema();
    let out = run(&partial, schema(), vec![]);
    assert_eq!(out.num_rows(), 0);
    let fin = run(
        &aggregate(AggregateMode::Final, vec![], all_aggs()),
        partial_schema,
        vec![],
    );
    assert_eq!(fin.num_rows(), 1);
    assert_eq!(i64s(&fin, "cnt"), vec![Some(0)]);
    assert_eq!(i64s(&fin, "sum_added"), vec![None]);
}

#[test]
fn min_max_of_strings_by_byte_order_and_earliest_ties() {
    use AggregateFunction::*;
    let rows = vec![
        batch(&[
            (Some("b"), Some(1), None, Some(5)),
            (Some("B"), Some(2), None, Some(5)),
        ]),
        batch(&[
            (Some("é"), Some(3), None, Some(9)),
            (None, Some(4), None, Some(9)),
        ]),
    ];
    let aggs = vec![
        agg("min_page", Min, vec![page()], SqlType::Varchar),
        agg("max_page", Max, vec![page()], SqlType::Varchar),
        agg("first", Earliest, vec![page(), time()], SqlType::Varchar),
        agg("last", Latest, vec![added(), time()], SqlType::Bigint),
        agg("dist_page", CountDistinct, vec![page()], SqlType::Bigint),
    ];
    let out = run(
        &aggregate(AggregateMode::Single, vec![], aggs),
        schema(),
        rows,
    );
    assert_eq!(strs(&out, "min_page"), vec![Some("B".into())]);
    assert_eq!(strs(&out, "max_page"), vec![Some("é".into())]);
    // Ties on time: first seen wins.
    assert_eq!(strs(&out, "first"), vec![Some("b".into())]);
    assert_eq!(i64s(&out, "last"), vec![Some(3)]);
    assert_eq!(i64s(&out, "dist_page"), vec![Some(3)]);
}

#[test]
fn approx_count_distinct_is_exact_small_and_close_large() {
    let s = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
    let v = ScalarExpr::column(0, "v", SqlType::Bigint);
    let aggs = vec![
        agg(
            "approx",
            AggregateFunction::ApproxCountDistinct,
            vec![v.clone()],
            SqlType::Bigint,
        ),
        agg(
            "exact",
            AggregateFunction::CountDistinct,
            vec![v],
            SqlType::Bigint,
        ),
    ];
    let batches: Vec<RecordBatch> = (0..10)
        .map(|k| {
            let vals: Int64Array = (0..10_000i64).map(|i| Some(k * 10_000 + i)).collect();
            RecordBatch::try_new(s.clone(), vec![Arc::new(vals) as ArrayRef]).unwrap()
        })
        .collect();
    // Partial over halves, then final: mergeable sketches.
    let partial = aggregate(AggregateMode::Partial, vec![], aggs.clone());
    let p1 = run(&partial, s.clone(), batches[..5].to_vec());
    let p2 = run(&partial, s.clone(), batches[5..].to_vec());
    assert!(p1
        .column(0)
        .as_any()
        .downcast_ref::<BinaryArray>()
        .is_some());
    let fin = run(
        &aggregate(AggregateMode::Final, vec![], aggs.clone()),
        p1.schema(),
        vec![p1, p2],
    );
    let approx = i64s(&fin, "approx")[0].unwrap() as f64;
    assert!(
        (approx - 100_000.0).abs() / 100_000.0 < 0.02,
        "approx {approx}"
    );
    assert_eq!(i64s(&fin, "exact"), vec![Some(100_000)]);
    let small = run(
        &aggregate(AggregateMode::Single, vec![], aggs),
        s,
        vec![batches[0].slice(0, 700)],
    );
    assert_eq!(i64s(&small, "approx"), vec![Some(700)]);
}

#[test]
fn filter_and_project_stream() {
    let program = Program::new(vec![
        Step::Filter(gt(added(), 2)),
        Step::Project(vec![
            NamedExpr::new("p", page()),
            NamedExpr::new("a", added()),
            NamedExpr::new("one", ScalarExpr::literal(Literal::Long(1))),
        ]),
    ]);
    let mut exec = ProgramExecutor::new(&program, schema(), vec![]).unwrap();
    let out_schema = exec.output_schema();
    assert_eq!(
        out_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        vec!["p", "a", "one"]
    );
    assert!(out_schema.fields().iter().all(|f| f.is_nullable()));
    let mut batches = input().into_iter();
    let first = exec.push(batches.next().unwrap()).unwrap();
    assert_eq!(first.len(), 1, "streaming programs answer at once");
    assert_eq!(i64s(&first[0], "a"), vec![Some(10)]);
    let second = exec.push(batches.next().unwrap()).unwrap();
    assert_eq!(i64s(&second[0], "a"), vec![Some(5), Some(3), Some(20)]);
    assert_eq!(i64s(&second[0], "one"), vec![Some(1); 3]);
    assert!(exec.finish().unwrap().is_empty());
}

fn sort_key(expr: ScalarExpr, descending: bool, nulls_first: bool) -> SortKey {
    SortKey {
        expr,
        descending,
        nulls_first,
    }
}

#[test]
fn sort_is_stable_with_null_ordering() {
    let asc = Program::new(vec![Step::Sort(vec![sort_key(page(), false, true)])]);
    let out = run(&asc, schema(), input());
    assert_eq!(
        strs(&out, "page"),
        vec![
            None,
            Some("A".into()),
            Some("A".into()),
            Some("A".into()),
            Some("B".into()),
            Some("B".into())
        ]
    );
    // Stable: the A rows keep input order (added 1, null, 3).
    assert_eq!(i64s(&out, "added")[1..4], [Some(1), None, Some(3)]);
    let desc = Program::new(vec![Step::Sort(vec![
        sort_key(page(), true, false),
        sort_key(added(), true, false),
    ])]);
    let out = run(&desc, schema(), input());
    assert_eq!(strs(&out, "page")[5], None);
    assert_eq!(
        i64s(&out, "added"),
        vec![Some(20), Some(10), Some(3), Some(1), None, Some(5)]
    );
    // The runtime's sort_batches: by __time desc, nulls first, gathered across batches.
    let sorted = sort_batches(&schema(), &input(), &[(3, true, true)]).unwrap();
    assert_eq!(
        sorted.len(),
        1,
        "rows out of order are gathered into one batch"
    );
    let sorted = &sorted[0];
    assert_eq!(
        i64s(sorted, "__time"),
        vec![Some(50), Some(30), Some(20), Some(10), Some(10), Some(5)]
    );
    assert_eq!(i64s(sorted, "added")[3..5], [Some(10), None]);
    assert!(sort_batches(&schema(), &input(), &[(9, false, false)]).is_err());
    // Input already in key order comes back as it is: the same batches, no value copied.
    let again = sort_batches(&schema(), std::slice::from_ref(sorted), &[(3, true, true)]).unwrap();
    assert_eq!(again.len(), 1);
    assert!(Arc::ptr_eq(again[0].column(0), sorted.column(0)));
    let halves = [sorted.slice(0, 2), sorted.slice(2, 4)];
    let again = sort_batches(&schema(), &halves, &[(3, true, true)]).unwrap();
    assert_eq!(again, halves, "ordered batches are kept, not concatenated");
}

#[test]
fn limit_across_batches_and_early_stop() {
    let program = Program::new(vec![Step::Limit {
        offset: 2,
        limit: Some(3),
    }]);
    let mut exec = ProgramExecutor::new(&program, schema(), vec![]).unwrap();
    let mut batches = input().into_iter();
    let first = exec.push(batches.next().unwrap()).unwrap();
    assert_eq!(i64s(&first[0], "added"), vec![None]);
    assert!(!exec.is_done());
    let second = exec.push(batches.next().unwrap()).unwrap();
    assert_eq!(i64s(&second[0], "added"), vec![Some(5), Some(3)]);
    assert!(exec.is_done());
    assert!(exec.push(input().remove(0)).unwrap().is_empty());
    assert!(exec.finish().unwrap().is_empty());

    // After a sort, the limit applies on finish and never stops input early.
    let program = Program::new(vec![
        Step::Sort(vec![sort_key(added(), true, false)]),
        Step::Limit {
            offset: 0,
            limit: Some(2),
        },
    ]);
    let mut exec = ProgramExecutor::new(&program, schema(), vec![]).unwrap();
    for b in input() {
        assert!(exec.push(b).unwrap().is_empty());
        assert!(!exec.is_done());
    }
    let out = exec.finish().unwrap();
    assert_eq!(i64s(&out[0], "added"), vec![Some(20), Some(10)]);
}

fn dim() -> (SchemaRef, Vec<RecordBatch>) {
    let s = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("weight", DataType::Int64, false),
    ]));
    let b1 = RecordBatch::try_new(
        s.clone(),
        vec![
            Arc::new(StringArray::from(vec!["A", "B"])),
            Arc::new(StringArray::from(vec!["a1", "b1"])),
            Arc::new(Int64Array::from(vec![1, 7])),
        ],
    )
    .unwrap();
    let b2 = RecordBatch::try_new(
        s.clone(),
        vec![
            Arc::new(StringArray::from(vec!["A", "Z"])),
            Arc::new(StringArray::from(vec!["a2", "z"])),
            Arc::new(Int64Array::from(vec![9, 0])),
        ],
    )
    .unwrap();
    (s, vec![b1, b2])
}

fn join(kind: JoinKind, condition: Option<ScalarExpr>) -> Program {
    Program {
        broadcast_inputs: vec![1],
        steps: vec![Step::Join(JoinStep {
            kind,
            broadcast_input: 1,
            left_keys: vec![page()],
            right_keys: vec![ScalarExpr::column(0, "k", SqlType::Varchar)],
            condition,
        })],
    }
}

#[test]
fn inner_join_with_duplicates_and_null_keys() {
    let (_, dim) = dim();
    let out = run_with(
        &join(JoinKind::Inner, None),
        schema(),
        input(),
        vec![(1, dim)],
    );
    assert_eq!(out.num_columns(), 7);
    assert!(out.schema().field(4).is_nullable());
    // A rows match a1 and a2 each (in build order); null page never matches.
    assert_eq!(
        strs(&out, "label"),
        ["a1", "a2", "b1", "a1", "a2", "a1", "a2", "b1"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(
        i64s(&out, "added"),
        vec![
            Some(1),
            Some(1),
            Some(10),
            None,
            None,
            Some(3),
            Some(3),
            Some(20)
        ]
    );
}

#[test]
fn left_join_keeps_unmatched_and_applies_condition() {
    let (_, dim) = dim();
    // Condition over the joined schema: weight (column 6) > 5.
    let cond = gt(ScalarExpr::column(6, "weight", SqlType::Bigint), 5);
    let out = run_with(
        &join(JoinKind::Left, Some(cond.clone())),
        schema(),
        input(),
        vec![(1, dim.clone())],
    );
    // Every left row appears: A rows match only a2 (weight 9), B rows b1 (7), null row none.
    assert_eq!(out.num_rows(), 6);
    assert_eq!(
        strs(&out, "label"),
        vec![
            Some("a2".into()),
            Some("b1".into()),
            Some("a2".into()),
            None,
            Some("a2".into()),
            Some("b1".into())
        ]
    );
    let inner = run_with(
        &join(JoinKind::Inner, Some(cond)),
        schema(),
        input(),
        vec![(1, dim)],
    );
    assert_eq!(inner.num_rows(), 5);
    // Missing broadcast input is an error, not a panic.
    assert!(ProgramExecutor::new(&join(JoinKind::Inner, None), schema(), vec![]).is_err());
}

#[test]
fn join_then_aggregate_then_sort_pipeline() {
    use AggregateFunction::*;
    let (_, dim) = dim();
    let mut program = join(JoinKind::Left, None);
    program.steps.push(Step::Aggregate(AggregateStep {
        mode: AggregateMode::Single,
        group_by: vec![NamedExpr::new(
            "label",
            ScalarExpr::column(5, "label", SqlType::Varchar),
        )],
        aggregates: vec![agg("total", Sum, vec![added()], SqlType::Bigint)],
    }));
    program.steps.push(Step::Sort(vec![sort_key(
        ScalarExpr::column(1, "total", SqlType::Bigint),
        true,
        false,
    )]));
    let out = run_with(&program, schema(), input(), vec![(1, dim)]);
    assert_eq!(
        strs(&out, "label"),
        vec![
            Some("b1".into()),
            None,
            Some("a1".into()),
            Some("a2".into())
        ]
    );
    assert_eq!(
        i64s(&out, "total"),
        vec![Some(30), Some(5), Some(4), Some(4)]
    );
}

#[test]
fn grouped_aggregate_at_scale_matches_arithmetic() {
    use AggregateFunction::*;
    let s = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let k = ScalarExpr::column(0, "k", SqlType::Bigint);
    let v = ScalarExpr::column(1, "v", SqlType::Bigint);
    let program = aggregate(
        AggregateMode::Single,
        vec![NamedExpr::new("k", k)],
        vec![
            agg("n", CountStar, vec![], SqlType::Bigint),
            agg("s", Sum, vec![v.clone()], SqlType::Bigint),
            agg("mx", Max, vec![v], SqlType::Bigint),
        ],
    );
    let rows_per_batch = 8192i64;
    let batches: Vec<RecordBatch> = (0..25)
        .map(|b| {
            let base = b * rows_per_batch;
            let keys: Int64Array = (base..base + rows_per_batch).map(|i| i % 1000).collect();
            let vals: Int64Array = (base..base + rows_per_batch).collect();
            RecordBatch::try_new(s.clone(), vec![Arc::new(keys), Arc::new(vals)]).unwrap()
        })
        .collect();
    let total = 25 * rows_per_batch;
    let out = run(&program, s, batches);
    assert_eq!(out.num_rows(), 1000);
    let n: i64 = i64s(&out, "n").iter().map(|x| x.unwrap()).sum();
    assert_eq!(n, total);
    let sum: i64 = i64s(&out, "s").iter().map(|x| x.unwrap()).sum();
    assert_eq!(sum, total * (total - 1) / 2);
    // Group k = 7 first appears at row 7; its max is the last row with that remainder.
    assert_eq!(i64s(&out, "k")[7], Some(7));
    let expected_max = (0..total).filter(|i| i % 1000 == 7).max();
    assert_eq!(i64s(&out, "mx")[7], expected_max);
}

#[test]
fn final_values_take_the_declared_type() {
    use AggregateFunction::*;
    let s = Arc::new(Schema::new(vec![Field::new("f", DataType::Float32, true)]));
    let f = ScalarExpr::column(0, "f", SqlType::Float);
    let b = RecordBatch::try_new(
        s.clone(),
        vec![Arc::new(arrow_array::Float32Array::from(vec![
            Some(2.5f32),
            None,
            Some(-1.0),
        ]))],
    )
    .unwrap();
    let aggs = vec![
        agg("mn", Min, vec![f.clone()], SqlType::Float),
        agg("sm", Sum, vec![f.clone()], SqlType::Double),
        agg("av", Avg, vec![f], SqlType::Float),
    ];
    let out = run(&aggregate(AggregateMode::Single, vec![], aggs), s, vec![b]);
    assert_eq!(out.schema().field(0).data_type(), &DataType::Float32);
    assert_eq!(out.schema().field(1).data_type(), &DataType::Float64);
    assert_eq!(out.schema().field(2).data_type(), &DataType::Float32);
    let mn = out
        .column(0)
        .as_primitive::<arrow_array::types::Float32Type>();
    assert_eq!(mn.value(0), -1.0);
    assert_eq!(f64s(&out, "sm"), vec![Some(1.5)]);
    let av = out
        .column(2)
        .as_primitive::<arrow_array::types::Float32Type>();
    assert_eq!(av.value(0), 0.75);
}

#[test]
fn final_rejects_batches_of_the_wrong_shape() {
    let partial = aggregate(AggregateMode::Partial, by_page(), all_aggs());
    let p = run(&partial, schema(), input());
    let fin = aggregate(AggregateMode::Final, by_page(), all_aggs());
    // Built over the raw schema instead of the partial one: a planning bug, reported.
    let err = ProgramExecutor::new(&fin, schema(), vec![]).unwrap_err();
    assert!(err.message().contains("Final aggregation expects"), "{err}");
    let mut exec = ProgramExecutor::new(&fin, p.schema(), vec![]).unwrap();
    assert!(exec.push(input().remove(0)).is_err());
}

#[test]
fn join_without_keys_is_a_cross_join() {
    let (_, dim) = dim();
    let program = Program {
        broadcast_inputs: vec![1],
        steps: vec![Step::Join(JoinStep {
            kind: JoinKind::Inner,
            broadcast_input: 1,
            left_keys: vec![],
            right_keys: vec![],
            condition: None,
        })],
    };
    let out = run_with(&program, schema(), input(), vec![(1, dim)]);
    assert_eq!(out.num_rows(), 6 * 4);
    // Left rows in order, each with every right row in build order.
    assert_eq!(
        strs(&out, "label")[..4],
        ["a1", "b1", "a2", "z"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(
        i64s(&out, "added")[..5],
        [Some(1), Some(1), Some(1), Some(1), Some(10)]
    );
}

#[test]
fn left_join_against_an_empty_broadcast_input() {
    let (dim_schema, _) = dim();
    let empty = RecordBatch::new_empty(dim_schema);
    let out = run_with(
        &join(JoinKind::Left, None),
        schema(),
        input(),
        vec![(1, vec![empty.clone()])],
    );
    assert_eq!(out.num_rows(), 6);
    assert_eq!(out.column(5).null_count(), 6);
    let inner = run_with(
        &join(JoinKind::Inner, None),
        schema(),
        input(),
        vec![(1, vec![empty])],
    );
    assert_eq!(inner.num_rows(), 0);
}

/// Batch `b` of `input()` with its page column encoded over dictionary `values`.
fn encode_page(b: &RecordBatch, values: &Arc<StringArray>) -> RecordBatch {
    use arrow_array::types::Int32Type;
    use arrow_array::DictionaryArray;
    let keys = b
        .column(0)
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(|v| values.iter().position(|d| d == Some(v)).unwrap() as i32))
        .collect();
    let page = DictionaryArray::<Int32Type>::try_new(keys, Arc::clone(values) as ArrayRef).unwrap();
    let mut columns = b.columns().to_vec();
    columns[0] = Arc::new(page);
    let mut fields: Vec<Field> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[0] = Field::new("page", columns[0].data_type().clone(), true);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// `input()` with the page column dictionary-encoded as a segment stores it, with a value no
/// row uses and (second batch) a dictionary in another order, and a filter first.
fn dictionary_input() -> Vec<RecordBatch> {
    let plain = input();
    vec![
        encode_page(
            &plain[0],
            &Arc::new(StringArray::from(vec!["unused", "B", "A"])),
        ),
        encode_page(
            &plain[1],
            &Arc::new(StringArray::from(vec!["A", "B", "also unused"])),
        ),
    ]
}

#[test]
fn batches_sharing_a_dictionary_group_like_plain_strings() {
    // A segment's batches share one dictionary; a new segment brings another, and an earlier
    // one may come back. The large dictionary makes 301 × 301 combinations of two keys, more
    // than are grouped through a dense array.
    let large: Vec<String> = ["B", "A"]
        .into_iter()
        .map(String::from)
        .chain((0..298).map(|i| format!("unused {i}")))
        .collect();
    let large = Arc::new(StringArray::from(large));
    let plain = input();
    for shared in [Arc::new(StringArray::from(vec!["unused", "B", "A"])), large] {
        let other = Arc::new(StringArray::from(vec!["A", "B"]));
        let encoded = vec![
            encode_page(&plain[0], &shared),
            encode_page(&plain[1], &shared),
            encode_page(&plain[0], &other),
            encode_page(&plain[1], &shared),
        ];
        group_like_plain_strings(&plain, &encoded);
    }
}

/// Groups `encoded` by one dictionary key and by two (each row's combination of dictionary
/// keys), checking each against `plain` (what `encoded` holds) read twice.
fn group_like_plain_strings(plain: &[RecordBatch], encoded: &[RecordBatch]) {
    for keys in [vec![page()], vec![page(), page()]] {
        let program = Program::new(vec![
            Step::Aggregate(AggregateStep {
                mode: AggregateMode::Single,
                group_by: (keys.iter().enumerate())
                    .map(|(i, k)| NamedExpr::new(format!("d{i}"), k.clone()))
                    .collect(),
                aggregates: vec![agg(
                    "cnt",
                    AggregateFunction::CountStar,
                    vec![],
                    SqlType::Bigint,
                )],
            }),
            Step::Sort(vec![SortKey {
                expr: page(),
                descending: false,
                nulls_first: true,
            }]),
        ]);
        let twice: Vec<RecordBatch> = plain.iter().chain(plain).cloned().collect();
        let expected = run(&program, schema(), twice);
        assert_eq!(expected.num_rows(), 3, "A, B and null");
        let got = run(&program, encoded[0].schema(), encoded.to_vec());
        assert_eq!(got, expected, "{} keys", keys.len());
    }
}

#[test]
fn dictionary_encoded_keys_group_like_plain_strings() {
    use AggregateFunction::*;
    for mode in [AggregateMode::Single, AggregateMode::Partial] {
        for keys in [vec![page()], vec![page(), added()]] {
            let step = AggregateStep {
                mode,
                group_by: keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| NamedExpr::new(format!("d{i}"), k.clone()))
                    .collect(),
                aggregates: vec![
                    agg("cnt", CountStar, vec![], SqlType::Bigint),
                    agg("sum", Sum, vec![delta()], SqlType::Double),
                ],
            };
            let program = Program::new(vec![
                Step::Filter(gt(time(), 6)),
                Step::Aggregate(step),
                Step::Sort(vec![SortKey {
                    expr: page(),
                    descending: false,
                    nulls_first: true,
                }]),
            ]);
            let plain = run(&program, schema(), input());
            let encoded_input = dictionary_input();
            let encoded = run(&program, encoded_input[0].schema(), encoded_input);
            assert_eq!(encoded, plain, "{mode:?} by {} keys", keys.len());
            assert_eq!(encoded.column(0).data_type(), &DataType::Utf8);
        }
    }
    // Only used values make groups: "unused" never appears; the null-page row (time 5) is
    // filtered out, so no null group either.
    let program = Program::new(vec![
        Step::Filter(gt(time(), 6)),
        Step::Aggregate(AggregateStep {
            mode: AggregateMode::Single,
            group_by: vec![NamedExpr::new("d0", page())],
            aggregates: vec![agg("cnt", CountStar, vec![], SqlType::Bigint)],
        }),
    ]);
    let encoded_input = dictionary_input();
    let out = run(&program, encoded_input[0].schema(), encoded_input);
    let mut pages: Vec<_> = out.column(0).as_string::<i32>().iter().collect();
    pages.sort();
    assert_eq!(pages, [Some("A"), Some("B")]);
    // Without the filter the null key is a group of its own.
    let program = Program::new(vec![Step::Aggregate(AggregateStep {
        mode: AggregateMode::Single,
        group_by: vec![NamedExpr::new("d0", page())],
        aggregates: vec![agg("cnt", CountStar, vec![], SqlType::Bigint)],
    })]);
    let encoded_input = dictionary_input();
    let out = run(&program, encoded_input[0].schema(), encoded_input);
    assert_eq!(out.num_rows(), 3);
    assert_eq!(out.column(0).null_count(), 1);
}
