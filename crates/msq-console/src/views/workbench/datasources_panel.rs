//! The datasource browser in the Query view's sidebar (≙ the datasource tree of Druid's
//! `ColumnTree`, plus the Datasources view's "Drop"): every datasource of the engine, each
//! expandable to its columns with their SQL types and its segments (interval, rows, size).
//!
//! Everything comes from Druid's interactive API, `POST /druid/v2/sql`:
//! `INFORMATION_SCHEMA.TABLES` (`TABLE_SCHEMA = 'druid'`), `INFORMATION_SCHEMA.COLUMNS` and
//! `sys.segments` (spec `sql-ingestion-api.md`). "Drop" asks for a confirmation inline, then
//! calls `DELETE /druid/coordinator/v1/datasources/<dataSource>` (Druid's data management API:
//! marks every segment unused) and refreshes. The panel refreshes itself when a run finishes
//! `SUCCESS` ([`RecentTasksState::successes`]) or the router URL changes; clicking a name
//! opens a tab with `SELECT * FROM "<ds>" LIMIT 100`. Errors are shown as text in the panel.

use crate::api::{ApiError, DruidHttpApi};
use crate::format;
use crate::recent_tasks::RecentTasksState;
use crate::views::workbench::ingest_success_pane::query_datasource_sql;
use crate::workbench_state::OpenTab;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The datasources query.
pub const TABLES_SQL: &str = "SELECT \"TABLE_NAME\" FROM INFORMATION_SCHEMA.TABLES WHERE \"TABLE_SCHEMA\" = 'druid' ORDER BY \"TABLE_NAME\"";
/// The columns query (every datasource at once).
pub const COLUMNS_SQL: &str = "SELECT \"TABLE_NAME\", \"COLUMN_NAME\", \"DATA_TYPE\" FROM INFORMATION_SCHEMA.COLUMNS WHERE \"TABLE_SCHEMA\" = 'druid' ORDER BY \"TABLE_NAME\", \"ORDINAL_POSITION\"";
/// The segments query (every datasource at once).
pub const SEGMENTS_SQL: &str = "SELECT \"datasource\", \"start\", \"end\", \"num_rows\", \"size\" FROM sys.segments ORDER BY \"datasource\", \"start\"";

/// One segment as the panel lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInfo {
    /// Interval start (ISO-8601).
    pub start: String,
    /// Interval end (ISO-8601).
    pub end: String,
    /// `num_rows`.
    pub rows: u64,
    /// `size` in bytes.
    pub size: u64,
}

/// One datasource with its columns and segments.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasourceInfo {
    /// The name.
    pub name: String,
    /// Column name and SQL type (`DATA_TYPE`), in ordinal order.
    pub columns: Vec<(String, String)>,
    /// Segments by interval start.
    pub segments: Vec<SegmentInfo>,
}

impl DatasourceInfo {
    /// Total rows over the segments.
    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows).sum()
    }

    /// Total bytes over the segments.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    /// The one-line summary under the name: `"2 segments · 24,433 rows · 1.2 MiB"`.
    pub fn summary(&self) -> String {
        let n = self.segments.len();
        format!(
            "{} {} · {} rows · {}",
            format::count(n as u64),
            if n == 1 { "segment" } else { "segments" },
            format::count(self.rows()),
            format::bytes(self.size())
        )
    }
}

fn text(row: &Map<String, Value>, key: &str) -> String {
    match row.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(row: &Map<String, Value>, key: &str) -> u64 {
    match row.get(key) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Joins the rows of [`TABLES_SQL`], [`COLUMNS_SQL`] and [`SEGMENTS_SQL`] into one entry per
/// datasource (in the order of the tables rows; columns and segments of unlisted datasources
/// are ignored).
pub fn assemble(
    tables: &[Map<String, Value>],
    columns: &[Map<String, Value>],
    segments: &[Map<String, Value>],
) -> Vec<DatasourceInfo> {
    tables
        .iter()
        .map(|t| text(t, "TABLE_NAME"))
        .filter(|name| !name.is_empty())
        .map(|name| DatasourceInfo {
            columns: columns
                .iter()
                .filter(|c| text(c, "TABLE_NAME") == name)
                .map(|c| (text(c, "COLUMN_NAME"), text(c, "DATA_TYPE")))
                .collect(),
            segments: segments
                .iter()
                .filter(|s| text(s, "datasource") == name)
                .map(|s| SegmentInfo {
                    start: text(s, "start"),
                    end: text(s, "end"),
                    rows: number(s, "num_rows"),
                    size: number(s, "size"),
                })
                .collect(),
            name,
        })
        .collect()
}

/// An interval as the panel shows it: `"2016-06-27/2016-06-28"` when both ends are midnight,
/// else the two timestamps without `T`/`Z`.
pub fn interval_text(start: &str, end: &str) -> String {
    let day = |iso: &str| {
        iso.strip_suffix("T00:00:00.000Z")
            .filter(|d| d.len() == 10)
            .map(str::to_owned)
    };
    match (day(start), day(end)) {
        (Some(a), Some(b)) => format!("{a}/{b}"),
        _ => format!("{}/{}", format::pretty_iso(start), format::pretty_iso(end)),
    }
}

/// The API the panel talks to: the router when one is set, else the in-browser engine.
fn api_for(router_url: &str) -> Option<DruidHttpApi> {
    DruidHttpApi::new(router_url).or_else(|| {
        crate::runner::in_browser_engine()
            .ok()
            .map(DruidHttpApi::in_browser)
    })
}

async fn fetch_all(api: &DruidHttpApi) -> Result<Vec<DatasourceInfo>, ApiError> {
    let tables = api.sql_rows(TABLES_SQL).await?;
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let columns = api.sql_rows(COLUMNS_SQL).await?;
    let segments = api.sql_rows(SEGMENTS_SQL).await?;
    Ok(assemble(&tables, &columns, &segments))
}

/// The datasource browser (`#datasources-panel`).
#[component]
pub fn DatasourcesPanel(
    /// The Druid router URL (blank: the in-browser engine).
    router_url: RwSignal<String>,
) -> impl IntoView {
    let datasources = RwSignal::new(Vec::<DatasourceInfo>::new());
    let loaded = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let message = RwSignal::new(None::<String>);
    let expanded = RwSignal::new(BTreeSet::<String>::new());
    let confirming = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0_u64);
    let successes = use_context::<RecentTasksState>().map(|s| s.successes);
    let open_tab = use_context::<OpenTab>();

    let refresh = move || {
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        let Some(api) = api_for(&router_url.get_untracked()) else {
            error.set(Some(crate::runner::NO_ENGINE_MESSAGE.to_owned()));
            return;
        };
        loading.set(true);
        spawn_local(async move {
            let result = fetch_all(&api).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            match result {
                Ok(list) => {
                    expanded.try_update(|e| e.retain(|n| list.iter().any(|d| &d.name == n)));
                    datasources.try_set(list);
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(format!("Could not list datasources: {}", e.summary())));
                }
            }
            loaded.try_set(true);
            loading.try_set(false);
        });
    };
    // Refresh on mount, after each successful run, and when the engine changes.
    Effect::new(move |_| {
        if let Some(s) = successes {
            s.track();
        }
        router_url.track();
        refresh();
    });

    let drop_datasource = move |name: String| {
        confirming.set(None);
        let Some(api) = api_for(&router_url.get_untracked()) else {
            error.set(Some(crate::runner::NO_ENGINE_MESSAGE.to_owned()));
            return;
        };
        message.set(Some(format!("Dropping {name}…")));
        spawn_local(async move {
            match api.drop_datasource(&name).await {
                Ok(n) => {
                    message.try_set(Some(format!(
                        "Dropped {name} ({} {} marked unused).",
                        format::count(n),
                        if n == 1 { "segment" } else { "segments" }
                    )));
                }
                Err(e) => {
                    message.try_set(None);
                    error.try_set(Some(format!("Could not drop {name}: {}", e.summary())));
                }
            }
            refresh();
        });
    };

    let item = move |ds: DatasourceInfo| {
        let name = ds.name.clone();
        let is_open = {
            let name = name.clone();
            move || expanded.with(|e| e.contains(&name))
        };
        let toggle = {
            let name = name.clone();
            move |_| {
                expanded.update(|e| {
                    if !e.remove(&name) {
                        e.insert(name.clone());
                    }
                })
            }
        };
        let query = {
            let name = name.clone();
            move |_| {
                if let Some(OpenTab(open)) = open_tab {
                    open.run((format!("{name} data"), query_datasource_sql(&name)));
                }
            }
        };
        let ask = {
            let name = name.clone();
            move |_| confirming.set(Some(name.clone()))
        };
        let confirm_view = {
            let name = name.clone();
            move || {
                let name = name.clone();
                (confirming.get().as_deref() == Some(name.as_str())).then(|| {
                    let confirm = {
                        let name = name.clone();
                        move |_| drop_datasource(name.clone())
                    };
                    view! {
                        <div class="ds-confirm" role="alert">
                            <span class="ds-confirm-text">{format!("Drop {name}?")}</span>
                            <button class="button button-danger ds-confirm-drop" on:click=confirm>"Confirm"</button>
                            <button class="button ds-keep" on:click=move |_| confirming.set(None)>"Keep"</button>
                        </div>
                    }
                })
            }
        };
        let details = {
            let ds = ds.clone();
            let is_open = is_open.clone();
            move || {
                is_open().then(|| {
                    let columns = ds
                        .columns
                        .iter()
                        .map(|(c, t)| {
                            view! {
                                <tr><td class="ds-column-name">{c.clone()}</td><td class="ds-column-type">{t.clone()}</td></tr>
                            }
                        })
                        .collect_view();
                    let segments = ds
                        .segments
                        .iter()
                        .map(|s| {
                            view! {
                                <tr>
                                    <td class="ds-segment-interval">{interval_text(&s.start, &s.end)}</td>
                                    <td class="numeric">{format::count(s.rows)}</td>
                                    <td class="numeric">{format::bytes(s.size)}</td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <div class="ds-details">
                            <table class="ds-table ds-columns">
                                <thead><tr><th>"Column"</th><th>"Type"</th></tr></thead>
                                <tbody>{columns}</tbody>
                            </table>
                            <table class="ds-table ds-segments">
                                <thead><tr><th>"Segment interval"</th><th class="numeric">"Rows"</th><th class="numeric">"Size"</th></tr></thead>
                                <tbody>{segments}</tbody>
                            </table>
                        </div>
                    }
                })
            }
        };
        let arrow = {
            let is_open = is_open.clone();
            move || if is_open() { "▾" } else { "▸" }
        };
        view! {
            <li class="ds-item" data-datasource=name.clone()>
                <div class="ds-row">
                    <button
                        class="ds-toggle"
                        title="Show columns and segments"
                        aria-expanded=move || if is_open() { "true" } else { "false" }
                        on:click=toggle
                    >
                        {arrow}
                    </button>
                    <button class="ds-name" title="Query it in a new tab" on:click=query>{name.clone()}</button>
                    <button class="button button-small ds-drop" title="Drop this datasource" on:click=ask>"Drop"</button>
                </div>
                <div class="ds-summary">{ds.summary()}</div>
                {confirm_view}
                {details}
            </li>
        }
    };

    view! {
        <section class="side-panel datasources-panel" id="datasources-panel">
            <div class="side-panel-header">
                <h3 class="side-panel-title">"Datasources"</h3>
                <button
                    class="button button-small"
                    id="datasources-refresh"
                    disabled=move || loading.get()
                    on:click=move |_| refresh()
                >
                    {move || if loading.get() { "Refreshing…" } else { "Refresh" }}
                </button>
            </div>
            {move || error.get().map(|e| view! { <div id="datasources-error" class="panel-error" role="alert">{e}</div> })}
            {move || message.get().map(|m| view! { <div id="datasources-message" class="panel-note">{m}</div> })}
            {move || {
                (loaded.get() && datasources.with(Vec::is_empty) && error.with(Option::is_none))
                    .then(|| view! { <div id="datasources-empty" class="panel-note">"No datasources yet: INSERT or REPLACE creates one."</div> })
            }}
            <ul class="ds-list" id="datasources-list">
                {move || datasources.get().into_iter().map(item).collect_view()}
            </ul>
        </section>
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Map<String, Value>> {
        crate::api::parse_object_rows(&v.to_string()).unwrap()
    }

    #[test]
    fn rows_join_into_datasources() {
        let list = assemble(
            &rows(json!([{"TABLE_NAME": "a"}, {"TABLE_NAME": "wiki"}])),
            &rows(json!([
                {"TABLE_NAME": "wiki", "COLUMN_NAME": "__time", "DATA_TYPE": "TIMESTAMP"},
                {"TABLE_NAME": "wiki", "COLUMN_NAME": "page", "DATA_TYPE": "VARCHAR"},
                {"TABLE_NAME": "gone", "COLUMN_NAME": "x", "DATA_TYPE": "BIGINT"},
            ])),
            &rows(json!([
                {"datasource": "wiki", "start": "2016-06-27T00:00:00.000Z", "end": "2016-06-28T00:00:00.000Z", "num_rows": 24433, "size": 1_300_000},
                {"datasource": "wiki", "start": "2016-06-28T00:00:00.000Z", "end": "2016-06-29T00:00:00.000Z", "num_rows": "7", "size": 100},
            ])),
        );
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "a");
        assert!(list[0].columns.is_empty());
        assert_eq!(list[0].summary(), "0 segments · 0 rows · 0 B");
        let wiki = &list[1];
        assert_eq!(
            wiki.columns,
            vec![
                ("__time".to_owned(), "TIMESTAMP".to_owned()),
                ("page".to_owned(), "VARCHAR".to_owned())
            ]
        );
        assert_eq!(wiki.rows(), 24440);
        assert_eq!(wiki.summary(), "2 segments · 24,440 rows · 1.2 MiB");
    }

    #[test]
    fn intervals_read_as_days_when_whole() {
        assert_eq!(
            interval_text("2016-06-27T00:00:00.000Z", "2016-06-28T00:00:00.000Z"),
            "2016-06-27/2016-06-28"
        );
        assert_eq!(
            interval_text("2016-06-27T01:00:00.000Z", "2016-06-27T02:00:00.000Z"),
            "2016-06-27 01:00:00/2016-06-27 02:00:00"
        );
    }
}
