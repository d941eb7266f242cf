//! The SQL-based ingestion API docs' example, end to end on a LocalCluster: the INSERT of
//! `wikipedia.json.gz` (24,433 rows, one day) and a GROUP BY over the datasource it writes,
//! checked against an independent count over the raw file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flate2::read::GzDecoder;
use msq_runtime::env::SystemClock;
use msq_runtime::fetch::FileFetcher;
use msq_runtime::LocalCluster;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/druid")
}

fn cluster() -> LocalCluster {
    // The docs' URL, served from the shared copy of the same file.
    let fetcher = FileFetcher::new().with_mount("https://druid.apache.org/data/", shared_data());
    LocalCluster::new(fetcher, SystemClock)
}

fn context(pairs: Value) -> Map<String, Value> {
    pairs.as_object().cloned().unwrap_or_default()
}

/// Channel counts straight from the raw file (serde_json over gunzipped lines).
fn channel_counts() -> Vec<(String, i64)> {
    let file = std::fs::File::open(shared_data().join("wikipedia.json.gz")).unwrap();
    let mut counts: HashMap<String, i64> = HashMap::new();
    for line in std::io::BufReader::new(GzDecoder::new(file)).lines() {
        let row: Value = serde_json::from_str(&line.unwrap()).unwrap();
        *counts
            .entry(row["channel"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    let mut sorted: Vec<(String, i64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    sorted
}

fn sum_channel(report: &Value, stage: &str, channel: &str, field: &str) -> i64 {
    report["multiStageQuery"]["payload"]["counters"][stage]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|w| w[channel][field].as_array())
        .flatten()
        .map(|v| v.as_i64().unwrap())
        .sum()
}

#[test]
fn docs_insert_then_group_by() {
    let mut cluster = cluster();
    let sql = include_str!("data/docs-insert.sql");
    let report = cluster
        .run(sql, context(json!({"maxNumTasks": 3})))
        .expect("the docs' INSERT plans")
        .to_value();
    let payload = &report["multiStageQuery"]["payload"];
    assert_eq!(payload["status"]["status"], "SUCCESS", "{payload:#}");
    let stages = payload["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0]["definition"]["processor"]["type"], "scan");
    assert_eq!(
        stages[1]["definition"]["processor"]["type"],
        "segmentGenerator"
    );
    for stage in stages {
        assert_eq!(stage["phase"], "FINISHED");
    }
    assert_eq!(sum_channel(&report, "0", "input0", "rows"), 24_433);
    assert_eq!(sum_channel(&report, "0", "shuffle", "rows"), 24_433);
    assert_eq!(sum_channel(&report, "1", "input0", "rows"), 24_433);
    let generated: i64 = payload["counters"]["1"]
        .as_object()
        .unwrap()
        .values()
        .map(|w| {
            w["segmentGenerationProgress"]["rowsPushed"]
                .as_i64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(generated, 24_433);

    let manifest = cluster
        .engine()
        .store()
        .manifest("wikipedia")
        .unwrap()
        .unwrap();
    assert_eq!(manifest.segments.len(), 1, "one day, one segment");
    assert_eq!(manifest.segments[0].num_rows, 24_433);

    let top = cluster
        .run(
            "SELECT channel, COUNT(*) AS cnt FROM wikipedia GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
            Map::new(),
        )
        .unwrap()
        .to_value();
    let results = &top["multiStageQuery"]["payload"]["results"];
    assert_eq!(
        top["multiStageQuery"]["payload"]["status"]["status"], "SUCCESS",
        "{top:#}"
    );
    let expected: Vec<Value> = channel_counts()
        .into_iter()
        .take(5)
        .map(|(c, n)| json!([c, n]))
        .collect();
    assert_eq!(results["results"], Value::Array(expected));
    assert_eq!(results["sqlTypeNames"], json!(["VARCHAR", "BIGINT"]));

    let count = cluster
        .run("SELECT COUNT(*) AS c FROM wikipedia", Map::new())
        .unwrap()
        .to_value();
    assert_eq!(
        count["multiStageQuery"]["payload"]["results"]["results"],
        json!([[24_433]])
    );
}
