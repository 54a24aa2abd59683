//! The restore form's recovery method: a backup point, or a point in time
//! (a second picked within the task's recoverable ranges, UTC), and the
//! engine's plan of such a restore (base point, log range, last commit).

use leptos::prelude::*;

use crate::i18n::*;

use crate::api::timeline::task_timeline;
use crate::components::FieldError;
use crate::error::AppError;
use crate::model::{PitrPreview, RestoreForm};

/// A `datetime-local` value with seconds.
fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[component]
pub fn RecoveryMethod(
    form: RwSignal<RestoreForm>,
    task_id: Memo<Option<i64>>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let by_time = Memo::new(move |_| form.with(|f| f.recovery_method == "time"));
    let timeline = Resource::new(
        move || (task_id.get(), by_time.get()),
        |(task, by_time)| async move {
            match task {
                Some(id) if by_time => task_timeline(id).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let on_method = move |ev| {
        let method = event_target_value(&ev);
        form.update(|f| {
            if method == "time" {
                // The whole database: the log replay cannot be cut to tables.
                f.objects_mode = "all".into();
            }
            f.recovery_method = method;
        });
    };
    view! {
        <fieldset class="panel">
            <legend>{t!(i18n, restore_time.method)}</legend>
            <select data-testid="recovery-method" on:change=on_method prop:value=move || form.with(|f| if f.recovery_method.is_empty() { "point".to_owned() } else { f.recovery_method.clone() })>
                <option value="point">{t!(i18n, restore_time.by_point)}</option>
                <option value="time">{t!(i18n, restore_time.by_time)}</option>
            </select>
            <FieldError field="recovery_method" error />
            <div class:hidden=move || !by_time.get()>
                <Transition fallback=move || view! { <p class="muted">{t!(i18n, restore_time.reading)}</p> }>
                    {move || timeline.get().map(|result| match result {
                        Ok(Some(view)) => {
                            let min = view.ranges.iter().map(|r| r.from).min().map(local).unwrap_or_default();
                            let max = view.ranges.iter().map(|r| r.to).max().map(local).unwrap_or_default();
                            let ranges = view.ranges.iter().map(|r| t_string!(i18n, restore_time.range, from = r.from.format("%Y-%m-%d %H:%M:%S"), to = r.to.format("%Y-%m-%d %H:%M:%S")).to_string()).collect::<Vec<_>>();
                            view! {
                                <p class="muted" data-testid="recoverable-ranges">
                                    {if ranges.is_empty() { t_string!(i18n, restore_time.nothing).to_string() } else { t_string!(i18n, restore_time.recoverable, ranges = ranges.join("; ")).to_string() }}
                                </p>
                                <label>{t!(i18n, restore_time.recover_to)}
                                    <input type="datetime-local" step="1" data-testid="to-time" min=min max=max
                                        prop:value=move || form.with(|f| f.to_time.clone())
                                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.to_time = v); } />
                                </label>
                            }.into_any()
                        }
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p class="alert alert--error">{error.localized(i18n)}</p> }.into_any(),
                    })}
                </Transition>
                <FieldError field="to_time" error />
                <p class="muted">{t!(i18n, restore_time.hint)}</p>
            </div>
        </fieldset>
    }
}

#[component]
pub fn PitrPlanView(plan: PitrPreview) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="preview" data-testid="pitr-plan">
            <p>{t!(i18n, restore_time.plan_to, to = plan.to.clone())} " " <code data-testid="pitr-base-point">{plan.base_point}</code></p>
            <p data-testid="pitr-log-range">{t!(i18n, restore_time.plan_replay, from = view! { <span translate="no">{plan.from.clone()}</span> }, until = view! { <span translate="no">{plan.until.clone()}</span> }, count = plan.files.len())} " " <code>{plan.files.join(", ")}</code>{t!(i18n, restore_time.plan_replay_end)}</p>
            <p data-testid="pitr-last-commit">{match plan.last_commit {
                Some(t) => t_string!(i18n, restore_time.last_commit, at = t.format("%Y-%m-%d %H:%M:%S")).to_string(),
                None if plan.cluster => t_string!(i18n, restore_time.server_replays).to_string(),
                None => t_string!(i18n, restore_time.no_transaction).to_string(),
            }}</p>
            <p class="muted">{if plan.cluster {
                t!(i18n, restore_time.to_data_dir, source = view! { <code>{plan.source_database.clone()}</code> }, target = view! { <code>{plan.target_database.clone()}</code> }).into_any()
            } else {
                t!(i18n, restore_time.to_database, source = view! { <code>{plan.source_database.clone()}</code> }, target = view! { <code>{plan.target_database.clone()}</code> }).into_any()
            }}</p>
            <ul translate="no">{plan.notes.into_iter().map(|n| view! { <li data-testid="pitr-note">{n}</li> }).collect_view()}</ul>
        </div>
    }
}
