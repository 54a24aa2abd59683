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
mod run;
mod timeline;

pub use browse::PointBrowsePage;
pub use compare::TaskComparePage;
pub use form::{TaskCreatePage, TaskEditPage};
pub use history::TaskHistoryPage;
pub use run::RunPage;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::tasks::{list_tasks, BackupNow, SetTaskEnabled, TaskRow};
use crate::components::{
    server_clock, EmptyState, ErrorAlert, JobFeed, JobProgressBar, MeContext, Notice, RpoBadge,
    RtoBadge,
};
use crate::model::Role;
use delete::DeleteDialog;

pub(crate) use crate::model::when;

#[component]
pub fn TasksPage() -> impl IntoView {
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
                <h1>"Backup Management"</h1>
                <A href="/backups/new" attr:class="button button--primary" attr:data-testid="new-task">
                    "Create task"
                </A>
            </header>
            <Notice error=action_error />
            {move || deleting.get().map(|(id, name)| view! { <DeleteDialog id name deleting deleted /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    tasks
                        .get()
                        .map(|result| match result {
                            Ok(rows) if rows.is_empty() => {
                                view! {
                                    <EmptyState title="No backup tasks">
                                        "Create a task: choose a data source, what to back up, a repository and a schedule."
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
    let feed = JobFeed::get();
    let now = server_clock(rows.first().map(|r| r.checked_at).unwrap_or_default());
    view! {
        <table class="table" data-testid="task-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Source"</th>
                    <th>"Repository"</th>
                    <th>"Mode"</th>
                    <th>"Last run"</th>
                    <th>"Next run"</th>
                    <th>"Recovery (RPO · RTO)"</th>
                    <th>"Enabled"</th>
                    <th>"Actions"</th>
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
                                    <A href=format!("/backups/{id}/history")>{link_text}</A>
                                </td>
                                <td>{task.source.clone()}</td>
                                <td>{task.repository.clone()}</td>
                                <td>
                                    {task.schedule.clone()}
                                    <div class="muted">{task.policy.clone()}</div>
                                </td>
                                <td>
                                    <span class=format!("state state--{last_state}") data-testid="task-last-state">
                                        {last_state.clone()}
                                    </span>
                                    <div class="muted">{when(task.last_run_at)}</div>
                                    {task.last_error.clone().map(|e| view! { <div class="muted error-text" title=e.clone()>{e.clone()}</div> })}
                                </td>
                                <td>
                                    {when(task.next_run_at)}
                                    {task.retry_at.map(|at| view! { <div class="muted">"retry at " {when(Some(at))}</div> })}
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
                                            "Back Up Now"
                                        </button>
                                    })}
                                    <A href=format!("/backups/{id}/history") attr:class="button button--small" attr:data-testid="view-history">
                                        "View History"
                                    </A>
                                    {move || { let name = name.clone(); MeContext::allows(Role::Admin).then(|| view! {
                                        <A href=format!("/backups/{id}/edit") attr:class="button button--small" attr:data-testid="edit-task">
                                            "Edit"
                                        </A>
                                        <A href=format!("/backups/new?copy={id}") attr:class="button button--small" attr:data-testid="copy-task">
                                            "Copy"
                                        </A>
                                        <button
                                            class="button button--small button--danger"
                                            data-testid="delete-task"
                                            on:click=move |_| deleting.set(Some((id, name.clone())))
                                        >
                                            "Delete"
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
