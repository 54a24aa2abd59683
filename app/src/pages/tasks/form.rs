//! Create / Edit task: one form, validated on the server, errors beside
//! their fields, and Verify to check the configuration before saving.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::content::ContentPicker;
use super::cron::CronFields;
use super::drill_form::DrillFields;
use crate::api::repositories::list_repositories;
use crate::api::sources::list_sources;
use crate::api::tasks::{copy_task, get_task, SaveTask, VerifyTask};
use crate::components::{hydrated_flag, CheckList, ErrorAlert, FieldError, Notice};
use crate::error::AppError;
use crate::model::{NotifyRule, TaskForm, COMPRESSION_LEVELS};

fn new_form() -> TaskForm {
    TaskForm {
        content_mode: "all".into(),
        schedule_mode: "manual".into(),
        period_value: "1".into(),
        period_unit: "days".into(),
        policy: "full-then-incremental".into(),
        full_every_n: "7".into(),
        keep_last: "7".into(),
        compression: "balanced".into(),
        pack_size_mib: "16".into(),
        retry_count: "0".into(),
        retry_interval_min: "5".into(),
        enabled: Some("on".into()),
        drill_mode: "off".into(),
        drill_every_n: "1".into(),
        drill_period_value: "1".into(),
        drill_period_unit: "days".into(),
        drill_point: "latest".into(),
        drill_server_id: "auto".into(),
        ..TaskForm::default()
    }
}

#[component]
pub fn TaskCreatePage() -> impl IntoView {
    let query = use_query_map();
    let copy_of = move || query.with(|q| q.get("copy").and_then(|id| id.parse::<i64>().ok()));
    let initial = Resource::new(copy_of, |copy| async move {
        match copy {
            Some(id) => copy_task(id).await,
            None => Ok(new_form()),
        }
    });
    view! {
        <section class="page" data-testid="task-form-page">
            <header class="page-header">
                <h1>{move || if copy_of().is_some() { "Copy task" } else { "Create task" }}</h1>
            </header>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                // Awaited once (see the restore form): the form's own
                // resources are built by one run only.
                {move || Suspend::new(async move {
                    match initial.await {
                        Ok(form) => view! { <TaskFormView id=None initial=form running=false /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn TaskEditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let task = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_task(id).await,
            None => Err(AppError::NotFound("task".into())),
        }
    });
    view! {
        <section class="page" data-testid="task-form-page">
            <header class="page-header">
                <h1>"Edit task"</h1>
            </header>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match task.await {
                        Ok(edit) => {
                            view! { <TaskFormView id=Some(edit.id) initial=edit.form running=edit.running /> }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

type GetField = fn(&TaskForm) -> String;
type SetField = fn(&mut TaskForm, String);

/// A text-like input bound to one form field.
#[component]
pub(super) fn Input(
    label: &'static str,
    field: &'static str,
    form: RwSignal<TaskForm>,
    get: GetField,
    set: SetField,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] hint: &'static str,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type=kind
                name=format!("form[{field}]")
                data-testid=format!("task-{field}")
                prop:value=move || form.with(get)
                value=form.with_untracked(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
            />
            {(!hint.is_empty()).then(|| view! { <span class="hint">{hint}</span> })}
            <FieldError field error />
        </label>
    }
}

/// A select bound to one form field.
#[component]
pub(super) fn Choice(
    label: &'static str,
    field: &'static str,
    form: RwSignal<TaskForm>,
    get: GetField,
    set: SetField,
    options: Vec<(String, String)>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select
                name=format!("form[{field}]")
                data-testid=format!("task-{field}")
                prop:value=move || form.with(get)
                on:change=move |ev| form.update(|f| set(f, event_target_value(&ev)))
            >
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = form.with_untracked(get) == value;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            <FieldError field error />
        </label>
    }
}

pub(super) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
        .collect()
}

#[component]
fn TaskFormView(id: Option<i64>, initial: TaskForm, running: bool) -> impl IntoView {
    let form = RwSignal::new(initial);
    let save = ServerAction::<SaveTask>::new();
    let verify = ServerAction::<VerifyTask>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let sources = Resource::new(|| (), |_| list_sources());
    let repositories = Resource::new(|| (), |_| list_repositories());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            navigate("/backups", Default::default());
        }
    });
    let drill_servers = Signal::derive(move || {
        sources
            .get()
            .and_then(Result::ok)
            .map(|list| list.into_iter().filter(|s| s.drill_server).collect())
            .unwrap_or_default()
    });
    let periodic = move || form.with(|f| f.schedule_mode == "periodic");
    let every_n = move || form.with(|f| f.policy == "full-every-n");

    view! {
        <ActionForm action=save attr:data-testid="task-form" attr:data-hydrated=hydrated_flag()>
            {id.map(|id| view! { <input type="hidden" name="id" value=id /> })}
            <fieldset class="panel">
                <legend>"What to back up"</legend>
                <div class="form-grid">
                    <Input label="Task name" field="name" form get=|f| f.name.clone() set=|f, v| f.name = v error hint="unique, up to 64 characters" />
                    <Suspense fallback=|| view! { <span class="muted">"Loading sources…"</span> }>
                        {move || sources.get().map(|result| match result {
                            Ok(list) => {
                                let mut options = vec![(String::new(), "— choose a data source —".to_owned())];
                                options.extend(list.into_iter().map(|s| (s.id.to_string(), format!("{} ({})", s.name, s.kind_label))));
                                view! { <Choice label="Data source" field="source_id" form get=|f| f.source_id.clone() set=|f, v| f.source_id = v options error /> }.into_any()
                            }
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })}
                    </Suspense>
                </div>
                <ContentPicker form error />
            </fieldset>
            <fieldset class="panel">
                <legend>"Where and when"</legend>
                <div class="form-grid">
                    <Suspense fallback=|| view! { <span class="muted">"Loading repositories…"</span> }>
                        {move || repositories.get().map(|result| match result {
                            Ok(list) => {
                                if form.with_untracked(|f| f.repository_id.is_empty()) {
                                    if let Some(first) = list.first() {
                                        form.update_untracked(|f| f.repository_id = first.id.to_string());
                                    }
                                }
                                let options = list.into_iter().map(|r| (r.id.to_string(), format!("{} ({})", r.name, r.location))).collect();
                                view! { <Choice label="Repository" field="repository_id" form get=|f| f.repository_id.clone() set=|f, v| f.repository_id = v options error /> }.into_any()
                            }
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })}
                    </Suspense>
                    <Choice label="Mode" field="schedule_mode" form get=|f| f.schedule_mode.clone() set=|f, v| f.schedule_mode = v options=pairs(&[("manual", "Manual"), ("periodic", "Periodic"), ("cron", "Cron expression")]) error />
                </div>
                <CronFields form error />
                <div class="form-grid" class:hidden=move || !periodic()>
                    <Input label="First start (UTC)" field="first_start" kind="datetime-local" form get=|f| f.first_start.clone() set=|f, v| f.first_start = v error />
                    <Input label="Every" field="period_value" kind="number" form get=|f| f.period_value.clone() set=|f, v| f.period_value = v error />
                    <Choice label="Unit" field="period_unit" form get=|f| f.period_unit.clone() set=|f, v| f.period_unit = v options=pairs(&[("hours", "hours"), ("days", "days")]) error />
                </div>
                <div class="form-grid">
                    <Choice label="Policy" field="policy" form get=|f| f.policy.clone() set=|f, v| f.policy = v options=pairs(&[("full-then-incremental", "Full first, then incremental"), ("full-always", "Full every time"), ("full-every-n", "Full every n runs")]) error />
                    <div class:hidden=move || !every_n()>
                        <Input label="n (runs per full)" field="full_every_n" kind="number" form get=|f| f.full_every_n.clone() set=|f, v| f.full_every_n = v error />
                    </div>
                    <Input label="Maximum backup copies" field="keep_last" kind="number" form get=|f| f.keep_last.clone() set=|f, v| f.keep_last = v error hint="older points are pruned after each success (an incremental chain restarts with a full point every that many runs); empty keeps all" />
                </div>
            </fieldset>
            <fieldset class="panel">
                <legend>"How"</legend>
                <div class="form-grid">
                    <Choice label="Compression" field="compression" form get=|f| f.compression.clone() set=|f, v| f.compression = v options=COMPRESSION_LEVELS.iter().map(|l| ((*l).to_owned(), (*l).to_owned())).collect() error />
                    <Input label="Pack size limit (MiB)" field="pack_size_mib" kind="number" form get=|f| f.pack_size_mib.clone() set=|f, v| f.pack_size_mib = v error />
                    <Input label="Read limit (MiB/s)" field="limit_read_mib" kind="number" form get=|f| f.limit_read_mib.clone() set=|f, v| f.limit_read_mib = v error hint="reading the source, all readers together; empty: no limit" />
                    <Input label="Upload limit (MiB/s)" field="limit_upload_mib" kind="number" form get=|f| f.limit_upload_mib.clone() set=|f, v| f.limit_upload_mib = v error hint="writing to the repository; empty: no limit" />
                    <Input label="Retries on failure" field="retry_count" kind="number" form get=|f| f.retry_count.clone() set=|f, v| f.retry_count = v error />
                    <Input label="Retry interval (minutes)" field="retry_interval_min" kind="number" form get=|f| f.retry_interval_min.clone() set=|f, v| f.retry_interval_min = v error />
                    <Choice label="Notifications" field="notify" form get=|f| f.notify.clone() set=|f, v| f.notify = v options=NotifyRule::ALL.iter().map(|r| (r.as_str().to_owned(), r.label().to_owned())).collect() error />
                    <label class="checkbox">
                        <input
                            type="checkbox"
                            name="form[enabled]"
                            data-testid="task-enabled-input"
                            checked=form.with_untracked(|f| f.enabled.is_some())
                            prop:checked=move || form.with(|f| f.enabled.is_some())
                            on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev).then(|| "on".into()))
                        />
                        "Enabled"
                    </label>
                    <label class="checkbox" title="for append-only time-series tables of PostgreSQL sources">
                        <input
                            type="checkbox"
                            name="form[watermark]"
                            data-testid="task-watermark-input"
                            checked=form.with_untracked(|f| f.watermark.is_some())
                            prop:checked=move || form.with(|f| f.watermark.is_some())
                            on:change=move |ev| form.update(|f| f.watermark = event_target_checked(&ev).then(|| "on".into()))
                        />
                        "Incrementals read only newer rows of time-series tables (watermark)"
                    </label>
                    <label class="checkbox" title="MariaDB and PostgreSQL cluster sources: the binary logs or the WAL are copied into the repository as they are written">
                        <input
                            type="checkbox"
                            name="form[continuous]"
                            data-testid="task-continuous-input"
                            checked=form.with_untracked(|f| f.continuous.is_some())
                            prop:checked=move || form.with(|f| f.continuous.is_some())
                            on:change=move |ev| form.update(|f| f.continuous = event_target_checked(&ev).then(|| "on".into()))
                        />
                        "Continuous: archive the binary logs (MariaDB) or the WAL (PostgreSQL cluster) for point-in-time recovery"
                    </label>
                    <FieldError field="continuous" error />
                </div>
            </fieldset>
            <DrillFields form error drill_servers />
            {running.then(|| view! {
                <label class="checkbox alert alert--warn">
                    <input type="checkbox" name="stop_running" data-testid="stop-running" />
                    "This task is running now: stop the current run and apply the new settings"
                </label>
            })}
            <Notice error />
            <div class="form-actions">
                <button
                    type="button"
                    class="button"
                    data-testid="verify-task"
                    disabled=move || verify.pending().get()
                    on:click=move |_| {
                        verify.dispatch(VerifyTask { id, form: form.get_untracked() });
                    }
                >
                    {move || if verify.pending().get() { "Verifying…" } else { "Verify" }}
                </button>
                <button type="submit" class="button button--primary" data-testid="save-task">"Save"</button>
                <a href="/backups" class="button">"Cancel"</a>
            </div>
            {move || verify.value().get().map(|result| match result {
                Ok(checks) => view! { <CheckList checks /> }.into_any(),
                Err(error) => view! { <ErrorAlert error /> }.into_any(),
            })}
        </ActionForm>
    }
}
