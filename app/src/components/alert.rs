use leptos::prelude::*;

use crate::error::AppError;

/// Shows an error from a server function. The text is the error's safe
/// display; the server log holds the details under the same reference.
#[component]
pub fn ErrorAlert(error: AppError) -> impl IntoView {
    let i18n = crate::i18n::use_i18n();
    view! {
        <div class="alert alert--error" role="alert" data-testid="error-alert">
            {move || error.localized(i18n)}
        </div>
    }
}
