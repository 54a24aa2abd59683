use leptos::prelude::*;

use crate::api::repositories::{list_repositories, RepositorySummary};
use crate::components::{EmptyState, ErrorAlert};

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let repositories = Resource::new(|| (), |_| list_repositories());
    view! {
        <section class="page" data-testid="repositories">
            <header class="page-header">
                <h1>"Repositories"</h1>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    repositories
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title="No repositories">
                                        "The default local repository is created when the server starts."
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(rows) => view! { <RepositoryTable rows /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn RepositoryTable(rows: Vec<RepositorySummary>) -> impl IntoView {
    view! {
        <table class="table" data-testid="repository-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Kind"</th>
                    <th>"Location"</th>
                    <th>"Created"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|repo| {
                        view! {
                            <tr data-testid="repository-row">
                                <td data-testid="repository-name">
                                    {repo.name}
                                    {repo.is_default.then(|| view! { <span class="badge">"default"</span> })}
                                </td>
                                <td>{repo.kind}</td>
                                <td><code data-testid="repository-location">{repo.location}</code></td>
                                <td>{repo.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
