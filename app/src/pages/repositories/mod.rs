//! Repositories: where backups go, how much they hold, Verify, scheduled
//! checks, and the passphrase of encrypted ones.

mod checks;
mod create;
mod passphrase;
mod settings;
mod verify;

use leptos::prelude::*;

use crate::api::repositories::{
    list_repositories, repository_usage, CreateRepository, RepositorySummary, Usage,
};
use crate::components::{EmptyState, ErrorAlert, MeContext};
use crate::error::AppError;
use crate::model::{human_bytes, Role};
pub use checks::RepositoryChecksPage;
use create::AddRepositoryForm;
use passphrase::{PassphraseActions, UnlockAction};
use settings::SettingsAction;
use verify::VerifyPanel;

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let create = ServerAction::<CreateRepository>::new();
    let adding = RwSignal::new(false);
    let changed = RwSignal::new(0u32);
    let repositories = Resource::new(
        move || (create.version().get(), changed.get()),
        |_| list_repositories(),
    );
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
            <AddRepositoryForm create adding />
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
                            Ok(rows) => view! { <RepositoryTable rows changed /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn RepositoryTable(rows: Vec<RepositorySummary>, changed: RwSignal<u32>) -> impl IntoView {
    view! {
        <table class="table" data-testid="repository-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Kind"</th>
                    <th>"Location"</th>
                    <th>"Encryption"</th>
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
                        let usage = Resource::new(move || id, repository_usage);
                        let encryption = if repo.encrypted { "encrypted" } else { "plain" };
                        let for_actions = repo.clone();
                        let for_settings = repo.clone();
                        view! {
                            <tr data-testid="repository-row" data-name=repo.name.clone() data-encryption=encryption>
                                <td data-testid="repository-name">
                                    {repo.name.clone()}
                                    {repo.is_default.then(|| view! { <span class="badge">"default"</span> })}
                                </td>
                                <td>{repo.kind.clone()}</td>
                                <td>
                                    <code data-testid="repository-location">{repo.location.clone()}</code>
                                    {repo.s3_access_key_id.clone().map(|key| view! { <span class="badge" data-testid="repository-own-key" title="this repository's own S3 access key">{format!("key {key}")}</span> })}
                                    {repo.limit_upload_mib.map(|mib| view! { <span class="badge" data-testid="repository-limit" title="every job writing here stays below it">{format!("writes ≤ {mib} MiB/s")}</span> })}
                                    {move || MeContext::allows(Role::Admin).then(|| {
                                        let repo = for_settings.clone();
                                        view! { <SettingsAction repo changed /> }
                                    })}
                                </td>
                                <td data-testid="repository-encryption-state">
                                    {if repo.encrypted {
                                        view! { <span class="badge">"encrypted"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge badge--warn" title="Anyone who can read the storage can read these backups">"not encrypted"</span> }.into_any()
                                    }}
                                    {move || MeContext::allows(Role::Admin).then(|| {
                                        let repo = for_actions.clone();
                                        view! { <PassphraseActions repo changed /> }
                                    })}
                                </td>
                                <td><UsageView id usage unlock=changed /></td>
                                <td>{repo.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                <td>
                                    <VerifyPanel id />
                                    <a class="button button--small" href=format!("/repositories/{id}/checks") data-testid="repository-checks-link">"Checks and schedule"</a>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// A repository's usage, loaded on its own (the dashboard shows it too).
#[component]
pub(crate) fn UsageCell(id: i64) -> impl IntoView {
    let usage = Resource::new(move || id, repository_usage);
    view! { <UsageView id usage /> }
}

/// The usage, read only inside its own Suspense: a resource the page's
/// Transition waited on would be created anew by each of its renders.
/// With `unlock`, an encrypted repository the console cannot open offers
/// Unlock to administrators (and bumps `unlock` when done).
#[component]
fn UsageView(
    id: i64,
    usage: Resource<Result<Usage, AppError>>,
    #[prop(optional)] unlock: Option<RwSignal<u32>>,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
            {move || usage.get().map(|result| match result {
                Ok(u) => view! {
                    <span data-testid="repository-usage" data-points=u.points data-encrypted=u.encrypted.to_string()>
                        {format!("{} points · {} stored · dedup {:.1}× · compression {:.1}×", u.points, human_bytes(u.stored_bytes), u.dedup_ratio, u.compression_ratio)}
                        {(u.damaged > 0).then(|| view! { <span class="error-text">{format!(" · {} damaged files", u.damaged)}</span> })}
                    </span>
                }.into_any(),
                Err(error) => {
                    let locked = error.field("passphrase");
                    let offer = locked.is_some() && MeContext::allows(Role::Admin);
                    let text = locked.unwrap_or_else(|| error.to_string());
                    view! {
                        <span class="error-text" data-testid="repository-usage-error">{text}</span>
                        {unlock.filter(|_| offer).map(|changed| view! { <UnlockAction id changed /> })}
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
