//! Workers on stage hosts (`msq_runtime::remote`, the browser's worker-pool protocol run
//! natively over queues) give the same answers, counters and segments as workers beside the
//! controller — with several workers per stage, so frames cross between hosts, globally sorted
//! stages wait for boundaries, broadcast inputs are read by every worker, and table inputs are
//! read from the controller's store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use msq_exec::segment::{MemorySegmentStore, Read, SegmentStore};
use msq_runtime::env::ManualClock;
use msq_runtime::fetch::MemoryFetcher;
use msq_runtime::LocalCluster;
use serde_json::{json, Map, Value};

/// Four files of edits over three days: enough input files for four workers.
fn files() -> Vec<(String, String)> {
    let channels = ["#en", "#de", "#fr", "#ja", "#it"];
    (0..4)
        .map(|f| {
            let rows: Vec<String> = (0..60)
                .map(|i| {
                    let n = f * 60 + i;
                    json!({
                        "ts": format!("2016-06-{:02}T{:02}:{:02}:00.000Z", 27 + n % 3, n % 24, n % 60),
                        "channel": channels[(n * 7 % 5) as usize],
                        "user": format!("u{}", n % 17),
                        "added": n * 3 % 101,
                    })
                    .to_string()
                })
                .collect();
            (format!("http://t/edits-{f}.json"), rows.join("\n"))
        })
        .collect()
}

fn extern_of_all() -> String {
    let uris: Vec<String> = files().into_iter().map(|(u, _)| u).collect();
    format!(
        "TABLE(EXTERN('{}', '{{\"type\":\"json\"}}', '[{{\"name\":\"ts\",\"type\":\"string\"}},\
         {{\"name\":\"channel\",\"type\":\"string\"}},{{\"name\":\"user\",\"type\":\"string\"}},\
         {{\"name\":\"added\",\"type\":\"long\"}}]'))",
        json!({"type": "http", "uris": uris})
    )
}

fn fetcher() -> MemoryFetcher {
    let mut fetcher = MemoryFetcher::new();
    for (uri, text) in files() {
        fetcher = fetcher.with_file(uri, text.into_bytes());
    }
    fetcher.with_file(
        "http://t/channels.json",
        br##"{"channel":"#en","lang":"English"}
{"channel":"#de","lang":"German"}
{"channel":"#fr","lang":"French"}"##
            .to_vec(),
    )
}

fn clock() -> ManualClock {
    ManualClock::new(1_700_000_000_000)
}

fn cluster(hosts: Option<u32>) -> LocalCluster {
    match hosts {
        None => LocalCluster::new(fetcher(), clock()),
        Some(n) => LocalCluster::with_hosts(fetcher(), clock(), n),
    }
}

fn four_workers() -> Map<String, Value> {
    json!({"maxNumTasks": 5}).as_object().cloned().unwrap()
}

/// What must not depend on where workers run: status, results, each stage's worker count and
/// row counters.
fn outcome(cluster: &mut LocalCluster, sql: &str) -> Value {
    let report = cluster.run(sql, four_workers()).unwrap().to_value();
    let payload = &report["multiStageQuery"]["payload"];
    assert_eq!(payload["status"]["status"], "SUCCESS", "{sql}: {payload:#}");
    let stages: Vec<Value> = payload["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let number = s["stageNumber"].to_string();
            let rows: i64 = payload["counters"][&number]
                .as_object()
                .map(|workers| {
                    workers
                        .values()
                        .filter_map(|w| w["output"]["rows"].as_array())
                        .flatten()
                        .filter_map(Value::as_i64)
                        .sum()
                })
                .unwrap_or(0);
            json!({"type": s["definition"]["processor"]["type"], "workers": s["workerCount"],
                   "phase": s["phase"], "outputRows": rows})
        })
        .collect();
    json!({"results": payload["results"]["results"], "stages": stages})
}

const QUERIES: &[&str] = &[
    // Hash shuffle of a GROUP BY over four workers' scans, then a global sort.
    "SELECT channel, COUNT(*) AS edits, SUM(added) AS added FROM edits GROUP BY 1 ORDER BY 2 DESC, 1",
    // COUNT(DISTINCT): two aggregation levels.
    "SELECT COUNT(DISTINCT \"user\") AS users FROM edits",
    // Filter, two keys, ORDER BY … LIMIT.
    "SELECT channel, \"user\", SUM(added) AS a FROM edits WHERE added > 20 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 10",
    // A plain scan with a limit.
    "SELECT __time, channel, added FROM edits WHERE channel = '#fr' ORDER BY __time LIMIT 5",
];

fn insert_edits() -> String {
    format!(
        "INSERT INTO edits SELECT TIME_PARSE(ts) AS __time, channel, \"user\", added FROM {} \
         PARTITIONED BY DAY CLUSTERED BY channel",
        extern_of_all()
    )
}

#[test]
fn hosts_answer_as_local_workers_do() {
    let insert = insert_edits();
    let join = format!(
        "SELECT e.channel, c.lang, COUNT(*) AS n FROM {} AS e \
         INNER JOIN TABLE(EXTERN('{{\"type\":\"http\",\"uris\":[\"http://t/channels.json\"]}}', \
         '{{\"type\":\"json\"}}', '[{{\"name\":\"channel\",\"type\":\"string\"}},{{\"name\":\"lang\",\"type\":\"string\"}}]')) AS c \
         ON e.channel = c.channel GROUP BY 1, 2 ORDER BY 1",
        extern_of_all()
    );
    let mut local = cluster(None);
    let expected_insert = outcome(&mut local, &insert);
    let mut expected: Vec<Value> = QUERIES.iter().map(|q| outcome(&mut local, q)).collect();
    expected.push(outcome(&mut local, &join));
    // The point: stages really ran on several workers.
    assert_eq!(
        expected_insert["stages"][0]["workers"], 4,
        "{expected_insert:#}"
    );
    let local_manifest = local.engine().store().manifest("edits").unwrap().unwrap();

    for hosts in [1, 2, 3] {
        let mut remote = cluster(Some(hosts));
        assert_eq!(
            outcome(&mut remote, &insert),
            expected_insert,
            "{hosts} hosts"
        );
        let manifest = remote.engine().store().manifest("edits").unwrap().unwrap();
        let rows = |m: &msq_exec::segment::DatasourceManifest| -> Vec<(String, usize)> {
            m.segments
                .iter()
                .map(|s| (s.id.to_string(), s.num_rows))
                .collect()
        };
        assert_eq!(rows(&manifest), rows(&local_manifest), "{hosts} hosts");
        for (query, want) in QUERIES.iter().zip(&expected) {
            assert_eq!(&outcome(&mut remote, query), want, "{hosts} hosts: {query}");
        }
        assert_eq!(&outcome(&mut remote, &join), &expected[QUERIES.len()]);
    }
}

/// A store like the browser's OPFS one after its cache let go of the files: segment files are
/// on disk only, so `read` completes on a later poll and `get` / `get_shared` refuse them.
struct DiskOnly(MemorySegmentStore);

impl DiskOnly {
    fn refuses(path: &str) -> bool {
        path.contains("/segments/")
    }
}

impl SegmentStore for DiskOnly {
    fn put_segment(&mut self, path: &str, bytes: Vec<u8>) -> msq_common::Result<()> {
        self.0.put_segment(path, bytes)
    }
    fn get(&self, path: &str) -> msq_common::Result<Option<Vec<u8>>> {
        if Self::refuses(path) {
            return Err(msq_common::MsqError::internal(format!(
                "[{path}] is on disk only"
            )));
        }
        self.0.get(path)
    }
    fn read(&self, path: &str) -> Read {
        let bytes = self.0.get_shared(path);
        let mut waited = false;
        Box::pin(std::future::poll_fn(move |cx| {
            if !std::mem::replace(&mut waited, true) {
                cx.waker().wake_by_ref();
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(bytes.clone())
        }))
    }
    fn adopt_segment(&mut self, written: &str, path: &str) -> msq_common::Result<()> {
        self.0.adopt_segment(written, path)
    }
    fn list(&self, prefix: &str) -> msq_common::Result<Vec<String>> {
        self.0.list(prefix)
    }
    fn delete(&mut self, path: &str) -> msq_common::Result<()> {
        self.0.delete(path)
    }
    fn put_manifest_atomic(&mut self, data_source: &str, bytes: &[u8]) -> msq_common::Result<()> {
        self.0.put_manifest_atomic(data_source, bytes)
    }
}

/// Every reader of segment files, beside the controller or on a host, reads them the way the
/// browser's OPFS store needs (`SegmentStore::read`, answered later), never synchronously; and
/// hosts that share the store write their segment files themselves, which the controller
/// adopts under the segments' paths, leaving no file of their own behind.
#[test]
fn segment_files_are_read_asynchronously_wherever_workers_run() {
    let insert = insert_edits();
    let mut memory = cluster(None);
    let expected_insert = outcome(&mut memory, &insert);
    let expected: Vec<Value> = QUERIES.iter().map(|q| outcome(&mut memory, q)).collect();
    let on_disk = [
        LocalCluster::with_store(fetcher(), clock(), DiskOnly(MemorySegmentStore::new())),
        LocalCluster::with_hosts_and_store(
            fetcher(),
            clock(),
            2,
            DiskOnly(MemorySegmentStore::new()),
        ),
    ];
    for (where_, mut cluster) in ["beside the controller", "on hosts"]
        .into_iter()
        .zip(on_disk)
    {
        assert_eq!(outcome(&mut cluster, &insert), expected_insert, "{where_}");
        for (query, want) in QUERIES.iter().zip(&expected) {
            assert_eq!(&outcome(&mut cluster, query), want, "{where_}: {query}");
        }
        let store = cluster.engine().store();
        let manifest = store.manifest("edits").unwrap().unwrap();
        let mut published: Vec<String> = manifest
            .segments
            .iter()
            .map(|s| msq_exec::segment::segment_path(&s.id))
            .collect();
        published.push(msq_exec::segment::manifest_path("edits"));
        published.sort();
        assert_eq!(store.list("").unwrap(), published, "{where_}");
    }
}

#[test]
fn a_failure_on_a_host_fails_the_task_with_its_error() {
    let mut remote = cluster(Some(2));
    let sql = "SELECT COUNT(*) FROM TABLE(EXTERN('{\"type\":\"http\",\"uris\":[\"http://t/missing.json\"]}', \
               '{\"type\":\"json\"}', '[{\"name\":\"x\",\"type\":\"string\"}]'))";
    let report = remote.run(sql, four_workers()).unwrap().to_value();
    let payload = &report["multiStageQuery"]["payload"];
    assert_eq!(payload["status"]["status"], "FAILED");
    let message = payload["status"]["errorReport"]["error"]["errorMessage"]
        .as_str()
        .unwrap();
    assert!(message.contains("http://t/missing.json"), "{message}");
}

#[test]
fn the_workers_endpoint_lists_each_host_and_what_it_ran() {
    let mut remote = cluster(Some(2));
    outcome(
        &mut remote,
        &format!(
            "SELECT channel, COUNT(*) AS n FROM {} GROUP BY 1",
            extern_of_all()
        ),
    );
    let listing = remote.workers();
    let workers = listing.as_array().unwrap();
    assert_eq!(workers.len(), 2, "{listing:#}");
    for (n, w) in workers.iter().enumerate() {
        assert_eq!(w["worker"]["host"], format!("stage-worker-{n}"));
        assert_eq!(w["acorn"]["state"], "ready");
        assert_eq!(w["currCapacityUsed"], 0, "nothing runs now");
    }
    let run: u64 = workers
        .iter()
        .map(|w| w["acorn"]["workOrdersRun"].as_u64().unwrap())
        .sum();
    // groupByPreShuffle ×4 workers, groupByPostShuffle, and the final scan: all on the hosts.
    assert!(run >= 3, "{listing:#}");
    assert!(workers
        .iter()
        .all(|w| w["acorn"]["workOrdersRun"].as_u64().unwrap() > 0));

    let mut local = cluster(None);
    assert_eq!(
        local.workers(),
        json!([]),
        "workers beside the controller are no threads"
    );
}

/// `rows` JSON lines of one day, ~17 MiB at 80,000: seven channels, comments of 0 to 299
/// characters, `added` counting up.
fn large_day(rows: u64) -> String {
    let mut text = String::new();
    for n in 0..rows {
        text.push_str(
            &json!({"ts": "2016-06-27T00:00:00.000Z", "channel": format!("#c{}", n % 7),
                    "comment": "x".repeat((n % 300) as usize), "added": n})
            .to_string(),
        );
        text.push('\n');
    }
    text
}

#[test]
fn one_large_file_is_split_across_workers_by_byte_ranges() {
    // ~17 MiB of JSON lines: two parts of at least MIN_PART_BYTES (8 MiB).
    let rows = 80_000u64;
    let text = large_day(rows);
    read_in_two_parts(
        "http://t/big.json",
        text.as_bytes(),
        r#"{"type":"json"}"#,
        rows,
    );
}

#[test]
fn one_large_gzip_file_is_read_by_workers_each_parsing_a_share_of_its_lines() {
    use std::io::Write;
    // Comments of pseudo-random hex, so the file stays over two shares once compressed.
    let rows = 100_000u64;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut text = String::from("# exported by a tool\ncomment,added,channel\n");
    for n in 0..rows {
        let comment: String = (0..(n % 9 + 1))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                format!("{state:016x}")
            })
            .collect();
        text.push_str(&format!("{comment},{n},#c{}\n", n % 7));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    read_in_two_parts(
        "http://t/big.csv.gz",
        &gz.finish().unwrap(),
        r#"{"type":"csv","findColumnsFromHeader":true,"skipHeaderRows":1}"#,
        rows,
    );
}

#[test]
fn a_large_csv_with_a_header_is_split_and_every_part_reads_the_header() {
    let rows = 80_000u64;
    // Skipped lines, then the header naming the columns out of signature order.
    let mut text = String::from("# exported by a tool\ncomment,added,channel\n");
    for n in 0..rows {
        text.push_str(&format!(
            "\"{}, quoted\",{n},#c{}\n",
            "x".repeat((n % 400) as usize),
            n % 7
        ));
    }
    read_in_two_parts(
        "http://t/big.csv",
        text.as_bytes(),
        r#"{"type":"csv","findColumnsFromHeader":true,"skipHeaderRows":1}"#,
        rows,
    );
}

/// Reads `file` (`rows` rows of `channel`, 7 values, and `added`, 0..rows) as `uri` in
/// `format` with and without stage threads: two workers read a part (a byte range, or a share
/// of a gzip file's lines) each, every row once, and the bytes counted add up to the file.
fn read_in_two_parts(uri: &str, file: &[u8], format: &str, rows: u64) {
    let min_part = if uri.ends_with(".gz") {
        msq_kernel::slicer::MIN_SHARE_BYTES
    } else {
        msq_kernel::slicer::MIN_PART_BYTES
    };
    assert!(file.len() as u64 > 2 * min_part);
    assert!((file.len() as u64) < 3 * min_part, "two parts, not three");
    let sql = format!(
        "SELECT COUNT(*) AS n, SUM(added) AS added, COUNT(DISTINCT channel) AS channels \
         FROM TABLE(EXTERN('{{\"type\":\"http\",\"uris\":[\"{uri}\"]}}', '{format}', \
         '[{{\"name\":\"channel\",\"type\":\"string\"}},{{\"name\":\"added\",\"type\":\"long\"}}]'))"
    );
    for hosts in [None, Some(2)] {
        let fetcher = MemoryFetcher::new().with_file(uri, file.to_vec());
        let clock = ManualClock::new(1_700_000_000_000);
        let mut cluster = match hosts {
            None => LocalCluster::new(fetcher, clock),
            Some(n) => LocalCluster::with_hosts(fetcher, clock, n),
        };
        let report = cluster.run(&sql, four_workers()).unwrap().to_value();
        let payload = &report["multiStageQuery"]["payload"];
        assert_eq!(payload["status"]["status"], "SUCCESS", "{payload:#}");
        assert_eq!(
            payload["results"]["results"],
            json!([[rows, rows * (rows - 1) / 2, 7]]),
            "{hosts:?}"
        );
        // Stage 0 read the one file with two workers, each a part of it.
        assert_eq!(payload["stages"][0]["workerCount"], 2, "{hosts:?}");
        let input: Vec<(u64, u64)> = payload["counters"]["0"]
            .as_object()
            .unwrap()
            .values()
            .map(|w| {
                let counter =
                    |name: &str| w["input0"][name].as_array().unwrap()[0].as_u64().unwrap();
                (counter("rows"), counter("bytes"))
            })
            .collect();
        assert_eq!(input.len(), 2);
        assert!(input.iter().all(|(r, _)| *r > rows / 4), "{input:?}");
        assert_eq!(input.iter().map(|(r, _)| r).sum::<u64>(), rows);
        assert_eq!(
            input.iter().map(|(_, b)| b).sum::<u64>(),
            file.len() as u64,
            "{hosts:?}: header lines read twice are counted once"
        );
        // The file counts once, with its first part: files 1 / totalFiles 1 over the stage.
        let files = |name: &str| -> u64 {
            (payload["counters"]["0"].as_object().unwrap().values())
                .map(|w| w["input0"][name][0].as_u64().unwrap_or(0))
                .sum()
        };
        assert_eq!((files("files"), files("totalFiles")), (1, 1), "{hosts:?}");
    }
}

/// `acornSpillBudgetBytes` sets how much a host holds before it spills (loopback hosts spill
/// everything by default): the answers stay the same, and a budget that is not a byte count
/// is refused before anything runs.
#[test]
fn the_spill_budget_comes_from_the_context() {
    let sql = format!(
        "SELECT channel, COUNT(*) AS n FROM {} GROUP BY 1 ORDER BY 2 DESC, 1",
        extern_of_all()
    );
    let mut hosts = cluster(Some(2));
    let spilled = outcome(&mut hosts, &sql);
    let mut context = four_workers();
    context.insert("acornSpillBudgetBytes".into(), json!(1 << 30));
    let report = hosts.run(&sql, context.clone()).unwrap().to_value();
    let payload = &report["multiStageQuery"]["payload"];
    assert_eq!(payload["status"]["status"], "SUCCESS", "{payload:#}");
    assert_eq!(payload["results"]["results"], spilled["results"]);

    context.insert("acornSpillBudgetBytes".into(), json!(-5));
    let error = hosts.run(&sql, context).unwrap_err();
    assert_eq!(error.status, 400);
    let message = error.body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("[-5]") && message.contains("[acornSpillBudgetBytes]"),
        "{:#}",
        error.body
    );
}

/// A segment generator takes its day whole from both stage-0 workers, one of them on the other
/// host, which sends its share back from its spill in pieces of `FRAME_REPLY_BYTES`: every row
/// arrives, once, as beside the controller.
#[test]
fn a_partition_taken_from_another_host_arrives_whole_in_pieces() {
    let rows = 80_000u64;
    let file = large_day(rows);
    let insert = "INSERT INTO big SELECT TIME_PARSE(ts) AS __time, channel, comment, added \
        FROM TABLE(EXTERN('{\"type\":\"http\",\"uris\":[\"http://t/big.json\"]}', '{\"type\":\"json\"}', \
        '[{\"name\":\"ts\",\"type\":\"string\"},{\"name\":\"channel\",\"type\":\"string\"},\
        {\"name\":\"comment\",\"type\":\"string\"},{\"name\":\"added\",\"type\":\"long\"}]')) \
        PARTITIONED BY DAY";
    let check = "SELECT COUNT(*) AS n, SUM(added) AS added, COUNT(DISTINCT comment) AS comments, \
        MIN(added) AS lowest, MAX(added) AS highest FROM big";
    for hosts in [None, Some(2)] {
        let fetcher =
            MemoryFetcher::new().with_file("http://t/big.json", file.clone().into_bytes());
        let clock = ManualClock::new(1_700_000_000_000);
        let mut cluster = match hosts {
            None => LocalCluster::new(fetcher, clock),
            Some(n) => LocalCluster::with_hosts(fetcher, clock, n),
        };
        let report = cluster.run(insert, four_workers()).unwrap().to_value();
        let payload = &report["multiStageQuery"]["payload"];
        assert_eq!(payload["status"]["status"], "SUCCESS", "{payload:#}");
        // Each stage-0 worker's share of the day takes more than one reply.
        let shares: Vec<u64> = (payload["counters"]["0"].as_object().unwrap().values())
            .map(|w| {
                (w["output"]["bytes"].as_array().unwrap().iter())
                    .map(|b| b.as_u64().unwrap())
                    .sum()
            })
            .collect();
        assert_eq!(shares.len(), 2, "{hosts:?}");
        let piece = msq_runtime::remote::FRAME_REPLY_BYTES as u64;
        assert!(shares.iter().all(|&b| b > piece), "{shares:?}");
        assert_eq!(payload["stages"][1]["workerCount"], 1, "{hosts:?}");

        let report = cluster.run(check, four_workers()).unwrap().to_value();
        let payload = &report["multiStageQuery"]["payload"];
        assert_eq!(
            payload["results"]["results"],
            json!([[rows, rows * (rows - 1) / 2, 300, 0, rows - 1]]),
            "{hosts:?}"
        );
    }
}

/// Placed as in the browser (`SmallQueriesHere`): a SELECT over a small datasource runs its
/// workers beside the controller, so no host runs a work order for it, and answers as the
/// hosts do; the INSERT that wrote the datasource, a query of external input, and the same
/// SELECT with `acornEngineThreadBytes` 0 run on the hosts.
#[test]
fn small_queries_run_beside_the_controller() {
    let mut cluster = LocalCluster::with_hosts_for_large_queries(fetcher(), clock(), 2);
    let ran = |cluster: &mut LocalCluster| -> u64 {
        (cluster.workers().as_array().unwrap().iter())
            .map(|w| w["acorn"]["workOrdersRun"].as_u64().unwrap())
            .sum()
    };
    outcome(&mut cluster, &insert_edits());
    let after_insert = ran(&mut cluster);
    assert!(after_insert >= 2, "the INSERT ran on the hosts");

    let sql = "SELECT channel, COUNT(*) AS n, SUM(added) AS added FROM edits GROUP BY 1 ORDER BY 1";
    let here = outcome(&mut cluster, sql);
    assert_eq!(
        here["results"].as_array().map(Vec::len),
        Some(5),
        "{here:#}"
    );
    assert_eq!(
        ran(&mut cluster),
        after_insert,
        "nothing more ran on the hosts"
    );

    let mut context = four_workers();
    context.insert("acornEngineThreadBytes".into(), json!(0));
    let report = cluster.run(sql, context.clone()).unwrap().to_value();
    let payload = &report["multiStageQuery"]["payload"];
    assert_eq!(payload["status"]["status"], "SUCCESS", "{payload:#}");
    assert_eq!(payload["results"]["results"], here["results"]);
    let on_hosts = ran(&mut cluster);
    assert!(
        on_hosts > after_insert,
        "with a limit of 0 the hosts ran it"
    );

    outcome(
        &mut cluster,
        &format!("SELECT COUNT(*) AS n FROM {}", extern_of_all()),
    );
    assert!(
        ran(&mut cluster) > on_hosts,
        "external input is read on the hosts"
    );

    context.insert("acornEngineThreadBytes".into(), json!("lots"));
    let error = cluster.run(sql, context).unwrap_err();
    assert_eq!(error.status, 400);
}
