//! A repository's Checks page: the structure and data checks, each with its
//! schedule (admins edit it), Run now (operators), and the history of
//! check runs with each damaged pack and the points it breaks.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::repo_checks::{
    repository_checks, CheckPlanView, CheckRunView, RunRepositoryCheck, SaveRepositoryCheck,
};
use crate::components::{hydrated_flag, EmptyState, ErrorAlert, FieldError, MeContext, Notice};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{human_bytes, when, CheckForm, Role};
use crate::pages::tasks::{schedule_is_cron, schedule_text, trigger_name};

#[component]
pub fn RepositoryChecksPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    // One Save per check, so that each form shows only its own errors.
    let save_structure = ServerAction::<SaveRepositoryCheck>::new();
    let save_data = ServerAction::<SaveRepositoryCheck>::new();
    let run = ServerAction::<RunRepositoryCheck>::new();
    // Reloaded after a save that worked (one refused keeps what was typed)
    // and after each run.
    let saved = RwSignal::new(0u32);
    for save in [save_structure, save_data] {
        Effect::new(move |_| {
            if let Some(Ok(())) = save.value().get() {
                saved.update(|n| *n += 1);
            }
        });
    }
    let checks = Resource::new(
        move || (id(), saved.get(), run.version().get()),
        |(id, ..)| repository_checks(id),
    );
    view! {
        <section class="page" data-testid="repository-checks" data-hydrated=hydrated_flag()>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || checks.get().map(|result| match result {
                    Ok(checks) => view! {
                        <header class="page-header">
                            <h1>{t!(i18n, repo_checks.title)} " " <span data-testid="checks-repository" translate="no">{checks.repository.clone()}</span></h1>
                            <a class="button" href="/repositories">{t!(i18n, nav.repositories)}</a>
                        </header>
                        <div class="panels">
                            {checks.plans.into_iter().map(|plan| {
                                let save = if plan.kind == "data" { save_data } else { save_structure };
                                view! { <PlanPanel plan save run /> }
                            }).collect_view()}
                        </div>
                        <RunResult run />
                        <History runs=checks.runs />
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// One check: what it is, its schedule, and (by role) its form and Run now.
#[component]
fn PlanPanel(
    plan: CheckPlanView,
    save: ServerAction<SaveRepositoryCheck>,
    run: ServerAction<RunRepositoryCheck>,
) -> impl IntoView {
    let i18n = use_i18n();
    let kind = plan.kind.clone();
    let data = kind == "data";
    let form: CheckForm = plan.form.clone();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let mode = RwSignal::new(form.schedule_mode.clone());
    let repository_id: i64 = form.repository_id.parse().unwrap_or(0);
    let run_kind = kind.clone();
    let what = if data {
        t_string!(i18n, repo_checks.data_what, percent = plan.read_percent).to_string()
    } else {
        t_string!(i18n, repo_checks.structure_what).to_string()
    };
    let label = if data {
        t_string!(i18n, repo_checks.data_label)
    } else {
        t_string!(i18n, repo_checks.structure_label)
    };
    let cron = schedule_is_cron(&plan.schedule);
    let schedule = schedule_text(i18n, &plan.schedule);
    view! {
        <fieldset class="panel" data-testid=format!("check-plan-{kind}") data-schedule=plan.schedule.clone()>
            <legend>{label}</legend>
            <p class="muted">{what}</p>
            <p>
                {t!(i18n, repo_checks.schedule_is)} " " <strong data-testid="check-schedule" translate=if cron { "no" } else { "yes" }>{schedule}</strong>
                {plan.next_at.map(|at| view! { {t!(i18n, repo_checks.next)} " " <span data-testid="check-next">{when(Some(at))}</span> })}
            </p>
            {move || MeContext::allows(Role::Admin).then(|| { let form = form.clone(); let testid = format!("check-form-{}", form.kind); view! {
                <ActionForm action=save attr:data-testid=testid>
                    <input type="hidden" name="form[repository_id]" value=form.repository_id.clone() />
                    <input type="hidden" name="form[kind]" value=form.kind.clone() />
                    <div class="form-grid">
                        <label>
                            {t!(i18n, repo_checks.schedule)}
                            <select name="form[schedule_mode]" data-testid="check-schedule_mode" prop:value=move || mode.get() on:change=move |ev| mode.set(event_target_value(&ev))>
                                {[("manual", t_string!(i18n, repo_checks.manual)), ("periodic", t_string!(i18n, repo_checks.periodic)), ("cron", t_string!(i18n, repo_checks.cron))].into_iter().map(|(value, text)| view! {
                                    <option value=value selected=form.schedule_mode == value>{text}</option>
                                }).collect_view()}
                            </select>
                            <FieldError field="schedule_mode" error />
                        </label>
                        {data.then(|| view! {
                            <label>
                                {t!(i18n, repo_checks.read_percent)}
                                <input type="number" name="form[read_percent]" data-testid="check-read_percent" value=form.read_percent.clone() />
                                <span class="hint">{t!(i18n, repo_checks.read_percent_hint)}</span>
                                <FieldError field="read_percent" error />
                            </label>
                        })}
                    </div>
                    <div class="form-grid" class:hidden=move || mode.get() != "periodic">
                        <label>
                            {t!(i18n, repo_checks.first_start)}
                            <input type="datetime-local" name="form[first_start]" data-testid="check-first_start" value=form.first_start.clone() />
                            <FieldError field="first_start" error />
                        </label>
                        <label>
                            {t!(i18n, repo_checks.every)}
                            <input type="number" name="form[period_value]" data-testid="check-period_value" value=if form.period_value.is_empty() { "1".to_owned() } else { form.period_value.clone() } />
                            <FieldError field="period_value" error />
                        </label>
                        <label>
                            {t!(i18n, repo_checks.unit)}
                            <select name="form[period_unit]" data-testid="check-period_unit">
                                <option value="days" selected=form.period_unit != "hours">{t!(i18n, repo_checks.days)}</option>
                                <option value="hours" selected=form.period_unit == "hours">{t!(i18n, repo_checks.hours)}</option>
                            </select>
                            <FieldError field="period_unit" error />
                        </label>
                    </div>
                    <div class="form-grid" class:hidden=move || mode.get() != "cron">
                        <label>
                            {t!(i18n, repo_checks.cron)}
                            <input type="text" name="form[cron_expression]" data-testid="check-cron_expression" value=form.cron_expression.clone() />
                            <span class="hint">{t!(i18n, repo_checks.cron_hint)}</span>
                            <FieldError field="cron_expression" error />
                        </label>
                        <label>
                            {t!(i18n, repo_checks.time_zone)}
                            <input type="text" name="form[cron_timezone]" data-testid="check-cron_timezone" value=form.cron_timezone.clone() />
                            <span class="hint">{t!(i18n, repo_checks.time_zone_hint)}</span>
                            <FieldError field="cron_timezone" error />
                        </label>
                    </div>
                    <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_)))) />
                    <button type="submit" class="button button--primary" data-testid="check-save">{t!(i18n, repo_checks.save)}</button>
                </ActionForm>
            }})}
            {move || MeContext::allows(Role::Operator).then(|| { let kind = run_kind.clone(); view! {
                <button
                    class="button"
                    data-testid=format!("check-run-{kind}")
                    disabled=move || run.pending().get()
                    on:click=move |_| { run.dispatch(RunRepositoryCheck { id: repository_id, kind: kind.clone() }); }
                >
                    {t!(i18n, repo_checks.run_now)}
                </button>
            }})}
        </fieldset>
    }
}

/// The answer of Run now while it runs and when it ended badly.
#[component]
fn RunResult(run: ServerAction<RunRepositoryCheck>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {move || run.pending().get().then(|| view! { <p class="muted" data-testid="check-running">{t!(i18n, repo_checks.checking)}</p> })}
        {move || run.value().get().and_then(Result::err).map(|error| view! { <ErrorAlert error /> })}
    }
}

#[component]
fn History(runs: Vec<CheckRunView>) -> impl IntoView {
    let i18n = use_i18n();
    if runs.is_empty() {
        return view! {
            <EmptyState title=move || t_string!(i18n, repo_checks.empty_title)>{t!(i18n, repo_checks.empty_body)}</EmptyState>
        }
        .into_any();
    }
    view! {
        <table class="table" data-testid="check-history">
            <thead>
                <tr>
                    <th>{t!(i18n, run.started)}</th>
                    <th>{t!(i18n, restore_detail.check)}</th>
                    <th>{t!(i18n, repo_checks.by)}</th>
                    <th>{t!(i18n, repo_checks.outcome)}</th>
                    <th>{t!(i18n, repo_checks.read)}</th>
                    <th>{t!(i18n, repo_checks.findings)}</th>
                </tr>
            </thead>
            <tbody>
                {runs.into_iter().map(|r| {
                    let read = if r.kind == "data" {
                        t_string!(i18n, repo_checks.read_packs, read = r.packs_read, total = r.packs_total, bytes = human_bytes(u64::try_from(r.bytes_read).unwrap_or(0)), percent = r.read_percent).to_string()
                    } else {
                        t_string!(i18n, repo_checks.read_points, points = r.points, objects = r.objects).to_string()
                    };
                    let state = match r.outcome.as_str() {
                        "clean" => "succeeded",
                        "running" => "running",
                        _ => "failed",
                    };
                    view! {
                        <tr data-testid="check-run" data-kind=r.kind.clone() data-outcome=r.outcome.clone() data-trigger=r.trigger.clone()>
                            <td>{when(Some(r.started_at))}</td>
                            <td>{if r.kind == "data" { t_string!(i18n, repo_checks.kind_data) } else { t_string!(i18n, repo_checks.kind_structure) }}</td>
                            <td>{trigger_name(i18n, &r.trigger)}</td>
                            <td><span class=format!("state state--{state}")>{outcome_name(i18n, &r.outcome)}</span></td>
                            <td>{read}</td>
                            <td>
                                {r.error.clone().map(|e| view! { <span class="error-text" data-testid="check-error" translate="no">{e}</span> })}
                                <ul>
                                    {r.problems.into_iter().map(|p| view! {
                                        <li data-testid="check-problem">
                                            <strong translate="no">{p.what}</strong> ": " <span translate="no">{p.detail}</span>
                                            {(!p.affects.is_empty()).then(|| view! { <br /><span data-testid="check-affects">{t!(i18n, repo_checks.breaks)} " " <span translate="no">{p.affects.join(", ")}</span></span> })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A check run's outcome (`clean`, `damaged`, `running`, `failed`).
fn outcome_name(i18n: crate::I18n, outcome: &str) -> String {
    match outcome {
        "clean" => t_string!(i18n, repo_checks.clean),
        "damaged" => t_string!(i18n, repo_checks.damaged),
        "running" => t_string!(i18n, phase.running),
        "failed" => t_string!(i18n, phase.failed),
        other => return other.to_owned(),
    }
    .to_owned()
}
