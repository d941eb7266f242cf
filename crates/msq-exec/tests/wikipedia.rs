//! End-to-end reads of Druid's own test data (`shared/data/druid/`, spec `test-assets.md`):
//! the docs' wikipedia NDJSON through gzip in 64 KiB chunks, the unparsable sample, a CSV,
//! frames and counters built from the result.
#![allow(clippy::unwrap_used)]

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use msq_common::ErrorCode;
use msq_exec::counters::CounterTracker;
use msq_exec::frame::{decode_frame, FrameWriter};
use msq_exec::input::{InputFormat, InputReader, ParseExceptionPolicy, ReaderOptions};
use msq_sql::DruidType;
use std::path::PathBuf;
use std::time::Instant;

/// The 24 columns of the SQL ingestion API docs' example (`sql-ingestion-api.md`).
const WIKIPEDIA_SIGNATURE: &str = r#"[{"name": "added", "type": "long"}, {"name": "channel", "type": "string"}, {"name": "cityName", "type": "string"}, {"name": "comment", "type": "string"}, {"name": "commentLength", "type": "long"}, {"name": "countryIsoCode", "type": "string"}, {"name": "countryName", "type": "string"}, {"name": "deleted", "type": "long"}, {"name": "delta", "type": "long"}, {"name": "deltaBucket", "type": "string"}, {"name": "diffUrl", "type": "string"}, {"name": "flags", "type": "string"}, {"name": "isAnonymous", "type": "string"}, {"name": "isMinor", "type": "string"}, {"name": "isNew", "type": "string"}, {"name": "isRobot", "type": "string"}, {"name": "isUnpatrolled", "type": "string"}, {"name": "metroCode", "type": "string"}, {"name": "namespace", "type": "string"}, {"name": "page", "type": "string"}, {"name": "regionIsoCode", "type": "string"}, {"name": "regionName", "type": "string"}, {"name": "timestamp", "type": "string"}, {"name": "user", "type": "string"}]"#;

fn signature() -> Vec<(String, DruidType)> {
    let columns: Vec<serde_json::Value> = serde_json::from_str(WIKIPEDIA_SIGNATURE).unwrap();
    columns
        .iter()
        .map(|c| {
            let ty = DruidType::from_signature_type(c["type"].as_str().unwrap()).unwrap();
            (c["name"].as_str().unwrap().to_owned(), ty)
        })
        .collect()
}

fn data_file(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/druid")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found (shared data is a sibling of the repo)",
            path.display()
        );
        None
    }
}

fn json() -> InputFormat {
    InputFormat::from_json_str(r#"{"type": "json"}"#).unwrap()
}

fn column_index(batch: &RecordBatch, name: &str) -> usize {
    batch.schema().index_of(name).unwrap()
}

#[test]
fn wikipedia_gz_in_64k_chunks() {
    let Some(path) = data_file("wikipedia.json.gz") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let uri = "https://druid.apache.org/data/wikipedia.json.gz";
    let signature = signature();

    let started = Instant::now();
    let mut reader = InputReader::new(&json(), &signature, uri, ReaderOptions::default()).unwrap();
    let mut batches = Vec::new();
    for chunk in bytes.chunks(64 * 1024) {
        reader.feed(chunk).unwrap();
        batches.extend(reader.drain_batches());
    }
    reader.finish().unwrap();
    batches.extend(reader.drain_batches());
    let elapsed = started.elapsed();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    println!(
        "wikipedia.json.gz: {rows} rows in {elapsed:?} = {:.0} rows/s (gzip + NDJSON, 24 columns)",
        rows as f64 / elapsed.as_secs_f64()
    );

    assert!(reader.take_parse_exceptions().is_empty());
    assert_eq!(rows, 24_433);
    assert_eq!(reader.rows_read(), 24_433);
    assert_eq!(reader.bytes_read(), bytes.len() as u64);
    assert!(batches.iter().all(|b| b.num_rows() <= 8192));
    assert_eq!(batches[0].num_columns(), 24);

    // Values checked against an independent count over the decompressed file.
    let mut en = 0;
    let mut added = 0i64;
    let mut delta = 0i64;
    let mut null_city = 0;
    let mut robots = 0;
    let mut metro = 0;
    for b in &batches {
        let channel = b.column(column_index(b, "channel")).as_string::<i32>();
        en += channel
            .iter()
            .filter(|c| *c == Some("#en.wikipedia"))
            .count();
        added += b
            .column(column_index(b, "added"))
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .sum::<i64>();
        delta += b
            .column(column_index(b, "delta"))
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .sum::<i64>();
        null_city += b.column(column_index(b, "cityName")).null_count();
        metro += b.column(column_index(b, "metroCode")).len()
            - b.column(column_index(b, "metroCode")).null_count();
        let robot = b.column(column_index(b, "isRobot")).as_string::<i32>();
        robots += robot.iter().filter(|c| *c == Some("true")).count();
    }
    assert_eq!(en, 6_650);
    assert_eq!((added, delta), (11_774_265, 11_495_977));
    assert_eq!((null_city, robots, metro), (22_900, 9_864, 312));
    let first = &batches[0];
    let string = |name: &str, row: usize| {
        first
            .column(column_index(first, name))
            .as_string::<i32>()
            .value(row)
            .to_owned()
    };
    assert_eq!(string("page", 0), "Salo Toraut");
    assert_eq!(string("timestamp", 0), "2016-06-27T00:00:11.080Z");
    assert_eq!(string("deltaBucket", 0), "0.0"); // a JSON number read into a string column

    // Frames and counters as a scan stage would produce them.
    let writer = FrameWriter::default();
    let mut counters = CounterTracker::new();
    counters.input(0).set_total_files(1);
    counters.input(0).add_file(rows as u64, bytes.len() as u64);
    let mut decoded_rows = 0;
    for b in &batches {
        for frame in writer.write(b).unwrap() {
            assert!(frame.len() <= 1_000_000);
            counters
                .output()
                .add_frame(0, frame.rows as u64, frame.len() as u64);
            decoded_rows += decode_frame(&frame.bytes)
                .unwrap()
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>();
        }
    }
    assert_eq!(decoded_rows, 24_433);
    let snapshot = counters.snapshot();
    let output = snapshot.output().unwrap();
    assert_eq!(output.rows, [24_433]);
    assert!(output.frames[0] > 3, "{:?}", output.frames);
    assert_eq!(snapshot.input(0).unwrap().files, [1]);
}

#[test]
fn unparsable_sample_gives_one_parse_exception() {
    let Some(path) = data_file("wikipedia-sampled-unparsable.json") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let uri = format!("file:{}", path.display());
    let out = InputReader::read_all(
        &json(),
        &signature(),
        uri.clone(),
        &bytes,
        ReaderOptions::default(),
    )
    .unwrap();
    assert_eq!(out.num_rows(), 2);
    assert_eq!(out.parse_exceptions.len(), 1);
    let e = &out.parse_exceptions[0];
    assert_eq!((e.record, e.line), (2, 2));
    assert!(
        e.message.starts_with(
            r##"Unable to parse row [{"isRobot":falseUNPARSABLE"channel":"#en.wikipedia""##
        ),
        "{}",
        e.message
    );
    assert!(
        e.message
            .ends_with(&format!("}}] (Path: {uri}, Record: 2, Line: 2)")),
        "{}",
        e.message
    );

    // maxParseExceptions = 0 (default) fails the task; 1 or -1 lets it through with a warning.
    let err = ParseExceptionPolicy::default().record(e).unwrap_err();
    assert_eq!(err.code(), ErrorCode::CannotParseExternalData);
    assert_eq!(err.message(), e.message);
    for max in [1, -1] {
        let mut policy = ParseExceptionPolicy::new(max);
        policy.record(e).unwrap();
    }
    let mut counters = CounterTracker::new();
    counters
        .warnings()
        .increment(ErrorCode::CannotParseExternalData);
    assert_eq!(
        serde_json::to_string(&counters.snapshot()).unwrap(),
        r#"{"warnings":{"type":"warnings","CannotParseExternalData":1}}"#
    );
}

#[test]
fn csv_with_quotes_and_header() {
    let format =
        InputFormat::from_json_str(r#"{"type":"csv","findColumnsFromHeader":true}"#).unwrap();
    let signature = vec![
        ("page".to_owned(), DruidType::String),
        ("added".to_owned(), DruidType::Long),
        ("ratio".to_owned(), DruidType::Float),
    ];
    let data = "added,page,ratio\r\n31,\"Talk:Main, \"\"Page\"\"\",0.5\r\n7,Plain,\r\n";
    let out = InputReader::read_all(
        &format,
        &signature,
        "inline",
        data.as_bytes(),
        ReaderOptions::default(),
    )
    .unwrap();
    assert!(out.parse_exceptions.is_empty());
    let b = &out.batches[0];
    assert_eq!(
        b.column(0).as_string::<i32>().value(0),
        "Talk:Main, \"Page\""
    );
    assert_eq!(b.column(1).as_primitive::<Int64Type>().values(), &[31, 7]);
    assert!(b.column(2).is_null(1));
}
