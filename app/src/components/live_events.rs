//! Server-sent event streams in the browser: one EventSource per stream,
//! each named event decoded as JSON and handed to a callback.

#[cfg(feature = "hydrate")]
pub fn listen<T: serde::de::DeserializeOwned + 'static>(
    url: &str,
    event: &str,
    on_event: impl Fn(T) + 'static,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new(url) else {
        leptos::logging::warn!("live progress is unavailable: cannot open {url}");
        return;
    };
    let handler =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            let Some(text) = message.data().as_string() else {
                return;
            };
            match serde_json::from_str::<T>(&text) {
                Ok(value) => on_event(value),
                Err(err) => leptos::logging::warn!("unreadable live event: {err}"),
            }
        });
    if source
        .add_event_listener_with_callback(event, handler.as_ref().unchecked_ref())
        .is_err()
    {
        leptos::logging::warn!("live progress is unavailable: cannot listen to {event} events");
    }
    // The stream lives as long as the page; the browser reconnects it.
    handler.forget();
    std::mem::forget(source);
}

/// Whether the browser shows the sign-in page (false on the server).
pub fn on_sign_in_page() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .is_some_and(|p| p == "/login")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
