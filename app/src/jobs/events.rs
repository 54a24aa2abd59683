//! Server-sent events with live progress. `GET /api/events/jobs` sends
//! every running backup job as `job` events, `GET /api/events/restores`
//! every running restore as `restore` events. A new subscriber first gets
//! a snapshot of each running job, then every update (about twice a second
//! per job) and each job's end.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::Jobs;

pub const PATH: &str = "/api/events/jobs";
pub const RESTORES_PATH: &str = "/api/events/restores";

fn named_event(name: &str, data: &impl Serialize) -> Option<Result<Event, Infallible>> {
    Event::default().event(name).json_data(data).ok().map(Ok)
}

/// The snapshot, then every broadcast update, until the server stops.
fn live_stream<T: Serialize + Clone + Send + 'static>(
    jobs: Jobs,
    name: &'static str,
    receiver: broadcast::Receiver<T>,
    snapshot: Vec<T>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first: Vec<_> = snapshot
        .iter()
        .filter_map(|p| named_event(name, p))
        .collect();
    let updates = stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(progress) => {
                    if let Some(item) = named_event(name, &progress) {
                        return Some((item, receiver));
                    }
                }
                // A slow browser missed some ticks; the next one is complete.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    // Open streams would otherwise hold a graceful shutdown forever.
    let closed = async move { jobs.closed().await };
    Sse::new(stream::iter(first).chain(updates).take_until(closed))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

pub async fn job_events(
    State(jobs): State<Jobs>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before the snapshot so that nothing falls in between.
    let receiver = jobs.subscribe();
    let snapshot = jobs.snapshots();
    live_stream(jobs, "job", receiver, snapshot)
}

pub async fn restore_events(
    State(jobs): State<Jobs>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = jobs.restores().subscribe();
    let snapshot = jobs.restores().snapshots();
    live_stream(jobs, "restore", receiver, snapshot)
}
