//! Verify's items (pass / warning / fail with the reason) and Preview's plan.

use leptos::prelude::*;

use crate::i18n::*;
use crate::pages::tasks::labels::duration_text;

use crate::api::restores::{CheckItem, RestorePreview};
use crate::model::human_bytes;

#[component]
pub fn PreCheckList(checks: Vec<CheckItem>, outcome: String) -> impl IntoView {
    let i18n = use_i18n();
    let summary = match outcome.as_str() {
        "pass" => t_string!(i18n, restore_checks.all_passed),
        "warn" => t_string!(i18n, restore_checks.warnings),
        _ => t_string!(i18n, restore_checks.failed),
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
                            <strong>{mark}{check_name_view(i18n, c.name)}</strong>" — "<span translate="no">{c.detail}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn PlanPreview(preview: RestorePreview) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {preview.pitr.clone().map(|plan| view! { <super::to_time::PitrPlanView plan /> })}
        <div class="preview" data-testid="restore-preview">
            <p>
                {t!(i18n, restore_checks.summary,
                    objects = preview.objects.len(),
                    rows = preview.rows,
                    size = human_bytes(preview.bytes),
                    target = view! { <code>{preview.target.clone()}</code> },
                    eta = duration_text(i18n, preview.estimated_secs.max(1.0)))}
            </p>
            <table class="table">
                <thead><tr><th>{t!(i18n, restore_form.col_object)}</th><th>{t!(i18n, restore_form.col_restored_as)}</th><th>{t!(i18n, restore_form.col_action)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, restore_form.col_rows)}</th><th>{t!(i18n, restore_form.col_range)}</th></tr></thead>
                <tbody>
                    {preview.objects.into_iter().map(|o| { let (object, action) = (o.name.clone(), o.action.clone()); view! {
                        <tr data-testid="preview-row" data-object=object data-action=action>
                            <td><code>{o.name}</code></td>
                            <td><code>{o.target_name}</code></td>
                            <td translate=crate::components::restore_words::translate_attr(i18n, &o.action)>{crate::components::restore_words::restore_text(i18n, &o.action)}</td>
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

/// An item's name in the console's language; a name it has no word for (a
/// server setting) as the server sent it.
pub(crate) fn check_name_view(i18n: crate::I18n, name: String) -> impl IntoView {
    match crate::components::restore_words::check_name(i18n, &name) {
        Some(word) => view! { <span>{word}</span> }.into_any(),
        None => view! { <span translate="no">{name}</span> }.into_any(),
    }
}
