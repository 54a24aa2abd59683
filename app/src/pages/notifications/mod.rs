//! Notifications (admins): channels (webhook, e-mail), their events, a test
//! button per channel, and the delivery log.

use crate::i18n::*;
use leptos::prelude::*;

use crate::api::notifications::{
    notifications, CreateChannel, DeleteChannel, DeliveryRow, SetChannelEnabled, TestChannel,
};
use crate::components::{event_name, hydrated_flag, ErrorAlert, FieldError, Notice};
use crate::model::{when, EventKind};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateChannel>::new();
    let enable = ServerAction::<SetChannelEnabled>::new();
    let delete = ServerAction::<DeleteChannel>::new();
    let test = ServerAction::<TestChannel>::new();
    let view_data = Resource::new(
        move || {
            (
                create.version().get(),
                enable.version().get(),
                delete.version().get(),
                test.version().get(),
            )
        },
        |_| notifications(),
    );
    let error = Signal::derive(move || {
        [
            enable.value().get().map(|r| r.map(drop)),
            delete.value().get().map(|r| r.map(drop)),
            test.value().get().map(|r| r.map(drop)),
        ]
        .into_iter()
        .flatten()
        .find_map(|r| r.err())
    });
    view! {
        <section class="page" data-testid="notifications-page">
            <header class="page-header"><h1>{t!(i18n, nav.notifications)}</h1></header>
            <p class="muted">
                {t!(i18n, notifications.intro)}
            </p>
            <ChannelFormView create />
            <Notice error />
            {move || test.value().get().and_then(Result::ok).map(|row| view! {
                <div
                    class=if row.state == "delivered" { "alert alert--ok" } else { "alert alert--error" }
                    data-testid="test-result"
                    data-state=row.state.clone()
                >
                    {t!(i18n, notifications.test_to)} " " <span translate="no">{format!("{:?}", row.channel)}</span> ": "
                    {delivery_state(i18n, &row.state)}
                    {row.last_error.clone().map(|e| view! { " (" <span translate="no">{e}</span> ")" })}
                </div>
            })}
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || view_data.get().map(|result| match result {
                    Ok(data) => view! {
                        <h2>{t!(i18n, notifications.channels)}</h2>
                        <table class="table" data-testid="channel-list">
                            <thead><tr><th>{t!(i18n, notifications.channel)}</th><th>{t!(i18n, notifications.sends)}</th><th>{t!(i18n, notifications.events)}</th><th>{t!(i18n, users.state)}</th><th>{t!(i18n, common.actions)}</th></tr></thead>
                            <tbody>
                                {data.channels.into_iter().map(|c| {
                                    let (id, enabled) = (c.id, c.enabled);
                                    let state = match (&c.failing, enabled) {
                                        (_, false) => view! { {t!(i18n, users.disabled)} }.into_any(),
                                        (Some(e), true) => view! { {t!(i18n, notifications.failing)} " " <span translate="no">{e.clone()}</span> }.into_any(),
                                        (None, true) => view! { {t!(i18n, notifications.enabled)} }.into_any(),
                                    };
                                    view! {
                                        <tr data-testid="channel-row" data-name=c.name.clone() data-failing=c.failing.is_some().to_string()>
                                            <td translate="no">{c.name.clone()}</td>
                                            <td translate="no">{c.target.clone()}</td>
                                            <td>{move || c.events.iter().map(|label| event_label(i18n, label)).collect::<Vec<_>>().join(t_string!(i18n, common.list_separator))}</td>
                                            <td data-testid="channel-state">{state}</td>
                                            <td class="actions">
                                                <button class="button button--small" data-testid="test-channel" disabled=move || test.pending().get() on:click=move |_| { test.dispatch(TestChannel { id }); }>{t!(i18n, notifications.send_test)}</button>
                                                <button class="button button--small" data-testid="toggle-channel" on:click=move |_| { enable.dispatch(SetChannelEnabled { id, enabled: !enabled }); }>
                                                    {if enabled { t_string!(i18n, users.disable) } else { t_string!(i18n, users.enable) }}
                                                </button>
                                                <button class="button button--small button--danger" data-testid="delete-channel" on:click=move |_| { delete.dispatch(DeleteChannel { id }); }>{t!(i18n, common.delete)}</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>{t!(i18n, notifications.log)}</h2>
                        <DeliveryLog rows=data.deliveries />
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DeliveryLog(rows: Vec<DeliveryRow>) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="delivery-log-empty">{t!(i18n, notifications.nothing_sent)}</p> }
            .into_any();
    }
    view! {
        <table class="table" data-testid="delivery-log">
            <thead><tr><th>{t!(i18n, notifications.queued)}</th><th>{t!(i18n, notifications.channel)}</th><th>{t!(i18n, notifications.event)}</th><th>{t!(i18n, notifications.message)}</th><th>{t!(i18n, audit.outcome)}</th><th>{t!(i18n, notifications.attempts)}</th><th>{t!(i18n, notifications.last_error)}</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|d| {
                    let outcome = match (d.state.as_str(), d.next_attempt_at) {
                        ("pending", Some(at)) if d.attempts > 0 => t_string!(i18n, notifications.retrying_at, at = when(Some(at))).to_string(),
                        ("pending", _) => t_string!(i18n, notifications.sending).to_owned(),
                        ("delivered", _) => t_string!(i18n, notifications.delivered_at, at = when(d.finished_at)).to_string(),
                        (state, _) => delivery_state(i18n, state),
                    };
                    view! {
                        <tr data-testid="delivery-row" data-state=d.state.clone() data-channel=d.channel.clone()>
                            <td>{when(Some(d.created_at))}</td>
                            <td translate="no">{d.channel.clone()}</td>
                            <td>{event_label(i18n, &d.event)}</td>
                            <td translate="no">{d.summary.clone()}</td>
                            <td>{outcome}</td>
                            <td>{d.attempts}</td>
                            <td translate="no">{d.last_error.clone().unwrap_or_default()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ChannelFormView(create: ServerAction<CreateChannel>) -> impl IntoView {
    let i18n = use_i18n();
    let kind = RwSignal::new("webhook".to_owned());
    let events = RwSignal::new(EventKind::failures());
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let webhook = move || kind.get() == "webhook";
    view! {
        <fieldset class="panel">
            <legend>{t!(i18n, notifications.new_channel)}</legend>
            <ActionForm action=create attr:data-testid="channel-form" attr:data-hydrated=hydrated_flag()>
                <div class="form-grid">
                    <label>{t!(i18n, common.name)} <input type="text" name="form[name]" data-testid="channel-name" /></label>
                    <FieldError field="name" error />
                    <label>{t!(i18n, sources.kind)}
                        <select name="form[kind]" data-testid="channel-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="webhook">{t!(i18n, notifications.webhook)}</option>
                            <option value="email">{t!(i18n, notifications.email)}</option>
                        </select>
                    </label>
                    <FieldError field="kind" error />
                    <Show when=webhook>
                        <label>{t!(i18n, notifications.url)} <input type="url" name="form[url]" data-testid="channel-url" placeholder="https://hooks.example.com/tidemark" /></label>
                        <FieldError field="url" error />
                        <label>{t!(i18n, notifications.signing_key)} <input type="password" name="form[secret]" autocomplete="off" data-testid="channel-secret" /></label>
                        <FieldError field="secret" error />
                    </Show>
                    <Show when=move || !webhook()>
                        <label>{t!(i18n, notifications.smtp_server)} <input type="text" name="form[smtp_host]" data-testid="channel-smtp-host" /></label>
                        <FieldError field="smtp_host" error />
                        <label>{t!(i18n, notifications.security)}
                            <select name="form[smtp_security]" data-testid="channel-smtp-security">
                                <option value="starttls">{t!(i18n, notifications.starttls)}</option>
                                <option value="tls">{t!(i18n, notifications.tls)}</option>
                                <option value="none">{t!(i18n, notifications.no_tls)}</option>
                            </select>
                        </label>
                        <FieldError field="smtp_security" error />
                        <label>{t!(i18n, notifications.port)} <input type="number" name="form[smtp_port]" data-testid="channel-smtp-port" /></label>
                        <FieldError field="smtp_port" error />
                        <label>{t!(i18n, notifications.smtp_user)} <input type="text" name="form[smtp_username]" autocomplete="off" data-testid="channel-smtp-user" /></label>
                        <FieldError field="smtp_username" error />
                        <label>{t!(i18n, login.password)} <input type="password" name="form[secret]" autocomplete="off" data-testid="channel-smtp-password" /></label>
                        <FieldError field="secret" error />
                        <label>{t!(i18n, notifications.from)} <input type="email" name="form[mail_from]" data-testid="channel-mail-from" /></label>
                        <FieldError field="mail_from" error />
                        <label>{t!(i18n, notifications.to)} <textarea name="form[mail_to]" rows="2" data-testid="channel-mail-to"></textarea></label>
                        <FieldError field="mail_to" error />
                    </Show>
                </div>
                <fieldset class="checkbox-group" data-testid="channel-events">
                    <legend>{t!(i18n, notifications.events)}</legend>
                    <input type="hidden" name="form[events]" prop:value=move || EventKind::join(&events.get()) />
                    {EventKind::SUBSCRIBABLE.into_iter().map(|event| view! {
                        <label class="checkbox">
                            <input
                                type="checkbox"
                                data-testid=format!("channel-event-{}", event.as_str())
                                prop:checked=move || events.with(|e| e.contains(&event))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    events.update(|list| {
                                        list.retain(|e| *e != event);
                                        if on { list.push(event); }
                                    });
                                }
                            />
                            {move || event_name(i18n, event)}
                        </label>
                    }).collect_view()}
                    <FieldError field="events" error />
                </fieldset>
                <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, crate::AppError::Validation(_)))) />
                <button type="submit" class="button button--primary" data-testid="create-channel">{t!(i18n, notifications.add)}</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).and_then(|c| c.generated_secret).map(|key| view! {
                <div class="alert alert--warn" data-testid="generated-secret-notice">
                    {t!(i18n, notifications.secret_before)} <code>"X-Tidemark-Signature: sha256=HMAC"</code> {t!(i18n, notifications.secret_after)} " "
                    <code data-testid="generated-secret">{key}</code>
                </div>
            })}
        </fieldset>
    }
}

/// An event as the server names it (its English label), in the console's language.
fn event_label(i18n: crate::I18n, label: &str) -> String {
    let known = EventKind::SUBSCRIBABLE.into_iter().chain([EventKind::Test]);
    known
        .into_iter()
        .find(|e| e.label() == label || e.as_str() == label)
        .map_or_else(|| label.to_owned(), |e| event_name(i18n, e).to_owned())
}

/// A delivery's state in the console's language.
fn delivery_state(i18n: crate::I18n, state: &str) -> String {
    match state {
        "delivered" => t_string!(i18n, notifications.delivered).to_owned(),
        "failed" => t_string!(i18n, phase.failed).to_owned(),
        "pending" => t_string!(i18n, notifications.sending).to_owned(),
        other => other.to_owned(),
    }
}
