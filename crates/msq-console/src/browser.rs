//! The few browser services the console uses besides the DOM Leptos manages:
//! `localStorage`, file downloads, reading a picked file and the clipboard.
//!
//! Every function degrades quietly (private browsing without storage, a blocked download):
//! persistence is a convenience, never a reason to break the page.

use wasm_bindgen::JsCast;

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The string stored under `key`, if storage is available and holds one.
pub fn storage_get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Stores `value` under `key`; ignored when storage is unavailable or full.
pub fn storage_set(key: &str, value: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Offers `text` to the user as a file download named `file_name` (a Blob behind an object
/// URL, clicked through a temporary `<a download>`).
///
/// # Errors
/// A message when the browser refuses any step.
pub fn download_text(file_name: &str, text: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| "the browser refused to create the file".to_owned())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "the browser refused to create a download link".to_owned())?;
    let result = (|| {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let anchor: web_sys::HtmlAnchorElement = document
            .create_element("a")
            .map_err(|_| "cannot create a link")?
            .dyn_into()
            .map_err(|_| "cannot create a link")?;
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
        Ok::<(), &str>(())
    })();
    // Some browsers start the download asynchronously: free the URL a little later.
    gloo::timers::callback::Timeout::new(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    result.map_err(str::to_owned)
}

/// The text of a file the user picked.
///
/// # Errors
/// The browser's reason when the file cannot be read (or is not UTF-8 text).
pub async fn read_file_text(file: web_sys::File) -> Result<String, String> {
    let file = gloo::file::File::from(file);
    gloo::file::futures::read_as_text(&file)
        .await
        .map_err(|e| e.to_string())
}

/// Puts `text` on the clipboard: `navigator.clipboard.writeText`, or, where that API is
/// missing or refused (a page served over plain HTTP, an old browser), the classic
/// `document.execCommand("copy")` of a hidden text area.
///
/// # Errors
/// A message when neither way worked.
pub async fn copy_text(text: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let navigator = window.navigator();
    // `navigator.clipboard` is undefined outside secure contexts: check before calling it.
    let has_clipboard =
        js_sys::Reflect::get(&navigator, &wasm_bindgen::JsValue::from_str("clipboard"))
            .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    let mut refused = None;
    if has_clipboard {
        let promise = navigator.clipboard().write_text(text);
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                refused = Some(
                    e.dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_else(|| "the clipboard refused the text".to_owned()),
                );
            }
        }
    }
    copy_with_exec_command(&window, text).map_err(|fallback| match refused {
        Some(r) => format!("{r} ({fallback})"),
        None => fallback.to_owned(),
    })
}

fn copy_with_exec_command(window: &web_sys::Window, text: &str) -> Result<(), &'static str> {
    let document: web_sys::HtmlDocument = window
        .document()
        .ok_or("no document")?
        .dyn_into()
        .map_err(|_| "not an HTML document")?;
    let body = document.body().ok_or("no document body")?;
    let area: web_sys::HtmlTextAreaElement = document
        .create_element("textarea")
        .map_err(|_| "cannot create a text area")?
        .dyn_into()
        .map_err(|_| "cannot create a text area")?;
    area.set_value(text);
    let _ = area.set_attribute("readonly", "");
    let _ = area.set_attribute("style", "position:fixed;top:0;left:-9999px;opacity:0");
    body.append_child(&area)
        .map_err(|_| "cannot add a text area")?;
    area.select();
    let copied = document.exec_command("copy").unwrap_or(false);
    area.remove();
    if copied {
        Ok(())
    } else {
        Err("copying is not allowed in this browser")
    }
}
