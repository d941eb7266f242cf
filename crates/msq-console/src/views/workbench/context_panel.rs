//! The query context editor (≙ the MSQ items of Druid's run-panel menu and `MaxTasksButton`):
//! maxNumTasks, finalizeAggregations, rowsPerSegment, maxParseExceptions, sqlTimeZone, plus
//! the Druid router URL Run submits to. Shows the context JSON that will be sent.

use crate::query_context::{
    max_parse_exceptions_label, QueryContext, MAX_PARSE_EXCEPTIONS_CHOICES,
};
use leptos::prelude::*;

/// Context settings of the active tab and the router URL.
#[component]
pub fn ContextPanel(
    /// The active tab's context.
    context: RwSignal<QueryContext>,
    /// The Druid router URL (empty = no engine).
    router_url: RwSignal<String>,
) -> impl IntoView {
    let context_json = move || {
        let map = context.with(QueryContext::to_druid);
        serde_json::to_string_pretty(&map).unwrap_or_default()
    };
    // Number fields commit on change (blur / Enter) so that typing "10" does not restart the
    // worker pool for "1" first; text that is not a number is refused and the field reverts.
    let max_tasks_text = RwSignal::new(context.get_untracked().max_num_tasks.to_string());
    let rows_text = RwSignal::new(context.get_untracked().rows_per_segment.to_string());
    let commit_max_tasks = move |text: String| match text.trim().parse::<u32>() {
        Ok(n) => context.update(|c| c.max_num_tasks = n),
        Err(_) => max_tasks_text.set(context.get_untracked().max_num_tasks.to_string()),
    };
    let commit_rows = move |text: String| match text.trim().replace(',', "").parse::<u64>() {
        Ok(n) if n > 0 => context.update(|c| c.rows_per_segment = n),
        _ => rows_text.set(context.get_untracked().rows_per_segment.to_string()),
    };
    let max_tasks_invalid = move || context.with(|c| c.max_num_tasks < 2);

    view! {
        <section class="side-panel context-panel" id="context-panel">
            <h3 class="side-panel-title">"Context"</h3>
            <label class="field">
                <span class="field-label">"Druid router URL"</span>
                <input
                    id="router-url"
                    type="url"
                    class="input"
                    placeholder="http://localhost:8888"
                    spellcheck="false"
                    prop:value=move || router_url.get()
                    on:change=move |ev| router_url.set(event_target_value(&ev).trim().to_owned())
                />
                <span class="field-help">"Run submits to POST <router>/druid/v2/sql/task. Empty: Acorn's engine in this browser."</span>
            </label>
            <label class="field">
                <span class="field-label">"maxNumTasks"</span>
                <input
                    id="ctx-max-num-tasks"
                    type="number"
                    class="input"
                    class:input-invalid=max_tasks_invalid
                    min="2"
                    step="1"
                    prop:value=move || max_tasks_text.get()
                    on:input=move |ev| max_tasks_text.set(event_target_value(&ev))
                    on:change=move |ev| commit_max_tasks(event_target_value(&ev))
                />
                <Show when=max_tasks_invalid>
                    <span class="field-error">"maxNumTasks must be at least 2 (one controller and one worker)"</span>
                </Show>
            </label>
            <label class="field field-inline">
                <input
                    id="ctx-finalize-aggregations"
                    type="checkbox"
                    prop:checked=move || context.with(|c| c.finalize_aggregations)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        context.update(|c| c.finalize_aggregations = on);
                    }
                />
                <span class="field-label">"finalizeAggregations"</span>
            </label>
            <label class="field">
                <span class="field-label">"rowsPerSegment"</span>
                <input
                    id="ctx-rows-per-segment"
                    type="number"
                    class="input"
                    min="1"
                    prop:value=move || rows_text.get()
                    on:input=move |ev| rows_text.set(event_target_value(&ev))
                    on:change=move |ev| commit_rows(event_target_value(&ev))
                />
            </label>
            <label class="field">
                <span class="field-label">"maxParseExceptions"</span>
                <select
                    id="ctx-max-parse-exceptions"
                    class="input"
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<i64>() {
                            context.update(|c| c.max_parse_exceptions = v);
                        }
                    }
                >
                    {MAX_PARSE_EXCEPTIONS_CHOICES
                        .iter()
                        .map(|&v| {
                            view! {
                                <option
                                    value=v.to_string()
                                    prop:selected=move || context.with(|c| c.max_parse_exceptions == v)
                                >
                                    {max_parse_exceptions_label(v)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span class="field-label">"sqlTimeZone"</span>
                <input
                    id="ctx-sql-time-zone"
                    type="text"
                    class="input"
                    placeholder="UTC (default)"
                    spellcheck="false"
                    prop:value=move || context.with(|c| c.sql_time_zone.clone())
                    on:change=move |ev| {
                        let tz = event_target_value(&ev).trim().to_owned();
                        context.update(|c| c.sql_time_zone = tz);
                    }
                />
            </label>
            <div class="field">
                <span class="field-label">"Context JSON sent with the query"</span>
                <pre id="context-json" class="context-json">{context_json}</pre>
            </div>
        </section>
    }
}
