//! Golden test: the documented INSERT plan (spec `sql-ingestion-api.md`, example report; spec
//! `druid-msq.md` §4.5 "INSERT ... PARTITIONED BY DAY"), built by hand, must serialize to
//! Druid's stage-definition JSON.
#![allow(clippy::unwrap_used)]

use msq_common::StageNumber;
use msq_model::ColumnMapping;
use msq_plan::*;
use serde_json::{json, Value};

const QUERY_ID: &str = "71ecb11e-09d7-42f8-9225-1662c8e7e121";

fn scan_query() -> Value {
    json!({
        "queryType": "scan",
        "dataSource": {"type": "inputNumber", "inputNumber": 0},
        "intervals": {"type": "intervals", "intervals": ["-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z"]},
        "resultFormat": "compactedList",
        "columns": ["agent_category", "agent_type", "timestamp"],
        "legacy": false,
        "context": {"finalize": false, "sqlInsertSegmentGranularity": "\"DAY\"", "sqlReplaceTimeChunks": "all"},
        "granularity": {"type": "all"}
    })
}

fn data_schema() -> Value {
    json!({
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
                            "intervals": ["-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z"]},
        "transformSpec": {"filter": null, "transforms": []}
    })
}

fn insert_plan() -> QueryDefinition {
    let mut scan = StageDefinition::new(
        0,
        vec![InputSpec::External {
            input_source: json!({
                "type": "http",
                "uris": ["https://static.imply.io/example-data/kttm-v2/kttm-v2-2019-08-25.json.gz"],
                "httpAuthenticationUsername": null,
                "httpAuthenticationPassword": null
            }),
            input_format: json!({"type": "json", "flattenSpec": null, "featureSpec": {}, "keepNullColumns": false}),
            signature: vec![
                ("timestamp".into(), ColumnType::String),
                ("agent_category".into(), ColumnType::String),
            ],
        }],
        ProcessorSpec::Scan(QueryProcessor::new(scan_query())),
    );
    scan.signature = vec![
        ("__bucket".into(), ColumnType::Long),
        ("__boost".into(), ColumnType::Long),
        ("__time".into(), ColumnType::Long),
        ("agent_category".into(), ColumnType::String),
    ];
    scan.shuffle_spec = Some(ShuffleSpec::TargetSize {
        cluster_by: ClusterBy::bucketed(
            vec![
                KeyColumn::ascending("__bucket"),
                KeyColumn::ascending("__boost"),
            ],
            1,
        ),
        target_size: 3_000_000,
        aggregate: false,
    });
    scan.shuffle_check_has_multiple_values = true;

    let generator = StageDefinition::new(
        1,
        vec![InputSpec::Stage {
            stage: StageNumber(0),
        }],
        ProcessorSpec::SegmentGenerator(SegmentGeneratorProcessor::new(
            data_schema(),
            vec![
                ColumnMapping {
                    query_column: "__time".into(),
                    output_column: "__time".into(),
                },
                ColumnMapping {
                    query_column: "agent_category".into(),
                    output_column: "agent_category".into(),
                },
            ],
            json!({"maxNumWorkers": 1, "maxRowsInMemory": 100000, "rowsPerSegment": 3000000}),
        )),
    );
    QueryDefinition::new(QUERY_ID, vec![scan, generator], StageNumber(1)).unwrap()
}

#[test]
fn insert_plan_serializes_as_druid_stage_definitions() {
    let plan = insert_plan();
    let actual = serde_json::to_value(plan.to_model()).unwrap();
    let expected = json!([
        {
            "id": "71ecb11e-09d7-42f8-9225-1662c8e7e121_0",
            "input": [{
                "type": "external",
                "inputSource": {
                    "type": "http",
                    "uris": ["https://static.imply.io/example-data/kttm-v2/kttm-v2-2019-08-25.json.gz"],
                    "httpAuthenticationUsername": null,
                    "httpAuthenticationPassword": null
                },
                "inputFormat": {"type": "json", "flattenSpec": null, "featureSpec": {}, "keepNullColumns": false},
                "signature": [
                    {"name": "timestamp", "type": "STRING"},
                    {"name": "agent_category", "type": "STRING"}
                ]
            }],
            "processor": {"type": "scan", "query": scan_query()},
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
        },
        {
            "id": "71ecb11e-09d7-42f8-9225-1662c8e7e121_1",
            "input": [{"type": "stage", "stage": 0}],
            "processor": {
                "type": "segmentGenerator",
                "dataSchema": data_schema(),
                "columnMappings": [
                    {"queryColumn": "__time", "outputColumn": "__time"},
                    {"queryColumn": "agent_category", "outputColumn": "agent_category"}
                ],
                "tuningConfig": {"maxNumWorkers": 1, "maxRowsInMemory": 100000, "rowsPerSegment": 3000000}
            },
            "signature": [],
            "maxWorkerCount": 1
        }
    ]);
    assert_eq!(actual, expected);
    // Key order matters to people diffing reports: Druid writes `id` first and
    // `maxWorkerCount` after `shuffleSpec`.
    let text = serde_json::to_string(&plan.stages[0].to_model(QUERY_ID)).unwrap();
    let pos = |k: &str| text.find(k).unwrap();
    assert!(pos("\"id\"") < pos("\"input\""));
    assert!(pos("\"processor\"") < pos("\"shuffleSpec\""));
    assert!(pos("\"shuffleSpec\"") < pos("\"maxWorkerCount\""));
    // The report's `sort` flag and the kernel's need for statistics.
    assert!(plan.stages[0].does_sort() && plan.stages[0].needs_statistics());
    assert!(!plan.stages[1].does_sort() && !plan.stages[1].needs_statistics());
}

#[test]
fn definitions_parse_back_into_the_model_unchanged() {
    for stage in insert_plan().to_model() {
        let json = serde_json::to_value(&stage).unwrap();
        let parsed: msq_model::StageDefinition = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(parsed, stage);
    }
}

#[test]
fn plans_round_trip_through_their_own_serde() {
    // Work orders carry stage definitions to workers; our own serde must round-trip.
    let plan = insert_plan();
    let json = serde_json::to_string(&plan).unwrap();
    let back: QueryDefinition = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn broadcast_and_table_inputs() {
    let mut join = StageDefinition::new(
        2,
        vec![
            InputSpec::Table {
                data_source: "foo".into(),
                intervals: vec!["2000/3000".into()],
            },
            InputSpec::Stage {
                stage: StageNumber(1),
            },
        ],
        ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
    );
    join.broadcast_inputs.insert(1);
    join.max_worker_count = 3;
    let json = serde_json::to_value(join.to_model("q")).unwrap();
    assert_eq!(
        json,
        json!({
            "id": "q_2",
            "input": [
                {"type": "table", "dataSource": "foo", "intervals": ["2000/3000"], "filter": null},
                {"type": "stage", "stage": 1}
            ],
            "broadcast": [1],
            "processor": {"type": "scan", "query": {}},
            "signature": [],
            "maxWorkerCount": 3
        })
    );
    let select = StageDefinition::new(0, vec![], ProcessorSpec::SelectResults);
    assert_eq!(
        serde_json::to_value(select.to_model("q")).unwrap()["processor"],
        json!({"type": "selectResults"})
    );
}
