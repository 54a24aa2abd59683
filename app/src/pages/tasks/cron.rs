//! The task form's cron schedule: the expression, its time zone, and the
//! next five runs the server computes as you type (or why it cannot).

use leptos::prelude::*;

use super::form::Input;
use crate::api::tasks::cron_preview;
use crate::error::AppError;
use crate::i18n::*;
use crate::model::TaskForm;

#[component]
pub(super) fn CronFields(
    form: RwSignal<TaskForm>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
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
            <Input label=move || t_string!(i18n, task_form.cron) field="cron_expression" form get=|f| f.cron_expression.clone() set=|f, v| f.cron_expression = v error hint=move || t_string!(i18n, task_cron.expression_hint) />
            <Input label=move || t_string!(i18n, task_cron.timezone) field="cron_timezone" form get=|f| f.cron_timezone.clone() set=|f, v| f.cron_timezone = v error hint=move || t_string!(i18n, task_cron.timezone_hint) />
            <div class="form-wide" data-testid="cron-preview">
                <Transition fallback=|| ()>
                    {move || runs.get().flatten().map(|result| match result {
                        Ok(list) => view! {
                            <p class="muted">{t!(i18n, task_cron.next_runs)}</p>
                            // The server's own formatting of each time (weekday, zone).
                            <ol data-testid="cron-next" translate="no">
                                {list.into_iter().map(|t| view! { <li data-testid="cron-next-run">{t}</li> }).collect_view()}
                            </ol>
                        }.into_any(),
                        Err(err) => {
                            let message = match &err {
                                AppError::Invalid { message, .. } => message.clone(),
                                other => other.to_string(),
                            };
                            view! { <p class="field-error" data-testid="cron-problem" translate="no">{message}</p> }.into_any()
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}
