//! SELECT results written into the report (≙ Druid's `ResultTablePane`): a header per column
//! with its name and SQL type, one page of rows at a time, and a note when Druid truncated the
//! rows. Every value is rendered as text: strings as they are, `null` marked, arrays and
//! objects as JSON, and `TIMESTAMP` millis as ISO times (Druid's `inflateDatesFromSqlTypes`).

use crate::execution::ReportRef;
use crate::format;
use leptos::prelude::*;
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
    let Some(results) = &r.report.payload().results else {
        return Vec::new();
    };
    results
        .signature
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sql = results
                .sql_type_names
                .as_ref()
                .and_then(|t| t.get(i))
                .cloned();
            (
                c.name.clone(),
                sql.or_else(|| c.column_type.clone()).unwrap_or_default(),
            )
        })
        .collect()
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
                        .map(|row| {
                            row.iter()
                                .enumerate()
                                .map(|(i, v)| cell_text(v, types.get(i).map(String::as_str)))
                                .collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
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
                <span class="run-panel-spacer"></span>
                <div class="pager">
                    <button class="button button-small" id="results-prev" disabled=move || current.get() == 0 on:click=move |_| page.set(current.get_untracked().saturating_sub(1))>"‹ Prev"</button>
                    <span class="pager-text">{move || format!("Page {} of {}", current.get() + 1, pages.get())}</span>
                    <button class="button button-small" id="results-next" disabled=move || { current.get() + 1 >= pages.get() } on:click=move |_| page.set(current.get_untracked() + 1)>"Next ›"</button>
                </div>
            </div>
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
                                    .map(|row| {
                                        let cells = row
                                            .iter()
                                            .map(|(text, null)| view! { <td class:cell-null=*null>{text.clone()}</td> })
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
