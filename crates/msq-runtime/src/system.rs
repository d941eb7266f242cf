//! Druid's metadata tables, as the interactive SQL API answers them: `INFORMATION_SCHEMA.TABLES`,
//! `INFORMATION_SCHEMA.COLUMNS`, `sys.segments` and `sys.tasks` (Druid's "SQL metadata tables"
//! docs; the console's schema browser and recent-tasks panel read them, spec
//! `druid-console-query-view.md`).
//!
//! Each table is materialised on demand as rows (JSON objects) with a fixed signature; the
//! interactive API plans the query with these tables visible as inline inputs, so every SQL
//! feature works on them. The task engine refuses them, as Druid's does.

use crate::store::SharedStore;
use msq_common::Result;
use msq_plan::ColumnType;
use serde_json::{json, Map, Value};

/// One metadata table: its full name, columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemTable {
    /// `INFORMATION_SCHEMA.TABLES`, `sys.tasks`, …
    pub name: &'static str,
    /// Columns in order.
    pub columns: Vec<(&'static str, ColumnType)>,
    /// Rows, one JSON object each, keyed by column name.
    pub rows: Vec<Map<String, Value>>,
}

impl SystemTable {
    /// The rows as newline-delimited JSON (an `inline` input source's `data`).
    pub fn ndjson(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            out.push_str(&Value::Object(row.clone()).to_string());
            out.push('\n');
        }
        out
    }

    /// The signature as Druid's `EXTERN` signature list.
    pub fn signature(&self) -> Vec<(String, ColumnType)> {
        self.columns
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.clone()))
            .collect()
    }
}

/// The names of the metadata tables, as written in SQL.
pub const SYSTEM_TABLES: [&str; 4] = [
    "INFORMATION_SCHEMA.TABLES",
    "INFORMATION_SCHEMA.COLUMNS",
    "sys.segments",
    "sys.tasks",
];

/// A task as `sys.tasks` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// `task_id`.
    pub task_id: String,
    /// `datasource`.
    pub datasource: String,
    /// `created_time`, ISO.
    pub created_time: String,
    /// `status`: RUNNING, SUCCESS or FAILED.
    pub status: String,
    /// `duration` in ms (-1 while running).
    pub duration: i64,
    /// `error_msg`.
    pub error_msg: Option<String>,
}

fn druid_type_name(ty: &ColumnType) -> &'static str {
    match ty {
        ColumnType::Long => "BIGINT",
        ColumnType::Double => "DOUBLE",
        ColumnType::Float => "FLOAT",
        _ => "VARCHAR",
    }
}

/// Builds one metadata table (matching `name` case-insensitively); `None` for other names.
///
/// # Errors
/// When the segment store cannot be read.
pub fn system_table(
    name: &str,
    store: &SharedStore,
    tasks: &[TaskRow],
) -> Result<Option<SystemTable>> {
    let Some(&canonical) = SYSTEM_TABLES.iter().find(|n| n.eq_ignore_ascii_case(name)) else {
        return Ok(None);
    };
    let manifests = store.datasources()?;
    let row = |pairs: Vec<(&str, Value)>| -> Map<String, Value> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let string = ColumnType::String;
    let long = ColumnType::Long;
    let table = match canonical {
        "INFORMATION_SCHEMA.TABLES" => {
            let mut rows: Vec<Map<String, Value>> = manifests
                .iter()
                .map(|m| {
                    row(vec![
                        ("TABLE_CATALOG", json!("druid")),
                        ("TABLE_SCHEMA", json!("druid")),
                        ("TABLE_NAME", json!(m.data_source)),
                        ("TABLE_TYPE", json!("TABLE")),
                        ("IS_JOINABLE", json!("NO")),
                        ("IS_BROADCAST", json!("NO")),
                    ])
                })
                .collect();
            for full in SYSTEM_TABLES {
                let (schema, table) = full.split_once('.').unwrap_or(("sys", full));
                rows.push(row(vec![
                    ("TABLE_CATALOG", json!("druid")),
                    ("TABLE_SCHEMA", json!(schema)),
                    ("TABLE_NAME", json!(table)),
                    ("TABLE_TYPE", json!("SYSTEM_TABLE")),
                    ("IS_JOINABLE", json!("NO")),
                    ("IS_BROADCAST", json!("NO")),
                ]));
            }
            SystemTable {
                name: canonical,
                columns: vec![
                    ("TABLE_CATALOG", string.clone()),
                    ("TABLE_SCHEMA", string.clone()),
                    ("TABLE_NAME", string.clone()),
                    ("TABLE_TYPE", string.clone()),
                    ("IS_JOINABLE", string.clone()),
                    ("IS_BROADCAST", string),
                ],
                rows,
            }
        }
        "INFORMATION_SCHEMA.COLUMNS" => {
            let mut rows = Vec::new();
            for manifest in &manifests {
                for (position, (column, ty)) in crate::store::columns_of(&manifest.segments)
                    .iter()
                    .enumerate()
                {
                    let data_type = if column == "__time" {
                        "TIMESTAMP"
                    } else {
                        druid_type_name(ty)
                    };
                    rows.push(row(vec![
                        ("TABLE_CATALOG", json!("druid")),
                        ("TABLE_SCHEMA", json!("druid")),
                        ("TABLE_NAME", json!(manifest.data_source)),
                        ("COLUMN_NAME", json!(column)),
                        ("ORDINAL_POSITION", json!(position + 1)),
                        ("COLUMN_DEFAULT", Value::Null),
                        (
                            "IS_NULLABLE",
                            json!(if column == "__time" { "NO" } else { "YES" }),
                        ),
                        ("DATA_TYPE", json!(data_type)),
                        ("JDBC_TYPE", json!(jdbc_type(data_type))),
                    ]));
                }
            }
            SystemTable {
                name: canonical,
                columns: vec![
                    ("TABLE_CATALOG", string.clone()),
                    ("TABLE_SCHEMA", string.clone()),
                    ("TABLE_NAME", string.clone()),
                    ("COLUMN_NAME", string.clone()),
                    ("ORDINAL_POSITION", long.clone()),
                    ("COLUMN_DEFAULT", string.clone()),
                    ("IS_NULLABLE", string.clone()),
                    ("DATA_TYPE", string),
                    ("JDBC_TYPE", long),
                ],
                rows,
            }
        }
        "sys.segments" => {
            let mut rows = Vec::new();
            for manifest in &manifests {
                for segment in &manifest.segments {
                    let id = &segment.id;
                    rows.push(row(vec![
                        ("segment_id", json!(id.to_string())),
                        ("datasource", json!(id.data_source)),
                        (
                            "start",
                            json!(msq_exec::segment::format_iso_millis(id.interval_start_ms)),
                        ),
                        (
                            "end",
                            json!(msq_exec::segment::format_iso_millis(id.interval_end_ms)),
                        ),
                        ("size", json!(segment.size_bytes)),
                        ("version", json!(id.version)),
                        ("partition_num", json!(id.partition_num)),
                        ("num_replicas", json!(1)),
                        ("num_rows", json!(segment.num_rows)),
                        ("is_published", json!(1)),
                        ("is_available", json!(1)),
                        ("is_realtime", json!(0)),
                        ("is_overshadowed", json!(0)),
                    ]));
                }
            }
            SystemTable {
                name: canonical,
                columns: vec![
                    ("segment_id", string.clone()),
                    ("datasource", string.clone()),
                    ("start", string.clone()),
                    ("end", string.clone()),
                    ("size", long.clone()),
                    ("version", string),
                    ("partition_num", long.clone()),
                    ("num_replicas", long.clone()),
                    ("num_rows", long.clone()),
                    ("is_published", long.clone()),
                    ("is_available", long.clone()),
                    ("is_realtime", long.clone()),
                    ("is_overshadowed", long),
                ],
                rows,
            }
        }
        _ => SystemTable {
            name: canonical,
            columns: vec![
                ("task_id", string.clone()),
                ("group_id", string.clone()),
                ("type", string.clone()),
                ("datasource", string.clone()),
                ("created_time", string.clone()),
                ("queue_insertion_time", string.clone()),
                ("status", string.clone()),
                ("runner_status", string.clone()),
                ("duration", long),
                ("location", string.clone()),
                ("host", string.clone()),
                ("error_msg", string),
            ],
            rows: tasks
                .iter()
                .map(|t| {
                    row(vec![
                        ("task_id", json!(t.task_id)),
                        ("group_id", json!(t.task_id)),
                        ("type", json!("query_controller")),
                        ("datasource", json!(t.datasource)),
                        ("created_time", json!(t.created_time)),
                        ("queue_insertion_time", json!("1970-01-01T00:00:00.000Z")),
                        ("status", json!(t.status)),
                        (
                            "runner_status",
                            json!(if t.status == "RUNNING" {
                                "RUNNING"
                            } else {
                                "NONE"
                            }),
                        ),
                        ("duration", json!(t.duration)),
                        ("location", json!("localhost:8100")),
                        ("host", json!("localhost")),
                        ("error_msg", json!(t.error_msg)),
                    ])
                })
                .collect(),
        },
    };
    Ok(Some(table))
}

fn jdbc_type(data_type: &str) -> i64 {
    match data_type {
        "BIGINT" => -5,
        "DOUBLE" => 8,
        "FLOAT" => 6,
        "TIMESTAMP" => 93,
        _ => 12,
    }
}
