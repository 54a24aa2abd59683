use leptos::prelude::*;

/// The message a list shows when it has nothing in it yet.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <h2>{title}</h2>
            <p>{children()}</p>
        </div>
    }
}
