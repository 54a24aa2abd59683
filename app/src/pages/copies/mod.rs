//! Copy jobs: keep a second copy of backup points in another repository
//! (typically local → S3) on a schedule, with the destination's own
//! retention; Run now, and each job's recent runs.

use crate::i18n::*;
use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::copy_jobs::{list_copy_jobs, CopyJobView, DeleteCopyJob, RunCopyJob, SaveCopyJob};
use crate::api::repositories::list_repositories;
use crate::components::{hydrated_flag, EmptyState, ErrorAlert, FieldError, MeContext, Notice};
use crate::error::AppError;
use crate::model::{human_bytes, when, CopyJobForm, Role};

#[component]
pub fn CopyJobsPage() -> impl IntoView {
    let i18n = use_i18n();
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
            <header class="page-header"><h1>{t!(i18n, copies.title)}</h1></header>
            <p class="muted">
                {t!(i18n, copies.intro)}
            </p>
            {move || MeContext::allows(Role::Admin).then(|| view! { <CopyJobEditor save editing /> })}
            <Notice error=action_error />
            {move || run.pending().get().then(|| view! { <p class="muted" data-testid="copy-running">{t!(i18n, copies.copying)}</p> })}
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || jobs.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title=move || t_string!(i18n, copies.empty_title)>{t!(i18n, copies.empty_hint)}</EmptyState>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="copy-jobs">
                            <thead><tr><th>{t!(i18n, copies.job)}</th><th>{t!(i18n, copies.from_to)}</th><th>{t!(i18n, copies.points)}</th><th>{t!(i18n, copies.schedule)}</th><th>{t!(i18n, copies.runs)}</th><th>{t!(i18n, common.actions)}</th></tr></thead>
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
    let i18n = use_i18n();
    let id = job.id;
    let for_edit = job.clone();
    let last = job
        .runs
        .first()
        .map(|r| r.state.clone())
        .unwrap_or_default();
    view! {
        <tr data-testid="copy-job" data-name=job.name.clone() data-last-state=last>
            <td><span translate="no">{job.name.clone()}</span> {(!job.enabled).then(|| view! { <span class="badge">{t!(i18n, users.disabled)}</span> })}</td>
            <td translate="no">{format!("{} → {}", job.from, job.to)}</td>
            <td>
                {job.task.clone().unwrap_or_else(|| t_string!(i18n, copies.every_task).into())}
                {job.keep_last.map(|n| t_string!(i18n, copies.keeps, n))}
            </td>
            <td><span translate="no">{job.schedule.clone()}</span> {job.next_at.map(|at| t_string!(i18n, copies.next, at = when(Some(at))))}</td>
            <td>
                <ul class="plain-list">
                    {job.runs.into_iter().map(|r| {
                        let state = if r.state == "succeeded" { "succeeded" } else if r.state == "running" { "running" } else { "failed" };
                        view! {
                            <li data-testid="copy-run" data-state=r.state.clone() data-copied=r.copied.len()>
                                <span class=format!("state state--{state}")>{match state {
                                    "succeeded" => t_string!(i18n, phase.succeeded),
                                    "running" => t_string!(i18n, phase.running),
                                    _ => t_string!(i18n, phase.failed),
                                }}</span>
                                " " {when(Some(r.started_at))} " (" <span translate="no">{r.trigger.clone()}</span> ")"
                                {t_string!(i18n, copies.run_figures, copied = r.copied.len(), present = r.points_present,
                                    written = human_bytes(u64::try_from(r.bytes_written).unwrap_or(0)))}
                                {(r.points_pruned > 0).then(|| t_string!(i18n, copies.pruned, count = r.points_pruned))}
                                {r.error.clone().map(|e| view! { <span class="error-text" data-testid="copy-error" translate="no">{format!(" — {e}")}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </td>
            <td class="actions">
                {move || MeContext::allows(Role::Operator).then(|| view! {
                    <button class="button button--small" data-testid="copy-run-now" disabled=move || run.pending().get() on:click=move |_| { run.dispatch(RunCopyJob { id }); }>{t!(i18n, copies.run_now)}</button>
                })}
                {move || MeContext::allows(Role::Admin).then(|| { let job = for_edit.clone(); view! {
                    <button class="button button--small" data-testid="copy-edit" on:click=move |_| editing.set(Some(job.clone()))>{t!(i18n, common.edit)}</button>
                }})}
                {move || MeContext::allows(Role::Admin).then(|| view! {
                    <button class="button button--small button--danger" data-testid="copy-delete" on:click=move |_| { delete.dispatch(DeleteCopyJob { id }); }>{t!(i18n, common.delete)}</button>
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
    let i18n = use_i18n();
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
            Some(j) => {
                t_string!(i18n, copies.edit_title, name = format!("{:?}", j.name)).to_string()
            }
            None => t_string!(i18n, copies.add).to_owned(),
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
                                    <option value="">{t!(i18n, copies.choose_repo)}</option>
                                    {list.into_iter().map(|r| {
                                        let value = r.id.to_string();
                                        let selected = value == chosen;
                                        view! { <option value=value selected=selected translate="no">{format!("{} ({})", r.name, r.location)}</option> }
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
                        {t!(i18n, common.name)}
                        <input type="text" name="form[name]" data-testid="copy-name" value=f.name.clone() />
                        <FieldError field="name" error />
                    </label>
                    {repository_choice("from_repository_id", t_string!(i18n, copies.from_repo), f.from_repository_id.clone())}
                    {repository_choice("to_repository_id", t_string!(i18n, copies.to_repo), f.to_repository_id.clone())}
                    <label>
                        {t!(i18n, common.task)}
                        <input type="text" name="form[task]" data-testid="copy-task" placeholder=move || t_string!(i18n, copies.every_task) value=f.task.clone() />
                        <span class="hint">{t!(i18n, copies.task_hint)}</span>
                    </label>
                    <label>
                        {t!(i18n, copies.keep)}
                        <input type="text" name="form[keep_last]" data-testid="copy-keep_last" placeholder=move || t_string!(i18n, copies.every_point) value=f.keep_last.clone() />
                        <span class="hint">{t!(i18n, copies.keep_hint)}</span>
                        <FieldError field="keep_last" error />
                    </label>
                    <label>
                        {t!(i18n, copies.schedule)}
                        <select name="form[schedule_mode]" data-testid="copy-schedule_mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                            {option("manual", t_string!(i18n, copies.manual), &f.schedule_mode)}
                            {option("periodic", t_string!(i18n, copies.periodic), &f.schedule_mode)}
                            {option("cron", t_string!(i18n, copies.cron), &f.schedule_mode)}
                        </select>
                        <FieldError field="schedule_mode" error />
                    </label>
                </div>
                <div class="form-grid" class:hidden=move || mode.get() != "periodic">
                    <label>{t!(i18n, copies.first_start)} <input type="datetime-local" name="form[first_start]" data-testid="copy-first_start" value=f.first_start.clone() /> <FieldError field="first_start" error /></label>
                    <label>{t!(i18n, copies.every)} <input type="number" name="form[period_value]" value=f.period_value.clone() data-testid="copy-period_value" /> <FieldError field="period_value" error /></label>
                    <label>{t!(i18n, copies.unit)} <select name="form[period_unit]" data-testid="copy-period_unit">{option("days", t_string!(i18n, copies.days), &f.period_unit)}{option("hours", t_string!(i18n, copies.hours), &f.period_unit)}</select></label>
                </div>
                <div class="form-grid" class:hidden=move || mode.get() != "cron">
                    <label>{t!(i18n, copies.cron)} <input type="text" name="form[cron_expression]" data-testid="copy-cron_expression" placeholder="0 4 * * *" value=f.cron_expression.clone() /> <FieldError field="cron_expression" error /></label>
                    <label>{t!(i18n, copies.timezone)} <input type="text" name="form[cron_timezone]" data-testid="copy-cron_timezone" placeholder="UTC" value=f.cron_timezone.clone() /> <FieldError field="cron_timezone" error /></label>
                </div>
                <label class="checkbox"><input type="checkbox" name="form[enabled]" checked=f.enabled.is_some() data-testid="copy-enabled" /> {t!(i18n, copies.enabled)}</label>
                <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_)))) />
                <div class="actions">
                    <button type="submit" class="button button--primary" data-testid="copy-save">{if id.is_some() { t_string!(i18n, copies.save_changes) } else { t_string!(i18n, copies.add_button) }}</button>
                    {id.map(|_| view! { <button type="button" class="button" data-testid="copy-edit-cancel" on:click=move |_| editing.set(None)>{t!(i18n, common.cancel)}</button> })}
                </div>
            </ActionForm>
        }
    }
}
