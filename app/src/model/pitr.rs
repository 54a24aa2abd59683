//! Point-in-time recovery as the restore form and page show it: the plan
//! before Start (base point, log range, last commit) and the replay's
//! result after it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The engine's plan of a restore to a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitrPreview {
    /// The second, as the engine understood it ("2026-12-01 14:03:26 UTC").
    pub to: String,
    pub base_point: String,
    /// "binlog.000003:1210": where the replay starts (the base point's snapshot) …
    pub from: String,
    /// … and the position it stops before.
    pub until: String,
    pub files: Vec<String>,
    /// The commit time of the last transaction the replay applies.
    pub last_commit: Option<DateTime<Utc>>,
    pub source_database: String,
    pub target_database: String,
    pub notes: Vec<String>,
    /// A PostgreSQL cluster replayed by the server from archived WAL (the
    /// positions are WAL locations, the target a new data directory).
    #[serde(default)]
    pub cluster: bool,
}

/// What a restore to a second did, recorded when it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PitrResult {
    pub base_point: String,
    pub to: String,
    pub transactions: u64,
    /// Row changes applied (inserted, updated and deleted rows).
    pub rows: u64,
    /// Tables whose row count was read back after the replay, and the count.
    pub counts_checked: Vec<(String, u64)>,
    pub notes: Vec<String>,
    pub seconds: f64,
    /// A PostgreSQL cluster's recovery: the server's own words on where it
    /// stopped, and what became of the new data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterRecovery>,
}

/// What the server said and did in a cluster's recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecovery {
    pub data_dir: String,
    /// "recovery stopping before commit of transaction 812, time …".
    pub stopped: Option<String>,
    pub last_transaction: Option<String>,
    /// The timeline the promoted cluster continues on.
    pub new_timeline: Option<u32>,
    pub wal_files: u64,
    pub running_on_port: Option<u16>,
    pub recovery_seconds: f64,
    /// The database (or tables) restored from it into a data source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<super::ExtractResult>,
}
