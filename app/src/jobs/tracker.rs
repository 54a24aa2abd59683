//! The engine's progress, kept where the server can read it any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tidemark_engine::Progress;

use crate::model::{JobPhase, JobProgress};

#[derive(Debug, Default)]
struct Phase {
    step: String,
    bytes_total: u64,
    items_total: u64,
}

/// Receives a job's progress from the engine (on a blocking thread) and
/// gives snapshots to the async side. `inc` is lock-free: it runs per chunk.
#[derive(Debug)]
pub struct Tracker {
    run_id: i64,
    task_id: i64,
    task_name: String,
    started: Instant,
    phase: Mutex<Phase>,
    bytes_done: AtomicU64,
    items_done: AtomicU64,
    drill: bool,
}

impl Tracker {
    /// The tracker of a restore drill (its snapshots say so).
    pub fn for_drill(drill_run_id: i64, task_id: i64, task_name: String) -> Self {
        let tracker = Tracker {
            drill: true,
            ..Tracker::new(drill_run_id, task_id, task_name)
        };
        tracker.with_phase(|p| p.step = "preparing the sandbox".into());
        tracker
    }

    pub fn new(run_id: i64, task_id: i64, task_name: String) -> Self {
        Tracker {
            run_id,
            task_id,
            task_name,
            started: Instant::now(),
            phase: Mutex::new(Phase {
                step: "starting".into(),
                ..Phase::default()
            }),
            bytes_done: AtomicU64::new(0),
            items_done: AtomicU64::new(0),
            drill: false,
        }
    }

    pub fn snapshot(&self, phase: JobPhase, error: Option<String>) -> JobProgress {
        let (step, bytes_total, items_total) = match self.phase.lock() {
            Ok(p) => (p.step.clone(), p.bytes_total, p.items_total),
            Err(poisoned) => {
                let p = poisoned.into_inner();
                (p.step.clone(), p.bytes_total, p.items_total)
            }
        };
        JobProgress {
            run_id: self.run_id,
            task_id: self.task_id,
            task_name: self.task_name.clone(),
            phase,
            step,
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total,
            items_done: self.items_done.load(Ordering::Relaxed),
            items_total,
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            error,
            drill: self.drill,
        }
    }

    fn with_phase(&self, f: impl FnOnce(&mut Phase)) {
        match self.phase.lock() {
            Ok(mut p) => f(&mut p),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl Progress for Tracker {
    /// A new step starts its counters from zero.
    fn set_title(&self, title: &str) {
        self.with_phase(|p| {
            p.step = title.to_owned();
            p.bytes_total = 0;
            p.items_total = 0;
        });
        self.bytes_done.store(0, Ordering::Relaxed);
        self.items_done.store(0, Ordering::Relaxed);
    }

    fn set_length(&self, bytes: u64, items: u64) {
        self.with_phase(|p| {
            p.bytes_total = bytes;
            p.items_total = items;
        });
    }

    fn inc(&self, bytes: u64, items: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.items_done.fetch_add(items, Ordering::Relaxed);
    }

    fn finish(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_reset_their_counters() {
        let t = Tracker::new(7, 3, "nightly".into());
        t.set_title("backing up");
        t.set_length(1000, 4);
        t.inc(250, 1);
        let s = t.snapshot(JobPhase::Running, None);
        assert_eq!((s.run_id, s.task_id, s.step.as_str()), (7, 3, "backing up"));
        assert_eq!((s.bytes_done, s.bytes_total, s.items_done), (250, 1000, 1));
        assert_eq!(s.percent(), 25.0);
        t.set_title("pruning");
        let s = t.snapshot(JobPhase::Running, None);
        assert_eq!((s.bytes_done, s.bytes_total), (0, 0));
    }
}
