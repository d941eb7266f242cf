//! The report panes mounted in a real browser DOM (`wasm-pack test --headless --chrome`):
//! what a user sees for the docs' example report, a failed report and a SELECT report.
//! The fixtures are the same files the native model tests round-trip.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use leptos::prelude::*;
use msq_console::execution::{LoadedReport, ReportRef};
use msq_console::views::workbench::execution_report_pane::ExecutionReportPane;
use msq_model::TaskReport;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DOCS_EXAMPLE: &str = include_str!("../../../tests/fixtures/reports/docs-example-report.json");
const FAILED: &str = include_str!("../../../tests/fixtures/reports/failed-insert-time-null.json");
const SELECT: &str = include_str!("../../../tests/fixtures/reports/select-results.json");

/// Mounts the report pane for `json` into a fresh container and returns the container.
fn mount(json: &str) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let container: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&container).unwrap();
    let report = TaskReport::from_json(json).unwrap();
    let loaded = ReportRef(Arc::new(LoadedReport {
        report,
        raw: json.to_owned(),
        source: "test".into(),
    }));
    let handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <ExecutionReportPane report=Signal::derive(move || loaded.clone()) /> }
    });
    // Keep the view mounted for the rest of the test.
    handle.forget();
    container
}

fn select_all(root: &web_sys::HtmlElement, selector: &str) -> Vec<web_sys::HtmlElement> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn text(root: &web_sys::HtmlElement, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no element matches {selector}"))
        .text_content()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn docs_example_report_shows_two_finished_stages() {
    let root = mount(DOCS_EXAMPLE);
    let rows = select_all(&root, "#stages-table .stage-row");
    assert_eq!(rows.len(), 2);
    let r0 = rows[0].text_content().unwrap();
    let r1 = rows[1].text_content().unwrap();
    assert!(r0.contains("scan") && r0.contains("Finished"), "{r0}");
    assert!(r0.contains("465,346") && r0.contains("19,965"), "{r0}");
    assert!(
        r1.contains("segmentGenerator") && r1.contains("5,891"),
        "{r1}"
    );
    assert_eq!(select_all(&root, "#stage-graph .stage-node").len(), 2);
    assert_eq!(select_all(&root, "#stage-graph .stage-edge").len(), 1);
    assert!(text(&root, "#execution-summary").contains("SUCCESS"));
}

#[wasm_bindgen_test]
fn failed_report_shows_code_and_message() {
    let root = mount(FAILED);
    let error = text(&root, "#execution-error");
    assert!(error.contains("InsertTimeNull"), "{error}");
    assert!(text(&root, "#execution-summary").contains("FAILED"));
}

#[wasm_bindgen_test]
fn select_results_render_markup_as_text() {
    let root = mount(SELECT);
    let table = text(&root, "#results-table");
    assert!(table.contains("<img src=x onerror=alert(1)>"), "{table}");
    assert!(
        root.query_selector("img").unwrap().is_none(),
        "no element was injected"
    );
    assert!(!select_all(&root, "#results-table tbody tr").is_empty());
}
