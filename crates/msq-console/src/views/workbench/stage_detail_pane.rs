//! A stage row's expansion (spec §3 "Expansion"): the per-worker table (`Worker<i>` × input,
//! output and shuffle channels, or Merged/Pushed for a segment generator) and the input and
//! output partition tables.

use crate::execution::ReportRef;
use crate::stage_view::{partition_tables, worker_table, PartitionTable, WorkerCell, WorkerTable};
use leptos::prelude::*;

/// The expansion of stage `number`.
#[component]
pub fn StageDetailPane(
    /// The report shown.
    report: Signal<ReportRef>,
    /// The stage.
    number: u32,
) -> impl IntoView {
    let tables = Memo::new(move |_| {
        report.with(|r| {
            let payload = r.report.payload();
            payload
                .stages
                .iter()
                .find(|s| s.stage_number == number)
                .map(|s| {
                    (
                        worker_table(payload, s, r.task_id()),
                        partition_tables(payload, s),
                    )
                })
        })
    });
    move || {
        tables.get().map(|(workers, partitions)| {
            view! {
                <div class="stage-detail" data-stage=number>
                    {worker_table_view(workers)}
                    <div class="partition-tables">{partitions.into_iter().map(partition_table_view).collect_view()}</div>
                </div>
            }
        })
    }
}

fn cell_view(c: WorkerCell) -> impl IntoView {
    view! {
        <td class="num">
            <span class="counter-rows">{c.rows}</span>
            {(!c.detail.is_empty()).then(|| view! { <span class="counter-detail">{format!(" {}", c.detail)}</span> })}
            {(!c.size.is_empty()).then(|| view! { <div class="counter-size">{c.size}</div> })}
        </td>
    }
}

fn worker_table_view(t: WorkerTable) -> impl IntoView {
    let empty = t.rows.is_empty();
    view! {
        <div class="detail-block">
            <h4 class="detail-title">"Per worker"</h4>
            {if empty {
                view! { <p class="empty-note">"No worker counters yet."</p> }.into_any()
            } else {
                view! {
                    <table class="data-table detail-table worker-table">
                        <thead>
                            <tr>
                                <th>"Worker"</th>
                                {t.columns.into_iter().map(|c| view! { <th class="num">{c}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {t
                                .rows
                                .into_iter()
                                .map(|(worker, task, cells)| {
                                    view! {
                                        <tr class="stage-worker-row" data-worker=worker>
                                            <td title=task>{format!("Worker{worker}")}</td>
                                            {cells.into_iter().map(cell_view).collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </div>
    }
}

fn partition_table_view(t: PartitionTable) -> impl IntoView {
    view! {
        <div class="detail-block">
            <h4 class="detail-title">{t.title}</h4>
            <table class="data-table detail-table partition-table">
                <thead>
                    <tr>
                        <th>"Partition"</th>
                        <th class="num">"Rows"</th>
                        <th>"Size"</th>
                    </tr>
                </thead>
                <tbody>
                    {t
                        .rows
                        .into_iter()
                        .map(|(p, rows, size)| view! { <tr><td>{p}</td><td class="num">{rows}</td><td>{size}</td></tr> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
