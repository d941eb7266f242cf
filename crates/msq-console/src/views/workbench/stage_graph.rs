//! The stage graph: the query's stage DAG drawn left to right as SVG, one node per stage
//! (coloured by phase, with its progress) and a small node per external or table input.
//!
//! Layout is [`crate::graph_layout`]'s and changes only when the plan does; phases and progress
//! come from `msq_model::Stages` through a per-poll memo, so a live report recolours nodes
//! without redrawing the graph.

use crate::execution::ReportRef;
use crate::format;
use crate::graph_layout::{layout, GraphInput, GraphLayout, GraphStage, LaidOutEdge, NodeKind};
use leptos::prelude::*;
use msq_model::{InputSpec, ReportPayload};
use std::collections::BTreeMap;

fn graph_stages(payload: &ReportPayload) -> Vec<GraphStage> {
    payload
        .stages
        .iter()
        .map(|s| GraphStage {
            number: s.stage_number,
            inputs: s
                .definition
                .input
                .iter()
                .enumerate()
                .map(|(i, input)| match input {
                    InputSpec::Stage(st) => GraphInput::Stage {
                        stage: st.stage,
                        broadcast: s.definition.is_broadcast(i),
                    },
                    other => GraphInput::Source {
                        label: other.label(),
                    },
                })
                .collect(),
        })
        .collect()
}

/// Per stage: processor type, phase CSS suffix, phase label, progress.
#[derive(Debug, Clone, PartialEq)]
struct NodeState {
    processor: String,
    phase: String,
    label: String,
    progress: f64,
}

fn node_states(payload: &ReportPayload) -> BTreeMap<u32, NodeState> {
    let stages = payload.stages();
    payload
        .stages
        .iter()
        .map(|s| {
            let phase = s.phase.map_or("not-started".to_owned(), |p| {
                p.as_str().to_ascii_lowercase().replace('_', "-")
            });
            let label = s
                .phase
                .map_or_else(|| "Not started".to_owned(), |p| p.label());
            (
                s.stage_number,
                NodeState {
                    processor: s.processor_type().to_owned(),
                    phase,
                    label,
                    progress: stages.stage_progress(s),
                },
            )
        })
        .collect()
}

/// `s` cut to `max` characters with an ellipsis (node labels).
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The stage DAG of a report.
#[component]
pub fn StageGraph(
    /// The report shown.
    #[prop(into)]
    report: Signal<ReportRef>,
) -> impl IntoView {
    let plan = Memo::new(move |_| report.with(|r| graph_stages(r.report.payload())));
    let drawing = Memo::new(move |_| plan.with(|p| layout(p)));
    let states = Memo::new(move |_| report.with(|r| node_states(r.report.payload())));
    let names = GraphNames {
        svg_id: "stage-graph",
        class: "stage-graph",
        label: "Stage graph",
        arrow_id: "stage-graph-arrow",
    };
    move || {
        drawing.with(|d: &GraphLayout| graph_svg(d, names, |n, r| stage_node_view(n, r, states)))
    }
}

/// The ids and labels of one drawn graph (the report's and Explain's live on one page).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphNames {
    /// The `<svg>` id.
    pub svg_id: &'static str,
    /// The `<svg>` classes.
    pub class: &'static str,
    /// The `aria-label`.
    pub label: &'static str,
    /// The arrowhead marker's id.
    pub arrow_id: &'static str,
}

/// A node's box: x, y, width, height.
pub(crate) type NodeBox = (f64, f64, f64, f64);

/// The SVG of a laid-out graph: the arrowhead, the edges, a rounded pill per input source and
/// `stage_node(number, box)` per stage; `None` for an empty layout. Shared by the report's
/// [`StageGraph`] and the Explain pane, which differ only in what a stage node shows.
pub(crate) fn graph_svg(
    d: &GraphLayout,
    names: GraphNames,
    stage_node: impl Fn(u32, NodeBox) -> AnyView,
) -> Option<AnyView> {
    if d.nodes.is_empty() {
        return None;
    }
    let edges = d
        .edges
        .iter()
        .map(|e| edge_view(e, names.arrow_id))
        .collect_view();
    let nodes = d
        .nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::Source {
                label,
                consumer,
                input,
            } => source_node_view(label, *consumer, *input, (n.x, n.y, n.w, n.h)),
            NodeKind::Stage(number) => stage_node(*number, (n.x, n.y, n.w, n.h)),
        })
        .collect_view();
    Some(
        view! {
            <div class="stage-graph-frame">
                <svg
                    id=names.svg_id
                    class=names.class
                    width=format!("{:.0}", d.width)
                    height=format!("{:.0}", d.height)
                    viewBox=format!("0 0 {:.0} {:.0}", d.width, d.height)
                    role="img"
                    aria-label=names.label
                >
                    <defs>
                        <marker
                            id=names.arrow_id
                            viewBox="0 0 10 10"
                            refX="9"
                            refY="5"
                            markerWidth="7"
                            markerHeight="7"
                            orient="auto-start-reverse"
                        >
                            <path d="M 0 0 L 10 5 L 0 10 z" class="stage-graph-arrowhead"></path>
                        </marker>
                    </defs>
                    {edges}
                    {nodes}
                </svg>
            </div>
        }
        .into_any(),
    )
}

fn edge_view(e: &LaidOutEdge, arrow_id: &'static str) -> impl IntoView {
    let class = match (e.from_stage, e.broadcast) {
        (Some(_), true) => "stage-edge edge-broadcast",
        (Some(_), false) => "stage-edge",
        (None, _) => "source-edge",
    };
    view! {
        <path
            class=class
            d=e.d.clone()
            data-from=e.from_stage.map(|s| s.to_string())
            data-to=e.to_stage
            marker-end=format!("url(#{arrow_id})")
        ></path>
    }
}

fn source_node_view(label: &str, consumer: u32, input: usize, (x, y, w, h): NodeBox) -> AnyView {
    view! {
        <g class="source-node" data-consumer=consumer data-input=input>
            <title>{label.to_owned()}</title>
            <rect x=x y=y width=w height=h rx="15" ry="15"></rect>
            <text x=x + w / 2.0 y=y + h / 2.0 + 4.0 text-anchor="middle">{shorten(label, 22)}</text>
        </g>
    }
    .into_any()
}

fn stage_node_view(
    number: u32,
    (x, y, w, h): NodeBox,
    states: Memo<BTreeMap<u32, NodeState>>,
) -> AnyView {
    let state = move || states.with(|s| s.get(&number).cloned());
    let class = move || {
        format!(
            "stage-node phase-{}",
            state().map_or("not-started".to_owned(), |s| s.phase)
        )
    };
    let progress = move || state().map_or(0.0, |s| s.progress.clamp(0.0, 1.0));
    let bar_w = w - 20.0;
    view! {
        <g class=class data-stage=number>
            <title>{move || state().map(|s| format!("Stage {number}: {} — {} ({})", s.processor, s.label, format::percent(s.progress)))}</title>
            <rect class="node-box" x=x y=y width=w height=h rx="4" ry="4"></rect>
            <text class="node-title" x=x + 10.0 y=y + 19.0>{format!("Stage {number}")}</text>
            <text class="node-percent" x=x + w - 10.0 y=y + 19.0 text-anchor="end">{move || format::percent(progress())}</text>
            <text class="node-processor" x=x + 10.0 y=y + 37.0>{move || state().map(|s| shorten(&s.processor, 22))}</text>
            <rect class="node-progress-track" x=x + 10.0 y=y + h - 16.0 width=bar_w height="5" rx="2"></rect>
            <rect class="node-progress" x=x + 10.0 y=y + h - 16.0 width=move || format!("{:.1}", bar_w * progress()) height="5" rx="2"></rect>
        </g>
    }
    .into_any()
}
