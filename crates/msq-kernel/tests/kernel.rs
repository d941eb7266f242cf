//! Controller kernel: event sequences in, actions out.
#![allow(clippy::unwrap_used)]

use msq_common::{ErrorCategory, StageNumber, WorkerNumber};
use msq_kernel::*;
use msq_model::MsqFault;
use msq_plan::*;
use serde_json::json;

const S0: StageNumber = StageNumber(0);
const S1: StageNumber = StageNumber(1);
const S2: StageNumber = StageNumber(2);
const W0: WorkerNumber = WorkerNumber(0);
const W1: WorkerNumber = WorkerNumber(1);

fn http(n: usize) -> InputSpec {
    InputSpec::External {
        input_source: json!({"type": "http", "uris": (0..n).map(|i| format!("http://h/{i}.json")).collect::<Vec<_>>()}),
        input_format: json!({"type": "json"}),
        signature: vec![("x".into(), ColumnType::String)],
    }
}

fn from(stage: u32) -> InputSpec {
    InputSpec::Stage {
        stage: StageNumber(stage),
    }
}

/// `INSERT ... SELECT ... PARTITIONED BY DAY`: scan (targetSize on __bucket, __boost) →
/// segmentGenerator.
fn ingest_plan(files: usize, workers: u32, target_size: u64) -> QueryDefinition {
    let mut scan = StageDefinition::new(
        0,
        vec![http(files)],
        ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
    );
    scan.max_worker_count = workers;
    scan.signature = vec![
        ("__bucket".into(), ColumnType::Long),
        ("__boost".into(), ColumnType::Long),
    ];
    scan.shuffle_spec = Some(ShuffleSpec::TargetSize {
        cluster_by: ClusterBy::bucketed(
            vec![
                KeyColumn::ascending("__bucket"),
                KeyColumn::ascending("__boost"),
            ],
            1,
        ),
        target_size,
        aggregate: false,
    });
    let mut generator = StageDefinition::new(
        1,
        vec![from(0)],
        ProcessorSpec::SegmentGenerator(SegmentGeneratorProcessor::new(
            json!({"dataSource": "wiki"}),
            vec![],
            json!({}),
        )),
    );
    generator.max_worker_count = workers;
    QueryDefinition::new("q", vec![scan, generator], S1).unwrap()
}

/// `SELECT k, COUNT(*) ... GROUP BY k LIMIT 10`: groupByPreShuffle (maxCount 2) →
/// groupByPostShuffle (mix) → limit.
fn group_by_plan() -> QueryDefinition {
    let mut pre = StageDefinition::new(
        0,
        vec![http(4)],
        ProcessorSpec::GroupByPreShuffle(QueryProcessor::new(json!({"queryType": "groupBy"}))),
    );
    pre.max_worker_count = 2;
    pre.shuffle_spec = Some(ShuffleSpec::MaxCount {
        cluster_by: ClusterBy::new(vec![KeyColumn::ascending("d0")]),
        partitions: 2,
        aggregate: true,
    });
    let mut post = StageDefinition::new(
        1,
        vec![from(0)],
        ProcessorSpec::GroupByPostShuffle(QueryProcessor::new(json!({"queryType": "groupBy"}))),
    );
    post.max_worker_count = 2;
    post.shuffle_spec = Some(ShuffleSpec::Mix);
    let limit = StageDefinition::new(
        2,
        vec![from(1)],
        ProcessorSpec::Limit(LimitProcessor::new(0, Some(10))),
    );
    QueryDefinition::new("g", vec![pre, post, limit], S2).unwrap()
}

fn stats(keys: &[(u8, u32)]) -> ClusterByStatistics {
    let mut s = ClusterByStatistics::default();
    for (bucket, n) in keys {
        let mut k = vec![*bucket];
        k.extend_from_slice(&n.to_be_bytes());
        s.add(&k, 1, 1);
    }
    s
}

fn started(actions: &[KernelAction]) -> Vec<(StageNumber, usize)> {
    actions
        .iter()
        .filter_map(|a| match a {
            KernelAction::StartStage { stage, work_orders } => Some((*stage, work_orders.len())),
            _ => None,
        })
        .collect()
}

fn kernel(query: QueryDefinition) -> ControllerQueryKernel {
    ControllerQueryKernel::new(query, KernelConfig::default()).unwrap()
}

#[test]
fn ingest_runs_to_query_complete() {
    let mut k = kernel(ingest_plan(1, 1, 3));
    assert_eq!(k.stage_report_fields(S0, 0).unwrap().phase, None);

    let actions = k.start(1_000).unwrap();
    assert_eq!(started(&actions), vec![(S0, 1)]);
    let KernelAction::StartStage { work_orders, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(work_orders[0].query_id, "q");
    assert_eq!(work_orders[0].input_slices[0].file_count(), 1);
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::ReadingInput));
    assert_eq!(k.phase(S1), Some(ControllerStagePhase::New));

    assert!(k.on_work_order_accepted(S0, W0).unwrap().is_empty());
    // Two days, four rows each, target 3 rows per segment.
    let keys: Vec<(u8, u32)> = (0..2).flat_map(|d| (0..4).map(move |i| (d, i))).collect();
    let actions = k
        .on_worker_key_statistics(S0, W0, &stats(&keys), 1_200)
        .unwrap();
    let [KernelAction::SendPartitionBoundaries { stage, partitions }] = &actions[..] else {
        panic!("{actions:?}")
    };
    assert_eq!(*stage, S0);
    assert_eq!(partitions.len(), 4, "[3,1] rows on day 0, [3,1] on day 1");
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::PostReading));

    let actions = k
        .on_worker_results_complete(S0, W0, vec![3, 1, 3, 1], 2_000)
        .unwrap();
    assert_eq!(started(&actions), vec![(S1, 1)]);
    let KernelAction::StartStage { work_orders, .. } = &actions[0] else {
        panic!()
    };
    let InputSlice::Stage { partitions, .. } = &work_orders[0].input_slices[0] else {
        panic!()
    };
    assert_eq!(partitions.len(), 4);
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::ResultsReady));

    let actions = k.on_worker_results_complete(S1, W0, vec![], 5_000).unwrap();
    assert_eq!(
        actions,
        vec![
            KernelAction::CleanStage { stage: S0 },
            KernelAction::QueryComplete
        ]
    );
    assert!(k.is_done() && k.is_success());
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::Finished));
    assert_eq!(k.phase(S1), Some(ControllerStagePhase::Finished));

    let s0 = k.stage_report_fields(S0, 9_000).unwrap();
    assert_eq!(
        s0,
        StageReportFields {
            phase: Some(ControllerStagePhase::Finished),
            worker_count: 1,
            partition_count: 4,
            start_time_ms: Some(1_000),
            duration_ms: 1_000,
            sort: true,
        }
    );
    let s1 = k.stage_report_fields(S1, 9_000).unwrap();
    assert_eq!(
        (s1.worker_count, s1.partition_count, s1.duration_ms, s1.sort),
        (1, 1, 3_000, false)
    );
    // Late events after the end are ignored.
    assert!(k.on_cancel(10_000).is_empty());
    assert!(k.on_work_order_accepted(S0, W0).unwrap().is_empty());
}

#[test]
fn group_by_gathers_statistics_from_every_worker() {
    let mut k = kernel(group_by_plan());
    assert_eq!(started(&k.start(0).unwrap()), vec![(S0, 2)]);
    let half = |lo: u32| stats(&(lo..lo + 50).map(|i| (0, i)).collect::<Vec<_>>());
    assert!(k
        .on_worker_key_statistics(S0, W1, &half(50), 10)
        .unwrap()
        .is_empty());
    let actions = k.on_worker_key_statistics(S0, W0, &half(0), 20).unwrap();
    let [KernelAction::SendPartitionBoundaries { partitions, .. }] = &actions[..] else {
        panic!("{actions:?}")
    };
    assert_eq!(partitions.len(), 2);
    // The boundary splits the merged keys evenly: key 50 starts partition 1.
    let mut k50 = vec![0u8];
    k50.extend_from_slice(&50u32.to_be_bytes());
    assert_eq!(partitions.partitions[1].start, Some(k50));

    assert!(k
        .on_worker_results_complete(S0, W0, vec![50, 0], 30)
        .unwrap()
        .is_empty());
    let actions = k
        .on_worker_results_complete(S0, W1, vec![0, 50], 40)
        .unwrap();
    // Post-shuffle: two partitions → two workers, one partition each, from both upstream workers.
    assert_eq!(started(&actions), vec![(S1, 2)]);
    let KernelAction::StartStage { work_orders, .. } = &actions[0] else {
        panic!()
    };
    let InputSlice::Stage { partitions, .. } = &work_orders[1].input_slices[0] else {
        panic!()
    };
    assert_eq!(partitions[0].partition.0, 1);
    assert_eq!(partitions[0].workers, vec![W0, W1]);

    assert!(k
        .on_worker_results_complete(S1, W0, vec![7], 50)
        .unwrap()
        .is_empty());
    let actions = k.on_worker_results_complete(S1, W1, vec![5], 60).unwrap();
    assert_eq!(
        actions,
        vec![
            KernelAction::CleanStage { stage: S0 },
            KernelAction::StartStage {
                stage: S2,
                work_orders: match &actions[1] {
                    KernelAction::StartStage { work_orders, .. } => work_orders.clone(),
                    _ => panic!(),
                }
            }
        ]
    );
    assert_eq!(k.stage_report_fields(S1, 60).unwrap().partition_count, 1);
    let actions = k.on_worker_results_complete(S2, W0, vec![10], 70).unwrap();
    assert_eq!(
        actions,
        vec![
            KernelAction::CleanStage { stage: S1 },
            KernelAction::QueryComplete
        ]
    );
    assert_eq!(k.output_partitions(S2).unwrap().partition_count(), 1);
    for s in [S0, S1, S2] {
        assert_eq!(k.phase(s), Some(ControllerStagePhase::Finished));
    }
}

#[test]
fn a_worker_failure_fails_the_stage_and_the_query_with_its_fault() {
    let mut k = kernel(ingest_plan(1, 1, 100));
    k.start(0).unwrap();
    k.on_worker_key_statistics(S0, W0, &stats(&[(0, 1)]), 1)
        .unwrap();
    k.on_worker_results_complete(S0, W0, vec![1], 2).unwrap();
    let fault = MsqFault::new(
        "InsertTimeNull",
        "Null timestamp (__time) encountered during INSERT or REPLACE.",
    );
    let actions = k.on_worker_failed(S1, W0, fault.clone(), 3).unwrap();
    assert_eq!(
        actions,
        vec![KernelAction::QueryFailed {
            stage: Some(S1),
            worker: Some(W0),
            fault
        }]
    );
    assert_eq!(k.phase(S1), Some(ControllerStagePhase::Failed));
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::ResultsReady));
    assert!(k.is_done() && !k.is_success());
    assert_eq!(k.stage_report_fields(S1, 100).unwrap().duration_ms, 1);
    // A late result from the failed stage is ignored.
    assert!(k
        .on_worker_results_complete(S1, W0, vec![], 4)
        .unwrap()
        .is_empty());
}

#[test]
fn cancel_fails_running_stages_with_canceled() {
    let mut k = kernel(group_by_plan());
    k.start(0).unwrap();
    let actions = k.on_cancel(5);
    let [KernelAction::QueryFailed {
        stage: None,
        worker: None,
        fault,
    }] = &actions[..]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(fault.error_code, "Canceled");
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::Failed));
    assert_eq!(k.phase(S1), Some(ControllerStagePhase::New));
    assert_eq!(k.stage_report_fields(S1, 5).unwrap().phase, None);
    assert!(k.on_cancel(6).is_empty());
    // Cancel before start.
    let mut k = kernel(group_by_plan());
    assert_eq!(k.on_cancel(0).len(), 1);
    assert!(k.is_done());
}

#[test]
fn illegal_events_are_internal_errors_that_change_nothing() {
    let internal = |r: Result<Vec<KernelAction>, msq_common::MsqError>| {
        let e = r.unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Internal, "{e}");
        e.message().to_owned()
    };
    let mut k = kernel(group_by_plan());
    assert!(internal(k.on_worker_results_complete(S0, W0, vec![], 0))
        .contains("before the query started"));
    k.start(0).unwrap();
    assert!(internal(k.start(1)).contains("already started"));
    // Unknown stage / worker.
    assert!(internal(k.on_work_order_accepted(StageNumber(9), W0)).contains("no stage 9"));
    assert!(internal(k.on_work_order_accepted(S0, WorkerNumber(2))).contains("has 2 workers"));
    // A stage not started yet.
    assert!(internal(k.on_worker_results_complete(S1, W0, vec![], 0)).contains("phase New"));
    // Results before statistics for a sorting stage (skipping POST_READING).
    assert!(
        internal(k.on_worker_results_complete(S0, W0, vec![], 0)).contains("phase ReadingInput")
    );
    k.on_worker_key_statistics(S0, W0, &stats(&[(0, 1)]), 1)
        .unwrap();
    assert!(internal(k.on_worker_key_statistics(S0, W0, &stats(&[(0, 2)]), 1)).contains("twice"));
    k.on_worker_key_statistics(S0, W1, &stats(&[(0, 3)]), 1)
        .unwrap();
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::PostReading));
    k.on_worker_results_complete(S0, W0, vec![1, 0], 2).unwrap();
    assert!(internal(k.on_worker_results_complete(S0, W0, vec![1, 0], 2)).contains("twice"));
    k.on_worker_results_complete(S0, W1, vec![0, 1], 2).unwrap();
    // Statistics for a stage that gathers none.
    assert!(
        internal(k.on_worker_key_statistics(S1, W0, &stats(&[]), 3)).contains("does not gather")
    );
    // Nothing above changed the course of the query.
    assert!(!k.is_done());
    assert_eq!(k.phase(S1), Some(ControllerStagePhase::ReadingInput));
}

#[test]
fn too_many_input_files_fails_the_stage_at_start() {
    let mut k = kernel(ingest_plan(10_001, 1, 100));
    let actions = k.start(0).unwrap();
    let [KernelAction::QueryFailed {
        stage: Some(S0),
        fault,
        ..
    }] = &actions[..]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(fault.error_code, "TooManyInputFiles");
    assert_eq!(fault.fields["minNumWorkers"], json!(2));
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::Failed));
    // Two workers share the files fine.
    let mut k = kernel(ingest_plan(10_001, 2, 100));
    assert_eq!(started(&k.start(0).unwrap()), vec![(S0, 2)]);
}

#[test]
fn too_many_partitions_fails_after_statistics() {
    let mut k = kernel(ingest_plan(1, 1, 1));
    k.start(0).unwrap();
    let keys: Vec<(u8, u32)> = (0..25_001).map(|i| (0, i)).collect();
    let actions = k
        .on_worker_key_statistics(S0, W0, &stats(&keys), 1)
        .unwrap();
    let [KernelAction::QueryFailed {
        stage: Some(S0),
        fault,
        ..
    }] = &actions[..]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(fault.error_code, "TooManyPartitions");
    assert_eq!(k.phase(S0), Some(ControllerStagePhase::Failed));
}

#[test]
fn plan_limits_are_faults_at_start() {
    let mut plan = ingest_plan(1, 1, 100);
    plan.stages[0].signature = (0..2_001)
        .map(|i| (format!("c{i}"), ColumnType::Long))
        .collect();
    let mut k = kernel(plan);
    let actions = k.start(0).unwrap();
    let [KernelAction::QueryFailed {
        stage: None, fault, ..
    }] = &actions[..]
    else {
        panic!("{actions:?}")
    };
    assert_eq!(fault.error_code, "TooManyColumns");
    assert_eq!(fault.fields["numColumns"], json!(2_001));
    let mut plan = ingest_plan(1, 1, 100);
    plan.stages[1].max_worker_count = 1_001;
    let actions = kernel(plan).start(0).unwrap();
    assert!(
        matches!(&actions[..], [KernelAction::QueryFailed { fault, .. }] if fault.error_code == "TooManyWorkers")
    );
}

#[test]
fn parallel_leaves_start_together_and_broadcast_join_waits_for_both() {
    // Stage 0 and 1 are leaves; stage 2 reads 0 and broadcasts 1.
    let leaf = |n| {
        let mut s = StageDefinition::new(
            n,
            vec![http(1)],
            ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
        );
        s.shuffle_spec = Some(ShuffleSpec::Mix);
        s
    };
    let mut join = StageDefinition::new(
        2,
        vec![from(0), from(1)],
        ProcessorSpec::Scan(QueryProcessor::new(json!({}))),
    );
    join.broadcast_inputs.insert(1);
    let q = QueryDefinition::new("j", vec![leaf(0), leaf(1), join], S2).unwrap();
    let mut k = kernel(q);
    assert_eq!(started(&k.start(0).unwrap()), vec![(S0, 1), (S1, 1)]);
    assert!(started(&k.on_worker_results_complete(S1, W0, vec![1], 1).unwrap()).is_empty());
    let actions = k.on_worker_results_complete(S0, W0, vec![1], 2).unwrap();
    assert_eq!(started(&actions), vec![(S2, 1)]);
    let actions = k.on_worker_results_complete(S2, W0, vec![1], 3).unwrap();
    assert_eq!(
        actions,
        vec![
            KernelAction::CleanStage { stage: S0 },
            KernelAction::CleanStage { stage: S1 },
            KernelAction::QueryComplete
        ]
    );
}

#[test]
fn work_orders_round_trip_as_json() {
    let mut k = kernel(ingest_plan(3, 2, 10));
    let actions = k.start(0).unwrap();
    let KernelAction::StartStage { work_orders, .. } = &actions[0] else {
        panic!()
    };
    let json = serde_json::to_string(work_orders).unwrap();
    let back: Vec<WorkOrder> = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, work_orders);
}
