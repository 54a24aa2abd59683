use leptos::prelude::*;

/// Shown for any path the console does not know; answers with HTTP 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="page" data-testid="not-found">
            <header class="page-header">
                <h1>"Page not found"</h1>
            </header>
            <p>"There is nothing at this address. Use the navigation to find your way back."</p>
            <p><a href="/" data-testid="back-to-dashboard">"Back to the dashboard"</a></p>
        </section>
    }
}
