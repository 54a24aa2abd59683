//! The task form's restore drill plan and recovery targets.

use leptos::prelude::*;

use super::form::{pairs, Choice, Input};
use crate::api::sources::SourceSummary;
use crate::components::FieldError;
use crate::error::AppError;
use crate::model::TaskForm;

#[component]
pub(super) fn DrillFields(
    form: RwSignal<TaskForm>,
    error: Signal<Option<AppError>>,
    /// The data sources marked drill server.
    drill_servers: Signal<Vec<SourceSummary>>,
) -> impl IntoView {
    let mode = move || form.with(|f| f.drill_mode.clone());
    view! {
        <fieldset class="panel" data-testid="drill-fields">
            <legend>"Restore drills and recovery targets"</legend>
            <div class="form-grid">
                <Choice label="Drills" field="drill_mode" form get=|f| f.drill_mode.clone() set=|f, v| f.drill_mode = v options=pairs(&[("off", "Only when run by hand"), ("after_backups", "After every n backups"), ("schedule", "On a schedule")]) error />
                <div class:hidden=move || mode() != "after_backups">
                    <Input label="n (backups per drill)" field="drill_every_n" kind="number" form get=|f| f.drill_every_n.clone() set=|f, v| f.drill_every_n = v error />
                </div>
                <Choice label="Point" field="drill_point" form get=|f| f.drill_point.clone() set=|f, v| f.drill_point = v options=pairs(&[("latest", "The newest point"), ("random", "A random retained point")]) error />
                {move || {
                    let mut options = vec![("auto".to_owned(), "Automatic: scratch directory, or a throwaway PostgreSQL server".to_owned())];
                    options.extend(drill_servers.get().into_iter().map(|s| (s.id.to_string(), format!("Drill server {}", s.name))));
                    view! { <Choice label="Sandbox" field="drill_server_id" form get=|f| f.drill_server_id.clone() set=|f, v| f.drill_server_id = v options error /> }
                }}
            </div>
            <div class="form-grid" class:hidden=move || mode() != "schedule">
                <Input label="First drill (UTC)" field="drill_first_start" kind="datetime-local" form get=|f| f.drill_first_start.clone() set=|f, v| f.drill_first_start = v error />
                <Input label="Every" field="drill_period_value" kind="number" form get=|f| f.drill_period_value.clone() set=|f, v| f.drill_period_value = v error />
                <Choice label="Unit" field="drill_period_unit" form get=|f| f.drill_period_unit.clone() set=|f, v| f.drill_period_unit = v options=pairs(&[("hours", "hours"), ("days", "days")]) error />
            </div>
            <label class="form-wide">
                "SQL checks (databases only)"
                <textarea
                    name="form[drill_checks]"
                    data-testid="task-drill_checks"
                    rows="3"
                    placeholder="SELECT count(*) FROM orders => 120"
                    prop:value=move || form.with(|f| f.drill_checks.clone())
                    on:input=move |ev| form.update(|f| f.drill_checks = event_target_value(&ev))
                >
                    {form.with_untracked(|f| f.drill_checks.clone())}
                </textarea>
                <span class="hint">"One per line: a query returning one value, =>, the value it must return. Run read-only in the sandbox."</span>
                <FieldError field="drill_checks" error />
            </label>
            <div class="form-grid">
                <Input label="Drill time limit" field="drill_time_limit" form get=|f| f.drill_time_limit.clone() set=|f, v| f.drill_time_limit = v error hint="e.g. 30m; empty for none" />
                <Input label="RPO target" field="rpo_target" form get=|f| f.rpo_target.clone() set=|f, v| f.rpo_target = v error hint="the oldest the newest good point may be, e.g. 1d" />
                <Input label="RTO target" field="rto_target" form get=|f| f.rto_target.clone() set=|f, v| f.rto_target = v error hint="the longest a restore may take, e.g. 15m" />
            </div>
        </fieldset>
    }
}
