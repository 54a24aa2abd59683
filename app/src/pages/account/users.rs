//! Users (admins only): create, change role, disable, reset password.

use leptos::prelude::*;

use crate::api::users::{
    list_users, viewer_downloads, CreateUser, ResetPassword, SetUserDisabled, SetUserRole,
    SetViewerDownloads,
};
use crate::components::role_name;
use crate::components::{ErrorAlert, FieldError, Notice};
use crate::i18n::*;
use crate::model::Role;

/// The administrator's switch: may viewers download files from points?
#[component]
fn ViewerDownloads() -> impl IntoView {
    let i18n = use_i18n();
    let set = ServerAction::<SetViewerDownloads>::new();
    let current = Resource::new(move || set.version().get(), |_| viewer_downloads());
    view! {
        <fieldset class="panel" data-testid="viewer-downloads">
            <legend>{t!(i18n, users.downloads)}</legend>
            <Transition fallback=|| ()>
                {move || current.get().and_then(Result::ok).map(|allowed| view! {
                    <label class="checkbox">
                        <input type="checkbox" data-testid="viewer-downloads-switch" prop:checked=allowed
                            on:change=move |ev| { set.dispatch(SetViewerDownloads { allowed: event_target_checked(&ev) }); } />
                        " " {t!(i18n, users.downloads_hint)}
                    </label>
                })}
            </Transition>
        </fieldset>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateUser>::new();
    let role = ServerAction::<SetUserRole>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                role.version().get(),
                disable.version().get(),
                reset.version().get(),
            )
        },
        |_| list_users(),
    );
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let error = Signal::derive(move || {
        [
            role.value().get(),
            disable.value().get(),
            reset.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(|r| r.err())
    });
    view! {
        <section class="page" data-testid="users-page">
            <header class="page-header"><h1>{t!(i18n, nav.users)}</h1></header>
            <ViewerDownloads />
            <fieldset class="panel">
                <legend>{t!(i18n, users.new_user)}</legend>
                <ActionForm action=create attr:data-testid="user-form">
                    <div class="form-grid">
                        <label>{t!(i18n, users.user_name)} <input type="text" name="username" data-testid="user-name" /></label>
                        <FieldError field="username" error=create_error />
                        <label>{t!(i18n, users.role)}
                            <select name="role" data-testid="user-role">
                                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{role_name(i18n, r)}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>{t!(i18n, users.initial_password)} <input type="password" name="password" data-testid="user-password" /></label>
                        <FieldError field="password" error=create_error />
                    </div>
                    <button type="submit" class="button button--primary" data-testid="create-user">{t!(i18n, users.create)}</button>
                </ActionForm>
            </fieldset>
            <Notice error />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || users.get().map(|result| match result {
                    Ok(users) => view! {
                        <table class="table" data-testid="user-list">
                            <thead><tr><th>{t!(i18n, users.user)}</th><th>{t!(i18n, users.role)}</th><th>{t!(i18n, users.state)}</th><th>{t!(i18n, common.actions)}</th></tr></thead>
                            <tbody>
                                {users.into_iter().map(|u| {
                                    let id = u.id;
                                    let disabled = u.disabled;
                                    let temporary = RwSignal::new(String::new());
                                    let (name, current) = (u.username.clone(), u.role.clone());
                                    view! {
                                        <tr data-testid="user-row" data-name=name>
                                            <td translate="no">{u.username.clone()}</td>
                                            <td>
                                                <select data-testid="user-row-role" on:change=move |ev| { role.dispatch(SetUserRole { id, role: event_target_value(&ev) }); }>
                                                    {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r.as_str() == current>{role_name(i18n, r)}</option> }).collect_view()}
                                                </select>
                                            </td>
                                            <td>{move || if disabled { t_string!(i18n, users.disabled) } else if u.must_change_password { t_string!(i18n, users.must_change) } else { t_string!(i18n, users.active) }}</td>
                                            <td class="actions">
                                                <button class="button button--small" data-testid="toggle-user" on:click=move |_| { disable.dispatch(SetUserDisabled { id, disabled: !disabled }); }>
                                                    {move || if disabled { t_string!(i18n, users.enable) } else { t_string!(i18n, users.disable) }}
                                                </button>
                                                <input type="password" placeholder=move || t_string!(i18n, users.temporary_password) data-testid="reset-password-input" on:input=move |ev| temporary.set(event_target_value(&ev)) />
                                                <button class="button button--small" data-testid="reset-password" on:click=move |_| { reset.dispatch(ResetPassword { id, password: temporary.get_untracked() }); }>{t!(i18n, users.reset_password)}</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
