//! SELECT results written into the report (≙ Druid's `ResultTablePane`): a header per column
//! with its name and SQL type, one page of rows at a time, and a note when Druid truncated the
//! rows. Every value is rendered as text: strings as they are, `null` marked, arrays and
//! objects as JSON, and `TIMESTAMP` millis as ISO times (Druid's `inflateDatesFromSqlTypes`).
//!
//! Clicking a cell selects it and shows a "Copy" action that puts the cell's text on the
//! clipboard (≙ the copy item of Druid's cell menu); "Download CSV" / "Download JSON" save
//! every row of the report, not only the page (≙ the download menu of Druid's execution
//! summary panel; the encodings are [`crate::results_export`]'s).

use crate::browser::{copy_text, download_text};
use crate::execution::ReportRef;
use crate::format;
use crate::results_export::{result_columns, results_csv, results_file_name, results_json};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

/// Rows per page.
pub const PAGE_SIZE: usize = 50;

/// A value as the table shows it, and whether it is SQL NULL.
pub fn cell_text(value: &Value, sql_type: Option<&str>) -> (String, bool) {
    match value {
        Value::Null => ("null".to_owned(), true),
        Value::String(s) => (s.clone(), false),
        Value::Number(n) if matches!(sql_type, Some("TIMESTAMP" | "DATE")) => match n.as_i64() {
            Some(ms) => (format::iso_from_millis(ms), false),
            None => (n.to_string(), false),
        },
        Value::Number(n) => (n.to_string(), false),
        Value::Bool(b) => (b.to_string(), false),
        Value::Array(_) | Value::Object(_) => (value.to_string(), false),
    }
}

/// Column headers: `(name, type)`, the type from `sqlTypeNames` or else the signature's.
fn columns(r: &ReportRef) -> Vec<(String, String)> {
    r.report
        .payload()
        .results
        .as_ref()
        .map(result_columns)
        .unwrap_or_default()
}

/// How long the "Copied" note stays, in milliseconds.
const COPY_NOTE_MS: u32 = 2000;

/// Which download button was pressed.
#[derive(Debug, Clone, Copy)]
enum Download {
    Csv,
    Json,
}

/// Saves every result row of `r` as CSV or JSON (`results-<taskId>.<ext>`).
fn download(r: &ReportRef, kind: Download) -> Result<(), String> {
    let results = r
        .report
        .payload()
        .results
        .as_ref()
        .ok_or("this report has no results")?;
    let (ext, mime, text) = match kind {
        Download::Csv => ("csv", "text/csv;charset=utf-8", results_csv(results)),
        Download::Json => ("json", "application/json", results_json(results)),
    };
    download_text(&results_file_name(r.task_id(), ext), &text, mime)
}

/// The results grid of a report with `results`.
#[component]
pub fn ResultTablePane(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let page = RwSignal::new(0usize);
    let header = Memo::new(move |_| report.with(columns));
    // The selected cell: (row index in all rows, column index).
    let selected = RwSignal::new(None::<(usize, usize)>);
    // "Copied" or why copying failed; `copy_generation` lets only the latest note time out.
    let copy_note = RwSignal::new(None::<(bool, String)>);
    let copy_generation = StoredValue::new(0u64);
    let download_error = RwSignal::new(None::<String>);
    let copy = move |text: String| {
        copy_generation.update_value(|g| *g += 1);
        let generation = copy_generation.get_value();
        spawn_local(async move {
            let note = match copy_text(&text).await {
                Ok(()) => (true, "Copied".to_owned()),
                Err(e) => (false, format!("Copy failed: {e}")),
            };
            copy_note.try_set(Some(note));
            gloo::timers::future::TimeoutFuture::new(COPY_NOTE_MS).await;
            if copy_generation.try_get_value() == Some(generation) {
                copy_note.try_set(None);
            }
        });
    };
    let on_download = move |kind: Download| {
        download_error.set(report.with_untracked(|r| download(r, kind)).err());
    };
    let (total, truncated) = (
        Memo::new(move |_| {
            report.with(|r| {
                r.report
                    .payload()
                    .results
                    .as_ref()
                    .map_or(0, |res| res.results.len())
            })
        }),
        Memo::new(move |_| {
            report.with(|r| {
                r.report
                    .payload()
                    .results
                    .as_ref()
                    .is_some_and(|res| res.is_truncated())
            })
        }),
    );
    let pages = Memo::new(move |_| total.get().div_ceil(PAGE_SIZE).max(1));
    // Keep the page in range when a new report has fewer rows.
    let current = Memo::new(move |_| page.get().min(pages.get() - 1));
    let rows = Memo::new(move |_| {
        let start = current.get() * PAGE_SIZE;
        let types: Vec<String> = header.with(|h| h.iter().map(|(_, t)| t.clone()).collect());
        report.with(|r| {
            r.report
                .payload()
                .results
                .as_ref()
                .map(|res| {
                    res.results
                        .iter()
                        .skip(start)
                        .take(PAGE_SIZE)
                        .enumerate()
                        .map(|(i, row)| {
                            let cells = row
                                .iter()
                                .enumerate()
                                .map(|(i, v)| cell_text(v, types.get(i).map(String::as_str)))
                                .collect::<Vec<_>>();
                            (start + i, cells)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    // A new page or a new report drops the selection.
    Effect::new(move |_| {
        current.track();
        report.track();
        selected.set(None);
    });
    let range_text = move || {
        let n = total.get();
        if n == 0 {
            return "No rows".to_owned();
        }
        let start = current.get() * PAGE_SIZE;
        let end = (start + PAGE_SIZE).min(n);
        format!(
            "Rows {}–{} of {}",
            format::count(start as u64 + 1),
            format::count(end as u64),
            format::count(n as u64)
        )
    };
    view! {
        <section class="report-section result-table-pane" id="results">
            <div class="section-header">
                <h3 class="section-title">"Results"</h3>
                <span class="section-meta" id="results-summary">{range_text}</span>
                <Show when=move || truncated.get()>
                    <span class="tag tag-warning" id="results-truncated">"Results truncated: the report holds only the first rows"</span>
                </Show>
                <span class="section-meta results-copy-hint">"Click a cell to copy it"</span>
                {move || {
                    copy_note
                        .get()
                        .map(|(ok, text)| {
                            view! {
                                <span class="copy-note" class:copy-note-failed=!ok id="copy-note" role="status">{text}</span>
                            }
                        })
                }}
                <span class="run-panel-spacer"></span>
                <button
                    class="button button-small"
                    id="download-csv"
                    title="Save every result row in the report as CSV (RFC 4180, header row of column names)"
                    on:click=move |_| on_download(Download::Csv)
                >
                    "Download CSV"
                </button>
                <button
                    class="button button-small"
                    id="download-json"
                    title="Save every result row in the report as a JSON array of row objects"
                    on:click=move |_| on_download(Download::Json)
                >
                    "Download JSON"
                </button>
                <div class="pager">
                    <button class="button button-small" id="results-prev" disabled=move || current.get() == 0 on:click=move |_| page.set(current.get_untracked().saturating_sub(1))>"‹ Prev"</button>
                    <span class="pager-text">{move || format!("Page {} of {}", current.get() + 1, pages.get())}</span>
                    <button class="button button-small" id="results-next" disabled=move || { current.get() + 1 >= pages.get() } on:click=move |_| page.set(current.get_untracked() + 1)>"Next ›"</button>
                </div>
            </div>
            {move || download_error.get().map(|e| view! { <div class="callout callout-danger" id="download-error">{format!("Download failed: {e}")}</div> })}
            <div class="table-scroll">
                <table class="data-table results-table" id="results-table">
                    <thead>
                        <tr>
                            {move || {
                                header.with(|h| {
                                    h.iter()
                                        .map(|(name, ty)| {
                                            view! {
                                                <th>
                                                    <div class="col-name">{name.clone()}</div>
                                                    <div class="col-type">{ty.clone()}</div>
                                                </th>
                                            }
                                        })
                                        .collect_view()
                                })
                            }}
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            rows.with(|rows| {
                                rows.iter()
                                    .map(|(r, row)| {
                                        let r = *r;
                                        let cells = row
                                            .iter()
                                            .enumerate()
                                            .map(|(c, (text, null))| {
                                                let is_selected = move || selected.get() == Some((r, c));
                                                let copied = text.clone();
                                                view! {
                                                    <td
                                                        class="result-cell"
                                                        class:cell-null=*null
                                                        class:cell-selected=is_selected
                                                        data-row=r
                                                        data-col=c
                                                        on:click=move |_| {
                                                            selected.update(|s| {
                                                                *s = if *s == Some((r, c)) { None } else { Some((r, c)) };
                                                            });
                                                        }
                                                    >
                                                        {text.clone()}
                                                        {move || {
                                                            is_selected()
                                                                .then(|| {
                                                                    let copied = copied.clone();
                                                                    view! {
                                                                        <button
                                                                            class="cell-copy"
                                                                            id="cell-copy"
                                                                            title="Copy this value"
                                                                            on:click=move |ev| {
                                                                                ev.stop_propagation();
                                                                                copy(copied.clone());
                                                                            }
                                                                        >
                                                                            "Copy"
                                                                        </button>
                                                                    }
                                                                })
                                                        }}
                                                    </td>
                                                }
                                            })
                                            .collect_view();
                                        view! { <tr class="result-row">{cells}</tr> }
                                    })
                                    .collect_view()
                            })
                        }}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_render_as_text() {
        assert_eq!(
            cell_text(&json!(null), Some("VARCHAR")),
            ("null".to_owned(), true)
        );
        assert_eq!(
            cell_text(&json!("<img src=x onerror=alert(1)>"), None).0,
            "<img src=x onerror=alert(1)>"
        );
        assert_eq!(
            cell_text(&json!(1_566_691_200_000i64), Some("TIMESTAMP")).0,
            "2019-08-25T00:00:00.000Z"
        );
        assert_eq!(
            cell_text(&json!(1_566_691_200_000i64), Some("BIGINT")).0,
            "1566691200000"
        );
        assert_eq!(
            cell_text(&json!("2019-08-25T00:00:00.000Z"), Some("TIMESTAMP")).0,
            "2019-08-25T00:00:00.000Z"
        );
        assert_eq!(cell_text(&json!([1, "a"]), Some("ARRAY")).0, "[1,\"a\"]");
        assert_eq!(cell_text(&json!(true), None).0, "true");
        assert_eq!(cell_text(&json!(2.5), Some("DOUBLE")).0, "2.5");
    }
}
