//! The SQL editor (≙ Druid's `FlexibleQueryInput`): line numbers, Druid SQL highlighting,
//! Ctrl/Cmd+Enter to run.
//!
//! Overlay technique: a `<textarea>` with transparent text (its caret and selection stay
//! visible) lies exactly over a `<pre>` holding the highlighted tokens; both share font,
//! padding and wrapping, and the `<pre>` and the line-number gutter follow the textarea's
//! scroll position. Tokens are Leptos text nodes inside `<span>`s, so SQL text is never
//! parsed as markup.

use crate::sql_tokens::{tokenize, TokenKind};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;

/// The editor for one tab's SQL.
#[component]
pub fn FlexibleQueryInput(
    /// The SQL text (read and written).
    sql: RwSignal<String>,
    /// Called on Ctrl/Cmd+Enter.
    on_run: Callback<()>,
) -> impl IntoView {
    let textarea = NodeRef::<html::Textarea>::new();
    let highlight = NodeRef::<html::Pre>::new();
    let gutter = NodeRef::<html::Div>::new();

    let line_count = Memo::new(move |_| sql.with(|s| s.split('\n').count()));
    let highlighted = move || {
        sql.with(|s| {
            let mut spans = tokenize(s)
                .into_iter()
                .map(|t| {
                    let text = t.text.to_owned();
                    if t.kind == TokenKind::Whitespace {
                        view! { <span>{text}</span> }.into_any()
                    } else {
                        view! { <span class=t.kind.class()>{text}</span> }.into_any()
                    }
                })
                .collect::<Vec<_>>();
            // A trailing newline needs a character after it, or the <pre> is one line short.
            if s.is_empty() || s.ends_with('\n') {
                spans.push(view! { <span>" "</span> }.into_any());
            }
            spans
        })
    };

    let sync_scroll = move || {
        if let Some(ta) = textarea.get_untracked() {
            if let Some(pre) = highlight.get_untracked() {
                pre.set_scroll_top(ta.scroll_top());
                pre.set_scroll_left(ta.scroll_left());
            }
            if let Some(g) = gutter.get_untracked() {
                g.set_scroll_top(ta.scroll_top());
            }
        }
    };

    let on_keydown = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            on_run.run(());
        }
    };

    view! {
        <div class="flexible-query-input">
            <div class="fqi-gutter" node_ref=gutter aria-hidden="true">
                {move || (1..=line_count.get()).map(|n| view! { <div class="fqi-line-number">{n}</div> }).collect_view()}
                <div class="fqi-gutter-pad"></div>
            </div>
            <div class="fqi-editor">
                <pre class="fqi-highlight" node_ref=highlight aria-hidden="true">{highlighted}</pre>
                <textarea
                    id="sql-editor"
                    class="fqi-textarea"
                    node_ref=textarea
                    spellcheck="false"
                    autocomplete="off"
                    autocapitalize="off"
                    wrap="off"
                    placeholder="Enter a Druid SQL query"
                    aria-label="SQL query"
                    prop:value=move || sql.get()
                    on:input=move |ev| {
                        sql.set(event_target_value(&ev));
                        sync_scroll();
                    }
                    on:scroll=move |_| sync_scroll()
                    on:keydown=on_keydown
                ></textarea>
            </div>
        </div>
    }
}
