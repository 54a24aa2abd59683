//! The audit log: who did what, when, from where, and how it ended;
//! filtered and paginated through the URL. Read-only.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::users::audit_log;
use crate::components::ErrorAlert;

fn audit_url(page: u32, user: &str, action: &str, outcome: &str) -> String {
    format!("/audit?page={page}&user={user}&action={action}&outcome={outcome}")
}

#[component]
pub fn AuditPage() -> impl IntoView {
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
            <header class="page-header"><h1>"Audit Log"</h1></header>
            <form method="get" action="/audit" class="inline-form" data-testid="audit-filter">
                <input type="text" name="user" placeholder="user" prop:value=user data-testid="audit-user" />
                <input type="text" name="action" placeholder="action, e.g. sign-in" prop:value=action data-testid="audit-action" />
                <select name="outcome" data-testid="audit-outcome" prop:value=outcome>
                    <option value="">"any outcome"</option>
                    <option value="success">"success"</option>
                    <option value="failure">"failure"</option>
                    <option value="refused">"refused"</option>
                </select>
                <button type="submit" class="button">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || log.get().map(|result| match result {
                    Ok(log) => {
                        let (p, pages) = (log.page, log.pages);
                        let (u, a, o) = (user(), action(), outcome());
                        view! {
                            <table class="table" data-testid="audit-table">
                                <thead><tr><th>"When (UTC)"</th><th>"User"</th><th>"Address"</th><th>"Action"</th><th>"Target"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {log.rows.into_iter().map(|r| { let (act, out) = (r.action.clone(), r.outcome.clone()); view! {
                                        <tr data-testid="audit-row" data-action=act data-outcome=out>
                                            <td>{r.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                            <td>{r.username.unwrap_or_default()}</td>
                                            <td>{r.address.unwrap_or_default()}</td>
                                            <td>{r.action}</td>
                                            <td>{r.target}</td>
                                            <td><span class=format!("state state--{}", r.outcome)>{r.outcome.clone()}</span></td>
                                            <td class="muted">{r.detail}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            <nav class="pager">
                                <span data-testid="audit-status">{format!("page {p} of {pages} · {} entries", log.total)}</span>
                                {(p > 1).then(|| view! { <A href=audit_url(p - 1, &u, &a, &o)>"‹ newer"</A> })}
                                {(p < pages).then(|| view! { <A href=audit_url(p + 1, &u, &a, &o)>"older ›"</A> })}
                            </nav>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
