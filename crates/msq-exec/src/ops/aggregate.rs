//! Hash aggregation: [`Step::Aggregate`](msq_plan::Step::Aggregate) in its three
//! [`AggregateMode`]s.
//!
//! Group keys are encoded with arrow-row's [`RowConverter`] (a single `VARCHAR` key is its own
//! bytes, see `GroupKeys`) and looked up in a byte-keyed hash map that hands out dense group
//! indexes in first-seen order; each aggregate keeps columnar per-group state (`Vec`s indexed
//! by group), so the hot loop allocates nothing per row (only on a new group, or a new
//! distinct value). A single key that is a bare column arriving as a
//! `Dictionary<Int32, Utf8>` (a segment's string column, kept encoded by the table read) is
//! grouped through its dictionary: one lookup per distinct value, one array index per row.
//!
//! # Partial state columns
//! What a `Partial` step emits per aggregate named `name` (and a `Final` step reads back, by
//! position), as [`partial_state_fields`] returns them:
//!
//! | Function | State columns |
//! |---|---|
//! | `COUNT(*)`, `COUNT(x)` | `name`: Int64, never null |
//! | `SUM(x)` | `name`: Int64 for a BIGINT sum, Float64 otherwise; null when no non-null input |
//! | `MIN`, `MAX`, `ANY_VALUE` | `name`: the *state type* of `x` (below); null when none |
//! | `AVG(x)` | `name$sum` (Int64 for integer `x`, else Float64), `name$count` Int64 |
//! | `EARLIEST(x, t)`, `LATEST(x, t)` | `name$time` Int64 (null when no row), `name` state type |
//! | `COUNT(DISTINCT x)` exact | `name`: Binary, a serialized value set (below) |
//! | `APPROX_COUNT_DISTINCT(x)`, `…Merge`, `HllSketch` | `name`: Binary, a serialized [`HyperLogLog`] |
//!
//! `ApproxCountDistinctMerge` (and `HllSketch` over a `COMPLEX` argument) reads its argument
//! as serialized sketches and merges them (Druid's `HLLSketchMerge`); `HllSketch`'s final value
//! is the serialized sketch itself (a Binary `COMPLEX<HLLSketch>` column, what a rollup ingest
//! stores), the others' is the BIGINT estimate.
//!
//! State types: BIGINT/TIMESTAMP → Int64, DOUBLE/FLOAT → Float64, BOOLEAN → Boolean,
//! VARCHAR/NULL → Utf8, COMPLEX → Binary. Final values are cast to
//! `arrow_type(aggregate.ty)` (so `MIN` of a FLOAT column is Float32 again).
//!
//! The exact distinct set serializes as a little-endian `u32` count, then per value (in
//! ascending byte order) a `u32` length and the value's bytes (UTF-8 for strings,
//! little-endian 8 bytes for numbers, `-0.0` and NaN canonicalized).
//!
//! # Null semantics (SQL-compatible mode)
//! `COUNT` counts non-null values (`COUNT(*)` rows) and is 0 over nothing; `SUM`, `MIN`, `MAX`,
//! `AVG` are null with no non-null input; `MIN`/`MAX` of strings compare bytes; `AVG` of a
//! BIGINT truncates (Druid's sum ÷ count cast to BIGINT). `EARLIEST`/`LATEST` take the value —
//! null included, as Druid's first/last aggregators record it — of the row with the
//! smallest/largest non-null time (ties: first seen; rows with a null time are skipped);
//! `ANY_VALUE` is the first non-null value. A `FILTER (WHERE …)` clause skips rows where
//! it is false or null for that aggregate only.

use super::hll::HyperLogLog;
use super::{arrow_err, ByteHasher};
use crate::expr::{arrow_type, cast_array, evaluate, evaluate_predicate};
use arrow_array::builder::{BinaryBuilder, BooleanBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray,
};
use arrow_buffer::NullBuffer;
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use hashbrown::HashTable;
use msq_common::{internal_err, MsqError, Result};
use msq_plan::{
    AggregateFunction, AggregateMode, AggregateStep, NamedAggregate, ScalarExpr, SqlType,
};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher as _};
use std::sync::Arc;

/// An exact distinct-value set of one group.
type ValueSet = HashSet<Box<[u8]>, BuildHasherDefault<ByteHasher>>;

/// The Arrow type a value of `ty` is kept in inside aggregate state (module docs).
fn state_type(ty: &SqlType) -> DataType {
    match ty {
        SqlType::Bigint | SqlType::Timestamp => DataType::Int64,
        SqlType::Double | SqlType::Float => DataType::Float64,
        SqlType::Boolean => DataType::Boolean,
        SqlType::Varchar | SqlType::Null => DataType::Utf8,
        SqlType::Complex(_) => DataType::Binary,
    }
}

fn is_integer(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Bigint | SqlType::Timestamp | SqlType::Boolean)
}

fn arg_type(agg: &NamedAggregate) -> SqlType {
    agg.aggregate
        .args
        .first()
        .map(|a| a.sql_type())
        .unwrap_or(SqlType::Bigint)
}

/// The partial state columns a `Partial` aggregate step emits for `agg` (module docs), so the
/// planner's stage signature agrees with the executor's output.
pub fn partial_state_fields(agg: &NamedAggregate) -> Vec<Field> {
    let name = agg.name.as_str();
    let arg = arg_type(agg);
    match agg.aggregate.func {
        AggregateFunction::CountStar | AggregateFunction::Count => {
            vec![Field::new(name, DataType::Int64, false)]
        }
        AggregateFunction::Sum => {
            let dt = if arrow_type(&agg.aggregate.ty) == DataType::Int64 {
                DataType::Int64
            } else {
                DataType::Float64
            };
            vec![Field::new(name, dt, true)]
        }
        AggregateFunction::Min | AggregateFunction::Max | AggregateFunction::AnyValue => {
            vec![Field::new(name, state_type(&arg), true)]
        }
        AggregateFunction::Avg => {
            let dt = if is_integer(&arg) {
                DataType::Int64
            } else {
                DataType::Float64
            };
            vec![
                Field::new(format!("{name}$sum"), dt, false),
                Field::new(format!("{name}$count"), DataType::Int64, false),
            ]
        }
        AggregateFunction::Earliest | AggregateFunction::Latest => vec![
            Field::new(format!("{name}$time"), DataType::Int64, true),
            Field::new(name, state_type(&arg), true),
        ],
        AggregateFunction::CountDistinct
        | AggregateFunction::ApproxCountDistinct
        | AggregateFunction::ApproxCountDistinctMerge
        | AggregateFunction::HllSketch => {
            vec![Field::new(name, DataType::Binary, true)]
        }
    }
}

/// A typed view of an argument column, in its state type.
enum Arg<'a> {
    I64(&'a Int64Array),
    F64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Str(&'a StringArray),
    Bin(&'a BinaryArray),
    /// All null.
    Null,
}

/// Casts `array` to the state type of `ty` (numbers widen; `Null` arrays stay as they are).
fn normalize(array: &ArrayRef, ty: &SqlType) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Null {
        return Ok(array.clone());
    }
    let target = state_type(ty);
    if array.data_type() == &target {
        return Ok(array.clone());
    }
    let sql = match target {
        DataType::Int64 => SqlType::Bigint,
        DataType::Float64 => SqlType::Double,
        DataType::Boolean => SqlType::Boolean,
        DataType::Utf8 => SqlType::Varchar,
        _ => ty.clone(),
    };
    let out = cast_array(array, &sql)?;
    if out.data_type() != &target && out.data_type() != &DataType::Null {
        internal_err!(
            "Aggregate argument of type {} cannot be read as {target}",
            array.data_type()
        );
    }
    Ok(out)
}

impl<'a> Arg<'a> {
    fn new(array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Int64 => Arg::I64(array.as_primitive::<Int64Type>()),
            DataType::Float64 => Arg::F64(array.as_primitive::<Float64Type>()),
            DataType::Boolean => Arg::Bool(array.as_boolean()),
            DataType::Utf8 => Arg::Str(array.as_string::<i32>()),
            DataType::Binary => Arg::Bin(array.as_binary::<i32>()),
            DataType::Null => Arg::Null,
            other => internal_err!("Unsupported aggregate argument type {other}"),
        })
    }

    #[inline]
    fn is_valid(&self, i: usize) -> bool {
        match self {
            Arg::I64(a) => a.is_valid(i),
            Arg::F64(a) => a.is_valid(i),
            Arg::Bool(a) => a.is_valid(i),
            Arg::Str(a) => a.is_valid(i),
            Arg::Bin(a) => a.is_valid(i),
            Arg::Null => false,
        }
    }

    /// Writes the value's canonical bytes (distinct counting) into `buf`.
    #[inline]
    fn bytes_into(&self, i: usize, buf: &mut Vec<u8>) {
        buf.clear();
        match self {
            Arg::I64(a) => buf.extend_from_slice(&a.value(i).to_le_bytes()),
            Arg::F64(a) => {
                let v = a.value(i);
                let v = if v == 0.0 {
                    0.0
                } else if v.is_nan() {
                    f64::NAN
                } else {
                    v
                };
                buf.extend_from_slice(&v.to_bits().to_le_bytes())
            }
            Arg::Bool(a) => buf.push(u8::from(a.value(i))),
            Arg::Str(a) => buf.extend_from_slice(a.value(i).as_bytes()),
            Arg::Bin(a) => buf.extend_from_slice(a.value(i)),
            Arg::Null => {}
        }
    }
}

/// Per-group values of one state type, with validity.
enum Values {
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    Bin(Vec<Vec<u8>>),
}

struct ValueStore {
    values: Values,
    valid: Vec<bool>,
}

impl ValueStore {
    fn new(ty: &DataType) -> Self {
        let values = match ty {
            DataType::Int64 => Values::I64(Vec::new()),
            DataType::Float64 => Values::F64(Vec::new()),
            DataType::Boolean => Values::Bool(Vec::new()),
            DataType::Binary => Values::Bin(Vec::new()),
            _ => Values::Str(Vec::new()),
        };
        Self {
            values,
            valid: Vec::new(),
        }
    }

    fn resize(&mut self, n: usize) {
        if self.valid.len() >= n {
            return;
        }
        self.valid.resize(n, false);
        match &mut self.values {
            Values::I64(v) => v.resize(n, 0),
            Values::F64(v) => v.resize(n, 0.0),
            Values::Bool(v) => v.resize(n, false),
            Values::Str(v) => v.resize_with(n, String::new),
            Values::Bin(v) => v.resize_with(n, Vec::new),
        }
    }

    /// Compares the argument value at `i` with the stored value of group `g` (both valid).
    #[inline]
    fn cmp(&self, arg: &Arg<'_>, i: usize, g: usize) -> Ordering {
        match (arg, &self.values) {
            (Arg::I64(a), Values::I64(v)) => a.value(i).cmp(&v[g]),
            (Arg::F64(a), Values::F64(v)) => a.value(i).total_cmp(&v[g]),
            (Arg::Bool(a), Values::Bool(v)) => a.value(i).cmp(&v[g]),
            (Arg::Str(a), Values::Str(v)) => a.value(i).as_bytes().cmp(v[g].as_bytes()),
            (Arg::Bin(a), Values::Bin(v)) => a.value(i).cmp(v[g].as_slice()),
            _ => Ordering::Equal,
        }
    }

    #[inline]
    fn set(&mut self, arg: &Arg<'_>, i: usize, g: usize) {
        match (arg, &mut self.values) {
            (Arg::I64(a), Values::I64(v)) => v[g] = a.value(i),
            (Arg::F64(a), Values::F64(v)) => v[g] = a.value(i),
            (Arg::Bool(a), Values::Bool(v)) => v[g] = a.value(i),
            (Arg::Str(a), Values::Str(v)) => {
                v[g].clear();
                v[g].push_str(a.value(i));
            }
            (Arg::Bin(a), Values::Bin(v)) => {
                v[g].clear();
                v[g].extend_from_slice(a.value(i));
            }
            _ => return,
        }
        self.valid[g] = true;
    }

    fn to_array(&self, n: usize) -> ArrayRef {
        let nulls = Some(NullBuffer::from_iter(
            (0..n).map(|g| self.valid.get(g).copied().unwrap_or(false)),
        ));
        match &self.values {
            Values::I64(v) => {
                let vals: Vec<i64> = (0..n).map(|g| v.get(g).copied().unwrap_or(0)).collect();
                Arc::new(Int64Array::new(vals.into(), nulls))
            }
            Values::F64(v) => {
                let vals: Vec<f64> = (0..n).map(|g| v.get(g).copied().unwrap_or(0.0)).collect();
                Arc::new(Float64Array::new(vals.into(), nulls))
            }
            Values::Bool(v) => {
                let mut b = BooleanBuilder::with_capacity(n);
                for g in 0..n {
                    match (self.valid.get(g), v.get(g)) {
                        (Some(true), Some(x)) => b.append_value(*x),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Values::Str(v) => {
                let mut b = StringBuilder::with_capacity(n, 0);
                for g in 0..n {
                    match (self.valid.get(g), v.get(g)) {
                        (Some(true), Some(x)) => b.append_value(x),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Values::Bin(v) => {
                let mut b = BinaryBuilder::with_capacity(n, 0);
                for g in 0..n {
                    match (self.valid.get(g), v.get(g)) {
                        (Some(true), Some(x)) => b.append_value(x),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
        }
    }
}

#[inline]
fn enabled(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

/// What one aggregate keeps per group.
enum Acc {
    Count {
        star: bool,
        counts: Vec<i64>,
    },
    SumInt {
        sums: Vec<i64>,
        seen: Vec<bool>,
    },
    SumFloat {
        sums: Vec<f64>,
        seen: Vec<bool>,
    },
    MinMax {
        min: bool,
        store: ValueStore,
    },
    AvgInt {
        sums: Vec<i64>,
        counts: Vec<i64>,
    },
    AvgFloat {
        sums: Vec<f64>,
        counts: Vec<i64>,
    },
    Distinct {
        sets: Vec<ValueSet>,
    },
    Approx {
        sketches: Vec<HyperLogLog>,
        /// Input values are serialized sketches to merge (a `COMPLEX<HLLSketch>` argument).
        merge_input: bool,
        /// The final value is the serialized sketch rather than its estimate.
        sketch_output: bool,
    },
    FirstLast {
        earliest: bool,
        /// Whether the group has a row with a non-null time yet.
        seen: Vec<bool>,
        times: Vec<i64>,
        store: ValueStore,
    },
    AnyValue {
        store: ValueStore,
    },
}

fn int_arg(array: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Int64 {
        Ok(array.clone())
    } else {
        cast_array(array, &SqlType::Bigint)
    }
}

fn float_arg(array: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Float64 {
        Ok(array.clone())
    } else {
        cast_array(array, &SqlType::Double)
    }
}

fn serialize_set(set: &ValueSet) -> Vec<u8> {
    let mut values: Vec<&[u8]> = set.iter().map(|v| &v[..]).collect();
    values.sort_unstable();
    let mut out = Vec::with_capacity(4 + values.iter().map(|v| v.len() + 4).sum::<usize>());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

fn merge_set(set: &mut ValueSet, bytes: &[u8]) -> Result<()> {
    let corrupt = || MsqError::internal("Corrupt COUNT(DISTINCT) state");
    let read_u32 = |b: &[u8], at: usize| -> Result<usize> {
        let s = b.get(at..at + 4).ok_or_else(corrupt)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let count = read_u32(bytes, 0)?;
    let mut at = 4;
    for _ in 0..count {
        let len = read_u32(bytes, at)?;
        at += 4;
        let v = bytes.get(at..at + len).ok_or_else(corrupt)?;
        at += len;
        if !set.contains(v) {
            set.insert(v.into());
        }
    }
    if at != bytes.len() {
        return Err(corrupt());
    }
    Ok(())
}

impl Acc {
    fn new(agg: &NamedAggregate) -> Self {
        let arg = arg_type(agg);
        match agg.aggregate.func {
            AggregateFunction::CountStar => Acc::Count {
                star: true,
                counts: Vec::new(),
            },
            AggregateFunction::Count => Acc::Count {
                star: false,
                counts: Vec::new(),
            },
            AggregateFunction::Sum => {
                if arrow_type(&agg.aggregate.ty) == DataType::Int64 {
                    Acc::SumInt {
                        sums: Vec::new(),
                        seen: Vec::new(),
                    }
                } else {
                    Acc::SumFloat {
                        sums: Vec::new(),
                        seen: Vec::new(),
                    }
                }
            }
            AggregateFunction::Min | AggregateFunction::Max => Acc::MinMax {
                min: agg.aggregate.func == AggregateFunction::Min,
                store: ValueStore::new(&state_type(&arg)),
            },
            AggregateFunction::Avg => {
                if is_integer(&arg) {
                    Acc::AvgInt {
                        sums: Vec::new(),
                        counts: Vec::new(),
                    }
                } else {
                    Acc::AvgFloat {
                        sums: Vec::new(),
                        counts: Vec::new(),
                    }
                }
            }
            AggregateFunction::CountDistinct => Acc::Distinct { sets: Vec::new() },
            AggregateFunction::ApproxCountDistinct => Acc::Approx {
                sketches: Vec::new(),
                merge_input: false,
                sketch_output: false,
            },
            AggregateFunction::ApproxCountDistinctMerge => Acc::Approx {
                sketches: Vec::new(),
                merge_input: true,
                sketch_output: false,
            },
            AggregateFunction::HllSketch => Acc::Approx {
                sketches: Vec::new(),
                merge_input: matches!(arg, SqlType::Complex(_)),
                sketch_output: true,
            },
            AggregateFunction::Earliest | AggregateFunction::Latest => Acc::FirstLast {
                earliest: agg.aggregate.func == AggregateFunction::Earliest,
                seen: Vec::new(),
                times: Vec::new(),
                store: ValueStore::new(&state_type(&arg)),
            },
            AggregateFunction::AnyValue => Acc::AnyValue {
                store: ValueStore::new(&state_type(&arg)),
            },
        }
    }

    fn resize(&mut self, n: usize) {
        match self {
            Acc::Count { counts, .. } => counts.resize(n, 0),
            Acc::SumInt { sums, seen } => {
                sums.resize(n, 0);
                seen.resize(n, false);
            }
            Acc::SumFloat { sums, seen } => {
                sums.resize(n, 0.0);
                seen.resize(n, false);
            }
            Acc::MinMax { store, .. } | Acc::AnyValue { store } => store.resize(n),
            Acc::AvgInt { sums, counts } => {
                sums.resize(n, 0);
                counts.resize(n, 0);
            }
            Acc::AvgFloat { sums, counts } => {
                sums.resize(n, 0.0);
                counts.resize(n, 0);
            }
            Acc::Distinct { sets } => sets.resize_with(n, ValueSet::default),
            Acc::Approx { sketches, .. } => sketches.resize_with(n, HyperLogLog::new),
            Acc::FirstLast {
                seen, times, store, ..
            } => {
                seen.resize(n, false);
                times.resize(n, 0);
                store.resize(n);
            }
        }
    }

    /// Folds raw argument values of rows into their groups.
    fn update(
        &mut self,
        args: &[ArrayRef],
        arg_ty: &SqlType,
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        let first = args.first();
        match self {
            Acc::Count { star, counts } => {
                let nulls = match (*star, first) {
                    (false, Some(a)) => a.logical_nulls(),
                    _ => None,
                };
                let all_null = !*star && first.is_some_and(|a| a.data_type() == &DataType::Null);
                if all_null {
                    return Ok(());
                }
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                        counts[g] += 1;
                    }
                }
            }
            Acc::SumInt { sums, seen } => {
                let Some(a) = first else {
                    internal_err!("SUM needs an argument")
                };
                if a.data_type() == &DataType::Null {
                    return Ok(());
                }
                let a = int_arg(a)?;
                let a = a.as_primitive::<Int64Type>();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && a.is_valid(i) {
                        sums[g] = sums[g].wrapping_add(a.value(i));
                        seen[g] = true;
                    }
                }
            }
            Acc::SumFloat { sums, seen } => {
                let Some(a) = first else {
                    internal_err!("SUM needs an argument")
                };
                if a.data_type() == &DataType::Null {
                    return Ok(());
                }
                let a = float_arg(a)?;
                let a = a.as_primitive::<Float64Type>();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && a.is_valid(i) {
                        sums[g] += a.value(i);
                        seen[g] = true;
                    }
                }
            }
            Acc::MinMax { min, store } => {
                let Some(a) = first else {
                    internal_err!("MIN/MAX needs an argument")
                };
                let a = normalize(a, arg_ty)?;
                let arg = Arg::new(&a)?;
                let want = if *min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i)
                        && arg.is_valid(i)
                        && (!store.valid[g] || store.cmp(&arg, i, g) == want)
                    {
                        store.set(&arg, i, g);
                    }
                }
            }
            Acc::AvgInt { sums, counts } => {
                let Some(a) = first else {
                    internal_err!("AVG needs an argument")
                };
                if a.data_type() == &DataType::Null {
                    return Ok(());
                }
                let a = int_arg(a)?;
                let a = a.as_primitive::<Int64Type>();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && a.is_valid(i) {
                        sums[g] = sums[g].wrapping_add(a.value(i));
                        counts[g] += 1;
                    }
                }
            }
            Acc::AvgFloat { sums, counts } => {
                let Some(a) = first else {
                    internal_err!("AVG needs an argument")
                };
                if a.data_type() == &DataType::Null {
                    return Ok(());
                }
                let a = float_arg(a)?;
                let a = a.as_primitive::<Float64Type>();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && a.is_valid(i) {
                        sums[g] += a.value(i);
                        counts[g] += 1;
                    }
                }
            }
            Acc::Distinct { sets } => {
                let Some(a) = first else {
                    internal_err!("COUNT(DISTINCT) needs an argument")
                };
                let a = normalize(a, arg_ty)?;
                let arg = Arg::new(&a)?;
                let mut buf = Vec::new();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && arg.is_valid(i) {
                        arg.bytes_into(i, &mut buf);
                        if !sets[g].contains(buf.as_slice()) {
                            sets[g].insert(buf.as_slice().into());
                        }
                    }
                }
            }
            Acc::Approx {
                sketches,
                merge_input: true,
                ..
            } => {
                let Some(a) = first else {
                    internal_err!("HLLSketchMerge needs an argument")
                };
                if a.data_type() == &DataType::Null {
                    return Ok(());
                }
                let Some(s) = a.as_binary_opt::<i32>() else {
                    internal_err!(
                        "HLLSketchMerge input must be a Binary sketch column, got {}",
                        a.data_type()
                    )
                };
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && s.is_valid(i) {
                        sketches[g].merge(&HyperLogLog::from_bytes(s.value(i))?);
                    }
                }
            }
            Acc::Approx { sketches, .. } => {
                let Some(a) = first else {
                    internal_err!("APPROX_COUNT_DISTINCT needs an argument")
                };
                let a = normalize(a, arg_ty)?;
                let arg = Arg::new(&a)?;
                let mut buf = Vec::new();
                for (i, &g) in groups.iter().enumerate() {
                    if enabled(filter, i) && arg.is_valid(i) {
                        arg.bytes_into(i, &mut buf);
                        sketches[g].insert_bytes(&buf);
                    }
                }
            }
            Acc::FirstLast {
                earliest,
                seen,
                times,
                store,
            } => {
                let (Some(a), Some(t)) = (first, args.get(1)) else {
                    internal_err!("EARLIEST/LATEST needs a value and a time argument")
                };
                let a = normalize(a, arg_ty)?;
                let arg = Arg::new(&a)?;
                let t = if t.data_type() == &DataType::Null {
                    return Ok(());
                } else {
                    int_arg(t)?
                };
                let t = t.as_primitive::<Int64Type>();
                Self::first_last(*earliest, seen, times, store, &arg, t, groups, filter);
            }
            Acc::AnyValue { store } => {
                let Some(a) = first else {
                    internal_err!("ANY_VALUE needs an argument")
                };
                let a = normalize(a, arg_ty)?;
                let arg = Arg::new(&a)?;
                for (i, &g) in groups.iter().enumerate() {
                    if !store.valid[g] && enabled(filter, i) && arg.is_valid(i) {
                        store.set(&arg, i, g);
                    }
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn first_last(
        earliest: bool,
        seen: &mut [bool],
        times: &mut [i64],
        store: &mut ValueStore,
        arg: &Arg<'_>,
        t: &Int64Array,
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) {
        for (i, &g) in groups.iter().enumerate() {
            if enabled(filter, i) && t.is_valid(i) {
                let ti = t.value(i);
                let better = !seen[g]
                    || if earliest {
                        ti < times[g]
                    } else {
                        ti > times[g]
                    };
                if better {
                    seen[g] = true;
                    times[g] = ti;
                    if arg.is_valid(i) {
                        store.set(arg, i, g);
                    } else {
                        store.valid[g] = false;
                    }
                }
            }
        }
    }

    /// Folds partial state columns (as [`Acc::state`] wrote them) into groups.
    fn merge(&mut self, states: &[ArrayRef], arg_ty: &SqlType, groups: &[usize]) -> Result<()> {
        match self {
            Acc::Count { counts, .. } => {
                let Some(s) = states.first() else {
                    internal_err!("COUNT state column missing")
                };
                let s = int_arg(s)?;
                let s = s.as_primitive::<Int64Type>();
                for (i, &g) in groups.iter().enumerate() {
                    if s.is_valid(i) {
                        counts[g] += s.value(i);
                    }
                }
            }
            Acc::SumInt { .. }
            | Acc::SumFloat { .. }
            | Acc::MinMax { .. }
            | Acc::AnyValue { .. } => {
                // The state is a value of the same kind: merging is aggregating it again.
                let state_ty = match self {
                    Acc::SumInt { .. } => SqlType::Bigint,
                    Acc::SumFloat { .. } => SqlType::Double,
                    _ => arg_ty.clone(),
                };
                self.update(states, &state_ty, groups, None)?;
            }
            Acc::AvgInt { sums, counts } => {
                let (Some(s), Some(c)) = (states.first(), states.get(1)) else {
                    internal_err!("AVG state columns missing")
                };
                let (s, c) = (int_arg(s)?, int_arg(c)?);
                let (s, c) = (s.as_primitive::<Int64Type>(), c.as_primitive::<Int64Type>());
                for (i, &g) in groups.iter().enumerate() {
                    if s.is_valid(i) && c.is_valid(i) {
                        sums[g] = sums[g].wrapping_add(s.value(i));
                        counts[g] += c.value(i);
                    }
                }
            }
            Acc::AvgFloat { sums, counts } => {
                let (Some(s), Some(c)) = (states.first(), states.get(1)) else {
                    internal_err!("AVG state columns missing")
                };
                let (s, c) = (float_arg(s)?, int_arg(c)?);
                let (s, c) = (
                    s.as_primitive::<Float64Type>(),
                    c.as_primitive::<Int64Type>(),
                );
                for (i, &g) in groups.iter().enumerate() {
                    if s.is_valid(i) && c.is_valid(i) {
                        sums[g] += s.value(i);
                        counts[g] += c.value(i);
                    }
                }
            }
            Acc::Distinct { sets } => {
                let Some(s) = states.first().and_then(|s| s.as_binary_opt::<i32>()) else {
                    internal_err!("COUNT(DISTINCT) state must be a Binary column")
                };
                for (i, &g) in groups.iter().enumerate() {
                    if s.is_valid(i) {
                        merge_set(&mut sets[g], s.value(i))?;
                    }
                }
            }
            Acc::Approx { sketches, .. } => {
                let Some(s) = states.first().and_then(|s| s.as_binary_opt::<i32>()) else {
                    internal_err!("APPROX_COUNT_DISTINCT state must be a Binary column")
                };
                for (i, &g) in groups.iter().enumerate() {
                    if s.is_valid(i) {
                        sketches[g].merge(&HyperLogLog::from_bytes(s.value(i))?);
                    }
                }
            }
            Acc::FirstLast {
                earliest,
                seen,
                times,
                store,
            } => {
                let (Some(t), Some(v)) = (states.first(), states.get(1)) else {
                    internal_err!("EARLIEST/LATEST state columns missing")
                };
                let t = int_arg(t)?;
                let t = t.as_primitive::<Int64Type>();
                let v = normalize(v, arg_ty)?;
                let arg = Arg::new(&v)?;
                Self::first_last(*earliest, seen, times, store, &arg, t, groups, None);
            }
        }
        Ok(())
    }

    /// The partial state columns of groups `0..n`.
    fn state(&self, n: usize) -> Result<Vec<ArrayRef>> {
        Ok(match self {
            Acc::Count { counts, .. } => vec![Arc::new(Int64Array::from(counts[..n].to_vec()))],
            Acc::SumInt { sums, seen } => vec![Arc::new(Int64Array::new(
                sums[..n].to_vec().into(),
                Some(NullBuffer::from(&seen[..n])),
            ))],
            Acc::SumFloat { sums, seen } => vec![Arc::new(Float64Array::new(
                sums[..n].to_vec().into(),
                Some(NullBuffer::from(&seen[..n])),
            ))],
            Acc::MinMax { store, .. } | Acc::AnyValue { store } => vec![store.to_array(n)],
            Acc::AvgInt { sums, counts } => vec![
                Arc::new(Int64Array::from(sums[..n].to_vec())),
                Arc::new(Int64Array::from(counts[..n].to_vec())),
            ],
            Acc::AvgFloat { sums, counts } => vec![
                Arc::new(Float64Array::from(sums[..n].to_vec())),
                Arc::new(Int64Array::from(counts[..n].to_vec())),
            ],
            Acc::Distinct { sets } => {
                let mut b = BinaryBuilder::with_capacity(n, 0);
                for set in &sets[..n] {
                    b.append_value(serialize_set(set));
                }
                vec![Arc::new(b.finish())]
            }
            Acc::Approx { sketches, .. } => {
                let mut b = BinaryBuilder::with_capacity(n, 0);
                for s in &sketches[..n] {
                    b.append_value(s.to_bytes());
                }
                vec![Arc::new(b.finish())]
            }
            Acc::FirstLast {
                seen, times, store, ..
            } => vec![
                Arc::new(Int64Array::new(
                    times[..n].to_vec().into(),
                    Some(NullBuffer::from(&seen[..n])),
                )),
                store.to_array(n),
            ],
        })
    }

    /// The final values of groups `0..n` (before the cast to the declared type).
    fn evaluate(&self, n: usize) -> Result<ArrayRef> {
        Ok(match self {
            Acc::AvgInt { sums, counts } => Arc::new(
                sums[..n]
                    .iter()
                    .zip(&counts[..n])
                    .map(|(&s, &c)| (c != 0).then(|| s.wrapping_div(c)))
                    .collect::<Int64Array>(),
            ),
            Acc::AvgFloat { sums, counts } => Arc::new(
                sums[..n]
                    .iter()
                    .zip(&counts[..n])
                    .map(|(&s, &c)| (c != 0).then(|| s / c as f64))
                    .collect::<Float64Array>(),
            ),
            Acc::Distinct { sets } => Arc::new(
                sets[..n]
                    .iter()
                    .map(|s| s.len() as i64)
                    .collect::<Int64Array>(),
            ),
            Acc::Approx {
                sketches,
                sketch_output: false,
                ..
            } => Arc::new(
                sketches[..n]
                    .iter()
                    .map(|s| s.estimate() as i64)
                    .collect::<Int64Array>(),
            ),
            Acc::FirstLast { store, .. } => store.to_array(n),
            other => {
                let mut s = other.state(n)?;
                match s.pop() {
                    Some(a) => a,
                    None => internal_err!("aggregate produced no value"),
                }
            }
        })
    }
}

struct AggState {
    agg: NamedAggregate,
    arg_ty: SqlType,
    acc: Acc,
    width: usize,
}

/// The groups seen so far: each group's key lives once, in [`GroupKeys`], and the hash table
/// holds only `(hash, group)` pairs that compare against those keys. Against a map keyed by
/// owned byte strings this saves an allocation and a copy per group, and growing the table
/// moves 16-byte entries without rehashing keys (the shape DataFusion's group values take).
#[derive(Default)]
struct GroupIndex {
    table: HashTable<(u64, usize)>,
}

impl GroupIndex {
    fn hash(bytes: &[u8]) -> u64 {
        let mut hasher = ByteHasher::default();
        hasher.write(bytes);
        hasher.finish()
    }
}

/// Each group's key, stored once, by group number.
///
/// In general a key is its columns' arrow-row encoding. A single `VARCHAR` key — the commonest
/// GROUP BY with many groups (a user, a page) — is kept as the strings themselves: no
/// encoding of every row on the way in, no decoding on the way out (at 100k rows those two
/// passes were a fifth of an exact `COUNT(DISTINCT "user")`).
enum GroupKeys {
    /// Arrow-row encodings.
    Rows { converter: RowConverter, rows: Rows },
    /// One string key: group `g`'s bytes are `bytes[offsets[g]..offsets[g + 1]]`; the null
    /// key, when seen, is group `null` (with no bytes, and not in the hash table, so it never
    /// meets the empty string).
    Strings {
        offsets: Vec<usize>,
        bytes: Vec<u8>,
        null: Option<usize>,
    },
}

/// One batch's keys in the form [`GroupKeys`] looks them up by.
enum EncodedKeys<'a> {
    Rows(Rows),
    Strings(&'a StringArray),
}

impl EncodedKeys<'_> {
    /// Key `i`: its bytes, or `None` for the null key of a single string key.
    fn key(&self, i: usize) -> Option<&[u8]> {
        match self {
            Self::Rows(rows) => Some(rows.row(i).data()),
            Self::Strings(strings) => strings.is_valid(i).then(|| strings.value(i).as_bytes()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Rows(rows) => rows.num_rows(),
            Self::Strings(strings) => strings.len(),
        }
    }
}

impl GroupKeys {
    /// The keys of a GROUP BY on columns of `key_types`; `None` for a global aggregate.
    fn new(key_types: &[DataType]) -> Result<Option<Self>> {
        Ok(match key_types {
            [] => None,
            [DataType::Utf8] => Some(Self::Strings {
                offsets: vec![0],
                bytes: Vec::new(),
                null: None,
            }),
            _ => {
                let fields = key_types
                    .iter()
                    .map(|t| SortField::new(t.clone()))
                    .collect();
                let converter = RowConverter::new(fields).map_err(arrow_err)?;
                let rows = converter.empty_rows(0, 0);
                Some(Self::Rows { converter, rows })
            }
        })
    }

    /// `columns` (one per key, of the key types) ready for lookup.
    fn encode<'a>(&self, columns: &'a [ArrayRef]) -> Result<EncodedKeys<'a>> {
        match (self, columns) {
            (Self::Rows { converter, .. }, _) => (converter.convert_columns(columns))
                .map(EncodedKeys::Rows)
                .map_err(arrow_err),
            (Self::Strings { .. }, [column]) => match column.as_string_opt::<i32>() {
                Some(strings) => Ok(EncodedKeys::Strings(strings)),
                None => internal_err!("a string group key arrived as {}", column.data_type()),
            },
            (Self::Strings { .. }, _) => internal_err!("one string group key expected"),
        }
    }

    /// The key columns, group by group.
    fn to_columns(&self) -> Result<Vec<ArrayRef>> {
        match self {
            Self::Rows { converter, rows } => {
                converter.convert_rows(rows.iter()).map_err(arrow_err)
            }
            Self::Strings {
                offsets,
                bytes,
                null,
            } => {
                let offsets = (offsets.iter())
                    .map(|&o| i32::try_from(o))
                    .collect::<std::result::Result<Vec<i32>, _>>()
                    .map_err(|_| MsqError::internal("group keys exceed 2 GiB of text"))?;
                let groups = offsets.len() - 1;
                let nulls = null.map(|g| NullBuffer::from_iter((0..groups).map(|i| i != g)));
                let strings = StringArray::try_new(
                    arrow_buffer::OffsetBuffer::new(offsets.into()),
                    arrow_buffer::Buffer::from_vec(bytes.clone()),
                    nulls,
                )
                .map_err(arrow_err)?;
                Ok(vec![Arc::new(strings)])
            }
        }
    }

    /// Forgets every group.
    fn clear(&mut self) {
        match self {
            Self::Rows { converter, rows } => *rows = converter.empty_rows(0, 0),
            Self::Strings {
                offsets,
                bytes,
                null,
            } => {
                offsets.truncate(1);
                bytes.clear();
                *null = None;
            }
        }
    }
}

/// The group index of each key seen so far, handing out the next index to a new key.
struct GroupTable<'a> {
    index: &'a mut GroupIndex,
    keys: &'a mut GroupKeys,
    count: &'a mut usize,
}

impl GroupTable<'_> {
    /// Room for `additional` more groups without growing the table on the way.
    fn reserve(&mut self, additional: usize) {
        (self.index.table).reserve(additional, |&(hash, _)| hash);
    }

    /// The group of `key` ([`EncodedKeys::key`]), a new one when it was not seen before.
    ///
    /// # Errors
    /// An internal error for a null key of encoded rows (they encode their nulls).
    fn group_of(&mut self, key: Option<&[u8]>) -> Result<usize> {
        let Some(bytes) = key else {
            return self.null_group();
        };
        let hash = GroupIndex::hash(bytes);
        let keys = &*self.keys;
        let same = |&(h, g): &(u64, usize)| {
            h == hash
                && match keys {
                    GroupKeys::Rows { rows, .. } => rows.row(g).as_ref() == bytes,
                    GroupKeys::Strings {
                        offsets,
                        bytes: all,
                        ..
                    } => &all[offsets[g]..offsets[g + 1]] == bytes,
                }
        };
        if let Some(&(_, g)) = self.index.table.find(hash, same) {
            return Ok(g);
        }
        let g = *self.count;
        (self.index.table).insert_unique(hash, (hash, g), |&(hash, _)| hash);
        match &mut *self.keys {
            GroupKeys::Rows { converter, rows } => rows.push(converter.parser().parse(bytes)),
            GroupKeys::Strings {
                offsets,
                bytes: all,
                ..
            } => {
                all.extend_from_slice(bytes);
                offsets.push(all.len());
            }
        }
        *self.count += 1;
        Ok(g)
    }

    /// The group of the null key of a single string key.
    fn null_group(&mut self) -> Result<usize> {
        let GroupKeys::Strings { offsets, null, .. } = &mut *self.keys else {
            internal_err!("a null key among encoded rows");
        };
        if let Some(g) = *null {
            return Ok(g);
        }
        let g = *self.count;
        offsets.push(offsets[g]);
        *null = Some(g);
        *self.count += 1;
        Ok(g)
    }
}

/// The column a group key names, when the key is a bare column reference and the batch holds
/// that column dictionary-encoded (as segments store strings and table reads may keep them).
fn dictionary_key(expr: &ScalarExpr, batch: &RecordBatch) -> Option<ArrayRef> {
    let ScalarExpr::Column { index, .. } = expr else {
        return None;
    };
    let column = batch.columns().get(*index)?;
    matches!(column.data_type(), DataType::Dictionary(key, value)
        if **key == DataType::Int32 && **value == DataType::Utf8)
    .then(|| column.clone())
}

/// A slot of a dictionary value or key combination that no row has used yet.
const UNSEEN: usize = usize::MAX;
/// A slot whose value is being encoded: its group is set before the batch is done.
const PENDING: usize = usize::MAX - 1;

/// The groups of one dictionary's values, kept while batches share that dictionary (a
/// segment's batches all do), so each distinct value is encoded and looked up once per
/// segment rather than once per batch.
struct DictionaryGroups {
    /// The dictionary's values.
    values: ArrayRef,
    /// The group of each value (then of the null key, last), or [`UNSEEN`].
    groups: Vec<usize>,
}

impl DictionaryGroups {
    /// The groups of dictionary `values`, starting from what `previous` (the last dictionary
    /// seen) knows: segments store their dictionaries sorted, and one day's users or channels
    /// are mostly the next day's, so a merge of the two sorted lists finds most values' groups
    /// by comparing neighbours, without a lookup in the group table. Dictionaries that are not
    /// sorted only match fewer values (an equal string is the same group whatever the order).
    fn follow(previous: Option<&Self>, values: &ArrayRef) -> Self {
        let mut groups = vec![UNSEEN; values.len() + 1];
        fn strings(a: &ArrayRef) -> Option<&StringArray> {
            a.as_string_opt::<i32>().filter(|s| s.null_count() == 0)
        }
        if let Some(previous) = previous {
            // The null key's group is the query's, not the dictionary's.
            if let (Some(null), Some(&group)) = (groups.last_mut(), previous.groups.last()) {
                *null = group;
            }
            if let Some((old, new)) = strings(&previous.values).zip(strings(values)) {
                let (mut i, mut j) = (0, 0);
                while i < old.len() && j < new.len() {
                    match old.value(i).as_bytes().cmp(new.value(j).as_bytes()) {
                        Ordering::Less => i += 1,
                        Ordering::Greater => j += 1,
                        Ordering::Equal => {
                            groups[j] = previous.groups[i];
                            i += 1;
                            j += 1;
                        }
                    }
                }
            }
        }
        Self {
            values: Arc::clone(values),
            groups,
        }
    }
}

/// Groups the rows of a single dictionary-encoded key: each dictionary value is encoded and
/// looked up once, the first time a row uses it (values no row uses make no group; the new
/// values of a batch are encoded together), and each row then costs one array index —
/// instead of encoding and hashing every row's string. Rows reached before their value's
/// group is known are filled in once the batch's new values are encoded.
fn group_dictionary(
    key: &ArrayRef,
    table: &mut GroupTable<'_>,
    memo: &mut Option<DictionaryGroups>,
    mut groups: Option<&mut Vec<usize>>,
) -> Result<()> {
    let dictionary = key.as_dictionary::<Int32Type>();
    let values = dictionary.values();
    // Each batch decoded from a file has its own handle on the shared values: compare the
    // buffers.
    if !memo
        .as_ref()
        .is_some_and(|m| m.values.to_data().ptr_eq(&values.to_data()))
    {
        if memo.is_none() {
            // The first dictionary's values are most of the groups of a typical query (one
            // day's users are most of the week's): room for them at once, not by doubling.
            table.reserve(values.len());
        }
        *memo = Some(DictionaryGroups::follow(memo.as_ref(), values));
    }
    let Some(memo) = memo.as_mut() else {
        internal_err!("no dictionary groups");
    };
    let keys = dictionary.keys();
    let null_slot = values.len();
    let nulls = keys.null_count() > 0;
    let slot_of = |row: usize, key: i32| -> Result<usize> {
        if nulls && keys.is_null(row) {
            return Ok(null_slot);
        }
        usize::try_from(key)
            .ok()
            .filter(|&k| k < null_slot)
            .ok_or_else(|| MsqError::internal(format!("dictionary key {key} out of range")))
    };
    // Slots to encode, and the rows that wait for them.
    let (mut unknown, mut waiting) = (Vec::new(), Vec::new());
    let first = groups.as_ref().map_or(0, |g| g.len());
    match groups.as_deref_mut() {
        Some(groups) => {
            groups.reserve(keys.len());
            for (row, &key) in keys.values().iter().enumerate() {
                let slot = slot_of(row, key)?;
                let group = memo.groups[slot];
                if group >= PENDING {
                    if group == UNSEEN {
                        memo.groups[slot] = PENDING;
                        unknown.push(slot);
                    }
                    waiting.push(row);
                }
                groups.push(group);
            }
        }
        // Nobody reads the rows' groups (a GROUP BY without aggregates, such as the inner
        // half of an exact COUNT(DISTINCT)): only the values' groups are made.
        None => {
            for (row, &key) in keys.values().iter().enumerate() {
                let slot = slot_of(row, key)?;
                if memo.groups[slot] == UNSEEN {
                    memo.groups[slot] = PENDING;
                    unknown.push(slot);
                }
            }
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    table.reserve(unknown.len());
    let strings = matches!(table.keys, GroupKeys::Strings { .. });
    if strings || (unknown.len() * 2 >= values.len() && !unknown.contains(&null_slot)) {
        // Strings are their own keys; and when most of the dictionary is new (a query's first
        // segment) it is encoded whole rather than the new values gathered first.
        let encoded = table.keys.encode(std::slice::from_ref(values))?;
        for &slot in &unknown {
            let key = if slot == null_slot {
                None
            } else {
                encoded.key(slot)
            };
            memo.groups[slot] = table.group_of(key)?;
        }
    } else {
        let indices: arrow_array::UInt32Array = (unknown.iter())
            .map(|&slot| (slot != null_slot).then_some(slot as u32))
            .collect();
        let strings = [arrow_select::take::take(values, &indices, None).map_err(arrow_err)?];
        let encoded = table.keys.encode(&strings)?;
        for (i, &slot) in unknown.iter().enumerate() {
            memo.groups[slot] = table.group_of(encoded.key(i))?;
        }
    }
    if let Some(groups) = groups {
        for row in waiting {
            groups[first + row] = memo.groups[slot_of(row, keys.value(row))?];
        }
    }
    Ok(())
}

/// The groups of combinations of several dictionary-encoded keys' values, kept while batches
/// share those dictionaries. A row's combination is one number: its keys (a null key as one
/// past the dictionary's last value) in mixed radix.
struct CombinationGroups {
    /// Each key's dictionary values.
    values: Vec<ArrayRef>,
    /// Each key's radix: its dictionary's size plus one (for null).
    radix: Vec<u64>,
    /// Combination → group.
    groups: CombinationSlots,
}

/// Combination → group: an array indexed by the combination while there are at most
/// [`DENSE_COMBINATIONS`] of them (`channel × namespace` has a few hundred), so each row
/// costs one index rather than a hash lookup; a hash map beyond that.
enum CombinationSlots {
    Dense(Vec<usize>),
    Sparse(HashMap<u64, usize, BuildHasherDefault<ByteHasher>>),
}

/// The most combinations of dictionary keys grouped through a dense array (256 KiB of slots
/// in wasm32).
const DENSE_COMBINATIONS: u64 = 1 << 16;

impl CombinationSlots {
    fn new(combinations: u64) -> Self {
        match usize::try_from(combinations) {
            Ok(n) if combinations <= DENSE_COMBINATIONS => Self::Dense(vec![UNSEEN; n]),
            _ => Self::Sparse(HashMap::default()),
        }
    }

    /// The slot of `combination` (which is below the product of the radixes).
    fn slot(&mut self, combination: u64) -> &mut usize {
        match self {
            Self::Dense(slots) => &mut slots[combination as usize],
            Self::Sparse(map) => map.entry(combination).or_insert(UNSEEN),
        }
    }
}

/// Groups the rows of several dictionary-encoded keys (`GROUP BY channel, namespace` over a
/// segment): each row's combination of dictionary keys is looked up in a map of the
/// combinations seen, which holds a few hundred entries where a table of encoded strings
/// would hold as many; only a combination seen for the first time has its strings encoded
/// (all new ones of the batch at once) and looked up in the group table. `false` when the
/// combinations cannot be numbered in 64 bits (the caller then groups the plain strings).
fn group_dictionaries(
    keys: &[ArrayRef],
    table: &mut GroupTable<'_>,
    memo: &mut Option<CombinationGroups>,
    groups: &mut Vec<usize>,
) -> Result<bool> {
    let dictionaries: Vec<_> = keys
        .iter()
        .map(|k| k.as_dictionary::<Int32Type>())
        .collect();
    let same = memo.as_ref().is_some_and(|m| {
        (m.values.iter().zip(&dictionaries)).all(|(v, d)| v.to_data().ptr_eq(&d.values().to_data()))
    });
    let memo = match memo {
        Some(m) if same => m,
        _ => {
            let radix: Vec<u64> = (dictionaries.iter())
                .map(|d| d.values().len() as u64 + 1)
                .collect();
            let Some(combinations) = (radix.iter()).try_fold(1_u64, |all, &r| all.checked_mul(r))
            else {
                return Ok(false);
            };
            memo.insert(CombinationGroups {
                values: dictionaries
                    .iter()
                    .map(|d| Arc::clone(d.values()))
                    .collect(),
                radix,
                groups: CombinationSlots::new(combinations),
            })
        }
    };
    let rows = keys.first().map_or(0, |k| k.len());
    let mut combinations = vec![0_u64; rows];
    let mut scale = 1_u64;
    for (dictionary, &radix) in dictionaries.iter().zip(&memo.radix) {
        let null = radix - 1;
        for (row, key) in dictionary.keys().iter().enumerate() {
            let key = match key {
                None => null,
                Some(k) => u64::try_from(k).ok().filter(|&k| k < null).ok_or_else(|| {
                    MsqError::internal(format!("dictionary key {k} out of range"))
                })?,
            };
            combinations[row] += key * scale;
        }
        scale *= radix;
    }
    // The first row of each combination not seen before.
    let mut new_rows = Vec::new();
    for (row, &combination) in combinations.iter().enumerate() {
        let slot = memo.groups.slot(combination);
        if *slot == UNSEEN {
            *slot = PENDING;
            new_rows.push(row as u32);
        }
    }
    if !new_rows.is_empty() {
        let new_rows = arrow_array::UInt32Array::from(new_rows);
        let strings = plain_keys(keys, Some(&new_rows))?;
        let encoded = table.keys.encode(&strings)?;
        for (i, &row) in new_rows.values().iter().enumerate() {
            *memo.groups.slot(combinations[row as usize]) = table.group_of(encoded.key(i))?;
        }
    }
    for &combination in &combinations {
        groups.push(*memo.groups.slot(combination));
    }
    Ok(true)
}

/// Appends the group of each row of key `columns` to `groups`, first making room for one new
/// group per row when `reserve` (a `Final` step's input: mostly one row per group).
fn look_up(
    table: &mut GroupTable<'_>,
    columns: &[ArrayRef],
    reserve: bool,
    groups: &mut Vec<usize>,
) -> Result<()> {
    let encoded = table.keys.encode(columns)?;
    if reserve {
        table.reserve(encoded.len());
    }
    for i in 0..encoded.len() {
        groups.push(table.group_of(encoded.key(i))?);
    }
    Ok(())
}

/// Dictionary-encoded string keys as plain strings, of the rows `rows` only when given.
fn plain_keys(keys: &[ArrayRef], rows: Option<&arrow_array::UInt32Array>) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|key| {
            let dictionary = key.as_dictionary::<Int32Type>();
            let indices = match rows {
                Some(rows) => arrow_select::take::take(dictionary.keys(), rows, None),
                None => Ok(Arc::new(dictionary.keys().clone()) as ArrayRef),
            }
            .map_err(arrow_err)?;
            arrow_select::take::take(dictionary.values(), &indices, None).map_err(arrow_err)
        })
        .collect()
}

/// The operator of one [`AggregateStep`].
pub(crate) struct AggregateOp {
    step: AggregateStep,
    key_types: Vec<DataType>,
    /// The groups' keys (`None` for a global aggregate).
    keys: Option<GroupKeys>,
    index: GroupIndex,
    num_groups: usize,
    aggs: Vec<AggState>,
    schema: SchemaRef,
    /// Columns every input batch must have.
    input_width: usize,
    groups: Vec<usize>,
    /// The groups of the single key's dictionary values, while batches share the dictionary.
    dictionary_groups: Option<DictionaryGroups>,
    /// The groups of several dictionary keys' combinations, while batches share them.
    combination_groups: Option<CombinationGroups>,
    /// A `Final` step told that each input row is a group of its own
    /// ([`AggregateOp::assume_distinct_keys`]): the key columns of each batch, kept as they
    /// came instead of encoded and looked up.
    distinct_keys: Option<Vec<Vec<ArrayRef>>>,
}

impl AggregateOp {
    /// Prepares the step over input batches of `input` schema.
    pub(crate) fn try_new(step: &AggregateStep, input: &SchemaRef) -> Result<Self> {
        let key_types: Vec<DataType> = step
            .group_by
            .iter()
            .map(|g| arrow_type(&g.expr.sql_type()))
            .collect();
        let mut fields: Vec<Field> = step
            .group_by
            .iter()
            .zip(&key_types)
            .map(|(g, t)| Field::new(g.name.clone(), t.clone(), true))
            .collect();
        let mut aggs = Vec::with_capacity(step.aggregates.len());
        let mut state_width = 0;
        for agg in &step.aggregates {
            let state = partial_state_fields(agg);
            state_width += state.len();
            if step.mode == AggregateMode::Partial {
                fields.extend(state.iter().cloned());
            } else {
                fields.push(Field::new(
                    agg.name.clone(),
                    arrow_type(&agg.aggregate.ty),
                    true,
                ));
            }
            aggs.push(AggState {
                arg_ty: arg_type(agg),
                acc: Acc::new(agg),
                width: state.len(),
                agg: agg.clone(),
            });
        }
        if step.mode == AggregateMode::Final {
            let expected = key_types.len() + state_width;
            if input.fields().len() != expected {
                internal_err!(
                    "Final aggregation expects {expected} input columns (keys then partial states), got {}",
                    input.fields().len()
                );
            }
        }
        let keys = GroupKeys::new(&key_types)?;
        Ok(Self {
            step: step.clone(),
            key_types,
            keys,
            index: GroupIndex::default(),
            num_groups: 0,
            aggs,
            schema: Arc::new(Schema::new(fields)),
            input_width: input.fields().len(),
            groups: Vec::new(),
            dictionary_groups: None,
            combination_groups: None,
            distinct_keys: None,
        })
    }

    /// Tells a `Final` step with keys that no two input rows share a key: its input is the
    /// output of one worker's `Partial` step, which emits each of its groups once
    /// ([`AggregateOp::finish`]), so each row is a group of its own and neither encoding nor
    /// looking up keys is needed (with one upstream worker, a post-shuffle GROUP BY over
    /// many groups spent most of its time doing so). Returns whether the step took it (other
    /// modes, and global aggregates, ignore it).
    pub(crate) fn assume_distinct_keys(&mut self) -> bool {
        let applies = self.step.mode == AggregateMode::Final && !self.key_types.is_empty();
        if applies {
            self.distinct_keys = Some(Vec::new());
        }
        applies
    }

    /// The output schema.
    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn key_arrays(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        if self.step.mode != AggregateMode::Final {
            // String columns kept dictionary-encoded (a segment's own encoding) as every key:
            // grouped through their dictionaries. Mixed with other keys, `evaluate` makes them
            // plain.
            let dictionaries: Option<Vec<ArrayRef>> = (self.step.group_by.iter())
                .map(|g| dictionary_key(&g.expr, batch))
                .collect();
            if let Some(dictionaries) = dictionaries {
                return Ok(dictionaries);
            }
        }
        let mut keys = Vec::with_capacity(self.key_types.len());
        for (i, (g, t)) in self.step.group_by.iter().zip(&self.key_types).enumerate() {
            let a = if self.step.mode == AggregateMode::Final {
                batch.column(i).clone()
            } else {
                evaluate(&g.expr, batch)?
            };
            let a = if a.data_type() == t {
                a
            } else {
                cast_array(&a, &g.expr.sql_type())?
            };
            if a.data_type() != t {
                internal_err!(
                    "Group key {} has type {} instead of {t}",
                    g.name,
                    a.data_type()
                );
            }
            keys.push(a);
        }
        Ok(keys)
    }

    /// Aggregates one input batch.
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        if batch.num_columns() != self.input_width {
            internal_err!(
                "Aggregation expects batches of {} columns, got {}",
                self.input_width,
                batch.num_columns()
            );
        }
        let mut groups = std::mem::take(&mut self.groups);
        groups.clear();
        let keys = if self.keys.is_some() {
            self.key_arrays(batch)?
        } else {
            Vec::new()
        };
        match &mut self.keys {
            _ if self.distinct_keys.is_some() => {
                groups.extend(self.num_groups..self.num_groups + n);
                self.num_groups += n;
                if let Some(batches) = &mut self.distinct_keys {
                    batches.push(keys);
                }
            }
            Some(group_keys) => {
                let mut table = GroupTable {
                    index: &mut self.index,
                    keys: group_keys,
                    count: &mut self.num_groups,
                };
                let dictionaries =
                    (keys.iter()).all(|k| matches!(k.data_type(), DataType::Dictionary(..)));
                let reserve = self.step.mode == AggregateMode::Final;
                match keys.as_slice() {
                    [key] if dictionaries => {
                        let memo = &mut self.dictionary_groups;
                        let rows = (!self.aggs.is_empty()).then_some(&mut groups);
                        group_dictionary(key, &mut table, memo, rows)?;
                    }
                    [_, _, ..] if dictionaries => {
                        let memo = &mut self.combination_groups;
                        if !group_dictionaries(&keys, &mut table, memo, &mut groups)? {
                            let plain = plain_keys(&keys, None)?;
                            look_up(&mut table, &plain, reserve, &mut groups)?;
                        }
                    }
                    _ => look_up(&mut table, &keys, reserve, &mut groups)?,
                }
            }
            None => {
                self.num_groups = 1;
                groups.resize(n, 0);
            }
        }
        let total = self.num_groups;
        let mut column = self.key_types.len();
        for state in &mut self.aggs {
            state.acc.resize(total);
            if self.step.mode == AggregateMode::Final {
                let cols: Vec<ArrayRef> = (column..column + state.width)
                    .map(|c| batch.column(c).clone())
                    .collect();
                column += state.width;
                state.acc.merge(&cols, &state.arg_ty, &groups)?;
            } else {
                let args = state
                    .agg
                    .aggregate
                    .args
                    .iter()
                    .map(|a| evaluate(a, batch))
                    .collect::<Result<Vec<_>>>()?;
                let filter = match &state.agg.aggregate.filter {
                    Some(f) => Some(evaluate_predicate(f, batch)?),
                    None => None,
                };
                state
                    .acc
                    .update(&args, &state.arg_ty, &groups, filter.as_ref())?;
            }
        }
        self.groups = groups;
        Ok(())
    }

    /// Emits the groups, each once (all in one batch; none when there are no groups, except
    /// the one row of a global `Single`/`Final` aggregate). A `Partial` step's output having
    /// each key once is what [`AggregateOp::assume_distinct_keys`] relies on downstream.
    pub(crate) fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        if self.key_types.is_empty() && self.step.mode != AggregateMode::Partial {
            self.num_groups = 1;
        }
        let n = self.num_groups;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut columns: Vec<ArrayRef> = match &self.keys {
            _ if self.distinct_keys.is_some() => {
                let batches = self.distinct_keys.replace(Vec::new()).unwrap_or_default();
                (0..self.key_types.len())
                    .map(|k| {
                        let arrays: Vec<&dyn Array> =
                            batches.iter().map(|keys| keys[k].as_ref()).collect();
                        arrow_select::concat::concat(&arrays).map_err(arrow_err)
                    })
                    .collect::<Result<_>>()?
            }
            Some(keys) => keys.to_columns()?,
            None => Vec::new(),
        };
        for state in &mut self.aggs {
            state.acc.resize(n);
            if self.step.mode == AggregateMode::Partial {
                columns.extend(state.acc.state(n)?);
            } else {
                let value = state.acc.evaluate(n)?;
                let target = arrow_type(&state.agg.aggregate.ty);
                let value = if value.data_type() == &target {
                    value
                } else {
                    cast_array(&value, &state.agg.aggregate.ty)?
                };
                columns.push(value);
            }
        }
        // Reset so a second finish emits nothing new.
        self.num_groups = 0;
        self.index = GroupIndex::default();
        if let Some(keys) = &mut self.keys {
            keys.clear();
        }
        for state in &mut self.aggs {
            state.acc = Acc::new(&state.agg);
        }
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(arrow_err)?;
        Ok(vec![batch])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn a_new_dictionary_takes_the_groups_of_the_values_it_shares_with_the_last() {
        let previous = DictionaryGroups {
            values: strings(&["a", "b", "d", "e"]),
            groups: vec![0, UNSEEN, 2, 7, 5],
        };
        let next = DictionaryGroups::follow(Some(&previous), &strings(&["b", "c", "d", "e"]));
        assert_eq!(
            next.groups,
            [UNSEEN, UNSEEN, 2, 7, 5],
            "the null group (last) is the query's, not the dictionary's"
        );
        // Out of order, fewer values match; none is matched wrongly.
        let shuffled = DictionaryGroups::follow(Some(&previous), &strings(&["e", "a", "d"]));
        assert!(shuffled
            .groups
            .iter()
            .zip([7, 0, 2, 5])
            .all(|(&g, want)| g == UNSEEN || g == want));
        assert_eq!(
            DictionaryGroups::follow(None, &strings(&["a"])).groups,
            [UNSEEN, UNSEEN]
        );
    }
}
