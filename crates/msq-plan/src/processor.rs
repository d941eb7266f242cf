//! What each worker of a stage runs (`processor`; spec `druid-msq.md` §4.3).
//!
//! A processor carries its Druid payload (the native query, the segment generator's data
//! schema) as JSON, which is exactly what the report shows, and — for query processors — the
//! typed [`Program`] the workers execute (never shown in the report). Payload structs are
//! `#[non_exhaustive]` and built through constructors, so fields can be added without breaking
//! callers.

use crate::program::Program;
use msq_model::{ColumnMapping, LimitProcessorSpec, QueryProcessorSpec, SegmentGeneratorSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A processor kind and its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ProcessorSpec {
    /// `scan`: read, filter, compute virtual columns, project (leaf stages).
    Scan(QueryProcessor),
    /// `groupByPreShuffle`: partial aggregation per worker before the shuffle.
    GroupByPreShuffle(QueryProcessor),
    /// `groupByPostShuffle`: merges partial aggregates, applies HAVING and post-aggregators.
    GroupByPostShuffle(QueryProcessor),
    /// `limit`: `OFFSET`/`LIMIT` on a single worker.
    Limit(LimitProcessor),
    /// `segmentGenerator`: the final INSERT/REPLACE stage, writing segments (signature `[]`).
    SegmentGenerator(SegmentGeneratorProcessor),
    /// `selectResults`: the final SELECT stage gathering results for the report.
    SelectResults,
}

/// A processor driven by a native query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueryProcessor {
    /// The native query (`scan` or `groupBy`) whose `dataSource` names stage inputs
    /// (`{"type": "inputNumber", "inputNumber": 0}`), as shown in the report.
    pub query: Value,
    /// What the workers do to the stage's rows (not part of the report JSON).
    #[serde(default)]
    pub program: Program,
}

impl QueryProcessor {
    /// A processor for a native query.
    pub fn new(query: Value) -> Self {
        Self {
            query,
            program: Program::default(),
        }
    }

    /// This processor running `program` on its workers.
    pub fn with_program(mut self, program: Program) -> Self {
        self.program = program;
        self
    }
}

/// `{"type": "limit", "offset": 0, "limit": 10}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LimitProcessor {
    /// Rows to skip.
    pub offset: u64,
    /// Most rows to emit; `None` for no limit (OFFSET only).
    pub limit: Option<u64>,
}

impl LimitProcessor {
    /// `OFFSET offset LIMIT limit`.
    pub fn new(offset: u64, limit: Option<u64>) -> Self {
        Self { offset, limit }
    }
}

/// The segment generator's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SegmentGeneratorProcessor {
    /// Druid's `DataSchema`: datasource, timestamp spec, dimensions, metrics, granularity.
    pub data_schema: Value,
    /// Query column → stored column.
    pub column_mappings: Vec<ColumnMapping>,
    /// `{"maxNumWorkers", "maxRowsInMemory", "rowsPerSegment"}`.
    pub tuning_config: Value,
}

impl SegmentGeneratorProcessor {
    /// A segment generator writing with `data_schema`.
    pub fn new(
        data_schema: Value,
        column_mappings: Vec<ColumnMapping>,
        tuning_config: Value,
    ) -> Self {
        Self {
            data_schema,
            column_mappings,
            tuning_config,
        }
    }

    /// `dataSchema.dataSource`.
    pub fn data_source(&self) -> Option<&str> {
        self.data_schema.get("dataSource").and_then(Value::as_str)
    }
}

impl ProcessorSpec {
    /// The program the workers run, for the processors driven by a native query.
    pub fn program(&self) -> Option<&Program> {
        match self {
            ProcessorSpec::Scan(q)
            | ProcessorSpec::GroupByPreShuffle(q)
            | ProcessorSpec::GroupByPostShuffle(q) => Some(&q.program),
            ProcessorSpec::Limit(_)
            | ProcessorSpec::SegmentGenerator(_)
            | ProcessorSpec::SelectResults => None,
        }
    }

    /// Druid's `processor.type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ProcessorSpec::Scan(_) => "scan",
            ProcessorSpec::GroupByPreShuffle(_) => "groupByPreShuffle",
            ProcessorSpec::GroupByPostShuffle(_) => "groupByPostShuffle",
            ProcessorSpec::Limit(_) => "limit",
            ProcessorSpec::SegmentGenerator(_) => "segmentGenerator",
            ProcessorSpec::SelectResults => "selectResults",
        }
    }

    /// The processor as Druid's report JSON.
    pub fn to_model(&self) -> msq_model::ProcessorSpec {
        let query = |p: &QueryProcessor| QueryProcessorSpec {
            query: p.query.clone(),
            extra: Map::new(),
        };
        match self {
            ProcessorSpec::Scan(p) => msq_model::ProcessorSpec::Scan(query(p)),
            ProcessorSpec::GroupByPreShuffle(p) => {
                msq_model::ProcessorSpec::GroupByPreShuffle(query(p))
            }
            ProcessorSpec::GroupByPostShuffle(p) => {
                msq_model::ProcessorSpec::GroupByPostShuffle(query(p))
            }
            // Druid writes the offset even when 0 (spec §4.3 example) and the limit when set.
            ProcessorSpec::Limit(l) => msq_model::ProcessorSpec::Limit(LimitProcessorSpec {
                offset: Some(saturating_i64(l.offset)),
                limit: l.limit.map(saturating_i64),
                extra: Map::new(),
            }),
            ProcessorSpec::SegmentGenerator(g) => {
                msq_model::ProcessorSpec::SegmentGenerator(SegmentGeneratorSpec {
                    data_schema: g.data_schema.clone(),
                    column_mappings: g.column_mappings.clone(),
                    tuning_config: g.tuning_config.clone(),
                    extra: Map::new(),
                })
            }
            ProcessorSpec::SelectResults => msq_model::ProcessorSpec::SelectResults(Map::new()),
        }
    }
}

pub(crate) fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
