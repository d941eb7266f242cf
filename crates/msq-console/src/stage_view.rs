//! What one row of the stages table and its expansion show, as plain text.
//!
//! The numbers come from `msq_model::Stages` (rule 10: models compute); this module only picks
//! which of them a row shows and formats them (thousands separators, sizes, labels), following
//! Druid's `ExecutionStagesPane` (spec `druid-console-query-view.md` §3). Being pure, it is
//! tested natively against the documentation's example report.

use crate::format;
use msq_model::{ReportPayload, StagePhase, StageReport, Stages};

/// One line of the Counter / Rows / Size columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterLine {
    /// `"Input Stage0"`, `"Input http external"`, `"Processor output"`, `"Shuffle output"`,
    /// `"Merged"`, `"Pushed"`.
    pub label: String,
    /// Whether the line is a broadcast input.
    pub broadcast: bool,
    /// Rows, formatted (`"465,346"`).
    pub rows: String,
    /// Text after the rows: `"(1 / 1)"` files, `"Read 3 times"`, `"45% sorted"`; may be empty.
    pub detail: String,
    /// Size: `"41.7 MiB · 73 frames"`, or empty when the counter has no bytes.
    pub size: String,
}

/// Everything one stages-table row shows.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRowView {
    /// Stage number.
    pub number: u32,
    /// Processor type (`scan`, `segmentGenerator`, …).
    pub processor: String,
    /// Whether the stage sorts (`"(with sort)"`).
    pub sort: bool,
    /// Counter lines.
    pub counters: Vec<CounterLine>,
    /// `"23,308"` rows/s, when the stage has a duration.
    pub rate: Option<String>,
    /// Bytes per second for the tooltip.
    pub byte_rate: Option<String>,
    /// The phase, if the stage started.
    pub phase: Option<StagePhase>,
    /// Start time, pretty.
    pub start: Option<String>,
    /// Duration, `"19,965 ms"`.
    pub duration: Option<String>,
    /// `workerCount`.
    pub workers: Option<u32>,
    /// `partitionCount`.
    pub partitions: Option<u32>,
    /// The Cluster-by cell, one string per line.
    pub cluster_by: Vec<String>,
    /// Stage progress, 0..=1.
    pub progress: f64,
    /// `(left, width)` of the stage on the query's timeline, as fractions of the span.
    pub timeline: Option<(f64, f64)>,
    /// The query's error summary, when it names this stage.
    pub error: Option<String>,
    /// Warning count and its per-code breakdown (`"CannotParseExternalData: 3"`).
    pub warnings: Option<(i64, String)>,
}

/// Size text of a channel: bytes and frames, empty when neither is known.
fn size_text(bytes: i64, frames: i64) -> String {
    let mut parts = Vec::new();
    if bytes > 0 {
        parts.push(format::bytes(bytes.unsigned_abs()));
    }
    if frames > 0 {
        parts.push(format!(
            "{} {}",
            format::thousands(i128::from(frames)),
            if frames == 1 { "frame" } else { "frames" }
        ));
    }
    parts.join(" · ")
}

fn rows_text(rows: i64) -> String {
    format::thousands(i128::from(rows))
}

/// The query's time span `(start, end)` in epoch milliseconds: earliest stage start to the
/// latest stage end (start + duration). `None` when no stage has both.
pub fn timeline_span(stages: &[StageReport]) -> Option<(i64, i64)> {
    let spans: Vec<(i64, i64)> = stages.iter().filter_map(stage_span).collect();
    let start = spans.iter().map(|s| s.0).min()?;
    let end = spans.iter().map(|s| s.1).max()?;
    Some((start, end))
}

fn stage_span(stage: &StageReport) -> Option<(i64, i64)> {
    let start = format::parse_iso_millis(stage.start_time.as_deref()?)?;
    Some((start, start + stage.duration.unwrap_or(0).max(0)))
}

/// The counter lines of a stage (inputs, processor output, shuffle output, Merged/Pushed).
pub fn counter_lines(stages: &Stages<'_>, stage: &StageReport) -> Vec<CounterLine> {
    let mut lines = Vec::new();
    for (i, input) in stage.definition.input.iter().enumerate() {
        let totals = stages.channel_totals(stage, &format!("input{i}"));
        let broadcast = stage.definition.is_broadcast(i);
        let detail = if let Some(times) = stages.broadcast_read_times(stage, i) {
            format!(
                "Read {} {}",
                trim_float(times),
                if (times - 1.0).abs() < f64::EPSILON {
                    "time"
                } else {
                    "times"
                }
            )
        } else if let Some((files, total)) = stages.input_files(stage, i) {
            format!("({} / {})", rows_text(files), rows_text(total))
        } else {
            String::new()
        };
        lines.push(CounterLine {
            label: format!("Input {}", input.label()),
            broadcast,
            rows: rows_text(totals.rows),
            detail,
            size: size_text(totals.bytes, totals.frames),
        });
    }
    if stages.has_output(stage) {
        let t = stages.channel_totals(stage, "output");
        lines.push(CounterLine {
            label: "Processor output".to_owned(),
            broadcast: false,
            rows: rows_text(t.rows),
            detail: String::new(),
            size: size_text(t.bytes, t.frames),
        });
    }
    if stages.has_output(stage) && stages.has_counter(stage, "shuffle") {
        let t = stages.channel_totals(stage, "shuffle");
        let detail = stages
            .sort_progress(stage)
            .map(|f| format!("{} sorted", format::percent(f)))
            .unwrap_or_default();
        lines.push(CounterLine {
            label: "Shuffle output".to_owned(),
            broadcast: false,
            rows: rows_text(t.rows),
            detail,
            size: size_text(t.bytes, t.frames),
        });
    }
    if !stages.has_output(stage) {
        let sg = stages.segment_generation(stage);
        for (label, rows) in [("Merged", sg.rows_merged), ("Pushed", sg.rows_pushed)] {
            lines.push(CounterLine {
                label: label.to_owned(),
                broadcast: false,
                rows: rows.map_or_else(|| "–".to_owned(), rows_text),
                detail: String::new(),
                size: String::new(),
            });
        }
    }
    lines
}

fn trim_float(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format::rounded(x)
    } else {
        format!("{x:.1}")
    }
}

/// The row of stage `stage` of `payload`.
pub fn stage_row(payload: &ReportPayload, stage: &StageReport) -> StageRowView {
    let stages = payload.stages();
    let timeline = timeline_span(&payload.stages).and_then(|(start, end)| {
        let (s, e) = stage_span(stage)?;
        let span = (end - start).max(1) as f64;
        let left = (s - start) as f64 / span;
        let width = ((e - s) as f64 / span).max(0.0);
        Some((left, width))
    });
    let error = payload
        .status
        .error_report
        .as_ref()
        .filter(|e| e.stage_number == Some(stage.stage_number))
        .map(|e| e.summary());
    let warnings_count = stages.warnings_count(stage);
    let warnings = (warnings_count > 0).then(|| {
        let breakdown: Vec<String> = stages
            .warnings_breakdown(stage)
            .iter()
            .map(|(code, n)| format!("{code}: {}", rows_text(*n)))
            .collect();
        (warnings_count, breakdown.join("\n"))
    });
    StageRowView {
        number: stage.stage_number,
        processor: stage.processor_type().to_owned(),
        sort: stage.sort,
        counters: counter_lines(&stages, stage),
        rate: stages.processing_rate(stage).map(format::rounded),
        byte_rate: stages
            .byte_rate(stage)
            .map(|b| format!("{}/s", format::bytes(b.max(0.0) as u64))),
        phase: stage.phase,
        start: stage.start_time.as_deref().map(format::pretty_iso),
        duration: stage
            .duration
            .map(|d| format::millis(d.max(0).unsigned_abs())),
        workers: stage.worker_count,
        partitions: stage.partition_count,
        cluster_by: stage
            .definition
            .shuffle_spec
            .as_ref()
            .and_then(|s| s.cluster_by.as_ref())
            .map(|c| c.describe())
            .unwrap_or_default(),
        progress: stages.stage_progress(stage),
        timeline,
        error,
        warnings,
    }
}

/// A cell of the per-worker table: rows, an optional detail and the size.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCell {
    /// Rows, formatted.
    pub rows: String,
    /// `"(1 / 1)"` files, or empty.
    pub detail: String,
    /// Bytes and frames, or empty.
    pub size: String,
}

/// The per-worker table of a stage: column headers and one row of cells per worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerTable {
    /// Column headers after "Worker".
    pub columns: Vec<String>,
    /// `(worker number, task id, cells)` per worker.
    pub rows: Vec<(u32, String, Vec<WorkerCell>)>,
}

/// Builds the per-worker table of `stage` (`task_id` names the worker tasks
/// `<taskId>-worker<n>_0`, as Druid's console links them).
pub fn worker_table(payload: &ReportPayload, stage: &StageReport, task_id: &str) -> WorkerTable {
    let stages = payload.stages();
    let mut columns: Vec<String> = stage
        .definition
        .input
        .iter()
        .enumerate()
        .map(|(i, input)| format!("input{i}: {}", input.label()))
        .collect();
    let has_output = stages.has_output(stage);
    let has_shuffle = stages.has_shuffle(stage);
    if has_output {
        columns.push("Processor output".to_owned());
    }
    if has_shuffle {
        columns.push("Shuffle output".to_owned());
    }
    if !has_output {
        columns.push("Merged".to_owned());
        columns.push("Pushed".to_owned());
    }
    let cell = |t: &msq_model::ChannelTotals| WorkerCell {
        rows: rows_text(t.rows),
        detail: if t.total_files > 0 {
            format!("({} / {})", rows_text(t.files), rows_text(t.total_files))
        } else {
            String::new()
        },
        size: size_text(t.bytes, t.frames),
    };
    let rows = stages
        .per_worker(stage)
        .into_iter()
        .map(|w| {
            let mut cells: Vec<WorkerCell> = w.inputs.iter().map(cell).collect();
            if let Some(o) = &w.output {
                cells.push(cell(o));
            }
            if let Some(s) = &w.shuffle {
                cells.push(cell(s));
            }
            if !has_output {
                let sg = w.segment_generation.clone().unwrap_or_default();
                for rows in [sg.rows_merged, sg.rows_pushed] {
                    cells.push(WorkerCell {
                        rows: rows.map_or_else(|| "–".to_owned(), rows_text),
                        detail: String::new(),
                        size: String::new(),
                    });
                }
            }
            (w.worker, format!("{task_id}-worker{}_0", w.worker), cells)
        })
        .collect();
    WorkerTable { columns, rows }
}

/// A partition table: a title and `(partition label, rows, size)` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionTable {
    /// `"Output partitions (shuffle)"`, `"Input partitions: Input Stage0"`.
    pub title: String,
    /// One line per partition.
    pub rows: Vec<(String, String, String)>,
}

/// The partition tables of a stage: one per non-broadcast `stage` input, then the output
/// partitions. A `*` after a partition marks a stage still reading input.
pub fn partition_tables(payload: &ReportPayload, stage: &StageReport) -> Vec<PartitionTable> {
    let stages = payload.stages();
    let reading = stage.phase == Some(StagePhase::ReadingInput);
    let mut tables = Vec::new();
    for (i, input) in stage.definition.input.iter().enumerate() {
        if input.stage_number().is_none() || stage.definition.is_broadcast(i) {
            continue;
        }
        let rows = stages.input_partitions(stage, i);
        if rows.is_empty() {
            continue;
        }
        tables.push(PartitionTable {
            title: format!("Input partitions: Input {}", input.label()),
            rows: rows
                .iter()
                .map(|p| {
                    let mark = if reading { "*" } else { "" };
                    (
                        format!("Partition{}{mark}", p.partition),
                        rows_text(p.rows),
                        size_text(p.bytes, p.frames),
                    )
                })
                .collect(),
        });
    }
    let output = stages.per_partition(stage);
    if !output.is_empty() {
        tables.push(PartitionTable {
            title: format!("Output partitions ({})", stages.final_counter_name(stage)),
            rows: output
                .iter()
                .map(|p| {
                    (
                        format!("Partition{}", p.partition),
                        rows_text(p.rows),
                        size_text(p.bytes, p.frames),
                    )
                })
                .collect(),
        });
    }
    tables
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use msq_model::TaskReport;

    const DOCS: &str = include_str!("../../../tests/fixtures/reports/docs-example-report.json");

    fn docs() -> TaskReport {
        TaskReport::from_json(DOCS).unwrap()
    }

    #[test]
    fn docs_example_rows() {
        let report = docs();
        let payload = report.payload();
        let s0 = stage_row(payload, &payload.stages[0]);
        assert_eq!(s0.processor, "scan");
        assert!(s0.sort);
        assert_eq!(s0.duration.as_deref(), Some("19,965 ms"));
        assert_eq!(s0.start.as_deref(), Some("2022-09-14 22:12:11.663"));
        assert_eq!(s0.counters[0].label, "Input http external");
        assert_eq!(s0.counters[0].rows, "465,346");
        assert_eq!(s0.counters[0].detail, "(1 / 1)");
        assert_eq!(s0.counters[1].label, "Processor output");
        assert_eq!(s0.counters[1].size, "41.7 MiB · 7 frames");
        assert_eq!(s0.counters[2].label, "Shuffle output");
        assert_eq!(s0.counters[2].detail, "100% sorted");
        assert_eq!(s0.rate.as_deref(), Some("23,308"));
        assert_eq!(s0.cluster_by, vec!["Cluster by: __boost".to_owned()]);
        assert_eq!(s0.progress, 1.0);
        let (left, width) = s0.timeline.unwrap();
        assert_eq!(left, 0.0);
        assert!(width > 0.7 && width < 0.8, "{width}");

        let s1 = stage_row(payload, &payload.stages[1]);
        assert_eq!(s1.processor, "segmentGenerator");
        assert_eq!(s1.duration.as_deref(), Some("5,891 ms"));
        let labels: Vec<&str> = s1.counters.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Input Stage0", "Merged", "Pushed"]);
        assert_eq!(s1.counters[1].rows, "465,346");
        assert_eq!(s1.counters[2].rows, "–");
        assert_eq!(s1.phase.map(StagePhase::label).as_deref(), Some("Finished"));
        let (left, width) = s1.timeline.unwrap();
        assert!((left + width - 1.0).abs() < 1e-9);
        assert!(s1.error.is_none() && s1.warnings.is_none());
    }

    #[test]
    fn docs_example_expansion() {
        let report = docs();
        let payload = report.payload();
        let t = worker_table(payload, &payload.stages[0], report.task_id());
        assert_eq!(
            t.columns,
            [
                "input0: http external",
                "Processor output",
                "Shuffle output"
            ]
        );
        assert_eq!(t.rows.len(), 1);
        assert_eq!(
            t.rows[0].1,
            "query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e-worker0_0"
        );
        assert_eq!(t.rows[0].2[0].rows, "465,346");
        assert_eq!(t.rows[0].2[0].detail, "(1 / 1)");
        let t1 = worker_table(payload, &payload.stages[1], report.task_id());
        assert_eq!(t1.columns, ["input0: Stage0", "Merged", "Pushed"]);

        let p1 = partition_tables(payload, &payload.stages[1]);
        assert_eq!(p1.len(), 1);
        assert_eq!(p1[0].title, "Input partitions: Input Stage0");
        assert_eq!(
            p1[0].rows[0],
            (
                "Partition0".to_owned(),
                "465,346".to_owned(),
                "39.9 MiB · 73 frames".to_owned()
            )
        );
        let p0 = partition_tables(payload, &payload.stages[0]);
        assert_eq!(p0[0].title, "Output partitions (shuffle)");
    }

    #[test]
    fn every_fixture_report_renders() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reports");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Status-only fixtures are not reports.
            let Ok(report) = TaskReport::from_json(&text) else {
                continue;
            };
            let payload = report.payload();
            for stage in &payload.stages {
                let row = stage_row(payload, stage);
                assert_eq!(row.number, stage.stage_number, "{path:?}");
                assert!(
                    row.counters.len() >= stage.definition.input.len(),
                    "{path:?}"
                );
                assert!((0.0..=1.0).contains(&row.progress), "{path:?}");
                if let Some((left, width)) = row.timeline {
                    assert!(left >= 0.0 && left + width <= 1.0 + 1e-9, "{path:?}");
                }
                let workers = worker_table(payload, stage, report.task_id());
                assert!(
                    workers
                        .rows
                        .iter()
                        .all(|(_, _, cells)| cells.len() == workers.columns.len()),
                    "{path:?}"
                );
                partition_tables(payload, stage);
            }
            seen += 1;
        }
        assert!(seen >= 4, "expected the fixture reports, saw {seen}");
    }

    #[test]
    fn failed_report_marks_its_stage() {
        let text = include_str!("../../../tests/fixtures/reports/failed-insert-time-null.json");
        let report = TaskReport::from_json(text).unwrap();
        let payload = report.payload();
        let failed: Vec<u32> = payload
            .stages
            .iter()
            .filter(|s| stage_row(payload, s).error.is_some())
            .map(|s| s.stage_number)
            .collect();
        assert_eq!(failed, [1]);
        let row = stage_row(payload, &payload.stages[1]);
        assert!(row.error.unwrap().starts_with("InsertTimeNull: "));
    }

    #[test]
    fn span_of_the_query() {
        let report = docs();
        let (start, end) = timeline_span(&report.payload().stages).unwrap();
        assert_eq!(end - start, (31_602 - 11_663) + 5891);
    }
}
