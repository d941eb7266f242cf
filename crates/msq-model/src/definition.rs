//! Stage definitions: what a stage reads, how it processes and how it shuffles
//! (`stages[].definition` of a report; spec `druid-msq.md` §4.2–§4.4).
//!
//! Input specs and processors are Druid's polymorphic `type`-tagged objects. A type this model
//! does not know is kept verbatim in an `Other` variant, and every struct keeps unknown fields
//! in `extra`, so a definition from a newer Druid round-trips unchanged. Opaque Druid documents
//! (native queries, input sources and formats, data schemas) stay `serde_json::Value`: they
//! carry explicit `null`s (`"httpAuthenticationUsername": null`) that must be written back.

use crate::jackson::{self, is_false, is_none_or_zero};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One stage of a query's DAG (`StageDefinition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageDefinition {
    /// `<queryId>_<stageNumber>`.
    pub id: String,
    /// What the stage reads; counters `input<N>` index this list.
    pub input: Vec<InputSpec>,
    /// Input numbers sent whole to every worker (broadcast join sides). Omitted when empty
    /// (`druid-msq.md` §4.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broadcast: Vec<u32>,
    /// What each worker runs.
    pub processor: ProcessorSpec,
    /// Output columns, in order.
    pub signature: Vec<ColumnSignature>,
    /// How output is partitioned and sorted; omitted when the stage does not shuffle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_spec: Option<ShuffleSpec>,
    /// Most workers the stage may use.
    pub max_worker_count: u32,
    /// Whether the shuffle checks cluster keys for multi-value strings. Omitted when false
    /// (`druid-msq.md` §4.2).
    #[serde(default, skip_serializing_if = "is_false")]
    pub shuffle_check_has_multiple_values: bool,
    /// Input bytes per worker guideline (`taskAssignment: auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_worker: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StageDefinition {
    /// Whether input `input_number` is broadcast to all workers.
    pub fn is_broadcast(&self, input_number: usize) -> bool {
        self.broadcast.iter().any(|&b| b as usize == input_number)
    }
}

/// A column of a signature: `{"name": "dim1", "type": "STRING"}`. Types are Druid's native
/// column types (`LONG`, `DOUBLE`, `FLOAT`, `STRING`, `COMPLEX<...>`, `ARRAY<...>`); Druid omits
/// `type` when it is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSignature {
    /// Column name; duplicates are allowed in SELECT results.
    pub name: String,
    /// Native type, when known.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub column_type: Option<String>,
}

impl ColumnSignature {
    /// A column with a known type.
    pub fn new(name: impl Into<String>, column_type: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            column_type: Some(column_type.into()),
        }
    }
}

/// What a stage reads (`InputSpec`, tagged by `type`).
#[derive(Debug, Clone, PartialEq)]
pub enum InputSpec {
    /// `external`: rows from an input source (`http`, `inline`, `local`, ...) in a format.
    External(ExternalInputSpec),
    /// `stage`: the output of an earlier stage.
    Stage(StageInputSpec),
    /// `table`: segments of a datasource.
    Table(TableInputSpec),
    /// Any other type (`inline`, `lookup`, newer ones), kept verbatim.
    Other(Value),
}

/// `{"type": "external", "inputSource": {...}, "inputFormat": {...}, "signature": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalInputSpec {
    /// The input source JSON, e.g. `{"type": "http", "uris": [...]}`.
    pub input_source: Value,
    /// The input format JSON, e.g. `{"type": "json"}`.
    pub input_format: Value,
    /// Columns read from the input.
    pub signature: Vec<ColumnSignature>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "stage", "stage": 0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageInputSpec {
    /// Number of the stage read.
    pub stage: u32,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "table", "dataSource": "foo", "intervals": [...], "filter": null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInputSpec {
    /// The datasource read.
    pub data_source: String,
    /// ISO intervals to read.
    #[serde(default)]
    pub intervals: Vec<String>,
    /// Native filter used for segment pruning. `Some(Value::Null)` is Druid's explicit
    /// `"filter": null`, `None` an absent field; both are written back as they came.
    #[serde(
        default,
        deserialize_with = "jackson::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub filter: Option<Value>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InputSpec {
    /// The JSON `type`: `external`, `stage`, `table`, or the unknown type (`""` if none).
    pub fn type_name(&self) -> &str {
        match self {
            InputSpec::External(_) => "external",
            InputSpec::Stage(_) => "stage",
            InputSpec::Table(_) => "table",
            InputSpec::Other(v) => jackson::type_of(v).unwrap_or(""),
        }
    }

    /// What the console writes after "Input " in the stages table
    /// (`druid-console-query-view.md` §3): `Stage<k>`, the datasource, or
    /// `<inputSource.type> external`.
    pub fn label(&self) -> String {
        match self {
            InputSpec::Stage(s) => format!("Stage{}", s.stage),
            InputSpec::Table(t) => t.data_source.clone(),
            InputSpec::External(e) => {
                format!(
                    "{} external",
                    jackson::type_of(&e.input_source).unwrap_or("unknown")
                )
            }
            InputSpec::Other(v) => jackson::type_of(v).unwrap_or("unknown").to_owned(),
        }
    }

    /// The stage read, for a `stage` input.
    pub fn stage_number(&self) -> Option<u32> {
        match self {
            InputSpec::Stage(s) => Some(s.stage),
            _ => None,
        }
    }
}

const INPUT_TYPES: &[&str] = &["external", "stage", "table"];

impl Serialize for InputSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            InputSpec::External(v) => jackson::serialize_tagged(serializer, "external", v),
            InputSpec::Stage(v) => jackson::serialize_tagged(serializer, "stage", v),
            InputSpec::Table(v) => jackson::serialize_tagged(serializer, "table", v),
            InputSpec::Other(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for InputSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        jackson::deserialize_tagged(
            deserializer,
            "input",
            INPUT_TYPES,
            |type_name, fields| match type_name {
                "external" => jackson::parse(fields).map(InputSpec::External),
                "stage" => jackson::parse(fields).map(InputSpec::Stage),
                _ => jackson::parse(fields).map(InputSpec::Table),
            },
            InputSpec::Other,
        )
    }
}

/// What each worker of a stage runs (`processor`, tagged by `type`; `druid-msq.md` §4.3).
#[derive(Debug, Clone, PartialEq)]
pub enum ProcessorSpec {
    /// `scan`: read, filter and project.
    Scan(QueryProcessorSpec),
    /// `groupByPreShuffle`: partial aggregation per worker.
    GroupByPreShuffle(QueryProcessorSpec),
    /// `groupByPostShuffle`: merge partial aggregates, HAVING, post-aggregation.
    GroupByPostShuffle(QueryProcessorSpec),
    /// `window`: window functions.
    Window(QueryProcessorSpec),
    /// `limit`: `OFFSET`/`LIMIT` on a single worker.
    Limit(LimitProcessorSpec),
    /// `segmentGenerator`: the final stage of INSERT/REPLACE, writing segments.
    SegmentGenerator(SegmentGeneratorSpec),
    /// `sortMergeJoin`: join of two hash-partitioned sorted inputs (fields kept raw).
    SortMergeJoin(Map<String, Value>),
    /// `selectResults`: final stage gathering SELECT results (fields kept raw).
    SelectResults(Map<String, Value>),
    /// `exportResults`: writes `INSERT INTO EXTERN(...)` files (fields kept raw).
    ExportResults(Map<String, Value>),
    /// Any other type, kept verbatim.
    Other(Value),
}

/// A processor driven by a native query: `{"type": "scan", "query": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryProcessorSpec {
    /// The native query (`scan`, `groupBy` or `windowOperator`); its `dataSource` points at
    /// stage inputs (`{"type": "inputNumber", "inputNumber": 0}`).
    pub query: Value,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "limit", "offset": 0, "limit": 10}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitProcessorSpec {
    /// Rows to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// Most rows to emit; `None` for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "segmentGenerator", "dataSchema": {...}, "columnMappings": [...], "tuningConfig": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentGeneratorSpec {
    /// Druid's `DataSchema` (datasource, timestamp, dimensions, metrics, granularity).
    pub data_schema: Value,
    /// Query column → stored column.
    pub column_mappings: Vec<ColumnMapping>,
    /// `{"maxNumWorkers", "maxRowsInMemory", "rowsPerSegment", ...}`.
    pub tuning_config: Value,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SegmentGeneratorSpec {
    /// `dataSchema.dataSource`: the datasource written.
    pub fn data_source(&self) -> Option<&str> {
        self.data_schema.get("dataSource").and_then(Value::as_str)
    }
}

/// `{"queryColumn": "v0", "outputColumn": "page"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnMapping {
    /// Column of the query's output.
    pub query_column: String,
    /// Column of the datasource.
    pub output_column: String,
}

impl ProcessorSpec {
    /// The JSON `type` (`scan`, `segmentGenerator`, ...), or the unknown type (`""` if none).
    pub fn type_name(&self) -> &str {
        match self {
            ProcessorSpec::Scan(_) => "scan",
            ProcessorSpec::GroupByPreShuffle(_) => "groupByPreShuffle",
            ProcessorSpec::GroupByPostShuffle(_) => "groupByPostShuffle",
            ProcessorSpec::Window(_) => "window",
            ProcessorSpec::Limit(_) => "limit",
            ProcessorSpec::SegmentGenerator(_) => "segmentGenerator",
            ProcessorSpec::SortMergeJoin(_) => "sortMergeJoin",
            ProcessorSpec::SelectResults(_) => "selectResults",
            ProcessorSpec::ExportResults(_) => "exportResults",
            ProcessorSpec::Other(v) => jackson::type_of(v).unwrap_or(""),
        }
    }

    /// The native query of a query-driven processor.
    pub fn native_query(&self) -> Option<&Value> {
        match self {
            ProcessorSpec::Scan(p)
            | ProcessorSpec::GroupByPreShuffle(p)
            | ProcessorSpec::GroupByPostShuffle(p)
            | ProcessorSpec::Window(p) => Some(&p.query),
            _ => None,
        }
    }
}

const PROCESSOR_TYPES: &[&str] = &[
    "scan",
    "groupByPreShuffle",
    "groupByPostShuffle",
    "window",
    "limit",
    "segmentGenerator",
    "sortMergeJoin",
    "selectResults",
    "exportResults",
];

impl Serialize for ProcessorSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let type_name = self.type_name();
        match self {
            ProcessorSpec::Scan(p)
            | ProcessorSpec::GroupByPreShuffle(p)
            | ProcessorSpec::GroupByPostShuffle(p)
            | ProcessorSpec::Window(p) => jackson::serialize_tagged(serializer, type_name, p),
            ProcessorSpec::Limit(p) => jackson::serialize_tagged(serializer, type_name, p),
            ProcessorSpec::SegmentGenerator(p) => {
                jackson::serialize_tagged(serializer, type_name, p)
            }
            ProcessorSpec::SortMergeJoin(m)
            | ProcessorSpec::SelectResults(m)
            | ProcessorSpec::ExportResults(m) => {
                jackson::serialize_tagged(serializer, type_name, m)
            }
            ProcessorSpec::Other(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ProcessorSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        jackson::deserialize_tagged(
            deserializer,
            "processor",
            PROCESSOR_TYPES,
            |type_name, fields| match type_name {
                "scan" => jackson::parse(fields).map(ProcessorSpec::Scan),
                "groupByPreShuffle" => jackson::parse(fields).map(ProcessorSpec::GroupByPreShuffle),
                "groupByPostShuffle" => {
                    jackson::parse(fields).map(ProcessorSpec::GroupByPostShuffle)
                }
                "window" => jackson::parse(fields).map(ProcessorSpec::Window),
                "limit" => jackson::parse(fields).map(ProcessorSpec::Limit),
                "segmentGenerator" => jackson::parse(fields).map(ProcessorSpec::SegmentGenerator),
                "sortMergeJoin" => jackson::parse(fields).map(ProcessorSpec::SortMergeJoin),
                "selectResults" => jackson::parse(fields).map(ProcessorSpec::SelectResults),
                _ => jackson::parse(fields).map(ProcessorSpec::ExportResults),
            },
            ProcessorSpec::Other,
        )
    }
}

/// How a stage's output is partitioned and sorted (`shuffleSpec`; `druid-msq.md` §4.4).
///
/// Kept as one struct with the `type` as a string (`mix`, `hash`, `maxCount`, `targetSize`,
/// ...) rather than an enum: every kind is a subset of the same optional fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShuffleSpec {
    /// `mix`, `hash`, `maxCount`, `targetSize`, or a newer kind.
    #[serde(rename = "type")]
    pub shuffle_type: String,
    /// Partitioning/sort key; absent for `mix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_by: Option<ClusterBy>,
    /// Target rows per partition (`targetSize`; = `rowsPerSegment` for ingestion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_size: Option<i64>,
    /// Number of partitions (`hash`, `maxCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// Whether rows with equal keys are combined (`maxCount`, `targetSize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<bool>,
    /// Row limit hint for the sort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_hint: Option<i64>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A partitioning and sort key: `{"columns": [...], "bucketByCount": 1}`. The first
/// `bucketByCount` columns pick the time chunk (`__bucket`), the rest sort within it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterBy {
    /// Key columns in order.
    pub columns: Vec<KeyColumn>,
    /// Leading columns that are bucket (time chunk) columns. Omitted when 0, as Druid does
    /// (`druid-msq.md` §4.4).
    #[serde(default, skip_serializing_if = "is_none_or_zero")]
    pub bucket_by_count: Option<u32>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ClusterBy {
    fn bucket_columns(&self) -> usize {
        (self.bucket_by_count.unwrap_or(0) as usize).min(self.columns.len())
    }

    /// The bucket (time-chunk) columns: the first `bucketByCount`.
    pub fn partition_by_columns(&self) -> &[KeyColumn] {
        &self.columns[..self.bucket_columns()]
    }

    /// The columns after the bucket columns.
    pub fn cluster_by_columns(&self) -> &[KeyColumn] {
        &self.columns[self.bucket_columns()..]
    }

    /// The console's "Cluster by" cell, one string per line (`druid-console-query-view.md`
    /// §3): `["Cluster by: a, b DESC"]`, or with bucket columns
    /// `["Partition by: __bucket", "Cluster by: dim1"]`.
    pub fn describe(&self) -> Vec<String> {
        if self.bucket_columns() > 0 {
            vec![
                format!(
                    "Partition by: {}",
                    format_columns(self.partition_by_columns())
                ),
                format!("Cluster by: {}", format_columns(self.cluster_by_columns())),
            ]
        } else {
            vec![format!("Cluster by: {}", format_columns(&self.columns))]
        }
    }
}

fn format_columns(columns: &[KeyColumn]) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.is_descending() {
                format!("{} DESC", c.column_name)
            } else {
                c.column_name.clone()
            }
        })
        .collect();
    names.join(", ")
}

/// One key column: `{"columnName": "dim1", "order": "ASCENDING"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyColumn {
    /// The column.
    pub column_name: String,
    /// Sort order; older reports omit it (ascending) or write `"descending": true` instead,
    /// which stays in `extra`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<KeyOrder>,
    /// Fields this model does not know, kept for the round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyColumn {
    /// Whether the column sorts descending (`order: DESCENDING`, or the older
    /// `descending: true`).
    pub fn is_descending(&self) -> bool {
        self.order == Some(KeyOrder::Descending)
            || self.extra.get("descending").and_then(Value::as_bool) == Some(true)
    }
}

/// Order of a key column (Druid's `KeyOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyOrder {
    /// `NONE`: partition by the column without sorting (hash shuffles).
    #[serde(rename = "NONE")]
    Unordered,
    /// `ASCENDING`.
    Ascending,
    /// `DESCENDING`.
    Descending,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(json: Value) -> T {
        let parsed: T = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
        parsed
    }

    #[test]
    fn input_specs_round_trip_with_explicit_nulls() {
        let external = round_trip::<InputSpec>(json!({
            "type": "external",
            "inputSource": {"type": "http", "uris": ["https://x/y.json.gz"], "httpAuthenticationUsername": null},
            "inputFormat": {"type": "json", "flattenSpec": null},
            "signature": [{"name": "timestamp", "type": "STRING"}]
        }));
        assert_eq!(external.label(), "http external");
        let table = round_trip::<InputSpec>(
            json!({"type": "table", "dataSource": "foo", "intervals": ["2000/3000"], "filter": null}),
        );
        assert_eq!(table.label(), "foo");
        let InputSpec::Table(t) = &table else {
            panic!("expected a table input")
        };
        assert_eq!(t.filter, Some(Value::Null));
        round_trip::<InputSpec>(json!({"type": "table", "dataSource": "foo", "intervals": []}));
        let stage = round_trip::<InputSpec>(json!({"type": "stage", "stage": 2}));
        assert_eq!(
            (stage.label(), stage.stage_number()),
            ("Stage2".to_owned(), Some(2))
        );
        let lookup = round_trip::<InputSpec>(json!({"type": "lookup", "lookupName": "lk"}));
        assert_eq!(
            (lookup.type_name(), lookup.label()),
            ("lookup", "lookup".to_owned())
        );
    }

    #[test]
    fn processors_round_trip_and_keep_unknown_types() {
        let scan = round_trip::<ProcessorSpec>(
            json!({"type": "scan", "query": {"queryType": "scan"}, "newField": 1}),
        );
        assert_eq!(scan.type_name(), "scan");
        assert_eq!(scan.native_query().unwrap()["queryType"], json!("scan"));
        let limit = round_trip::<ProcessorSpec>(json!({"type": "limit", "offset": 0, "limit": 10}));
        assert_eq!(
            limit,
            ProcessorSpec::Limit(LimitProcessorSpec {
                offset: Some(0),
                limit: Some(10),
                extra: Map::new()
            })
        );
        round_trip::<ProcessorSpec>(json!({"type": "limit"}));
        round_trip::<ProcessorSpec>(
            json!({"type": "sortMergeJoin", "rightPrefix": "j0.", "joinType": "INNER"}),
        );
        let other = round_trip::<ProcessorSpec>(json!({"type": "futureThing", "x": [1, null]}));
        assert_eq!(other.type_name(), "futureThing");
    }

    #[test]
    fn a_known_processor_with_bad_fields_is_an_error_naming_the_type() {
        let err = serde_json::from_value::<ProcessorSpec>(json!({"type": "limit", "limit": "ten"}))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("processor of type \"limit\": invalid type"),
            "{err}"
        );
    }

    #[test]
    fn cluster_by_describes_like_the_console() {
        let plain: ClusterBy = serde_json::from_value(json!({
            "columns": [{"columnName": "a"}, {"columnName": "b", "order": "DESCENDING"}]
        }))
        .unwrap();
        assert_eq!(plain.describe(), vec!["Cluster by: a, b DESC"]);
        let bucketed = round_trip::<ClusterBy>(json!({
            "columns": [{"columnName": "__bucket", "order": "ASCENDING"}, {"columnName": "dim1", "order": "ASCENDING"}],
            "bucketByCount": 1
        }));
        assert_eq!(
            bucketed.describe(),
            vec!["Partition by: __bucket", "Cluster by: dim1"]
        );
        let legacy: KeyColumn =
            serde_json::from_value(json!({"columnName": "x", "descending": true})).unwrap();
        assert!(legacy.is_descending());
    }

    #[test]
    fn stage_definition_omits_druid_defaults() {
        let definition = round_trip::<StageDefinition>(json!({
            "id": "q_0",
            "input": [{"type": "stage", "stage": 0}, {"type": "stage", "stage": 1}],
            "broadcast": [1],
            "processor": {"type": "scan", "query": {}},
            "signature": [],
            "shuffleSpec": {"type": "mix"},
            "maxWorkerCount": 1
        }));
        assert!(definition.is_broadcast(1));
        assert!(!definition.is_broadcast(0));
        assert!(!definition.shuffle_check_has_multiple_values);
    }
}
