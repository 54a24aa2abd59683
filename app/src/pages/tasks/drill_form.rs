//! The task form's restore drill plan and recovery targets.

use leptos::prelude::*;

use super::form::{pairs, Choice, Input};
use crate::api::sources::SourceSummary;
use crate::components::FieldError;
use crate::error::AppError;
use crate::i18n::*;
use crate::model::TaskForm;

#[component]
pub(super) fn DrillFields(
    form: RwSignal<TaskForm>,
    error: Signal<Option<AppError>>,
    /// The data sources marked drill server.
    drill_servers: Signal<Vec<SourceSummary>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let mode = move || form.with(|f| f.drill_mode.clone());
    view! {
        <fieldset class="panel" data-testid="drill-fields">
            <legend>{t!(i18n, drills.form_legend)}</legend>
            <div class="form-grid">
                <Choice label=move || t_string!(i18n, drills.drills) field="drill_mode" form get=|f| f.drill_mode.clone() set=|f, v| f.drill_mode = v options=pairs(&[("off", t_string!(i18n, copies.manual)), ("after_backups", t_string!(i18n, drills.after_n_backups)), ("schedule", t_string!(i18n, drills.on_schedule))]) error />
                <div class:hidden=move || mode() != "after_backups">
                    <Input label=move || t_string!(i18n, drills.n_backups) field="drill_every_n" kind="number" form get=|f| f.drill_every_n.clone() set=|f, v| f.drill_every_n = v error />
                </div>
                <Choice label=move || t_string!(i18n, restore_form.col_point) field="drill_point" form get=|f| f.drill_point.clone() set=|f, v| f.drill_point = v options=pairs(&[("latest", t_string!(i18n, drills.point_latest)), ("random", t_string!(i18n, drills.point_random))]) error />
                {move || {
                    let mut options = vec![("auto".to_owned(), t_string!(i18n, drills.sandbox_auto).to_owned())];
                    options.extend(drill_servers.get().into_iter().map(|s| (s.id.to_string(), t_string!(i18n, drills.sandbox_server, name = s.name))));
                    // raw: the drill servers' options are mostly their names.
                    view! { <Choice label=move || t_string!(i18n, drills.sandbox) field="drill_server_id" form get=|f| f.drill_server_id.clone() set=|f, v| f.drill_server_id = v options error raw=true /> }
                }}
            </div>
            <div class="form-grid" class:hidden=move || mode() != "schedule">
                <Input label=move || t_string!(i18n, drills.first_drill) field="drill_first_start" kind="datetime-local" form get=|f| f.drill_first_start.clone() set=|f, v| f.drill_first_start = v error />
                <Input label=move || t_string!(i18n, task_form.every) field="drill_period_value" kind="number" form get=|f| f.drill_period_value.clone() set=|f, v| f.drill_period_value = v error />
                <Choice label=move || t_string!(i18n, task_form.unit) field="drill_period_unit" form get=|f| f.drill_period_unit.clone() set=|f, v| f.drill_period_unit = v options=pairs(&[("hours", t_string!(i18n, task_form.hours)), ("days", t_string!(i18n, task_form.days))]) error />
            </div>
            <label class="form-wide">
                {t!(i18n, drills.sql_checks)}
                <textarea
                    name="form[drill_checks]"
                    data-testid="task-drill_checks"
                    translate="no"
                    rows="3"
                    placeholder="SELECT count(*) FROM orders => 120"
                    prop:value=move || form.with(|f| f.drill_checks.clone())
                    on:input=move |ev| form.update(|f| f.drill_checks = event_target_value(&ev))
                >
                    {form.with_untracked(|f| f.drill_checks.clone())}
                </textarea>
                <span class="hint">{t!(i18n, drills.sql_checks_hint)}</span>
                <FieldError field="drill_checks" error />
            </label>
            <div class="form-grid">
                <Input label=move || t_string!(i18n, drills.time_limit) field="drill_time_limit" form get=|f| f.drill_time_limit.clone() set=|f, v| f.drill_time_limit = v error hint=move || t_string!(i18n, drills.time_limit_hint) />
                <Input label=move || t_string!(i18n, drills.rpo_target) field="rpo_target" form get=|f| f.rpo_target.clone() set=|f, v| f.rpo_target = v error hint=move || t_string!(i18n, drills.rpo_target_hint) />
                <Input label=move || t_string!(i18n, drills.rto_target) field="rto_target" form get=|f| f.rto_target.clone() set=|f, v| f.rto_target = v error hint=move || t_string!(i18n, drills.rto_target_hint) />
            </div>
        </fieldset>
    }
}
