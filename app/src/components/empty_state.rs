use leptos::prelude::*;

/// The message a list shows when it has nothing in it yet.
#[component]
pub fn EmptyState(#[prop(into)] title: TextProp, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <h2>{move || title.get()}</h2>
            <p>{children()}</p>
        </div>
    }
}
