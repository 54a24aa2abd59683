//! The live job feed: one server-sent event stream per page, shared by
//! every progress bar through context.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::model::JobProgress;

/// The latest progress of each task's job (finished ones stay, so a bar
/// can show its end), and a counter that moves when any job ends.
#[derive(Clone, Copy)]
pub struct JobFeed {
    pub by_task: RwSignal<HashMap<i64, JobProgress>>,
    pub finished: RwSignal<u64>,
}

impl JobFeed {
    /// Provides the feed and, in the browser, connects it to the server.
    pub fn provide() -> Self {
        let feed = JobFeed {
            by_task: RwSignal::new(HashMap::new()),
            finished: RwSignal::new(0),
        };
        provide_context(feed);
        // Effects run in the browser only, once hydrated.
        Effect::new(move |_| connect(feed));
        feed
    }

    pub fn get() -> Option<Self> {
        use_context::<JobFeed>()
    }

    pub fn apply(&self, progress: JobProgress) {
        let ended = progress.is_finished();
        self.by_task.update(|m| {
            m.insert(progress.task_id, progress);
        });
        if ended {
            self.finished.update(|n| *n += 1);
        }
    }

    /// The task's job as last seen.
    pub fn task(&self, task_id: i64) -> Option<JobProgress> {
        self.by_task.with(|m| m.get(&task_id).cloned())
    }
}

#[cfg(feature = "hydrate")]
fn connect(feed: JobFeed) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/api/events/jobs") else {
        leptos::logging::warn!("live progress is unavailable: EventSource could not be created");
        return;
    };
    let on_job =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<JobProgress>(&text) {
                Ok(progress) => feed.apply(progress),
                Err(err) => leptos::logging::warn!("unreadable job event: {err}"),
            }
        });
    if source
        .add_event_listener_with_callback("job", on_job.as_ref().unchecked_ref())
        .is_err()
    {
        leptos::logging::warn!("live progress is unavailable: cannot listen to job events");
    }
    // The stream lives as long as the page; the browser reconnects it.
    on_job.forget();
    std::mem::forget(source);
}

#[cfg(not(feature = "hydrate"))]
fn connect(_: JobFeed) {}
