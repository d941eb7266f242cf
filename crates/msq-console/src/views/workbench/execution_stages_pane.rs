//! The stages table (≙ Druid's `ExecutionStagesPane`, spec §3): one row per stage with its
//! counters, rate, phase, timing, workers, partitions, cluster-by, progress and a timeline
//! bar; a click on a row opens its per-worker and per-partition tables.
//!
//! Rows are keyed by stage number and each reads its own memo of [`StageRowView`], so a new
//! poll re-renders only the rows whose numbers changed, and an opened row stays open.

use crate::components::progress_bar::ProgressBar;
use crate::execution::ReportRef;
use crate::format;
use crate::stage_view::{stage_row, CounterLine, StageRowView};
use crate::views::workbench::stage_detail_pane::StageDetailPane;
use leptos::prelude::*;

/// Number of columns, for the expansion row's `colspan`.
const COLUMNS: usize = 10;

/// The stages table of a report.
#[component]
pub fn ExecutionStagesPane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let numbers = Memo::new(move |_| {
        report.with(|r| {
            r.report
                .payload()
                .stages
                .iter()
                .map(|s| s.stage_number)
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="table-scroll stages-table-scroll">
            <table class="data-table stages-table" id="stages-table">
                <thead>
                    <tr>
                        <th>"Stage"</th>
                        <th>"Counter"</th>
                        <th class="num">"Rows processed"</th>
                        <th>"Size"</th>
                        <th class="num">"Processing rate"</th>
                        <th>"Phase"</th>
                        <th class="timing-col" title="Start, duration, and the stage's span on the query's timeline">"Timing"</th>
                        <th class="num">"Num workers"</th>
                        <th class="num">"Output partitions"</th>
                        <th>"Cluster by"</th>
                    </tr>
                </thead>
                <For each=move || numbers.get() key=|n| *n let:number>
                    <StageRow report number />
                </For>
            </table>
            <Show when=move || numbers.with(Vec::is_empty)>
                <p class="empty-note">"No stage info was reported."</p>
            </Show>
        </div>
    }
}

/// One stage's row and, when open, its expansion (a `<tbody>` of two rows).
#[component]
fn StageRow(report: Signal<ReportRef>, number: u32) -> impl IntoView {
    let row = Memo::new(move |_| {
        report.with(|r| {
            let payload = r.report.payload();
            payload
                .stages
                .iter()
                .find(|s| s.stage_number == number)
                .map(|s| stage_row(payload, s))
        })
    });
    let open = RwSignal::new(false);
    let phase_class = move || {
        row.with(|r| {
            let phase = r
                .as_ref()
                .and_then(|r| r.phase)
                .map_or("not-started", |p| p.as_str());
            format!(
                "phase phase-{}",
                phase.to_ascii_lowercase().replace('_', "-")
            )
        })
    };
    view! {
        <tbody class="stage-group" class:open=move || open.get()>
            <tr
                class="stage-row"
                data-stage=number
                class:stage-failed=move || row.with(|r| r.as_ref().is_some_and(|r| r.error.is_some()))
                title="Click to show per-worker and per-partition counters"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || row.get().map(|r| stage_cells(r, phase_class(), open.get()))}
            </tr>
            <Show when=move || open.get()>
                <tr class="stage-detail-row" data-stage=number>
                    <td colspan=COLUMNS>
                        <StageDetailPane report number />
                    </td>
                </tr>
            </Show>
        </tbody>
    }
}

fn counter_cells(lines: &[CounterLine]) -> (AnyView, AnyView, AnyView) {
    let labels = lines
        .iter()
        .map(|c| {
            view! {
                <div class="counter-line">
                    {c.label.clone()}
                    {c.broadcast.then(|| view! { <span class="tag tag-small" title="Broadcast to every worker">"broadcast"</span> })}
                </div>
            }
        })
        .collect_view()
        .into_any();
    let rows = lines
        .iter()
        .map(|c| {
            view! {
                <div class="counter-line num">
                    <span class="counter-rows">{c.rows.clone()}</span>
                    {(!c.detail.is_empty()).then(|| view! { <span class="counter-detail">{format!(" {}", c.detail)}</span> })}
                </div>
            }
        })
        .collect_view()
        .into_any();
    let sizes = lines
        .iter()
        .map(|c| {
            let size = if c.size.is_empty() {
                "–".to_owned()
            } else {
                c.size.clone()
            };
            view! { <div class="counter-line counter-size">{size}</div> }
        })
        .collect_view()
        .into_any();
    (labels, rows, sizes)
}

fn stage_cells(r: StageRowView, phase_class: String, open: bool) -> impl IntoView {
    let (labels, rows, sizes) = counter_cells(&r.counters);
    let phase_label = r
        .phase
        .map_or_else(|| "Not started".to_owned(), |p| p.label());
    let progress_class = if r.phase.is_some_and(|p| p.is_running()) {
        "stage-progress progress-running"
    } else {
        "stage-progress"
    };
    let timeline = r.timeline.map(|(left, width)| {
        view! {
            <div class="timeline-track" title="The stage's span within the whole query">
                <div
                    class="timeline-bar"
                    style:left=format!("{:.2}%", left * 100.0)
                    style:width=format!("max(2px, {:.2}%)", width * 100.0)
                ></div>
            </div>
        }
    });
    let warnings = r.warnings.map(|(n, breakdown)| {
        view! { <span class="tag tag-warning" title=breakdown>{format!("⚠ {}", format::thousands(n.into()))}</span> }
    });
    view! {
        <td class="stage-cell">
            <div class="stage-name">
                <span class="expander">{if open { "▾" } else { "▸" }}</span>
                {format!("Stage{}", r.number)}
                {r.error.clone().map(|e| view! { <span class="tag tag-danger" title=e>"error"</span> })}
                {warnings}
            </div>
            <div class="stage-processor">
                {r.processor.clone()}
                {r.sort.then_some(" (with sort)")}
            </div>
        </td>
        <td>{labels}</td>
        <td class="num">{rows}</td>
        <td>{sizes}</td>
        <td class="num" title=r.byte_rate.clone().unwrap_or_default()>
            {r.rate.clone().map(|rate| view! { {rate}<span class="unit">" rows/s"</span> })}
        </td>
        <td>
            <span class=phase_class>{phase_label}</span>
            <ProgressBar fraction=r.progress class=progress_class label=format::percent(r.progress) />
        </td>
        <td class="timing">
            <div>{r.start.clone().unwrap_or_default()}</div>
            <div class="timing-duration">{r.duration.clone().unwrap_or_default()}</div>
            {timeline}
        </td>
        <td class="num">{r.workers.map(|w| w.to_string())}</td>
        <td class="num">{r.partitions.map(|p| p.to_string())}</td>
        <td class="cluster-by">{r.cluster_by.iter().map(|l| view! { <div>{l.clone()}</div> }).collect_view()}</td>
    }
}
