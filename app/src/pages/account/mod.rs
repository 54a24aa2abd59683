//! Sign-in, one's own password and API tokens, the users (admins), and the
//! audit log.

mod audit;
mod users;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

pub use audit::AuditPage;
pub use users::UsersPage;

use crate::api::auth::{ChangePassword, Login};
use crate::api::users::{my_tokens, CreateToken, RevokeToken};
use crate::components::{FieldError, Notice};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    let error = Signal::derive(move || login.value().get().and_then(|r| r.err()));
    view! {
        <section class="page page--narrow" data-testid="login-page">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:data-testid="login-form">
                <input type="hidden" name="next" prop:value=next />
                <div class="form-grid">
                    <label>"User name" <input type="text" name="username" autocomplete="username" data-testid="login-username" required /></label>
                    <label>"Password" <input type="password" name="password" autocomplete="current-password" data-testid="login-password" required /></label>
                </div>
                <div data-testid="login-error"><Notice error /></div>
                <button type="submit" class="button button--primary" data-testid="login-submit">"Sign in"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    view! {
        <section class="page page--narrow" data-testid="password-page">
            <h1>"Change password"</h1>
            <p class="muted">"A new password has at least 12 characters. A generated or reset password must be changed before anything else."</p>
            <ActionForm action=change attr:data-testid="password-form">
                <div class="form-grid">
                    <label>"Current password" <input type="password" name="current" autocomplete="current-password" data-testid="password-current" /></label>
                    <FieldError field="current" error />
                    <label>"New password" <input type="password" name="new" autocomplete="new-password" data-testid="password-new" /></label>
                    <FieldError field="new" error />
                    <label>"Repeat the new password" <input type="password" name="repeat" autocomplete="new-password" data-testid="password-repeat" /></label>
                    <FieldError field="repeat" error />
                </div>
                <button type="submit" class="button button--primary" data-testid="password-submit">"Change password"</button>
            </ActionForm>
        </section>
    }
}

/// One's API tokens: create (shown once) and revoke.
#[component]
pub fn AccountPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| my_tokens(),
    );
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| revoke.value().get().and_then(|r| r.err()))
    });
    view! {
        <section class="page" data-testid="account-page">
            <header class="page-header">
                <h1>"Account"</h1>
                <a class="button" href="/account/password" data-testid="change-password">"Change password"</a>
            </header>
            <h2>"API tokens"</h2>
            <p class="muted">"Scripts send a token as " <code>"Authorization: Bearer TOKEN"</code> " and act with your role. A token is shown once."</p>
            <Notice error />
            <ActionForm action=create attr:class="inline-form">
                <input type="text" name="name" placeholder="what the token is for" data-testid="token-name" />
                <button type="submit" class="button" data-testid="create-token">"Create token"</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|token| view! {
                <p class="alert alert--ok">"Copy it now: " <code data-testid="new-token">{token}</code></p>
            })}
            <Transition fallback=|| ()>
                {move || tokens.get().and_then(Result::ok).map(|tokens| view! {
                    <table class="table" data-testid="token-list">
                        <thead><tr><th>"Name"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                        <tbody>
                            {tokens.into_iter().map(|t| {
                                let id = t.id;
                                view! {
                                    <tr data-testid="token-row">
                                        <td>{t.name}</td>
                                        <td>{t.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                        <td>{t.last_used_at.map(|a| a.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()}</td>
                                        <td>{if t.revoked { view! { <span class="muted">"revoked"</span> }.into_any() } else { view! {
                                            <button class="button button--small button--danger" data-testid="revoke-token" on:click=move |_| { revoke.dispatch(RevokeToken { id }); }>"Revoke"</button>
                                        }.into_any() }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
            </Transition>
        </section>
    }
}
