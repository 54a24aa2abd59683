//! Data Sources: list, create, edit, delete, and Test connection.

mod form;

use leptos::prelude::*;

use crate::api::sources::{list_sources, DeleteSource, SourceSummary};
use crate::components::{EmptyState, ErrorAlert, Notice};
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
                <h1>"Data Sources"</h1>
                <button
                    class="button button--primary"
                    data-testid="new-source"
                    on:click=move |_| editing.set(Editing::New)
                >
                    "New data source"
                </button>
            </header>
            {move || {
                (editing.get() != Editing::Closed)
                    .then(|| view! { <SourceFormPanel editing saved /> })
            }}
            <Notice error=delete_error />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    sources
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title="No data sources">
                                        "Register a file tree or a SQLite database to back it up."
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
    view! {
        <table class="table" data-testid="source-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Kind"</th>
                    <th>"Location"</th>
                    <th>"Description"</th>
                    <th>"Actions"</th>
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
                                    {source.name.clone()}
                                    {source.is_demo.then(|| view! { <span class="badge">"demo"</span> })}
                                    {source.drill_server.then(|| view! { <span class="badge" data-testid="drill-server-badge">"drill server"</span> })}
                                </td>
                                <td>{source.kind_label.clone()}</td>
                                <td><code>{source.location.clone()}</code></td>
                                <td class="muted">{source.description.clone()}</td>
                                <td class="actions">
                                    <button
                                        class="button button--small"
                                        data-testid="edit-source"
                                        on:click=move |_| editing.set(Editing::Existing(edit.clone()))
                                    >
                                        "Edit"
                                    </button>
                                    <button
                                        class="button button--small button--danger"
                                        data-testid="delete-source"
                                        on:click=move |_| {
                                            if confirm(&format!("Delete data source {name:?}? Its backups stay in their repositories.")) {
                                                delete.dispatch(DeleteSource { id });
                                            }
                                        }
                                    >
                                        "Delete"
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
