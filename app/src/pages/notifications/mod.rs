//! Notifications (admins): channels (webhook, e-mail), their events, a test
//! button per channel, and the delivery log.

use leptos::prelude::*;

use crate::api::notifications::{
    notifications, CreateChannel, DeleteChannel, DeliveryRow, SetChannelEnabled, TestChannel,
};
use crate::components::{hydrated_flag, ErrorAlert, FieldError, Notice};
use crate::model::{when, EventKind};

#[component]
pub fn NotificationsPage() -> impl IntoView {
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
            <header class="page-header"><h1>"Notifications"</h1></header>
            <p class="muted">
                "Channels receive the events they subscribe to; a task can narrow or widen that on its form. "
                "Messages are queued and sent apart from the jobs, retried with backoff (5 attempts over about 40 minutes), and logged below."
            </p>
            <ChannelFormView create />
            <Notice error />
            {move || test.value().get().and_then(Result::ok).map(|row| view! {
                <div
                    class=if row.state == "delivered" { "alert alert--ok" } else { "alert alert--error" }
                    data-testid="test-result"
                    data-state=row.state.clone()
                >
                    {format!("Test to {:?}: {}", row.channel, row.state)}
                    {row.last_error.clone().map(|e| format!(" ({e})"))}
                </div>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || view_data.get().map(|result| match result {
                    Ok(data) => view! {
                        <h2>"Channels"</h2>
                        <table class="table" data-testid="channel-list">
                            <thead><tr><th>"Channel"</th><th>"Sends"</th><th>"Events"</th><th>"State"</th><th>"Actions"</th></tr></thead>
                            <tbody>
                                {data.channels.into_iter().map(|c| {
                                    let (id, enabled) = (c.id, c.enabled);
                                    let state = match (&c.failing, enabled) {
                                        (_, false) => "disabled".to_owned(),
                                        (Some(e), true) => format!("failing: {e}"),
                                        (None, true) => "enabled".to_owned(),
                                    };
                                    view! {
                                        <tr data-testid="channel-row" data-name=c.name.clone() data-failing=c.failing.is_some().to_string()>
                                            <td>{c.name.clone()}</td>
                                            <td>{c.target.clone()}</td>
                                            <td>{c.events.join(", ")}</td>
                                            <td data-testid="channel-state">{state}</td>
                                            <td class="actions">
                                                <button class="button button--small" data-testid="test-channel" disabled=move || test.pending().get() on:click=move |_| { test.dispatch(TestChannel { id }); }>"Send test"</button>
                                                <button class="button button--small" data-testid="toggle-channel" on:click=move |_| { enable.dispatch(SetChannelEnabled { id, enabled: !enabled }); }>
                                                    {if enabled { "Disable" } else { "Enable" }}
                                                </button>
                                                <button class="button button--small button--danger" data-testid="delete-channel" on:click=move |_| { delete.dispatch(DeleteChannel { id }); }>"Delete"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>"Delivery log"</h2>
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
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="delivery-log-empty">"Nothing sent yet."</p> }
            .into_any();
    }
    view! {
        <table class="table" data-testid="delivery-log">
            <thead><tr><th>"Queued"</th><th>"Channel"</th><th>"Event"</th><th>"Message"</th><th>"Outcome"</th><th>"Attempts"</th><th>"Last error"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|d| {
                    let outcome = match (d.state.as_str(), d.next_attempt_at) {
                        ("pending", Some(at)) if d.attempts > 0 => format!("retrying at {}", when(Some(at))),
                        ("pending", _) => "sending".to_owned(),
                        ("delivered", _) => format!("delivered {}", when(d.finished_at)),
                        (state, _) => state.to_owned(),
                    };
                    view! {
                        <tr data-testid="delivery-row" data-state=d.state.clone() data-channel=d.channel.clone()>
                            <td>{when(Some(d.created_at))}</td>
                            <td>{d.channel.clone()}</td>
                            <td>{d.event.clone()}</td>
                            <td>{d.summary.clone()}</td>
                            <td>{outcome}</td>
                            <td>{d.attempts}</td>
                            <td>{d.last_error.clone().unwrap_or_default()}</td>
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
    let kind = RwSignal::new("webhook".to_owned());
    let events = RwSignal::new(EventKind::failures());
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let webhook = move || kind.get() == "webhook";
    view! {
        <fieldset class="panel">
            <legend>"New channel"</legend>
            <ActionForm action=create attr:data-testid="channel-form" attr:data-hydrated=hydrated_flag()>
                <div class="form-grid">
                    <label>"Name" <input type="text" name="form[name]" data-testid="channel-name" /></label>
                    <FieldError field="name" error />
                    <label>"Kind"
                        <select name="form[kind]" data-testid="channel-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="webhook">"Webhook (HTTP POST, signed)"</option>
                            <option value="email">"E-mail (SMTP)"</option>
                        </select>
                    </label>
                    <FieldError field="kind" error />
                    <Show when=webhook>
                        <label>"URL" <input type="url" name="form[url]" data-testid="channel-url" placeholder="https://hooks.example.com/tidemark" /></label>
                        <FieldError field="url" error />
                        <label>"Signing key (empty: generate one)" <input type="password" name="form[secret]" autocomplete="off" data-testid="channel-secret" /></label>
                        <FieldError field="secret" error />
                    </Show>
                    <Show when=move || !webhook()>
                        <label>"SMTP server" <input type="text" name="form[smtp_host]" data-testid="channel-smtp-host" /></label>
                        <FieldError field="smtp_host" error />
                        <label>"Security"
                            <select name="form[smtp_security]" data-testid="channel-smtp-security">
                                <option value="starttls">"STARTTLS (port 587)"</option>
                                <option value="tls">"TLS (port 465)"</option>
                                <option value="none">"None (internal relay, port 25)"</option>
                            </select>
                        </label>
                        <FieldError field="smtp_security" error />
                        <label>"Port (empty: the usual one)" <input type="number" name="form[smtp_port]" data-testid="channel-smtp-port" /></label>
                        <FieldError field="smtp_port" error />
                        <label>"User (empty: no authentication)" <input type="text" name="form[smtp_username]" autocomplete="off" data-testid="channel-smtp-user" /></label>
                        <FieldError field="smtp_username" error />
                        <label>"Password" <input type="password" name="form[secret]" autocomplete="off" data-testid="channel-smtp-password" /></label>
                        <FieldError field="secret" error />
                        <label>"From" <input type="email" name="form[mail_from]" data-testid="channel-mail-from" /></label>
                        <FieldError field="mail_from" error />
                        <label>"To (one or more, separated by commas)" <textarea name="form[mail_to]" rows="2" data-testid="channel-mail-to"></textarea></label>
                        <FieldError field="mail_to" error />
                    </Show>
                </div>
                <fieldset class="checkbox-group" data-testid="channel-events">
                    <legend>"Events"</legend>
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
                            {event.label()}
                        </label>
                    }).collect_view()}
                    <FieldError field="events" error />
                </fieldset>
                <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, crate::AppError::Validation(_)))) />
                <button type="submit" class="button button--primary" data-testid="create-channel">"Add channel"</button>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).and_then(|c| c.generated_secret).map(|key| view! {
                <div class="alert alert--warn" data-testid="generated-secret-notice">
                    "The webhook's signing key, shown this once (the receiver checks X-Tidemark-Signature: sha256=HMAC of the body under it): "
                    <code data-testid="generated-secret">{key}</code>
                </div>
            })}
        </fieldset>
    }
}
