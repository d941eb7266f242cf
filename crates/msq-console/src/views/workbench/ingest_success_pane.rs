//! The ingest-success pane (≙ Druid's `IngestSuccessPane`, spec `druid-console-query-view.md`
//! §1): after a successful INSERT/REPLACE, "N rows inserted into <ds>", how long it took, and a
//! button that opens a new tab querying the datasource.

use crate::execution::ReportRef;
use crate::format;
use crate::workbench_state::OpenTab;
use leptos::prelude::*;
use msq_model::{IngestSummary, TaskState};

/// The SQL the "Query it" button puts in a new tab.
pub fn query_datasource_sql(data_source: &str) -> String {
    format!(
        "SELECT * FROM \"{}\" LIMIT 100",
        data_source.replace('"', "\"\"")
    )
}

/// Shown for a successful ingest report; renders nothing for anything else.
#[component]
pub fn IngestSuccessPane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let summary = Memo::new(move |_| {
        report.with(|r| {
            let status = r.report.status();
            if status.status != TaskState::Success {
                return None;
            }
            r.report
                .stages()
                .ingest_summary()
                .map(|s: IngestSummary| (s, status.duration_ms))
        })
    });
    let open_tab = use_context::<OpenTab>();
    move || {
        summary.get().map(|(s, duration_ms)| {
            let data_source = s.data_source.clone();
            let query = move |_| {
                if let Some(OpenTab(open)) = open_tab {
                    open.run((
                        format!("{data_source} data"),
                        query_datasource_sql(&data_source),
                    ));
                }
            };
            view! {
                <section class="report-section ingest-success" id="ingest-success">
                    <span class="ingest-success-icon">"✓"</span>
                    <span class="ingest-success-text">
                        {format!("{} {} inserted into ", format::thousands(i128::from(s.rows)), if s.rows == 1 { "row" } else { "rows" })}
                        <code class="ingest-success-datasource">{s.data_source.clone()}</code>
                        {format!(" in {}.", format::millis(u64::try_from(duration_ms).unwrap_or(0)))}
                    </span>
                    <button class="button" id="ingest-query-button" on:click=query>
                        "Query it"
                    </button>
                </section>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_sql_quotes_the_name() {
        assert_eq!(
            query_datasource_sql("wikipedia"),
            "SELECT * FROM \"wikipedia\" LIMIT 100"
        );
        assert_eq!(
            query_datasource_sql("a\"b"),
            "SELECT * FROM \"a\"\"b\" LIMIT 100"
        );
    }
}
