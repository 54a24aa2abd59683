//! The data source form, with Test connection.

use leptos::prelude::*;

use super::Editing;
use crate::api::sources::{SaveSource, TestSource};
use crate::components::{kind_name, location_hint, FieldError, Notice};
use crate::i18n::*;
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
    let i18n = use_i18n();
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
                .map(|k| location_hint(i18n, k))
                .unwrap_or("")
        })
    };

    view! {
        <div class="panel" data-testid="source-form">
            <h2>{move || if id.is_some() { t_string!(i18n, sources.edit_title) } else { t_string!(i18n, sources.new_source) }}</h2>
            <ActionForm action=save>
                {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
                <div class="form-grid">
                    <label>
                        {t!(i18n, common.name)}
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
                        {t!(i18n, sources.kind)}
                        <select
                            name="form[kind]"
                            data-testid="source-kind"
                            prop:value=move || form.with(|f| f.kind.clone())
                            on:change=move |ev| form.update(|f| f.kind = event_target_value(&ev))
                        >
                            {SourceKind::ALL
                                .into_iter()
                                .map(|k| view! { <option value=k.as_str()>{move || kind_name(i18n, k)}</option> })
                                .collect_view()}
                        </select>
                        <FieldError field="kind" error=save_error />
                    </label>
                    <label class="form-wide">
                        {t!(i18n, sources.location)}
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
                        {t!(i18n, login.password)}
                        <input
                            type="password"
                            name="form[password]"
                            data-testid="source-password"
                            autocomplete="new-password"
                            placeholder=move || if id.is_some() { t_string!(i18n, sources.unchanged) } else { "" }
                            prop:value=move || form.with(|f| f.password.clone())
                            on:input=move |ev| form.update(|f| f.password = event_target_value(&ev))
                        />
                        <span class="hint">{t!(i18n, sources.password_hint)}</span>
                    </label>
                    <label class="checkbox" class:hidden=move || !form.with(|f| f.kind == SourceKind::Postgres.as_str())>
                        <input
                            type="checkbox"
                            name="form[drill_server]"
                            data-testid="source-drill-server"
                            prop:checked=move || form.with(|f| f.drill_server.is_some())
                            on:change=move |ev| form.update(|f| f.drill_server = event_target_checked(&ev).then(|| "on".into()))
                        />
                        {t!(i18n, sources.drill_server_hint)}
                        <FieldError field="drill_server" error=save_error />
                    </label>
                    <label class="form-wide">
                        {t!(i18n, sources.description)}
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
                        {t!(i18n, sources.test_connection)}
                    </button>
                    <button type="submit" class="button button--primary" data-testid="save-source">
                        {t!(i18n, common.save)}
                    </button>
                    <button type="button" class="button" on:click=move |_| editing.set(Editing::Closed)>
                        {t!(i18n, common.cancel)}
                    </button>
                </div>
            </ActionForm>
            {move || {
                test.pending().get().then(|| view! { <p class="muted">{t!(i18n, sources.connecting)}</p> })
            }}
            {move || {
                test.value()
                    .get()
                    .map(|result| match result {
                        Ok(report) => {
                            view! {
                                <div class="alert alert--ok" data-testid="connection-ok">
                                    {t!(i18n, sources.connected)} " " <span translate="no">{report.kind}
                                    {report.server_version.map(|v| format!(" {v}"))}</span> " — "
                                    {t!(i18n, sources.objects, count = report.objects, size = human_bytes(report.bytes))}
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <div class="alert alert--error" data-testid="connection-error">
                                    {error.localized(i18n)}
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </div>
    }
}
