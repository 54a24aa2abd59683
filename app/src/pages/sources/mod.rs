//! Data Sources: list, create, edit, delete, and Test connection.

mod form;

use leptos::prelude::*;

use crate::api::sources::{list_sources, DeleteSource, SourceSummary};
use crate::components::{kind_name, EmptyState, ErrorAlert, Notice};
use crate::i18n::*;
use crate::model::SourceKind;
use form::SourceFormPanel;

/// Which form is open: none, a new source, or an existing one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Editing {
    Closed,
    New,
    Existing(SourceSummary),
}

#[component]
pub fn SourcesPage() -> impl IntoView {
    let i18n = use_i18n();
    let editing = RwSignal::new(Editing::Closed);
    let saved = RwSignal::new(0u32);
    let delete = ServerAction::<DeleteSource>::new();
    let sources = Resource::new(
        move || (saved.get(), delete.version().get()),
        |_| list_sources(),
    );
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));

    view! {
        <section class="page" data-testid="sources">
            <header class="page-header">
                <h1>{t!(i18n, nav.sources)}</h1>
                <button
                    class="button button--primary"
                    data-testid="new-source"
                    on:click=move |_| editing.set(Editing::New)
                >
                    {t!(i18n, sources.new_source)}
                </button>
            </header>
            {move || {
                (editing.get() != Editing::Closed)
                    .then(|| view! { <SourceFormPanel editing saved /> })
            }}
            <Notice error=delete_error />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || {
                    sources
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title=move || t_string!(i18n, sources.empty_title)>
                                        {t!(i18n, sources.empty_hint)}
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(rows) => view! { <SourceTable rows editing delete /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn SourceTable(
    rows: Vec<SourceSummary>,
    editing: RwSignal<Editing>,
    delete: ServerAction<DeleteSource>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" data-testid="source-table">
            <thead>
                <tr>
                    <th>{t!(i18n, common.name)}</th>
                    <th>{t!(i18n, sources.kind)}</th>
                    <th>{t!(i18n, sources.location)}</th>
                    <th>{t!(i18n, sources.description)}</th>
                    <th>{t!(i18n, common.actions)}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|source| {
                        let id = source.id;
                        let name = source.name.clone();
                        let edit = source.clone();
                        view! {
                            <tr data-testid="source-row" data-name=source.name.clone()>
                                <td data-testid="source-name">
                                    <span translate="no">{source.name.clone()}</span>
                                    {source.is_demo.then(|| view! { <span class="badge">{t!(i18n, sources.demo)}</span> })}
                                    {source.drill_server.then(|| view! { <span class="badge" data-testid="drill-server-badge">{t!(i18n, sources.drill_server)}</span> })}
                                </td>
                                <td>{SourceKind::parse(&source.kind).map(|k| kind_name(i18n, k)).unwrap_or_default()}</td>
                                <td><code>{source.location.clone()}</code></td>
                                <td class="muted" translate="no">{source.description.clone()}</td>
                                <td class="actions">
                                    <button
                                        class="button button--small"
                                        data-testid="edit-source"
                                        on:click=move |_| editing.set(Editing::Existing(edit.clone()))
                                    >
                                        {t!(i18n, common.edit)}
                                    </button>
                                    <button
                                        class="button button--small button--danger"
                                        data-testid="delete-source"
                                        on:click=move |_| {
                                            if confirm(&t_string!(i18n, sources.confirm_delete, name = format!("{name:?}"))) {
                                                delete.dispatch(DeleteSource { id });
                                            }
                                        }
                                    >
                                        {t!(i18n, common.delete)}
                                    </button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Asks the browser for confirmation (always yes while rendering on the server).
pub(crate) fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        true
    }
}
