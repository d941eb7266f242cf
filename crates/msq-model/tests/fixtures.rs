//! Round trips and progress math over the report fixtures in `tests/fixtures/reports/`.
//!
//! Every `*.json` there must parse into the typed model and serialize back to an equal
//! `serde_json::Value` (`*-status.json` as a [`TaskStatusResponse`], the rest as a
//! [`TaskReport`]). The numbers asserted for the progress math are worked out by hand in the
//! comments next to them.
#![allow(clippy::unwrap_used)]

use msq_common::ErrorCode;
use msq_model::{
    ChannelTotals, CounterSnapshot, InputSpec, PartitionRow, ProcessorSpec, StagePhase,
    StageReport, TaskReport, TaskState, TaskStatusResponse,
};
use serde_json::{json, Value};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reports")
}

fn read(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(name: &str) -> TaskReport {
    TaskReport::from_json(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

fn stage(report: &TaskReport, n: usize) -> &StageReport {
    &report.payload().stages[n]
}

#[test]
fn every_fixture_round_trips_to_an_equal_value() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "fixtures missing: {names:?}");
    for name in &names {
        let text = read(name);
        let input: Value = serde_json::from_str(&text).unwrap();
        let output = if name.ends_with("-status.json") {
            let status: TaskStatusResponse =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            serde_json::to_value(&status).unwrap()
        } else {
            let report = TaskReport::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            // Typed fixtures must not fall back to the raw `Other` variants.
            for stage in &report.payload().stages {
                assert!(
                    !matches!(stage.definition.processor, ProcessorSpec::Other(_)),
                    "{name}"
                );
                assert!(
                    stage
                        .definition
                        .input
                        .iter()
                        .all(|i| !matches!(i, InputSpec::Other(_))),
                    "{name}"
                );
            }
            for workers in report.payload().counters.0.values() {
                for counters in workers.values() {
                    assert!(
                        counters
                            .iter()
                            .all(|(_, c)| !matches!(c, CounterSnapshot::Other(_))),
                        "{name}"
                    );
                }
            }
            let reparsed = TaskReport::from_json(&report.to_json_pretty()).unwrap();
            assert_eq!(reparsed, report, "{name}: pretty JSON does not parse back");
            report.to_value()
        };
        assert_eq!(output, input, "{name}: round trip changed the JSON");
    }
}

#[test]
fn docs_example_status() {
    let status: TaskStatusResponse =
        serde_json::from_str(&read("docs-example-status.json")).unwrap();
    assert_eq!(status.task, "query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e");
    assert_eq!(status.status.status_code, TaskState::Running);
    assert_eq!(status.status.task_type, "query_controller");
    assert_eq!(status.status.duration, -1);
    assert_eq!(status.status.location.port, 8100);
    assert_eq!(status.status.error_msg, None);
}

#[test]
fn docs_example_report_progress() {
    let report = report("docs-example-report.json");
    assert_eq!(report.status().status, TaskState::Success);
    assert_eq!(report.status().segment_load().unwrap().state, "SUCCESS");
    let stages = report.stages();
    let (s0, s1) = (stage(&report, 0), stage(&report, 1));

    assert_eq!(s0.definition.input[0].label(), "http external");
    assert_eq!(s1.definition.input[0].label(), "Stage0");
    assert_eq!(s1.processor_type(), "segmentGenerator");
    assert_eq!(
        s0.definition
            .shuffle_spec
            .as_ref()
            .unwrap()
            .cluster_by
            .as_ref()
            .unwrap()
            .describe(),
        ["Cluster by: __boost"]
    );

    // The docs' report has no rowsPushed: the summary falls back to rows processed.
    assert_eq!(
        stages.ingest_summary(),
        Some(msq_model::IngestSummary {
            data_source: "kttm_simple".into(),
            rows: 465_346
        })
    );

    // Both stages FINISHED: progress 1 each.
    assert_eq!(stages.stage_progress(s0), 1.0);
    assert_eq!(stages.stage_progress(s1), 1.0);
    // (0.05 + 1 + 1) / (0.05 + 2 + 0.05): the console keeps the last 5% until the query ends.
    close(stages.overall_progress(), 2.05 / 2.1);
    assert_eq!(stages.current_stage_index(), None);

    assert_eq!(stages.input_rows(s0, 0), 465_346);
    assert_eq!(stages.total_input_rows(s0), 465_346);
    assert_eq!(stages.input_files(s0, 0), Some((1, 1)));
    assert_eq!(stages.input_files(s1, 0), None);
    assert_eq!(stages.total_rows_in(), 465_346);
    // round(465346 / 19.965) = round(23308.09) = 23308
    assert_eq!(stages.processing_rate(s0), Some(23_308.0));
    // round(max(465346, 0) / 5.891) = round(78992.70) = 78993
    assert_eq!(stages.processing_rate(s1), Some(78_993.0));
    assert_eq!(stages.byte_rate(s0), None, "external input: no byte rate");

    assert!(stages.has_shuffle(s0));
    assert_eq!(stages.final_counter_name(s0), "shuffle");
    assert_eq!(stages.total_output_rows(s0), 465_346);
    assert!(!stages.has_output(s1) && !stages.has_shuffle(s1));
    assert_eq!(stages.sort_progress(s0), Some(1.0));
    assert_eq!(
        stages.per_partition(s0),
        [PartitionRow {
            partition: 0,
            rows: 465_346,
            bytes: 41_835_307,
            frames: 73
        }]
    );
    assert_eq!(stages.segment_generation(s1).rows_merged, Some(465_346));
    assert_eq!(stages.warnings_count(s0), 0);
}

#[test]
fn running_report_reading_input() {
    let report = report("running-mid-stage.json");
    let stages = report.stages();
    let (s0, s1) = (stage(&report, 0), stage(&report, 1));
    assert_eq!(s0.phase, Some(StagePhase::ReadingInput));
    assert_eq!(s1.phase, None);

    // Worker 0 read 1 of its 2 files, worker 1 none of its 1: 1 / 3.
    assert_eq!(stages.input_files(s0, 0), Some((1, 3)));
    close(stages.reading_input_progress(s0), 1.0 / 3.0);
    // The stage sorts, so reading input is half of it: 0.5 × 1/3 = 1/6.
    close(stages.stage_progress(s0), 1.0 / 6.0);
    assert_eq!(stages.stage_progress(s1), 0.0);
    // (0.05 + 1/6 + 0) / (0.05 + 2 + 0.05) = 0.216667 / 2.1 ≈ 0.1032
    close(stages.overall_progress(), (0.05 + 1.0 / 6.0) / 2.1);
    assert_eq!(stages.current_stage_index(), Some(0));
    // Stage 1 has no phase but stage 0 is still reading input: waiting, not stuck.
    assert_eq!(stages.potentially_stuck_stage_index(), None);
    assert!(!report.payload().has_potentially_stuck_stage());

    // 1000 + 300 rows in 4 s.
    assert_eq!(stages.input_rows(s0, 0), 1_300);
    assert_eq!(stages.processing_rate(s0), Some(325.0));
    assert_eq!(stages.processing_rate(s1), None);
    assert_eq!(
        stages.sort_progress(s0),
        None,
        "no sort shown while reading input"
    );

    let workers = stages.per_worker(s0);
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[0].worker, 0);
    assert_eq!(
        workers[0].inputs,
        [ChannelTotals {
            rows: 1_000,
            bytes: 412_000,
            frames: 0,
            files: 1,
            total_files: 2
        }]
    );
    assert_eq!(workers[1].output.unwrap().rows, 300);
    assert_eq!(
        workers[1].shuffle,
        Some(ChannelTotals::default()),
        "sorting stage: shuffle column of zeros"
    );
    assert_eq!(stages.per_partition(s0), [], "no shuffle counter yet");
    assert_eq!(stages.inactive_worker_count(s0), Some(0));
    assert_eq!(stages.inactive_worker_count(s1), None);
    assert_eq!(
        s0.definition
            .shuffle_spec
            .as_ref()
            .unwrap()
            .cluster_by
            .as_ref()
            .unwrap()
            .describe(),
        ["Partition by: __bucket", "Cluster by: __boost"]
    );
}

#[test]
fn running_report_sorting() {
    let report = report("running-post-reading.json");
    let stages = report.stages();
    let (s0, s1, s2) = (stage(&report, 0), stage(&report, 1), stage(&report, 2));
    assert_eq!(s1.phase, Some(StagePhase::PostReading));

    // Stage 1 read all 700 + 601 rows stage 0 shuffled out.
    close(stages.reading_input_progress(s1), 1.0);
    // Sorted: floor(600 × 0.5) + floor(401 × 0.25) = 300 + 100 = 400 of 1001 output rows.
    close(stages.sort_fraction(s1), 400.0 / 1001.0);
    assert_eq!(stages.sort_progress(s1), Some(400.0 / 1001.0));
    // 0.5 + 0.5 × 400/1001 ≈ 0.6998
    close(stages.stage_progress(s1), 0.5 + 200.0 / 1001.0);
    // (0.05 + 1 + 0.6998 + 0) / (0.05 + 3 + 0.05) ≈ 0.5645
    close(
        stages.overall_progress(),
        (0.05 + 1.5 + 200.0 / 1001.0) / 3.1,
    );
    assert_eq!(stages.current_stage_index(), Some(1));
    // Stage 2 has no phase and stage 1 is past reading input; no task is pending though.
    assert_eq!(stages.potentially_stuck_stage_index(), Some(2));
    assert!(!report.payload().has_potentially_stuck_stage());
    assert_eq!(stages.stage_progress(s2), 0.0);

    // Stage 0 shuffle partitions summed over both workers: [400 + 301, 300 + 300].
    let partitions = stages.per_partition(s0);
    assert_eq!(
        partitions.iter().map(|p| p.rows).collect::<Vec<_>>(),
        [701, 600]
    );
    assert_eq!(
        stages
            .input_partitions(s1, 0)
            .iter()
            .map(|p| p.rows)
            .collect::<Vec<_>>(),
        [1_301]
    );
    assert_eq!(s0.definition.input[0].label(), "inline external");
    assert_eq!(
        s1.definition
            .shuffle_spec
            .as_ref()
            .unwrap()
            .cluster_by
            .as_ref()
            .unwrap()
            .describe(),
        ["Partition by: __bucket", "Cluster by: d1, __boost"]
    );
}

#[test]
fn select_report_results_and_limit_weight() {
    let report = report("select-results.json");
    assert_eq!(
        report.stages().ingest_summary(),
        None,
        "a SELECT is not an ingest"
    );
    let results = report.payload().results.as_ref().unwrap();
    assert_eq!(results.signature.len(), 3);
    assert_eq!(results.sql_type_names.as_deref().unwrap()[2], "TIMESTAMP");
    assert_eq!(results.results.len(), 4);
    assert_eq!(results.results[2][0], json!("<img src=x onerror=alert(1)>"));
    assert_eq!(results.results[3][0], Value::Null);
    assert!(!results.is_truncated());

    let stages = report.stages();
    let (s0, s1, s2) = (stage(&report, 0), stage(&report, 1), stage(&report, 2));
    assert_eq!(s0.definition.input[0].label(), "wikipedia");
    assert_eq!(s2.processor_type(), "limit");
    // All done; the limit stage weighs 0.1: (0.05 + 2.1) / (0.05 + 2.1 + 0.05).
    close(stages.overall_progress(), 2.15 / 2.2);
    // round(24433 / 1.21) = round(20192.56) = 20193
    assert_eq!(stages.processing_rate(s0), Some(20_193.0));
    assert_eq!(stages.byte_rate(s0), None, "table input: no byte rate");
    // round(max(2603, 3215) / 0.402) = round(7997.51) = 7998
    assert_eq!(stages.byte_rate(s1), Some(7_998.0));
    assert_eq!(
        stages.sort_progress(s2),
        None,
        "trivially complete sort is not shown"
    );
    assert_eq!(stages.total_rows_in(), 24_433);
    assert_eq!(
        s1.definition
            .shuffle_spec
            .as_ref()
            .unwrap()
            .cluster_by
            .as_ref()
            .unwrap()
            .describe(),
        ["Cluster by: a0 DESC, __boost"]
    );
}

#[test]
fn failed_report_error_and_stage() {
    let report = report("failed-insert-time-null.json");
    let status = report.status();
    assert_eq!(status.status, TaskState::Failed);
    let error = status.error_report.as_ref().unwrap();
    assert_eq!(error.stage_number, Some(1));
    assert_eq!(error.error.code(), Some(ErrorCode::InsertTimeNull));
    assert_eq!(
        error.summary(),
        "InsertTimeNull: Null timestamp (__time) encountered during INSERT or REPLACE."
    );

    let stages = report.stages();
    let (s0, s1) = (stage(&report, 0), stage(&report, 1));
    assert_eq!(s1.phase, Some(StagePhase::Failed));
    assert_eq!(s1.phase.unwrap().label(), "Failed");
    // Stage 0 done, stage 1 failed (0): (0.05 + 1) / 2.1 = 0.5.
    close(stages.overall_progress(), 0.5);
    // A segmentGenerator reads by rows pushed: none of the 4 rows stage 0 shuffled out.
    assert_eq!(stages.reading_input_progress(s1), 0.0);
    assert_eq!(stages.warnings_count(s0), 1);
    assert_eq!(
        stages.per_partition(s0),
        [
            PartitionRow {
                partition: 0,
                rows: 3,
                bytes: 301,
                frames: 1
            },
            PartitionRow {
                partition: 1,
                rows: 1,
                bytes: 111,
                frames: 1
            }
        ]
    );
    let workers = stages.per_worker(s1);
    assert_eq!((workers[0].output, workers[0].shuffle), (None, None));
    assert_eq!(
        workers[0]
            .segment_generation
            .as_ref()
            .unwrap()
            .rows_processed,
        Some(2)
    );
}

#[test]
fn warnings_report_counts_and_newer_counters() {
    let report = report("warnings.json");
    let status = report.status();
    assert_eq!(status.warnings.len(), 2);
    assert!(status.warnings[0]
        .summary()
        .starts_with("CannotParseExternalData: Unable to parse row"));
    assert_eq!(
        status.segment_load().unwrap().data_source.as_deref(),
        Some("wiki_warnings")
    );
    assert!(status.segment_load_status.is_none());

    let stages = report.stages();
    let (s0, s1) = (stage(&report, 0), stage(&report, 1));
    assert_eq!(stages.total_warnings_count(), 2);
    assert_eq!(
        stages.warnings_breakdown(s0),
        [("CannotParseExternalData".to_owned(), 2)].into()
    );
    assert_eq!(stages.segment_generation(s1).rows_pushed, Some(8));
    close(stages.reading_input_progress(s1), 1.0);
    let worker = report.payload().counters.worker(0, 0).unwrap();
    assert_eq!(
        worker.cpu().unwrap().total_wall(),
        61_002_000 + 1_310_000 + 2_250_000
    );
    assert_eq!(worker.storage().unwrap().local_bytes_written, Some(498));
    assert_eq!(stages.inactive_worker_count(s1), Some(0));
}

/// Puts `"x-acorn-unknown": <marker>` into the object at `pointer`.
fn inject(value: &mut Value, pointer: &str, marker: Value) {
    let target = value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"));
    target
        .as_object_mut()
        .unwrap()
        .insert("x-acorn-unknown".to_owned(), marker);
}

#[test]
fn unknown_fields_and_types_survive_the_round_trip() {
    let mut value: Value = serde_json::from_str(&read("docs-example-report.json")).unwrap();
    let pointers = [
        "",
        "/multiStageQuery",
        "/multiStageQuery/payload",
        "/multiStageQuery/payload/status",
        "/multiStageQuery/payload/status/segmentLoadStatus",
        "/multiStageQuery/payload/stages/0",
        "/multiStageQuery/payload/stages/0/definition",
        "/multiStageQuery/payload/stages/0/definition/input/0",
        "/multiStageQuery/payload/stages/0/definition/processor",
        "/multiStageQuery/payload/stages/0/definition/shuffleSpec",
        "/multiStageQuery/payload/stages/0/definition/shuffleSpec/clusterBy",
        "/multiStageQuery/payload/stages/0/definition/shuffleSpec/clusterBy/columns/0",
        "/multiStageQuery/payload/stages/1/definition/input/0",
        "/multiStageQuery/payload/stages/1/definition/processor",
        "/multiStageQuery/payload/counters/0/0/input0",
        "/multiStageQuery/payload/counters/0/0/sortProgress",
        "/multiStageQuery/payload/counters/1/0/segmentGenerationProgress",
    ];
    for (i, pointer) in pointers.iter().enumerate() {
        inject(
            &mut value,
            pointer,
            json!({"n": i, "nothing": null, "list": [1.5, "two", null]}),
        );
    }
    // A counter and a processor of types this model does not know.
    value["multiStageQuery"]["payload"]["counters"]["1"]["0"]["futureCounter"] =
        json!({"type": "futureCounter", "values": [1, 2], "nested": {"a": null}});
    value["multiStageQuery"]["payload"]["stages"][1]["definition"]["input"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "lookup", "lookupName": "countries"}));
    value["multiStageQuery"]["payload"]["status"]["errorReport"] = json!({
        "error": {"errorCode": "TooManyWarnings", "rootErrorCode": "CannotParseExternalData", "maxWarnings": 2},
        "x-acorn-unknown": true
    });

    let report = TaskReport::from_value(value.clone()).unwrap();
    assert_eq!(report.to_value(), value);
    let counters = report.payload().counters.worker(1, 0).unwrap();
    assert_eq!(
        counters.get("futureCounter").unwrap().type_name(),
        "futureCounter"
    );
    assert_eq!(
        report.payload().stages[1].definition.input[1].label(),
        "lookup"
    );
    let fault = &report.status().error_report.as_ref().unwrap().error;
    assert_eq!(fault.fields["maxWarnings"], json!(2));
    assert_eq!(fault.summary(), "TooManyWarnings");
}

#[test]
fn a_query_detail_archive_is_accepted() {
    let report: Value = serde_json::from_str(&read("docs-example-report.json")).unwrap();
    let archive =
        json!({"id": "query-3dc0c45d", "detailArchiveVersion": 2, "status": {}, "reports": report});
    let parsed = TaskReport::from_json(&archive.to_string()).unwrap();
    assert_eq!(
        parsed.task_id(),
        "query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e"
    );
    assert_eq!(parsed.to_value(), report);
}

fn error_of(text: &str) -> String {
    TaskReport::from_json(text).unwrap_err().to_string()
}

#[test]
fn unreadable_input_gets_a_clear_message() {
    assert_eq!(
        error_of("{not json"),
        "not JSON: key must be a string at line 1 column 2"
    );
    assert_eq!(
        error_of(""),
        "not JSON: EOF while parsing a value at line 1 column 0"
    );
    assert_eq!(
        error_of(r#"{"a": 1, "b": {"multiStageQuery": {}}}"#),
        r#"JSON is not a Druid task report: expected an object with a "multiStageQuery" key (found keys: a, b)"#
    );
    assert_eq!(
        error_of("[1, 2]"),
        r#"JSON is not a Druid task report: expected an object with a "multiStageQuery" key (found an array)"#
    );
    assert_eq!(
        error_of("{}"),
        r#"JSON is not a Druid task report: expected an object with a "multiStageQuery" key (found an empty object)"#
    );
}

/// The docs example's payload with one change made by `edit`, as text.
fn broken(edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&read("docs-example-report.json")).unwrap();
    edit(&mut value["multiStageQuery"]["payload"]);
    value.to_string()
}

#[test]
fn invalid_reports_name_the_failing_path() {
    let mut no_task_id: Value = serde_json::from_str(&read("docs-example-report.json")).unwrap();
    no_task_id["multiStageQuery"]
        .as_object_mut()
        .unwrap()
        .remove("taskId");
    assert_eq!(
        error_of(&no_task_id.to_string()),
        "invalid task report at multiStageQuery: missing field `taskId`"
    );
    assert_eq!(
        error_of(&broken(|p| p["status"]["status"] = json!("DONE"))),
        "invalid task report at multiStageQuery.payload.status: unknown variant `DONE`, \
         expected one of `RUNNING`, `SUCCESS`, `FAILED`, `WAITING`, `PENDING`"
    );
    assert_eq!(
        error_of(&broken(|p| p["stages"][1]["stageNumber"] = json!("one"))),
        "invalid task report at multiStageQuery.payload.stages[1]: \
         invalid type: string \"one\", expected u32"
    );
    let no_query = |p: &mut Value| {
        let processor = p["stages"][0]["definition"]["processor"]
            .as_object_mut()
            .unwrap();
        processor.remove("query");
    };
    assert_eq!(
        error_of(&broken(no_query)),
        "invalid task report at multiStageQuery.payload.stages[0].definition.processor: \
         processor of type \"scan\": missing field `query`"
    );
    assert_eq!(
        error_of(&broken(
            |p| p["stages"][0]["definition"]["input"][0]["signature"] = json!("none")
        )),
        "invalid task report at multiStageQuery.payload.stages[0].definition.input[0]: \
         input of type \"external\": invalid type: string \"none\", expected a sequence"
    );
    assert_eq!(
        error_of(&broken(
            |p| p["counters"]["1"]["0"]["input0"]["rows"] = json!("many")
        )),
        "invalid task report at multiStageQuery.payload.counters.1.0.input0: \
         counter of type \"channel\": invalid type: string \"many\", expected a sequence"
    );
    let no_status = |p: &mut Value| {
        p.as_object_mut().unwrap().remove("status");
    };
    assert_eq!(
        error_of(&broken(no_status)),
        "invalid task report at multiStageQuery.payload: missing field `status`"
    );
    assert_eq!(
        error_of(&broken(
            |p| p["status"]["warnings"] = json!([{"error": {"errorMessage": "x"}}])
        )),
        "invalid task report at multiStageQuery.payload.status.warnings[0]: \
         missing field `errorCode`"
    );
    assert_eq!(
        error_of(&broken(|p| p["results"] = json!({"signature": []}))),
        "invalid task report at multiStageQuery.payload.results: missing field `results`"
    );
}
