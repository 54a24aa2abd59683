//! The live restore feed: the latest progress of each restore job, from
//! `GET /api/events/restores`, shared through context by the restore pages.

use std::collections::HashMap;

use leptos::prelude::*;

use super::live_events::stream_while_signed_in;

use crate::model::RestoreProgress;

#[derive(Clone, Copy)]
pub struct RestoreFeed {
    pub by_restore: RwSignal<HashMap<i64, RestoreProgress>>,
    /// Moves when any restore ends, so pages reload what they show.
    pub finished: RwSignal<u64>,
}

impl RestoreFeed {
    pub fn provide() -> Self {
        let feed = RestoreFeed {
            by_restore: RwSignal::new(HashMap::new()),
            finished: RwSignal::new(0),
        };
        provide_context(feed);
        stream_while_signed_in(
            "/api/events/restores",
            "restore",
            move |progress: RestoreProgress| feed.apply(progress),
        );
        feed
    }

    pub fn get() -> Option<Self> {
        use_context::<RestoreFeed>()
    }

    pub fn apply(&self, progress: RestoreProgress) {
        let ended = !progress.state.is_active();
        self.by_restore.update(|m| {
            m.insert(progress.restore_id, progress);
        });
        if ended {
            self.finished.update(|n| *n += 1);
        }
    }

    pub fn restore(&self, id: i64) -> Option<RestoreProgress> {
        self.by_restore.with(|m| m.get(&id).cloned())
    }
}
