//! Acorn's Query view: a Leptos (client-side rendered) replica of the "Query" view
//! (workbench) of Apache Druid's web console, for a multi-stage query engine running in the
//! browser tab.
//!
//! It speaks Druid: Run submits the tab's SQL to `POST /druid/v2/sql/task` and polls
//! `GET /druid/indexer/v1/task/<id>/reports`; "Load report" opens a saved task report. Either
//! way the report is parsed by `msq_model::TaskReport` and every number shown comes from
//! `msq_model::Stages` (rule 10 of the style guide: panes wire, models compute, signals stay
//! narrow). All report and user data is rendered as text nodes, never as markup.
//!
//! # Layout
//! - [`app`]: [`App`], the page shell.
//! - [`views`]: the components.
//!   - [`views::header_bar`]: `HeaderBar` (brand, view name).
//!   - [`views::workbench`]: the Query view, one component per file:
//!     `WorkbenchView` (state, persistence, layout) → `QueryTabBar`, `QueryTab`
//!     (→ `FlexibleQueryInput`, `RunPanel`, output), `ContextPanel`, `WorkersPanel`,
//!     `DatasourcesPanel` (datasource browser, drop), `RecentTasksPanel`,
//!     `LoadReportDialog`; a report is shown by `ExecutionReportPane` →
//!     `ExecutionSummaryPanel`, `ExecutionErrorPane`, `ExecutionWarningsPane`,
//!     `ResultTablePane`, `StageGraph`, `ExecutionStagesPane` (→ `StageDetailPane`),
//!     `ReportJsonPane`.
//! - [`components`]: generic building blocks: `JsonViewer`, `ProgressBar`.
//! - [`workbench_state`]: the reactive state, one narrow signal per tab field.
//! - [`tabs`]: the persisted workbench (`localStorage`) and the rules for naming, adding
//!   and closing tabs.
//! - [`query_context`]: a tab's context settings and the Druid context JSON they become.
//! - [`execution`]: what a tab's output area shows (idle, submitting, live run, loaded report).
//! - [`runner`]: Run, poll and cancel against a Druid router.
//! - [`explain`]: the EXPLAIN button: `EXPLAIN PLAN FOR` over the interactive API, and the
//!   stages its plan holds.
//! - [`results_export`]: SELECT results as CSV and JSON downloads.
//! - [`recent_tasks`]: the tasks this browser ran, kept in `localStorage` with their reports.
//! - [`api`]: `DruidHttpApi`, the SQL-task HTTP API over `fetch`, and its errors.
//! - [`browser`]: `localStorage`, downloads, reading a picked file.
//! - [`stage_view`]: the text of each stages-table row and its expansion (formatting of
//!   `Stages` numbers).
//! - [`graph_layout`]: the layered left-to-right layout of the stage graph.
//! - [`sql_tokens`]: the Druid SQL tokenizer behind the editor's highlighting.
//! - [`worker_threads`]: the Workers panel's model: the engine's stage threads from
//!   `GET /druid/indexer/v1/workers`.
//! - [`format`]: numbers, sizes, durations and timestamps as text.

pub mod api;
pub mod app;
pub mod browser;
pub mod components;
pub mod execution;
pub mod explain;
pub mod format;
pub mod graph_layout;
pub mod query_context;
pub mod recent_tasks;
pub mod results_export;
pub mod runner;
pub mod sql_tokens;
pub mod stage_view;
pub mod tabs;
pub mod views;
pub mod workbench_state;
pub mod worker_threads;

pub use app::App;
