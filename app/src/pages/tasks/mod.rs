//! Backup Management: the task list with Back Up Now, live progress, and
//! the way to history, edit, copy and delete.

mod browse;
mod compare;
mod content;
mod cron;
mod delete;
mod drill_form;
mod drills;
mod form;
mod history;
pub(crate) mod labels;
mod run;
mod timeline;

pub use browse::PointBrowsePage;
pub use compare::TaskComparePage;
pub use form::{TaskCreatePage, TaskEditPage};
pub use history::TaskHistoryPage;
pub(crate) use labels::{
    duration_text, mode_name, policy_text, schedule_is_cron, schedule_text, state_name,
    trigger_name,
};
pub use run::RunPage;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::tasks::{list_tasks, BackupNow, SetTaskEnabled, TaskRow};
use crate::components::{
    server_clock, EmptyState, ErrorAlert, JobFeed, JobProgressBar, MeContext, Notice, RpoBadge,
    RtoBadge,
};
use crate::i18n::*;
use crate::model::Role;
use delete::DeleteDialog;

pub(crate) use crate::model::when;

#[component]
pub fn TasksPage() -> impl IntoView {
    let i18n = use_i18n();
    let feed = JobFeed::get();
    let run = ServerAction::<BackupNow>::new();
    let enable = ServerAction::<SetTaskEnabled>::new();
    let deleted = RwSignal::new(0u32);
    let deleting = RwSignal::new(None::<(i64, String)>);
    let tasks = Resource::new(
        move || {
            (
                feed.map(|f| f.finished.get()),
                run.version().get(),
                enable.version().get(),
                deleted.get(),
            )
        },
        |_| list_tasks(),
    );
    let action_error = Signal::derive(move || {
        run.value()
            .get()
            .and_then(Result::err)
            .or_else(|| enable.value().get().and_then(Result::err))
    });

    view! {
        <section class="page" data-testid="backups">
            <header class="page-header">
                <h1>{t!(i18n, tasks.title)}</h1>
                <A href="/backups/new" attr:class="button button--primary" attr:data-testid="new-task">
                    {t!(i18n, tasks.create)}
                </A>
            </header>
            <Notice error=action_error />
            {move || deleting.get().map(|(id, name)| view! { <DeleteDialog id name deleting deleted /> })}
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || {
                    tasks
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title=move || t_string!(i18n, tasks.empty_title)>
                                        {t!(i18n, tasks.empty_body)}
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(rows) => view! { <TaskTable rows run enable deleting /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn TaskTable(
    rows: Vec<TaskRow>,
    run: ServerAction<BackupNow>,
    enable: ServerAction<SetTaskEnabled>,
    deleting: RwSignal<Option<(i64, String)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let feed = JobFeed::get();
    let now = server_clock(rows.first().map(|r| r.checked_at).unwrap_or_default());
    view! {
        <table class="table" data-testid="task-table">
            <thead>
                <tr>
                    <th>{t!(i18n, common.name)}</th>
                    <th>{t!(i18n, common.source)}</th>
                    <th>{t!(i18n, common.repository)}</th>
                    <th>{t!(i18n, tasks.col_mode)}</th>
                    <th>{t!(i18n, tasks.col_last_run)}</th>
                    <th>{t!(i18n, tasks.col_next_run)}</th>
                    <th>{t!(i18n, tasks.col_recovery)}</th>
                    <th>{t!(i18n, tasks.col_enabled)}</th>
                    <th>{t!(i18n, common.actions)}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|task| {
                        let id = task.id;
                        let name = task.name.clone();
                        let link_text = task.name.clone();
                        let progress = Signal::derive(move || feed.and_then(|f| f.task(id)));
                        let last_state = task.last_state.clone().unwrap_or_else(|| "never run".into());
                        view! {
                            <tr data-testid="task-row" data-name=task.name.clone()>
                                <td data-testid="task-name">
                                    <A href=format!("/backups/{id}/history") attr:translate="no">{link_text}</A>
                                </td>
                                <td translate="no">{task.source.clone()}</td>
                                <td translate="no">{task.repository.clone()}</td>
                                <td>
                                    {schedule_cell(i18n, task.schedule.clone())}
                                    <div class="muted">{let policy = task.policy.clone(); move || policy_text(i18n, &policy)}</div>
                                </td>
                                <td>
                                    <span class=format!("state state--{last_state}") data-testid="task-last-state">
                                        {let s = last_state.clone(); move || state_name(i18n, &s)}
                                    </span>
                                    <div class="muted">{when(task.last_run_at)}</div>
                                    {task.last_error.clone().map(|e| view! { <div class="muted error-text" translate="no" title=e.clone()>{e.clone()}</div> })}
                                </td>
                                <td>
                                    {when(task.next_run_at)}
                                    {task.retry_at.map(|at| view! { <div class="muted">{t!(i18n, tasks.retry_at)} " " {when(Some(at))}</div> })}
                                </td>
                                <td data-testid="task-recovery">
                                    <RpoBadge status=task.recovery.clone() now />
                                    <div><RtoBadge status=task.recovery.clone() /></div>
                                </td>
                                <td>
                                    <input
                                        type="checkbox"
                                        data-testid="task-enabled"
                                        prop:checked=task.enabled
                                        on:change=move |ev| {
                                            enable.dispatch(SetTaskEnabled { id, enabled: event_target_checked(&ev) });
                                        }
                                    />
                                </td>
                                <td class="actions">
                                    {move || MeContext::allows(Role::Operator).then(|| view! {
                                        <button
                                            class="button button--small button--primary"
                                            data-testid="backup-now"
                                            on:click=move |_| {
                                                run.dispatch(BackupNow { id });
                                            }
                                        >
                                            {t!(i18n, tasks.backup_now)}
                                        </button>
                                    })}
                                    <A href=format!("/backups/{id}/history") attr:class="button button--small" attr:data-testid="view-history">
                                        {t!(i18n, tasks.view_history)}
                                    </A>
                                    {move || { let name = name.clone(); MeContext::allows(Role::Admin).then(|| view! {
                                        <A href=format!("/backups/{id}/edit") attr:class="button button--small" attr:data-testid="edit-task">
                                            {t!(i18n, common.edit)}
                                        </A>
                                        <A href=format!("/backups/new?copy={id}") attr:class="button button--small" attr:data-testid="copy-task">
                                            {t!(i18n, tasks.copy)}
                                        </A>
                                        <button
                                            class="button button--small button--danger"
                                            data-testid="delete-task"
                                            on:click=move |_| deleting.set(Some((id, name.clone())))
                                        >
                                            {t!(i18n, common.delete)}
                                        </button>
                                    })}}
                                </td>
                            </tr>
                            <tr class="progress-row" data-testid="task-progress-row">
                                <td colspan="9">
                                    <JobProgressBar progress />
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// A schedule label: translated, or a cron expression kept as written.
fn schedule_cell(i18n: crate::I18n, label: String) -> impl IntoView {
    if schedule_is_cron(&label) {
        view! { <span translate="no">{label}</span> }.into_any()
    } else {
        (move || schedule_text(i18n, &label)).into_any()
    }
}
