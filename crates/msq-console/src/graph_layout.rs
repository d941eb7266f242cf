//! Layered left-to-right layout of a query's stage DAG, for the stage graph.
//!
//! Geometry only: it knows nothing about reports, just stages and what they read. A stage's
//! layer is the longest path to it from the sources (layer = 1 + the deepest input; an
//! external or table input counts as layer 0), so every edge points rightwards. Each external
//! or table input becomes a small source node in the column just left of the stage that reads
//! it. Inside a column, nodes are ordered by the mean row of what feeds them (one barycentre
//! sweep), which keeps the usual Druid plans (chains, fan-ins of two or three) free of
//! crossings.

use std::collections::BTreeMap;

/// Width of a stage node, in SVG user units.
pub const NODE_W: f64 = 168.0;
/// Height of a stage node.
pub const NODE_H: f64 = 64.0;
/// Width of a source (external/table input) node.
pub const SOURCE_W: f64 = 150.0;
/// Height of a source node.
pub const SOURCE_H: f64 = 30.0;
const COL_GAP: f64 = 64.0;
const ROW_GAP: f64 = 22.0;
const PAD: f64 = 14.0;

/// One input of a stage, as the layout needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphInput {
    /// The output of another stage (`{"type":"stage","stage":k}`).
    Stage {
        /// The stage read.
        stage: u32,
        /// Whether the input is broadcast to every worker.
        broadcast: bool,
    },
    /// Anything read from outside the query (external data, a table): drawn as a source node.
    Source {
        /// The node's text, e.g. `"http external"` or a datasource name.
        label: String,
    },
}

/// A stage and its inputs, in `definition.input` order.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphStage {
    /// The stage number.
    pub number: u32,
    /// Its inputs.
    pub inputs: Vec<GraphInput>,
}

/// What a laid-out node stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A stage of the query.
    Stage(u32),
    /// Input `input` of stage `consumer`, read from outside the query.
    Source {
        /// The node's text.
        label: String,
        /// The stage reading it.
        consumer: u32,
        /// Its index in the consumer's inputs.
        input: usize,
    },
}

/// A node with its box (top-left corner, size).
#[derive(Debug, Clone, PartialEq)]
pub struct LaidOutNode {
    /// What the node is.
    pub kind: NodeKind,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// An edge, as an SVG path (`d`) from the right middle of its producer to the left middle of
/// its consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct LaidOutEdge {
    /// The producing stage, or `None` for a source node.
    pub from_stage: Option<u32>,
    /// The consuming stage.
    pub to_stage: u32,
    /// Whether the input is broadcast.
    pub broadcast: bool,
    /// The cubic Bézier path.
    pub d: String,
}

/// The whole drawing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphLayout {
    /// Width of the drawing (the SVG `viewBox` width).
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
    /// Stage nodes, then source nodes.
    pub nodes: Vec<LaidOutNode>,
    /// Stage edges first, then source edges.
    pub edges: Vec<LaidOutEdge>,
}

/// Lays out `stages` (any order; unknown stage references are ignored).
pub fn layout(stages: &[GraphStage]) -> GraphLayout {
    if stages.is_empty() {
        return GraphLayout::default();
    }
    let by_number: BTreeMap<u32, &GraphStage> = stages.iter().map(|s| (s.number, s)).collect();
    let mut layers: BTreeMap<u32, usize> = BTreeMap::new();
    for &n in by_number.keys() {
        stage_layer(n, &by_number, &mut layers, 0);
    }

    // Columns of node keys; a source sits one column left of its consumer.
    #[derive(Clone)]
    enum Key {
        Stage(u32),
        Source(u32, usize, String),
    }
    let depth = layers.values().copied().max().unwrap_or(1) + 1;
    let mut columns: Vec<Vec<Key>> = vec![Vec::new(); depth];
    for (&n, stage) in &by_number {
        let layer = layers.get(&n).copied().unwrap_or(1);
        columns[layer].push(Key::Stage(n));
        for (i, input) in stage.inputs.iter().enumerate() {
            if let GraphInput::Source { label } = input {
                columns[layer - 1].push(Key::Source(n, i, label.clone()));
            }
        }
    }
    // Drop an empty leftmost column (a plan without external inputs).
    let first = columns.iter().position(|c| !c.is_empty()).unwrap_or(0);
    let columns: Vec<Vec<Key>> = columns.into_iter().skip(first).collect();

    // Order each column by the mean row of its producers (stages) or its consumer (sources).
    let mut row_of_stage: BTreeMap<u32, f64> = BTreeMap::new();
    let mut ordered: Vec<Vec<Key>> = Vec::with_capacity(columns.len());
    for column in &columns {
        let mut keyed: Vec<(f64, u32, usize, Key)> = column
            .iter()
            .map(|k| match k {
                Key::Stage(n) => {
                    let rows: Vec<f64> = by_number[n]
                        .inputs
                        .iter()
                        .filter_map(|i| match i {
                            GraphInput::Stage { stage, .. } => row_of_stage.get(stage).copied(),
                            GraphInput::Source { .. } => None,
                        })
                        .collect();
                    let bary = if rows.is_empty() {
                        f64::from(*n)
                    } else {
                        rows.iter().sum::<f64>() / rows.len() as f64
                    };
                    (bary, *n, 0, k.clone())
                }
                Key::Source(consumer, input, _) => {
                    (f64::from(*consumer), *consumer, *input, k.clone())
                }
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (row, (_, _, _, k)) in keyed.iter().enumerate() {
            if let Key::Stage(n) = k {
                row_of_stage.insert(*n, row as f64);
            }
        }
        ordered.push(keyed.into_iter().map(|(_, _, _, k)| k).collect());
    }

    // Geometry.
    let size = |k: &Key| match k {
        Key::Stage(_) => (NODE_W, NODE_H),
        Key::Source(..) => (SOURCE_W, SOURCE_H),
    };
    let column_height = |c: &Vec<Key>| -> f64 {
        c.iter().map(|k| size(k).1).sum::<f64>() + ROW_GAP * (c.len().saturating_sub(1)) as f64
    };
    let inner_h = ordered.iter().map(column_height).fold(0.0, f64::max);
    let mut layout = GraphLayout {
        width: PAD * 2.0
            + ordered.len() as f64 * NODE_W
            + (ordered.len().saturating_sub(1)) as f64 * COL_GAP,
        height: PAD * 2.0 + inner_h,
        ..GraphLayout::default()
    };
    let mut stage_nodes = Vec::new();
    let mut source_nodes = Vec::new();
    for (col, keys) in ordered.iter().enumerate() {
        let col_x = PAD + col as f64 * (NODE_W + COL_GAP);
        let mut y = PAD + (inner_h - column_height(keys)) / 2.0;
        for k in keys {
            let (w, h) = size(k);
            let x = col_x + (NODE_W - w) / 2.0;
            let kind = match k {
                Key::Stage(n) => NodeKind::Stage(*n),
                Key::Source(consumer, input, label) => NodeKind::Source {
                    label: label.clone(),
                    consumer: *consumer,
                    input: *input,
                },
            };
            let node = LaidOutNode { kind, x, y, w, h };
            match k {
                Key::Stage(_) => stage_nodes.push(node),
                Key::Source(..) => source_nodes.push(node),
            }
            y += h + ROW_GAP;
        }
    }
    stage_nodes.sort_by_key(|n| match n.kind {
        NodeKind::Stage(s) => s,
        NodeKind::Source { .. } => u32::MAX,
    });

    let find_stage = |n: u32| {
        stage_nodes
            .iter()
            .find(|node| node.kind == NodeKind::Stage(n))
    };
    let mut stage_edges = Vec::new();
    let mut source_edges = Vec::new();
    for (&n, stage) in &by_number {
        let Some(to) = find_stage(n) else { continue };
        for (i, input) in stage.inputs.iter().enumerate() {
            match input {
                GraphInput::Stage {
                    stage: from,
                    broadcast,
                } => {
                    if let Some(from_node) = find_stage(*from) {
                        stage_edges.push(LaidOutEdge {
                            from_stage: Some(*from),
                            to_stage: n,
                            broadcast: *broadcast,
                            d: edge_path(from_node, to),
                        });
                    }
                }
                GraphInput::Source { .. } => {
                    let src = source_nodes.iter().find(|s| {
                        matches!(&s.kind, NodeKind::Source { consumer, input, .. } if *consumer == n && *input == i)
                    });
                    if let Some(src) = src {
                        source_edges.push(LaidOutEdge {
                            from_stage: None,
                            to_stage: n,
                            broadcast: false,
                            d: edge_path(src, to),
                        });
                    }
                }
            }
        }
    }
    layout.nodes = stage_nodes;
    layout.nodes.extend(source_nodes);
    layout.edges = stage_edges;
    layout.edges.extend(source_edges);
    layout
}

/// Longest-path layer of stage `n` (≥ 1), memoised; `depth` guards against a malformed report
/// whose stages read each other in a cycle.
fn stage_layer(
    n: u32,
    stages: &BTreeMap<u32, &GraphStage>,
    memo: &mut BTreeMap<u32, usize>,
    depth: usize,
) -> usize {
    if let Some(&l) = memo.get(&n) {
        return l;
    }
    let Some(stage) = stages.get(&n) else {
        return 0;
    };
    if depth > stages.len() {
        return 1;
    }
    let mut layer = 1;
    for input in &stage.inputs {
        if let GraphInput::Stage { stage: k, .. } = input {
            if stages.contains_key(k) {
                layer = layer.max(stage_layer(*k, stages, memo, depth + 1) + 1);
            }
        }
    }
    memo.insert(n, layer);
    layer
}

fn edge_path(from: &LaidOutNode, to: &LaidOutNode) -> String {
    let (x1, y1) = (from.x + from.w, from.y + from.h / 2.0);
    let (x2, y2) = (to.x, to.y + to.h / 2.0);
    let mx = (x1 + x2) / 2.0;
    format!("M{x1:.1},{y1:.1} C{mx:.1},{y1:.1} {mx:.1},{y2:.1} {x2:.1},{y2:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(number: u32, inputs: Vec<GraphInput>) -> GraphStage {
        GraphStage { number, inputs }
    }
    fn from(stage: u32) -> GraphInput {
        GraphInput::Stage {
            stage,
            broadcast: false,
        }
    }
    fn ext() -> GraphInput {
        GraphInput::Source {
            label: "http external".into(),
        }
    }
    fn node(l: &GraphLayout, n: u32) -> &LaidOutNode {
        l.nodes
            .iter()
            .find(|x| x.kind == NodeKind::Stage(n))
            .expect("node")
    }

    #[test]
    fn empty_plan() {
        assert_eq!(layout(&[]), GraphLayout::default());
    }

    #[test]
    fn scan_then_segment_generator() {
        let l = layout(&[stage(0, vec![ext()]), stage(1, vec![from(0)])]);
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.edges.len(), 2);
        assert_eq!(l.edges[0].from_stage, Some(0));
        assert_eq!(l.edges[0].to_stage, 1);
        assert_eq!(l.edges[1].from_stage, None);
        let src = &l.nodes[2];
        assert!(src.x + src.w < node(&l, 0).x);
        assert!(node(&l, 0).x + NODE_W < node(&l, 1).x);
        assert!(l
            .nodes
            .iter()
            .all(|n| n.x + n.w <= l.width && n.y + n.h <= l.height));
    }

    #[test]
    fn layers_are_longest_paths() {
        // 0 → 1 → 3 and 2 → 3, 0 → 3: stage 3 sits right of stage 1.
        let l = layout(&[
            stage(0, vec![ext()]),
            stage(1, vec![from(0)]),
            stage(
                2,
                vec![GraphInput::Source {
                    label: "wiki".into(),
                }],
            ),
            stage(
                3,
                vec![
                    from(1),
                    GraphInput::Stage {
                        stage: 2,
                        broadcast: true,
                    },
                    from(0),
                ],
            ),
        ]);
        assert!(node(&l, 1).x > node(&l, 0).x);
        assert!(node(&l, 3).x > node(&l, 1).x);
        assert_eq!(node(&l, 2).x, node(&l, 0).x);
        assert_eq!(l.edges.iter().filter(|e| e.from_stage.is_some()).count(), 4);
        assert!(l
            .edges
            .iter()
            .any(|e| e.broadcast && e.from_stage == Some(2)));
    }

    #[test]
    fn cycles_and_dangling_references_do_not_hang() {
        let l = layout(&[stage(0, vec![from(1)]), stage(1, vec![from(0), from(9)])]);
        assert_eq!(l.nodes.len(), 2);
        assert_eq!(l.edges.len(), 2);
    }
}
