//! The task page's restore drills: the task's RPO/RTO badges, Run drill
//! now and Stop (operator role), the running drill's live progress, and
//! each drill run with its phases, checks, error and Retry.

use leptos::prelude::*;

use super::when;
use crate::api::drills::{
    task_drills, DrillRunView, DrillsPage, RetryDrill, RunDrillNow, StopDrill,
};
use crate::components::{
    server_clock, EmptyState, ErrorAlert, JobFeed, JobProgressBar, MeContext, Notice, RpoBadge,
    RtoBadge,
};
use crate::model::{human_bytes, human_duration, Role};

#[component]
pub fn TaskDrillsPanel(#[prop(into)] task_id: Signal<i64>) -> impl IntoView {
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
                <h2>"Restore drills"</h2>
                {move || MeContext::allows(Role::Operator).then(|| view! {
                    <button
                        class="button button--primary"
                        data-testid="run-drill"
                        disabled=move || live.get().is_some() || run.pending().get()
                        on:click=move |_| {
                            run.dispatch(RunDrillNow { task_id: task_id.get_untracked() });
                        }
                    >
                        "Run drill now"
                    </button>
                    {move || live.get().map(|_| view! {
                        <button
                            class="button button--danger"
                            data-testid="stop-drill"
                            on:click=move |_| {
                                stop.dispatch(StopDrill { task_id: task_id.get_untracked() });
                            }
                        >
                            "Stop drill"
                        </button>
                    })}
                })}
            </header>
            <Notice error=action_error />
            <div data-testid="drill-progress">
                <JobProgressBar progress=live />
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
    if let (Some(feed), Some(running)) = (JobFeed::get(), page.running.clone()) {
        feed.seed(vec![running]);
    }
    let now = server_clock(page.checked_at);
    view! {
        <p class="recovery-summary" data-testid="drill-plan">
            "Drills: " {page.plan.clone()} " · "
            <RpoBadge status=page.recovery.clone() now />
            " · "
            <RtoBadge status=page.recovery.clone() />
        </p>
        {if page.runs.is_empty() {
            view! {
                <EmptyState title="No drills yet">
                    "A drill restores a point into a throwaway sandbox, proves its content, runs the task's checks and measures the restore time (the RTO)."
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <table class="table" data-testid="drill-table">
                    <thead>
                        <tr>
                            <th>"Drill"</th>
                            <th>"Point"</th>
                            <th>"Start"</th>
                            <th>"RTO"</th>
                            <th>"Whole drill"</th>
                            <th>"Restored"</th>
                            <th>"Status"</th>
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

fn seconds(value: Option<f64>) -> String {
    value.map(human_duration).unwrap_or_else(|| "—".into())
}

#[component]
fn DrillRow(run: DrillRunView, retry: ServerAction<RetryDrill>) -> impl IntoView {
    let id = run.id;
    let failed = run.status == "failed";
    let restored = if run.status == "running" {
        "—".to_owned()
    } else {
        format!(
            "{} · {} rows · {} objects",
            human_bytes(u64::try_from(run.bytes).unwrap_or(0)),
            run.rows,
            run.objects
        )
    };
    view! {
        <tr data-testid="drill-row" data-status=run.status.clone() data-id=id>
            <td>
                {format!("#{id}")}
                <span class="badge">{run.trigger.replace('_', " ")}</span>
            </td>
            <td>
                <code data-testid="drill-point">{run.point.clone().unwrap_or_else(|| "—".into())}</code>
                <div class="muted">"taken " {when(run.point_finished_at)}</div>
            </td>
            <td>{when(Some(run.started_at))}</td>
            <td data-testid="drill-rto">{seconds(run.rto_seconds)}</td>
            <td>{seconds(run.seconds)}</td>
            <td>{restored}</td>
            <td>
                <span class=format!("state state--{}", run.status) data-testid="drill-status">{run.status.clone()}</span>
                <div class="muted">{run.sandbox.clone().unwrap_or_default()}</div>
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
                        "Retry"
                    </button>
                })}
            </td>
        </tr>
        <tr class="progress-row" data-testid="drill-detail">
            <td colspan="8">
                {run.error.clone().map(|e| view! { <div class="alert alert--error" data-testid="drill-error">{e}</div> })}
                <ul class="drill-phases">
                    {run.phases.into_iter().map(|p| view! {
                        <li data-testid="drill-phase" data-name=p.name.clone()>
                            <strong>{p.name.clone()}</strong>
                            " " {when(Some(p.started_at))} " → " {when(Some(p.finished_at))}
                            {p.error.map(|e| view! { <span class="error-text">" · " {e}</span> })}
                        </li>
                    }).collect_view()}
                </ul>
                <ul class="checks">
                    {run.checks.into_iter().map(|c| view! {
                        <li class=if c.passed { "check check--pass" } else { "check check--fail" } data-testid="drill-check" data-passed=c.passed.to_string()>
                            <strong>{if c.passed { "✓ " } else { "✗ " }} {c.name}</strong>
                            " — " {c.detail}
                        </li>
                    }).collect_view()}
                </ul>
            </td>
        </tr>
    }
}
