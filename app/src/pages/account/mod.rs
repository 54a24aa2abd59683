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
use crate::i18n::*;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    let error = Signal::derive(move || login.value().get().and_then(|r| r.err()));
    view! {
        <section class="page page--narrow" data-testid="login-page">
            <h1>{t!(i18n, login.title)}</h1>
            <ActionForm action=login attr:data-testid="login-form">
                <input type="hidden" name="next" prop:value=next />
                <div class="form-grid">
                    <label>{t!(i18n, users.user_name)} <input type="text" name="username" autocomplete="username" data-testid="login-username" required /></label>
                    <label>{t!(i18n, login.password)} <input type="password" name="password" autocomplete="current-password" data-testid="login-password" required /></label>
                </div>
                <div data-testid="login-error"><Notice error /></div>
                <button type="submit" class="button button--primary" data-testid="login-submit">{t!(i18n, login.title)}</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let change = ServerAction::<ChangePassword>::new();
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    view! {
        <section class="page page--narrow" data-testid="password-page">
            <h1>{t!(i18n, password.title)}</h1>
            <p class="muted">{t!(i18n, password.hint)}</p>
            <ActionForm action=change attr:data-testid="password-form">
                <div class="form-grid">
                    <label>{t!(i18n, password.current)} <input type="password" name="current" autocomplete="current-password" data-testid="password-current" /></label>
                    <FieldError field="current" error />
                    <label>{t!(i18n, password.new_password)} <input type="password" name="new" autocomplete="new-password" data-testid="password-new" /></label>
                    <FieldError field="new" error />
                    <label>{t!(i18n, password.repeat)} <input type="password" name="repeat" autocomplete="new-password" data-testid="password-repeat" /></label>
                    <FieldError field="repeat" error />
                </div>
                <button type="submit" class="button button--primary" data-testid="password-submit">{t!(i18n, password.title)}</button>
            </ActionForm>
        </section>
    }
}

/// One's API tokens: create (shown once) and revoke.
#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
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
                <h1>{t!(i18n, nav.account)}</h1>
                <a class="button" href="/account/password" data-testid="change-password">{t!(i18n, password.title)}</a>
            </header>
            <h2>{t!(i18n, tokens.title)}</h2>
            <p class="muted">{t!(i18n, tokens.hint_before)} <code>"Authorization: Bearer TOKEN"</code> {t!(i18n, tokens.hint_after)}</p>
            <Notice error />
            <ActionForm action=create attr:class="inline-form">
                <input type="text" name="name" placeholder=move || t_string!(i18n, tokens.name_placeholder) data-testid="token-name" />
                <button type="submit" class="button" data-testid="create-token">{t!(i18n, tokens.create)}</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|token| view! {
                <p class="alert alert--ok">{t!(i18n, tokens.copy_now)} " " <code data-testid="new-token">{token}</code></p>
            })}
            <Transition fallback=|| ()>
                {move || tokens.get().and_then(Result::ok).map(|tokens| view! {
                    <table class="table" data-testid="token-list">
                        <thead><tr><th>{t!(i18n, common.name)}</th><th>{t!(i18n, tokens.created)}</th><th>{t!(i18n, tokens.last_used)}</th><th></th></tr></thead>
                        <tbody>
                            {tokens.into_iter().map(|t| {
                                let id = t.id;
                                view! {
                                    <tr data-testid="token-row">
                                        <td translate="no">{t.name}</td>
                                        <td>{t.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                        <td>{t.last_used_at.map(|a| a.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()}</td>
                                        <td>{if t.revoked { view! { <span class="muted">{t!(i18n, tokens.revoked)}</span> }.into_any() } else { view! {
                                            <button class="button button--small button--danger" data-testid="revoke-token" on:click=move |_| { revoke.dispatch(RevokeToken { id }); }>{t!(i18n, tokens.revoke)}</button>
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
