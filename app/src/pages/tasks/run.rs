//! A run's detail: live progress while it runs, then its figures, log
//! lines, and the objects its point stored.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::{mode_name, state_name, trigger_name, when};
use crate::api::runs::{get_run, RunDetail};
use crate::api::tasks::StopTask;
use crate::components::job_log::{log_text, JobError};
use crate::components::{CopyButton, ErrorAlert, JobFeed, JobProgressBar};
use crate::i18n::*;
use crate::model::human_bytes;

#[component]
pub fn RunPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let feed = JobFeed::get();
    let run_id =
        move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    let detail = Resource::new(
        move || (run_id(), feed.map(|f| f.finished.get())),
        |(id, _)| get_run(id),
    );
    view! {
        <section class="page" data-testid="run-detail">
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || detail.get().map(|result| match result {
                    Ok(detail) => view! { <RunView detail /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RunView(detail: RunDetail) -> impl IntoView {
    let i18n = use_i18n();
    let feed = JobFeed::get();
    let run = detail.run;
    let (run_id, task_id) = (run.id, run.task_id);
    let stop = ServerAction::<StopTask>::new();
    let live = Signal::derive(move || {
        feed.and_then(|f| f.task(task_id))
            .filter(|p| p.run_id == run_id)
    });
    let running = run.state == "running";
    view! {
        <header class="page-header">
            <h1>{t!(i18n, run.title, id = run.id)} " " <span translate="no">{detail.task_name}</span></h1>
            {running.then(|| view! {
                <button class="button button--danger" data-testid="stop-run" on:click=move |_| { stop.dispatch(StopTask { id: task_id }); }>
                    {t!(i18n, run.stop)}
                </button>
            })}
            <A href=format!("/backups/{task_id}/history") attr:class="button">{t!(i18n, run.history)}</A>
        </header>
        <JobProgressBar progress=live />
        <dl class="facts">
            <dt>{t!(i18n, history.state)}</dt><dd><span class=format!("state state--{}", run.state) data-testid="run-state">{let s = run.state.clone(); move || state_name(i18n, &s)}</span></dd>
            <dt>{t!(i18n, run.started)}</dt><dd>{when(Some(run.started_at))} " (" {let tr = run.trigger.clone(); move || trigger_name(i18n, &tr)} {run.late.then_some(t!(i18n, run.late))} ")"</dd>
            <dt>{t!(i18n, run.finished)}</dt><dd>{when(run.finished_at)}</dd>
            <dt>{t!(i18n, tasks.col_mode)}</dt><dd>{let mode = run.mode.clone(); move || mode.as_deref().map(|m| mode_name(i18n, m)).unwrap_or_else(|| "—".into())}</dd>
            <dt>{t!(i18n, history.col_size)}</dt><dd>{t!(i18n, run.size_text, bytes = human_bytes(run.bytes as u64), objects = run.objects, new_chunks = run.new_chunks, chunks = run.chunks, stored = human_bytes(run.bytes_stored as u64))}</dd>
            <dt>{t!(i18n, history.col_backup_path)}</dt>
            <dd>{run.backup_path.clone().map(|path| view! { <code data-testid="backup-path">{path.clone()}</code> " " <CopyButton text=path testid="copy-path" /> })}</dd>
            {run.error.clone().map(|message| view! { <dt>{t!(i18n, run.error)}</dt><dd class="error-text" data-testid="run-error"><JobError kind=run.error_kind.clone() message /></dd> })}
        </dl>
        <h2>{t!(i18n, run.log)}</h2>
        <pre class="log" data-testid="run-log">
            {let logs = detail.logs; move || logs.iter().map(|l| format!("{} {:5} {}\n", l.at.format("%H:%M:%S%.3f"), l.level, log_text(i18n, l.text.as_ref(), &l.message))).collect::<String>()}
        </pre>
        <h2>{t!(i18n, run.objects)}</h2>
        {detail.objects_error.map(|e| view! { <p class="alert alert--error" translate="no">{e}</p> })}
        <table class="table" data-testid="run-objects">
            <thead><tr><th>{t!(i18n, run.col_object)}</th><th>{t!(i18n, run.col_kind)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, run.col_rows)}</th></tr></thead>
            <tbody>
                {detail.objects.into_iter().map(|o| view! {
                    <tr data-testid="run-object"><td><code>{o.name}</code></td><td>{let kind = o.kind.clone(); move || super::browse::object_kind_name(i18n, &kind)}</td><td>{human_bytes(o.size)}</td><td>{o.rows.map(|r| r.to_string()).unwrap_or_default()}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
