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
use crate::i18n::*;
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
    let i18n = use_i18n();
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
                <h1>{move || if copy_of().is_some() { t_string!(i18n, task_form.copy_title) } else { t_string!(i18n, tasks.create) }}</h1>
            </header>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
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
    let i18n = use_i18n();
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
                <h1>{t!(i18n, task_form.edit_title)}</h1>
            </header>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
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
    #[prop(into)] label: TextProp,
    field: &'static str,
    form: RwSignal<TaskForm>,
    get: GetField,
    set: SetField,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] hint: Option<TextProp>,
) -> impl IntoView {
    view! {
        <label>
            {move || label.get()}
            <input
                type=kind
                name=format!("form[{field}]")
                data-testid=format!("task-{field}")
                prop:value=move || form.with(get)
                value=form.with_untracked(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
            />
            {hint.map(|hint| view! { <span class="hint">{move || hint.get()}</span> })}
            <FieldError field error />
        </label>
    }
}

/// A select bound to one form field.
#[component]
pub(super) fn Choice(
    #[prop(into)] label: TextProp,
    field: &'static str,
    form: RwSignal<TaskForm>,
    get: GetField,
    set: SetField,
    options: Vec<(String, String)>,
    error: Signal<Option<AppError>>,
    /// The options are user data (names), not console words.
    #[prop(optional)]
    raw: bool,
) -> impl IntoView {
    view! {
        <label>
            {move || label.get()}
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
                        view! { <option value=value selected=selected translate=raw.then_some("no")>{text}</option> }
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
    let i18n = use_i18n();
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
                <legend>{t!(i18n, task_form.what)}</legend>
                <div class="form-grid">
                    <Input label=move || t_string!(i18n, task_form.name) field="name" form get=|f| f.name.clone() set=|f, v| f.name = v error hint=move || t_string!(i18n, task_form.name_hint) />
                    <Suspense fallback=move || view! { <span class="muted">{t!(i18n, task_form.loading_sources)}</span> }>
                        {move || sources.get().map(|result| match result {
                            Ok(list) => {
                                let mut options = vec![(String::new(), t_string!(i18n, task_form.choose_source).to_owned())];
                                options.extend(list.into_iter().map(|s| (s.id.to_string(), format!("{} ({})", s.name, crate::model::SourceKind::parse(&s.kind).map_or(s.kind_label.as_str(), |k| crate::components::kind_name(i18n, k))))));
                                view! { <Choice label=move || t_string!(i18n, common.source) field="source_id" form get=|f| f.source_id.clone() set=|f, v| f.source_id = v options error raw=true /> }.into_any()
                            }
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })}
                    </Suspense>
                </div>
                <ContentPicker form error />
            </fieldset>
            <fieldset class="panel">
                <legend>{t!(i18n, task_form.where_when)}</legend>
                <div class="form-grid">
                    <Suspense fallback=move || view! { <span class="muted">{t!(i18n, task_form.loading_repositories)}</span> }>
                        {move || repositories.get().map(|result| match result {
                            Ok(list) => {
                                if form.with_untracked(|f| f.repository_id.is_empty()) {
                                    if let Some(first) = list.first() {
                                        form.update_untracked(|f| f.repository_id = first.id.to_string());
                                    }
                                }
                                let options = list.into_iter().map(|r| (r.id.to_string(), format!("{} ({})", r.name, r.location))).collect();
                                view! { <Choice label=move || t_string!(i18n, common.repository) field="repository_id" form get=|f| f.repository_id.clone() set=|f, v| f.repository_id = v options error raw=true /> }.into_any()
                            }
                            Err(error) => view! { <ErrorAlert error /> }.into_any(),
                        })}
                    </Suspense>
                    <Choice label=move || t_string!(i18n, task_form.mode) field="schedule_mode" form get=|f| f.schedule_mode.clone() set=|f, v| f.schedule_mode = v options=pairs(&[("manual", t_string!(i18n, task_form.manual)), ("periodic", t_string!(i18n, task_form.periodic)), ("cron", t_string!(i18n, task_form.cron))]) error />
                </div>
                <CronFields form error />
                <div class="form-grid" class:hidden=move || !periodic()>
                    <Input label=move || t_string!(i18n, task_form.first_start) field="first_start" kind="datetime-local" form get=|f| f.first_start.clone() set=|f, v| f.first_start = v error />
                    <Input label=move || t_string!(i18n, task_form.every) field="period_value" kind="number" form get=|f| f.period_value.clone() set=|f, v| f.period_value = v error />
                    <Choice label=move || t_string!(i18n, task_form.unit) field="period_unit" form get=|f| f.period_unit.clone() set=|f, v| f.period_unit = v options=pairs(&[("hours", t_string!(i18n, task_form.hours)), ("days", t_string!(i18n, task_form.days))]) error />
                </div>
                <div class="form-grid">
                    <Choice label=move || t_string!(i18n, task_form.policy) field="policy" form get=|f| f.policy.clone() set=|f, v| f.policy = v options=pairs(&[("full-then-incremental", t_string!(i18n, task_form.full_then_incremental)), ("full-always", t_string!(i18n, task_form.full_always)), ("full-every-n", t_string!(i18n, task_form.full_every_n))]) error />
                    <div class:hidden=move || !every_n()>
                        <Input label=move || t_string!(i18n, task_form.n_runs) field="full_every_n" kind="number" form get=|f| f.full_every_n.clone() set=|f, v| f.full_every_n = v error />
                    </div>
                    <Input label=move || t_string!(i18n, task_form.keep_last) field="keep_last" kind="number" form get=|f| f.keep_last.clone() set=|f, v| f.keep_last = v error hint=move || t_string!(i18n, task_form.keep_last_hint) />
                </div>
            </fieldset>
            <fieldset class="panel">
                <legend>{t!(i18n, task_form.how)}</legend>
                <div class="form-grid">
                    <Choice label=move || t_string!(i18n, task_form.compression) field="compression" form get=|f| f.compression.clone() set=|f, v| f.compression = v options=COMPRESSION_LEVELS.iter().map(|l| ((*l).to_owned(), compression_name(i18n, l).to_owned())).collect() error />
                    <Input label=move || t_string!(i18n, task_form.pack_size) field="pack_size_mib" kind="number" form get=|f| f.pack_size_mib.clone() set=|f, v| f.pack_size_mib = v error />
                    <Input label=move || t_string!(i18n, task_form.read_limit) field="limit_read_mib" kind="number" form get=|f| f.limit_read_mib.clone() set=|f, v| f.limit_read_mib = v error hint=move || t_string!(i18n, task_form.read_limit_hint) />
                    <Input label=move || t_string!(i18n, task_form.upload_limit) field="limit_upload_mib" kind="number" form get=|f| f.limit_upload_mib.clone() set=|f, v| f.limit_upload_mib = v error hint=move || t_string!(i18n, task_form.upload_limit_hint) />
                    <Input label=move || t_string!(i18n, task_form.retries) field="retry_count" kind="number" form get=|f| f.retry_count.clone() set=|f, v| f.retry_count = v error />
                    <Input label=move || t_string!(i18n, task_form.retry_interval) field="retry_interval_min" kind="number" form get=|f| f.retry_interval_min.clone() set=|f, v| f.retry_interval_min = v error />
                    <Choice label=move || t_string!(i18n, task_form.notifications) field="notify" form get=|f| f.notify.clone() set=|f, v| f.notify = v options=NotifyRule::ALL.iter().map(|r| (r.as_str().to_owned(), notify_name(i18n, *r).to_owned())).collect() error />
                    <label class="checkbox">
                        <input
                            type="checkbox"
                            name="form[enabled]"
                            data-testid="task-enabled-input"
                            checked=form.with_untracked(|f| f.enabled.is_some())
                            prop:checked=move || form.with(|f| f.enabled.is_some())
                            on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev).then(|| "on".into()))
                        />
                        {t!(i18n, task_form.enabled)}
                    </label>
                    <label class="checkbox" title=move || t_string!(i18n, task_form.watermark_tip)>
                        <input
                            type="checkbox"
                            name="form[watermark]"
                            data-testid="task-watermark-input"
                            checked=form.with_untracked(|f| f.watermark.is_some())
                            prop:checked=move || form.with(|f| f.watermark.is_some())
                            on:change=move |ev| form.update(|f| f.watermark = event_target_checked(&ev).then(|| "on".into()))
                        />
                        {t!(i18n, task_form.watermark)}
                    </label>
                    <label class="checkbox" title=move || t_string!(i18n, task_form.continuous_tip)>
                        <input
                            type="checkbox"
                            name="form[continuous]"
                            data-testid="task-continuous-input"
                            checked=form.with_untracked(|f| f.continuous.is_some())
                            prop:checked=move || form.with(|f| f.continuous.is_some())
                            on:change=move |ev| form.update(|f| f.continuous = event_target_checked(&ev).then(|| "on".into()))
                        />
                        {t!(i18n, task_form.continuous)}
                    </label>
                    <FieldError field="continuous" error />
                </div>
            </fieldset>
            <DrillFields form error drill_servers />
            {running.then(|| view! {
                <label class="checkbox alert alert--warn">
                    <input type="checkbox" name="stop_running" data-testid="stop-running" />
                    {t!(i18n, task_form.stop_running)}
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
                    {move || if verify.pending().get() { t_string!(i18n, task_form.verifying) } else { t_string!(i18n, task_form.verify) }}
                </button>
                <button type="submit" class="button button--primary" data-testid="save-task">{t!(i18n, common.save)}</button>
                <a href="/backups" class="button">{t!(i18n, common.cancel)}</a>
            </div>
            {move || verify.value().get().map(|result| match result {
                Ok(checks) => view! { <CheckList checks /> }.into_any(),
                Err(error) => view! { <ErrorAlert error /> }.into_any(),
            })}
        </ActionForm>
    }
}

fn compression_name(i18n: crate::I18n, level: &str) -> &'static str {
    match level {
        "fastest" => t_string!(i18n, task_form.fastest),
        "balanced" => t_string!(i18n, task_form.balanced),
        _ => t_string!(i18n, task_form.best),
    }
}

fn notify_name(i18n: crate::I18n, rule: NotifyRule) -> &'static str {
    match rule {
        NotifyRule::Default => t_string!(i18n, task_form.notify_default),
        NotifyRule::Failures => t_string!(i18n, task_form.notify_failures),
        NotifyRule::All => t_string!(i18n, task_form.notify_all),
        NotifyRule::Off => t_string!(i18n, task_form.notify_off),
    }
}
