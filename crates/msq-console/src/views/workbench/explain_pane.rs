//! What the EXPLAIN button shows (≙ Druid's `explain-dialog`, drawn in the output area
//! instead of a dialog): the statement type and target from `ATTRIBUTES`, the resources read,
//! the stage graph and a stage list (processor, inputs, shuffle, output columns) when the plan
//! holds stage definitions, and the raw `PLAN`/`RESOURCES`/`ATTRIBUTES` JSON.
//!
//! The graph uses [`crate::graph_layout`] like the report's `StageGraph`, without phases or
//! progress: nothing has run yet. All plan text is rendered as text nodes.

use crate::components::json_viewer::JsonViewer;
use crate::explain::{graph_stages, stage_rows, ExplainRef, ExplainStageRow};
use crate::graph_layout::{layout, GraphLayout};
use crate::views::workbench::stage_graph::{graph_svg, shorten, GraphNames};
use leptos::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The one-line summary: `"SELECT"`, `"INSERT into wikipedia (PARTITIONED BY DAY)"`.
fn summary(attributes: &Value) -> String {
    let kind = attributes
        .get("statementType")
        .map_or_else(|| "Query".to_owned(), text_of);
    let mut line = kind;
    if let Some(target) = attributes.get("targetDataSource") {
        line.push_str(&format!(" into {}", text_of(target)));
    }
    if let Some(p) = attributes.get("partitionedBy") {
        line.push_str(&format!(" · partitioned by {}", text_of(p)));
    }
    if let Some(Value::Array(c)) = attributes.get("clusteredBy") {
        let cols: Vec<String> = c.iter().map(text_of).collect();
        line.push_str(&format!(" · clustered by {}", cols.join(", ")));
    }
    line
}

/// `name (TYPE)` of each entry of `RESOURCES`.
fn resources(resources: &Value) -> Vec<String> {
    resources
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| match (r.get("name"), r.get("type")) {
                    (Some(n), Some(t)) => format!("{} ({})", text_of(n), text_of(t)),
                    (Some(n), None) => text_of(n),
                    _ => text_of(r),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The explained plan.
#[component]
pub fn ExplainPane(
    /// The EXPLAIN answer.
    plan: ExplainRef,
) -> impl IntoView {
    let rows: Vec<ExplainStageRow> = plan.stages.as_deref().map(stage_rows).unwrap_or_default();
    let drawing = plan
        .stages
        .as_deref()
        .map(|s| layout(&graph_stages(s)))
        .unwrap_or_default();
    let processors: BTreeMap<u32, String> = rows
        .iter()
        .map(|r| (r.number, r.processor.clone()))
        .collect();
    let raw = Arc::new(json!({
        "PLAN": plan.plan,
        "RESOURCES": plan.resources,
        "ATTRIBUTES": plan.attributes,
    }));
    let stage_count = rows.len();
    let has_stages = plan.stages.is_some();
    let resource_tags = resources(&plan.resources)
        .into_iter()
        .map(|r| view! { <span class="tag explain-resource">{r}</span> })
        .collect_view();
    view! {
        <div class="explain-pane" id="explain-pane">
            <section class="report-section" id="explain-summary">
                <div class="section-header">
                    <h3 class="section-title">"Explain"</h3>
                    <span class="section-meta" id="explain-statement-type">{summary(&plan.attributes)}</span>
                    <span class="section-meta">{format!("answered by {}", plan.source)}</span>
                </div>
                <div class="explain-resources" id="explain-resources">
                    <span class="section-meta">"Reads:"</span>
                    {resource_tags}
                </div>
                <pre class="explain-statement" id="explain-statement">{plan.statement.clone()}</pre>
            </section>
            {if has_stages {
                view! {
                    <section class="report-section" id="explain-stages-section">
                        <div class="section-header">
                            <h3 class="section-title">"Stages"</h3>
                            <span class="section-meta">
                                {format!("{stage_count} {}", if stage_count == 1 { "stage" } else { "stages" })}
                            </span>
                        </div>
                        {graph_view(&drawing, &processors)}
                        {stage_table(rows)}
                    </section>
                }
                .into_any()
            } else {
                view! {
                    <div class="callout callout-primary" id="explain-no-stages">
                        "This plan holds no stage definitions (a native query plan, as Druid's Broker answers EXPLAIN); its JSON is below."
                    </div>
                }
                .into_any()
            }}
            <section class="report-section" id="explain-json">
                <div class="section-header">
                    <h3 class="section-title">"Plan JSON"</h3>
                    <span class="section-meta">"PLAN, RESOURCES and ATTRIBUTES, parsed"</span>
                </div>
                <div class="json-viewer-frame"><JsonViewer value=raw open_depth=2 /></div>
            </section>
        </div>
    }
}

fn stage_table(rows: Vec<ExplainStageRow>) -> impl IntoView {
    let lines = |lines: Vec<String>| {
        lines
            .into_iter()
            .map(|l| view! { <div class="counter-line">{l}</div> })
            .collect_view()
    };
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr class="explain-stage-row" data-stage=r.number>
                    <td class="stage-name">{format!("Stage{}", r.number)}</td>
                    <td>{r.processor}</td>
                    <td>{lines(r.inputs)}</td>
                    <td class="cluster-by">{lines(r.shuffle)}</td>
                    <td class="explain-columns">{r.columns}</td>
                    <td class="num">{r.max_workers}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll stages-table-scroll">
            <table class="data-table stages-table" id="explain-stages">
                <thead>
                    <tr>
                        <th>"Stage"</th>
                        <th>"Processor"</th>
                        <th>"Inputs"</th>
                        <th>"Shuffle"</th>
                        <th>"Output columns"</th>
                        <th>"Max workers"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn graph_view(d: &GraphLayout, processors: &BTreeMap<u32, String>) -> Option<AnyView> {
    let names = GraphNames {
        svg_id: "explain-graph",
        class: "stage-graph explain-graph",
        label: "Stage graph of the explained plan",
        arrow_id: "explain-graph-arrow",
    };
    graph_svg(d, names, |number, (x, y, w, h)| {
        let processor = processors.get(&number).cloned().unwrap_or_default();
        view! {
            <g class="stage-node explain-node" data-stage=number>
                <title>{format!("Stage {number}: {processor}")}</title>
                <rect class="node-box" x=x y=y width=w height=h rx="4" ry="4"></rect>
                <text class="node-title" x=x + 10.0 y=y + 24.0>{format!("Stage {number}")}</text>
                <text class="node-processor" x=x + 10.0 y=y + 44.0>{shorten(&processor, 22)}</text>
            </g>
        }
        .into_any()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_and_resources() {
        assert_eq!(summary(&json!({"statementType": "SELECT"})), "SELECT");
        assert_eq!(
            summary(
                &json!({"statementType": "INSERT", "targetDataSource": "wiki",
                            "partitionedBy": "DAY", "clusteredBy": ["page"]})
            ),
            "INSERT into wiki · partitioned by DAY · clustered by page"
        );
        assert_eq!(summary(&Value::Null), "Query");
        assert_eq!(
            resources(&json!([{"name": "wikipedia", "type": "DATASOURCE"}, {"name": "EXTERNAL"}])),
            vec!["wikipedia (DATASOURCE)", "EXTERNAL"]
        );
        assert!(resources(&Value::Null).is_empty());
    }
}
