//! The restore form's recovery method: a backup point, or a point in time
//! (a second picked within the task's recoverable ranges, UTC), and the
//! engine's plan of such a restore (base point, log range, last commit).

use leptos::prelude::*;

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
            <legend>"Recovery method"</legend>
            <select data-testid="recovery-method" on:change=on_method prop:value=move || form.with(|f| if f.recovery_method.is_empty() { "point".to_owned() } else { f.recovery_method.clone() })>
                <option value="point">"Backup point"</option>
                <option value="time">"Point in time (archived binary logs or WAL)"</option>
            </select>
            <FieldError field="recovery_method" error />
            <div class:hidden=move || !by_time.get()>
                <Transition fallback=|| view! { <p class="muted">"Reading the timeline…"</p> }>
                    {move || timeline.get().map(|result| match result {
                        Ok(Some(view)) => {
                            let min = view.ranges.iter().map(|r| r.from).min().map(local).unwrap_or_default();
                            let max = view.ranges.iter().map(|r| r.to).max().map(local).unwrap_or_default();
                            let ranges = view.ranges.iter().map(|r| format!("{} to {}", r.from.format("%Y-%m-%d %H:%M:%S"), r.to.format("%Y-%m-%d %H:%M:%S"))).collect::<Vec<_>>();
                            view! {
                                <p class="muted" data-testid="recoverable-ranges">
                                    {if ranges.is_empty() { "Nothing is recoverable to the second yet.".to_owned() } else { format!("Recoverable (UTC): {}.", ranges.join("; ")) }}
                                </p>
                                <label>"Recover to (UTC, to the second)"
                                    <input type="datetime-local" step="1" data-testid="to-time" min=min max=max
                                        prop:value=move || form.with(|f| f.to_time.clone())
                                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.to_time = v); } />
                                </label>
                            }.into_any()
                        }
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p class="alert alert--error">{error.to_string()}</p> }.into_any(),
                    })}
                </Transition>
                <FieldError field="to_time" error />
                <p class="muted">"The newest full point before that second is restored, then the archived binary logs (or WAL) are replayed up to the last transaction committed at or before it. The whole database (or cluster) is restored."</p>
            </div>
        </fieldset>
    }
}

#[component]
pub fn PitrPlanView(plan: PitrPreview) -> impl IntoView {
    view! {
        <div class="preview" data-testid="pitr-plan">
            <p>{format!("To {}: restore point ", plan.to)}<code data-testid="pitr-base-point">{plan.base_point}</code></p>
            <p data-testid="pitr-log-range">{format!("then replay {} → {} ({} file(s): {})", plan.from, plan.until, plan.files.len(), plan.files.join(", "))}</p>
            <p data-testid="pitr-last-commit">{match plan.last_commit {
                Some(t) => format!("last transaction applied: committed {} UTC", t.format("%Y-%m-%d %H:%M:%S")),
                None if plan.cluster => "the server replays the WAL itself and logs where it stopped".into(),
                None => "no transaction after the base point is applied".into(),
            }}</p>
            <p class="muted">{if plan.cluster {
                format!("{} → new data directory {}", plan.source_database, plan.target_database)
            } else {
                format!("database {} → {}", plan.source_database, plan.target_database)
            }}</p>
            <ul>{plan.notes.into_iter().map(|n| view! { <li data-testid="pitr-note">{n}</li> }).collect_view()}</ul>
        </div>
    }
}
