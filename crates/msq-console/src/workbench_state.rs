//! The reactive state of the workbench: one [`TabState`] of narrow signals per tab.
//!
//! Each field of a tab is its own signal, so typing SQL re-renders the editor only, renaming a
//! tab re-renders its label only, and the persistence effect in `WorkbenchView` is the one
//! place that reads them all.

use crate::execution::Execution;
use crate::query_context::QueryContext;
use crate::tabs::{next_tab_id, next_tab_name, StoredTab, StoredWorkbench};
use leptos::prelude::*;

/// One query tab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TabState {
    /// Stable id.
    pub id: u32,
    /// Name on the tab.
    pub name: RwSignal<String>,
    /// SQL text.
    pub sql: RwSignal<String>,
    /// Context settings.
    pub context: RwSignal<QueryContext>,
    /// The output area (not persisted).
    pub execution: RwSignal<Execution>,
    /// Bumped by every Run and by closing the tab; a poll loop stops when the token it
    /// started with is no longer current.
    pub run_token: StoredValue<u64>,
}

impl TabState {
    /// A live tab from its stored form.
    pub fn from_stored(tab: StoredTab) -> TabState {
        TabState {
            id: tab.id,
            name: RwSignal::new(tab.name),
            sql: RwSignal::new(tab.sql),
            context: RwSignal::new(tab.context),
            execution: RwSignal::new(Execution::Idle),
            run_token: StoredValue::new(0),
        }
    }

    /// The stored form (reads every persisted signal, so an effect calling this tracks them).
    pub fn to_stored(&self) -> StoredTab {
        StoredTab {
            id: self.id,
            name: self.name.get(),
            sql: self.sql.get(),
            context: self.context.get(),
        }
    }

    /// Starts a new run generation and returns its token.
    pub fn next_run_token(&self) -> u64 {
        self.run_token.update_value(|t| *t += 1);
        self.run_token.get_value()
    }

    /// Whether `token` is still the current run generation.
    pub fn is_current(&self, token: u64) -> bool {
        self.run_token.try_get_value() == Some(token)
    }
}

/// The whole workbench.
#[derive(Debug, Clone, Copy)]
pub struct WorkbenchState {
    /// Tabs in display order.
    pub tabs: RwSignal<Vec<TabState>>,
    /// Id of the active tab.
    pub active: RwSignal<u32>,
    /// Druid router URL (empty = no engine).
    pub router_url: RwSignal<String>,
}

impl WorkbenchState {
    /// Live state from the stored workbench.
    pub fn from_stored(stored: StoredWorkbench) -> WorkbenchState {
        WorkbenchState {
            tabs: RwSignal::new(stored.tabs.into_iter().map(TabState::from_stored).collect()),
            active: RwSignal::new(stored.active_tab),
            router_url: RwSignal::new(stored.router_url),
        }
    }

    /// Adds a tab after the others with `sql` (named `name`, or the next free "Tab N") and
    /// makes it active.
    pub fn open_tab(&self, name: Option<String>, sql: String) {
        let stored = self.tabs.with_untracked(|ts| {
            let names: Vec<String> = ts.iter().map(|t| t.name.get_untracked()).collect();
            StoredTab {
                id: next_tab_id(ts.iter().map(|t| t.id)),
                name: name.unwrap_or_else(|| next_tab_name(names.iter().map(String::as_str))),
                sql,
                context: QueryContext::default(),
            }
        });
        let id = stored.id;
        self.tabs
            .update(|ts| ts.push(TabState::from_stored(stored)));
        self.active.set(id);
    }

    /// The stored form; tracks every persisted signal when called in an effect.
    pub fn to_stored(&self) -> StoredWorkbench {
        StoredWorkbench {
            tabs: self.tabs.get().iter().map(TabState::to_stored).collect(),
            active_tab: self.active.get(),
            router_url: self.router_url.get(),
        }
    }
}

/// Opens a new tab with a name and SQL, from anywhere below the workbench (provided as a
/// context by `WorkbenchView`; the ingest-success pane's "Query it" uses it).
#[derive(Clone, Copy)]
pub struct OpenTab(pub Callback<(String, String)>);
