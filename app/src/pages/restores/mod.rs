//! Restoration Management: the restore tasks with their state and live
//! progress; Start, Retry, Cancel, View and Delete.

mod checks;
pub(crate) use checks::check_name_view;
mod detail;
mod extract;
mod form;
mod objects;
mod to_time;

use leptos::prelude::*;

use crate::components::job_log::JobError;
use crate::components::restore_words;
use leptos_router::components::A;

pub use detail::RestorePage;
pub use form::RestoreCreatePage;

use crate::api::restores::{list_restores, CancelRestore, DeleteRestore, RestoreRow, RetryRestore};
use crate::components::{
    EmptyState, EndedRestoreBar, ErrorAlert, Notice, RestoreFeed, RestoreProgressView,
};

use crate::i18n::*;
pub(crate) use crate::model::when;

#[component]
pub fn RestoresPage() -> impl IntoView {
    let i18n = use_i18n();
    let feed = RestoreFeed::get();
    let cancel = ServerAction::<CancelRestore>::new();
    let retry = ServerAction::<RetryRestore>::new();
    let delete = ServerAction::<DeleteRestore>::new();
    let restores = Resource::new(
        move || {
            (
                feed.map(|f| f.finished.get()),
                cancel.version().get(),
                retry.version().get(),
                delete.version().get(),
            )
        },
        |_| list_restores(),
    );
    let error = Signal::derive(move || {
        [retry.value().get(), delete.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
            .or_else(|| cancel.value().get().and_then(|r| r.err()))
    });
    view! {
        <section class="page" data-testid="restores">
            <header class="page-header">
                <h1>{t!(i18n, restores.title)}</h1>
                <A href="/restores/new" attr:class="button button--primary" attr:data-testid="new-restore">{t!(i18n, restores.create)}</A>
            </header>
            <Notice error />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || restores.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! {
                        <EmptyState title=move || t_string!(i18n, restores.empty_title)>
                            {t!(i18n, restores.empty_body)}
                        </EmptyState>
                    }.into_any(),
                    Ok(rows) => view! { <RestoreTable rows cancel retry delete /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RestoreTable(
    rows: Vec<RestoreRow>,
    cancel: ServerAction<CancelRestore>,
    retry: ServerAction<RetryRestore>,
    delete: ServerAction<DeleteRestore>,
) -> impl IntoView {
    let i18n = use_i18n();
    let feed = RestoreFeed::get();
    view! {
        <table class="table" data-testid="restore-list">
            <thead>
                <tr>
                    <th>{t!(i18n, common.name)}</th><th>{t!(i18n, restores.col_task)}</th><th>{t!(i18n, restores.col_point)}</th><th>{t!(i18n, restores.col_target)}</th>
                    <th>{t!(i18n, history.state)}</th><th>{t!(i18n, restores.col_progress)}</th><th>{t!(i18n, restores.col_created)}</th><th>{t!(i18n, run.finished)}</th><th>{t!(i18n, common.actions)}</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let id = r.id;
                    let live = Signal::derive(move || feed.and_then(|f| f.restore(id)));
                    let state = r.state.clone();
                    let active = state == "pending" || state == "running";
                    let retryable = state == "failed" || state == "cancelled";
                    let (row_name, row_state, bar_state) = (r.name.clone(), state.clone(), state.clone());
                    view! {
                        <tr data-testid="restore-row" data-name=row_name data-state=row_state>
                            <td><A href=format!("/restores/{id}") attr:translate="no">{r.name.clone()}</A></td>
                            <td translate="no">{r.task_name.clone()}</td>
                            <td><code>{r.point_id.clone()}</code></td>
                            <td><code>{r.target.clone()}</code></td>
                            <td>
                                <span class=format!("state state--{state}") data-testid="restore-row-state">{let s = state.clone(); move || restore_words::restore_text(i18n, &s)}</span>
                                {r.error.clone().map(|message| view! { <div class="muted error-text" data-testid="restore-row-error"><JobError kind=r.error_kind.clone() message /></div> })}
                            </td>
                            <td class="progress-cell">{move || if active {
                                view! { <RestoreProgressView progress=live /> }.into_any()
                            } else {
                                view! { <EndedRestoreBar state=bar_state.clone() bytes_loaded=r.bytes_loaded bytes_total=r.bytes_total /> }.into_any()
                            }}</td>
                            <td>{when(Some(r.created_at))}</td>
                            <td>{when(r.finished_at)}</td>
                            <td class="actions">
                                {(state == "new").then(|| view! {
                                    <A href=format!("/restores/{id}") attr:class="button button--primary" attr:data-testid="row-start">{t!(i18n, restores.start)}</A>
                                })}
                                {retryable.then(|| view! {
                                    <button class="button" data-testid="row-retry" on:click=move |_| { retry.dispatch(RetryRestore { id, acknowledge_warnings: false }); }>{t!(i18n, restores.retry)}</button>
                                })}
                                {active.then(|| view! {
                                    <button class="button button--danger" data-testid="row-cancel" on:click=move |_| { cancel.dispatch(CancelRestore { id }); }>{t!(i18n, common.cancel)}</button>
                                })}
                                <A href=format!("/restores/{id}") attr:class="button" attr:data-testid="row-view">{t!(i18n, restores.view)}</A>
                                {(!active).then(|| view! {
                                    <button class="button button--danger" data-testid="row-delete" on:click=move |_| { delete.dispatch(DeleteRestore { id }); }>{t!(i18n, common.delete)}</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
