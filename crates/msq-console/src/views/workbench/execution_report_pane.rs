//! Everything shown for one task report, wired in Druid's order: summary, ingest success,
//! error, warnings, results, stage graph and stages table, then the raw JSON. The panes compute nothing; each
//! reads what it needs from the report through its own memos.

use crate::execution::ReportRef;
use crate::views::workbench::execution_error_pane::{ErrorView, ExecutionErrorPane};
use crate::views::workbench::execution_stages_pane::ExecutionStagesPane;
use crate::views::workbench::execution_summary_panel::ExecutionSummaryPanel;
use crate::views::workbench::execution_warnings_pane::ExecutionWarningsPane;
use crate::views::workbench::ingest_success_pane::IngestSuccessPane;
use crate::views::workbench::report_json_pane::ReportJsonPane;
use crate::views::workbench::result_table_pane::ResultTablePane;
use crate::views::workbench::stage_graph::StageGraph;
use leptos::prelude::*;

/// All panes of one report.
#[component]
pub fn ExecutionReportPane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let error = Memo::new(move |_| {
        report.with(|r| {
            r.report
                .status()
                .error_report
                .as_ref()
                .map(ErrorView::from_report)
        })
    });
    let has_results = Memo::new(move |_| report.with(|r| r.report.payload().results.is_some()));
    let stage_count = Memo::new(move |_| report.with(|r| r.report.payload().stages.len()));
    view! {
        <div class="execution-report" id="execution-report">
            <ExecutionSummaryPanel report />
            <IngestSuccessPane report />
            {move || error.get().map(|e| view! { <ExecutionErrorPane error=e /> })}
            <ExecutionWarningsPane report />
            <Show when=move || has_results.get()>
                <ResultTablePane report />
            </Show>
            <section class="report-section" id="stages">
                <div class="section-header">
                    <h3 class="section-title">"Stages"</h3>
                    <span class="section-meta">
                        {move || {
                            let n = stage_count.get();
                            format!("{n} {}", if n == 1 { "stage" } else { "stages" })
                        }}
                    </span>
                </div>
                <StageGraph report />
                <ExecutionStagesPane report />
            </section>
            <ReportJsonPane report />
        </div>
    }
}
