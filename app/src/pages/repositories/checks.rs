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
use crate::model::{human_bytes, when, CheckForm, Role};

#[component]
pub fn RepositoryChecksPage() -> impl IntoView {
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
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || checks.get().map(|result| match result {
                    Ok(checks) => view! {
                        <header class="page-header">
                            <h1>"Checks of " <span data-testid="checks-repository">{checks.repository.clone()}</span></h1>
                            <a class="button" href="/repositories">"Repositories"</a>
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
    let kind = plan.kind.clone();
    let data = kind == "data";
    let form: CheckForm = plan.form.clone();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let mode = RwSignal::new(form.schedule_mode.clone());
    let repository_id: i64 = form.repository_id.parse().unwrap_or(0);
    let run_kind = kind.clone();
    let what = if data {
        format!(
            "Reads {}% of the packs back and re-hashes every chunk in them, a different share each run, and checks the structure.",
            plan.read_percent
        )
    } else {
        "Every point's chunks are indexed and every pack is present; reads no pack.".to_owned()
    };
    view! {
        <fieldset class="panel" data-testid=format!("check-plan-{kind}") data-schedule=plan.schedule.clone()>
            <legend>{plan.label.clone()}</legend>
            <p class="muted">{what}</p>
            <p>
                "Schedule: " <strong data-testid="check-schedule">{plan.schedule.clone()}</strong>
                {plan.next_at.map(|at| view! { " · next " <span data-testid="check-next">{when(Some(at))}</span> })}
            </p>
            {move || MeContext::allows(Role::Admin).then(|| { let form = form.clone(); let testid = format!("check-form-{}", form.kind); view! {
                <ActionForm action=save attr:data-testid=testid>
                    <input type="hidden" name="form[repository_id]" value=form.repository_id.clone() />
                    <input type="hidden" name="form[kind]" value=form.kind.clone() />
                    <div class="form-grid">
                        <label>
                            "Schedule"
                            <select name="form[schedule_mode]" data-testid="check-schedule_mode" prop:value=move || mode.get() on:change=move |ev| mode.set(event_target_value(&ev))>
                                {[("manual", "Only when run by hand"), ("periodic", "Periodic"), ("cron", "Cron expression")].into_iter().map(|(value, text)| view! {
                                    <option value=value selected=form.schedule_mode == value>{text}</option>
                                }).collect_view()}
                            </select>
                            <FieldError field="schedule_mode" error />
                        </label>
                        {data.then(|| view! {
                            <label>
                                "Packs read per run (%)"
                                <input type="number" name="form[read_percent]" data-testid="check-read_percent" value=form.read_percent.clone() />
                                <span class="hint">"all packs are covered within 100 ÷ this many runs"</span>
                                <FieldError field="read_percent" error />
                            </label>
                        })}
                    </div>
                    <div class="form-grid" class:hidden=move || mode.get() != "periodic">
                        <label>
                            "First start (UTC)"
                            <input type="datetime-local" name="form[first_start]" data-testid="check-first_start" value=form.first_start.clone() />
                            <FieldError field="first_start" error />
                        </label>
                        <label>
                            "Every"
                            <input type="number" name="form[period_value]" data-testid="check-period_value" value=if form.period_value.is_empty() { "1".to_owned() } else { form.period_value.clone() } />
                            <FieldError field="period_value" error />
                        </label>
                        <label>
                            "Unit"
                            <select name="form[period_unit]" data-testid="check-period_unit">
                                <option value="days" selected=form.period_unit != "hours">"days"</option>
                                <option value="hours" selected=form.period_unit == "hours">"hours"</option>
                            </select>
                            <FieldError field="period_unit" error />
                        </label>
                    </div>
                    <div class="form-grid" class:hidden=move || mode.get() != "cron">
                        <label>
                            "Cron expression"
                            <input type="text" name="form[cron_expression]" data-testid="check-cron_expression" value=form.cron_expression.clone() />
                            <span class="hint">"minute hour day month weekday, e.g. 30 2 * * 0"</span>
                            <FieldError field="cron_expression" error />
                        </label>
                        <label>
                            "Time zone"
                            <input type="text" name="form[cron_timezone]" data-testid="check-cron_timezone" value=form.cron_timezone.clone() />
                            <span class="hint">"IANA name; empty: UTC"</span>
                            <FieldError field="cron_timezone" error />
                        </label>
                    </div>
                    <Notice error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_)))) />
                    <button type="submit" class="button button--primary" data-testid="check-save">"Save schedule"</button>
                </ActionForm>
            }})}
            {move || MeContext::allows(Role::Operator).then(|| { let kind = run_kind.clone(); view! {
                <button
                    class="button"
                    data-testid=format!("check-run-{kind}")
                    disabled=move || run.pending().get()
                    on:click=move |_| { run.dispatch(RunRepositoryCheck { id: repository_id, kind: kind.clone() }); }
                >
                    "Run now"
                </button>
            }})}
        </fieldset>
    }
}

/// The answer of Run now while it runs and when it ended badly.
#[component]
fn RunResult(run: ServerAction<RunRepositoryCheck>) -> impl IntoView {
    view! {
        {move || run.pending().get().then(|| view! { <p class="muted" data-testid="check-running">"Checking…"</p> })}
        {move || run.value().get().and_then(Result::err).map(|error| view! { <ErrorAlert error /> })}
    }
}

#[component]
fn History(runs: Vec<CheckRunView>) -> impl IntoView {
    if runs.is_empty() {
        return view! {
            <EmptyState title="No checks yet">"Run one now, or give it a schedule."</EmptyState>
        }
        .into_any();
    }
    view! {
        <table class="table" data-testid="check-history">
            <thead>
                <tr>
                    <th>"Started"</th>
                    <th>"Check"</th>
                    <th>"By"</th>
                    <th>"Outcome"</th>
                    <th>"Read"</th>
                    <th>"Findings"</th>
                </tr>
            </thead>
            <tbody>
                {runs.into_iter().map(|r| {
                    let read = if r.kind == "data" {
                        format!("{} of {} packs ({}, {}% share)", r.packs_read, r.packs_total, human_bytes(u64::try_from(r.bytes_read).unwrap_or(0)), r.read_percent)
                    } else {
                        format!("{} points, {} objects", r.points, r.objects)
                    };
                    let state = match r.outcome.as_str() {
                        "clean" => "succeeded",
                        "running" => "running",
                        _ => "failed",
                    };
                    view! {
                        <tr data-testid="check-run" data-kind=r.kind.clone() data-outcome=r.outcome.clone() data-trigger=r.trigger.clone()>
                            <td>{when(Some(r.started_at))}</td>
                            <td>{r.kind.clone()}</td>
                            <td>{r.trigger.clone()}</td>
                            <td><span class=format!("state state--{state}")>{r.outcome.clone()}</span></td>
                            <td>{read}</td>
                            <td>
                                {r.error.clone().map(|e| view! { <span class="error-text" data-testid="check-error">{e}</span> })}
                                <ul>
                                    {r.problems.into_iter().map(|p| view! {
                                        <li data-testid="check-problem">
                                            <strong>{p.what}</strong> ": " {p.detail}
                                            {(!p.affects.is_empty()).then(|| view! { <br /><span data-testid="check-affects">{format!("breaks {}", p.affects.join(", "))}</span> })}
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
