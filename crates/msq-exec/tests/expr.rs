//! The expression evaluator through its public API: every `ScalarExpr` variant and function
//! family over a small batch with nulls, empty strings and non-ASCII text, table-driven.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use msq_common::ErrorCode;
use msq_exec::expr::{
    arrow_type, cast_array, evaluate, evaluate_predicate, filter_batch, filter_batch_keeping,
};
use msq_plan::expr::{
    BinaryOp, Literal, ScalarExpr, ScalarFunction as F, SqlType, TimeUnit, TrimWhere,
};

// 2016-06-27T00:00:11.080Z
const T0: i64 = 1_466_985_611_080;

/// Four rows: s (VARCHAR), n (BIGINT), d (DOUBLE), b (BOOLEAN), t (TIMESTAMP),
/// dict (dictionary-encoded VARCHAR), i32 (an Int32 column read as BIGINT).
fn batch() -> RecordBatch {
    let dict: DictionaryArray<Int32Type> = vec![Some("a"), Some("b"), None, Some("a")]
        .into_iter()
        .collect();
    let schema = Schema::new(vec![
        Field::new("s", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("d", DataType::Float64, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("t", DataType::Int64, true),
        Field::new("dict", dict.data_type().clone(), true),
        Field::new("i32", DataType::Int32, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            Some("hello"),
            Some(""),
            None,
            Some("Ünïcödé"),
        ])),
        Arc::new(Int64Array::from(vec![Some(7), Some(-7), None, Some(0)])),
        Arc::new(Float64Array::from(vec![
            Some(2.5),
            Some(-2.5),
            None,
            Some(0.0),
        ])),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ])),
        Arc::new(Int64Array::from(vec![Some(T0), Some(0), None, Some(-1)])),
        Arc::new(dict),
        Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(-4)])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn s() -> ScalarExpr {
    ScalarExpr::column(0, "s", SqlType::Varchar)
}
fn n() -> ScalarExpr {
    ScalarExpr::column(1, "n", SqlType::Bigint)
}
fn d() -> ScalarExpr {
    ScalarExpr::column(2, "d", SqlType::Double)
}
fn b() -> ScalarExpr {
    ScalarExpr::column(3, "b", SqlType::Boolean)
}
fn t() -> ScalarExpr {
    ScalarExpr::column(4, "t", SqlType::Timestamp)
}
fn lit(l: Literal) -> ScalarExpr {
    ScalarExpr::literal(l)
}
fn text(v: &str) -> ScalarExpr {
    lit(Literal::String(v.to_owned()))
}
fn long(v: i64) -> ScalarExpr {
    lit(Literal::Long(v))
}
fn null(ty: SqlType) -> ScalarExpr {
    lit(Literal::Null(ty))
}
fn bin(op: BinaryOp, l: ScalarExpr, r: ScalarExpr, ty: SqlType) -> ScalarExpr {
    ScalarExpr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
        ty,
    }
}
fn call(func: F, args: Vec<ScalarExpr>, ty: SqlType) -> ScalarExpr {
    ScalarExpr::Function { func, args, ty }
}
fn cast(e: ScalarExpr, to: SqlType) -> ScalarExpr {
    ScalarExpr::Cast {
        expr: Box::new(e),
        to,
    }
}

fn eval(e: &ScalarExpr) -> ArrayRef {
    let out = evaluate(e, &batch()).unwrap_or_else(|err| panic!("{e:?}: {err}"));
    assert_eq!(out.len(), 4, "{e:?}");
    assert_eq!(out.data_type(), &arrow_type(&e.sql_type()), "{e:?}");
    out
}
fn strings(e: &ScalarExpr) -> Vec<Option<String>> {
    let out = eval(e);
    let a = out.as_any().downcast_ref::<StringArray>().unwrap();
    a.iter().map(|v| v.map(str::to_owned)).collect()
}
fn longs(e: &ScalarExpr) -> Vec<Option<i64>> {
    let out = eval(e);
    out.as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .iter()
        .collect()
}
fn doubles(e: &ScalarExpr) -> Vec<Option<f64>> {
    let out = eval(e);
    out.as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .iter()
        .collect()
}
fn bools(e: &ScalarExpr) -> Vec<Option<bool>> {
    let out = eval(e);
    out.as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap()
        .iter()
        .collect()
}
fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_owned())).collect()
}

#[test]
fn columns_come_out_in_their_contract_types() {
    let dict = ScalarExpr::column(5, "dict", SqlType::Varchar);
    assert_eq!(
        strings(&dict),
        vec![Some("a".into()), Some("b".into()), None, Some("a".into())]
    );
    let narrow = ScalarExpr::column(6, "i32", SqlType::Bigint);
    assert_eq!(longs(&narrow), vec![Some(1), None, Some(3), Some(-4)]);
    assert_eq!(longs(&t()), vec![Some(T0), Some(0), None, Some(-1)]);
    let missing = ScalarExpr::column(42, "nope", SqlType::Bigint);
    assert!(evaluate(&missing, &batch()).is_err());
}

#[test]
fn literals_broadcast() {
    assert_eq!(longs(&long(5)), vec![Some(5); 4]);
    assert_eq!(strings(&text("x")), some(&["x", "x", "x", "x"]));
    assert_eq!(longs(&null(SqlType::Bigint)), vec![None; 4]);
    assert_eq!(eval(&null(SqlType::Null)).logical_null_count(), 4);
    let is_null = ScalarExpr::IsNull {
        expr: Box::new(null(SqlType::Null)),
        negated: false,
    };
    assert_eq!(bools(&is_null), vec![Some(true); 4]);
    assert_eq!(bools(&lit(Literal::Boolean(true))), vec![Some(true); 4]);
    assert_eq!(doubles(&lit(Literal::Double(1.5))), vec![Some(1.5); 4]);
}

#[test]
fn comparisons() {
    use BinaryOp::*;
    let cases = [
        (
            bin(Gt, n(), long(0), SqlType::Boolean),
            vec![Some(true), Some(false), None, Some(false)],
        ),
        (
            bin(Eq, n(), long(0), SqlType::Boolean),
            vec![Some(false), Some(false), None, Some(true)],
        ),
        (
            bin(NotEq, n(), long(7), SqlType::Boolean),
            vec![Some(false), Some(true), None, Some(true)],
        ),
        (
            bin(LtEq, d(), lit(Literal::Double(0.0)), SqlType::Boolean),
            vec![Some(false), Some(true), None, Some(true)],
        ),
        // Strings by UTF-8 bytes: "" < "a" < "hello" < "Ü…" (0xC3 > 'h').
        (
            bin(Lt, s(), text("hello"), SqlType::Boolean),
            vec![Some(false), Some(true), None, Some(false)],
        ),
        (
            bin(GtEq, s(), text(""), SqlType::Boolean),
            vec![Some(true), Some(true), None, Some(true)],
        ),
        (
            bin(Eq, b(), lit(Literal::Boolean(true)), SqlType::Boolean),
            vec![Some(true), Some(false), None, Some(true)],
        ),
        // The binder normally casts; mixed BIGINT/DOUBLE compares as DOUBLE.
        (
            bin(Lt, n(), d(), SqlType::Boolean),
            vec![Some(false), Some(true), None, Some(false)],
        ),
        (
            bin(Eq, n(), null(SqlType::Null), SqlType::Boolean),
            vec![None; 4],
        ),
    ];
    for (e, want) in cases {
        assert_eq!(bools(&e), want, "{e:?}");
    }
    // A TIMESTAMP against a string compares as TIMESTAMP; two literals broadcast.
    let since = bin(GtEq, t(), text("2016-06-27"), SqlType::Boolean);
    assert_eq!(
        bools(&since),
        vec![Some(true), Some(false), None, Some(false)]
    );
    let constant = bin(Lt, long(1), long(2), SqlType::Boolean);
    assert_eq!(bools(&constant), vec![Some(true); 4]);
    let literal_left = bin(Gt, long(0), n(), SqlType::Boolean);
    assert_eq!(
        bools(&literal_left),
        vec![Some(false), Some(true), None, Some(false)]
    );
    // A dictionary column against a string literal (compared per dictionary value), either
    // way round, answers what the plain strings answer; a null key and a NULL literal, null.
    let dict = || ScalarExpr::column(5, "dict", SqlType::Varchar);
    let plain = || cast(dict(), SqlType::Varchar);
    for op in [Eq, NotEq, Lt, LtEq, Gt, GtEq] {
        for literal in [text("a"), text("b"), text("0"), null(SqlType::Varchar)] {
            let fast = bin(op, dict(), literal.clone(), SqlType::Boolean);
            let slow = bin(op, plain(), literal.clone(), SqlType::Boolean);
            assert_eq!(bools(&fast), bools(&slow), "{fast:?}");
            let fast = bin(op, literal.clone(), dict(), SqlType::Boolean);
            let slow = bin(op, literal, plain(), SqlType::Boolean);
            assert_eq!(bools(&fast), bools(&slow), "{fast:?}");
        }
    }
    assert_eq!(
        bools(&bin(Eq, dict(), text("a"), SqlType::Boolean)),
        vec![Some(true), Some(false), None, Some(true)]
    );
    assert_eq!(
        bools(&bin(Lt, text("a"), dict(), SqlType::Boolean)),
        vec![Some(false), Some(true), None, Some(false)]
    );
}

#[test]
fn three_valued_logic_and_predicates() {
    let positive = bin(BinaryOp::Gt, n(), long(0), SqlType::Boolean);
    // b: [T, F, null, T]; n > 0: [T, F, null, F]
    let and = bin(BinaryOp::And, b(), positive.clone(), SqlType::Boolean);
    assert_eq!(
        bools(&and),
        vec![Some(true), Some(false), None, Some(false)]
    );
    let or = bin(BinaryOp::Or, b(), positive.clone(), SqlType::Boolean);
    assert_eq!(bools(&or), vec![Some(true), Some(false), None, Some(true)]);
    let not = ScalarExpr::Not(Box::new(b()));
    assert_eq!(
        bools(&not),
        vec![Some(false), Some(true), None, Some(false)]
    );
    let false_and_null = bin(
        BinaryOp::And,
        lit(Literal::Boolean(false)),
        null(SqlType::Boolean),
        SqlType::Boolean,
    );
    assert_eq!(bools(&false_and_null), vec![Some(false); 4]);
    let true_or_null = bin(
        BinaryOp::Or,
        lit(Literal::Boolean(true)),
        null(SqlType::Boolean),
        SqlType::Boolean,
    );
    assert_eq!(bools(&true_or_null), vec![Some(true); 4]);

    let mask = evaluate_predicate(&or, &batch()).unwrap();
    assert_eq!(mask.null_count(), 0);
    assert_eq!(
        mask.iter().collect::<Vec<_>>(),
        vec![Some(true), Some(false), Some(false), Some(true)]
    );
    let kept = filter_batch(&batch(), &or).unwrap();
    assert_eq!(kept.num_rows(), 2);
    assert_eq!(kept.num_columns(), 7);
    let everything = filter_batch(&batch(), &lit(Literal::Boolean(true))).unwrap();
    assert_eq!(everything.num_rows(), 4);
    let nothing = filter_batch(&batch(), &null(SqlType::Boolean)).unwrap();
    assert_eq!(nothing.num_rows(), 0);
    // Keeping columns 1 and 5 only: the others are all-null `Null` columns of the kept rows.
    let keep = [1, 5].into();
    let narrow = filter_batch_keeping(&batch(), &or, Some(&keep)).unwrap();
    assert_eq!(narrow.num_rows(), 2);
    assert_eq!(narrow.num_columns(), 7);
    assert_eq!(narrow.column(1), kept.column(1));
    assert_eq!(narrow.column(5), kept.column(5));
    for i in [0, 2, 3, 4, 6] {
        assert_eq!(narrow.column(i).data_type(), &DataType::Null, "column {i}");
        assert_eq!(narrow.column(i).len(), 2);
        assert_eq!(
            narrow.schema().field(i).name(),
            batch().schema().field(i).name()
        );
    }
    let all_pass = filter_batch_keeping(&batch(), &lit(Literal::Boolean(true)), Some(&keep));
    assert_eq!(all_pass.unwrap().column(1), batch().column(1));
    let none_kept = filter_batch_keeping(&batch(), &or, Some(&Default::default())).unwrap();
    assert_eq!(
        none_kept.num_rows(),
        2,
        "the row count survives with no column kept"
    );
}

#[test]
fn arithmetic() {
    use BinaryOp::*;
    let ty = SqlType::Bigint;
    assert_eq!(
        longs(&bin(Plus, n(), long(1), ty.clone())),
        vec![Some(8), Some(-6), None, Some(1)]
    );
    assert_eq!(
        longs(&bin(Divide, n(), long(2), ty.clone())),
        vec![Some(3), Some(-3), None, Some(0)]
    );
    assert_eq!(
        longs(&bin(Divide, long(1), n(), ty.clone())),
        vec![Some(0), Some(0), None, None]
    );
    assert_eq!(
        longs(&bin(Modulo, n(), long(3), ty.clone())),
        vec![Some(1), Some(-1), None, Some(0)]
    );
    assert_eq!(
        longs(&bin(Multiply, n(), n(), ty.clone())),
        vec![Some(49), Some(49), None, Some(0)]
    );
    let dt = SqlType::Double;
    assert_eq!(
        doubles(&bin(Divide, d(), lit(Literal::Double(2.0)), dt.clone())),
        vec![Some(1.25), Some(-1.25), None, Some(0.0)]
    );
    // BIGINT op DOUBLE with a DOUBLE result computes in DOUBLE.
    assert_eq!(
        doubles(&bin(Plus, n(), d(), dt.clone())),
        vec![Some(9.5), Some(-9.5), None, Some(0.0)]
    );
    assert_eq!(
        longs(&ScalarExpr::Negative(Box::new(n()))),
        vec![Some(-7), Some(7), None, Some(0)]
    );
    // TIMESTAMP + millis stays a TIMESTAMP.
    assert_eq!(
        longs(&bin(Plus, t(), long(1000), SqlType::Timestamp))[0],
        Some(T0 + 1000)
    );
}

#[test]
fn math_functions() {
    assert_eq!(
        longs(&call(F::Abs, vec![n()], SqlType::Bigint)),
        vec![Some(7), Some(7), None, Some(0)]
    );
    assert_eq!(
        doubles(&call(F::Floor, vec![d()], SqlType::Double)),
        vec![Some(2.0), Some(-3.0), None, Some(0.0)]
    );
    assert_eq!(
        doubles(&call(F::Ceil, vec![d()], SqlType::Double)),
        vec![Some(3.0), Some(-2.0), None, Some(0.0)]
    );
    assert_eq!(
        doubles(&call(F::Round, vec![d()], SqlType::Double)),
        vec![Some(3.0), Some(-3.0), None, Some(0.0)]
    );
    let round2 = call(
        F::Round,
        vec![lit(Literal::Double(2.675)), long(2)],
        SqlType::Double,
    );
    assert_eq!(doubles(&round2)[0], Some(2.68));
    assert_eq!(
        longs(&call(F::Round, vec![long(1250), long(-2)], SqlType::Bigint))[0],
        Some(1300)
    );
    assert_eq!(
        longs(&call(F::Mod, vec![n(), long(4)], SqlType::Bigint)),
        vec![Some(3), Some(-3), None, Some(0)]
    );
    assert_eq!(
        doubles(&call(F::Power, vec![n(), long(2)], SqlType::Double)),
        vec![Some(49.0), Some(49.0), None, Some(0.0)]
    );
    assert_eq!(
        doubles(&call(F::Sqrt, vec![long(16)], SqlType::Double))[0],
        Some(4.0)
    );
    assert!(doubles(&call(F::Sqrt, vec![long(-1)], SqlType::Double))[0]
        .unwrap()
        .is_nan());
    let ln = doubles(&call(F::Ln, vec![n()], SqlType::Double));
    assert!((ln[0].unwrap() - 7f64.ln()).abs() < 1e-12);
    assert!(ln[1].unwrap().is_nan());
    assert_eq!(ln[2], None);
    assert_eq!(ln[3], Some(f64::NEG_INFINITY));
}

#[test]
fn string_functions() {
    let v = SqlType::Varchar;
    let cases: Vec<(ScalarExpr, Vec<Option<String>>)> = vec![
        (
            call(F::Upper, vec![s()], v.clone()),
            vec![
                Some("HELLO".into()),
                Some("".into()),
                None,
                Some("ÜNÏCÖDÉ".into()),
            ],
        ),
        (
            call(F::Lower, vec![s()], v.clone()),
            vec![
                Some("hello".into()),
                Some("".into()),
                None,
                Some("ünïcödé".into()),
            ],
        ),
        (
            call(F::Substring, vec![s(), long(2), long(3)], v.clone()),
            // Druid: a start at or past the end (any start on '') is null.
            vec![Some("ell".into()), None, None, Some("nïc".into())],
        ),
        (
            call(F::Substring, vec![s(), long(4)], v.clone()),
            vec![Some("lo".into()), None, None, Some("cödé".into())],
        ),
        (
            call(F::Concat, vec![s(), text("-"), s()], v.clone()),
            vec![
                Some("hello-hello".into()),
                Some("-".into()),
                None,
                Some("Ünïcödé-Ünïcödé".into()),
            ],
        ),
        (
            bin(BinaryOp::Concat, s(), text("!"), v.clone()),
            vec![
                Some("hello!".into()),
                Some("!".into()),
                None,
                Some("Ünïcödé!".into()),
            ],
        ),
        (
            call(F::Replace, vec![s(), text("l"), text("L")], v.clone()),
            vec![
                Some("heLLo".into()),
                Some("".into()),
                None,
                Some("Ünïcödé".into()),
            ],
        ),
        (
            call(
                F::Trim(TrimWhere::Both),
                vec![text("xxhixx"), text("x")],
                v.clone(),
            ),
            some(&["hi"; 4]),
        ),
        (
            call(F::Trim(TrimWhere::Leading), vec![text("  hi  ")], v.clone()),
            some(&["hi  "; 4]),
        ),
        (
            call(
                F::Trim(TrimWhere::Trailing),
                vec![text("  hi  "), text(" ")],
                v.clone(),
            ),
            some(&["  hi"; 4]),
        ),
    ];
    for (e, want) in cases {
        assert_eq!(strings(&e), want, "{e:?}");
    }
    assert_eq!(
        longs(&call(F::Length, vec![s()], SqlType::Bigint)),
        vec![Some(5), Some(0), None, Some(7)]
    );
    assert_eq!(
        longs(&call(F::Strpos, vec![s(), text("l")], SqlType::Bigint)),
        vec![Some(3), Some(0), None, Some(0)]
    );
    assert_eq!(
        longs(&call(F::Strpos, vec![s(), text("c")], SqlType::Bigint))[3],
        Some(4)
    );
    // CONCAT with a null argument is null.
    assert_eq!(
        strings(&call(
            F::Concat,
            vec![text("a"), null(SqlType::Varchar)],
            v.clone()
        )),
        vec![None; 4]
    );
    // Druid's substring: past the end is null; a start before 1 fails as Java's substring.
    assert_eq!(
        strings(&call(
            F::Substring,
            vec![text("abc"), long(5), long(2)],
            v.clone()
        )),
        vec![None; 4]
    );
    assert_eq!(
        strings(&call(
            F::Substring,
            vec![text("abc"), long(3), long(-1)],
            v.clone()
        )),
        vec![Some("c".into()); 4]
    );
    let err = evaluate(
        &call(F::Substring, vec![s(), long(0), long(2)], v),
        &batch(),
    )
    .unwrap_err();
    assert!(err.message().contains("Function[substring]"), "{err}");
}

#[test]
fn like() {
    let like = |pattern: &str, escape: Option<char>, negated: bool| ScalarExpr::Like {
        expr: Box::new(s()),
        pattern: pattern.to_owned(),
        escape,
        negated,
    };
    assert_eq!(
        bools(&like("h%", None, false)),
        vec![Some(true), Some(false), None, Some(false)]
    );
    assert_eq!(
        bools(&like("h%", None, true)),
        vec![Some(false), Some(true), None, Some(true)]
    );
    assert_eq!(
        bools(&like("%", None, false)),
        vec![Some(true), Some(true), None, Some(true)]
    );
    assert_eq!(
        bools(&like("_____", None, false)),
        vec![Some(true), Some(false), None, Some(false)]
    );
    assert_eq!(
        bools(&like("Ü_ï%é", None, false)),
        vec![Some(false), Some(false), None, Some(true)]
    );
    assert_eq!(bools(&like("%l_o", None, false))[0], Some(true));
    let err = evaluate(&like("a#", Some('#'), false), &batch()).unwrap_err();
    assert!(err.message().contains("Invalid escape"), "{err}");
}

#[test]
fn regular_expressions() {
    let v = SqlType::Varchar;
    let extract = call(F::RegexpExtract, vec![s(), text("l+")], v.clone());
    assert_eq!(strings(&extract), vec![Some("ll".into()), None, None, None]);
    let group = call(
        F::RegexpExtract,
        vec![s(), text("h(e)(x)?"), long(1)],
        v.clone(),
    );
    assert_eq!(strings(&group)[0], Some("e".into()));
    let absent_group = call(
        F::RegexpExtract,
        vec![s(), text("h(e)(x)?"), long(2)],
        v.clone(),
    );
    assert_eq!(strings(&absent_group)[0], None);
    let like = call(F::RegexpLike, vec![s(), text("l{2}")], SqlType::Boolean);
    assert_eq!(
        bools(&like),
        vec![Some(true), Some(false), None, Some(false)]
    );
    let anchored = call(F::RegexpLike, vec![s(), text("^$")], SqlType::Boolean);
    assert_eq!(
        bools(&anchored),
        vec![Some(false), Some(true), None, Some(false)]
    );

    let bad = call(
        F::RegexpLike,
        vec![s(), text("(unclosed")],
        SqlType::Boolean,
    );
    let err = evaluate(&bad, &batch()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::QueryRuntimeError);
    assert!(err.message().contains("regexp_like"), "{err}");
    let out_of_range = call(F::RegexpExtract, vec![s(), text("(a)"), long(2)], v);
    assert_eq!(
        evaluate(&out_of_range, &batch()).unwrap_err().code(),
        ErrorCode::QueryRuntimeError
    );
}

#[test]
fn null_tests_in_lists_case_coalesce_nullif() {
    let is_null = ScalarExpr::IsNull {
        expr: Box::new(s()),
        negated: false,
    };
    assert_eq!(
        bools(&is_null),
        vec![Some(false), Some(false), Some(true), Some(false)]
    );
    let is_not_null = ScalarExpr::IsNull {
        expr: Box::new(s()),
        negated: true,
    };
    assert_eq!(
        bools(&is_not_null),
        vec![Some(true), Some(true), Some(false), Some(true)]
    );

    let in_list = |list: Vec<ScalarExpr>, negated| ScalarExpr::InList {
        expr: Box::new(n()),
        list,
        negated,
    };
    assert_eq!(
        bools(&in_list(vec![long(7), long(0)], false)),
        vec![Some(true), Some(false), None, Some(true)]
    );
    assert_eq!(
        bools(&in_list(vec![long(7), long(0)], true)),
        vec![Some(false), Some(true), None, Some(false)]
    );
    // x NOT IN (7, NULL) is never true.
    assert_eq!(
        bools(&in_list(vec![long(7), null(SqlType::Bigint)], true)),
        vec![Some(false), None, None, None]
    );

    // Longer literal lists take the hash-set path; same answers, same null rules.
    let many = |extra: ScalarExpr, negated| {
        in_list(
            vec![long(7), long(100), long(200), long(300), extra],
            negated,
        )
    };
    assert_eq!(
        bools(&many(long(400), false)),
        vec![Some(true), Some(false), None, Some(false)]
    );
    assert_eq!(
        bools(&many(null(SqlType::Bigint), false)),
        vec![Some(true), None, None, None]
    );
    assert_eq!(
        bools(&many(null(SqlType::Bigint), true)),
        vec![Some(false), None, None, None]
    );
    let words = ScalarExpr::InList {
        expr: Box::new(s()),
        list: ["a", "b", "", "Ünïcödé", "c"]
            .into_iter()
            .map(text)
            .collect(),
        negated: false,
    };
    assert_eq!(
        bools(&words),
        vec![Some(false), Some(true), None, Some(true)]
    );

    let case = ScalarExpr::Case {
        branches: vec![
            (
                bin(BinaryOp::Gt, n(), long(0), SqlType::Boolean),
                text("pos"),
            ),
            (
                bin(BinaryOp::Lt, n(), long(0), SqlType::Boolean),
                text("neg"),
            ),
        ],
        otherwise: Some(Box::new(text("zero-or-null"))),
        ty: SqlType::Varchar,
    };
    assert_eq!(
        strings(&case),
        some(&["pos", "neg", "zero-or-null", "zero-or-null"])
    );
    let no_else = ScalarExpr::Case {
        branches: vec![(b(), n())],
        otherwise: None,
        ty: SqlType::Bigint,
    };
    assert_eq!(longs(&no_else), vec![Some(7), None, None, Some(0)]);

    let coalesce = call(F::Coalesce, vec![s(), text("dflt")], SqlType::Varchar);
    assert_eq!(strings(&coalesce), some(&["hello", "", "dflt", "Ünïcödé"]));
    let nullif = call(F::Nullif, vec![n(), long(0)], SqlType::Bigint);
    assert_eq!(longs(&nullif), vec![Some(7), Some(-7), None, None]);
}

#[test]
fn casts() {
    let v = SqlType::Varchar;
    assert_eq!(
        strings(&cast(n(), v.clone())),
        vec![Some("7".into()), Some("-7".into()), None, Some("0".into())]
    );
    assert_eq!(
        strings(&cast(d(), v.clone())),
        vec![
            Some("2.5".into()),
            Some("-2.5".into()),
            None,
            Some("0.0".into())
        ]
    );
    assert_eq!(
        strings(&cast(lit(Literal::Double(1.0e7)), v.clone()))[0],
        Some("1.0E7".into())
    );
    assert_eq!(
        strings(&cast(t(), v.clone())),
        vec![
            Some("2016-06-27 00:00:11".into()),
            Some("1970-01-01 00:00:00".into()),
            None,
            Some("1969-12-31 23:59:59".into())
        ]
    );
    assert_eq!(
        strings(&cast(b(), v.clone())),
        vec![
            Some("true".into()),
            Some("false".into()),
            None,
            Some("true".into())
        ]
    );
    let parse = |text_value: &str, to: SqlType| cast(text(text_value), to);
    assert_eq!(longs(&parse(" 42 ", SqlType::Bigint))[0], Some(42));
    assert_eq!(longs(&parse("1.5", SqlType::Bigint))[0], Some(1));
    assert_eq!(longs(&parse("abc", SqlType::Bigint))[0], None);
    assert_eq!(longs(&parse("", SqlType::Bigint))[0], None);
    assert_eq!(doubles(&parse("2.5e1", SqlType::Double))[0], Some(25.0));
    assert_eq!(
        longs(&parse("2016-06-27T00:00:11.080Z", SqlType::Timestamp))[0],
        Some(T0)
    );
    assert_eq!(
        longs(&parse("2016-06-27 00:00:11.080", SqlType::Timestamp))[0],
        Some(T0)
    );
    assert_eq!(longs(&parse("not a time", SqlType::Timestamp))[0], None);
    assert_eq!(bools(&parse("TRUE", SqlType::Boolean))[0], Some(true));
    assert_eq!(
        longs(&cast(b(), SqlType::Bigint)),
        vec![Some(1), Some(0), None, Some(1)]
    );
    assert_eq!(
        bools(&cast(n(), SqlType::Boolean)),
        vec![Some(true), Some(true), None, Some(false)]
    );
    assert_eq!(
        longs(&cast(d(), SqlType::Bigint)),
        vec![Some(2), Some(-2), None, Some(0)]
    );
    assert_eq!(longs(&cast(t(), SqlType::Bigint))[0], Some(T0));
    assert_eq!(longs(&cast(n(), SqlType::Timestamp))[0], Some(7));
    assert_eq!(
        longs(&cast(null(SqlType::Null), SqlType::Bigint)),
        vec![None; 4]
    );
    let float = eval(&cast(d(), SqlType::Float));
    assert_eq!(float.data_type(), &DataType::Float32);

    // cast_array reads the source type off the Arrow type.
    let dict: ArrayRef = Arc::new(
        vec![Some("1"), None, Some("x")]
            .into_iter()
            .collect::<DictionaryArray<Int32Type>>(),
    );
    let as_long = cast_array(&dict, &SqlType::Bigint).unwrap();
    let as_long = as_long.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(
        as_long.iter().collect::<Vec<_>>(),
        vec![Some(1), None, None]
    );
    let same: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    assert!(Arc::ptr_eq(
        &cast_array(&same, &SqlType::Bigint).unwrap(),
        &same
    ));
}

#[test]
fn time_functions() {
    let ts = SqlType::Timestamp;
    let utc = || null(SqlType::Varchar);
    let parse = call(
        F::TimeParse,
        vec![
            text("2016-06-27T00:00:11.080Z"),
            null(SqlType::Varchar),
            utc(),
        ],
        ts.clone(),
    );
    assert_eq!(longs(&parse), vec![Some(T0); 4]);
    let joda = call(
        F::TimeParse,
        vec![
            text("27/06/2016 05:30"),
            text("dd/MM/yyyy HH:mm"),
            text("+05:30"),
        ],
        ts.clone(),
    );
    assert_eq!(longs(&joda)[0], Some(T0 - 11_080));
    let unparseable = call(
        F::TimeParse,
        vec![s(), null(SqlType::Varchar), utc()],
        ts.clone(),
    );
    assert_eq!(longs(&unparseable), vec![None; 4]);

    let format = call(
        F::TimeFormat,
        vec![t(), null(SqlType::Varchar), utc()],
        SqlType::Varchar,
    );
    assert_eq!(
        strings(&format),
        vec![
            Some("2016-06-27T00:00:11.080Z".into()),
            Some("1970-01-01T00:00:00.000Z".into()),
            None,
            Some("1969-12-31T23:59:59.999Z".into())
        ]
    );
    let custom = call(
        F::TimeFormat,
        vec![t(), text("yyyy-MM-dd HH:mm"), text("-08:00")],
        SqlType::Varchar,
    );
    assert_eq!(strings(&custom)[0], Some("2016-06-26 16:00".into()));

    let floor = call(
        F::TimeFloor,
        vec![t(), text("P1D"), null(ts.clone()), utc()],
        ts.clone(),
    );
    assert_eq!(
        longs(&floor),
        vec![Some(T0 - 11_080), Some(0), None, Some(-86_400_000)]
    );
    let ceil = call(
        F::TimeCeil,
        vec![t(), text("PT1H"), null(ts.clone()), utc()],
        ts.clone(),
    );
    assert_eq!(
        longs(&ceil),
        vec![Some(T0 - 11_080 + 3_600_000), Some(0), None, Some(0)]
    );
    let shift = call(F::TimeShift, vec![t(), text("P1M"), n(), utc()], ts.clone());
    let shifted = longs(&shift);
    assert_eq!(shifted[2], None);
    let one_month_later = call(
        F::TimeParse,
        vec![
            text("2017-01-27T00:00:11.080Z"),
            null(SqlType::Varchar),
            utc(),
        ],
        ts.clone(),
    );
    assert_eq!(shifted[0], longs(&one_month_later)[0]);

    let year = call(
        F::TimeExtract(TimeUnit::Year),
        vec![t(), utc()],
        SqlType::Bigint,
    );
    assert_eq!(longs(&year), vec![Some(2016), Some(1970), None, Some(1969)]);
    let hour = call(
        F::TimeExtract(TimeUnit::Hour),
        vec![t(), text("+05:30")],
        SqlType::Bigint,
    );
    assert_eq!(longs(&hour), vec![Some(5), Some(5), None, Some(5)]);

    let to_ts = call(F::MillisToTimestamp, vec![n()], ts.clone());
    assert_eq!(longs(&to_ts), vec![Some(7), Some(-7), None, Some(0)]);
    let to_millis = call(F::TimestampToMillis, vec![t()], SqlType::Bigint);
    assert_eq!(longs(&to_millis)[0], Some(T0));

    // Constant arguments may be any column-free expression (folded once).
    let folded = call(
        F::TimeFloor,
        vec![
            t(),
            bin(BinaryOp::Concat, text("PT"), text("1H"), SqlType::Varchar),
            cast(text("2016-01-01T00:30:00Z"), ts.clone()),
            utc(),
        ],
        ts.clone(),
    );
    assert_eq!(longs(&folded)[0], Some(T0 - 11_080 - 30 * 60_000));
    let not_constant = call(
        F::TimeFloor,
        vec![t(), s(), null(ts.clone()), utc()],
        ts.clone(),
    );
    assert!(evaluate(&not_constant, &batch())
        .unwrap_err()
        .message()
        .contains("must be a literal"));

    // Named zones come from the built-in table, with daylight saving.
    let paris_day = call(
        F::TimeFloor,
        vec![t(), text("P1D"), null(ts.clone()), text("Europe/Paris")],
        ts.clone(),
    );
    // 2016-06-27T00:00:11Z is 02:00 CEST (+2): the day began at 2016-06-26T22:00Z. In
    // January 1970 Paris is on CET (+1).
    assert_eq!(
        longs(&paris_day),
        vec![
            Some(T0 - 11_080 - 2 * 3_600_000),
            Some(-3_600_000),
            None,
            Some(-3_600_000)
        ]
    );
    let la = call(
        F::TimeFormat,
        vec![
            t(),
            text("yyyy-MM-dd HH:mm z ZZ"),
            text("America/Los_Angeles"),
        ],
        SqlType::Varchar,
    );
    assert_eq!(
        strings(&la)[..2],
        [
            Some("2016-06-26 17:00 PDT -07:00".into()),
            Some("1969-12-31 16:00 PST -08:00".into())
        ]
    );
    let la_parse = call(
        F::TimeParse,
        vec![
            text("2016-06-27 10:00"),
            text("yyyy-MM-dd HH:mm"),
            text("America/Los_Angeles"),
        ],
        ts.clone(),
    );
    assert_eq!(longs(&la_parse)[0], Some(1_467_046_800_000)); // 17:00Z
    let bad_zone = call(
        F::TimeFloor,
        vec![t(), text("P1D"), null(ts.clone()), text("Europe/Atlantis")],
        ts.clone(),
    );
    let err = evaluate(&bad_zone, &batch()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.message().contains("Europe/Atlantis"), "{err}");
    assert!(err.message().contains("built-in table"), "{err}");
    let bad_period = call(
        F::TimeFloor,
        vec![t(), text("1 day"), null(ts.clone()), utc()],
        ts,
    );
    assert!(evaluate(&bad_period, &batch())
        .unwrap_err()
        .message()
        .contains("period"));
}

#[test]
fn empty_batches() {
    let empty = batch().slice(0, 0);
    let e = call(F::Upper, vec![s()], SqlType::Varchar);
    assert_eq!(evaluate(&e, &empty).unwrap().len(), 0);
    let case = ScalarExpr::Case {
        branches: vec![(b(), n())],
        otherwise: None,
        ty: SqlType::Bigint,
    };
    assert_eq!(evaluate(&case, &empty).unwrap().len(), 0);
    assert_eq!(filter_batch(&empty, &b()).unwrap().num_rows(), 0);
}

/// A conjunction's later conjuncts are evaluated over only the rows the earlier ones kept once
/// those are few: whichever way it goes, the mask must be the three-valued AND with null as
/// false.
#[test]
fn conjunctions_narrow_to_the_rows_still_kept() {
    let rows = 1000;
    let k: Int64Array = (0..rows).map(|i| (i % 13 != 0).then_some(i % 10)).collect();
    let v: Int64Array = (0..rows).map(|i| (i % 7 != 0).then_some(i)).collect();
    let w: StringArray = (0..rows)
        .map(|i| (i % 11 != 0).then_some(if i % 3 == 0 { "x" } else { "y" }))
        .collect();
    let schema = Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
        Field::new("w", DataType::Utf8, true),
    ]);
    let columns: Vec<ArrayRef> = vec![Arc::new(k), Arc::new(v), Arc::new(w)];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).unwrap();
    let k = || ScalarExpr::column(0, "k", SqlType::Bigint);
    let v = || ScalarExpr::column(1, "v", SqlType::Bigint);
    let w = || ScalarExpr::column(2, "w", SqlType::Varchar);
    let and = |l, r| bin(BinaryOp::And, l, r, SqlType::Boolean);
    let or = |l, r| bin(BinaryOp::Or, l, r, SqlType::Boolean);
    let cmp = |op, l, r| bin(op, l, r, SqlType::Boolean);
    let cases = [
        // A tenth kept after the first conjunct: the rest run narrowed.
        and(
            and(
                cmp(BinaryOp::Eq, k(), long(3)),
                cmp(BinaryOp::Gt, v(), long(500)),
            ),
            cmp(BinaryOp::NotEq, w(), text("x")),
        ),
        // Right-nested, with an OR inside the narrowed part.
        and(
            cmp(BinaryOp::Eq, k(), long(3)),
            and(
                or(
                    cmp(BinaryOp::Lt, v(), long(100)),
                    cmp(BinaryOp::Eq, w(), text("y")),
                ),
                cmp(BinaryOp::GtEq, v(), long(3)),
            ),
        ),
        // Most rows kept: evaluated over the whole batch.
        and(
            cmp(BinaryOp::GtEq, k(), long(1)),
            cmp(BinaryOp::Gt, v(), long(500)),
        ),
        // Nothing kept after the first conjunct.
        and(
            cmp(BinaryOp::Gt, k(), long(100)),
            cmp(BinaryOp::Gt, v(), long(1)),
        ),
        // Literals in a narrowed conjunct are broadcast to the kept rows.
        and(cmp(BinaryOp::Eq, k(), long(4)), lit(Literal::Boolean(true))),
    ];
    for (i, predicate) in cases.iter().enumerate() {
        let three_valued = evaluate(predicate, &batch).unwrap();
        let three_valued = three_valued
            .as_any()
            .downcast_ref::<BooleanArray>()
            .unwrap();
        let expected: Vec<bool> = three_valued.iter().map(|b| b == Some(true)).collect();
        let mask = evaluate_predicate(predicate, &batch).unwrap();
        assert_eq!(mask.null_count(), 0, "case {i}");
        let got: Vec<bool> = mask.iter().map(|b| b == Some(true)).collect();
        assert_eq!(got, expected, "case {i}");
        assert_eq!(
            filter_batch(&batch, predicate).unwrap().num_rows(),
            expected.iter().filter(|&&b| b).count(),
            "case {i}"
        );
    }
    assert!(evaluate_predicate(&cases[0], &batch).unwrap().true_count() > 0);
}
