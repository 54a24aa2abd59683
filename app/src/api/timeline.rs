//! A continuous task's timeline: the recoverable ranges (UTC seconds a
//! restore can go to), the holes of the archive with their reason, the base
//! points with their binary log coordinates, and the archiver's state and
//! lag (the current RPO), read from the repository itself.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub base_points: Vec<String>,
    pub first_file: String,
    pub last_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapView {
    /// The last archived commit before the hole, when known.
    pub from: Option<DateTime<Utc>>,
    pub after: Option<String>,
    pub resumed_at: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasePointView {
    pub id: String,
    pub taken_at: DateTime<Utc>,
    /// "binlog.000003:1210, GTID 0-1-41".
    pub coordinates: String,
    /// Why a restore cannot start from it.
    pub unusable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    pub task_id: i64,
    pub task_name: String,
    pub continuous: bool,
    pub ranges: Vec<RangeView>,
    pub gaps: Vec<GapView>,
    pub points: Vec<BasePointView>,
    pub files: u64,
    pub bytes: u64,
    pub last_commit: Option<DateTime<Utc>>,
    /// The archiver streams now (its last report says so).
    pub archiver_running: bool,
    /// Why it does not archive (the console's supervisor or the archiver's
    /// own last report).
    pub archiver_error: Option<String>,
    /// The last moment the archive held everything the server had written.
    pub synced_at: Option<DateTime<Utc>>,
    /// Seconds since then: the current RPO.
    pub lag_seconds: Option<f64>,
    pub rpo_target_secs: Option<u64>,
    pub checked_at: DateTime<Utc>,
    /// A PostgreSQL cluster's replication slot: the WAL the server keeps
    /// for the archiver (its disk fills while the archive falls behind).
    #[serde(default)]
    pub slot_retained_bytes: Option<u64>,
    /// Retention worth an alert (the engine's threshold).
    #[serde(default)]
    pub slot_warning_bytes: u64,
}

impl TimelineView {
    /// The lag against the RPO target, as the badges colour it: `green`,
    /// `amber` (80–100 % of the target), `red`, or `unset` without a
    /// target or a lag.
    pub fn lag_level(&self) -> &'static str {
        match (self.lag_seconds, self.rpo_target_secs) {
            (Some(lag), Some(target)) if lag > target as f64 => "red",
            (Some(lag), Some(target)) if lag >= 0.8 * target as f64 => "amber",
            (Some(_), Some(_)) => "green",
            _ => "unset",
        }
    }

    /// The span the axis shows: the first range or hole to the last range's end.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let starts = self
            .ranges
            .iter()
            .map(|r| r.from)
            .chain(self.gaps.iter().filter_map(|g| g.from));
        let ends = self
            .ranges
            .iter()
            .map(|r| r.to)
            .chain(self.gaps.iter().filter_map(|g| g.from));
        let (from, to) = (starts.min()?, ends.max()?);
        Some((from, to.max(from + chrono::Duration::seconds(1))))
    }
}

#[cfg(feature = "ssr")]
#[path = "timeline_server.rs"]
pub mod server;

#[server(endpoint = "tasks/timeline")]
pub async fn task_timeline(task_id: i64) -> Result<TimelineView, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::timeline(&state, task_id).await
}
