//! "Load report" (≙ Druid's "Open query detail archive", `execution-submit-dialog`): open a
//! task report JSON from a file or pasted text and show it in the active tab.
//!
//! A file is read into the text box first, so what gets parsed is always visible. Parse
//! errors stay in the dialog (`#load-report-error`); nothing reaches the tab until
//! `TaskReport::from_json` accepts the text.

use crate::browser::read_file_text;
use crate::execution::{LoadedReport, ReportRef};
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_model::TaskReport;
use std::sync::Arc;
use wasm_bindgen::JsCast;

/// The modal dialog; rendered only while `open` is true.
#[component]
pub fn LoadReportDialog(
    /// Whether the dialog is shown (the dialog closes itself on success or Cancel).
    open: RwSignal<bool>,
    /// Called with the parsed report.
    on_load: Callback<ReportRef>,
) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let file_name = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let reading = RwSignal::new(false);

    let close = move || {
        open.set(false);
        error.set(None);
    };
    let load = move || {
        let json = text.get_untracked();
        if json.trim().is_empty() {
            error.set(Some(
                "Choose a report file or paste a task report's JSON first.".to_owned(),
            ));
            return;
        }
        match TaskReport::from_json(&json) {
            Ok(report) => {
                let source = file_name
                    .get_untracked()
                    .map_or_else(|| "pasted JSON".to_owned(), |f| format!("file {f}"));
                on_load.run(ReportRef(Arc::new(LoadedReport {
                    report,
                    raw: json,
                    source,
                })));
                text.set(String::new());
                file_name.set(None);
                close();
            }
            Err(e) => error.set(Some(format!("Not a valid task report: {e}"))),
        }
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        reading.set(true);
        error.set(None);
        spawn_local(async move {
            match read_file_text(file).await {
                Ok(contents) => {
                    text.set(contents);
                    file_name.set(Some(name));
                }
                Err(e) => error.set(Some(format!("Cannot read {name}: {e}"))),
            }
            reading.set(false);
        });
    };

    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| close()>
                <div
                    id="load-report-dialog"
                    class="dialog"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby="load-report-title"
                    on:click=|ev| ev.stop_propagation()
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            close();
                        }
                    }
                >
                    <div class="dialog-header">
                        <h2 id="load-report-title">"Load report"</h2>
                        <button class="dialog-close" title="Close" on:click=move |_| close()>"×"</button>
                    </div>
                    <div class="dialog-body">
                        <p class="dialog-text">
                            "Open an MSQ task report (the JSON of GET /druid/indexer/v1/task/<id>/reports) to inspect it in the active tab."
                        </p>
                        <label class="field">
                            <span class="field-label">"Report file"</span>
                            <input id="load-report-file" type="file" accept=".json,application/json" on:change=on_file />
                        </label>
                        <label class="field">
                            <span class="field-label">
                                {move || match file_name.get() {
                                    Some(f) => format!("Report JSON (from {f})"),
                                    None => "…or paste the report JSON".to_owned(),
                                }}
                            </span>
                            <textarea
                                id="load-report-text"
                                class="input load-report-text"
                                spellcheck="false"
                                placeholder="{\"multiStageQuery\": {\"taskId\": …, \"payload\": {…}}}"
                                prop:value=move || text.get()
                                on:input=move |ev| {
                                    text.set(event_target_value(&ev));
                                    file_name.set(None);
                                    error.set(None);
                                }
                            ></textarea>
                        </label>
                        {move || error.get().map(|e| view! { <div id="load-report-error" class="callout callout-danger" role="alert">{e}</div> })}
                    </div>
                    <div class="dialog-footer">
                        <button class="button" on:click=move |_| close()>"Cancel"</button>
                        <button
                            id="load-report-submit"
                            class="button button-primary"
                            disabled=move || reading.get()
                            on:click=move |_| load()
                        >
                            {move || if reading.get() { "Reading…" } else { "Load" }}
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
