//! The top bar (≙ Druid's `HeaderBar`): the brand and the view name. Acorn has one view, the
//! Query view; the other Druid views are not part of it.

use leptos::prelude::*;

/// The header bar.
#[component]
pub fn HeaderBar() -> impl IntoView {
    view! {
        <header class="header-bar" id="header-bar">
            <a class="header-brand" href="./" title="Acorn">
                <svg class="header-logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                    <path d="M4 10 C4 5 8 3 12 3 C16 3 20 5 20 10 Z" class="logo-cap"></path>
                    <path d="M5.5 11 H18.5 C18.5 17 15 21 12 21 C9 21 5.5 17 5.5 11 Z" class="logo-nut"></path>
                    <path d="M12 3 V1" class="logo-stem"></path>
                </svg>
                <span class="header-brand-name">"Acorn"</span>
            </a>
            <nav class="header-nav">
                <span class="header-nav-item active" aria-current="page">"Query"</span>
            </nav>
            <span class="header-spacer"></span>
            <span class="header-tagline">"Druid multi-stage query engine, in your browser"</span>
        </header>
    }
}
