//! "Add repository": encrypted unless the administrator explicitly
//! chooses otherwise, with a warning that says what that means.

use leptos::prelude::*;

use crate::api::repositories::{CreateRepository, Encryption};
use crate::components::{FieldError, Notice};

#[component]
pub(super) fn AddRepositoryForm(
    create: ServerAction<CreateRepository>,
    adding: RwSignal<bool>,
) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let encryption = RwSignal::new(Encryption::Generate);
    view! {
        <div class="panel" class:hidden=move || !adding.get() data-testid="repository-form">
            <h2>"Add repository"</h2>
            <ActionForm action=create>
                <div class="form-grid">
                    <label>
                        "Name"
                        <input name="form[name]" data-testid="repository-name-input" maxlength="64" />
                        <FieldError field="name" error />
                    </label>
                    <label class="form-wide">
                        "Location"
                        <input name="form[location]" data-testid="repository-location-input" placeholder="/srv/backups/repo or s3://bucket/prefix?endpoint=http://127.0.0.1:9000" />
                        <span class="hint">"An empty location is initialised as a new repository; an existing one is added as it is. S3 credentials come from the server's AWS environment variables unless you give this repository its own below."</span>
                        <FieldError field="location" error />
                    </label>
                    <label>
                        "S3 access key id"
                        <input name="form[access_key_id]" data-testid="repository-access-key-id" autocomplete="off" />
                        <span class="hint">"S3 only, optional: this repository's own key (another account or provider)"</span>
                        <FieldError field="access_key_id" error />
                    </label>
                    <label>
                        "S3 secret access key"
                        <input type="password" name="form[secret_access_key]" data-testid="repository-secret-access-key" autocomplete="new-password" />
                        <span class="hint">"kept sealed on the server and never shown again"</span>
                        <FieldError field="secret_access_key" error />
                    </label>
                    <label class="form-wide">
                        "Encryption"
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
                                .map(|e| view! { <option value=e.as_str() selected=e == Encryption::Generate>{e.label()}</option> })
                                .collect_view()}
                        </select>
                        <span class="hint" class:hidden=move || encryption.get() != Encryption::Generate>
                            "The server generates a strong passphrase and keeps it sealed. Export it afterwards (Repositories → Export passphrase) and store it outside this server."
                        </span>
                        <span class="hint" class:hidden=move || encryption.get() != Encryption::Passphrase>
                            "For an existing encrypted repository (tidemark repo init --encrypt), give its passphrase."
                        </span>
                        <span class="alert alert--warn" data-testid="repository-plain-warning" class:hidden=move || encryption.get() != Encryption::None>
                            "Not encrypted: anyone who can read this storage (the directory, the bucket, its backups) can read every backup in it. A repository cannot be encrypted afterwards."
                        </span>
                        <FieldError field="encryption" error />
                    </label>
                    <label class:hidden=move || encryption.get() != Encryption::Passphrase>
                        "Passphrase"
                        <input type="password" name="form[passphrase]" data-testid="repository-passphrase" autocomplete="new-password" />
                        <span class="hint">"At least 12 characters for a new repository. Stored sealed on the server, never shown again."</span>
                        <FieldError field="passphrase" error />
                    </label>
                    <label class:hidden=move || encryption.get() != Encryption::Passphrase>
                        "Repeat passphrase"
                        <input type="password" name="form[repeat]" data-testid="repository-passphrase-repeat" autocomplete="new-password" />
                        <FieldError field="repeat" error />
                    </label>
                </div>
                <Notice error />
                <div class="form-actions">
                    <button type="submit" class="button button--primary" data-testid="save-repository">"Add"</button>
                    <button type="button" class="button" on:click=move |_| adding.set(false)>"Cancel"</button>
                </div>
            </ActionForm>
        </div>
    }
}
