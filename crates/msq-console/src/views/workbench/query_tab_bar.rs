//! The tab bar (≙ the tabs of Druid's `WorkbenchView`): one tab per query, `+` adds one,
//! `×` closes one (never the last), a double-click or the tab menu renames it in place; the
//! menu also duplicates a tab and closes the others.

use crate::runner;
use crate::tabs::{clean_tab_name, index_after_close, next_tab_id, next_tab_name, StoredTab};
use crate::workbench_state::TabState;
use leptos::html;
use leptos::prelude::*;

/// The tab bar.
#[component]
pub fn QueryTabBar(
    /// All tabs, in order.
    tabs: RwSignal<Vec<TabState>>,
    /// The active tab's id.
    active: RwSignal<u32>,
) -> impl IntoView {
    let renaming = RwSignal::new(None::<u32>);
    let menu_for = RwSignal::new(None::<u32>);

    let add = move |template: Option<TabState>| {
        let stored = tabs.with_untracked(|ts| {
            let names: Vec<String> = ts.iter().map(|t| t.name.get_untracked()).collect();
            let id = next_tab_id(ts.iter().map(|t| t.id));
            match template {
                Some(t) => StoredTab {
                    id,
                    name: format!("{} (copy)", t.name.get_untracked()),
                    sql: t.sql.get_untracked(),
                    context: t.context.get_untracked(),
                },
                None => StoredTab {
                    id,
                    name: next_tab_name(names.iter().map(String::as_str)),
                    sql: String::new(),
                    context: Default::default(),
                },
            }
        });
        let id = stored.id;
        tabs.update(|ts| ts.push(TabState::from_stored(stored)));
        active.set(id);
    };
    let close = move |id: u32| {
        let Some((index, len)) =
            tabs.with_untracked(|ts| ts.iter().position(|t| t.id == id).map(|i| (i, ts.len())))
        else {
            return;
        };
        if len <= 1 {
            return;
        }
        let mut closed = None;
        tabs.update(|ts| closed = Some(ts.remove(index)));
        if let Some(tab) = closed {
            runner::detach(tab);
        }
        if active.get_untracked() == id {
            let next =
                tabs.with_untracked(|ts| ts.get(index_after_close(len, index)).map(|t| t.id));
            if let Some(next) = next {
                active.set(next);
            }
        }
    };
    let close_others = move |id: u32| {
        let mut removed = Vec::new();
        tabs.update(|ts| {
            let (keep, others): (Vec<TabState>, Vec<TabState>) =
                ts.drain(..).partition(|t| t.id == id);
            *ts = keep;
            removed = others;
        });
        removed.into_iter().for_each(runner::detach);
        active.set(id);
    };
    let single = Memo::new(move |_| tabs.with(|ts| ts.len() <= 1));

    view! {
        <div class="tab-bar" id="tab-bar" role="tablist">
            <For each=move || tabs.get() key=|t| t.id let:tab>
                {
                    let id = tab.id;
                    let is_active = move || active.get() == id;
                    view! {
                        <div
                            class="query-tab-button"
                            class:active=is_active
                            role="tab"
                            aria-selected=move || is_active().to_string()
                            data-tab-id=id
                            on:click=move |_| active.set(id)
                            on:dblclick=move |_| renaming.set(Some(id))
                        >
                            {move || {
                                if renaming.get() == Some(id) {
                                    view! { <TabRenameInput tab renaming /> }.into_any()
                                } else {
                                    view! { <span class="tab-name" title="Double-click to rename">{move || tab.name.get()}</span> }.into_any()
                                }
                            }}
                            <Show when=is_active>
                                <button
                                    class="tab-menu-button"
                                    title="Tab menu"
                                    aria-label="Tab menu"
                                    on:click=move |ev| {
                                        ev.stop_propagation();
                                        menu_for.update(|m| *m = if *m == Some(id) { None } else { Some(id) });
                                    }
                                >
                                    "⋯"
                                </button>
                            </Show>
                            <button
                                class="tab-close"
                                title="Close tab"
                                aria-label="Close tab"
                                disabled=move || single.get()
                                on:click=move |ev| {
                                    ev.stop_propagation();
                                    close(id);
                                }
                            >
                                "×"
                            </button>
                            <Show when=move || menu_for.get() == Some(id)>
                                <div class="menu-backdrop" on:click=move |ev| {
                                    ev.stop_propagation();
                                    menu_for.set(None);
                                }></div>
                                <div class="menu tab-menu" role="menu" on:click=move |ev| ev.stop_propagation()>
                                    <button class="menu-item" id="tab-menu-rename" role="menuitem" on:click=move |_| {
                                        menu_for.set(None);
                                        renaming.set(Some(id));
                                    }>"Rename"</button>
                                    <button class="menu-item" id="tab-menu-duplicate" role="menuitem" on:click=move |_| {
                                        menu_for.set(None);
                                        add(Some(tab));
                                    }>"Duplicate"</button>
                                    <button class="menu-item" id="tab-menu-close-others" role="menuitem" disabled=move || single.get() on:click=move |_| {
                                        menu_for.set(None);
                                        close_others(id);
                                    }>"Close others"</button>
                                    <button class="menu-item" id="tab-menu-close" role="menuitem" disabled=move || single.get() on:click=move |_| {
                                        menu_for.set(None);
                                        close(id);
                                    }>"Close"</button>
                                </div>
                            </Show>
                        </div>
                    }
                }
            </For>
            <button class="tab-add" id="tab-add" title="New tab" aria-label="New tab" on:click=move |_| add(None)>
                "+"
            </button>
        </div>
    }
}

/// The in-place rename box: Enter or leaving the box keeps the name, Escape cancels.
#[component]
fn TabRenameInput(tab: TabState, renaming: RwSignal<Option<u32>>) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    input.on_load(|el| {
        let _ = el.focus();
        el.select();
    });
    let commit = move |text: String| {
        if renaming.get_untracked() != Some(tab.id) {
            return;
        }
        if let Some(name) = clean_tab_name(&text) {
            tab.name.set(name);
        }
        renaming.set(None);
    };
    view! {
        <input
            class="tab-rename-input"
            node_ref=input
            aria-label="Tab name"
            prop:value=tab.name.get_untracked()
            on:click=|ev| ev.stop_propagation()
            on:dblclick=|ev| ev.stop_propagation()
            on:keydown=move |ev| match ev.key().as_str() {
                "Enter" => commit(event_target_value(&ev)),
                "Escape" => renaming.set(None),
                _ => {}
            }
            on:blur=move |ev| commit(event_target_value(&ev))
        />
    }
}
