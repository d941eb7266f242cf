//! The bar between editor and output (≙ Druid's `RunPanel` + `ExecutionTimerPanel`): Run
//! (Ctrl/Cmd+Enter), Cancel while a run is live, Explain (≙ "Explain SQL query" of Druid's
//! run "More" menu) and "Load report".

use leptos::prelude::*;

/// Run / Cancel / Explain / Load report.
#[component]
pub fn RunPanel(
    /// Whether a run is in flight (Run disabled, Cancel shown).
    #[prop(into)]
    running: Signal<bool>,
    /// Whether a cancel was requested and not yet confirmed by the report.
    #[prop(into)]
    canceling: Signal<bool>,
    /// Where Run sends the query, for the hint next to the buttons (empty = no engine).
    #[prop(into)]
    router_url: Signal<String>,
    /// Run pressed.
    on_run: Callback<()>,
    /// Cancel pressed.
    on_cancel: Callback<()>,
    /// Whether an EXPLAIN is in flight (Explain disabled).
    #[prop(into)]
    explaining: Signal<bool>,
    /// Explain pressed.
    on_explain: Callback<()>,
    /// "Load report" pressed.
    on_load_report: Callback<()>,
) -> impl IntoView {
    let engine_hint = move || {
        let url = router_url.get();
        let url = url.trim();
        if url.is_empty() {
            "Engine: in this browser (Web Worker)".to_owned()
        } else {
            format!("Engine: Druid router {url}")
        }
    };
    // OPFS or memory (design README "Data"): memory must be said, it is lost on a reload.
    let storage = LocalResource::new(crate::runner::in_browser_storage);
    let storage_hint = move || {
        if !router_url.with(|u| u.trim().is_empty()) {
            return None;
        }
        let (kind, note) = storage.get().flatten()?;
        Some(if kind == "opfs" {
            view! { <span class="storage-hint" id="engine-storage" data-storage="opfs">"· segments in OPFS"</span> }.into_any()
        } else {
            let title = note.unwrap_or_default();
            view! {
                <span class="tag tag-warning storage-hint" id="engine-storage" data-storage=kind title=title>
                    "segments in memory: lost on reload"
                </span>
            }
            .into_any()
        })
    };
    view! {
        <div class="run-panel">
            <button
                id="run-button"
                class="button button-primary"
                title="Run (Ctrl/Cmd + Enter)"
                disabled=move || running.get()
                on:click=move |_| on_run.run(())
            >
                <span class="button-icon">"▶"</span>
                "Run"
            </button>
            <Show when=move || running.get()>
                <button
                    id="cancel-button"
                    class="button button-danger"
                    disabled=move || canceling.get()
                    on:click=move |_| on_cancel.run(())
                >
                    {move || if canceling.get() { "Canceling…" } else { "Cancel" }}
                </button>
            </Show>
            <button
                id="explain-button"
                class="button"
                title="Show the query's plan (EXPLAIN PLAN FOR) without running it"
                disabled=move || running.get() || explaining.get()
                on:click=move |_| on_explain.run(())
            >
                {move || if explaining.get() { "Explaining…" } else { "Explain" }}
            </button>
            <span class="run-panel-hint">"Ctrl/Cmd + Enter"</span>
            <span class="run-panel-spacer"></span>
            <span class="run-panel-engine" class:engine-local=move || router_url.with(|u| u.trim().is_empty())>
                {engine_hint}
            </span>
            {storage_hint}
            <button id="load-report-button" class="button" on:click=move |_| on_load_report.run(())>
                "Load report"
            </button>
        </div>
    }
}
