//! Form helpers: a field's error line, a notice line, and the list of
//! Verify's checks.

use leptos::prelude::*;

use crate::api::tasks::Check;
use crate::error::AppError;
use crate::i18n::*;

/// The error a server function gave for `field`, shown beside it.
#[component]
pub fn FieldError(
    field: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    move || {
        error
            .with(|e| e.as_ref().and_then(|e| e.field(field)))
            .map(|message| {
                view! {
                    <span class="field-error" data-testid=format!("error-{field}")>{message}</span>
                }
            })
    }
}

/// An error that is not about one field (or a summary of field errors).
#[component]
pub fn Notice(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            view! { <div class="alert alert--error" role="alert" data-testid="form-error">{e.localized(i18n)}</div> }
        })
    }
}

/// Verify's answer: each check with pass or fail and its reason.
#[component]
pub fn CheckList(checks: Vec<Check>) -> impl IntoView {
    let i18n = use_i18n();
    let all_passed = checks.iter().all(|c| c.passed);
    view! {
        <div class="checks" data-testid="verify-result" data-passed=all_passed.to_string()>
            <p class=if all_passed { "checks-summary checks-summary--ok" } else { "checks-summary checks-summary--fail" }>
                {move || if all_passed { t_string!(i18n, checks.all_passed) } else { t_string!(i18n, checks.some_failed) }}
            </p>
            <ul>
                {checks
                    .into_iter()
                    .map(|c| {
                        let state = if c.passed { "pass" } else { "fail" };
                        view! {
                            <li class=format!("check check--{state}") data-testid="verify-check" data-state=state>
                                <strong>{if c.passed { "✔ " } else { "✘ " }} {crate::pages::restores::check_name_view(i18n, c.name)}</strong>
                                " — "
                                <span translate="no">{c.detail}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}
