//! The Files panel: the page's local files, which Druid's `local` input source reads in the
//! tab (`{"type":"local","files":["/<name>"]}`, spec `druid-msq.md` §1.2).
//!
//! Files dropped anywhere on the page or picked with "Add files" are copied (streamed) into
//! the Origin Private File System by [`msq_wasm::local_files`], where the engine's Web Worker
//! reads them; they stay until removed, across reloads. Each row shows the file's name, size,
//! the `EXTERN` input source that reads it (with a Copy button) and a Remove button.
//!
//! Element ids (for e2e tests): `files-panel`, `file-input` (the hidden `<input type=file
//! multiple>` behind "Add files", `files-add`), `files-status` (progress or the last error),
//! `files-empty`, rows `.files-row` with `data-name`, `.files-snippet`, `.files-copy`,
//! `.files-remove`.

use crate::format;
use leptos::prelude::*;
use leptos::task::spawn_local;
use msq_wasm::local_files::{self, LocalFile};
use wasm_bindgen::JsCast;

/// The input source JSON that reads the local file `name` (`/<name>`).
pub fn input_source_json(name: &str) -> String {
    serde_json::json!({ "type": "local", "files": [format!("/{name}")] }).to_string()
}

/// The first argument of `EXTERN` for the local file `name`: its input source as a SQL
/// string literal (single quotes doubled), e.g. `'{"type":"local","files":["/a.json"]}'`.
pub fn extern_snippet(name: &str) -> String {
    format!("'{}'", input_source_json(name).replace('\'', "''"))
}

/// Whether a drag carries files (its `dataTransfer.types` lists `Files`), as opposed to text
/// or an element dragged within the page.
fn drag_has_files(ev: &web_sys::DragEvent) -> bool {
    ev.data_transfer().is_some_and(|dt| {
        dt.types()
            .iter()
            .any(|t| t.as_string().as_deref() == Some("Files"))
    })
}

/// Every file of a `FileList`.
fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The Files panel (`#files-panel`), in the workbench's sidebar.
#[component]
pub fn FilesPanel() -> impl IntoView {
    let files = RwSignal::new(Vec::<LocalFile>::new());
    let status = RwSignal::new(None::<(String, bool)>);
    let busy = RwSignal::new(false);
    let dragging = RwSignal::new(false);

    let refresh = move || {
        spawn_local(async move {
            match local_files::list().await {
                Ok(list) => {
                    let _ = files.try_set(list);
                }
                Err(e) => {
                    let _ = status.try_set(Some((format!("Cannot list the files: {e}"), true)));
                }
            }
        });
    };
    refresh();

    // Copies the files one after the other, then lists the directory again.
    let add = move |picked: Vec<web_sys::File>| {
        if picked.is_empty() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let mut errors = Vec::new();
            let total = picked.len();
            for (i, file) in picked.iter().enumerate() {
                let name = file.name();
                let _ = status.try_set(Some((
                    format!(
                        "Copying {name} ({}, {} of {total})…",
                        format::bytes(file.size() as u64),
                        i + 1
                    ),
                    false,
                )));
                if let Err(e) = local_files::add_file(file).await {
                    errors.push(format!("Cannot add {name}: {e}"));
                }
            }
            let _ = status.try_set(if errors.is_empty() {
                Some((
                    format!(
                        "Added {total} {}.",
                        if total == 1 { "file" } else { "files" }
                    ),
                    false,
                ))
            } else {
                Some((errors.join(" "), true))
            });
            let _ = busy.try_set(false);
            refresh();
        });
    };

    // Drop anywhere on the page: only drags that carry files are taken (text dragged into the
    // editor keeps working), and the browser is kept from opening the dropped file.
    let over = window_event_listener(leptos::ev::dragover, move |ev| {
        if drag_has_files(&ev) {
            ev.prevent_default();
            dragging.set(true);
        }
    });
    let leave = window_event_listener(leptos::ev::dragleave, move |ev| {
        // `relatedTarget` is null when the drag leaves the window.
        if ev.related_target().is_none() {
            dragging.set(false);
        }
    });
    let drop = window_event_listener(leptos::ev::drop, move |ev| {
        dragging.set(false);
        if drag_has_files(&ev) {
            ev.prevent_default();
            add(files_of(ev.data_transfer().and_then(|dt| dt.files())));
        }
    });
    on_cleanup(move || {
        over.remove();
        leave.remove();
        drop.remove();
    });

    let on_pick = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let picked = files_of(input.files());
        // Picking the same file again must fire `change` again.
        input.set_value("");
        add(picked);
    };
    let input_ref = NodeRef::<leptos::html::Input>::new();

    let remove = move |name: String| {
        spawn_local(async move {
            if let Err(e) = local_files::remove(&name).await {
                let _ = status.try_set(Some((format!("Cannot remove {name}: {e}"), true)));
            } else {
                let _ = status.try_set(Some((format!("Removed {name}."), false)));
            }
            refresh();
        });
    };

    let copy = move |text: String| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let promise = window.navigator().clipboard().write_text(&text);
        spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_err() {
                let _ = status.try_set(Some((
                    "The browser refused the clipboard: select the text and copy it.".to_owned(),
                    true,
                )));
            } else {
                let _ = status.try_set(Some(("Copied the input source.".to_owned(), false)));
            }
        });
    };

    let row = move |file: LocalFile| {
        let snippet = extern_snippet(&file.name);
        let copied = snippet.clone();
        let name = file.name.clone();
        view! {
            <li class="files-row" data-name=file.name.clone()>
                <div class="files-row-line">
                    <span class="files-name" title=file.path()>{file.name.clone()}</span>
                    <span class="files-size">{format::bytes(file.size)}</span>
                    <button
                        class="button button-small files-remove"
                        title="Remove this file from the page"
                        on:click=move |_| remove(name.clone())
                    >
                        "Remove"
                    </button>
                </div>
                <div class="files-row-line">
                    <code class="files-snippet" title="EXTERN's input source">{snippet}</code>
                    <button
                        class="button button-small files-copy"
                        title="Copy the input source"
                        on:click=move |_| copy(copied.clone())
                    >
                        "Copy"
                    </button>
                </div>
            </li>
        }
    };

    view! {
        <section
            class="side-panel files-panel"
            id="files-panel"
            class:files-dragging=move || dragging.get()
        >
            <div class="side-panel-header">
                <h3 class="side-panel-title">"Files"</h3>
                <button
                    id="files-add"
                    class="button button-small"
                    title="Copy files into the page (or drop them anywhere on it)"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        if let Some(input) = input_ref.get() {
                            input.click();
                        }
                    }
                >
                    "Add files"
                </button>
                <input
                    id="file-input"
                    class="files-input"
                    type="file"
                    multiple
                    node_ref=input_ref
                    on:change=on_pick
                />
            </div>
            {move || status.get().map(|(text, error)| view! {
                <p id="files-status" class="files-status" class:files-error=error>{text}</p>
            })}
            {move || {
                let list = files.get();
                if list.is_empty() {
                    view! {
                        <p id="files-empty" class="files-empty">
                            "Drop files on the page or use Add files. The local input source reads them: "
                            <code>"{\"type\":\"local\",\"files\":[\"/<name>\"]}"</code>
                            " or "
                            <code>"{\"type\":\"local\",\"baseDir\":\"/\",\"filter\":\"*.json\"}"</code>
                        </p>
                    }
                    .into_any()
                } else {
                    view! { <ul class="files-list">{list.into_iter().map(row).collect_view()}</ul> }
                        .into_any()
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_sql_literals_of_druid_json() {
        assert_eq!(
            extern_snippet("wikipedia.json.gz"),
            r#"'{"type":"local","files":["/wikipedia.json.gz"]}'"#
        );
        assert_eq!(
            extern_snippet("it's \"x\".csv"),
            r#"'{"type":"local","files":["/it''s \"x\".csv"]}'"#
        );
        let json: serde_json::Value =
            serde_json::from_str(&input_source_json("a b.json")).unwrap_or_default();
        assert_eq!(json["files"][0], "/a b.json");
    }
}
