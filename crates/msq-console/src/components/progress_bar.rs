//! A thin horizontal progress bar with an optional label.

use leptos::prelude::*;

/// A bar filled to `fraction` (0..=1, clamped; `NaN` shows empty).
#[component]
pub fn ProgressBar(
    /// Progress, 0..=1.
    #[prop(into)]
    fraction: Signal<f64>,
    /// Extra CSS class (e.g. `"progress-running"`).
    #[prop(optional, into)]
    class: String,
    /// Text after the bar (e.g. `"45%"`).
    #[prop(optional, into)]
    label: Option<Signal<String>>,
) -> impl IntoView {
    let width = move || {
        let f = fraction.get();
        let f = if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        };
        format!("{:.2}%", f * 100.0)
    };
    view! {
        <div class=format!("progress {class}")>
            <div class="progress-track">
                <div class="progress-fill" style:width=width></div>
            </div>
            {label.map(|l| view! { <span class="progress-label">{move || l.get()}</span> })}
        </div>
    }
}
