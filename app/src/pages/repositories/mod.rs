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
use crate::i18n::*;
use crate::model::{human_bytes, Role};
pub use checks::RepositoryChecksPage;
use create::AddRepositoryForm;
use passphrase::{PassphraseActions, UnlockAction};
use settings::SettingsAction;
use verify::VerifyPanel;

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    let i18n = use_i18n();
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
                <h1>{t!(i18n, nav.repositories)}</h1>
                <button class="button button--primary" data-testid="new-repository" on:click=move |_| adding.set(true)>
                    {t!(i18n, repositories.add)}
                </button>
            </header>
            <AddRepositoryForm create adding />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || {
                    repositories
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title=move || t_string!(i18n, repositories.empty_title)>
                                        {t!(i18n, repositories.empty_hint)}
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
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="repository-table">
            <thead>
                <tr>
                    <th>{t!(i18n, common.name)}</th>
                    <th>{t!(i18n, sources.kind)}</th>
                    <th>{t!(i18n, sources.location)}</th>
                    <th>{t!(i18n, repositories.encryption)}</th>
                    <th>{t!(i18n, repositories.usage)}</th>
                    <th>{t!(i18n, tokens.created)}</th>
                    <th>{t!(i18n, repositories.verify)}</th>
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
                                    <span translate="no">{repo.name.clone()}</span>
                                    {repo.is_default.then(|| view! { <span class="badge">{t!(i18n, repositories.default)}</span> })}
                                </td>
                                <td>{match repo.kind.as_str() {
                                    "local" => t_string!(i18n, repositories.kind_local),
                                    _ => "S3",
                                }}</td>
                                <td>
                                    <code data-testid="repository-location">{repo.location.clone()}</code>
                                    {repo.s3_access_key_id.clone().map(|key| view! { <span class="badge" data-testid="repository-own-key" title=move || t_string!(i18n, repositories.own_key_tip)>{t!(i18n, repositories.own_key)} " " <span translate="no">{key}</span></span> })}
                                    {repo.limit_upload_mib.map(|mib| view! { <span class="badge" data-testid="repository-limit" title=move || t_string!(i18n, repositories.limit_tip)>{t!(i18n, repositories.limit, mib)}</span> })}
                                    {move || MeContext::allows(Role::Admin).then(|| {
                                        let repo = for_settings.clone();
                                        view! { <SettingsAction repo changed /> }
                                    })}
                                </td>
                                <td data-testid="repository-encryption-state">
                                    {if repo.encrypted {
                                        view! { <span class="badge">{t!(i18n, repositories.encrypted)}</span> }.into_any()
                                    } else {
                                        view! { <span class="badge badge--warn" title=move || t_string!(i18n, repositories.plain_tip)>{t!(i18n, repositories.not_encrypted)}</span> }.into_any()
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
                                    <a class="button button--small" href=format!("/repositories/{id}/checks") data-testid="repository-checks-link">{t!(i18n, repositories.checks_link)}</a>
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
    let i18n = use_i18n();
    view! {
        <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
            {move || usage.get().map(|result| match result {
                Ok(u) => view! {
                    <span data-testid="repository-usage" data-points=u.points data-encrypted=u.encrypted.to_string()>
                        {t!(i18n, repositories.usage_figures, points = u.points, stored = human_bytes(u.stored_bytes), dedup = format!("{:.1}", u.dedup_ratio), compression = format!("{:.1}", u.compression_ratio))}
                        {(u.damaged > 0).then(|| view! { <span class="error-text">" · " {t!(i18n, repositories.damaged, count = u.damaged)}</span> })}
                    </span>
                }.into_any(),
                Err(error) => {
                    let locked = error.field("passphrase");
                    let offer = locked.is_some() && MeContext::allows(Role::Admin);
                    let text = locked.unwrap_or_else(|| error.localized(i18n));
                    view! {
                        <span class="error-text" data-testid="repository-usage-error" translate="no">{text}</span>
                        {unlock.filter(|_| offer).map(|changed| view! { <UnlockAction id changed /> })}
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
