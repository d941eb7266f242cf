//! The page shell: header bar above the Query view.

use crate::views::header_bar::HeaderBar;
use crate::views::workbench::workbench_view::WorkbenchView;
use leptos::prelude::*;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <div class="app">
            <HeaderBar />
            <WorkbenchView />
        </div>
    }
}
