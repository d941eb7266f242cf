//! The Query view, one component per file, named after Druid's `workbench-view/` components.

pub mod context_panel;
pub mod datasources_panel;
pub mod execution_error_pane;
pub mod execution_report_pane;
pub mod execution_stages_pane;
pub mod execution_summary_panel;
pub mod execution_warnings_pane;
pub mod explain_pane;
pub mod files_panel;
pub mod flexible_query_input;
pub mod ingest_success_pane;
pub mod load_report_dialog;
pub mod query_tab;
pub mod query_tab_bar;
pub mod recent_tasks_panel;
pub mod report_json_pane;
pub mod result_table_pane;
pub mod run_panel;
pub mod stage_detail_pane;
pub mod stage_graph;
pub mod workbench_view;
pub mod workers_panel;
