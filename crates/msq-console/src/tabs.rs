//! The workbench's query tabs as stored in `localStorage`, and the pure rules for naming,
//! adding and closing them.
//!
//! Druid's console keeps its tabs under `WORKBENCH_QUERIES` and the last tab under
//! `WORKBENCH_LAST_TAB`; we keep both, plus the Druid router URL, in one versioned entry
//! ([`STORAGE_KEY`]). Anything unreadable there (corrupt JSON, no tabs, an unknown active
//! tab) yields a fresh or repaired workbench, never a panic.

use crate::query_context::QueryContext;
use serde::{Deserialize, Serialize};

/// The `localStorage` key of the workbench.
pub const STORAGE_KEY: &str = "acorn.workbench.tabs.v1";

/// The SQL a new workbench starts with: the docs' SQL-ingestion example.
pub const EXAMPLE_SQL: &str = "REPLACE INTO \"kttm_simple\" OVERWRITE ALL\nSELECT\n  TIME_PARSE(\"timestamp\") AS \"__time\",\n  \"agent_category\",\n  \"agent_type\"\nFROM TABLE(\n  EXTERN(\n    '{\"type\":\"http\",\"uris\":[\"https://static.imply.io/example-data/kttm-v2/kttm-v2-2019-08-25.json.gz\"]}',\n    '{\"type\":\"json\"}'\n  )\n) EXTEND (\"timestamp\" VARCHAR, \"agent_category\" VARCHAR, \"agent_type\" VARCHAR)\nPARTITIONED BY DAY\n";

/// One stored tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTab {
    /// Stable id, unique within the workbench.
    pub id: u32,
    /// The name shown on the tab.
    pub name: String,
    /// The tab's SQL text.
    #[serde(default)]
    pub sql: String,
    /// The tab's query context settings.
    #[serde(default)]
    pub context: QueryContext,
}

/// Everything the workbench persists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredWorkbench {
    /// The tabs, in display order (never empty once [`StoredWorkbench::repaired`]).
    pub tabs: Vec<StoredTab>,
    /// The id of the active tab.
    pub active_tab: u32,
    /// The Druid router URL Run submits to; empty = no engine connected.
    #[serde(default)]
    pub router_url: String,
}

impl Default for StoredWorkbench {
    fn default() -> Self {
        StoredWorkbench {
            tabs: vec![StoredTab {
                id: 1,
                name: "Tab 1".to_owned(),
                sql: EXAMPLE_SQL.to_owned(),
                context: QueryContext::default(),
            }],
            active_tab: 1,
            router_url: String::new(),
        }
    }
}

impl StoredWorkbench {
    /// Reads a stored workbench; `None` (or corrupt) gives the default one.
    pub fn load(stored: Option<&str>) -> StoredWorkbench {
        stored
            .and_then(|s| serde_json::from_str::<StoredWorkbench>(s).ok())
            .map(StoredWorkbench::repaired)
            .unwrap_or_default()
    }

    /// The JSON stored under [`STORAGE_KEY`].
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and bools cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Fixes what a hand-edited or half-written entry may get wrong: no tabs, duplicate ids,
    /// an active tab that does not exist, blank names.
    pub fn repaired(mut self) -> StoredWorkbench {
        let mut seen = std::collections::BTreeSet::new();
        self.tabs.retain(|t| seen.insert(t.id));
        if self.tabs.is_empty() {
            return StoredWorkbench {
                router_url: self.router_url,
                ..StoredWorkbench::default()
            };
        }
        for (i, tab) in self.tabs.iter_mut().enumerate() {
            if tab.name.trim().is_empty() {
                tab.name = format!("Tab {}", i + 1);
            }
        }
        if !self.tabs.iter().any(|t| t.id == self.active_tab) {
            self.active_tab = self.tabs[0].id;
        }
        self
    }
}

/// The name of a new tab: the first `"Tab N"` (N ≥ 1) not already used.
pub fn next_tab_name<'a>(existing: impl IntoIterator<Item = &'a str> + Clone) -> String {
    (1..)
        .map(|n| format!("Tab {n}"))
        .find(|name| !existing.clone().into_iter().any(|e| e == name))
        .unwrap_or_else(|| "Tab".to_owned())
}

/// An id not used by any of `existing`.
pub fn next_tab_id(existing: impl IntoIterator<Item = u32>) -> u32 {
    existing
        .into_iter()
        .max()
        .map_or(1, |m| m.saturating_add(1))
}

/// Which tab becomes active when the tab at `closed` (of `len` tabs, the active one) closes:
/// the one that slides into its place, or the new last one.
pub fn index_after_close(len: usize, closed: usize) -> usize {
    if len <= 1 {
        0
    } else if closed + 1 < len {
        closed
    } else {
        len - 2
    }
}

/// A new name for a tab, from the rename box: trimmed, `None` when blank (keep the old name).
pub fn clean_tab_name(input: &str) -> Option<String> {
    let name: String = input.trim().chars().take(80).collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_or_missing_storage_gives_a_fresh_workbench() {
        for stored in [
            None,
            Some(""),
            Some("{"),
            Some("[1,2]"),
            Some("{\"tabs\": 3}"),
            Some("null"),
        ] {
            let wb = StoredWorkbench::load(stored);
            assert_eq!(wb, StoredWorkbench::default(), "{stored:?}");
        }
    }

    #[test]
    fn round_trip() {
        let mut wb = StoredWorkbench::default();
        wb.tabs.push(StoredTab {
            id: 7,
            name: "Mine".into(),
            sql: "SELECT 1".into(),
            context: QueryContext {
                max_num_tasks: 5,
                ..QueryContext::default()
            },
        });
        wb.active_tab = 7;
        wb.router_url = "http://localhost:8888".into();
        assert_eq!(StoredWorkbench::load(Some(&wb.to_json())), wb);
    }

    #[test]
    fn repairs_bad_entries() {
        let wb = StoredWorkbench::load(Some(r#"{"tabs":[],"activeTab":3,"routerUrl":"http://r"}"#));
        assert_eq!(wb.tabs.len(), 1);
        assert_eq!(wb.router_url, "http://r");
        let wb = StoredWorkbench::load(Some(
            r#"{"tabs":[{"id":4,"name":" "},{"id":4,"name":"dup"},{"id":9,"name":"B","sql":"x"}],"activeTab":99}"#,
        ));
        assert_eq!(wb.tabs.len(), 2);
        assert_eq!(wb.tabs[0].name, "Tab 1");
        assert_eq!(wb.active_tab, 4);
        assert_eq!(wb.tabs[0].context, QueryContext::default());
    }

    #[test]
    fn naming_and_closing() {
        assert_eq!(next_tab_name(["Tab 1", "Tab 3"]), "Tab 2");
        assert_eq!(next_tab_name(Vec::<&str>::new()), "Tab 1");
        assert_eq!(next_tab_id([1, 5, 2]), 6);
        assert_eq!(next_tab_id([]), 1);
        assert_eq!(index_after_close(3, 0), 0);
        assert_eq!(index_after_close(3, 2), 1);
        assert_eq!(index_after_close(1, 0), 0);
        assert_eq!(clean_tab_name("  New name "), Some("New name".into()));
        assert_eq!(clean_tab_name("   "), None);
    }
}
