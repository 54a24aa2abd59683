//! Puts a text on the clipboard and says so.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    text: String,
    #[prop(default = "copy-button")] testid: &'static str,
) -> impl IntoView {
    let i18n = crate::i18n::use_i18n();
    let copied = RwSignal::new(false);
    let on_click = move |_| {
        copy_to_clipboard(&text);
        copied.set(true);
    };
    view! {
        <button type="button" class="button button--small" data-testid=testid title=move || crate::i18n::t_string!(i18n, copy.tip) on:click=on_click>
            {move || if copied.get() { crate::i18n::t_string!(i18n, copy.copied) } else { crate::i18n::t_string!(i18n, copy.copy) }}
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str) {
    let clipboard = window().navigator().clipboard();
    // The promise settles later; a refusal shows in the browser console.
    let _ = clipboard.write_text(text);
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_: &str) {}
