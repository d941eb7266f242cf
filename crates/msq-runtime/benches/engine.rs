//! Native engine benchmark: prints rows/s, never asserts on time (run it with
//! `scripts/bench.sh` or `cargo bench -p msq-runtime --bench engine`).
//!
//! Workloads, each with 1, 2 and 4 workers (`maxNumTasks` 2, 3, 5):
//! - **ingest**: `INSERT … PARTITIONED BY DAY` of generated Wikipedia-edit-like NDJSON
//!   (the 24 columns of the docs' example, rows spread over 7 days);
//! - **group by**: `SELECT channel, COUNT(*), SUM(added) … GROUP BY channel` over the ingested
//!   datasource;
//! - **distinct**: exact `COUNT(DISTINCT "user")` over it (about 50,000 users; four stages).
//!
//! `LocalCluster` runs every worker as a future on one thread, so these numbers measure the
//! engine's per-row cost and its overhead per worker, not parallel speed-up (that comes from
//! Web Workers in the browser). Rows default to 1,000,000; set `ACORN_BENCH_ROWS` to change, and
//! `ACORN_BENCH_WORKERS` (a comma-separated list, default `1,2,4`) for other worker counts, and
//! `ACORN_BENCH_DATA` to ingest an NDJSON file of those columns instead (such as the browser
//! benchmark's `target/bench-data/edits-1000000.json`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use msq_runtime::env::SystemClock;
use msq_runtime::fetch::MemoryFetcher;
use msq_runtime::LocalCluster;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::time::Instant;

const CHANNELS: [&str; 8] = [
    "#en.wikipedia",
    "#de.wikipedia",
    "#fr.wikipedia",
    "#ja.wikipedia",
    "#ru.wikipedia",
    "#it.wikipedia",
    "#es.wikipedia",
    "#vi.wikipedia",
];

/// A deterministic xorshift so every run ingests the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn generate(rows: usize) -> Vec<u8> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let start_ms: i64 = 1_442_016_000_000; // 2015-09-12T00:00:00Z
    let span_ms: i64 = 7 * 86_400_000;
    let mut out = String::with_capacity(rows * 420);
    for i in 0..rows {
        let t = start_ms + (i as i64 * span_ms) / rows as i64;
        let secs = (t - start_ms) / 1000;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let day = 12 + days; // September 2015
        let channel = CHANNELS[rng.below(CHANNELS.len() as u64) as usize];
        let added = rng.below(2000);
        let deleted = rng.below(300);
        let user = rng.below(50_000);
        let page = rng.below(200_000);
        let _ = writeln!(
            out,
            "{{\"timestamp\":\"2015-09-{day:02}T{:02}:{:02}:{:02}.{:03}Z\",\"channel\":\"{channel}\",\
             \"cityName\":null,\"comment\":\"edit {i}\",\"commentLength\":{},\"countryIsoCode\":null,\
             \"countryName\":null,\"deleted\":{deleted},\"delta\":{},\"deltaBucket\":\"{}\",\
             \"diffUrl\":\"https://en.wikipedia.org/w/index.php?diff={i}\",\"flags\":\"!\",\
             \"isAnonymous\":\"false\",\"isMinor\":\"{}\",\"isNew\":\"false\",\"isRobot\":\"{}\",\
             \"isUnpatrolled\":\"false\",\"metroCode\":null,\"namespace\":\"Main\",\
             \"page\":\"Page {page}\",\"regionIsoCode\":null,\"regionName\":null,\
             \"user\":\"User{user}\",\"added\":{added}}}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60,
            t.rem_euclid(1000),
            5 + i % 40,
            added as i64 - deleted as i64,
            (added / 100) * 100,
            i % 3 == 0,
            i % 7 == 0,
        );
    }
    out.into_bytes()
}

const SIGNATURE: &str = r#"[{"name":"timestamp","type":"string"},{"name":"channel","type":"string"},{"name":"cityName","type":"string"},{"name":"comment","type":"string"},{"name":"commentLength","type":"long"},{"name":"countryIsoCode","type":"string"},{"name":"countryName","type":"string"},{"name":"deleted","type":"long"},{"name":"delta","type":"long"},{"name":"deltaBucket","type":"string"},{"name":"diffUrl","type":"string"},{"name":"flags","type":"string"},{"name":"isAnonymous","type":"string"},{"name":"isMinor","type":"string"},{"name":"isNew","type":"string"},{"name":"isRobot","type":"string"},{"name":"isUnpatrolled","type":"string"},{"name":"metroCode","type":"string"},{"name":"namespace","type":"string"},{"name":"page","type":"string"},{"name":"regionIsoCode","type":"string"},{"name":"regionName","type":"string"},{"name":"user","type":"string"},{"name":"added","type":"long"}]"#;

fn status(report: &Value) -> &str {
    report["multiStageQuery"]["payload"]["status"]["status"]
        .as_str()
        .unwrap_or("?")
}

fn main() {
    let rows: usize = std::env::var("ACORN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let generated = Instant::now();
    let (data, rows) = match std::env::var("ACORN_BENCH_DATA") {
        Ok(path) => {
            let data = std::fs::read(&path).unwrap();
            let rows = data.iter().filter(|&&b| b == b'\n').count();
            (data, rows)
        }
        Err(_) => (generate(rows), rows),
    };
    println!(
        "{rows} rows, {:.1} MB NDJSON in {:.2} s",
        data.len() as f64 / 1e6,
        generated.elapsed().as_secs_f64()
    );
    let insert = format!(
        "INSERT INTO edits SELECT TIME_PARSE(\"timestamp\") AS __time, * FROM TABLE(EXTERN(\
         '{{\"type\":\"http\",\"uris\":[\"http://bench.test/edits.json\"]}}', '{{\"type\":\"json\"}}', \
         '{SIGNATURE}')) PARTITIONED BY DAY"
    );
    let workers: Vec<u32> = std::env::var("ACORN_BENCH_WORKERS")
        .map(|v| v.split(',').map(|w| w.trim().parse().unwrap()).collect())
        .unwrap_or_else(|_| vec![1, 2, 4]);
    let group_by =
        "SELECT channel, COUNT(*) AS cnt, SUM(added) AS added FROM edits GROUP BY channel";
    let distinct = r#"SELECT COUNT(DISTINCT "user") AS users FROM edits"#;
    println!(
        "{:<10} {:>8} {:>10} {:>14}",
        "workload", "workers", "seconds", "rows/s"
    );
    for workers in workers {
        let fetcher = MemoryFetcher::new().with_file("http://bench.test/edits.json", data.clone());
        let mut cluster = LocalCluster::new(fetcher, SystemClock);
        let mut context = Map::new();
        context.insert("maxNumTasks".into(), json!(workers + 1));
        context.insert("useApproximateCountDistinct".into(), json!(false));
        for (name, sql) in [
            ("ingest", insert.as_str()),
            ("group by", group_by),
            ("distinct", distinct),
        ] {
            let started = Instant::now();
            let report = cluster.run(sql, context.clone()).unwrap().to_value();
            let seconds = started.elapsed().as_secs_f64();
            assert_eq!(status(&report), "SUCCESS", "{name}: {report:#}");
            println!(
                "{name:<10} {workers:>8} {seconds:>10.3} {:>14.0}",
                rows as f64 / seconds
            );
        }
    }
}
