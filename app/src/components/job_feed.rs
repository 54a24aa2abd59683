//! The live job feed: one server-sent event stream per page, shared by
//! every progress bar through context.

use std::collections::HashMap;

use leptos::prelude::*;

use super::live_events::stream_while_signed_in;

use crate::model::JobProgress;

/// The latest progress of each task's job (finished ones stay, so a bar
/// can show its end), the same for its restore drill, and a counter that
/// moves when any job or drill ends.
#[derive(Clone, Copy)]
pub struct JobFeed {
    pub by_task: RwSignal<HashMap<i64, JobProgress>>,
    pub drills: RwSignal<HashMap<i64, JobProgress>>,
    pub finished: RwSignal<u64>,
}

impl JobFeed {
    /// Provides the feed and, in the browser, connects it to the server.
    pub fn provide() -> Self {
        let feed = JobFeed {
            by_task: RwSignal::new(HashMap::new()),
            drills: RwSignal::new(HashMap::new()),
            finished: RwSignal::new(0),
        };
        provide_context(feed);
        stream_while_signed_in("/api/events/jobs", "job", move |progress: JobProgress| {
            feed.apply(progress)
        });
        feed
    }

    pub fn get() -> Option<Self> {
        use_context::<JobFeed>()
    }

    pub fn apply(&self, progress: JobProgress) {
        let ended = progress.is_finished();
        let map = if progress.drill {
            self.drills
        } else {
            self.by_task
        };
        map.update(|m| {
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

    /// The task's drill as last seen.
    pub fn drill(&self, task_id: i64) -> Option<JobProgress> {
        self.drills.with(|m| m.get(&task_id).cloned())
    }

    /// Adds what a page loaded (jobs running before the feed's first
    /// tick) unless the feed knows newer.
    pub fn seed(&self, jobs: Vec<JobProgress>) {
        for job in jobs {
            let known = if job.drill {
                self.drill(job.task_id)
            } else {
                self.task(job.task_id)
            };
            if known.is_none() {
                self.apply(job);
            }
        }
    }
}
