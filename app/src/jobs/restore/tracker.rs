//! A restore job's progress as the engine reports it: phases with their
//! times, bytes read and loaded, rows, and each object's outcome.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use tidemark_engine::{Phase, Progress};

use crate::model::{PhaseTimes, RestoreProgress, RestoreState};

/// What the tracker tells the catalog as it happens (phase changes are
/// rare; they are written through at once).
pub trait PhaseSink: Send + Sync {
    fn phase(&self, phase: &str, done: bool);
}

#[derive(Default)]
struct Shared {
    phases: Vec<PhaseTimes>,
    bytes_total: u64,
    rows_total: u64,
    objects_total: u64,
    /// Objects and their error, in the order they ended.
    outcomes: Vec<(String, Option<String>)>,
}

pub struct RestoreTracker {
    restore_id: i64,
    started: Instant,
    shared: Mutex<Shared>,
    fetched: AtomicU64,
    loaded: AtomicU64,
    rows: AtomicU64,
    objects: AtomicU64,
    sink: Box<dyn PhaseSink>,
}

impl RestoreTracker {
    pub fn new(restore_id: i64, sink: Box<dyn PhaseSink>) -> Self {
        RestoreTracker {
            restore_id,
            started: Instant::now(),
            shared: Mutex::new(Shared::default()),
            fetched: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            objects: AtomicU64::new(0),
            sink,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        match self.shared.lock() {
            Ok(mut shared) => f(&mut shared),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Notes a phase begun without telling the sink (it was recorded already).
    pub fn record_start(&self, phase: &str) {
        self.with(|s| {
            s.phases.push(PhaseTimes {
                phase: phase.to_owned(),
                started_at: Some(Utc::now()),
                finished_at: None,
            })
        });
    }

    /// Marks a phase begun or ended; a phase begun twice keeps its first time.
    pub fn mark(&self, phase: &str, done: bool) {
        let changed = self.with(|s| {
            let now = Some(Utc::now());
            match s.phases.iter_mut().find(|p| p.phase == phase) {
                Some(p) if done && p.finished_at.is_none() => {
                    p.finished_at = now;
                    true
                }
                Some(_) => false,
                None => {
                    s.phases.push(PhaseTimes {
                        phase: phase.to_owned(),
                        started_at: now,
                        finished_at: if done { now } else { None },
                    });
                    true
                }
            }
        });
        if changed {
            self.sink.phase(phase, done);
        }
    }

    pub fn set_totals(&self, bytes: u64, rows: u64, objects: u64) {
        self.with(|s| {
            s.bytes_total = bytes;
            s.rows_total = rows;
            s.objects_total = objects;
        });
    }

    pub fn outcomes(&self) -> Vec<(String, Option<String>)> {
        self.with(|s| s.outcomes.clone())
    }

    pub fn loaded(&self) -> (u64, u64) {
        (
            self.loaded.load(Ordering::Relaxed),
            self.rows.load(Ordering::Relaxed),
        )
    }

    pub fn snapshot(&self, state: RestoreState, error: Option<String>) -> RestoreProgress {
        let (phases, bytes_total, rows_total, objects_total) = self.with(|s| {
            (
                s.phases.clone(),
                s.bytes_total,
                s.rows_total,
                s.objects_total,
            )
        });
        let phase = phases
            .iter()
            .rev()
            .find(|p| p.finished_at.is_none())
            .or(phases.last())
            .map(|p| p.phase.clone())
            .unwrap_or_else(|| "pending".into());
        RestoreProgress {
            restore_id: self.restore_id,
            state,
            phase,
            phases,
            bytes_total,
            bytes_fetched: self.fetched.load(Ordering::Relaxed),
            bytes_loaded: self.loaded.load(Ordering::Relaxed),
            rows_total,
            rows_loaded: self.rows.load(Ordering::Relaxed),
            objects_total,
            objects_done: self.objects.load(Ordering::Relaxed),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            error,
        }
    }
}

impl Progress for RestoreTracker {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, bytes: u64, items: u64) {
        self.loaded.fetch_add(bytes, Ordering::Relaxed);
        self.objects.fetch_add(items, Ordering::Relaxed);
    }
    fn finish(&self) {}
    fn phase(&self, phase: Phase, done: bool) {
        self.mark(phase.as_str(), done);
    }
    fn fetched(&self, bytes: u64) {
        self.fetched.fetch_add(bytes, Ordering::Relaxed);
    }
    fn rows(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }
    fn object(&self, name: &str, error: Option<&str>) {
        self.with(|s| s.outcomes.push((name.to_owned(), error.map(str::to_owned))));
    }
}

/// The tracker, with the steps the engine names by title after the base
/// point's phases (log fetch and replay, the server's WAL replay) shown as
/// phases of their own.
pub struct TitledPhases<'a> {
    pub tracker: &'a RestoreTracker,
    /// Marks the phases a title begins (and ends).
    pub on_title: fn(&RestoreTracker, &str),
    pub on_finish: fn(&RestoreTracker),
}

impl Progress for TitledPhases<'_> {
    fn set_title(&self, title: &str) {
        (self.on_title)(self.tracker, title);
    }
    fn set_length(&self, bytes: u64, items: u64) {
        self.tracker.set_length(bytes, items);
    }
    fn inc(&self, bytes: u64, items: u64) {
        self.tracker.inc(bytes, items);
    }
    fn finish(&self) {
        (self.on_finish)(self.tracker);
    }
    fn phase(&self, phase: Phase, done: bool) {
        self.tracker.phase(phase, done);
    }
    fn fetched(&self, bytes: u64) {
        self.tracker.fetched(bytes);
    }
    fn rows(&self, rows: u64) {
        self.tracker.rows(rows);
    }
    fn object(&self, name: &str, error: Option<&str>) {
        self.tracker.object(name, error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorded(Mutex<Vec<(String, bool)>>);
    impl PhaseSink for std::sync::Arc<Recorded> {
        fn phase(&self, phase: &str, done: bool) {
            self.0.lock().unwrap().push((phase.to_owned(), done));
        }
    }

    #[test]
    fn phases_are_written_through_once_and_the_current_one_is_named() {
        let recorded = std::sync::Arc::new(Recorded(Mutex::new(Vec::new())));
        let t = RestoreTracker::new(4, Box::new(recorded.clone()));
        t.mark("preparing", false);
        t.mark("preparing", false);
        t.mark("preparing", true);
        Progress::phase(&t, Phase::Downloading, false);
        Progress::phase(&t, Phase::Loading, false);
        t.set_totals(100, 10, 2);
        t.fetched(60);
        t.inc(30, 1);
        t.rows(5);
        t.object("readings", Some("boom"));
        let s = t.snapshot(RestoreState::Running, None);
        assert_eq!(s.phase, "loading");
        assert_eq!(
            (
                s.bytes_fetched,
                s.bytes_loaded,
                s.rows_loaded,
                s.objects_done
            ),
            (60, 30, 5, 1)
        );
        assert_eq!(s.phases.len(), 3);
        assert!(s.phases[0].finished_at.is_some());
        assert_eq!(recorded.0.lock().unwrap().len(), 4);
        assert_eq!(
            t.outcomes(),
            [("readings".to_owned(), Some("boom".to_owned()))]
        );
    }
}
