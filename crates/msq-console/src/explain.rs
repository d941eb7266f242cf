//! The EXPLAIN button (≙ Druid's `explain-dialog`, spec `druid-console-query-view.md` §1):
//! `EXPLAIN PLAN FOR <the tab's SQL>` sent to the interactive `POST /druid/v2/sql` through
//! [`DruidHttpApi`] (a Druid router, or the in-browser engine: one door), and what its answer
//! holds.
//!
//! Druid answers `[{"PLAN": "<json text>", "RESOURCES": "<json text>", "ATTRIBUTES": "<json
//! text>"}]`. Acorn's engine writes its query definition into PLAN: the array of stage
//! definitions a task report carries in `stages[].definition` (spec `druid-msq.md` §4.2), so
//! the console can draw the stage graph before running. Druid's own Broker writes a native
//! query plan there (`[{"query": …, "signature": …, "columnMappings": …}]`), which holds no
//! stages; then only the JSON is shown.
//!
//! Parsing and the text of each stage row are plain functions, tested natively; [`explain`]
//! drives a tab's output area like [`crate::runner::run`] does.

use crate::api::{ApiError, DruidHttpApi};
use crate::execution::Execution;
use crate::format;
use crate::graph_layout::{GraphInput, GraphStage};
use crate::runner::in_browser_engine;
use crate::sql_tokens::{tokenize, TokenKind};
use crate::workbench_state::TabState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_model::{InputSpec, SqlTaskRequest, StageDefinition};
use serde_json::Value;
use std::sync::Arc;

/// The statement the EXPLAIN button sends for `sql`: `EXPLAIN PLAN FOR ` inserted before the
/// first statement that is not a `SET key = value;` (Druid runs SETs before the statement they
/// configure, so they stay in front). SQL that already starts with `EXPLAIN` is sent as it is.
pub fn explain_statement(sql: &str) -> String {
    let tokens = tokenize(sql);
    let mut offset = 0usize;
    // Start of the current statement's first significant token, and whether it is a SET.
    let mut statement_start: Option<(usize, bool)> = None;
    for t in &tokens {
        let here = offset;
        offset += t.text.len();
        match t.kind {
            TokenKind::Whitespace | TokenKind::Comment => continue,
            TokenKind::Operator if t.text == ";" => {
                if let Some((start, false)) = statement_start {
                    return wrap_at(sql, start);
                }
                statement_start = None;
            }
            _ => {
                if statement_start.is_none() {
                    statement_start = Some((here, t.text.eq_ignore_ascii_case("SET")));
                }
            }
        }
    }
    match statement_start {
        Some((start, false)) => wrap_at(sql, start),
        // Only SETs (or nothing): let the engine say what is missing.
        _ => format!("EXPLAIN PLAN FOR {sql}"),
    }
}

fn wrap_at(sql: &str, start: usize) -> String {
    let (head, statement) = sql.split_at(start);
    let first_word: String = statement
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if first_word.eq_ignore_ascii_case("EXPLAIN") {
        return sql.to_owned();
    }
    format!("{head}EXPLAIN PLAN FOR {statement}")
}

/// What an EXPLAIN answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainPlan {
    /// The statement that was explained (with `EXPLAIN PLAN FOR`).
    pub statement: String,
    /// Where it was answered (a router URL or the in-browser engine).
    pub source: String,
    /// `PLAN`, parsed (the text itself as a JSON string when it is not JSON).
    pub plan: Value,
    /// `RESOURCES`, parsed (e.g. `[{"name": "wikipedia", "type": "DATASOURCE"}]`); `Null` when
    /// absent.
    pub resources: Value,
    /// `ATTRIBUTES`, parsed (e.g. `{"statementType": "INSERT", "targetDataSource": …}`); `Null`
    /// when absent.
    pub attributes: Value,
    /// The stage definitions in `PLAN`, when it holds them (Acorn's engine); `None` for a
    /// native query plan.
    pub stages: Option<Vec<StageDefinition>>,
}

/// A JSON text column of the answer, parsed; kept as a string when it is not JSON.
fn json_column(row: &serde_json::Map<String, Value>, name: &str) -> Value {
    match row.get(name) {
        Some(Value::String(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// Stage definitions in a parsed PLAN: an array of them, or an object with a `stages` array
/// (a whole query definition). `None` when any element is not a stage definition.
pub fn plan_stages(plan: &Value) -> Option<Vec<StageDefinition>> {
    let list = match plan {
        Value::Array(_) => plan,
        Value::Object(o) => o.get("stages")?,
        _ => return None,
    };
    let stages: Vec<StageDefinition> = serde_json::from_value(list.clone()).ok()?;
    (!stages.is_empty()).then_some(stages)
}

/// Reads the interactive API's answer to an EXPLAIN: an array holding one object with `PLAN`
/// (and usually `RESOURCES` and `ATTRIBUTES`).
///
/// # Errors
/// A message naming what is missing when the answer is not that shape.
pub fn parse_explain_answer(
    answer: &Value,
    statement: &str,
    source: &str,
) -> Result<ExplainPlan, String> {
    let Some(rows) = answer.as_array() else {
        return Err("the EXPLAIN answer is not a JSON array of rows".to_owned());
    };
    let Some(Value::Object(row)) = rows.first() else {
        return Err("the EXPLAIN answer has no row".to_owned());
    };
    if !row.contains_key("PLAN") {
        return Err("the EXPLAIN answer's row has no PLAN column".to_owned());
    }
    let plan = json_column(row, "PLAN");
    let stages = plan_stages(&plan);
    Ok(ExplainPlan {
        statement: statement.to_owned(),
        source: source.to_owned(),
        resources: json_column(row, "RESOURCES"),
        attributes: json_column(row, "ATTRIBUTES"),
        plan,
        stages,
    })
}

/// A stage's number: the `_<n>` suffix of its id (`<queryId>_<n>`), else its position.
pub fn stage_number(definition: &StageDefinition, index: usize) -> u32 {
    definition
        .id
        .rsplit_once('_')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(index as u32)
}

/// The text of one row of the explained stage list.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainStageRow {
    /// Stage number.
    pub number: u32,
    /// Processor type (`scan`, `groupByPreShuffle`, `segmentGenerator`, …).
    pub processor: String,
    /// One line per input: `"Input 0: Stage0"`, `"Input 1: wikipedia (broadcast)"`,
    /// `"Input 0: http external"`.
    pub inputs: Vec<String>,
    /// The shuffle: `"Shuffle: hash, 4 partitions"` then the console's cluster-by lines
    /// (`"Cluster by: page"`), or `"No shuffle"`.
    pub shuffle: Vec<String>,
    /// Output columns, `name TYPE` comma-separated.
    pub columns: String,
    /// `maxWorkerCount`.
    pub max_workers: u32,
}

fn shuffle_lines(definition: &StageDefinition) -> Vec<String> {
    let Some(spec) = &definition.shuffle_spec else {
        return vec!["No shuffle".to_owned()];
    };
    let mut head = format!("Shuffle: {}", spec.shuffle_type);
    if let Some(p) = spec.partitions {
        head.push_str(&format!(
            ", {} {}",
            format::count(u64::from(p)),
            if p == 1 { "partition" } else { "partitions" }
        ));
    }
    if let Some(t) = spec.target_size {
        head.push_str(&format!(
            ", {} rows per partition",
            format::count(t.max(0).unsigned_abs())
        ));
    }
    if let Some(l) = spec.limit_hint {
        head.push_str(&format!(
            ", limit {}",
            format::count(l.max(0).unsigned_abs())
        ));
    }
    let mut lines = vec![head];
    if let Some(cluster_by) = &spec.cluster_by {
        lines.extend(cluster_by.describe());
    }
    lines
}

/// The rows of the explained stage list, in plan order.
pub fn stage_rows(stages: &[StageDefinition]) -> Vec<ExplainStageRow> {
    stages
        .iter()
        .enumerate()
        .map(|(index, d)| ExplainStageRow {
            number: stage_number(d, index),
            processor: d.processor.type_name().to_owned(),
            inputs: d
                .input
                .iter()
                .enumerate()
                .map(|(i, input)| {
                    let broadcast = if d.is_broadcast(i) {
                        " (broadcast)"
                    } else {
                        ""
                    };
                    format!("Input {i}: {}{broadcast}", input.label())
                })
                .collect(),
            shuffle: shuffle_lines(d),
            columns: d
                .signature
                .iter()
                .map(|c| match &c.column_type {
                    Some(t) => format!("{} {t}", c.name),
                    None => c.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            max_workers: d.max_worker_count,
        })
        .collect()
}

/// The stage graph's input: each stage and what it reads.
pub fn graph_stages(stages: &[StageDefinition]) -> Vec<GraphStage> {
    stages
        .iter()
        .enumerate()
        .map(|(index, d)| GraphStage {
            number: stage_number(d, index),
            inputs: d
                .input
                .iter()
                .enumerate()
                .map(|(i, input)| match input {
                    InputSpec::Stage(s) => GraphInput::Stage {
                        stage: s.stage,
                        broadcast: d.is_broadcast(i),
                    },
                    other => GraphInput::Source {
                        label: other.label(),
                    },
                })
                .collect(),
        })
        .collect()
}

/// A shared plan; two `ExplainRef`s are equal when they are the same answer.
#[derive(Debug, Clone)]
pub struct ExplainRef(pub Arc<ExplainPlan>);

impl PartialEq for ExplainRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for ExplainRef {
    type Target = ExplainPlan;
    fn deref(&self) -> &ExplainPlan {
        &self.0
    }
}

/// Explains the tab's SQL on the router at `router_url` (the in-browser engine when blank):
/// the output area shows [`Execution::Explaining`], then [`Execution::Explained`] or
/// [`Execution::ExplainFailed`]. Like Run, it starts a new run generation, so a later Run
/// replaces it and it never replaces a later Run.
pub fn explain(tab: TabState, router_url: &str) {
    let api = DruidHttpApi::new(router_url)
        .or_else(|| in_browser_engine().ok().map(DruidHttpApi::in_browser));
    let Some(api) = api else {
        tab.next_run_token();
        tab.execution.set(Execution::NoEngine);
        return;
    };
    let token = tab.next_run_token();
    let statement = explain_statement(&tab.sql.get_untracked());
    let mut request = SqlTaskRequest::new(statement.clone());
    request.context = tab.context.with_untracked(|c| c.to_druid());
    tab.execution.set(Execution::Explaining {
        router: api.router().to_owned(),
    });
    spawn_local(async move {
        let answer = api.explain_plan(&request).await;
        if !tab.is_current(token) {
            return;
        }
        let next = match answer {
            Err(e) => Execution::ExplainFailed(e),
            Ok(body) => match parse_explain_answer(&body, &statement, api.router()) {
                Ok(plan) => Execution::Explained(ExplainRef(Arc::new(plan))),
                Err(message) => Execution::ExplainFailed(ApiError::BadResponse {
                    url: api.url("/druid/v2/sql"),
                    message,
                }),
            },
        };
        tab.execution.try_set(next);
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statements_are_wrapped_after_their_sets() {
        assert_eq!(explain_statement("SELECT 1"), "EXPLAIN PLAN FOR SELECT 1");
        assert_eq!(
            explain_statement("  -- note\nINSERT INTO t SELECT * FROM s PARTITIONED BY ALL;"),
            "  -- note\nEXPLAIN PLAN FOR INSERT INTO t SELECT * FROM s PARTITIONED BY ALL;"
        );
        assert_eq!(
            explain_statement("SET maxNumTasks = 3;\nset x = 'a;b';\nSELECT ';' FROM t"),
            "SET maxNumTasks = 3;\nset x = 'a;b';\nEXPLAIN PLAN FOR SELECT ';' FROM t"
        );
        assert_eq!(
            explain_statement("explain plan for SELECT 1"),
            "explain plan for SELECT 1"
        );
        assert_eq!(explain_statement(""), "EXPLAIN PLAN FOR ");
        assert_eq!(
            explain_statement("SET a = 1;"),
            "EXPLAIN PLAN FOR SET a = 1;"
        );
    }

    fn acorn_answer() -> Value {
        let plan = json!([
            {
                "id": "q_0",
                "input": [{"type": "external", "inputSource": {"type": "http", "uris": ["u"]},
                           "inputFormat": {"type": "json"}, "signature": []},
                          {"type": "table", "dataSource": "wikipedia", "intervals": []}],
                "broadcast": [1],
                "processor": {"type": "groupByPreShuffle", "query": {}},
                "signature": [{"name": "page", "type": "STRING"}, {"name": "a0"}],
                "shuffleSpec": {"type": "hash", "clusterBy": {"columns": [{"columnName": "page", "order": "ASCENDING"}]}, "partitions": 4},
                "maxWorkerCount": 2
            },
            {
                "id": "q_1",
                "input": [{"type": "stage", "stage": 0}],
                "processor": {"type": "limit", "limit": 10},
                "signature": [{"name": "page", "type": "STRING"}],
                "maxWorkerCount": 1
            }
        ]);
        json!([{
            "PLAN": plan.to_string(),
            "RESOURCES": "[{\"name\":\"wikipedia\",\"type\":\"DATASOURCE\"}]",
            "ATTRIBUTES": "{\"statementType\":\"SELECT\"}"
        }])
    }

    #[test]
    fn acorn_plans_give_stages() {
        let p = parse_explain_answer(&acorn_answer(), "EXPLAIN PLAN FOR x", "r").unwrap();
        assert_eq!(p.attributes, json!({"statementType": "SELECT"}));
        assert_eq!(p.resources[0]["name"], "wikipedia");
        let stages = p.stages.as_ref().unwrap();
        let rows = stage_rows(stages);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].number, 0);
        assert_eq!(rows[0].processor, "groupByPreShuffle");
        assert_eq!(
            rows[0].inputs,
            vec!["Input 0: http external", "Input 1: wikipedia (broadcast)"]
        );
        assert_eq!(
            rows[0].shuffle,
            vec!["Shuffle: hash, 4 partitions", "Cluster by: page"]
        );
        assert_eq!(rows[0].columns, "page STRING, a0");
        assert_eq!(rows[0].max_workers, 2);
        assert_eq!(rows[1].inputs, vec!["Input 0: Stage0"]);
        assert_eq!(rows[1].shuffle, vec!["No shuffle"]);
        let graph = graph_stages(stages);
        assert_eq!(
            graph[1].inputs,
            vec![GraphInput::Stage {
                stage: 0,
                broadcast: false
            }]
        );
        assert_eq!(
            graph[0].inputs[1],
            GraphInput::Source {
                label: "wikipedia".to_owned()
            }
        );
    }

    #[test]
    fn druid_native_plans_have_no_stages() {
        let answer = json!([{
            "PLAN": "[{\"query\":{\"queryType\":\"scan\"},\"signature\":[],\"columnMappings\":[]}]",
            "RESOURCES": "[]",
            "ATTRIBUTES": "{\"statementType\":\"SELECT\"}"
        }]);
        let p = parse_explain_answer(&answer, "s", "r").unwrap();
        assert!(p.stages.is_none());
        assert_eq!(p.plan[0]["query"]["queryType"], "scan");
        // A PLAN that is not JSON stays text; missing columns are null.
        let p = parse_explain_answer(&json!([{"PLAN": "DruidQueryRel(…)"}]), "s", "r").unwrap();
        assert_eq!(p.plan, json!("DruidQueryRel(…)"));
        assert_eq!(p.resources, Value::Null);
    }

    #[test]
    fn bad_answers_are_named() {
        assert!(parse_explain_answer(&json!({}), "s", "r")
            .unwrap_err()
            .contains("not a JSON array"));
        assert!(parse_explain_answer(&json!([]), "s", "r")
            .unwrap_err()
            .contains("no row"));
        assert!(parse_explain_answer(&json!([{"X": 1}]), "s", "r")
            .unwrap_err()
            .contains("no PLAN"));
    }

    #[test]
    fn stage_numbers_come_from_ids() {
        let mut d: StageDefinition = serde_json::from_value(json!({
            "id": "query-abc_def_7", "input": [], "processor": {"type": "scan", "query": {}},
            "signature": [], "maxWorkerCount": 1
        }))
        .unwrap();
        assert_eq!(stage_number(&d, 0), 7);
        d.id = "odd".to_owned();
        assert_eq!(stage_number(&d, 3), 3);
    }
}
