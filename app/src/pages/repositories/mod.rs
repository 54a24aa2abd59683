//! Repositories: where backups go, how much they hold, and Verify.

mod verify;

use leptos::prelude::*;

use crate::api::repositories::{
    list_repositories, repository_usage, CreateRepository, RepositorySummary,
};
use crate::components::{EmptyState, ErrorAlert, FieldError, Notice};
use crate::model::human_bytes;
use verify::VerifyPanel;

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let create = ServerAction::<CreateRepository>::new();
    let adding = RwSignal::new(false);
    let repositories = Resource::new(move || create.version().get(), |_| list_repositories());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            adding.set(false);
        }
    });
    view! {
        <section class="page" data-testid="repositories">
            <header class="page-header">
                <h1>"Repositories"</h1>
                <button class="button button--primary" data-testid="new-repository" on:click=move |_| adding.set(true)>
                    "Add repository"
                </button>
            </header>
            <div class="panel" class:hidden=move || !adding.get() data-testid="repository-form">
                <h2>"Add repository"</h2>
                <ActionForm action=create>
                    <div class="form-grid">
                        <label>
                            "Name"
                            <input name="name" data-testid="repository-name-input" maxlength="64" />
                            <FieldError field="name" error />
                        </label>
                        <label class="form-wide">
                            "Location"
                            <input name="location" data-testid="repository-location-input" placeholder="/srv/backups/repo or s3://bucket/prefix?endpoint=http://127.0.0.1:9000" />
                            <span class="hint">"A new location is initialised as an unencrypted repository; S3 credentials come from the server's AWS environment variables."</span>
                            <FieldError field="location" error />
                        </label>
                    </div>
                    <Notice error />
                    <div class="form-actions">
                        <button type="submit" class="button button--primary" data-testid="save-repository">"Add"</button>
                        <button type="button" class="button" on:click=move |_| adding.set(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </div>
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
                    <th>"Usage"</th>
                    <th>"Created"</th>
                    <th>"Verify"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|repo| {
                        let id = repo.id;
                        view! {
                            <tr data-testid="repository-row" data-name=repo.name.clone()>
                                <td data-testid="repository-name">
                                    {repo.name.clone()}
                                    {repo.is_default.then(|| view! { <span class="badge">"default"</span> })}
                                </td>
                                <td>{repo.kind.clone()}</td>
                                <td><code data-testid="repository-location">{repo.location.clone()}</code></td>
                                <td><UsageCell id /></td>
                                <td>{repo.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                <td><VerifyPanel id /></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub(crate) fn UsageCell(id: i64) -> impl IntoView {
    let usage = Resource::new(move || id, repository_usage);
    view! {
        <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
            {move || usage.get().map(|result| match result {
                Ok(u) => view! {
                    <span data-testid="repository-usage" data-points=u.points>
                        {format!("{} points · {} stored · dedup {:.1}× · compression {:.1}×", u.points, human_bytes(u.stored_bytes), u.dedup_ratio, u.compression_ratio)}
                        {(u.damaged > 0).then(|| view! { <span class="error-text">{format!(" · {} damaged files", u.damaged)}</span> })}
                    </span>
                }.into_any(),
                Err(error) => view! { <span class="error-text" data-testid="repository-usage-error">{error.to_string()}</span> }.into_any(),
            })}
        </Suspense>
    }
}
