//! The error callout (≙ Druid's `ExecutionErrorPane`): `"<errorCode>: <errorMessage>"`, where
//! it happened (task, host, stage), the fault's own fields, and the stack trace on demand.
//!
//! It shows both a failed report's `errorReport` and a request that failed before any report
//! existed (an HTTP 400 planning error, a network error), through one [`ErrorView`].

use crate::api::ApiError;
use leptos::prelude::*;
use msq_model::ErrorReport;
use serde_json::Value;

/// What the error pane shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    /// Heading, e.g. `"Query failed"` or `"Submitting the query failed"`.
    pub title: String,
    /// The one-line message.
    pub summary: String,
    /// Label/value lines (task id, host, stage, fault fields, HTTP status…).
    pub details: Vec<(String, String)>,
    /// A Java stack trace, shown folded.
    pub stack_trace: Option<String>,
}

impl ErrorView {
    /// The view of a report's `errorReport`.
    pub fn from_report(e: &ErrorReport) -> ErrorView {
        let mut details = Vec::new();
        if let Some(task) = &e.task_id {
            details.push(("Task".to_owned(), task.clone()));
        }
        if let Some(host) = &e.host {
            details.push(("Host".to_owned(), host.clone()));
        }
        if let Some(stage) = e.stage_number {
            details.push(("Stage".to_owned(), format!("Stage{stage}")));
        }
        for (k, v) in &e.error.fields {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            details.push((k.clone(), text));
        }
        ErrorView {
            title: "Query failed".to_owned(),
            summary: e.summary(),
            details,
            stack_trace: e
                .exception_stack_trace
                .clone()
                .filter(|t| !t.trim().is_empty()),
        }
    }

    /// The view of a failed request.
    pub fn from_api(title: &str, e: &ApiError) -> ErrorView {
        ErrorView {
            title: title.to_owned(),
            summary: e.summary(),
            details: e.details(),
            stack_trace: None,
        }
    }
}

/// The error callout.
#[component]
pub fn ExecutionErrorPane(
    /// The error to show.
    #[prop(into)]
    error: Signal<ErrorView>,
) -> impl IntoView {
    view! {
        <div class="callout callout-danger execution-error" id="execution-error" role="alert">
            <h4 class="callout-title">{move || error.with(|e| e.title.clone())}</h4>
            <p class="error-summary" id="execution-error-summary">{move || error.with(|e| e.summary.clone())}</p>
            {move || {
                error.with(|e| {
                    (!e.details.is_empty())
                        .then(|| {
                            let rows = e
                                .details
                                .iter()
                                .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> })
                                .collect_view();
                            view! { <dl class="error-details">{rows}</dl> }
                        })
                })
            }}
            {move || {
                error.with(|e| {
                    e.stack_trace
                        .clone()
                        .map(|trace| {
                            view! {
                                <details class="stack-trace">
                                    <summary>"Stack trace"</summary>
                                    <pre>{trace}</pre>
                                </details>
                            }
                        })
                })
            }}
        </div>
    }
}
