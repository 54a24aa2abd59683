//! The language of the text the server writes for the person it answers
//! (validation messages, pre-check items): the console's language cookie,
//! else the browser's `Accept-Language`, as the pages themselves resolve
//! it. Outside a console request — the REST API, the CLI, background jobs —
//! it is English, the default locale.

use crate::i18n::Locale;

/// The locale of the console request being answered, else the default.
pub fn current() -> Locale {
    // Only a server function or a rendered page has a reactive owner and,
    // on the server, the request's headers in its context.
    if leptos::prelude::Owner::current().is_none() {
        return Locale::default();
    }
    #[cfg(feature = "ssr")]
    if leptos::prelude::use_context::<axum::http::request::Parts>().is_none() {
        return Locale::default();
    }
    leptos_i18n::locale::resolve_locale::<Locale>()
}

/// A translated message as a `String`, in the language of the request being
/// answered: `tr!(validation.key)` or `tr!(validation.key, max = 64)`.
#[macro_export]
macro_rules! tr {
    ($($args:tt)*) => {
        $crate::i18n::td_string!($crate::locale::current(), $($args)*).to_string()
    };
}
