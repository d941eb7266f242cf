//! Entry point of the console: install the panic hook, mount the app, start the in-browser
//! engine (so `window.acorn` and the `/druid/…` endpoints answer before the first Run).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(msq_console::App);
    if let Err(e) = msq_console::runner::in_browser_engine() {
        web_sys::console::warn_1(
            &format!("acorn: the in-browser engine did not start: {e}").into(),
        );
    }
}
