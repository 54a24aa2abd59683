//! View History: a task's runs, newest first, paginated and filterable by
//! state, with page and filter in the URL, and the backup path to copy.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::drills::TaskDrillsPanel;
use super::timeline::TaskTimelinePanel;
use super::when;
use crate::api::restores::{recovery_points, PointList};
use crate::api::runs::{list_runs, HistoryPage, RunSummary};
use crate::components::{
    CopyButton, EmptyState, ErrorAlert, JobFeed, JobProgressBar, LocationBadges,
};
use crate::model::{human_bytes, human_duration, RunState};

fn history_url(task: i64, state: &str, page: u32) -> String {
    let mut url = format!("/backups/{task}/history?page={page}");
    if !state.is_empty() {
        url.push_str(&format!("&state={state}"));
    }
    url
}

#[component]
pub fn TaskHistoryPage() -> impl IntoView {
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
                    "History: "
                    <Transition fallback=|| ()>
                        {move || history.get().and_then(Result::ok).map(|h| h.task_name).unwrap_or_default()}
                    </Transition>
                </h1>
                <label>
                    "State "
                    <select data-testid="history-filter" prop:value=state on:change=on_filter>
                        <option value="">"all"</option>
                        {RunState::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <A href=move || format!("/backups/{}/compare", task_id()) attr:class="button" attr:data-testid="compare-points">"Compare points"</A>
                <A href="/backups" attr:class="button">"Back to tasks"</A>
            </header>
            <JobProgressBar progress />
            <TaskTimelinePanel task_id=Signal::derive(task_id) />
            <TaskDrillsPanel task_id=Signal::derive(task_id) />
            <h2>"Backup runs"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || history.get().map(|result| match result {
                    Ok(page) if page.runs.is_empty() => view! {
                        <EmptyState title="No runs">"Runs appear here once the task has run (Back Up Now or its schedule)."</EmptyState>
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
    let (task, current, pages, total) = (page.task_id, page.page, page.pages, page.total);
    view! {
        <table class="table" data-testid="history-table">
            <thead>
                <tr>
                    <th>"Run"</th>
                    <th>"Start"</th>
                    <th>"End"</th>
                    <th>"Duration"</th>
                    <th>"State"</th>
                    <th>"Mode"</th>
                    <th>"Size"</th>
                    <th>"Dedup"</th>
                    <th>"Backup path"</th>
                    <th>"Stored in"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {page.runs.into_iter().map(|run| view! { <HistoryRow run stored /> }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" data-testid="pager">
            <span data-testid="pager-status">{format!("page {current} of {pages} · {total} runs")}</span>
            {(current > 1).then(|| view! { <A href=history_url(task, &state, current - 1) attr:data-testid="pager-prev">"‹ newer"</A> })}
            {(current < pages).then(|| view! { <A href=history_url(task, &state, current + 1) attr:data-testid="pager-next">"older ›"</A> })}
        </nav>
    }
}

#[component]
fn HistoryRow(run: RunSummary, stored: Signal<Option<PointList>>) -> impl IntoView {
    let duration = run
        .duration_secs()
        .map(human_duration)
        .unwrap_or_else(|| "—".into());
    let dedup = match (run.state.as_str(), run.dedup_ratio()) {
        ("succeeded", Some(r)) => format!("{r:.1}×"),
        ("succeeded", None) => "all reused".into(),
        _ => "—".into(),
    };
    let size = if run.state == "succeeded" {
        format!(
            "{} ({} stored)",
            human_bytes(run.bytes as u64),
            human_bytes(run.bytes_stored as u64)
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
                {run.late.then(|| view! { <span class="badge" title="missed while the server was down">"late"</span> })}
                {(run.attempt > 1).then(|| view! { <span class="badge">{format!("attempt {}", run.attempt)}</span> })}
                {run.proven_at.map(|at| view! {
                    <span class="badge badge--proven" data-testid="proven-badge" title="a restore drill restored this point and proved its content">
                        {format!("proven {}", when(Some(at)))}
                    </span>
                })}
            </td>
            <td>{when(Some(run.started_at))}</td>
            <td>{when(run.finished_at)}</td>
            <td>{duration}</td>
            <td>
                <span class=format!("state state--{}", run.state) data-testid="run-state">{run.state.clone()}</span>
                {run.error.clone().map(|e| view! { <div class="muted error-text">{e}</div> })}
            </td>
            <td data-testid="run-mode">{run.mode.clone().unwrap_or_else(|| "—".into())}</td>
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
                {restore.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="restore-run">"Restore"</A> })}
                {compare.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="compare-run-point">"Changes"</A> })}
                {browse.map(|href| view! { <A href=href attr:class="button button--small" attr:data-testid="browse-run-point">"Browse"</A> })}
            </td>
        </tr>
    }
}
