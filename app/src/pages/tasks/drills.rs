//! The task page's restore drills: the task's RPO/RTO badges, Run drill
//! now and Stop (operator role), the running drill's live progress, and
//! each drill run with its phases, checks, error and Retry.

use leptos::prelude::*;

use super::{duration_text, schedule_text, trigger_name, when};
use crate::api::drills::{
    task_drills, DrillRunView, DrillsPage, RetryDrill, RunDrillNow, StopDrill,
};
use crate::components::{
    server_clock, EmptyState, ErrorAlert, JobFeed, JobProgressBar, MeContext, Notice, RpoBadge,
    RtoBadge,
};
use crate::i18n::*;
use crate::model::{human_bytes, Role};

#[component]
pub fn TaskDrillsPanel(#[prop(into)] task_id: Signal<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let feed = JobFeed::get();
    let run = ServerAction::<RunDrillNow>::new();
    let retry = ServerAction::<RetryDrill>::new();
    let stop = ServerAction::<StopDrill>::new();
    let drills = Resource::new(
        move || {
            (
                task_id.get(),
                feed.map(|f| f.finished.get()),
                run.version().get(),
                retry.version().get(),
            )
        },
        |(id, ..)| task_drills(id),
    );
    let live = Signal::derive(move || {
        feed.and_then(|f| f.drill(task_id.get()))
            .filter(|p| !p.is_finished())
    });
    let action_error = Signal::derive(move || {
        run.value()
            .get()
            .and_then(Result::err)
            .or_else(|| retry.value().get().and_then(Result::err))
            .or_else(|| stop.value().get().and_then(Result::err))
    });
    view! {
        <section class="panel" data-testid="drills">
            <header class="page-header">
                <h2>{t!(i18n, drills.title)}</h2>
                {move || MeContext::allows(Role::Operator).then(|| view! {
                    <button
                        class="button button--primary"
                        data-testid="run-drill"
                        disabled=move || live.get().is_some() || run.pending().get()
                        on:click=move |_| {
                            run.dispatch(RunDrillNow { task_id: task_id.get_untracked() });
                        }
                    >
                        {t!(i18n, drills.run_now)}
                    </button>
                    {move || live.get().map(|_| view! {
                        <button
                            class="button button--danger"
                            data-testid="stop-drill"
                            on:click=move |_| {
                                stop.dispatch(StopDrill { task_id: task_id.get_untracked() });
                            }
                        >
                            {t!(i18n, drills.stop)}
                        </button>
                    })}
                })}
            </header>
            <Notice error=action_error />
            <div data-testid="drill-progress">
                <JobProgressBar progress=live />
            </div>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || drills.get().map(|result| match result {
                    Ok(page) => view! { <DrillsBody page retry /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DrillsBody(page: DrillsPage, retry: ServerAction<RetryDrill>) -> impl IntoView {
    let i18n = use_i18n();
    if let (Some(feed), Some(running)) = (JobFeed::get(), page.running.clone()) {
        feed.seed(vec![running]);
    }
    let now = server_clock(page.checked_at);
    view! {
        <p class="recovery-summary" data-testid="drill-plan">
            {t!(i18n, drills.plan_label)} {let plan = page.plan.clone(); move || plan_text(i18n, &plan)} " · "
            <RpoBadge status=page.recovery.clone() now />
            " · "
            <RtoBadge status=page.recovery.clone() />
        </p>
        {if page.runs.is_empty() {
            view! {
                <EmptyState title=move || t_string!(i18n, drills.empty_title)>
                    {t!(i18n, drills.empty_body)}
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <table class="table" data-testid="drill-table">
                    <thead>
                        <tr>
                            <th>{t!(i18n, drills.col_drill)}</th>
                            <th>{t!(i18n, restore_form.col_point)}</th>
                            <th>{t!(i18n, history.col_start)}</th>
                            <th>"RTO"</th>
                            <th>{t!(i18n, drills.col_whole)}</th>
                            <th>{t!(i18n, drills.col_restored)}</th>
                            <th>{t!(i18n, drills.col_status)}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.runs.into_iter().map(|run| view! { <DrillRow run retry /> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

fn seconds(i18n: crate::I18n, value: Option<f64>) -> String {
    value
        .map(|secs| duration_text(i18n, secs))
        .unwrap_or_else(|| "—".into())
}

/// The drill plan as the server words it ("manual only", "after every 3
/// backups", "every 6 hours").
fn plan_text(i18n: crate::I18n, plan: &str) -> String {
    match plan {
        "manual only" => t_string!(i18n, drills.plan_manual).into(),
        "after every backup" => t_string!(i18n, drills.plan_every_backup).into(),
        other => match other
            .strip_prefix("after every ")
            .and_then(|r| r.strip_suffix(" backups"))
        {
            Some(n) => t_string!(i18n, drills.plan_every_n_backups, n),
            None => schedule_text(i18n, other),
        },
    }
}

/// What started a drill (`manual`, `schedule`, `after_backups`, `retry`).
fn drill_trigger_name(i18n: crate::I18n, trigger: &str) -> String {
    match trigger {
        "after_backups" => t_string!(i18n, drills.trigger_after_backups).into(),
        other => trigger_name(i18n, other).replace('_', " "),
    }
}

/// A drill's status (`running`, `passed`, `failed`).
fn status_name(i18n: crate::I18n, status: &str) -> String {
    match status {
        "running" => t_string!(i18n, phase.running).into(),
        "passed" => t_string!(i18n, drills.passed).into(),
        "failed" => t_string!(i18n, phase.failed).into(),
        other => other.into(),
    }
}

/// A drill phase's name (`sandbox`, `restore`, `checks`, `cleanup`).
fn drill_phase_name(i18n: crate::I18n, name: &str) -> String {
    match name {
        "sandbox" => t_string!(i18n, drills.phase_sandbox).into(),
        "restore" => t_string!(i18n, drills.phase_restore).into(),
        "checks" => t_string!(i18n, drills.phase_checks).into(),
        "cleanup" => t_string!(i18n, drills.phase_cleanup).into(),
        other => other.into(),
    }
}

#[component]
fn DrillRow(run: DrillRunView, retry: ServerAction<RetryDrill>) -> impl IntoView {
    let i18n = use_i18n();
    let id = run.id;
    let failed = run.status == "failed";
    let restored = if run.status == "running" {
        "—".to_owned()
    } else {
        t_string!(
            i18n,
            drills.restored,
            size = human_bytes(u64::try_from(run.bytes).unwrap_or(0)),
            rows = run.rows,
            objects = run.objects
        )
    };
    view! {
        <tr data-testid="drill-row" data-status=run.status.clone() data-id=id>
            <td>
                {format!("#{id}")}
                <span class="badge">{let trigger = run.trigger.clone(); move || drill_trigger_name(i18n, &trigger)}</span>
            </td>
            <td>
                <code data-testid="drill-point">{run.point.clone().unwrap_or_else(|| "—".into())}</code>
                <div class="muted">{t!(i18n, drills.taken)} {when(run.point_finished_at)}</div>
            </td>
            <td>{when(Some(run.started_at))}</td>
            <td data-testid="drill-rto">{seconds(i18n, run.rto_seconds)}</td>
            <td>{seconds(i18n, run.seconds)}</td>
            <td>{restored}</td>
            <td>
                <span class=format!("state state--{}", run.status) data-testid="drill-status">{let status = run.status.clone(); move || status_name(i18n, &status)}</span>
                <div class="muted" translate="no">{run.sandbox.clone().unwrap_or_default()}</div>
            </td>
            <td>
                {move || (failed && MeContext::allows(Role::Operator)).then(|| view! {
                    <button
                        class="button button--small"
                        data-testid="retry-drill"
                        on:click=move |_| {
                            retry.dispatch(RetryDrill { run_id: id });
                        }
                    >
                        {t!(i18n, restores.retry)}
                    </button>
                })}
            </td>
        </tr>
        <tr class="progress-row" data-testid="drill-detail">
            <td colspan="8">
                {run.error.clone().map(|e| view! { <div class="alert alert--error" data-testid="drill-error" translate="no">{e}</div> })}
                <ul class="drill-phases">
                    {run.phases.into_iter().map(|p| view! {
                        <li data-testid="drill-phase" data-name=p.name.clone()>
                            <strong>{let name = p.name.clone(); move || drill_phase_name(i18n, &name)}</strong>
                            " " {when(Some(p.started_at))} " → " {when(Some(p.finished_at))}
                            {p.error.map(|e| view! { <span class="error-text" translate="no">" · " {e}</span> })}
                        </li>
                    }).collect_view()}
                </ul>
                <ul class="checks">
                    {run.checks.into_iter().map(|c| view! {
                        <li class=if c.passed { "check check--pass" } else { "check check--fail" } data-testid="drill-check" data-passed=c.passed.to_string() translate="no">
                            <strong>{if c.passed { "✓ " } else { "✗ " }} {c.name}</strong>
                            " — " {c.detail}
                        </li>
                    }).collect_view()}
                </ul>
            </td>
        </tr>
    }
}
