//! Areas whose lists are still empty: the engine and console issues fill
//! them. Each says what it will hold so the navigation is never a dead end.

use leptos::prelude::*;

use crate::components::EmptyState;

#[component]
fn AreaPage(
    title: &'static str,
    testid: &'static str,
    empty: &'static str,
    hint: &'static str,
) -> impl IntoView {
    view! {
        <section class="page" data-testid=testid>
            <header class="page-header">
                <h1>{title}</h1>
            </header>
            <EmptyState title=empty>{hint}</EmptyState>
        </section>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <AreaPage
            title="Audit Log"
            testid="audit"
            empty="No audit entries"
            hint="Every sign-in, change, backup and restore will be recorded here."
        />
    }
}
