//! Verify's items (pass / warning / fail with the reason) and Preview's plan.

use leptos::prelude::*;

use crate::api::restores::{CheckItem, RestorePreview};
use crate::model::{human_bytes, human_duration};

#[component]
pub fn PreCheckList(checks: Vec<CheckItem>, outcome: String) -> impl IntoView {
    let summary = match outcome.as_str() {
        "pass" => "Every item passed.",
        "warn" => "No item failed; read the warnings before starting.",
        _ => "Some items failed: the restore cannot start until they pass.",
    };
    view! {
        <div class="checks" data-testid="restore-checks" data-outcome=outcome.clone()>
            <p class=format!("checks-summary checks-summary--{}", if outcome == "fail" { "fail" } else { "ok" })>{summary}</p>
            <ul>
                {checks.into_iter().map(|c| {
                    let mark = match c.outcome.as_str() { "pass" => "✔ ", "warn" => "⚠ ", _ => "✘ " };
                    let (class, outcome, name) = (format!("check check--{}", c.outcome), c.outcome.clone(), c.name.clone());
                    view! {
                        <li class=class data-testid="check-item" data-outcome=outcome data-name=name>
                            <strong>{mark}{c.name}</strong>" — "<span>{c.detail}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn PlanPreview(preview: RestorePreview) -> impl IntoView {
    view! {
        {preview.pitr.clone().map(|plan| view! { <super::to_time::PitrPlanView plan /> })}
        <div class="preview" data-testid="restore-preview">
            <p>
                {format!(
                    "{} object(s), {} rows, {} into {} — about {}",
                    preview.objects.len(),
                    preview.rows,
                    human_bytes(preview.bytes),
                    preview.target,
                    human_duration(preview.estimated_secs.max(1.0))
                )}
            </p>
            <table class="table">
                <thead><tr><th>"Object"</th><th>"Restored as"</th><th>"Action"</th><th>"Size"</th><th>"Rows"</th><th>"Time range"</th></tr></thead>
                <tbody>
                    {preview.objects.into_iter().map(|o| { let (object, action) = (o.name.clone(), o.action.clone()); view! {
                        <tr data-testid="preview-row" data-object=object data-action=action>
                            <td><code>{o.name}</code></td>
                            <td><code>{o.target_name}</code></td>
                            <td>{o.action}</td>
                            <td>{human_bytes(o.bytes)}</td>
                            <td>{o.rows.map(|r| r.to_string()).unwrap_or_default()}</td>
                            <td>{o.range.unwrap_or_default()}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
