//! `GET /api/events/jobs`: server-sent events with every running job's
//! progress. A new subscriber first gets a snapshot of each running job,
//! then every update (about twice a second per job) and each job's end.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::Jobs;
use crate::model::JobProgress;

pub const PATH: &str = "/api/events/jobs";

fn event(progress: &JobProgress) -> Option<Result<Event, Infallible>> {
    Event::default()
        .event("job")
        .json_data(progress)
        .ok()
        .map(Ok)
}

pub async fn job_events(
    State(jobs): State<Jobs>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before the snapshot so that nothing falls in between.
    let receiver = jobs.subscribe();
    let first: Vec<_> = jobs.snapshots().iter().filter_map(event).collect();
    let updates = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(progress) => {
                    if let Some(item) = event(&progress) {
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
