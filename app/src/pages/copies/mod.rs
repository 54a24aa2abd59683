//! Copy jobs: keep a second copy of backup points in another repository
//! (typically local → S3) on a schedule, with the destination's own
//! retention; Run now, and each job's recent runs.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::copy_jobs::{list_copy_jobs, CopyJobView, DeleteCopyJob, RunCopyJob, SaveCopyJob};
use crate::api::repositories::list_repositories;
use crate::components::{hydrated_flag, EmptyState, ErrorAlert, FieldError, MeContext, Notice};
use crate::error::AppError;
use crate::model::{human_bytes, when, CopyJobForm, Role};

#[component]
pub fn CopyJobsPage() -> impl IntoView {
    let save = ServerAction::<SaveCopyJob>::new();
    let run = ServerAction::<RunCopyJob>::new();
    let delete = ServerAction::<DeleteCopyJob>::new();
    let saved = RwSignal::new(0u32);
    let editing = RwSignal::new(None::<CopyJobView>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saved.update(|n| *n += 1);
        }
    });
    let jobs = Resource::new(
        move || (saved.get(), run.version().get(), delete.version().get()),
        |_| list_copy_jobs(),
    );
    let action_error = Signal::derive(move || {
        [run.value().get().map(|r| r.map(drop)), delete.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
    });
    view! {
        <section class="page" data-testid="copies-page" data-hydrated=hydrated_flag()>
            <header class="page-header"><h1>"Copy jobs"</h1></header>
            <p class="muted">
                "A copy job keeps the points of one repository in a second one too: only chunks the second lacks are moved, "
                "re-encrypted under its key and read back before each point is published there. With a retention, only the "
                "newest points are copied and older copies are removed from the destination; the source is never changed."
            </p>
            {move || MeContext::allows(Role::Admin).then(|| view! { <CopyJobEditor save editing /> })}
            <Notice error=action_error />
            {move || run.pending().get().then(|| view! { <p class="muted" data-testid="copy-running">"Copying…"</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || jobs.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No copy jobs">"Add one to keep a second copy, e.g. on S3."</EmptyState>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="copy-jobs">
                            <thead><tr><th>"Job"</th><th>"From → to"</th><th>"Points"</th><th>"Schedule"</th><th>"Runs"</th><th>"Actions"</th></tr></thead>
                            <tbody>{list.into_iter().map(|job| view! { <JobRow job run delete editing /> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn JobRow(
    job: CopyJobView,
    run: ServerAction<RunCopyJob>,
    delete: ServerAction<DeleteCopyJob>,
    editing: RwSignal<Option<CopyJobView>>,
) -> impl IntoView {
    let id = job.id;
    let for_edit = job.clone();
    let last = job
        .runs
        .first()
        .map(|r| r.state.clone())
        .unwrap_or_default();
    view! {
        <tr data-testid="copy-job" data-name=job.name.clone() data-last-state=last>
            <td>{job.name.clone()} {(!job.enabled).then(|| view! { <span class="badge">"disabled"</span> })}</td>
            <td>{format!("{} → {}", job.from, job.to)}</td>
            <td>
                {job.task.clone().unwrap_or_else(|| "every task".into())}
                {job.keep_last.map(|n| format!("; the destination keeps {n} per task"))}
            </td>
            <td>{job.schedule.clone()} {job.next_at.map(|at| format!(" · next {}", when(Some(at))))}</td>
            <td>
                <ul class="plain-list">
                    {job.runs.into_iter().map(|r| {
                        let state = if r.state == "succeeded" { "succeeded" } else if r.state == "running" { "running" } else { "failed" };
                        view! {
                            <li data-testid="copy-run" data-state=r.state.clone() data-copied=r.copied.len()>
                                <span class=format!("state state--{state}")>{r.state.clone()}</span>
                                {format!(" {} ({}): {} points copied, {} there already, {} written",
                                    when(Some(r.started_at)), r.trigger, r.copied.len(), r.points_present,
                                    human_bytes(u64::try_from(r.bytes_written).unwrap_or(0)))}
                                {(r.points_pruned > 0).then(|| format!(", {} older removed", r.points_pruned))}
                                {r.error.clone().map(|e| view! { <span class="error-text" data-testid="copy-error">{format!(" — {e}")}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </td>
            <td class="actions">
                {move || MeContext::allows(Role::Operator).then(|| view! {
                    <button class="button button--small" data-testid="copy-run-now" disabled=move || run.pending().get() on:click=move |_| { run.dispatch(RunCopyJob { id }); }>"Run now"</button>
                })}
                {move || MeContext::allows(Role::Admin).then(|| { let job = for_edit.clone(); view! {
                    <button class="button button--small" data-testid="copy-edit" on:click=move |_| editing.set(Some(job.clone()))>"Edit"</button>
                }})}
                {move || MeContext::allows(Role::Admin).then(|| view! {
                    <button class="button button--small button--danger" data-testid="copy-delete" on:click=move |_| { delete.dispatch(DeleteCopyJob { id }); }>"Delete"</button>
                })}
            </td>
        </tr>
    }
}

#[component]
fn CopyJobEditor(
    save: ServerAction<SaveCopyJob>,
    /// The job being edited; a new one when none.
    editing: RwSignal<Option<CopyJobView>>,
) -> impl IntoView {
    let repositories = Resource::new(|| (), |_| list_repositories());
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editing.set(None);
        }
    });
    // Drawn anew for each job edited (or none), with its values filled in.
    move || {
        let job = editing.get();
        let id = job.as_ref().map(|j| j.id);
        let f = job
            .as_ref()
            .map(|j| j.form.clone())
            .unwrap_or_else(|| CopyJobForm {
                schedule_mode: "manual".into(),
                period_value: "1".into(),
                period_unit: "days".into(),
                enabled: Some("on".into()),
                ..CopyJobForm::default()
            });
        let title = match &job {
            Some(j) => format!("Edit copy job {:?}", j.name),
            None => "Add a copy job".to_owned(),
        };
        let mode = RwSignal::new(f.schedule_mode.clone());
        let repository_choice = move |field: &'static str, label: &'static str, chosen: String| {
            view! {
                <label>
                    {label}
                    <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
                        {move || { let chosen = chosen.clone(); repositories.get().map(|result| match result {
                            Ok(list) => view! {
                                <select name=format!("form[{field}]") data-testid=format!("copy-{field}")>
                                    <option value="">"— choose a repository —"</option>
                                    {list.into_iter().map(|r| {
                                        let value = r.id.to_string();
                                        let selected = value == chosen;
                                        view! { <option value=value selected=selected>{format!("{} ({})", r.name, r.location)}</option> }
                                    }).collect_view()}
                                </select>
                            }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })}}
                    </Suspense>
                    <FieldError field error />
                </label>
            }
        };
        let option = |value: &'static str, text: &'static str, current: &str| {
            let selected = current == value;
            view! { <option value=value selected=selected>{text}</option> }
        };
        view! {
            <ActionForm action=save attr:data-testid="copy-form" attr:class="panel">
                <h2 data-testid="copy-form-title">{title}</h2>
                {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
                <div class="form-grid">
                    <label>
                        "Name"
                        <input type="text" name="form[name]" data-testid="copy-name" value=f.name.clone() />
                        <FieldError field="name" error />
                    </label>
                    {repository_choice("from_repository_id", "From repository", f.from_repository_id.clone())}
                    {repository_choice("to_repository_id", "To repository", f.to_repository_id.clone())}
                    <label>
                        "Task"
                        <input type="text" name="form[task]" data-testid="copy-task" placeholder="every task" value=f.task.clone() />
                        <span class="hint">"a backup task's name; empty copies every task's points"</span>
                    </label>
                    <label>
                        "Keep in the destination"
                        <input type="text" name="form[keep_last]" data-testid="copy-keep_last" placeholder="every point" value=f.keep_last.clone() />
                        <span class="hint">"the newest N points per task; empty keeps all"</span>
                        <FieldError field="keep_last" error />
                    </label>
                    <label>
                        "Schedule"
                        <select name="form[schedule_mode]" data-testid="copy-schedule_mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                            {option("manual", "Only when run by hand", &f.schedule_mode)}
                            {option("periodic", "Periodic", &f.schedule_mode)}
                            {option("cron", "Cron expression", &f.schedule_mode)}
                        </select>
                        <FieldError field="schedule_mode" error />
                    </label>
                </div>
                <div class="form-grid" class:hidden=move || mode.get() != "periodic">
                    <label>"First start (UTC)" <input type="datetime-local" name="form[first_start]" data-testid="copy-first_start" value=f.first_start.clone() /> <FieldError field="first_start" error /></label>
                    <label>"Every" <input type="number" name="form[period_value]" value=f.period_value.clone() data-testid="copy-period_value" /> <FieldError field="period_value" error /></label>
                    <label>"Unit" <select name="form[period_unit]" data-testid="copy-period_unit">{option("days", "days", &f.period_unit)}{option("hours", "hours", &f.period_unit)}</select></label>
                </div>
                <div class="form-grid" class:hidden=move || mode.get() != "cron">
                    <label>"Cron expression" <input type="text" name="form[cron_expression]" data-testid="copy-cron_expression" placeholder="0 4 * * *" value=f.cron_expression.clone() /> <FieldError field="cron_expression" error /></label>
                    <label>"Time zone" <input type="text" name="form[cron_timezone]" data-testid="copy-cron_timezone" placeholder="UTC" value=f.cron_timezone.clone() /> <FieldError field="cron_timezone" error /></label>
                </div>
                <label class="checkbox"><input type="checkbox" name="form[enabled]" checked=f.enabled.is_some() data-testid="copy-enabled" /> "Enabled"</label>
                <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_)))) />
                <div class="actions">
                    <button type="submit" class="button button--primary" data-testid="copy-save">{if id.is_some() { "Save changes" } else { "Add copy job" }}</button>
                    {id.map(|_| view! { <button type="button" class="button" data-testid="copy-edit-cancel" on:click=move |_| editing.set(None)>"Cancel"</button> })}
                </div>
            </ActionForm>
        }
    }
}
