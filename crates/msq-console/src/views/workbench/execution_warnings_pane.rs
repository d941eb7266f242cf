//! The warnings of a report (≙ Druid's `ExecutionWarningsPane`): one callout line per
//! `status.warnings` entry, worded like an error (`"<errorCode>: <errorMessage>"`) with where
//! it happened.

use crate::execution::ReportRef;
use leptos::prelude::*;

/// `(summary, location)` of each warning.
fn warning_lines(r: &ReportRef) -> Vec<(String, String)> {
    r.report
        .status()
        .warnings
        .iter()
        .map(|w| {
            let mut place = Vec::new();
            if let Some(stage) = w.stage_number {
                place.push(format!("Stage{stage}"));
            }
            if let Some(task) = &w.task_id {
                place.push(task.clone());
            }
            if let Some(host) = &w.host {
                place.push(host.clone());
            }
            (w.summary(), place.join(" · "))
        })
        .collect()
}

/// The warnings list; renders nothing when the report has none.
#[component]
pub fn ExecutionWarningsPane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let lines = Memo::new(move |_| report.with(warning_lines));
    move || {
        lines.with(|lines| {
            (!lines.is_empty()).then(|| {
                let items = lines
                    .iter()
                    .map(|(summary, place)| {
                        view! {
                            <li class="warning-item">
                                <span class="warning-summary">{summary.clone()}</span>
                                {(!place.is_empty()).then(|| view! { <span class="warning-place">{place.clone()}</span> })}
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <section class="callout callout-warning" id="execution-warnings">
                        <h4 class="callout-title">{format!("Warnings ({})", lines.len())}</h4>
                        <ul class="warning-list">{items}</ul>
                    </section>
                }
            })
        })
    }
}
