//! One restore task: its settings, Verify's items, Start (once no item
//! fails and warnings are acknowledged), Retry after a failure, Cancel
//! while it runs; the live bars, each phase's start and finish, the
//! sub-tasks (objects) with their errors, and the timeout.

use leptos::prelude::*;

use crate::i18n::*;
use crate::pages::tasks::labels::duration_text;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::checks::{PlanPreview, PreCheckList};
use super::when;
use crate::api::restores::{
    get_restore, CancelRestore, RestoreDetail, RetryRestore, StartRestore, VerifyRestore,
};
use crate::components::job_log::JobError;
use crate::components::restore_words as labels;
use crate::components::{ErrorAlert, MeContext, Notice, RestoreFeed, RestoreProgressView};
use crate::model::{
    human_bytes, PitrResult, RestoreProgress, RestoreState, Role, EXTRACT_PHASE, LOG_PHASES,
    PHASES, WAL_PHASE,
};

#[component]
pub fn RestorePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let feed = RestoreFeed::get();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    let start = ServerAction::<StartRestore>::new();
    let retry = ServerAction::<RetryRestore>::new();
    let cancel = ServerAction::<CancelRestore>::new();
    let verify = ServerAction::<VerifyRestore>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                feed.map(|f| f.finished.get()),
                start.version().get(),
                retry.version().get(),
                cancel.version().get(),
                verify.version().get(),
            )
        },
        |(id, ..)| get_restore(id),
    );
    let error = Signal::derive(move || {
        [start.value().get(), retry.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
            .or_else(|| verify.value().get().and_then(|r| r.err()))
    });
    view! {
        <section class="page" data-testid="restore-detail">
            <Notice error />
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || detail.get().map(|result| match result {
                    Ok(detail) => view! { <RestoreView detail start retry cancel verify /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Phases are often shorter than a second.
fn precise(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "—".into())
}

/// The figures as stored, for a restore that is not running.
fn stored_progress(d: &RestoreDetail) -> Option<RestoreProgress> {
    let state = RestoreState::parse(&d.row.state)?;
    (state != RestoreState::New).then(|| RestoreProgress {
        restore_id: d.row.id,
        state,
        phase: d.row.phase.clone().unwrap_or_default(),
        phases: d.phases.clone(),
        bytes_total: d.bytes_total,
        bytes_fetched: d.bytes_loaded,
        bytes_loaded: d.bytes_loaded,
        rows_total: d.rows_total,
        rows_loaded: d.rows_loaded,
        objects_total: d.objects.len() as u64,
        objects_done: d.objects.iter().filter(|o| o.state == "done").count() as u64,
        elapsed_secs: match (d.started_at, d.row.finished_at) {
            (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        },
        error: d.row.error.clone(),
    })
}

#[component]
fn RestoreView(
    detail: RestoreDetail,
    start: ServerAction<StartRestore>,
    retry: ServerAction<RetryRestore>,
    cancel: ServerAction<CancelRestore>,
    verify: ServerAction<VerifyRestore>,
) -> impl IntoView {
    let i18n = use_i18n();
    let feed = RestoreFeed::get();
    let id = detail.row.id;
    let state = detail.row.state.clone();
    let stored = stored_progress(&detail);
    let initial_live = detail.live.clone();
    // Live events win; the page's own figures cover the time before the first.
    let progress = Signal::derive(move || {
        feed.and_then(|f| f.restore(id))
            .or_else(|| initial_live.clone())
            .or_else(|| stored.clone())
    });
    let live_state = Signal::derive(move || {
        progress
            .get()
            .map(|p| p.state)
            .or_else(|| RestoreState::parse(&state))
    });
    let live_state = move || live_state.get();
    let acknowledged = RwSignal::new(false);
    let outcome = detail.verify_outcome.clone().unwrap_or_default();
    let verified = detail.verified_current;
    let warn = outcome == "warn";
    let startable = verified && outcome != "fail" && !outcome.is_empty();
    let phases = Signal::derive(move || progress.get().map(|p| p.phases).unwrap_or_default());
    let form = detail.form.clone();
    let by_time = form.recovery_method == "time";
    // The phases after the base's: the server's WAL replay for a cluster,
    // the engine's log steps for a MariaDB restore to a second.
    let later_phases: &[&str] = if detail.cluster && !form.extract.source_id.is_empty() {
        &[WAL_PHASE, EXTRACT_PHASE]
    } else if detail.cluster {
        &[WAL_PHASE]
    } else if by_time {
        &LOG_PHASES
    } else {
        &[]
    };
    // Viewers see the task but not its controls (the server refuses them too).
    let operator = move || MeContext::allows(Role::Operator);
    view! {
        <header class="page-header">
            <h1>{t!(i18n, restore_detail.title)} " " <span translate="no">{detail.row.name.clone()}</span></h1>
            <span class="state" data-testid="restore-state">{move || labels::restore_text(i18n, live_state().map(|s| s.as_str()).unwrap_or("unknown"))}</span>
            <A href="/restores" attr:class="button">{t!(i18n, restore_detail.all)}</A>
        </header>
        <dl class="facts">
            <dt>{t!(i18n, restore_detail.backup_task)}</dt><dd translate="no">{detail.row.task_name.clone()}</dd>
            {if form.recovery_method == "time" {
                view! { <dt>{t!(i18n, restore_detail.point_in_time)}</dt><dd data-testid="restore-to-time">{format!("{} UTC", form.to_time.replace('T', " "))}</dd> }.into_any()
            } else {
                view! { <dt>{t!(i18n, restore_detail.recovery_point)}</dt><dd><code data-testid="restore-point">{detail.row.point_id.clone()}</code></dd> }.into_any()
            }}
            <dt>{t!(i18n, restore_detail.read_from)}</dt><dd data-testid="restore-read-from"><span translate="no">{detail.read_from.clone()}</span>{detail.read_from_copy.then_some(t!(i18n, restore_detail.copy_suffix))}</dd>
            <dt>{t!(i18n, restores.col_target)}</dt><dd><code data-testid="restore-target">{detail.row.target.clone()}</code></dd>
            <dt>{t!(i18n, restore_form.col_objects)}</dt>{if form.objects.is_empty() { view! { <dd>{t!(i18n, restore_detail.all_objects)}</dd> }.into_any() } else {
                view! { <dd translate="no">{form.objects.iter().map(|o| if o.name == o.target_name { o.name.clone() } else { t_string!(i18n, restore_detail.renamed, from = o.name.clone(), to = o.target_name.clone()).to_string() }).collect::<Vec<_>>().join(", ")}</dd> }.into_any()
            }}
            <dt>{t!(i18n, restore_form.policies)}</dt><dd>{policies_text(i18n, &form)}</dd>
            <dt>{t!(i18n, restore_detail.timeout)}</dt><dd data-testid="restore-timeout">{t!(i18n, restore_detail.minutes, n = detail.timeout_min)}</dd>
            <dt>{t!(i18n, restore_detail.attempts)}</dt><dd data-testid="restore-attempt">{detail.attempt}</dd>
            <dt>{t!(i18n, restores.col_created)}</dt><dd>{when(Some(detail.row.created_at))}</dd>
            <dt>{t!(i18n, run.finished)}</dt><dd>{when(detail.row.finished_at)}</dd>
        </dl>

        <div class="form-actions">
            {move || (operator() && live_state() == Some(RestoreState::New)).then(|| view! {
                <button type="button" class="button" data-testid="verify" on:click=move |_| { verify.dispatch(VerifyRestore { id }); }>{t!(i18n, task_form.verify)}</button>
                {warn.then(|| view! {
                    <label data-testid="ack-label"><input type="checkbox" data-testid="ack-warnings"
                        on:change=move |ev| acknowledged.set(event_target_checked(&ev)) />{t!(i18n, restore_detail.ack)}</label>
                })}
                <button type="button" class="button button--primary" data-testid="start-restore"
                    prop:disabled=move || !startable || (warn && !acknowledged.get())
                    on:click=move |_| { start.dispatch(StartRestore { id, acknowledge_warnings: acknowledged.get_untracked() }); }>{t!(i18n, restores.start)}</button>
            })}
            {move || (operator() && live_state().is_some_and(|s| s.can_retry())).then(|| view! {
                <button type="button" class="button button--primary" data-testid="retry-restore"
                    on:click=move |_| { retry.dispatch(RetryRestore { id, acknowledge_warnings: true }); }>{t!(i18n, restores.retry)}</button>
            })}
            {move || (operator() && live_state().is_some_and(|s| s.is_active())).then(|| view! {
                <button type="button" class="button button--danger" data-testid="cancel-restore"
                    on:click=move |_| { cancel.dispatch(CancelRestore { id }); }>{t!(i18n, common.cancel)}</button>
            })}
        </div>
        {move || verify.value().get().and_then(Result::ok).map(|p| view! {
            <PreCheckList checks=p.checks.clone() outcome=p.outcome.clone() />
            <PlanPreview preview=p />
        })}
        {(!detail.checks.is_empty()).then(|| view! {
            <h2>{t!(i18n, restore_detail.precheck)} {detail.verified_at.map(|t| format!(" ({})", t.format("%Y-%m-%d %H:%M:%S")))}</h2>
            <PreCheckList checks=detail.checks.clone() outcome=outcome.clone() />
        })}

        <h2>{t!(i18n, restore_detail.progress)}</h2>
        <RestoreProgressView progress />
        {detail.row.error.clone().map(|message| view! { <p class="alert alert--error" data-testid="restore-error"><JobError kind=detail.row.error_kind.clone() message /></p> })}
        <table class="table" data-testid="restore-phases">
            <thead><tr><th>{t!(i18n, restore_detail.phase)}</th><th>{t!(i18n, run.started)}</th><th>{t!(i18n, run.finished)}</th></tr></thead>
            <tbody>
                {PHASES.into_iter().chain(later_phases.iter().copied()).map(|phase| {
                    let times = move || phases.get().into_iter().find(|p| p.phase == phase);
                    // A phase begun and never finished is where a stopped restore ended.
                    let status = move || match (times(), live_state()) {
                        (Some(p), _) if p.finished_at.is_some() => "done",
                        (Some(_), Some(RestoreState::Failed)) => "failed",
                        (Some(_), Some(RestoreState::Cancelled)) => "cancelled",
                        (Some(_), _) => "running",
                        (None, _) => "waiting",
                    };
                    view! {
                        <tr data-testid="phase-row" data-phase=phase data-status=status>
                            <td class="phase-name">{labels::restore_text(i18n, phase)}</td>
                            <td>{move || precise(times().and_then(|p| p.started_at))}</td>
                            <td>{move || match status() {
                                "failed" | "cancelled" => labels::restore_text(i18n, status()),
                                _ => precise(times().and_then(|p| p.finished_at)),
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>

        {detail.pitr_result.clone().map(|r| view! { <PitrResultView result=r /> })}

        <h2>{t!(i18n, restore_detail.subtasks)}</h2>
        <table class="table" data-testid="restore-objects">
            <thead><tr><th>{t!(i18n, restore_form.col_object)}</th><th>{t!(i18n, restore_form.col_restored_as)}</th><th>{t!(i18n, restore_form.col_action)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, restore_form.col_rows)}</th><th>{t!(i18n, history.state)}</th><th>{t!(i18n, restore_detail.check)}</th><th>{t!(i18n, restore_detail.error)}</th></tr></thead>
            <tbody>
                {detail.objects.into_iter().map(|o| { let (object, state) = (o.name.clone(), o.state.clone()); view! {
                    <tr data-testid="restore-object" data-object=object data-state=state>
                        <td><code>{o.name}</code></td>
                        <td><code>{o.target_name}</code></td>
                        <td translate=labels::translate_attr(i18n, &o.action)>{labels::restore_text(i18n, &o.action)}</td>
                        <td>{human_bytes(o.bytes)}</td>
                        <td>{o.rows.map(|r| r.to_string()).unwrap_or_default()}</td>
                        <td>{labels::restore_text(i18n, &o.state)}</td>
                        <td data-testid="restore-object-check" data-check=o.check_result.clone().unwrap_or_default()
                            class=check_class(o.check_result.as_deref()) translate="no">{o.check_detail.unwrap_or_default()}</td>
                        <td class="error-text" translate="no">{o.error.unwrap_or_default()}</td>
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
}

/// What the replay of a restore to a second applied, and the row counts
/// read back after it.
#[component]
fn PitrResultView(result: PitrResult) -> impl IntoView {
    let i18n = use_i18n();
    if let Some(cluster) = result.cluster.clone() {
        return view! { <ClusterResultView result cluster /> }.into_any();
    }
    view! {
        <h2>{t!(i18n, restore_detail.binlog_replay)}</h2>
        <div class="preview" data-testid="pitr-result">
            <p data-testid="pitr-replayed">{t!(i18n, restore_detail.binlog_replayed,
                point = view! { <code>{result.base_point.clone()}</code> }, transactions = result.transactions, rows = result.rows,
                to = result.to.clone(), took = duration_text(i18n, result.seconds))}</p>
            <table class="table">
                <thead><tr><th>{t!(i18n, restore_detail.table)}</th><th>{t!(i18n, restore_detail.rows_read_back)}</th></tr></thead>
                <tbody>
                    {result.counts_checked.into_iter().map(|(table, rows)| {
                        let name = table.clone();
                        view! {
                            <tr data-testid="pitr-count" data-table=name data-rows=rows.to_string()><td><code>{table}</code></td><td>{rows}</td></tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <ul translate="no">{result.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        </div>
    }
    .into_any()
}

/// What the server said when it stopped replaying a cluster's WAL.
#[component]
fn ClusterResultView(result: PitrResult, cluster: crate::model::ClusterRecovery) -> impl IntoView {
    let i18n = use_i18n();
    let removed = cluster
        .extracted
        .as_ref()
        .is_some_and(|e| e.removed_cluster);
    view! {
        <h2>{t!(i18n, restore_detail.wal_replay)}</h2>
        <div class="preview" data-testid="pitr-result" data-cluster="true">
            <p data-testid="pitr-replayed">{t!(i18n, restore_detail.wal_replayed,
                point = view! { <code>{result.base_point.clone()}</code> }, files = cluster.wal_files, to = result.to.clone(),
                took = duration_text(i18n, cluster.recovery_seconds), total = duration_text(i18n, result.seconds))}</p>
            {cluster.stopped.map(|s| view! { <p data-testid="pitr-server-stopped">{t!(i18n, restore_detail.server_said)} " " <span translate="no">{s}</span></p> })}
            {cluster.last_transaction.map(|s| view! { <p data-testid="pitr-last-transaction">{t!(i18n, restore_detail.server_said)} " " <span translate="no">{s}</span></p> })}
            <p data-testid="pitr-data-dir">{t!(i18n, restore_detail.data_dir)} " " <code>{cluster.data_dir.clone()}</code>
                {cluster.new_timeline.map(|t| t!(i18n, restore_detail.new_timeline, t))}
                {match (cluster.running_on_port, removed) {
                    (Some(port), _) => t!(i18n, restore_detail.running_on, port).into_any(),
                    (None, true) => t!(i18n, restore_detail.removed).into_any(),
                    (None, false) => t!(i18n, restore_detail.shut_down).into_any(),
                }}
            </p>
            <ul translate="no">{result.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        </div>
        {cluster.extracted.map(|extracted| view! { <ExtractResultView extracted /> })}
    }
}

/// The database (or tables) restored from the recovered cluster, and how
/// each was read back.
#[component]
fn ExtractResultView(extracted: crate::model::ExtractResult) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2>{t!(i18n, restore_detail.extraction)}</h2>
        <div class="preview" data-testid="extract-result">
            <p data-testid="extract-summary">{t!(i18n, restore_detail.extract_summary,
                database = view! { <code>{extracted.database.clone()}</code> }, target = view! { <code>{extracted.target.clone()}</code> },
                rows = extracted.rows, took = duration_text(i18n, extracted.seconds))}
                {extracted.removed_cluster.then_some(t!(i18n, restore_detail.extract_removed))}</p>
            <table class="table">
                <thead><tr><th>{t!(i18n, restore_form.col_object)}</th><th>{t!(i18n, restore_form.col_restored_as)}</th><th>{t!(i18n, restore_detail.read_back)}</th></tr></thead>
                <tbody>
                    {extracted.checks.into_iter().map(|(name, target_name, outcome)| {
                        let object = target_name.clone();
                        view! {
                        <tr data-testid="extract-check" data-object=object>
                            <td><code>{name}</code></td><td><code>{target_name}</code></td><td translate="no">{outcome}</td>
                        </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <ul translate="no">{extracted.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        </div>
    }
}

/// The restore's policies as one line.
fn policies_text(i18n: crate::I18n, form: &crate::model::RestoreForm) -> String {
    let on_off = |on: bool| {
        if on {
            t_string!(i18n, restore_detail.on)
        } else {
            t_string!(i18n, restore_detail.off)
        }
    };
    let check = if form.verify.is_empty() {
        "content"
    } else {
        form.verify.as_str()
    };
    t_string!(
        i18n,
        restore_detail.policies_line,
        force = on_off(form.force),
        structure = labels::policy_word(i18n, &form.structure),
        data = labels::policy_word(i18n, &form.data),
        lock = on_off(form.lock),
        check = labels::policy_word(i18n, check)
    )
    .to_string()
}

/// Proven exact reads as a pass, a difference as a failure.
fn check_class(result: Option<&str>) -> &'static str {
    match result {
        Some("content" | "rows_present") => "check check--pass",
        Some("differs") => "check check--fail",
        Some("counts") => "check check--warn",
        _ => "check",
    }
}
