use crate::i18n::*;
use leptos::prelude::*;

/// Shown for any path the console does not know; answers with HTTP 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="page" data-testid="not-found">
            <header class="page-header">
                <h1>{t!(i18n, not_found_page.title)}</h1>
            </header>
            <p>{t!(i18n, not_found_page.body)}</p>
            <p><a href="/" data-testid="back-to-dashboard">{t!(i18n, not_found_page.back)}</a></p>
        </section>
    }
}
