//! [`ProgramExecutor`]: runs a stage [`Program`] over the rows of one worker.
//!
//! One operator per [`Step`]; each step's input schema is the previous step's output
//! (msq-plan `program.rs`). A pushed batch flows through the operators until a blocking one
//! (aggregate, sort) keeps it; `finish` flushes the operators in order, feeding each one's
//! remaining output through the steps after it.

use super::aggregate::AggregateOp;
use super::arrow_err;
use super::join::JoinOp;
use super::limit::LimitOp;
use super::sort::SortOp;
use crate::expr::{arrow_type, cast_array, evaluate, filter_batch_keeping};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, Schema, SchemaRef};
use msq_common::{internal_err, Result};
use msq_plan::{NamedExpr, Program, ScalarExpr, Step};
use std::collections::BTreeSet;
use std::sync::Arc;

enum Op {
    /// A predicate, and the columns later steps read (`None`: all of them).
    Filter(ScalarExpr, Option<BTreeSet<usize>>),
    Project(Vec<NamedExpr>, SchemaRef),
    Join(Box<JoinOp>),
    Aggregate(Box<AggregateOp>),
    Sort(SortOp),
    Limit(LimitOp),
}

impl Op {
    fn is_blocking(&self) -> bool {
        matches!(self, Op::Aggregate(_) | Op::Sort(_))
    }

    fn push(&mut self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        match self {
            Op::Filter(predicate, keep) => {
                let out = filter_batch_keeping(&batch, predicate, keep.as_ref())?;
                Ok((out.num_rows() > 0).then_some(out))
            }
            Op::Project(exprs, schema) => project(exprs, schema, &batch).map(Some),
            Op::Join(join) => join.push(&batch),
            Op::Aggregate(agg) => agg.push(&batch).map(|_| None),
            Op::Sort(sort) => sort.push(batch).map(|_| None),
            Op::Limit(limit) => Ok(limit.push(batch)),
        }
    }

    fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        match self {
            Op::Aggregate(agg) => agg.finish(),
            Op::Sort(sort) => sort.finish(),
            _ => Ok(Vec::new()),
        }
    }
}

fn project(exprs: &[NamedExpr], schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(exprs.len());
    for (e, field) in exprs.iter().zip(schema.fields()) {
        let a = evaluate(&e.expr, batch)?;
        let a = if a.data_type() == field.data_type() {
            a
        } else {
            cast_array(&a, &e.expr.sql_type())?
        };
        if a.data_type() != field.data_type() {
            internal_err!(
                "Projection {} evaluated to {} instead of {}",
                e.name,
                a.data_type(),
                field.data_type()
            );
        }
        columns.push(a);
    }
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(arrow_err)
}

/// Runs a stage [`Program`] (msq-plan `program.rs`) over the rows of one worker.
pub struct ProgramExecutor {
    ops: Vec<Op>,
    input_schema: SchemaRef,
    output_schema: SchemaRef,
    finished: bool,
}

impl std::fmt::Debug for ProgramExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramExecutor")
            .field("steps", &self.ops.len())
            .field("output_schema", &self.output_schema)
            .finish()
    }
}

impl ProgramExecutor {
    /// Prepares `program` for input batches of `input_schema`. `broadcast`: for each input
    /// number in `program.broadcast_inputs` (same order), all rows of that input (at least one,
    /// possibly empty, batch so its schema is known); join hash tables are built here.
    pub fn new(
        program: &Program,
        input_schema: SchemaRef,
        broadcast: Vec<(usize, Vec<RecordBatch>)>,
    ) -> Result<Self> {
        let mut ops = Vec::with_capacity(program.steps.len());
        let mut schema = input_schema.clone();
        for (i, step) in program.steps.iter().enumerate() {
            let op = match step {
                Step::Filter(predicate) => {
                    Op::Filter(predicate.clone(), program.columns_read_from(i + 1))
                }
                Step::Project(exprs) => {
                    let fields: Vec<Field> = exprs
                        .iter()
                        .map(|e| Field::new(e.name.clone(), arrow_type(&e.expr.sql_type()), true))
                        .collect();
                    schema = Arc::new(Schema::new(fields));
                    Op::Project(exprs.clone(), schema.clone())
                }
                Step::Join(join) => {
                    let Some((_, batches)) =
                        broadcast.iter().find(|(n, _)| *n == join.broadcast_input)
                    else {
                        internal_err!(
                            "Join reads broadcast input {} but it was not provided",
                            join.broadcast_input
                        )
                    };
                    let op = JoinOp::try_new(join, &schema, batches)?;
                    schema = op.schema();
                    Op::Join(Box::new(op))
                }
                Step::Aggregate(agg) => {
                    let op = AggregateOp::try_new(agg, &schema)?;
                    schema = op.schema();
                    Op::Aggregate(Box::new(op))
                }
                Step::Sort(keys) => Op::Sort(SortOp::new(keys)),
                Step::Limit { offset, limit } => Op::Limit(LimitOp::new(*offset, *limit)),
            };
            ops.push(op);
        }
        Ok(Self {
            ops,
            input_schema,
            output_schema: schema,
            finished: false,
        })
    }

    /// Tells the program that no two of its input rows share a group key of its first
    /// aggregation, which must be a `Final` one (filters before it are fine: they only drop
    /// rows): true of the rows of a single upstream worker whose program ended with the
    /// matching `Partial` aggregation, which emits each of its groups once. The aggregation
    /// then makes each row a group of its own instead of hashing its key. Returns whether
    /// the program has such an aggregation (otherwise nothing changes).
    pub fn assume_distinct_groups(&mut self) -> bool {
        for op in &mut self.ops {
            match op {
                Op::Filter(..) => {}
                Op::Aggregate(aggregate) => return aggregate.assume_distinct_keys(),
                _ => return false,
            }
        }
        false
    }

    /// Schema of what [`push`](Self::push) and [`finish`](Self::finish) return (names from
    /// `Project`/`Aggregate` steps; Arrow types by `arrow_type`).
    pub fn output_schema(&self) -> SchemaRef {
        self.output_schema.clone()
    }

    /// The schema input batches must have.
    pub fn input_schema(&self) -> SchemaRef {
        self.input_schema.clone()
    }

    /// Feeds `batches` through operators `from..`, returning what comes out of the last.
    fn run_from(&mut self, from: usize, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
        let mut current = batches;
        for op in self.ops.iter_mut().skip(from) {
            if current.is_empty() {
                break;
            }
            let mut next = Vec::with_capacity(current.len());
            for b in current {
                if let Some(out) = op.push(b)? {
                    next.push(out);
                }
            }
            current = next;
        }
        Ok(current)
    }

    /// Feeds one batch; returns the output ready now (a program of streaming steps returns
    /// its rows at once; blocking steps keep them until [`finish`](Self::finish)).
    pub fn push(&mut self, batch: RecordBatch) -> Result<Vec<RecordBatch>> {
        if self.finished {
            internal_err!("ProgramExecutor received a batch after finish");
        }
        if batch.num_rows() == 0 || self.is_done() {
            return Ok(Vec::new());
        }
        self.run_from(0, vec![batch])
    }

    /// True once more input cannot change the output: a `Limit` with no blocking step before
    /// it is full.
    pub fn is_done(&self) -> bool {
        for op in &self.ops {
            match op {
                Op::Limit(limit) if limit.is_full() => return true,
                op if op.is_blocking() => return false,
                _ => {}
            }
        }
        false
    }

    /// Ends input; flushes the blocking steps (aggregate, sort) in order and returns the rest.
    pub fn finish(&mut self) -> Result<Vec<RecordBatch>> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.finished = true;
        // `carry`: what op i-1 emitted after its input ended; it flows into op i, which then
        // flushes too.
        let mut carry: Vec<RecordBatch> = Vec::new();
        for op in &mut self.ops {
            let mut next = Vec::with_capacity(carry.len());
            for b in carry {
                if let Some(out) = op.push(b)? {
                    next.push(out);
                }
            }
            next.extend(op.finish()?);
            carry = next;
        }
        Ok(carry)
    }
}
