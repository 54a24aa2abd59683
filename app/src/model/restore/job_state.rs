//! A restore job as it runs: its state, its phases and its live figures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a restore task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreState {
    /// Created, never started.
    New,
    /// Started, its job not yet running.
    Pending,
    Running,
    Finished,
    Failed,
    Cancelled,
}

impl RestoreState {
    pub const ALL: [RestoreState; 6] = [
        RestoreState::New,
        RestoreState::Pending,
        RestoreState::Running,
        RestoreState::Finished,
        RestoreState::Failed,
        RestoreState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RestoreState::New => "new",
            RestoreState::Pending => "pending",
            RestoreState::Running => "running",
            RestoreState::Finished => "finished",
            RestoreState::Failed => "failed",
            RestoreState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_active(self) -> bool {
        matches!(self, RestoreState::Pending | RestoreState::Running)
    }

    /// Start applies to a task never run; Retry to one that failed or was
    /// cancelled. A finished restore is never run again.
    pub fn can_start(self) -> bool {
        self == RestoreState::New
    }

    pub fn can_retry(self) -> bool {
        matches!(self, RestoreState::Failed | RestoreState::Cancelled)
    }
}

/// The phases a restore job goes through, in order, as shown.
pub const PHASES: [&str; 6] = [
    "pending",
    "preparing",
    "downloading",
    "loading",
    "committing",
    "verifying",
];

/// The phases of a restore to a second after the base point's (the
/// engine's names for its steps).
pub const LOG_PHASES: [&str; 2] = ["fetching binary logs", "replaying binary logs"];

/// The phase of a PostgreSQL cluster's recovery after the base backup's:
/// the server replaying the archived WAL (the engine's title starts so).
pub const WAL_PHASE: &str = "replaying WAL";
/// … and a cluster's extraction into a data source, after it.
pub const EXTRACT_PHASE: &str = "extracting";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimes {
    pub phase: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A restore job's live figures, sent while it runs and once at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreProgress {
    pub restore_id: i64,
    pub state: RestoreState,
    /// The latest phase begun.
    pub phase: String,
    pub phases: Vec<PhaseTimes>,
    pub bytes_total: u64,
    /// Read from the repository and checked.
    pub bytes_fetched: u64,
    /// Written into the target.
    pub bytes_loaded: u64,
    pub rows_total: u64,
    pub rows_loaded: u64,
    pub objects_total: u64,
    pub objects_done: u64,
    pub elapsed_secs: f64,
    pub error: Option<String>,
}

impl RestoreProgress {
    fn ratio(done: u64, total: u64) -> f64 {
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64 * 100.0).clamp(0.0, 100.0)
        }
    }

    pub fn downloading_percent(&self) -> f64 {
        Self::ratio(self.bytes_fetched, self.bytes_total)
    }

    pub fn loading_percent(&self) -> f64 {
        Self::ratio(self.bytes_loaded, self.bytes_total)
    }

    /// Overall: reading and loading count half each; 100 once finished.
    pub fn percent(&self) -> f64 {
        if self.state == RestoreState::Finished {
            return 100.0;
        }
        (self.downloading_percent() + self.loading_percent()) / 2.0
    }

    /// Bytes loaded per second so far.
    pub fn throughput(&self) -> f64 {
        if self.elapsed_secs <= 0.0 {
            0.0
        } else {
            self.bytes_loaded as f64 / self.elapsed_secs
        }
    }

    pub fn eta_secs(&self) -> Option<f64> {
        let rate = self.throughput();
        (self.state == RestoreState::Running && rate > 0.0 && self.bytes_total >= self.bytes_loaded)
            .then(|| (self.bytes_total - self.bytes_loaded) as f64 / rate)
    }
}
