//! A repository's settings, for administrators: the upload limit every
//! job writing to it keeps to, and an S3 repository's access key (a new
//! one is tried against the storage first; the secret is never shown).

use crate::i18n::*;
use leptos::prelude::*;

use crate::api::repositories::{RepositorySummary, UpdateRepositorySettings};
use crate::components::{FieldError, Notice};

#[component]
pub(super) fn SettingsAction(
    repo: RepositorySummary,
    /// Bumped when the list should be read again.
    changed: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    view! {
        <button type="button" class="button button--small" data-testid="repository-settings" on:click=move |_| open.update(|o| *o = !*o)>
            {t!(i18n, repo_settings.settings)}
        </button>
        {move || open.get().then(|| {
            let repo = repo.clone();
            view! { <SettingsPanel repo changed /> }
        })}
    }
}

#[component]
fn SettingsPanel(repo: RepositorySummary, changed: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let update = ServerAction::<UpdateRepositorySettings>::new();
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let key_mode = RwSignal::new("keep".to_owned());
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    let s3 = repo.kind == "s3";
    let limit = repo
        .limit_upload_mib
        .map(|l| l.to_string())
        .unwrap_or_default();
    let current_key = match &repo.s3_access_key_id {
        Some(key) => t_string!(i18n, repo_settings.keep_own, key).to_string(),
        None => t_string!(i18n, repo_settings.keep_env).to_owned(),
    };
    view! {
        <div class="panel" data-testid="repository-settings-form">
            <ActionForm action=update>
                <input type="hidden" name="id" value=repo.id />
                <label>
                    {t!(i18n, repo_settings.limit)}
                    <input type="number" name="limit_upload_mib" data-testid="repository-limit-input" value=limit />
                    <span class="hint">{t!(i18n, repo_settings.limit_hint)}</span>
                    <FieldError field="limit_upload_mib" error />
                </label>
                <label class:hidden=!s3>
                    {t!(i18n, repo_settings.s3_key)}
                    <select name="s3_key" data-testid="repository-key-mode" on:change=move |ev| key_mode.set(event_target_value(&ev))>
                        <option value="keep" selected>{current_key}</option>
                        <option value="own">{t!(i18n, repo_settings.new_key)}</option>
                        <option value="environment">{t!(i18n, repo_settings.env)}</option>
                    </select>
                    <FieldError field="s3_key" error />
                </label>
                <label class:hidden=move || key_mode.get() != "own">
                    {t!(i18n, repo_settings.key_id)}
                    <input type="text" name="access_key_id" data-testid="repository-key-id" autocomplete="off" />
                    <FieldError field="access_key_id" error />
                </label>
                <label class:hidden=move || key_mode.get() != "own">
                    {t!(i18n, repo_settings.secret)}
                    <input type="password" name="secret_access_key" data-testid="repository-key-secret" autocomplete="new-password" />
                    <FieldError field="secret_access_key" error />
                </label>
                <Notice error />
                <button type="submit" class="button button--small button--primary" data-testid="save-repository-settings" disabled=move || update.pending().get()>
                    {t!(i18n, common.save)}
                </button>
            </ActionForm>
            {move || matches!(update.value().get(), Some(Ok(_))).then(|| view! {
                <p class="state--succeeded" data-testid="repository-settings-saved">{t!(i18n, repo_settings.saved)}</p>
            })}
        </div>
    }
}
