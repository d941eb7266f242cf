//! The raw report: a collapsible JSON tree of exactly the text that was loaded or polled, and
//! a Download button that saves it as `report-<taskId>.json`.

use crate::browser::download_text;
use crate::components::json_viewer::{JsonViewer, OpenState};
use crate::execution::ReportRef;
use leptos::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The "Raw report JSON" section.
#[component]
pub fn ReportJsonPane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    // What the user unfolded survives each new poll of a live report.
    let open_state: OpenState = StoredValue::new(HashMap::new());
    let download_error = RwSignal::new(None::<String>);
    // Parsed only while the tree is open: a large report costs nothing until asked for.
    let tree = Memo::new(move |_| {
        if !open.get() {
            return None;
        }
        report.with(|r| {
            serde_json::from_str::<Value>(&r.raw)
                .ok()
                .map(|v| TreeRef(Arc::new(v)))
        })
    });
    let download = move |_| {
        let (name, raw) =
            report.with_untracked(|r| (format!("report-{}.json", r.task_id()), r.raw.clone()));
        download_error.set(download_text(&name, &raw, "application/json").err());
    };
    view! {
        <section class="report-section report-json" id="report-json">
            <div class="section-header">
                <button
                    class="section-toggle"
                    id="report-json-toggle"
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    <span class="toggle-icon">{move || if open.get() { "▾" } else { "▸" }}</span>
                    "Raw report JSON"
                </button>
                <span class="section-meta">
                    {move || report.with(|r| crate::format::bytes(r.raw.len() as u64))}
                </span>
                <button class="button button-small" id="download-report" on:click=download>
                    "Download"
                </button>
            </div>
            {move || download_error.get().map(|e| view! { <div class="callout callout-danger">{e}</div> })}
            {move || {
                tree.get()
                    .map(|t| view! { <div class="json-viewer-frame"><JsonViewer value=t.0 open_depth=3 open_state /></div> })
            }}
        </section>
    }
}

/// A parsed tree compared by identity, so the memo above can hold it.
#[derive(Debug, Clone)]
struct TreeRef(Arc<Value>);

impl PartialEq for TreeRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
