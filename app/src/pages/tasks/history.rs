//! View History: a task's runs, newest first, paginated and filterable by
//! state, with page and filter in the URL, and the backup path to copy.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::drills::TaskDrillsPanel;
use super::timeline::TaskTimelinePanel;
use super::{duration_text, mode_name, state_name, when};
use crate::api::restores::{recovery_points, PointList};
use crate::api::runs::{list_runs, HistoryPage, RunSummary};
use crate::components::job_log::JobError;
use crate::components::{
    CopyButton, EmptyState, ErrorAlert, JobFeed, JobProgressBar, LocationBadges,
};
use crate::i18n::*;
use crate::model::{human_bytes, RunState};

fn history_url(task: i64, state: &str, page: u32) -> String {
    let mut url = format!("/backups/{task}/history?page={page}");
    if !state.is_empty() {
        url.push_str(&format!("&state={state}"));
    }
    url
}

#[component]
pub fn TaskHistoryPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let feed = JobFeed::get();
    let task_id =
        move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    let state = move || query.with(|q| q.get("state").unwrap_or_default());
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let history = Resource::new(
        move || (task_id(), state(), page(), feed.map(|f| f.finished.get())),
        |(task, state, page, _)| list_runs(task, Some(state), page),
    );
    // Where each point is now: the task's repository and copies of it.
    let stored = Resource::new(
        move || (task_id(), feed.map(|f| f.finished.get())),
        |(task, _)| recovery_points(task),
    );
    let stored = Signal::derive(move || stored.get().and_then(Result::ok));
    let navigate = use_navigate();
    let on_filter = move |ev| {
        let chosen = event_target_value(&ev);
        navigate(&history_url(task_id(), &chosen, 1), Default::default());
    };
    let progress = Signal::derive(move || {
        feed.and_then(|f| f.task(task_id()))
            .filter(|p| !p.is_finished())
    });

    view! {
        <section class="page" data-testid="history">
            <header class="page-header">
                <h1>
                    {t!(i18n, history.title)} " "
                    <span translate="no">
                    <Transition fallback=|| ()>
                        {move || history.get().and_then(Result::ok).map(|h| h.task_name).unwrap_or_default()}
                    </Transition>
                    </span>
                </h1>
                <label>
                    {t!(i18n, history.state)} " "
                    <select data-testid="history-filter" prop:value=state on:change=on_filter>
                        <option value="">{t!(i18n, history.all)}</option>
                        {RunState::ALL.iter().map(|s| view! { <option value=s.as_str()>{move || state_name(i18n, s.as_str())}</option> }).collect_view()}
                    </select>
                </label>
                <A href=move || format!("/backups/{}/compare", task_id()) attr:class="button" attr:data-testid="compare-points">{t!(i18n, history.compare_points)}</A>
                <A href="/backups" attr:class="button">{t!(i18n, history.back_to_tasks)}</A>
            </header>
            <JobProgressBar progress />
            <TaskTimelinePanel task_id=Signal::derive(task_id) />
            <TaskDrillsPanel task_id=Signal::derive(task_id) />
            <h2>{t!(i18n, history.runs)}</h2>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || history.get().map(|result| match result {
                    Ok(page) if page.runs.is_empty() => view! {
                        <EmptyState title=move || t_string!(i18n, history.empty_title)>{t!(i18n, history.empty_body)}</EmptyState>
                    }.into_any(),
                    Ok(page) => view! { <HistoryTable page state=state() stored /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn HistoryTable(
    page: HistoryPage,
    state: String,
    stored: Signal<Option<PointList>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (task, current, pages, total) = (page.task_id, page.page, page.pages, page.total);
    view! {
        <table class="table" data-testid="history-table">
            <thead>
                <tr>
                    <th>{t!(i18n, history.col_run)}</th>
                    <th>{t!(i18n, history.col_start)}</th>
                    <th>{t!(i18n, history.col_end)}</th>
                    <th>{t!(i18n, history.col_duration)}</th>
                    <th>{t!(i18n, history.state)}</th>
                    <th>{t!(i18n, tasks.col_mode)}</th>
                    <th>{t!(i18n, history.col_size)}</th>
                    <th>{t!(i18n, history.col_dedup)}</th>
                    <th>{t!(i18n, history.col_backup_path)}</th>
                    <th>{t!(i18n, history.col_stored_in)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {page.runs.into_iter().map(|run| view! { <HistoryRow run stored /> }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" data-testid="pager">
            <span data-testid="pager-status">{t!(i18n, history.pager, current, pages, total)}</span>
            {(current > 1).then(|| view! { <A href=history_url(task, &state, current - 1) attr:data-testid="pager-prev">{t!(i18n, history.newer)}</A> })}
            {(current < pages).then(|| view! { <A href=history_url(task, &state, current + 1) attr:data-testid="pager-next">{t!(i18n, history.older)}</A> })}
        </nav>
    }
}

#[component]
fn HistoryRow(run: RunSummary, stored: Signal<Option<PointList>>) -> impl IntoView {
    let i18n = use_i18n();
    let duration = run
        .duration_secs()
        .map(|secs| duration_text(i18n, secs))
        .unwrap_or_else(|| "—".into());
    let dedup = match (run.state.as_str(), run.dedup_ratio()) {
        ("succeeded", Some(r)) => format!("{r:.1}×"),
        ("succeeded", None) => t_string!(i18n, history.all_reused).into(),
        _ => "—".into(),
    };
    let size = if run.state == "succeeded" {
        t_string!(
            i18n,
            history.size_stored,
            size = human_bytes(run.bytes as u64),
            stored = human_bytes(run.bytes_stored as u64)
        )
    } else {
        "—".into()
    };
    // A succeeded run's point can be restored, starting from this record.
    let restore = match (&run.point, run.state.as_str()) {
        (Some(point), "succeeded") => Some(format!(
            "/restores/new?task={}&point={}",
            run.task_id,
            crate::model::percent_encode(point)
        )),
        _ => None,
    };
    let point = run.point.clone().filter(|_| run.state == "succeeded");
    // A point against its parent (or the task's point before it).
    let browse = point.as_ref().map(|p| {
        format!(
            "/backups/{}/points/{}",
            run.task_id,
            crate::model::percent_encode(p)
        )
    });
    let compare = point.as_ref().map(|p| {
        format!(
            "/backups/{}/compare?to={}",
            run.task_id,
            crate::model::percent_encode(p)
        )
    });
    let locations = move || {
        let point = point.clone()?;
        let list = stored.get()?;
        let held = list.points.into_iter().find(|p| p.id == point);
        Some(view! { <LocationBadges locations=held.map(|p| p.locations).unwrap_or_default() /> })
    };
    view! {
        <tr data-testid="history-row" data-state=run.state.clone()>
            <td><A href=format!("/runs/{}", run.id) attr:data-testid="run-link">{format!("#{}", run.id)}</A>
                {run.late.then(|| view! { <span class="badge" title=move || t_string!(i18n, history.late_tip)>{t!(i18n, history.late)}</span> })}
                {(run.attempt > 1).then(|| view! { <span class="badge">{t!(i18n, history.attempt, n = run.attempt)}</span> })}
                {run.proven_at.map(|at| view! {
                    <span class="badge badge--proven" data-testid="proven-badge" title=move || t_string!(i18n, history.proven_tip)>
                        {t!(i18n, history.proven, at = when(Some(at)))}
                    </span>
                })}
            </td>
            <td>{when(Some(run.started_at))}</td>
            <td>{when(run.finished_at)}</td>
            <td>{duration}</td>
            <td>
                <span class=format!("state state--{}", run.state) data-testid="run-state">{let s = run.state.clone(); move || state_name(i18n, &s)}</span>
                {run.error.clone().map(|message| view! { <div class="muted error-text"><JobError kind=run.error_kind.clone() message /></div> })}
            </td>
            <td data-testid="run-mode">{let mode = run.mode.clone(); move || mode.as_deref().map(|m| mode_name(i18n, m)).unwrap_or_else(|| "—".into())}</td>
            <td>{size}</td>
            <td>{dedup}</td>
            <td>
                {run.backup_path.clone().map(|path| view! {
                    <code data-testid="backup-path">{path.clone()}</code>
                    " "
                    <CopyButton text=path testid="copy-path" />
                })}
            </td>
            <td data-testid="run-stored-in">{locations}</td>
            <td>
                {restore.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="restore-run">{t!(i18n, history.restore)}</A> })}
                {compare.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="compare-run-point">{t!(i18n, history.changes)}</A> })}
                {browse.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="browse-run-point">{t!(i18n, history.browse)}</A> })}
            </td>
        </tr>
    }
}
