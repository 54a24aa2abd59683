use leptos::prelude::*;

use crate::api::overview::{get_overview, Overview};
use crate::components::ErrorAlert;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let overview = Resource::new(move || refreshes.get(), |_| get_overview());

    view! {
        <section class="page" data-testid="dashboard">
            <header class="page-header">
                <h1>"Dashboard"</h1>
                <button
                    class="button"
                    data-testid="refresh-overview"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    overview
                        .get()
                        .map(|result| match result {
                            Ok(overview) => view! { <OverviewCards overview /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn OverviewCards(overview: Overview) -> impl IntoView {
    let started = overview
        .started_at
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let checked = overview.checked_at.format("%H:%M:%S%.3f UTC").to_string();
    view! {
        <div class="cards">
            <article class="card" data-testid="card-catalog">
                <h2>"Catalog"</h2>
                <p class="card-figure" data-testid="catalog-backend">{overview.catalog_backend}</p>
                <p class="muted">"schema version " {overview.schema_version}</p>
            </article>
            <article class="card" data-testid="card-repositories">
                <h2>"Repositories"</h2>
                <p class="card-figure" data-testid="repository-count">{overview.repositories}</p>
                <p class="muted"><a href="/repositories">"Manage repositories"</a></p>
            </article>
            <article class="card" data-testid="card-server">
                <h2>"Server"</h2>
                <p class="card-figure">{overview.version}</p>
                <p class="muted">"up since " {started}</p>
                <p class="muted" data-testid="data-dir">"data in " {overview.data_dir}</p>
            </article>
        </div>
        <p class="muted" data-testid="checked-at">"Checked at " {checked}</p>
    }
}
