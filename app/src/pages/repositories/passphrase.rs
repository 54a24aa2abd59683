//! An encrypted repository's passphrase, for administrators: change it
//! (the engine re-wraps the key), export it for recovery (with their own
//! password again, recorded), or unlock a repository the console cannot
//! open. The passphrase reaches the browser only through an export.

use crate::i18n::*;
use leptos::prelude::*;

use crate::api::repositories::{
    ChangeRepositoryPassphrase, Encryption, ExportRepositoryPassphrase, RepositorySummary,
    UnlockRepository,
};
use crate::components::{CopyButton, FieldError, Notice};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Nothing,
    Change,
    Export,
}

#[component]
pub(super) fn PassphraseActions(
    repo: RepositorySummary,
    /// Bumped when the list should be read again.
    changed: RwSignal<u32>,
) -> impl IntoView {
    let id = repo.id;
    let open = RwSignal::new(Open::Nothing);
    let toggle =
        move |panel: Open| open.update(|o| *o = if *o == panel { Open::Nothing } else { panel });
    let i18n = use_i18n();
    let exported_before = repo.passphrase_exported_at.map(|at| {
        t_string!(
            i18n,
            passphrase.exported_by,
            at = at.format("%Y-%m-%d %H:%M UTC"),
            by = repo.passphrase_exported_by.clone().unwrap_or_default()
        )
        .to_string()
    });
    let export = ServerAction::<ExportRepositoryPassphrase>::new();
    let export_status = Signal::derive(move || match export.value().get() {
        Some(Ok(done)) => Some(
            t_string!(
                i18n,
                passphrase.exported_by_you,
                at = done.exported_at.format("%Y-%m-%d %H:%M UTC")
            )
            .to_string(),
        ),
        _ => exported_before.clone(),
    });
    view! {
        <div class="actions" data-testid="passphrase-actions">
            {repo.encrypted.then(|| view! {
                <span class="muted" data-testid="passphrase-export-status">
                    {move || export_status.get().unwrap_or_else(|| t_string!(i18n, passphrase.never_exported).into())}
                </span>
                <button type="button" class="button button--small" data-testid="change-passphrase" on:click=move |_| toggle(Open::Change)>
                    {t!(i18n, passphrase.change)}
                </button>
                <button type="button" class="button button--small" data-testid="export-passphrase" on:click=move |_| toggle(Open::Export)>
                    {move || if export_status.with(Option::is_some) { t_string!(i18n, passphrase.export_again) } else { t_string!(i18n, passphrase.export) }}
                </button>
            })}
        </div>
        {move || match open.get() {
            Open::Change => view! { <ChangePanel id changed /> }.into_any(),
            Open::Export => view! { <ExportPanel id export /> }.into_any(),
            Open::Nothing => ().into_any(),
        }}
    }
}

#[component]
fn ChangePanel(id: i64, changed: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let change = ServerAction::<ChangeRepositoryPassphrase>::new();
    let error = Signal::derive(move || change.value().get().and_then(Result::err));
    let given = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <div class="panel" data-testid="change-passphrase-form">
            <ActionForm action=change>
                <input type="hidden" name="id" value=id />
                <label>
                    {t!(i18n, passphrase.new_passphrase)}
                    <select name="encryption" data-testid="change-passphrase-mode" on:change=move |ev| given.set(event_target_value(&ev) == Encryption::Passphrase.as_str())>
                        <option value=Encryption::Generate.as_str() selected>{t!(i18n, passphrase.generate)}</option>
                        <option value=Encryption::Passphrase.as_str()>{t!(i18n, passphrase.enter)}</option>
                    </select>
                    <FieldError field="encryption" error />
                </label>
                <label class:hidden=move || !given.get()>
                    {t!(i18n, repositories.passphrase)}
                    <input type="password" name="passphrase" data-testid="change-passphrase-input" autocomplete="new-password" />
                    <FieldError field="passphrase" error />
                </label>
                <label class:hidden=move || !given.get()>
                    {t!(i18n, passphrase.repeat)}
                    <input type="password" name="repeat" data-testid="change-passphrase-repeat" autocomplete="new-password" />
                    <FieldError field="repeat" error />
                </label>
                <p class="hint">{t!(i18n, passphrase.change_hint)}</p>
                <Notice error />
                <button type="submit" class="button button--small button--primary" data-testid="save-passphrase" disabled=move || change.pending().get()>
                    {t!(i18n, passphrase.change_button)}
                </button>
            </ActionForm>
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! {
                <p class="state--succeeded" data-testid="passphrase-changed">{t!(i18n, passphrase.changed)}</p>
            })}
        </div>
    }
}

#[component]
fn ExportPanel(id: i64, export: ServerAction<ExportRepositoryPassphrase>) -> impl IntoView {
    let i18n = use_i18n();
    let error = Signal::derive(move || export.value().get().and_then(Result::err));
    view! {
        <div class="panel" data-testid="export-passphrase-form">
            <p class="alert alert--warn">
                {t!(i18n, passphrase.export_warning)}
            </p>
            <ActionForm action=export>
                <input type="hidden" name="id" value=id />
                <label>
                    {t!(i18n, passphrase.your_password)}
                    <input type="password" name="password" data-testid="export-password" autocomplete="current-password" />
                    <FieldError field="password" error />
                </label>
                <Notice error />
                <button type="submit" class="button button--small" data-testid="confirm-export" disabled=move || export.pending().get()>
                    {t!(i18n, passphrase.show)}
                </button>
            </ActionForm>
            {move || export.value().get().and_then(Result::ok).map(|done| view! {
                <p>
                    <code data-testid="exported-passphrase">{done.passphrase.clone()}</code>
                    " "
                    <CopyButton text=done.passphrase testid="copy-passphrase" />
                </p>
            })}
        </div>
    }
}

/// Unlock, for an encrypted repository the console holds no working
/// passphrase for (shown where its usage says so).
#[component]
pub(super) fn UnlockAction(id: i64, changed: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    view! {
        <button type="button" class="button button--small" data-testid="unlock-repository" on:click=move |_| open.update(|o| *o = !*o)>
            {t!(i18n, passphrase.unlock)}
        </button>
        {move || open.get().then(|| view! { <UnlockPanel id changed /> })}
    }
}

#[component]
fn UnlockPanel(id: i64, changed: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let unlock = ServerAction::<UnlockRepository>::new();
    let error = Signal::derive(move || unlock.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(())) = unlock.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <div class="panel" data-testid="unlock-form">
            <ActionForm action=unlock>
                <input type="hidden" name="id" value=id />
                <label>
                    {t!(i18n, passphrase.repo_passphrase)}
                    <input type="password" name="passphrase" data-testid="unlock-passphrase" autocomplete="off" />
                    <FieldError field="passphrase" error />
                </label>
                <Notice error />
                <button type="submit" class="button button--small button--primary" data-testid="confirm-unlock">{t!(i18n, passphrase.unlock)}</button>
            </ActionForm>
        </div>
    }
}
