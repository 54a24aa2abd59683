//! Dashboard: running jobs with their bars, last failures, next scheduled
//! runs, repository usage, and the console's own state.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::overview::{get_overview, Overview, RecoveryProblem, TaskRecovery};
use crate::components::{server_clock, ErrorAlert, JobFeed, JobProgressBar, RpoBadge, RtoBadge};
use crate::pages::repositories::UsageCell;
use crate::pages::tasks::when;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let feed = JobFeed::get();
    let overview = Resource::new(
        move || (refreshes.get(), feed.map(|f| f.finished.get())),
        |_| get_overview(),
    );

    view! {
        <section class="page" data-testid="dashboard">
            <header class="page-header">
                <h1>"Dashboard"</h1>
                <button
                    class="button"
                    data-testid="refresh-overview"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
            </header>
            <RunningJobs />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    overview
                        .get()
                        .map(|result| match result {
                            Ok(overview) => view! { <OverviewCards overview /> }.into_any(),
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

/// Jobs running now, from the live feed.
#[component]
fn RunningJobs() -> impl IntoView {
    let feed = JobFeed::get();
    let running = move || {
        let mut jobs: Vec<_> = feed
            .map(|f| {
                f.by_task
                    .with(|m| m.values().filter(|p| !p.is_finished()).cloned().collect())
            })
            .unwrap_or_default();
        jobs.sort_by_key(|p| p.run_id);
        jobs
    };
    view! {
        <div class="panel" data-testid="running-jobs">
            <h2>"Running now"</h2>
            {move || {
                let jobs = running();
                if jobs.is_empty() {
                    view! { <p class="muted" data-testid="no-running-jobs">"No backup is running."</p> }.into_any()
                } else {
                    jobs.into_iter()
                        .map(|p| {
                            let run_id = p.run_id;
                            let name = p.task_name.clone();
                            let progress = Signal::derive(move || feed.and_then(|f| f.task(p.task_id)));
                            view! {
                                <div data-testid="running-job">
                                    <A href=format!("/runs/{run_id}")>{name}</A>
                                    <JobProgressBar progress />
                                </div>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </div>
    }
}

#[component]
fn OverviewCards(overview: Overview) -> impl IntoView {
    // Jobs already running when the page loaded, before the feed's first tick.
    if let Some(feed) = JobFeed::get() {
        feed.seed(overview.running.clone());
    }
    let started = overview
        .started_at
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let checked = overview.checked_at.format("%H:%M:%S%.3f UTC").to_string();
    let recovery = view! {
        <RecoveryCard tasks=overview.recovery checked_at=overview.checked_at problems=overview.problems />
    };
    let failing = (!overview.failing_channels.is_empty()).then(|| view! {
        <div class="alert alert--error" role="alert" data-testid="failing-channels">
            <strong>"Notifications are not arriving. "</strong>
            {overview.failing_channels.into_iter().map(|f| view! {
                <span data-testid="failing-channel" data-name=f.channel.clone()>
                    {format!("{:?}: {} (a message of {}). ", f.channel, f.error, f.since.format("%Y-%m-%d %H:%M UTC"))}
                </span>
            }).collect_view()}
            <a href="/notifications">"Notifications"</a>
        </div>
    });
    view! {
            {failing}
            <div class="cards">
                <article class="card" data-testid="card-catalog">
                    <h2>"Catalog"</h2>
                    <p class="card-figure" data-testid="catalog-backend">{overview.catalog_backend}</p>
                    <p class="muted">"schema version " {overview.schema_version}</p>
                </article>
                <article class="card" data-testid="card-repositories">
                    <h2>"Repositories"</h2>
                    <p class="card-figure" data-testid="repository-count">{overview.repositories}</p>
                    <p class="muted"><a href="/repositories">"Manage repositories"</a></p>
                </article>
                <article class="card" data-testid="card-tasks">
                    <h2>"Tasks and sources"</h2>
                    <p class="card-figure" data-testid="task-count">{overview.tasks}</p>
                    <p class="muted">{overview.sources} " data sources · " <a href="/backups">"Backup Management"</a></p>
                </article>
                <article class="card" data-testid="card-server">
                    <h2>"Server"</h2>
                    <p class="card-figure">{overview.version}</p>
                    <p class="muted">"up since " {started}</p>
                    <p class="muted" data-testid="data-dir">"data in " {overview.data_dir}</p>
                </article>
            </div>
            <div class="cards cards--wide">
                <article class="card" data-testid="card-failures">
                    <h2>"Last failures"</h2>
                    {if overview.failures.is_empty() {
                        view! { <p class="muted">"No failed runs."</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {overview.failures.into_iter().map(|f| view! {
                                    <li data-testid="failure">
                                        <A href=format!("/runs/{}", f.run_id)>{f.task}</A>
                                        " · " {when(Some(f.at))}
                                        <div class="error-text">{f.error}</div>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </article>
                <article class="card" data-testid="card-next-runs">
                    <h2>"Next scheduled runs"</h2>
                    {if overview.next_runs.is_empty() {
                        view! { <p class="muted">"No periodic task is enabled."</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {overview.next_runs.into_iter().map(|n| view! {
                                    <li data-testid="next-run">
                                        <A href=format!("/backups/{}/history", n.task_id)>{n.task}</A>
                                        " · " {when(Some(n.at))}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </article>
                <article class="card" data-testid="card-usage">
                    <h2>"Repository usage"</h2>
    <ul>
                        {overview.repository_names.into_iter().map(|(id, name)| view! {
                            <li><strong>{name}</strong> " " <UsageCell id /></li>
                        }).collect_view()}
                    </ul>
                </article>
            </div>
            {recovery}
            <p class="muted" data-testid="checked-at">"Checked at " {checked}</p>
        }
}

/// Per task: the newest good point against the RPO target and the last
/// proven one against the RTO target; then failed drills and breaches.
#[component]
fn RecoveryCard(
    tasks: Vec<TaskRecovery>,
    checked_at: chrono::DateTime<chrono::Utc>,
    problems: Vec<RecoveryProblem>,
) -> impl IntoView {
    let now = server_clock(checked_at);
    view! {
        <article class="card card--wide" data-testid="card-recovery">
            <h2>"Recovery: RPO and RTO"</h2>
            {if tasks.is_empty() {
                view! { <p class="muted">"No backup tasks."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr><th>"Task"</th><th>"Newest good point (RPO)"</th><th>"Last proven restore (RTO)"</th></tr>
                        </thead>
                        <tbody>
                            {tasks.into_iter().map(|t| { let name = t.task.clone(); view! {
                                <tr data-testid="recovery-row" data-name=t.task>
                                    <td><A href=format!("/backups/{}/history", t.task_id)>{name}</A></td>
                                    <td><RpoBadge status=t.status.clone() now /></td>
                                    <td><RtoBadge status=t.status /></td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {(!problems.is_empty()).then(|| view! {
                <h3>"Drill failures and breaches"</h3>
                <ul>
                    {problems.into_iter().map(|p| { let name = p.task.clone(); view! {
                        <li data-testid="recovery-problem" data-name=p.task>
                            <A href=format!("/backups/{}/history", p.task_id)>{name}</A>
                            " · " <span class="error-text">{p.problem}</span>
                        </li>
                    }}).collect_view()}
                </ul>
            })}
        </article>
    }
}
