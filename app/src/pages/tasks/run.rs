//! A run's detail: live progress while it runs, then its figures, log
//! lines, and the objects its point stored.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::when;
use crate::api::runs::{get_run, RunDetail};
use crate::api::tasks::StopTask;
use crate::components::{CopyButton, ErrorAlert, JobFeed, JobProgressBar};
use crate::model::human_bytes;

#[component]
pub fn RunPage() -> impl IntoView {
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
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
            <h1>{format!("Run #{} of {}", run.id, detail.task_name)}</h1>
            {running.then(|| view! {
                <button class="button button--danger" data-testid="stop-run" on:click=move |_| { stop.dispatch(StopTask { id: task_id }); }>
                    "Stop"
                </button>
            })}
            <A href=format!("/backups/{task_id}/history") attr:class="button">"History"</A>
        </header>
        <JobProgressBar progress=live />
        <dl class="facts">
            <dt>"State"</dt><dd><span class=format!("state state--{}", run.state) data-testid="run-state">{run.state.clone()}</span></dd>
            <dt>"Started"</dt><dd>{when(Some(run.started_at))} " (" {run.trigger.clone()} {run.late.then_some(", late")} ")"</dd>
            <dt>"Finished"</dt><dd>{when(run.finished_at)}</dd>
            <dt>"Mode"</dt><dd>{run.mode.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Size"</dt><dd>{format!("{} in {} objects; {} new chunks of {}, {} stored", human_bytes(run.bytes as u64), run.objects, run.new_chunks, run.chunks, human_bytes(run.bytes_stored as u64))}</dd>
            <dt>"Backup path"</dt>
            <dd>{run.backup_path.clone().map(|path| view! { <code data-testid="backup-path">{path.clone()}</code> " " <CopyButton text=path testid="copy-path" /> })}</dd>
            {run.error.clone().map(|e| view! { <dt>"Error"</dt><dd class="error-text" data-testid="run-error">{e}</dd> })}
        </dl>
        <h2>"Log"</h2>
        <pre class="log" data-testid="run-log">
            {detail.logs.into_iter().map(|l| format!("{} {:5} {}\n", l.at.format("%H:%M:%S%.3f"), l.level, l.message)).collect::<String>()}
        </pre>
        <h2>"Objects stored"</h2>
        {detail.objects_error.map(|e| view! { <p class="alert alert--error">{e}</p> })}
        <table class="table" data-testid="run-objects">
            <thead><tr><th>"Object"</th><th>"Kind"</th><th>"Size"</th><th>"Rows"</th></tr></thead>
            <tbody>
                {detail.objects.into_iter().map(|o| view! {
                    <tr data-testid="run-object"><td><code>{o.name}</code></td><td>{o.kind}</td><td>{human_bytes(o.size)}</td><td>{o.rows.map(|r| r.to_string()).unwrap_or_default()}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
