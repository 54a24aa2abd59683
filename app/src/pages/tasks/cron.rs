//! The task form's cron schedule: the expression, its time zone, and the
//! next five runs the server computes as you type (or why it cannot).

use leptos::prelude::*;

use super::form::Input;
use crate::api::tasks::cron_preview;
use crate::error::AppError;
use crate::model::TaskForm;

#[component]
pub(super) fn CronFields(
    form: RwSignal<TaskForm>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let cron = Memo::new(move |_| form.with(|f| f.schedule_mode == "cron"));
    let typed = Memo::new(move |_| {
        form.with(|f| {
            (
                f.cron_expression.trim().to_owned(),
                f.cron_timezone.trim().to_owned(),
            )
        })
    });
    let runs = Resource::new(
        move || (cron.get(), typed.get()),
        |(cron, (expression, timezone))| async move {
            if !cron || expression.is_empty() {
                return None;
            }
            Some(cron_preview(expression, timezone).await)
        },
    );
    view! {
        <div class="form-grid" class:hidden=move || !cron.get()>
            <Input label="Cron expression" field="cron_expression" form get=|f| f.cron_expression.clone() set=|f, v| f.cron_expression = v error hint="minute hour day month weekday, e.g. 0 3 * * * (a sixth field first: seconds)" />
            <Input label="Time zone" field="cron_timezone" form get=|f| f.cron_timezone.clone() set=|f, v| f.cron_timezone = v error hint="IANA name, e.g. Europe/Berlin or Asia/Shanghai; empty: UTC" />
            <div class="form-wide" data-testid="cron-preview">
                <Transition fallback=|| ()>
                    {move || runs.get().flatten().map(|result| match result {
                        Ok(list) => view! {
                            <p class="muted">"Next runs:"</p>
                            <ol data-testid="cron-next">
                                {list.into_iter().map(|t| view! { <li data-testid="cron-next-run">{t}</li> }).collect_view()}
                            </ol>
                        }.into_any(),
                        Err(err) => {
                            let message = match &err {
                                AppError::Invalid { message, .. } => message.clone(),
                                other => other.to_string(),
                            };
                            view! { <p class="field-error" data-testid="cron-problem">{message}</p> }.into_any()
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}
