//! The data source form, with Test connection.

use leptos::prelude::*;

use super::Editing;
use crate::api::sources::{SaveSource, TestSource};
use crate::components::{FieldError, Notice};
use crate::model::{human_bytes, SourceForm, SourceKind};

#[component]
pub(super) fn SourceFormPanel(editing: RwSignal<Editing>, saved: RwSignal<u32>) -> impl IntoView {
    let (id, initial) = match editing.get_untracked() {
        Editing::Existing(s) => (Some(s.id), s.to_form()),
        _ => (
            None,
            SourceForm {
                kind: SourceKind::FileTree.as_str().into(),
                ..SourceForm::default()
            },
        ),
    };
    let form = RwSignal::new(initial);
    let save = ServerAction::<SaveSource>::new();
    let test = ServerAction::<TestSource>::new();
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saved.update(|n| *n += 1);
            editing.set(Editing::Closed);
        }
    });
    let kind_hint = move || {
        form.with(|f| {
            SourceKind::parse(&f.kind)
                .map(SourceKind::location_hint)
                .unwrap_or("")
        })
    };

    view! {
        <div class="panel" data-testid="source-form">
            <h2>{if id.is_some() { "Edit data source" } else { "New data source" }}</h2>
            <ActionForm action=save>
                {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
                <div class="form-grid">
                    <label>
                        "Name"
                        <input
                            name="form[name]"
                            data-testid="source-name-input"
                            maxlength="64"
                            prop:value=move || form.with(|f| f.name.clone())
                            on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))
                        />
                        <FieldError field="name" error=save_error />
                    </label>
                    <label>
                        "Kind"
                        <select
                            name="form[kind]"
                            data-testid="source-kind"
                            prop:value=move || form.with(|f| f.kind.clone())
                            on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))
                        >
                            {SourceKind::ALL
                                .into_iter()
                                .map(|k| view! { <option value=k.as_str()>{k.label()}</option> })
                                .collect_view()}
                        </select>
                        <FieldError field="kind" error=save_error />
                    </label>
                    <label class="form-wide">
                        "Location"
                        <input
                            name="form[location]"
                            data-testid="source-location"
                            placeholder=kind_hint
                            prop:value=move || form.with(|f| f.location.clone())
                            on:input=move |ev| form.update(|f| f.location = event_target_value(&ev))
                        />
                        <span class="hint">{kind_hint}</span>
                        <FieldError field="location" error=save_error />
                    </label>
                    <label class:hidden=move || !form.with(|f| SourceKind::parse(&f.kind).is_some_and(SourceKind::has_password))>
                        "Password"
                        <input
                            type="password"
                            name="form[password]"
                            data-testid="source-password"
                            autocomplete="new-password"
                            placeholder=if id.is_some() { "unchanged" } else { "" }
                            prop:value=move || form.with(|f| f.password.clone())
                            on:input=move |ev| form.update(|f| f.password = event_target_value(&ev))
                        />
                        <span class="hint">"Stored on the server, never shown again; leave blank to keep the current one."</span>
                    </label>
                    <label class="checkbox" class:hidden=move || !form.with(|f| f.kind == SourceKind::Postgres.as_str())>
                        <input
                            type="checkbox"
                            name="form[drill_server]"
                            data-testid="source-drill-server"
                            prop:checked=move || form.with(|f| f.drill_server.is_some())
                            on:change=move |ev| form.update(|f| f.drill_server = event_target_checked(&ev).then(|| "on".into()))
                        />
                        "Drill server: restore drills of tasks of this kind create and drop scratch databases here"
                        <FieldError field="drill_server" error=save_error />
                    </label>
                    <label class="form-wide">
                        "Description"
                        <input
                            name="form[description]"
                            prop:value=move || form.with(|f| f.description.clone())
                            on:input=move |ev| form.update(|f| f.description = event_target_value(&ev))
                        />
                    </label>
                </div>
                <Notice error=save_error />
                <div class="form-actions">
                    <button
                        type="button"
                        class="button"
                        data-testid="test-connection"
                        on:click=move |_| {
                            test.dispatch(TestSource { id, form: form.get_untracked() });
                        }
                    >
                        "Test connection"
                    </button>
                    <button type="submit" class="button button--primary" data-testid="save-source">
                        "Save"
                    </button>
                    <button type="button" class="button" on:click=move |_| editing.set(Editing::Closed)>
                        "Cancel"
                    </button>
                </div>
            </ActionForm>
            {move || {
                test.pending().get().then(|| view! { <p class="muted">"Connecting…"</p> })
            }}
            {move || {
                test.value()
                    .get()
                    .map(|result| match result {
                        Ok(report) => {
                            view! {
                                <div class="alert alert--ok" data-testid="connection-ok">
                                    "Connected: " {report.kind}
                                    {report.server_version.map(|v| format!(" {v}"))} " — "
                                    {report.objects} " objects, " {human_bytes(report.bytes)}
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <div class="alert alert--error" data-testid="connection-error">
                                    {error.to_string()}
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}
