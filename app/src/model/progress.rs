//! A running job's progress as the browser sees it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// One snapshot of a job, sent at least once a second while it runs and
/// once more when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub run_id: i64,
    pub task_id: i64,
    pub task_name: String,
    pub phase: JobPhase,
    /// What the engine is doing: "planning", "backing up", "pruning"...
    pub step: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub items_done: u64,
    pub items_total: u64,
    pub elapsed_secs: f64,
    /// Set when the job failed.
    pub error: Option<String>,
    /// A restore drill of the task (`run_id` is the drill run's), not a backup.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

impl JobProgress {
    /// 0–100; 100 once the job succeeded.
    pub fn percent(&self) -> f64 {
        if self.phase == JobPhase::Succeeded {
            return 100.0;
        }
        if self.bytes_total == 0 {
            return 0.0;
        }
        (self.bytes_done as f64 / self.bytes_total as f64 * 100.0).clamp(0.0, 100.0)
    }

    /// Bytes per second since the start.
    pub fn throughput(&self) -> f64 {
        if self.elapsed_secs <= 0.0 {
            0.0
        } else {
            self.bytes_done as f64 / self.elapsed_secs
        }
    }

    /// Seconds left at the throughput so far, when it can be estimated.
    pub fn eta_secs(&self) -> Option<f64> {
        let rate = self.throughput();
        (self.phase == JobPhase::Running && rate > 0.0 && self.bytes_total >= self.bytes_done)
            .then(|| (self.bytes_total - self.bytes_done) as f64 / rate)
    }

    pub fn is_finished(&self) -> bool {
        self.phase != JobPhase::Running
    }
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A UTC time as the lists show it, or a dash.
pub fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "—".into())
}

/// `1h 02m 03s`-style durations.
pub fn human_duration(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(done: u64, total: u64, elapsed: f64) -> JobProgress {
        JobProgress {
            run_id: 1,
            task_id: 1,
            task_name: "t".into(),
            phase: JobPhase::Running,
            step: "backing up".into(),
            bytes_done: done,
            bytes_total: total,
            items_done: 0,
            items_total: 0,
            elapsed_secs: elapsed,
            error: None,
            drill: false,
        }
    }

    #[test]
    fn percent_throughput_and_eta() {
        let p = at(25, 100, 5.0);
        assert_eq!(p.percent(), 25.0);
        assert_eq!(p.throughput(), 5.0);
        assert_eq!(p.eta_secs(), Some(15.0));
        assert_eq!(at(0, 0, 0.0).percent(), 0.0);
        assert_eq!(at(0, 0, 0.0).eta_secs(), None);
        let mut done = at(10, 100, 1.0);
        done.phase = JobPhase::Succeeded;
        assert_eq!(done.percent(), 100.0);
        assert_eq!(done.eta_secs(), None);
    }

    #[test]
    fn human_figures() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(3723.0), "1h 02m 03s");
        assert_eq!(human_duration(61.0), "1m 01s");
        assert_eq!(human_duration(0.4), "0s");
    }
}
