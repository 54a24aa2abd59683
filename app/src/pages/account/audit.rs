//! The audit log: who did what, when, from where, and how it ended;
//! filtered and paginated through the URL. Read-only.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::users::audit_log;
use crate::components::ErrorAlert;
use crate::i18n::*;

/// An audit outcome's name in the console's language.
fn outcome_name(i18n: crate::I18n, outcome: &str) -> String {
    match outcome {
        "success" => t_string!(i18n, audit.success).to_owned(),
        "failure" => t_string!(i18n, audit.failure).to_owned(),
        "refused" => t_string!(i18n, audit.refused).to_owned(),
        other => other.to_owned(),
    }
}

fn audit_url(page: u32, user: &str, action: &str, outcome: &str) -> String {
    format!("/audit?page={page}&user={user}&action={action}&outcome={outcome}")
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let get = move |key: &'static str| move || query.with(|q| q.get(key).unwrap_or_default());
    let (user, action, outcome) = (get("user"), get("action"), get("outcome"));
    let page = move || query.with(|q| q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1));
    let log = Resource::new(
        move || (page(), user(), action(), outcome()),
        |(page, user, action, outcome)| audit_log(page, Some(user), Some(action), Some(outcome)),
    );
    view! {
        <section class="page" data-testid="audit-page">
            <header class="page-header"><h1>{t!(i18n, nav.audit)}</h1></header>
            <form method="get" action="/audit" class="inline-form" data-testid="audit-filter">
                <input type="text" name="user" placeholder=move || t_string!(i18n, audit.user_placeholder) prop:value=user data-testid="audit-user" />
                <input type="text" name="action" placeholder=move || t_string!(i18n, audit.action_placeholder) prop:value=action data-testid="audit-action" />
                <select name="outcome" data-testid="audit-outcome" prop:value=outcome>
                    <option value="">{t!(i18n, audit.any_outcome)}</option>
                    <option value="success">{t!(i18n, audit.success)}</option>
                    <option value="failure">{t!(i18n, audit.failure)}</option>
                    <option value="refused">{t!(i18n, audit.refused)}</option>
                </select>
                <button type="submit" class="button">{t!(i18n, audit.filter)}</button>
            </form>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, common.loading)}</p> }>
                {move || log.get().map(|result| match result {
                    Ok(log) => {
                        let (p, pages) = (log.page, log.pages);
                        let (u, a, o) = (user(), action(), outcome());
                        view! {
                            <table class="table" data-testid="audit-table">
                                <thead><tr><th>{t!(i18n, audit.when)}</th><th>{t!(i18n, users.user)}</th><th>{t!(i18n, audit.address)}</th><th>{t!(i18n, audit.action)}</th><th>{t!(i18n, audit.target)}</th><th>{t!(i18n, audit.outcome)}</th><th>{t!(i18n, audit.detail)}</th></tr></thead>
                                <tbody>
                                    {log.rows.into_iter().map(|r| { let (act, out) = (r.action.clone(), r.outcome.clone()); view! {
                                        <tr data-testid="audit-row" data-action=act data-outcome=out>
                                            <td>{r.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                            <td translate="no">{r.username.unwrap_or_default()}</td>
                                            <td translate="no">{r.address.unwrap_or_default()}</td>
                                            <td translate="no">{r.action}</td>
                                            <td translate="no">{r.target}</td>
                                            <td><span class=format!("state state--{}", r.outcome)>{outcome_name(i18n, &r.outcome)}</span></td>
                                            <td class="muted" translate="no">{r.detail}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            <nav class="pager">
                                <span data-testid="audit-status">{t!(i18n, audit.status, p, pages, total = log.total)}</span>
                                {(p > 1).then(|| view! { <A href=audit_url(p - 1, &u, &a, &o)>{t!(i18n, audit.newer)}</A> })}
                                {(p < pages).then(|| view! { <A href=audit_url(p + 1, &u, &a, &o)>{t!(i18n, audit.older)}</A> })}
                            </nav>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
