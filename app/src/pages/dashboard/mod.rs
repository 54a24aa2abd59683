//! Dashboard: running jobs with their bars, last failures, next scheduled
//! runs, repository usage, and the console's own state.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::overview::{get_overview, Overview, RecoveryProblem, TaskRecovery};
use crate::components::{server_clock, ErrorAlert, JobFeed, JobProgressBar, RpoBadge, RtoBadge};
use crate::i18n::*;
use crate::pages::repositories::UsageCell;
use crate::pages::tasks::when;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let refreshes = RwSignal::new(0u32);
    let feed = JobFeed::get();
    let overview = Resource::new(
        move || (refreshes.get(), feed.map(|f| f.finished.get())),
        |_| get_overview(),
    );

    view! {
        <section class="page" data-testid="dashboard">
            <header class="page-header">
                <h1>{t!(i18n, nav.dashboard)}</h1>
                <button
                    class="button"
                    data-testid="refresh-overview"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    {t!(i18n, common.refresh)}
                </button>
            </header>
            <RunningJobs />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
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
    let i18n = use_i18n();
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
            <h2>{t!(i18n, dashboard.running_now)}</h2>
            {move || {
                let jobs = running();
                if jobs.is_empty() {
                    view! { <p class="muted" data-testid="no-running-jobs">{t!(i18n, dashboard.no_running)}</p> }.into_any()
                } else {
                    jobs.into_iter()
                        .map(|p| {
                            let run_id = p.run_id;
                            let name = p.task_name.clone();
                            let progress = Signal::derive(move || feed.and_then(|f| f.task(p.task_id)));
                            view! {
                                <div data-testid="running-job">
                                    <A href=format!("/runs/{run_id}") attr:translate="no">{name}</A>
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
    let i18n = use_i18n();
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
    let failing = (!overview.failing_channels.is_empty()).then(|| {
        view! {
            <div class="alert alert--error" role="alert" data-testid="failing-channels">
                <strong>{t!(i18n, dashboard.notifications_failing)} " "</strong>
                {overview.failing_channels.into_iter().map(|f| {
                    let since = f.since.format("%Y-%m-%d %H:%M UTC").to_string();
                    view! {
                    <span data-testid="failing-channel" data-name=f.channel.clone()>
                        <span translate="no">{format!("{:?}: {}", f.channel, f.error)}</span>
                        " " {t!(i18n, dashboard.failing_since, since)} " "
                    </span>
                }}).collect_view()}
                <a href="/notifications">{t!(i18n, nav.notifications)}</a>
            </div>
        }
    });
    view! {
            {failing}
            <div class="cards">
                <article class="card" data-testid="card-catalog">
                    <h2>{t!(i18n, dashboard.catalog)}</h2>
                    <p class="card-figure" data-testid="catalog-backend" translate="no">{overview.catalog_backend}</p>
                    <p class="muted">{t!(i18n, dashboard.schema_version)} " " {overview.schema_version}</p>
                </article>
                <article class="card" data-testid="card-repositories">
                    <h2>{t!(i18n, nav.repositories)}</h2>
                    <p class="card-figure" data-testid="repository-count">{overview.repositories}</p>
                    <p class="muted"><a href="/repositories">{t!(i18n, dashboard.manage_repositories)}</a></p>
                </article>
                <article class="card" data-testid="card-tasks">
                    <h2>{t!(i18n, dashboard.tasks_and_sources)}</h2>
                    <p class="card-figure" data-testid="task-count">{overview.tasks}</p>
                    <p class="muted">{t!(i18n, dashboard.data_sources, count = overview.sources)} " · " <a href="/backups">{t!(i18n, nav.backups)}</a></p>
                </article>
                <article class="card" data-testid="card-server">
                    <h2>{t!(i18n, dashboard.server)}</h2>
                    <p class="card-figure">{overview.version}</p>
                    <p class="muted">{t!(i18n, dashboard.up_since)} " " {started}</p>
                    <p class="muted" data-testid="data-dir">{t!(i18n, dashboard.data_in)} " " <span translate="no">{overview.data_dir}</span></p>
                </article>
            </div>
            <div class="cards cards--wide">
                <article class="card" data-testid="card-failures">
                    <h2>{t!(i18n, dashboard.last_failures)}</h2>
                    {if overview.failures.is_empty() {
                        view! { <p class="muted">{t!(i18n, dashboard.no_failures)}</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {overview.failures.into_iter().map(|f| view! {
                                    <li data-testid="failure">
                                        <A href=format!("/runs/{}", f.run_id) attr:translate="no">{f.task}</A>
                                        " · " {when(Some(f.at))}
                                        <div class="error-text" translate="no">{f.error}</div>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </article>
                <article class="card" data-testid="card-next-runs">
                    <h2>{t!(i18n, dashboard.next_runs)}</h2>
                    {if overview.next_runs.is_empty() {
                        view! { <p class="muted">{t!(i18n, dashboard.no_periodic)}</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {overview.next_runs.into_iter().map(|n| view! {
                                    <li data-testid="next-run">
                                        <A href=format!("/backups/{}/history", n.task_id) attr:translate="no">{n.task}</A>
                                        " · " {when(Some(n.at))}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </article>
                <article class="card" data-testid="card-usage">
                    <h2>{t!(i18n, dashboard.repository_usage)}</h2>
    <ul>
                        {overview.repository_names.into_iter().map(|(id, name)| view! {
                            <li><strong translate="no">{name}</strong> " " <UsageCell id /></li>
                        }).collect_view()}
                    </ul>
                </article>
            </div>
            {recovery}
            <p class="muted" data-testid="checked-at">{t!(i18n, dashboard.checked_at)} " " {checked}</p>
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
    let i18n = use_i18n();
    view! {
        <article class="card card--wide" data-testid="card-recovery">
            <h2>{t!(i18n, dashboard.recovery)}</h2>
            {if tasks.is_empty() {
                view! { <p class="muted">{t!(i18n, dashboard.no_tasks)}</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr><th>{t!(i18n, common.task)}</th><th>{t!(i18n, dashboard.newest_good)}</th><th>{t!(i18n, dashboard.last_proven)}</th></tr>
                        </thead>
                        <tbody>
                            {tasks.into_iter().map(|t| { let name = t.task.clone(); view! {
                                <tr data-testid="recovery-row" data-name=t.task>
                                    <td><A href=format!("/backups/{}/history", t.task_id) attr:translate="no">{name}</A></td>
                                    <td><RpoBadge status=t.status.clone() now /></td>
                                    <td><RtoBadge status=t.status /></td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {(!problems.is_empty()).then(|| view! {
                <h3>{t!(i18n, dashboard.drill_failures)}</h3>
                <ul>
                    {problems.into_iter().map(|p| { let name = p.task.clone(); view! {
                        <li data-testid="recovery-problem" data-name=p.task>
                            <A href=format!("/backups/{}/history", p.task_id) attr:translate="no">{name}</A>
                            " · " <span class="error-text" translate="no">{p.problem}</span>
                        </li>
                    }}).collect_view()}
                </ul>
            })}
        </article>
    }
}
