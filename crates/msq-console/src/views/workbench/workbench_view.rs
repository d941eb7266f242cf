//! The Query view (≙ Druid's `WorkbenchView`): the tab bar and the active tab in the middle,
//! the context and workers panels on the right, and the Load report dialog.
//!
//! It owns the workbench state, restores it from `localStorage` and writes it back whenever a
//! persisted signal changes (the one effect here: storage is outside the reactive system).

use crate::browser::{storage_get, storage_set};
use crate::execution::{Execution, ReportRef};
use crate::query_context::QueryContext;
use crate::recent_tasks::RecentTasksState;
use crate::tabs::{StoredWorkbench, STORAGE_KEY};
use crate::views::workbench::context_panel::ContextPanel;
use crate::views::workbench::datasources_panel::DatasourcesPanel;
use crate::views::workbench::load_report_dialog::LoadReportDialog;
use crate::views::workbench::query_tab::QueryTab;
use crate::views::workbench::query_tab_bar::QueryTabBar;
use crate::views::workbench::recent_tasks_panel::RecentTasksPanel;
use crate::views::workbench::workers_panel::WorkersPanel;
use crate::workbench_state::{TabState, WorkbenchState};
use leptos::prelude::*;

/// The whole workbench.
#[component]
pub fn WorkbenchView() -> impl IntoView {
    let state =
        WorkbenchState::from_stored(StoredWorkbench::load(storage_get(STORAGE_KEY).as_deref()));
    Effect::new(move |_| {
        let json = state.to_stored().to_json();
        storage_set(STORAGE_KEY, &json);
    });

    let active_tab = Memo::new(move |_| {
        let id = state.active.get();
        state
            .tabs
            .with(|ts| ts.iter().find(|t| t.id == id).or(ts.first()).copied())
    });
    let active_context = Signal::derive(move || {
        active_tab
            .get()
            .map_or_else(QueryContext::default, |t| t.context.get())
    });
    provide_context(crate::workbench_state::OpenTab(Callback::new(
        move |(name, sql): (String, String)| state.open_tab(Some(name), sql),
    )));
    provide_context(RecentTasksState::install());
    let router_url = state.router_url;
    let dialog_open = RwSignal::new(false);
    let open_dialog = Callback::new(move |()| dialog_open.set(true));
    let on_load = Callback::new(move |report: ReportRef| {
        if let Some(tab) = active_tab.get_untracked() {
            crate::runner::detach(tab);
            tab.execution.set(Execution::Loaded(report));
        }
    });

    view! {
        <div class="workbench">
            <main class="workbench-main">
                <QueryTabBar tabs=state.tabs active=state.active />
                {move || {
                    active_tab
                        .get()
                        .map(|tab: TabState| {
                            view! { <QueryTab tab router_url=router_url on_load_report=open_dialog /> }
                        })
                }}
            </main>
            <aside class="workbench-side">
                {move || active_tab.get().map(|tab| view! { <ContextPanel context=tab.context router_url /> })}
                <WorkersPanel context=active_context />
                <DatasourcesPanel router_url />
                <RecentTasksPanel on_open=on_load />
                <crate::views::workbench::files_panel::FilesPanel />
            </aside>
            <LoadReportDialog open=dialog_open on_load />
        </div>
    }
}
