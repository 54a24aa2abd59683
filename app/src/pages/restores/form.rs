//! Create restore task: name, the backup task, its recovery points (read
//! from the repository, with Refresh), the data configuration, the target,
//! the policies; Verify and Preview before Create.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::checks::{PlanPreview, PreCheckList};
use super::extract::ExtractFields;
use super::objects::{choices_for, ObjectTable};
use super::to_time::RecoveryMethod;
use crate::api::restores::{
    check_restore, create_restore, new_restore_form, point_objects, recovery_points,
    restore_targets,
};
use crate::api::tasks::list_tasks;
use crate::components::{hydrated_flag, ErrorAlert, FieldError, LocationBadges, Notice};
use crate::i18n::*;
use crate::model::{human_bytes, RestoreForm};

#[component]
pub fn RestoreCreatePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let initial = Resource::new(
        move || {
            query.with(|q| {
                (
                    q.get("task").and_then(|t| t.parse::<i64>().ok()),
                    q.get("point"),
                    q.get("select"),
                )
            })
        },
        |(task, point, select)| new_restore_form(task, point, select),
    );
    view! {
        <section class="page" data-testid="restore-form-page">
            <header class="page-header"><h1>{t!(i18n, restores.create)}</h1></header>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                // Awaited once, not read by a closure that can run again while
                // the server renders: each run would build the form and its
                // resources anew, and a discarded run's resource values could
                // reach the browser in place of the rendered ones.
                {move || Suspend::new(async move {
                    match initial.await {
                        Ok(form) => view! { <RestoreFormView initial=form /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A text input bound to one field of the form.
fn text_input(
    form: RwSignal<RestoreForm>,
    testid: &'static str,
    get: fn(&RestoreForm) -> String,
    set: fn(&mut RestoreForm, String),
) -> impl IntoView {
    view! {
        <input type="text" data-testid=testid prop:value=move || form.with(get)
            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); } />
    }
}

#[component]
fn RestoreFormView(initial: RestoreForm) -> impl IntoView {
    let i18n = use_i18n();
    let form = RwSignal::new(initial);
    let task_id = Memo::new(move |_| form.with(|f| f.task_id.parse::<i64>().ok()));
    let point_id = Memo::new(move |_| form.with(|f| f.point_id.clone()));
    let by_time = Memo::new(move |_| form.with(|f| f.recovery_method == "time"));
    let refresh = RwSignal::new(0u32);
    let tasks = Resource::new(|| (), |_| list_tasks());
    let points = Resource::new(
        move || (task_id.get(), refresh.get()),
        |(task, _)| async move {
            match task {
                Some(id) => recovery_points(id).await,
                None => Ok(Default::default()),
            }
        },
    );
    let targets = Resource::new(
        move || task_id.get(),
        |task| async move {
            match task {
                Some(id) => restore_targets(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    // A cluster is recovered whole, into a new data directory.
    let cluster = Memo::new(move |_| {
        targets
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|t| t.kind == "postgres-cluster")
    });
    let extract_sources = Signal::derive(move || {
        targets
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|t| t.extract_sources)
            .unwrap_or_default()
    });
    let repository_id = Memo::new(move |_| form.with(|f| f.repository_id.parse::<i64>().ok()));
    let objects = Resource::new(
        move || (task_id.get(), point_id.get(), repository_id.get()),
        |(task, point, repository)| async move {
            match task {
                Some(id) if !point.is_empty() => point_objects(id, point, repository).await,
                _ => Ok(Vec::new()),
            }
        },
    );
    // A task chosen without a point starts from its newest point (listed
    // first); a point is read from the first repository holding it unless
    // another one holding it is chosen.
    Effect::new(move |_| {
        if let Some(Ok(list)) = points.get() {
            if let Some(newest) = list.points.first() {
                if form.with_untracked(|f| f.point_id.is_empty()) {
                    let id = newest.id.clone();
                    form.update(|f| f.point_id = id);
                }
            }
            let chosen = point_id.get();
            if let Some(point) = list.points.iter().find(|p| p.id == chosen) {
                let held = form.with_untracked(|f| {
                    point
                        .locations
                        .iter()
                        .any(|l| l.repository_id.to_string() == f.repository_id)
                });
                if let (false, Some(first)) = (held, point.locations.first()) {
                    let id = first.repository_id.to_string();
                    form.update(|f| f.repository_id = id);
                }
            }
        }
    });
    let locations = Signal::derive(move || {
        let chosen = point_id.get();
        points
            .get()
            .and_then(Result::ok)
            .and_then(|list| list.points.into_iter().find(|p| p.id == chosen))
            .map(|p| p.locations)
            .unwrap_or_default()
    });
    // The configuration follows the chosen point's objects.
    Effect::new(move |_| {
        if let Some(Ok(list)) = objects.get() {
            let names_differ = form.with_untracked(|f| {
                f.objects.len() != list.len()
                    || f.objects.iter().zip(&list).any(|(c, o)| c.name != o.name)
            });
            if names_differ {
                form.update(|f| f.objects = choices_for(&list, &f.objects));
            }
        }
    });
    let verify = Action::new(|form: &RestoreForm| check_restore(form.compact()));
    let preview = Action::new(|form: &RestoreForm| check_restore(form.compact()));
    let create = Action::new(|form: &RestoreForm| create_restore(form.compact()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/restores/{id}"), Default::default());
        }
    });
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| verify.value().get().and_then(|r| r.err()))
            .or_else(|| preview.value().get().and_then(|r| r.err()))
    });
    let on_task = move |ev| {
        let id = event_target_value(&ev);
        form.update(|f| {
            f.task_id = id;
            f.point_id.clear();
            f.objects.clear();
        });
    };

    view! {
        <div class="form" data-testid="restore-form" data-hydrated=hydrated_flag()>
            <Notice error />
            <fieldset class="panel">
                <legend>{t!(i18n, restore_form.restore_task)}</legend>
                <div class="form-grid">
                <label>{t!(i18n, common.name)} {text_input(form, "restore-name", |f| f.name.clone(), |f, v| f.name = v)}</label>
                <FieldError field="name" error />
                <label>{t!(i18n, restore_form.backup_task)}
                    <select data-testid="restore-task" on:change=on_task prop:value=move || form.with(|f| f.task_id.clone())>
                        <option value="">{t!(i18n, restore_form.choose)}</option>
                        <Transition fallback=|| ()>
                            {move || tasks.get().and_then(Result::ok).map(|tasks| tasks.into_iter().map(|t| {
                                let id = t.id.to_string();
                                let selected = form.with_untracked(|f| f.task_id == id);
                                view! { <option value=id selected=selected translate="no">{t.name}</option> }
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <FieldError field="task_id" error />
                </div>
            </fieldset>

            <RecoveryMethod form task_id error />

            <fieldset class="panel" data-testid="recovery-points" class:hidden=move || by_time.get()>
                <legend>{t!(i18n, restores.col_point)}
                    <button type="button" class="button button--small" data-testid="refresh-points" on:click=move |_| refresh.update(|n| *n += 1)>{t!(i18n, common.refresh)}</button>
                </legend>
                <p class="muted">{t!(i18n, restore_form.point_hint)}</p>
                <Transition fallback=move || view! { <p class="muted">{t!(i18n, restore_form.reading)}</p> }>
                    {move || points.get().map(|result| match result {
                        Ok(list) => view! {
                            {list.unreadable.into_iter().map(|why| view! {
                                <p class="alert alert--warn" data-testid="points-unreadable">{t!(i18n, restore_form.unreadable, why = why)}</p>
                            }).collect_view()}
                            <table class="table">
                                <thead><tr><th></th><th>{t!(i18n, restore_form.col_point)}</th><th>{t!(i18n, tasks.col_mode)}</th><th>{t!(i18n, run.finished)}</th><th>{t!(i18n, restore_form.col_chain)}</th><th>{t!(i18n, restore_form.col_objects)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, restore_form.col_log_position)}</th><th>{t!(i18n, history.col_stored_in)}</th></tr></thead>
                                <tbody>
                                    {list.points.into_iter().map(|p| {
                                        let id = p.id.clone();
                                        let chosen = id.clone();
                                        // Checked in the server's HTML too, not only once hydrated.
                                        let initially = form.with_untracked(|f| f.point_id == id);
                                        view! {
                                            <tr data-testid="point-row" data-point=p.id.clone()>
                                                <td><input type="radio" name="point" data-testid="point-choose"
                                                    checked=initially
                                                    prop:checked=move || form.with(|f| f.point_id == chosen)
                                                    on:change=move |_| { let id = id.clone(); form.update(|f| f.point_id = id); } /></td>
                                                <td><code>{p.id.clone()}</code></td>
                                                <td>{crate::pages::tasks::mode_name(i18n, &p.mode)}</td>
                                                <td>{p.finished_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                                <td>{if p.chain_length > 1 { t!(i18n, restore_form.chain_from, count = p.chain_length, start = view! { <span translate="no">{p.chain_start.clone()}</span> }).into_any() } else { t!(i18n, restore_form.chain_full).into_any() }}</td>
                                                <td>{p.objects}</td>
                                                <td>{human_bytes(p.bytes)}</td>
                                                <td data-testid="point-log-position" translate="no">{p.log_position.unwrap_or_default()}</td>
                                                <td><LocationBadges locations=p.locations /></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    })}
                </Transition>
                <FieldError field="point_id" error />
                <label class:hidden=move || locations.with(|l| l.len() < 2)>{t!(i18n, restore_form.read_from)}
                    <select data-testid="restore-repository" prop:value=move || form.with(|f| f.repository_id.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.repository_id = v); }>
                        {move || locations.get().into_iter().map(|l| {
                            let value = l.repository_id.to_string();
                            let selected = form.with_untracked(|f| f.repository_id == value);
                            let label = if l.copy { t_string!(i18n, restore_form.location_copy, name = l.repository_name.clone()).to_string() } else { t_string!(i18n, restore_form.location_own, name = l.repository_name.clone()).to_string() };
                            view! { <option value=value selected=selected translate="no">{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <FieldError field="repository_id" error />
            </fieldset>

            <fieldset class="panel" class:hidden=move || by_time.get() || cluster.get()>
                <legend>{t!(i18n, restore_form.data_config)}</legend>
                <label class="radio"><input type="radio" name="objects_mode" data-testid="objects-all"
                    prop:checked=move || form.with(|f| f.objects_mode == "all")
                    on:change=move |_| form.update(|f| f.objects_mode = "all".into()) />{t!(i18n, restore_form.all_objects)}</label>
                <label class="radio"><input type="radio" name="objects_mode" data-testid="objects-custom"
                    prop:checked=move || form.with(|f| f.objects_mode == "custom")
                    on:change=move |_| form.update(|f| f.objects_mode = "custom".into()) />{t!(i18n, restore_form.selection)}</label>
                <Transition fallback=|| ()>
                    {move || objects.get().map(|result| match result {
                        Ok(list) => view! { <ObjectTable objects=list form /> }.into_any(),
                        Err(error) => view! { <ErrorAlert error /> }.into_any(),
                    })}
                </Transition>
                <FieldError field="objects" error />
            </fieldset>

            <fieldset class="panel">
                <legend>{t!(i18n, restores.col_target)}</legend>
                <Transition fallback=|| ()>
                    {move || targets.get().and_then(Result::ok).flatten().map(|t| view! {
                        <div>
                            {t.path_allowed.then(|| view! {
                                <label class="radio"><input type="radio" name="target_mode" data-testid="target-new"
                                    prop:checked=move || form.with(|f| f.target_mode == "new")
                                    on:change=move |_| form.update(|f| f.target_mode = "new".into()) />
                                    {match t.kind.as_str() { "sqlite" => t!(i18n, restore_form.new_file).into_any(), "postgres-cluster" => t!(i18n, restore_form.new_data_dir).into_any(), _ => t!(i18n, restore_form.new_dir).into_any() }}</label>
                            })}
                            {t.path_allowed.then(|| view! {
                                <p class="muted" data-testid="restore-roots">
                                    {t!(i18n, restore_form.roots_hint, roots = t.restore_roots.join(t_string!(i18n, restore_form.roots_or)))}
                                    {t.admin_anywhere.then_some(t!(i18n, restore_form.roots_admin))}
                                </p>
                            })}
                            <label class="radio"><input type="radio" name="target_mode" data-testid="target-source"
                                prop:checked=move || form.with(|f| f.target_mode == "source")
                                on:change=move |_| form.update(|f| f.target_mode = "source".into()) />{t!(i18n, restore_form.same_kind)}</label>
                            <select data-testid="target-source-id" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.target_source_id = v); }>
                                <option value="">{t!(i18n, restore_form.choose)}</option>
                                {t.sources.into_iter().map(|(id, name, location)| {
                                    let value = id.to_string();
                                    let selected = form.with_untracked(|f| f.target_source_id == value);
                                    let original = (id == t.original_source_id).then(|| t_string!(i18n, restore_form.the_original));
                                    view! { <option value=value selected=selected translate="no">{format!("{name}{} — {location}", original.unwrap_or_default())}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                    })}
                </Transition>
                <div class="form-grid"><label class="form-wide">{t!(i18n, restore_form.path)} {text_input(form, "target-path", |f| f.target_path.clone(), |f, v| f.target_path = v)}</label></div>
                <FieldError field="target_path" error />
                <FieldError field="target_source_id" error />
                <div class="form-grid" class:hidden=move || !cluster.get()>
                    <label>{t!(i18n, restore_form.start_port)}
                        {text_input(form, "start-port", |f| f.start_port.clone(), |f, v| f.start_port = v)}</label>
                    <p class="muted">{t!(i18n, restore_form.cluster_hint)}</p>
                </div>
                <FieldError field="start_port" error />
                <FieldError field="objects_mode" error />
            </fieldset>

            <div class:hidden=move || !cluster.get()>
                <ExtractFields form sources=extract_sources error />
            </div>

            <fieldset class="panel">
                <legend>{t!(i18n, restore_form.policies)}</legend>
                <div class="form-grid">
                <label class="checkbox"><input type="checkbox" data-testid="force" prop:checked=move || form.with(|f| f.force)
                    on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| f.force = on); } />
                    {t!(i18n, restore_form.force)}</label>
                {move || form.with(|f| f.force).then(|| view! {
                    <p class="alert alert--warn" data-testid="force-warning">{t!(i18n, restore_form.force_warning)}</p>
                })}
                <label>{t!(i18n, restore_form.table_exists)}
                    <select data-testid="structure" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.structure = v); } prop:value=move || form.with(|f| f.structure.clone())>
                        <option value="stop">{t!(i18n, restore_form.stop)}</option>
                        <option value="ignore">{t!(i18n, restore_form.ignore)}</option>
                    </select>
                </label>
                <FieldError field="structure" error />
                <label>{t!(i18n, restore_form.row_exists)}
                    <select data-testid="data" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.data = v); } prop:value=move || form.with(|f| f.data.clone())>
                        <option value="stop">{t!(i18n, restore_form.stop_duplicate)}</option>
                        <option value="skip">{t!(i18n, restore_form.skip)}</option>
                        <option value="rewrite">{t!(i18n, restore_form.rewrite)}</option>
                    </select>
                </label>
                <FieldError field="data" error />
                <label>{t!(i18n, restore_form.check_after)}
                    <select data-testid="verify-mode" on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.verify = v); } prop:value=move || form.with(|f| f.verify.clone())>
                        <option value="content">{t!(i18n, restore_form.check_content)}</option>
                        <option value="counts">{t!(i18n, restore_form.check_counts)}</option>
                        <option value="off">{t!(i18n, restore_form.check_off)}</option>
                    </select>
                </label>
                <FieldError field="verify" error />
                <label class="checkbox"><input type="checkbox" data-testid="lock" prop:checked=move || form.with(|f| f.lock)
                    on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| f.lock = on); } />
                    {t!(i18n, restore_form.lock)}</label>
                <label>{t!(i18n, restore_form.timeout)} {text_input(form, "timeout", |f| f.timeout_min.clone(), |f, v| f.timeout_min = v)}</label>
                <FieldError field="timeout_min" error />
                </div>
            </fieldset>

            <div class="form-actions">
                <button type="button" class="button" data-testid="verify-restore" on:click=move |_| { verify.dispatch(form.get()); }>{t!(i18n, task_form.verify)}</button>
                <button type="button" class="button" data-testid="preview-restore" on:click=move |_| { preview.dispatch(form.get()); }>{t!(i18n, restore_form.preview)}</button>
                <button type="button" class="button button--primary" data-testid="create-restore" on:click=move |_| { create.dispatch(form.get()); }>{t!(i18n, restore_form.create)}</button>
            </div>
            {move || verify.value().get().and_then(Result::ok).map(|p| view! { <PreCheckList checks=p.checks outcome=p.outcome /> })}
            {move || preview.value().get().and_then(Result::ok).map(|p| view! { <PlanPreview preview=p /> })}
        </div>
    }
}
