//! "Add repository": encrypted unless the administrator explicitly
//! chooses otherwise, with a warning that says what that means.

use leptos::prelude::*;

use crate::api::repositories::{CreateRepository, Encryption};
use crate::components::{FieldError, Notice};
use crate::i18n::*;

#[component]
pub(super) fn AddRepositoryForm(
    create: ServerAction<CreateRepository>,
    adding: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let encryption = RwSignal::new(Encryption::Generate);
    view! {
        <div class="panel" class:hidden=move || !adding.get() data-testid="repository-form">
            <h2>{t!(i18n, repositories.add)}</h2>
            <ActionForm action=create>
                <div class="form-grid">
                    <label>
                        {t!(i18n, common.name)}
                        <input name="form[name]" data-testid="repository-name-input" maxlength="64" />
                        <FieldError field="name" error />
                    </label>
                    <label class="form-wide">
                        {t!(i18n, sources.location)}
                        <input name="form[location]" data-testid="repository-location-input" placeholder=move || t_string!(i18n, repositories.location_placeholder) />
                        <span class="hint">{t!(i18n, repositories.location_hint)}</span>
                        <FieldError field="location" error />
                    </label>
                    <label>
                        {t!(i18n, repositories.access_key_id)}
                        <input name="form[access_key_id]" data-testid="repository-access-key-id" autocomplete="off" />
                        <span class="hint">{t!(i18n, repositories.access_key_hint)}</span>
                        <FieldError field="access_key_id" error />
                    </label>
                    <label>
                        {t!(i18n, repositories.secret_key)}
                        <input type="password" name="form[secret_access_key]" data-testid="repository-secret-access-key" autocomplete="new-password" />
                        <span class="hint">{t!(i18n, repositories.secret_hint)}</span>
                        <FieldError field="secret_access_key" error />
                    </label>
                    <label class="form-wide">
                        {t!(i18n, repositories.encryption)}
                        <select
                            name="form[encryption]"
                            data-testid="repository-encryption"
                            on:change=move |ev| {
                                if let Some(choice) = Encryption::parse(&event_target_value(&ev)) {
                                    encryption.set(choice);
                                }
                            }
                        >
                            {Encryption::ALL
                                .into_iter()
                                .map(|e| view! { <option value=e.as_str() selected=e == Encryption::Generate>{move || match e {
                                    Encryption::Generate => t_string!(i18n, repositories.enc_generate),
                                    Encryption::Passphrase => t_string!(i18n, repositories.enc_passphrase),
                                    Encryption::None => t_string!(i18n, repositories.enc_none),
                                }}</option> })
                                .collect_view()}
                        </select>
                        <span class="hint" class:hidden=move || encryption.get() != Encryption::Generate>
                            {t!(i18n, repositories.generate_hint)}
                        </span>
                        <span class="hint" class:hidden=move || encryption.get() != Encryption::Passphrase>
                            {t!(i18n, repositories.passphrase_hint_before)} <code>"tidemark repo init --encrypt"</code> {t!(i18n, repositories.passphrase_hint_after)}
                        </span>
                        <span class="alert alert--warn" data-testid="repository-plain-warning" class:hidden=move || encryption.get() != Encryption::None>
                            {t!(i18n, repositories.plain_warning)}
                        </span>
                        <FieldError field="encryption" error />
                    </label>
                    <label class:hidden=move || encryption.get() != Encryption::Passphrase>
                        {t!(i18n, repositories.passphrase)}
                        <input type="password" name="form[passphrase]" data-testid="repository-passphrase" autocomplete="new-password" />
                        <span class="hint">{t!(i18n, repositories.passphrase_rules)}</span>
                        <FieldError field="passphrase" error />
                    </label>
                    <label class:hidden=move || encryption.get() != Encryption::Passphrase>
                        {t!(i18n, repositories.repeat_passphrase)}
                        <input type="password" name="form[repeat]" data-testid="repository-passphrase-repeat" autocomplete="new-password" />
                        <FieldError field="repeat" error />
                    </label>
                </div>
                <Notice error />
                <div class="form-actions">
                    <button type="submit" class="button button--primary" data-testid="save-repository">{t!(i18n, repositories.add_button)}</button>
                    <button type="button" class="button" on:click=move |_| adding.set(false)>{t!(i18n, common.cancel)}</button>
                </div>
            </ActionForm>
        </div>
    }
}
