//! Server-sent event streams in the browser: one EventSource per stream
//! while someone is signed in, each named event decoded as JSON and handed
//! to a callback.

use leptos::prelude::*;

use super::layout::MeContext;

/// Keeps the stream at `url` open while someone is signed in: opened when
/// the console learns of a user (after signing in through the form, without
/// a reload), closed when they sign out or another user signs in, since a
/// stream the server authorised for one session must not outlive it.
pub fn stream_while_signed_in<T: serde::de::DeserializeOwned + 'static>(
    url: &'static str,
    event: &'static str,
    on_event: impl Fn(T) + Clone + 'static,
) {
    let me = use_context::<MeContext>();
    let user = Memo::new(move |_| {
        me.and_then(|m| m.0.get())
            .and_then(Result::ok)
            .flatten()
            .map(|me| me.username)
    });
    #[cfg(feature = "hydrate")]
    {
        let open = StoredValue::new_local(None::<Stream>);
        // Effects run in the browser only, once hydrated.
        Effect::new(move |_| {
            let user = user.get();
            open.update_value(|stream| {
                if let Some(old) = stream.take() {
                    old.source.close();
                }
                if user.is_some() {
                    *stream = Stream::open(url, event, on_event.clone());
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (user, url, event, on_event);
}

#[cfg(feature = "hydrate")]
struct Stream {
    source: web_sys::EventSource,
    _handler: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
}

#[cfg(feature = "hydrate")]
impl Stream {
    /// Each named event decoded as JSON and handed to `on_event`; the
    /// browser reconnects the stream by itself while it is open.
    fn open<T: serde::de::DeserializeOwned + 'static>(
        url: &str,
        event: &str,
        on_event: impl Fn(T) + 'static,
    ) -> Option<Self> {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        let Ok(source) = web_sys::EventSource::new(url) else {
            leptos::logging::warn!("live progress is unavailable: cannot open {url}");
            return None;
        };
        let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |message: web_sys::MessageEvent| {
                let Some(text) = message.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<T>(&text) {
                    Ok(value) => on_event(value),
                    Err(err) => leptos::logging::warn!("unreadable live event: {err}"),
                }
            },
        );
        if source
            .add_event_listener_with_callback(event, handler.as_ref().unchecked_ref())
            .is_err()
        {
            leptos::logging::warn!("live progress is unavailable: cannot listen to {event} events");
        }
        Some(Stream {
            source,
            _handler: handler,
        })
    }
}
