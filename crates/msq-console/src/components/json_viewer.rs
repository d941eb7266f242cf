//! A collapsible JSON tree.
//!
//! Objects and arrays fold and unfold; keys and values are text nodes, never markup. Children
//! are built only when their parent is open, and long containers show their children a page
//! at a time, so a 3,000-row report stays fast. Nodes address their value by path from a
//! shared root instead of cloning subtrees. A caller that redraws the tree for a new version of
//! the document (a live report) can pass [`OpenState`] so what the user opened stays open.

use leptos::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Which nodes the user opened or closed, by path (`"/multiStageQuery/payload"`); kept by the
/// caller across redraws.
pub type OpenState = StoredValue<HashMap<String, bool>>;

/// Children shown per "show more" step.
const PAGE: usize = 100;

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn resolve<'a>(root: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// A JSON tree of `value`, opened `open_depth` levels deep (the root is level 0).
#[component]
pub fn JsonViewer(
    /// The document.
    value: Arc<Value>,
    /// How many levels start open.
    #[prop(default = 2)]
    open_depth: usize,
    /// Remembers the user's toggles across redraws (a new one per viewer if not given).
    #[prop(optional)]
    open_state: Option<OpenState>,
) -> impl IntoView {
    let ctx = Ctx {
        open_depth,
        open_state: open_state.unwrap_or_else(|| StoredValue::new(HashMap::new())),
    };
    view! { <div class="json-viewer">{json_node(value, Vec::new(), None, ctx)}</div> }
}

#[derive(Clone, Copy)]
struct Ctx {
    open_depth: usize,
    open_state: OpenState,
}

fn path_key(path: &[Step]) -> String {
    let mut key = String::new();
    for step in path {
        key.push('/');
        match step {
            Step::Key(k) => key.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Step::Index(i) => key.push_str(&i.to_string()),
        }
    }
    key
}

fn scalar_text(v: &Value) -> (&'static str, String) {
    match v {
        Value::Null => ("json-null", "null".to_owned()),
        Value::Bool(b) => ("json-bool", b.to_string()),
        Value::Number(n) => ("json-number", n.to_string()),
        // `Value::String` displays as a quoted, escaped JSON string.
        Value::String(_) => ("json-string", v.to_string()),
        Value::Array(_) | Value::Object(_) => ("json-other", String::new()),
    }
}

fn key_view(label: Option<String>) -> impl IntoView {
    label.map(|k| view! { <span class="json-key">{k}</span><span class="json-colon">": "</span> })
}

fn json_node(root: Arc<Value>, path: Vec<Step>, label: Option<String>, ctx: Ctx) -> AnyView {
    let Some(value) = resolve(&root, &path) else {
        return ().into_any();
    };
    let (len, is_object) = match value {
        Value::Object(m) => (m.len(), true),
        Value::Array(a) => (a.len(), false),
        scalar => {
            let (class, text) = scalar_text(scalar);
            return view! {
                <div class="json-row">
                    <span class="json-toggle-space"></span>
                    {key_view(label)}
                    <span class=class>{text}</span>
                </div>
            }
            .into_any();
        }
    };
    let (open_bracket, close_bracket) = if is_object { ("{", "}") } else { ("[", "]") };
    let summary = if is_object {
        format!("{len} {}", if len == 1 { "key" } else { "keys" })
    } else {
        format!("{len} {}", if len == 1 { "item" } else { "items" })
    };
    let key = path_key(&path);
    let remembered = ctx.open_state.with_value(|m| m.get(&key).copied());
    let open = RwSignal::new(remembered.unwrap_or(path.len() < ctx.open_depth && len > 0));
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        ctx.open_state.update_value(|m| {
            m.insert(key.clone(), now);
        });
    };
    let shown = RwSignal::new(PAGE);
    let children = move || {
        if !open.get() {
            return None;
        }
        let root = root.clone();
        let path = path.clone();
        let limit = shown.get();
        let steps: Vec<(Option<String>, Step)> = match resolve(&root, &path) {
            Some(Value::Object(m)) => m
                .keys()
                .take(limit)
                .map(|k| (Some(k.clone()), Step::Key(k.clone())))
                .collect(),
            Some(Value::Array(a)) => (0..a.len().min(limit))
                .map(|i| (Some(i.to_string()), Step::Index(i)))
                .collect(),
            _ => Vec::new(),
        };
        let rows = steps
            .into_iter()
            .map(|(label, step)| {
                let mut child = path.clone();
                child.push(step);
                json_node(root.clone(), child, label, ctx)
            })
            .collect_view();
        let more = (len > limit).then(|| {
            let rest = len - limit;
            view! {
                <button class="json-more link-button" on:click=move |_| shown.update(|s| *s += PAGE)>
                    {format!("show {} more of {rest}", rest.min(PAGE))}
                </button>
            }
        });
        Some(view! {
            <div class="json-children">{rows}{more}</div>
            <div class="json-row"><span class="json-toggle-space"></span><span class="json-bracket">{close_bracket}</span></div>
        })
    };
    view! {
        <div class="json-node">
            <div class="json-row json-branch" on:click=toggle>
                <span class="json-toggle">{move || if open.get() { "▾" } else { "▸" }}</span>
                {key_view(label)}
                <span class="json-bracket">{open_bracket}</span>
                <Show when=move || !open.get()>
                    <span class="json-summary">{format!(" {summary} ")}</span>
                    <span class="json-bracket">{close_bracket}</span>
                </Show>
            </div>
            {children}
        </div>
    }
    .into_any()
}
